#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigilctl against the real strigild on a private bus.

Uses tests/integration's harness (private dbus-daemon with our bus policy,
python3-dbusmock's polkitd, strigild with simulated instruments and a
temporary state directory). Every strigilctl run is the ASan+UBSan build
(STRIGILCTL); a sanitizer report fails the test. No timing assertions:
waits are bounded guards only.
"""
import csv
import io
import json
import os
import select
import signal
import shutil
import subprocess
import sys
import time

TOP = os.environ.get("SG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import (ACTIONS, ROOT, Harness, check, close, finish, failures,  # noqa: E402
                     plain, wait_for)
import dbus  # noqa: E402

CTL = os.environ.get("STRIGILCTL") or os.path.join(TOP, "build", "strigilctl-san")
HERE = os.path.dirname(os.path.abspath(__file__))
SIM1 = ROOT + "/instrument/SIM0001"
SIM2 = ROOT + "/instrument/SIM0002"
GUARD_S = 60


def ctl(h, *args, env_extra=None, timeout=GUARD_S, stdin=None):
    """Runs strigilctl on the private bus; returns (rc, stdout, stderr)."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:exitcode=66",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=66",
               NO_COLOR="1")
    if env_extra:
        env.update(env_extra)
    p = subprocess.run([CTL, "--address", h.address] + list(args), env=env,
                       input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    if "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        check(False, "no sanitizer report from strigilctl %s:\n%s" % (" ".join(args), p.stderr))
    return p.returncode, p.stdout, p.stderr


def ctl_json(h, *args):
    rc, out, err = ctl(h, "--json", *args)
    check(rc == 0, "strigilctl --json %s succeeds (%d: %s)" % (" ".join(args), rc, err.strip()))
    try:
        return json.loads(out) if rc == 0 else None
    except ValueError:
        check(False, "strigilctl --json %s prints JSON: %r" % (" ".join(args), out[:200]))
        return None


class LineReader:
    """Lines from a pipe with a deadline (a silent process never hangs the test)."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""

    def readline(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return ""
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return ""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode() + "\n"


def props(h, path, iface):
    return plain(h.props(path, iface))


# ---------------------------------------------------------------------------
def test_status_and_errors(h):
    rc, out, err = ctl(h, "status")
    check(rc == 0 and "SIM0001" in out and "SIM0002" in out and "simulated" in out,
          "status lists both simulated instruments:\n" + out + err)
    st = ctl_json(h, "status")
    if st:
        serials = sorted(i["serial"] for i in st["instruments"])
        check(serials == ["SIM0001", "SIM0002"], "status --json: serials %s" % serials)
        check(st["version"] == props(h, ROOT, "Manager")["Version"], "status --json: version")
        check(all(i["calibration_valid"] for i in st["instruments"]),
              "status --json: simulated instruments are calibrated")

    rc, out, err = ctl(h, "calibrate", "--non-interactive", "NOPE")
    check(rc == 2, "calibrate without points is a usage error (%d)" % rc)
    rc, out, err = ctl(h, "monitor", "NOSUCH")
    check(rc == 1 and "no instrument with serial 'NOSUCH'" in err,
          "unknown serial: exit 1 and a sentence (%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl(h, "frobnicate")
    check(rc == 2 and "unknown verb" in err, "unknown verb: exit 2")
    p = subprocess.run([CTL, "--address", "unix:path=/nonexistent/bus", "status"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    check(p.returncode == 3 and "cannot connect" in p.stderr,
          "no bus: exit 3 (%d: %s)" % (p.returncode, p.stderr.strip()))


def test_profiles(h):
    reg = ctl_json(h, "profile", "regions")
    regions, conditions = reg["regions"], reg["conditions"]
    check(len(regions) > 3 and "anticoagulants" in conditions and "dvt" in conditions,
          "profile regions lists the policy's regions and conditions")
    region = regions[0]
    h.region = region
    h.regions = regions

    rc, out, err = ctl(h, "profile", "add", "pt-cli-1", "--display-name", "AB",
                       "--max-force", "10", "--region-cap", "%s=6" % region,
                       "--condition", "anticoagulants")
    check(rc == 0 and "Created profile" in out, "profile add (%d: %s)" % (rc, err.strip()))
    p = ctl_json(h, "profile", "show", "pt-cli-1")
    if p:
        check(close(p["MaxForceN"], 10, 1e-9) and p["Conditions"] == ["anticoagulants"] and
              close(p["RegionCapsN"].get(region), 6, 1e-9), "profile show --json: fields")
    before = ctl_json(h, "profile", "list")

    # Bad input: a typed refusal shown as a sentence, nothing changes.
    rc, out, err = ctl(h, "profile", "add", "pt-cli-2", "--max-force", "-5")
    check(rc == 2 and "failed:" in err and "correct it" in err,
          "negative cap refused with a sentence, exit 2 (%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl(h, "profile", "add", "pt-cli-2", "--condition", "no_such_condition")
    check(rc == 2, "unknown condition refused (%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl(h, "profile", "add", "pt-cli-2", "--max-force", "abc")
    check(rc == 2 and "not a number" in err, "non-number refused by the CLI")
    rc, out, err = ctl(h, "profile", "add", "pt-cli-2", "--region-cap", "nowhere")
    check(rc == 2 and "REGION=VALUE" in err, "malformed region cap refused by the CLI")
    rc, out, err = ctl(h, "profile", "edit", "pt-cli-1", "--max-force", "nan")
    check(rc == 2, "NaN refused")
    after = ctl_json(h, "profile", "list")
    check(before == after, "refused input changed nothing")

    rc, out, err = ctl(h, "profile", "edit", "pt-cli-1", "--max-force", "9")
    check(rc == 0, "profile edit (%d: %s)" % (rc, err.strip()))
    check(close(ctl_json(h, "profile", "show", "pt-cli-1")["MaxForceN"], 9, 1e-9),
          "profile edit changed the cap")
    rc, out, err = ctl(h, "profile", "show", "pt-cli-1")
    check("anticoagulants" in out and "9.0 N" in out, "profile show (text):\n" + out)

    rc, out, err = ctl(h, "profile", "add", "pt-cli-dvt", "--condition", "dvt")
    check(rc == 0, "profile with a contraindication that cannot be overridden")
    h.overridable = overridable_contraindication()
    rc, out, err = ctl(h, "profile", "add", "pt-cli-ovr", "--condition", h.overridable)
    check(rc == 0, "profile with an overridable contraindication (%s)" % h.overridable)
    rc, out, err = ctl(h, "profile", "add", "pt-cli-del")
    rc, out, err = ctl(h, "profile", "delete", "pt-cli-del")
    check(rc == 0 and "pt-cli-del" not in ctl(h, "profile", "list")[1], "profile delete")
    rc, out, err = ctl(h, "profile", "delete", "pt-cli-del")
    check(rc == 1 and "profile list" in err, "deleting it again: exit 1 with advice")

    # Not authorized: exit 4, a sentence, nothing changes.
    h.set_allowed([a for a in ACTIONS if not a.endswith("manage-profiles")])
    rc, out, err = ctl(h, "profile", "add", "pt-cli-denied")
    h.set_allowed(ACTIONS)
    check(rc == 4 and "not authorized" in err, "polkit refusal: exit 4 (%d: %s)"
          % (rc, err.strip()))
    check("pt-cli-denied" not in ctl(h, "profile", "list")[1], "refused profile not created")


def overridable_contraindication():
    """A systemic contraindication the clinic policy lets a clinician override."""
    cur, found = None, {}
    for line in open(os.path.join(TOP, "daemon", "policy.conf")):
        line = line.split("#")[0].strip()
        if line.startswith("[contraindication "):
            cur = line[len("[contraindication "):-1].strip()
            found[cur] = {}
        elif cur and "=" in line:
            k, v = (x.strip() for x in line.split("=", 1))
            found[cur][k] = v
        elif line.startswith("["):
            cur = None
    for name, kv in sorted(found.items()):
        if kv.get("override") == "yes" and kv.get("local", "no") != "yes":
            return name
    check(False, "the shipped policy has an overridable systemic contraindication")
    return "uncontrolled_hypertension"


def start_tmux(h, tmp, cmd):
    sock = os.path.join(tmp, "tmux.sock")
    # detect_stack_use_after_return: the terminal is restored from atexit(),
    # after verb_monitor's frame is gone; nothing there may point into it.
    env = dict(os.environ, TERM="xterm-256color", NO_COLOR="1",
               ASAN_OPTIONS="detect_leaks=1:exitcode=66:detect_stack_use_after_return=1")
    env.pop("TMUX", None)
    subprocess.run(["tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-x", "100",
                    "-y", "30", "sh", "-c",
                    # a trap (not an ignore) keeps the shell alive on Ctrl-C
                    # and is reset to the default in the monitor
                    "trap : INT; " + cmd + "; echo MONITOR-EXIT=$?; sleep 600"],
                   env=env, check=True)
    return sock


def pane(sock):
    p = subprocess.run(["tmux", "-S", sock, "capture-pane", "-p", "-J"],
                       stdout=subprocess.PIPE, universal_newlines=True)
    return p.stdout


def tmux_fmt(sock, fmt):
    return subprocess.run(["tmux", "-S", sock, "display-message", "-p", fmt],
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()


def test_session_monitor_report_export(h, tmp):
    rc, out, err = ctl(h, "session", "start", "SIM0001", "pt-cli-dvt", h.region)
    check(rc == 1 and "Do not treat" in err, "contraindicated: refused with advice (%d: %s)"
          % (rc, err.strip()))
    rc, out, err = ctl(h, "session", "start", "SIM0001", "pt-cli-dvt", h.region,
                       "--override-reason", "vascular surgeon cleared")
    check(rc == 1 and "does not allow" in err, "dvt cannot be overridden (%d: %s)"
          % (rc, err.strip()))
    rc, out, err = ctl(h, "session", "start", "SIM0001", "pt-cli-ovr", h.region)
    check(rc == 1 and "Do not treat" in err, "%s refused without override" % h.overridable)
    h.set_allowed([a for a in ACTIONS if not a.endswith("override-contraindication")])
    rc, out, err = ctl(h, "session", "start", "SIM0001", "pt-cli-ovr", h.region,
                       "--override-reason", "GP cleared, letter on file")
    h.set_allowed(ACTIONS)
    check(rc == 4, "override without the override authorization: exit 4 (%d: %s)"
          % (rc, err.strip()))
    rc, out, err = ctl(h, "session", "start", "SIM0001", "pt-cli-ovr", h.region,
                       "--override-reason", "GP cleared, letter on file")
    check(rc == 0 and "Started session" in out, "override starts it (%d: %s)" % (rc, err))
    sid = out.split()[2].rstrip(":") if rc == 0 else "0"
    h.sid_override = sid
    s = ctl_json(h, "session", "show", sid)
    check(s and "override" in s.get("Flags", []), "override recorded in the session flags")
    rc, out, err = ctl(h, "session", "show", sid)
    check("GP cleared" in out, "session show gives the override reason")
    rc, out, err = ctl(h, "session", "stop", sid)
    check(rc == 0 and "Stopped session" in out, "session stop")

    rc, out, err = ctl(h, "session", "start", "SIM0001", "pt-cli-1", h.region)
    check(rc == 0, "session start (%d: %s)" % (rc, err.strip()))
    sid = out.split()[2].rstrip(":") if rc == 0 else "0"
    spath = ROOT + "/session/" + sid
    sp = props(h, spath, "Session")
    limit = sp["EffectiveLimitN"]
    check("%.2f N" % limit in out, "start prints the effective limit %.2f N: %s" % (limit, out))
    rc, out, err = ctl(h, "session", "show", sid)
    check("anticoagulants" in out, "session show gives the reasons:\n" + out)
    rc, out, err = ctl(h, "status")
    check("pt-cli-1" in out and "running" in out, "status shows the session in progress")
    rc, out, err = ctl(h, "session", "start", "SIM0001", "pt-cli-1", h.region)
    check(rc == 1 and "Stop the session" in err, "second session on a busy instrument: "
          "advice (%d: %s)" % (rc, err.strip()))

    # The monitor in a terminal (tmux); strokes and a violation are played.
    sock = start_tmux(h, tmp, "%s --address '%s' monitor SIM0001" % (CTL, h.address))
    try:
        check(wait_for(lambda: "strigil monitor  SIM0001" in pane(sock), GUARD_S),
              "monitor draws its view:\n" + pane(sock))
        check(wait_for(lambda: "limit %.1f N" % limit in pane(sock), GUARD_S),
              "monitor shows the cap:\n" + pane(sock))
        debug = h.iface(SIM1, "Debug")
        strokes = [(limit * 0.5, 0.6, 0.5)] * 4 + [(limit * 1.6, 0.6, 0.5)] * 2 + \
                  [(limit * 0.5, 0.6, 0.8)]
        debug.Play(dbus.Array([dbus.Struct(x, signature="ddd") for x in strokes],
                              signature="(ddd)"))
        check(wait_for(lambda: h.prop(spath, "Session", "StrokeCount") >= len(strokes),
                       GUARD_S), "the daemon counted the played strokes")
        check(wait_for(lambda: "stroke #%d" % len(strokes) in pane(sock), GUARD_S),
              "monitor shows the last stroke:\n" + pane(sock))
        view = pane(sock)
        check("LIMIT EXCEEDED" in view, "monitor shows the alarm:\n" + view)
        debug.Unplug()
        check(wait_for(lambda: "UNPLUGGED" in pane(sock), GUARD_S),
              "monitor shows the instrument unplugged:\n" + pane(sock))
        debug.Replug()
        check(wait_for(lambda: "instrument plugged in" in pane(sock) and
                       "SIM0001 S1  connected" in pane(sock), GUARD_S),
              "monitor shows it plugged in again:\n" + pane(sock))
        check(wait_for(lambda: h.prop(spath, "Session", "State") == "running", GUARD_S),
              "the session runs again after the re-plug")
        view = pane(sock)
        check("last stroke #%d" % len(strokes) in view and "rate " in view,
              "monitor shows last stroke and rate")
        check(tmux_fmt(sock, "#{alternate_on}") == "1", "monitor uses the alternate screen")
        subprocess.run(["tmux", "-S", sock, "send-keys", "C-c"])
        check(wait_for(lambda: "MONITOR-EXIT=" in pane(sock), GUARD_S),
              "monitor ends on Ctrl-C")
        after = pane(sock)
        check("MONITOR-EXIT=0" in after, "monitor exit status 0 on Ctrl-C:\n" + after)
        check("strigil monitor" not in after and "LIMIT EXCEEDED" not in after,
              "the terminal is clean after Ctrl-C:\n" + after)
        check(tmux_fmt(sock, "#{alternate_on}") == "0", "alternate screen left")
        check(tmux_fmt(sock, "#{cursor_flag}") == "1", "cursor visible again")
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], stderr=subprocess.DEVNULL)

    # Region change: caps recomputed, shown by show.
    other = [r for r in h.regions if r != h.region][0]
    rc, out, err = ctl(h, "session", "region", sid, other)
    check(rc == 0 and h.prop(spath, "Session", "Region") == other,
          "session region (%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl(h, "session", "region", sid, "no_such_region")
    check(rc == 2 and h.prop(spath, "Session", "Region") == other,
          "unknown region refused, nothing changes (%d: %s)" % (rc, err.strip()))
    rc, out, err = ctl(h, "session", "region", sid, h.region)
    limit = h.prop(spath, "Session", "EffectiveLimitN")

    # Without a terminal, --json: one JSON line per event, Ctrl-C ends it.
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:exitcode=66")
    mon = subprocess.Popen([CTL, "--address", h.address, "--json", "monitor", "SIM0001"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
    reader = LineReader(mon.stdout)
    lines = []
    first = reader.readline(GUARD_S)	# the session line: subscribed by then
    lines.append(first)
    debug.Play(dbus.Array([dbus.Struct((limit * 1.6, 0.6, 0.6), signature="ddd")],
                          signature="(ddd)"))
    want = {"stroke", "exceeded"}
    seen = set()
    end = time.monotonic() + GUARD_S
    while want - seen and time.monotonic() < end:
        line = reader.readline(max(0.1, end - time.monotonic()))
        if not line:
            break
        lines.append(line)
        try:
            seen.add(json.loads(line)["event"])
        except (ValueError, KeyError):
            check(False, "monitor --json line is JSON: %r" % line)
    mon.send_signal(signal.SIGINT)
    try:
        rest, err = mon.communicate(timeout=GUARD_S)
    except subprocess.TimeoutExpired:
        mon.kill()
        rest, err = mon.communicate()
    try:
        first_event = json.loads(first).get("event")
    except ValueError:
        first_event = None
    check(first_event == "session", "monitor --json starts with the session: %r" % first)
    check(want <= seen, "monitor --json reports the stroke and the violation: %s" % lines)
    check(mon.returncode == 0 and "Sanitizer" not in err,
          "monitor --json ends cleanly on SIGINT (%d: %s)" % (mon.returncode, err[-300:]))
    strokes = strokes + [(limit * 1.6, 0.6, 0.6)]

    # Pause, resume, stop and the report.
    rc, out, err = ctl(h, "session", "pause", sid)
    check(rc == 0 and h.prop(spath, "Session", "State") == "paused", "session pause")
    rc, out, err = ctl(h, "session", "pause", sid)
    check(rc == 1 and "session show" in err, "pausing twice: InvalidState advice")
    rc, out, err = ctl(h, "session", "resume", sid)
    check(rc == 0 and h.prop(spath, "Session", "State") == "running", "session resume")
    rc, out, err = ctl(h, "--json", "session", "stop", sid)
    summary = json.loads(out) if rc == 0 else {}
    check(summary.get("strokes") == len(strokes), "stop --json summary: %s" % summary)
    nviol = summary.get("violations", 0)
    check(nviol >= 3, "every over-limit stroke produced a violation (%d)" % nviol)

    rep = ctl_json(h, "session", "report", sid)
    if rep:
        check(len(rep["strokes"]) == len(strokes), "report --json: every stroke")
        over = [s for s in rep["strokes"] if s["peak_n"] > s["limit_n"]]
        check(len(over) == 3, "report --json: three strokes over the limit")
    rc, out, err = ctl(h, "session", "report", sid)
    check(rc == 0 and out.count("  OVER") == 3 and "exceeded" in out and
          "anticoagulants" in out, "report (text):\n" + out)
    # a force-only instrument: every stroke its own burst of one pass
    check(("Bursts (%d): passes per burst %s" % (len(strokes), " ".join(["1"] * len(strokes)))) in out,
          "report (text) bursts:\n" + out)
    if rep:
        check(len(rep.get("bursts", [])) == len(strokes) and
              all(b["passes"] == 1 for b in rep["bursts"]), "report --json: bursts")
    rc, out, err = ctl(h, "session", "list")
    check(rc == 0 and "finished" in out, "session list")

    # Export: CSV.
    f_csv = os.path.join(tmp, "s.csv")
    rc, out, err = ctl(h, "export", "--format", "csv", "--output", f_csv, sid)
    check(rc == 0 and os.path.exists(f_csv), "export csv (%d: %s)" % (rc, err.strip()))
    rows = list(csv.DictReader(io.StringIO(open(f_csv).read())))
    srows = [r for r in rows if r["kind"] == "stroke"]
    check(len(srows) == len(strokes), "csv: one row per stroke (%d)" % len(srows))
    check(len([r for r in rows if r["kind"] == "exceeded"]) == nviol, "csv: violations")
    check(len([r for r in srows if r["flag"] == "exceeded"]) == 3, "csv: strokes flagged")
    check(all(r["patient_ref"] == "pt-cli-1" and r["session"] == sid for r in rows),
          "csv: patient reference and session on every row")
    peaks = sorted(float(r["peak_n"]) for r in srows)
    check(close(peaks[-1], limit * 1.6, 0.1 * limit), "csv: peak of the strong strokes")

    # Export: FHIR R4 Bundle.
    f_json = os.path.join(tmp, "s.json")
    rc, out, err = ctl(h, "export", "--format", "fhir", "--output", f_json, sid)
    check(rc == 0, "export fhir (%d: %s)" % (rc, err.strip()))
    b = json.load(open(f_json)) if rc == 0 else {}
    check(b.get("resourceType") == "Bundle" and b.get("type") == "collection",
          "Bundle.resourceType and type")
    entries = b.get("entry", [])
    urls = {e["fullUrl"]: e["resource"] for e in entries}
    check(len(urls) == len(entries) and all(u.startswith("urn:uuid:") for u in urls),
          "entries have unique urn:uuid fullUrls")
    kinds = [e["resource"]["resourceType"] for e in entries]
    check(kinds.count("Patient") == 1 and kinds.count("Device") == 1 and
          kinds.count("Procedure") == 1, "one Patient, Device, Procedure: %s" % kinds)
    obs = [e["resource"] for e in entries if e["resource"]["resourceType"] == "Observation"]
    sobs = [o for o in obs if o["code"]["coding"][0]["code"] == "stroke-peak-force"]
    check(len(sobs) == len(strokes), "one Observation per stroke")
    for o in obs:
        q = o.get("valueQuantity")
        ok = (o["status"] == "final" and o["code"]["coding"][0]["system"] and
              urls.get(o["subject"]["reference"], {}).get("resourceType") == "Patient" and
              urls.get(o["device"]["reference"], {}).get("resourceType") == "Device")
        if q:
            ok = ok and q["unit"] == "N" and q["code"] == "N" and \
                q["system"] == "http://unitsofmeasure.org" and isinstance(q["value"], float)
        if not ok:
            check(False, "Observation structure: %s" % json.dumps(o)[:400])
            break
    else:
        check(bool(obs), "every Observation: status, code, Patient/Device refs, UCUM N")
    flagged = [o for o in sobs if o.get("interpretation")]
    check(len(flagged) == 3 and all(o["interpretation"][0]["coding"][0]["code"] == "HH"
                                    for o in flagged), "the violating strokes are flagged HH")
    pat = [e["resource"] for e in entries if e["resource"]["resourceType"] == "Patient"][0]
    check(pat["identifier"][0]["value"] == "pt-cli-1" and "name" not in pat,
          "Patient is the pseudonymous reference only")

    rc, out, err = ctl(h, "--json", "export", "--format", "fhir", sid, h.sid_override)
    b2 = json.loads(out) if rc == 0 else {}
    kinds = [e["resource"]["resourceType"] for e in b2.get("entry", [])]
    check(kinds.count("Patient") == 2 and kinds.count("Device") == 1 and
          kinds.count("Procedure") == 2, "two sessions, two patients, one device: %s" % kinds)

    rc, out, err = ctl(h, "export", "--format", "fhir", "--output",
                       os.path.join(tmp, "none.json"), "99999")
    check(rc == 1 and not os.path.exists(os.path.join(tmp, "none.json")),
          "export of an unknown session fails and writes nothing")
    check(not [f for f in os.listdir(tmp) if f.startswith("none.json")],
          "no temporary file left behind")


def get_cal(h, path):
    return plain(h.iface(path, "Instrument").GetCalibration())


def calibrate_env(h, tmp, **kw):
    env = {"SIMLOAD_ADDRESS": h.address}
    env.update(kw)
    return env


def test_calibration(h, tmp):
    inst = h.iface(SIM2, "Instrument")
    true = get_cal(h, SIM2)
    true_scale, true_offset = true["scale"][0], true["offset"][0]
    # Make the stored calibration wrong: the procedure must find the truth.
    wrong = dbus.Dictionary({"technician": "factory", "due": dbus.UInt64(true["due"]),
                             "offset": dbus.Array([true_offset - 150.0], signature="d"),
                             "scale": dbus.Array([true_scale * 1.2], signature="d")},
                            signature="sv")
    inst.WriteCalibration(wrong)
    # Our own claim keeps SIM0002 streaming between the strigilctl runs, so a
    # pulse train left over from one run plays out in real time instead of
    # freezing and spilling into the next run's zero (see sim-load.py).
    inst.Claim()
    before = get_cal(h, SIM2)
    hist_before = len(plain(inst.GetCalibrationHistory()))
    load = "/usr/bin/python3 " + os.path.join(HERE, "sim-load.py")
    common = ["calibrate", "--non-interactive", "--seconds", "1.1", "--zero-readings", "2",
              "--load-command", load]

    # Interrupted in the middle (a load that never comes): nothing changes.
    hang_file = os.path.join(tmp, "hang.pid")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:exitcode=66", NO_COLOR="1")
    env.update(calibrate_env(h, tmp, SIMLOAD_HANG="1000", SIMLOAD_HANG_FILE=hang_file))
    p = subprocess.Popen([CTL, "--address", h.address] + common +
                         ["--point", "200,1000", "--technician", "tk-int", "SIM0002"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    reached = wait_for(lambda: os.path.exists(hang_file) and open(hang_file).read().strip(),
                       GUARD_S)
    check(reached, "calibration reached the 1000 g step")
    p.send_signal(signal.SIGINT)
    # strigilctl stops its load command; the hung one must be gone too
    hung_gone = False
    if reached:
        pid = int(open(hang_file).read())
        hung_gone = wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                             open("/proc/%d/stat" % pid).read().split()[2] == "Z", GUARD_S)
    check(hung_gone, "the interrupted load command was stopped")
    try:
        out, err = p.communicate(timeout=GUARD_S)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    check(p.returncode == 130 and "unchanged" in err,
          "Ctrl-C: exit 130 and says the calibration is unchanged (%d: %s)"
          % (p.returncode, err.strip()[-300:]))
    check(get_cal(h, SIM2) == before, "interrupted calibration changed nothing")
    check(len(plain(inst.GetCalibrationHistory())) == hist_before, "history unchanged")

    # A noisy zero stops the procedure before any mass is asked for.
    rc, out, err = ctl(h, *common, "--point", "500", "--max-noise", "0.001",
                       "--technician", "tk-noisy", "SIM0002",
                       env_extra=calibrate_env(h, tmp))
    check(rc == 1 and "not quiet enough" in err and "reading point" not in err and
          "unchanged" in err, "noisy zero stops early (%d: %s)" % (rc, err.strip()[-300:]))
    check(get_cal(h, SIM2) == before, "early stop changed nothing")

    # A nonlinear instrument (1000 g reads as 1100 g) fails and changes nothing.
    rc, out, err = ctl(h, *common, "--point", "500,1000", "--technician", "tk-bad", "SIM0002",
                       env_extra=calibrate_env(h, tmp, SIMLOAD_SCALE="1000=1.1"))
    check(rc == 1 and "Linearity" in err and "unchanged" in err,
          "nonlinear: fails with the reason (%d: %s)" % (rc, err.strip()[-400:]))
    check("RESULT       FAIL" in out, "the failed certificate is printed")
    check(get_cal(h, SIM2) == before, "failed calibration changed nothing")

    # The full procedure recovers the simulator's true gain and offset.
    cert = os.path.join(tmp, "cert.json")
    cert_txt = os.path.join(tmp, "cert.txt")
    rc, out, err = ctl(h, *common, "--point", "200,500,1000,500", "--verify", "700",
                       "--technician", "tk01", "--due-days", "180",
                       "--certificate-json", cert, "--certificate", cert_txt, "SIM0002",
                       env_extra=calibrate_env(h, tmp), timeout=120)
    check(rc == 0, "calibration passes (%d):\n%s\n%s" % (rc, out, err[-600:]))
    after = get_cal(h, SIM2)
    # Tolerance: 0.2 % on the gain and 5 counts (0.0005 N) on the offset.
    check(abs(after["scale"][0] / true_scale - 1) < 2e-3,
          "fit recovers the gain: %g vs %g N/count" % (after["scale"][0], true_scale))
    check(abs(after["offset"][0] - true_offset) < 5,
          "fit recovers the offset: %.2f vs %.2f counts" % (after["offset"][0], true_offset))
    check(after["technician"] == "tk01" and after["valid"], "technician id written, valid")
    check(abs((after["due"] - after["date"]) / 86400e6 - 180) < 0.01, "due date 180 days")
    hist = plain(inst.GetCalibrationHistory())
    check(len(hist) == hist_before + 1 and
          any(x["technician"] == "factory" and close(x["scale"][0], true_scale * 1.2, 1e-9)
              and close(x["offset"][0], true_offset - 150.0, 0.5) for x in hist),
          "the previous calibration is kept in the history: %s" % hist[:2])
    c = json.load(open(cert)) if os.path.exists(cert) else {}
    check(c.get("result") == "pass" and c.get("written") is True and
          len(c.get("points", [])) == 4 and "verification" in c and
          c["fit"]["repeatability_pct"] < 1 and c["fit"]["linearity_pct"] < 1,
          "JSON certificate: %s" % json.dumps(c)[:500])
    txt = open(cert_txt).read() if os.path.exists(cert_txt) else ""
    check("RESULT       PASS" in txt and "tk01" in txt and "SIM0002" in txt,
          "text certificate")
    # Issue 11: the certificate shows exactly what the instrument holds (its
    # format keeps whole counts: a least-squares 1012.97 is stored as 1013),
    # its number (strigild's record of the write) and the masses used.
    fit = c.get("fit", {})
    check(fit.get("offset_counts") == round(after["offset"][0], 3) and
          fit.get("scale_n_per_count") == after["scale"][0] and
          "zero at %.2f counts, r^2" % after["offset"][0] in txt and
          "Stored       %.12f N/count" % after["scale"][0] in txt,
          "certificate = stored values %s %s: %s" % (after["offset"], after["scale"], fit))
    number = "SIM0002-%06d" % after.get("record", 0)
    check(after.get("record", 0) > 0 and c.get("number") == number and
          "Number       %s\n" % number in txt, "certificate number %s: %s" % (number, c.get("number")))
    check(c.get("reference_masses_g") == [200.0, 500.0, 1000.0, 500.0] and
          "Masses       200.0 g, 500.0 g x2, 1000.0 g; verification 700.0 g\n" in txt,
          "certificate lists the reference masses: %s" % c.get("reference_masses_g"))
    rc, out, err = ctl(h, "status")
    check("SIM0002" in out and "valid until" in out, "status shows the new due date")

    # Interactive: answers on standard input (Enter to place, masses, id, y).
    inter = ["calibrate", "--seconds", "0.55", "--zero-readings", "1", "--load-command", load,
             "SIM0002"]
    before = get_cal(h, SIM2)
    rc, out, err = ctl(h, *inter, stdin="\n500\n\n", timeout=120,
                       env_extra=calibrate_env(h, tmp))
    check(rc == 130 and "input ended" in err and get_cal(h, SIM2) == before,
          "interactive: end of input mid-way changes nothing (%d: %s)" % (rc, err[-300:]))
    answers = "\n" + "500\n\n" + "1000\n\n" + "\n" + "700\n\n" + "tk 02\n" + "tk02\n" + "y\n"
    rc, out, err = ctl(h, *inter, stdin=answers, timeout=120, env_extra=calibrate_env(h, tmp))
    after = get_cal(h, SIM2)
    check(rc == 0 and after["technician"] == "tk02",
          "interactive calibration written after the confirmation (%d: %s)" % (rc, err[-500:]))
    check("Place 1000.0 g" in err and "Technician id" in err and "1-16 printable" in err,
          "interactive prompts, a bad technician id asked again")
    check(abs(after["scale"][0] / true_scale - 1) < 2e-3, "interactive fit recovers the gain")
    rc, out, err = ctl(h, *inter, stdin=answers.replace("y\n", "n\n"), timeout=120,
                       env_extra=calibrate_env(h, tmp))
    check(rc == 0 and "Not written" in err and get_cal(h, SIM2) == after,
          "declining the write changes nothing (%d: %s)" % (rc, err[-1500:]))
    inst.Release()

    hist = plain(inst.GetCalibrationHistory())
    rc, out, err = ctl(h, "calibrate", "--history", "SIM0002")
    check(rc == 0 and "(current)" in out and "tk02" in out and "tk01" in out and
          "factory" in out and out.count("\n") == len(hist) + 3,
          "calibrate --history lists every calibration:\n" + out + err)
    rows = [ln for ln in out.splitlines()[2:] if ln.strip()]
    check(rows and all(("(uid " in ln or "read from the instrument" in ln) for ln in rows) and
          "(uid %d)" % os.getuid() in rows[0] and "SIM0002-" in rows[0],
          "calibrate --history: WRITTEN BY and CERTIFICATE filled on every row:\n" + out)
    j = ctl_json(h, "calibrate", "--history", "SIM0002")
    check(j is not None and j["current"]["technician"] == "tk02" and
          len(j["history"]) == len(hist) and j["history"][0]["technician"] == "tk01",
          "calibrate --history --json: current, then the replaced ones newest first")


def test_completion(h):
    script = r'''
. /usr/share/bash-completion/bash_completion
. %s
PATH=%s:$PATH
strigilctl() { %s "$@"; }
COMP_WORDS=(strigilctl --address "%s" calibrate "")
COMP_CWORD=4
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
_strigilctl strigilctl "" calibrate
echo "${COMPREPLY[@]}"
COMP_WORDS=(strigilctl --address "%s" session start SIM0001 "")
COMP_CWORD=6
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
_strigilctl strigilctl "" SIM0001
echo "${COMPREPLY[@]}"
COMP_WORDS=(strigilctl --address "%s" export --format fhir --patient "")
COMP_CWORD=7
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
_strigilctl strigilctl "" --patient
echo "${COMPREPLY[@]}"
''' % (os.path.join(TOP, "tools", "strigilctl", "strigilctl.bash-completion"),
       os.path.dirname(CTL), CTL, h.address, h.address, h.address)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    p = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, env=env)
    lines = p.stdout.splitlines() + ["", "", ""]
    check("SIM0001" in lines[0].split() and "SIM0002" in lines[0].split(),
          "completion offers the daemon's serials: %r %s" % (lines[0], p.stderr[-300:]))
    check("pt-cli-1" in lines[1].split(), "completion offers patient references: %r" % lines[1])
    check("pt-cli-1" in lines[2].split(), "export --patient completes patient references: %r"
          % lines[2])


def main():
    h = Harness(simulate=2, sim_signal="flat")
    tmp = os.path.join(h.tmp, "cli")
    os.mkdir(tmp)
    try:
        h.start_daemon()
        t0 = time.monotonic()
        for name, fn in (("status", lambda: test_status_and_errors(h)),
                         ("profiles", lambda: test_profiles(h)),
                         ("sessions", lambda: test_session_monitor_report_export(h, tmp)),
                         ("calibration", lambda: test_calibration(h, tmp)),
                         ("completion", lambda: test_completion(h))):
            print("== %s (at %.1f s)" % (name, time.monotonic() - t0), flush=True)
            fn()
        print("== done (at %.1f s)" % (time.monotonic() - t0))
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
