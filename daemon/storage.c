/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage on SQLite (WAL). See storage.h for the contract.
 *
 * Durability: journal_mode=WAL with synchronous=FULL fsyncs the WAL on
 * every commit, so a row is on stable storage when sqlite3_step() of its
 * (autocommit) INSERT or our COMMIT returned. NORMAL would survive a
 * process crash but could lose the last commits on power loss, and the
 * daemon signals strokes to clients as "recorded" right after the call.
 * At <= a few strokes per second the fsync cost is irrelevant.
 *
 * Statements are prepared once (SQLITE_PREPARE_PERSISTENT) and cached by
 * id; every sqlite3_* result is checked and mapped to a negative errno
 * with the message kept in s->err.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "storage.h"

#define BUSY_TIMEOUT_MS 5000

/* ======================================================================
 * Schema and migrations. Step N takes user_version N-1 to N. Never edit
 * a released step: add a new one.
 * ==================================================================== */

/* A random (version 4, RFC 4122) UUID in SQL: 122 bits of SQLite's
 * randomblob() (a ChaCha20 stream seeded from the OS), evaluated per row. */
#define SQL_UUID4 \
	"(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||" \
	" substr(lower(hex(randomblob(2))), 2) || '-' ||" \
	" substr('89ab', 1 + (abs(random()) % 4), 1) ||" \
	" substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))"

static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE profiles ("
	"  id INTEGER PRIMARY KEY,"
	"  patient_ref TEXT NOT NULL,"
	"  display_name TEXT NOT NULL DEFAULT '',"
	"  max_force_n REAL NOT NULL DEFAULT 0,"
	"  target_low_n REAL NOT NULL DEFAULT 0,"
	"  target_high_n REAL NOT NULL DEFAULT 0,"
	"  max_strokes INTEGER NOT NULL DEFAULT 0,"
	"  max_load_s REAL NOT NULL DEFAULT 0,"
	"  created_us INTEGER NOT NULL,"
	"  updated_us INTEGER NOT NULL,"
	"  deleted_us INTEGER);"
	"CREATE UNIQUE INDEX profiles_live_ref ON profiles(patient_ref)"
	"  WHERE deleted_us IS NULL;"
	"CREATE TABLE profile_region_caps ("
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  region TEXT NOT NULL,"
	"  cap_n REAL NOT NULL DEFAULT 0,"
	"  max_strokes INTEGER NOT NULL DEFAULT 0,"
	"  max_load_s REAL NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (profile_id, region));"
	"CREATE TABLE profile_conditions ("
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  condition TEXT NOT NULL,"
	"  region TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (profile_id, condition, region));"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id),"
	"  instrument TEXT NOT NULL,"
	"  region TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('running','paused','finished','interrupted','aborted')),"
	"  started_us INTEGER NOT NULL,"
	"  ended_us INTEGER,"
	"  updated_us INTEGER NOT NULL,"
	"  limit_n REAL NOT NULL,"
	"  reasons TEXT NOT NULL DEFAULT '',"
	"  max_strokes INTEGER NOT NULL DEFAULT 0,"
	"  max_load_s REAL NOT NULL DEFAULT 0,"
	"  stroke_count INTEGER NOT NULL DEFAULT 0,"
	"  violation_count INTEGER NOT NULL DEFAULT 0,"
	"  load_s REAL NOT NULL DEFAULT 0,"
	"  peak_n REAL NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_profile ON sessions(profile_id);"
	"CREATE INDEX sessions_state ON sessions(state);"
	"CREATE TABLE strokes ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL REFERENCES sessions(id),"
	"  wall_us INTEGER NOT NULL,"
	"  region TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  start_s REAL, end_s REAL, duration_s REAL,"
	"  peak_n REAL, mean_n REAL, impulse_ns REAL,"
	"  above_limit_s REAL, limit_n REAL,"
	"  has INTEGER NOT NULL DEFAULT 0,"
	"  peak_shear_n REAL, mean_tilt_deg REAL, direction_deg REAL);"
	"CREATE INDEX strokes_session ON strokes(session_id, id);"
	"CREATE TABLE violations ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL REFERENCES sessions(id),"
	"  wall_us INTEGER NOT NULL,"
	"  region TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  t_s REAL, force_n REAL, limit_n REAL);"
	"CREATE INDEX violations_session ON violations(session_id, id);"
	"CREATE TABLE calibrations ("
	"  id INTEGER PRIMARY KEY,"
	"  instrument TEXT NOT NULL,"
	"  written_us INTEGER NOT NULL,"
	"  actor TEXT NOT NULL DEFAULT '',"
	"  channel_mask INTEGER NOT NULL,"
	"  offsets BLOB NOT NULL,"
	"  scales BLOB NOT NULL,"
	"  cal_date INTEGER NOT NULL,"
	"  due_date INTEGER NOT NULL,"
	"  technician TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX calibrations_instrument ON calibrations(instrument, id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at_us INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  profile_id INTEGER,"
	"  session_id INTEGER,"
	"  conditions TEXT NOT NULL DEFAULT '',"
	"  reason TEXT NOT NULL);"
	"CREATE INDEX audit_session ON audit(session_id);",

	/* 2: session flags (calibration state, override), instruments seen */
	"ALTER TABLE sessions ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE instruments ("
	"  serial TEXT PRIMARY KEY,"
	"  model TEXT NOT NULL DEFAULT '',"
	"  firmware TEXT NOT NULL DEFAULT '',"
	"  first_seen_us INTEGER NOT NULL,"
	"  last_seen_us INTEGER NOT NULL);",

	/* 3: sides, what was in force with every record, pauses, history.
	 * Regions are now stored as the treated site ("calf:left"); side is
	 * derived from it for new rows. Rows written before keep their region
	 * and get side 'unknown' (a value, not a guess) and no cap reasons
	 * (NULL: not recorded); their cap in force is their limit_n, which
	 * every row always had. */
	"ALTER TABLE strokes ADD COLUMN side TEXT NOT NULL DEFAULT 'unknown';"
	"ALTER TABLE strokes ADD COLUMN cap_reasons TEXT;"
	"ALTER TABLE violations ADD COLUMN side TEXT NOT NULL DEFAULT 'unknown';"
	"ALTER TABLE violations ADD COLUMN cap_reasons TEXT;"
	"ALTER TABLE violations ADD COLUMN start_s REAL;"
	"CREATE TABLE pauses ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL REFERENCES sessions(id),"
	"  reason TEXT NOT NULL,"
	"  start_s REAL NOT NULL,"
	"  end_s REAL,"
	"  start_us INTEGER NOT NULL,"
	"  end_us INTEGER);"
	"CREATE INDEX pauses_session ON pauses(session_id, id);"
	"CREATE INDEX sessions_profile_started ON sessions(profile_id, started_us, id);"
	/* A patient's history per (session, site), kept by triggers in the
	 * transaction of each stroke or exceeded event: reading it costs the
	 * visits and sites, not the strokes (200,000 strokes took 0.5-1 s to
	 * aggregate, on the daemon's event loop). */
	"CREATE TABLE session_sites ("
	"  session_id INTEGER NOT NULL REFERENCES sessions(id),"
	"  region TEXT NOT NULL,"
	"  side TEXT NOT NULL,"
	"  strokes INTEGER NOT NULL DEFAULT 0,"
	"  peak_n REAL,"
	"  mean_sum REAL NOT NULL DEFAULT 0,"
	"  mean_count INTEGER NOT NULL DEFAULT 0,"
	"  impulse_ns REAL NOT NULL DEFAULT 0,"
	"  violations INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (session_id, region, side)) WITHOUT ROWID;"
	"INSERT INTO session_sites (session_id, region, side, strokes, peak_n,"
	"  mean_sum, mean_count, impulse_ns)"
	"  SELECT session_id, region, side, count(*), max(peak_n), total(mean_n),"
	"  count(mean_n), total(impulse_ns) FROM strokes GROUP BY session_id, region, side;"
	"INSERT OR IGNORE INTO session_sites (session_id, region, side)"
	"  SELECT DISTINCT session_id, region, side FROM violations WHERE type = 'exceeded';"
	"UPDATE session_sites SET violations = (SELECT count(*) FROM violations v"
	"  WHERE v.session_id = session_sites.session_id AND v.region = session_sites.region"
	"  AND v.side = session_sites.side AND v.type = 'exceeded');"
	"CREATE TRIGGER strokes_site AFTER INSERT ON strokes BEGIN"
	"  INSERT INTO session_sites (session_id, region, side, strokes, peak_n,"
	"    mean_sum, mean_count, impulse_ns)"
	"  VALUES (NEW.session_id, NEW.region, NEW.side, 1, NEW.peak_n,"
	"    ifnull(NEW.mean_n, 0), NEW.mean_n IS NOT NULL, ifnull(NEW.impulse_ns, 0))"
	"  ON CONFLICT (session_id, region, side) DO UPDATE SET"
	"    strokes = strokes + 1,"
	"    peak_n = CASE WHEN excluded.peak_n IS NULL THEN peak_n"
	"      WHEN peak_n IS NULL OR excluded.peak_n > peak_n THEN excluded.peak_n"
	"      ELSE peak_n END,"
	"    mean_sum = mean_sum + excluded.mean_sum,"
	"    mean_count = mean_count + excluded.mean_count,"
	"    impulse_ns = impulse_ns + excluded.impulse_ns;"
	"END;"
	"CREATE TRIGGER violations_site AFTER INSERT ON violations"
	"  WHEN NEW.type = 'exceeded' BEGIN"
	"  INSERT INTO session_sites (session_id, region, side, violations)"
	"  VALUES (NEW.session_id, NEW.region, NEW.side, 1)"
	"  ON CONFLICT (session_id, region, side) DO UPDATE SET violations = violations + 1;"
	"END;",
	/* 4 (engine): strokes inside bursts. A stroke records its burst (the
	 * period of continuous contact it belongs to, 1-based in its session),
	 * its pass in the burst and how it ended (0 lift, 1 reversal); a
	 * burst's summary is the aggregate of its strokes. Strokes recorded
	 * before were contacts, each a burst of one pass ended by a lift. */
	"ALTER TABLE strokes ADD COLUMN burst INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE strokes ADD COLUMN pass INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE strokes ADD COLUMN end_reason INTEGER NOT NULL DEFAULT 0;"
	"UPDATE strokes SET burst = idx;",

	/* 5 (network): global ids for the clinic network (docs/network.md).
	 * Profiles and sessions get a random version-4 UUID, given by a
	 * trigger so that every insert path has one without knowing of it;
	 * a profile gets its review state ('' or 'merged': two offline edits
	 * were merged and a clinician has to confirm). */
	"ALTER TABLE profiles ADD COLUMN uuid TEXT;"
	"ALTER TABLE profiles ADD COLUMN review TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN uuid TEXT;"
	"UPDATE profiles SET uuid = " SQL_UUID4 ";"
	"UPDATE sessions SET uuid = " SQL_UUID4 ";"
	"CREATE UNIQUE INDEX profiles_uuid ON profiles(uuid);"
	"CREATE UNIQUE INDEX sessions_uuid ON sessions(uuid);"
	"CREATE TRIGGER profiles_uuid_new AFTER INSERT ON profiles"
	"  WHEN NEW.uuid IS NULL BEGIN"
	"  UPDATE profiles SET uuid = " SQL_UUID4 " WHERE id = NEW.id; END;"
	"CREATE TRIGGER sessions_uuid_new AFTER INSERT ON sessions"
	"  WHEN NEW.uuid IS NULL BEGIN"
	"  UPDATE sessions SET uuid = " SQL_UUID4 " WHERE id = NEW.id; END;",

	/* 6 (network): a change sequence for profiles and sessions, kept by
	 * SQLite itself. strigil-sync uploads what changed since its cursor;
	 * updated_us is wall-clock time stamped when a write is queued, so
	 * a row committed later can carry an earlier time (the writer
	 * thread's queue, another instrument's direct write, an NTP step
	 * back) and a time cursor skips it for ever. Writers are serialised
	 * and every trigger sees the last commit, so max + 1 grows in commit
	 * order: a reader that has seen sequence n has seen every commit
	 * before it. Existing rows keep their order by id. */
	"ALTER TABLE profiles ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE profiles SET change_seq = id;"
	"UPDATE sessions SET change_seq = id;"
	"CREATE INDEX profiles_change_seq ON profiles(change_seq);"
	"CREATE INDEX sessions_change_seq ON sessions(change_seq);"
	"CREATE TRIGGER profiles_seq_new AFTER INSERT ON profiles BEGIN"
	"  UPDATE profiles SET change_seq = (SELECT max(change_seq) FROM profiles) + 1"
	"  WHERE id = NEW.id; END;"
	"CREATE TRIGGER profiles_seq_change AFTER UPDATE ON profiles"
	"  WHEN NEW.change_seq = OLD.change_seq BEGIN"
	"  UPDATE profiles SET change_seq = (SELECT max(change_seq) FROM profiles) + 1"
	"  WHERE id = NEW.id; END;"
	"CREATE TRIGGER sessions_seq_new AFTER INSERT ON sessions BEGIN"
	"  UPDATE sessions SET change_seq = (SELECT max(change_seq) FROM sessions) + 1"
	"  WHERE id = NEW.id; END;"
	"CREATE TRIGGER sessions_seq_change AFTER UPDATE ON sessions"
	"  WHEN NEW.change_seq = OLD.change_seq BEGIN"
	"  UPDATE sessions SET change_seq = (SELECT max(change_seq) FROM sessions) + 1"
	"  WHERE id = NEW.id; END;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
	       SGD_STORE_SCHEMA_VERSION, "one migration per schema version");

/* ======================================================================
 * Statement cache
 * ==================================================================== */

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PROFILE_INSERT,
	ST_PROFILE_UPDATE,
	ST_PROFILE_DELETE,
	ST_PROFILE_GET,
	ST_PROFILE_LIST,
	ST_PROFILE_IDS,
	ST_PROFILE_FIND_REF,
	ST_PRC_DELETE,
	ST_PRC_INSERT,
	ST_PRC_GET,
	ST_PCOND_DELETE,
	ST_PCOND_INSERT,
	ST_PCOND_GET,
	ST_SESSION_INSERT,
	ST_SESSION_UPDATE,
	ST_SESSION_SET_STATE,
	ST_SESSION_FINISH,
	ST_SESSION_GET,
	ST_SESSION_LIST,
	ST_SESSION_LIST_PROFILE,
	ST_SESSION_IDS,
	ST_SESSION_INTERRUPT,
	ST_STROKE_INSERT,
	ST_STROKE_LIST,
	ST_VIOLATION_INSERT,
	ST_VIOLATION_LIST,
	ST_CAL_INSERT,
	ST_CAL_LIST,
	ST_CAL_LIST_ALL,
	ST_INSTR_UPSERT,
	ST_INSTR_GET,
	ST_AUDIT_INSERT,
	ST_AUDIT_LIST,
	ST_AUDIT_LIST_ALL,
	ST_SESSION_PAGE,
	ST_SESSION_COUNT,
	ST_PAUSE_END_OPEN,
	ST_PAUSE_INSERT,
	ST_PAUSE_END,
	ST_PAUSE_LIST,
	ST_PAUSE_CLOSE_OPEN,
	ST_PROFILE_SESSIONS,
	ST_PROFILE_SESSION_COUNT,
	ST_REGION_HISTORY,
	ST_COUNT
};

#define SESSION_COLS "id, profile_id, instrument, region, state, flags," \
	" started_us, ifnull(ended_us, 0), updated_us, limit_n, reasons," \
	" max_strokes, max_load_s, stroke_count, violation_count, load_s, peak_n," \
	" ifnull((SELECT patient_ref FROM profiles WHERE profiles.id = sessions.profile_id), '')"
#define PROFILE_COLS "id, patient_ref, display_name, max_force_n," \
	" target_low_n, target_high_n, max_strokes, max_load_s, created_us," \
	" updated_us"
#define STROKE_COLS "id, session_id, wall_us, region, idx, start_s, end_s," \
	" duration_s, peak_n, mean_n, impulse_ns, above_limit_s, limit_n, has," \
	" peak_shear_n, mean_tilt_deg, direction_deg, side, cap_reasons, burst, pass," \
	" end_reason"
#define VIOLATION_COLS "id, session_id, wall_us, region, type, t_s," \
	" force_n, limit_n, side, cap_reasons, start_s"
/* The side of a stored site: what follows the region's ':' ("" midline). */
#define SIDE_OF(p) "CASE WHEN " p " LIKE '%:left' THEN 'left'" \
	" WHEN " p " LIKE '%:right' THEN 'right' ELSE '' END"
#define CAL_COLS "id, instrument, written_us, actor, channel_mask, offsets," \
	" scales, cal_date, due_date, technician"
#define AUDIT_COLS "id, at_us, actor, action, ifnull(profile_id, 0)," \
	" ifnull(session_id, 0), conditions, reason"

/* Summary of a session from its rows; load_s keeps what the daemon wrote
 * (the engine's time under load) and falls back to the stroke durations. */
#define SUMMARY_SET \
	" stroke_count = (SELECT count(*) FROM strokes WHERE session_id = sessions.id)," \
	" violation_count = (SELECT count(*) FROM violations" \
	"   WHERE session_id = sessions.id AND type = 'exceeded')," \
	" peak_n = max(peak_n, ifnull((SELECT max(peak_n) FROM strokes" \
	"   WHERE session_id = sessions.id), 0))," \
	" load_s = CASE WHEN load_s > 0 THEN load_s ELSE ifnull((SELECT" \
	"   sum(duration_s) FROM strokes WHERE session_id = sessions.id), 0) END"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PROFILE_INSERT] = "INSERT INTO profiles (patient_ref, display_name,"
		" max_force_n, target_low_n, target_high_n, max_strokes, max_load_s,"
		" created_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
	[ST_PROFILE_UPDATE] = "UPDATE profiles SET patient_ref = ?2,"
		" display_name = ?3, max_force_n = ?4, target_low_n = ?5,"
		" target_high_n = ?6, max_strokes = ?7, max_load_s = ?8,"
		" updated_us = ?9 WHERE id = ?1 AND deleted_us IS NULL",
	[ST_PROFILE_DELETE] = "UPDATE profiles SET deleted_us = ?2, updated_us = ?2"
		" WHERE id = ?1 AND deleted_us IS NULL",
	[ST_PROFILE_GET] = "SELECT " PROFILE_COLS " FROM profiles"
		" WHERE id = ?1 AND deleted_us IS NULL",
	[ST_PROFILE_LIST] = "SELECT " PROFILE_COLS " FROM profiles"
		" WHERE deleted_us IS NULL ORDER BY id",
	[ST_PROFILE_IDS] = "SELECT id FROM profiles WHERE deleted_us IS NULL ORDER BY id",
	[ST_PROFILE_FIND_REF] = "SELECT id FROM profiles WHERE patient_ref = ?1"
		" AND deleted_us IS NULL",
	[ST_PRC_DELETE] = "DELETE FROM profile_region_caps WHERE profile_id = ?1",
	[ST_PRC_INSERT] = "INSERT INTO profile_region_caps (profile_id, pos,"
		" region, cap_n, max_strokes, max_load_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PRC_GET] = "SELECT region, cap_n, max_strokes, max_load_s"
		" FROM profile_region_caps WHERE profile_id = ?1 ORDER BY pos",
	[ST_PCOND_DELETE] = "DELETE FROM profile_conditions WHERE profile_id = ?1",
	[ST_PCOND_INSERT] = "INSERT INTO profile_conditions (profile_id, pos,"
		" condition, region) VALUES (?1, ?2, ?3, ?4)",
	[ST_PCOND_GET] = "SELECT condition, region FROM profile_conditions"
		" WHERE profile_id = ?1 ORDER BY pos",
	[ST_SESSION_INSERT] = "INSERT INTO sessions (profile_id, instrument,"
		" region, state, flags, started_us, ended_us, updated_us, limit_n,"
		" reasons, max_strokes, max_load_s, stroke_count, violation_count,"
		" load_s, peak_n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, nullif(?7, 0), ?6,"
		" ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[ST_SESSION_UPDATE] = "UPDATE sessions SET region = ?2, state = ?3,"
		" flags = ?4, ended_us = nullif(?5, 0), updated_us = ?6, limit_n = ?7,"
		" reasons = ?8, max_strokes = ?9, max_load_s = ?10, stroke_count = ?11,"
		" violation_count = ?12, load_s = ?13, peak_n = ?14 WHERE id = ?1",
	[ST_SESSION_SET_STATE] = "UPDATE sessions SET state = ?2, updated_us = ?3"
		" WHERE id = ?1",
	[ST_SESSION_FINISH] = "UPDATE sessions SET state = ?2, ended_us = ?3,"
		" updated_us = ?3," SUMMARY_SET " WHERE id = ?1",
	[ST_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1",
	[ST_SESSION_LIST] = "SELECT " SESSION_COLS " FROM sessions ORDER BY id",
	[ST_SESSION_IDS] = "SELECT id FROM sessions ORDER BY id",
	[ST_SESSION_PAGE] = "SELECT id FROM sessions ORDER BY id DESC LIMIT ?1 OFFSET ?2",
	[ST_SESSION_COUNT] = "SELECT count(*) FROM sessions",
	[ST_PAUSE_END_OPEN] = "UPDATE pauses SET end_s = ?2, end_us = ?3"
		" WHERE session_id = ?1 AND end_us IS NULL",
	[ST_SESSION_LIST_PROFILE] = "SELECT " SESSION_COLS " FROM sessions"
		" WHERE profile_id = ?1 ORDER BY id",
	[ST_SESSION_INTERRUPT] = "UPDATE sessions SET state = 'interrupted',"
		" ended_us = ?1, updated_us = ?1," SUMMARY_SET
		" WHERE state IN ('running', 'paused')",
	[ST_STROKE_INSERT] = "INSERT INTO strokes (session_id, wall_us, region,"
		" idx, start_s, end_s, duration_s, peak_n, mean_n, impulse_ns,"
		" above_limit_s, limit_n, has, peak_shear_n, mean_tilt_deg,"
		" direction_deg, side, cap_reasons, burst, pass, end_reason) VALUES (?1,"
		" ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
		SIDE_OF("?3") ", ?17, ?18, ?19, ?20)",
	[ST_STROKE_LIST] = "SELECT " STROKE_COLS " FROM strokes"
		" WHERE session_id = ?1 ORDER BY id",
	[ST_VIOLATION_INSERT] = "INSERT INTO violations (session_id, wall_us,"
		" region, type, t_s, force_n, limit_n, side, cap_reasons, start_s)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " SIDE_OF("?3") ", ?8, ?9)",
	[ST_VIOLATION_LIST] = "SELECT " VIOLATION_COLS " FROM violations"
		" WHERE session_id = ?1 ORDER BY id",
	[ST_CAL_INSERT] = "INSERT INTO calibrations (instrument, written_us, actor,"
		" channel_mask, offsets, scales, cal_date, due_date, technician)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_CAL_LIST] = "SELECT " CAL_COLS " FROM calibrations"
		" WHERE instrument = ?1 ORDER BY id DESC",
	[ST_CAL_LIST_ALL] = "SELECT " CAL_COLS " FROM calibrations ORDER BY id DESC",
	[ST_INSTR_UPSERT] = "INSERT INTO instruments (serial, model, firmware,"
		" first_seen_us, last_seen_us) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (serial) DO UPDATE SET model = excluded.model,"
		" firmware = excluded.firmware,"
		" last_seen_us = max(last_seen_us, excluded.last_seen_us)",
	[ST_INSTR_GET] = "SELECT serial, model, firmware, first_seen_us,"
		" last_seen_us FROM instruments WHERE serial = ?1",
	[ST_AUDIT_INSERT] = "INSERT INTO audit (at_us, actor, action, profile_id,"
		" session_id, conditions, reason) VALUES (?1, ?2, ?3, nullif(?4, 0),"
		" nullif(?5, 0), ?6, ?7)",
	[ST_AUDIT_LIST] = "SELECT " AUDIT_COLS " FROM audit WHERE session_id = ?1"
		" ORDER BY id DESC",
	[ST_AUDIT_LIST_ALL] = "SELECT " AUDIT_COLS " FROM audit ORDER BY id DESC",
	[ST_PAUSE_INSERT] = "INSERT INTO pauses (session_id, reason, start_s,"
		" start_us) VALUES (?1, ?2, ?3, ?4)",
	[ST_PAUSE_END] = "UPDATE pauses SET end_s = ?2, end_us = ?3"
		" WHERE id = ?1 AND end_us IS NULL",
	[ST_PAUSE_LIST] = "SELECT id, session_id, reason, start_s, end_s, start_us,"
		" ifnull(end_us, 0) FROM pauses WHERE session_id = ?1 ORDER BY id",
	/* startup recovery: a pause the daemon never ended ends with the
	 * session; its engine end time is unknown (NULL) */
	[ST_PAUSE_CLOSE_OPEN] = "UPDATE pauses SET end_us = ?1 WHERE end_us IS NULL"
		" AND session_id IN (SELECT id FROM sessions"
		" WHERE state IN ('running', 'paused'))",
	[ST_PROFILE_SESSIONS] = "SELECT id FROM sessions WHERE profile_id = ?1"
		" ORDER BY started_us DESC, id DESC LIMIT ?2 OFFSET ?3",
	[ST_PROFILE_SESSION_COUNT] = "SELECT count(*) FROM sessions WHERE profile_id = ?1",
	[ST_REGION_HISTORY] = "SELECT se.id, se.started_us, ss.region, ss.side,"
		" ss.strokes, ss.peak_n, CASE WHEN ss.mean_count > 0"
		" THEN ss.mean_sum / ss.mean_count END, ss.impulse_ns, ss.violations"
		" FROM sessions se JOIN session_sites ss ON ss.session_id = se.id"
		" WHERE se.profile_id = ?1"
		" ORDER BY se.started_us DESC, se.id DESC, ss.region, ss.side",
};

/* The checkpointer: a thread with its own connection copies the WAL
 * back into the database when it has grown, so a commit on the event
 * loop never waits for a checkpoint (see "WAL upkeep" below). */
struct checkpointer {
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started, wanted, quit;
	bool due;		/* writer's thread only: wake at the next kick */
	unsigned done;		/* checkpoints run */
};

struct sgd_store {
	sqlite3 *db;
	char path[4096];
	sqlite3_stmt *stmt[ST_COUNT];
	char err[512];
	struct checkpointer ckpt;
	struct sgd_store *owner;	/* a peer connection: whose checkpointer */
};

/* ======================================================================
 * Errors
 * ==================================================================== */

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return 0;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EBADMSG;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return -EEXIST;
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return -ENOENT;
		return -EINVAL;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_TOOBIG: case SQLITE_RANGE: case SQLITE_MISMATCH: return -EINVAL;
	default: return -EIO;
	}
}

static int set_err(struct sgd_store *s, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(struct sgd_store *s, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return r;
}

/* Maps a SQLite failure to -errno with "what: sqlite message". */
static int sql_err(struct sgd_store *s, int rc, const char *what)
{
	int r = errno_of(rc);

	if (!r)
		r = -EIO;
	return set_err(s, r, "%s: %s (%s)", what, sqlite3_errmsg(s->db),
		       sqlite3_errstr(rc));
}

const char *sgd_store_errmsg(const struct sgd_store *s)
{
	return s ? s->err : "no store";
}

/* ======================================================================
 * Statement helpers
 * ==================================================================== */

static int get_stmt(struct sgd_store *s, enum stmt_id id, sqlite3_stmt **out)
{
	int rc;

	if (!s->stmt[id]) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return sql_err(s, rc, "prepare");
	}
	*out = s->stmt[id];
	return 0;
}

static void done_stmt(sqlite3_stmt *st)
{
	/* reset's return repeats the step error we already handled */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

/* Binding helpers: the first failing bind is remembered. */
struct binder {
	sqlite3_stmt *st;
	int rc;
};

static void b_int(struct binder *b, int i, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->st, i, v);
}

static void b_dbl(struct binder *b, int i, double v)
{
	if (b->rc != SQLITE_OK)
		return;
	/* SQLite stores NaN as NULL; say so explicitly */
	b->rc = isnan(v) ? sqlite3_bind_null(b->st, i) :
		sqlite3_bind_double(b->st, i, v);
}

static void b_txt(struct binder *b, int i, const char *v, size_t max)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_text(b->st, i, v, (int)strnlen(v, max),
					  SQLITE_TRANSIENT);
}

static void b_blob(struct binder *b, int i, const void *v, size_t n)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_blob(b->st, i, v, (int)n, SQLITE_TRANSIENT);
}

#define B_TXT(b, i, field) b_txt(b, i, field, sizeof(field))

/* Runs a statement that returns no rows. */
static int step_done(struct sgd_store *s, sqlite3_stmt *st, struct binder *b,
		     const char *what)
{
	int rc;

	if (b && b->rc != SQLITE_OK) {
		rc = b->rc;
		done_stmt(st);
		return sql_err(s, rc, what);
	}
	rc = sqlite3_step(st);
	done_stmt(st);
	if (rc != SQLITE_DONE)
		return sql_err(s, rc, what);
	return 0;
}

static int exec_simple(struct sgd_store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r = get_stmt(s, id, &st);

	return r ? r : step_done(s, st, NULL, what);
}

static int tx_begin(struct sgd_store *s)
{
	return exec_simple(s, ST_BEGIN, "begin transaction");
}

static int tx_commit(struct sgd_store *s)
{
	return exec_simple(s, ST_COMMIT, "commit");
}

/* Rolls back after an error; keeps the first error's message. */
static int tx_rollback(struct sgd_store *s, int r)
{
	char keep[sizeof(s->err)];

	memcpy(keep, s->err, sizeof(keep));
	if (!sqlite3_get_autocommit(s->db))
		(void)exec_simple(s, ST_ROLLBACK, "rollback");
	memcpy(s->err, keep, sizeof(keep));
	return r;
}

static void col_txt(sqlite3_stmt *st, int i, char *dst, size_t dstlen)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? strnlen((const char *)t, dstlen - 1) : 0;

	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

static double col_dbl(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(st, i);
}

/* Grows a malloc'ed array of rows by one; NULL on ENOMEM. */
static void *grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, nc * elem);

		if (!p)
			return NULL;
		*arr = p;
		*cap = nc;
	}
	return (char *)*arr + n * elem;
}

/* Fills one zeroed list element from the current row of a query. */
typedef void (*row_reader)(sqlite3_stmt *st, void *elem);

/*
 * The list queries: runs st, whose parameters b bound (b->rc says whether
 * they all were), to its end and returns a malloc'ed array of one element
 * per row, each zeroed and then filled by read. st is reset in every case.
 */
static int list_rows(struct sgd_store *s, sqlite3_stmt *st, const struct binder *b,
		     size_t elem, row_reader read, const char *what, void **out, size_t *n)
{
	char *arr = NULL, *e;
	size_t cnt = 0, cap = 0;
	int rc;

	if (b->rc != SQLITE_OK) {
		done_stmt(st);
		return sql_err(s, b->rc, what);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = grow((void **)&arr, &cap, cnt, elem);
		if (!e) {
			done_stmt(st);
			free(arr);
			return set_err(s, -ENOMEM, "%s: out of memory", what);
		}
		memset(e, 0, elem);
		read(st, e);
		cnt++;
	}
	done_stmt(st);
	if (rc != SQLITE_DONE) {
		free(arr);
		return sql_err(s, rc, what);
	}
	*out = arr;
	*n = cnt;
	return 0;
}

/*
 * The one row of a by-id query (stmt id: ?1 is the id) into out, filled by
 * read; -ENOENT "no <noun> <id>" when there is none.
 */
static int get_row_by_id(struct sgd_store *s, enum stmt_id which, int64_t id,
			 row_reader read, void *out, const char *noun)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc, r;

	if ((r = get_stmt(s, which, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		read(st, out);
	done_stmt(st);
	if (rc == SQLITE_DONE)
		return set_err(s, -ENOENT, "no %s %lld", noun, (long long)id);
	if (rc != SQLITE_ROW)
	{
		char what[32];

		snprintf(what, sizeof(what), "get %s", noun);
		return sql_err(s, rc, what);
	}
	return 0;
}

/* ======================================================================
 * Open, migrate, close
 * ==================================================================== */

static int exec_sql(struct sgd_store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int r = errno_of(rc);

		set_err(s, r ? r : -EIO, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return r ? r : -EIO;
	}
	return 0;
}

static int pragma_int(struct sgd_store *s, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(s, rc, sql);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sql_err(s, rc, sql);
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int set_wal(struct sgd_store *s)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(s, rc, "journal_mode=WAL");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = sql_err(s, rc, "journal_mode=WAL");
	} else {
		mode = sqlite3_column_text(st, 0);
		if (!mode || strcmp((const char *)mode, "wal"))
			r = set_err(s, -EIO, "cannot switch to WAL (journal mode %s)",
				    mode ? (const char *)mode : "?");
	}
	sqlite3_finalize(st);
	return r;
}

/* ======================================================================
 * WAL upkeep
 *
 * A commit appends its pages to the WAL and fsyncs it. SQLite's own
 * automatic checkpoint would run inside the commit that crosses its
 * threshold (copying the WAL into the database and fsyncing that too):
 * a stall of milliseconds on the sample -> signal path. Instead the
 * automatic checkpoint is off on every connection of ours, the WAL hook
 * wakes a checkpointer thread on its own connection (PASSIVE: it never
 * blocks a writer), and the next write transaction after a complete
 * checkpoint starts the WAL again from its beginning.
 *
 * A commit that only overwrites blocks the WAL file already has costs
 * one data flush; one that extends the file also commits the new size
 * and blocks to the file system journal (ext4 on the bench machine:
 * fdatasync p50 0.19 ms vs 0.43 ms, docs/performance.md). So the WAL is
 * kept at its working size: SQLITE_FCNTL_PERSIST_WAL keeps the file when
 * the database closes, journal_size_limit trims it back to that size,
 * and sgd_store_prepare_wal() gives a new (empty) WAL that size once.
 * Bytes after the last valid frame are ignored by SQLite by design
 * (frames carry the header's salts and a running checksum).
 * ==================================================================== */

#define WAL_CHECKPOINT_FRAMES	1000	/* SQLite's default autocheckpoint */
#define WAL_KEEP_FRAMES		1280	/* working size, with headroom */
#define WAL_HEADER_BYTES	32
#define WAL_FRAME_HEADER_BYTES	24

static int64_t wal_bytes(struct sgd_store *s)
{
	int page = 4096;

	if (pragma_int(s, "PRAGMA page_size", &page) || page <= 0)
		page = 4096;
	return WAL_HEADER_BYTES + (int64_t)WAL_KEEP_FRAMES * (page + WAL_FRAME_HEADER_BYTES);
}

static void *checkpointer_main(void *arg)
{
	struct checkpointer *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		int log = -1, done = -1;

		while (!c->wanted && !c->quit)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->quit)
			break;
		c->wanted = false;
		pthread_mutex_unlock(&c->lock);
		/* a checkpoint that could not finish (a reader, a busy disk)
		 * is simply tried again at the next due kick */
		(void)sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE,
						&log, &done);
		pthread_mutex_lock(&c->lock);
		c->done++;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void checkpointer_request(struct checkpointer *c)
{
	pthread_mutex_lock(&c->lock);
	c->wanted = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void checkpointer_wake(struct checkpointer *c)
{
	c->due = false;
	pthread_mutex_lock(&c->lock);
	c->wanted = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Runs on the writer's thread after each commit, outside its locks. The
 * wake-up itself waits for sgd_store_kick(): a thread woken inside the
 * commit can take the writer's CPU (make bench: a 1.4 ms commit on tmpfs)
 * before the caller has sent its signal. A WAL four times the threshold
 * (nobody kicks) wakes it at once. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct checkpointer *c = arg;

	(void)db;
	(void)schema;
	if (frames >= 4 * WAL_CHECKPOINT_FRAMES)
		checkpointer_wake(c);
	else if (frames >= WAL_CHECKPOINT_FRAMES)
		c->due = true;
	return SQLITE_OK;
}

/* A peer's commits (the storage writer's thread, never the event loop)
 * wake the owner's checkpointer themselves: nothing latency-critical
 * runs on that thread, and the loop's `due` flag stays the loop's. */
static int on_peer_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct checkpointer *c = arg;

	(void)db;
	(void)schema;
	if (frames >= WAL_CHECKPOINT_FRAMES)
		checkpointer_request(c);
	return SQLITE_OK;
}

void sgd_store_kick(struct sgd_store *s)
{
	if (s && s->ckpt.started && s->ckpt.due)
		checkpointer_wake(&s->ckpt);
}

static void persist_wal(sqlite3 *db)
{
	int on = 1;

	(void)sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
}

static int checkpointer_start(struct sgd_store *s)
{
	struct checkpointer *c = &s->ckpt;
	sigset_t all, old;
	char sql[64];
	int rc, r;

	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld", (long long)wal_bytes(s));
	if ((r = exec_sql(s, sql, "journal_size_limit")))
		return r;
	persist_wal(s->db);
	rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = set_err(s, errno_of(rc) ? errno_of(rc) : -EIO,
			    "checkpoint connection: %s", c->db ? sqlite3_errmsg(c->db) :
			    "out of memory");
		sqlite3_close(c->db);
		c->db = NULL;
		return r;
	}
	sqlite3_wal_autocheckpoint(c->db, 0);
	persist_wal(c->db);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	/* The thread takes no signals: the daemon receives them through
	 * sd-event's signalfd, which needs them blocked in every thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&c->thread, NULL, checkpointer_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		sqlite3_close(c->db);
		c->db = NULL;
		return set_err(s, r, "checkpoint thread: %s", strerror(-r));
	}
	c->started = true;
	/* replaces SQLite's automatic checkpoint (also a WAL hook) */
	sqlite3_wal_autocheckpoint(s->db, 0);
	sqlite3_wal_hook(s->db, on_wal_commit, c);
	return 0;
}

static void checkpointer_stop(struct sgd_store *s)
{
	struct checkpointer *c = &s->ckpt;

	if (!c->started)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	sqlite3_close(c->db);
	c->db = NULL;
	c->started = false;
}

int sgd_store_prepare_wal(struct sgd_store *s)
{
	static const char zeros[65536];
	char wal[sizeof(s->path) + 8];
	int64_t want, off;
	struct stat st;
	int rc, r, fd, log = -1, done = -1;

	if (!s)
		return -EINVAL;
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", s->path) >= sizeof(wal))
		return set_err(s, -ENAMETOOLONG, "WAL path too long");
	want = wal_bytes(s);
	if (stat(wal, &st) == 0 && st.st_size >= want)
		return 0;
	/* Only an empty WAL is touched: everything into the database, the
	 * file cut to zero, then the write lock so no other connection can
	 * start writing frames while the file is extended. */
	rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
	if (rc != SQLITE_OK)
		return sql_err(s, rc, "WAL checkpoint");
	if (log != 0)
		return set_err(s, -EBUSY, "WAL still in use by another connection");
	if ((r = exec_sql(s, "BEGIN IMMEDIATE", "begin WAL preparation")))
		return r;
	fd = open(wal, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = set_err(s, -errno, "%s: %s", wal, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || st.st_size != 0) {
		r = set_err(s, -EBUSY, "%s: written meanwhile", wal);
		goto out_close;
	}
	for (off = 0; off < want; ) {
		size_t n = want - off < (int64_t)sizeof(zeros) ? (size_t)(want - off) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = set_err(s, w < 0 ? -errno : -EIO, "%s: %s", wal,
				    w < 0 ? strerror(errno) : "short write");
			break;
		}
		off += w;
	}
	if (!r && fdatasync(fd) < 0)
		r = set_err(s, -errno, "%s: %s", wal, strerror(errno));
	if (r && ftruncate(fd, 0) < 0)
		r = set_err(s, r, "%s: cannot cut back: %s", wal, strerror(errno));
out_close:
	close(fd);
out:
	return tx_rollback(s, r);	/* nothing was written through SQLite */
}

int64_t sgd_store_wal_size(struct sgd_store *s)
{
	return s ? wal_bytes(s) : -EINVAL;
}

int sgd_store_checkpoints(struct sgd_store *s)
{
	int n;

	if (!s || !s->ckpt.started)
		return -EINVAL;
	pthread_mutex_lock(&s->ckpt.lock);
	n = (int)s->ckpt.done;
	pthread_mutex_unlock(&s->ckpt.lock);
	return n;
}

static int migrate(struct sgd_store *s)
{
	char sql[64];
	int version, r;

	/* Nothing to migrate writes nothing: a daemon on a full (or
	 * read-only) disk still starts and serves the history. */
	r = pragma_int(s, "PRAGMA user_version", &version);
	if (r)
		return r;
	if (version == SGD_STORE_SCHEMA_VERSION)
		return 0;
	r = exec_sql(s, "BEGIN IMMEDIATE", "begin migration");
	if (r)
		return r;
	r = pragma_int(s, "PRAGMA user_version", &version);
	if (r)
		goto fail;
	if (version > SGD_STORE_SCHEMA_VERSION) {
		r = set_err(s, -EPROTONOSUPPORT, "database schema version %d is "
			    "newer than this strigild (%d): refusing to touch it",
			    version, SGD_STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (version < 0) {
		r = set_err(s, -EBADMSG, "database schema version %d is invalid",
			    version);
		goto fail;
	}
	for (int v = version; v < SGD_STORE_SCHEMA_VERSION; v++) {
		char what[48];

		snprintf(what, sizeof(what), "migration to schema %d", v + 1);
		r = exec_sql(s, migrations[v], what);
		if (r)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 SGD_STORE_SCHEMA_VERSION);
	r = exec_sql(s, sql, "set schema version");
	if (r)
		goto fail;
	return exec_sql(s, "COMMIT", "commit migration");
fail:
	return tx_rollback(s, r);
}

/*
 * The database is what it should be: PRAGMA quick_check (every page and
 * index, without the slow cross-checks of integrity_check) and the tables
 * of the schema. Garbage in pages or a dropped table once started a
 * daemon that then refused every stroke.
 */
static int integrity_check(struct sgd_store *s)
{
	static const char *const tables[] = {
		"profiles", "profile_region_caps", "profile_conditions", "sessions",
		"strokes", "violations", "calibrations", "audit", "instruments",
	};
	sqlite3_stmt *st = NULL;
	const unsigned char *res;
	int rc, r = 0;
	size_t i;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = sql_err(s, rc, "quick_check");
		sqlite3_finalize(st);
		return r == -EBUSY ? r : -EBADMSG;
	}
	res = sqlite3_column_text(st, 0);
	if (!res || strcmp((const char *)res, "ok") != 0)
		r = set_err(s, -EBADMSG, "damaged database: %s", res ? (const char *)res : "?");
	sqlite3_finalize(st);
	if (r)
		return r;
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master"
				" WHERE type = 'table' AND name = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(s, rc, "schema check");
	for (i = 0; !r && i < sizeof(tables) / sizeof(tables[0]); i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			r = sql_err(s, rc, "schema check");
		else if (sqlite3_column_int(st, 0) != 1)
			r = set_err(s, -EBADMSG, "damaged database: table %s is missing",
				    tables[i]);
	}
	sqlite3_finalize(st);
	return r;
}

int sgd_store_open_file(const char *db_path, struct sgd_store **out,
			char *err, size_t errlen)
{
	struct sgd_store *s;
	int rc, r, fd;

	if (!db_path || !*db_path || !out) {
		if (err && errlen)
			snprintf(err, errlen, "no database path");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", db_path);

	/* An existing file of 0 bytes is a truncated history, not a new one
	 * (strigild creates the file and its schema in one go at first start). */
	{
		struct stat est;

		if (stat(db_path, &est) == 0 && S_ISREG(est.st_mode) && est.st_size == 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s: damaged database: the file is empty "
					 "(0 bytes; truncated?)", db_path);
			free(s);
			return -EBADMSG;
		}
	}
	/* Patient data: create the file private before SQLite does (the
	 * -wal and -shm files inherit its mode). */
	fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", db_path, strerror(-r));
		free(s);
		return r;
	}
	close(fd);

	rc = sqlite3_open_v2(db_path, &s->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		r = s->db ? sql_err(s, rc, "open") :
			set_err(s, -ENOMEM, "open: out of memory");
		goto fail;
	}
	rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK) {
		r = sql_err(s, rc, "busy timeout");
		goto fail;
	}
	if ((r = set_wal(s)) ||
	    (r = exec_sql(s, "PRAGMA synchronous=FULL", "synchronous=FULL")) ||
	    (r = exec_sql(s, "PRAGMA foreign_keys=ON", "foreign_keys=ON")) ||
	    (r = migrate(s)) ||
	    (r = integrity_check(s)) ||
	    (r = checkpointer_start(s)))
		goto fail;
	*out = s;
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", db_path, s->err);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
	return r;
}

int sgd_store_open_peer(struct sgd_store *owner, struct sgd_store **out,
			char *err, size_t errlen)
{
	struct sgd_store *s;
	char sql[64];
	int rc, r;

	if (!owner || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", owner->path);
	s->owner = owner;
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		r = s->db ? sql_err(s, rc, "open") : set_err(s, -ENOMEM, "open: out of memory");
		goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld", (long long)wal_bytes(owner));
	if ((r = sgd_store_set_busy_timeout(s, BUSY_TIMEOUT_MS)) ||
	    (r = exec_sql(s, "PRAGMA synchronous=FULL", "synchronous=FULL")) ||
	    (r = exec_sql(s, "PRAGMA foreign_keys=ON", "foreign_keys=ON")) ||
	    (r = exec_sql(s, sql, "journal_size_limit")))
		goto fail;
	persist_wal(s->db);
	sqlite3_wal_autocheckpoint(s->db, 0);
	if (owner->ckpt.started)
		sqlite3_wal_hook(s->db, on_peer_wal_commit, &owner->ckpt);
	*out = s;
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", s->path, s->err);
	sqlite3_close(s->db);
	free(s);
	return r;
}

/* Owner and mode of one path: ours, and no access for group or others. */
static int secure_path(const char *path, bool dir, unsigned *fixed, char *err, size_t errlen)
{
	mode_t want = dir ? 0700 : 0600;
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT && !dir)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a %s (a link or a device is refused)", path,
			 dir ? "directory" : "regular file");
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s belongs to uid %u, not to strigild's uid %u: "
			 "refusing patient data another user controls (chown it)", path,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 07777) != want) {
		if (chmod(path, want) < 0) {
			snprintf(err, errlen, "%s: chmod %o: %s", path, (unsigned)want,
				 strerror(errno));
			return -errno;
		}
		(*fixed)++;
	}
	return 0;
}

int sgd_store_secure_dir(const char *state_dir, unsigned *fixed, char *err, size_t errlen)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char path[4096];
	size_t i;
	int r;

	*fixed = 0;
	r = secure_path(state_dir, true, fixed, err, errlen);
	for (i = 0; r >= 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", state_dir, SGD_STORE_DB_NAME, files[i]);
		r = secure_path(path, false, fixed, err, errlen);
	}
	return r;
}

int sgd_store_move_aside(const char *state_dir, int64_t now_us, char *moved, size_t movedlen)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char from[4096], to[4200], stamp[32];
	time_t t = (time_t)(now_us / 1000000);
	struct tm tm;
	size_t i;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%06dZ",
		 (int)(now_us % 1000000));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(from, sizeof(from), "%s/%s%s", state_dir, SGD_STORE_DB_NAME, files[i]);
		snprintf(to, sizeof(to), "%s/%s.damaged-%s%s", state_dir, SGD_STORE_DB_NAME, stamp,
			 files[i]);
		if (i == 0)
			snprintf(moved, movedlen, "%s", to);
		/* never deleted, never overwritten: link, then unlink */
		if (link(from, to) < 0) {
			if (errno == ENOENT && i > 0)
				continue;
			return -errno;
		}
		if (unlink(from) < 0)
			return -errno;
	}
	return 0;
}

int sgd_store_open(const char *state_dir, struct sgd_store **out, char *err,
		   size_t errlen)
{
	char path[4096];
	struct stat st;

	if (!state_dir || !*state_dir || !out) {
		if (err && errlen)
			snprintf(err, errlen, "no state directory");
		return -EINVAL;
	}
	if (stat(state_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int r = stat(state_dir, &st) < 0 ? -errno : -ENOTDIR;

		if (err && errlen)
			snprintf(err, errlen, "state directory %s: %s", state_dir,
				 strerror(-r));
		return r;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
			     SGD_STORE_DB_NAME) >= sizeof(path)) {
		if (err && errlen)
			snprintf(err, errlen, "state directory path too long");
		return -ENAMETOOLONG;
	}
	return sgd_store_open_file(path, out, err, errlen);
}

void sgd_store_close(struct sgd_store *s)
{
	if (!s)
		return;
	checkpointer_stop(s);
	/* With a size limit, closing a persistent WAL would cut it to zero
	 * bytes; without one it keeps its size (its frames are all in the
	 * database by then, and harmless to read again). */
	(void)sqlite3_exec(s->db, "PRAGMA journal_size_limit=-1", NULL, NULL, NULL);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	/* Closing the last connection checkpoints the WAL into the db (and
	 * keeps the file, PERSIST_WAL, for the next start). */
	if (sqlite3_close(s->db) != SQLITE_OK)
		(void)sqlite3_close_v2(s->db);
	free(s);
}

const char *sgd_store_path(const struct sgd_store *s)
{
	return s ? s->path : "";
}

int sgd_store_checkpoint_full(struct sgd_store *s)
{
	int rc, log = -1, done = -1;

	if (!s)
		return -EINVAL;
	rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_FULL, &log, &done);
	if (rc != SQLITE_OK)
		return sql_err(s, rc, "full checkpoint");
	return log == done ? 0 : set_err(s, -EBUSY, "checkpoint incomplete (%d of %d)", done, log);
}

int sgd_store_set_busy_timeout(struct sgd_store *s, int ms)
{
	int rc;

	if (!s || ms < 0)
		return -EINVAL;
	rc = sqlite3_busy_timeout(s->db, ms);
	return rc == SQLITE_OK ? 0 : sql_err(s, rc, "busy timeout");
}

int sgd_store_schema_version(struct sgd_store *s)
{
	int v, r;

	if (!s)
		return -EINVAL;
	r = pragma_int(s, "PRAGMA user_version", &v);
	return r ? r : v;
}

/* ======================================================================
 * Profiles
 * ==================================================================== */

static int profile_children_write(struct sgd_store *s,
				  const struct sgd_profile *p)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if ((r = get_stmt(s, ST_PRC_DELETE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->id);
	if ((r = step_done(s, st, &b, "delete region caps")))
		return r;
	if ((r = get_stmt(s, ST_PCOND_DELETE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->id);
	if ((r = step_done(s, st, &b, "delete conditions")))
		return r;

	for (size_t i = 0; i < p->nregion_caps; i++) {
		const struct sgd_region_cap *c = &p->region_caps[i];

		if ((r = get_stmt(s, ST_PRC_INSERT, &st)))
			return r;
		b = (struct binder){ st, SQLITE_OK };
		b_int(&b, 1, p->id);
		b_int(&b, 2, (int64_t)i);
		B_TXT(&b, 3, c->region);
		b_dbl(&b, 4, c->cap_n);
		b_int(&b, 5, c->max_strokes);
		b_dbl(&b, 6, c->max_load_s);
		if ((r = step_done(s, st, &b, "insert region cap")))
			return r;
	}
	for (size_t i = 0; i < p->nconditions; i++) {
		const struct sgd_profile_condition *c = &p->conditions[i];

		if ((r = get_stmt(s, ST_PCOND_INSERT, &st)))
			return r;
		b = (struct binder){ st, SQLITE_OK };
		b_int(&b, 1, p->id);
		b_int(&b, 2, (int64_t)i);
		B_TXT(&b, 3, c->name);
		B_TXT(&b, 4, c->region);
		if ((r = step_done(s, st, &b, "insert condition")))
			return r;
	}
	return 0;
}

static int profile_args_ok(struct sgd_store *s, const struct sgd_profile *p)
{
	if (!p)
		return set_err(s, -EINVAL, "no profile");
	if (p->nregion_caps > SGD_PROFILE_MAX_REGION_CAPS ||
	    p->nconditions > SGD_PROFILE_MAX_CONDITIONS)
		return set_err(s, -EINVAL, "profile has too many entries");
	if (!p->patient_ref[0] ||
	    strnlen(p->patient_ref, sizeof(p->patient_ref)) >= sizeof(p->patient_ref))
		return set_err(s, -EINVAL, "profile needs a patient reference");
	return 0;
}

/*
 * The profiles row of p: inserted (ST_PROFILE_INSERT, the fields are ?1..)
 * or updated by id (ST_PROFILE_UPDATE, the id is ?1, the fields ?2..).
 */
static int profile_row_write(struct sgd_store *s, enum stmt_id id,
			     const struct sgd_profile *p, int64_t now_us)
{
	bool update = id == ST_PROFILE_UPDATE;
	int k = update ? 2 : 1;
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if ((r = get_stmt(s, id, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (update)
		b_int(&b, 1, p->id);
	B_TXT(&b, k, p->patient_ref);
	B_TXT(&b, k + 1, p->display_name);
	b_dbl(&b, k + 2, p->max_force_n);
	b_dbl(&b, k + 3, p->target_low_n);
	b_dbl(&b, k + 4, p->target_high_n);
	b_int(&b, k + 5, p->max_strokes);
	b_dbl(&b, k + 6, p->max_load_s);
	b_int(&b, k + 7, now_us);
	r = step_done(s, st, &b, update ? "update profile" : "create profile");
	if (r == -EEXIST)
		set_err(s, r, "a profile with patient reference '%s' exists", p->patient_ref);
	return r;
}

int sgd_store_profile_create(struct sgd_store *s, struct sgd_profile *p,
			     int64_t now_us)
{
	int64_t old_id = p ? p->id : 0;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = profile_args_ok(s, p)))
		return r;
	if ((r = tx_begin(s)))
		return r;
	if ((r = profile_row_write(s, ST_PROFILE_INSERT, p, now_us)))
		return tx_rollback(s, r);
	p->id = sqlite3_last_insert_rowid(s->db);
	if ((r = profile_children_write(s, p)) || (r = tx_commit(s))) {
		p->id = old_id;
		return tx_rollback(s, r);
	}
	p->created_us = p->updated_us = now_us;
	return 0;
}

int sgd_store_profile_update(struct sgd_store *s, struct sgd_profile *p,
			     int64_t now_us)
{
	int r;

	if (!s)
		return -EINVAL;
	if ((r = profile_args_ok(s, p)))
		return r;
	if ((r = tx_begin(s)))
		return r;
	if ((r = profile_row_write(s, ST_PROFILE_UPDATE, p, now_us)))
		return tx_rollback(s, r);
	if (sqlite3_changes(s->db) != 1)
		return tx_rollback(s, set_err(s, -ENOENT, "no profile %lld",
					      (long long)p->id));
	if ((r = profile_children_write(s, p)) || (r = tx_commit(s)))
		return tx_rollback(s, r);
	p->updated_us = now_us;
	return 0;
}

int sgd_store_profile_delete(struct sgd_store *s, int64_t id, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = get_stmt(s, ST_PROFILE_DELETE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	b_int(&b, 2, now_us);
	if ((r = step_done(s, st, &b, "delete profile")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return set_err(s, -ENOENT, "no profile %lld", (long long)id);
	return 0;
}

static void profile_from_row(sqlite3_stmt *st, struct sgd_profile *p)
{
	sgd_profile_init(p);
	p->id = sqlite3_column_int64(st, 0);
	col_txt(st, 1, p->patient_ref, sizeof(p->patient_ref));
	col_txt(st, 2, p->display_name, sizeof(p->display_name));
	p->max_force_n = sqlite3_column_double(st, 3);
	p->target_low_n = sqlite3_column_double(st, 4);
	p->target_high_n = sqlite3_column_double(st, 5);
	p->max_strokes = (uint32_t)sqlite3_column_int64(st, 6);
	p->max_load_s = sqlite3_column_double(st, 7);
	p->created_us = sqlite3_column_int64(st, 8);
	p->updated_us = sqlite3_column_int64(st, 9);
}

static void profile_row(sqlite3_stmt *st, void *elem)
{
	profile_from_row(st, elem);
}

static int profile_children_read(struct sgd_store *s, struct sgd_profile *p)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc = SQLITE_OK, r;

	if ((r = get_stmt(s, ST_PRC_GET, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->id);
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sgd_region_cap *c;

		if (p->nregion_caps >= SGD_PROFILE_MAX_REGION_CAPS)
			continue;	/* cannot happen: we wrote them */
		c = &p->region_caps[p->nregion_caps++];
		col_txt(st, 0, c->region, sizeof(c->region));
		c->cap_n = sqlite3_column_double(st, 1);
		c->max_strokes = (uint32_t)sqlite3_column_int64(st, 2);
		c->max_load_s = sqlite3_column_double(st, 3);
	}
	done_stmt(st);
	if (b.rc != SQLITE_OK)
		return sql_err(s, b.rc, "read region caps");
	if (rc != SQLITE_DONE)
		return sql_err(s, rc, "read region caps");

	if ((r = get_stmt(s, ST_PCOND_GET, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->id);
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sgd_profile_condition *c;

		if (p->nconditions >= SGD_PROFILE_MAX_CONDITIONS)
			continue;
		c = &p->conditions[p->nconditions++];
		col_txt(st, 0, c->name, sizeof(c->name));
		col_txt(st, 1, c->region, sizeof(c->region));
	}
	done_stmt(st);
	if (b.rc != SQLITE_OK)
		return sql_err(s, b.rc, "read conditions");
	if (rc != SQLITE_DONE)
		return sql_err(s, rc, "read conditions");
	return 0;
}

int sgd_store_profile_get(struct sgd_store *s, int64_t id,
			  struct sgd_profile *out)
{
	int r;

	if (!s || !out)
		return -EINVAL;
	if ((r = get_row_by_id(s, ST_PROFILE_GET, id, profile_row, out, "profile")))
		return r;
	return profile_children_read(s, out);
}

int sgd_store_profile_find_ref(struct sgd_store *s, const char *patient_ref,
			       int64_t *id)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc, r;

	if (!s || !patient_ref || !id)
		return -EINVAL;
	if ((r = get_stmt(s, ST_PROFILE_FIND_REF, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_txt(&b, 1, patient_ref, SGD_PATIENT_REF_MAX);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	done_stmt(st);
	if (rc == SQLITE_DONE)
		return set_err(s, -ENOENT, "no profile with patient reference '%.*s'",
			       SGD_PATIENT_REF_LEN, patient_ref);
	if (rc != SQLITE_ROW)
		return sql_err(s, rc, "find profile");
	return 0;
}

int sgd_store_profile_list(struct sgd_store *s, struct sgd_profile **out,
			   size_t *n)
{
	struct sgd_profile *arr;
	sqlite3_stmt *st = NULL;
	struct binder b;
	size_t cnt;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, ST_PROFILE_LIST, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if ((r = list_rows(s, st, &b, sizeof(*arr), profile_row, "list profiles",
			   (void **)&arr, &cnt)))
		return r;
	for (size_t i = 0; i < cnt; i++) {
		if ((r = profile_children_read(s, &arr[i]))) {
			free(arr);
			return r;
		}
	}
	*out = arr;
	*n = cnt;
	return 0;
}

/* ======================================================================
 * Sessions
 * ==================================================================== */

static const char *const state_names[] = {
	[SGD_SESSION_RUNNING] = "running",
	[SGD_SESSION_PAUSED] = "paused",
	[SGD_SESSION_FINISHED] = "finished",
	[SGD_SESSION_INTERRUPTED] = "interrupted",
	[SGD_SESSION_ABORTED] = "aborted",
};

#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *sgd_session_state_str(enum sgd_session_state st)
{
	if ((unsigned)st < NSTATES)
		return state_names[st];
	return NULL;
}

int sgd_session_state_from_str(const char *s)
{
	for (size_t i = 0; s && i < NSTATES; i++)
		if (!strcmp(s, state_names[i]))
			return (int)i;
	return -EINVAL;
}

static int audit_insert(struct sgd_store *s, struct sgd_audit *a);

static int session_args_ok(struct sgd_store *s, const struct sgd_session *se)
{
	if (!se)
		return set_err(s, -EINVAL, "no session");
	if (!sgd_session_state_str(se->state))
		return set_err(s, -EINVAL, "bad session state %d", (int)se->state);
	if (!se->instrument[0] || !se->region[0])
		return set_err(s, -EINVAL, "session needs an instrument and a region");
	if (!isfinite(se->limit_n))
		return set_err(s, -EINVAL, "session limit is not a number");
	return 0;
}

static void bind_session_summary(struct binder *b, int first,
				 const struct sgd_session *se)
{
	b_int(b, first, se->max_strokes);
	b_dbl(b, first + 1, se->max_load_s);
	b_int(b, first + 2, se->stroke_count);
	b_int(b, first + 3, se->violation_count);
	b_dbl(b, first + 4, se->load_s);
	b_dbl(b, first + 5, se->peak_n);
}

int sgd_store_session_create(struct sgd_store *s, struct sgd_session *se,
			     struct sgd_audit *override)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int64_t id;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = session_args_ok(s, se)))
		return r;
	if ((r = tx_begin(s)))
		return r;
	if ((r = get_stmt(s, ST_SESSION_INSERT, &st)))
		return tx_rollback(s, r);
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, se->profile_id);
	B_TXT(&b, 2, se->instrument);
	B_TXT(&b, 3, se->region);
	b_txt(&b, 4, sgd_session_state_str(se->state), 32);
	b_int(&b, 5, se->flags);
	b_int(&b, 6, se->started_us);
	b_int(&b, 7, se->ended_us);
	b_dbl(&b, 8, se->limit_n);
	B_TXT(&b, 9, se->reasons);
	bind_session_summary(&b, 10, se);
	if ((r = step_done(s, st, &b, "create session"))) {
		if (r == -ENOENT)
			set_err(s, r, "no profile %lld", (long long)se->profile_id);
		return tx_rollback(s, r);
	}
	id = sqlite3_last_insert_rowid(s->db);
	if (override) {
		override->session_id = id;
		if (!override->profile_id)
			override->profile_id = se->profile_id;
		if ((r = audit_insert(s, override))) {
			override->session_id = 0;
			return tx_rollback(s, r);
		}
	}
	if ((r = tx_commit(s)))
		return tx_rollback(s, r);
	se->id = id;
	se->updated_us = se->started_us;
	return 0;
}

int sgd_store_session_update(struct sgd_store *s,
			     const struct sgd_session *se, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = session_args_ok(s, se)))
		return r;
	if ((r = get_stmt(s, ST_SESSION_UPDATE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, se->id);
	B_TXT(&b, 2, se->region);
	b_txt(&b, 3, sgd_session_state_str(se->state), 32);
	b_int(&b, 4, se->flags);
	b_int(&b, 5, se->ended_us);
	b_int(&b, 6, now_us);
	b_dbl(&b, 7, se->limit_n);
	B_TXT(&b, 8, se->reasons);
	bind_session_summary(&b, 9, se);
	if ((r = step_done(s, st, &b, "update session")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return set_err(s, -ENOENT, "no session %lld", (long long)se->id);
	return 0;
}

int sgd_store_session_set_state(struct sgd_store *s, int64_t id,
				enum sgd_session_state state, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!sgd_session_state_str(state))
		return set_err(s, -EINVAL, "bad session state %d", (int)state);
	if ((r = get_stmt(s, ST_SESSION_SET_STATE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	b_txt(&b, 2, sgd_session_state_str(state), 32);
	b_int(&b, 3, now_us);
	if ((r = step_done(s, st, &b, "set session state")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return set_err(s, -ENOENT, "no session %lld", (long long)id);
	return 0;
}

static void session_from_row(sqlite3_stmt *st, struct sgd_session *se)
{
	char state[16];
	int v;

	memset(se, 0, sizeof(*se));
	se->id = sqlite3_column_int64(st, 0);
	se->profile_id = sqlite3_column_int64(st, 1);
	col_txt(st, 2, se->instrument, sizeof(se->instrument));
	col_txt(st, 3, se->region, sizeof(se->region));
	col_txt(st, 4, state, sizeof(state));
	v = sgd_session_state_from_str(state);
	se->state = v < 0 ? SGD_SESSION_INTERRUPTED : (enum sgd_session_state)v;
	se->flags = (uint32_t)sqlite3_column_int64(st, 5);
	se->started_us = sqlite3_column_int64(st, 6);
	se->ended_us = sqlite3_column_int64(st, 7);
	se->updated_us = sqlite3_column_int64(st, 8);
	se->limit_n = sqlite3_column_double(st, 9);
	col_txt(st, 10, se->reasons, sizeof(se->reasons));
	se->max_strokes = (uint32_t)sqlite3_column_int64(st, 11);
	se->max_load_s = sqlite3_column_double(st, 12);
	se->stroke_count = (uint32_t)sqlite3_column_int64(st, 13);
	se->violation_count = (uint32_t)sqlite3_column_int64(st, 14);
	se->load_s = sqlite3_column_double(st, 15);
	se->peak_n = sqlite3_column_double(st, 16);
	col_txt(st, 17, se->patient_ref, sizeof(se->patient_ref));
}

static void session_row(sqlite3_stmt *st, void *elem)
{
	session_from_row(st, elem);
}

int sgd_store_session_get(struct sgd_store *s, int64_t id,
			  struct sgd_session *out)
{
	if (!s || !out)
		return -EINVAL;
	return get_row_by_id(s, ST_SESSION_GET, id, session_row, out, "session");
}

static void id_row(sqlite3_stmt *st, void *elem)
{
	*(int64_t *)elem = sqlite3_column_int64(st, 0);
}

/* The ids of a parameterless id query, in its order. */
static int list_ids(struct sgd_store *s, enum stmt_id which, const char *what,
		    int64_t **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if ((r = get_stmt(s, which, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	return list_rows(s, st, &b, sizeof(**out), id_row, what, (void **)out, n);
}

int sgd_store_session_ids(struct sgd_store *s, int64_t **out, size_t *n)
{
	return list_ids(s, ST_SESSION_IDS, "list session ids", out, n);
}

int sgd_store_session_page(struct sgd_store *s, uint32_t offset, uint32_t limit,
			   int64_t **out, size_t *n, uint32_t *total)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r, rc;

	if (!s || !out || !n || !total)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if ((r = get_stmt(s, ST_SESSION_COUNT, &st)))
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		done_stmt(st);
		return sql_err(s, rc, "count sessions");
	}
	*total = (uint32_t)sqlite3_column_int64(st, 0);
	done_stmt(st);
	if ((r = get_stmt(s, ST_SESSION_PAGE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, limit);
	b_int(&b, 2, offset);
	return list_rows(s, st, &b, sizeof(**out), id_row, "page of sessions", (void **)out, n);
}

int sgd_store_profile_ids(struct sgd_store *s, int64_t **out, size_t *n)
{
	return list_ids(s, ST_PROFILE_IDS, "list profile ids", out, n);
}

int sgd_store_session_finish(struct sgd_store *s, int64_t id,
			     enum sgd_session_state state, int64_t now_us,
			     struct sgd_session *out)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (state != SGD_SESSION_FINISHED && state != SGD_SESSION_ABORTED)
		return set_err(s, -EINVAL, "a session ends finished or aborted");
	if ((r = get_stmt(s, ST_SESSION_FINISH, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	b_txt(&b, 2, sgd_session_state_str(state), 32);
	b_int(&b, 3, now_us);
	if ((r = step_done(s, st, &b, "finish session")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return set_err(s, -ENOENT, "no session %lld", (long long)id);
	return out ? sgd_store_session_get(s, id, out) : 0;
}

int sgd_store_session_list(struct sgd_store *s, int64_t profile_id,
			   struct sgd_session **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, profile_id ? ST_SESSION_LIST_PROFILE :
			  ST_SESSION_LIST, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (profile_id)
		b_int(&b, 1, profile_id);
	return list_rows(s, st, &b, sizeof(**out), session_row, "list sessions",
			 (void **)out, n);
}

int sgd_store_mark_interrupted(struct sgd_store *s, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r, n;

	if (!s)
		return -EINVAL;
	if ((r = tx_begin(s)))
		return r;
	if ((r = get_stmt(s, ST_PAUSE_CLOSE_OPEN, &st)))
		return tx_rollback(s, r);
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, now_us);
	if ((r = step_done(s, st, &b, "close the pauses of interrupted sessions")))
		return tx_rollback(s, r);
	if ((r = get_stmt(s, ST_SESSION_INTERRUPT, &st)))
		return tx_rollback(s, r);
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, now_us);
	if ((r = step_done(s, st, &b, "mark interrupted sessions")))
		return tx_rollback(s, r);
	n = sqlite3_changes(s->db);
	if ((r = tx_commit(s)))
		return tx_rollback(s, r);
	return n;
}

/* ======================================================================
 * Strokes and violations
 * ==================================================================== */

int sgd_store_begin(struct sgd_store *s)
{
	if (!s)
		return -EINVAL;
	return tx_begin(s);
}

int sgd_store_end(struct sgd_store *s, int r)
{
	if (!s)
		return -EINVAL;
	if (r < 0)
		return tx_rollback(s, r);
	r = tx_commit(s);
	return r < 0 ? tx_rollback(s, r) : 0;
}

int sgd_store_add_stroke(struct sgd_store *s, int64_t session_id,
			 const char *region, const struct sg_stroke *k,
			 int64_t wall_us, int64_t *row_id)
{
	return sgd_store_add_stroke_ex(s, session_id, region, NULL, k, wall_us, row_id);
}

int sgd_store_add_stroke_ex(struct sgd_store *s, int64_t session_id,
			    const char *region, const char *cap_reasons,
			    const struct sg_stroke *k, int64_t wall_us, int64_t *row_id)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!k || !region || !*region)
		return set_err(s, -EINVAL, "stroke needs data and a region");
	if ((r = get_stmt(s, ST_STROKE_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, session_id);
	b_int(&b, 2, wall_us);
	b_txt(&b, 3, region, SGD_REGION_MAX);
	b_int(&b, 4, k->index);
	b_dbl(&b, 5, k->start_s);
	b_dbl(&b, 6, k->end_s);
	b_dbl(&b, 7, k->duration_s);
	b_dbl(&b, 8, k->peak_n);
	b_dbl(&b, 9, k->mean_n);
	b_dbl(&b, 10, k->impulse_ns);
	b_dbl(&b, 11, k->above_limit_s);
	b_dbl(&b, 12, k->limit_n);
	b_int(&b, 13, k->has);
	b_dbl(&b, 14, k->peak_shear_n);
	b_dbl(&b, 15, k->mean_tilt_deg);
	b_dbl(&b, 16, k->direction_deg);
	if (cap_reasons)
		b_txt(&b, 17, cap_reasons, SGD_REASONS_MAX);
	/* an engine without bursts (0): the stroke is its own burst */
	b_int(&b, 18, k->burst ? k->burst : k->index);
	b_int(&b, 19, k->pass ? k->pass : 1);
	b_int(&b, 20, k->end);
	if ((r = step_done(s, st, &b, "add stroke"))) {
		if (r == -ENOENT)
			set_err(s, r, "no session %lld", (long long)session_id);
		return r;
	}
	if (row_id)
		*row_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static enum sgd_side side_from_col(sqlite3_stmt *st, int i)
{
	char t[16];

	col_txt(st, i, t, sizeof(t));
	if (!strcmp(t, "left"))
		return SGD_SIDE_LEFT;
	if (!strcmp(t, "right"))
		return SGD_SIDE_RIGHT;
	if (!t[0])
		return SGD_SIDE_NONE;
	return SGD_SIDE_UNKNOWN;
}

static void stroke_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_stroke_row *w = elem;

	w->id = sqlite3_column_int64(st, 0);
	w->session_id = sqlite3_column_int64(st, 1);
	w->wall_us = sqlite3_column_int64(st, 2);
	col_txt(st, 3, w->region, sizeof(w->region));
	w->stroke.index = (uint32_t)sqlite3_column_int64(st, 4);
	w->stroke.start_s = col_dbl(st, 5);
	w->stroke.end_s = col_dbl(st, 6);
	w->stroke.duration_s = col_dbl(st, 7);
	w->stroke.peak_n = col_dbl(st, 8);
	w->stroke.mean_n = col_dbl(st, 9);
	w->stroke.impulse_ns = col_dbl(st, 10);
	w->stroke.above_limit_s = col_dbl(st, 11);
	w->stroke.limit_n = col_dbl(st, 12);
	w->stroke.has = (uint8_t)sqlite3_column_int(st, 13);
	w->stroke.peak_shear_n = col_dbl(st, 14);
	w->stroke.mean_tilt_deg = col_dbl(st, 15);
	w->stroke.direction_deg = col_dbl(st, 16);
	w->side = side_from_col(st, 17);
	w->has_cap_reasons = sqlite3_column_type(st, 18) != SQLITE_NULL;
	col_txt(st, 18, w->cap_reasons, sizeof(w->cap_reasons));
	w->stroke.burst = (uint32_t)sqlite3_column_int64(st, 19);
	w->stroke.pass = (uint32_t)sqlite3_column_int64(st, 20);
	w->stroke.end = sqlite3_column_int(st, 21) == SG_END_REVERSAL ? SG_END_REVERSAL
									: SG_END_LIFT;
}

int sgd_store_session_strokes(struct sgd_store *s, int64_t session_id,
			      struct sgd_stroke_row **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, ST_STROKE_LIST, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, session_id);
	return list_rows(s, st, &b, sizeof(**out), stroke_row, "list strokes",
			 (void **)out, n);
}

/* Violation types by name (stable in the database). */
static const char *violation_type_str(enum sg_event_type t)
{
	switch (t) {
	case SG_EV_WARNING: return "warning";
	case SG_EV_EXCEEDED: return "exceeded";
	case SG_EV_CAP_STROKES: return "cap_strokes";
	case SG_EV_CAP_TIME: return "cap_time";
	default: return NULL;
	}
}

static enum sg_event_type violation_type_from_str(const char *s)
{
	static const enum sg_event_type types[] = {
		SG_EV_WARNING, SG_EV_EXCEEDED, SG_EV_CAP_STROKES, SG_EV_CAP_TIME
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(s, violation_type_str(types[i])))
			return types[i];
	return (enum sg_event_type)0;
}

int sgd_store_add_violation(struct sgd_store *s, struct sgd_violation *v)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	const char *type;
	int r;

	if (!s)
		return -EINVAL;
	if (!v || !v->region[0])
		return set_err(s, -EINVAL, "violation needs a region");
	type = violation_type_str(v->type);
	if (!type)
		return set_err(s, -EINVAL, "event type %d is not a violation",
			       (int)v->type);
	if ((r = get_stmt(s, ST_VIOLATION_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, v->session_id);
	b_int(&b, 2, v->wall_us);
	B_TXT(&b, 3, v->region);
	b_txt(&b, 4, type, 32);
	b_dbl(&b, 5, v->t_s);
	b_dbl(&b, 6, v->force_n);
	b_dbl(&b, 7, v->limit_n);
	if (v->has_cap_reasons)
		B_TXT(&b, 8, v->cap_reasons);
	b_dbl(&b, 9, v->start_s);
	if ((r = step_done(s, st, &b, "add violation"))) {
		if (r == -ENOENT)
			set_err(s, r, "no session %lld", (long long)v->session_id);
		return r;
	}
	v->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static void violation_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_violation *v = elem;
	char type[32];

	v->id = sqlite3_column_int64(st, 0);
	v->session_id = sqlite3_column_int64(st, 1);
	v->wall_us = sqlite3_column_int64(st, 2);
	col_txt(st, 3, v->region, sizeof(v->region));
	col_txt(st, 4, type, sizeof(type));
	v->type = violation_type_from_str(type);
	v->t_s = col_dbl(st, 5);
	v->force_n = col_dbl(st, 6);
	v->limit_n = col_dbl(st, 7);
	v->side = side_from_col(st, 8);
	v->has_cap_reasons = sqlite3_column_type(st, 9) != SQLITE_NULL;
	col_txt(st, 9, v->cap_reasons, sizeof(v->cap_reasons));
	v->start_s = col_dbl(st, 10);
}

int sgd_store_session_violations(struct sgd_store *s, int64_t session_id,
				 struct sgd_violation **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, ST_VIOLATION_LIST, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, session_id);
	return list_rows(s, st, &b, sizeof(**out), violation_row, "list violations",
			 (void **)out, n);
}

/* ======================================================================
 * Calibration history
 * ==================================================================== */

int sgd_store_calibration_add(struct sgd_store *s,
			      struct sgd_calibration_rec *rec)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!rec || !rec->instrument[0])
		return set_err(s, -EINVAL, "calibration record needs an instrument");
	for (int i = 0; i < STRIGIL_MAX_CHANNELS; i++)
		if (!isfinite(rec->cal.offset[i]) || !isfinite(rec->cal.scale[i]))
			return set_err(s, -EINVAL, "calibration channel %d is not "
				       "a finite number", i);
	if ((r = get_stmt(s, ST_CAL_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	B_TXT(&b, 1, rec->instrument);
	b_int(&b, 2, rec->written_us);
	B_TXT(&b, 3, rec->actor);
	b_int(&b, 4, rec->cal.channel_mask);
	/* native doubles: the database never leaves this machine */
	b_blob(&b, 5, rec->cal.offset, sizeof(rec->cal.offset));
	b_blob(&b, 6, rec->cal.scale, sizeof(rec->cal.scale));
	b_int(&b, 7, rec->cal.cal_date);
	b_int(&b, 8, rec->cal.due_date);
	B_TXT(&b, 9, rec->cal.technician);
	if ((r = step_done(s, st, &b, "add calibration")))
		return r;
	rec->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static void calibration_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_calibration_rec *c = elem;
	const void *blob;

	c->id = sqlite3_column_int64(st, 0);
	col_txt(st, 1, c->instrument, sizeof(c->instrument));
	c->written_us = sqlite3_column_int64(st, 2);
	col_txt(st, 3, c->actor, sizeof(c->actor));
	c->cal.channel_mask = (uint8_t)sqlite3_column_int(st, 4);
	blob = sqlite3_column_blob(st, 5);
	if (blob && sqlite3_column_bytes(st, 5) == (int)sizeof(c->cal.offset))
		memcpy(c->cal.offset, blob, sizeof(c->cal.offset));
	blob = sqlite3_column_blob(st, 6);
	if (blob && sqlite3_column_bytes(st, 6) == (int)sizeof(c->cal.scale))
		memcpy(c->cal.scale, blob, sizeof(c->cal.scale));
	c->cal.cal_date = sqlite3_column_int64(st, 7);
	c->cal.due_date = sqlite3_column_int64(st, 8);
	col_txt(st, 9, c->cal.technician, sizeof(c->cal.technician));
}

int sgd_store_calibration_list(struct sgd_store *s, const char *instrument,
			       struct sgd_calibration_rec **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, instrument ? ST_CAL_LIST : ST_CAL_LIST_ALL, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (instrument)
		b_txt(&b, 1, instrument, SGD_SERIAL_MAX);
	return list_rows(s, st, &b, sizeof(**out), calibration_row, "list calibrations",
			 (void **)out, n);
}

/* ======================================================================
 * Instruments
 * ==================================================================== */

int sgd_store_instrument_seen(struct sgd_store *s,
			      const struct sgd_instrument_rec *rec)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!rec || !rec->serial[0])
		return set_err(s, -EINVAL, "instrument needs a serial");
	if ((r = get_stmt(s, ST_INSTR_UPSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	B_TXT(&b, 1, rec->serial);
	B_TXT(&b, 2, rec->model);
	B_TXT(&b, 3, rec->firmware);
	b_int(&b, 4, rec->first_seen_us ? rec->first_seen_us : rec->last_seen_us);
	b_int(&b, 5, rec->last_seen_us);
	return step_done(s, st, &b, "record instrument");
}

int sgd_store_instrument_get(struct sgd_store *s, const char *serial,
			     struct sgd_instrument_rec *out)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc = SQLITE_OK, r;

	if (!s || !serial || !out)
		return -EINVAL;
	if ((r = get_stmt(s, ST_INSTR_GET, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_txt(&b, 1, serial, SGD_SERIAL_MAX);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		col_txt(st, 0, out->serial, sizeof(out->serial));
		col_txt(st, 1, out->model, sizeof(out->model));
		col_txt(st, 2, out->firmware, sizeof(out->firmware));
		out->first_seen_us = sqlite3_column_int64(st, 3);
		out->last_seen_us = sqlite3_column_int64(st, 4);
	}
	done_stmt(st);
	if (rc == SQLITE_DONE)
		return set_err(s, -ENOENT, "no instrument %.*s", SGD_SERIAL_MAX,
			       serial);
	if (rc != SQLITE_ROW)
		return sql_err(s, rc, "get instrument");
	return 0;
}

/* ======================================================================
 * Audit
 * ==================================================================== */

static int audit_insert(struct sgd_store *s, struct sgd_audit *a)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!a || !a->actor[0] || !a->action[0] || !a->reason[0])
		return set_err(s, -EINVAL, "audit record needs actor, action and "
			       "reason");
	if ((r = get_stmt(s, ST_AUDIT_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, a->at_us);
	B_TXT(&b, 2, a->actor);
	B_TXT(&b, 3, a->action);
	b_int(&b, 4, a->profile_id);
	b_int(&b, 5, a->session_id);
	B_TXT(&b, 6, a->conditions);
	B_TXT(&b, 7, a->reason);
	if ((r = step_done(s, st, &b, "add audit record")))
		return r;
	a->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int sgd_store_audit_add(struct sgd_store *s, struct sgd_audit *a)
{
	if (!s)
		return -EINVAL;
	return audit_insert(s, a);
}

static void audit_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_audit *a = elem;

	a->id = sqlite3_column_int64(st, 0);
	a->at_us = sqlite3_column_int64(st, 1);
	col_txt(st, 2, a->actor, sizeof(a->actor));
	col_txt(st, 3, a->action, sizeof(a->action));
	a->profile_id = sqlite3_column_int64(st, 4);
	a->session_id = sqlite3_column_int64(st, 5);
	col_txt(st, 6, a->conditions, sizeof(a->conditions));
	col_txt(st, 7, a->reason, sizeof(a->reason));
}

int sgd_store_audit_list(struct sgd_store *s, int64_t session_id,
			 struct sgd_audit **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, session_id ? ST_AUDIT_LIST : ST_AUDIT_LIST_ALL, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (session_id)
		b_int(&b, 1, session_id);
	return list_rows(s, st, &b, sizeof(**out), audit_row, "list audit",
			 (void **)out, n);
}

/* ======================================================================
 * Pauses
 * ==================================================================== */

int sgd_store_pause_begin(struct sgd_store *s, struct sgd_pause *p)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!p || !p->reason[0] || !isfinite(p->start_s))
		return set_err(s, -EINVAL, "a pause needs a reason and a start time");
	if ((r = get_stmt(s, ST_PAUSE_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->session_id);
	B_TXT(&b, 2, p->reason);
	b_dbl(&b, 3, p->start_s);
	b_int(&b, 4, p->start_us);
	if ((r = step_done(s, st, &b, "add pause"))) {
		if (r == -ENOENT)
			set_err(s, r, "no session %lld", (long long)p->session_id);
		return r;
	}
	p->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int sgd_store_pause_end(struct sgd_store *s, int64_t pause_id, double end_s,
			int64_t end_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = get_stmt(s, ST_PAUSE_END, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, pause_id);
	b_dbl(&b, 2, end_s);
	b_int(&b, 3, end_us);
	if ((r = step_done(s, st, &b, "end pause")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return set_err(s, -ENOENT, "no open pause %lld", (long long)pause_id);
	return 0;
}

int sgd_store_pause_end_open(struct sgd_store *s, int64_t session_id, double end_s,
			     int64_t end_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = get_stmt(s, ST_PAUSE_END_OPEN, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, session_id);
	b_dbl(&b, 2, end_s);
	b_int(&b, 3, end_us);
	return step_done(s, st, &b, "end pause");
}

static void pause_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_pause *p = elem;

	p->id = sqlite3_column_int64(st, 0);
	p->session_id = sqlite3_column_int64(st, 1);
	col_txt(st, 2, p->reason, sizeof(p->reason));
	p->start_s = col_dbl(st, 3);
	p->end_s = col_dbl(st, 4);
	p->start_us = sqlite3_column_int64(st, 5);
	p->end_us = sqlite3_column_int64(st, 6);
}

int sgd_store_session_pauses(struct sgd_store *s, int64_t session_id,
			     struct sgd_pause **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, ST_PAUSE_LIST, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, session_id);
	return list_rows(s, st, &b, sizeof(**out), pause_row, "list pauses",
			 (void **)out, n);
}

/* ======================================================================
 * History of a patient
 * ==================================================================== */

int sgd_store_profile_sessions(struct sgd_store *s, int64_t profile_id,
			       uint32_t offset, uint32_t limit,
			       int64_t **ids, size_t *n, uint32_t *total)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc, r;

	if (!s || !ids || !n || !total)
		return -EINVAL;
	*ids = NULL;
	*n = 0;
	if ((r = get_stmt(s, ST_PROFILE_SESSION_COUNT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, profile_id);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		*total = (uint32_t)sqlite3_column_int64(st, 0);
	done_stmt(st);
	if (rc != SQLITE_ROW)
		return sql_err(s, rc, "count sessions");
	if (!limit)
		return 0;
	if ((r = get_stmt(s, ST_PROFILE_SESSIONS, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, profile_id);
	b_int(&b, 2, limit);
	b_int(&b, 3, offset);
	return list_rows(s, st, &b, sizeof(**ids), id_row, "list a profile's sessions",
			 (void **)ids, n);
}

static void region_hist_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_region_hist *h = elem;

	h->session_id = sqlite3_column_int64(st, 0);
	h->started_us = sqlite3_column_int64(st, 1);
	col_txt(st, 2, h->region, sizeof(h->region));
	h->side = side_from_col(st, 3);
	h->strokes = (uint32_t)sqlite3_column_int64(st, 4);
	h->peak_n = col_dbl(st, 5);
	h->mean_n = col_dbl(st, 6);
	h->impulse_ns = col_dbl(st, 7);
	h->violations = (uint32_t)sqlite3_column_int64(st, 8);
}

int sgd_store_region_history(struct sgd_store *s, int64_t profile_id,
			     struct sgd_region_hist **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = get_stmt(s, ST_REGION_HISTORY, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, profile_id);
	return list_rows(s, st, &b, sizeof(**out), region_hist_row, "region history",
			 (void **)out, n);
}

/* ======================================================================
 * Clinic network (docs/network.md): global ids and remote profiles.
 * Rarely called, so the statements are prepared per call rather than
 * cached.
 * ==================================================================== */

static int one_shot(struct sgd_store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : sql_err(s, rc, "prepare");
}

int sgd_store_profile_sync_info(struct sgd_store *s, int64_t id,
				char uuid[SGD_UUID_MAX], char review[SGD_REVIEW_MAX])
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (!s || !uuid || !review)
		return -EINVAL;
	if ((r = one_shot(s, "SELECT ifnull(uuid, ''), review FROM profiles"
			  " WHERE id = ?1", &st)))
		return r;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_txt(st, 0, uuid, SGD_UUID_MAX);
		col_txt(st, 1, review, SGD_REVIEW_MAX);
		r = 0;
	} else if (rc == SQLITE_DONE) {
		r = set_err(s, -ENOENT, "no profile %lld", (long long)id);
	} else {
		r = sql_err(s, rc, "read profile uuid");
	}
	sqlite3_finalize(st);
	return r;
}

int sgd_store_session_uuid(struct sgd_store *s, int64_t id, char uuid[SGD_UUID_MAX])
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (!s || !uuid)
		return -EINVAL;
	if ((r = one_shot(s, "SELECT ifnull(uuid, '') FROM sessions WHERE id = ?1", &st)))
		return r;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_txt(st, 0, uuid, SGD_UUID_MAX);
		r = 0;
	} else if (rc == SQLITE_DONE) {
		r = set_err(s, -ENOENT, "no session %lld", (long long)id);
	} else {
		r = sql_err(s, rc, "read session uuid");
	}
	sqlite3_finalize(st);
	return r;
}

int sgd_store_profile_by_uuid(struct sgd_store *s, const char *uuid, int64_t *id,
			      bool *deleted)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (!s || !uuid || !id)
		return -EINVAL;
	if ((r = one_shot(s, "SELECT id, deleted_us IS NOT NULL FROM profiles"
			  " WHERE uuid = ?1", &st)))
		return r;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		if (deleted)
			*deleted = sqlite3_column_int(st, 1) != 0;
		r = 0;
	} else if (rc == SQLITE_DONE) {
		r = set_err(s, -ENOENT, "no profile %s", uuid);
	} else {
		r = sql_err(s, rc, "find profile by uuid");
	}
	sqlite3_finalize(st);
	return r;
}

int sgd_store_profile_set_review(struct sgd_store *s, int64_t id, const char *review,
				 int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (!s || !review || strlen(review) >= SGD_REVIEW_MAX)
		return -EINVAL;
	if ((r = one_shot(s, "UPDATE profiles SET review = ?2, updated_us = ?3"
			  " WHERE id = ?1 AND deleted_us IS NULL", &st)))
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, review, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_us);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_err(s, rc, "set profile review");
	if (sqlite3_changes(s->db) != 1)
		return set_err(s, -ENOENT, "no profile %lld", (long long)id);
	return 0;
}

/* Sets uuid (when given), review and clears deleted_us of profile id. */
static int profile_remote_ids(struct sgd_store *s, int64_t id, const char *uuid,
			      const char *review)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = one_shot(s, "UPDATE profiles SET uuid = ifnull(?2, uuid), review = ?3,"
			  " deleted_us = NULL WHERE id = ?1", &st)))
		return r;
	sqlite3_bind_int64(st, 1, id);
	if (uuid)
		sqlite3_bind_text(st, 2, uuid, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, review, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		r = sql_err(s, rc, "set profile uuid");
		if (rc == SQLITE_CONSTRAINT)
			r = set_err(s, -EEXIST, "a live profile has the same patient reference");
		return r;
	}
	return 0;
}

int sgd_store_profile_put_remote(struct sgd_store *s, const char *uuid,
				 struct sgd_profile *p, const char *review,
				 int64_t now_us, bool *created)
{
	int64_t id = 0;
	bool deleted = false, is_new;
	int r;

	if (!s)
		return -EINVAL;
	if (!uuid || strlen(uuid) != SGD_UUID_MAX - 1 || !review ||
	    strlen(review) >= SGD_REVIEW_MAX)
		return set_err(s, -EINVAL, "bad uuid or review state");
	if ((r = profile_args_ok(s, p)))
		return r;
	if ((r = tx_begin(s)))
		return r;
	r = sgd_store_profile_by_uuid(s, uuid, &id, &deleted);
	if (r < 0 && r != -ENOENT)
		return tx_rollback(s, r);
	is_new = r == -ENOENT;
	if (is_new) {
		if ((r = profile_row_write(s, ST_PROFILE_INSERT, p, now_us)))
			return tx_rollback(s, r);
		id = sqlite3_last_insert_rowid(s->db);
	} else if ((r = profile_remote_ids(s, id, NULL, review))) {
		/* a deleted profile comes back (an edit elsewhere won over
		 * the delete): live again before its row is rewritten */
		return tx_rollback(s, r);
	}
	p->id = id;
	if (!is_new && (r = profile_row_write(s, ST_PROFILE_UPDATE, p, now_us)))
		return tx_rollback(s, r);
	if ((is_new && (r = profile_remote_ids(s, id, uuid, review))) ||
	    (r = profile_children_write(s, p)) || (r = tx_commit(s)))
		return tx_rollback(s, r);
	if (is_new)
		p->created_us = now_us;
	p->updated_us = now_us;
	if (created)
		*created = is_new;
	return 0;
}
