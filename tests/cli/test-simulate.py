#!/usr/bin/python3
# CLI test of `strigilctl simulate`: the trace and truth it writes, that a
# seed reproduces them, that `strigilctl replay` finds the strokes and the
# violations the truth names, and that every bad option exits 2 with a
# message and writes nothing.
#
# Usage: test-simulate.py STRIGILCTL
import csv
import json
import os
import subprocess
import sys
import tempfile

CTL = os.path.abspath(sys.argv[1])
failures = 0
checks = 0


def check(cond, msg):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL: " + msg)


def run(*args):
    p = subprocess.run([CTL] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], [[float(x) for x in r] for r in rows[1:]]


def main():
    d = tempfile.mkdtemp(prefix="sg-simulate-")
    out = os.path.join(d, "a.csv")

    # A random session with every imperfection and both extra channels.
    rc, so, se = run("simulate", "--out", out, "--seed", "7", "--duration", "30",
                     "--rate", "500", "--noise", "0.05", "--hum", "0.05", "--spikes", "1",
                     "--drops", "0.002", "--dips", "0.3", "--jitter", "0.0002",
                     "--limit", "9", "--over-prob", "0.3", "--channels", "shear,tilt",
                     "--json")
    check(rc == 0, "simulate exit %d: %s" % (rc, se))
    summary = json.loads(so)
    truth_path = os.path.join(d, "a.truth.json")
    check(summary["truth"] == truth_path, "default truth path %s" % summary["truth"])
    head, rows = read_csv(out)
    check(head == ["t_s", "force_n", "shear_x_n", "shear_y_n", "tilt_deg"], "header %s" % head)
    check(len(rows) == summary["samples"], "rows %d vs %d" % (len(rows), summary["samples"]))
    check(summary["samples"] + summary["dropped"] == 15000,
          "samples + dropped = %d" % (summary["samples"] + summary["dropped"]))
    check(summary["dropped"] > 0, "some samples dropped")
    check(all(rows[i][0] <= rows[i + 1][0] for i in range(len(rows) - 1)),
          "time never decreases")
    with open(truth_path) as f:
        truth = json.load(f)
    strokes = truth["strokes"]
    check(len(strokes) == summary["strokes"] and 10 <= len(strokes) <= 30,
          "strokes %d" % len(strokes))
    viol = [s for s in strokes if s["verdict"] == "violation"]
    check(len(viol) == summary["violations"] and len(viol) >= 2, "violations %d" % len(viol))
    check(all(s["end_s"] > s["start_s"] and "direction_deg" in s for s in strokes),
          "stroke fields")
    check(all(s["crossing_s"] is not None for s in viol), "violations have a crossing")

    # Same seed, same files; another seed, another trace.
    out2 = os.path.join(d, "b.csv")
    rc, so, se = run("simulate", "--out", out2, "--truth", os.path.join(d, "b.json"),
                     "--seed", "7", "--duration", "30", "--rate", "500", "--noise", "0.05",
                     "--hum", "0.05", "--spikes", "1", "--drops", "0.002", "--dips", "0.3",
                     "--jitter", "0.0002", "--limit", "9", "--over-prob", "0.3",
                     "--channels", "shear,tilt")
    check(rc == 0 and "Ground truth in" in so, "human summary: %s" % so)
    check(open(out).read() == open(out2).read(), "same seed, same trace")
    check(open(truth_path).read() == open(os.path.join(d, "b.json")).read(),
          "same seed, same truth")
    rc, so, se = run("simulate", "--out", out2, "--seed", "8", "--duration", "30")
    check(rc == 0 and open(out).read() != open(out2).read(), "other seed, other trace")

    # The engine, through replay, agrees with the truth.
    rc, so, se = run("replay", "--limit", "9", out)
    check(rc == 0, "replay exit %d: %s" % (rc, se))
    ev = [json.loads(line) for line in so.splitlines()]
    final = ev[-1]
    amb = sum(1 for s in strokes if s["verdict"] == "ambiguous")
    check(final["strokes"] == len(strokes), "replay strokes %d vs truth %d"
          % (final["strokes"], len(strokes)))
    check(len(viol) <= final["exceeded"] <= len(viol) + amb,
          "exceeded %d vs violations %d (+%d ambiguous)" % (final["exceeded"], len(viol), amb))

    # A script plays once: its length is the trace's.
    rc, so, se = run("simulate", "--out", out2, "--rate", "1000", "--noise", "0",
                     "--script", "rest 0.5; stroke 6 0.4 plateau=0.2; rest 0.3; "
                     "stroke 11 0.6 dip=0.5:0.02; rest 0.2", "--limit", "9", "--json")
    check(rc == 0, "script exit %d: %s" % (rc, se))
    s = json.loads(so)
    check(s["samples"] == 2000 and s["strokes"] == 2 and s["violations"] == 1,
          "script summary %s" % s)
    head, rows = read_csv(out2)
    check(head == ["t_s", "force_n"], "plain header %s" % head)
    peak = max(r[1] for r in rows)
    check(11.0 <= peak <= 11.0 * 1.031, "script peak %g" % peak)

    # Bad options: exit 2, a message, nothing written.
    bad = [
        ["--rate", "5000"], ["--rate", "abc"], ["--duration", "-1"], ["--noise", "nan"],
        ["--channels", "torque"], ["--script", "stroke 6"], ["--script", "jump 1"],
        ["--over-prob", "0.5"], ["--loop"], ["--seed", "-3"], ["--drops", "0.9"],
        ["--bogus"], ["extra-arg"],
        # bursts need shear; whole numbers of passes, min <= max
        ["--bursts", "0.5"], ["--channels", "shear", "--bursts", "0.5", "--passes-min", "2.5"],
        ["--channels", "shear", "--bursts", "0.5", "--passes-min", "6", "--passes-max", "4"],
        ["--channels", "shear", "--bursts", "1.5"], ["--channels", "shear", "--zig", "120"],
    ]
    for args in bad:
        target = os.path.join(d, "bad.csv")
        rc, so, se = run("simulate", "--out", target, *args)
        check(rc == 2, "%s: exit %d" % (args, rc))
        check("strigilctl simulate" in se or "unrecognized" in se or "unknown" in se,
              "%s: message %r" % (args, se))
        check(not os.path.exists(target), "%s: nothing written" % args)
    rc, so, se = run("simulate")
    check(rc == 2 and "--out" in se, "missing --out: %d %r" % (rc, se))
    rc, so, se = run("simulate", "--out", "/nonexistent-dir/x.csv")
    check(rc == 1 and "cannot write" in se, "unwritable: %d %r" % (rc, se))
    rc, so, se = run("simulate", "--help")
    check(rc == 0 and "--out FILE.csv" in so, "help")

    # Bursts: the truth names each pass's burst, its place and how it ends
    # (a reversal inside the burst, a lift at its end); passes of a burst
    # touch; a burst has the asked number of passes.
    out = os.path.join(d, "bursts.csv")
    rc, so, se = run("simulate", "--out", out, "--channels", "shear,tilt", "--bursts", "1",
                     "--passes-min", "3", "--passes-max", "5", "--duration", "30", "--seed", "3")
    check(rc == 0, "bursts: exit %d %r" % (rc, se))
    with open(os.path.join(d, "bursts.truth.json")) as fh:
        st = json.load(fh)["strokes"]
    groups = {}
    for t in st:
        groups.setdefault(t["burst"], []).append(t)
    check(len(groups) >= 3, "bursts: %d bursts" % len(groups))
    for b, ps in groups.items():
        check(3 <= len(ps) <= 5, "burst %d: %d passes" % (b, len(ps)))
        check([p["pass"] for p in ps] == list(range(1, len(ps) + 1)), "burst %d: pass numbers" % b)
        check([p["end"] for p in ps] == ["reversal"] * (len(ps) - 1) + ["lift"], "burst %d: ends" % b)
        check(all(abs(ps[i]["end_s"] - ps[i + 1]["start_s"]) < 1e-6 for i in range(len(ps) - 1)),
              "burst %d: passes touch" % b)

    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)
    print("test-simulate: %d checks, %d failed" % (checks, failures))
    return 1 if failures or not checks else 0


sys.exit(main())
