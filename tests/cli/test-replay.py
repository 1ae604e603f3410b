#!/usr/bin/python3
# CLI test of `strigilctl replay`: known strokes and limits on fixtures
# (tests/cli/replay/*/trace.csv with truth.json next to it), and every kind
# of bad input: exit status 2, a message naming file:line or the option,
# nothing (or only the events before the bad line) on stdout.
#
# Usage: test-replay.py STRIGILCTL
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

CTL = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "replay")
STROKE_KEYS = ["event", "start_s", "end_s", "duration_s", "peak_n", "mean_n", "impulse_ns"]
LIMIT_KEYS = ["event", "level", "t_s", "force_n", "limit_n"]
SUMMARY_KEYS = ["event", "strokes", "warnings", "exceeded"]
# added after the keys above, which stay as they were
STROKE_ADDED = ["burst", "end"]
SUMMARY_ADDED = ["bursts"]

failures = 0
checks = 0


def check(cond, msg):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL: " + msg)


def run(*args, wrap=()):
    p = subprocess.run(list(wrap) + [CTL] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def parse_lines(out, what):
    events = []
    for i, line in enumerate(out.splitlines()):
        try:
            events.append(json.loads(line, object_pairs_hook=lambda kv: kv))
        except ValueError as e:
            check(False, "%s: stdout line %d is not JSON (%s): %r" % (what, i + 1, e, line))
    return [(dict(kv), [k for k, _ in kv]) for kv in events]


def replay_ok(what, *args, wrap=()):
    rc, out, err = run("replay", *args, wrap=wrap)
    check(rc == 0, "%s: exit %d, stderr %r" % (what, rc, err))
    check(err == "", "%s: unexpected stderr %r" % (what, err))
    ev = parse_lines(out, what)
    check(len(ev) > 0 and ev[-1][0].get("event") == "summary", "%s: no summary last" % what)
    for e, keys in ev:
        kind = e.get("event")
        want = {"stroke": STROKE_KEYS, "limit": LIMIT_KEYS, "summary": SUMMARY_KEYS}.get(kind)
        check(want is not None, "%s: unknown event %r" % (what, kind))
        if want:
            check(keys[:len(want)] == want, "%s: %s keys %s, want first %s" % (what, kind, keys, want))
        if kind == "summary":
            check(keys == SUMMARY_KEYS + SUMMARY_ADDED, "%s: summary keys %s" % (what, keys))
        if kind == "stroke":
            check(keys[-2:] == STROKE_ADDED, "%s: stroke keys %s end without %s" % (what, keys, STROKE_ADDED))
            check(e.get("end") in ("lift", "reversal") and isinstance(e.get("burst"), int)
                  and e["burst"] >= 1, "%s: stroke burst/end %r %r" % (what, e.get("burst"), e.get("end")))
    s = ev[-1][0] if ev else {}
    strokes = [e for e, _ in ev if e["event"] == "stroke"]
    limits = [e for e, _ in ev if e["event"] == "limit"]
    check(s.get("strokes") == len(strokes), "%s: summary strokes %s != %d" % (what, s.get("strokes"), len(strokes)))
    check(s.get("warnings") == sum(1 for e in limits if e["level"] == "warning"),
          "%s: summary warnings mismatch" % what)
    check(s.get("exceeded") == sum(1 for e in limits if e["level"] == "exceeded"),
          "%s: summary exceeded mismatch" % what)
    check(sum(1 for e, _ in ev if e["event"] == "summary") == 1, "%s: one summary" % what)
    return strokes, limits, s


def near(a, b, tol):
    return a is not None and abs(a - b) <= tol


def check_strokes(what, strokes, truth):
    want = truth["strokes"]
    check(len(strokes) == len(want), "%s: %d strokes, want %d: %s" % (what, len(strokes), len(want), strokes))
    for i, (got, t) in enumerate(zip(strokes, want)):
        w = t["end_s"] - t["start_s"]
        tag = "%s stroke %d" % (what, i + 1)
        check(near(got["start_s"], t["start_s"], 0.12), "%s: start %s, want %s" % (tag, got["start_s"], t["start_s"]))
        check(near(got["end_s"], t["end_s"], 0.12), "%s: end %s, want %s" % (tag, got["end_s"], t["end_s"]))
        check(near(got["duration_s"], got["end_s"] - got["start_s"], 2e-6), "%s: duration != end - start" % tag)
        check(near(got["peak_n"], t["peak_n"], max(0.4, 0.08 * t["peak_n"])),
              "%s: peak %s, want %s" % (tag, got["peak_n"], t["peak_n"]))
        mean = 2 / math.pi * t["peak_n"]
        check(near(got["mean_n"], mean, 0.2 * mean), "%s: mean %s, want ~%.3f" % (tag, got["mean_n"], mean))
        imp = mean * w
        check(near(got["impulse_ns"], imp, 0.2 * imp), "%s: impulse %s, want ~%.3f" % (tag, got["impulse_ns"], imp))
        check(got["start_s"] < got["end_s"], "%s: start >= end" % tag)


def truth_of(name):
    with open(os.path.join(FIX, name, "truth.json")) as fh:
        return json.load(fh)


def trace(name):
    return os.path.join(FIX, name, "trace.csv")


def stroke_of(t_s, truth, slack=0.15):
    for i, s in enumerate(truth["strokes"]):
        if s["start_s"] - slack <= t_s <= s["end_s"] + slack:
            return i
    return None


def check_limits(what, limits, truth, limit, frac):
    """Each stroke above the limit: exactly one 'exceeded' inside it; strokes
    below the warning level: no event; every event at a force >= its level."""
    warn = limit * frac
    for e in limits:
        check(near(e["limit_n"], limit, 1e-9), "%s: limit_n %s" % (what, e["limit_n"]))
        lvl = limit if e["level"] == "exceeded" else warn
        check(e["force_n"] >= lvl - 0.05, "%s: %s at %s N < %s" % (what, e["level"], e["force_n"], lvl))
        check(stroke_of(e["t_s"], truth) is not None, "%s: event at %s outside strokes" % (what, e["t_s"]))
    for i, s in enumerate(truth["strokes"]):
        inside = [e for e in limits if stroke_of(e["t_s"], truth) == i]
        exc = [e for e in inside if e["level"] == "exceeded"]
        if s["peak_n"] > limit * 1.05:
            check(len(exc) == 1, "%s: stroke %d (%.1f N > %.1f): %d exceeded events" % (what, i + 1, s["peak_n"], limit, len(exc)))
        elif s["peak_n"] > warn * 1.05:
            check(len(exc) == 0 and any(e["level"] == "warning" for e in inside),
                  "%s: stroke %d (%.1f N, warn %.2f): want a warning only, got %s" % (what, i + 1, s["peak_n"], warn, inside))
        elif s["peak_n"] < warn * 0.95:
            check(inside == [], "%s: stroke %d (%.1f N < warn %.2f): events %s" % (what, i + 1, s["peak_n"], warn, inside))


def good_cases(tmp):
    clean = truth_of("clean")
    strokes, limits, s = replay_ok("clean", trace("clean"))
    check_strokes("clean", strokes, clean)
    check(limits == [] and s.get("warnings") == 0 and s.get("exceeded") == 0, "clean: limit events without --limit")

    # --json and the global --json are accepted, output identical
    a = run("replay", trace("clean"))
    b = run("replay", "--json", trace("clean"))
    c = subprocess.run([CTL, "--json", "replay", trace("clean")], capture_output=True, text=True)
    check(a[1] == b[1] == c.stdout and a[0] == b[0] == c.returncode == 0, "--json changes the output")

    strokes, limits, s = replay_ok("clean --limit 10", "--limit", "10", trace("clean"))
    check_strokes("clean --limit 10", strokes, clean)
    check(s.get("exceeded") == 1, "clean --limit 10: exceeded %s, want 1" % s.get("exceeded"))
    check_limits("clean --limit 10", limits, clean, 10.0, 0.9)
    for st in strokes:
        check("above_limit_s" in st and "limit_n" in st, "clean --limit 10: stroke extras missing")
    big = strokes[2] if len(strokes) == 3 else {}
    check(big.get("above_limit_s", 0) > 0.1, "stroke 3 above 10 N for %s s" % big.get("above_limit_s"))
    check(all(st.get("above_limit_s", 1) == 0 for st in strokes[:2]), "strokes 1-2 above the limit")

    strokes, limits, s = replay_ok("clean --limit 7 --warn-fraction 0.5",
                                   "--limit", "7", "--warn-fraction", "0.5", trace("clean"))
    check(s.get("exceeded") == 2, "limit 7: exceeded %s, want 2" % s.get("exceeded"))
    check_limits("clean --limit 7 --warn-fraction 0.5", limits, clean, 7.0, 0.5)
    # order: events come out in time order
    ts = [e.get("t_s", e.get("end_s")) for e in limits]
    check(ts == sorted(ts), "limit events out of order")

    strokes, limits, s = replay_ok("clean --limit 20 --warn-fraction 1", "--limit", "20",
                                   "--warn-fraction", "1", trace("clean"))
    check(limits == [], "limit 20: events %s" % limits)

    noisy = truth_of("noisy-s4")
    strokes, limits, s = replay_ok("noisy-s4 --limit 10", "--limit", "10", trace("noisy-s4"))
    check_strokes("noisy-s4", strokes, noisy)
    check_limits("noisy-s4 --limit 10", limits, noisy, 10.0, 0.9)
    for i, st in enumerate(strokes):
        check(near(st.get("direction_deg"), 30, 10), "noisy-s4 stroke %d: direction %s, want 30" % (i + 1, st.get("direction_deg")))
        pk = 0.3 * noisy["strokes"][i]["peak_n"] if i < len(noisy["strokes"]) else 0
        check(near(st.get("peak_shear_n"), pk, max(0.25, 0.2 * pk)), "noisy-s4 stroke %d: peak shear %s, want %s" % (i + 1, st.get("peak_shear_n"), pk))
        check(near(st.get("mean_tilt_deg"), 22, 1.5), "noisy-s4 stroke %d: tilt %s" % (i + 1, st.get("mean_tilt_deg")))

    # header only, and a trace without any stroke
    p = os.path.join(tmp, "empty-trace.csv")
    with open(p, "w") as fh:
        fh.write("t_s,force_n\n")
    strokes, limits, s = replay_ok("header only", p)
    check(s == {"event": "summary", "strokes": 0, "warnings": 0, "exceeded": 0, "bursts": 0},
          "header only: %s" % s)
    p = os.path.join(tmp, "rest.csv")
    with open(p, "w") as fh:
        fh.write("t_s,force_n\n" + "".join("%.3f,0.01\n" % (i / 500) for i in range(1500)))
    strokes, limits, s = replay_ok("at rest", "--limit", "5", p)
    check(s.get("strokes") == 0 and limits == [], "at rest: %s" % s)

    # what real tools write: BOM, quoted header and values, CRLF, blanks,
    # trailing commas, extra columns (index, raw counts, temperature):
    # the same strokes as the plain file, and ONE warning naming the extras
    with open(trace("clean")) as fh:
        rows = [l.rstrip("\n") for l in fh if l.strip() and not l.startswith("#")]
    hdr, data = rows[0].split(","), rows[1:]
    p = os.path.join(tmp, "real-tool.csv")
    with open(p, "w", newline="") as fh:
        fh.write("\ufeff" + ",".join(['"sample"'] + ['"%s"' % h for h in hdr] + ['"raw_counts"', "temp_c", ""]) + "\r\n")
        for i, row in enumerate(data):
            fh.write(",".join([str(i)] + [' "%s" ' % v for v in row.split(",")] + [str(80000 + i), "31.5", ""]) + "\r\n")
    rc, out, err = run("replay", "--limit", "10", p)
    base = run("replay", "--limit", "10", trace("clean"))[1]
    check(rc == 0 and out == base, "real-tool file: exit %d, output differs from the plain file" % rc)
    check(err.count("\n") == 1 and "warning" in err and p in err and
          "'sample', 'raw_counts', 'temp_c'" in err, "real-tool file: stderr %r" % err)

    # Unix-epoch times: the same strokes, shifted
    p = os.path.join(tmp, "epoch.csv")
    t0 = 1763719200.0
    with open(p, "w") as fh:
        fh.write(rows[0] + "\n")
        for row in data:
            v = row.split(",")
            fh.write(",".join(["%.6f" % (t0 + float(v[0]))] + v[1:]) + "\n")
    e_strokes, _, _ = replay_ok("epoch times", p)
    b_strokes, _, _ = replay_ok("plain times", trace("clean"))
    check(len(e_strokes) == len(b_strokes) and all(
        near(a["start_s"] - t0, b["start_s"], 1e-5) and near(a["peak_n"], b["peak_n"], 1e-3)
        for a, b in zip(e_strokes, b_strokes)), "epoch times: strokes differ")

    # strokes without shear, one per contact: each its own burst, ended by a lift
    strokes, _, s = replay_ok("clean bursts", trace("clean"))
    check([st["burst"] for st in strokes] == list(range(1, len(strokes) + 1)) and
          all(st["end"] == "lift" for st in strokes) and s.get("bursts") == len(strokes),
          "clean: bursts %s, summary %s" % ([(st["burst"], st["end"]) for st in strokes], s))
    burst_cases(tmp)

    if shutil.which("valgrind"):
        replay_ok("valgrind", "--limit", "10", trace("clean"),
                  wrap=("valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect"))


def burst_cases(tmp):
    """Passes back and forth without lifting (strigilctl simulate --bursts):
    one stroke per pass, numbered by burst, ended by a reversal inside it and
    a lift at its end; without the shear columns a stroke is a burst."""
    p = os.path.join(tmp, "bursts.csv")
    rc, out, err = run("simulate", "--out", p, "--seed", "7", "--duration", "40",
                       "--channels", "shear", "--bursts", "0.8", "--dips", "0.3",
                       "--fan", "40", "--shear-offset", "0.2", "--limit", "9",
                       # (a valley deeper than 70 % of a light pass is a lift by
                       # the contact definition: the burst numbers would differ)
                       "--valley-max", "0.7",
                       "--over-prob", "0.2")
    check(rc == 0, "simulate bursts: exit %d %r" % (rc, err))
    with open(os.path.join(tmp, "bursts.truth.json")) as fh:
        truth = json.load(fh)
    want = truth["strokes"]
    check(sum(1 for t in want if t["end"] == "reversal") >= 10, "simulated bursts have reversals")
    strokes, limits, s = replay_ok("bursts", "--limit", "9", p)
    check(len(strokes) == len(want), "bursts: %d strokes, want %d passes" % (len(strokes), len(want)))
    for i, (got, t) in enumerate(zip(strokes, want)):
        tag = "bursts stroke %d" % (i + 1)
        check(near(got["start_s"], t["start_s"], 0.1 if t["pass"] == 1 else 0.03),
              "%s: start %s, want %s" % (tag, got["start_s"], t["start_s"]))
        check(near(got["end_s"], t["end_s"], 0.1 if t["end"] == "lift" else 0.03),
              "%s: end %s, want %s" % (tag, got["end_s"], t["end_s"]))
        check(got["end"] == t["end"], "%s: end %s, want %s" % (tag, got["end"], t["end"]))
        check(near(got["peak_n"], t["peak_n"], max(0.3, 0.05 * t["peak_n"])),
              "%s: peak %s, want %s" % (tag, got["peak_n"], t["peak_n"]))
    # the engine numbers the bursts it sees in order, as the truth does
    check([st["burst"] for st in strokes] == [t["burst"] for t in want],
          "bursts: burst numbers %s, want %s" % ([st["burst"] for st in strokes], [t["burst"] for t in want]))
    check(s.get("bursts") == len(set(t["burst"] for t in want)), "bursts: summary %s" % s)
    # every violating pass alarms, inside that pass
    for t in want:
        if t.get("verdict") == "violation":
            # (an alarm may come a filter delay after a lift; passes of a
            # burst touch, so there the pass that contains it counts)
            slack = 0.05 if t["end"] == "lift" else 0.0
            inside = [e for e in limits if e["level"] == "exceeded" and t["start_s"] <= e["t_s"] <= t["end_s"] + slack]
            check(len(inside) == 1, "bursts: pass %s-%s: %d exceeded" % (t["burst"], t["pass"], len(inside)))
    # the same trace without its shear columns: a stroke is a burst
    q = os.path.join(tmp, "bursts-noshear.csv")
    with open(p) as src, open(q, "w") as dst:
        for line in src:
            if line.startswith("#"):
                continue
            dst.write(",".join(line.rstrip("\n").split(",")[:2]) + "\n")
    strokes, _, s = replay_ok("bursts without shear", q)
    nb = len(set(t["burst"] for t in want))
    check(len(strokes) == nb and all(st["end"] == "lift" for st in strokes) and s.get("bursts") == nb,
          "bursts without shear: %d strokes, want %d bursts" % (len(strokes), nb))


def replay_bad(what, args, msg, stdout_ok=None):
    rc, out, err = run("replay", *args)
    check(rc == 2, "%s: exit %d, want 2 (stderr %r)" % (what, rc, err))
    check(msg in err, "%s: stderr %r lacks %r" % (what, err, msg))
    if stdout_ok is None:
        check(out == "", "%s: stdout not empty: %r" % (what, out[:200]))
    else:
        stdout_ok(out)


def bad_cases(tmp):
    def f(name, text):
        p = os.path.join(tmp, name)
        with open(p, "w", newline="") as fh:
            fh.write(text)
        return p

    good = trace("clean")
    for v in ["-1", "0", "nan", "NaN", "inf", "abc", "", "5N", "1e999"]:
        replay_bad("--limit %r" % v, ["--limit", v, good], "--limit")
    for v in ["0", "-0.5", "1.5", "nan", "x", ""]:
        replay_bad("--warn-fraction %r" % v, ["--limit", "10", "--warn-fraction", v, good], "--warn-fraction")
    replay_bad("no file", [], "missing FILE.csv")
    replay_bad("two files", [good, good], "exactly one FILE.csv")
    replay_bad("unknown option", ["--frobnicate", good], "frobnicate")
    replay_bad("--limit without value", ["--limit"], "--limit")

    p = os.path.join(tmp, "nonexistent.csv")
    replay_bad("nonexistent", [p], p + ": No such file or directory")
    p = f("empty.csv", "")
    replay_bad("empty file", [p], p + ":1: empty file")
    p = f("noheader.csv", "0.000,0.1\n0.002,0.2\n")
    replay_bad("missing header", [p], p + ":1: missing header")
    p = f("nocol.csv", "t_s,shear_x_n,shear_y_n\n0,0,0\n")
    replay_bad("missing column", [p], p + ":1: missing column 'force_n'")
    p = f("typo.csv", "t_s,Force_N,temperature\n0,0,20\n")
    replay_bad("typo in a required column", [p],
               p + ":1: missing column 'force_n' (unknown columns: 'Force_N', 'temperature'")
    p = f("dup.csv", "t_s,force_n,\"force_n\"\n0,0,0\n")
    replay_bad("duplicate column", [p], p + ":1: duplicate column 'force_n'")
    p = f("quote.csv", "t_s,force_n\n0,\"0.5\n")
    replay_bad("unclosed quote", [p], p + ":2: field 2: quote not closed")
    p = f("fields.csv", "t_s,force_n\n0,0\n0.002,0.1,7\n")
    replay_bad("field count", ["--limit", "3", p], p + ":3: expected 2 fields")
    p = f("nan.csv", "t_s,force_n\r\n0,0\r\n0.002,NaN\r\n")
    replay_bad("non-finite", [p], p + ":3: column force_n: 'NaN' is not a finite number")

    # errors after strokes: the strokes stay printed, no summary follows
    with open(good) as fh:
        body = fh.read()
    nlines = body.count("\n")

    def strokes_no_summary(out):
        ev = [json.loads(line) for line in out.splitlines()]
        check(len(ev) == 3 and all(e["event"] == "stroke" for e in ev),
              "mid-file error: stdout %r" % out[:300])

    p = f("late-nonnum.csv", body + "7.000,12,5\n")
    replay_bad("late field count", [p], "%s:%d: expected 2 fields" % (p, nlines + 1), strokes_no_summary)
    p = f("late-text.csv", body + "7.000,heavy\n")
    replay_bad("late non-numeric", [p], "%s:%d: column force_n: 'heavy' is not a number" % (p, nlines + 1),
               strokes_no_summary)
    p = f("backwards.csv", body + "6.500,0.0\n")
    replay_bad("time backwards", [p], "%s:%d: time goes backwards" % (p, nlines + 1), strokes_no_summary)


def main():
    tmp = tempfile.mkdtemp(prefix="test-replay-")
    try:
        good_cases(tmp)
        bad_cases(tmp)
    finally:
        shutil.rmtree(tmp)
    print("replay: %d checks, %d failed" % (checks, failures))
    sys.exit(1 if failures or checks == 0 else 0)


main()
