/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: strokes, each with the site, the cap and its reasons
 * in force, its burst, pass and how it ended.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

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
		return store_set_err(s, -EINVAL, "stroke needs data and a region");
	if ((r = store_stmt(s, ST_STROKE_INSERT, &st)))
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
	if ((r = store_step_done(s, st, &b, "add stroke"))) {
		if (r == -ENOENT)
			store_set_err(s, r, "no session %lld", (long long)session_id);
		return r;
	}
	if (row_id)
		*row_id = sqlite3_last_insert_rowid(s->db);
	return 0;
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
	w->side = store_col_side(st, 17);
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
	if (!s || !out || !n)
		return -EINVAL;
	return store_list_by_id(s, ST_STROKE_LIST, session_id, sizeof(**out), stroke_row,
				"list strokes", (void **)out, n);
}
