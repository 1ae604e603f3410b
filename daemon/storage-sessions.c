/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: session rows (what was in force when the session
 * started, its state and summary) and the startup recovery of sessions a
 * previous daemon left running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

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

static int session_args_ok(struct sgd_store *s, const struct sgd_session *se)
{
	if (!se)
		return store_set_err(s, -EINVAL, "no session");
	if (!sgd_session_state_str(se->state))
		return store_set_err(s, -EINVAL, "bad session state %d", (int)se->state);
	if (!se->instrument[0] || !se->region[0])
		return store_set_err(s, -EINVAL, "session needs an instrument and a region");
	if (!isfinite(se->limit_n))
		return store_set_err(s, -EINVAL, "session limit is not a number");
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
	if ((r = store_tx_begin(s)))
		return r;
	if ((r = store_stmt(s, ST_SESSION_INSERT, &st)))
		return store_tx_rollback(s, r);
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
	if ((r = store_step_done(s, st, &b, "create session"))) {
		if (r == -ENOENT)
			store_set_err(s, r, "no profile %lld", (long long)se->profile_id);
		return store_tx_rollback(s, r);
	}
	id = sqlite3_last_insert_rowid(s->db);
	if (override) {
		override->session_id = id;
		if (!override->profile_id)
			override->profile_id = se->profile_id;
		if ((r = store_audit_insert(s, override))) {
			override->session_id = 0;
			return store_tx_rollback(s, r);
		}
	}
	if ((r = store_tx_commit(s)))
		return store_tx_rollback(s, r);
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
	if ((r = store_stmt(s, ST_SESSION_UPDATE, &st)))
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
	if ((r = store_step_done(s, st, &b, "update session")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return store_set_err(s, -ENOENT, "no session %lld", (long long)se->id);
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
		return store_set_err(s, -EINVAL, "bad session state %d", (int)state);
	if ((r = store_stmt(s, ST_SESSION_SET_STATE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	b_txt(&b, 2, sgd_session_state_str(state), 32);
	b_int(&b, 3, now_us);
	if ((r = store_step_done(s, st, &b, "set session state")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return store_set_err(s, -ENOENT, "no session %lld", (long long)id);
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
	return store_get_row_by_id(s, ST_SESSION_GET, id, session_row, out, "session");
}

int sgd_store_session_ids(struct sgd_store *s, int64_t **out, size_t *n)
{
	return store_list_ids(s, ST_SESSION_IDS, "list session ids", out, n);
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
	if ((r = store_stmt(s, ST_SESSION_COUNT, &st)))
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		done_stmt(st);
		return store_sql_err(s, rc, "count sessions");
	}
	*total = (uint32_t)sqlite3_column_int64(st, 0);
	done_stmt(st);
	if ((r = store_stmt(s, ST_SESSION_PAGE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, limit);
	b_int(&b, 2, offset);
	return store_list_rows(s, st, &b, sizeof(**out), store_id_row, "page of sessions",
			       (void **)out, n);
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
		return store_set_err(s, -EINVAL, "a session ends finished or aborted");
	if ((r = store_stmt(s, ST_SESSION_FINISH, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	b_txt(&b, 2, sgd_session_state_str(state), 32);
	b_int(&b, 3, now_us);
	if ((r = store_step_done(s, st, &b, "finish session")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return store_set_err(s, -ENOENT, "no session %lld", (long long)id);
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
	if ((r = store_stmt(s, profile_id ? ST_SESSION_LIST_PROFILE :
			    ST_SESSION_LIST, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (profile_id)
		b_int(&b, 1, profile_id);
	return store_list_rows(s, st, &b, sizeof(**out), session_row, "list sessions",
			       (void **)out, n);
}

int sgd_store_mark_interrupted(struct sgd_store *s, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r, n;

	if (!s)
		return -EINVAL;
	if ((r = store_tx_begin(s)))
		return r;
	if ((r = store_stmt(s, ST_PAUSE_CLOSE_OPEN, &st)))
		return store_tx_rollback(s, r);
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, now_us);
	if ((r = store_step_done(s, st, &b, "close the pauses of interrupted sessions")))
		return store_tx_rollback(s, r);
	if ((r = store_stmt(s, ST_SESSION_INTERRUPT, &st)))
		return store_tx_rollback(s, r);
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, now_us);
	if ((r = store_step_done(s, st, &b, "mark interrupted sessions")))
		return store_tx_rollback(s, r);
	n = sqlite3_changes(s->db);
	if ((r = store_tx_commit(s)))
		return store_tx_rollback(s, r);
	return n;
}
