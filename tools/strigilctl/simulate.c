// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * strigilctl simulate [OPTIONS] --out FILE.csv
 *
 * Writes a simulated instrument trace (docs/trace-format.md) and its ground
 * truth (JSON, FILE.truth.json unless --truth names it). The simulator and
 * the truth definitions are described in docs/engine.md. Offline: no
 * daemon is involved. Every option is checked before any file is written.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "strigil.h"
#include "strigilctl.h"
#include "ctl-json.h"

struct sim_opts {
	struct sg_sim_config c;
	struct sg_sim_segment script[SG_SIM_MAX_SEGMENTS];
	const char *out;
	const char *truth;
	double limit_n;		/* NAN: verdicts not computed */
	double sustain_s;
	bool over_n_set;
};

static void simulate_usage(FILE *f)
{
	fprintf(f,
		"Usage: strigilctl simulate [OPTIONS] --out FILE.csv\n\n"
		"Writes a simulated trace (t_s,force_n[,shear_x_n,shear_y_n][,tilt_deg]) and\n"
		"its ground truth as JSON (strokes, peaks, limit verdicts).\n\n"
		"  --out FILE.csv        trace to write (required)\n"
		"  --truth FILE.json     ground truth (default: FILE.truth.json)\n"
		"  --seed N              random seed (default 1); same seed, same trace\n"
		"  --rate HZ             sample rate, 100..2000 (default 1000)\n"
		"  --duration S          seconds (default 60; with --script: the script once)\n"
		"  --stroke-rate HZ      strokes per second, 0.01..5 (default 0.6)\n"
		"  --duty F              fraction of a cycle in contact (default 0.5)\n"
		"  --peak-mean N         mean stroke peak in newtons (default 6)\n"
		"  --peak-sd N           peak standard deviation (default 2.5)\n"
		"  --noise N             white noise RMS (default 0.03)\n"
		"  --hum N               mains hum amplitude (default 0)\n"
		"  --hum-hz HZ           mains frequency (default 50)\n"
		"  --drift N_PER_S       baseline wander, largest slope (default 0)\n"
		"  --spikes HZ           single-sample spikes per second (default 0)\n"
		"  --spike-n N           spike size (default 20)\n"
		"  --drops P             probability a lost frame (1-12 samples) starts (default 0)\n"
		"  --dips P              probability a stroke has a strum dip (default 0)\n"
		"  --jitter S            timestamp jitter, uniform +- (default 0)\n"
		"  --limit N             force limit for the truth verdicts\n"
		"  --sustain S           sustain time of the verdicts (default 0.010)\n"
		"  --over-prob P         probability of a deliberate over-limit stroke (default 0)\n"
		"  --over-n N            peak of those strokes (default 1.25 x --limit)\n"
		"  --channels LIST       extra channels: shear, tilt, shear,tilt or none\n"
		"  --bursts P            probability a contact is a burst of passes back and\n"
		"                        forth without lifting (needs --channels shear)\n"
		"  --passes-min N        passes per burst, 1..16 (default 3)\n"
		"  --passes-max N        (default 8)\n"
		"  --pass-min S          pass duration (default 0.3)\n"
		"  --pass-max S          (default 0.9)\n"
		"  --valley-min F        fraction of the force lost at a turnaround (default 0.15)\n"
		"  --valley-max F        (default 0.95)\n"
		"  --friction-min MU     friction coefficient of a pass (default 0.15)\n"
		"  --friction-max MU     (default 0.40)\n"
		"  --fan DEG_S           fanning: the direction of travel rotates up to this fast\n"
		"  --zig DEG             turnarounds reverse within +- this angle (zig-zag)\n"
		"  --shear-offset N      shear zero offset (default 0)\n"
		"  --shear-drift N_PER_S shear zero wander, largest slope (default 0)\n"
		"  --script TEXT         scripted session, e.g. \"rest 1; stroke 6 0.5; stroke 12 0.8 dip=0.5\"\n"
		"  --loop                repeat the script until --duration\n"
		"  --json                print the summary as JSON\n\n"
		"Exit status: 0 written, 1 cannot write a file, 2 bad option.\n");
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return *end == '\0' && errno == 0;
}

static bool parse_channels(const char *s, uint8_t *has)
{
	char buf[64], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	*has = 0;
	if (strcmp(buf, "none") == 0)
		return true;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "shear") == 0)
			*has |= SG_HAS_SHEAR;
		else if (strcmp(tok, "tilt") == 0)
			*has |= SG_HAS_TILT;
		else
			return false;
	}
	return *has != 0;
}

/* Options that take a number: long name -> field. */
struct num_opt {
	const char *name;
	double *field;
	double lo, hi;
};

__attribute__((format(printf, 1, 2)))
static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "strigilctl simulate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'strigilctl simulate --help' for the options.\n");
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
	enum { O_OUT = 256, O_TRUTH, O_SEED, O_CHANNELS, O_SCRIPT, O_LOOP, O_JSON, O_NUM };
	struct sg_sim_config *c = &o->c;
	double over_n = NAN, passes_min = NAN, passes_max = NAN;
	const struct num_opt nums[] = {
		{ "rate", &c->rate_hz, 100, 2000 },
		{ "duration", &c->duration_s, 0.001, 86400 },
		{ "stroke-rate", &c->stroke_rate_hz, 0.01, 5 },
		{ "duty", &c->stroke_duty, 0.05, 0.95 },
		{ "peak-mean", &c->peak_mean_n, 0, 500 },
		{ "peak-sd", &c->peak_sd_n, 0, 500 },
		{ "noise", &c->noise_n, 0, 100 },
		{ "hum", &c->hum_n, 0, 100 },
		{ "hum-hz", &c->hum_hz, 0, 1000 },
		{ "drift", &c->drift_n_per_s, -10, 10 },
		{ "spikes", &c->spike_rate_hz, 0, 2000 },
		{ "spike-n", &c->spike_n, 0, 10000 },
		{ "drops", &c->drop_prob, 0, 0.5 },
		{ "dips", &c->dip_prob, 0, 1 },
		{ "jitter", &c->jitter_s, 0, 0.1 },
		{ "limit", &o->limit_n, 0.01, 1000 },
		{ "sustain", &o->sustain_s, 0, 1 },
		{ "over-prob", &c->over_prob, 0, 1 },
		{ "over-n", &over_n, 0.01, 1000 },
		{ "bursts", &c->burst_prob, 0, 1 },
		{ "passes-min", &passes_min, 1, 16 },
		{ "passes-max", &passes_max, 1, 16 },
		{ "pass-min", &c->pass_min_s, 0.05, 10 },
		{ "pass-max", &c->pass_max_s, 0.05, 10 },
		{ "valley-min", &c->valley_min, 0, 1 },
		{ "valley-max", &c->valley_max, 0, 1 },
		{ "friction-min", &c->mu_min, 0, 2 },
		{ "friction-max", &c->mu_max, 0, 2 },
		{ "fan", &c->fan_deg_s, 0, 3600 },
		{ "zig", &c->zig_deg, 0, 90 },
		{ "shear-offset", &c->shear_offset_n, 0, 100 },
		{ "shear-drift", &c->shear_drift_n_per_s, 0, 10 },
	};
	const size_t nnums = sizeof(nums) / sizeof(nums[0]);
	struct option opts[64] = {
		{ "out",      required_argument, NULL, O_OUT },
		{ "truth",    required_argument, NULL, O_TRUTH },
		{ "seed",     required_argument, NULL, O_SEED },
		{ "channels", required_argument, NULL, O_CHANNELS },
		{ "script",   required_argument, NULL, O_SCRIPT },
		{ "loop",     no_argument,       NULL, O_LOOP },
		{ "json",     no_argument,       NULL, O_JSON },
		{ "help",     no_argument,       NULL, 'h' },
	};
	const size_t nfixed = 8;
	bool duration_set = false;
	int ch, n;
	char err[256];

	for (size_t i = 0; i < nnums; i++)
		opts[nfixed + i] = (struct option){ nums[i].name, required_argument, NULL,
						    O_NUM + (int)i };
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch >= O_NUM && ch < O_NUM + (int)nnums) {
			const struct num_opt *no = &nums[ch - O_NUM];
			double v;

			if (!sg_parse_number(optarg, &v) || v < no->lo || v > no->hi) {
				return bad("--%s: '%s' is not a number in %g..%g",
					   no->name, optarg, no->lo, no->hi);
			}
			*no->field = v;
			duration_set |= no->field == &c->duration_s;
			continue;
		}
		switch (ch) {
		case O_OUT: o->out = optarg; break;
		case O_TRUTH: o->truth = optarg; break;
		case O_SEED:
			if (!parse_u64(optarg, &c->seed))
				return bad("--seed: '%s' is not an unsigned integer", optarg);
			break;
		case O_CHANNELS:
			if (!parse_channels(optarg, &c->has))
				return bad("--channels: '%s': expected shear, tilt, shear,tilt or none",
					   optarg);
			break;
		case O_SCRIPT:
			n = sg_sim_script_parse(optarg, o->script, SG_SIM_MAX_SEGMENTS, err, sizeof(err));
			if (n < 0)
				return bad("--script: %s", err);
			c->script = o->script;
			c->nscript = (size_t)n;
			break;
		case O_LOOP: c->script_loop = true; break;
		case O_JSON: ctl.json = true; break;
		case 'h': simulate_usage(stdout); return 1;
		default: simulate_usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (!o->out)
		return bad("--out FILE.csv is required");
	if (c->script && !duration_set)
		c->duration_s = c->script_loop ? 60.0 : 0.0;	/* the script decides */
	if (c->script_loop && !c->script)
		return bad("--loop needs --script");
	if (!isnan(passes_min) || !isnan(passes_max)) {
		if ((!isnan(passes_min) && passes_min != floor(passes_min)) ||
		    (!isnan(passes_max) && passes_max != floor(passes_max)))
			return bad("--passes-min and --passes-max take whole numbers");
		if (!isnan(passes_min))
			c->burst_min = (unsigned)passes_min;
		if (!isnan(passes_max))
			c->burst_max = (unsigned)passes_max;
	}
	if (!isnan(over_n))
		c->over_n = over_n;
	else if (c->over_prob > 0 && !isnan(o->limit_n))
		c->over_n = 1.25 * o->limit_n;
	if (c->over_prob > 0 && !(c->over_n > 0))
		return bad("--over-prob needs --over-n or --limit");
	if (sg_sim_config_check(c, err, sizeof(err)) < 0)
		return bad("%s", err);
	return 0;
}

static char *default_truth_path(const char *out)
{
	size_t n = strlen(out);
	char *p;

	if (n > 4 && strcmp(out + n - 4, ".csv") == 0)
		n -= 4;
	p = malloc(n + sizeof(".truth.json"));
	if (p) {
		memcpy(p, out, n);
		strcpy(p + n, ".truth.json");
	}
	return p;
}

/* Microseconds and micronewtons are below any instrument's resolution. */
static struct json_object *num(double v)
{
	return isfinite(v) ? cj_fixed(v, 6) : NULL;
}

static const char *verdict_name(enum sg_sim_verdict v)
{
	switch (v) {
	case SG_SIM_SAFE: return "safe";
	case SG_SIM_AMBIGUOUS: return "ambiguous";
	case SG_SIM_VIOLATION: return "violation";
	}
	return "unknown";
}

static struct json_object *truth_json(const struct sim_opts *o, const struct sg_sim *sim,
				      uint64_t samples, unsigned *nviol)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *cfg = json_object_new_object();
	const struct sg_sim_truth *t;
	size_t n;

	json_object_object_add(cfg, "seed", json_object_new_uint64(o->c.seed));
	json_object_object_add(cfg, "rate_hz", num(o->c.rate_hz));
	json_object_object_add(cfg, "duration_s", num(o->c.duration_s));
	json_object_object_add(cfg, "noise_n", num(o->c.noise_n));
	json_object_object_add(cfg, "hum_n", num(o->c.hum_n));
	json_object_object_add(cfg, "hum_hz", num(o->c.hum_hz));
	json_object_object_add(cfg, "drift_n_per_s", num(o->c.drift_n_per_s));
	json_object_object_add(cfg, "spike_rate_hz", num(o->c.spike_rate_hz));
	json_object_object_add(cfg, "drop_prob", num(o->c.drop_prob));
	json_object_object_add(cfg, "dip_prob", num(o->c.dip_prob));
	json_object_object_add(cfg, "jitter_s", num(o->c.jitter_s));
	json_object_object_add(cfg, "over_prob", num(o->c.over_prob));
	json_object_object_add(cfg, "over_n", num(o->c.over_n));
	if (o->c.burst_prob > 0) {
		json_object_object_add(cfg, "burst_prob", num(o->c.burst_prob));
		json_object_object_add(cfg, "passes_min", json_object_new_uint64(o->c.burst_min));
		json_object_object_add(cfg, "passes_max", json_object_new_uint64(o->c.burst_max));
	}
	json_object_object_add(root, "config", cfg);
	json_object_object_add(root, "samples", json_object_new_uint64(samples));
	json_object_object_add(root, "dropped", json_object_new_uint64(sg_sim_dropped(sim)));
	json_object_object_add(root, "limit_n", num(o->limit_n));
	json_object_object_add(root, "sustain_s", num(o->sustain_s));
	json_object_object_add(root, "margin", num(SG_SIM_MARGIN));

	*nviol = 0;
	t = sg_sim_truth(sim, &n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(s, "index", json_object_new_int64((int64_t)i + 1));
		json_object_object_add(s, "start_s", num(t[i].start_s));
		json_object_object_add(s, "end_s", num(t[i].end_s));
		json_object_object_add(s, "peak_n", num(t[i].peak_n));
		json_object_object_add(s, "rise_s", num(t[i].rise_s));
		json_object_object_add(s, "plateau_s", num(t[i].plateau_s));
		json_object_object_add(s, "over", json_object_new_boolean(t[i].over));
		/* bursts: a stroke is one pass of one (often one-pass) burst */
		json_object_object_add(s, "burst", json_object_new_uint64(t[i].burst));
		json_object_object_add(s, "pass", json_object_new_uint64(t[i].pass));
		json_object_object_add(s, "end", json_object_new_string(
			sg_stroke_end_str((enum sg_stroke_end)t[i].end)));
		if (t[i].dip_s > 0) {
			json_object_object_add(s, "dip_at_s", num(t[i].dip_at_s));
			json_object_object_add(s, "dip_s", num(t[i].dip_s));
		}
		if (t[i].has & SG_HAS_SHEAR) {
			json_object_object_add(s, "peak_shear_n", num(t[i].peak_shear_n));
			json_object_object_add(s, "direction_deg", num(t[i].direction_deg));
		}
		if (t[i].has & SG_HAS_TILT)
			json_object_object_add(s, "mean_tilt_deg", num(t[i].mean_tilt_deg));
		if (!isnan(o->limit_n)) {
			enum sg_sim_verdict v = sg_sim_truth_verdict(&t[i], o->limit_n, o->sustain_s);

			json_object_object_add(s, "verdict", json_object_new_string(verdict_name(v)));
			json_object_object_add(s, "crossing_s",
					       num(sg_sim_truth_first_run(&t[i], o->limit_n,
									  o->sustain_s)));
			*nviol += v == SG_SIM_VIOLATION;
		}
		json_object_array_add(arr, s);
	}
	json_object_object_add(root, "strokes", arr);
	return root;
}

static int write_trace(struct sg_sim *sim, FILE *f, uint8_t has, uint64_t *samples)
{
	struct sg_sample s;
	double last = -INFINITY;
	int r = sg_csv_write_header(f, has);

	*samples = 0;
	while (r == 0 && sg_sim_next(sim, &s) == 1) {
		/* the trace format wants time that never decreases: jitter
		 * larger than half a period is clipped */
		if (s.t_s < last)
			s.t_s = last;
		last = s.t_s;
		r = sg_csv_write_sample(f, &s);
		(*samples)++;
	}
	return r;
}

int verb_simulate(int argc, char **argv)
{
	struct sim_opts *o = calloc(1, sizeof(*o));
	struct json_object *truth = NULL;
	struct sg_sim *sim = NULL;
	char *truth_path = NULL;
	uint64_t samples = 0;
	unsigned nviol = 0;
	size_t nstrokes = 0;
	FILE *f = NULL;
	int r, ret = EXIT_FAIL;

	if (!o)
		return EXIT_FAIL;
	sg_sim_config_default(&o->c);
	o->limit_n = NAN;
	o->sustain_s = 0.010;
	r = parse_args(argc, argv, o);
	if (r != 0) {
		free(o);
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	}
	truth_path = o->truth ? strdup(o->truth) : default_truth_path(o->out);
	sim = sg_sim_new(&o->c);
	if (!truth_path || !sim) {
		fprintf(stderr, "strigilctl simulate: out of memory\n");
		goto out;
	}
	f = fopen(o->out, "w");
	if (!f) {
		fprintf(stderr, "strigilctl simulate: cannot write %s: %s\n", o->out, strerror(errno));
		goto out;
	}
	r = write_trace(sim, f, o->c.has, &samples);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	f = NULL;
	if (r < 0) {
		fprintf(stderr, "strigilctl simulate: writing %s failed: %s\n", o->out, strerror(-r));
		goto out;
	}
	truth = truth_json(o, sim, samples, &nviol);
	if (json_object_to_file_ext(truth_path, truth,
				    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0) {
		fprintf(stderr, "strigilctl simulate: cannot write %s: %s\n", truth_path,
			strerror(errno));
		goto out;
	}
	sg_sim_truth(sim, &nstrokes);
	if (ctl.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "trace", json_object_new_string(o->out));
		json_object_object_add(j, "truth", json_object_new_string(truth_path));
		json_object_object_add(j, "samples", json_object_new_uint64(samples));
		json_object_object_add(j, "dropped", json_object_new_uint64(sg_sim_dropped(sim)));
		json_object_object_add(j, "strokes", json_object_new_uint64(nstrokes));
		if (!isnan(o->limit_n))
			json_object_object_add(j, "violations", json_object_new_uint64(nviol));
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		printf("Wrote %llu samples (%.0f Hz) to %s: %zu strokes",
		       (unsigned long long)samples, o->c.rate_hz, o->out, nstrokes);
		if (!isnan(o->limit_n))
			printf(", %u violating %.2f N", nviol, o->limit_n);
		printf(".\nGround truth in %s.\n", truth_path);
	}
	ret = EXIT_OK;
out:
	json_object_put(truth);
	sg_sim_free(sim);
	free(truth_path);
	free(o);
	return ret;
}
