/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: violations (warnings, exceeded caps), each with the
 * site and the cap and its reasons in force.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

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
		return store_set_err(s, -EINVAL, "violation needs a region");
	type = violation_type_str(v->type);
	if (!type)
		return store_set_err(s, -EINVAL, "event type %d is not a violation",
				     (int)v->type);
	if ((r = store_stmt(s, ST_VIOLATION_INSERT, &st)))
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
	if ((r = store_step_done(s, st, &b, "add violation"))) {
		if (r == -ENOENT)
			store_set_err(s, r, "no session %lld", (long long)v->session_id);
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
	v->side = store_col_side(st, 8);
	v->has_cap_reasons = sqlite3_column_type(st, 9) != SQLITE_NULL;
	col_txt(st, 9, v->cap_reasons, sizeof(v->cap_reasons));
	v->start_s = col_dbl(st, 10);
}

int sgd_store_session_violations(struct sgd_store *s, int64_t session_id,
				 struct sgd_violation **out, size_t *n)
{
	if (!s || !out || !n)
		return -EINVAL;
	return store_list_by_id(s, ST_VIOLATION_LIST, session_id, sizeof(**out), violation_row,
				"list violations", (void **)out, n);
}
