#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make demo opens strigil-clinic when there is a display and the app is
built, else the terminal monitor (a tty) or event lines (a pipe):
  - daemon/demoview.choose() for every combination of display, app and tty;
  - daemon/demo.py --dry-run reads the real environment the same way;
  - a real demo run with a display (DISPLAY set; the app replaced by
    tests/demo/fake-clinic.py, since the wiring is under test) gives the app
    `--address` of the demo's private bus, where it finds strigild with the
    running session on SIM0001 and strokes arriving; when the app exits the
    demo stops the session, prints the summary and exits 0.
Usage: test-demo-clinic.py TOP STRIGILD"""
import json
import os
import subprocess
import sys
import tempfile

TOP, STRIGILD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(TOP, "daemon"))
import demoview  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


APP, CTL = "/x/strigil-clinic", "/x/strigilctl"
for env, have_app, have_ctl, tty, want in [
        ({"DISPLAY": ":0"}, True, True, True, "clinic"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True, True, False, "clinic"),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, True, False, False, "clinic"),
        ({"DISPLAY": ":0"}, False, True, True, "monitor"),       # app not built
        ({"DISPLAY": ""}, True, True, True, "monitor"),           # empty = no display
        ({}, True, True, True, "monitor"),
        ({}, True, True, False, "events"),
        ({"DISPLAY": ":0"}, False, True, False, "events"),
        ({}, True, False, True, "events")]:
    def access(path, mode, have_app=have_app, have_ctl=have_ctl):
        return (path == APP and have_app) or (path == CTL and have_ctl)
    got = demoview.choose(env, APP, CTL, tty, access)
    check(got == want, "choose(%s, app %s, strigilctl %s, tty %s) = %s (%s)"
          % (env, have_app, have_ctl, tty, want, got))
check(demoview.command("clinic", "unix:path=/b", APP, CTL) == [APP, "--address", "unix:path=/b"],
      "the app gets --address of the private bus")
check(demoview.command("monitor", "unix:path=/b", APP, CTL) == [CTL, "--address", "unix:path=/b",
                                                               "monitor", "SIM0001"], "monitor command")

tmp = tempfile.mkdtemp(prefix="strigil-demo-")
fake = os.path.join(TOP, "tests", "demo", "fake-clinic.py")
base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
demo = [sys.executable, os.path.join(TOP, "daemon", "demo.py")]


def dry(env):
    return subprocess.run(demo + ["--dry-run"], env=env, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()


out = dry(dict(base, DISPLAY=":99", STRIGIL_CLINIC=fake))
check(out.startswith("demo view: clinic ['%s', '--address'" % fake), "--dry-run with DISPLAY: the app (%s)" % out)
out = dry(dict(base, WAYLAND_DISPLAY="wayland-9", STRIGIL_CLINIC=fake))
check(out.startswith("demo view: clinic"), "--dry-run with WAYLAND_DISPLAY: the app (%s)" % out)
out = dry(dict(base, STRIGIL_CLINIC=fake))
check(out == "demo view: events None", "--dry-run without a display, stdout a pipe: events (%s)" % out)
out = dry(dict(base, DISPLAY=":99", STRIGIL_CLINIC=os.path.join(tmp, "none")))
check(out == "demo view: events None", "--dry-run with a display but no app: not the app (%s)" % out)

# the real thing, with the app's stand-in
result = os.path.join(tmp, "seen.json")
p = subprocess.run(demo, env=dict(base, DISPLAY=":99", STRIGIL_CLINIC=fake, STRIGILD=STRIGILD,
                                  FAKE_CLINIC_OUT=result, DEMO_SECONDS="120"),
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
print(p.stdout)
check(p.returncode == 0, "the demo exits 0 after the app (%d)" % p.returncode)
check("running in strigil-clinic" in p.stdout, "the demo says the session runs in the app")
seen = json.load(open(result)) if os.path.exists(result) else {}
check(seen.get("argv", [None])[0] == "--address" and "error" not in seen, "the app was started with --address (%s)" % seen)
check(len(seen.get("active", [])) == 1 and seen.get("instrument", "").endswith("/instrument/SIM0001")
      and seen.get("state") == "running", "the app finds the running demo session on SIM0001 (%s)" % seen)
check(len(seen.get("strokes", [])) >= 1, "strokes reach the app (%s)" % seen.get("strokes"))
check("Session finished:" in p.stdout, "the demo stops the session and prints the summary")
subprocess.run(["rm", "-rf", tmp])
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
