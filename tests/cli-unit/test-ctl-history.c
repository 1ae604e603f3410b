// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl history: the trend against the previous visit at the same
 * site (region and side), and the table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "history-fmt.h"
#include "strigilctl.h"

struct ctl_global ctl;

static struct hist_row row(long long session, const char *region, const char *side,
			   double peak, double mean)
{
	struct hist_row r = { .session = session, .started_s = 1.8e9 + session * 86400.0,
			      .strokes = 3, .peak_n = peak, .mean_n = mean, .impulse_ns = 1.5 };

	snprintf(r.region, sizeof(r.region), "%s", region);
	snprintf(r.side, sizeof(r.side), "%s", side);
	return r;
}

static void test_trend(void)
{
	/* newest first: visit 9, 7, 4 */
	struct hist_row r[] = {
		row(9, "calf:left", "left", 4.0, 2.0),
		row(9, "neck", "", 2.0, 1.0),
		row(7, "calf:right", "right", 9.0, 8.0),
		row(7, "calf:left", "left", 3.5, 2.03),
		row(4, "calf:left", "left", 1.0, 1.0),
		row(4, "calf", "unknown", 2.0, 2.0),
	};
	char buf[32];

	hist_trend(r, 6);
	/* the previous visit at calf:left is 7, not 4, and never calf:right */
	CHECK(r[0].has_prev, "calf:left has a previous visit");
	CHECK_NEAR(r[0].d_peak_n, 0.5, 1e-12);
	CHECK_NEAR(r[0].d_mean_n, -0.03, 1e-12);
	CHECK(!r[1].has_prev, "neck: first");
	CHECK(!r[2].has_prev, "calf:right is not compared with calf:left");
	CHECK(r[3].has_prev, "visit 7 calf:left compared with visit 4");
	CHECK_NEAR(r[3].d_peak_n, 2.5, 1e-12);
	CHECK(!r[4].has_prev && !r[5].has_prev, "the oldest visits are first");
	CHECK(!strcmp(hist_delta_str(r[0].has_prev, r[0].d_mean_n, buf, sizeof(buf)), "="),
	      "a change under %.2f N reads '=': %s", HIST_SAME_N, buf);
	CHECK(!strcmp(hist_delta_str(true, 0.05, buf, sizeof(buf)), "+0.05 N"), "edge: %s", buf);
	CHECK(!strcmp(hist_delta_str(true, -0.049, buf, sizeof(buf)), "="), "edge: %s", buf);
	CHECK(!strcmp(hist_delta_str(true, -0.4, buf, sizeof(buf)), "-0.40 N"), "%s", buf);
	CHECK(!strcmp(hist_delta_str(false, 1, buf, sizeof(buf)), "first"), "%s", buf);
	/* a migrated site (side unknown) is never compared with a sided one */
	{
		struct hist_row m[] = { row(5, "calf", "unknown", 3, 3), row(4, "calf:left", "left", 1, 1) };

		hist_trend(m, 2);
		CHECK(!m[0].has_prev, "calf (side unknown) vs calf:left: not the same site");
	}
}

static void test_print(void)
{
	struct hist_row r[] = {
		row(9, "calf:left", "left", 4.0, 2.0),
		row(4, "calf", "unknown", 2.0, 2.0),
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	hist_trend(r, 2);
	hist_print(f, "P-7", r, 2);
	fclose(f);
	CHECK(strstr(text, "Patient P-7: 2 visits") != NULL, "%s", text);
	CHECK(strstr(text, "Session 9, ") && strstr(text, "Session 4, "), "%s", text);
	CHECK(strstr(text, "calf:left") && strstr(text, "(side not recorded)"), "%s", text);
	CHECK(strstr(text, "Session 9") < strstr(text, "Session 4"), "newest first");
	free(text);
	f = open_memstream(&text, &len);
	hist_print(f, "P-8", NULL, 0);
	fclose(f);
	CHECK(strstr(text, "0 visits") && strstr(text, "no strokes"), "%s", text);
	free(text);
}

int main(void)
{
	test_trend();
	test_print();
	return check_exit("test-ctl-history");
}
