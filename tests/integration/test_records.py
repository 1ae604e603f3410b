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


def test_migrated(h):
    """The schema-2 records are all there, with side 'unknown' (a value, not
    a guess) and no cap reasons (not recorded then), their caps kept."""
    old = dbus.ObjectPath(ROOT + "/session/1")
    st = plain(session(h, old).GetStrokes())
    vi = plain(session(h, old).GetViolations())
    check(len(st) == 3 and len(vi) == 2, "session 1 keeps its 3 strokes and 2 events (%d, %d)" % (
        len(st), len(vi)))
    check([x["region"] for x in st] == ["calf", "calf", "upper_back"],
          "each stroke keeps the region it was recorded in: %s" % [x["region"] for x in st])
    check(all(x["side"] == "unknown" and x["cap_reasons"] == [] for x in st + vi),
          "migrated records: side 'unknown', no cap reasons")
    check(all(x["cap_n"] == x["limit_n"] and x["cap_n"] > 0 for x in st + vi),
          "migrated records keep the cap in force (limit_n)")
    check(session(h, old).GetPauses() == [], "no pauses recorded before schema 3")
    total = sum(len(session(h, dbus.ObjectPath(ROOT + "/session/%d" % i)).GetStrokes())
                for i in (1, 2, 3))
    check(total == 4, "every stroke of the old database is readable (%d of 4)" % total)
    st2 = plain(session(h, dbus.ObjectPath(ROOT + "/session/2")).GetStrokes())
    check(len(st2) == 1 and st2[0]["region"] == "neck", "session 2's stroke kept")
    check(h.prop(old, "Session", "PatientRef") == "P-0001", "old session names its patient")
    s3 = dbus.ObjectPath(ROOT + "/session/3")
    check(h.prop(s3, "Session", "Region") == "calf" and h.prop(s3, "Session", "Side") == "unknown",
          "an old session in a region that now has sides: side unknown, not guessed")
    check(h.prop(old, "Session", "Side") == "", "an old session that ended in a midline region")


def strokes_where(strokes, region):
    return [x for x in strokes if x["region"] == region]


def test_laterality(h):
    m = h.manager
    regions = [str(r) for r in h.prop(ROOT, "Manager", "Regions")]
    check("calf:left" in regions and "calf:right" in regions and "calf" not in regions and
          "neck" in regions and "neck:left" not in regions,
          "Regions lists what a session accepts: sides of lateral regions, midline as is")
    check(sorted(str(r) for r in h.prop(ROOT, "Manager", "LateralRegions")) == ["calf", "shin"],
          "LateralRegions from the policy")
    p = h.create_profile(patient_ref="LAT-1",
                         conditions=dbus.Array(["open_wound@calf:left"], signature="s"),
                         region_caps_n=dbus.Dictionary({"calf": D(9), "shin:left": D(5)},
                                                       signature="sd"))
    check(sorted(plain(h.prop(p, "Profile", "Conditions"))) == ["open_wound@calf:left"],
          "the condition keeps its side")
    e = expect_error(lambda: m.StartSession(SIM1, p, "calf:left"), ERR + "Contraindicated",
                     "open_wound@calf:left blocks calf:left")
    check(e is not None and "calf:left" in e.get_dbus_message(), "the refusal names the side")
    s = m.StartSession(SIM1, p, "calf:right")
    check(h.prop(s, "Session", "Region") == "calf:right" and
          h.prop(s, "Session", "Side") == "right", "calf:right allowed for the same patient")
    check(close(h.prop(s, "Session", "EffectiveLimitN"), 9, 1e-9), "both-sides cap 9 N applies")
    e = expect_error(lambda: session(h, s).SetRegion("calf"), ERR + "InvalidArgument",
                     "a lateral region without side is refused")
    check(e is not None and "calf:left or calf:right" in e.get_dbus_message(),
          "with a sentence naming both forms: %s" % (e and e.get_dbus_message()))
    expect_error(lambda: session(h, s).SetRegion("neck:left"), ERR + "InvalidArgument",
                 "a side on a midline region is refused")
    expect_error(lambda: session(h, s).SetRegion("calf:left"), ERR + "Contraindicated",
                 "SetRegion to the blocked side is refused")
    check(h.prop(s, "Session", "Region") == "calf:right", "refusals changed nothing")
    session(h, s).Stop()
    expect_error(lambda: m.StartSession(SIM1, p, "calf"), ERR + "InvalidArgument",
                 "StartSession with a lateral region without side")
    expect_error(lambda: h.create_profile(patient_ref="LAT-2", conditions=dbus.Array(
        ["open_wound@neck:left"], signature="s")), ERR + "InvalidArgument",
        "a condition on a side of a midline region is refused")
    expect_error(lambda: h.create_profile(patient_ref="LAT-3", conditions=dbus.Array(
        ["dvt@calf:left"], signature="s")), ERR + "InvalidArgument",
        "a systemic condition cannot be put on a side")


def test_records_in_force(h):
    """shin:left -> calf:right -> neck with a pause: every record keeps its
    region, side, cap and reasons; the pause is a record and splits the
    stroke it fell in."""
    m = h.manager
    p = h.create_profile(patient_ref="P-0001-b", max_force_n=D(10),
                         region_caps_n=dbus.Dictionary({"shin:left": D(5)}, signature="sd"),
                         conditions=dbus.Array(["anticoagulants"], signature="s"))
    h.signals = []
    s = m.StartSession(SIM1, p, "shin:left")
    play(h, SIM1, [(2.0, 0.4, 0.3), (4.0, 0.4, 0.3)])     # 4 N > 2.5 N cap: exceeded
    session(h, s).SetRegion("calf:right")
    play(h, SIM1, [(2.0, 0.4, 0.3)])
    # one long stroke with a pause in its middle
    h.iface(SIM1, "Debug").Play(dbus.Array([(D(3.0), D(3.0), D(0.5))], signature="(ddd)"))
    pump(1.2)
    session(h, s).Pause()
    pump(0.4)
    session(h, s).Resume()
    check(wait_for(lambda: h.script_played(SIM1)), "long stroke played")
    pump(0.3)
    session(h, s).SetRegion("neck")
    play(h, SIM1, [(1.5, 0.4, 0.3)])
    flags_live = plain(h.prop(s, "Session", "Flags"))
    summary = plain(session(h, s).Stop())

    strokes = plain(session(h, s).GetStrokes())
    viol = plain(session(h, s).GetViolations())
    pauses = plain(session(h, s).GetPauses())
    shin, calf, neck = (strokes_where(strokes, r) for r in ("shin:left", "calf:right", "neck"))
    check(len(shin) == 2 and len(neck) == 1, "strokes in shin:left (%d) and neck (%d)" % (
        len(shin), len(neck)))
    check(len(calf) == 3, "calf:right: one stroke, then the long one split by the pause (%d: %s)"
          % (len(calf), [(round(x["start_s"], 2), round(x["end_s"], 2)) for x in calf]))
    check(all(x["side"] == "left" for x in shin) and all(x["side"] == "right" for x in calf) and
          all(x["side"] == "" for x in neck), "each stroke has its side ('' midline)")
    check(all(close(x["cap_n"], 2.5, 1e-9) for x in shin) and
          all(close(x["cap_n"], 5.0, 1e-9) for x in calf) and
          all(close(x["cap_n"], 2.0, 1e-9) for x in neck),
          "each stroke has the cap in force where it was: %s" % [x["cap_n"] for x in strokes])
    check(all(any("profile cap for shin:left" in r for r in x["cap_reasons"]) for x in shin) and
          all(any("anticoagulants" in r for r in x["cap_reasons"]) for x in strokes) and
          not any(any("shin" in r for r in x["cap_reasons"]) for x in calf + neck),
          "and the reasons of that cap")
    check(all("start_s" in x and x["start_s"] < x["end_s"] for x in strokes),
          "strokes carry the engine's start")
    check(len(pauses) == 1 and pauses[0]["reason"] == "pause" and
          pauses[0]["start_s"] <= pauses[0]["end_s"], "GetPauses: the pause is a record: %s" % pauses)
    if pauses:
        ps = pauses[0]["start_s"]
        pe = pauses[0]["end_s"]
        check(not any(x["start_s"] < pe - 1e-9 and x["end_s"] > ps + 1e-9 for x in strokes),
              "no stroke spans the pause [%.4f, %.4f]: %s" % (ps, pe, [
                  (round(x["start_s"], 4), round(x["end_s"], 4)) for x in calf]))
        before = [x for x in calf if x["end_s"] <= ps + 1e-9]
        after = [x for x in calf if x["start_s"] >= pe - 1e-9]
        check(len(before) == 2 and len(after) == 1 and close(before[-1]["end_s"], ps, 1e-6),
              "the pause ended the stroke in progress at its start")
        check(pauses[0]["ended_at"] >= pauses[0]["started_at"] > 0, "wall times of the pause")
    exc = [v for v in viol if v["kind"] == "exceeded"]
    check(len(exc) >= 1 and exc[0]["region"] == "shin:left" and exc[0]["side"] == "left" and
          close(exc[0]["cap_n"], 2.5, 1e-9) and
          any("shin:left" in r for r in exc[0]["cap_reasons"]),
          "the violation keeps region, side, cap and reasons: %s" % (exc[:1],))
    if exc and shin:
        check(close(exc[0]["start_s"], shin[1]["start_s"], 1e-6),
              "the violation names the start of its stroke (%s vs %s)" % (
                  exc[0]["start_s"], shin[1]["start_s"]))
    sig = [plain(x[3][0]) for x in h.signals_of("StrokeCompleted", s)]
    check(len(sig) == len(strokes) and all(
        (a["region"], a["side"], a["cap_n"], a["cap_reasons"], a["start_s"]) ==
        (b["region"], b["side"], b["cap_n"], b["cap_reasons"], b["start_s"])
        for a, b in zip(sig, strokes)), "StrokeCompleted carries what GetStrokes stores")
    lsig = [plain(x[3][0]) for x in h.signals_of("LimitExceeded", s)]
    check(len(lsig) == len(exc) and all(
        (a["region"], a["side"], a["cap_n"], a["cap_reasons"], a["start_s"]) ==
        (b["region"], b["side"], b["cap_n"], b["cap_reasons"], b["start_s"])
        for a, b in zip(lsig, exc)), "LimitExceeded carries what GetViolations stores")
    check("precaution" in flags_live and "precaution" in plain(h.prop(s, "Session", "Flags")),
          "the precaution flag survives the session's end")
    check(summary["flags"] & 8 and "precaution" in summary["flag_names"],
          "Stop: flags bit 8 and flag_names agree: %s %s" % (summary["flags"],
                                                             summary["flag_names"]))
    return p, s


def test_history(h, prof, newest):
    """History across visits: the fixture's P-0001 session and new visits."""
    m = h.manager
    p = m.FindProfile("P-0001")
    for region in ("calf:left", "calf:left"):
        s = m.StartSession(SIM1, p, region)
        play(h, SIM1, [(2.0, 0.4, 0.3), (3.0, 0.4, 0.3)])
        session(h, s).Stop()
    pr = h.iface(p, "Profile")
    page, total = pr.ListSessions(dbus.UInt32(0), dbus.UInt32(2))
    check(total == 3 and len(page) == 2, "ListSessions pages: 2 of 3 (%d, %d)" % (len(page), total))
    rest, total2 = pr.ListSessions(dbus.UInt32(2), dbus.UInt32(2))
    check(total2 == 3 and [str(x) for x in rest] == [ROOT + "/session/1"],
          "the oldest visit on the second page: %s" % rest)
    started = [int(h.prop(x, "Session", "StartedAt")) for x in list(page) + list(rest)]
    check(started == sorted(started, reverse=True), "newest first")
    none, t3 = pr.ListSessions(dbus.UInt32(5), dbus.UInt32(10))
    check(len(none) == 0 and t3 == 3, "a page past the end is empty")
    expect_error(lambda: pr.ListSessions(dbus.UInt32(0), dbus.UInt32(100000)), ERR + "InvalidArgument", "a huge page")
    hist = plain(pr.GetRegionHistory())
    check(len(hist) == 4, "one row per (visit, site): %s" % [(x["session"][-2:], x["region"])
                                                             for x in hist])
    check([x["session"] for x in hist][:2] == [str(page[0]), str(page[1])],
          "newest visit first")
    row = hist[0]
    check(row["region"] == "calf:left" and row["side"] == "left" and row["strokes"] == 2 and
          close(row["peak_n"], 3.0, 0.2) and row["impulse_ns"] > 0 and row["violations"] == 0,
          "aggregates of a visit: %s" % row)
    old = [x for x in hist if x["session"].endswith("/session/1")]
    check(sorted((x["region"], x["side"], x["strokes"], x["violations"]) for x in old) ==
          [("calf", "unknown", 2, 1), ("upper_back", "unknown", 1, 0)],
          "the migrated visit, per region, side unknown: %s" % old)
    other = plain(h.iface(prof, "Profile").GetRegionHistory())
    check({x["region"] for x in other} == {"shin:left", "calf:right", "neck"},
          "another patient's history is their own")


def test_pause_watched(h):
    """A monitor's claim keeps the samples flowing through a pause: the
    session's engine is told of that gap on resume, so the strokes after
    the pause start after its end, on the timeline of the pause record."""
    p = h.create_profile(patient_ref="P-WATCH", max_force_n=D(10))
    inst = h.iface(SIM2, "Instrument")
    inst.Claim()
    s = h.manager.StartSession(SIM2, p, "neck")
    play(h, SIM2, [(2.0, 0.4, 0.3)])
    session(h, s).Pause()
    pump(0.5)       # samples go on to the monitor, not to the engine
    check(plain(h.prop(SIM2, "Instrument", "Streaming")), "the claim keeps it streaming")
    session(h, s).Resume()
    play(h, SIM2, [(2.0, 0.4, 0.3)])
    session(h, s).Stop()
    inst.Release()
    strokes = plain(session(h, s).GetStrokes())
    pauses = plain(session(h, s).GetPauses())
    check(len(strokes) == 2 and len(pauses) == 1,
          "two strokes around one pause (%d, %d)" % (len(strokes), len(pauses)))
    if len(strokes) == 2 and len(pauses) == 1:
        ps, pe = pauses[0]["start_s"], pauses[0]["end_s"]
        check(strokes[0]["end_s"] <= ps + 1e-9 and strokes[1]["start_s"] >= pe - 1e-9,
              "strokes before and after the pause [%.4f, %.4f]: %s" % (ps, pe, [
                  (round(x["start_s"], 4), round(x["end_s"], 4)) for x in strokes]))


def main():
    h = Harness(simulate=2, sim_signal="flat")
    try:
        h.seed_database(V2)
        h.write_policy(lateral=("shin", "calf"))
        h.start_daemon()
        test_identity(h)
        test_migrated(h)
        test_laterality(h)
        prof, s = test_records_in_force(h)
        test_history(h, prof, s)
        test_pause_watched(h)
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
