#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every record reaches the centre exactly once (real PostgreSQL with TLS,
two PCs):

- server unreachable for a whole session: treatment and the local records
  are unaffected, the status says offline with the backlog, and the
  records go up when the server is back;
- sessions on both PCs while the server is stopped and restarted and each
  strigil-sync is killed with SIGKILL at 20 random moments: afterwards the
  centre holds every session, stroke, violation and calibration of each
  PC exactly once (compared row for row with each PC's SQLite);
- a PC's role cannot change or delete another PC's records, nor delete
  anything at all (real permission and row-level security errors).
"""
import json
import os
import random
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netharness import *  # noqa: E402,F401,F403

SEED = int(os.environ.get("SG_SEED", random.randrange(1 << 30)))
rng = random.Random(SEED)
print("seed %d (SG_SEED=%d to repeat)" % (SEED, SEED))


def local_rows(pc):
    """What the PC's SQLite holds: {session uuid: (strokes, violations)}, calibrations."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(pc.state, "strigil.db"), uri=True)
    per = {}
    for uuid, in db.execute("SELECT uuid FROM sessions"):
        per[uuid] = (0, 0)
    for uuid, n in db.execute("SELECT s.uuid, count(*) FROM strokes t JOIN sessions s"
                              " ON s.id = t.session_id GROUP BY s.uuid"):
        per[uuid] = (n, per[uuid][1])
    for uuid, n in db.execute("SELECT s.uuid, count(*) FROM violations t JOIN sessions s"
                              " ON s.id = t.session_id GROUP BY s.uuid"):
        per[uuid] = (per[uuid][0], n)
    cal = db.execute("SELECT count(*) FROM calibrations").fetchone()[0]
    states = dict(db.execute("SELECT uuid, state FROM sessions"))
    db.close()
    return per, cal, states


def central_rows(role):
    per = {}
    _, out = srv.psql("SELECT uuid, state FROM sessions WHERE pc = '%s'" % role)
    states = dict(l.split("|") for l in out.splitlines() if l)
    for u in states:
        per[u] = (0, 0)
    _, out = srv.psql("SELECT session_uuid, count(*), count(DISTINCT local_id) FROM strokes"
                      " WHERE pc = '%s' GROUP BY 1" % role)
    dup = False
    for l in out.splitlines():
        u, n, d = l.split("|")
        per[u] = (int(n), per.get(u, (0, 0))[1])
        dup |= n != d
    _, out = srv.psql("SELECT session_uuid, count(*) FROM violations WHERE pc = '%s' GROUP BY 1"
                      % role)
    for l in out.splitlines():
        u, n = l.split("|")
        per[u] = (per.get(u, (0, 0))[0], int(n))
    _, cal = srv.psql("SELECT count(*) FROM pc_records WHERE pc = '%s' AND kind = 'calibrations'"
                      % role)
    return per, int(cal), states, dup


def play(pc, n, peak=5.0):
    # strokes of 0.3 s with 0.1 s pauses; every 4th above the cap
    script = [(peak * (2.2 if i % 4 == 3 else 1.0), 0.3, 0.1) for i in range(n)]
    pc.iface(SIM1, "Debug").Play(dbus.Array(script, signature="(ddd)"))


srv = Server()
pcs = []
try:
    a = PC("a", srv)
    pcs.append(a)
    b = PC("b", srv)
    pcs.append(b)
    for pc in (a, b):
        pc.start_daemon()
        pc.start_sync()
    pa = a.create_profile(patient_ref="pat-100", max_force_n=dbus.Double(8.0))
    uuid = plain(a.prop(pa, "Profile", "Uuid"))
    check(wait_for(lambda: b.profile_by_uuid(uuid) is not None), "profile reaches B")
    pb = b.profile_by_uuid(uuid)

    # ---- the server unreachable for a whole session ---------------------
    srv.stop()
    check(wait_for(lambda: a.status()["Link"] != "online"), "A sees the server gone")
    s1 = a.manager.StartSession(SIM1, pa, "calf:left")
    play(a, 12)
    check(wait_for(lambda: a.script_played(SIM1)), "strokes played while offline")
    summary = plain(a.iface(s1, "Session").Stop())
    signalled = len(a.signals_of("StrokeCompleted", s1))
    per, _, states = local_rows(a)
    s1u = plain(a.prop(s1, "Session", "Uuid"))
    check(summary["strokes"] == 12 and signalled == 12 and per[s1u][0] == 12 and
          states[s1u] == "finished",
          "offline: treatment and local records unaffected (%d strokes signalled, %s stored)"
          % (signalled, per[s1u]))
    check(wait_for(lambda: a.status()["Backlog"] >= 12), "A's backlog counts the waiting records (%d)"
          % a.status()["Backlog"])
    st = a.status()
    check(st["Link"] == "offline" and st["LastError"].startswith("server:"),
          "status: offline with the reason (%s)" % st["LastError"])
    rc, out, err = a.ctl("sync", "status")
    check(rc == 0 and "Link:        offline" in out and "waiting to go up" in out and
          "Connection refused" in out, "strigilctl sync status shows the link, backlog and"
          " last error:\n%s%s" % (out, err))
    rc, out, err = a.ctl("--json", "sync", "status")
    js = json.loads(out) if rc == 0 else {}
    check(js.get("link") == "offline" and js.get("backlog", 0) >= 12,
          "strigilctl --json sync status (%s)" % js)
    srv.start()
    check(wait_for(lambda: a.status()["Backlog"] == 0 and a.status()["Link"] == "online"),
          "records go up when the server is back (%s)" % a.status())
    per_c, _, _, _ = central_rows("pc_a")
    check(per_c.get(s1u) == per[s1u], "the offline session is in the centre (%s)" % (per_c.get(s1u),))

    # ---- a pause goes up with its end -------------------------------------
    # A pause is written open and ended at the resume: the centre must get
    # it once, ended, even when strigil-sync uploads while it is open.
    sp = a.manager.StartSession(SIM1, pa, "calf:left")
    spu = plain(a.prop(sp, "Session", "Uuid"))
    play(a, 2)
    check(wait_for(lambda: a.script_played(SIM1)), "strokes before the pause")
    a.iface(sp, "Session").Pause()

    def central_state():
        _, out = srv.psql("SELECT state FROM sessions WHERE uuid = '%s'" % spu)
        return out.strip()
    check(wait_for(lambda: central_state() == "paused"),
          "an upload ran while the session was paused (%s)" % central_state())
    a.iface(sp, "Session").Resume()
    a.iface(sp, "Session").Stop()
    check(wait_for(lambda: a.status()["Backlog"] == 0 and central_state() == "finished"),
          "the paused session caught up (%s)" % a.status())
    _, out = srv.psql("SELECT count(*), count(data->>'end_us') FROM pc_records WHERE pc = 'pc_a'"
                      " AND kind = 'pauses' AND data->>'session_uuid' = '%s'" % spu)
    check(out.strip() == "1|1", "the centre has the pause once, with its end (%s)" % out.strip())

    # ---- a change committed after a later-stamped one ---------------------
    # updated_us is a wall-clock time stamped when a write is queued: a row
    # can commit after another that carries a later time (the storage
    # writer's queue beside a direct write; a clock stepped back by NTP).
    # Such commits are written here straight into strigild's database so
    # that their order is exact; strigil-sync must still send each change
    # (it follows the commit order, strigild's change_seq).
    ldb = sqlite3.connect(os.path.join(a.state, "strigil.db"), timeout=10)
    pid = ldb.execute("SELECT id FROM profiles WHERE uuid = ?", (uuid,)).fetchone()[0]
    t0 = int(time.time() * 1e6)

    def add_session(state, stamp):
        cur = ldb.execute("INSERT INTO sessions (profile_id, instrument, region, state,"
                          " started_us, updated_us, limit_n) VALUES"
                          " (?, 'SIM-ORDER', 'calf:left', ?, ?, ?, 8.0)",
                          (pid, state, stamp, stamp))
        ldb.commit()
        return ldb.execute("SELECT uuid FROM sessions WHERE id = ?",
                           (cur.lastrowid,)).fetchone()[0]

    def set_state(su, state, stamp):
        ldb.execute("UPDATE sessions SET state = ?, updated_us = ? WHERE uuid = ?",
                    (state, stamp, su))
        ldb.commit()

    def centre(su):
        _, out = srv.psql("SELECT state FROM sessions WHERE uuid = '%s'" % su)
        return out.strip()
    yu = add_session("running", t0)
    check(wait_for(lambda: centre(yu) == "running"), "session Y is up (%s)" % centre(yu))
    xu = add_session("finished", t0 + 2000000)
    check(wait_for(lambda: centre(xu) == "finished"), "session X, stamped later, is up")
    set_state(yu, "paused", t0 + 1000000)      # committed after X, stamped before it
    check(wait_for(lambda: centre(yu) == "paused"),
          "a change committed after a later-stamped one still goes up (centre: %s)" % centre(yu))
    set_state(yu, "finished", t0 + 500000)     # the clock stepped back below Y's last stamp
    check(wait_for(lambda: centre(yu) == "finished"),
          "the centre keeps the newest commit, not the latest stamp (centre: %s)" % centre(yu))
    ldb.close()

    # ---- chaos: server restarts and 20 SIGKILLs during sessions ----------
    sa = a.manager.StartSession(SIM1, pa, "calf:left")
    sb = b.manager.StartSession(SIM1, pb, "shin:right")
    play(a, 50)
    play(b, 50)
    kills = 0
    restarts = 0
    for step in range(24):
        pump(rng.uniform(0.05, 0.5))
        if step in (5, 13, 20):
            srv.stop()
            pump(rng.uniform(0.1, 0.8))
            srv.start()
            restarts += 1
            continue
        pc = rng.choice((a, b))
        pc.kill_sync()
        kills += 1
        if rng.random() < 0.5:
            pump(rng.uniform(0.0, 0.3))
        pc.start_sync()
    check(kills == 21 and restarts == 3, "21 SIGKILLs of strigil-sync and 3 server restarts"
          " during the sessions")
    check(wait_for(lambda: a.script_played(SIM1) and b.script_played(SIM1), timeout=120),
          "sessions played to the end")
    for pc, s in ((a, sa), (b, sb)):
        pc.iface(s, "Session").Stop()
    for pc in (a, b):
        check(wait_for(lambda: pc.status()["Backlog"] == 0 and pc.status()["Link"] == "online",
                       timeout=60), "%s caught up (%s)" % (pc.name, pc.status()))
    for pc in (a, b):
        # Backlog is the sync's own count from its last upload: it can still
        # read 0 for a moment after Stop wrote the session's end, before the
        # inotify wake-up sends it. Wait for the centre itself, then compare.
        wait_for(lambda: central_rows(pc.role)[:3] == local_rows(pc), timeout=60)
        per_l, cal_l, st_l = local_rows(pc)
        per_c, cal_c, st_c, dup = central_rows(pc.role)
        nstrokes = sum(v[0] for v in per_l.values())
        check(per_l == per_c and not dup,
              "%s: the centre has every session, stroke and violation exactly once "
              "(%d sessions, %d strokes, %d violations)" %
              (pc.name, len(per_l), nstrokes, sum(v[1] for v in per_l.values())))
        if per_l != per_c:
            print("local  ", per_l)
            print("central", per_c)
        check(st_l == st_c, "%s: session states match (%s)" % (pc.name, st_c))
        check(cal_l == cal_c, "%s: calibrations exactly once (%d)" % (pc.name, cal_c))
        check(nstrokes >= 50, "%s: the chaos sessions' strokes are there" % pc.name)

    # the worst crash: every batch committed on the server, no cursor moved
    # here (the state database lost): everything is sent again, stored once
    a.stop_sync()
    os.unlink(os.path.join(a.tmp, "sync-state.db"))
    a.start_sync()
    check(wait_for(lambda: a.status()["Link"] == "online" and a.status()["Backlog"] == 0 and
                   a.status()["Uploaded"] > 0, timeout=60),
          "A sent everything again after losing its cursors (%s)" % a.status())
    per_l, cal_l, _ = local_rows(a)
    per_c, cal_c, _, dup = central_rows("pc_a")
    check(per_l == per_c and cal_l == cal_c and not dup,
          "... and the centre still has every record exactly once")
    check(a.status()["Merges"] == 0 and a.status()["LastError"] == "",
          "... its profiles were recognised as already synced (%s)" % a.status()["LastError"])

    # what was in force travels with every record (region:side, cap, reasons)
    _, out = srv.psql("SELECT DISTINCT region, data->>'side', data->>'limit_n' IS NOT NULL"
                      " FROM strokes WHERE pc = 'pc_b'")
    check(out.splitlines() == ["shin:right|right|t"],
          "B's strokes carry their site, side and cap in the centre (%s)" % out)

    # ---- least privilege: B's role against A's records -------------------
    _, sess_a = srv.psql("SELECT uuid FROM sessions WHERE pc = 'pc_a' LIMIT 1")

    def as_b(sql):
        return srv.psql(sql, user="pc_b", pw=b.pw, check_rc=False)
    for sql, want in (
            ("DELETE FROM strokes", "permission denied for table strokes"),
            ("DELETE FROM sessions WHERE pc = 'pc_b'", "permission denied for table sessions"),
            ("DELETE FROM profiles", "permission denied for table profiles"),
            ("TRUNCATE violations", "permission denied for table violations"),
            ("UPDATE strokes SET region = 'neck'", "permission denied for table strokes"),
            ("UPDATE profile_merges SET result = '{}'", "permission denied for table profile_merges"),
            ("ALTER TABLE strokes DISABLE ROW LEVEL SECURITY", "must be owner of table strokes"),
            ("INSERT INTO strokes (session_uuid, local_id, wall_us, region, data)"
             " VALUES ('%s', 999999, 0, 'calf', '{}')" % sess_a,
             "new row violates row-level security policy"),
            ("INSERT INTO sessions (uuid, pc, local_id, patient_ref, started_us, updated_us,"
             " state, data) VALUES (gen_random_uuid(), 'pc_a', 999999, 'x', 0, 0, 'finished', '{}')",
             "new row violates row-level security policy")):
        rc, out = as_b(sql)
        check(rc != 0 and want in out, "pc_b: %s -> %s (%s)" % (sql[:60], want, out.splitlines()[0]
                                                                 if out else "succeeded"))
    rc, out = as_b("UPDATE sessions SET state = 'aborted' WHERE pc = 'pc_a' RETURNING uuid")
    _, still = srv.psql("SELECT count(*) FROM sessions WHERE pc = 'pc_a' AND state = 'aborted'")
    check(rc == 0 and out == "" and still == "0",
          "pc_b cannot change pc_a's sessions: row-level security hides them (%s)" % out)
    rc, out = as_b("SELECT count(*) FROM strokes WHERE pc = 'pc_a'")
    check(rc == 0 and int(out) > 0, "pc_b reads the clinic's history (a patient's visits anywhere)")
    rc, out, err = a.ctl("sync", "status")
    check(rc == 0 and "Link:        online" in out and "Backlog:     0 record" in out,
          "strigilctl sync status: online, nothing waiting:\n%s" % out)
    for pc in (a, b):
        pc.stop_sync()
    rc, out, err = a.ctl("sync", "status")
    check(rc == 3 and "systemctl start strigil-sync" in err,
          "strigilctl sync status without strigil-sync says what to do (%d: %s)" % (rc, err.strip()))
    for pc in (a, b):
        pc.stop_daemon()
finally:
    for pc in pcs:
        pc.cleanup()
    srv.cleanup()
finish()
