#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Clinical records (issue 11) on the real bus with real SQLite: the right
patient (references made of digits are references, never ids), the right
side and region in every record, what was in force when it happened, pauses
as records, and each patient's history across visits. The daemon starts
from a database written by the schema-2 strigild (tests/daemon-unit/data/
schema-v2.sql), so the migration keeps every record under these tests."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ERR, ROOT, SIM1, Harness, check, close, expect_error,  # noqa: E402
                     finish, plain, pump, wait_for)
import dbus  # noqa: E402

TOP = os.environ.get("SG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SIM2 = dbus.ObjectPath(ROOT + "/instrument/SIM0002")
V2 = os.path.join(TOP, "tests", "daemon-unit", "data", "schema-v2.sql")


def D(x):
    return dbus.Double(float(x))


def play(h, inst, strokes):
    dbg = h.iface(inst, "Debug")
    dbg.Play(dbus.Array([(D(p), D(c), D(g)) for p, c, g in strokes], signature="(ddd)"))
    check(wait_for(lambda: h.script_played(inst)), "script played on %s" % inst)
    pump(0.3)


def session(h, path):
    return h.iface(path, "Session")


def test_identity(h):
    m = h.manager
    # The fixture holds profiles 1 (P-0001), 2 ("12", 3 N), 3 ("Jane Doe"),
    # 4 (63 x's). Profile id 2 is patient "12", not patient "2".
    p2 = h.create_profile(patient_ref="2", max_force_n=D(3),
                          conditions=dbus.Array(["anticoagulants"], signature="s"))
    check(m.FindProfile("2") == p2, "FindProfile('2') is patient 2 (%s), not profile id 2" % p2)
    check(h.prop(m.FindProfile("2"), "Profile", "PatientRef") == "2", "found profile's ref is '2'")
    check(str(m.FindProfile("12")).endswith("/profile/2"), "FindProfile('12') is patient 12")
    expect_error(lambda: m.FindProfile("13"), ERR + "NoSuchObject", "FindProfile of an unknown ref")
    expect_error(lambda: m.FindProfile("Jane Doe"), ERR + "InvalidArgument",
                 "FindProfile of a string that is no reference")
    expect_error(lambda: m.FindProfile(""), ERR + "InvalidArgument", "FindProfile('')")
    s = m.StartSession(SIM1, p2, "neck")
    props = h.props(s, "Session")
    check(props["PatientRef"] == "2" and close(props["EffectiveLimitN"], 1.5, 1e-9),
          "session for patient 2 has patient 2's cap 1.5 N (%s, %s)" % (
              props["PatientRef"], props["EffectiveLimitN"]))
    summary = plain(session(h, s).Stop())
    check(summary.get("patient_ref") == "2" and
          any("anticoagulants" in r for r in summary.get("limit_reasons", [])),
          "Stop's summary names the patient and the cap's reasons: %s" % summary)

    # The documented syntax, 1-64 bytes of [A-Za-z0-9._-], for new references.
    for bad in ("Jane Doe", "a/b", 'x"y', "\u00e9mile", "x" * 65, "=HYPERLINK(1)", "a\tb"):
        expect_error(lambda: h.create_profile(patient_ref=bad), ERR + "InvalidArgument",
                     "CreateProfile(patient_ref=%r) refused" % bad[:20])
    ok64 = h.create_profile(patient_ref="y" * 64)
    check(h.prop(ok64, "Profile", "PatientRef") == "y" * 64, "a 64-byte reference is accepted")
    check(m.FindProfile("y" * 64) == ok64, "and found")
    h.create_profile(patient_ref="A.b_c-9")
    expect_error(lambda: h.iface(ok64, "Profile").Update(
        dbus.Dictionary({"patient_ref": "no spaces"}, signature="sv")),
        ERR + "InvalidArgument", "Update to an invalid reference refused")

    # A profile stored before the syntax was enforced keeps its reference:
    # readable and treatable by its path, never found by a guess.
    legacy = dbus.ObjectPath(ROOT + "/profile/3")
    lp = h.props(legacy, "Profile")
    check(lp["PatientRef"] == "Jane Doe" and bool(lp["LegacyPatientRef"]),
          "legacy profile readable, marked: %s" % plain(lp))
    check(not h.prop(p2, "Profile", "LegacyPatientRef"), "a valid reference is not legacy")
    h.iface(legacy, "Profile").Update(dbus.Dictionary({"max_force_n": D(9)}, signature="sv"))
    check(h.prop(legacy, "Profile", "PatientRef") == "Jane Doe",
          "updating another key keeps the legacy reference (never silently renamed)")
    s = m.StartSession(SIM1, legacy, "neck")
    check(h.prop(s, "Session", "PatientRef") == "Jane Doe", "a legacy profile is treatable by path")
    session(h, s).Stop()


def main():
    h = Harness(simulate=2, sim_signal="flat")
    try:
        h.seed_database(V2)
        h.write_policy(lateral=("shin", "calf"))
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
