#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make bench: the clinic network's figures (printed, never asserted).

1. a profile edit on A visible on B: p50/p99 over many edits (goal p99 <= 2 s);
2. upload throughput into PostgreSQL (strokes/s, goal >= 10,000/s) next to
   the server's own COPY ceiling for the same rows, measured in the same run;
3. 8 PCs, each with 1 h of offline sessions, caught up (goal <= 30 s).
Real PostgreSQL with TLS (netharness.Server), real strigild and strigil-sync
(normal builds). Records for 2 and 3 are written into strigild's database
file with the schema strigild made, as a day of sessions would leave them.
"""
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netharness  # noqa: E402
from netharness import *  # noqa: E402,F401,F403

harness.verbose = False


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def fill(db_path, sessions, strokes_per_session, t0_us):
    """Sessions with their strokes and a violation every 20 strokes."""
    db = sqlite3.connect(db_path)
    db.execute("INSERT INTO profiles (patient_ref, created_us, updated_us) VALUES (?, ?, ?)",
               ("bench-%s" % uuidlib.uuid4().hex[:8], t0_us, t0_us))
    pid = db.execute("SELECT max(id) FROM profiles").fetchone()[0]
    n = 0
    for s in range(sessions):
        start = t0_us + s * 600 * 1000000
        cur = db.execute("INSERT INTO sessions (profile_id, instrument, region, state, started_us,"
                         " ended_us, updated_us, limit_n, stroke_count) VALUES"
                         " (?, 'SIM0001', 'calf', 'finished', ?, ?, ?, 8.0, ?)",
                         (pid, start, start + 500 * 1000000, start + 500 * 1000000,
                          strokes_per_session))
        sid = cur.lastrowid
        rows = []
        for i in range(strokes_per_session):
            t = i * 1.5
            rows.append((sid, start + int(t * 1e6), "calf", i, t, t + 0.8, 0.8, 6.0 + (i % 7) * 0.3,
                         3.1, 2.4, 0.0, 8.0))
        db.executemany("INSERT INTO strokes (session_id, wall_us, region, idx, start_s, end_s,"
                       " duration_s, peak_n, mean_n, impulse_ns, above_limit_s, limit_n)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO violations (session_id, wall_us, region, type, t_s, force_n,"
                       " limit_n) VALUES (?, ?, 'calf', 'exceeded', ?, 9.1, 8.0)",
                       [(sid, start + i * 1500000, i * 1.5) for i in range(0, strokes_per_session, 20)])
        n += strokes_per_session
    db.commit()
    db.close()
    return n


srv = Server()
pcs = []
NETHARNESS_SYNC = os.environ.get("STRIGIL_SYNC")
try:
    # ---- 1. profile edit on A visible on B ---------------------------------
    a = PC("a", srv)
    b = PC("b", srv)
    pcs += [a, b]
    for pc in (a, b):
        pc.start_daemon()
        pc.start_sync()
    wait_for(lambda: a.status()["Link"] == "online" and b.status()["Link"] == "online")
    pa = a.create_profile(patient_ref="bench-1", max_force_n=dbus.Double(10.0))
    u = plain(a.prop(pa, "Profile", "Uuid"))
    wait_for(lambda: b.profile_by_uuid(u) is not None)
    pb = b.profile_by_uuid(u)
    lat = []
    for i in range(60):
        v = 5.0 + (i % 50) * 0.1 + (0.05 if i % 2 else 0)
        t0 = time.monotonic()
        a.iface(pa, "Profile").Update(dbus.Dictionary({"max_force_n": dbus.Double(v)},
                                                      signature="sv"))
        if wait_for(lambda: plain(b.prop(pb, "Profile", "MaxForceN")) == v, timeout=30):
            lat.append(time.monotonic() - t0)
    print("profile edit on A visible on B: p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d edits;"
          " goal p99 <= 2000 ms)" % (pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, max(lat) * 1e3, len(lat)))
    for pc in (a, b):
        pc.stop_sync()

    # ---- 2. upload throughput vs the server's COPY ceiling -----------------
    a.stop_daemon()
    nstrokes = fill(os.path.join(a.state, "strigil.db"), 40, 5000, int(time.time() * 1e6))
    a.start_daemon()
    a.config = a.write_config(batch=int(os.environ.get("SG_BENCH_BATCH", "5000")))
    t0 = time.monotonic()
    a.start_sync()
    wait_for(lambda: a.status()["Backlog"] == 0 and a.status()["Uploaded"] >= nstrokes, timeout=600)
    up_s = time.monotonic() - t0
    st = a.status()
    print("upload: %d strokes (+ %d other rows) in %.2f s = %.0f strokes/s (goal >= 10,000/s)"
          % (nstrokes, st["Uploaded"] - nstrokes, up_s, nstrokes / up_s))
    # the same rows, COPY'd by the server's owner into a scratch table of
    # the same shape (typed keys + jsonb row): the ceiling on this machine
    _, data = srv.psql("SELECT count(*) FROM strokes")
    srv.psql("CREATE TABLE copy_probe (LIKE strokes INCLUDING ALL)")
    _, dump = srv.psql("COPY (SELECT gen_random_uuid(), local_id, pc, wall_us, region, data"
                       " FROM strokes LIMIT %d) TO STDOUT" % nstrokes)
    env = dict(os.environ, PGPASSFILE=srv.passfile("psql-strigil_admin", "strigil_admin",
                                                   srv.admin_pw))
    t0 = time.monotonic()
    subprocess.run(["psql", "-X", "-q", srv.conninfo("strigil_admin"), "-c",
                    "COPY copy_probe FROM STDIN"], input=dump + "\n\\.\n", env=env, check=True,
                   universal_newlines=True, stdout=subprocess.DEVNULL)
    copy_s = time.monotonic() - t0
    print("server COPY ceiling (same rows, one psql COPY over TLS): %.0f rows/s; strigil-sync"
          " reaches %.0f %% of it" % (nstrokes / copy_s, 100.0 * (nstrokes / up_s) / (nstrokes / copy_s)))
    a.stop_sync()
    for pc in (a, b):
        pc.stop_daemon()
        pc.cleanup()
    pcs = []

    # ---- 3. 8 PCs with 1 h offline each -------------------------------------
    eight = []
    for i in range(8):
        pc = PC("h%d" % i, srv)
        pcs.append(pc)
        eight.append(pc)
        pc.start_daemon()
        pc.stop_daemon()
        # one hour of one room: 6 sessions of 600 strokes
        fill(os.path.join(pc.state, "strigil.db"), 6, 600, int(time.time() * 1e6) - 3600 * 1000000)
        pc.start_daemon()
    t0 = time.monotonic()
    for pc in eight:
        pc.start_sync(wait=False)
    ok = wait_for(lambda: all(pc.bus.name_has_owner(SYNC_NAME) and pc.status()["Link"] == "online"
                              and pc.status()["Backlog"] == 0 and pc.status()["Uploaded"] > 0
                              for pc in eight), timeout=300)
    dt = time.monotonic() - t0
    print("8 PCs x 1 h offline (6 sessions, 3,600 strokes, 180 violations each): caught up in"
          " %.2f s%s (goal <= 30 s)" % (dt, "" if ok else " (NOT caught up)"))
    for pc in eight:
        pc.stop_sync()
        pc.stop_daemon()
finally:
    for pc in pcs:
        pc.cleanup()
    srv.cleanup()
