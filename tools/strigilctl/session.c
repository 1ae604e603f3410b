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
	"       strigilctl session list [--active] [--patient PATIENT_REF] [--json]\n"
	"       strigilctl session show SESSION [--json]\n"
	"       strigilctl session report SESSION [--json]\n"
	"INSTRUMENT is a serial, PROFILE a patient reference (digits too: '12' is\n"
	"patient 12; a profile's database id only as id:N), SESSION a session id.\n"
	" --override-reason starts despite an absolute\n"
	"contraindication (needs the override authorization; it is recorded).\n";

enum { OPT_OVERRIDE = 0x100, OPT_NOTE, OPT_ACTIVE, OPT_PATIENT };

/* report: the header of a stored record, so none of the session's
 * current-state lines (region, cap, why): the report lists what each record
 * kept instead. */
static void print_session(struct json_object *p, struct json_object *ip,
			  struct json_object *pp, bool report)
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
	printf("  %-20s%s (profile id:%s)\n", "patient",
	       cj_str(p, "PatientRef", cj_str(pp, "PatientRef", "?")),
	       cj_path_tail(cj_str(p, "Profile", "")));
	if (!report)
		printf("  %-20s%s\n", "region", cj_str(p, "Region", ""));
	printf("  %-20s%s\n", "started", t1[0] ? t1 : "-");
	printf("  %-20s%s\n", "ended", t2[0] ? t2 : "-");
	if (report) {
		/* Labelled as what it is: the session's state at its end. */
		printf("  %-20s%s, %.2f N (", "final region, cap", cj_str(p, "Region", ""),
		       cj_num(p, "EffectiveLimitN", NAN));
		for (size_t i = 0; reasons && i < json_object_array_length(reasons); i++)
			printf("%s%s", i ? "; " : "",
			       json_object_get_string(json_object_array_get_idx(reasons, i)));
		printf(")\n");
	} else {
		printf("  %-20s%.2f N  (%s)\n", "effective limit",
		       cj_num(p, "EffectiveLimitN", NAN), cj_str(p, "LimitSource", "-"));
		for (size_t i = 0; reasons && i < json_object_array_length(reasons); i++)
			printf("  %-20s%s\n", i ? "" : "why",
			       json_object_get_string(json_object_array_get_idx(reasons, i)));
	}
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

/* Each reason of a cap on its own line under "why". */
static void print_reasons(struct json_object *reasons)
{
	for (size_t i = 0; reasons && i < json_object_array_length(reasons); i++)
		printf("  %-9s%s\n", i ? "" : "why:",
		       json_object_get_string(json_object_array_get_idx(reasons, i)));
}

/* Whose session, where, and the cap with its reasons: the clinician must
 * see at a glance that the right patient and cap are in force. */
static void print_started(const char *spath, const char *serial, struct json_object *p)
{
	printf("Started session %s for patient %s on %s in %s: limit %.2f N (%s)\n",
	       cj_path_tail(spath), cj_str(p, "PatientRef", "?"), serial,
	       cj_str(p, "Region", "?"), cj_num(p, "EffectiveLimitN", NAN),
	       cj_str(p, "LimitSource", ""));
	print_reasons(cj_get(p, "LimitReasons"));
}

/* One row of the session list from a session's properties. */
static struct json_object *list_row(struct json_object *objs, const char *path,
				    struct json_object *p, const char *serial)
{
	struct json_object *o = json_object_new_object();
	char t[40];

	cj_iso8601(ctl_usec_to_s(cj_int(p, "StartedAt", 0)), t, sizeof(t));
	json_object_object_add(o, "id", json_object_new_int64(cj_int(p, "Id", 0)));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "state", json_object_new_string(cj_str(p, "State", "")));
	json_object_object_add(o, "instrument", json_object_new_string(serial ? serial :
		cj_str(ctl_object_props(objs, cj_str(p, "Instrument", ""),
					SG_IFACE_INSTRUMENT), "Serial", "")));
	json_object_object_add(o, "patient_ref", json_object_new_string(cj_str(p,
		"PatientRef", cj_str(ctl_object_props(objs, cj_str(p, "Profile", ""),
						      SG_IFACE_PROFILE), "PatientRef", ""))));
	json_object_object_add(o, "region", json_object_new_string(cj_str(p, "Region", "")));
	json_object_object_add(o, "started_at", json_object_new_string(t));
	json_object_object_add(o, "strokes", json_object_new_int64(cj_int(p, "StrokeCount", 0)));
	json_object_object_add(o, "violations",
			       json_object_new_int64(cj_int(p, "ViolationCount", 0)));
	return o;
}

/* The serial of an instrument path, "" if unknown (instrument/<escaped>). */
static void serial_of(sd_bus *bus, const char *ipath, char *buf, size_t len)
{
	char *serial = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;

	buf[0] = 0;
	if (sd_bus_get_property_string(bus, SG_BUS_NAME, ipath, SG_IFACE_INSTRUMENT, "Serial",
				       &e, &serial) >= 0)
		snprintf(buf, len, "%s", serial);
	free(serial);
	sd_bus_error_free(&e);
}

/*
 * A patient's sessions, newest first, read page by page from the daemon
 * (Profile.ListSessions): a long history is never asked for at once.
 */
#define LIST_PAGE 100

static int patient_sessions(sd_bus *bus, const char *ref, bool active_only,
			    struct json_object *out)
{
	char *ppath = NULL;
	uint32_t offset = 0, total = 0;
	int r = ctl_resolve_object(bus, "profile", ref, &ppath);

	while (!r) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		const char *sp;
		unsigned got = 0;

		r = sd_bus_call_method(bus, SG_BUS_NAME, ppath, SG_IFACE_PROFILE, "ListSessions",
				       &e, &reply, "uu", offset, (uint32_t)LIST_PAGE);
		if (r < 0) {
			r = ctl_bus_error("listing the patient's sessions", &e, r);
			sd_bus_error_free(&e);
			break;
		}
		r = sd_bus_message_enter_container(reply, 'a', "o");
		while (r >= 0 && (r = sd_bus_message_read(reply, "o", &sp)) > 0) {
			struct json_object *p = NULL;
			char serial[64];

			got++;
			if (ctl_bus_get_all(bus, sp, SG_IFACE_SESSION, &p))
				continue;
			if (!active_only || ctl_session_active(cj_str(p, "State", NULL))) {
				serial_of(bus, cj_str(p, "Instrument", "/"), serial, sizeof(serial));
				json_object_array_add(out, list_row(NULL, sp, p, serial));
			}
			json_object_put(p);
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_read(reply, "u", &total);
		sd_bus_message_unref(reply);
		if (r < 0) {
			fprintf(stderr, "strigilctl: unexpected reply from strigild\n");
			r = EXIT_FAIL;
			break;
		}
		r = 0;
		offset += got;
		if (!got || offset >= total)
			break;
	}
	free(ppath);
	return r;
}

static int session_list(sd_bus *bus, bool active_only, const char *patient)
{
	struct json_object *objs = NULL, *out = json_object_new_array();
	int r = patient ? patient_sessions(bus, patient, active_only, out) :
		ctl_managed_objects(bus, &objs);

	if (r) {
		json_object_put(out);
		return r;
	}
	if (!patient && active_only) {
		json_object_object_foreach(objs, path, ifaces) {
			struct json_object *p = cj_get(ifaces, SG_IFACE_SESSION);

			if (!p || !ctl_session_active(cj_str(p, "State", NULL)))
				continue;
			json_object_array_add(out, list_row(objs, path, p, NULL));
		}
	} else if (!patient) {
		/* the live objects name only the sessions in progress; the
		 * history is paged (Manager.ListSessions) */
		struct json_object *paths = NULL;

		r = ctl_list_sessions(bus, &paths);
		for (size_t i = 0; !r && i < json_object_array_length(paths); i++) {
			const char *path = json_object_get_string(json_object_array_get_idx(paths, i));
			struct json_object *p = NULL;

			if (ctl_bus_get_all(bus, path, SG_IFACE_SESSION, &p) != 0)
				continue;	/* (said why; the others are listed) */
			json_object_array_add(out, list_row(objs, path, p, NULL));
			json_object_put(p);
		}
		json_object_put(paths);
		if (r) {
			json_object_put(out);
			json_object_put(objs);
			return r;
		}
	}
	if (!patient)
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
			printf(patient ? "(no sessions for patient %s)\n" : "(no sessions)\n",
			       patient);
	}
	json_object_put(out);
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

/* A record's site as the report prints it: "calf:left", "neck", and for
 * records stored before sides existed "calf (side not recorded)". */
static const char *site_text(struct json_object *rec)
{
	static char buf[96];
	const char *region = cj_str(rec, "region", "?");

	if (!strcmp(cj_str(rec, "side", ""), "unknown"))
		snprintf(buf, sizeof(buf), "%s (side?)", region);
	else
		snprintf(buf, sizeof(buf), "%s", region);
	return buf;
}

/* Every site the session treated, in order, with the cap in force there
 * and its reasons, from the records themselves (never the session's
 * current state: after a region change, that is the last site only). */
static void print_sites(struct json_object *strokes, struct json_object *viol)
{
	struct json_object *seen = json_object_new_object();
	struct json_object *lists[2] = { strokes, viol };

	printf("\nSites treated (the cap in force there and why):\n");
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < json_object_array_length(lists[k]); i++) {
			struct json_object *r = json_object_array_get_idx(lists[k], i);
			struct json_object *why = cj_get(r, "cap_reasons");
			char key[160];

			snprintf(key, sizeof(key), "%s|%.3f", site_text(r),
				 cj_num(r, "cap_n", cj_num(r, "limit_n", NAN)));
			if (cj_has(seen, key))
				continue;
			json_object_object_add(seen, key, json_object_new_boolean(1));
			printf("  %-24s %.2f N\n", site_text(r),
			       cj_num(r, "cap_n", cj_num(r, "limit_n", NAN)));
			for (size_t j = 0; why && j < json_object_array_length(why); j++)
				printf("  %-24s   %s\n", "",
				       json_object_get_string(json_object_array_get_idx(why, j)));
			if (!why || !json_object_array_length(why))
				printf("  %-24s   (reasons not recorded)\n", "");
		}
	}
	if (!json_object_object_length(seen))
		printf("  (no strokes or events recorded)\n");
	json_object_put(seen);
}

/* The pauses with their times: part of the header, like the sites. */
static void print_pauses(struct json_object *pauses)
{
	size_t npause = json_object_array_length(pauses);

	printf("\nPauses (%zu):\n", npause);
	for (size_t i = 0; i < npause; i++) {
		struct json_object *q = json_object_array_get_idx(pauses, i);
		char t[40];

		cj_iso8601(ctl_usec_to_s(cj_int(q, "started_at", 0)), t, sizeof(t));
		printf("  %-24s %-10s t=%.2f-%.2f s (%.1f s of wall time); a stroke in progress "
		       "ended at the pause\n", t, cj_str(q, "reason", "?"), cj_num(q, "start_s", NAN),
		       cj_num(q, "end_s", NAN),
		       cj_int(q, "ended_at", 0) ? (double)(cj_int(q, "ended_at", 0) -
							  cj_int(q, "started_at", 0)) / 1e6 : NAN);
	}
}

static int session_report(sd_bus *bus, const char *path)
{
	struct json_object *p = NULL, *ip = NULL, *pp = NULL, *strokes = NULL, *viol = NULL;
	struct json_object *pauses = NULL, *bursts = NULL;
	size_t ns, nv, nb, over = 0, multi = 0;
	double peak_sum = 0, peak_max = 0;
	int r;

	r = load_session(bus, path, &p, &ip, &pp);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetStrokes",
				      "reading the strokes", &strokes);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetViolations",
				      "reading the violations", &viol);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetPauses",
				      "reading the pauses", &pauses);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_SESSION, "GetBursts",
				      "reading the bursts", &bursts);
	if (r)
		goto out;
	ns = json_object_array_length(strokes);
	nb = json_object_array_length(bursts);
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
		json_object_object_add(o, "pauses", json_object_get(pauses));
		json_object_object_add(o, "bursts", json_object_get(bursts));
		cj_print(stdout, o);
		json_object_put(o);
		goto out;
	}
	print_session(p, ip, pp, true);
	print_sites(strokes, viol);
	print_pauses(pauses);
	printf("\nStrokes (%zu):\n", ns);
	if (ns)
		printf("  %5s %-18s %9s %9s %9s %9s %9s %9s %7s %8s\n", "#", "site", "start s",
		       "dur s", "peak N", "mean N", "cap N", "over s", "burst", "end");
	for (size_t i = 0; i < ns; i++) {
		struct json_object *s = json_object_array_get_idx(strokes, i);
		double pk = cj_num(s, "peak_n", NAN), lim = cj_num(s, "limit_n", NAN);

		printf("  %5lld %-18s %9.2f %9.2f %9.2f %9.2f %9.2f %9.3f %7lld %8s%s\n",
		       (long long)cj_int(s, "index", 0), site_text(s),
		       cj_num(s, "start_s", NAN),
		       cj_num(s, "duration_s", NAN), pk, cj_num(s, "mean_n", NAN),
		       cj_num(s, "cap_n", lim),
		       cj_num(s, "above_limit_s", 0), (long long)cj_int(s, "burst", 0),
		       cj_str(s, "end", "-"), isfinite(lim) && pk > lim ? "  OVER" : "");
	}
	/* bursts: passes back and forth without lifting the tool */
	printf("\nBursts (%zu): passes per burst", nb);
	for (size_t i = 0; i < nb; i++) {
		long long passes = cj_int(json_object_array_get_idx(bursts, i), "passes", 0);

		multi += passes > 1;
		printf(" %lld", passes);
	}
	printf("%s\n", nb ? "" : " -");
	if (multi)
		printf("  %zu burst%s of several passes (strokes without lifting the tool).\n",
		       multi, multi == 1 ? "" : "s");
	printf("\nWarnings and violations (%zu):\n", nv);
	for (size_t i = 0; i < nv; i++) {
		struct json_object *v = json_object_array_get_idx(viol, i);
		char t[40];

		cj_iso8601(ctl_usec_to_s(cj_int(v, "time", 0)), t, sizeof(t));
		printf("  %-24s %-9s %6.2f N against %.2f N  (%s, t=%.2f s)\n", t,
		       cj_str(v, "kind", "?"), cj_num(v, "force_n", NAN),
		       cj_num(v, "cap_n", cj_num(v, "limit_n", NAN)), site_text(v),
		       cj_num(v, "t_s", NAN));
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
	json_object_put(pauses);
	json_object_put(bursts);
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
		if (sd_bus_error_has_name(&e, SG_ERROR_PREFIX "InvalidArgument"))
			fprintf(stderr, "  'strigilctl profile regions' lists the regions, with "
				"their sides (calf:left, calf:right).\n");
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
			print_started(spath, args[0], p);
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
		{ "patient", required_argument, NULL, OPT_PATIENT },
		{}
	};
	const char *sub, *override = NULL, *note = NULL, *patient = NULL;
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
		case OPT_PATIENT: patient = optarg; break;
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
	if ((active || patient) && strcmp(sub, "list")) {
		fprintf(stderr, "strigilctl: --active and --patient go with session list\n");
		return EXIT_USAGE;
	}

	r = ctl_bus_open(&bus);
	if (r)
		return r;
	if (!strcmp(sub, "list")) {
		r = session_list(bus, active, patient);
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
				print_session(p, ip, pp, false);
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
			else {
				printf("Stopped session %s for patient %s: %lld strokes, %lld limit "
				       "exceeded, %lld warnings, highest peak %.2f N, %.1f s under "
				       "load; last cap %.2f N in %s\n",
				       cj_path_tail(path), cj_str(sum, "patient_ref", "?"),
				       (long long)cj_int(sum, "strokes", 0),
				       (long long)cj_int(sum, "violations", 0),
				       (long long)cj_int(sum, "warnings", 0), cj_num(sum, "peak_n", 0),
				       cj_num(sum, "seconds_under_load", 0),
				       cj_num(sum, "effective_limit_n", NAN),
				       cj_str(sum, "region", "?"));
				print_reasons(cj_get(sum, "limit_reasons"));
			}
		}
		json_object_put(sum);
	} else if (!strcmp(sub, "region")) {
		sd_bus_error e = SD_BUS_ERROR_NULL;

		r = sd_bus_call_method(bus, SG_BUS_NAME, path, SG_IFACE_SESSION, "SetRegion", &e,
				       NULL, "s", argv[optind + 1]);
		if (r < 0) {
			r = ctl_bus_error("changing the region", &e, r);
			if (sd_bus_error_has_name(&e, SG_ERROR_PREFIX "InvalidArgument"))
				fprintf(stderr, "  'strigilctl profile regions' lists the regions, "
					"with their sides (calf:left, calf:right).\n");
		} else {
			r = 0;
		}
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
