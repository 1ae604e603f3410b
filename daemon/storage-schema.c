/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: the schema. migrations[] takes a database from any
 * released version to SGD_STORE_SCHEMA_VERSION at open, in one
 * transaction; the integrity check then refuses a damaged file before the
 * daemon records anything in it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage-private.h"

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

int store_migrate(struct sgd_store *s)
{
	char sql[64];
	int version, r;

	/* Nothing to migrate writes nothing: a daemon on a full (or
	 * read-only) disk still starts and serves the history. */
	r = store_pragma_int(s, "PRAGMA user_version", &version);
	if (r)
		return r;
	if (version == SGD_STORE_SCHEMA_VERSION)
		return 0;
	r = store_exec_sql(s, "BEGIN IMMEDIATE", "begin migration");
	if (r)
		return r;
	r = store_pragma_int(s, "PRAGMA user_version", &version);
	if (r)
		goto fail;
	if (version > SGD_STORE_SCHEMA_VERSION) {
		r = store_set_err(s, -EPROTONOSUPPORT, "database schema version %d is "
				  "newer than this strigild (%d): refusing to touch it",
				  version, SGD_STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (version < 0) {
		r = store_set_err(s, -EBADMSG, "database schema version %d is invalid",
				  version);
		goto fail;
	}
	for (int v = version; v < SGD_STORE_SCHEMA_VERSION; v++) {
		char what[48];

		snprintf(what, sizeof(what), "migration to schema %d", v + 1);
		r = store_exec_sql(s, migrations[v], what);
		if (r)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 SGD_STORE_SCHEMA_VERSION);
	r = store_exec_sql(s, sql, "set schema version");
	if (r)
		goto fail;
	return store_exec_sql(s, "COMMIT", "commit migration");
fail:
	return store_tx_rollback(s, r);
}

/*
 * The database is what it should be: PRAGMA quick_check (every page and
 * index, without the slow cross-checks of integrity_check) and the tables
 * and triggers of the schema. Garbage in pages or a dropped table once
 * started a daemon that then refused every stroke; a dropped trigger
 * would silently stop a patient's per-site history (session_sites), the
 * global ids or the clinic network's change sequence.
 */
int store_integrity_check(struct sgd_store *s)
{
	static const struct {
		const char *type, *name;
	} objects[] = {
		{ "table", "profiles" }, { "table", "profile_region_caps" },
		{ "table", "profile_conditions" }, { "table", "sessions" },
		{ "table", "strokes" }, { "table", "violations" },
		{ "table", "calibrations" }, { "table", "audit" },
		{ "table", "instruments" }, { "table", "pauses" },
		{ "table", "session_sites" },
		{ "trigger", "strokes_site" }, { "trigger", "violations_site" },
		{ "trigger", "profiles_uuid_new" }, { "trigger", "sessions_uuid_new" },
		{ "trigger", "profiles_seq_new" }, { "trigger", "profiles_seq_change" },
		{ "trigger", "sessions_seq_new" }, { "trigger", "sessions_seq_change" },
	};
	sqlite3_stmt *st = NULL;
	const unsigned char *res;
	int rc, r = 0;
	size_t i;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = store_sql_err(s, rc, "quick_check");
		sqlite3_finalize(st);
		return r == -EBUSY ? r : -EBADMSG;
	}
	res = sqlite3_column_text(st, 0);
	if (!res || strcmp((const char *)res, "ok") != 0)
		r = store_set_err(s, -EBADMSG, "damaged database: %s",
				  res ? (const char *)res : "?");
	sqlite3_finalize(st);
	if (r)
		return r;
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master"
				" WHERE type = ?1 AND name = ?2", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sql_err(s, rc, "schema check");
	for (i = 0; !r && i < sizeof(objects) / sizeof(objects[0]); i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, objects[i].type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, objects[i].name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			r = store_sql_err(s, rc, "schema check");
		else if (sqlite3_column_int(st, 0) != 1)
			r = store_set_err(s, -EBADMSG, "damaged database: %s %s is missing",
					  objects[i].type, objects[i].name);
	}
	sqlite3_finalize(st);
	return r;
}

int sgd_store_schema_version(struct sgd_store *s)
{
	int v, r;

	if (!s)
		return -EINVAL;
	r = store_pragma_int(s, "PRAGMA user_version", &v);
	return r ? r : v;
}
