// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl history: trend and table (pure half of history.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "history-fmt.h"

static bool same_site(const struct hist_row *a, const struct hist_row *b)
{
	return !strcmp(a->region, b->region) && !strcmp(a->side, b->side);
}

void hist_trend(struct hist_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rows[i].has_prev = false;
		rows[i].d_peak_n = rows[i].d_mean_n = 0;
		/* the next older visit: rows are newest first */
		for (size_t j = i + 1; j < n; j++) {
			if (rows[j].session == rows[i].session || !same_site(&rows[i], &rows[j]))
				continue;
			rows[i].has_prev = true;
			rows[i].d_peak_n = rows[i].peak_n - rows[j].peak_n;
			rows[i].d_mean_n = rows[i].mean_n - rows[j].mean_n;
			break;
		}
	}
}

const char *hist_delta_str(bool has_prev, double d, char *buf, size_t len)
{
	if (!has_prev)
		snprintf(buf, len, "first");
	else if (!isfinite(d))
		snprintf(buf, len, "?");
	else if (fabs(d) < HIST_SAME_N)
		snprintf(buf, len, "=");
	else
		snprintf(buf, len, "%+.2f N", d);
	return buf;
}

void hist_print(FILE *f, const char *patient, const struct hist_row *rows, size_t n)
{
	long long last = -1;
	unsigned visits = 0;

	for (size_t i = 0; i < n; i++)
		if (rows[i].session != last) {
			visits++;
			last = rows[i].session;
		}
	fprintf(f, "Patient %s: %u visit%s with strokes, newest first; trend = change of the "
		"mean and peak force since the previous visit at the same site\n", patient,
		visits, visits == 1 ? "" : "s");
	if (!n) {
		fprintf(f, "(no strokes recorded for this patient)\n");
		return;
	}
	last = -1;
	for (size_t i = 0; i < n; i++) {
		const struct hist_row *r = &rows[i];
		char dm[24], dp[24];

		if (r->session != last) {
			char when[32] = "-";
			time_t t = (time_t)r->started_s;
			struct tm tm;

			if (isfinite(r->started_s) && gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
			fprintf(f, "\nSession %lld, %s\n", r->session, when);
			fprintf(f, "  %-22s %7s %8s %8s %10s %5s  %-9s %s\n", "SITE", "STROKES",
				"PEAK N", "MEAN N", "IMPULSE Ns", "VIOL", "MEAN", "PEAK");
			last = r->session;
		}
		fprintf(f, "  %-22s %7u %8.2f %8.2f %10.2f %5u  %-9s %s%s\n", r->region,
			r->strokes, r->peak_n, r->mean_n, r->impulse_ns, r->violations,
			hist_delta_str(r->has_prev, r->d_mean_n, dm, sizeof(dm)),
			hist_delta_str(r->has_prev, r->d_peak_n, dp, sizeof(dp)),
			!strcmp(r->side, "unknown") ? "  (side not recorded)" : "");
	}
}
