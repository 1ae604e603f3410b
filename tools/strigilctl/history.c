// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl history REF: a patient's visits with per-site strokes, peak,
 * mean, impulse, violations and the trend (history-fmt.c is the pure half). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ctl-json.h"
#include "history-fmt.h"
#include "strigilctl.h"

static const char usage[] =
	"Usage: strigilctl history [--json] PATIENT_REF\n"
	"A patient's visits, newest first: per treated site (region:side) the strokes,\n"
	"highest peak, mean force, impulse, limit exceeded events, and the trend of the\n"
	"mean and peak force since the previous visit at the same site.\n"
	"PATIENT_REF is the patient reference ('12' is patient 12; a profile's\n"
	"database id only as id:N).\n";

static int read_rows(struct json_object *hist, struct hist_row **out, size_t *n)
{
	size_t k = json_object_array_length(hist);
	struct hist_row *rows = calloc(k ? k : 1, sizeof(*rows));

	if (!rows)
		return -1;
	for (size_t i = 0; i < k; i++) {
		struct json_object *o = json_object_array_get_idx(hist, i);
		struct hist_row *r = &rows[i];

		r->session = atoll(cj_path_tail(cj_str(o, "session", "/0")));
		r->started_s = ctl_usec_to_s(cj_int(o, "started_us", 0));
		snprintf(r->region, sizeof(r->region), "%s", cj_str(o, "region", ""));
		snprintf(r->side, sizeof(r->side), "%s", cj_str(o, "side", ""));
		r->strokes = (unsigned)cj_int(o, "strokes", 0);
		r->peak_n = cj_num(o, "peak_n", NAN);
		r->mean_n = cj_num(o, "mean_n", NAN);
		r->impulse_ns = cj_num(o, "impulse_ns", NAN);
		r->violations = (unsigned)cj_int(o, "violations", 0);
	}
	*out = rows;
	*n = k;
	return 0;
}

static void print_json(const char *ref, const struct hist_row *rows, size_t n)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "patient_ref", json_object_new_string(ref));
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_new_object();
		char t[40];

		cj_iso8601(rows[i].started_s, t, sizeof(t));
		json_object_object_add(r, "session", json_object_new_int64(rows[i].session));
		json_object_object_add(r, "started_at", json_object_new_string(t));
		json_object_object_add(r, "region", json_object_new_string(rows[i].region));
		json_object_object_add(r, "side", json_object_new_string(rows[i].side));
		json_object_object_add(r, "strokes", json_object_new_int64(rows[i].strokes));
		json_object_object_add(r, "peak_n", cj_fixed(rows[i].peak_n, 3));
		json_object_object_add(r, "mean_n", cj_fixed(rows[i].mean_n, 3));
		json_object_object_add(r, "impulse_ns", cj_fixed(rows[i].impulse_ns, 3));
		json_object_object_add(r, "violations", json_object_new_int64(rows[i].violations));
		if (rows[i].has_prev) {
			json_object_object_add(r, "mean_change_n", cj_fixed(rows[i].d_mean_n, 3));
			json_object_object_add(r, "peak_change_n", cj_fixed(rows[i].d_peak_n, 3));
		}
		json_object_array_add(a, r);
	}
	json_object_object_add(o, "visits", a);
	cj_print(stdout, o);
	json_object_put(o);
}

int verb_history(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct json_object *hist = NULL, *prof = NULL;
	struct hist_row *rows = NULL;
	sd_bus *bus = NULL;
	char *path = NULL;
	size_t n = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "strigilctl: history needs one patient reference "
			"('strigilctl profile list' shows them)\n%s", usage);
		return EXIT_USAGE;
	}
	r = ctl_bus_open(&bus);
	if (r)
		return r;
	r = ctl_resolve_object(bus, "profile", argv[optind], &path);
	if (!r)
		r = ctl_bus_get_all(bus, path, SG_IFACE_PROFILE, &prof);
	if (!r)
		r = ctl_bus_call_json(bus, path, SG_IFACE_PROFILE, "GetRegionHistory",
				      "reading the patient's history", &hist);
	if (r)
		goto out;
	if (read_rows(hist, &rows, &n) < 0) {
		fprintf(stderr, "strigilctl: out of memory\n");
		r = EXIT_FAIL;
		goto out;
	}
	hist_trend(rows, n);
	if (ctl.json)
		print_json(cj_str(prof, "PatientRef", argv[optind]), rows, n);
	else
		hist_print(stdout, cj_str(prof, "PatientRef", argv[optind]), rows, n);
out:
	free(rows);
	json_object_put(hist);
	json_object_put(prof);
	free(path);
	sd_bus_flush_close_unref(bus);
	return r;
}
