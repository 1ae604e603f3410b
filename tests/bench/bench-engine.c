// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Engine bench (make bench): figures, never asserted.
 *
 *   bench-engine            throughput table + alarm latency table
 *   bench-engine --loop N   only the measured loop over N samples (for
 *                           valgrind --tool=callgrind --toggle-collect)
 *
 * Throughput: a simulated 1 kHz clinic trace is generated and encoded into
 * device frames once (sg_encode_frame); the measured loop decodes them
 * with sg_decode_frame(), applies the calibration and feeds the engine, on
 * one core, i.e. the daemon's per-sample path. The engine-only figure
 * (calibrated samples straight from memory) is printed too.
 *
 * Latency: signal time from the true threshold crossing (ground truth of
 * the simulator) to SG_EV_EXCEEDED, over many true violations.
 *
 * The same for an instrument with shear channels whose contacts are mostly
 * bursts of passes back and forth (the reversal test runs on every sample
 * in contact): throughput of its three-channel path, and latency per pass.
 *
 *   bench-engine --loop-shear N   the shear path's measured loop (callgrind)
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strigil.h"

#define TRACE_MAX (1u << 20)	/* samples generated once, replayed */

static size_t trace_n = TRACE_MAX;	/* a power of two */
#define RATE 1000.0
#define SCALE (1.0 / 40000.0)	/* N per count */
#define OFFSET 8000.0		/* counts at zero */

static int32_t *raw;
static double *force;
static size_t ntrace;
/* the shear trace: three channels */
static int32_t (*raw3)[3];
static double (*force3)[3];

static double now_s(void)
{
	struct timespec ts;

	/* CPU time of this thread: the machine may be shared (figures are
	 * then still per core, not diluted by other processes) */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void make_trace(void)
{
	struct sg_sim_config c;
	struct sg_sim *sim;
	struct sg_sample s;

	sg_sim_config_default(&c);
	c.seed = 42;
	c.duration_s = (double)trace_n / RATE;
	c.noise_n = 0.05;
	c.hum_n = 0.05;
	c.spike_rate_hz = 0.5;
	c.dip_prob = 0.2;
	c.over_prob = 0.2;
	c.over_n = 11.0;
	sim = sg_sim_new(&c);
	raw = malloc(trace_n * sizeof(*raw));
	force = malloc(trace_n * sizeof(*force));
	if (!sim || !raw || !force) {
		fprintf(stderr, "bench-engine: out of memory\n");
		exit(1);
	}
	while (ntrace < trace_n && sg_sim_next(sim, &s) == 1) {
		force[ntrace] = s.force_n;
		raw[ntrace] = (int32_t)lrint(s.force_n / SCALE + OFFSET);
		ntrace++;
	}
	for (size_t i = ntrace; i < trace_n; i++) {	/* (never, without drops) */
		force[i] = 0.0;
		raw[i] = (int32_t)OFFSET;
	}
	sg_sim_free(sim);
}

static struct sg_engine *new_engine_mains(double mains_hz)
{
	struct sg_stroke_config sc;
	struct sg_limit_config lc;

	sg_stroke_config_default(&sc);
	sc.mains_hz = mains_hz;
	sg_limit_config_default(&lc);
	lc.limit_n = 9.0;
	return sg_engine_new(&sc, &lc);
}

static struct sg_engine *new_engine(void)
{
	return new_engine_mains(0);
}

/* A 1 kHz trace of a shear instrument, 70 % of contacts bursts of 3-8
 * passes, fanning, strum dips, shear zero offset and drift. */
static struct sg_sim_config shear_config(double seconds)
{
	struct sg_sim_config c;

	sg_sim_config_default(&c);
	c.seed = 42;
	c.duration_s = seconds;
	c.noise_n = 0.05;
	c.hum_n = 0.05;
	c.dip_prob = 0.2;
	c.over_prob = 0.2;
	c.over_n = 11.0;
	c.has = SG_HAS_SHEAR;
	c.burst_prob = 0.7;
	c.fan_deg_s = 45.0;
	c.zig_deg = 20.0;
	c.shear_offset_n = 0.3;
	c.shear_drift_n_per_s = 0.005;
	return c;
}

static void make_shear_trace(void)
{
	struct sg_sim_config c = shear_config((double)trace_n / RATE);
	struct sg_sim *sim = sg_sim_new(&c);
	struct sg_sample s;
	size_t n = 0;

	raw3 = calloc(trace_n, sizeof(*raw3));
	force3 = calloc(trace_n, sizeof(*force3));
	if (!sim || !raw3 || !force3) {
		fprintf(stderr, "bench-engine: out of memory\n");
		exit(1);
	}
	while (n < trace_n && sg_sim_next(sim, &s) == 1) {
		force3[n][0] = s.force_n;
		force3[n][1] = s.shear_x_n;
		force3[n][2] = s.shear_y_n;
		for (int k = 0; k < 3; k++)
			raw3[n][k] = (int32_t)lrint(force3[n][k] / SCALE + OFFSET);
		n++;
	}
	for (; n < trace_n; n++)
		for (int k = 0; k < 3; k++)
			raw3[n][k] = (int32_t)OFFSET;
	sg_sim_free(sim);
}

/* The trace as device frames (one channel, 12 samples each), encoded once:
 * encoding is the instrument's work, not the host's. */
static uint8_t (*frames)[STRIGIL_FRAME_MAX_SIZE];
static uint8_t *frame_len;
static size_t nframes;

static void make_frames(void)
{
	const unsigned per = STRIGIL_MAX_SAMPLES_PER_FRAME(1);
	int32_t in[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS] = { { 0 } };

	nframes = trace_n / per;
	frames = malloc(nframes * sizeof(*frames));
	frame_len = malloc(nframes);
	if (!frames || !frame_len) {
		fprintf(stderr, "bench-engine: out of memory\n");
		exit(1);
	}
	for (size_t f = 0; f < nframes; f++) {
		int len;

		for (unsigned i = 0; i < per; i++)
			in[i][0] = raw[f * per + i];
		len = sg_encode_frame(frames[f], sizeof(frames[f]), (uint32_t)f,
				      (uint32_t)(f * per * 1000), 0, 1,
				      (const int32_t (*)[STRIGIL_MAX_CHANNELS])in, per);
		if (len <= 0) {
			fprintf(stderr, "bench-engine: sg_encode_frame failed\n");
			exit(1);
		}
		frame_len[f] = (uint8_t)len;
	}
}

#define MASK3 (STRIGIL_CH_BIT(STRIGIL_CH_NORMAL) | STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_X) | \
	       STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_Y))
static uint8_t (*frames3)[STRIGIL_FRAME_MAX_SIZE];
static uint8_t *frame3_len;
static size_t nframes3;

static void make_frames3(void)
{
	const unsigned per = STRIGIL_MAX_SAMPLES_PER_FRAME(3);
	int32_t in[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS] = { { 0 } };

	nframes3 = trace_n / per;
	frames3 = malloc(nframes3 * sizeof(*frames3));
	frame3_len = malloc(nframes3);
	if (!frames3 || !frame3_len) {
		fprintf(stderr, "bench-engine: out of memory\n");
		exit(1);
	}
	for (size_t f = 0; f < nframes3; f++) {
		int len;

		for (unsigned i = 0; i < per; i++)
			for (int k = 0; k < 3; k++)
				in[i][k] = raw3[f * per + i][k];
		len = sg_encode_frame(frames3[f], sizeof(frames3[f]), (uint32_t)f,
				      (uint32_t)(f * per * 1000), 0, MASK3,
				      (const int32_t (*)[STRIGIL_MAX_CHANNELS])in, per);
		if (len <= 0) {
			fprintf(stderr, "bench-engine: sg_encode_frame failed\n");
			exit(1);
		}
		frame3_len[f] = (uint8_t)len;
	}
}

/* The daemon's path for a shear instrument: three channels per sample. */
__attribute__((noinline)) static uint64_t bench_loop_shear(struct sg_engine *e, uint64_t n)
{
	struct sg_calibration cal = { .channel_mask = MASK3 };
	struct sg_decoder dec;
	struct sg_block blk;
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	uint64_t events = 0, k = 0;

	for (int c = 0; c < 3; c++) {
		cal.offset[c] = OFFSET;
		cal.scale[c] = SCALE;
	}
	sg_decoder_init(&dec, MASK3);
	for (size_t f = 0; k < n; f++) {
		size_t i = f % nframes3;

		if (i == 0)
			sg_decoder_init(&dec, MASK3);
		if (sg_decode_frame(&dec, frames3[i], frame3_len[i], &blk) != SG_FRAME_OK)
			return 0;
		for (unsigned j = 0; j < blk.nsamples; j++, k++) {
			struct sg_sample s = {
				.t_s = (double)k * (1.0 / RATE),
				.force_n = sg_calibration_apply(&cal, 0, blk.raw[j][0]),
				.shear_x_n = sg_calibration_apply(&cal, 1, blk.raw[j][1]),
				.shear_y_n = sg_calibration_apply(&cal, 2, blk.raw[j][2]),
				.has = SG_HAS_SHEAR,
			};

			events += (uint64_t)sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE);
		}
	}
	return events;
}

__attribute__((noinline)) static uint64_t engine_loop_shear(struct sg_engine *e, uint64_t n)
{
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	uint64_t events = 0;

	for (uint64_t k = 0; k < n; k++) {
		const double *x = force3[k & (trace_n - 1)];
		struct sg_sample s = {
			.t_s = (double)k * (1.0 / RATE),
			.force_n = x[0], .shear_x_n = x[1], .shear_y_n = x[2],
			.has = SG_HAS_SHEAR,
		};

		events += (uint64_t)sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE);
	}
	return events;
}

/* Frames -> decoder -> calibration -> engine, about n samples (whole
 * frames). Returns the number of events (so nothing is optimised away). */
__attribute__((noinline)) static uint64_t bench_loop(struct sg_engine *e, uint64_t n)
{
	struct sg_calibration cal = { .channel_mask = 1 };
	struct sg_decoder dec;
	struct sg_block blk;
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	uint64_t events = 0, k = 0;

	cal.offset[0] = OFFSET;
	cal.scale[0] = SCALE;
	sg_decoder_init(&dec, 1);
	for (size_t f = 0; k < n; f++) {
		size_t i = f % nframes;

		/* replaying the trace again looks like a device restart */
		if (i == 0)
			sg_decoder_init(&dec, 1);
		if (sg_decode_frame(&dec, frames[i], frame_len[i], &blk) != SG_FRAME_OK)
			return 0;
		for (unsigned j = 0; j < blk.nsamples; j++, k++) {
			struct sg_sample s = {
				.t_s = (double)k * (1.0 / RATE),
				.force_n = sg_calibration_apply(&cal, 0, blk.raw[j][0]),
			};

			events += (uint64_t)sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE);
		}
	}
	return events;
}

__attribute__((noinline)) static uint64_t engine_loop(struct sg_engine *e, uint64_t n)
{
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	uint64_t events = 0;

	for (uint64_t k = 0; k < n; k++) {
		struct sg_sample s = {
			.t_s = (double)k * (1.0 / RATE),
			.force_n = force[k & (trace_n - 1)],
		};

		events += (uint64_t)sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE);
	}
	return events;
}

static double best_rate(uint64_t (*loop)(struct sg_engine *, uint64_t), uint64_t n,
			uint64_t *events)
{
	double best = 0;

	/* best of many short runs: one of them finds a quiet moment on a
	 * shared machine (a noisy neighbour once took a best of 3 x 20 M
	 * from 64 to 43 M samples/s) */
	for (int rep = 0; rep < 9; rep++) {
		struct sg_engine *e = new_engine();
		double t0 = now_s(), dt;

		*events = loop(e, n);
		dt = now_s() - t0;
		if (dt > 0 && n / dt > best)
			best = (double)n / dt;
		sg_engine_free(e);
	}
	return best;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);

	if (n == 0)
		return NAN;
	return v[i ? (i > n ? n - 1 : i - 1) : 0];
}

/* Latency of SG_EV_EXCEEDED after the true crossing, at one rate. */
static void latency(double rate, double jitter, double mains_hz)
{
	struct sg_sim_config c;
	struct sg_sim *sim;
	struct sg_sample s;
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	struct sg_engine *e = new_engine_mains(mains_hz);
	double exc[4096], lat[4096];
	size_t nexc = 0, nlat = 0, ntr, missed = 0;
	const struct sg_sim_truth *tr;

	sg_sim_config_default(&c);
	c.seed = 7;
	c.rate_hz = rate;
	c.duration_s = 900;
	c.noise_n = 0.05;
	c.hum_n = 0.05;
	c.jitter_s = jitter;
	c.over_prob = 0.4;
	c.over_n = 9.0 * 1.25;
	sim = sg_sim_new(&c);
	for (;;) {
		int more = sg_sim_next(sim, &s);
		int k = more ? sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE)
			     : sg_engine_flush(e, ev, SG_MAX_EVENTS_PER_SAMPLE);

		for (int i = 0; i < k; i++)
			if (ev[i].type == SG_EV_EXCEEDED && nexc < 4096)
				exc[nexc++] = ev[i].t_s;
		if (!more)
			break;
	}
	tr = sg_sim_truth(sim, &ntr);
	for (size_t i = 0; i < ntr && nlat < 4096; i++) {
		double first;
		bool found = false;

		if (sg_sim_truth_verdict(&tr[i], 9.0, 0.010) != SG_SIM_VIOLATION)
			continue;
		first = sg_sim_truth_first_run(&tr[i], 9.0, 0.010);
		for (size_t j = 0; j < nexc; j++) {
			if (exc[j] >= tr[i].start_s && exc[j] <= tr[i].end_s + 0.05) {
				lat[nlat++] = (exc[j] - first) * 1000.0;
				found = true;
				break;
			}
		}
		missed += !found;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("| %6.0f Hz%s | %5zu | %5.1f | %5.1f | %5.1f | %zu |\n", rate,
	       jitter > 0 ? " +jitter" : mains_hz > 0 ? " +notch " : "        ",
	       nlat, pct(lat, nlat, 0.5),
	       pct(lat, nlat, 0.95), nlat ? lat[nlat - 1] : NAN, missed);
	sg_engine_free(e);
	sg_sim_free(sim);
}

/* Latency per pass on the shear trace with bursts: the alarm of a pass is
 * the first exceeded inside it. A pass that reaches the cap within
 * reversal_confirm_s + sustain of its turnaround can alarm only once the
 * turnaround is confirmed: counted apart, from the turnaround. */
static void latency_bursts(double rate)
{
	struct sg_sim_config c = shear_config(900);
	struct sg_sim *sim;
	struct sg_sample s;
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	struct sg_engine *e = new_engine();
	static double exc[8192], lat[8192], turn[8192];
	size_t nexc = 0, nlat = 0, nturn = 0, ntr, missed = 0;
	const struct sg_sim_truth *tr;

	c.seed = 7;
	c.rate_hz = rate;
	c.over_prob = 0.4;
	c.over_n = 9.0 * 1.25;
	sim = sg_sim_new(&c);
	for (;;) {
		int more = sg_sim_next(sim, &s);
		int k = more ? sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE)
			     : sg_engine_flush(e, ev, SG_MAX_EVENTS_PER_SAMPLE);

		for (int i = 0; i < k; i++)
			if (ev[i].type == SG_EV_EXCEEDED && nexc < 8192)
				exc[nexc++] = ev[i].t_s;
		if (!more)
			break;
	}
	tr = sg_sim_truth(sim, &ntr);
	for (size_t i = 0; i < ntr && nlat < 8192 && nturn < 8192; i++) {
		double first, slack = tr[i].end == SG_END_LIFT ? 0.05 : 0.0;
		bool found = false;

		if (sg_sim_truth_verdict(&tr[i], 9.0, 0.010) != SG_SIM_VIOLATION)
			continue;
		first = sg_sim_truth_first_run(&tr[i], 9.0, 0.010);
		for (size_t j = 0; j < nexc && !found; j++) {
			if (exc[j] < tr[i].start_s || exc[j] > tr[i].end_s + slack)
				continue;
			found = true;
			if (tr[i].pass > 1 && (isnan(first) || first < tr[i].start_s + 0.050))
				turn[nturn++] = (exc[j] - tr[i].start_s) * 1000.0;
			else
				lat[nlat++] = (exc[j] - first) * 1000.0;
		}
		missed += !found;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	qsort(turn, nturn, sizeof(*turn), cmp_double);
	printf("| %6.0f Hz bursts  | %5zu | %5.1f | %5.1f | %5.1f | %zu |\n", rate, nlat,
	       pct(lat, nlat, 0.5), pct(lat, nlat, 0.95), nlat ? lat[nlat - 1] : NAN, missed);
	printf("| (from turnaround) | %5zu | %5.1f | %5.1f | %5.1f | - |\n", nturn,
	       pct(turn, nturn, 0.5), pct(turn, nturn, 0.95), nturn ? turn[nturn - 1] : NAN);
	sg_engine_free(e);
	sg_sim_free(sim);
}

int main(int argc, char **argv)
{
	uint64_t loop_n = 0, events;
	double full, eng;
	struct sg_engine *e;

	bool shear_loop = false;

	if (argc == 3 && strcmp(argv[1], "--loop") == 0) {
		loop_n = strtoull(argv[2], NULL, 10);
	} else if (argc == 3 && strcmp(argv[1], "--loop-shear") == 0) {
		loop_n = strtoull(argv[2], NULL, 10);
		shear_loop = true;
	} else if (argc != 1) {
		fprintf(stderr, "Usage: bench-engine [--loop N | --loop-shear N]\n");
		return 2;
	}
	if (loop_n)
		trace_n = 1u << 16;	/* under callgrind: keep the setup short */
	make_trace();
	make_frames();
	make_shear_trace();
	make_frames3();
	if (loop_n) {
		e = new_engine();
		events = shear_loop ? bench_loop_shear(e, loop_n) : bench_loop(e, loop_n);
		sg_engine_free(e);
		printf("%llu samples, %llu events\n", (unsigned long long)loop_n,
		       (unsigned long long)events);
		return 0;
	}

	full = best_rate(bench_loop, 10u * 1000 * 1000, &events);
	eng = best_rate(engine_loop, 10u * 1000 * 1000, &events);
	printf("Engine throughput, one core (thread CPU time), 1 kHz clinic trace "
	       "(best of 9 x 10 M samples)\n\n");
	printf("| path | M samples/s | ns/sample |\n|---|---|---|\n");
	printf("| decode + calibrate + engine | %.1f | %.1f |\n", full / 1e6, 1e9 / full);
	printf("| engine only | %.1f | %.1f |\n", eng / 1e6, 1e9 / eng);
	{
		uint64_t ev3;
		double full3 = best_rate(bench_loop_shear, 10u * 1000 * 1000, &ev3);
		double eng3 = best_rate(engine_loop_shear, 10u * 1000 * 1000, &ev3);

		printf("| decode + calibrate + engine, shear, bursts | %.1f | %.1f |\n",
		       full3 / 1e6, 1e9 / full3);
		printf("| engine only, shear, bursts | %.1f | %.1f |\n", eng3 / 1e6, 1e9 / eng3);
		printf("\n(%llu events per 10 M samples, %llu with shear and bursts; "
		       "goal >= 50 M samples/s)\n\n",
		       (unsigned long long)events, (unsigned long long)ev3);
	}

	printf("Alarm latency, signal time from the true crossing of the cap (start of the\n"
	       "first run above it lasting the sustain time) to SG_EV_EXCEEDED\n"
	       "(sustain 10 ms, 900 s per row)\n\n");
	printf("| rate | violations | p50 ms | p95 ms | max ms | missed |\n|---|---|---|---|---|---|\n");
	latency(100, 0, 0);
	latency(500, 0, 0);
	latency(1000, 0, 0);
	latency(1000, 0.0003, 0);
	latency(1000, 0, 50);
	latency(2000, 0, 0);
	latency_bursts(500);
	latency_bursts(1000);
	latency_bursts(2000);
	printf("\n(goal: p95 <= 15 ms at 500-2000 Hz; at 100 Hz one sample is 10 ms; "
	       "\"from turnaround\": passes\nalready at the cap when their turnaround "
	       "is confirmed, time from the turnaround)\n");
	free(raw);
	free(force);
	free(frames);
	free(frame_len);
	free(raw3);
	free(force3);
	free(frames3);
	free(frame3_len);
	return 0;
}
