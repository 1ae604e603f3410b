/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strigilctl history: a patient's visits with per-site aggregates and the
 * trend against the previous visit at the same site. Pure: no bus, no IO
 * but the FILE it prints to (unit tested in tests/cli-unit). */
#ifndef STRIGILCTL_HISTORY_FMT_H
#define STRIGILCTL_HISTORY_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One (visit, site) of Profile.GetRegionHistory. */
struct hist_row {
	long long session;		/* session id */
	double started_s;		/* unix seconds */
	char region[64];		/* "calf:left", or "calf" before sides */
	char side[16];			/* "left", "right", "" midline, "unknown" */
	unsigned strokes;
	double peak_n, mean_n, impulse_ns;
	unsigned violations;
	/* hist_trend(): against the previous visit at the same site */
	bool has_prev;
	double d_peak_n, d_mean_n;
};

/* Below this a change of force is shown as "=" (the scale's resolution
 * is far finer; this is what a clinician reads as "the same"). */
#define HIST_SAME_N 0.05

/*
 * rows: newest visit first (as the daemon gives them). Sets has_prev and
 * the deltas of every row from the next older row of the same site (same
 * region text and side: a site recorded before sides existed is compared
 * only with itself).
 */
void hist_trend(struct hist_row *rows, size_t n);
/* "+0.40 N", "-0.12 N", "=", or "first" into buf; returns buf. */
const char *hist_delta_str(bool has_prev, double d, char *buf, size_t len);
/* The human table: one block per visit (newest first), one line per site. */
void hist_print(FILE *f, const char *patient, const struct hist_row *rows, size_t n);

#endif
