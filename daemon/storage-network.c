/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: the clinic network (docs/network.md): the global ids
 * of profiles and sessions, review states, profiles from the network.
 * Rarely called, so the statements are prepared per call rather than
 * cached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "storage-private.h"

static int one_shot(struct sgd_store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : store_sql_err(s, rc, "prepare");
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
		r = store_set_err(s, -ENOENT, "no profile %lld", (long long)id);
	} else {
		r = store_sql_err(s, rc, "read profile uuid");
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
		r = store_set_err(s, -ENOENT, "no session %lld", (long long)id);
	} else {
		r = store_sql_err(s, rc, "read session uuid");
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
		r = store_set_err(s, -ENOENT, "no profile %s", uuid);
	} else {
		r = store_sql_err(s, rc, "find profile by uuid");
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
		return store_sql_err(s, rc, "set profile review");
	if (sqlite3_changes(s->db) != 1)
		return store_set_err(s, -ENOENT, "no profile %lld", (long long)id);
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
		r = store_sql_err(s, rc, "set profile uuid");
		if (rc == SQLITE_CONSTRAINT)
			r = store_set_err(s, -EEXIST,
					  "a live profile has the same patient reference");
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
		return store_set_err(s, -EINVAL, "bad uuid or review state");
	if ((r = store_profile_args_ok(s, p)))
		return r;
	if ((r = store_tx_begin(s)))
		return r;
	r = sgd_store_profile_by_uuid(s, uuid, &id, &deleted);
	if (r < 0 && r != -ENOENT)
		return store_tx_rollback(s, r);
	is_new = r == -ENOENT;
	if (is_new) {
		if ((r = store_profile_row_write(s, ST_PROFILE_INSERT, p, now_us)))
			return store_tx_rollback(s, r);
		id = sqlite3_last_insert_rowid(s->db);
	} else if ((r = profile_remote_ids(s, id, NULL, review))) {
		/* a deleted profile comes back (an edit elsewhere won over
		 * the delete): live again before its row is rewritten */
		return store_tx_rollback(s, r);
	}
	p->id = id;
	if (!is_new && (r = store_profile_row_write(s, ST_PROFILE_UPDATE, p, now_us)))
		return store_tx_rollback(s, r);
	if ((is_new && (r = profile_remote_ids(s, id, uuid, review))) ||
	    (r = store_profile_children_write(s, p)) || (r = store_tx_commit(s)))
		return store_tx_rollback(s, r);
	if (is_new)
		p->created_us = now_us;
	p->updated_us = now_us;
	if (created)
		*created = is_new;
	return 0;
}
