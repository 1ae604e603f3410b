// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strigil.h"
#include "bus.h"
#include "ctl-json.h"
#include "strigilctl.h"

struct advice {
	const char *name;
	int exit_code;
	const char *text;
};

/* Every error strigild can return, and the bus's own, in one table. */
static const struct advice advices[] = {
	{ SG_ERROR_PREFIX "InvalidArgument", EXIT_USAGE,
	  "The daemon refused the value; correct it and run the command again." },
	{ SG_ERROR_PREFIX "Contraindicated", EXIT_FAIL,
	  "Do not treat this region. Where the clinic policy allows it, an authorized "
	  "clinician may override with 'strigilctl session start ... --override-reason TEXT'." },
	{ SG_ERROR_PREFIX "NotCalibrated", EXIT_FAIL,
	  "The instrument has never been calibrated: a technician must run "
	  "'strigilctl calibrate SERIAL' first." },
	{ SG_ERROR_PREFIX "CalibrationExpired", EXIT_FAIL,
	  "The instrument's calibration is past its due date: a technician must run "
	  "'strigilctl calibrate SERIAL'." },
	{ SG_ERROR_PREFIX "NoSuchObject", EXIT_FAIL,
	  "Check the name: 'strigilctl status', 'strigilctl profile list' and "
	  "'strigilctl session list' show what exists." },
	{ SG_ERROR_PREFIX "Busy", EXIT_FAIL,
	  "Stop the session that uses it first ('strigilctl session list' shows it), "
	  "or wait until it ends." },
	{ SG_ERROR_PREFIX "Disconnected", EXIT_FAIL,
	  "The instrument is unplugged: plug it in (check the USB cable) and try again." },
	{ SG_ERROR_PREFIX "AccessDenied", EXIT_DENIED,
	  "You are not authorized for this; ask an administrator to grant the "
	  "clinician or technician role (polkit)." },
	{ SG_ERROR_PREFIX "NotClaimed", EXIT_FAIL,
	  "The instrument must be claimed by this client first; this is a client bug, "
	  "please report it." },
	{ SG_ERROR_PREFIX "InvalidState", EXIT_FAIL,
	  "The session is not in a state that allows this; 'strigilctl session show ID' "
	  "shows its state." },
	{ SG_ERROR_PREFIX "StorageFailed", EXIT_FAIL,
	  "The daemon could not save to its database (disk full or damaged?); nothing was "
	  "recorded. Check 'journalctl -u strigild' and free disk space." },
	{ SG_ERROR_PREFIX "DeviceError", EXIT_FAIL,
	  "The instrument refused the request; unplug and re-plug it, then try again. "
	  "If it persists, the instrument needs service." },
	{ "org.freedesktop.DBus.Error.AccessDenied", EXIT_DENIED,
	  "The bus policy does not let you talk to strigild; ask an administrator to add "
	  "you to the clinic group." },
	{ "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", EXIT_DENIED,
	  "Authentication is needed; run the command from a terminal where you can "
	  "authenticate, or ask an administrator." },
	{ "org.freedesktop.DBus.Error.ServiceUnknown", EXIT_NODAEMON,
	  "strigild is not running: start it with 'systemctl start strigild'." },
	{ "org.freedesktop.DBus.Error.NameHasNoOwner", EXIT_NODAEMON,
	  "strigild is not running: start it with 'systemctl start strigild'." },
	{ "org.freedesktop.DBus.Error.NoReply", EXIT_NODAEMON,
	  "strigild did not answer; check 'systemctl status strigild'." },
	{ "org.freedesktop.DBus.Error.Timeout", EXIT_NODAEMON,
	  "strigild did not answer in time; check 'systemctl status strigild'." },
	{ "org.freedesktop.DBus.Error.UnknownObject", EXIT_FAIL,
	  "No such object: 'strigilctl status' lists instruments and sessions." },
	{ "org.freedesktop.DBus.Error.UnknownMethod", EXIT_FAIL,
	  "The daemon does not offer this: strigild and strigilctl versions differ; "
	  "update both." },
	{ "org.freedesktop.DBus.Error.InvalidArgs", EXIT_USAGE,
	  "The daemon did not accept the arguments; check them against "
	  "'strigilctl VERB --help'." },
};

const char *ctl_error_advice(const char *name, int *exit_code)
{
	for (size_t i = 0; i < sizeof(advices) / sizeof(advices[0]); i++) {
		if (name && strcmp(name, advices[i].name) == 0) {
			*exit_code = advices[i].exit_code;
			return advices[i].text;
		}
	}
	*exit_code = EXIT_FAIL;
	return NULL;
}

int ctl_bus_error(const char *what, const sd_bus_error *e, int r)
{
	int code = EXIT_FAIL;
	const char *adv = NULL;

	if (e && sd_bus_error_is_set(e)) {
		adv = ctl_error_advice(e->name, &code);
		fprintf(stderr, "strigilctl: %s failed: %s\n", what,
			e->message && *e->message ? e->message : e->name);
		if (adv)
			fprintf(stderr, "  %s\n", adv);
		else
			fprintf(stderr, "  (%s)\n", e->name);
	} else {
		fprintf(stderr, "strigilctl: %s failed: %s\n", what, strerror(r < 0 ? -r : r));
		if (r == -ECONNREFUSED || r == -ENOENT || r == -ECONNRESET || r == -ENOTCONN) {
			fprintf(stderr, "  strigild is not reachable: start it with "
				"'systemctl start strigild'.\n");
			code = EXIT_NODAEMON;
		}
	}
	return code;
}

int ctl_bus_open(sd_bus **bus)
{
	sd_bus *b = NULL;
	int r;

	if (ctl.address) {
		r = sd_bus_new(&b);
		if (r >= 0)
			r = sd_bus_set_address(b, ctl.address);
		if (r >= 0)
			r = sd_bus_set_bus_client(b, 1);
		if (r >= 0)
			r = sd_bus_start(b);
	} else if (ctl.user_bus) {
		r = sd_bus_open_user(&b);
	} else {
		r = sd_bus_open_system(&b);
	}
	if (r < 0) {
		fprintf(stderr, "strigilctl: cannot connect to the %s bus%s%s: %s\n",
			ctl.address ? "given" : ctl.user_bus ? "user" : "system",
			ctl.address ? " " : "", ctl.address ? ctl.address : "", strerror(-r));
		fprintf(stderr, "  Is D-Bus running? Check --address, or run on the clinic PC.\n");
		sd_bus_unref(b);
		return EXIT_NODAEMON;
	}
	/* polkit may ask the clinician for a password when we have a terminal. */
	sd_bus_set_allow_interactive_authorization(b, isatty(STDIN_FILENO));
	*bus = b;
	return 0;
}

double ctl_usec_to_s(int64_t usec)
{
	return usec > 0 ? (double)usec / 1e6 : NAN;
}

static struct json_object *basic_to_json(char type, const void *p)
{
	switch (type) {
	case 'y': return json_object_new_int(*(const uint8_t *)p);
	case 'b': return json_object_new_boolean(*(const int *)p);
	case 'n': return json_object_new_int(*(const int16_t *)p);
	case 'q': return json_object_new_int(*(const uint16_t *)p);
	case 'i': return json_object_new_int(*(const int32_t *)p);
	case 'h': return json_object_new_int(*(const int *)p);
	case 'u': return json_object_new_int64(*(const uint32_t *)p);
	case 'x': return json_object_new_int64(*(const int64_t *)p);
	case 't': return json_object_new_uint64(*(const uint64_t *)p);
	case 'd': {
		double d = *(const double *)p;

		/* JSON has no NaN or infinity: null says "no value". */
		return isfinite(d) ? json_object_new_double(d) : NULL;
	}
	case 's': case 'o': case 'g':
		return json_object_new_string(*(const char *const *)p);
	}
	return NULL;
}

int ctl_bus_read_json(sd_bus_message *m, struct json_object **out)
{
	char type;
	const char *contents;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENXIO;

	if (type == 'a' || type == 'v' || type == 'r' || type == 'e') {
		struct json_object *o;
		bool dict = type == 'a' && contents[0] == '{';

		r = sd_bus_message_enter_container(m, type, contents);
		if (r < 0)
			return r;
		if (type == 'v') {
			r = ctl_bus_read_json(m, out);
			if (r >= 0)
				r = sd_bus_message_exit_container(m);
			return r;
		}
		o = dict ? json_object_new_object() : json_object_new_array();
		while ((r = sd_bus_message_at_end(m, false)) == 0) {
			if (dict) {
				char etype;
				const char *econt;
				struct json_object *k = NULL, *v = NULL;

				r = sd_bus_message_peek_type(m, &etype, &econt);
				if (r >= 0)
					r = sd_bus_message_enter_container(m, 'e', econt);
				if (r >= 0)
					r = ctl_bus_read_json(m, &k);
				if (r >= 0)
					r = ctl_bus_read_json(m, &v);
				if (r >= 0)
					r = sd_bus_message_exit_container(m);
				if (r >= 0)
					json_object_object_add(o, k ? json_object_get_string(k) : "", v);
				else
					json_object_put(v);
				json_object_put(k);
			} else {
				struct json_object *v = NULL;

				r = ctl_bus_read_json(m, &v);
				if (r >= 0)
					json_object_array_add(o, v);
			}
			if (r < 0)
				break;
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
		if (r < 0) {
			json_object_put(o);
			return r;
		}
		*out = o;
		return 1;
	}

	union {
		uint8_t y; int b; int16_t n; uint16_t q; int32_t i; uint32_t u;
		int64_t x; uint64_t t; double d; const char *s;
	} v;
	r = sd_bus_message_read_basic(m, type, &v);
	if (r < 0)
		return r;
	*out = basic_to_json(type, &v);
	return 1;
}

int ctl_bus_call_json(sd_bus *bus, const char *path, const char *iface,
		      const char *method, const char *what, struct json_object **out)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, SG_BUS_NAME, path, iface, method, &e, &reply, "");
	if (r < 0) {
		r = ctl_bus_error(what, &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	r = ctl_bus_read_json(reply, out);
	sd_bus_message_unref(reply);
	if (r < 0) {
		fprintf(stderr, "strigilctl: %s: unexpected reply from strigild: %s\n", what,
			strerror(-r));
		return EXIT_FAIL;
	}
	return 0;
}

int ctl_bus_get_all(sd_bus *bus, const char *path, const char *iface,
		    struct json_object **out)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char what[256];
	int r;

	r = sd_bus_call_method(bus, SG_BUS_NAME, path, "org.freedesktop.DBus.Properties",
			       "GetAll", &e, &reply, "s", iface);
	if (r < 0) {
		snprintf(what, sizeof(what), "reading %s", path);
		r = ctl_bus_error(what, &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	r = ctl_bus_read_json(reply, out);
	sd_bus_message_unref(reply);
	if (r < 0) {
		fprintf(stderr, "strigilctl: reading %s: unexpected reply: %s\n", path,
			strerror(-r));
		return EXIT_FAIL;
	}
	return 0;
}

static int manager_list(sd_bus *bus, const char *prop, struct json_object **out)
{
	struct json_object *all = NULL, *list;
	int r = ctl_bus_get_all(bus, SG_ROOT, SG_IFACE_MANAGER, &all);

	if (r)
		return r;
	list = cj_get(all, prop);
	*out = list ? json_object_get(list) : json_object_new_array();
	json_object_put(all);
	return 0;
}

int ctl_resolve_instrument(sd_bus *bus, const char *arg, char **path)
{
	struct json_object *list = NULL;
	size_t n;
	int r;

	if (arg && arg[0] == '/') {
		*path = strdup(arg);
		return *path ? 0 : EXIT_FAIL;
	}
	r = manager_list(bus, "Instruments", &list);
	if (r)
		return r;
	n = json_object_array_length(list);
	if (!arg) {
		if (n != 1) {
			fprintf(stderr, "strigilctl: %s; name one by its serial "
				"('strigilctl status' lists them)\n",
				n ? "several instruments are known" : "no instrument is known");
			json_object_put(list);
			return n ? EXIT_USAGE : EXIT_FAIL;
		}
		*path = strdup(json_object_get_string(json_object_array_get_idx(list, 0)));
		json_object_put(list);
		return *path ? 0 : EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(list, i));
		char *serial = NULL;
		sd_bus_error e = SD_BUS_ERROR_NULL;

		r = sd_bus_get_property_string(bus, SG_BUS_NAME, p, SG_IFACE_INSTRUMENT,
					       "Serial", &e, &serial);
		sd_bus_error_free(&e);
		if (r >= 0 && strcmp(serial, arg) == 0) {
			free(serial);
			*path = strdup(p);
			json_object_put(list);
			return *path ? 0 : EXIT_FAIL;
		}
		free(serial);
	}
	json_object_put(list);
	fprintf(stderr, "strigilctl: no instrument with serial '%s'; 'strigilctl status' "
		"lists the instruments strigild knows (is it plugged in?)\n", arg);
	return EXIT_FAIL;
}

static bool is_decimal(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* "id:N" with N a canonical decimal id: N, else -1. */
static long long explicit_id(const char *arg)
{
	const char *p = arg + 3;
	long long id = 0;

	if (strncmp(arg, "id:", 3) != 0 || *p < '1' || *p > '9' || strlen(p) > 18 ||
	    !is_decimal(p))
		return -1;
	for (; *p; p++)
		id = id * 10 + (*p - '0');
	return id;
}

bool ctl_patient_ref_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= 64 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/*
 * The patient reference is the only human-facing key of a profile: "12"
 * is patient 12, never profile id 12. A database id is taken only in the
 * unmistakable forms "id:N" or the object path, never guessed from digits.
 */
static int resolve_profile(sd_bus *bus, const char *arg, char **path)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *p;
	long long id = explicit_id(arg);
	int r;

	if (id > 0)
		return asprintf(path, "%s/profile/%lld", SG_ROOT, id) < 0 ? EXIT_FAIL : 0;
	if (!ctl_patient_ref_ok(arg)) {
		fprintf(stderr, "strigilctl: '%s' is not a patient reference (1-64 characters "
			"A-Z, a-z, 0-9, '.', '_' or '-'); a profile stored with an older "
			"reference is named id:N ('strigilctl profile list' shows N)\n", arg);
		return EXIT_USAGE;
	}
	r = sd_bus_call_method(bus, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER, "FindProfile", &e,
			       &reply, "s", arg);
	if (r < 0) {
		if (sd_bus_error_has_name(&e, SG_ERROR_PREFIX "NoSuchObject"))
			fprintf(stderr, "strigilctl: no patient '%s'; 'strigilctl profile list' "
				"shows the patient references, 'strigilctl profile add %s' "
				"creates one\n", arg, arg);
		r = sd_bus_error_has_name(&e, SG_ERROR_PREFIX "NoSuchObject") ? EXIT_FAIL :
			ctl_bus_error("finding the patient", &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	r = sd_bus_message_read(reply, "o", &p);
	*path = r >= 0 ? strdup(p) : NULL;
	sd_bus_message_unref(reply);
	if (!*path) {
		fprintf(stderr, "strigilctl: unexpected reply from strigild\n");
		return EXIT_FAIL;
	}
	return 0;
}

int ctl_resolve_object(sd_bus *bus, const char *kind, const char *arg, char **path)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char want[128];
	uint64_t sid;
	long long id;
	int r;

	if (arg[0] == '/') {
		*path = strdup(arg);
		return *path ? 0 : EXIT_FAIL;
	}
	if (strcmp(kind, "profile") == 0)
		return resolve_profile(bus, arg, path);
	/* sessions have no human key: their id, plain or as id:N */
	id = is_decimal(arg) && arg[0] != '0' && strlen(arg) <= 18 ? atoll(arg) : explicit_id(arg);
	if (id <= 0) {
		fprintf(stderr, "strigilctl: '%s' is not a %s id (a number); "
			"'strigilctl %s list' shows them\n", arg, kind, kind);
		return EXIT_USAGE;
	}
	/* the history is not listed whole any more (Manager.Sessions names
	 * the sessions in progress): the path says whether it exists */
	snprintf(want, sizeof(want), "%s/%s/%lld", SG_ROOT, kind, id);
	r = sd_bus_get_property_trivial(bus, SG_BUS_NAME, want, SG_IFACE_SESSION, "Id", &e,
					't', &sid);
	sd_bus_error_free(&e);
	if (r >= 0) {
		*path = strdup(want);
		return *path ? 0 : EXIT_FAIL;
	}
	fprintf(stderr, "strigilctl: no %s '%s'; 'strigilctl %s list' shows them\n", kind,
		arg, kind);
	return EXIT_FAIL;
}

#define LIST_PAGE 500

int ctl_list_sessions(sd_bus *bus, struct json_object **out)
{
	struct json_object *all = json_object_new_array();
	uint32_t offset = 0, total = 1;

	while (offset < total) {
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		const char *p;
		uint32_t got = 0;
		int r;

		r = sd_bus_call_method(bus, SG_BUS_NAME, SG_ROOT, SG_IFACE_MANAGER, "ListSessions",
				       &e, &reply, "uu", offset, (uint32_t)LIST_PAGE);
		if (r < 0) {
			r = ctl_bus_error("listing the sessions", &e, r);
			sd_bus_error_free(&e);
			json_object_put(all);
			return r;
		}
		r = sd_bus_message_enter_container(reply, 'a', "o");
		while (r >= 0 && (r = sd_bus_message_read(reply, "o", &p)) > 0) {
			json_object_array_add(all, json_object_new_string(p));
			got++;
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_read(reply, "u", &total);
		sd_bus_message_unref(reply);
		if (r < 0) {
			fprintf(stderr, "strigilctl: listing the sessions: unexpected reply: %s\n",
				strerror(-r));
			json_object_put(all);
			return EXIT_FAIL;
		}
		if (!got)
			break;	/* sessions went away meanwhile */
		offset += got;
	}
	*out = all;
	return 0;
}

int ctl_managed_objects(sd_bus *bus, struct json_object **out)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, SG_BUS_NAME, SG_ROOT, "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", &e, &reply, "");
	if (r < 0) {
		r = ctl_bus_error("asking strigild for its objects", &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	r = ctl_bus_read_json(reply, out);
	sd_bus_message_unref(reply);
	if (r < 0) {
		fprintf(stderr, "strigilctl: unexpected reply from strigild: %s\n", strerror(-r));
		return EXIT_FAIL;
	}
	return 0;
}

struct json_object *ctl_object_props(struct json_object *objs, const char *path,
				     const char *iface)
{
	return cj_get(cj_get(objs, path), iface);
}

int ctl_append_entry(sd_bus_message *m, const char *key, const char *sig, ...)
{
	va_list ap;
	int r;

	r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append_basic(m, 's', key);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', sig);
	if (r >= 0) {
		va_start(ap, sig);
		r = sd_bus_message_appendv(m, sig, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

char *ctl_prompt(const char *prompt)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	fputs(prompt, stderr);
	fflush(stderr);
	n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	return line;
}

bool ctl_confirm(const char *question)
{
	char *a = ctl_prompt(question);
	bool yes = a && (strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0);

	free(a);
	return yes;
}

void ctl_date(double unix_s, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	if (!isfinite(unix_s) || unix_s <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	t = (time_t)unix_s;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

bool ctl_parse_double(const char *opt, const char *s, double *v)
{
	if (!sg_parse_number(s, v)) {
		fprintf(stderr, "strigilctl: %s: '%s' is not a number\n", opt, s);
		return false;
	}
	return true;
}

bool ctl_parse_uint(const char *opt, const char *s, uint32_t *v)
{
	char *end;
	unsigned long long u;

	errno = 0;
	u = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || u > UINT32_MAX) {
		fprintf(stderr, "strigilctl: %s: '%s' is not a whole number\n", opt, s);
		return false;
	}
	*v = (uint32_t)u;
	return true;
}

int ctl_bus_call_void(sd_bus *bus, const char *path, const char *iface,
		      const char *method, const char *what)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, SG_BUS_NAME, path, iface, method, &e, NULL, "");
	if (r < 0) {
		r = ctl_bus_error(what, &e, r);
		sd_bus_error_free(&e);
		return r;
	}
	return 0;
}
