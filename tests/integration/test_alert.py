#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tool whose alarm fails (the simulated instrument refuses SET_ALERT as a
real one that STALLs it would): the violation is still recorded and
LimitExceeded still signalled, and Instrument.AlertFailures counts the
failures, with a change signal, so that an app can tell the clinician
that the tool's own alarm cannot be relied on. Once the tool answers
again, the count stops growing (and Debug.AlertDelaysUs records the
alarm it accepted)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

h = Harness(simulate=1)
try:
    h.start_daemon()
    dbg = h.iface(SIM1, "Debug")
    check(plain(h.prop(SIM1, "Instrument", "AlertFailures")) == 0, "no alert failures at first")
    check(plain(h.prop(SIM1, "Debug", "AlertBroken")) is False, "the simulated alarm works")
    pid = h.create_profile(patient_ref="alert-1", max_force_n=dbus.Double(6.0))
    spath = h.manager.StartSession(SIM1, pid, "upper_back")

    dbg.BreakAlert(True)
    check(plain(h.prop(SIM1, "Debug", "AlertBroken")) is True, "the simulated alarm is broken")
    dbg.Play(dbus.Array([(9.0, 0.4, 0.3)], signature="(ddd)"))
    check(wait_for(lambda: len(h.signals_of("LimitExceeded", spath)) >= 1),
          "LimitExceeded is signalled although the tool's alarm failed")
    check(wait_for(lambda: len(h.signals_of("StrokeCompleted", spath)) >= 1),
          "the stroke completes")
    failures = plain(h.prop(SIM1, "Instrument", "AlertFailures"))
    # warning, exceeded, off at the release: each request refused
    check(failures >= 2, "AlertFailures counts the refused requests (%d)" % failures)
    def signalled():
        return [plain(s[3][1])["AlertFailures"] for s in h.signals_of("PropertiesChanged", SIM1)
                if plain(s[3][0]) == IFACE + "Instrument" and "AlertFailures" in plain(s[3][1])]

    # the last change signal carries the current count (the release's
    # request may still be on its way when the count was read)
    check(wait_for(lambda: signalled() and signalled()[-1] ==
                   plain(h.prop(SIM1, "Instrument", "AlertFailures"))),
          "the count is signalled (PropertiesChanged: %s)" % signalled())
    failures = plain(h.prop(SIM1, "Instrument", "AlertFailures"))
    viol = [plain(v)["kind"] for v in h.iface(spath, "Session").GetViolations()]
    check("exceeded" in viol, "the violation is recorded (%s)" % viol)

    dbg.BreakAlert(False)
    dbg.Play(dbus.Array([(9.0, 0.4, 0.3)], signature="(ddd)"))
    check(wait_for(lambda: len(h.signals_of("LimitExceeded", spath)) >= 2),
          "the second stroke's violation is signalled")
    check(wait_for(lambda: len(h.signals_of("StrokeCompleted", spath)) >= 2),
          "the second stroke completes")
    check(plain(h.prop(SIM1, "Instrument", "AlertFailures")) == failures,
          "no new failures once the tool answers again")
    # Debug.AlertDelaysUs (make bench's tool-alarm figure): one entry per
    # switch of the tool to "exceeded" that it accepted; the refused one
    # of the first stroke is not counted
    delays = plain(h.prop(SIM1, "Debug", "AlertDelaysUs"))
    check(len(delays) == 1 and 0 <= delays[0] < 10000000,
          "the accepted alarm's delay is recorded once (%s)" % delays)
    h.iface(spath, "Session").Stop()
    h.stop_daemon()
finally:
    h.cleanup()
finish()
