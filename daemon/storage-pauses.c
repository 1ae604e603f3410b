/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: the pauses of a session, records of their own. The
 * storage writer ends the open pause of a session (it does not know the
 * pause's id yet when it queues the end); startup recovery ends those a
 * previous daemon left open (storage-sessions.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

int sgd_store_pause_begin(struct sgd_store *s, struct sgd_pause *p)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!p || !p->reason[0] || !isfinite(p->start_s))
		return store_set_err(s, -EINVAL, "a pause needs a reason and a start time");
	if ((r = store_stmt(s, ST_PAUSE_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->session_id);
	B_TXT(&b, 2, p->reason);
	b_dbl(&b, 3, p->start_s);
	b_int(&b, 4, p->start_us);
	if ((r = store_step_done(s, st, &b, "add pause"))) {
		if (r == -ENOENT)
			store_set_err(s, r, "no session %lld", (long long)p->session_id);
		return r;
	}
	p->id = sqlite3_last_insert_rowid(s->db);
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
	if ((r = store_stmt(s, ST_PAUSE_END_OPEN, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, session_id);
	b_dbl(&b, 2, end_s);
	b_int(&b, 3, end_us);
	return store_step_done(s, st, &b, "end pause");
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
	if (!s || !out || !n)
		return -EINVAL;
	return store_list_by_id(s, ST_PAUSE_LIST, session_id, sizeof(**out), pause_row,
				"list pauses", (void **)out, n);
}
