#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigilctl and the clinical records (issue 11) against the real strigild
on a private bus with real SQLite: patients by reference (digits too), the
messages that name the patient and the cap, sides, pauses, history."""
import json
import os
import sys

TOP = os.environ.get("SG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "cli-daemon"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import ROOT, Harness, check, close, finish, plain, pump, wait_for  # noqa: E402
from test_cli import ctl, ctl_json  # noqa: E402
import dbus  # noqa: E402


def D(x):
    return dbus.Double(float(x))


def play(h, serial, strokes):
    path = ROOT + "/instrument/" + serial
    h.iface(path, "Debug").Play(dbus.Array([(D(p), D(c), D(g)) for p, c, g in strokes],
                                           signature="(ddd)"))
    check(wait_for(lambda: h.script_played(path)), "script played on %s" % serial)
    pump(0.3)


def test_identity(h):
    # Profile ids 1 and 2 belong to other patients; patient "2" gets id 3.
    for ref in ("pt-one", "pt-two"):
        rc, out, err = ctl(h, "profile", "add", ref, "--max-force", "10")
        check(rc == 0, "profile add %s (%s)" % (ref, err.strip()))
    rc, out, err = ctl(h, "profile", "add", "2", "--max-force", "3",
                       "--condition", "anticoagulants")
    check(rc == 0 and "patient 2" in out, "profile add 2: %r %r" % (out, err))
    rc, out, err = ctl(h, "session", "start", "SIM0002", "2", "calf:left")
    check(rc == 0, "session start SIM0002 2 calf:left (%s)" % err.strip())
    check("patient 2 " in out and "1.50 N" in out and "anticoagulants" in out,
          "the start message names patient 2, the cap 1.50 N and its reasons: %r" % out)
    sid = out.split()[2] if rc == 0 else "0"
    show = ctl_json(h, "session", "show", sid) or {}
    check(show.get("PatientRef") == "2" and close(show.get("EffectiveLimitN"), 1.5, 1e-9),
          "the session is patient 2's with 1.5 N, not profile id 2's 10 N: %s %s" % (
              show.get("PatientRef"), show.get("EffectiveLimitN")))
    rc, out, err = ctl(h, "session", "stop", sid)
    check(rc == 0 and "patient 2" in out and "1.50 N" in out and "anticoagulants" in out,
          "the stop message names the patient and the cap with its reasons: %r" % out)

    rc, out, err = ctl(h, "profile", "add", "12", "--max-force", "4")
    rc, out, err = ctl(h, "profile", "show", "12")
    check(rc == 0 and "12" in out and "4.0" in out, "profile show 12 finds patient 12: %r %r" % (
        out, err))
    p = ctl_json(h, "profile", "show", "2")
    check(p and p["PatientRef"] == "2", "profile show 2 is patient 2, not id 2")
    p = ctl_json(h, "profile", "show", "id:2")
    check(p and p["PatientRef"] == "pt-two", "profile show id:2 is profile id 2 (explicit form)")
    rc, out, err = ctl(h, "profile", "show", "99")
    check(rc == 1 and "no patient '99'" in err and "strigilctl profile list" in err,
          "an unknown patient is named, with what to do next: %r" % err)
    check("org.strigil" not in err and "D-Bus" not in err, "no D-Bus names in the error")
    rc, out, err = ctl(h, "profile", "show", "Jane Doe")
    check(rc == 2 and "id:N" in err and "strigilctl profile list" in err,
          "a string that is no reference is refused, id:N suggested: %r" % err)
    rc, out, err = ctl(h, "profile", "add", "Jane Doe")
    check(rc == 2 and "not valid" in err, "profile add refuses a name with a space: %r" % err)
    rc, out, err = ctl(h, "profile", "add", "x" * 65)
    check(rc == 2, "profile add refuses 65 bytes")
    rc, out, err = ctl(h, "profile", "add", "x" * 64)
    check(rc == 0, "profile add takes 64 bytes (%s)" % err.strip())


def test_sides_report_history(h):
    rc, out, err = ctl(h, "profile", "add", "LAT-9", "--condition", "open_wound@calf:left",
                       "--region-cap", "shin:left=5")
    check(rc == 0, "profile add with a side-specific condition and cap (%s)" % err.strip())
    rc, out, err = ctl(h, "session", "start", "SIM0001", "LAT-9", "calf:left")
    check(rc == 1 and "contraindicated" in err and "calf:left" in err,
          "calf:left refused for the left-only wound: %r" % err)
    rc, out, err = ctl(h, "session", "start", "SIM0001", "LAT-9", "calf")
    check(rc == 2 and "calf:left or calf:right" in err and "strigilctl profile regions" in err
          and "org.strigil" not in err and "Manager" not in err,
          "a lateral region without side: what to do next, no D-Bus names: %r" % err)
    rc, out, err = ctl(h, "session", "start", "SIM0001", "LAT-9", "shin:left")
    check(rc == 0 and "in shin:left" in out and "5.00 N" in out,
          "shin:left starts with its own cap: %r %r" % (out, err))
    sid = out.split()[2] if rc == 0 else "0"
    play(h, "SIM0001", [(2.0, 0.4, 0.3), (6.0, 0.4, 0.3)])
    rc, out, err = ctl(h, "session", "region", sid, "calf:right")
    check(rc == 0, "session region calf:right (%s)" % err.strip())
    play(h, "SIM0001", [(3.0, 0.4, 0.3)])
    check(ctl(h, "session", "pause", sid)[0] == 0, "pause")
    check(ctl(h, "session", "resume", sid)[0] == 0, "resume")
    rc, out, err = ctl(h, "session", "region", sid, "neck")
    play(h, "SIM0001", [(1.5, 0.4, 0.3)])
    rc, out, err = ctl(h, "session", "stop", sid)
    check(rc == 0 and "patient LAT-9" in out, "stop names the patient")
    rc, rep, err = ctl(h, "session", "report", sid)
    if os.environ.get("SHOW"):
        print(rep)
    check(rc == 0, "report (%s)" % err.strip())
    sites = rep.split("Sites treated", 1)[-1].split("Pauses (", 1)[0]
    check("shin:left" in sites and "calf:right" in sites and "neck" in sites and
          "5.00 N" in sites and "profile cap for shin:left" in sites,
          "the report lists every site with its cap and reasons:\n%s" % sites)
    # (the pauses are in the header, before the stroke table)
    lines = [l for l in rep.split("Strokes (", 1)[-1].split("Warnings and violations", 1)[0].splitlines()[1:]
             if l.strip()[:1].isdigit()]
    check([l.split()[1] for l in lines] == ["shin:left", "shin:left", "calf:right", "neck"],
          "each stroke under its own site: %s" % [l.split()[1] for l in lines])
    check("Pauses (1)" in rep and "pause" in rep.split("Pauses (1)", 1)[-1],
          "the report mentions the pause")
    viol = rep.split("Warnings and violations", 1)[-1]
    check("exceeded" in viol and "shin:left" in viol and "against 5.00 N" in viol,
          "the violation is reported where it happened, against that cap")
    rep_json = ctl_json(h, "session", "report", sid) or {}
    check(len(rep_json.get("pauses", [])) == 1, "report --json has the pauses")

    # history across visits and the patient's session list
    rc, out, err = ctl(h, "session", "start", "SIM0001", "LAT-9", "shin:left")
    sid2 = out.split()[2] if rc == 0 else "0"
    play(h, "SIM0001", [(3.0, 0.4, 0.3)])
    ctl(h, "session", "stop", sid2)
    rc, out, err = ctl(h, "history", "LAT-9")
    if os.environ.get("SHOW"):
        print(out)
    check(rc == 0 and "Patient LAT-9: 2 visits" in out, "history: %r %r" % (out[:200], err))
    first = out.split("Session %s," % sid2, 1)[-1].split("Session ", 1)[0]
    check("shin:left" in first and " N" in first and "first" not in first,
          "the newest visit's shin:left has a trend against the previous one:\n%s" % first)
    older = out.split("Session %s," % sid, 1)[-1]
    check("first" in older and "neck" in older and "calf:right" in older,
          "the older visit lists its sites:\n%s" % older)
    hj = ctl_json(h, "history", "LAT-9") or {}
    v = hj.get("visits", [])
    check(v and v[0]["session"] == int(sid2) and v[0]["region"] == "shin:left" and
          v[0]["strokes"] == 1 and "mean_change_n" in v[0], "history --json: %s" % v[:1])
    lst = ctl_json(h, "session", "list", "--patient", "LAT-9") or []
    check([x["id"] for x in lst] == [int(sid2), int(sid)] and
          all(x["patient_ref"] == "LAT-9" for x in lst),
          "session list --patient: the patient's sessions, newest first: %s" % lst)
    rc, out, err = ctl(h, "session", "list", "--patient", "NOBODY")
    check(rc == 1 and "no patient 'NOBODY'" in err, "unknown patient: %r" % err)
    rc, out, err = ctl(h, "history", "Jane Doe")
    check(rc == 2 and "id:N" in err, "history of a non-reference: %r" % err)


def main():
    h = Harness(simulate=2, sim_signal="flat")
    try:
        h.write_policy(lateral=("shin", "calf"))
        h.start_daemon()
        test_identity(h)
        test_sides_report_history(h)
        h.stop_daemon()
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(False, "test raised %r" % e)
        h.print_log()
    finally:
        h.cleanup()
    finish()


if __name__ == "__main__":
    main()
