// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl session start|pause|resume|stop|list|show|report. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ctl-json.h"
#include "strigilctl.h"

static const char usage[] =
	"Usage: strigilctl session start INSTRUMENT PROFILE REGION\n"
	"                                [--override-reason TEXT] [--note TEXT]\n"
	"       strigilctl session pause|resume|stop SESSION\n"
	"       strigilctl session region SESSION REGION\n"
	"       strigilctl session list [--active] [--json]\n"
	"       strigilctl session show SESSION [--json]\n"
	"       strigilctl session report SESSION [--json]\n"
	"INSTRUMENT is a serial, PROFILE a profile id or patient reference,\n"
	"SESSION a session id. --override-reason starts despite an absolute\n"
	"contraindication (needs the override authorization; it is recorded).\n";

enum { OPT_OVERRIDE = 0x100, OPT_NOTE, OPT_ACTIVE };

static void print_session(struct json_object *p, struct json_object *ip,
			  struct json_object *pp)
{
	struct json_object *reasons = cj_get(p, "LimitReasons");
	struct json_object *flags = cj_get(p, "Flags");
	char t1[40], t2[40];

	cj_iso8601(ctl_usec_to_s(cj_int(p, "StartedAt", 0)), t1, sizeof(t1));
	cj_iso8601(ctl_usec_to_s(cj_int(p, "EndedAt", 0)), t2, sizeof(t2));
	printf("Session %lld\n", (long long)cj_int(p, "Id", 0));
	printf("  %-20s%s\n", "state", cj_str(p, "State", ""));
	printf("  %-20s%s (%s)\n", "instrument", cj_str(ip, "Serial", "?"),
	       cj_str(p, "Instrument", ""));
	printf("  %-20s%s (profile %s)\n", "patient", cj_str(pp, "PatientRef", "?"),
	       cj_path_tail(cj_str(p, "Profile", "")));
	printf("  %-20s%s\n", "region", cj_str(p, "Region", ""));
	printf("  %-20s%s\n", "started", t1[0] ? t1 : "-");
	printf("  %-20s%s\n", "ended", t2[0] ? t2 : "-");
	printf("  %-20s%.2f N  (%s)\n", "effective limit", cj_num(p, "EffectiveLimitN", NAN),
	       cj_str(p, "LimitSource", "-"));
	for (size_t i = 0; reasons && i < json_object_array_length(reasons); i++)
		printf("  %-20s%s\n", i ? "" : "why",
		       json_object_get_string(json_object_array_get_idx(reasons, i)));
	if (cj_num(p, "TargetMaxN", 0) > 0)
		printf("  %-20s%.1f-%.1f N\n", "target band", cj_num(p, "TargetMinN", 0),
		       cj_num(p, "TargetMaxN", 0));
	printf("  %-20s%lld", "strokes", (long long)cj_int(p, "StrokeCount", 0));
	if (cj_int(p, "MaxStrokes", 0))
		printf(" (cap %lld)", (long long)cj_int(p, "MaxStrokes", 0));
	printf("\n  %-20s%.1f s", "under load", cj_num(p, "SecondsUnderLoad", 0));
	if (cj_num(p, "MaxSecondsUnderLoad", 0) > 0)
		printf(" (cap %.0f s)", cj_num(p, "MaxSecondsUnderLoad", 0));
	printf("\n  %-20s%lld exceeded, %lld warnings\n", "violations",
	       (long long)cj_int(p, "ViolationCount", 0), (long long)cj_int(p, "WarningCount", 0));
	if (cj_has(p, "PeakN"))
		printf("  %-20s%.2f N\n", "highest peak", cj_num(p, "PeakN", NAN));
	if (flags && json_object_array_length(flags)) {
		printf("  %-20s", "flags");
		for (size_t i = 0; i < json_object_array_length(flags); i++)
			printf("%s%s", i ? ", " : "",
			       json_object_get_string(json_object_array_get_idx(flags, i)));
		printf("\n");
	}
	if (*cj_str(p, "OverrideReason", ""))
		printf("  %-20s%s\n", "override reason", cj_str(p, "OverrideReason", ""));
	if (cj_int(p, "LostSamples", 0))
		printf("  %-20s%lld\n", "lost samples", (long long)cj_int(p, "LostSamples", 0));
}

/* The properties of iface on path: from the live objects when there, else
 * asked (and kept in objs for the next session that names it). */
static struct json_object *props_of(sd_bus *bus, struct json_object *objs, const char *path,
				    const char *iface)
{
	struct json_object *p = ctl_object_props(objs, path, iface), *ifaces, *all = NULL;

	if (p || !*path || strcmp(path, "/") == 0)
		return p;
	if (ctl_bus_get_all(bus, path, iface, &all) != 0)
		return NULL;
	ifaces = cj_get(objs, path);
	if (!ifaces) {
		ifaces = json_object_new_object();
		json_object_object_add(objs, path, ifaces);
	}
	json_object_object_add(ifaces, iface, all);
	return all;
}

static int session_list(sd_bus *bus, bool active_only)
{
	struct json_object *objs = NULL, *paths = NULL, *out = json_object_new_array();
	int r = ctl_managed_objects(bus, &objs);

	/* the live objects name the sessions in progress; the history is
	 * paged (it is not in GetManagedObjects) */
	if (!r && !active_only)
		r = ctl_list_sessions(bus, &paths);
	if (r) {
		json_object_put(out);
		json_object_put(objs);
		return r;
	}
	if (active_only) {
		paths = json_object_new_array();
		json_object_object_foreach(objs, lpath, lifaces)
			if (cj_get(lifaces, SG_IFACE_SESSION))
				json_object_array_add(paths, json_object_new_string(lpath));
	}
	for (size_t i = 0; i < json_object_array_length(paths); i++) {
		const char *path = json_object_get_string(json_object_array_get_idx(paths, i));
		struct json_object *p = props_of(bus, objs, path, SG_IFACE_SESSION);
		struct json_object *o;
		char t[40];

		if (!p || (active_only && !ctl_session_active(cj_str(p, "State", NULL))))
			continue;
		o = json_object_new_object();
		cj_iso8601(ctl_usec_to_s(cj_int(p, "StartedAt", 0)), t, sizeof(t));
		json_object_object_add(o, "id", json_object_new_int64(cj_int(p, "Id", 0)));
		json_object_object_add(o, "path", json_object_new_string(path));
		json_object_object_add(o, "state", json_object_new_string(cj_str(p, "State", "")));
		json_object_object_add(o, "instrument", json_object_new_string(cj_str(
			ctl_object_props(objs, cj_str(p, "Instrument", ""), SG_IFACE_INSTRUMENT),
			"Serial", "")));
		json_object_object_add(o, "patient_ref", json_object_new_string(cj_str(
			props_of(bus, objs, cj_str(p, "Profile", ""), SG_IFACE_PROFILE),
			"PatientRef", "")));
		json_object_object_add(o, "region", json_object_new_string(cj_str(p, "Region", "")));
		json_object_object_add(o, "started_at", json_object_new_string(t));
		json_object_object_add(o, "strokes", json_object_new_int64(cj_int(p, "StrokeCount", 0)));
		json_object_object_add(o, "violations",
				       json_object_new_int64(cj_int(p, "ViolationCount", 0)));
		json_object_array_add(out, o);
	}
	cj_sort_by_int(out, "id");
	if (ctl.json) {
		cj_print(stdout, out);
	} else {
		size_t n = json_object_array_length(out);

		printf("%-6s %-12s %-14s %-16s %-18s %-20s %7s %5s\n", "ID", "STATE", "INSTRUMENT",
		       "PATIENT", "REGION", "STARTED", "STROKES", "VIOL");
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_array_get_idx(out, i);

			printf("%-6lld %-12s %-14s %-16s %-18s %-20.19s %7lld %5lld\n",
			       (long long)cj_int(o, "id", 0), cj_str(o, "state", ""),
			       cj_str(o, "instrument", ""), cj_str(o, "patient_ref", ""),
			       cj_str(o, "region", ""), cj_str(o, "started_at", ""),
			       (long long)cj_int(o, "strokes", 0), (long long)cj_int(o, "violations", 0));
		}
		if (!n)
			printf("(no sessions)\n");
	}
	json_object_put(out);
	json_object_put(paths);
	json_object_put(objs);
	return EXIT_OK;
}

/* Session, instrument and profile properties (the last two may be gone). */
static int load_session(sd_bus *bus, const char *path, struct json_object **p,
			struct json_object **ip, struct json_object **pp)
{
	int r = ctl_bus_get_all(bus, path, SG_IFACE_SESSION, p);
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;

	*ip = *pp = NULL;
	if (r)
		return r;
	/* Quietly: a deleted profile still leaves the session readable. */
	if (sd_bus_call_method(bus, SG_BUS_NAME, cj_str(*p, "Instrument", "/"),
			       "org.freedesktop.DBus.Properties", "GetAll", &e, &reply, "s",
			       SG_IFACE_INSTRUMENT) >= 0)
		ctl_bus_read_json(reply, ip);
	sd_bus_error_free(&e);
	reply = sd_bus_message_unref(reply);
	if (sd_bus_call_method(bus, SG_BUS_NAME, cj_str(*p, "Profile", "/"),
			       "org.freedesktop.DBus.Properties", "GetAll", &e, &reply, "s",
			       SG_IFACE_PROFILE) >= 0)
		ctl_bus_read_json(reply, pp);
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return 0;
}

static int session_report(sd_bus *bus, const char *path)
{
	struct json_object *p = NULL, *ip = NULL, *pp = NULL, *strokes = NULL, *viol = NULL;
	size_t ns, nv, over = 0;
	double peak_sum = 0, peak_max = 0;
	int r;

	r = load_session(bus, path, &p, &ip, &pp);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetStrokes",
				      "reading the strokes", &strokes);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetViolations",
				      "reading the violations", &viol);
	if (r)
		goto out;
	ns = json_object_array_length(strokes);
	nv = json_object_array_length(viol);
	for (size_t i = 0; i < ns; i++) {
		struct json_object *s = json_object_array_get_idx(strokes, i);
		double pk = cj_num(s, "peak_n", NAN), lim = cj_num(s, "limit_n", NAN);

		peak_sum += isfinite(pk) ? pk : 0;
		peak_max = fmax(peak_max, isfinite(pk) ? pk : 0);
		over += isfinite(lim) && lim > 0 && pk > lim;
	}
	if (ctl.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "session", json_object_get(p));
		json_object_object_add(o, "instrument", json_object_get(ip));
		json_object_object_add(o, "profile", json_object_get(pp));
		json_object_object_add(o, "strokes", json_object_get(strokes));
		json_object_object_add(o, "violations", json_object_get(viol));
		cj_print(stdout, o);
		json_object_put(o);
		goto out;
	}
	print_session(p, ip, pp);
	printf("\nStrokes (%zu):\n", ns);
	if (ns)
		printf("  %5s %9s %9s %9s %9s %9s %9s\n", "#", "start s", "dur s", "peak N",
		       "mean N", "limit N", "over s");
	for (size_t i = 0; i < ns; i++) {
		struct json_object *s = json_object_array_get_idx(strokes, i);
		double pk = cj_num(s, "peak_n", NAN), lim = cj_num(s, "limit_n", NAN);

		printf("  %5lld %9.2f %9.2f %9.2f %9.2f %9.2f %9.3f%s\n",
		       (long long)cj_int(s, "index", 0), cj_num(s, "start_s", NAN),
		       cj_num(s, "duration_s", NAN), pk, cj_num(s, "mean_n", NAN), lim,
		       cj_num(s, "above_limit_s", 0), isfinite(lim) && pk > lim ? "  OVER" : "");
	}
	printf("\nWarnings and violations (%zu):\n", nv);
	for (size_t i = 0; i < nv; i++) {
		struct json_object *v = json_object_array_get_idx(viol, i);
		char t[40];

		cj_iso8601(ctl_usec_to_s(cj_int(v, "time", 0)), t, sizeof(t));
		printf("  %-24s %-9s %6.2f N against %.2f N  (%s, t=%.2f s)\n", t,
		       cj_str(v, "kind", "?"), cj_num(v, "force_n", NAN), cj_num(v, "limit_n", NAN),
		       cj_str(v, "region", ""), cj_num(v, "t_s", NAN));
	}
	printf("\nSummary: %zu strokes, highest peak %.2f N, mean peak %.2f N, %zu stroke%s over "
	       "the limit, %lld limit exceeded event%s.\n", ns, peak_max, ns ? peak_sum / ns : 0.0,
	       over, over == 1 ? "" : "s", (long long)cj_int(p, "ViolationCount", 0),
	       cj_int(p, "ViolationCount", 0) == 1 ? "" : "s");
out:
	json_object_put(p);
	json_object_put(ip);
	json_object_put(pp);
	json_object_put(strokes);
	json_object_put(viol);
	return r;
}

static int session_start(sd_bus *bus, char **args, const char *override, const char *note)
{
	char *inst = NULL, *prof = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *spath;
	int r;

	r = ctl_resolve_instrument(bus, args[0], &inst);
	if (!r)
		r = ctl_resolve_object(bus, "profile", args[1], &prof);
	if (r)
		goto out;
	if (override || note) {
		r = sd_bus_message_new_method_call(bus, &m, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER,
						   "StartSessionWithOptions");
		if (r >= 0)
			r = sd_bus_message_append(m, "oos", inst, prof, args[2]);
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'a', "{sv}");
		if (r >= 0 && override)
			r = ctl_append_entry(m, "override_reason", "s", override);
		if (r >= 0 && note)
			r = ctl_append_entry(m, "note", "s", note);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	} else {
		r = sd_bus_message_new_method_call(bus, &m, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER,
						   "StartSession");
		if (r >= 0)
			r = sd_bus_message_append(m, "oos", inst, prof, args[2]);
	}
	if (r < 0) {
		fprintf(stderr, "strigilctl: cannot build the request: %s\n", strerror(-r));
		r = EXIT_FAIL;
		goto out;
	}
	r = sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0) {
		r = ctl_bus_error("starting the session", &e, r);
		goto out;
	}
	r = sd_bus_message_read(reply, "o", &spath);
	if (r < 0) {
		fprintf(stderr, "strigilctl: unexpected reply from strigild\n");
		r = EXIT_FAIL;
		goto out;
	}
	if (ctl.json) {
		struct json_object *p = NULL;

		r = ctl_bus_get_all(bus, spath, SG_IFACE_SESSION, &p);
		if (!r)
			cj_print(stdout, p);
		json_object_put(p);
	} else {
		struct json_object *p = NULL;

		r = ctl_bus_get_all(bus, spath, SG_IFACE_SESSION, &p);
		if (!r)
			printf("Started session %s: limit %.2f N (%s)\n", cj_path_tail(spath),
			       cj_num(p, "EffectiveLimitN", NAN), cj_str(p, "LimitSource", ""));
		json_object_put(p);
	}
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	free(inst);
	free(prof);
	return r;
}

int verb_session(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "override-reason", required_argument, NULL, OPT_OVERRIDE },
		{ "note", required_argument, NULL, OPT_NOTE },
		{ "active", no_argument, NULL, OPT_ACTIVE },
		{}
	};
	const char *sub, *override = NULL, *note = NULL;
	bool active = false;
	char *path = NULL;
	sd_bus *bus = NULL;
	int c, r, nargs, want;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		case OPT_OVERRIDE: override = optarg; break;
		case OPT_NOTE: note = optarg; break;
		case OPT_ACTIVE: active = true; break;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	nargs = argc - optind;
	if (!strcmp(sub, "start"))
		want = 3;
	else if (!strcmp(sub, "region"))
		want = 2;
	else if (!strcmp(sub, "list"))
		want = 0;
	else if (!strcmp(sub, "pause") || !strcmp(sub, "resume") || !strcmp(sub, "stop") ||
		 !strcmp(sub, "show") || !strcmp(sub, "report"))
		want = 1;
	else {
		fprintf(stderr, "strigilctl: unknown session command '%s'\n%s", sub, usage);
		return EXIT_USAGE;
	}
	if (nargs != want) {
		fprintf(stderr, "strigilctl: session %s takes %d argument%s\n%s", sub, want,
			want == 1 ? "" : "s", usage);
		return EXIT_USAGE;
	}
	if ((override || note) && strcmp(sub, "start")) {
		fprintf(stderr, "strigilctl: --override-reason and --note go with session start\n");
		return EXIT_USAGE;
	}
	if (active && strcmp(sub, "list")) {
		fprintf(stderr, "strigilctl: --active goes with session list\n");
		return EXIT_USAGE;
	}

	r = ctl_bus_open(&bus);
	if (r)
		return r;
	if (!strcmp(sub, "list")) {
		r = session_list(bus, active);
		goto out;
	}
	if (!strcmp(sub, "start")) {
		r = session_start(bus, argv + optind, override, note);
		goto out;
	}
	r = ctl_resolve_object(bus, "session", argv[optind], &path);
	if (r)
		goto out;
	if (!strcmp(sub, "show")) {
		struct json_object *p = NULL, *ip = NULL, *pp = NULL;

		r = load_session(bus, path, &p, &ip, &pp);
		if (!r) {
			if (ctl.json)
				cj_print(stdout, p);
			else
				print_session(p, ip, pp);
		}
		json_object_put(p);
		json_object_put(ip);
		json_object_put(pp);
	} else if (!strcmp(sub, "report")) {
		r = session_report(bus, path);
	} else if (!strcmp(sub, "stop")) {
		struct json_object *sum = NULL;

		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "Stop", "stopping the session",
				      &sum);
		if (!r) {
			if (ctl.json)
				cj_print(stdout, sum);
			else
				printf("Stopped session %s: %lld strokes, %lld limit exceeded, "
				       "%lld warnings, highest peak %.2f N, %.1f s under load\n",
				       cj_path_tail(path), (long long)cj_int(sum, "strokes", 0),
				       (long long)cj_int(sum, "violations", 0),
				       (long long)cj_int(sum, "warnings", 0), cj_num(sum, "peak_n", 0),
				       cj_num(sum, "seconds_under_load", 0));
		}
		json_object_put(sum);
	} else if (!strcmp(sub, "region")) {
		sd_bus_error e = SD_BUS_ERROR_NULL;

		r = sd_bus_call_method(bus, SG_BUS_NAME, path, SG_IFACE_SESSION, "SetRegion", &e,
				       NULL, "s", argv[optind + 1]);
		if (r < 0)
			r = ctl_bus_error("changing the region", &e, r);
		else
			r = 0;
		sd_bus_error_free(&e);
		if (!r && !ctl.json)
			printf("Session %s now treats region %s\n", cj_path_tail(path),
			       argv[optind + 1]);
	} else {
		const char *method = !strcmp(sub, "pause") ? "Pause" : "Resume";
		char what[64];

		snprintf(what, sizeof(what), "%s the session",
			 !strcmp(sub, "pause") ? "pausing" : "resuming");
		r = ctl_bus_call_void(bus, path, SG_IFACE_SESSION, method, what);
		if (!r && !ctl.json)
			printf("Session %s %s\n", cj_path_tail(path),
			       !strcmp(sub, "pause") ? "paused" : "resumed");
	}
out:
	free(path);
	sd_bus_flush_close_unref(bus);
	return r;
}
