#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""strigild killed with SIGKILL mid-session: after a restart every stroke
and violation it had signalled is in the database and the session is
marked interrupted. Stopped cleanly (SIGTERM) mid-session: the session is
ended and stored before the daemon exits, not left for the next start."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403

h = Harness(simulate=1)
try:
    h.start_daemon()
    pid = h.create_profile(patient_ref="crash-1", max_force_n=dbus.Double(6.0))
    spath = h.manager.StartSession(SIM1, pid, "upper_back")
    # strokes back to back; violations every other one
    script = [(4.0, 0.4, 0.1), (9.0, 0.4, 0.1)] * 20
    h.iface(SIM1, "Debug").Play(dbus.Array(script, signature="(ddd)"))
    signalled = lambda: h.signals_of("StrokeCompleted", spath)
    check(wait_for(lambda: len(signalled()) >= 5), "strokes are signalled")
    h.kill_daemon()
    drain()  # signals sent before the bus saw the daemon go are delivered
    strokes = sorted(plain(s[3][0])["index"] for s in signalled())
    exceeded = len(h.signals_of("LimitExceeded", spath))
    print("signalled %d strokes and %d violations before SIGKILL" % (len(strokes), exceeded))

    h.start_daemon()
    p = plain(h.props(spath, "Session"))
    check(p["State"] == "interrupted", "session marked interrupted (%s)" % p["State"])
    stored = [plain(s)["index"] for s in h.iface(spath, "Session").GetStrokes()]
    check(set(strokes) <= set(stored), "every signalled stroke is on disk (signalled %s, stored %s)"
          % (strokes, stored))
    viol = [plain(v) for v in h.iface(spath, "Session").GetViolations() if plain(v)["kind"] == "exceeded"]
    check(len(viol) >= exceeded and exceeded > 0, "every signalled violation is on disk (%d >= %d)"
          % (len(viol), exceeded))
    check(plain(h.prop(SIM1, "Instrument", "ActiveSession")) == "/", "the instrument is free after the restart")
    s2 = h.manager.StartSession(SIM1, pid, "upper_back")
    check(s2 != spath, "a new session can start")
    h.iface(s2, "Session").Stop()

    # SIGTERM mid-session: ended, stored and signalled before the exit.
    s3 = h.manager.StartSession(SIM1, pid, "upper_back")
    check(plain(h.prop(ROOT, "Manager", "ActiveSessions")) == [s3], "s3 is the active session")
    sid = int(plain(h.prop(s3, "Session", "Id")))
    h.stop_daemon()
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(h.state, "strigil.db"), uri=True)
    state, ended = db.execute("SELECT state, ended_us FROM sessions WHERE id = ?", (sid,)).fetchone()
    db.close()
    check(state in ("aborted", "interrupted") and ended is not None,
          "SIGTERM ended the running session in the database (%s, ended %s)" % (state, ended))
    h.start_daemon()
    check(plain(h.prop(s3, "Session", "State")) == "interrupted", "s3 interrupted after the restart")
    check(plain(h.prop(ROOT, "Manager", "ActiveSessions")) == [], "no active session after the restart")
    h.stop_daemon()
finally:
    h.cleanup()
finish()
