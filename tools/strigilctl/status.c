// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl status: daemon version, instruments, sessions in progress. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "ctl-json.h"
#include "strigilctl.h"

static const char usage[] =
	"Usage: strigilctl status [--json]\n"
	"Shows strigild's version, the state of its storage, every instrument it\n"
	"knows (serial, model, backend, connected, calibration due date) and the\n"
	"sessions in progress.\n";

bool ctl_session_active(const char *state)
{
	return state && (!strcmp(state, "running") || !strcmp(state, "paused") ||
			 !strcmp(state, "disconnected"));
}

static struct json_object *instrument_json(const char *path, struct json_object *p)
{
	struct json_object *o = json_object_new_object();
	char due[40];

	cj_iso8601(ctl_usec_to_s(cj_int(p, "CalibrationDue", 0)), due, sizeof(due));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "serial", json_object_new_string(cj_str(p, "Serial", "")));
	json_object_object_add(o, "model", json_object_new_string(cj_str(p, "Model", "")));
	json_object_object_add(o, "firmware", json_object_new_string(cj_str(p, "Firmware", "")));
	json_object_object_add(o, "backend", json_object_new_string(cj_str(p, "Backend", "")));
	json_object_object_add(o, "connected", json_object_new_boolean(cj_bool(p, "Connected", false)));
	json_object_object_add(o, "calibration_valid",
			       json_object_new_boolean(cj_bool(p, "CalibrationValid", false)));
	json_object_object_add(o, "calibration_due", due[0] ? json_object_new_string(due) : NULL);
	json_object_object_add(o, "lost_samples", json_object_new_int64(cj_int(p, "LostSamples", 0)));
	json_object_object_add(o, "alert_failures",
			       json_object_new_int64(cj_int(p, "AlertFailures", 0)));
	json_object_object_add(o, "active_session",
			       json_object_new_string(cj_str(p, "ActiveSession", "/")));
	return o;
}

static struct json_object *session_json(const char *path, struct json_object *p,
					struct json_object *objs)
{
	struct json_object *o = json_object_new_object();
	struct json_object *ip = ctl_object_props(objs, cj_str(p, "Instrument", ""),
						  SG_IFACE_INSTRUMENT);
	struct json_object *pp = ctl_object_props(objs, cj_str(p, "Profile", ""),
						  SG_IFACE_PROFILE);
	char started[40];

	cj_iso8601(ctl_usec_to_s(cj_int(p, "StartedAt", 0)), started, sizeof(started));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "id", json_object_new_int64(cj_int(p, "Id", 0)));
	json_object_object_add(o, "instrument", json_object_new_string(cj_str(ip, "Serial", "")));
	/* the session's own record of its patient (the profile may be gone) */
	json_object_object_add(o, "patient_ref", json_object_new_string(
		cj_str(p, "PatientRef", cj_str(pp, "PatientRef", ""))));
	json_object_object_add(o, "region", json_object_new_string(cj_str(p, "Region", "")));
	json_object_object_add(o, "state", json_object_new_string(cj_str(p, "State", "")));
	json_object_object_add(o, "started_at", json_object_new_string(started));
	json_object_object_add(o, "strokes", json_object_new_int64(cj_int(p, "StrokeCount", 0)));
	json_object_object_add(o, "violations", json_object_new_int64(cj_int(p, "ViolationCount", 0)));
	json_object_object_add(o, "effective_limit_n", cj_fixed(cj_num(p, "EffectiveLimitN", NAN), 2));
	json_object_object_add(o, "limit_source", json_object_new_string(cj_str(p, "LimitSource", "")));
	return o;
}

int verb_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct json_object *objs = NULL, *mgr = NULL, *out, *insts, *sess;
	sd_bus *bus = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	r = ctl_bus_open(&bus);
	if (r)
		return r;
	r = ctl_managed_objects(bus, &objs);
	if (r)
		goto out;
	/* GetManagedObjects lists the objects below the root, not the root. */
	r = ctl_bus_get_all(bus, SG_ROOT, SG_IFACE_MANAGER, &mgr);
	if (r)
		goto out;
	out = json_object_new_object();
	insts = json_object_new_array();
	sess = json_object_new_array();
	json_object_object_add(out, "version", json_object_new_string(cj_str(mgr, "Version", "?")));
	{
		/* a daemon older than the storage state says nothing: "ok" */
		struct json_object *st = json_object_new_object();

		json_object_object_add(st, "state",
				       json_object_new_string(cj_str(mgr, "StorageState", "ok")));
		json_object_object_add(st, "error",
				       json_object_new_string(cj_str(mgr, "StorageError", "")));
		json_object_object_add(st, "pending",
				       json_object_new_int64(cj_int(mgr, "StoragePending", 0)));
		json_object_object_add(st, "dropped",
				       json_object_new_int64(cj_int(mgr, "StorageDropped", 0)));
		json_object_object_add(out, "storage", st);
	}
	json_object_object_foreach(objs, path, ifaces) {
		struct json_object *ip = cj_get(ifaces, SG_IFACE_INSTRUMENT);
		struct json_object *sp = cj_get(ifaces, SG_IFACE_SESSION);

		if (ip)
			json_object_array_add(insts, instrument_json(path, ip));
		if (sp && ctl_session_active(cj_str(sp, "State", NULL)))
			json_object_array_add(sess, session_json(path, sp, objs));
	}
	cj_sort_by_str(insts, "serial");
	cj_sort_by_int(sess, "id");
	json_object_object_add(out, "instruments", insts);
	json_object_object_add(out, "sessions", sess);

	if (ctl.json) {
		cj_print(stdout, out);
	} else {
		size_t n = json_object_array_length(insts);

		struct json_object *st = cj_get(out, "storage");

		printf("strigild %s\n", cj_str(out, "version", "?"));
		if (strcmp(cj_str(st, "state", "ok"), "degraded") == 0)
			printf("Storage: DEGRADED (%s): records are stored, more slowly; restart "
			       "strigild when no session is in progress.\n", cj_str(st, "error", "?"));
		else if (strcmp(cj_str(st, "state", "ok"), "ok") != 0)
			printf("Storage: FAILING (%s): %lld record(s) waiting in memory, kept and "
			       "retried; nothing new is on disk. Free space on the disk of the "
			       "state directory or stop the program that locks the database.\n",
			       cj_str(st, "error", "?"), (long long)cj_int(st, "pending", 0));
		else
			printf("Storage: ok\n");
		if (cj_int(st, "dropped", 0) > 0)
			printf("Storage: %lld record(s) could NOT be stored (see the journal, "
			       "STRIGIL_EVENT=storage-error); their sessions are flagged "
			       "records-lost.\n", (long long)cj_int(st, "dropped", 0));
		printf("\nInstruments (%zu):\n", n);
		if (n)
			printf("  %-16s %-6s %-10s %-10s %s\n", "SERIAL", "MODEL", "BACKEND",
			       "CONNECTED", "CALIBRATION");
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_array_get_idx(insts, i);
			char due[24];

			snprintf(due, sizeof(due), "%.10s", cj_str(o, "calibration_due", "-"));
			printf("  %-16s %-6s %-10s %-10s %s %s\n", cj_str(o, "serial", ""),
			       cj_str(o, "model", ""), cj_str(o, "backend", ""),
			       cj_bool(o, "connected", false) ? "yes" : "NO",
			       cj_bool(o, "calibration_valid", false) ? "valid until" :
			       cj_has(o, "calibration_due") ? "EXPIRED since" : "NEVER calibrated",
			       cj_has(o, "calibration_due") ? due : "");
			if (cj_int(o, "alert_failures", 0) > 0)
				printf("  %-16s WARNING: the tool refused or lost %lld alarm "
				       "request(s): its own alarm cannot be relied on; watch the "
				       "screen and have the instrument checked.\n", "",
				       (long long)cj_int(o, "alert_failures", 0));
		}
		n = json_object_array_length(sess);
		printf("\nSessions in progress (%zu):\n", n);
		if (n)
			printf("  %-6s %-14s %-16s %-18s %-12s %7s %5s %8s\n", "ID", "INSTRUMENT",
			       "PATIENT", "REGION", "STATE", "STROKES", "VIOL", "LIMIT");
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_array_get_idx(sess, i);

			printf("  %-6lld %-14s %-16s %-18s %-12s %7lld %5lld %6.1f N\n",
			       (long long)cj_int(o, "id", 0), cj_str(o, "instrument", ""),
			       cj_str(o, "patient_ref", ""), cj_str(o, "region", ""),
			       cj_str(o, "state", ""), (long long)cj_int(o, "strokes", 0),
			       (long long)cj_int(o, "violations", 0),
			       cj_num(o, "effective_limit_n", NAN));
		}
	}
	json_object_put(out);
	r = EXIT_OK;
out:
	json_object_put(mgr);
	json_object_put(objs);
	sd_bus_flush_close_unref(bus);
	return r;
}
