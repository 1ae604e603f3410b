// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl export SESSION... --format csv|fhir [--output FILE] */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "ctl-json.h"
#include "export-fmt.h"
#include "strigilctl.h"

static const char usage[] =
	"Usage: strigilctl export --format csv|fhir [--output FILE] SESSION...\n"
	"Exports the strokes and violations of finished (or running) sessions:\n"
	"  csv   one table, a 'kind' column tells strokes, warnings, exceeded, caps\n"
	"  fhir  an HL7 FHIR R4 Bundle (JSON): Patient (pseudonymous reference),\n"
	"        Device, a Procedure per session, an Observation per stroke (peak and\n"
	"        mean force in N, UCUM) and per violation, limits flagged.\n"
	"--output writes FILE atomically (a partial file never appears).\n";

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void free_sessions(struct ex_session *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].strokes);
		free(s[i].violations);
	}
	free(s);
}

static int quiet_get_all(sd_bus *bus, const char *path, const char *iface,
			 struct json_object **out)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	*out = NULL;
	r = sd_bus_call_method(bus, SG_BUS_NAME, path, "org.freedesktop.DBus.Properties",
			       "GetAll", &e, &reply, "s", iface);
	sd_bus_error_free(&e);
	if (r >= 0)
		r = ctl_bus_read_json(reply, out);
	sd_bus_message_unref(reply);
	return r;
}

static int load_one(sd_bus *bus, const char *path, struct ex_session *se)
{
	struct json_object *p = NULL, *ip = NULL, *pp = NULL, *strokes = NULL, *viol = NULL;
	size_t n;
	int r;

	r = ctl_bus_get_all(bus, path, SG_IFACE_SESSION, &p);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetStrokes",
				      "reading the strokes", &strokes);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetViolations",
				      "reading the violations", &viol);
	if (r)
		goto out;
	/* The profile or instrument may be gone; the session stays exportable. */
	quiet_get_all(bus, cj_str(p, "Instrument", "/"), SG_IFACE_INSTRUMENT, &ip);
	quiet_get_all(bus, cj_str(p, "Profile", "/"), SG_IFACE_PROFILE, &pp);

	snprintf(se->id, sizeof(se->id), "%lld", (long long)cj_int(p, "Id", 0));
	if (pp)
		copy(se->patient_ref, sizeof(se->patient_ref), cj_str(pp, "PatientRef", ""));
	else
		snprintf(se->patient_ref, sizeof(se->patient_ref), "profile-%s",
			 cj_path_tail(cj_str(p, "Profile", "")));
	copy(se->instrument_serial, sizeof(se->instrument_serial), cj_str(ip, "Serial",
	     cj_path_tail(cj_str(p, "Instrument", ""))));
	copy(se->instrument_model, sizeof(se->instrument_model), cj_str(ip, "Model", ""));
	copy(se->instrument_firmware, sizeof(se->instrument_firmware), cj_str(ip, "Firmware", ""));
	copy(se->region, sizeof(se->region), cj_str(p, "Region", ""));
	copy(se->state, sizeof(se->state), cj_str(p, "State", ""));
	se->started_at = ctl_usec_to_s(cj_int(p, "StartedAt", 0));
	se->ended_at = ctl_usec_to_s(cj_int(p, "EndedAt", 0));
	se->limit_n = cj_num(p, "EffectiveLimitN", NAN);
	{
		struct json_object *reasons = cj_get(p, "LimitReasons");
		size_t len = 0;

		for (size_t i = 0; reasons && i < json_object_array_length(reasons); i++)
			len += (size_t)snprintf(se->limit_reason + len,
				len < sizeof(se->limit_reason) ? sizeof(se->limit_reason) - len : 0,
				"%s%s", i ? "; " : "",
				json_object_get_string(json_object_array_get_idx(reasons, i)));
		if (!len)
			copy(se->limit_reason, sizeof(se->limit_reason), cj_str(p, "LimitSource", ""));
	}

	n = json_object_array_length(strokes);
	se->strokes = calloc(n ? n : 1, sizeof(*se->strokes));
	for (size_t i = 0; se->strokes && i < n; i++) {
		struct json_object *s = json_object_array_get_idx(strokes, i);
		struct ex_stroke *st = &se->strokes[i];
		double dur = cj_num(s, "duration_s", NAN);

		if (!isfinite(dur))
			dur = cj_num(s, "end_s", NAN) - cj_num(s, "start_s", NAN);
		st->index = (uint32_t)cj_int(s, "index", (int64_t)i + 1);
		/* 'time' is when the daemon closed the stroke (its end). */
		st->end_s = ctl_usec_to_s(cj_int(s, "time", 0));
		if (!isfinite(st->end_s))
			st->end_s = se->started_at + cj_num(s, "end_s", NAN);
		st->start_s = st->end_s - dur;
		st->peak_n = cj_num(s, "peak_n", NAN);
		st->mean_n = cj_num(s, "mean_n", NAN);
		st->impulse_ns = cj_num(s, "impulse_ns", NAN);
		st->above_limit_s = cj_num(s, "above_limit_s", NAN);
		st->limit_n = cj_num(s, "limit_n", NAN);
	}
	se->nstrokes = se->strokes ? n : 0;

	n = json_object_array_length(viol);
	se->violations = calloc(n ? n : 1, sizeof(*se->violations));
	for (size_t i = 0; se->violations && i < n; i++) {
		struct json_object *v = json_object_array_get_idx(viol, i);
		struct ex_violation *vi = &se->violations[se->nviolations];
		const char *kind = cj_str(v, "kind", "");

		vi->kind = ex_violation_kind_parse(kind);
		if (!vi->kind)
			continue;	/* a kind this version does not know */
		vi->t_s = ctl_usec_to_s(cj_int(v, "time", 0));
		vi->force_n = vi->kind == EX_CAP ? NAN : cj_num(v, "force_n", NAN);
		vi->limit_n = cj_num(v, "limit_n", NAN);
		if (vi->kind == EX_CAP)
			copy(vi->detail, sizeof(vi->detail), kind);
		se->nviolations++;
	}
	if (!se->strokes || !se->violations) {
		fprintf(stderr, "strigilctl: out of memory\n");
		r = EXIT_FAIL;
		goto out;
	}
	ex_link_violations(se);
out:
	json_object_put(p);
	json_object_put(ip);
	json_object_put(pp);
	json_object_put(strokes);
	json_object_put(viol);
	return r;
}

int verb_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *format = NULL, *output = NULL;
	struct ex_session *sessions = NULL;
	char *tmp = NULL;
	size_t n = 0;
	sd_bus *bus = NULL;
	FILE *f = stdout;
	int c, r;

	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'j': format = "fhir"; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (!format || (strcmp(format, "csv") && strcmp(format, "fhir"))) {
		fprintf(stderr, "strigilctl: export needs --format csv or --format fhir\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "strigilctl: export needs at least one SESSION id "
			"('strigilctl session list' shows them)\n");
		return EXIT_USAGE;
	}
	r = ctl_bus_open(&bus);
	if (r)
		return r;
	sessions = calloc((size_t)(argc - optind), sizeof(*sessions));
	if (!sessions) {
		r = EXIT_FAIL;
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		char *path = NULL;

		r = ctl_resolve_object(bus, "session", argv[i], &path);
		if (!r)
			r = load_one(bus, path, &sessions[n]);
		free(path);
		n++;
		if (r)
			goto out;
	}

	if (output) {
		int fd;

		if (asprintf(&tmp, "%s.XXXXXX", output) < 0) {
			tmp = NULL;
			r = EXIT_FAIL;
			goto out;
		}
		fd = mkstemp(tmp);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			fprintf(stderr, "strigilctl: cannot write next to %s: %s\n", output,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			free(tmp);
			tmp = NULL;
			f = stdout;
			r = EXIT_FAIL;
			goto out;
		}
	}
	if (!strcmp(format, "csv")) {
		r = ex_write_csv(f, sessions, n) < 0 ? EXIT_FAIL : EXIT_OK;
	} else {
		struct json_object *b = ex_fhir_bundle(sessions, n, (double)time(NULL));

		if (b) {
			cj_print(f, b);
			json_object_put(b);
			r = EXIT_OK;
		} else {
			r = EXIT_FAIL;
		}
	}
	if (fflush(f) != 0 || ferror(f))
		r = EXIT_FAIL;
	if (output) {
		if (fsync(fileno(f)) < 0)
			r = EXIT_FAIL;
		if (fclose(f) != 0)
			r = EXIT_FAIL;
		f = stdout;
		if (r == EXIT_OK && rename(tmp, output) < 0) {
			fprintf(stderr, "strigilctl: cannot write %s: %s\n", output, strerror(errno));
			r = EXIT_FAIL;
		}
		if (r != EXIT_OK) {
			unlink(tmp);
			fprintf(stderr, "strigilctl: export failed; %s was not written\n", output);
		}
	}
out:
	free(tmp);
	if (sessions)
		free_sessions(sessions, n);
	sd_bus_flush_close_unref(bus);
	return r;
}
