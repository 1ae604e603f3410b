/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: the statement cache and the helpers every record file
 * runs its SQL with.
 *
 * Statements are prepared once (SQLITE_PREPARE_PERSISTENT) and cached by
 * id (enum stmt_id, storage-private.h); every sqlite3_* result is checked
 * and mapped to a negative errno with the message kept in s->err.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

/* ======================================================================
 * The cached statements
 * ==================================================================== */

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
	/* ListProfiles: live profiles by patient_ref through the partial
	 * index profiles_live_ref (no sort, no table scan in memory); ?1 is
	 * the query ('' = all), ?2 its prefix pattern, ?3 its substring one
	 * (LIKE: ASCII case-insensitive). */
	[ST_PROFILE_PAGE] = "SELECT id FROM profiles WHERE deleted_us IS NULL"
		" AND (?1 = '' OR patient_ref LIKE ?2 ESCAPE '\\'"
		" OR display_name LIKE ?3 ESCAPE '\\')"
		" ORDER BY patient_ref LIMIT ?4 OFFSET ?5",
	[ST_PROFILE_PAGE_COUNT] = "SELECT count(*) FROM profiles WHERE deleted_us IS NULL"
		" AND (?1 = '' OR patient_ref LIKE ?2 ESCAPE '\\'"
		" OR display_name LIKE ?3 ESCAPE '\\')",
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

/* ======================================================================
 * Errors
 * ==================================================================== */

int store_errno(int rc)
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

int store_set_err(struct sgd_store *s, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return r;
}

/* Maps a SQLite failure to -errno with "what: sqlite message". */
int store_sql_err(struct sgd_store *s, int rc, const char *what)
{
	int r = store_errno(rc);

	if (!r)
		r = -EIO;
	return store_set_err(s, r, "%s: %s (%s)", what, sqlite3_errmsg(s->db),
			     sqlite3_errstr(rc));
}

const char *sgd_store_errmsg(const struct sgd_store *s)
{
	return s ? s->err : "no store";
}

/* ======================================================================
 * Running statements
 * ==================================================================== */

int store_stmt(struct sgd_store *s, enum stmt_id id, sqlite3_stmt **out)
{
	int rc;

	if (!s->stmt[id]) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return store_sql_err(s, rc, "prepare");
	}
	*out = s->stmt[id];
	return 0;
}

void store_stmt_finalize_all(struct sgd_store *s)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
}

/* Runs a statement that returns no rows. */
int store_step_done(struct sgd_store *s, sqlite3_stmt *st, struct binder *b,
		    const char *what)
{
	int rc;

	if (b && b->rc != SQLITE_OK) {
		rc = b->rc;
		done_stmt(st);
		return store_sql_err(s, rc, what);
	}
	rc = sqlite3_step(st);
	done_stmt(st);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, rc, what);
	return 0;
}

static int exec_simple(struct sgd_store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r = store_stmt(s, id, &st);

	return r ? r : store_step_done(s, st, NULL, what);
}

int store_tx_begin(struct sgd_store *s)
{
	return exec_simple(s, ST_BEGIN, "begin transaction");
}

int store_tx_commit(struct sgd_store *s)
{
	return exec_simple(s, ST_COMMIT, "commit");
}

/* Rolls back after an error; keeps the first error's message. */
int store_tx_rollback(struct sgd_store *s, int r)
{
	char keep[sizeof(s->err)];

	memcpy(keep, s->err, sizeof(keep));
	if (!sqlite3_get_autocommit(s->db))
		(void)exec_simple(s, ST_ROLLBACK, "rollback");
	memcpy(s->err, keep, sizeof(keep));
	return r;
}

enum sgd_side store_col_side(sqlite3_stmt *st, int i)
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

/*
 * The list queries: runs st, whose parameters b bound (b->rc says whether
 * they all were), to its end and returns a malloc'ed array of one element
 * per row, each zeroed and then filled by read. st is reset in every case.
 */
int store_list_rows(struct sgd_store *s, sqlite3_stmt *st, const struct binder *b,
		    size_t elem, row_reader read, const char *what, void **out, size_t *n)
{
	char *arr = NULL, *e;
	size_t cnt = 0, cap = 0;
	int rc;

	if (b->rc != SQLITE_OK) {
		done_stmt(st);
		return store_sql_err(s, b->rc, what);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = grow((void **)&arr, &cap, cnt, elem);
		if (!e) {
			done_stmt(st);
			free(arr);
			return store_set_err(s, -ENOMEM, "%s: out of memory", what);
		}
		memset(e, 0, elem);
		read(st, e);
		cnt++;
	}
	done_stmt(st);
	if (rc != SQLITE_DONE) {
		free(arr);
		return store_sql_err(s, rc, what);
	}
	*out = arr;
	*n = cnt;
	return 0;
}

/*
 * The one row of a by-id query (stmt id: ?1 is the id) into out, filled by
 * read; -ENOENT "no <noun> <id>" when there is none.
 */
int store_get_row_by_id(struct sgd_store *s, enum stmt_id which, int64_t id,
			row_reader read, void *out, const char *noun)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc, r;

	if ((r = store_stmt(s, which, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		read(st, out);
	done_stmt(st);
	if (rc == SQLITE_DONE)
		return store_set_err(s, -ENOENT, "no %s %lld", noun, (long long)id);
	if (rc != SQLITE_ROW)
	{
		char what[32];

		snprintf(what, sizeof(what), "get %s", noun);
		return store_sql_err(s, rc, what);
	}
	return 0;
}

int store_stmt_id(struct sgd_store *s, enum stmt_id which, int64_t id, struct binder *b)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = store_stmt(s, which, &st)))
		return r;
	*b = (struct binder){ st, SQLITE_OK };
	b_int(b, 1, id);
	return 0;
}

int store_list_by_id(struct sgd_store *s, enum stmt_id which, int64_t id, size_t elem,
		     row_reader read, const char *what, void **out, size_t *n)
{
	struct binder b;
	int r;

	if ((r = store_stmt_id(s, which, id, &b)))
		return r;
	return store_list_rows(s, b.st, &b, elem, read, what, out, n);
}

void store_id_row(sqlite3_stmt *st, void *elem)
{
	*(int64_t *)elem = sqlite3_column_int64(st, 0);
}

/* The ids of a parameterless id query, in its order. */
int store_list_ids(struct sgd_store *s, enum stmt_id which, const char *what,
		   int64_t **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if ((r = store_stmt(s, which, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	return store_list_rows(s, st, &b, sizeof(**out), store_id_row, what, (void **)out, n);
}

/* ======================================================================
 * Uncached SQL (settings, schema, WAL) and the callers' transactions
 * ==================================================================== */

int store_exec_sql(struct sgd_store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int r = store_errno(rc);

		store_set_err(s, r ? r : -EIO, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return r ? r : -EIO;
	}
	return 0;
}

int store_pragma_int(struct sgd_store *s, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sql_err(s, rc, sql);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return store_sql_err(s, rc, sql);
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int sgd_store_begin(struct sgd_store *s)
{
	if (!s)
		return -EINVAL;
	return store_tx_begin(s);
}

int sgd_store_end(struct sgd_store *s, int r)
{
	if (!s)
		return -EINVAL;
	if (r < 0)
		return store_tx_rollback(s, r);
	r = store_tx_commit(s);
	return r < 0 ? store_tx_rollback(s, r) : 0;
}
