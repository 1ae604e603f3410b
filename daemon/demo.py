#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make demo: strigild with a simulated instrument on a private bus.

Starts a private dbus-daemon (our bus policy) with a polkit mock that
grants every Strigil action, strigild with one simulated instrument
(realistic signal from libstrigil's simulator), creates a demo patient on
anticoagulants, shows the cap and the reasons behind it, starts a session
and shows strokes and limit alarms live until Ctrl-C or DEMO_SECONDS
(default 30): in the desktop app strigil-clinic when there is a display
and the app is built (until its window is closed), else with `strigilctl
monitor` when it is built, else with the event lines printed here
(daemon/demoview.py chooses; --dry-run prints the choice and exits). Ctrl-C ends the live part early: the session is
stopped and summarised, and the helpers and the temporary folder go away,
as at the end of DEMO_SECONDS.
"""
import os
import signal
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
os.environ.setdefault("STRIGILD", os.path.join(TOP, "build", "strigild"))
import harness  # noqa: E402
harness.verbose = False
harness.own_process_group = True
from harness import ACTIONS, Harness, SIM1, dbus, plain, pump  # noqa: E402

sys.path.insert(0, os.path.join(TOP, "daemon"))
import demoview  # noqa: E402

CTL = os.path.join(TOP, "build", "strigilctl")
CLINIC = os.environ.get("STRIGIL_CLINIC") or os.path.join(TOP, "build", "strigil-clinic")
VIEW = demoview.choose(os.environ, CLINIC, CTL, sys.stdout.isatty())

# with the app, the demo lasts until its window is closed (or DEMO_SECONDS)
seconds = float(os.environ.get("DEMO_SECONDS", "inf" if VIEW == demoview.CLINIC else "30"))
region = os.environ.get("DEMO_REGION", "upper_back")
stop = False


def on_stop_signal(*_):
    # Ctrl-C ends the live part only; the session is then stopped, its
    # summary printed and every helper and file cleaned up, as on timeout.
    global stop
    stop = True


def start_demo_session(h):
    """A patient on anticoagulants and a running session; prints the cap."""
    pid = h.create_profile(patient_ref="demo-0001", display_name="J.D.",
                           max_force_n=dbus.Double(10.0),
                           conditions=dbus.Array(["anticoagulants"], signature="s"))
    spath = h.manager.StartSession(SIM1, pid, region)
    p = plain(h.props(spath, "Session"))
    print("\nPatient demo-0001 (J.D.), on anticoagulants; region %s" % region)
    print("  effective limit: %.2f N  <- %s" % (p["EffectiveLimitN"], p["LimitSource"]))
    for r in p["LimitReasons"]:
        print("    - %s" % r)
    if VIEW == demoview.CLINIC:
        print("\nSession %s running in strigil-clinic (close its window or Ctrl-C to stop)...\n"
              % spath)
    else:
        print("\nSession %s running for %.0f s (Ctrl-C to stop)...\n" % (spath, seconds))
    sys.stdout.flush()
    return spath


# ---- live views: each runs until `end`, Ctrl-C or its own exit -------------

def view_clinic(h, spath, end):
    """strigil-clinic on the demo's bus, until its window is closed. In the
    terminal's process group like the monitor: Ctrl-C ends it too."""
    app = subprocess.Popen(demoview.command(demoview.CLINIC, h.address, CLINIC, CTL))
    while not stop and time.monotonic() < end and app.poll() is None:
        pump(0.1)
    if app.poll() is None:
        app.terminate()
    if app.wait() not in (0, -signal.SIGTERM, -signal.SIGINT):
        print("demo: strigil-clinic exited with %d" % app.returncode, file=sys.stderr)


def view_monitor(h, spath, end):
    """strigilctl monitor in this terminal. It is in the terminal's process
    group: Ctrl-C reaches it directly and it restores the screen itself."""
    mon = subprocess.Popen(demoview.command(demoview.MONITOR, h.address, CLINIC, CTL))
    while not stop and time.monotonic() < end and mon.poll() is None:
        pump(0.1)
    if mon.poll() is None:
        mon.send_signal(signal.SIGINT)
    mon.wait()


def view_events(h, spath, end):
    """One line per stroke and alarm, from the session's signals."""
    shown = 0
    while not stop and time.monotonic() < end:
        pump(0.05)
        for path, iface, member, args in h.signals[shown:]:
            if path != spath:
                continue
            a = plain(args[0]) if args else {}
            if member == "StrokeCompleted":
                print("stroke %3d  peak %5.2f N  %.2f s%s" % (
                    a["index"], a["peak_n"], a["duration_s"],
                    "   above the limit for %.2f s" % a["above_limit_s"] if a["above_limit_s"] > 0 else ""))
            elif member == "LimitWarning":
                print("  warning  %.2f N: 90%% of the %.2f N limit reached" % (a["force_n"], a["limit_n"]))
            elif member == "LimitExceeded":
                print("  ALARM    %.2f N above the %.2f N limit (tool vibrates, LED red)" % (
                    a["force_n"], a["limit_n"]))
            elif member == "SessionCapReached":
                print("  session cap reached: %s" % args[0])
            sys.stdout.flush()
        shown = len(h.signals)


def choose_view():
    """The richest view this place can show (daemon/demoview.py decides)."""
    return {demoview.CLINIC: view_clinic, demoview.MONITOR: view_monitor}.get(VIEW, view_events)


def print_summary(h, spath):
    summary = plain(h.iface(spath, "Session").Stop())
    print("\nSession finished: %d strokes, %d limit alarms, %.1f s under load, peak %.2f N" % (
        summary["strokes"], summary["violations"], summary["seconds_under_load"], summary["peak_n"]))


def main():
    if "--dry-run" in sys.argv[1:]:
        print("demo view: %s %s" % (VIEW, demoview.command(VIEW, "ADDRESS", CLINIC, CTL)))
        return 0
    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGTERM, on_stop_signal)
    h = None
    try:
        h = Harness(simulate=1, sim_signal="realistic")
        h.set_allowed(ACTIONS)
        h.write_policy()    # the shipped clinic policy as it is (sides included)
        h.start_daemon()
        print("strigild is up on a private bus: %s" % h.address)
        spath = start_demo_session(h)
        choose_view()(h, spath, time.monotonic() + seconds)
        print_summary(h, spath)
        h.stop_daemon()
    except (dbus.exceptions.DBusException, RuntimeError, OSError) as e:
        print("demo: stopped early: %s" % e, file=sys.stderr)
        if h:
            h.print_log()
        return 1
    finally:
        if h:
            h.cleanup()
    return 1 if harness.failures else 0


if __name__ == "__main__":
    sys.exit(main())
