#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make bench: strigil-clinic with a live 1 kHz stream.

Real strigild (optimised build, flat simulated signal: noise at 1 kHz plus
scripted strokes) on the private bus; the app under Xvfb (cairo renderer,
as on a clinic PC without GPU acceleration) with --bench, a session
running on its instrument. Figures, never asserted:
  fps       frames of the live trace per second (app's own count, --bench)
  CPU       the app's utime+stime over the window, % of one core
  RSS       the app's VmRSS at the end
  alarm     LimitExceeded -> first frame painted in the alarm state, from
            the daemon's arrival_us of the samples (same CLOCK_MONOTONIC)
            and from the signal's receipt in the app; p50/p99/max
Writes build/bench/clinic.md (a table row) and prints it.
"""
import os
import re
import sys
import time

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clinic_env  # noqa: E402
from clinic_env import harness  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ALARMS = int(os.environ.get("BENCH_CLINIC_ALARMS", "20"))
harness.verbose = False


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    out_dir = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    h = harness.Harness(simulate=1, sim_signal="flat")
    d = None
    try:
        h.start_daemon()
        prof = h.create_profile(patient_ref="BENCH-1", max_force_n=dbus.Double(6.0))
        d = clinic_env.Desktop(h)
        d.start_app(["--bench"])
        # the app takes the one instrument and follows its session
        sess = h.manager.StartSession(harness.SIM1, prof, "calf")
        d.click(d.find(role="page tab", name="Treatment"))
        harness.wait_for(lambda: d.find_all(role="status bar", contains="Session running"), 30)
        dbg = h.iface(harness.SIM1, "Debug")
        # continuous movement on the trace: strokes under the cap
        dbg.Play(dbus.Array([(4.0, 0.6, 0.4)] * int(SECONDS + 5), signature="(ddd)"))
        time.sleep(2)
        d.app_log.seek(0, 2)
        t0, c0 = time.monotonic(), cpu_ticks(d.app.pid)
        time.sleep(SECONDS)
        t1, c1 = time.monotonic(), cpu_ticks(d.app.pid)
        cpu = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0) * 100.0
        rss = rss_kb(d.app.pid)
        # alarms: one over-cap stroke at a time, each cleared before the next
        harness.wait_for(lambda: h.script_played(harness.SIM1), 60)
        for _ in range(ALARMS):
            dbg.Play(dbus.Array([(9.0, 0.4, 2.2)], signature="(ddd)"))
            harness.wait_for(lambda: h.script_played(harness.SIM1), 30)
        time.sleep(1)
        d.app_log.flush()
        d.app_log.seek(0)
        log = d.app_log.read()
        fps = [float(x) for x in re.findall(r"bench fps ([0-9.]+)", log)]
        drawn = [int(a) / 1000.0 for a, _ in re.findall(r"bench alarm_drawn_us (-?\d+) from_signal_us (\d+)", log)
                 if int(a) >= 0]
        sig = [int(b) / 1000.0 for _, b in re.findall(r"bench alarm_drawn_us (-?\d+) from_signal_us (\d+)", log)]
        steady = fps[2:2 + int(SECONDS)] or fps
        # Xvfb's frame clock runs at 60 Hz: a one-second count of a clock
        # that never misses a frame reads 59.9-60.1 by where the window falls,
        # so the goal is met when the median rounds to 60 frames.
        fps_med = pct(steady, 50)
        row = ("| clinic app | live trace %.1f fps (min %.1f); CPU %.1f %% of a core; RSS %.0f MB; "
               "alarm drawn p50 %.1f / p99 %.1f / max %.1f ms after the samples reached strigild "
               "(%.1f / %.1f ms after the signal reached the app), %d alarms | >= 60 fps, <= 10 %%, <= 50 ms p99 | %s |"
               % (fps_med, min(steady) if steady else float("nan"), cpu, rss / 1024.0,
                  pct(drawn, 50), pct(drawn, 99), max(drawn) if drawn else float("nan"),
                  pct(sig, 50), pct(sig, 99), len(drawn),
                  "ok" if round(fps_med) >= 60 and cpu <= 10 and drawn and pct(drawn, 99) <= 50 else "**missed**"))
        print("| part | figure | goal | verdict |\n|---|---|---|---|")
        print(row)
        with open(os.path.join(out_dir, "clinic.md"), "w") as f:
            f.write(row + "\n")
        h.manager  # keep the session referenced until here
        del sess
    finally:
        if d:
            d.cleanup()
        h.cleanup()


if __name__ == "__main__":
    main()
