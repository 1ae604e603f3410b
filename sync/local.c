/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The local side: strigild's database opened read-only (strigild stays its
 * only writer; WAL lets this reader run beside it without blocking it), and
 * strigil-sync's own state database: one cursor per record table (the
 * outbox is the records themselves, above the cursor) and, per profile,
 * the centre's revision and the text last synced.
 *
 * Upload: one job = one server transaction = every session row changed
 * since the sessions cursor (strigild's change sequence, never a clock), then up to `batch` strokes, violations and
 * other records above their cursors, all read in ONE read transaction of
 * strigild's database (a consistent snapshot: a stroke's session is in the
 * same batch or already up). Rows go up as one JSON array parameter per
 * table, inserted with ON CONFLICT DO NOTHING on their global ids, so a
 * batch sent twice (a crash between the server's COMMIT and ours) is
 * stored once. The cursors move only after the server's COMMIT.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sync.h"

static const char state_schema[] =
	"CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY,"
	"  a INTEGER NOT NULL, b INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS profiles (uuid TEXT PRIMARY KEY,"
	"  rev INTEGER NOT NULL, synced TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS pending (uuid TEXT PRIMARY KEY);";

int local_open(struct sync *s, char *err, size_t errlen)
{
	char *uri = NULL;
	int rc;

	if (asprintf(&uri, "file:%s?mode=ro", s->cfg.local_db) < 0)
		return -ENOMEM;
	rc = sqlite3_open_v2(uri, &s->ldb, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s read-only: %s", s->cfg.local_db,
			 s->ldb ? sqlite3_errmsg(s->ldb) : sqlite3_errstr(rc));
		return -EIO;
	}
	sqlite3_busy_timeout(s->ldb, 5000);
	rc = sqlite3_open_v2(s->cfg.state_db, &s->sdb,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->sdb, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->sdb, state_schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open state %s: %s", s->cfg.state_db,
			 s->sdb ? sqlite3_errmsg(s->sdb) : sqlite3_errstr(rc));
		return -EIO;
	}
	sqlite3_busy_timeout(s->sdb, 5000);
	return 0;
}

void local_close(struct sync *s)
{
	sqlite3_close(s->ldb);
	sqlite3_close(s->sdb);
	s->ldb = s->sdb = NULL;
}

int state_get(struct sync *s, const char *name, int64_t *a, int64_t *b)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*a = 0;
	if (b)
		*b = 0;
	if (sqlite3_prepare_v2(s->sdb, "SELECT a, b FROM cursors WHERE name = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*a = sqlite3_column_int64(st, 0);
		if (b)
			*b = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int state_set(struct sync *s, const char *name, int64_t a, int64_t b)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->sdb, "INSERT INTO cursors (name, a, b) VALUES (?1, ?2, ?3)"
			       " ON CONFLICT (name) DO UPDATE SET a = ?2, b = ?3", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int state_profile_get(struct sync *s, const char *uuid, int64_t *rev, char **synced)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*rev = 0;
	*synced = NULL;
	if (sqlite3_prepare_v2(s->sdb, "SELECT rev, synced FROM profiles WHERE uuid = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rev = sqlite3_column_int64(st, 0);
		*synced = strdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int state_profile_set(struct sync *s, const char *uuid, int64_t rev, const char *synced)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->sdb, "INSERT INTO profiles (uuid, rev, synced)"
			       " VALUES (?1, ?2, ?3) ON CONFLICT (uuid) DO UPDATE"
			       " SET rev = ?2, synced = ?3", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rev);
	sqlite3_bind_text(st, 3, synced, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* ---- reading records as JSON ------------------------------------------- */

static json_object *column_value(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_object_new_int64(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_object_new_double(sqlite3_column_double(st, i));
	case SQLITE_TEXT:
		return json_object_new_string((const char *)sqlite3_column_text(st, i));
	case SQLITE_BLOB: {
		/* calibration offsets/scales: hex, as PostgreSQL's bytea shows it */
		const unsigned char *p = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i), k;
		char *hex = malloc((size_t)n * 2 + 3);
		json_object *o;

		if (!hex)
			return NULL;
		strcpy(hex, "\\x");
		for (k = 0; k < n; k++)
			sprintf(hex + 2 + 2 * k, "%02x", p[k]);
		o = json_object_new_string(hex);
		free(hex);
		return o;
	}
	default:
		return NULL;
	}
}

/*
 * strigild's schema from version 6 on keeps change_seq, the order in which
 * profile and session rows were committed; the cursors of both need it.
 * An older database is left alone until strigild has migrated it.
 */
int local_schema_check(struct sync *s)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(s->ldb, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v < 0) {
		sync_error(s, "local database: %s", sqlite3_errmsg(s->ldb));
		return -EIO;
	}
	if (v < LOCAL_SCHEMA_MIN) {
		sync_error(s, "local database: schema %d, this strigil-sync needs %d or later "
			   "(start the strigild of this release once to migrate it)", v,
			   LOCAL_SCHEMA_MIN);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/*
 * Every row of st as a JSON object of all its columns, appended to arr;
 * the first column is the row's cursor value, kept in *cursor and not
 * sent. Returns the row count.
 */
static int rows_json(sqlite3_stmt *st, json_object *arr, int64_t *cursor)
{
	int rc, n = 0, i, cols = sqlite3_column_count(st);

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		*cursor = sqlite3_column_int64(st, 0);
		for (i = 1; i < cols; i++)
			json_object_object_add(o, sqlite3_column_name(st, i), column_value(st, i));
		json_object_array_add(arr, o);
		n++;
	}
	return rc == SQLITE_DONE ? n : -EIO;
}

static bool table_exists(struct sync *s, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool yes;

	if (sqlite3_prepare_v2(s->ldb, "SELECT 1 FROM sqlite_master WHERE type = 'table'"
			       " AND name = ?1", -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/*
 * Record tables uploaded. session: rows belong to a session (session_uuid
 * added from the join). dest: the centre's table; pc_records takes any
 * kind (calibrations, the audit, pauses and bursts once strigild stores
 * them) keyed by (pc, kind, local id). A table this strigild does not
 * have is skipped. ready: rows go up once, by id, so a row that strigild
 * still completes later is held back with every row after it. A pause is
 * written open and ended later; strigild ends every open pause of an
 * interrupted session at its start, so an open pause holds the upload only
 * while its session is paused.
 */
static const struct rec_table {
	const char *name;
	bool session;
	const char *dest;
	const char *ready;	/* extra WHERE term, or "" */
} rec_tables[] = {
	{ "strokes", true, "strokes", "" },
	{ "violations", true, "violations", "" },
	{ "pauses", true, "pc_records",
	  " AND t.id < (SELECT ifnull(min(id), 9223372036854775807) FROM pauses"
	  " WHERE end_us IS NULL)" },
	{ "bursts", true, "pc_records", "" },
	{ "calibrations", false, "pc_records", "" },
	{ "audit", false, "pc_records", "" },
};
#define NTABLES (sizeof(rec_tables) / sizeof(rec_tables[0]))

static const char sql_sessions[] =
	"INSERT INTO sessions (uuid, local_id, profile_uuid, patient_ref, started_us,"
	" updated_us, state, data)"
	" SELECT (r->>'uuid')::uuid, (r->>'id')::bigint, (r->>'profile_uuid')::uuid,"
	"  r->>'patient_ref', (r->>'started_us')::bigint, (r->>'updated_us')::bigint,"
	"  r->>'state', r FROM jsonb_array_elements($1::jsonb) AS r"
	" ON CONFLICT (uuid) DO UPDATE SET updated_us = excluded.updated_us,"
	"  state = excluded.state, data = excluded.data"
	" WHERE coalesce((sessions.data->>'change_seq')::bigint, -1)"
	"  <= (excluded.data->>'change_seq')::bigint";

static const char sql_session_rows[] =
	"INSERT INTO %s (session_uuid, local_id, wall_us, region, data)"
	" SELECT (r->>'session_uuid')::uuid, (r->>'id')::bigint,"
	"  (r->>'wall_us')::bigint, coalesce(r->>'region', ''), r"
	" FROM jsonb_array_elements($1::jsonb) AS r ON CONFLICT DO NOTHING";

static const char sql_pc_records[] =
	"INSERT INTO pc_records (kind, local_id, at_us, data)"
	" SELECT $2, (r->>'id')::bigint, coalesce((r->>'wall_us')::bigint,"
	"  (r->>'written_us')::bigint, (r->>'at_us')::bigint, (r->>'start_us')::bigint, 0), r"
	" FROM jsonb_array_elements($1::jsonb) AS r ON CONFLICT DO NOTHING";

struct upload {
	int64_t sess_seq;
	int64_t cur[NTABLES];
	bool have[NTABLES];
	int64_t rows;
	bool full;
};

static void upload_done(struct sync *s, struct job *j, bool ok, void *ud)
{
	struct upload *u = ud;
	size_t i;
	int r = 0;

	if (ok) {
		/* the server has committed: now, and only now, move the cursors */
		r = sqlite3_exec(s->sdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
		if (!r)
			r = state_set(s, SESSIONS_CURSOR, u->sess_seq, 0);
		for (i = 0; !r && i < NTABLES; i++)
			if (u->have[i])
				r = state_set(s, rec_tables[i].name, u->cur[i], 0);
		if (!r && sqlite3_exec(s->sdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			r = -EIO;
		if (r) {
			sqlite3_exec(s->sdb, "ROLLBACK", NULL, NULL, NULL);
			sync_error(s, "state: cannot record the upload: %s (it will be sent again)",
				   sqlite3_errmsg(s->sdb));
		} else {
			s->uploaded += (uint64_t)u->rows;
			s->last_sync_us = now_us();
			sync_status_changed(s, "Uploaded");
		}
		s->need_records = u->full || u->rows > 0;
	} else {
		sync_error(s, "%s", j->error);
	}
	free(u);
}

static int add_json_step(struct job *j, const char *sql, json_object *arr, const char *kind)
{
	const char *txt = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);

	return kind ? job_add(j, sql, NULL, NULL, 2, txt, kind) : job_add(j, sql, NULL, NULL, 1, txt);
}

struct job *records_job(struct sync *s)
{
	struct upload *u = calloc(1, sizeof(*u));
	struct job *j = NULL;
	sqlite3_stmt *st = NULL;
	json_object *arr = NULL;
	char sql[512];
	size_t i;
	int n, r = 0;

	if (!u)
		return NULL;
	if (local_schema_check(s) < 0) {
		free(u);
		return NULL;
	}
	if (sqlite3_exec(s->ldb, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	j = job_new("upload records", true, upload_done, u);
	if (!j)
		goto fail;

	/* sessions: every one changed since the cursor (they are few) */
	state_get(s, SESSIONS_CURSOR, &u->sess_seq, NULL);
	if (sqlite3_prepare_v2(s->ldb,
			       "SELECT s.change_seq, p.uuid AS profile_uuid,"
			       " p.patient_ref AS patient_ref, s.* FROM sessions s"
			       " JOIN profiles p ON p.id = s.profile_id"
			       " WHERE s.change_seq > ?1 ORDER BY s.change_seq", -1, &st,
			       NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, u->sess_seq);
	arr = json_object_new_array();
	n = rows_json(st, arr, &u->sess_seq);
	sqlite3_finalize(st);
	st = NULL;
	if (n < 0)
		goto fail;
	if (n > 0 && add_json_step(j, sql_sessions, arr, NULL) < 0)
		goto fail;
	u->rows += n;
	json_object_put(arr);
	arr = NULL;

	for (i = 0; i < NTABLES; i++) {
		const struct rec_table *t = &rec_tables[i];
		if (!table_exists(s, t->name))
			continue;
		state_get(s, t->name, &u->cur[i], NULL);
		if (t->session)
			snprintf(sql, sizeof(sql), "SELECT t.id, s.uuid AS session_uuid, t.*"
				 " FROM %s t JOIN sessions s ON s.id = t.session_id"
				 " WHERE t.id > ?1%s ORDER BY t.id LIMIT ?2", t->name, t->ready);
		else
			snprintf(sql, sizeof(sql), "SELECT t.id, t.* FROM %s t"
				 " WHERE t.id > ?1%s ORDER BY t.id LIMIT ?2", t->name, t->ready);
		if (sqlite3_prepare_v2(s->ldb, sql, -1, &st, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(st, 1, u->cur[i]);
		sqlite3_bind_int64(st, 2, s->cfg.batch);
		arr = json_object_new_array();
		n = rows_json(st, arr, &u->cur[i]);
		sqlite3_finalize(st);
		st = NULL;
		if (n < 0)
			goto fail;
		u->have[i] = true;
		if (n >= s->cfg.batch)
			u->full = true;
		if (n > 0) {
			if (strcmp(t->dest, "pc_records") == 0)
				r = add_json_step(j, sql_pc_records, arr, t->name);
			else {
				snprintf(sql, sizeof(sql), sql_session_rows, t->dest);
				r = add_json_step(j, sql, arr, NULL);
			}
			if (r < 0)
				goto fail;
		}
		u->rows += n;
		json_object_put(arr);
		arr = NULL;
	}
	sqlite3_exec(s->ldb, "COMMIT", NULL, NULL, NULL);
	if (u->rows == 0) {
		job_free(j);
		free(u);
		return NULL;
	}
	return j;
fail:
	sync_error(s, "local database: %s", sqlite3_errmsg(s->ldb));
	sqlite3_finalize(st);
	sqlite3_exec(s->ldb, "ROLLBACK", NULL, NULL, NULL);
	json_object_put(arr);
	if (j)
		job_free(j);	/* u is freed below, not by the job */
	free(u);
	return NULL;
}

int64_t local_backlog(struct sync *s)
{
	int64_t total = 0, a;
	sqlite3_stmt *st = NULL;
	char sql[256];
	size_t i;

	if (sqlite3_exec(s->ldb, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	state_get(s, SESSIONS_CURSOR, &a, NULL);
	if (sqlite3_prepare_v2(s->ldb, "SELECT count(*) FROM sessions"
			       " WHERE change_seq > ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, a);
		if (sqlite3_step(st) == SQLITE_ROW)
			total += sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	for (i = 0; i < NTABLES; i++) {
		if (!table_exists(s, rec_tables[i].name))
			continue;
		state_get(s, rec_tables[i].name, &a, NULL);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE id > ?1",
			 rec_tables[i].name);
		if (sqlite3_prepare_v2(s->ldb, sql, -1, &st, NULL) != SQLITE_OK)
			continue;
		sqlite3_bind_int64(st, 1, a);
		if (sqlite3_step(st) == SQLITE_ROW)
			total += sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_exec(s->ldb, "COMMIT", NULL, NULL, NULL);
	return total;
}
