#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Authorization: polkit (python3-dbusmock's polkitd template) decides per
method from the daemon's one table; a refused call changes nothing. The
real bus policy file keeps undeclared interfaces unreachable."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

A = lambda *names: ["org.strigil.Strigil1." + n for n in names]
h = Harness(simulate=1)
try:
    # with the udev monitor and libusb set up (no real instrument here)
    h.start_daemon(hotplug=True)
    pid = h.create_profile(patient_ref="auth-1")

    # nothing granted: every method of the table is refused, reads still work
    h.set_allowed([])
    D = dbus.Dictionary({"patient_ref": "auth-2"}, signature="sv")
    expect_error(lambda: h.manager.CreateProfile(D), ERR + "AccessDenied", "CreateProfile without manage-profiles")
    expect_error(lambda: h.manager.StartSession(SIM1, pid, "calf"), ERR + "AccessDenied", "StartSession without treat")
    expect_error(lambda: h.iface(SIM1, "Instrument").Claim(), ERR + "AccessDenied", "Claim without monitor")
    expect_error(lambda: h.iface(pid, "Profile").Delete(), ERR + "AccessDenied", "Delete without manage-profiles")
    expect_error(lambda: h.iface(SIM1, "Debug").Unplug(), ERR + "AccessDenied", "Debug.Unplug without calibrate")
    check(plain(h.prop(SIM1, "Instrument", "Serial")) == "SIM0001", "properties stay readable")
    check(len(plain(h.prop(ROOT, "Manager", "Profiles"))) == 1, "no profile created, none deleted")
    check(plain(h.prop(ROOT, "Manager", "Sessions")) == [], "no session started")
    check(plain(h.prop(SIM1, "Instrument", "Connected")), "instrument not unplugged")

    # monitor only: watching works, treating does not
    h.set_allowed(A("monitor"))
    h.iface(SIM1, "Instrument").Claim()
    check(plain(h.prop(SIM1, "Instrument", "Claims")) == 1, "monitor allows Claim")
    expect_error(lambda: h.manager.StartSession(SIM1, pid, "calf"), ERR + "AccessDenied",
                 "monitor does not allow StartSession")
    expect_error(lambda: h.iface(SIM1, "Instrument").WriteCalibration(dbus.Dictionary({}, signature="sv")),
                 ERR + "AccessDenied", "monitor does not allow WriteCalibration (checked before the arguments)")
    h.iface(SIM1, "Instrument").Release()

    # treat: sessions yes, profiles no
    h.set_allowed(A("treat"))
    s = h.manager.StartSession(SIM1, pid, "calf")
    expect_error(lambda: h.iface(s, "Session").GetStrokes(), ERR + "AccessDenied", "treat does not allow GetStrokes")
    expect_error(lambda: h.iface(pid, "Profile").Update(dbus.Dictionary({"display_name": "x"}, signature="sv")),
                 ERR + "AccessDenied", "treat does not allow Update")
    h.iface(s, "Session").Stop()

    # a client that leaves the bus loses its claims
    h.set_allowed(A("monitor"))
    other = dbus.bus.BusConnection(h.address)
    dbus.Interface(other.get_object(NAME, SIM1), IFACE + "Instrument").Claim()
    check(wait_for(lambda: plain(h.prop(SIM1, "Instrument", "Streaming"))), "the other client's claim streams")
    other.close()
    check(wait_for(lambda: plain(h.prop(SIM1, "Instrument", "Claims")) == 0), "its claim goes with it")
    check(wait_for(lambda: not plain(h.prop(SIM1, "Instrument", "Streaming"))), "and streaming stops")

    # the bus policy: an interface our policy file does not open is refused by the bus
    try:
        h.bus.call_blocking(NAME, ROOT, "org.strigil.Strigil1.Secret", "Hidden", "", [])
        check(False, "bus policy refuses an undeclared interface")
    except dbus.exceptions.DBusException as e:
        check(e.get_dbus_name() == "org.freedesktop.DBus.Error.AccessDenied",
              "bus policy refuses an undeclared interface (%s)" % e.get_dbus_name())
    try:
        h.bus.call_blocking(NAME, ROOT, "org.freedesktop.DBus.Properties", "Set", "ssv",
                            [IFACE + "Manager", "Version", "x"])
        check(False, "Properties.Set is refused")
    except dbus.exceptions.DBusException as e:
        check(e.get_dbus_name() == "org.freedesktop.DBus.Error.AccessDenied",
              "bus policy refuses Properties.Set (%s)" % e.get_dbus_name())
    h.stop_daemon()
finally:
    h.cleanup()
finish()
