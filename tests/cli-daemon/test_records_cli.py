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
    rc, out, err = ctl(h, "session", "start", "SIM0002", "2", "calf")
    check(rc == 0, "session start SIM0002 2 calf (%s)" % err.strip())
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


def main():
    h = Harness(simulate=2, sim_signal="flat")
    try:
        h.start_daemon()
        test_identity(h)
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
