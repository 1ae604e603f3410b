#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Profiles follow the patient across the clinic's PCs (real PostgreSQL
with TLS, two strigild + strigil-sync pairs on their own buses):

- a profile created on A appears on B (NOTIFY), a session starts on it there;
- an edit on B is seen on A;
- A and B edit the same profile while the server is stopped: after its
  restart both have the merged profile (conditions united, lower caps,
  per region too) marked "merged" for review, and the centre recorded the
  merge (both versions, who); a clinician's confirmation reaches the other PC;
- bad data on the server is rejected whole, with a logged reason;
- a configuration without verify-full TLS is refused; the wrong CA fails.
"""
import os
import signal
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netharness import *  # noqa: E402,F401,F403

srv = Server()
pcs = []
try:
    check("applied 001-schema.sql" in srv.migrate_out, "central schema migrated (%s)"
          % srv.migrate_out.strip())
    a = PC("a", srv)
    pcs.append(a)
    b = PC("b", srv)
    pcs.append(b)
    for pc in (a, b):
        pc.start_daemon()
        pc.start_sync()
    check(wait_for(lambda: a.status()["Link"] == "online" and b.status()["Link"] == "online"),
          "both PCs are online (A: %s)" % a.status())

    # ---- created on A, appears on B, a session starts there ---------------
    pa = a.create_profile(patient_ref="pat-001", max_force_n=dbus.Double(12.0),
                          conditions=dbus.Array(["anticoagulants"], signature="s"),
                          region_caps_n=dbus.Dictionary({"calf:left": 9.0}, signature="sd"))
    uuid = plain(a.prop(pa, "Profile", "Uuid"))
    check(len(uuid) == 36 and uuid[14] == "4", "profile has a random UUID (%s)" % uuid)
    check(plain(a.prop(pa, "Profile", "ReviewState")) == "", "new profile needs no review")
    check(wait_for(lambda: b.profile_by_uuid(uuid) is not None), "profile created on A appears on B")
    pb = b.profile_by_uuid(uuid)
    bp = plain(b.props(pb, "Profile"))
    check(bp["PatientRef"] == "pat-001" and bp["MaxForceN"] == 12.0 and
          bp["Conditions"] == ["anticoagulants"] and bp["RegionCapsN"] == {"calf:left": 9.0},
          "B has A's profile with its safety facts (%s)" % bp)
    sb = b.manager.StartSession(SIM1, pb, "calf:left")
    sp = plain(b.props(sb, "Session"))
    check(sp["State"] == "running" and any("anticoagulants" in r for r in sp["LimitReasons"]),
          "session on B runs with A's precaution (%s)" % sp["LimitReasons"])
    check(len(plain(b.prop(sb, "Session", "Uuid"))) == 36, "session has a UUID")
    b.iface(sb, "Session").Stop()

    # ---- edited on B, seen on A ------------------------------------------
    b.iface(pb, "Profile").Update(dbus.Dictionary({"max_force_n": dbus.Double(10.0),
                                                  "display_name": "J.D."}, signature="sv"))
    check(wait_for(lambda: plain(a.prop(pa, "Profile", "MaxForceN")) == 10.0),
          "edit on B seen on A (max force %s)" % plain(a.prop(pa, "Profile", "MaxForceN")))
    check(plain(a.prop(pa, "Profile", "DisplayName")) == "J.D.", "display name followed")
    check(plain(a.prop(pa, "Profile", "ReviewState")) == "", "a plain edit needs no review")

    # ---- both edit while the server is down: merged, for review -----------
    srv.stop()
    check(wait_for(lambda: a.status()["Link"] != "online" and b.status()["Link"] != "online"),
          "both PCs see the server gone")
    a.iface(pa, "Profile").Update(dbus.Dictionary({
        "conditions": dbus.Array(["anticoagulants", "varicose_veins"], signature="s"),
        "region_caps_n": dbus.Dictionary({"calf:left": 7.0, "neck": 3.0}, signature="sd"),
        "max_force_n": dbus.Double(11.0)}, signature="sv"))
    b.iface(pb, "Profile").Update(dbus.Dictionary({
        "conditions": dbus.Array(["thin_skin"], signature="s"),
        "region_caps_n": dbus.Dictionary({"calf:left": 8.0, "shin:right": 4.0}, signature="sd"),
        "max_force_n": dbus.Double(9.0)}, signature="sv"))
    pump(0.5)
    srv.start()

    def merged(pc, path):
        p = plain(pc.props(path, "Profile"))
        return (p["ReviewState"] == "merged" and
                set(p["Conditions"]) == {"anticoagulants", "varicose_veins", "thin_skin"} and
                p["MaxForceN"] == 9.0 and
                p["RegionCapsN"] == {"calf:left": 7.0, "neck": 3.0, "shin:right": 4.0})
    check(wait_for(lambda: merged(a, pa)), "A has the merged profile for review (%s)"
          % plain(a.props(pa, "Profile")))
    check(wait_for(lambda: merged(b, pb)), "B has the merged profile for review (%s)"
          % plain(b.props(pb, "Profile")))
    rc, out = srv.psql("SELECT merged_by, theirs->>'by', ours->'body'->>'max_force_n',"
                       " theirs->'body'->>'max_force_n', result->>'review'"
                       " FROM profile_merges WHERE uuid = '%s'" % uuid)
    rows = [r.split("|") for r in out.splitlines()]
    check(len(rows) == 1 and {rows[0][0], rows[0][1]} == {"pc_a", "pc_b"} and
          {rows[0][2], rows[0][3]} == {"11", "9"} and rows[0][4] == "merged",
          "the centre recorded the merge: both versions and who (%s)" % out)
    check(a.status()["Merges"] + b.status()["Merges"] == 1, "one merge counted")

    # a clinician confirms on B: the review state clears on A too
    b.iface(pb, "Profile").ConfirmReview()
    check(plain(b.prop(pb, "Profile", "ReviewState")) == "", "confirmed on B")
    check(wait_for(lambda: plain(a.prop(pa, "Profile", "ReviewState")) == ""),
          "the confirmation reaches A")
    check(set(plain(a.prop(pa, "Profile", "Conditions"))) ==
          {"anticoagulants", "varicose_veins", "thin_skin"}, "confirming keeps every condition")

    # ---- deleted on A while B edits it: the edit wins, for review ----------
    pz = a.create_profile(patient_ref="pat-002", max_force_n=dbus.Double(8.0))
    uz = plain(a.prop(pz, "Profile", "Uuid"))
    check(wait_for(lambda: b.profile_by_uuid(uz) is not None), "second profile reaches B")
    pzb = b.profile_by_uuid(uz)
    srv.stop()
    check(wait_for(lambda: a.status()["Link"] != "online" and b.status()["Link"] != "online"),
          "server gone again")
    a.iface(pz, "Profile").Delete()
    b.iface(pzb, "Profile").Update(dbus.Dictionary({
        "conditions": dbus.Array(["dvt"], signature="s")}, signature="sv"))
    pump(0.5)
    srv.start()
    check(wait_for(lambda: a.profile_by_uuid(uz) is not None and
                   plain(a.prop(a.profile_by_uuid(uz), "Profile", "Conditions")) == ["dvt"]),
          "a delete concurrent with an edit: the profile comes back on A with the edit")
    check(wait_for(lambda: plain(b.prop(pzb, "Profile", "ReviewState")) == "merged"),
          "... marked for review on B")
    check(wait_for(lambda: a.profile_by_uuid(uz) is not None and
                   plain(a.prop(a.profile_by_uuid(uz), "Profile", "ReviewState")) == "merged"),
          "... and on A")
    # a confirmation that crosses another write of the profile is merged with
    # it and marked for review again (by design): confirm once both settled
    pump(1.0)
    # a plain delete (no concurrent edit) follows everywhere
    b.iface(pzb, "Profile").ConfirmReview()
    check(wait_for(lambda: plain(a.prop(a.profile_by_uuid(uz), "Profile", "ReviewState")) == ""),
          "confirmation reaches A")
    a.iface(a.profile_by_uuid(uz), "Profile").Delete()
    check(wait_for(lambda: b.profile_by_uuid(uz) is None), "a plain delete reaches B")
    # ... but not while B treats that patient: applied when the session ends
    py = a.create_profile(patient_ref="pat-003")
    uy = plain(a.prop(py, "Profile", "Uuid"))
    check(wait_for(lambda: b.profile_by_uuid(uy) is not None), "third profile reaches B")
    sy = b.manager.StartSession(SIM1, b.profile_by_uuid(uy), "calf:right")
    a.iface(py, "Profile").Delete()
    check(wait_for(lambda: "in progress" in b.status()["LastError"]),
          "B keeps the profile of its session in progress (%s)" % b.status()["LastError"])
    check(b.profile_by_uuid(uy) is not None, "... the profile is still on B")
    b.iface(sy, "Session").Stop()
    check(wait_for(lambda: b.profile_by_uuid(uy) is None), "the delete is applied after the session")

    # ---- one new patient typed in on both PCs while apart ----------------
    srv.stop()
    check(wait_for(lambda: a.status()["Link"] != "online" and b.status()["Link"] != "online"),
          "server gone a third time")
    a.create_profile(patient_ref="pat-009", conditions=dbus.Array(["varicose_veins"], signature="s"))
    b.create_profile(patient_ref="pat-009", max_force_n=dbus.Double(6.0),
                     region_caps_n=dbus.Dictionary({"neck": 3.0}, signature="sd"))
    srv.start()

    def both_facts(pc):
        p = plain(pc.props(pc.manager.FindProfile("pat-009"), "Profile"))
        return (p["Conditions"] == ["varicose_veins"] and p["MaxForceN"] == 6.0 and
                p["RegionCapsN"] == {"neck": 3.0} and p["ReviewState"] == "merged")
    check(wait_for(lambda: both_facts(a)), "A's pat-009 has B's caps too, for review (%s)"
          % plain(a.props(a.manager.FindProfile("pat-009"), "Profile")))
    check(wait_for(lambda: both_facts(b)), "B's pat-009 has A's condition too, for review (%s)"
          % plain(b.props(b.manager.FindProfile("pat-009"), "Profile")))
    _, out = srv.psql("SELECT count(*) FROM profile_merges m JOIN profiles p ON p.uuid = m.uuid"
                      " WHERE p.patient_ref = 'pat-009'")
    check(int(out) >= 1, "the centre recorded that merge (%s)" % out)

    # ---- bad data on the server: rejected whole, with the reason -----------
    rej = a.status()["Rejected"]
    srv.psql("UPDATE profiles SET body = jsonb_set(body, '{max_force_n}', '\"lots\"')"
             " WHERE uuid = '%s'" % uuid)
    check(wait_for(lambda: a.status()["Rejected"] > rej), "A rejects the bad profile")
    st = a.status()
    check("max_force_n" in st["LastError"] and "rejected" in st["LastError"],
          "the reason is logged and shown (%s)" % st["LastError"])
    check(plain(a.prop(pa, "Profile", "MaxForceN")) == 9.0, "A's profile is unchanged")
    srv.psql("UPDATE profiles SET body = body || '{\"max_force_n\": 250}' WHERE uuid = '%s'" % uuid)
    srv.psql("UPDATE profiles SET body = body || '{\"new_safety_key\": 1, \"max_force_n\": 9}'"
             " WHERE uuid = '%s'" % uuid)
    check(wait_for(lambda: "new_safety_key" in a.status()["LastError"]),
          "an unknown key is refused, not applied in part (%s)" % a.status()["LastError"])
    check(plain(a.prop(pa, "Profile", "MaxForceN")) == 9.0, "out-of-range cap not applied")

    # ---- ApplyRemoteProfile: typed errors, nothing changed -----------------
    before = plain(a.props(pa, "Profile"))

    def apply(u, props, opts):
        return a.manager.ApplyRemoteProfile(u, dbus.Dictionary(props, signature="sv"),
                                            dbus.Dictionary(opts, signature="sv"))
    expect_error(lambda: apply("not-a-uuid", {"patient_ref": "x"}, {}),
                 ERR + "InvalidArgument", "ApplyRemoteProfile with a bad uuid")
    expect_error(lambda: apply(uuid.upper(), {"patient_ref": "pat-001"}, {}),
                 ERR + "InvalidArgument", "ApplyRemoteProfile with an upper-case uuid")
    expect_error(lambda: apply(uuid, {"patient_ref": "pat-001"}, {"review": "later"}),
                 ERR + "InvalidArgument", "ApplyRemoteProfile with a bad review state")
    expect_error(lambda: apply(uuid, {"patient_ref": "pat-001"}, {"force": True}),
                 ERR + "InvalidArgument", "ApplyRemoteProfile with an unknown option")
    expect_error(lambda: apply(uuid, {"patient_ref": "pat-001", "max_force_n": dbus.Double(-1)}, {}),
                 ERR + "InvalidArgument", "ApplyRemoteProfile with a negative cap")
    expect_error(lambda: apply(uuid, {"display_name": "no ref"}, {}),
                 ERR + "InvalidArgument", "ApplyRemoteProfile without patient_ref")
    a.set_allowed([x for x in harness.ACTIONS])
    expect_error(lambda: apply(uuid, {"patient_ref": "pat-001"}, {}),
                 ERR + "AccessDenied", "ApplyRemoteProfile without sync-profiles (clinician rights only)")
    a.set_allowed([x for x in harness.ACTIONS if not x.endswith("manage-profiles")] + [SYNC_ACTION])
    expect_error(lambda: a.iface(pa, "Profile").ConfirmReview(),
                 ERR + "AccessDenied", "ConfirmReview without manage-profiles")
    a.set_allowed(harness.ACTIONS + [SYNC_ACTION])
    check(plain(a.props(pa, "Profile")) == before, "refused calls changed nothing")

    # ---- an edit committed after a later-stamped one ----------------------
    # A profile's updated_us is wall-clock time: after an NTP step back an
    # edit carries an earlier time than one already sent. strigil-sync must
    # follow the commit order (strigild's change_seq), or a new condition
    # never leaves this PC. The step back is written into strigild's
    # database while A's sync is stopped, so the order is exact.
    p1 = a.create_profile(patient_ref="pat-010")
    p2 = a.create_profile(patient_ref="pat-011")
    u1 = plain(a.prop(p1, "Profile", "Uuid"))
    u2 = plain(a.prop(p2, "Profile", "Uuid"))
    check(wait_for(lambda: b.profile_by_uuid(u2) is not None), "pat-011 reaches B")
    a.iface(p1, "Profile").Update(dbus.Dictionary({"display_name": "later"}, signature="sv"))
    check(wait_for(lambda: b.profile_by_uuid(u1) is not None and
                   plain(b.prop(b.profile_by_uuid(u1), "Profile", "DisplayName")) == "later"),
          "pat-010's edit reaches B: A's cursor is past it")
    a.sync_proc.send_signal(signal.SIGSTOP)
    try:
        a.iface(p2, "Profile").Update(dbus.Dictionary({
            "conditions": dbus.Array(["varicose_veins"], signature="s")}, signature="sv"))
        ldb = sqlite3.connect(os.path.join(a.state, "strigil.db"), timeout=10)
        ldb.execute("UPDATE profiles SET updated_us = (SELECT updated_us FROM profiles"
                    " WHERE uuid = ?) - 1000000 WHERE uuid = ?", (u1, u2))
        ldb.commit()
        ldb.close()
    finally:
        a.sync_proc.send_signal(signal.SIGCONT)
    p2b = b.profile_by_uuid(u2)
    check(wait_for(lambda: plain(b.prop(p2b, "Profile", "Conditions")) == ["varicose_veins"]),
          "a condition stamped before an edit already sent still reaches B (B has %s)"
          % plain(b.prop(p2b, "Profile", "Conditions")))

    # ---- TLS is not optional --------------------------------------------
    bad = a.write_config(conninfo=srv.conninfo(a.role).replace("verify-full", "require"))
    p = subprocess.run([SYNC, "--config", bad, "--address", a.address],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    check(p.returncode == 1 and "verify-full" in p.stdout,
          "sslmode=require is refused at start (%d: %s)" % (p.returncode, p.stdout.strip()))
    os.chmod(a.server.passfile(a.name, a.role, a.pw), 0o644)
    p = subprocess.run([SYNC, "--config", a.config, "--address", a.address],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    check(p.returncode == 1 and "readable by others" in p.stdout,
          "a world-readable password file is refused (%s)" % p.stdout.strip())
    os.chmod(a.server.passfile(a.name, a.role, a.pw), 0o600)
    a.stop_sync()
    a.write_config(conninfo=srv.conninfo(a.role).replace(srv.path("ca.pem"),
                                                          srv.path("other-ca.pem")))
    a.start_sync()
    check(wait_for(lambda: "certificate" in a.status()["LastError"]),
          "a server not signed by the clinic's CA is refused (%s)" % a.status()["LastError"])
    check(a.status()["Link"] != "online", "... and the link stays down")
    a.stop_sync()
    for pc in (a, b):
        pc.stop_daemon()
finally:
    for pc in pcs:
        pc.cleanup()
    srv.cleanup()
finish()
