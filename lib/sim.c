// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Simulator: synthetic instrument signals with known ground truth.
 *
 * The clean normal force is a sequence of strokes separated by rests. A
 * stroke is a half-cosine rise, a plateau and a half-cosine fall (rise and
 * fall of different lengths), modulated by physiological tremor (8-12 Hz,
 * 0.5-3 %) and optionally by a strum-like dip (a raised-cosine notch of
 * 10-35 ms). On top come the sensor's imperfections: white noise, mains
 * hum, a bounded baseline wander, single-sample spikes, lost USB frames
 * (runs of 1-12 samples) and host timestamp jitter. Shear follows the force
 * through a friction coefficient in a per-stroke direction; tilt is a
 * per-stroke holding angle.
 *
 * Everything is drawn from one splitmix64 stream seeded by the config, so
 * a seed always gives the same trace. docs/engine.md describes the model
 * and the ground-truth definitions.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strigil.h"

#define TRUTH_KEEP 1024		/* strokes kept in endless mode */
#define SCAN_STEP 2e-4		/* s, resolution of truth scans */
#define WANDER_PERIOD 600.0	/* s, period of the baseline wander */
#define FRAME_MAX 12		/* samples per USB frame (one channel) */

struct sg_sim {
	struct sg_sim_config c;
	struct sg_sim_segment script[SG_SIM_MAX_SEGMENTS];
	size_t script_pos;
	bool script_done;

	uint64_t rng;
	bool have_gauss;
	double gauss;

	uint64_t k;			/* next sample index */
	double period;
	double seg_end;			/* current segment ends here */
	double pending_rest;		/* rest drawn with the current stroke */
	bool in_stroke;
	struct sg_sim_truth cur;	/* current or last stroke */
	double tilt_deg;		/* tool holding angle */

	double hum_phase, wander_phase, wander_amp;
	unsigned drop_left;
	uint64_t dropped;
	double clean;
	bool finished;

	struct sg_sim_truth *truth;
	size_t ntruth, cap;
};

/* ---- random numbers ------------------------------------------------- */

static uint64_t next_u64(struct sg_sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double uniform(struct sg_sim *s)	/* [0, 1) */
{
	return (double)(next_u64(s) >> 11) * 0x1.0p-53;
}

static double between(struct sg_sim *s, double lo, double hi)
{
	return lo + (hi - lo) * uniform(s);
}

static double gaussian(struct sg_sim *s)
{
	double u, v, r;

	if (s->have_gauss) {
		s->have_gauss = false;
		return s->gauss;
	}
	do {
		u = 2.0 * uniform(s) - 1.0;
		v = 2.0 * uniform(s) - 1.0;
		r = u * u + v * v;
	} while (r >= 1.0 || r == 0.0);
	r = sqrt(-2.0 * log(r) / r);
	s->gauss = v * r;
	s->have_gauss = true;
	return u * r;
}

/* ---- configuration -------------------------------------------------- */

void sg_sim_config_default(struct sg_sim_config *c)
{
	*c = (struct sg_sim_config){
		.seed = 1,
		.rate_hz = 1000.0,
		.duration_s = 60.0,
		.stroke_rate_hz = 0.6,
		.stroke_duty = 0.5,
		.peak_mean_n = 6.0,
		.peak_sd_n = 2.5,
		.noise_n = 0.03,
		.hum_n = 0.0,
		.hum_hz = 50.0,
		.drift_n_per_s = 0.0,
		.spike_rate_hz = 0.0,
		.spike_n = 20.0,
		.drop_prob = 0.0,
		.dip_prob = 0.0,
		.jitter_s = 0.0,
		.over_prob = 0.0,
		.over_n = 0.0,
		.has = 0,
	};
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool in_range(double v, double lo, double hi)
{
	return v >= lo && v <= hi;	/* false for NaN */
}

static int check_segment(const struct sg_sim_segment *g, size_t i,
			 char *err, size_t errlen)
{
	if (g->type != SG_SIM_REST && g->type != SG_SIM_STROKE)
		return fail(err, errlen, "segment %zu: unknown type", i + 1);
	if (!in_range(g->duration_s, 0.001, 3600.0))
		return fail(err, errlen, "segment %zu: duration must be 0.001..3600 s", i + 1);
	if (g->type == SG_SIM_REST)
		return 0;
	if (!in_range(g->peak_n, 0.0, 1000.0))
		return fail(err, errlen, "segment %zu: peak must be 0..1000 N", i + 1);
	if (!(g->rise_frac == 0.0 || in_range(g->rise_frac, 0.01, 0.98)))
		return fail(err, errlen, "segment %zu: rise must be 0.01..0.98", i + 1);
	if (!(g->plateau_frac < 0.0 || in_range(g->plateau_frac, 0.0, 0.97)) ||
	    isnan(g->plateau_frac))
		return fail(err, errlen, "segment %zu: plateau must be 0..0.97", i + 1);
	if (g->rise_frac > 0 && g->plateau_frac > 0 &&
	    g->rise_frac + g->plateau_frac > 0.99)
		return fail(err, errlen, "segment %zu: rise + plateau must leave a fall", i + 1);
	if (!(g->dip_at_frac == 0.0 || in_range(g->dip_at_frac, 0.01, 0.99)))
		return fail(err, errlen, "segment %zu: dip position must be 0.01..0.99", i + 1);
	if (!(g->dip_s == 0.0 || in_range(g->dip_s, 0.001, 1.0)))
		return fail(err, errlen, "segment %zu: dip length must be 0.001..1 s", i + 1);
	return 0;
}

int sg_sim_config_check(const struct sg_sim_config *c, char *err,
			size_t errlen)
{
	if (!c)
		return fail(err, errlen, "no configuration");
	if (!in_range(c->rate_hz, 10.0, 20000.0))
		return fail(err, errlen, "rate must be 10..20000 Hz");
	if (isnan(c->duration_s) || c->duration_s > 1e7)
		return fail(err, errlen, "duration must be <= 1e7 s (<= 0: endless)");
	if (!in_range(c->stroke_rate_hz, 0.01, 5.0))
		return fail(err, errlen, "stroke rate must be 0.01..5 Hz");
	if (!in_range(c->stroke_duty, 0.05, 0.95))
		return fail(err, errlen, "stroke duty must be 0.05..0.95");
	if (!in_range(c->peak_mean_n, 0.0, 500.0) || !in_range(c->peak_sd_n, 0.0, 500.0))
		return fail(err, errlen, "peak mean and sd must be 0..500 N");
	if (!in_range(c->noise_n, 0.0, 100.0) || !in_range(c->hum_n, 0.0, 100.0))
		return fail(err, errlen, "noise and hum must be 0..100 N");
	if (!in_range(c->hum_hz, 0.0, 1000.0))
		return fail(err, errlen, "hum frequency must be 0..1000 Hz");
	if (!in_range(c->drift_n_per_s, -10.0, 10.0))
		return fail(err, errlen, "drift must be -10..10 N/s");
	if (!in_range(c->spike_rate_hz, 0.0, c->rate_hz) || !in_range(c->spike_n, 0.0, 10000.0))
		return fail(err, errlen, "spike rate must be 0..rate Hz and spike size 0..10000 N");
	if (!in_range(c->drop_prob, 0.0, 0.5))
		return fail(err, errlen, "drop probability must be 0..0.5");
	if (!in_range(c->dip_prob, 0.0, 1.0) || !in_range(c->over_prob, 0.0, 1.0))
		return fail(err, errlen, "dip and over-limit probabilities must be 0..1");
	if (!in_range(c->jitter_s, 0.0, 1.0))
		return fail(err, errlen, "jitter must be 0..1 s");
	if (!in_range(c->over_n, 0.0, 1000.0))
		return fail(err, errlen, "over-limit peak must be 0..1000 N");
	if (c->over_prob > 0 && !(c->over_n > 0))
		return fail(err, errlen, "over-limit strokes need an over-limit peak");
	if (c->has & ~(SG_HAS_SHEAR | SG_HAS_TILT))
		return fail(err, errlen, "unknown channel flags 0x%x", c->has);
	if (c->script) {
		if (c->nscript == 0 || c->nscript > SG_SIM_MAX_SEGMENTS)
			return fail(err, errlen, "a script has 1..%d segments", SG_SIM_MAX_SEGMENTS);
		for (size_t i = 0; i < c->nscript; i++) {
			int r = check_segment(&c->script[i], i, err, errlen);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* ---- script text ---------------------------------------------------- */

static int parse_option(struct sg_sim_segment *g, char *w, size_t i,
			char *err, size_t errlen)
{
	char *eq = strchr(w, '='), *colon;

	if (!eq)
		return fail(err, errlen, "segment %zu: unexpected '%s'", i, w);
	*eq++ = '\0';
	if (strcmp(w, "rise") == 0) {
		if (!sg_parse_number(eq, &g->rise_frac))
			return fail(err, errlen, "segment %zu: bad rise '%s'", i, eq);
	} else if (strcmp(w, "plateau") == 0) {
		if (!sg_parse_number(eq, &g->plateau_frac))
			return fail(err, errlen, "segment %zu: bad plateau '%s'", i, eq);
	} else if (strcmp(w, "dip") == 0) {
		colon = strchr(eq, ':');
		if (colon) {
			*colon++ = '\0';
			if (!sg_parse_number(colon, &g->dip_s))
				return fail(err, errlen, "segment %zu: bad dip length '%s'", i, colon);
		}
		if (!sg_parse_number(eq, &g->dip_at_frac))
			return fail(err, errlen, "segment %zu: bad dip position '%s'", i, eq);
	} else {
		return fail(err, errlen, "segment %zu: unknown option '%s'", i, w);
	}
	return 0;
}

static int parse_segment(char *text, struct sg_sim_segment *g, size_t i,
			 char *err, size_t errlen)
{
	char *words[8], *save = NULL, *w;
	size_t n = 0;

	for (w = strtok_r(text, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (n == 8)
			return fail(err, errlen, "segment %zu: too many words", i);
		words[n++] = w;
	}
	if (n == 0)
		return fail(err, errlen, "segment %zu: empty", i);
	memset(g, 0, sizeof(*g));
	g->plateau_frac = -1.0;
	if (strcmp(words[0], "rest") == 0) {
		g->type = SG_SIM_REST;
		if (n != 2 || !sg_parse_number(words[1], &g->duration_s))
			return fail(err, errlen, "segment %zu: expected 'rest SECONDS'", i);
	} else if (strcmp(words[0], "stroke") == 0) {
		g->type = SG_SIM_STROKE;
		if (n < 3 || !sg_parse_number(words[1], &g->peak_n) ||
		    !sg_parse_number(words[2], &g->duration_s))
			return fail(err, errlen,
				    "segment %zu: expected 'stroke PEAK_N SECONDS [rise=F] [plateau=F] [dip=F[:S]]'", i);
		for (size_t k = 3; k < n; k++) {
			int r = parse_option(g, words[k], i, err, errlen);

			if (r < 0)
				return r;
		}
	} else {
		return fail(err, errlen, "segment %zu: unknown segment '%s' (rest, stroke)", i, words[0]);
	}
	return check_segment(g, i - 1, err, errlen);
}

int sg_sim_script_parse(const char *text, struct sg_sim_segment *seg,
			size_t max, char *err, size_t errlen)
{
	char *copy, *p, *save = NULL;
	size_t n = 0;
	int r = 0;

	if (!text)
		return fail(err, errlen, "no script");
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (p = strtok_r(copy, ";\n", &save); p; p = strtok_r(NULL, ";\n", &save)) {
		if (strspn(p, " \t\r") == strlen(p))
			continue;	/* empty segment */
		if (n == max) {
			r = fail(err, errlen, "more than %zu segments", max);
			break;
		}
		r = parse_segment(p, &seg[n], n + 1, err, errlen);
		if (r < 0)
			break;
		n++;
	}
	free(copy);
	if (r < 0)
		return r;
	if (n == 0)
		return fail(err, errlen, "empty script");
	return (int)n;
}

/* ---- the clean stroke shape ----------------------------------------- */

static double envelope(const struct sg_sim_truth *t, double u)
{
	double fall = (t->end_s - t->start_s) - t->rise_s - t->plateau_s;

	if (u < t->rise_s)
		return 0.5 * t->envelope_n * (1.0 - cos(M_PI * u / t->rise_s));
	u -= t->rise_s;
	if (u <= t->plateau_s)
		return t->envelope_n;
	u -= t->plateau_s;
	if (u >= fall)
		return 0.0;
	return 0.5 * t->envelope_n * (1.0 + cos(M_PI * u / fall));
}

double sg_sim_truth_force(const struct sg_sim_truth *t, double time_s)
{
	double u = time_s - t->start_s, f;

	if (!(time_s > t->start_s && time_s < t->end_s))
		return 0.0;
	f = envelope(t, u);
	f *= 1.0 + t->tremor * sin(2.0 * M_PI * t->tremor_hz * u + t->tremor_phase);
	if (t->dip_s > 0 && fabs(time_s - t->dip_at_s) < 0.5 * t->dip_s)
		f *= 1.0 - t->dip_depth * 0.5 *
			(1.0 + cos(2.0 * M_PI * (time_s - t->dip_at_s) / t->dip_s));
	return f;
}

/* The time span [*a, *b] outside which the clean force stays below level
 * (the envelope times at most 1 + tremor): scans need only cover it. */
static bool level_window(const struct sg_sim_truth *t, double level, double *a, double *b)
{
	double dur = t->end_s - t->start_s, fall = dur - t->rise_s - t->plateau_s;
	double e = level / (1.0 + t->tremor), q;

	if (level <= 0.0 || e <= 0.0) {
		*a = t->start_s;
		*b = t->end_s;
		return true;
	}
	if (e > t->envelope_n)
		return false;
	/* envelope = P/2 (1 - cos(pi u / rise)) >= e  <=>  u >= rise/pi acos(1 - 2e/P) */
	q = acos(fmax(-1.0, fmin(1.0, 1.0 - 2.0 * e / t->envelope_n))) / M_PI;
	*a = t->start_s + q * t->rise_s - SCAN_STEP;
	*b = t->start_s + t->rise_s + t->plateau_s + (1.0 - q) * fall + SCAN_STEP;
	return true;
}

double sg_sim_truth_run_above(const struct sg_sim_truth *t, double level,
			      double *first)
{
	double best = 0.0, since = NAN, a, b;

	if (first)
		*first = NAN;
	if (!level_window(t, level, &a, &b))
		return 0.0;
	for (double x = a; x <= b + SCAN_STEP; x += SCAN_STEP) {
		if (sg_sim_truth_force(t, x) >= level) {
			if (isnan(since))
				since = x;
			if (first && isnan(*first))
				*first = x;
			if (x - since + SCAN_STEP > best)
				best = x - since + SCAN_STEP;
		} else {
			since = NAN;
		}
	}
	return best;
}

double sg_sim_truth_first_run(const struct sg_sim_truth *t, double level,
			      double min_s)
{
	double since = NAN, a, b;

	if (!level_window(t, level, &a, &b))
		return NAN;
	for (double x = a; x <= b + SCAN_STEP; x += SCAN_STEP) {
		if (sg_sim_truth_force(t, x) >= level) {
			if (isnan(since))
				since = x;
			if (x - since + SCAN_STEP >= min_s)
				return since;
		} else {
			since = NAN;
		}
	}
	return NAN;
}

enum sg_sim_verdict sg_sim_truth_verdict(const struct sg_sim_truth *t,
					 double limit_n, double sustain_s)
{
	if (!(limit_n > 0) || !isfinite(limit_n))
		return SG_SIM_SAFE;
	if (sg_sim_truth_run_above(t, limit_n * (1.0 + SG_SIM_MARGIN), NULL) >=
	    2.0 * sustain_s)
		return SG_SIM_VIOLATION;
	if (sg_sim_truth_run_above(t, limit_n * (1.0 - SG_SIM_MARGIN), NULL) <
	    0.5 * sustain_s)
		return SG_SIM_SAFE;
	return SG_SIM_AMBIGUOUS;
}

static double truth_peak(const struct sg_sim_truth *t)
{
	double peak = 0.0, a = 0, b = 0, at = 0, step = 1e-3;

	/* the maximum is at least envelope x (1 - tremor) x (1 - dip) and a
	 * dip is shorter than the span where the envelope is above 0.8 P */
	if (!level_window(t, 0.8 * t->envelope_n, &a, &b))
		return 0.0;
	/* coarse (1 ms: tremor and dips are >= 10 ms wide), then refined */
	for (double x = a; x <= b; x += step) {
		double f = sg_sim_truth_force(t, x);

		if (f > peak) {
			peak = f;
			at = x;
		}
	}
	for (double x = at - step; x <= at + step; x += 1e-5)
		peak = fmax(peak, sg_sim_truth_force(t, x));
	return peak;
}

/* ---- stroke scheduling ---------------------------------------------- */

static int keep_truth(struct sg_sim *s)
{
	if (s->ntruth == s->cap) {
		if (s->c.duration_s <= 0 && s->ntruth >= TRUTH_KEEP) {
			/* Endless: forget the older half. */
			memmove(s->truth, s->truth + TRUTH_KEEP / 2,
				(s->ntruth - TRUTH_KEEP / 2) * sizeof(*s->truth));
			s->ntruth -= TRUTH_KEEP / 2;
		} else {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct sg_sim_truth *t = realloc(s->truth, cap * sizeof(*t));

			if (!t)
				return -ENOMEM;
			s->truth = t;
			s->cap = cap;
		}
	}
	s->truth[s->ntruth++] = s->cur;
	return 0;
}

/* Draws what the segment leaves open, then fixes the stroke's truth. */
static void begin_stroke(struct sg_sim *s, double start, const struct sg_sim_segment *g)
{
	struct sg_sim_truth *t = &s->cur;
	double dur = g->duration_s, rise, plat;

	memset(t, 0, sizeof(*t));
	t->start_s = start;
	t->end_s = start + dur;
	t->envelope_n = g->peak_n;
	rise = g->rise_frac > 0 ? g->rise_frac : between(s, 0.20, 0.45);
	plat = g->plateau_frac >= 0 ? g->plateau_frac : between(s, 0.0, 0.35);
	if (rise + plat > 0.9)
		plat = fmax(0.0, 0.9 - rise);
	t->rise_s = rise * dur;
	t->plateau_s = plat * dur;
	t->tremor = between(s, 0.005, 0.03);
	t->tremor_hz = between(s, 8.0, 12.0);
	t->tremor_phase = between(s, 0.0, 2.0 * M_PI);
	if (g->dip_at_frac > 0) {
		t->dip_at_s = start + g->dip_at_frac * dur;
		t->dip_s = g->dip_s > 0 ? g->dip_s : between(s, 0.010, 0.035);
		t->dip_depth = between(s, 0.85, 1.0);
	}
	t->has = s->c.has;
	if (t->has & SG_HAS_SHEAR) {
		t->shear_mu = between(s, 0.15, 0.40);
		t->direction_deg = between(s, -180.0, 180.0);
	}
	if (t->has & SG_HAS_TILT)
		s->tilt_deg = between(s, 25.0, 55.0);
	t->mean_tilt_deg = s->tilt_deg;
	t->peak_n = truth_peak(t);
	t->peak_shear_n = t->shear_mu * t->peak_n;
	if (s->c.over_n > 0)
		t->above_s = sg_sim_truth_run_above(t, s->c.over_n, NULL);
}

/* A random stroke following the config's statistics. */
static void random_stroke(struct sg_sim *s, struct sg_sim_segment *g, double *rest)
{
	double cycle = between(s, 0.85, 1.15) / s->c.stroke_rate_hz;
	double dur = s->c.stroke_duty * cycle * between(s, 0.85, 1.15);
	double peak;
	bool over = s->c.over_prob > 0 && uniform(s) < s->c.over_prob;

	dur = fmax(dur, 0.20);
	*rest = fmax(cycle - dur, 0.25);
	memset(g, 0, sizeof(*g));
	g->type = SG_SIM_STROKE;
	g->duration_s = dur;
	g->plateau_frac = -1.0;
	if (over) {
		peak = s->c.over_n;
		g->plateau_frac = between(s, 0.15, 0.35);
	} else {
		int tries = 0;

		do {
			peak = s->c.peak_mean_n + s->c.peak_sd_n * gaussian(s);
		} while ((peak < 1.5 || peak > 3.0 * s->c.peak_mean_n) && ++tries < 16);
		peak = fmin(fmax(peak, 1.5), fmax(3.0 * s->c.peak_mean_n, 1.5));
	}
	g->peak_n = peak;
	if (s->c.dip_prob > 0 && uniform(s) < s->c.dip_prob)
		g->dip_at_frac = between(s, 0.3, 0.7);
	s->cur.over = over;
}

/* Starts the segment that follows at time t; false when the trace ends. */
static bool next_segment(struct sg_sim *s, double t)
{
	struct sg_sim_segment g;
	double rest = 0.0;

	if (s->c.script) {
		if (s->script_pos == s->c.nscript) {
			if (!s->c.script_loop)
				return false;
			s->script_pos = 0;
		}
		g = s->script[s->script_pos++];
	} else if (s->in_stroke) {
		/* the rest after a stroke was drawn with it */
		s->in_stroke = false;
		s->seg_end = t + s->pending_rest;
		return true;
	} else {
		random_stroke(s, &g, &rest);
		if (s->c.duration_s > 0 && t + g.duration_s > s->c.duration_s - 0.2) {
			s->seg_end = INFINITY;	/* no room: rest to the end */
			return true;
		}
	}
	s->in_stroke = g.type == SG_SIM_STROKE;
	s->seg_end = t + g.duration_s;
	s->pending_rest = rest;
	if (s->in_stroke) {
		bool over = s->cur.over && !s->c.script;

		begin_stroke(s, t, &g);
		s->cur.over = over;
		if (keep_truth(s) < 0) {
			s->finished = true;
			return false;
		}
	}
	return true;
}

struct sg_sim *sg_sim_new(const struct sg_sim_config *c)
{
	struct sg_sim *s;

	if (sg_sim_config_check(c, NULL, 0) < 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->c = *c;
	if (c->script) {
		memcpy(s->script, c->script, c->nscript * sizeof(*c->script));
		s->c.script = s->script;
	}
	s->rng = c->seed ^ 0x5374726967696c00ull;	/* "Strigil" */
	s->period = 1.0 / c->rate_hz;
	s->hum_phase = between(s, 0.0, 2.0 * M_PI);
	s->wander_phase = between(s, 0.0, 2.0 * M_PI);
	s->wander_amp = c->drift_n_per_s * WANDER_PERIOD / (2.0 * M_PI);
	s->tilt_deg = between(s, 25.0, 55.0);
	/* A quiet start (the engine settles), unless a script says otherwise. */
	s->seg_end = c->script ? 0.0 : between(s, 0.5, 1.0);
	return s;
}

void sg_sim_free(struct sg_sim *s)
{
	if (!s)
		return;
	free(s->truth);
	free(s);
}

int sg_sim_next(struct sg_sim *s, struct sg_sample *out)
{
	for (;;) {
		double t, f, x, base, sx = 0, sy = 0;

		if (s->finished)
			return 0;
		t = (double)s->k * s->period;
		s->k++;
		if (s->c.duration_s > 0 && t >= s->c.duration_s) {
			s->finished = true;
			return 0;
		}
		while (t >= s->seg_end) {
			if (!next_segment(s, s->seg_end)) {
				s->finished = true;
				return 0;
			}
		}
		f = s->in_stroke ? sg_sim_truth_force(&s->cur, t) : 0.0;
		s->clean = f;

		/* Lost USB frames: runs of 1..12 samples. */
		if (s->drop_left) {
			s->drop_left--;
			s->dropped++;
			continue;
		}
		if (s->c.drop_prob > 0 && uniform(s) < s->c.drop_prob) {
			s->drop_left = (unsigned)(uniform(s) * FRAME_MAX);
			s->dropped++;
			continue;
		}

		base = 0.0;
		if (s->wander_amp != 0.0)
			base = s->wander_amp * (sin(2.0 * M_PI * t / WANDER_PERIOD + s->wander_phase) -
						sin(s->wander_phase));
		x = f + base;
		if (s->c.noise_n > 0)
			x += s->c.noise_n * gaussian(s);
		if (s->c.hum_n > 0)
			x += s->c.hum_n * sin(2.0 * M_PI * s->c.hum_hz * t + s->hum_phase);
		if (s->c.spike_rate_hz > 0 && uniform(s) < s->c.spike_rate_hz * s->period)
			x += (uniform(s) < 0.5 ? -1.0 : 1.0) * s->c.spike_n * between(s, 0.5, 1.5);

		memset(out, 0, sizeof(*out));
		out->force_n = x;
		out->t_s = t;
		if (s->c.jitter_s > 0)
			out->t_s += s->c.jitter_s * (2.0 * uniform(s) - 1.0);
		if (s->c.nan_time)
			out->t_s = NAN;
		out->has = s->c.has;
		if (s->c.has & SG_HAS_SHEAR) {
			double mu = s->in_stroke ? s->cur.shear_mu : 0.0;
			double d = s->cur.direction_deg * (M_PI / 180.0);

			sx = mu * f * cos(d);
			sy = mu * f * sin(d);
			if (s->c.noise_n > 0) {
				sx += s->c.noise_n * gaussian(s);
				sy += s->c.noise_n * gaussian(s);
			}
			out->shear_x_n = sx;
			out->shear_y_n = sy;
		}
		if (s->c.has & SG_HAS_TILT)
			out->tilt_deg = s->tilt_deg + (s->c.noise_n > 0 ? 0.1 * gaussian(s) : 0.0);
		return 1;
	}
}

const struct sg_sim_truth *sg_sim_truth(const struct sg_sim *s, size_t *n)
{
	*n = s->ntruth;
	return s->truth;
}

double sg_sim_clean_force(const struct sg_sim *s)
{
	return s->clean;
}

uint64_t sg_sim_dropped(const struct sg_sim *s)
{
	return s->dropped;
}
