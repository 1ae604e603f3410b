#!/usr/bin/python3
# client.py PHASE ARGS: the clinician's client in the chain VM (runs as a
# member of strigil-clinician on the real system bus, against strigild as
# systemd started it). Prints "CHAIN-CHECK: ok|FAIL what" lines; exits 1 if a
# check failed.
#
#   session BACKEND      waits for instrument CHAIN01 on BACKEND (iio|usb),
#                        runs a session on the neck (4 N cap) over the
#                        gadget's looping trace (3 N and 6 N strokes):
#                        strokes with the right peaks, LimitExceeded for the
#                        6 N strokes only, everything signalled is stored
#   replug FLAGDIR       a session, then asks the VM script to unplug
#                        (FLAGDIR/unplug) and re-plug the instrument: the
#                        session goes "disconnected", resumes by itself,
#                        and no signalled stroke is lost
import os
import sys
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

NAME = "org.strigil.Strigil1"
ROOT = "/org/strigil/Strigil1"
IF = "org.strigil.Strigil1."
SERIAL = "CHAIN01"
PEAKS = (3.0, 6.0)
LIVENESS_S = 90      # only to end a hung run; nothing is timed

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
loop = GLib.MainLoop()
failed = []


def check(cond, what):
    print("CHAIN-CHECK: %s %s" % ("ok" if cond else "FAIL", what), flush=True)
    if not cond:
        failed.append(what)
    return cond


def prop(path, iface, name):
    return bus.call_blocking(NAME, path, "org.freedesktop.DBus.Properties", "Get", "ss",
                             [IF + iface, name])


def run_until(pred, what):
    """Runs the main loop until pred() is true (checked every 100 ms)."""
    deadline = time.monotonic() + LIVENESS_S

    def tick():
        if pred() or time.monotonic() > deadline:
            loop.quit()
            return False
        return True
    GLib.timeout_add(100, tick)
    loop.run()
    return check(pred(), what)


def instrument(backend):
    path = [None]

    def find():
        try:
            for p in prop(ROOT, "Manager", "Instruments"):
                if (prop(p, "Instrument", "Serial") == SERIAL and prop(p, "Instrument", "Connected")
                        and prop(p, "Instrument", "Backend") == backend):
                    path[0] = str(p)
                    return True
        except dbus.exceptions.DBusException:
            pass       # the daemon is still starting (started by udev)
        return False
    run_until(find, "instrument %s connected through %s" % (SERIAL, backend))
    return path[0]


def profile():
    props = dbus.Dictionary({"patient_ref": "CHAIN-%d" % os.getpid(), "display_name": "C. T.",
                             "max_force_n": dbus.Double(8.0)}, signature="sv")
    return bus.call_blocking(NAME, ROOT, IF + "Manager", "CreateProfile", "a{sv}", [props])


class Session:
    def __init__(self, instr):
        self.strokes, self.exceeded, self.states = [], [], []
        self.path = bus.call_blocking(NAME, ROOT, IF + "Manager", "StartSession", "oos",
                                      [instr, profile(), "neck"])
        self.limit = float(prop(self.path, "Session", "EffectiveLimitN"))
        for sig, fn in (("StrokeCompleted", self.strokes.append), ("LimitExceeded", self.exceeded.append)):
            bus.add_signal_receiver(fn, signal_name=sig, dbus_interface=IF + "Session",
                                    path=self.path, bus_name=NAME)
        bus.add_signal_receiver(self.on_props, signal_name="PropertiesChanged",
                                dbus_interface="org.freedesktop.DBus.Properties",
                                path=self.path, bus_name=NAME)
        check(abs(self.limit - 4.0) < 1e-9, "effective limit %.2f N (neck cap 4 N)" % self.limit)

    def on_props(self, iface, changed, invalidated):
        if "State" in changed:
            self.states.append(str(changed["State"]))

    def stop_and_compare(self):
        bus.call_blocking(NAME, self.path, IF + "Session", "Stop", "", [])
        stored = bus.call_blocking(NAME, self.path, IF + "Session", "GetStrokes", "", [])
        stored_idx = {int(s["index"]) for s in stored}
        sig_idx = {int(s["index"]) for s in self.strokes}
        check(sig_idx <= stored_idx, "every signalled stroke stored (%d signalled, %d stored)"
              % (len(sig_idx), len(stored_idx)))
        viol = bus.call_blocking(NAME, self.path, IF + "Session", "GetViolations", "", [])
        check(sum(1 for v in viol if v["kind"] == "exceeded") >= len(self.exceeded),
              "every LimitExceeded stored (%d)" % len(self.exceeded))

    def check_strokes(self, skip=()):
        """skip: indexes (in self.strokes) of strokes cut by an unplug."""
        peaks = [float(s["peak_n"]) for i, s in enumerate(self.strokes) if i not in skip]
        print("strokes: peaks %s; LimitExceeded forces %s" % (
            ["%.2f" % p for p in peaks], ["%.2f" % float(e["force_n"]) for e in self.exceeded]), flush=True)
        near = [min(PEAKS, key=lambda x: abs(x - p)) for p in peaks]
        check(all(abs(p - n) <= 0.1 * n for p, n in zip(peaks, near)),
              "every stroke peak within 10 %% of 3 N or 6 N")
        check(3.0 in near and 6.0 in near, "both stroke kinds seen")
        check(len(self.exceeded) > 0 and all(float(e["force_n"]) > self.limit for e in self.exceeded),
              "LimitExceeded arrived, each above the %.1f N cap" % self.limit)
        check(len(self.exceeded) <= near.count(6.0) + 1 + len(skip),
              "no LimitExceeded for the 3 N strokes (%d events, %d strokes of 6 N)"
              % (len(self.exceeded), near.count(6.0)))


def phase_session(backend):
    instr = instrument(backend)
    if not instr:
        return
    s = Session(instr)
    run_until(lambda: len(s.strokes) >= 4 and len(s.exceeded) >= 1, "4 strokes and a LimitExceeded signalled")
    s.check_strokes()
    s.stop_and_compare()


def phase_replug(flagdir):
    instr = instrument("iio")
    if not instr:
        return
    s = Session(instr)
    run_until(lambda: len(s.strokes) >= 2, "2 strokes before the unplug")
    before = len(s.strokes)
    open(os.path.join(flagdir, "unplug"), "w").close()
    run_until(lambda: "disconnected" in s.states, "session disconnected on unplug")
    run_until(lambda: s.states and s.states[-1] == "running", "session running again after re-plug")
    # A stroke under way at the unplug, or begun while unplugged, was only
    # partly measured: its peak is not one of the trace's. Those are the
    # strokes ended between the unplug and the first one after the re-plug.
    cut = len(s.strokes)
    run_until(lambda: len(s.strokes) >= cut + 3, "strokes after the re-plug")
    s.check_strokes(skip=range(before, cut + 1))
    s.stop_and_compare()


def main():
    if sys.argv[1] == "session":
        phase_session(sys.argv[2])
    elif sys.argv[1] == "replug":
        phase_replug(sys.argv[2])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
