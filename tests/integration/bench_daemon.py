#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make bench: figures for strigild (reported, never asserted).

idle wake-ups and CPU with nothing claimed, CPU while a session runs at
1 kHz with the realistic simulator, D-Bus round trips of a property read,
and the time from Session.Stop() to its reply (includes the commit)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403


def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    with open("/proc/%d/status" % pid) as f:
        sw = sum(int(line.split()[1]) for line in f
                 if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
    return cpu, sw


def measure(pid, seconds):
    c0, s0 = proc_stat(pid)
    pump(seconds)
    c1, s1 = proc_stat(pid)
    return (c1 - c0) / seconds * 100.0, (s1 - s0) / seconds


h = Harness(simulate=1, sim_signal="realistic")
try:
    h.start_daemon()
    pid = h.daemon_proc.pid
    pump(1.0)
    cpu, wk = measure(pid, 5.0)
    print("idle, nothing claimed:         CPU %5.2f %%   wake-ups %6.1f /s" % (cpu, wk))
    prof = h.create_profile(patient_ref="bench")
    s = h.manager.StartSession(SIM1, prof, "upper_back")
    pump(1.0)
    n0 = len(h.signals)
    cpu, wk = measure(pid, 10.0)
    print("session, 1 kHz realistic sim: CPU %5.2f %%   wake-ups %6.1f /s   signals %.1f /s"
          % (cpu, wk, (len(h.signals) - n0) / 10.0))
    t0 = time.monotonic()
    for _ in range(200):
        h.prop(SIM1, "Instrument", "ForceN")
    print("Properties.Get round trip:     %.3f ms" % ((time.monotonic() - t0) / 200 * 1000))
    t0 = time.monotonic()
    h.iface(s, "Session").Stop()
    print("Session.Stop() reply:          %.2f ms" % ((time.monotonic() - t0) * 1000))
    h.stop_daemon()
finally:
    h.cleanup()
