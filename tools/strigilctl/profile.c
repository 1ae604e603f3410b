// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl profile add|list|show|edit|delete: patient profiles (caps,
 * conditions). The daemon validates; its sentences are shown as they are. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ctl-json.h"
#include "strigilctl.h"

static const char usage[] =
	"Usage: strigilctl profile add PATIENT_REF [FIELDS]\n"
	"       strigilctl profile list [--search TEXT] [--limit N] [--json]\n"
	"       strigilctl profile show PROFILE [--json]\n"
	"       strigilctl profile edit PROFILE FIELDS\n"
	"       strigilctl profile delete PROFILE\n"
	"PROFILE is the patient reference (digits too: '12' is patient 12); a\n"
	"profile's database id only as id:N.\n"
	"FIELDS:\n"
	"  --display-name TEXT           e.g. initials (never a full name)\n"
	"  --max-force N                 overall cap in newtons\n"
	"  --region-cap REGION=N         cap for one body region (repeatable)\n"
	"  --target-min N --target-max N target force band in newtons\n"
	"  --region-max-strokes REGION=COUNT   stroke cap per session (repeatable)\n"
	"  --region-max-seconds REGION=S       time-under-load cap (repeatable)\n"
	"  --condition NAME[,NAME...]    conditions (repeatable); replaces the list\n"
	"  --no-conditions               (edit) clear the conditions\n"
	"list: every profile by patient reference; --search TEXT keeps those whose\n"
	"reference starts with TEXT or whose display name contains it (either\n"
	"case); --limit N shows the first N.\n"
	"'strigilctl profile regions' lists the regions and conditions the clinic\n"
	"policy knows.\n";

#define MAX_MAP 64

struct map {
	const char *key[MAX_MAP];
	double val[MAX_MAP];
	unsigned n;
	bool set;
};

struct fields {
	const char *patient_ref, *display_name;
	bool has_max, has_tmin, has_tmax;
	double max_force, tmin, tmax;
	struct map caps, strokes, seconds;
	const char *cond[MAX_MAP];
	unsigned ncond;
	bool cond_set;
	const char *search;	/* list --search */
	uint32_t limit;		/* list --limit; 0 = all */
	bool has_limit;
};

static bool map_add(struct map *m, const char *opt, char *arg, bool integer)
{
	char *eq = strchr(arg, '=');
	uint32_t u;

	if (!eq || eq == arg || m->n == MAX_MAP) {
		fprintf(stderr, "strigilctl: %s: expected REGION=VALUE, got '%s'\n", opt, arg);
		return false;
	}
	*eq = '\0';
	m->key[m->n] = arg;
	if (integer) {
		if (!ctl_parse_uint(opt, eq + 1, &u))
			return false;
		m->val[m->n] = u;
	} else if (!ctl_parse_double(opt, eq + 1, &m->val[m->n])) {
		return false;
	}
	m->n++;
	m->set = true;
	return true;
}

enum {
	OPT_NAME = 0x100, OPT_MAX, OPT_CAP, OPT_TMIN, OPT_TMAX, OPT_STROKES, OPT_SECONDS,
	OPT_COND, OPT_NOCOND, OPT_SEARCH, OPT_LIMIT,
};

/* Parses FIELDS; returns 0 or an exit code. */
static int parse_fields(int argc, char **argv, struct fields *f)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "display-name", required_argument, NULL, OPT_NAME },
		{ "max-force", required_argument, NULL, OPT_MAX },
		{ "region-cap", required_argument, NULL, OPT_CAP },
		{ "target-min", required_argument, NULL, OPT_TMIN },
		{ "target-max", required_argument, NULL, OPT_TMAX },
		{ "region-max-strokes", required_argument, NULL, OPT_STROKES },
		{ "region-max-seconds", required_argument, NULL, OPT_SECONDS },
		{ "condition", required_argument, NULL, OPT_COND },
		{ "no-conditions", no_argument, NULL, OPT_NOCOND },
		{ "search", required_argument, NULL, OPT_SEARCH },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 'h': fputs(usage, stdout); return -1;
		case OPT_NAME: f->display_name = optarg; break;
		case OPT_MAX:
			if (!ctl_parse_double("--max-force", optarg, &f->max_force))
				return EXIT_USAGE;
			f->has_max = true;
			break;
		case OPT_TMIN:
			if (!ctl_parse_double("--target-min", optarg, &f->tmin))
				return EXIT_USAGE;
			f->has_tmin = true;
			break;
		case OPT_TMAX:
			if (!ctl_parse_double("--target-max", optarg, &f->tmax))
				return EXIT_USAGE;
			f->has_tmax = true;
			break;
		case OPT_CAP:
			if (!map_add(&f->caps, "--region-cap", optarg, false))
				return EXIT_USAGE;
			break;
		case OPT_STROKES:
			if (!map_add(&f->strokes, "--region-max-strokes", optarg, true))
				return EXIT_USAGE;
			break;
		case OPT_SECONDS:
			if (!map_add(&f->seconds, "--region-max-seconds", optarg, false))
				return EXIT_USAGE;
			break;
		case OPT_COND:
			f->cond_set = true;
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (f->ncond == MAX_MAP) {
					fprintf(stderr, "strigilctl: too many conditions\n");
					return EXIT_USAGE;
				}
				f->cond[f->ncond++] = tok;
			}
			break;
		case OPT_NOCOND:
			f->cond_set = true;
			f->ncond = 0;
			break;
		case OPT_SEARCH:
			f->search = optarg;
			break;
		case OPT_LIMIT:
			if (!ctl_parse_uint("--limit", optarg, &f->limit))
				return EXIT_USAGE;
			if (!f->limit) {
				fprintf(stderr, "strigilctl: --limit: give 1 or more profiles to show\n");
				return EXIT_USAGE;
			}
			f->has_limit = true;
			break;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static int append_map(sd_bus_message *m, const char *key, const struct map *map, bool integer)
{
	int r;

	if (!map->set)
		return 0;
	r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append_basic(m, 's', key);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', integer ? "a{su}" : "a{sd}");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', integer ? "{su}" : "{sd}");
	for (unsigned i = 0; r >= 0 && i < map->n; i++) {
		if (integer)
			r = sd_bus_message_append(m, "{su}", map->key[i], (uint32_t)map->val[i]);
		else
			r = sd_bus_message_append(m, "{sd}", map->key[i], map->val[i]);
	}
	for (int k = 0; r >= 0 && k < 3; k++)
		r = sd_bus_message_close_container(m);
	return r;
}

static int append_fields(sd_bus_message *m, const struct fields *f)
{
	int r = sd_bus_message_open_container(m, 'a', "{sv}");

	if (r >= 0 && f->patient_ref)
		r = ctl_append_entry(m, "patient_ref", "s", f->patient_ref);
	if (r >= 0 && f->display_name)
		r = ctl_append_entry(m, "display_name", "s", f->display_name);
	if (r >= 0 && f->has_max)
		r = ctl_append_entry(m, "max_force_n", "d", f->max_force);
	if (r >= 0 && f->has_tmin)
		r = ctl_append_entry(m, "target_min_n", "d", f->tmin);
	if (r >= 0 && f->has_tmax)
		r = ctl_append_entry(m, "target_max_n", "d", f->tmax);
	if (r >= 0)
		r = append_map(m, "region_caps_n", &f->caps, false);
	if (r >= 0)
		r = append_map(m, "region_max_strokes", &f->strokes, true);
	if (r >= 0)
		r = append_map(m, "region_max_seconds", &f->seconds, false);
	if (r >= 0 && f->cond_set) {
		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append_basic(m, 's', "conditions");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', "as");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'a', "s");
		for (unsigned i = 0; r >= 0 && i < f->ncond; i++)
			r = sd_bus_message_append_basic(m, 's', f->cond[i]);
		for (int k = 0; r >= 0 && k < 3; k++)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

static bool fields_empty(const struct fields *f)
{
	return !f->display_name && !f->has_max && !f->has_tmin && !f->has_tmax &&
	       !f->caps.set && !f->strokes.set && !f->seconds.set && !f->cond_set;
}

static void print_map(const char *title, struct json_object *m, const char *unit)
{
	bool any = false;

	printf("  %-22s", title);
	if (m && json_object_is_type(m, json_type_object)) {
		json_object_object_foreach(m, k, v) {
			printf("%s%s %g%s", any ? ", " : "", k, json_object_get_double(v), unit);
			any = true;
		}
	}
	printf("%s\n", any ? "" : "-");
}

static void print_profile(const char *path, struct json_object *p)
{
	struct json_object *cond = cj_get(p, "Conditions");
	size_t nc = cond ? json_object_array_length(cond) : 0;
	double mx = cj_num(p, "MaxForceN", 0), tmax = cj_num(p, "TargetMaxN", 0);
	char d[24];

	printf("Profile %lld (%s)\n", (long long)cj_int(p, "Id", 0), path);
	printf("  %-22s%s\n", "patient reference", cj_str(p, "PatientRef", ""));
	printf("  %-22s%s\n", "display name", *cj_str(p, "DisplayName", "") ?
	       cj_str(p, "DisplayName", "") : "-");
	if (mx > 0)
		printf("  %-22s%.1f N\n", "max force", mx);
	else
		printf("  %-22s%s\n", "max force", "clinic default");
	print_map("region caps", cj_get(p, "RegionCapsN"), " N");
	if (tmax > 0)
		printf("  %-22s%.1f-%.1f N\n", "target band", cj_num(p, "TargetMinN", 0), tmax);
	else
		printf("  %-22s-\n", "target band");
	print_map("region stroke caps", cj_get(p, "RegionMaxStrokes"), "");
	print_map("region time caps", cj_get(p, "RegionMaxSeconds"), " s");
	printf("  %-22s", "conditions");
	for (size_t i = 0; i < nc; i++)
		printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(cond, i)));
	printf("%s\n", nc ? "" : "none");
	ctl_date(ctl_usec_to_s(cj_int(p, "CreatedAt", 0)), d, sizeof(d));
	printf("  %-22s%s\n", "created", d);
	ctl_date(ctl_usec_to_s(cj_int(p, "ModifiedAt", 0)), d, sizeof(d));
	printf("  %-22s%s\n", "modified", d);
}

static int call_fields(sd_bus *bus, const char *path, const char *iface, const char *method,
		       const struct fields *f, const char *what, char **out_path)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, SG_BUS_NAME, path, iface, method);
	if (r >= 0)
		r = append_fields(m, f);
	if (r < 0) {
		fprintf(stderr, "strigilctl: cannot build the request: %s\n", strerror(-r));
		sd_bus_message_unref(m);
		return EXIT_FAIL;
	}
	r = sd_bus_call(bus, m, 0, &e, &reply);
	sd_bus_message_unref(m);
	if (r < 0) {
		r = ctl_bus_error(what, &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	if (out_path) {
		const char *p;

		r = sd_bus_message_read(reply, "o", &p);
		*out_path = r >= 0 ? strdup(p) : NULL;
	}
	sd_bus_message_unref(reply);
	return 0;
}

#define LIST_PAGE 100	/* ListProfiles page (the daemon takes up to 1000) */
#define SEARCH_MAX 127	/* the daemon's longest search text, in bytes */

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The daemon's ListProfiles match, for a daemon without it: ref starts
 * with q or name contains q, ASCII letters in either case. */
static bool profile_matches(const char *ref, const char *name, const char *q)
{
	size_t n = strlen(q), i;

	if (!n)
		return true;
	for (i = 0; i < n && ref[i] && ascii_lower(ref[i]) == ascii_lower(q[i]); i++)
		;
	if (i == n)
		return true;
	for (; *name; name++) {
		for (i = 0; i < n && name[i] && ascii_lower(name[i]) == ascii_lower(q[i]); i++)
			;
		if (i == n)
			return true;
	}
	return false;
}

/* Manager.APIVersion; 1 for a daemon without it. */
static uint32_t api_version(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint32_t v = 1;

	if (sd_bus_get_property_trivial(bus, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER,
					"APIVersion", &e, 'u', &v) < 0)
		v = 1;
	sd_bus_error_free(&e);
	return v;
}

/* Appends the properties (and "Path") of profile path to out. */
static int add_profile_row(sd_bus *bus, const char *path, struct json_object *out)
{
	struct json_object *p = NULL;
	int r = ctl_bus_get_all(bus, path, SG_IFACE_PROFILE, &p);

	if (r)
		return r;
	json_object_object_add(p, "Path", json_object_new_string(path));
	json_object_array_add(out, p);
	return 0;
}

/*
 * The profiles to list, by patient reference, at most want (0 = all):
 * Manager.ListProfiles a page at a time (API level 3); *total = how many
 * match. A page read after a profile was created or deleted meanwhile may
 * shift by one: the list is what was there while it was read.
 */
static int list_paged(sd_bus *bus, const char *q, uint32_t want, struct json_object *out,
		      uint32_t *total)
{
	uint32_t offset = 0;
	int r;

	*total = 0;
	for (;;) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		uint32_t limit = LIST_PAGE, got = 0;
		const char *p;

		if (want && want - offset < limit)
			limit = want - offset;
		r = sd_bus_call_method(bus, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER, "ListProfiles",
				       &e, &reply, "suu", q, offset, limit);
		if (r < 0) {
			r = ctl_bus_error("listing the profiles", &e, r);
			sd_bus_error_free(&e);
			return r;
		}
		r = sd_bus_message_enter_container(reply, 'a', "o");
		while (r >= 0 && (r = sd_bus_message_read(reply, "o", &p)) > 0) {
			r = add_profile_row(bus, p, out);
			if (r) {
				sd_bus_message_unref(reply);
				return r;
			}
			got++;
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_read(reply, "u", total);
		sd_bus_message_unref(reply);
		if (r < 0) {
			fprintf(stderr, "strigilctl: listing the profiles: unexpected reply: %s\n",
				strerror(-r));
			return EXIT_FAIL;
		}
		offset += got;
		if (!got || offset >= *total || (want && offset >= want))
			return 0;
	}
}

/* The same from Manager.Profiles (a daemon before API level 3): every
 * profile read, matched and sorted here. */
static int list_all(sd_bus *bus, const char *q, uint32_t want, struct json_object *out,
		    uint32_t *total)
{
	struct json_object *mgr = NULL, *paths, *all = json_object_new_array();
	size_t n, i;
	int r = ctl_bus_get_all(bus, SG_ROOT, SG_IFACE_MANAGER, &mgr);

	if (r) {
		json_object_put(all);
		return r;
	}
	paths = cj_get(mgr, "Profiles");
	n = paths ? json_object_array_length(paths) : 0;
	for (i = 0; i < n && !r; i++)
		r = add_profile_row(bus, json_object_get_string(json_object_array_get_idx(paths, i)),
				    all);
	json_object_put(mgr);
	if (r) {
		json_object_put(all);
		return r;
	}
	cj_sort_by_str(all, "PatientRef");
	*total = 0;
	for (i = 0; i < json_object_array_length(all); i++) {
		struct json_object *p = json_object_array_get_idx(all, i);

		if (!profile_matches(cj_str(p, "PatientRef", ""), cj_str(p, "DisplayName", ""), q))
			continue;
		if (!want || *total < want)
			json_object_array_add(out, json_object_get(p));
		(*total)++;
	}
	json_object_put(all);
	return 0;
}

static int profile_list(sd_bus *bus, const struct fields *f)
{
	struct json_object *out = json_object_new_array();
	const char *q = f->search ? f->search : "";
	uint32_t want = f->has_limit ? f->limit : 0, total = 0;
	size_t n;
	int r;

	if (strlen(q) > SEARCH_MAX) {
		fprintf(stderr, "strigilctl: --search: at most %d bytes; search for a shorter part "
			"of the reference or name\n", SEARCH_MAX);
		json_object_put(out);
		return EXIT_USAGE;
	}
	for (const char *c = q; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			fprintf(stderr, "strigilctl: --search: no control characters (tabs, "
				"newlines); give the text as it is written\n");
			json_object_put(out);
			return EXIT_USAGE;
		}
	r = api_version(bus) >= 3 ? list_paged(bus, q, want, out, &total) :
				    list_all(bus, q, want, out, &total);
	if (r) {
		json_object_put(out);
		return r;
	}
	n = json_object_array_length(out);
	if (ctl.json) {
		cj_print(stdout, out);
	} else {
		printf("%-6s %-20s %-16s %9s  %s\n", "ID", "PATIENT REF", "NAME", "MAX FORCE",
		       "CONDITIONS");
		for (size_t i = 0; i < n; i++) {
			struct json_object *p = json_object_array_get_idx(out, i);
			struct json_object *cond = cj_get(p, "Conditions");
			size_t nc = cond ? json_object_array_length(cond) : 0;
			double mx = cj_num(p, "MaxForceN", 0);

			char ref[96];

			/* an older reference outside the syntax: shown quoted,
			 * reached as id:N */
			if (cj_bool(p, "LegacyPatientRef", false))
				snprintf(ref, sizeof(ref), "\"%s\" (use id:%lld)",
					 cj_str(p, "PatientRef", ""), (long long)cj_int(p, "Id", 0));
			else
				snprintf(ref, sizeof(ref), "%s", cj_str(p, "PatientRef", ""));
			printf("%-6lld %-20s %-16s ", (long long)cj_int(p, "Id", 0), ref,
			       cj_str(p, "DisplayName", ""));
			if (mx > 0)
				printf("%7.1f N  ", mx);
			else
				printf("%9s  ", "default");
			for (size_t k = 0; k < nc; k++)
				printf("%s%s", k ? "," : "",
				       json_object_get_string(json_object_array_get_idx(cond, k)));
			printf("%s\n", nc ? "" : "-");
		}
		if (!n && *q)
			printf("(no profile matches '%s')\n", q);
		else if (!n)
			printf("(no profiles; add one with 'strigilctl profile add PATIENT_REF')\n");
		else if (n < total)
			printf("(%zu of %u shown; raise --limit or narrow with --search)\n", n, total);
	}
	json_object_put(out);
	return EXIT_OK;
}

static int profile_regions(sd_bus *bus)
{
	struct json_object *mgr = NULL;
	int r = ctl_bus_get_all(bus, SG_ROOT, SG_IFACE_MANAGER, &mgr);

	if (r)
		return r;
	if (ctl.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "regions", json_object_get(cj_get(mgr, "Regions")));
		json_object_object_add(o, "conditions", json_object_get(cj_get(mgr, "Conditions")));
		cj_print(stdout, o);
		json_object_put(o);
	} else {
		const char *keys[] = { "Regions", "Conditions" };

		for (int k = 0; k < 2; k++) {
			struct json_object *a = cj_get(mgr, keys[k]);
			size_t n = a ? json_object_array_length(a) : 0;

			printf("%s:\n", keys[k]);
			for (size_t i = 0; i < n; i++)
				printf("  %s\n", json_object_get_string(json_object_array_get_idx(a, i)));
		}
	}
	json_object_put(mgr);
	return EXIT_OK;
}

int verb_profile(int argc, char **argv)
{
	struct fields f = {};
	const char *sub;
	char *path = NULL;
	sd_bus *bus = NULL;
	int r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	r = parse_fields(argc - 1, argv + 1, &f);
	if (r)
		return r < 0 ? EXIT_OK : r;
	/* argv + 1 was parsed: positional arguments start at optind there. */
	argc -= 1;
	argv += 1;

	if ((f.search || f.has_limit) && strcmp(sub, "list")) {
		fprintf(stderr, "strigilctl: --search and --limit go with 'profile list'\n");
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "list") || !strcmp(sub, "regions")) {
		if (optind != argc) {
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
		if (!fields_empty(&f)) {
			fprintf(stderr, "strigilctl: profile %s takes no fields\n", sub);
			return EXIT_USAGE;
		}
	} else if (!strcmp(sub, "add") || !strcmp(sub, "show") || !strcmp(sub, "edit") ||
		   !strcmp(sub, "delete")) {
		if (optind + 1 != argc) {
			fprintf(stderr, "strigilctl: profile %s needs exactly one %s\n", sub,
				!strcmp(sub, "add") ? "PATIENT_REF" : "PROFILE");
			return EXIT_USAGE;
		}
		if ((!strcmp(sub, "show") || !strcmp(sub, "delete")) && !fields_empty(&f)) {
			fprintf(stderr, "strigilctl: profile %s takes no fields\n", sub);
			return EXIT_USAGE;
		}
		if (!strcmp(sub, "edit") && fields_empty(&f)) {
			fprintf(stderr, "strigilctl: profile edit: nothing to change; give at "
				"least one field (see 'strigilctl profile --help')\n");
			return EXIT_USAGE;
		}
	} else {
		fprintf(stderr, "strigilctl: unknown profile command '%s'\n%s", sub, usage);
		return EXIT_USAGE;
	}

	r = ctl_bus_open(&bus);
	if (r)
		return r;
	if (!strcmp(sub, "list")) {
		r = profile_list(bus, &f);
	} else if (!strcmp(sub, "regions")) {
		r = profile_regions(bus);
	} else if (!strcmp(sub, "add")) {
		f.patient_ref = argv[optind];
		r = call_fields(bus, SG_ROOT, SG_IFACE_MANAGER, "CreateProfile", &f,
				"creating the profile", &path);
		if (!r) {
			if (ctl.json) {
				struct json_object *o = json_object_new_object();

				json_object_object_add(o, "path", json_object_new_string(path));
				json_object_object_add(o, "id",
						       json_object_new_string(cj_path_tail(path)));
				cj_print(stdout, o);
				json_object_put(o);
			} else {
				printf("Created profile %s for patient %s\n", cj_path_tail(path),
				       f.patient_ref);
			}
		}
	} else {
		r = ctl_resolve_object(bus, "profile", argv[optind], &path);
		if (r)
			goto out;
		if (!strcmp(sub, "show")) {
			struct json_object *p = NULL;

			r = ctl_bus_get_all(bus, path, SG_IFACE_PROFILE, &p);
			if (!r) {
				if (ctl.json)
					cj_print(stdout, p);
				else
					print_profile(path, p);
			}
			json_object_put(p);
		} else if (!strcmp(sub, "edit")) {
			r = call_fields(bus, path, SG_IFACE_PROFILE, "Update", &f,
					"updating the profile", NULL);
			if (!r && !ctl.json)
				printf("Updated profile %s\n", cj_path_tail(path));
		} else {
			r = ctl_bus_call_void(bus, path, SG_IFACE_PROFILE, "Delete",
					      "deleting the profile");
			if (!r && !ctl.json)
				printf("Deleted profile %s\n", cj_path_tail(path));
		}
	}
out:
	free(path);
	sd_bus_flush_close_unref(bus);
	return r;
}
