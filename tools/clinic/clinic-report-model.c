/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic-report-model.h"
#include "clinic-util.h"

struct clinic_report_region *clinic_report_region(struct clinic_report *r, const char *region)
{
	struct clinic_report_region *g;

	for (size_t i = 0; i < r->nregions; i++)
		if (strcmp(r->regions[i].region, region) == 0)
			return &r->regions[i];
	g = realloc(r->regions, (r->nregions + 1) * sizeof(*g));
	if (!g)
		return NULL;
	r->regions = g;
	g = &r->regions[r->nregions++];
	memset(g, 0, sizeof(*g));
	snprintf(g->region, sizeof(g->region), "%s", region);
	return g;
}

int clinic_report_collect_regions(struct clinic_report *r)
{
	for (size_t i = 0; i < r->nstrokes; i++) {
		const struct clinic_report_stroke *s = &r->strokes[i];
		struct clinic_report_region *g = clinic_report_region(r, s->region);

		if (!g)
			return -1;
		g->strokes++;
		if (s->peak_n > g->peak_n)
			g->peak_n = s->peak_n;
		if (s->cap_n > 0 && s->peak_n > s->cap_n)
			g->over++;
		if (g->cap_n == 0 || (s->cap_n > 0 && s->cap_n < g->cap_n))
			g->cap_n = s->cap_n;
	}
	for (size_t i = 0; i < r->nevents; i++) {
		struct clinic_report_region *g = clinic_report_region(r, r->events[i].region);

		if (!g)
			return -1;
		if (g->cap_n == 0)
			g->cap_n = r->events[i].limit_n;
	}
	return 0;
}

struct lines {
	struct clinic_report_line *v;
	size_t n, cap;
	int oom;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void add(struct lines *l, enum clinic_report_line_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct clinic_report_line *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv) {
			l->oom = 1;
			return;
		}
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n].kind = kind;
	va_start(ap, fmt);
	vsnprintf(l->v[l->n].text, sizeof(l->v[l->n].text), fmt, ap);
	va_end(ap);
	l->n++;
}

static const char *kind_text(const char *k)
{
	if (strcmp(k, "exceeded") == 0)
		return "OVER THE CAP";
	if (strcmp(k, "warning") == 0)
		return "near the cap";
	if (strcmp(k, "cap_strokes") == 0)
		return "stroke cap reached";
	if (strcmp(k, "cap_time") == 0)
		return "time cap reached";
	return k;
}

uint32_t clinic_pass_next(struct clinic_pass_counter *c, uint32_t burst)
{
	if (!burst) {
		c->burst = c->pass = 0;
		return 0;
	}
	c->pass = burst == c->burst ? c->pass + 1 : 1;
	c->burst = burst;
	return c->pass;
}

void clinic_report_number_passes(struct clinic_report_stroke *s, size_t n)
{
	struct clinic_pass_counter c = { 0 };
	size_t i = 0;

	for (i = 0; i < n; i++)
		s[i].pass = clinic_pass_next(&c, s[i].burst);
	/* each burst's last pass is its number of passes */
	for (i = n; i-- > 0;)
		s[i].passes = !s[i].burst ? 0 :
			      i + 1 < n && s[i + 1].burst == s[i].burst ? s[i + 1].passes : s[i].pass;
}

void clinic_pass_text(char *buf, size_t len, uint32_t burst, uint32_t pass, uint32_t passes)
{
	if (!burst)
		snprintf(buf, len, "%s", "");
	else if (passes)
		snprintf(buf, len, "burst %u · pass %u/%u", burst, pass, passes);
	else
		snprintf(buf, len, "burst %u · pass %u", burst, pass);
}

void clinic_burst_text(char *buf, size_t len, const struct clinic_report_burst *b)
{
	snprintf(buf, len, "Burst %u: %u pass%s in %.1f s, peak %.1f N", b->index, b->passes,
		 b->passes == 1 ? "" : "es", b->duration_s, b->peak_n);
}

struct clinic_report_line *clinic_report_lines(const struct clinic_report *r, size_t *n)
{
	struct lines l = { 0 };
	char a[48], b[48];

	clinic_format_time(r->started_us, a, sizeof(a));
	clinic_format_time(r->ended_us, b, sizeof(b));
	add(&l, CLINIC_LINE_TITLE, "IASTM session report");
	add(&l, CLINIC_LINE_TEXT, "Patient reference: %s%s%s%s", r->patient_ref,
	    r->display_name[0] ? " (" : "", r->display_name, r->display_name[0] ? ")" : "");
	add(&l, CLINIC_LINE_TEXT, "Session %llu: %s to %s (local time), %s",
	    (unsigned long long)r->session_id, a, b, r->state);
	add(&l, CLINIC_LINE_TEXT, "Clinician: %s", r->clinician);
	add(&l, CLINIC_LINE_TEXT, "Instrument: %s", r->instrument);
	add(&l, CLINIC_LINE_TEXT, "Calibration: %s", r->calibration);
	if (r->flags[0])
		add(&l, CLINIC_LINE_ALERT, "Flags: %s", r->flags);
	if (r->override_reason[0])
		add(&l, CLINIC_LINE_ALERT, "Contraindication overridden: %s", r->override_reason);
	add(&l, CLINIC_LINE_TEXT, "%u strokes, %u over the cap, %u warnings; %.0f s under load; peak %.1f N%s",
	    r->stroke_count, r->violation_count, r->warning_count, r->seconds_under_load, r->peak_n,
	    r->lost_samples ? "; samples were lost (see the record)" : "");

	add(&l, CLINIC_LINE_HEADING, "Regions and caps");
	if (!r->nregions)
		add(&l, CLINIC_LINE_TEXT, "No strokes were recorded.");
	for (size_t i = 0; i < r->nregions; i++) {
		const struct clinic_report_region *g = &r->regions[i];

		add(&l, g->over ? CLINIC_LINE_ALERT : CLINIC_LINE_TEXT,
		    "%s: cap %.1f N; %u stroke%s, peak %.1f N, %u over the cap", g->region, g->cap_n,
		    g->strokes, g->strokes == 1 ? "" : "s", g->peak_n, g->over);
		if (g->reasons[0])
			add(&l, CLINIC_LINE_TEXT, "    why this cap: %s", g->reasons);
	}

	add(&l, CLINIC_LINE_HEADING, "Violations and cap events");
	if (!r->nevents)
		add(&l, CLINIC_LINE_TEXT, "None.");
	for (size_t i = 0; i < r->nevents; i++) {
		const struct clinic_report_event *e = &r->events[i];

		add(&l, strcmp(e->kind, "exceeded") == 0 ? CLINIC_LINE_ALERT : CLINIC_LINE_TEXT,
		    "%8.1f s  %-9s %s: %.1f N (cap %.1f N)", e->t_s, e->region, kind_text(e->kind),
		    e->force_n, e->limit_n);
	}

	add(&l, CLINIC_LINE_HEADING, "Pauses");
	if (!r->pauses_known)
		add(&l, CLINIC_LINE_TEXT, "Not recorded by this version of the service.");
	else if (!r->npauses)
		add(&l, CLINIC_LINE_TEXT, "None.");
	for (size_t i = 0; i < r->npauses; i++) {
		if (isnan(r->pauses[i].end_s))	/* the daemon stopped during the pause */
			add(&l, CLINIC_LINE_TEXT, "%8.1f s to the end (service stopped): %s",
			    r->pauses[i].start_s, r->pauses[i].reason);
		else
			add(&l, CLINIC_LINE_TEXT, "%8.1f s to %.1f s: %s", r->pauses[i].start_s,
			    r->pauses[i].end_s, r->pauses[i].reason);
	}

	/* passes per burst: how the strokes were grouped in continuous contact */
	add(&l, CLINIC_LINE_HEADING, "Bursts (continuous contact) and their passes");
	if (!r->bursts_known)
		add(&l, CLINIC_LINE_TEXT, "Not recorded by this version of the service.");
	else if (!r->nbursts)
		add(&l, CLINIC_LINE_TEXT, "None.");
	for (size_t i = 0; i < r->nbursts; i++) {
		char t[160];

		clinic_burst_text(t, sizeof(t), &r->bursts[i]);
		add(&l, CLINIC_LINE_TEXT, "%8.1f s  %s", r->bursts[i].start_s, t);
	}

	add(&l, CLINIC_LINE_HEADING, "Strokes");
	if (!r->nstrokes)
		add(&l, CLINIC_LINE_TEXT, "None.");
	for (size_t i = 0; i < r->nstrokes; i++) {
		const struct clinic_report_stroke *s = &r->strokes[i];
		int over = s->cap_n > 0 && s->peak_n > s->cap_n;
		char pass[64];

		clinic_pass_text(pass, sizeof(pass), s->burst, s->pass, s->passes);
		add(&l, over ? CLINIC_LINE_ALERT : CLINIC_LINE_TEXT,
		    "#%-4u %7.1f s  %-12s %s%speak %4.1f N  mean %4.1f N  cap %4.1f N  %4.2f s%s", s->index,
		    s->start_s, s->region, pass, pass[0] ? "  " : "", s->peak_n, s->mean_n, s->cap_n,
		    s->duration_s, over ? "  OVER" : "");
	}
	clinic_format_time(r->printed_us, a, sizeof(a));
	add(&l, CLINIC_LINE_TEXT, "Printed %s from the Strigil service's records.", a);
	if (l.oom) {
		free(l.v);
		*n = 0;
		return NULL;
	}
	*n = l.n;
	return l.v;
}

void clinic_report_free(struct clinic_report *r)
{
	free(r->strokes);
	free(r->events);
	free(r->pauses);
	free(r->bursts);
	free(r->regions);
	memset(r, 0, sizeof(*r));
}
