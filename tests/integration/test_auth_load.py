#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Authorization under load and deny by default (issues 15 and 16).

- Every method of daemon/org.strigil.Strigil1.xml has a polkit action in
  strigild's table (`strigild --list-actions`): a method added without one
  fails here.
- A member of our interfaces that is not in the table is refused
  (AccessDenied), not let through.
- polkit stalled (the mock hangs every check): one client floods 100 calls;
  exactly 16 are held for it and the other 84 get Error.Busy (after a
  delay, so that a flood cannot spin); past the bound of what waits for
  its Busy answer (here: 4 MB of calls) a call gets Busy at once, saying
  so; 16 clients flooding at once get the same bound each; a clinician's
  call from another connection is never refused; when polkit answers
  again, every held call is answered and authorized (none AccessDenied).
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

PER_CALLER = 16

# ---- every method of the XML has an action --------------------------------
table = subprocess.run([STRIGILD, "--list-actions"], check=True, stdout=subprocess.PIPE,
                       universal_newlines=True).stdout
actions = {}
for line in table.splitlines():
    iface, member, action = line.split()[:3]
    actions[(iface, member)] = action
methods = [(i.get("name"), m.get("name")) for i in ET.parse(XML).getroot().iter("interface")
           for m in i.iter("method") if i.get("name").startswith("org.strigil.Strigil1.")]
check(len(methods) > 10, "the XML declares our methods (%d)" % len(methods))
for im in methods:
    check(im in actions and actions[im].startswith("org.strigil.Strigil1."),
          "%s.%s has a polkit action (%s)" % (im[0], im[1], actions.get(im)))


class Calls:
    """Async calls from one connection; counts the answers by kind."""
    def __init__(self, bus):
        self.bus = bus
        self.ok = self.busy = self.other = self.busy_now = 0
        self.errors = []

    def call(self, path, iface, method, *args):
        def ok(*_):
            self.ok += 1

        def err(e):
            if e.get_dbus_name() == ERR + "Busy":
                self.busy += 1
                self.busy_now += "or for their refusal" in e.get_dbus_message()
            else:
                self.other += 1
                self.errors.append("%s: %s" % (e.get_dbus_name(), e.get_dbus_message()))
        self.bus.get_object(NAME, path, introspect=False).get_dbus_method(
            method, IFACE + iface)(*args, reply_handler=ok, error_handler=err, timeout=120)

    @property
    def answered(self):
        return self.ok + self.busy + self.other


h = Harness(simulate=1)
try:
    h.start_daemon()

    # ---- deny by default --------------------------------------------------
    e = expect_error(lambda: h.manager.get_dbus_method("Frobnicate", IFACE + "Manager")(),
                     ERR + "AccessDenied", "a member missing from the table is refused")

    # ---- one flooding client, polkit stalled ------------------------------
    h.polkit.SimulateHang(True)
    flood = Calls(dbus.bus.BusConnection(h.address))
    for _ in range(100):
        flood.call(SIM1, "Instrument", "GetCalibration")
    check(wait_for(lambda: flood.busy >= 100 - PER_CALLER), "flood: the excess is refused")
    pump(0.5)
    check(flood.busy == 100 - PER_CALLER and flood.ok == 0 and flood.other == 0,
          "flood: exactly %d held, %d refused with Busy (busy %d, ok %d, other %d %s)"
          % (PER_CALLER, 100 - PER_CALLER, flood.busy, flood.ok, flood.other, flood.errors[:2]))
    check(flood.busy_now == 0, "flood: every Busy answer was deferred (%d at once)" % flood.busy_now)
    # the deferred answers are bounded: 4 calls of 900 kB wait for their
    # Busy answer, the 5th (past 4 MB) is answered at once
    big = Calls(dbus.bus.BusConnection(h.address))
    for _ in range(PER_CALLER):
        big.call(SIM1, "Instrument", "GetCalibration")
    pump(0.3)
    for _ in range(5):
        big.call(SIM1, "Instrument", "GetCalibration", "x" * 900000)
    check(wait_for(lambda: big.busy == 5), "big calls past the held bound: Busy (%d)" % big.busy)
    check(big.busy_now == 1 and big.other == 0,
          "deferred Busy answers are bounded in bytes: 4 deferred, 1 at once (%d at once, %s)"
          % (big.busy_now, big.errors[:2]))
    clin = Calls(dbus.bus.BusConnection(h.address))
    clin.call(SIM1, "Instrument", "GetCalibration")
    pump(0.5)
    check(clin.answered == 0, "flood: another client's call is held, not refused")
    h.polkit.SimulateHang(False)
    h.polkit.ReleaseHangingCalls()
    check(wait_for(lambda: flood.answered == 100 and clin.answered == 1 and
                   big.answered == PER_CALLER + 5),
          "polkit back: every held call is answered")
    check(flood.ok == PER_CALLER and clin.ok == 1 and big.ok == PER_CALLER,
          "polkit back: the held calls are authorized (flood ok %d, clinician ok %d, errors %s)"
          % (flood.ok, clin.ok, flood.errors[:2] + clin.errors[:2]))

    # ---- 16 flooding clients, polkit stalled ------------------------------
    h.polkit.SimulateHang(True)
    floods = [Calls(dbus.bus.BusConnection(h.address)) for _ in range(16)]
    for f in floods:
        for _ in range(PER_CALLER + 4):
            f.call(SIM1, "Instrument", "GetCalibration")
    check(wait_for(lambda: all(f.busy >= 4 for f in floods)), "16 floods: each refused its excess")
    pump(0.5)
    check(all(f.busy == 4 and f.ok == 0 and f.other == 0 for f in floods),
          "16 floods: each gets Busy for its own excess only (%s)"
          % [(f.busy, f.ok, f.other) for f in floods])
    clin = Calls(dbus.bus.BusConnection(h.address))
    clin.call(SIM1, "Instrument", "GetCalibration")
    pump(0.5)
    check(clin.answered == 0, "16 floods: a clinician's call past the total bound is held, not refused")
    h.polkit.SimulateHang(False)
    h.polkit.ReleaseHangingCalls()
    # released checks free slots; the next ones go out (unhung) in turn
    check(wait_for(lambda: all(f.answered == PER_CALLER + 4 for f in floods) and clin.answered == 1),
          "16 floods: every held call is answered")
    check(all(f.ok == PER_CALLER for f in floods) and clin.ok == 1,
          "16 floods: every held call is authorized, none AccessDenied (%s)"
          % [e for f in floods + [clin] for e in f.errors][:3])
    check(plain(h.prop(SIM1, "Instrument", "Serial")) == "SIM0001", "the daemon still answers")
    h.stop_daemon()
finally:
    h.cleanup()
finish()
