/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure halves of strigil-clinic (no GTK): the trace ring and its
 * column decimation, the OpenStream packet parser, the mapping of daemon
 * validation sentences to form fields, the number parsers, region:side
 * text, and the report lines (what the PDF says).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic-report-model.h"
#include "clinic-ring.h"
#include "clinic-stream.h"
#include "clinic-util.h"

static int failed, passed;

#define CHECK(c, ...) do { if (c) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); } } while (0)

static struct clinic_ring ring;

static void test_ring(void)
{
	float mn[10], mx[10];
	double t;
	float f;

	clinic_ring_reset(&ring);
	CHECK(clinic_ring_len(&ring) == 0, "empty ring");
	CHECK(clinic_ring_last_t(&ring) == 0, "empty ring last time");
	for (int i = 0; i < CLINIC_RING_CAP + 100; i++)
		clinic_ring_push(&ring, i * 0.001, (float)(i % 1000) / 100.0f);
	CHECK(clinic_ring_len(&ring) == CLINIC_RING_CAP, "ring keeps CAP samples (%zu)", clinic_ring_len(&ring));
	clinic_ring_get(&ring, 0, &t, &f);
	CHECK(fabs(t - 0.100) < 1e-9, "oldest retained is sample 100 after wrap (t=%f)", t);
	clinic_ring_get(&ring, CLINIC_RING_CAP - 1, &t, &f);
	CHECK(fabs(t - (CLINIC_RING_CAP + 99) * 0.001) < 1e-9, "newest is the last pushed");
	CHECK(fabs(clinic_ring_last_t(&ring) - t) < 1e-12, "last_t is the newest");

	/* Columns: exact edges. 10 columns over [1.000, 1.010): sample i at
	 * t = i ms lands in column i - 1000; t1 itself is excluded. */
	clinic_ring_reset(&ring);
	for (int i = 990; i <= 1010; i++)
		clinic_ring_push(&ring, i * 0.001, (float)i);
	clinic_ring_columns(&ring, 1.000, 1.010, 10, mn, mx);
	CHECK(mn[0] == 1000.0f && mx[0] == 1000.0f, "first column starts at t0 (%g..%g)", mn[0], mx[0]);
	CHECK(mx[9] == 1009.0f, "last column ends before t1 (%g)", mx[9]);
	/* A window with no samples: NAN columns. */
	clinic_ring_columns(&ring, 5.0, 6.0, 10, mn, mx);
	CHECK(isnan(mn[0]) && isnan(mx[9]), "no samples: no line");
	/* min/max of a spike within one column survive decimation. */
	clinic_ring_reset(&ring);
	for (int i = 0; i < 1000; i++)
		clinic_ring_push(&ring, i * 0.001, i == 555 ? 12.5f : 1.0f);
	clinic_ring_columns(&ring, 0, 1.0, 10, mn, mx);
	CHECK(mx[5] == 12.5f && mn[5] == 1.0f, "a one-sample peak is drawn (%g)", mx[5]);
	CHECK(mx[4] == 1.0f, "neighbour column unaffected");
}

static double got_t[128];
static float got_f[128];
static int ngot;

static void on_sample(void *user, double t, float f)
{
	got_t[ngot] = t;
	got_f[ngot] = f;
	ngot++;
}

static size_t packet(unsigned char *buf, uint32_t magic, uint16_t version, uint16_t count)
{
	struct strigil_stream_hdr h = { magic, version, count, 7, 2, 3 };

	memcpy(buf, &h, sizeof(h));
	for (uint16_t i = 0; i < count && i < 64; i++) {
		struct strigil_stream_sample s = { 0 };

		s.t_s = 1.0 + i * 0.001;
		s.force_n = (float)i;
		memcpy(buf + sizeof(h) + i * sizeof(s), &s, sizeof(s));
	}
	return sizeof(h) + (size_t)count * sizeof(struct strigil_stream_sample);
}

static void test_stream(void)
{
	unsigned char buf[24 + 65 * 32];
	struct clinic_stream_stats st = { 0 };
	size_t n;

	n = packet(buf, STRIGIL_STREAM_MAGIC, 1, 64);
	ngot = 0;
	CHECK(clinic_stream_parse(buf, n, &st, on_sample, NULL) == 64, "full packet");
	CHECK(ngot == 64 && got_f[63] == 63.0f && fabs(got_t[1] - 1.001) < 1e-12, "samples in order");
	CHECK(st.dropped == 2 && st.lost == 3 && st.samples == 64, "counters");
	ngot = 0;
	CHECK(clinic_stream_parse(buf, n - 1, &st, on_sample, NULL) == -1 && ngot == 0, "one byte short: refused");
	n = packet(buf, STRIGIL_STREAM_MAGIC, 1, 1);
	CHECK(clinic_stream_parse(buf, n + 1, &st, on_sample, NULL) == -1, "one byte long: refused");
	CHECK(clinic_stream_parse(buf, n, &st, on_sample, NULL) == 1, "one-sample packet");
	n = packet(buf, STRIGIL_STREAM_MAGIC, 1, 0);
	CHECK(clinic_stream_parse(buf, n, &st, on_sample, NULL) == -1, "count 0 refused");
	n = packet(buf, STRIGIL_STREAM_MAGIC, 1, 65);
	CHECK(clinic_stream_parse(buf, n, &st, on_sample, NULL) == -1, "count 65 refused");
	n = packet(buf, STRIGIL_STREAM_MAGIC ^ 1, 1, 4);
	CHECK(clinic_stream_parse(buf, n, &st, on_sample, NULL) == -1, "bad magic refused");
	n = packet(buf, STRIGIL_STREAM_MAGIC, 2, 4);
	CHECK(clinic_stream_parse(buf, n, &st, on_sample, NULL) == -1, "unknown version refused");
	CHECK(clinic_stream_parse(buf, 3, &st, on_sample, NULL) == -1, "runt refused");
	CHECK(st.bad == 7, "bad packets counted (%llu)", (unsigned long long)st.bad);
}

static void test_fields(void)
{
	/* The daemon's own sentences (daemon/rules.c, daemon/profile.c). */
	static const struct { const char *msg; enum clinic_field f; const char *region; } cases[] = {
		{ "Another profile already uses that patient reference.", CLINIC_FIELD_REF, "" },
		{ "A profile needs a patient_ref (a pseudonymous reference, never a name).", CLINIC_FIELD_REF, "" },
		{ "display_name must be UTF-8 text without control characters", CLINIC_FIELD_NAME, "" },
		{ "max force 99.00 N is outside the clinic's range 1.00-14.00 N", CLINIC_FIELD_MAX_FORCE, "" },
		{ "target band 5.00-3.00 N: need 0 < low < high", CLINIC_FIELD_TARGET, "" },
		{ "unknown region 'elbw' (not in the clinic policy)", CLINIC_FIELD_REGION_CAPS, "elbw" },
		{ "caps for region calf:left must be finite and not negative", CLINIC_FIELD_REGION_CAPS, "calf:left" },
		{ "unknown condition 'flu' (not in the clinic policy)", CLINIC_FIELD_CONDITIONS, "" },
		{ "condition dvt is systemic: it cannot name a region", CLINIC_FIELD_CONDITIONS, "" },
		{ "session cap out of range (at most 100000 strokes, 14400 s)", CLINIC_FIELD_SESSION_CAPS, "" },
		{ "Something else entirely.", CLINIC_FIELD_NONE, "" },
	};
	char region[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum clinic_field f = clinic_error_field(cases[i].msg, region, sizeof(region));

		CHECK(f == cases[i].f, "field of \"%s\": %d, want %d", cases[i].msg, f, cases[i].f);
		CHECK(strcmp(region, cases[i].region) == 0, "region of \"%s\": '%s'", cases[i].msg, region);
	}
	CHECK(clinic_error_field(NULL, region, sizeof(region)) == CLINIC_FIELD_NONE, "NULL message");
}

static void test_numbers(void)
{
	double d;
	uint32_t u;

	CHECK(clinic_parse_newtons("", &d) && d == 0, "empty = 0");
	CHECK(clinic_parse_newtons(" 7.5 ", &d) && d == 7.5, "spaces around");
	CHECK(!clinic_parse_newtons("7.5x", &d), "trailing junk");
	CHECK(!clinic_parse_newtons("-1", &d), "negative");
	CHECK(!clinic_parse_newtons("nan", &d), "nan");
	CHECK(!clinic_parse_newtons("inf", &d), "inf");
	CHECK(!clinic_parse_newtons("1e999", &d), "overflow");
	CHECK(clinic_parse_count("40", &u) && u == 40, "count");
	CHECK(clinic_parse_count("4294967295", &u) && u == 4294967295u, "count max");
	CHECK(!clinic_parse_count("4294967296", &u), "count overflow");
	CHECK(!clinic_parse_count("-3", &u), "negative count");
	CHECK(!clinic_parse_count("3.5", &u), "fraction");
}

static void test_regions(void)
{
	char r[32], s[16], j[48];

	clinic_split_region("calf:left", r, sizeof(r), s, sizeof(s));
	CHECK(!strcmp(r, "calf") && !strcmp(s, "left"), "split calf:left");
	clinic_split_region("neck", r, sizeof(r), s, sizeof(s));
	CHECK(!strcmp(r, "neck") && !strcmp(s, ""), "split midline");
	clinic_join_region("calf", "right", j, sizeof(j));
	CHECK(!strcmp(j, "calf:right"), "join");
	clinic_join_region("neck", "", j, sizeof(j));
	CHECK(!strcmp(j, "neck"), "join midline");
	CHECK(clinic_error_advice("org.strigil.Strigil1.Error.Disconnected") != NULL, "advice");
	CHECK(clinic_error_advice("org.example.Nope") == NULL, "no advice for unknown names");
}

static int has_line(struct clinic_report_line *l, size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(l[i].text, text))
			return 1;
	return 0;
}

static int line_kind(struct clinic_report_line *l, size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(l[i].text, text))
			return (int)l[i].kind;
	return -1;
}

static void test_report(void)
{
	struct clinic_report r = { 0 };
	struct clinic_report_line *l;
	size_t n;

	snprintf(r.patient_ref, sizeof(r.patient_ref), "P-42");
	snprintf(r.state, sizeof(r.state), "finished");
	r.strokes = calloc(3, sizeof(*r.strokes));
	r.nstrokes = 3;
	/* exactly at the cap is not over it; a hair above is */
	r.strokes[0] = (struct clinic_report_stroke){ 1, 1.0, 0.5, 6.0, 3.0, 6.0, "calf:left", 0, 0, 0 };
	r.strokes[1] = (struct clinic_report_stroke){ 2, 2.0, 0.5, 6.01, 3.0, 6.0, "calf:left", 0, 0, 0 };
	r.strokes[2] = (struct clinic_report_stroke){ 3, 3.0, 0.5, 2.0, 1.0, 4.0, "neck", 0, 0, 0 };
	r.events = calloc(1, sizeof(*r.events));
	r.nevents = 1;
	r.events[0] = (struct clinic_report_event){ "exceeded", 2.1, 6.01, 6.0, "calf:left" };
	CHECK(clinic_report_collect_regions(&r) == 0, "regions collected");
	CHECK(r.nregions == 2, "two regions (%zu)", r.nregions);
	CHECK(r.regions[0].over == 1, "one stroke over the calf cap (%u)", r.regions[0].over);
	l = clinic_report_lines(&r, &n);
	CHECK(l != NULL, "lines");
	CHECK(has_line(l, n, "P-42"), "patient reference in the report");
	CHECK(has_line(l, n, "calf:left: cap 6.0 N") && has_line(l, n, "neck: cap 4.0 N"), "every region with its cap");
	CHECK(line_kind(l, n, "#1 ") == CLINIC_LINE_TEXT, "a stroke at the cap is not marked");
	CHECK(line_kind(l, n, "#2 ") == CLINIC_LINE_ALERT && has_line(l, n, "OVER"), "a stroke over the cap is marked");
	CHECK(line_kind(l, n, "OVER THE CAP: 6.0 N") == CLINIC_LINE_ALERT, "the violation is listed and marked");
	CHECK(has_line(l, n, "Not recorded by this version"), "unknown pauses said so, not 'none'");
	free(l);
	clinic_report_free(&r);
}

/* Passes per burst: counted from the strokes' burst indexes, in order. */
static void test_passes(void)
{
	/* bursts 1 (3 passes), 2 (1 pass), 3 (2 passes), then strokes from a
	 * service without bursts (0), then burst 4 (2 passes) */
	static const uint32_t burst[] = { 1, 1, 1, 2, 3, 3, 0, 0, 4, 4 };
	static const uint32_t pass[] = { 1, 2, 3, 1, 1, 2, 0, 0, 1, 2 };
	static const uint32_t passes[] = { 3, 3, 3, 1, 2, 2, 0, 0, 2, 2 };
	struct clinic_report_stroke k[10] = { { 0 } };
	struct clinic_pass_counter c = { 0 };
	struct clinic_report r = { 0 };
	struct clinic_report_line *l;
	char t[96];
	size_t n, i;
	int ok = 1;

	for (i = 0; i < 10; i++)
		k[i].burst = burst[i];
	clinic_report_number_passes(k, 10);
	for (i = 0; i < 10; i++)
		if (k[i].pass != pass[i] || k[i].passes != passes[i]) {
			ok = 0;
			printf("#  stroke %zu: pass %u/%u, expected %u/%u\n", i + 1, k[i].pass,
			       k[i].passes, pass[i], passes[i]);
		}
	CHECK(ok, "passes numbered within each burst, and each burst's count");
	/* live: one at a time, as StrokeCompleted arrives */
	CHECK(clinic_pass_next(&c, 7) == 1 && clinic_pass_next(&c, 7) == 2 &&
	      clinic_pass_next(&c, 8) == 1 && clinic_pass_next(&c, 0) == 0 &&
	      clinic_pass_next(&c, 8) == 1, "live pass counter");
	clinic_pass_text(t, sizeof(t), 3, 2, 5);
	CHECK(!strcmp(t, "burst 3 · pass 2/5"), "pass text (%s)", t);
	clinic_pass_text(t, sizeof(t), 3, 2, 0);
	CHECK(!strcmp(t, "burst 3 · pass 2"), "pass text while the burst goes on (%s)", t);
	clinic_pass_text(t, sizeof(t), 0, 0, 0);
	CHECK(!strcmp(t, ""), "no pass text without bursts");

	/* the report: every stroke with its pass, every burst with its passes */
	snprintf(r.patient_ref, sizeof(r.patient_ref), "P-43");
	r.strokes = calloc(4, sizeof(*r.strokes));
	r.nstrokes = 4;
	for (i = 0; i < 4; i++) {
		r.strokes[i] = (struct clinic_report_stroke){ (uint32_t)i + 1, 1.0 + (double)i, 0.5, 3.0,
							      2.0, 6.0, "calf:left", i < 3 ? 1 : 2, 0, 0 };
	}
	clinic_report_number_passes(r.strokes, r.nstrokes);
	l = clinic_report_lines(&r, &n);
	CHECK(l && has_line(l, n, "#2    ") && line_kind(l, n, "burst 1 · pass 2/3") == CLINIC_LINE_TEXT &&
	      has_line(l, n, "burst 2 · pass 1/1"), "report strokes name their burst and pass");
	CHECK(l && has_line(l, n, "Bursts (continuous contact)") &&
	      has_line(l, n, "Not recorded by this version"), "unknown bursts said so");
	free(l);
	r.bursts = calloc(2, sizeof(*r.bursts));
	r.nbursts = 2;
	r.bursts_known = 1;
	r.bursts[0] = (struct clinic_report_burst){ 1, 3, 1.0, 2.5, 3.0 };
	r.bursts[1] = (struct clinic_report_burst){ 2, 1, 4.0, 0.5, 3.0 };
	l = clinic_report_lines(&r, &n);
	CHECK(l && has_line(l, n, "Burst 1: 3 passes in 2.5 s, peak 3.0 N") &&
	      has_line(l, n, "Burst 2: 1 pass in 0.5 s"), "report bursts with passes, duration, peak");
	free(l);
	clinic_report_free(&r);
}

int main(void)
{
	test_ring();
	test_stream();
	test_fields();
	test_numbers();
	test_regions();
	test_report();
	test_passes();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
