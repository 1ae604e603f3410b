#!/usr/bin/python3
# test-demo.py: `make demo`'s script (daemon/demo.py) interrupted the way a
# terminal does it: SIGINT to its whole process group once strokes are on
# screen. It must stop the session, print the summary, exit 0, print no
# Python traceback and leave nothing in its temporary directory (TMPDIR is
# a directory of this test's own). Every helper it started must be gone.
import os
import shutil
import signal
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GUARD_S = 120     # bounds a hung demo; nothing is timed
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def main():
    tmp = tempfile.mkdtemp(prefix="strigil-demo-test-")
    env = dict(os.environ, TMPDIR=tmp, DEMO_SECONDS="600")
    # the event-line view (no display, no terminal): what is tested here is
    # the demo's own Ctrl-C handling, whatever view it runs
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    demo = subprocess.Popen(["/usr/bin/python3", os.path.join(TOP, "daemon", "demo.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            universal_newlines=True, start_new_session=True)
    out = []
    try:
        for line in demo.stdout:
            out.append(line)
            if line.startswith("stroke "):
                break
        check(any(line.startswith("stroke ") for line in out),
              "the demo shows live strokes before Ctrl-C")
        # What the terminal does on Ctrl-C: the whole foreground group.
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=GUARD_S)
        out.append(rest)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()
        check(False, "the demo ends after Ctrl-C")
    text = "".join(out)
    sys.stdout.write("---- demo output ----\n" + text + "---- end ----\n")
    check(demo.returncode == 0, "the demo exits 0 on Ctrl-C (%s)" % demo.returncode)
    check("Traceback" not in text, "no Python traceback")
    check("\nSession finished: " in text, "the summary is printed")
    left = os.listdir(tmp)
    check(left == [], "the temporary directory is removed (left: %s)" % left)
    # Its helpers (bus, polkit mock, strigild) ran in sessions of their own:
    # none may survive it.
    survivors = subprocess.run(["pgrep", "-f", tmp], stdout=subprocess.PIPE,
                               universal_newlines=True).stdout.split()
    check(survivors == [], "no helper of the demo is left running (%s)" % survivors)
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
