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

int main(int argc, char **argv)
{
	uint64_t loop_n = 0, events;
	double full, eng;
	struct sg_engine *e;

	if (argc == 3 && strcmp(argv[1], "--loop") == 0) {
		loop_n = strtoull(argv[2], NULL, 10);
	} else if (argc != 1) {
		fprintf(stderr, "Usage: bench-engine [--loop N]\n");
		return 2;
	}
	if (loop_n)
		trace_n = 1u << 16;	/* under callgrind: keep the setup short */
	make_trace();
	make_frames();
	if (loop_n) {
		e = new_engine();
		events = bench_loop(e, loop_n);
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
	printf("\n(%llu events per 10 M samples; goal >= 50 M samples/s)\n\n",
	       (unsigned long long)events);

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
	printf("\n(goal: p95 <= 15 ms at 500-2000 Hz; at 100 Hz one sample is 10 ms)\n");
	free(raw);
	free(force);
	free(frames);
	free(frame_len);
	return 0;
}
