/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: the audit of overrides (who started a session against
 * a contraindication, and why).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

int store_audit_insert(struct sgd_store *s, struct sgd_audit *a)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!a || !a->actor[0] || !a->action[0] || !a->reason[0])
		return store_set_err(s, -EINVAL, "audit record needs actor, action and "
				     "reason");
	if ((r = store_stmt(s, ST_AUDIT_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, a->at_us);
	B_TXT(&b, 2, a->actor);
	B_TXT(&b, 3, a->action);
	b_int(&b, 4, a->profile_id);
	b_int(&b, 5, a->session_id);
	B_TXT(&b, 6, a->conditions);
	B_TXT(&b, 7, a->reason);
	if ((r = store_step_done(s, st, &b, "add audit record")))
		return r;
	a->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int sgd_store_audit_add(struct sgd_store *s, struct sgd_audit *a)
{
	if (!s)
		return -EINVAL;
	return store_audit_insert(s, a);
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
	if ((r = store_stmt(s, session_id ? ST_AUDIT_LIST : ST_AUDIT_LIST_ALL, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (session_id)
		b_int(&b, 1, session_id);
	return store_list_rows(s, st, &b, sizeof(**out), audit_row, "list audit",
			       (void **)out, n);
}
