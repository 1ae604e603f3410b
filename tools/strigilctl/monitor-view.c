// SPDX-License-Identifier: LGPL-2.1-or-later
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "monitor-view.h"

#define EOL "\033[K\n"
#define SGR_RED "\033[1;31m"
#define SGR_YEL "\033[1;33m"
#define SGR_GRN "\033[32m"
#define SGR_DIM "\033[2m"
#define SGR_OFF "\033[0m"

void mon_state_init(struct mon_state *m)
{
	memset(m, 0, sizeof(*m));
	m->force_n = NAN;
	m->limit_n = NAN;
	m->warn_fraction = 0.9;
	snprintf(m->alert, sizeof(m->alert), "off");
}

void mon_note_stroke_time(struct mon_state *m, double t_s)
{
	if (m->nstroke_t == MON_RATE_WINDOW) {
		memmove(m->stroke_t, m->stroke_t + 1, sizeof(m->stroke_t[0]) * (MON_RATE_WINDOW - 1));
		m->nstroke_t--;
	}
	m->stroke_t[m->nstroke_t++] = t_s;
}

double mon_stroke_rate(const struct mon_state *m)
{
	double span;

	if (m->nstroke_t < 2)
		return NAN;
	span = m->stroke_t[m->nstroke_t - 1] - m->stroke_t[0];
	if (!(span > 0))
		return NAN;
	return (double)(m->nstroke_t - 1) / span * 60.0;
}

void mon_add_event(struct mon_state *m, const char *fmt, ...)
{
	va_list ap;

	if (m->nevents == MON_EVENTS) {
		memmove(m->events[0], m->events[1], sizeof(m->events[0]) * (MON_EVENTS - 1));
		m->nevents--;
	}
	va_start(ap, fmt);
	vsnprintf(m->events[m->nevents], sizeof(m->events[0]), fmt, ap);
	va_end(ap);
	m->nevents++;
}

void mon_bar(char *buf, int width, double force_n, double limit_n, double *scale_max)
{
	double max = 10.0;
	int fill = 0, cap = -1;

	if (width < 1) {
		buf[0] = '\0';
		return;
	}
	if (isfinite(limit_n) && limit_n > 0)
		max = limit_n * 1.25;
	if (isfinite(force_n) && force_n > max)
		max = force_n;
	if (isfinite(force_n) && force_n > 0)
		fill = (int)lround(force_n / max * width);
	if (fill > width)
		fill = width;
	if (isfinite(limit_n) && limit_n > 0) {
		cap = (int)lround(limit_n / max * width);
		if (cap >= width)
			cap = width - 1;
	}
	for (int i = 0; i < width; i++)
		buf[i] = i == cap ? '|' : i < fill ? '#' : '.';
	buf[width] = '\0';
	if (scale_max)
		*scale_max = max;
}

int mon_render(FILE *f, const struct mon_state *m, int width, bool color)
{
	char bar[256];
	double max, rate = mon_stroke_rate(m);
	int lines = 0, bw;
	const char *fc = "";
	bool over = isfinite(m->limit_n) && isfinite(m->force_n) && m->force_n > m->limit_n;
	bool near = !over && isfinite(m->limit_n) && isfinite(m->force_n) &&
		    m->force_n >= m->limit_n * m->warn_fraction;

	if (width < 40)
		width = 40;
	bw = width - 22;
	if (bw > (int)sizeof(bar) - 1)
		bw = (int)sizeof(bar) - 1;
	if (color)
		fc = over ? SGR_RED : near ? SGR_YEL : SGR_GRN;

	fprintf(f, "strigil monitor  %s %s  %s%s" EOL, m->serial, m->model,
		m->connected ? "connected" : "UNPLUGGED",
		m->streaming ? "" : " (not streaming)");
	lines++;
	if (m->have_session)
		fprintf(f, "session %s  %s  region %s" EOL, m->session_id, m->session_state,
			m->region);
	else
		fprintf(f, "no session (monitoring only)" EOL);
	lines++;
	if (isfinite(m->limit_n))
		fprintf(f, "limit %.1f N  (%s)" EOL, m->limit_n,
			m->limit_source[0] ? m->limit_source : "effective cap");
	else
		fprintf(f, "limit none" EOL);
	lines++;

	mon_bar(bar, bw, m->force_n, m->limit_n, &max);
	if (isfinite(m->force_n))
		fprintf(f, "force %s%6.2f N%s [%s%s%s]" EOL, fc,
			fabs(m->force_n) < 0.005 ? 0.0 : m->force_n, color ? SGR_OFF : "",
			fc, bar, color ? SGR_OFF : "");
	else
		fprintf(f, "force     -- N [%s]" EOL, bar);
	lines++;
	fprintf(f, "      %*s0%*s%.1f N" EOL, 8, "", bw - 4, "", max);
	lines++;
	if (m->target_max_n > 0) {
		fprintf(f, "target band %.1f-%.1f N" EOL, m->target_min_n, m->target_max_n);
		lines++;
	}

	fprintf(f, "strokes %u", m->strokes);
	if (m->max_strokes)
		fprintf(f, "/%u", m->max_strokes);
	if (isfinite(rate))
		fprintf(f, "  rate %.1f /min (%.2f Hz)", rate, rate / 60.0);
	else
		fprintf(f, "  rate --");
	fprintf(f, "  under load %.1f s", m->seconds_under_load);
	if (m->max_seconds > 0)
		fprintf(f, "/%.0f s", m->max_seconds);
	fprintf(f, EOL);
	lines++;
	if (m->have_last) {
		fprintf(f, "last stroke #%u  peak %.2f N  mean %.2f N  %.2f s",
			m->last_index, m->last_peak_n, m->last_mean_n, m->last_duration_s);
		/* passes back and forth without lifting: which pass of its burst */
		if (m->last_burst && m->last_pass)
			fprintf(f, "  burst %u pass %u", m->last_burst, m->last_pass);
		fprintf(f, "%s" EOL, isfinite(m->last_limit_n) && m->last_peak_n > m->last_limit_n ?
			"  OVER LIMIT" : "");
	} else
		fprintf(f, "last stroke --" EOL);
	lines++;
	fprintf(f, "%sviolations %u  warnings %u  alert %s%s" EOL,
		color && m->violations ? SGR_RED : "", m->violations, m->warnings, m->alert,
		color && m->violations ? SGR_OFF : "");
	lines++;
	fprintf(f, "%s" EOL, "events:");
	lines++;
	for (unsigned i = 0; i < MON_EVENTS; i++) {
		if (i < m->nevents) {
			const char *e = m->events[i];
			const char *c = !color ? "" :
				strstr(e, "EXCEEDED") ? SGR_RED :
				strstr(e, "WARNING") || strstr(e, "CAP") ? SGR_YEL : "";

			fprintf(f, "  %s%s%s" EOL, c, e, *c ? SGR_OFF : "");
		} else {
			fprintf(f, EOL);
		}
		lines++;
	}
	fprintf(f, "%s%s%s" EOL, color ? SGR_DIM : "",
		m->status[0] ? m->status : "Ctrl-C to quit", color ? SGR_OFF : "");
	lines++;
	return lines;
}
