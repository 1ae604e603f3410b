/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: a patient's history: the sessions of a profile paged
 * newest first, and per (session, site) sums kept by triggers
 * (session_sites, storage-schema.c step 3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

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
	if ((r = store_stmt(s, ST_PROFILE_SESSION_COUNT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, profile_id);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		*total = (uint32_t)sqlite3_column_int64(st, 0);
	done_stmt(st);
	if (rc != SQLITE_ROW)
		return store_sql_err(s, rc, "count sessions");
	if (!limit)
		return 0;
	if ((r = store_stmt(s, ST_PROFILE_SESSIONS, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, profile_id);
	b_int(&b, 2, limit);
	b_int(&b, 3, offset);
	return store_list_rows(s, st, &b, sizeof(**ids), store_id_row, "list a profile's sessions",
			       (void **)ids, n);
}

static void region_hist_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_region_hist *h = elem;

	h->session_id = sqlite3_column_int64(st, 0);
	h->started_us = sqlite3_column_int64(st, 1);
	col_txt(st, 2, h->region, sizeof(h->region));
	h->side = store_col_side(st, 3);
	h->strokes = (uint32_t)sqlite3_column_int64(st, 4);
	h->peak_n = col_dbl(st, 5);
	h->mean_n = col_dbl(st, 6);
	h->impulse_ns = col_dbl(st, 7);
	h->violations = (uint32_t)sqlite3_column_int64(st, 8);
}

int sgd_store_region_history(struct sgd_store *s, int64_t profile_id,
			     struct sgd_region_hist **out, size_t *n)
{
	if (!s || !out || !n)
		return -EINVAL;
	return store_list_by_id(s, ST_REGION_HISTORY, profile_id, sizeof(**out), region_hist_row,
				"region history", (void **)out, n);
}
