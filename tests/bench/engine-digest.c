// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * engine-digest [EVENTS_FILE]: a bit-exact fingerprint of what the engine
 * and the frame decoder produce, for optimising them without changing
 * behaviour (docs/engine.md, "Bench"). Build it against the library before
 * and after a change and compare the output: one FNV-1a hash per simulated
 * session over every event field and the filtered force and zero after
 * every sample (as bit patterns), and one over the decoder's output bytes
 * and counters for random frames (bad ones mixed in). EVENTS_FILE, if
 * given, gets every event in %a notation, to find the first difference.
 * Not a test: it has no expected values of its own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "strigil.h"

static uint64_t h;
static void mix(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
}
static void mixd(double d) { mix(&d, sizeof d); }

static void mix_events(const struct sg_event *ev, int k, FILE *log)
{
	for (int i = 0; i < k; i++) {
		const struct sg_event *e = &ev[i];
		mix(&e->type, sizeof e->type); mixd(e->t_s); mixd(e->force_n); mixd(e->limit_n);
		if (e->type == SG_EV_STROKE) {
			const struct sg_stroke *s = &e->stroke;
			mix(&s->index, 4); mixd(s->start_s); mixd(s->end_s); mixd(s->duration_s);
			mixd(s->peak_n); mixd(s->mean_n); mixd(s->impulse_ns); mixd(s->above_limit_s);
			mixd(s->limit_n); mix(&s->has, 1); mixd(s->peak_shear_n); mixd(s->mean_tilt_deg);
			mixd(s->direction_deg); mix(&s->burst, 4); mix(&s->pass, 4); mix(&s->end, 1);
		}
		if (e->type == SG_EV_BURST) {
			const struct sg_burst *b = &e->burst;
			mix(&b->index, 4); mix(&b->passes, 4); mixd(b->start_s); mixd(b->end_s);
			mixd(b->duration_s); mixd(b->peak_n);
		}
		if (log) fprintf(log, "%d %a %a %a\n", e->type, e->t_s, e->force_n, e->limit_n);
	}
}

struct variant { const char *name; double rate, jitter, drop, mains; uint8_t has; double burst; bool nan_time; bool contact_only; int tare; double spike; double drift; };

int main(int argc, char **argv)
{
	static const struct variant v[] = {
		{"plain1k", 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.002},
		{"plain100", 100, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0},
		{"plain2k-jit", 2000, 0.0001, 0, 0, 0, 0, 0, 0, 0, 0.5, 0},
		{"plain500-drop", 500, 0, 0.001, 0, 0, 0, 0, 0, 0, 0.5, 0.005},
		{"plain1k-notch", 1000, 0, 0, 50, 0, 0, 0, 0, 0, 0.5, 0},
		{"plain1k-nan", 1000, 0, 0, 0, 0, 0, 1, 0, 0, 0.5, 0},
		{"plain1k-tare", 1000, 0, 0, 0, 0, 0, 0, 0, 1, 0.5, 0},
		{"shear1k-burst", 1000, 0, 0, 0, SG_HAS_SHEAR, 0.7, 0, 0, 0, 0.5, 0.002},
		{"shear2k-burst-jit", 2000, 0.0002, 0, 0, SG_HAS_SHEAR, 0.7, 0, 0, 0, 0, 0},
		{"shear500-burst-drop", 500, 0, 0.001, 0, SG_HAS_SHEAR, 0.7, 0, 0, 0, 0.5, 0},
		{"shear1k-notch", 1000, 0, 0, 60, SG_HAS_SHEAR, 0.7, 0, 0, 0, 0.5, 0},
		{"shear1k-contactonly", 1000, 0, 0, 0, SG_HAS_SHEAR, 0.7, 0, 1, 0, 0.5, 0},
		{"shear1k-nan", 1000, 0, 0, 0, SG_HAS_SHEAR, 0.7, 1, 0, 0, 0.5, 0},
		{"sheartilt1k", 1000, 0, 0, 0, SG_HAS_SHEAR | SG_HAS_TILT, 0.7, 0, 0, 0, 0.5, 0},
		{"tilt1k", 1000, 0, 0, 0, SG_HAS_TILT, 0, 0, 0, 0, 0.5, 0},
		{"shear1k-tare", 1000, 0, 0, 0, SG_HAS_SHEAR, 0.7, 0, 0, 1, 0.5, 0},
	};
	FILE *log = argc > 1 ? fopen(argv[1], "w") : NULL;
	for (size_t vi = 0; vi < sizeof v / sizeof v[0]; vi++) {
		for (int seed = 1; seed <= 3; seed++) {
			struct sg_sim_config c; struct sg_stroke_config sc; struct sg_limit_config lc;
			struct sg_sim *sim; struct sg_sample s; struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
			struct sg_engine *e; uint64_t n = 0;
			sg_sim_config_default(&c);
			c.seed = (uint64_t)seed * 1000 + vi; c.rate_hz = v[vi].rate; c.duration_s = 120;
			c.noise_n = 0.08; c.hum_n = 0.05; c.jitter_s = v[vi].jitter; c.drop_prob = v[vi].drop;
			c.spike_rate_hz = v[vi].spike; c.drift_n_per_s = v[vi].drift; c.dip_prob = 0.2;
			c.over_prob = 0.3; c.over_n = 11; c.has = v[vi].has; c.nan_time = v[vi].nan_time;
			if (v[vi].burst > 0) { c.burst_prob = v[vi].burst; c.fan_deg_s = 45; c.zig_deg = 20;
				c.shear_offset_n = 0.5; c.shear_drift_n_per_s = 0.01; }
			sim = sg_sim_new(&c);
			if (!sim) { fprintf(stderr, "sim %s\n", v[vi].name); return 1; }
			sg_stroke_config_default(&sc); sc.mains_hz = v[vi].mains; sc.contact_only = v[vi].contact_only;
			sg_limit_config_default(&lc); lc.limit_n = 9.0; lc.max_strokes = 150; lc.max_load_s = 40;
			e = sg_engine_new(&sc, &lc);
			h = 0xcbf29ce484222325ull;
			for (;;) {
				int more = sg_sim_next(sim, &s), k;
				if (!more) { k = sg_engine_flush(e, ev, SG_MAX_EVENTS_PER_SAMPLE); mix_events(ev, k, log); break; }
				if (v[vi].tare && n % 20000 == 5000) sg_engine_tare(e);
				if (n % 30011 == 15000) { lc.limit_n = lc.limit_n == 9.0 ? 8.0 : 9.0; sg_engine_set_limit(e, &lc); }
				if (n % 40009 == 20000) sg_engine_gap(e, 3);
				k = sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE);
				mix_events(ev, k, log);
				mixd(sg_engine_force(e)); mixd(sg_engine_baseline(e));
				n++;
			}
			mixd(sg_engine_load_seconds(e)); mixd(sg_engine_stroke_rate(e));
			uint64_t lost = sg_engine_lost(e); mix(&lost, 8);
			printf("%-22s seed %d: %llu samples, strokes %u bursts %u digest %016llx\n", v[vi].name, seed,
			       (unsigned long long)n, sg_engine_strokes(e), sg_engine_bursts(e), (unsigned long long)h);
			sg_engine_free(e); sg_sim_free(sim);
		}
	}
	/* decoder: random frames incl. bad ones */
	{
		struct sg_decoder d; struct sg_block b; uint8_t buf[STRIGIL_FRAME_MAX_SIZE];
		int32_t in[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS];
		uint64_t r = 88172645463325252ull;
		h = 0xcbf29ce484222325ull;
		for (int m = 1; m < 32; m += 2) {
			uint8_t mask = (uint8_t)m;
			if (!sg_channel_mask_valid(mask)) continue;
			unsigned nch = sg_popcount8(mask);
			sg_decoder_init(&d, mask);
			for (int f = 0; f < 20000; f++) {
				r ^= r << 13; r ^= r >> 7; r ^= r << 17;
				unsigned cnt = 1 + (unsigned)(r % STRIGIL_MAX_SAMPLES_PER_FRAME(nch));
				for (unsigned i = 0; i < cnt; i++) for (unsigned k = 0; k < nch; k++) {
					r ^= r << 13; r ^= r >> 7; r ^= r << 17; in[i][k] = (int32_t)(uint32_t)r; }
				uint32_t seq = (uint32_t)f + (uint32_t)((r >> 20) % 7 == 0 ? (r >> 30) % 5 : 0);
				int len = sg_encode_frame(buf, sizeof buf, seq, (uint32_t)f * 10, (uint16_t)r, mask,
							  (const int32_t (*)[STRIGIL_MAX_CHANNELS])in, cnt);
				if ((r >> 40) % 13 == 0) buf[(r >> 44) % 16] ^= (uint8_t)(r >> 50);
				size_t l = (r >> 33) % 17 == 0 ? (size_t)len - 1 : (size_t)len;
				enum sg_frame_error fe = sg_decode_frame(&d, buf, l, &b);
				mix(&fe, sizeof fe);
				if (fe == SG_FRAME_OK) mix(&b, sizeof b);
			}
			mix(&d, sizeof d);
		}
		printf("decoder digest %016llx\n", (unsigned long long)h);
	}
	return 0;
}
