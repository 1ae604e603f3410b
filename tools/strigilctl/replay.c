// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * strigilctl replay [--limit N] [--warn-fraction F] [--json] FILE.csv
 *
 * Runs the daemon's stroke and limit engine (sg_engine_*) offline over a
 * recorded trace and prints one JSON object per line (JSON Lines) per event:
 *
 *   {"event":"stroke","start_s":..,"end_s":..,"duration_s":..,"peak_n":..,
 *    "mean_n":..,"impulse_ns":.., extra fields, "burst":..,"end":"lift"|"reversal"}
 *   {"event":"limit","level":"warning"|"exceeded","t_s":..,"force_n":..,
 *    "limit_n":..}
 *   {"event":"summary","strokes":..,"warnings":..,"exceeded":..,"bursts":..} (last)
 *
 * A burst is a period of continuous contact; "burst" is its 1-based index
 * and "end" says whether the stroke ended at lift-off or where the blade
 * turned round inside the burst (traces with shear only).
 *
 * Output is always JSON Lines (--json is accepted for consistency). Options
 * are validated before any output. A bad file stops the replay with
 * "FILE:LINE: message" on stderr and exit status 2; events printed before
 * the bad line stay printed, and no summary line follows.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "strigil.h"
#include "strigilctl.h"

struct replay_opts {
	double limit_n;		/* NAN: no limit */
	double warn_fraction;	/* NAN: engine default */
	const char *path;
};

struct replay_counts {
	unsigned long strokes, warnings, exceeded, bursts;
};

static void replay_usage(FILE *f)
{
	fprintf(f,
		"Usage: strigilctl replay [--limit N] [--warn-fraction F] [--json] FILE.csv\n\n"
		"Runs the stroke and limit engines over a recorded trace and prints\n"
		"JSON Lines: one \"stroke\" or \"limit\" event per line, then a \"summary\".\n"
		"A stroke names its burst (continuous contact) and how it ended: \"lift\", or\n"
		"\"reversal\" where the blade turned round (traces with shear).\n\n"
		"  --limit N           force limit in newtons (> 0); without it, no limit events\n"
		"  --warn-fraction F   warn at F x limit, 0 < F <= 1 (default 0.9)\n"
		"  --json              accepted; the output is always JSON Lines\n\n"
		"Exit status: 0 done, 2 bad option or bad file (message on stderr).\n"
		"The file format is described in docs/trace-format.md.\n");
}

static int parse_args(int argc, char **argv, struct replay_opts *o)
{
	static const struct option opts[] = {
		{ "limit",         required_argument, NULL, 'l' },
		{ "warn-fraction", required_argument, NULL, 'w' },
		{ "json",          no_argument,       NULL, 'j' },
		{ "help",          no_argument,       NULL, 'h' },
		{}
	};
	int c;

	o->limit_n = NAN;
	o->warn_fraction = NAN;
	o->path = NULL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (!sg_parse_number(optarg, &o->limit_n) || o->limit_n <= 0) {
				fprintf(stderr, "strigilctl replay: --limit '%s': expected a "
					"positive number of newtons\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'w':
			if (!sg_parse_number(optarg, &o->warn_fraction) ||
			    o->warn_fraction <= 0 || o->warn_fraction > 1) {
				fprintf(stderr, "strigilctl replay: --warn-fraction '%s': expected "
					"a number in (0, 1]\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			break;
		case 'h':
			replay_usage(stdout);
			return -1;
		default:
			replay_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "strigilctl replay: %s\n",
			optind >= argc ? "missing FILE.csv" : "exactly one FILE.csv expected");
		replay_usage(stderr);
		return EXIT_USAGE;
	}
	o->path = argv[optind];
	return 0;
}

/* Six decimals (1 us, 1 uN) without trailing zeros; JSON has no NaN. */
static void add_num(json_object *o, const char *key, double v)
{
	char buf[64];
	size_t n;

	if (!isfinite(v)) {
		json_object_object_add(o, key, NULL);
		return;
	}
	snprintf(buf, sizeof(buf), "%.6f", v);
	n = strlen(buf);
	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	if (strcmp(buf, "-0.0") == 0)
		strcpy(buf, "0.0");
	json_object_object_add(o, key, json_object_new_double_s(v, buf));
}

static void emit(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void emit_stroke(const struct sg_stroke *s, bool limited)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string("stroke"));
	add_num(o, "start_s", s->start_s);
	add_num(o, "end_s", s->end_s);
	add_num(o, "duration_s", s->duration_s);
	add_num(o, "peak_n", s->peak_n);
	add_num(o, "mean_n", s->mean_n);
	add_num(o, "impulse_ns", s->impulse_ns);
	/* extras, only after the fields above */
	json_object_object_add(o, "index", json_object_new_int64(s->index));
	if (limited) {
		add_num(o, "above_limit_s", s->above_limit_s);
		add_num(o, "limit_n", s->limit_n);
	}
	if (s->has & SG_HAS_SHEAR) {
		add_num(o, "peak_shear_n", s->peak_shear_n);
		add_num(o, "direction_deg", s->direction_deg);
	}
	if (s->has & SG_HAS_TILT)
		add_num(o, "mean_tilt_deg", s->mean_tilt_deg);
	json_object_object_add(o, "burst", json_object_new_int64(s->burst));
	json_object_object_add(o, "end", json_object_new_string(
		sg_stroke_end_str((enum sg_stroke_end)s->end)));
	emit(o);
}

static void emit_limit(const struct sg_event *ev)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string("limit"));
	json_object_object_add(o, "level", json_object_new_string(
		ev->type == SG_EV_WARNING ? "warning" : "exceeded"));
	add_num(o, "t_s", ev->t_s);
	add_num(o, "force_n", ev->force_n);
	add_num(o, "limit_n", ev->limit_n);
	emit(o);
}

static void emit_events(const struct sg_event *ev, int n, bool limited,
			struct replay_counts *c)
{
	for (int i = 0; i < n && i < SG_MAX_EVENTS_PER_SAMPLE; i++) {
		switch (ev[i].type) {
		case SG_EV_STROKE:
			c->strokes++;
			emit_stroke(&ev[i].stroke, limited);
			break;
		case SG_EV_WARNING:
			c->warnings++;
			emit_limit(&ev[i]);
			break;
		case SG_EV_EXCEEDED:
			c->exceeded++;
			emit_limit(&ev[i]);
			break;
		case SG_EV_BURST:
			c->bursts++;
			break;
		default:	/* contact/release and caps are not replay events */
			break;
		}
	}
}

int verb_replay(int argc, char **argv)
{
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	struct replay_counts counts = { 0 };
	struct sg_stroke_config sc;
	struct sg_limit_config lc;
	struct replay_opts o;
	struct sg_csv_reader *r;
	struct sg_engine *e;
	struct sg_sample s;
	char err[512];
	bool limited;
	json_object *sum;
	int rc, n;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	limited = !isnan(o.limit_n);

	r = sg_csv_open(o.path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "strigilctl replay: %s\n", err);
		return EXIT_USAGE;
	}
	if (sg_csv_ignored(r))
		fprintf(stderr, "strigilctl replay: warning: %s: ignoring unknown columns %s "
			"(known: t_s, force_n, shear_x_n, shear_y_n, tilt_deg)\n",
			o.path, sg_csv_ignored(r));
	sg_stroke_config_default(&sc);
	sg_limit_config_default(&lc);
	lc.limit_n = limited ? o.limit_n : 0;
	if (!isnan(o.warn_fraction))
		lc.warn_fraction = o.warn_fraction;
	e = sg_engine_new(&sc, &lc);
	if (!e) {
		sg_csv_close(r);
		fprintf(stderr, "strigilctl replay: out of memory\n");
		return EXIT_FAIL;
	}

	while ((rc = sg_csv_next(r, &s, err, sizeof(err))) == 1) {
		n = sg_engine_feed(e, &s, ev, SG_MAX_EVENTS_PER_SAMPLE);
		emit_events(ev, n, limited, &counts);
	}
	if (rc < 0) {
		fflush(stdout);
		fprintf(stderr, "strigilctl replay: %s\n", err);
		sg_engine_free(e);
		sg_csv_close(r);
		return EXIT_USAGE;
	}
	n = sg_engine_flush(e, ev, SG_MAX_EVENTS_PER_SAMPLE);
	emit_events(ev, n, limited, &counts);
	sg_engine_free(e);
	sg_csv_close(r);

	sum = json_object_new_object();
	json_object_object_add(sum, "event", json_object_new_string("summary"));
	json_object_object_add(sum, "strokes", json_object_new_int64((int64_t)counts.strokes));
	json_object_object_add(sum, "warnings", json_object_new_int64((int64_t)counts.warnings));
	json_object_object_add(sum, "exceeded", json_object_new_int64((int64_t)counts.exceeded));
	json_object_object_add(sum, "bursts", json_object_new_int64((int64_t)counts.bursts));
	emit(sum);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "strigilctl replay: writing the output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
