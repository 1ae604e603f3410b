#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A scripted session on a simulated instrument: the expected strokes and
metrics come out, LimitExceeded arrives for every sustained violation and
never for a single-sample spike, the tool's alert is set, every signal's
record is in GetStrokes/GetViolations, Pause stops counting, Stop returns
the summary."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

# (peak N, contact s, gap s): three strokes under the 8 N cap, two far
# above it (about 0.17 s above 8 N each), then a normal one.
SCRIPT = [(5.0, 0.5, 0.4), (5.5, 0.5, 0.4), (6.0, 0.5, 0.4),
          (11.0, 0.5, 0.4), (11.5, 0.5, 0.4), (4.0, 0.5, 0.4)]
LIMIT = 8.0

h = Harness(simulate=1)
try:
    # An inherited JOURNAL_STREAM that is not our stderr (e.g. the test
    # runner started by a systemd unit) must not swallow the stderr log.
    h.start_daemon(env_extra={"JOURNAL_STREAM": "1:1"})
    pid = h.create_profile(patient_ref="sess-1", display_name="A.B.",
                           max_force_n=dbus.Double(LIMIT))
    spath = h.manager.StartSession(SIM1, pid, "upper_back")
    sess = h.iface(spath, "Session")
    p = plain(h.props(spath, "Session"))
    check(p["State"] == "running" and p["Region"] == "upper_back", "session running in upper_back")
    check(close(p["EffectiveLimitN"], LIMIT, 1e-9), "limit is the profile cap (%s)" % p["EffectiveLimitN"])
    check("profile" in p["LimitSource"].lower(), "LimitSource names the profile cap (%s)" % p["LimitSource"])
    check(len(p["LimitReasons"]) >= 2, "LimitReasons lists every candidate (%s)" % p["LimitReasons"])
    check(plain(h.prop(SIM1, "Instrument", "ActiveSession")) == spath, "instrument's ActiveSession")
    check(plain(h.prop(ROOT, "Manager", "ActiveSessions")) == [spath], "Manager.ActiveSessions")
    check(wait_for(lambda: plain(h.prop(SIM1, "Instrument", "Streaming"))), "a session streams")

    alerts = []
    h.bus.add_signal_receiver(
        lambda i, ch, inv: alerts.append(str(ch["Alert"])) if "Alert" in ch else None,
        "PropertiesChanged", "org.freedesktop.DBus.Properties", path=SIM1)
    dbg = h.iface(SIM1, "Debug")
    dbg.Play(dbus.Array(SCRIPT, signature="(ddd)"))
    strokes = lambda: h.signals_of("StrokeCompleted", spath)
    check(wait_for(lambda: len(strokes()) >= len(SCRIPT)), "%d StrokeCompleted signals" % len(SCRIPT))
    # a lone spike far above the cap, well after the last stroke (the
    # script has played out), and played before the next stroke starts
    check(wait_for(lambda: h.script_played(SIM1)), "the script has played out")
    dbg.Spike(dbus.Double(13.5))
    check(wait_for(lambda: h.script_played(SIM1)), "the spike has been played")
    dbg.Play(dbus.Array([(3.0, 0.4, 0.3)], signature="(ddd)"))
    check(wait_for(lambda: len(strokes()) >= len(SCRIPT) + 1), "stroke after the spike")

    got = [plain(s[3][0]) for s in strokes()]
    check(len(got) == len(SCRIPT) + 1, "exactly %d strokes, the spike is none (%d)" % (len(SCRIPT) + 1, len(got)))
    want = [s[0] for s in SCRIPT] + [3.0]
    for i, (st, peak) in enumerate(zip(got, want)):
        check(st["index"] == i + 1, "stroke %d index" % (i + 1))
        check(close(st["peak_n"], peak, 0.6), "stroke %d peak %.2f ~ %.1f N" % (i + 1, st["peak_n"], peak))
        check(0.3 < st["duration_s"] < 0.6, "stroke %d duration %.3f s (contact 0.5 s)" % (i + 1, st["duration_s"]))
        check(st["region"] == "upper_back" and close(st["limit_n"], LIMIT, 1e-9), "stroke %d region/limit" % (i + 1))
    exceeded = [plain(s[3][0]) for s in h.signals_of("LimitExceeded", spath)]
    check(len(exceeded) == 2, "LimitExceeded exactly once per sustained violation, never for the spike (%d)"
          % len(exceeded))
    for e in exceeded:
        check(e["kind"] == "exceeded" and e["force_n"] >= LIMIT and close(e["limit_n"], LIMIT, 1e-9),
              "exceeded event %s" % e)
    warnings = [plain(s[3][0]) for s in h.signals_of("LimitWarning", spath)]
    check(len(warnings) == 2, "LimitWarning for the two strokes above 90%% of the cap (%d)" % len(warnings))
    check("exceeded" in alerts, "the tool's alert went to 'exceeded' (%s)" % alerts)
    live = [s for s in h.signals_of("PropertiesChanged", SIM1) if "ForceN" in plain(s[3][1])]
    check(not live, "no live ForceN changes while nobody claims the instrument (%d)" % len(live))
    check(alerts and alerts[-1] == "off", "the alert is off again after the stroke")

    p = plain(h.props(spath, "Session"))
    check(p["StrokeCount"] == 7 and p["ViolationCount"] == 2 and p["WarningCount"] == 2,
          "counts %d/%d/%d" % (p["StrokeCount"], p["ViolationCount"], p["WarningCount"]))
    check(close(p["PeakN"], 11.5, 0.6), "PeakN %.2f" % p["PeakN"])
    loaded = sum(s["duration_s"] for s in got)
    check(close(p["SecondsUnderLoad"], loaded, 0.25), "SecondsUnderLoad %.2f ~ sum of strokes %.2f"
          % (p["SecondsUnderLoad"], loaded))

    # records: every signalled stroke/violation is stored
    stored = [plain(s) for s in sess.GetStrokes()]
    check([s["index"] for s in stored] == [s["index"] for s in got], "GetStrokes == signalled strokes")
    check(all(close(a["peak_n"], b["peak_n"], 1e-9) for a, b in zip(stored, got)), "stored peaks == signalled")
    # bursts: without shear every stroke is a contact, its own burst, ended
    # by a lift; GetBursts aggregates them from the records
    check([(s.get("burst"), s.get("end")) for s in got] == [(i + 1, "lift") for i in range(len(got))],
          "StrokeCompleted burst/end %s" % [(s.get("burst"), s.get("end")) for s in got])
    check([(s.get("burst"), s.get("end")) for s in stored] == [(s["burst"], s["end"]) for s in got],
          "GetStrokes burst/end == signalled")
    bursts = [plain(b) for b in sess.GetBursts()]
    check([b["index"] for b in bursts] == [s["burst"] for s in got] and
          all(b["passes"] == 1 for b in bursts), "GetBursts: one pass per burst %s" % bursts)
    check(all(close(b["peak_n"], s["peak_n"], 1e-9) and close(b["start_s"], s["start_s"], 1e-9) and
              close(b["duration_s"], s["duration_s"], 1e-9) for b, s in zip(bursts, got)),
          "GetBursts: each burst is its stroke")
    viol = [plain(v) for v in sess.GetViolations()]
    check(sorted(v["kind"] for v in viol) == ["exceeded", "exceeded", "warning", "warning"],
          "GetViolations: 2 warnings + 2 exceeded (%s)" % [v["kind"] for v in viol])

    # pause: nothing is counted. A claim keeps the instrument streaming
    # while paused (a pause alone stops it), so the stroke is really played
    # during the pause instead of being left queued for after Resume.
    h.iface(SIM1, "Instrument").Claim()
    sess.Pause()
    check(plain(h.prop(spath, "Session", "State")) == "paused", "paused")
    expect_error(lambda: sess.Pause(), ERR + "InvalidState", "Pause twice")
    n = len(strokes())
    dbg.Play(dbus.Array([(5.0, 0.4, 0.2)], signature="(ddd)"))
    check(wait_for(lambda: h.script_played(SIM1)), "the stroke was played while paused")
    drain()     # a StrokeCompleted sent before that reply is delivered now
    check(len(strokes()) == n, "no stroke counted while paused")
    h.iface(SIM1, "Instrument").Release()
    sess.Resume()
    check(plain(h.prop(spath, "Session", "State")) == "running", "resumed")

    # SetRegion: a different cap takes effect
    sess.SetRegion("neck")
    p = plain(h.props(spath, "Session"))
    check(p["Region"] == "neck" and p["EffectiveLimitN"] < LIMIT, "neck cap %.2f N" % p["EffectiveLimitN"])
    check(p["MaxSecondsUnderLoad"] > 0, "neck has a time cap (%.0f s)" % p["MaxSecondsUnderLoad"])

    # unplug pauses, replug resumes, lost samples counted
    dbg.Unplug()
    check(wait_for(lambda: plain(h.prop(spath, "Session", "State")) == "disconnected"),
          "unplug: session disconnected, not lost")
    expect_error(lambda: sess.Resume(), ERR + "Disconnected", "Resume while unplugged")
    pump(0.3)
    dbg.Replug()
    check(wait_for(lambda: plain(h.prop(spath, "Session", "State")) == "running"), "replug: running again")
    check(plain(h.prop(spath, "Session", "LostSamples")) > 0, "samples lost while unplugged are counted")
    check(plain(h.prop(SIM1, "Instrument", "LostSamples")) > 0, "instrument LostSamples")

    summary = plain(sess.Stop())
    check(summary["state"] == "finished" and summary["strokes"] == 7 and summary["violations"] == 2,
          "Stop summary %s" % summary)
    check(plain(h.prop(spath, "Session", "State")) == "finished", "finished")
    check(plain(h.prop(SIM1, "Instrument", "ActiveSession")) == "/", "instrument free again")
    check(plain(h.prop(ROOT, "Manager", "ActiveSessions")) == [] and
          plain(h.prop(ROOT, "Manager", "Sessions")) == [] and
          spath in plain(h.manager.ListSessions(dbus.UInt32(0), dbus.UInt32(10))[0]),
          "a finished session leaves ActiveSessions and Sessions, stays in ListSessions")
    check(wait_for(lambda: not plain(h.prop(SIM1, "Instrument", "Streaming"))), "streaming stops after Stop")
    expect_error(lambda: sess.Pause(), ERR + "InvalidState", "Pause a finished session")
    check(len([plain(s) for s in sess.GetStrokes()]) == 7, "finished session still has its strokes")
    h.daemon_log.seek(0)
    log = h.daemon_log.read()
    check("strigild: session " in log, "readable session lines on stderr (not the journal)")
    check(log.count(": started on ") == 1, "the session start logged once on stderr")
    h.stop_daemon()

    # after a restart the finished session is loaded from the database
    h.start_daemon()
    check(spath in plain(h.manager.ListSessions(dbus.UInt32(0), dbus.UInt32(10))[0]), "session listed after restart")
    p = plain(h.props(spath, "Session"))
    check(p["State"] == "finished" and p["StrokeCount"] == 7 and p["ViolationCount"] == 2,
          "restart: finished session with its counts")
    check(len(h.iface(spath, "Session").GetStrokes()) == 7, "restart: strokes from storage")
    h.stop_daemon()
finally:
    h.cleanup()
finish()
