/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the store tests (tests/daemon-unit/test-store-*.c):
 * a plausible stroke, and how many strokes a session has on disk. */
#ifndef STRIGIL_TEST_STORE_H
#define STRIGIL_TEST_STORE_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "storage.h"

static inline void make_stroke(struct sg_stroke *k, uint32_t i, double peak)
{
	memset(k, 0, sizeof(*k));
	k->index = i;
	k->start_s = i * 2.0;
	k->end_s = i * 2.0 + 0.8;
	k->duration_s = 0.8;
	k->peak_n = peak;
	k->mean_n = peak / 2;
	k->limit_n = 8;
}

static inline size_t count_strokes(struct sgd_store *s, int64_t id)
{
	struct sgd_stroke_row *rows = NULL;
	size_t n = 0;

	CHECK(sgd_store_session_strokes(s, id, &rows, &n) == 0, "%s", sgd_store_errmsg(s));
	free(rows);
	return n;
}

#endif
