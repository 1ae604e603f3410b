// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Accuracy suite: simulated sessions with known ground truth through the
 * stroke and limit engine, one scenario per sensor imperfection.
 *
 *   accuracy [--markdown] [--scenario NAME] [--seconds S]
 *
 * Per scenario: strokes matched one-to-one by time overlap (F1), peak
 * error of matched strokes, limit violations caught, false alarms, and the
 * alarm latency in signal time from the true threshold crossing. Exit 1 if
 * a scenario misses a threshold:
 *   stroke F1 >= 0.99, median peak error <= 2 %,
 *   every true violation gets SG_EV_EXCEEDED (and every true warning-level
 *   run gets SG_EV_WARNING), no alarm on a stroke that is truly safe or
 *   outside any stroke, never a second warning or exceeded in one stroke.
 * Nothing here depends on wall-clock time.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strigil.h"

#define MIN_F1 0.99
#define MAX_MEDIAN_PEAK_ERR 0.02

struct scenario {
	const char *name;
	const char *what;
	void (*setup)(struct sg_sim_config *c);
	double mains_hz;	/* engine's mains notch (0: off) */
};

struct alarm {
	enum sg_event_type type;
	double t;
};

struct result {
	size_t ntruth, ndet, tp, fp, fn;
	double f1;
	double peak_med, peak_p95;	/* relative */
	size_t viol, caught, wviol, wcaught;
	size_t false_exc, false_warn;
	size_t double_alarms;	/* a second warning or exceeded in one stroke */
	size_t ambiguous;
	double lat_p50, lat_p95, lat_max;	/* ms */
	double dir_med, tilt_med;	/* deg, NaN if no channels */
	double start_med, end_med;	/* ms, detected - true, signed */
	uint64_t samples, dropped;
	bool pass;
};

/* ---- scenarios -------------------------------------------------------- */

#define LIMIT_N 9.0

static void base(struct sg_sim_config *c)
{
	sg_sim_config_default(c);
	c->noise_n = 0.02;
	c->over_prob = 0.15;
	c->over_n = LIMIT_N * 1.25;
}

static void sc_clean(struct sg_sim_config *c) { base(c); }
static void sc_noise(struct sg_sim_config *c) { base(c); c->noise_n = 0.10; }
static void sc_hum50(struct sg_sim_config *c) { base(c); c->hum_n = 0.10; c->hum_hz = 50; }
static void sc_hum60(struct sg_sim_config *c) { base(c); c->hum_n = 0.10; c->hum_hz = 60; }
static void sc_drift(struct sg_sim_config *c) { base(c); c->drift_n_per_s = 0.01; }
static void sc_spikes(struct sg_sim_config *c)
{
	base(c);
	c->spike_rate_hz = 2.0;
	c->spike_n = 30.0;
}
static void sc_drops(struct sg_sim_config *c) { base(c); c->drop_prob = 0.002; }
static void sc_dips(struct sg_sim_config *c) { base(c); c->dip_prob = 0.4; }
static void sc_r100(struct sg_sim_config *c) { base(c); c->rate_hz = 100; }
static void sc_r500(struct sg_sim_config *c) { base(c); c->rate_hz = 500; }
static void sc_r2000(struct sg_sim_config *c) { base(c); c->rate_hz = 2000; }
static void sc_jitter(struct sg_sim_config *c) { base(c); c->jitter_s = 0.0003; }
static void sc_nantime(struct sg_sim_config *c) { base(c); c->nan_time = true; }
static void sc_shear(struct sg_sim_config *c)
{
	base(c);
	c->has = SG_HAS_SHEAR | SG_HAS_TILT;
}
static void sc_light(struct sg_sim_config *c)
{
	base(c);
	c->peak_mean_n = 3.5;
	c->peak_sd_n = 1.0;
	c->stroke_rate_hz = 1.0;
}
static void sc_heavy(struct sg_sim_config *c)
{
	base(c);
	c->peak_mean_n = 10.0;
	c->peak_sd_n = 3.0;
	c->stroke_rate_hz = 0.3;
	c->stroke_duty = 0.6;
}
static void sc_clinic(struct sg_sim_config *c)
{
	base(c);
	c->noise_n = 0.05;
	c->hum_n = 0.05;
	c->drift_n_per_s = 0.005;
	c->spike_rate_hz = 0.5;
	c->spike_n = 30.0;
	c->drop_prob = 0.001;
	c->dip_prob = 0.2;
	c->jitter_s = 0.0002;
	c->has = SG_HAS_SHEAR | SG_HAS_TILT;
}

static const struct scenario scenarios[] = {
	{ "clean", "0.02 N noise only", sc_clean, 0 },
	{ "noise", "0.10 N RMS white noise", sc_noise, 0 },
	{ "hum50", "0.10 N mains hum at 50 Hz", sc_hum50, 0 },
	{ "hum60", "0.10 N mains hum at 60 Hz", sc_hum60, 0 },
	{ "hum50notch", "0.10 N hum at 50 Hz, engine notch at 50 Hz", sc_hum50, 50 },
	{ "hum60notch", "0.10 N hum at 60 Hz, engine notch at 60 Hz", sc_hum60, 60 },
	{ "drift", "baseline wander, slope up to 0.01 N/s", sc_drift, 0 },
	{ "spikes", "2 spikes/s of 15-45 N, single samples", sc_spikes, 0 },
	{ "drops", "lost frames: 1-12 samples, ~1.3 % lost", sc_drops, 0 },
	{ "dips", "strum dips in 40 % of strokes", sc_dips, 0 },
	{ "rate100", "100 Hz sampling", sc_r100, 0 },
	{ "rate500", "500 Hz sampling", sc_r500, 0 },
	{ "rate2000", "2000 Hz sampling", sc_r2000, 0 },
	{ "jitter", "+-0.3 ms timestamp jitter", sc_jitter, 0 },
	{ "nantime", "no timestamps (NaN): nominal rate", sc_nantime, 0 },
	{ "sheartilt", "shear X/Y and tilt channels", sc_shear, 0 },
	{ "light", "light strokes 3.5+-1 N at 1 Hz", sc_light, 0 },
	{ "heavy", "heavy strokes 10+-3 N at 0.3 Hz", sc_heavy, 0 },
	{ "clinic", "all of the above at once", sc_clinic, 0 },
};

/* ---- helpers ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)ceil(q * (double)n) - (q > 0 ? 1 : 0);
	if (i >= n)
		i = n - 1;
	return v[i];
}

static double overlap(double a0, double a1, double b0, double b1)
{
	return fmin(a1, b1) - fmax(a0, b0);
}

static double angle_diff(double a, double b)
{
	double d = fmod(a - b + 540.0, 360.0) - 180.0;

	return fabs(d);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		perror("calloc");
		exit(2);
	}
	return p;
}

/* Index of the truth stroke that contains t (alarms may come a filter
 * delay after the force fell back), or -1. */
static long stroke_at(const struct sg_sim_truth *tr, size_t n, double t)
{
	for (size_t i = 0; i < n; i++)
		if (t >= tr[i].start_s && t <= tr[i].end_s + 0.05)
			return (long)i;
	return -1;
}

/* ---- one scenario ----------------------------------------------------- */

static void run(const struct scenario *sc, double seconds, uint64_t seed,
		struct result *r)
{
	struct sg_sim_config cfg;
	struct sg_stroke_config scfg;
	struct sg_limit_config lcfg;
	struct sg_engine *e;
	struct sg_sim *sim;
	struct sg_sample smp;
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	struct sg_stroke *det = NULL;
	struct alarm *alarms = NULL;
	size_t ndet = 0, capdet = 0, nal = 0, capal = 0, ntr;
	const struct sg_sim_truth *tr;
	double *perr, *lat, *derr, *terr, *serr, *eerr;
	size_t nperr = 0, nlat = 0, nderr = 0, nterr = 0, nserr = 0;
	bool *used, *exc_on, *warn_on;
	int k;

	memset(r, 0, sizeof(*r));
	sc->setup(&cfg);
	cfg.seed = seed;
	cfg.duration_s = seconds;
	sim = sg_sim_new(&cfg);
	if (!sim) {
		fprintf(stderr, "%s: bad simulator config\n", sc->name);
		exit(2);
	}
	sg_stroke_config_default(&scfg);
	scfg.mains_hz = sc->mains_hz;
	sg_limit_config_default(&lcfg);
	lcfg.limit_n = LIMIT_N;
	e = sg_engine_new(&scfg, &lcfg);
	if (!e)
		exit(2);

	for (;;) {
		int more = sg_sim_next(sim, &smp);

		if (more)
			k = sg_engine_feed(e, &smp, ev, SG_MAX_EVENTS_PER_SAMPLE);
		else
			k = sg_engine_flush(e, ev, SG_MAX_EVENTS_PER_SAMPLE);
		r->samples += (uint64_t)more;
		for (int i = 0; i < k; i++) {
			if (ev[i].type == SG_EV_STROKE) {
				if (ndet == capdet) {
					capdet = capdet ? capdet * 2 : 64;
					det = realloc(det, capdet * sizeof(*det));
					if (!det)
						exit(2);
				}
				det[ndet++] = ev[i].stroke;
			} else if (ev[i].type == SG_EV_EXCEEDED ||
				   ev[i].type == SG_EV_WARNING) {
				if (nal == capal) {
					capal = capal ? capal * 2 : 64;
					alarms = realloc(alarms, capal * sizeof(*alarms));
					if (!alarms)
						exit(2);
				}
				alarms[nal].type = ev[i].type;
				alarms[nal].t = ev[i].t_s;
				nal++;
			}
		}
		if (!more)
			break;
	}
	r->dropped = sg_sim_dropped(sim);
	tr = sg_sim_truth(sim, &ntr);
	r->ntruth = ntr;
	r->ndet = ndet;

	/* Strokes: each truth stroke takes the unused detection that
	 * overlaps it most. */
	used = xcalloc(ndet, sizeof(*used));
	perr = xcalloc(ntr, sizeof(*perr));
	derr = xcalloc(ntr, sizeof(*derr));
	terr = xcalloc(ntr, sizeof(*terr));
	serr = xcalloc(ntr, sizeof(*serr));
	eerr = xcalloc(ntr, sizeof(*eerr));
	for (size_t i = 0; i < ntr; i++) {
		long best = -1;
		double bo = 0.0;

		for (size_t j = 0; j < ndet; j++) {
			double o = overlap(tr[i].start_s, tr[i].end_s,
					   det[j].start_s, det[j].end_s);

			if (!used[j] && o > bo) {
				bo = o;
				best = (long)j;
			}
		}
		if (best < 0)
			continue;
		used[best] = true;
		r->tp++;
		perr[nperr++] = fabs(det[best].peak_n - tr[i].peak_n) / tr[i].peak_n;
		serr[nserr] = (det[best].start_s - tr[i].start_s) * 1000.0;
		eerr[nserr++] = (det[best].end_s - tr[i].end_s) * 1000.0;
		if ((tr[i].has & SG_HAS_SHEAR) && (det[best].has & SG_HAS_SHEAR))
			derr[nderr++] = angle_diff(det[best].direction_deg, tr[i].direction_deg);
		if ((tr[i].has & SG_HAS_TILT) && (det[best].has & SG_HAS_TILT))
			terr[nterr++] = fabs(det[best].mean_tilt_deg - tr[i].mean_tilt_deg);
	}
	r->fp = ndet - r->tp;
	r->fn = ntr - r->tp;
	r->f1 = (2.0 * (double)r->tp) / (double)(2 * r->tp + r->fp + r->fn);
	if (2 * r->tp + r->fp + r->fn == 0)
		r->f1 = 1.0;
	r->peak_med = quantile(perr, nperr, 0.5);
	r->peak_p95 = quantile(perr, nperr, 0.95);
	r->dir_med = quantile(derr, nderr, 0.5);
	r->tilt_med = quantile(terr, nterr, 0.5);
	r->start_med = quantile(serr, nserr, 0.5);
	r->end_med = quantile(eerr, nserr, 0.5);

	/* Alarms against the verdict of each truth stroke. */
	exc_on = xcalloc(ntr, sizeof(*exc_on));
	warn_on = xcalloc(ntr, sizeof(*warn_on));
	lat = xcalloc(ntr, sizeof(*lat));
	for (size_t a = 0; a < nal; a++) {
		long i = stroke_at(tr, ntr, alarms[a].t);
		bool exc = alarms[a].type == SG_EV_EXCEEDED;
		double level = exc ? LIMIT_N : LIMIT_N * lcfg.warn_fraction;

		if (i < 0 || sg_sim_truth_verdict(&tr[i], level, lcfg.sustain_s) == SG_SIM_SAFE) {
			if (exc)
				r->false_exc++;
			else
				r->false_warn++;
			continue;
		}
		/* at most once per stroke: a second one is an error */
		if (exc ? exc_on[i] : warn_on[i])
			r->double_alarms++;
		if (exc && !exc_on[i]) {
			double first;

			exc_on[i] = true;
			first = sg_sim_truth_first_run(&tr[i], LIMIT_N, lcfg.sustain_s);
			if (sg_sim_truth_verdict(&tr[i], LIMIT_N, lcfg.sustain_s) == SG_SIM_VIOLATION)
				lat[nlat++] = (alarms[a].t - first) * 1000.0;
		}
		if (!exc)
			warn_on[i] = true;
	}
	for (size_t i = 0; i < ntr; i++) {
		enum sg_sim_verdict v = sg_sim_truth_verdict(&tr[i], LIMIT_N, lcfg.sustain_s);
		enum sg_sim_verdict w = sg_sim_truth_verdict(&tr[i], LIMIT_N * lcfg.warn_fraction,
							     lcfg.sustain_s);

		if (v == SG_SIM_VIOLATION) {
			r->viol++;
			r->caught += exc_on[i];
		} else if (v == SG_SIM_AMBIGUOUS) {
			r->ambiguous++;
		}
		if (w == SG_SIM_VIOLATION) {
			r->wviol++;
			/* an exceeded alarm stands for the warning */
			r->wcaught += warn_on[i] || exc_on[i];
		}
	}
	r->lat_p50 = quantile(lat, nlat, 0.5);
	r->lat_p95 = quantile(lat, nlat, 0.95);
	r->lat_max = nlat ? quantile(lat, nlat, 1.0) : NAN;

	r->pass = r->f1 >= MIN_F1 && r->peak_med <= MAX_MEDIAN_PEAK_ERR &&
		  r->caught == r->viol && r->wcaught == r->wviol &&
		  r->false_exc == 0 && r->false_warn == 0 && r->double_alarms == 0;

	free(used);
	free(perr);
	free(derr);
	free(terr);
	free(serr);
	free(eerr);
	free(lat);
	free(exc_on);
	free(warn_on);
	free(det);
	free(alarms);
	sg_engine_free(e);
	sg_sim_free(sim);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: accuracy [--markdown] [--scenario NAME] [--seconds S] [--seeds N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "markdown", no_argument, NULL, 'm' },
		{ "scenario", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "seeds", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *only = NULL;
	bool md = false;
	double seconds = 120.0;
	int nseeds = 2, c, failed = 0, ran = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': md = true; break;
		case 's': only = optarg; break;
		case 't': seconds = atof(optarg); break;
		case 'n': nseeds = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!(seconds >= 10 && seconds <= 36000) || nseeds < 1 || nseeds > 100) {
		usage(stderr);
		return 2;
	}
	printf("Limit %.1f N, warning at 90 %%, sustain 10 ms; %d seed(s) x %.0f s per scenario.\n\n",
	       LIMIT_N, nseeds, seconds);
	printf("| scenario | strokes | F1 | FP | FN | peak err median | peak err p95 "
	       "| violations caught | warnings caught | ambiguous | false alarms "
	       "| latency p50/p95/max ms | start/end err ms | dir/tilt err deg | verdict |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *sc = &scenarios[i];

		if (only && strcmp(only, sc->name) != 0)
			continue;
		for (int s = 0; s < nseeds; s++) {
			struct result r;
			char ch[32] = "-", label[48];

			run(sc, seconds, 1000 + (uint64_t)s * 7919 + i, &r);
			ran++;
			if (nseeds > 1)
				snprintf(label, sizeof(label), "%s/%d", sc->name, s + 1);
			else
				snprintf(label, sizeof(label), "%s", sc->name);
			if (!isnan(r.dir_med))
				snprintf(ch, sizeof(ch), "%.1f / %.1f", r.dir_med, r.tilt_med);
			printf("| %s | %zu | %.4f | %zu | %zu | %.2f %% | %.2f %% | %zu/%zu "
			       "| %zu/%zu | %zu | %zu | %.1f / %.1f / %.1f | %+.0f / %+.0f | %s | %s |\n",
			       label,
			       r.ntruth, r.f1, r.fp, r.fn, r.peak_med * 100, r.peak_p95 * 100,
			       r.caught, r.viol, r.wcaught, r.wviol, r.ambiguous,
			       r.false_exc + r.false_warn,
			       r.lat_p50, r.lat_p95, r.lat_max, r.start_med, r.end_med, ch,
			       r.pass ? "pass" : "FAIL");
			if (r.double_alarms)
				printf("  %s: %zu second alarm(s) inside one stroke\n", label,
				       r.double_alarms);
			if (!r.pass)
				failed++;
		}
	}
	if (!md)
		printf("\n%d run(s), %d failed (thresholds: F1 >= %.2f, median peak error <= %.0f %%, "
		       "all violations caught, no false alarms, one alarm per stroke)\n",
		       ran, failed, MIN_F1, MAX_MEDIAN_PEAK_ERR * 100);
	if (ran == 0) {
		fprintf(stderr, "accuracy: no scenario named '%s'\n", only ? only : "");
		return 2;
	}
	return failed ? 1 : 0;
}
