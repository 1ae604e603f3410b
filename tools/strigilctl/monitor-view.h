/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigilctl monitor: the live view as a pure function of its state, so it
 * is tested without a terminal. monitor.c feeds the state from D-Bus
 * signals and redraws.
 */
#ifndef STRIGILCTL_MONITOR_VIEW_H
#define STRIGILCTL_MONITOR_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MON_EVENTS 6
#define MON_RATE_WINDOW 8

struct mon_state {
	char serial[40];
	char model[16];
	bool connected;
	bool streaming;
	double force_n;			/* NaN = no reading */
	double peak_hold_n;		/* highest force since the last stroke ended */

	bool have_session;
	char session_id[24];
	char session_state[16];
	char region[48];
	double limit_n;			/* effective cap, NaN = none */
	double warn_fraction;		/* 0.9 */
	char limit_source[96];
	double target_min_n, target_max_n;	/* 0 = none */
	uint32_t strokes, max_strokes;
	uint32_t violations, warnings;
	double seconds_under_load, max_seconds;

	bool have_last;
	double last_peak_n, last_mean_n, last_duration_s, last_limit_n;
	uint32_t last_index;
	/* the last stroke's burst (continuous contact) and its pass in it;
	 * 0: not known (an older daemon) */
	uint32_t last_burst, last_pass;

	/* Stroke end times (seconds) for the rate; ring buffer. */
	double stroke_t[MON_RATE_WINDOW];
	unsigned nstroke_t;

	char alert[16];			/* off, warning, exceeded */
	char events[MON_EVENTS][112];	/* newest last */
	unsigned nevents;
	char status[112];		/* one line: what is happening */
};

void mon_state_init(struct mon_state *m);
/* Records a stroke end time (s); strokes per minute over the last few. */
void mon_note_stroke_time(struct mon_state *m, double t_s);
double mon_stroke_rate(const struct mon_state *m);
void mon_add_event(struct mon_state *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Draws the view: one line per row, each ended by "clear to end of line";
 * color adds ANSI SGR colors. width: terminal columns (>= 40 used).
 * Returns the number of lines written.
 */
int mon_render(FILE *f, const struct mon_state *m, int width, bool color);

/* The force bar alone (for tests): width cells, '#' up to the force,
 * '|' at the cap position, scale to max(1.25 * cap, force). */
void mon_bar(char *buf, int width, double force_n, double limit_n, double *scale_max);

#endif
