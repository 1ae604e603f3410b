#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What docs/dbus-api.md tells an app developer, checked on the live daemon:
APIVersion is the highest Since level of the XML; GetManagedObjects leaves
out the root (Manager properties come from GetAll); Alert goes to "off" with
a PropertiesChanged when the instrument is unplugged mid-alarm; LimitWarning
and LimitExceeded carry arrival_us; the stream's t_s restarts at 0 when a
session starts; a duplicate patient reference is InvalidArgument and
changes nothing."""
import os
import socket
import struct
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

SINCE = "org.strigil.Strigil1.Since"


def xml_level():
    levels = [int(a.get("value")) for a in ET.parse(XML).getroot().iter("annotation")
              if a.get("name") == SINCE]
    return max(levels + [1])


def alert_changes(h):
    return [plain(s[3][1])["Alert"] for s in h.signals_of("PropertiesChanged", SIM1)
            if s[3][0] == IFACE + "Instrument" and "Alert" in plain(s[3][1])]


h = Harness(simulate=1)
try:
    h.start_daemon()

    # ---- versions ------------------------------------------------------------
    mgr = h.obj(ROOT).GetAll(IFACE + "Manager", dbus_interface="org.freedesktop.DBus.Properties")
    check(isinstance(mgr["APIVersion"], dbus.UInt32), "APIVersion is a u (%r)" % mgr["APIVersion"])
    check(int(mgr["APIVersion"]) == xml_level(),
          "APIVersion %d == the highest Since level of the XML (%d)" % (mgr["APIVersion"], xml_level()))
    check(plain(mgr["Version"]) != "", "Version is set (%s)" % plain(mgr["Version"]))

    # ---- GetManagedObjects and the root ---------------------------------------
    objs = h.obj(ROOT).GetManagedObjects(dbus_interface="org.freedesktop.DBus.ObjectManager")
    check(ROOT not in objs and SIM1 in objs,
          "GetManagedObjects lists the objects below the root, not the root (%s)" % sorted(objs))

    # ---- duplicate patient reference ----------------------------------------------
    pid = h.create_profile(patient_ref="docs-1", max_force_n=dbus.Double(8.0))
    expect_error(lambda: h.create_profile(patient_ref="docs-1"), ERR + "InvalidArgument",
                 "CreateProfile with a patient reference in use")
    other = h.create_profile(patient_ref="docs-2")
    expect_error(lambda: h.iface(other, "Profile").Update(dbus.Dictionary(
        {"patient_ref": "docs-1"}, signature="sv")), ERR + "InvalidArgument",
        "Update to a patient reference in use")
    check(plain(h.prop(other, "Profile", "PatientRef")) == "docs-2", "the refused Update changed nothing")
    check(len(plain(h.prop(ROOT, "Manager", "Profiles"))) == 2, "the refused create added nothing")

    # ---- stream time restarts when a session starts ---------------------------------
    inst = h.iface(SIM1, "Instrument")
    stream = socket.socket(fileno=inst.OpenStream().take())
    stream.setblocking(False)
    hdr = struct.Struct("<IHHQII")
    smp = struct.Struct("<dffffII")
    times = []

    def read_stream():
        while True:
            try:
                pkt = stream.recv(65536)
            except BlockingIOError:
                return
            count = hdr.unpack_from(pkt)[2]
            times.extend(smp.unpack_from(pkt, hdr.size + k * smp.size)[0] for k in range(count))

    check(wait_for(lambda: read_stream() or (times and times[-1] >= 0.5)),
          "stream t_s runs before the session (%.3f s)" % (times[-1] if times else -1))
    before = len(times)
    sess = h.manager.StartSession(SIM1, pid, "upper_back")
    check(wait_for(lambda: read_stream() or len(times) > before + 200), "stream goes on through StartSession")
    jumps = [(a, b) for a, b in zip(times[before - 1:], times[before:]) if b < a]
    check(len(jumps) == 1 and jumps[0][1] < 0.1 and jumps[0][0] >= 0.5,
          "t_s restarts at 0 once, when the session starts (%s)" % jumps)
    stream.close()

    # ---- arrival_us, and Alert off at unplug ------------------------------------------
    h.signals.clear()
    # 12 N against the 8 N cap for about 3.7 s of a 9.5 s stroke: still in
    # alarm when we unplug
    h.iface(SIM1, "Debug").Play(dbus.Array([(12.0, 9.5, 0.5)], signature="(ddd)"))
    check(wait_for(lambda: "exceeded" in alert_changes(h)), "Alert goes to exceeded (%s)" % alert_changes(h))
    # the Alert change comes first; the records' signals once they are
    # stored (the storage writer: docs/dbus-api.md, Session signals)
    wait_for(lambda: h.signals_of("LimitExceeded", sess))
    for member in ("LimitWarning", "LimitExceeded"):
        sig = h.signals_of(member, sess)
        check(len(sig) == 1 and plain(sig[0][3][0]).get("arrival_us", 0) > 0,
              "%s carries arrival_us (%s)" % (member, [plain(s[3][0]) for s in sig]))
    check(plain(h.prop(SIM1, "Instrument", "Alert")) == "exceeded", "the tool is in alarm")
    h.signals.clear()
    h.iface(SIM1, "Debug").Unplug()
    check(wait_for(lambda: alert_changes(h) == ["off"]),
          "unplugged mid-alarm: PropertiesChanged Alert=off (%s)" % alert_changes(h))
    check(plain(h.prop(SIM1, "Instrument", "Alert")) == "off", "Alert reads off while unplugged")
    check(plain(h.prop(sess, "Session", "State")) == "disconnected", "the session is paused by the unplug")
    h.iface(SIM1, "Debug").Replug()
    check(wait_for(lambda: plain(h.prop(sess, "Session", "State")) == "running"), "re-plug resumes")
    h.iface(sess, "Session").Stop()

    h.stop_daemon()
finally:
    h.cleanup()
finish()
