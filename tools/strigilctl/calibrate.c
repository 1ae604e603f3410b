// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * strigilctl calibrate INSTRUMENT: the technician's guided procedure.
 * zero (unloaded, noise and stability), reference masses in grams (repeat a
 * mass for repeatability), least-squares fit, verification load, pass/fail,
 * then -- the single last step -- WriteCalibration with technician id and
 * due date. Interrupting before that leaves the instrument unchanged.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "cal-proc.h"
#include "ctl-json.h"
#include "strigilctl.h"

static const char usage[] =
	"Usage: strigilctl calibrate [OPTIONS] INSTRUMENT\n"
	"Guided calibration of the normal-force channel. Interactive by default:\n"
	"it asks for the reference masses (grams) and when to place them.\n"
	"  --non-interactive        take everything from the options below\n"
	"  --point G[,G...]         reference masses in grams (repeatable); give a\n"
	"                           mass twice to measure repeatability\n"
	"  --verify G               verification mass in grams (not used in the fit)\n"
	"  --technician ID          technician id (1-16 printable ASCII)\n"
	"  --due-days N             calibration valid for N days (default 365)\n"
	"  --due YYYY-MM-DD         or until this date\n"
	"  --seconds S              averaging time per reading (default 2)\n"
	"  --zero-readings N        unloaded readings (default 2, stability check)\n"
	"  --tolerance PCT          linearity, repeatability and verification\n"
	"                           limit in %% of span (default 1)\n"
	"  --max-noise N            unloaded noise and drift limit in N (default 0.05)\n"
	"  --load-command CMD       run CMD (sh -c) before each reading, with\n"
	"                           STRIGIL_STEP=zero|point|verify, STRIGIL_LOAD_G,\n"
	"                           STRIGIL_LOAD_N, STRIGIL_INSTRUMENT (automated rigs)\n"
	"  --certificate FILE       write the certificate as text to FILE\n"
	"  --certificate-json FILE  write the certificate as JSON to FILE\n"
	"  --dry-run                do everything but the write\n"
	"  --history                only list the calibration in use and those it\n"
	"                           replaced, newest first\n"
	"  --json                   print the certificate as JSON on stdout\n"
	"The instrument's calibration changes only at the very end, after a pass;\n"
	"the previous one is kept in the daemon's history.\n";

static volatile pid_t load_child;

static void on_interrupt(int sig)
{
	static const char msg[] = "\nstrigilctl: calibration interrupted; the instrument's "
				  "calibration is unchanged.\n";

	(void)sig;
	/* The rig's load command is part of the procedure: it stops too. */
	if (load_child > 0)
		kill(-load_child, SIGTERM);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(EXIT_INTERRUPTED);
}

struct cal_ctx {
	sd_bus *bus;
	char *path;
	const char *serial;
	const char *load_cmd;
	bool interactive;
	double seconds;
	struct cal_input in;
};

static int run_load_command(struct cal_ctx *c, const char *step, double grams)
{
	pid_t pid;
	int status;

	if (!c->load_cmd)
		return 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "strigilctl: cannot run the load command: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	if (pid == 0) {
		char g[32], n[32];

		/* Its own process group, so an interruption stops all of it. */
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		snprintf(g, sizeof(g), "%.6f", grams);
		snprintf(n, sizeof(n), "%.6f", cal_grams_to_newtons(grams));
		setenv("STRIGIL_STEP", step, 1);
		setenv("STRIGIL_LOAD_G", g, 1);
		setenv("STRIGIL_LOAD_N", n, 1);
		setenv("STRIGIL_INSTRUMENT", c->serial, 1);
		setenv("STRIGIL_INSTRUMENT_PATH", c->path, 1);
		execl("/bin/sh", "sh", "-c", c->load_cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);	/* no race with the child's own call */
	load_child = pid;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "strigilctl: waiting for the load command: %s\n",
				strerror(errno));
			return EXIT_FAIL;
		}
	}
	load_child = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "strigilctl: the load command failed at step %s (%.1f g); "
			"stopping\n", step, grams);
		return EXIT_FAIL;
	}
	return 0;
}

/* One ReadPoint: the raw mean of the normal channel. */
static int read_point(struct cal_ctx *c, struct cal_reading *out)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *ch;
	double mean, sd;
	uint64_t n;
	bool found = false;
	int r;

	r = sd_bus_message_new_method_call(c->bus, &m, SG_BUS_NAME, c->path,
					   SG_IFACE_INSTRUMENT, "ReadPoint");
	if (r >= 0)
		r = sd_bus_message_append(m, "d", c->seconds);
	if (r < 0) {
		sd_bus_message_unref(m);
		return EXIT_FAIL;
	}
	/* The reply comes when the averaging time is over. */
	r = sd_bus_call(c->bus, m, (uint64_t)((c->seconds + 30.0) * 1e6), &e, &reply);
	sd_bus_message_unref(m);
	if (r < 0) {
		r = ctl_bus_error("reading the instrument", &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	r = sd_bus_message_enter_container(reply, 'a', "(sddt)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(sddt)", &ch, &mean, &sd, &n)) > 0) {
		if (!strcmp(ch, "normal")) {
			*out = (struct cal_reading){ mean, sd, n };
			found = true;
		}
	}
	sd_bus_message_unref(reply);
	if (r < 0 || !found || n == 0 || !isfinite(out->mean)) {
		fprintf(stderr, "strigilctl: the instrument returned no normal-force reading\n");
		return EXIT_FAIL;
	}
	return 0;
}

static int take(struct cal_ctx *c, const char *step, double grams, struct cal_reading *out,
		bool prompt)
{
	int r;

	if (c->interactive && prompt) {
		char q[160];
		char *a;

		if (grams == 0)
			snprintf(q, sizeof(q), "Remove all load from the tool, let it rest still, "
				 "then press Enter: ");
		else
			snprintf(q, sizeof(q), "Place %.1f g on the blade (centred, no touching), "
				 "then press Enter: ", grams);
		a = ctl_prompt(q);
		if (!a) {
			fprintf(stderr, "\nstrigilctl: input ended; the instrument's calibration "
				"is unchanged.\n");
			return EXIT_INTERRUPTED;
		}
		free(a);
	}
	r = run_load_command(c, step, grams);
	if (r)
		return r;
	fprintf(stderr, "  reading %s for %.1f s ...", step, c->seconds);
	fflush(stderr);
	r = read_point(c, out);
	if (r) {
		fputc('\n', stderr);
		return r;
	}
	fprintf(stderr, " %.1f g: mean %.2f counts, sd %.2f, %llu samples\n", grams, out->mean,
		out->stddev, (unsigned long long)out->n);
	return 0;
}

static int add_points(struct cal_ctx *c, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		double g;

		if (cal_parse_mass(tok, &g) < 0) {
			fprintf(stderr, "strigilctl: --point: '%s' is not a mass in grams "
				"(0 < g <= 100000)\n", tok);
			return EXIT_USAGE;
		}
		if (c->in.npoints == CAL_MAX_POINTS) {
			fprintf(stderr, "strigilctl: at most %d reference readings\n", CAL_MAX_POINTS);
			return EXIT_USAGE;
		}
		c->in.point[c->in.npoints++].grams = g;
	}
	return 0;
}

static bool technician_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n < 1 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] < 0x21 || t[i] > 0x7e)
			return false;
	return true;
}

static int parse_due(const char *s, int64_t *due)
{
	struct tm tm = {};
	char *end = strptime(s, "%Y-%m-%d", &tm);

	if (!end || *end)
		return -EINVAL;
	*due = (int64_t)timegm(&tm);
	return 0;
}

/* Previous calibration: offset and scale per channel. */
struct oldcal {
	struct json_object *obj;
	struct json_object *channels, *offset, *scale;
	int normal;		/* index of "normal" in channels, -1 if absent */
};

static int write_calibration(struct cal_ctx *c, const struct oldcal *old,
			     const struct cal_result *res, const char *tech, int64_t date_s,
			     int64_t due_s)
{
	sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	size_t nch = old->channels ? json_object_array_length(old->channels) : 0;
	int r;

	r = sd_bus_message_new_method_call(c->bus, &m, SG_BUS_NAME, c->path,
					   SG_IFACE_INSTRUMENT, "WriteCalibration");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = ctl_append_entry(m, "technician", "s", tech);
	if (r >= 0)
		r = ctl_append_entry(m, "date", "t", (uint64_t)date_s * 1000000u);
	if (r >= 0)
		r = ctl_append_entry(m, "due", "t", (uint64_t)due_s * 1000000u);
	for (int k = 0; k < 2 && r >= 0; k++) {
		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append_basic(m, 's', k ? "scale" : "offset");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', "ad");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'a', "d");
		for (size_t i = 0; i < nch && r >= 0; i++) {
			double v;

			if ((int)i == old->normal)
				v = k ? res->fit.scale : res->fit.offset;
			else	/* other channels keep their calibration */
				v = json_object_get_double(json_object_array_get_idx(
					k ? old->scale : old->offset, i));
			r = sd_bus_message_append_basic(m, 'd', &v);
		}
		for (int j = 0; j < 3 && r >= 0; j++)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r < 0) {
		fprintf(stderr, "strigilctl: cannot build the calibration: %s\n", strerror(-r));
		sd_bus_message_unref(m);
		return EXIT_FAIL;
	}
	r = sd_bus_call(c->bus, m, 0, &e, NULL);
	sd_bus_message_unref(m);
	if (r < 0) {
		r = ctl_bus_error("writing the calibration", &e, r);
		sd_bus_error_free(&e);
		fprintf(stderr, "  The instrument keeps its previous calibration.\n");
		return r;
	}
	return 0;
}

/*
 * What the instrument holds now, from strigild: the certificate must show
 * exactly that, and its number is strigild's record of this write.
 */
static int read_back(struct cal_ctx *c, const struct cal_result *res, struct cal_identity *id)
{
	struct json_object *cur = NULL, *ch;
	double off = NAN, scale = NAN;
	int r;

	r = ctl_bus_call_json(c->bus, c->path, SG_IFACE_INSTRUMENT, "GetCalibration",
			      "reading the calibration back", &cur);
	if (r)
		return r;
	ch = cj_get(cur, "channels");
	for (size_t k = 0; ch && k < json_object_array_length(ch); k++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(ch, k)), "normal")) {
			off = json_object_get_double(json_object_array_get_idx(
				cj_get(cur, "offset"), k));
			scale = json_object_get_double(json_object_array_get_idx(
				cj_get(cur, "scale"), k));
		}
	cal_certificate_number(c->serial, (uint64_t)cj_int(cur, "record", 0), id->number,
			       sizeof(id->number));
	json_object_put(cur);
	/* Both sides round the same way, so these are equal to the last bit. */
	if (off != res->fit.offset || scale != res->fit.scale) {
		fprintf(stderr, "strigilctl: %s holds %.12f N/count, zero at %.2f counts, not the "
			"%.12f and %.2f written; repeat the calibration\n", c->serial, scale, off,
			res->fit.scale, res->fit.offset);
		return EXIT_FAIL;
	}
	return 0;
}

static int write_file(const char *path, const struct cal_input *in, const struct cal_result *res,
		      const struct cal_identity *id, bool json)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "strigilctl: cannot write the certificate %s: %s\n", path,
			strerror(errno));
		return EXIT_FAIL;
	}
	if (json) {
		struct json_object *o = cal_certificate_json(in, res, id);

		cj_print(f, o);
		json_object_put(o);
	} else {
		cal_certificate_text(f, in, res, id);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "strigilctl: cannot write the certificate %s\n", path);
		return EXIT_FAIL;
	}
	return 0;
}

/* Who wrote a calibration: strigild's actor ("uid:N") with the user's
 * name; one read from the instrument itself says so. */
static void writer(struct json_object *h, char *buf, size_t len)
{
	const char *actor = cj_str(h, "actor", NULL);
	unsigned uid;

	if (!actor) {
		snprintf(buf, len, "-");
	} else if (!*actor) {
		snprintf(buf, len, "read from the instrument");
	} else if (sscanf(actor, "uid:%u", &uid) == 1) {
		struct passwd pw, *res = NULL;
		char pwbuf[1024];

		if (getpwuid_r((uid_t)uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
			snprintf(buf, len, "%s (uid %u)", res->pw_name, uid);
		else
			snprintf(buf, len, "uid %u", uid);
	} else {
		snprintf(buf, len, "%s", actor);
	}
}

static void history_row(struct json_object *h, const char *note, const char *serial)
{
	struct json_object *ch = cj_get(h, "channels");
	int normal = -1;
	char d1[16], d2[16], w[40], by[96], num[64];

	for (size_t k = 0; ch && k < json_object_array_length(ch); k++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(ch, k)), "normal"))
			normal = (int)k;
	ctl_date(ctl_usec_to_s(cj_int(h, "date", 0)), d1, sizeof(d1));
	ctl_date(ctl_usec_to_s(cj_int(h, "due", 0)), d2, sizeof(d2));
	cj_iso8601(ctl_usec_to_s(cj_int(h, "replaced_at", 0)), w, sizeof(w));
	printf("  %-11s %-11s %-17s", d1, d2, cj_str(h, "technician", "-"));
	if (normal >= 0)
		printf(" %14.6g %12.2f",
		       json_object_get_double(json_object_array_get_idx(cj_get(h, "scale"),
									(size_t)normal)),
		       json_object_get_double(json_object_array_get_idx(cj_get(h, "offset"),
									(size_t)normal)));
	else
		printf(" %14s %12s", "-", "-");
	writer(h, by, sizeof(by));
	cal_certificate_number(serial, (uint64_t)cj_int(h, "record", 0), num, sizeof(num));
	printf("  %-20.19s %-26s %s\n", w[0] ? w : note, by, num[0] ? num : "-");
}

/* The calibration in use and the daemon's record of those it replaced. */
static int show_history(sd_bus *bus, const char *path, const char *serial)
{
	struct json_object *cur = NULL, *hist = NULL;
	size_t n;
	int r;

	r = ctl_bus_call_json(bus, path, SG_IFACE_INSTRUMENT, "GetCalibration",
			      "reading the calibration", &cur);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_INSTRUMENT, "GetCalibrationHistory",
				      "reading the calibration history", &hist);
	if (r)
		goto out;
	if (ctl.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "current", json_object_get(cur));
		json_object_object_add(o, "history", json_object_get(hist));
		cj_print(stdout, o);
		json_object_put(o);
		goto out;
	}
	n = json_object_array_length(hist);
	printf("Calibrations of %s: the current one, then %zu replaced, newest first\n",
	       serial, n);
	printf("  %-11s %-11s %-17s %14s %12s  %-20s %-26s %s\n", "DATE", "DUE", "TECHNICIAN",
	       "SCALE N/COUNT", "ZERO COUNTS", "REPLACED", "WRITTEN BY", "CERTIFICATE");
	history_row(cur, "(current)", serial);
	for (size_t i = 0; i < n; i++)
		history_row(json_object_array_get_idx(hist, i), "-", serial);
out:
	json_object_put(cur);
	json_object_put(hist);
	return r;
}

/* One run of the procedure: what the options asked, then what each step
 * found. Every step returns 0 to go on, or the exit status. */
struct cal_run {
	struct cal_ctx c;
	const char *instrument;		/* as given on the command line */
	const char *tech, *cert, *cert_json;
	uint32_t due_days, zeros;
	int64_t due_s;
	double verify_g;
	bool dry, have_verify, history;
	struct json_object *inst;	/* the instrument's properties */
	struct oldcal old;		/* its calibration before this run */
	struct cal_result res;
	struct cal_identity id;
	char *tech_buf;
};

enum {
	OPT_HISTORY = 0x90,
	OPT_NONINT = 0x100, OPT_POINT, OPT_VERIFY, OPT_TECH, OPT_DUEDAYS, OPT_DUE, OPT_SECONDS,
	OPT_ZEROS, OPT_TOL, OPT_NOISE, OPT_LOADCMD, OPT_CERT, OPT_CERTJSON, OPT_DRY,
};

/* false: stop with *rc (a usage error, or --help). */
static bool parse_options(struct cal_run *run, int argc, char **argv, int *rc)
{
	static const struct option opts[] = {
		{ "non-interactive", no_argument, NULL, OPT_NONINT },
		{ "point", required_argument, NULL, OPT_POINT },
		{ "verify", required_argument, NULL, OPT_VERIFY },
		{ "technician", required_argument, NULL, OPT_TECH },
		{ "due-days", required_argument, NULL, OPT_DUEDAYS },
		{ "due", required_argument, NULL, OPT_DUE },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "zero-readings", required_argument, NULL, OPT_ZEROS },
		{ "tolerance", required_argument, NULL, OPT_TOL },
		{ "max-noise", required_argument, NULL, OPT_NOISE },
		{ "load-command", required_argument, NULL, OPT_LOADCMD },
		{ "certificate", required_argument, NULL, OPT_CERT },
		{ "certificate-json", required_argument, NULL, OPT_CERTJSON },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "history", no_argument, NULL, OPT_HISTORY },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct cal_ctx *c = &run->c;
	double d;
	int opt;

	*rc = EXIT_USAGE;
	cal_tolerance_default(&c->in.tol);
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_NONINT: c->interactive = false; break;
		case OPT_POINT:
			if (add_points(c, optarg))	/* EXIT_USAGE, said */
				return false;
			break;
		case OPT_VERIFY:
			if (cal_parse_mass(optarg, &run->verify_g) < 0) {
				fprintf(stderr, "strigilctl: --verify: '%s' is not a mass in grams\n",
					optarg);
				return false;
			}
			run->have_verify = true;
			break;
		case OPT_TECH: run->tech = optarg; break;
		case OPT_DUEDAYS:
			if (!ctl_parse_uint("--due-days", optarg, &run->due_days))
				return false;
			break;
		case OPT_DUE:
			if (parse_due(optarg, &run->due_s) < 0) {
				fprintf(stderr, "strigilctl: --due: '%s' is not a date YYYY-MM-DD\n",
					optarg);
				return false;
			}
			break;
		case OPT_SECONDS:
			if (!ctl_parse_double("--seconds", optarg, &c->seconds))
				return false;
			break;
		case OPT_ZEROS:
			if (!ctl_parse_uint("--zero-readings", optarg, &run->zeros))
				return false;
			break;
		case OPT_TOL:
			if (!ctl_parse_double("--tolerance", optarg, &d))
				return false;
			c->in.tol.linearity_pct = c->in.tol.repeat_pct = c->in.tol.verify_pct = d;
			break;
		case OPT_NOISE:
			if (!ctl_parse_double("--max-noise", optarg, &d))
				return false;
			c->in.tol.zero_noise_n = c->in.tol.zero_drift_n = d;
			break;
		case OPT_LOADCMD: c->load_cmd = optarg; break;
		case OPT_CERT: run->cert = optarg; break;
		case OPT_CERTJSON: run->cert_json = optarg; break;
		case OPT_DRY: run->dry = true; break;
		case OPT_HISTORY: run->history = true; break;
		case 'j': ctl.json = true; break;
		case 'h': fputs(usage, stdout); *rc = EXIT_OK; return false;
		default: fputs(usage, stderr); return false;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "strigilctl: calibrate needs one INSTRUMENT (its serial)\n%s", usage);
		return false;
	}
	run->instrument = argv[optind];
	return true;
}

/* The option values in range (both for the procedure and --history). */
static int check_options(const struct cal_run *run)
{
	const struct cal_ctx *c = &run->c;

	if (!(c->seconds >= 0.1 && c->seconds <= 30)) {
		fprintf(stderr, "strigilctl: --seconds must be 0.1 to 30\n");
		return EXIT_USAGE;
	}
	if (run->zeros < 1 || run->zeros > CAL_MAX_ZERO) {
		fprintf(stderr, "strigilctl: --zero-readings must be 1 to %d\n", CAL_MAX_ZERO);
		return EXIT_USAGE;
	}
	if (!(c->in.tol.linearity_pct > 0 && c->in.tol.linearity_pct <= 10) ||
	    !(c->in.tol.zero_noise_n > 0 && c->in.tol.zero_noise_n <= 5)) {
		fprintf(stderr, "strigilctl: --tolerance must be in (0, 10] %% and --max-noise "
			"in (0, 5] N\n");
		return EXIT_USAGE;
	}
	if (run->due_days < 1 || run->due_days > 3650) {
		fprintf(stderr, "strigilctl: --due-days must be 1 to 3650\n");
		return EXIT_USAGE;
	}
	if (run->tech && !technician_ok(run->tech)) {
		fprintf(stderr, "strigilctl: --technician must be 1-16 printable ASCII characters "
			"without spaces\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* The bus, and the instrument's object on it. */
static int connect_instrument(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	int r;

	r = ctl_bus_open(&c->bus);
	if (r)
		return r;
	return ctl_resolve_instrument(c->bus, run->instrument, &c->path);
}

/* --history: no procedure, no claim. */
static int run_history(struct cal_run *run)
{
	int r = connect_instrument(run);

	return r ? r : show_history(run->c.bus, run->c.path, run->instrument);
}

/* What the procedure needs beyond the options; said before the bus. */
static int check_procedure_options(const struct cal_run *run)
{
	const struct cal_ctx *c = &run->c;

	if (!c->interactive && (c->in.npoints == 0 || (!run->tech && !run->dry))) {
		fprintf(stderr, "strigilctl: --non-interactive needs --point (at least one "
			"mass) and --technician\n");
		return EXIT_USAGE;
	}
	if (c->interactive && !isatty(STDIN_FILENO))
		fprintf(stderr, "strigilctl: reading answers from standard input (not a "
			"terminal); use --non-interactive for scripts\n");
	return 0;
}

/* The previous calibration's normal channel, which the write keeps the
 * other channels of and the certificate compares with. */
static int read_old_calibration(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	struct oldcal *old = &run->old;
	int r;

	r = ctl_bus_call_json(c->bus, c->path, SG_IFACE_INSTRUMENT, "GetCalibration",
			      "reading the current calibration", &old->obj);
	if (r)
		return r;
	old->channels = cj_get(old->obj, "channels");
	old->offset = cj_get(old->obj, "offset");
	old->scale = cj_get(old->obj, "scale");
	for (size_t i = 0; old->channels && i < json_object_array_length(old->channels); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(old->channels, i)),
			    "normal"))
			old->normal = (int)i;
	if (old->normal < 0 || !old->offset || !old->scale ||
	    json_object_array_length(old->offset) != json_object_array_length(old->channels) ||
	    json_object_array_length(old->scale) != json_object_array_length(old->channels)) {
		fprintf(stderr, "strigilctl: strigild reported no normal-force channel for %s\n",
			c->serial);
		return EXIT_FAIL;
	}
	if (cj_int(old->obj, "date", 0) > 0) {
		run->id.old_scale = json_object_get_double(
			json_object_array_get_idx(old->scale, old->normal));
		run->id.old_offset = json_object_get_double(
			json_object_array_get_idx(old->offset, old->normal));
		run->id.old_date_s = cj_int(old->obj, "date", 0) / 1000000;
	}
	return 0;
}

/* The instrument is there, plugged in, not treating anyone, and has a
 * normal-force channel; then it is claimed for the procedure. */
static int preflight(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	int r;

	r = connect_instrument(run);
	if (!r)
		r = ctl_bus_get_all(c->bus, c->path, SG_IFACE_INSTRUMENT, &run->inst);
	if (r)
		return r;
	c->serial = cj_str(run->inst, "Serial", run->instrument);
	run->id.serial = c->serial;
	run->id.model = cj_str(run->inst, "Model", "");
	run->id.firmware = cj_str(run->inst, "Firmware", "");
	if (!cj_bool(run->inst, "Connected", false)) {
		fprintf(stderr, "strigilctl: %s is unplugged; plug it in and start again\n",
			c->serial);
		return EXIT_FAIL;
	}
	if (strcmp(cj_str(run->inst, "ActiveSession", "/"), "/") != 0) {
		fprintf(stderr, "strigilctl: %s is in a treatment session (%s); stop it "
			"before calibrating\n", c->serial,
			cj_path_tail(cj_str(run->inst, "ActiveSession", "")));
		return EXIT_FAIL;
	}
	r = read_old_calibration(run);
	if (r)
		return r;
	fprintf(stderr, "Calibrating %s (model %s, firmware %s), normal-force channel.\n",
		c->serial, run->id.model, run->id.firmware);
	return ctl_bus_call_void(c->bus, c->path, SG_IFACE_INSTRUMENT, "Claim",
				 "claiming the instrument");
}

/* Step 1: the unloaded readings. */
static int step_zero(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	int r;

	fprintf(stderr, "\nStep 1: zero (%u readings, unloaded)\n", run->zeros);
	for (uint32_t i = 0; i < run->zeros; i++) {
		/* One prompt; the further readings check the zero is stable. */
		r = take(c, "zero", 0, &c->in.zero[c->in.nzero], i == 0);
		if (r)
			return r;
		c->in.nzero++;
	}
	return 0;
}

/*
 * The zero is judged again after the fit (with the new scale); with the
 * previous scale it can be judged now, before any mass is placed.
 */
static int check_zero_early(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	struct cal_zero z;

	if (!(isfinite(run->id.old_scale) && run->id.old_scale > 0))
		return 0;
	cal_judge_zero(&c->in, run->id.old_scale, &z);
	fprintf(stderr, "  unloaded: noise %.4f N, drift %.4f N (limits %.4f / %.4f N)\n",
		z.noise_n, z.drift_n, c->in.tol.zero_noise_n, c->in.tol.zero_drift_n);
	if (z.ok_noise && z.ok_drift)
		return 0;
	fprintf(stderr, "strigilctl: the unloaded reading is not %s: keep the tool "
		"still, away from vibration, let it warm up and check the cable.\n",
		!z.ok_noise ? "quiet enough" : "stable");
	if (!c->interactive || !ctl_confirm("Continue anyway? [y/N] ")) {
		fprintf(stderr, "  The instrument's calibration is unchanged.\n");
		return EXIT_FAIL;
	}
	return 0;
}

/* Step 2, interactive without --point: masses asked one by one. */
static int ask_points(struct cal_ctx *c)
{
	for (;;) {
		char *a = ctl_prompt("Reference mass in grams (Enter when done; enter a "
				     "mass again to check repeatability): ");
		double g;
		int r;

		if (!a) {
			fprintf(stderr, "\nstrigilctl: input ended; the instrument's "
				"calibration is unchanged.\n");
			return EXIT_INTERRUPTED;
		}
		if (!*a) {
			free(a);
			if (c->in.npoints >= 1)
				return 0;
			fprintf(stderr, "  At least one reference mass is needed.\n");
			continue;
		}
		if (cal_parse_mass(a, &g) < 0) {
			fprintf(stderr, "  '%s' is not a mass in grams; try again.\n", a);
			free(a);
			continue;
		}
		free(a);
		if (c->in.npoints == CAL_MAX_POINTS) {
			fprintf(stderr, "  That is the maximum number of readings.\n");
			return 0;
		}
		c->in.point[c->in.npoints].grams = g;
		r = take(c, "point", g, &c->in.point[c->in.npoints].r, true);
		if (r)
			return r;
		c->in.npoints++;
	}
}

/* Step 2: the reference masses. */
static int step_points(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	int r;

	fprintf(stderr, "\nStep 2: reference masses\n");
	if (c->interactive && c->in.npoints == 0)
		return ask_points(c);
	for (unsigned i = 0; i < c->in.npoints; i++) {
		r = take(c, "point", c->in.point[i].grams, &c->in.point[i].r, true);
		if (r)
			return r;
	}
	return 0;
}

/* The fit, or why there is none. */
static int step_fit(struct cal_run *run)
{
	const struct cal_result *res = &run->res;
	int r;

	r = cal_evaluate(&run->c.in, &run->res);
	if (r < 0) {
		fprintf(stderr, "strigilctl: no calibration can be computed: %s\n",
			r == -EDOM ? "the readings did not change with the load (is the mass on "
				     "the blade? is the load cell connected?)" :
			r == -ERANGE ? "the reading falls as the load rises (masses in the wrong "
				       "order, or the load cell is wired backwards)" :
			r == -EOVERFLOW ? "the zero or the gain is outside what the instrument "
					  "can store (is this the right instrument and load "
					  "cell?)" :
			"the readings are not valid");
		fprintf(stderr, "  The instrument's calibration is unchanged.\n");
		return EXIT_FAIL;
	}
	fprintf(stderr, "\nFit: %.6g N/count, zero %.2f counts, linearity %.3f %% of span, "
		"repeatability %.3f %%\n", res->fit.scale, res->fit.offset, res->fit.linearity_pct,
		res->repeat_pct);
	return 0;
}

/* Step 3: a verification mass not used in the fit, then the fit judged
 * with it. */
static int step_verify(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	int r;

	if (c->interactive && !run->have_verify) {
		char *a = ctl_prompt("\nStep 3: verification mass in grams, one not used above "
				     "(Enter to skip): ");

		if (!a) {
			fprintf(stderr, "\nstrigilctl: input ended; the instrument's calibration "
				"is unchanged.\n");
			return EXIT_INTERRUPTED;
		}
		if (*a && cal_parse_mass(a, &run->verify_g) == 0)
			run->have_verify = true;
		else if (*a)
			fprintf(stderr, "  '%s' is not a mass; verification skipped.\n", a);
		free(a);
	}
	if (!run->have_verify)
		return 0;
	c->in.have_verify = true;
	c->in.verify.grams = run->verify_g;
	r = take(c, "verify", run->verify_g, &c->in.verify.r, true);
	if (r)
		return r;
	return cal_evaluate(&c->in, &run->res) < 0 ? EXIT_FAIL : 0;
}

/* Who calibrated, when, and until when it is valid. */
static int step_identity(struct cal_run *run)
{
	struct cal_identity *id = &run->id;

	if (!run->tech && run->c.interactive && run->res.pass) {
		while (!run->tech) {
			free(run->tech_buf);
			run->tech_buf = ctl_prompt("Technician id: ");
			if (!run->tech_buf) {
				fprintf(stderr, "\nstrigilctl: input ended; the instrument's "
					"calibration is unchanged.\n");
				return EXIT_INTERRUPTED;
			}
			if (technician_ok(run->tech_buf))
				run->tech = run->tech_buf;
			else
				fprintf(stderr, "  1-16 printable characters, no spaces.\n");
		}
	}
	id->technician = run->tech ? run->tech : "";
	id->date_s = (int64_t)time(NULL);
	id->due_s = run->due_s ? run->due_s : id->date_s + (int64_t)run->due_days * 86400;
	if (id->due_s <= id->date_s) {
		fprintf(stderr, "strigilctl: the due date must be in the future\n");
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * The single write, only after a pass (and the technician's yes when
 * interactive), then read back. 0 when nothing went wrong, written or not.
 */
static int step_write(struct cal_run *run)
{
	struct cal_ctx *c = &run->c;
	struct cal_identity *id = &run->id;
	sigset_t block;
	bool go = true;
	int r;

	if (!run->res.pass || run->dry)
		return 0;
	if (c->interactive) {
		char q[128];

		cal_certificate_text(stderr, &c->in, &run->res, id);
		snprintf(q, sizeof(q), "\nWrite this calibration to %s now? [y/N] ", c->serial);
		go = ctl_confirm(q);
	}
	if (!go) {
		fprintf(stderr, "Not written; the instrument's calibration is unchanged.\n");
		return 0;
	}
	/* Finish the write and report it truthfully, even on Ctrl-C. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	r = write_calibration(c, &run->old, &run->res, id->technician, id->date_s, id->due_s);
	id->written = r == 0;
	if (!r)
		r = read_back(c, &run->res, id);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	return r;
}

/* The certificate (stdout and files) and the outcome in a sentence; the
 * instrument is released. r: the write's status (0: judge by the pass). */
static int report(struct cal_run *run, int r)
{
	struct cal_ctx *c = &run->c;
	const struct cal_result *res = &run->res;
	const struct cal_identity *id = &run->id;

	if (!r)
		r = res->pass ? EXIT_OK : EXIT_FAIL;
	if (ctl.json) {
		struct json_object *o = cal_certificate_json(&c->in, res, id);

		cj_print(stdout, o);
		json_object_put(o);
	} else {
		fputc('\n', stdout);
		cal_certificate_text(stdout, &c->in, res, id);
	}
	if (run->cert && write_file(run->cert, &c->in, res, id, false))
		r = r ? r : EXIT_FAIL;
	if (run->cert_json && write_file(run->cert_json, &c->in, res, id, true))
		r = r ? r : EXIT_FAIL;
	if (!res->pass)
		fprintf(stderr, "\nCalibration FAILED: %s\nThe instrument's calibration is "
			"unchanged.\n", res->why);
	else if (run->dry)
		fprintf(stderr, "\nDry run: passed, not written.\n");
	else if (id->written)
		fprintf(stderr, "\nWritten to %s; valid until the due date above. The previous "
			"calibration is kept in the history.\n", c->serial);
	ctl_bus_call_void(c->bus, c->path, SG_IFACE_INSTRUMENT, "Release", "releasing the instrument");
	return r;
}

static void run_free(struct cal_run *run)
{
	json_object_put(run->old.obj);
	json_object_put(run->inst);
	free(run->tech_buf);
	free(run->c.path);
	sd_bus_flush_close_unref(run->c.bus);
}

int verb_calibrate(int argc, char **argv)
{
	struct cal_run run = {
		.c = { .interactive = true, .seconds = 2.0 },
		.due_days = 365, .zeros = 2,
		.old = { .normal = -1 },
		.id = { .old_scale = NAN, .old_offset = NAN },
	};
	struct sigaction sa = { .sa_handler = on_interrupt };
	int r;

	if (!parse_options(&run, argc, argv, &r))
		return r;
	if ((r = check_options(&run)))
		return r;
	if (run.history) {
		r = run_history(&run);
		run_free(&run);
		return r;
	}
	if ((r = check_procedure_options(&run)))
		return r;

	/* Ctrl-C anywhere before the write: nothing is changed. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* A failed step ends the run here, before the certificate; the
	 * daemon releases the claim with the connection. */
	if (!(r = preflight(&run)) &&
	    !(r = step_zero(&run)) &&
	    !(r = check_zero_early(&run)) &&
	    !(r = step_points(&run)) &&
	    !(r = step_fit(&run)) &&
	    !(r = step_verify(&run)) &&
	    !(r = step_identity(&run)))
		r = report(&run, step_write(&run));
	run_free(&run);
	return r;
}
