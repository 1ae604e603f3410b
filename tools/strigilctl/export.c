// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * strigilctl export SESSION... | --patient REF  --format csv|fhir [--output FILE]
 * Reads every record as the daemon stored it (region, side, cap and reasons
 * of each stroke and event, the engine's stroke times, pauses) and hands
 * plain structs to export-fmt.c.
 */
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
	"       strigilctl export --format csv|fhir [--output FILE] --patient REF\n"
	"Exports the strokes and violations of finished (or running) sessions,\n"
	"or of every visit of one patient (oldest first) with --patient:\n"
	"  csv   one table, a 'kind' column tells strokes, warnings, exceeded, caps;\n"
	"        a stroke's burst (contact) and how it ended (lift, reversal)\n"
	"        cells a spreadsheet would run as formulas start with an apostrophe\n"
	"  fhir  an HL7 FHIR R4 Bundle (JSON): Patient (pseudonymous reference),\n"
	"        Device, a Procedure per session, an Observation per stroke (peak and\n"
	"        mean force in N, UCUM; its burst and end) and per violation, limits\n"
	"        flagged, body sites coded in SNOMED CT with their side.\n"
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
		free(s[i].pauses);
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

static void join_strings(struct json_object *arr, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr) && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "; " : "",
					 json_object_get_string(json_object_array_get_idx(arr, i)));
}

/* Region, side, cap and reasons as recorded with this stroke or event. */
static void read_site(struct json_object *rec, struct ex_site *site)
{
	const char *region = cj_str(rec, "region", "");

	copy(site->region, sizeof(site->region), region);
	copy(site->side, sizeof(site->side),
	     ex_side_of(cj_has(rec, "side") ? cj_str(rec, "side", "") : NULL, region));
	/* limit_n is the engine's cap at that moment: the same record. */
	site->cap_n = cj_num(rec, "cap_n", cj_num(rec, "limit_n", NAN));
	join_strings(cj_get(rec, "cap_reasons"), site->cap_reasons, sizeof(site->cap_reasons));
}

/* Session.GetPauses; a daemon without it keeps no pause records. */
static int load_pauses(sd_bus *bus, const char *path, struct ex_session *se)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	struct json_object *pauses = NULL;
	size_t n;
	int r;

	r = sd_bus_call_method(bus, SG_BUS_NAME, path, SG_IFACE_SESSION, "GetPauses", &e,
			       &reply, "");
	if (r < 0) {
		bool unknown = sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD);

		r = unknown ? 0 : ctl_bus_error("reading the pauses", &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	r = ctl_bus_read_json(reply, &pauses);
	sd_bus_message_unref(reply);
	if (r < 0) {
		fprintf(stderr, "strigilctl: unexpected reply from strigild\n");
		return EXIT_FAIL;
	}
	n = json_object_array_length(pauses);
	se->pauses = calloc(n ? n : 1, sizeof(*se->pauses));
	if (!se->pauses) {
		json_object_put(pauses);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(pauses, i);
		struct ex_pause *pa = &se->pauses[i];

		pa->t_start = cj_num(p, "start_s", NAN);
		pa->t_end = cj_num(p, "end_s", NAN);
		pa->wall_start = ctl_usec_to_s(cj_int(p, "started_at", 0));
		pa->wall_end = ctl_usec_to_s(cj_int(p, "ended_at", 0));
		copy(pa->reason, sizeof(pa->reason), cj_str(p, "reason", ""));
	}
	se->npauses = n;
	se->pauses_known = true;
	json_object_put(pauses);
	return 0;
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
	se->started_at = ctl_usec_to_s(cj_int(p, "StartedAt", 0));
	r = load_pauses(bus, path, se);
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
	copy(se->state, sizeof(se->state), cj_str(p, "State", ""));
	se->ended_at = ctl_usec_to_s(cj_int(p, "EndedAt", 0));

	n = json_object_array_length(strokes);
	se->strokes = calloc(n ? n : 1, sizeof(*se->strokes));
	for (size_t i = 0; se->strokes && i < n; i++) {
		struct json_object *s = json_object_array_get_idx(strokes, i);
		struct ex_stroke *st = &se->strokes[i];

		st->index = (uint32_t)cj_int(s, "index", (int64_t)i + 1);
		/*
		 * The engine's own start and end (session seconds), as the
		 * report shows them. Not 'time': that is when the daemon closed
		 * the stroke, tens of ms after its end. Without them the times
		 * stay unknown (NaN) rather than derived.
		 */
		st->t_start = cj_num(s, "start_s", NAN);
		st->t_end = cj_num(s, "end_s", NAN);
		st->start_s = ex_wall_time(se, st->t_start, true);
		st->end_s = ex_wall_time(se, st->t_end, false);
		st->peak_n = cj_num(s, "peak_n", NAN);
		st->mean_n = cj_num(s, "mean_n", NAN);
		st->impulse_ns = cj_num(s, "impulse_ns", NAN);
		st->above_limit_s = cj_num(s, "above_limit_s", NAN);
		st->limit_n = cj_num(s, "limit_n", NAN);
		read_site(s, &st->site);
		/* Older daemons send neither: left unknown, not invented. */
		st->burst = (uint32_t)cj_int(s, "burst", 0);
		copy(st->end, sizeof(st->end), cj_str(s, "end", ""));
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
		/* Session time as the engine saw it, like the strokes. */
		vi->t = cj_num(v, "t_s", NAN);
		vi->t_s = cj_has(v, "t_s") ? ex_wall_time(se, vi->t, false) :
			  ctl_usec_to_s(cj_int(v, "time", 0));
		vi->force_n = vi->kind == EX_CAP ? NAN : cj_num(v, "force_n", NAN);
		read_site(v, &vi->site);
		vi->limit_n = vi->site.cap_n;
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

/* The patient's profile: Manager.FindProfile (exact reference). */
static int find_patient(sd_bus *bus, const char *ref, char **path)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *p;
	int r;

	r = sd_bus_call_method(bus, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER, "FindProfile", &e,
			       &reply, "s", ref);
	if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD)) {
		/* A strigild from before FindProfile: the same exact match on
		 * PatientRef over the published profiles (never a guess). */
		struct json_object *objs = NULL;

		sd_bus_error_free(&e);
		r = ctl_managed_objects(bus, &objs);
		if (r)
			return r;
		*path = NULL;
		json_object_object_foreach(objs, opath, ifaces) {
			struct json_object *pr = cj_get(ifaces, SG_IFACE_PROFILE);

			if (pr && !strcmp(cj_str(pr, "PatientRef", ""), ref)) {
				*path = strdup(opath);
				break;
			}
		}
		json_object_put(objs);
		if (*path)
			return 0;
		fprintf(stderr, "strigilctl: no patient '%s'; 'strigilctl profile list' shows "
			"them\n", ref);
		return EXIT_FAIL;
	}
	if (r < 0) {
		if (sd_bus_error_has_name(&e, SG_ERROR_PREFIX "NoSuchObject")) {
			fprintf(stderr, "strigilctl: no patient '%s'; 'strigilctl profile list' "
				"shows them\n", ref);
			r = EXIT_FAIL;
		} else {
			r = ctl_bus_error("finding the patient", &e, r);
		}
		sd_bus_error_free(&e);
		return r;
	}
	r = sd_bus_message_read(reply, "o", &p);
	*path = r >= 0 ? strdup(p) : NULL;
	sd_bus_message_unref(reply);
	return *path ? 0 : EXIT_FAIL;
}

/* Every session of a profile, oldest first: Profile.ListSessions, paged. */
static int patient_sessions(sd_bus *bus, const char *profile, struct json_object *out)
{
	enum { PAGE = 100 };
	uint32_t offset = 0, total = 0;
	int r;

	do {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		const char *sp;
		uint32_t got = 0;

		r = sd_bus_call_method(bus, SG_BUS_NAME, profile, SG_IFACE_PROFILE, "ListSessions",
				       &e, &reply, "uu", offset, (uint32_t)PAGE);
		if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD)) {
			/* A strigild from before ListSessions: the sessions whose
			 * Profile is this one, from the published objects. */
			struct json_object *objs = NULL;

			sd_bus_error_free(&e);
			r = ctl_managed_objects(bus, &objs);
			if (r)
				return r;
			json_object_object_foreach(objs, opath, ifaces) {
				struct json_object *se = cj_get(ifaces, SG_IFACE_SESSION);

				if (se && !strcmp(cj_str(se, "Profile", ""), profile)) {
					struct json_object *o = json_object_new_object();

					json_object_object_add(o, "path", json_object_new_string(opath));
					json_object_object_add(o, "id",
							       json_object_new_int64(cj_int(se, "Id", 0)));
					json_object_array_add(out, o);
				}
			}
			json_object_put(objs);
			cj_sort_by_int(out, "id");
			return 0;
		}
		if (r < 0) {
			r = ctl_bus_error("listing the patient's sessions", &e, r);
			sd_bus_error_free(&e);
			return r;
		}
		r = sd_bus_message_enter_container(reply, 'a', "o");
		while (r >= 0 && (r = sd_bus_message_read(reply, "o", &sp)) > 0) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "path", json_object_new_string(sp));
			/* Newest first from the daemon: the order key counts down. */
			json_object_object_add(o, "id", json_object_new_int64(
				-(int64_t)(offset + got)));
			json_object_array_add(out, o);
			got++;
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_read(reply, "u", &total);
		sd_bus_message_unref(reply);
		if (r < 0) {
			fprintf(stderr, "strigilctl: unexpected reply from strigild\n");
			return EXIT_FAIL;
		}
		offset += got;
		if (!got)
			break;
	} while (offset < total);
	cj_sort_by_int(out, "id");
	return 0;
}

/* The clinic's patient identifier system (policy [export]), if the daemon has it. */
static char *patient_system(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *v = NULL;

	if (sd_bus_get_property_string(bus, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER,
				       "PatientIdentifierSystem", &e, &v) < 0)
		v = NULL;
	sd_bus_error_free(&e);
	return v;
}

int verb_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "patient", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *format = NULL, *output = NULL, *patient = NULL;
	struct json_object *list = json_object_new_array();
	struct ex_session *sessions = NULL;
	char *psys = NULL;
	char *tmp = NULL;
	size_t n = 0;
	sd_bus *bus = NULL;
	FILE *f = stdout;
	int c, r;

	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'p': patient = optarg; break;
		case 'j': format = "fhir"; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (!format || (strcmp(format, "csv") && strcmp(format, "fhir"))) {
		fprintf(stderr, "strigilctl: export needs --format csv or --format fhir\n");
		return EXIT_USAGE;
	}
	if (patient ? optind < argc : optind >= argc) {
		fprintf(stderr, patient ? "strigilctl: export takes either SESSION ids or "
			"--patient REF, not both\n" : "strigilctl: export needs at least one "
			"SESSION id ('strigilctl session list' shows them) or --patient REF\n");
		json_object_put(list);
		return EXIT_USAGE;
	}
	r = ctl_bus_open(&bus);
	if (r) {
		json_object_put(list);
		return r;
	}
	if (patient) {
		char *ppath = NULL;

		r = find_patient(bus, patient, &ppath);
		if (!r)
			r = patient_sessions(bus, ppath, list);
		free(ppath);
		if (!r && !json_object_array_length(list)) {
			fprintf(stderr, "strigilctl: patient '%s' has no sessions yet; nothing "
				"was exported\n", patient);
			r = EXIT_FAIL;
		}
		if (r)
			goto out;
	} else {
		for (int i = optind; i < argc; i++) {
			char *path = NULL;
			struct json_object *o;

			r = ctl_resolve_object(bus, "session", argv[i], &path);
			if (r)
				goto out;
			o = json_object_new_object();
			json_object_object_add(o, "path", json_object_new_string(path));
			json_object_array_add(list, o);
			free(path);
		}
	}
	sessions = calloc(json_object_array_length(list) + 1, sizeof(*sessions));
	if (!sessions) {
		r = EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		r = load_one(bus, cj_str(json_object_array_get_idx(list, i), "path", "/"),
			     &sessions[n]);
		n++;
		if (r)
			goto out;
	}
	psys = patient_system(bus);

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
		struct ex_options opt = { .patient_system = psys };
		struct json_object *b = ex_fhir_bundle(sessions, n, (double)time(NULL), &opt);

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
	free(psys);
	json_object_put(list);
	if (sessions)
		free_sessions(sessions, n);
	sd_bus_flush_close_unref(bus);
	return r;
}
