// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stroke and limit engines.
 *
 * One stream of calibrated samples goes through:
 *   time base   sample period estimated from timestamps (median of the last
 *               three intervals, smoothed), nominal rate when they are NaN;
 *               a jump of more than 1.5 periods is a gap of lost samples
 *   spike       median of three: a single-sample spike never gets through
 *   low-pass    one pole, cut-off in Hz whatever the sample rate
 *   baseline    zero: mean of the first unloaded signal, then slow tracking
 *               while unloaded, frozen during contact; a contact restores
 *               the zero of 0.1-0.2 s before it; a static load (tool laid
 *               down) becomes the zero until it is lifted off
 *   contact     hysteresis, dips shorter than merge_gap do not split a
 *               contact, contacts shorter than min_stroke are not strokes;
 *               a contact with strokes is a burst
 *   reversal    inside a burst, with shear: a stroke ends where the shear
 *               along the stroke's own (tracked) direction turns against
 *               it, by at least reversal_ratio x normal force, and stays so
 *               for reversal_confirm_s; the next stroke starts there
 *   limit       warning / exceeded when the filtered force stays at or above
 *               the level for sustain_s, each at most once per stroke
 *               (re-armed at every stroke boundary, reversals included)
 *
 * Every per-sample step is O(1), allocation-free and branch-light; exp() is
 * only called when the estimated sample period moves by more than 1 % or
 * across a gap. docs/engine.md derives every parameter.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "strigil.h"

#define RATE_RING 8		/* stroke starts kept for the rolling rate */
#define P_MIN (1.0 / 20000.0)	/* period bounds (s) accepted from timestamps */
#define P_MAX (1.0 / 10.0)
#define DT_MAX 0.5		/* longest interval integrated at once (s) */

/* A static load: the tool laid down on the table (its own weight on the
 * head, 0.5-3 N for a 50-300 g steel tool), or a zero step. While in
 * contact, the force smoothed at STATIC_HZ staying within +-STATIC_BAND_N
 * for STATIC_S is not a stroke and becomes the new zero, if it is at most
 * STATIC_MAX_N and below the warning level (a real press under a limit is
 * never absorbed). docs/engine.md gives the reasoning. */
#define STATIC_S	10.0
#define STATIC_BAND_N	0.1
#define STATIC_HZ	1.0
#define STATIC_MAX_N	3.0

/* The zero keeps following below contact_on while a stroke rises towards
 * it, so a contact restores the zero of ZERO_LOOKBACK_S to twice that ago
 * (a checkpoint pair): a stroke's own rising edge never becomes zero. */
#define ZERO_LOOKBACK_S	0.1

/* The shear zero. Without normal force there is no friction, so whenever
 * the tool is off the skin (force below contact_off) the shear reads its
 * zero; it is taken with a short time constant, so that each lift between
 * bursts (>= 0.25 s) renews it: only the drift within one burst is left
 * for the reversal test to tolerate (docs/engine.md). The normal force
 * keeps its slow baseline_tau_s (a light touch must not become zero). */
#define SHEAR_ZERO_TAU_S 0.1

/* Zero acquisition: the zero of a recording is unknown at its start
 * (offset, or under load). Until baseline_tau_s of unloaded signal has
 * been seen, the zero is the time-weighted mean of all unloaded signal so
 * far (the best estimate of a constant offset in noise and hum), then it
 * follows with baseline_tau_s. A recording that starts under load trusts
 * the calibration zero (0 N) until the load goes. */

enum contact_state {
	ST_IDLE,		/* unloaded */
	ST_CONTACT,		/* at or above contact_off since contact_on */
	ST_DIP,			/* below contact_off, not yet for merge_gap */
};

/* One filtered channel: median-of-3 window, low-pass state, baseline. */
struct chan {
	double m1, m2;		/* previous two inputs (m1 the newest) */
	double y;		/* low-pass output */
	double base;		/* tracked zero */
	double n1, n2;		/* mains notch state (transposed direct form II) */
};

/* The two shear channels side by side, [0] x and [1] y: the same steps as
 * struct chan, done on both at once (see "Pairs" below). */
struct chan2 {
	double m1[2], m2[2];
	double y[2];
	double base[2];
	double n1[2], n2[2];
};

#define NOTCH_Q 5.0		/* -3 dB width f0/5: mains +-1 % sits deep inside */
#define NOTCH_MIN_HZ 40.0	/* never notch the force band itself */

/* What a stroke accumulates; copied at a dip so the dip can be undone. */
struct accum {
	double peak;
	double impulse;		/* sum f dt */
	double loaded_s;	/* sum dt */
	double above_s;		/* sum dt while f > limit */
	double shear2_max;	/* max |shear|^2 */
	double sx, sy;		/* sum shear dt (a pair: adjacent) */
	double tilt;		/* sum tilt dt */
	double ext_s;		/* sum dt of samples with extra channels */
	uint8_t has;
};

struct sg_engine {
	struct sg_stroke_config sc;
	struct sg_limit_config lc;

	/* time base */
	bool started;
	double t;		/* engine time of the last sample */
	double period;		/* estimated sample period */
	double last_dt;		/* the last interval */
	double coef_period;	/* period the coefficients were computed for */
	bool have_period;	/* one interval measured */
	double last_ts;		/* the last timestamp that increased */
	uint64_t nrep;		/* samples since, with its or an older stamp */
	double dt_lo, dt_hi;	/* fast path: dt_lo < interval < dt_hi */
	double p_lo, p_hi;	/* coefficients valid for this period range */
	uint64_t pending_gap;	/* from sg_engine_gap() */
	uint64_t lost;

	/* coefficients */
	double alpha;		/* low-pass gain per sample */
	double decay;		/* 1 - alpha */
	double kbase;		/* baseline gain per sample */
	double kshear;		/* shear zero gain per sample (SHEAR_ZERO_TAU_S) */
	double kstatic;		/* static-load smoother gain per sample */
	double acq_w;		/* s of unloaded signal averaged into the zero */
	bool acq;		/* zero acquisition (mean) still running */
	double t_cp;		/* time of the newer zero checkpoint */
	double cp_new[3], cp_old[3];	/* force, shear x, shear y zeros; acq_w */
	double cpw_new, cpw_old;
	double delay;		/* chain delay (s) */
	bool notch;		/* mains notch active at this rate */
	bool rare;		/* notch or tare_left > 0: one test per sample */
	double nb0, nb1, na1, na2;	/* notch: b2 = b0 */

	/* channels */
	struct chan force, tilt;
	struct chan2 sh;	/* shear x, y */
	double f;		/* filtered force above baseline */
	double fsh[2];		/* filtered shear x, y (baseline removed) */
	double ftilt;		/* filtered tilt */

	/* tare */
	double tare_left;	/* s of averaging left, > 0 while taring */
	double tare_sum, tare_sx, tare_sy;
	uint64_t tare_n;

	/* contact and stroke */
	enum contact_state state;
	double t_on;		/* sample time contact began */
	double t_dip;		/* sample time of the first dip sample */
	struct accum acc, saved;
	double fs;		/* force smoothed at STATIC_HZ, in contact */
	double static_ref;	/* fs when the static window began */
	double t_static;	/* time the static window began */
	struct accum acc_static;	/* acc when the static window began */
	double absorbed;	/* static load taken into the zero, or 0 */
	uint32_t strokes;
	double load_s;
	double starts[RATE_RING];
	unsigned nstarts;

	/* bursts and reversals (see reversal_step) */
	uint32_t bursts;	/* bursts with strokes so far */
	uint32_t passes;	/* strokes emitted in the current burst */
	double burst_peak;
	double t_stroke;	/* sample time the current stroke began */
	double r[2];		/* the stroke's direction: its shear, tracked */
	double r2;		/* |r|^2, kept with r */
	double kdir;		/* direction tracking gain per sample */
	double r_min2;		/* |r|^2 from which the direction is known */
	bool rev_cand;		/* the shear has turned against r: confirming */
	double t_cand;		/* sample time it turned */
	double cand_s;		/* time reversed and loaded since, in a row */
	struct accum acc_cand;	/* the stroke up to t_cand */
	struct accum acc_new;	/* the stroke that would begin at t_cand */
	double t_warned, t_exceeded;	/* when this stroke's alarms fired */

	/* limits */
	double warn_level, cap;	/* +inf when disabled */
	double warn_n, exc_n;	/* samples (periods) at or above, in a row */
	bool warned, exceeded;
	bool limit_run;		/* a warning-level run is being timed */
	bool cap_strokes_done, cap_time_done;
	double cap_time_at;	/* load_s that raises SG_EV_CAP_TIME, or +inf */
};

size_t sg_engine_size(void)
{
	return sizeof(struct sg_engine);
}

const char *sg_event_type_str(enum sg_event_type t)
{
	switch (t) {
	case SG_EV_STROKE: return "stroke";
	case SG_EV_WARNING: return "warning";
	case SG_EV_EXCEEDED: return "exceeded";
	case SG_EV_CAP_STROKES: return "cap-strokes";
	case SG_EV_CAP_TIME: return "cap-time";
	case SG_EV_CONTACT: return "contact";
	case SG_EV_RELEASE: return "release";
	case SG_EV_BURST: return "burst";
	}
	return "unknown";
}

const char *sg_stroke_end_str(enum sg_stroke_end end)
{
	return end == SG_END_REVERSAL ? "reversal" : "lift";
}

void sg_stroke_config_default(struct sg_stroke_config *c)
{
	*c = (struct sg_stroke_config){
		.contact_on_n = 0.5,
		.contact_off_n = 0.3,
		.min_stroke_s = 0.150,
		.merge_gap_s = 0.060,
		.lowpass_hz = 60.0,
		.nominal_rate_hz = 1000.0,
		.baseline_tau_s = 2.0,
		.tare_s = 0.100,
		.mains_hz = 0.0,
		.reversal_ratio = 0.05,
		.reversal_confirm_s = 0.040,
		.reversal_min_n = 1.0,
		.direction_tau_s = 0.100,
		.contact_only = false,
	};
}

void sg_limit_config_default(struct sg_limit_config *c)
{
	*c = (struct sg_limit_config){
		.limit_n = 0.0,
		.warn_fraction = 0.9,
		.sustain_s = 0.010,
		.max_strokes = 0,
		.max_load_s = 0.0,
	};
}

static bool in_range(double v, double lo, double hi)
{
	return v >= lo && v <= hi;	/* false for NaN */
}

int sg_stroke_config_check(const struct sg_stroke_config *c)
{
	if (!c)
		return -EINVAL;
	if (!in_range(c->contact_on_n, 0.01, 100.0) ||
	    !in_range(c->contact_off_n, 0.0, c->contact_on_n) ||
	    !in_range(c->min_stroke_s, 0.0, 10.0) ||
	    !in_range(c->merge_gap_s, 0.0, 1.0) ||
	    !in_range(c->lowpass_hz, 0.5, 10000.0) ||
	    !in_range(c->nominal_rate_hz, 10.0, 20000.0) ||
	    !(c->baseline_tau_s == 0.0 || in_range(c->baseline_tau_s, 0.05, 3600.0)) ||
	    !(c->tare_s == 0.0 || in_range(c->tare_s, 0.001, 10.0)) ||
	    !(c->mains_hz == 0.0 || in_range(c->mains_hz, 40.0, 70.0)) ||
	    !(c->reversal_ratio == 0.0 || in_range(c->reversal_ratio, 0.005, 1.0)) ||
	    !(c->reversal_confirm_s == 0.0 || in_range(c->reversal_confirm_s, 0.001, 1.0)) ||
	    !(c->reversal_min_n == 0.0 || in_range(c->reversal_min_n, c->contact_on_n, 100.0)) ||
	    !(c->direction_tau_s == 0.0 || in_range(c->direction_tau_s, 0.005, 10.0)))
		return -EINVAL;
	return 0;
}

int sg_limit_config_check(const struct sg_limit_config *c)
{
	if (!c)
		return -EINVAL;
	if (!in_range(c->warn_fraction, 1e-6, 1.0) ||
	    !in_range(c->sustain_s, 0.0, 1.0) ||
	    !in_range(c->max_load_s, 0.0, 1e9))
		return -EINVAL;
	return 0;
}

/* A checked copy: fields out of range fall back to their default. */
static void sanitize_stroke(struct sg_stroke_config *out,
			    const struct sg_stroke_config *in)
{
	struct sg_stroke_config d;

	sg_stroke_config_default(&d);
	if (!in) {
		*out = d;
		return;
	}
	*out = *in;
	if (!in_range(out->contact_on_n, 0.01, 100.0))
		out->contact_on_n = d.contact_on_n;
	if (!in_range(out->contact_off_n, 0.0, out->contact_on_n))
		out->contact_off_n = out->contact_on_n * (d.contact_off_n / d.contact_on_n);
	if (!in_range(out->min_stroke_s, 0.0, 10.0))
		out->min_stroke_s = d.min_stroke_s;
	if (!in_range(out->merge_gap_s, 0.0, 1.0))
		out->merge_gap_s = d.merge_gap_s;
	if (!in_range(out->lowpass_hz, 0.5, 10000.0))
		out->lowpass_hz = d.lowpass_hz;
	if (!in_range(out->nominal_rate_hz, 10.0, 20000.0))
		out->nominal_rate_hz = d.nominal_rate_hz;
	if (!in_range(out->baseline_tau_s, 0.05, 3600.0))
		out->baseline_tau_s = d.baseline_tau_s;
	if (!in_range(out->tare_s, 0.001, 10.0))
		out->tare_s = d.tare_s;
	if (!in_range(out->mains_hz, 40.0, 70.0))
		out->mains_hz = 0.0;
	if (!in_range(out->reversal_ratio, 0.005, 1.0))
		out->reversal_ratio = d.reversal_ratio;
	if (!in_range(out->reversal_confirm_s, 0.001, 1.0))
		out->reversal_confirm_s = d.reversal_confirm_s;
	if (!in_range(out->reversal_min_n, 0.0, 100.0))
		out->reversal_min_n = d.reversal_min_n;
	/* the direction is judged only where the tool is in contact */
	if (out->reversal_min_n < out->contact_on_n)
		out->reversal_min_n = out->contact_on_n;
	if (!in_range(out->direction_tau_s, 0.005, 10.0))
		out->direction_tau_s = d.direction_tau_s;
}

static void sanitize_limit(struct sg_limit_config *out,
			   const struct sg_limit_config *in)
{
	struct sg_limit_config d;

	sg_limit_config_default(&d);
	if (!in) {
		*out = d;
		return;
	}
	*out = *in;
	if (!in_range(out->warn_fraction, 1e-6, 1.0))
		out->warn_fraction = d.warn_fraction;
	if (!in_range(out->sustain_s, 0.0, 1.0))
		out->sustain_s = d.sustain_s;
	if (!in_range(out->max_load_s, 0.0, 1e9))
		out->max_load_s = 0.0;
}

/* The mains notch (RBJ biquad, unity gain at DC). It needs >= 4 samples
 * per mains period: with fewer, the median before it (which must come
 * first, or a spike would ring through the notch) distorts the hum, and a
 * notch near Nyquist rings on every stroke edge. */
static void setup_notch(struct sg_engine *e, double p)
{
	double fs = 1.0 / p, f = e->sc.mains_hz, w, cw, a;

	e->notch = false;
	if (!(f >= NOTCH_MIN_HZ) || f > 0.25 * fs)
		return;
	w = 2.0 * M_PI * f * p;
	cw = cos(w);
	a = sin(w) / (2.0 * NOTCH_Q);
	e->nb0 = 1.0 / (1.0 + a);
	e->nb1 = -2.0 * cw / (1.0 + a);
	e->na1 = e->nb1;
	e->na2 = (1.0 - a) / (1.0 + a);
	e->notch = true;
	/* low-frequency group delay of a notch: 1 / (Q w0) */
	e->delay += 1.0 / (NOTCH_Q * 2.0 * M_PI * f);
}

static void update_rare(struct sg_engine *e)
{
	e->rare = e->notch || e->tare_left > 0.0;
}

/* Coefficients for the current period estimate. The low-pass is the
 * impulse-invariant one-pole filter, so its cut-off is the same in Hz at
 * every rate; its delay at low frequency is decay/alpha samples. */
static void update_coefficients(struct sg_engine *e)
{
	double p = e->period;

	e->decay = exp(-2.0 * M_PI * e->sc.lowpass_hz * p);
	e->alpha = 1.0 - e->decay;
	e->kbase = 1.0 - exp(-p / e->sc.baseline_tau_s);
	e->kshear = 1.0 - exp(-p / SHEAR_ZERO_TAU_S);
	e->kstatic = 1.0 - exp(-2.0 * M_PI * STATIC_HZ * p);
	e->kdir = 1.0 - exp(-p / e->sc.direction_tau_s);
	/* median-of-3: one sample; low-pass: decay/alpha samples */
	e->delay = p + p * e->decay / e->alpha;
	setup_notch(e, p);
	update_rare(e);
	e->coef_period = p;
	/* intervals taken as "one period" by the fast path */
	e->dt_lo = p * (1.0 / 1.5);
	e->dt_hi = p * 1.5;
	/* the period estimate may move 1 % before coefficients are redone */
	e->p_lo = p * 0.99;
	e->p_hi = p * 1.01;
}

static void apply_limit(struct sg_engine *e)
{
	double cap = e->lc.limit_n;

	e->cap_time_at = e->lc.max_load_s > 0 && !e->cap_time_done ?
			 e->lc.max_load_s : INFINITY;
	if (!(cap > 0.0) || !isfinite(cap)) {
		e->cap = INFINITY;
		e->warn_level = INFINITY;
	} else {
		e->cap = cap;
		e->warn_level = cap * e->lc.warn_fraction;
	}
	e->warn_n = e->exc_n = 0.0;
}

void sg_engine_init(struct sg_engine *e, const struct sg_stroke_config *sc,
		    const struct sg_limit_config *lc)
{
	memset(e, 0, sizeof(*e));
	sanitize_stroke(&e->sc, sc);
	sanitize_limit(&e->lc, lc);
	e->period = 1.0 / e->sc.nominal_rate_hz;
	e->t = NAN;	/* the first sample takes the slow path */
	/* the direction is known once the tracked shear is as large as the
	 * smallest reversed shear that counts at the smallest judged force */
	e->r_min2 = e->sc.reversal_ratio * e->sc.reversal_min_n;
	e->r_min2 *= e->r_min2;
	update_coefficients(e);
	apply_limit(e);
	e->state = ST_IDLE;
}

void sg_engine_set_limit(struct sg_engine *e, const struct sg_limit_config *lc)
{
	struct sg_limit_config n;
	double old_cap = e->cap, old_warn = e->warn_level;

	sanitize_limit(&n, lc);
	/* A new cap value re-arms its event (raised at once if reached). */
	if (n.max_strokes != e->lc.max_strokes)
		e->cap_strokes_done = false;
	if (n.max_load_s != e->lc.max_load_s)
		e->cap_time_done = false;
	e->lc = n;
	apply_limit(e);
	/* A different cap is a different alarm: it may fire in this stroke. */
	if (e->cap != old_cap || e->warn_level != old_warn) {
		e->warned = false;
		e->exceeded = false;
	}
}

void sg_engine_tare(struct sg_engine *e)
{
	e->tare_left = e->sc.tare_s;
	update_rare(e);
	e->tare_sum = e->tare_sx = e->tare_sy = 0.0;
	e->tare_n = 0;
	e->absorbed = 0.0;	/* the tare measures the zero itself */
	e->acq = false;
	/* A stroke in progress is abandoned: its zero was wrong. */
	e->state = ST_IDLE;
	e->rev_cand = false;
	e->passes = 0;
	e->f = 0.0;
	e->warn_n = e->exc_n = 0.0;
}

void sg_engine_gap(struct sg_engine *e, uint64_t nlost)
{
	e->pending_gap += nlost;
	if (nlost)
		e->dt_lo = INFINITY;	/* the next sample takes the slow path */
}

/* Plain comparisons, each one minsd/maxsd (fmin/fmax are library calls
 * with NaN rules); no branch, so noise cannot cause mispredictions. */
static inline double dmin(double a, double b)
{
	return a < b ? a : b;
}

static inline double dmax(double a, double b)
{
	return a > b ? a : b;
}

static inline double median3(double a, double b, double c)
{
	return dmax(dmin(a, b), dmin(dmax(a, b), c));
}

/* Zero checkpoints (see ZERO_LOOKBACK_S): both set to the current zero. */
static void cp_reset(struct sg_engine *e)
{
	e->cp_new[0] = e->cp_old[0] = e->force.base;
	e->cp_new[1] = e->cp_old[1] = e->sh.base[0];
	e->cp_new[2] = e->cp_old[2] = e->sh.base[1];
	e->cpw_new = e->cpw_old = e->acq_w;
	e->t_cp = e->t;
}

static void cp_step(struct sg_engine *e)
{
	memcpy(e->cp_old, e->cp_new, sizeof(e->cp_old));
	e->cpw_old = e->cpw_new;
	e->cp_new[0] = e->force.base;
	e->cp_new[1] = e->sh.base[0];
	e->cp_new[2] = e->sh.base[1];
	e->cpw_new = e->acq_w;
	e->t_cp = e->t;
}

/* Starts a channel at x as if x had always been there. */
static void chan_start(const struct sg_engine *e, struct chan *c, double x)
{
	c->m1 = c->m2 = c->y = isfinite(x) ? x : 0.0;
	/* notch steady state for a constant input (unity DC gain, b1 = a1,
	 * 1 + a2 = 2 b0): both states x (1 - b0) */
	c->n1 = c->n2 = e->notch ? c->y * (1.0 - e->nb0) : 0.0;
}

static void chan2_start(const struct sg_engine *e, struct chan2 *c, double x, double y)
{
	struct chan one;

	chan_start(e, &one, x);
	c->m1[0] = c->m2[0] = c->y[0] = one.y;
	c->n1[0] = c->n2[0] = one.n1;
	chan_start(e, &one, y);
	c->m1[1] = c->m2[1] = c->y[1] = one.y;
	c->n1[1] = c->n2[1] = one.n1;
}

/* One step of the notch; n1, n2 its state. */
static inline double notch_step(const struct sg_engine *e, double *n1, double *n2, double x)
{
	double y = e->nb0 * x + *n1;

	*n1 = e->nb1 * x - e->na1 * y + *n2;
	*n2 = e->nb0 * x - e->na2 * y;
	return y;
}

/* Median of three, mains notch if notched, low-pass; returns the low-pass
 * output. The caller tests e->notch once per sample for all channels. */
static inline double chan_filter(const struct sg_engine *e, struct chan *c, double x,
				 double alpha, bool notched)
{
	double m = median3(c->m2, c->m1, x);

	c->m2 = c->m1;
	c->m1 = x;
	if (notched)
		m = notch_step(e, &c->n1, &c->n2, m);
	c->y += alpha * (m - c->y);
	return c->y;
}

/*
 * Pairs. The shear channels, x and y, take the same steps with the same
 * coefficients, so they are done side by side: one SSE2 instruction per
 * step for both (x86-64 has SSE2 always). Each lane is the same IEEE
 * operation, in the same order, as the scalar code it replaces (the
 * fallback below), so results are bit-identical: minpd/maxpd return
 * a < b ? a : b and a > b ? a : b exactly as dmin/dmax do, NaN included.
 */
#ifdef __SSE2__
typedef __m128d v2;
static inline v2 v2_load(const double *p) { return _mm_loadu_pd(p); }
/* Two 8-byte loads: for a pair the caller has just written as two
 * doubles (struct sg_sample), where one 16-byte load cannot be forwarded
 * from the two stores and waits for them (a store-forwarding stall: the
 * engine-only shear bench lost 10 % to it). The empty asm keeps the
 * compiler from merging the loads back into one. */
static inline v2 v2_load2(const double *p)
{
	__m128d x = _mm_load_sd(p), y = _mm_load_sd(p + 1);

	__asm__("" : "+x"(y));
	return _mm_unpacklo_pd(x, y);
}
static inline void v2_store(double *p, v2 a) { _mm_storeu_pd(p, a); }
static inline v2 v2_set1(double a) { return _mm_set1_pd(a); }
static inline v2 v2_add(v2 a, v2 b) { return _mm_add_pd(a, b); }
static inline v2 v2_sub(v2 a, v2 b) { return _mm_sub_pd(a, b); }
static inline v2 v2_mul(v2 a, v2 b) { return _mm_mul_pd(a, b); }
static inline v2 v2_min(v2 a, v2 b) { return _mm_min_pd(a, b); }
static inline v2 v2_max(v2 a, v2 b) { return _mm_max_pd(a, b); }
/* both lanes finite: x - x is 0 for a finite x, NaN otherwise */
static inline bool v2_finite(v2 a)
{
	return _mm_movemask_pd(_mm_cmpeq_pd(_mm_sub_pd(a, a), _mm_setzero_pd())) == 3;
}
/* (a[0] + a[1], b[0] + b[1]) */
static inline v2 v2_hsum2(v2 a, v2 b)
{
	return _mm_add_pd(_mm_unpacklo_pd(a, b), _mm_unpackhi_pd(a, b));
}
static inline double v2_lo(v2 a) { return _mm_cvtsd_f64(a); }
static inline double v2_hi(v2 a) { return _mm_cvtsd_f64(_mm_unpackhi_pd(a, a)); }
#else
typedef struct { double v[2]; } v2;
static inline v2 v2_load(const double *p) { return (v2){ { p[0], p[1] } }; }
static inline v2 v2_load2(const double *p) { return v2_load(p); }
static inline void v2_store(double *p, v2 a) { p[0] = a.v[0]; p[1] = a.v[1]; }
static inline v2 v2_set1(double a) { return (v2){ { a, a } }; }
static inline v2 v2_add(v2 a, v2 b) { return (v2){ { a.v[0] + b.v[0], a.v[1] + b.v[1] } }; }
static inline v2 v2_sub(v2 a, v2 b) { return (v2){ { a.v[0] - b.v[0], a.v[1] - b.v[1] } }; }
static inline v2 v2_mul(v2 a, v2 b) { return (v2){ { a.v[0] * b.v[0], a.v[1] * b.v[1] } }; }
static inline v2 v2_min(v2 a, v2 b)
{
	return (v2){ { dmin(a.v[0], b.v[0]), dmin(a.v[1], b.v[1]) } };
}
static inline v2 v2_max(v2 a, v2 b)
{
	return (v2){ { dmax(a.v[0], b.v[0]), dmax(a.v[1], b.v[1]) } };
}
static inline bool v2_finite(v2 a)
{
	return a.v[0] - a.v[0] == 0.0 && a.v[1] - a.v[1] == 0.0;
}
static inline v2 v2_hsum2(v2 a, v2 b)
{
	return (v2){ { a.v[0] + a.v[1], b.v[0] + b.v[1] } };
}
static inline double v2_lo(v2 a) { return a.v[0]; }
static inline double v2_hi(v2 a) { return a.v[1]; }
#endif

/* The stroke's direction and its |r|^2 (the same sum as ever, done
 * when r changes instead of on every sample that reads it). */
static inline void set_direction(struct sg_engine *e, v2 r)
{
	v2_store(e->r, r);
	e->r2 = e->r[0] * e->r[0] + e->r[1] * e->r[1];
}

/* chan_filter on both shear channels; stores and returns the outputs
 * with their zero taken off (e->fsh). */
static inline v2 chan2_filter(struct sg_engine *e, struct chan2 *c, v2 x, double alpha,
			      bool notched)
{
	v2 a = v2_load(c->m2), b = v2_load(c->m1), y = v2_load(c->y), out;
	v2 m = v2_max(v2_min(a, b), v2_min(v2_max(a, b), x));

	v2_store(c->m2, b);
	v2_store(c->m1, x);
	if (notched) {
		double mm[2];

		v2_store(mm, m);
		mm[0] = notch_step(e, &c->n1[0], &c->n2[0], mm[0]);
		mm[1] = notch_step(e, &c->n1[1], &c->n2[1], mm[1]);
		m = v2_load(mm);
	}
	y = v2_add(y, v2_mul(v2_set1(alpha), v2_sub(m, y)));
	v2_store(c->y, y);
	out = v2_sub(y, v2_load(c->base));
	v2_store(e->fsh, out);
	return out;
}

/* Robust period estimate for an interval outside the fast path's range:
 * the median of (period, previous interval, this interval) ignores one
 * long interval (a gap) or short one (jitter) but follows a real rate
 * change after two intervals; small changes are smoothed. */
static void track_period(struct sg_engine *e, double dt)
{
	double m = median3(e->period, e->last_dt, dt);

	e->last_dt = dt;
	if (!(m >= P_MIN && m <= P_MAX))
		return;
	if (m > e->period * 1.5 || m < e->period * (1.0 / 1.5))
		e->period = m;
	else
		e->period += (m - e->period) * (1.0 / 16.0);
	if (fabs(e->period - e->coef_period) > 0.01 * e->coef_period)
		update_coefficients(e);
}

static inline void push(struct sg_event *ev, int max, int *n,
			enum sg_event_type type, double t, double f, double lim)
{
	if (*n >= max)
		return;
	ev[*n].type = type;
	ev[*n].t_s = t;
	ev[*n].force_n = f;
	ev[*n].limit_n = lim;
	memset(&ev[*n].stroke, 0, sizeof(ev[*n].stroke));
	memset(&ev[*n].burst, 0, sizeof(ev[*n].burst));
	(*n)++;
}

static double active_limit(const struct sg_engine *e)
{
	return isfinite(e->cap) ? e->cap : 0.0;
}

static void remember_start(struct sg_engine *e, double t)
{
	if (e->nstarts == RATE_RING) {
		memmove(e->starts, e->starts + 1, (RATE_RING - 1) * sizeof(double));
		e->nstarts--;
	}
	e->starts[e->nstarts++] = t;
}

/* Emits the stroke accumulated in a, from sample time t0 to t1 (times
 * before the chain delay is taken off), and the stroke cap it may reach. */
static void emit_stroke(struct sg_engine *e, const struct accum *a, double t0,
			double t1, enum sg_stroke_end why, double now,
			struct sg_event *ev, int max, int *n)
{
	double start = t0 - e->delay, end = t1 - e->delay;
	struct sg_stroke *s;

	if (e->passes == 0) {
		e->bursts++;
		e->burst_peak = -INFINITY;
	}
	e->passes++;
	e->strokes++;
	if (a->peak > e->burst_peak)
		e->burst_peak = a->peak;
	remember_start(e, start);
	if (*n < max) {
		push(ev, max, n, SG_EV_STROKE, now, a->peak, active_limit(e));
		s = &ev[*n - 1].stroke;
		memset(s, 0, sizeof(*s));
		s->index = e->strokes;
		s->start_s = start;
		s->end_s = end;
		s->duration_s = end - start;
		s->peak_n = a->peak;
		s->impulse_ns = a->impulse;
		s->mean_n = a->loaded_s > 0 ? a->impulse / a->loaded_s : 0.0;
		s->above_limit_s = a->above_s;
		s->limit_n = active_limit(e);
		s->has = a->has;
		if (a->has & SG_HAS_SHEAR) {
			s->peak_shear_n = sqrt(a->shear2_max);
			s->direction_deg = atan2(a->sy, a->sx) * (180.0 / M_PI);
		}
		if ((a->has & SG_HAS_TILT) && a->ext_s > 0)
			s->mean_tilt_deg = a->tilt / a->ext_s;
		s->burst = e->bursts;
		s->pass = e->passes;
		s->end = (uint8_t)why;
	}
	if (e->lc.max_strokes && !e->cap_strokes_done &&
	    e->strokes >= e->lc.max_strokes) {
		e->cap_strokes_done = true;
		push(ev, max, n, SG_EV_CAP_STROKES, now, e->f, active_limit(e));
	}
}

/* Ends the contact (the burst) begun at t_on; the last loaded sample came
 * before t_end. Emits its last stroke if the burst is long enough, the
 * burst summary, then the release. */
__attribute__((noinline))
static void end_contact(struct sg_engine *e, double t_end, double now,
			struct sg_event *ev, int max, int *n)
{
	double dur = (t_end - e->delay) - (e->t_on - e->delay);

	e->state = ST_IDLE;
	e->rev_cand = false;
	cp_reset(e);
	if (e->acc.loaded_s >= 0.0 &&
	    (e->passes > 0 || dur + 1e-9 >= e->sc.min_stroke_s))
		emit_stroke(e, &e->acc, e->t_stroke, t_end, SG_END_LIFT, now, ev, max, n);
	if (e->passes > 0 && *n < max) {
		struct sg_burst *b;

		push(ev, max, n, SG_EV_BURST, now, e->burst_peak, active_limit(e));
		b = &ev[*n - 1].burst;
		b->index = e->bursts;
		b->passes = e->passes;
		b->start_s = e->t_on - e->delay;
		b->end_s = t_end - e->delay;
		b->duration_s = b->end_s - b->start_s;
		b->peak_n = e->burst_peak;
	}
	e->passes = 0;
	push(ev, max, n, SG_EV_RELEASE, now, e->f, active_limit(e));
}

/* Sustained level test: a sample stands for one period of signal (and a
 * gap of k lost samples inside the run for k more), so n samples at or
 * above the level cover n periods: it is sustained when n x period >=
 * sustain_s. Samples are counted, not timestamps subtracted, so host
 * timestamp jitter cannot move the alarm; the period itself is an estimate
 * (jitter of +-15 % of a period leaves it within about +-1 %), so it may
 * fall short of the sustain time by SUSTAIN_TOL of it, never by more than
 * half a period: on clean timestamps the alarm still comes exactly on the
 * sample that completes the sustain time. */
#define SUSTAIN_TOL 0.02
static inline bool sustained(struct sg_engine *e, double *count, double level,
			     double periods)
{
	double tol = SUSTAIN_TOL * e->lc.sustain_s;

	if (e->f < level) {
		*count = 0.0;
		return false;
	}
	*count += periods;
	if (tol > 0.5 * e->period)
		tol = 0.5 * e->period;
	return *count * e->period >= e->lc.sustain_s - tol - 1e-12;
}

__attribute__((noinline))
static void check_limits(struct sg_engine *e, double periods, struct sg_event *ev,
			 int max, int *n)
{
	if (sustained(e, &e->warn_n, e->warn_level, periods) && !e->warned) {
		e->warned = true;
		e->t_warned = e->t;
		push(ev, max, n, SG_EV_WARNING, e->t, e->f, e->cap);
	}
	if (sustained(e, &e->exc_n, e->cap, periods) && !e->exceeded) {
		e->exceeded = true;
		e->t_exceeded = e->t;
		if (!e->warned)
			e->t_warned = e->t;
		e->warned = true;
		push(ev, max, n, SG_EV_EXCEEDED, e->t, e->f, e->cap);
	}
	e->limit_run = e->warn_n > 0.0 || e->exc_n > 0.0;
}

/* Everything but "about one period after the last timestamp": the first
 * sample, NaN or backwards time, gaps, rate changes. */
__attribute__((noinline))
static double advance_time_slow(struct sg_engine *e, const struct sg_sample *s,
				uint64_t *nlost)
{
	double ts = s->t_s, dt = ts - e->t;
	uint64_t lost = e->pending_gap;

	e->pending_gap = 0;
	e->dt_lo = e->coef_period * (1.0 / 1.5);
	if (!e->started) {
		chan_start(e, &e->force, s->force_n);
		chan2_start(e, &e->sh, s->shear_x_n, s->shear_y_n);
		chan_start(e, &e->tilt, s->tilt_deg);
		/* A recording that starts unloaded starts at its zero, offset
		 * and all; one that starts under load trusts the calibration. */
		e->acq = true;
		e->acq_w = 0.0;
		if (s->force_n < e->sc.contact_on_n) {
			e->force.base = e->force.y;
			e->acq_w = e->period;
			if (isfinite(s->shear_x_n) && isfinite(s->shear_y_n)) {
				e->sh.base[0] = e->sh.y[0];
				e->sh.base[1] = e->sh.y[1];
			}
		}
		e->started = true;
		e->t = isfinite(ts) ? ts : 0.0;
		cp_reset(e);
		e->last_ts = isfinite(ts) ? ts : -INFINITY;
		e->last_dt = e->period;
		/* The second sample takes this slow path too: its interval is
		 * the stream's first, which sets the rate (have_period). Taken
		 * by the fast path, the first gap of the stream (up to P_MAX)
		 * was later taken for the rate, and its lost samples were not
		 * counted. */
		e->dt_lo = INFINITY;
		*nlost = 0;
		return e->period;
	}
	if (isfinite(ts) && ts > e->last_ts) {
		/* A new stamp. The samples since the last one (a run of
		 * repeated stamps: one USB packet stamped on arrival, or a
		 * logger writing 1 ms stamps at 4 kHz) share its interval. */
		double d = (ts - e->last_ts) / (double)(e->nrep + 1);

		e->last_ts = ts;
		e->nrep = 0;
		if (!e->have_period) {
			/* The first interval is the rate (not a gap after the
			 * nominal rate): files at 50 Hz or 4 kHz start right. */
			if (d >= P_MIN && d <= P_MAX && !lost) {
				e->period = e->last_dt = d;
				update_coefficients(e);
			}
			e->have_period = true;
		} else {
			track_period(e, d);
		}
		if (ts > e->t) {
			dt = ts - e->t;
			e->t = ts;
		} else {
			/* Still behind a clock the run moved on: hold it, so it
			 * cannot run ahead of the timestamps for good. The
			 * sample covers no time of its own (the run already
			 * counted it), so sums over time stay exact. */
			dt = 0.0;
		}
		if (dt > 1.5 * e->period) {
			double k = floor(dt / e->period + 0.5) - 1.0;

			if (k > (double)lost)
				lost = k < 1e15 ? (uint64_t)k : (uint64_t)1e15;
		}
	} else {
		/* Unknown, repeated or backwards time: trust the rate. */
		dt = e->period * (double)(lost + 1);
		e->t += dt;
		if (isfinite(ts))
			e->nrep++;
	}
	e->lost += lost;
	*nlost = lost;
	return dt > DT_MAX ? DT_MAX : dt;
}

/* Advances the time base to this sample; returns the interval it covers
 * and the number of samples lost before it. The common case (a timestamp
 * about one period after the last) stays short. */
static inline double advance_time(struct sg_engine *e, const struct sg_sample *s,
				  uint64_t *nlost)
{
	double ts = s->t_s, dt = ts - e->t;

	/* NaN t (first sample), NaN ts and a pending gap all fail this */
	if (__builtin_expect(dt > e->dt_lo && dt < e->dt_hi, 1)) {
		e->t = ts;
		e->last_ts = ts;
		e->nrep = 0;
		e->last_dt = dt;
		e->period += (dt - e->period) * (1.0 / 16.0);
		if (__builtin_expect(e->period < e->p_lo || e->period > e->p_hi, 0))
			update_coefficients(e);
		*nlost = 0;
		return dt;
	}
	return advance_time_slow(e, s, nlost);
}

static void finish_tare(struct sg_engine *e)
{
	double n = (double)(e->tare_n ? e->tare_n : 1);

	e->force.base = e->tare_sum / n;
	e->sh.base[0] = e->tare_sx / n;
	e->sh.base[1] = e->tare_sy / n;
	e->tare_left = 0.0;
	update_rare(e);
	cp_reset(e);
}

#define unlikely(x) __builtin_expect(!!(x), 0)
#define likely(x) __builtin_expect(!!(x), 1)

/* Shear and tilt: filters them, returns the valid SG_HAS_* bits. Inlined:
 * on a shear instrument this runs every sample (a call cost ~15 of its
 * ~70 instructions); tilt is only looked at when the sample has it. */
/* shear_x_n and shear_y_n are read as one pair */
_Static_assert(offsetof(struct sg_sample, shear_y_n) ==
	       offsetof(struct sg_sample, shear_x_n) + sizeof(double), "shear pair");

static inline uint8_t filter_extra(struct sg_engine *e, const struct sg_sample *s, double alpha,
				   uint8_t has, bool notched)
{
	if (has & SG_HAS_SHEAR) {
		v2 x = v2_load2(&s->shear_x_n);

		/* both finite, in one test */
		if (likely(v2_finite(x)))
			chan2_filter(e, &e->sh, x, alpha, notched);
		else
			has &= (uint8_t)~SG_HAS_SHEAR;
	}
	if (unlikely(has & SG_HAS_TILT)) {
		if (isfinite(s->tilt_deg))
			e->ftilt = chan_filter(e, &e->tilt, s->tilt_deg, alpha, notched);
		else
			has &= (uint8_t)~SG_HAS_TILT;
	}
	return has;
}

/* All channels of a sample with the mains notch or during a tare: out of
 * line, so the usual path tests e->rare once per sample and carries none
 * of it. */
/* The force goes to e->f; s is only read for extras (NULL without). */
__attribute__((noinline))
static uint8_t filter_rare(struct sg_engine *e, double x, const struct sg_sample *s,
			   double alpha, uint8_t has)
{
	bool notched = e->notch;

	e->f = chan_filter(e, &e->force, x, alpha, notched) - e->force.base;
	return has ? filter_extra(e, s, alpha, has, notched) : 0;
}

/* Inlined for the same reason as filter_extra. */
static inline void accumulate_extra(struct sg_engine *e, uint8_t has, double dt,
				    double m2)
{
	struct accum *a = &e->acc;

	a->has |= has;
	a->ext_s += dt;
	if (has & SG_HAS_SHEAR) {
		/* a maximum without a branch: the shear's size follows the
		 * noise, and as a branch it was mispredicted */
		a->shear2_max = dmax(m2, a->shear2_max);
		v2_store(&a->sx, v2_add(v2_load(&a->sx), v2_mul(v2_load(e->fsh), v2_set1(dt))));
	}
	if (has & SG_HAS_TILT)
		a->tilt += e->ftilt * dt;
}

__attribute__((noinline))
static void tare_step(struct sg_engine *e, double dt)
{
	e->tare_sum += e->force.y;
	e->tare_sx += e->sh.y[0];
	e->tare_sy += e->sh.y[1];
	e->tare_n++;
	e->tare_left -= dt;
	if (e->tare_left <= 0.0)
		finish_tare(e);
	e->f = 0.0;
}

__attribute__((noinline))
static void begin_contact(struct sg_engine *e, struct sg_event *ev, int max, int *n)
{
	e->state = ST_CONTACT;
	e->t_on = e->t;
	memset(&e->acc, 0, sizeof(e->acc));
	e->acc.peak = -INFINITY;
	e->fs = e->static_ref = e->f;
	e->t_static = e->t;
	e->acc_static = e->acc;
	e->warned = e->exceeded = false;
	e->t_stroke = e->t;
	e->passes = 0;
	e->rev_cand = false;
	set_direction(e, v2_set1(0.0));
	push(ev, max, n, SG_EV_CONTACT, e->t, e->f, active_limit(e));
}

/* Adds this sample to a stroke's accumulator (the rare second one). */
static void accum_add(const struct sg_engine *e, struct accum *a, uint8_t has,
		      double dt)
{
	double f = e->f;

	if (f > a->peak)
		a->peak = f;
	a->impulse += f * dt;
	a->loaded_s += dt;
	if (f > e->cap)
		a->above_s += dt;
	if (!has)
		return;
	a->has |= has;
	a->ext_s += dt;
	if (has & SG_HAS_SHEAR) {
		double m2 = e->fsh[0] * e->fsh[0] + e->fsh[1] * e->fsh[1];

		if (m2 > a->shear2_max)
			a->shear2_max = m2;
		a->sx += e->fsh[0] * dt;
		a->sy += e->fsh[1] * dt;
	}
	if (has & SG_HAS_TILT)
		a->tilt += e->ftilt * dt;
}

/*
 * Stroke boundaries inside a burst, once per sample with shear in contact.
 *
 * Friction points against the motion, so while the blade travels one way
 * the shear keeps one direction, r (tracked with direction_tau_s, so a
 * gradual rotation, fanning, is followed and never turns against r), and
 * its size is mu x the normal force. Where the blade turns round the
 * shear flips: its component along r changes sign. That moment (the first
 * sample with shear . r < 0) is the candidate boundary. It is confirmed
 * when the shear along r stays at or below -reversal_ratio x force, with
 * the force at least reversal_min_n, for reversal_confirm_s in a row; it is
 * dropped when the shear is back along r by as much. Below reversal_min_n
 * (the valley of a turnaround, a strum dip) nothing is judged and the
 * candidate waits: a force dip scales the shear but never turns it, so it
 * never splits. An error e in the shear zero moves the ratio by e/force,
 * which is why the ratio is only judged above reversal_min_n
 * (docs/engine.md gives the margins).
 */
static void reversal_confirm(struct sg_engine *e, double dt, double dot, double r2,
			     struct sg_event *ev, int max, int *n);

/* The common case (no candidate: the blade travels along r) is inlined
 * into the sample path; a candidate is judged in reversal_confirm.
 * m2 = |shear|^2 and dot = shear . r of this sample (the caller's: m2 is
 * shared with the stroke's sums). */
static inline void reversal_step(struct sg_engine *e, double dt, double m2, double dot,
				 struct sg_event *ev, int max, int *n)
{
	double f = e->f;
	double r2 = e->r2;
	bool known = r2 >= e->r_min2;

	if (likely(!e->rev_cand)) {
		if (unlikely(known && dot < 0.0)) {
			e->rev_cand = true;
			e->t_cand = e->t;
			e->cand_s = 0.0;
			e->acc_cand = e->acc;
			memset(&e->acc_new, 0, sizeof(e->acc_new));
			e->acc_new.peak = -INFINITY;
		} else {
			double lim = e->sc.reversal_ratio * f;
			bool loaded = f >= e->sc.reversal_min_n;
			/* Only a shear of at least reversal_ratio x force and
			 * half the stroke's own shear (|r|) shows the
			 * direction: near a turnaround the friction passes
			 * through zero within a few ms, and what is left there
			 * is the shear zero's error, which must not turn r
			 * towards itself. A gradual change (fanning, the force
			 * easing off) is slower than direction_tau_s, so
			 * |shear| stays near |r| and r follows it. */
			if (loaded && m2 >= lim * lim && m2 >= 0.25 * r2) {
				/* r += kdir (shear - r), x and y */
				v2 r = v2_load(e->r);

				set_direction(e, v2_add(r, v2_mul(v2_set1(e->kdir),
								  v2_sub(v2_load(e->fsh), r))));
			}
			return;
		}
	}
	reversal_confirm(e, dt, dot, r2, ev, max, n);
}

/* A candidate reversal: confirmed, dropped, or still waiting. */
__attribute__((noinline))
static void reversal_confirm(struct sg_engine *e, double dt, double dot, double r2,
			     struct sg_event *ev, int max, int *n)
{
	double f = e->f;
	double lim = e->sc.reversal_ratio * f;
	bool loaded = f >= e->sc.reversal_min_n;
	bool known = r2 >= e->r_min2;
	/* |shear along r| >= lim, without a square root: dot^2 >= lim^2 r^2 */
	bool clear = loaded && known && dot * dot >= lim * lim * r2;

	if (clear && dot > 0.0) {
		e->rev_cand = false;	/* back along r: it was not a reversal */
		return;
	}
	if (clear)
		e->cand_s += dt;
	else if (loaded)
		e->cand_s = 0.0;	/* loaded, but not clearly reversed */
	if (e->cand_s + 1e-9 < e->sc.reversal_confirm_s ||
	    e->t - e->t_on < e->sc.min_stroke_s)
		return;

	/* Confirmed: the stroke ends where the shear turned round. */
	emit_stroke(e, &e->acc_cand, e->t_stroke, e->t_cand, SG_END_REVERSAL, e->t,
		    ev, max, n);
	e->acc = e->acc_new;
	e->t_stroke = e->t_cand;
	e->rev_cand = false;
	set_direction(e, v2_load(e->fsh));
	/* Alarms re-arm for the new stroke, unless they already fired in it
	 * (after the shear turned); a force still above a level alarms again
	 * once it has been there for the sustain time. */
	e->warned = e->warned && e->t_warned >= e->t_cand;
	e->exceeded = e->exceeded && e->t_exceeded >= e->t_cand;
	e->limit_run = true;
	/* the static-load window starts again with the new stroke */
	e->static_ref = e->fs;
	e->t_static = e->t;
	e->acc_static = e->acc;
}

__attribute__((noinline))
static void track_shear_zero(struct sg_engine *e)
{
	e->sh.base[0] += e->kshear * e->fsh[0];
	e->sh.base[1] += e->kshear * e->fsh[1];
}

/* The static-load test, once per contact sample: see STATIC_S. */
static inline bool static_load(struct sg_engine *e)
{
	e->fs += e->kstatic * (e->f - e->fs);
	if (fabs(e->fs - e->static_ref) > STATIC_BAND_N) {
		e->static_ref = e->fs;
		e->t_static = e->t;
		e->acc_static = e->acc;
		return false;
	}
	return e->t - e->t_static >= STATIC_S && e->fs <= STATIC_MAX_N &&
	       e->fs < e->warn_level;
}

/* Ends the contact at the start of the static window (a stroke before it
 * is kept) and takes the static load into the zero. */
__attribute__((noinline))
static void absorb_static(struct sg_engine *e, struct sg_event *ev, int max, int *n)
{
	e->acc = e->acc_static;
	/* What rose no more than contact_on above the load it settled at
	 * was the laying down, not a stroke. */
	if (!(e->acc.peak >= e->fs + e->sc.contact_on_n))
		e->acc.loaded_s = -1.0;
	end_contact(e, e->t_static, e->t, ev, max, n);
	e->absorbed += e->fs;
	e->force.base += e->fs;
	e->f -= e->fs;
	cp_reset(e);
}

__attribute__((noinline))
static void cap_time_reached(struct sg_engine *e, struct sg_event *ev, int max, int *n)
{
	if (e->lc.max_load_s > 0 && !e->cap_time_done) {
		e->cap_time_done = true;
		push(ev, max, n, SG_EV_CAP_TIME, e->t, e->f, active_limit(e));
	}
	e->cap_time_at = INFINITY;
}

/*
 * One sample. Compiled three times (sg_engine_feed picks one per sample):
 * extra = 0 for force-only samples, so their path carries none of the
 * shear and tilt code; extra = SG_HAS_SHEAR, a constant, for the usual
 * instrument with extras, so its tilt tests fold away; extra = the
 * sample's SG_HAS_SHEAR | SG_HAS_TILT bits otherwise. On the last two the
 * extras run every sample and are inlined. All three are the same source,
 * so they cannot drift apart.
 */
static inline __attribute__((always_inline))
int feed(struct sg_engine *e, const struct sg_sample *s, struct sg_event *ev, int max,
	 const uint8_t extra)
{
	uint64_t nlost;
	double dt, alpha, f, x = s->force_n;
	uint8_t has = 0;
	int n = 0;

	if (unlikely(!isfinite(x)))
		return 0;	/* a sample without force carries nothing */
	dt = advance_time(e, s, &nlost);
	alpha = e->alpha;
	if (unlikely(nlost)) {
		/* The filter relaxes over the lost samples too. */
		alpha = 1.0 - pow(e->decay, (double)nlost + 1.0);
	}
	if (likely(!e->rare)) {
		f = chan_filter(e, &e->force, x, alpha, false) - e->force.base;
		if (extra)
			has = filter_extra(e, s, alpha, extra, false);
		e->f = f;
	} else {
		/* the mains notch, a tare, or both; & extra: a subset of
		 * it anyway, and the compiler sees that has is 0 in the
		 * force-only instance */
		has = filter_rare(e, x, extra ? s : NULL, alpha, extra) & extra;
		f = e->f;
		if (e->tare_left > 0.0) {
			tare_step(e, dt);
			return 0;
		}
	}

	switch (e->state) {
	case ST_IDLE:
		if (unlikely(f >= e->sc.contact_on_n)) {
			/* the zero from before this stroke began to rise */
			e->force.base = e->cp_old[0];
			e->sh.base[0] = e->cp_old[1];
			e->sh.base[1] = e->cp_old[2];
			e->acq_w = e->cpw_old;
			e->f = f = e->force.y - e->force.base;
			if (has & SG_HAS_SHEAR) {
				e->fsh[0] = e->sh.y[0] - e->sh.base[0];
				e->fsh[1] = e->sh.y[1] - e->sh.base[1];
			}
			begin_contact(e, ev, max, &n);
			break;
		}
		if (unlikely(e->t - e->t_cp >= ZERO_LOOKBACK_S))
			cp_step(e);
		if (unlikely(e->absorbed > 0.0) &&
		    f < -(e->absorbed - e->sc.contact_off_n)) {
			/* The static load is lifted off again (the tool is
			 * picked up): the zero before it holds again. */
			e->force.base -= e->absorbed;
			e->absorbed = 0.0;
			e->f = f = e->force.y - e->force.base;
			cp_reset(e);
			break;
		}
		/* Unloaded: follow the zero (load cells drift). */
		if (unlikely(has & SG_HAS_SHEAR) && f < e->sc.contact_off_n)
			track_shear_zero(e);
		if (unlikely(e->acq) && dt > 0.0) {
			/* running mean: the zero so far weighs acq_w */
			e->acq_w += dt;
			e->force.base += f * (dt / e->acq_w);
			e->acq = e->acq_w < e->sc.baseline_tau_s;
			break;
		}
		e->force.base += e->kbase * f;
		break;
	case ST_CONTACT:
		if (unlikely(static_load(e))) {
			absorb_static(e, ev, max, &n);
			f = e->f;
			break;
		}
		if (unlikely(f < e->sc.contact_off_n)) {
			e->state = ST_DIP;
			e->t_dip = e->t;
			e->saved = e->acc;
		}
		break;
	case ST_DIP:
		if (f >= e->sc.contact_on_n) {
			e->state = ST_CONTACT;	/* a short dip: same stroke */
		} else if (e->t - e->t_dip >= e->sc.merge_gap_s) {
			e->acc = e->saved;
			end_contact(e, e->t_dip, e->t, ev, max, &n);
		}
		break;
	}

	if (e->state != ST_IDLE) {
		struct accum *a = &e->acc;
		double m2 = 0.0, dot = 0.0;

		if (extra && (has & SG_HAS_SHEAR)) {
			/* |shear|^2 (for the reversal test and the stroke's
			 * peak) and shear . r, both sums in one addpd */
			v2 sh = v2_load(e->fsh);
			v2 sums = v2_hsum2(v2_mul(sh, sh), v2_mul(sh, v2_load(e->r)));

			m2 = v2_lo(sums);
			dot = v2_hi(sums);
		}
		if (extra && (has & SG_HAS_SHEAR) && !e->sc.contact_only)
			reversal_step(e, dt, m2, dot, ev, max, &n);
		if (unlikely(e->rev_cand))
			accum_add(e, &e->acc_new, has, dt);
		/* f > peak ? f : peak: one maxsd, no branch on the noise */
		a->peak = dmax(f, a->peak);
		a->impulse += f * dt;
		a->loaded_s += dt;
		if (f > e->cap)
			a->above_s += dt;
		if (extra && has)
			accumulate_extra(e, has, dt, m2);
		if (e->state == ST_CONTACT) {
			e->load_s += dt;
			if (unlikely(e->load_s >= e->cap_time_at))
				cap_time_reached(e, ev, max, &n);
		}
	}

	if (unlikely(f >= e->warn_level || e->limit_run))
		check_limits(e, 1.0 + (double)nlost, ev, max, &n);
	return n;
}

__attribute__((noinline))
static int feed_extra(struct sg_engine *e, const struct sg_sample *s, struct sg_event *ev,
		      int max)
{
	return feed(e, s, ev, max, s->has & (SG_HAS_SHEAR | SG_HAS_TILT));
}

/* The common instrument with extras: shear without tilt (has known here). */
__attribute__((noinline))
static int feed_shear(struct sg_engine *e, const struct sg_sample *s, struct sg_event *ev,
		      int max)
{
	return feed(e, s, ev, max, SG_HAS_SHEAR);
}

__attribute__((noinline))
static int feed_plain(struct sg_engine *e, const struct sg_sample *s, struct sg_event *ev,
		      int max)
{
	return feed(e, s, ev, max, false);
}

/* Tail calls: no registers saved here for any path. */
int sg_engine_feed(struct sg_engine *e, const struct sg_sample *s,
		   struct sg_event *ev, int max)
{
	uint8_t extra = s->has & (SG_HAS_SHEAR | SG_HAS_TILT);

	if (!extra)
		return feed_plain(e, s, ev, max);
	if (extra == SG_HAS_SHEAR)
		return feed_shear(e, s, ev, max);
	return feed_extra(e, s, ev, max);
}

int sg_engine_flush(struct sg_engine *e, struct sg_event *ev, int max)
{
	int n = 0;

	if (e->state == ST_CONTACT) {
		end_contact(e, e->t + e->period, e->t, ev, max, &n);
	} else if (e->state == ST_DIP) {
		e->acc = e->saved;
		end_contact(e, e->t_dip, e->t, ev, max, &n);
	}
	e->warn_n = e->exc_n = 0.0;
	return n;
}

double sg_engine_force(const struct sg_engine *e)
{
	return e->f;
}

bool sg_engine_in_contact(const struct sg_engine *e)
{
	return e->state != ST_IDLE;
}

/* Strokes per minute over the last RATE_RING strokes; once the current
 * pause is longer than the mean interval the rate decays as if the next
 * stroke started now, and it is 0 after a minute without strokes. */
double sg_engine_stroke_rate(const struct sg_engine *e)
{
	unsigned k = e->nstarts;
	double first, last, iv;

	if (k < 2)
		return 0.0;
	first = e->starts[0];
	last = e->starts[k - 1];
	if (e->t - last > 60.0)
		return 0.0;
	iv = (last - first) / (double)(k - 1);
	if (e->t - last > iv)
		iv = (e->t - first) / (double)k;
	return iv > 0 ? 60.0 / iv : 0.0;
}

uint32_t sg_engine_strokes(const struct sg_engine *e)
{
	return e->strokes;
}

uint32_t sg_engine_bursts(const struct sg_engine *e)
{
	return e->bursts;
}

double sg_engine_load_seconds(const struct sg_engine *e)
{
	return e->load_s;
}

double sg_engine_delay(const struct sg_engine *e)
{
	return e->delay;
}

double sg_engine_baseline(const struct sg_engine *e)
{
	return e->force.base;
}

uint64_t sg_engine_lost(const struct sg_engine *e)
{
	return e->lost;
}

struct sg_engine *sg_engine_new(const struct sg_stroke_config *sc,
				const struct sg_limit_config *lc)
{
	struct sg_engine *e = malloc(sizeof(*e));

	if (e)
		sg_engine_init(e, sc, lc);
	return e;
}

void sg_engine_free(struct sg_engine *e)
{
	free(e);
}
