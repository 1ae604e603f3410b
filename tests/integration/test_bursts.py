#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bursts end to end: an instrument with shear channels (the IIO backend on a
fake sysfs tree, as in test_iio.py, with normal force and shear x/y) is swept
back and forth three times without lifting. strigild must report three
strokes of one burst (StrokeRule "reversal"), the first two ended by a
reversal, each with its own peak; raise LimitExceeded in the first AND the
third pass (the second stays under the cap), re-arming the tool's alert at
each stroke boundary (Alert goes exceeded -> off -> exceeded); a strum dip
without reversal inside the second pass splits nothing; GetBursts gives one
burst of three passes. Before bursts this was one stroke and one alarm."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

from fake_iio_shear import *  # noqa: E402,F401,F403


h = Harness(simulate=0)
try:
    sys_root, dev_root, sysd = make_tree(h.tmp)
    h.start_daemon(extra=["--iio-root", sys_root + ":" + dev_root])
    check(plain(h.prop(ROOT, "Manager", "Instruments")) == [INST], "the fake shear instrument appears")
    p = plain(h.props(INST, "Instrument"))
    check(p["Channels"][:3] == ["normal", "shear_x", "shear_y"] or len(p["Channels"]) == 3,
          "three channels (%s)" % p["Channels"])
    check(p["StrokeRule"] == "reversal", "StrokeRule with shear: %r" % p["StrokeRule"])

    pid = h.create_profile(patient_ref="burst-1", max_force_n=dbus.Double(CAP))
    spath = h.manager.StartSession(INST, pid, "upper_back")
    check(wait_for(lambda: attr(sysd, "buffer/enable").strip() == b"1"), "a session enables the buffer")
    w = Writer(os.path.join(dev_root, "iio:device0"))
    w.play(lambda t: (0.0, 0.0, 0.0), 0.5)
    w.play(burst, 3 * PASS_S + 0.6)
    strokes = lambda: [plain(s[3][0]) for s in h.signals_of("StrokeCompleted", spath)]
    check(wait_for(lambda: len(strokes()) >= 3), "three strokes (%d)" % len(strokes()))
    got = strokes()
    check(len(got) == 3, "exactly three strokes: one per pass, the strum dip splits nothing (%d)" % len(got))
    check([s.get("burst") for s in got] == [1, 1, 1], "one burst: %s" % [s.get("burst") for s in got])
    check([s.get("end") for s in got] == ["reversal", "reversal", "lift"],
          "ends: %s" % [s.get("end") for s in got])
    for s, pk in zip(got, PEAKS):
        check(close(s["peak_n"], pk, 0.3), "pass peak %.2f ~ %.1f N" % (s["peak_n"], pk))
    for i in range(len(got) - 1):
        check(close(got[i]["end_s"], got[i + 1]["start_s"], 1e-9), "passes touch")
        check(close(got[i]["end_s"], 0.5 + (i + 1) * PASS_S, 0.02),
              "turnaround %d at %.3f s (%.3f)" % (i + 1, 0.5 + (i + 1) * PASS_S, got[i]["end_s"]))
    exc = [plain(s[3][0]) for s in h.signals_of("LimitExceeded", spath)]
    check(len(exc) == 2, "LimitExceeded in pass 1 and pass 3 (%d)" % len(exc))
    if len(exc) == 2 and len(got) == 3:
        check(got[0]["start_s"] <= exc[0]["t_s"] <= got[0]["end_s"] and
              got[2]["start_s"] <= exc[1]["t_s"] <= got[2]["end_s"] + 0.05,
              "alarms inside passes 1 and 3 (%s)" % [e["t_s"] for e in exc])
    # the tool's alert: set, re-armed (off) at the reversal, set again
    def alert_seq():
        a = [plain(s[3][1])["Alert"] for s in h.signals_of("PropertiesChanged", INST)
             if "Alert" in plain(s[3][1])]
        return [x for i, x in enumerate(a) if i == 0 or x != a[i - 1]]
    wait_for(lambda: alert_seq()[-1:] == ["off"] and alert_seq().count("exceeded") >= 2)
    seq = alert_seq()
    check(seq == ["exceeded", "off", "exceeded", "off"],
          "alert exceeded, re-armed at the reversal, exceeded again, off at the lift (%s)" % seq)
    # a violation names the start of its own pass, not of the burst
    viol = [plain(v) for v in h.iface(spath, "Session").GetViolations() if plain(v)["kind"] == "exceeded"]
    if len(viol) == 2 and len(got) == 3:
        check(close(viol[0]["start_s"], got[0]["start_s"], 1e-6) and
              close(viol[1]["start_s"], got[2]["start_s"], 1e-6),
              "violations' start_s are their passes' (%s vs %s)" %
              ([v["start_s"] for v in viol], [s["start_s"] for s in got]))
    bursts = [plain(b) for b in h.iface(spath, "Session").GetBursts()]
    check(len(bursts) == 1 and bursts[0]["passes"] == 3 and close(bursts[0]["peak_n"], 8.0, 0.3),
          "GetBursts: one burst of three passes (%s)" % bursts)
    stored = [plain(s) for s in h.iface(spath, "Session").GetStrokes()]
    check([(s["burst"], s["end"]) for s in stored] == [(s["burst"], s["end"]) for s in got],
          "stored strokes keep burst and end")
    w.close()
    h.stop_daemon()
finally:
    h.cleanup()
finish()
