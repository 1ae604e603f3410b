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
 * Bursts: a contact may be a series of passes back and forth without
 * lifting the tool. The force falls into a valley of random depth at each
 * turnaround; friction (shear = mu x force against the motion) flips there
 * as the velocity passes through zero, over a few ms; the direction of
 * travel may rotate within a pass (fanning) and need not reverse exactly
 * (zig-zag). Each pass is one stroke of the ground truth. The shear
 * channels get their own zero offset and drift.
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
#define PASS_MAX 16		/* passes per burst */

/* A pass of a burst, drawn when the burst begins. */
struct pass_plan {
	struct sg_sim_segment g;
	double left, right, turn_in, turn_out, mu, dir0, fan;
	bool over;
};

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

	/* bursts */
	struct pass_plan plan[PASS_MAX];
	unsigned nplan, iplan;
	uint32_t bursts;
	double burst_t0, burst_tremor, burst_tremor_hz, burst_tremor_phase;
	double shear_off_x, shear_off_y;
	double swander_amp, swander_phase_x, swander_phase_y;
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
		.burst_prob = 0.0,
		.burst_min = 3,
		.burst_max = 8,
		.pass_min_s = 0.3,
		.pass_max_s = 0.9,
		.valley_min = 0.15,
		.valley_max = 0.95,
		.turn_min_s = 0.004,
		.turn_max_s = 0.025,
		.mu_min = 0.15,
		.mu_max = 0.40,
		.fan_deg_s = 0.0,
		.zig_deg = 0.0,
	};
}

/* The burst fields of a config, 0 meaning the default. */
static void burst_defaults(struct sg_sim_config *c)
{
	struct sg_sim_config d;

	sg_sim_config_default(&d);
	if (c->burst_min == 0)
		c->burst_min = d.burst_min;
	if (c->burst_max == 0)
		c->burst_max = c->burst_min > d.burst_max ? c->burst_min : d.burst_max;
	if (c->pass_min_s == 0)
		c->pass_min_s = d.pass_min_s;
	if (c->pass_max_s == 0)
		c->pass_max_s = fmax(c->pass_min_s, d.pass_max_s);
	if (c->valley_min == 0 && c->valley_max == 0) {
		c->valley_min = d.valley_min;
		c->valley_max = d.valley_max;
	}
	if (c->turn_min_s == 0)
		c->turn_min_s = d.turn_min_s;
	if (c->turn_max_s == 0)
		c->turn_max_s = fmax(c->turn_min_s, d.turn_max_s);
	if (c->mu_min == 0)
		c->mu_min = d.mu_min;
	if (c->mu_max == 0)
		c->mu_max = fmax(c->mu_min, d.mu_max);
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
	{
		struct sg_sim_config b = *c;

		burst_defaults(&b);
		if (!in_range(b.burst_prob, 0.0, 1.0))
			return fail(err, errlen, "burst probability must be 0..1");
		if (b.burst_prob > 0 && !(b.has & SG_HAS_SHEAR))
			return fail(err, errlen, "bursts need the shear channels (turnarounds "
				    "are told by the shear)");
		if (b.burst_min < 1 || b.burst_max > PASS_MAX || b.burst_min > b.burst_max)
			return fail(err, errlen, "passes per burst must be 1..%d, min <= max", PASS_MAX);
		if (!in_range(b.pass_min_s, 0.05, 10.0) || !in_range(b.pass_max_s, b.pass_min_s, 10.0))
			return fail(err, errlen, "pass duration must be 0.05..10 s, min <= max");
		if (!in_range(b.valley_min, 0.0, 1.0) || !in_range(b.valley_max, b.valley_min, 1.0))
			return fail(err, errlen, "valley depth must be 0..1, min <= max");
		if (!in_range(b.turn_min_s, 0.0005, 0.5) || !in_range(b.turn_max_s, b.turn_min_s, 0.5))
			return fail(err, errlen, "turnaround time must be 0.0005..0.5 s, min <= max");
		if (!in_range(b.mu_min, 0.0, 2.0) || !in_range(b.mu_max, b.mu_min, 2.0))
			return fail(err, errlen, "friction coefficient must be 0..2, min <= max");
		if (!in_range(b.fan_deg_s, 0.0, 3600.0) || !in_range(b.zig_deg, 0.0, 90.0))
			return fail(err, errlen, "fanning must be 0..3600 deg/s and zig-zag 0..90 deg");
		if (!in_range(b.shear_offset_n, 0.0, 100.0) ||
		    !in_range(b.shear_drift_n_per_s, 0.0, 10.0))
			return fail(err, errlen, "shear offset must be 0..100 N and drift 0..10 N/s");
	}
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

/* From the level at its start (left_n, 0 at a touch-down) up to the peak,
 * a plateau, down to the level at its end (right_n, 0 at a lift). */
static double envelope(const struct sg_sim_truth *t, double u)
{
	double fall = (t->end_s - t->start_s) - t->rise_s - t->plateau_s;
	double l = t->left_n, r = t->right_n, p = t->envelope_n;

	if (u < t->rise_s)
		return l + 0.5 * (p - l) * (1.0 - cos(M_PI * u / t->rise_s));
	u -= t->rise_s;
	if (u <= t->plateau_s)
		return p;
	u -= t->plateau_s;
	if (u >= fall)
		return r;
	return r + 0.5 * (p - r) * (1.0 + cos(M_PI * u / fall));
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

/* Friction against the motion: mu x force in the direction of travel
 * (rotating at fan_deg_s), scaled down near a turnaround where the
 * velocity passes through zero: d / sqrt(d^2 + turn^2), d the time to the
 * turnaround (a regularised Coulomb law with the velocity linear in d). */
void sg_sim_truth_shear(const struct sg_sim_truth *t, double time_s,
			double *sx, double *sy)
{
	double u = time_s - t->start_s, m, d, h = 1.0;

	*sx = *sy = 0.0;
	if (!(t->has & SG_HAS_SHEAR) || !(time_s > t->start_s && time_s < t->end_s))
		return;
	if (t->turn_in_s > 0)
		h *= u / sqrt(u * u + t->turn_in_s * t->turn_in_s);
	if (t->turn_out_s > 0) {
		double v = t->end_s - time_s;

		h *= v / sqrt(v * v + t->turn_out_s * t->turn_out_s);
	}
	m = t->shear_mu * sg_sim_truth_force(t, time_s) * h;
	d = (t->direction0_deg + t->fan_deg_s * u) * (M_PI / 180.0);
	*sx = m * cos(d);
	*sy = m * sin(d);
}

/* The time span [*a, *b] outside which the clean force stays below level
 * (the envelope times at most 1 + tremor): scans need only cover it. */
static bool level_window(const struct sg_sim_truth *t, double level, double *a, double *b)
{
	double dur = t->end_s - t->start_s, fall = dur - t->rise_s - t->plateau_s;
	double e = level / (1.0 + t->tremor), q;

	if (level <= 0.0 || e <= 0.0 || t->left_n > 0 || t->right_n > 0) {
		/* (a pass between valleys: scan all of it) */
		*a = t->start_s;
		*b = t->end_s;
		return level <= 0.0 || e <= t->envelope_n;
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

/* Peak, shear truth and time above over_n, once the shape is fixed. A
 * rotating or turning shear is integrated numerically (1 ms steps): the
 * direction is that of the time-integrated shear, as the engine's. */
static void finish_truth(struct sg_sim *s, struct sg_sim_truth *t)
{
	t->peak_n = truth_peak(t);
	t->peak_shear_n = t->shear_mu * t->peak_n;
	if ((t->has & SG_HAS_SHEAR) &&
	    (t->fan_deg_s != 0 || t->turn_in_s > 0 || t->turn_out_s > 0)) {
		double ix = 0, iy = 0, m2 = 0;

		for (double x = t->start_s; x < t->end_s; x += 1e-3) {
			double sx, sy;

			sg_sim_truth_shear(t, x, &sx, &sy);
			ix += sx;
			iy += sy;
			m2 = fmax(m2, sx * sx + sy * sy);
		}
		t->direction_deg = atan2(iy, ix) * (180.0 / M_PI);
		t->peak_shear_n = sqrt(m2);
	}
	if (s->c.over_n > 0)
		t->above_s = sg_sim_truth_run_above(t, s->c.over_n, NULL);
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
		t->direction0_deg = t->direction_deg;
		if (s->c.fan_deg_s > 0)
			t->fan_deg_s = between(s, -s->c.fan_deg_s, s->c.fan_deg_s);
	}
	if (t->has & SG_HAS_TILT)
		s->tilt_deg = between(s, 25.0, 55.0);
	t->mean_tilt_deg = s->tilt_deg;
	t->burst = ++s->bursts;
	t->pass = t->passes = 1;
	t->end = SG_END_LIFT;
	finish_truth(s, t);
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

/* A peak as random_stroke() draws it: a deliberate violation (over_n,
 * plateau 15-35 %) with over_prob, else N(peak_mean, peak_sd) clamped. */
static double draw_peak(struct sg_sim *s, bool *over, double *plateau_frac)
{
	double peak;
	int tries = 0;

	*over = s->c.over_prob > 0 && uniform(s) < s->c.over_prob;
	*plateau_frac = -1.0;
	if (*over) {
		*plateau_frac = between(s, 0.15, 0.35);
		return s->c.over_n;
	}
	do {
		peak = s->c.peak_mean_n + s->c.peak_sd_n * gaussian(s);
	} while ((peak < 1.5 || peak > 3.0 * s->c.peak_mean_n) && ++tries < 16);
	return fmin(fmax(peak, 1.5), fmax(3.0 * s->c.peak_mean_n, 1.5));
}

/* Draws a burst of passes back and forth; returns its duration. */
static double plan_burst(struct sg_sim *s)
{
	const struct sg_sim_config *c = &s->c;
	unsigned n = c->burst_min + (unsigned)(uniform(s) * (double)(c->burst_max - c->burst_min + 1));
	double dir = between(s, -180.0, 180.0), total = 0.0;

	if (n > c->burst_max)
		n = c->burst_max;
	memset(s->plan, 0, sizeof(s->plan));
	for (unsigned k = 0; k < n; k++) {
		struct pass_plan *p = &s->plan[k];

		p->g.type = SG_SIM_STROKE;
		p->g.duration_s = between(s, c->pass_min_s, c->pass_max_s);
		p->g.peak_n = draw_peak(s, &p->over, &p->g.plateau_frac);
		if (c->dip_prob > 0 && uniform(s) < c->dip_prob)
			p->g.dip_at_frac = between(s, 0.3, 0.7);
		p->mu = between(s, c->mu_min, c->mu_max);
		p->fan = c->fan_deg_s > 0 ? between(s, -c->fan_deg_s, c->fan_deg_s) : 0.0;
		p->dir0 = dir;
		/* the next pass runs the other way (within the zig-zag) */
		dir += p->fan * p->g.duration_s + 180.0;
		if (c->zig_deg > 0)
			dir += between(s, -c->zig_deg, c->zig_deg);
		dir = fmod(dir + 540.0, 360.0) - 180.0;
		total += p->g.duration_s;
	}
	for (unsigned k = 0; k + 1 < n; k++) {
		double depth = between(s, c->valley_min, c->valley_max);
		double v = (1.0 - depth) * fmin(s->plan[k].g.peak_n, s->plan[k + 1].g.peak_n);
		double turn = between(s, c->turn_min_s, c->turn_max_s);

		s->plan[k].right = s->plan[k + 1].left = v;
		s->plan[k].turn_out = s->plan[k + 1].turn_in = turn;
	}
	s->nplan = n;
	s->iplan = 0;
	return total;
}

/* Starts pass k of the planned burst at t. */
static void begin_pass(struct sg_sim *s, double t, unsigned k)
{
	struct pass_plan *p = &s->plan[k];
	struct sg_sim_truth *tr = &s->cur;

	begin_stroke(s, t, &p->g);
	if (k > 0)
		s->bursts--;	/* (begin_stroke counted a burst) */
	tr->burst = s->bursts;
	tr->pass = k + 1;
	tr->passes = s->nplan;
	tr->end = k + 1 < s->nplan ? SG_END_REVERSAL : SG_END_LIFT;
	tr->left_n = p->left;
	tr->right_n = p->right;
	tr->turn_in_s = p->turn_in;
	tr->turn_out_s = p->turn_out;
	tr->shear_mu = p->mu;
	tr->direction0_deg = p->dir0;
	tr->fan_deg_s = p->fan;
	/* one hand: the tremor runs on across the passes */
	if (k == 0) {
		s->burst_t0 = t;
		s->burst_tremor = tr->tremor;
		s->burst_tremor_hz = tr->tremor_hz;
		s->burst_tremor_phase = tr->tremor_phase;
	} else {
		tr->tremor = s->burst_tremor;
		tr->tremor_hz = s->burst_tremor_hz;
		tr->tremor_phase = fmod(s->burst_tremor_phase +
					2.0 * M_PI * s->burst_tremor_hz * (t - s->burst_t0),
					2.0 * M_PI);
	}
	finish_truth(s, tr);
	tr->over = p->over;
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
	} else if (s->in_stroke && s->iplan < s->nplan) {
		/* the next pass of a burst, without lifting */
		begin_pass(s, t, s->iplan);
		s->seg_end = t + s->plan[s->iplan++].g.duration_s;
		if (keep_truth(s) < 0) {
			s->finished = true;
			return false;
		}
		return true;
	} else if (s->in_stroke) {
		/* the rest after a stroke was drawn with it */
		s->in_stroke = false;
		s->seg_end = t + s->pending_rest;
		return true;
	} else if (s->c.burst_prob > 0 && uniform(s) < s->c.burst_prob) {
		double total = plan_burst(s);

		if (s->c.duration_s > 0 && t + total > s->c.duration_s - 0.2) {
			s->nplan = 0;
			s->seg_end = INFINITY;	/* no room: rest to the end */
			return true;
		}
		s->in_stroke = true;
		s->pending_rest = between(s, 0.3, 1.0);
		begin_pass(s, t, 0);
		s->seg_end = t + s->plan[s->iplan++].g.duration_s;
		if (keep_truth(s) < 0) {
			s->finished = true;
			return false;
		}
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
	burst_defaults(&s->c);
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
	/* (drawn only when asked for: older configs keep their streams) */
	if (c->shear_offset_n > 0) {
		double a = between(s, 0.0, 2.0 * M_PI);

		s->shear_off_x = c->shear_offset_n * cos(a);
		s->shear_off_y = c->shear_offset_n * sin(a);
	}
	if (c->shear_drift_n_per_s > 0) {
		s->swander_amp = c->shear_drift_n_per_s * WANDER_PERIOD / (2.0 * M_PI);
		s->swander_phase_x = between(s, 0.0, 2.0 * M_PI);
		s->swander_phase_y = between(s, 0.0, 2.0 * M_PI);
	}
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
			if (s->in_stroke)
				sg_sim_truth_shear(&s->cur, t, &sx, &sy);
			sx += s->shear_off_x;
			sy += s->shear_off_y;
			if (s->swander_amp != 0.0) {
				double w = 2.0 * M_PI * t / WANDER_PERIOD;

				sx += s->swander_amp * (sin(w + s->swander_phase_x) - sin(s->swander_phase_x));
				sy += s->swander_amp * (sin(w + s->swander_phase_y) - sin(s->swander_phase_y));
			}
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
