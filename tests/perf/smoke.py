#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make check: the measuring path of make bench works (functional checks
only, no timing): strigild (the ASan build) on the bench's private bus, the
sgbench client.

- every LimitExceeded signal carries arrival_us, not after its receipt, and
  the client sees as many as the session's ViolationCount;
- OpenStream delivers samples, every packet well formed and every sample
  either delivered or counted as dropped (first_index continuity);
- a client that opens a stream and never reads does not close or corrupt
  another reader of the same instrument, and the daemon keeps answering.

Usage: smoke.py BUILD STRIGILD
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

import dbus  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


def main():
    bench.STRIGILD = os.path.abspath(sys.argv[2])
    h = bench.Harness()
    try:
        insts = h.start_daemon(2, "flat", os.path.join(h.tmp, "state"))
        sessions = h.start_sessions(insts[:1])
        props = "org.freedesktop.DBus.Properties"
        limit = float(h.obj(sessions[0]).Get(bench.IFACE + "Session", "EffectiveLimitN",
                                             dbus_interface=props))
        pulses = 4
        # The listener runs until told (SECONDS is only a bound): not a
        # fixed window the pulses must fit in on a loaded machine.
        listener = bench.sgbench("listen", h.address, 600)
        listener.stdout.readline()
        debug = dbus.Interface(h.obj(insts[0]), bench.IFACE + "Debug")
        debug.Play(dbus.Array([dbus.Struct((1.5 * limit, 0.2, 0.1), signature="ddd")] * pulses,
                              signature="(ddd)"))
        # played in sample time: every violation has been raised and signalled
        check(h.wait(lambda: int(h.obj(insts[0]).Get(bench.IFACE + "Debug", "PendingStrokes",
                                                     dbus_interface=props)) == 0, 120),
              "the pulses have been played")
        listener.terminate()
        r = bench.sgbench_result(listener)
        count = int(h.obj(sessions[0]).Get(bench.IFACE + "Session", "ViolationCount",
                                           dbus_interface=props))
        check(count >= 1, "pulses above the cap give violations (%d)" % count)
        check(int(r["n"]) == count and int(r["without_arrival"]) == 0,
              "every LimitExceeded seen, each with arrival_us before its receipt "
              "(%d of %d, %d without)" % (r["n"], count, r["without_arrival"]))

        r = bench.sgbench_result(bench.sgbench("stream", h.address, 1.5, *insts))
        check(r["samples"] > 0 and r["bad"] == 0 and r["gaps"] == 0,
              "OpenStream on 2 instruments: %d samples, %d bad packets, %d index gaps"
              % (r["samples"], r["bad"], r["gaps"]))

        stall = bench.sgbench("stall", h.address, insts[1])
        check(stall.stdout.readline().strip() == "stalled=1", "a stream that is never read")
        reader = bench.sgbench("stream", h.address, 2, insts[1])
        ping = bench.sgbench("ping", h.address, 2, insts[1])
        r = bench.sgbench_result(reader)
        p = bench.sgbench_result(ping)
        stall.terminate()
        stall.wait(timeout=10)
        check(r["samples"] > 0 and r["bad"] == 0 and r["gaps"] == 0,
              "meanwhile another reader of that instrument gets its samples "
              "(%d, %d bad, %d gaps)" % (r["samples"], r["bad"], r["gaps"]))
        check(p["n"] > 0 and p["errors"] == 0,
              "meanwhile the daemon answers (%d calls, %d errors)" % (p["n"], p["errors"]))
        check(h.daemon.poll() is None, "strigild still runs")
        h.stop_sessions(sessions)
        daemon = h.daemon
        h.stop_daemon()
        check(daemon.returncode == 0, "strigild exits cleanly (%d)" % daemon.returncode)
    except Exception as e:
        check(False, "harness: %s" % e)
    finally:
        if failures and h.daemon_log:
            with open(h.daemon_log.name) as f:
                sys.stdout.write("---- strigild log ----\n" + f.read()[-4000:])
        h.cleanup()
    print("%d check(s) failed" % len(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
