/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patient profiles: org.strigil.Strigil1.Profile objects backed by the
 * store. a{sv} input is decoded into a copy, validated by the rules module
 * against the clinic policy, stored, and only then made visible: bad input
 * changes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "manager.h"
#include "profile.h"
#include "session.h"
#include "util.h"

/*
 * Like sessions, profiles are not all kept in memory: a clinic has
 * thousands of patients, and a profile object is about 8 KB (its region
 * caps and conditions arrays). The list holds at most PROFILE_CACHE_MAX
 * recently used ones; any other live profile is loaded from the database
 * when its path is named (profile_find_path). A session keeps its own
 * snapshot of the profile, never a pointer into this list.
 */
#define PROFILE_CACHE_MAX 32

static void profiles_trim(struct daemon *d, const struct profile *keep)
{
	struct profile **pp, *p;
	unsigned n = 0;

	for (p = d->profiles; p; p = p->next)
		n++;
	for (pp = &d->profiles; *pp && n > PROFILE_CACHE_MAX; ) {
		p = *pp;
		if (p == keep) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		profile_free(p);
		n--;
	}
}

static int profile_new(struct daemon *d, const struct sgd_profile *sp, struct profile **ret)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (asprintf(&p->path, SGD_PATH_PROFILE "/%" PRId64, sp->id) < 0) {
		free(p);
		return -ENOMEM;
	}
	p->d = d;
	p->p = *sp;
	/* keep the list ordered by id: append */
	{
		struct profile **pp = &d->profiles;

		while (*pp)
			pp = &(*pp)->next;
		*pp = p;
	}
	profiles_trim(d, p);
	*ret = p;
	return 0;
}

void profile_free(struct profile *p)
{
	free(p->path);
	free(p);
}

struct profile *profile_find_path(struct daemon *d, const char *path)
{
	int64_t id = object_path_id(path, SGD_PATH_PROFILE);
	struct sgd_profile sp;
	struct profile *p;

	for (p = d->profiles; p; p = p->next)
		if (strcmp(p->path, path) == 0)
			return p;
	/* not in memory: a live profile of the database (deleted ones are
	 * not found), which may push the least recently loaded one out */
	if (id <= 0 || sgd_store_profile_get(d->store, id, &sp) < 0 ||
	    profile_new(d, &sp, &p) < 0)
		return NULL;
	return p;
}

int profiles_load(struct daemon *d)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int r;

	/* nothing is loaded: this checks that the profiles can be listed */
	r = sgd_store_profile_ids(d->store, &ids, &n);
	if (r < 0) {
		log_err("cannot list profiles: %s", sgd_store_errmsg(d->store));
		return r;
	}
	free(ids);
	log_info("%zu stored profile(s), served from the database", n);
	return 0;
}

int profile_paths_append(struct daemon *d, sd_bus_message *m)
{
	return stored_paths(d->store, sgd_store_profile_ids, SGD_PATH_PROFILE, m, NULL);
}

/* ---- a{sv} decoding ----------------------------------------------------- */

static int bad_type(sd_bus_error *error, const char *key, const char *want)
{
	return error_invalid(error, "Profile key '%s' must be of type %s.", key, want);
}

static struct sgd_region_cap *region_entry(struct sgd_profile *p, const char *region)
{
	size_t i;

	for (i = 0; i < p->nregion_caps; i++)
		if (strcmp(p->region_caps[i].region, region) == 0)
			return &p->region_caps[i];
	return NULL;
}

enum region_field { RF_CAP, RF_STROKES, RF_SECONDS };

/* Replaces one field of every region entry by the map in the message. */
static int apply_region_map(struct sgd_profile *p, sd_bus_message *m, const char *key,
			    enum region_field f, sd_bus_error *error)
{
	const char *sig = f == RF_STROKES ? "a{su}" : "a{sd}";
	const char *entry = f == RF_STROKES ? "su" : "sd";
	char msg[256];
	size_t i;
	int r;

	r = sd_bus_message_enter_container(m, 'v', sig);
	if (r < 0)
		return bad_type(error, key, sig);
	r = sd_bus_message_enter_container(m, 'a', sig + 1);
	if (r < 0)
		return r;
	for (i = 0; i < p->nregion_caps; i++) {
		if (f == RF_CAP)
			p->region_caps[i].cap_n = 0;
		else if (f == RF_STROKES)
			p->region_caps[i].max_strokes = 0;
		else
			p->region_caps[i].max_load_s = 0;
	}
	while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
		struct sgd_region_cap c = { 0 }, *old;
		const char *region;
		double dv = 0;
		uint32_t uv = 0;
		enum sgd_profile_error pe;

		if (f == RF_STROKES)
			r = sd_bus_message_read(m, entry, &region, &uv);
		else
			r = sd_bus_message_read(m, entry, &region, &dv);
		if (r < 0)
			return r;
		if (strlen(region) >= sizeof(c.region))
			return error_invalid(error, "Region name in '%s' is too long.", key);
		old = region_entry(p, region);
		if (old)
			c = *old;
		else
			snprintf(c.region, sizeof(c.region), "%s", region);
		if (f == RF_CAP)
			c.cap_n = dv;
		else if (f == RF_STROKES)
			c.max_strokes = uv;
		else
			c.max_load_s = dv;
		pe = sgd_profile_set_region_cap(p, &c, msg, sizeof(msg));
		if (pe != SGD_PROFILE_OK)
			return error_invalid(error, "%s", msg);
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int read_variant(sd_bus_message *m, const char *key, char type, void *out,
			sd_bus_error *error)
{
	char sig[2] = { type, 0 };
	int r;

	r = sd_bus_message_enter_container(m, 'v', sig);
	if (r < 0)
		return bad_type(error, key, sig);
	r = sd_bus_message_read_basic(m, type, out);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int apply_dict(struct daemon *d, sd_bus_message *m, struct sgd_profile *p,
		      sd_bus_error *error);

int profile_apply_dict(struct daemon *d, sd_bus_message *m, struct sgd_profile *p,
		       sd_bus_error *error)
{
	int r = apply_dict(d, m, p, error);

	return r < 0 ? error_malformed(error, r) : r;
}

static int apply_dict(struct daemon *d, sd_bus_message *m, struct sgd_profile *p,
		      sd_bus_error *error)
{
	enum sgd_profile_error pe = SGD_PROFILE_OK;
	char msg[256] = "";
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *s;
		double v;
		uint32_t u;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "patient_ref") == 0) {
			r = read_variant(m, key, 's', &s, error);
			if (r >= 0)
				pe = sgd_profile_set_patient_ref(p, s, msg, sizeof(msg));
		} else if (strcmp(key, "display_name") == 0) {
			r = read_variant(m, key, 's', &s, error);
			if (r >= 0)
				pe = sgd_profile_set_display_name(p, s, msg, sizeof(msg));
		} else if (strcmp(key, "max_force_n") == 0) {
			r = read_variant(m, key, 'd', &v, error);
			p->max_force_n = v;
		} else if (strcmp(key, "target_min_n") == 0) {
			r = read_variant(m, key, 'd', &v, error);
			p->target_low_n = v;
		} else if (strcmp(key, "target_max_n") == 0) {
			r = read_variant(m, key, 'd', &v, error);
			p->target_high_n = v;
		} else if (strcmp(key, "max_strokes") == 0) {
			r = read_variant(m, key, 'u', &u, error);
			p->max_strokes = u;
		} else if (strcmp(key, "max_load_s") == 0) {
			r = read_variant(m, key, 'd', &v, error);
			p->max_load_s = v;
		} else if (strcmp(key, "region_caps_n") == 0) {
			r = apply_region_map(p, m, key, RF_CAP, error);
		} else if (strcmp(key, "region_max_strokes") == 0) {
			r = apply_region_map(p, m, key, RF_STROKES, error);
		} else if (strcmp(key, "region_max_seconds") == 0) {
			r = apply_region_map(p, m, key, RF_SECONDS, error);
		} else if (strcmp(key, "conditions") == 0) {
			r = sd_bus_message_enter_container(m, 'v', "as");
			if (r < 0)
				return bad_type(error, key, "as");
			r = sd_bus_message_enter_container(m, 'a', "s");
			if (r < 0)
				return r;
			p->nconditions = 0;
			while (pe == SGD_PROFILE_OK &&
			       (r = sd_bus_message_read(m, "s", &s)) > 0)
				pe = sgd_profile_add_condition(p, s, msg, sizeof(msg));
			if (r < 0)
				return r;
			if (pe == SGD_PROFILE_OK) {
				r = sd_bus_message_exit_container(m);
				if (r >= 0)
					r = sd_bus_message_exit_container(m);
			}
		} else {
			return error_invalid(error,
				"Unknown profile key '%s' (known: patient_ref, display_name, max_force_n, "
				"target_min_n, target_max_n, max_strokes, max_load_s, region_caps_n, "
				"region_max_strokes, region_max_seconds, conditions).", key);
		}
		if (r < 0)
			return r;
		if (pe != SGD_PROFILE_OK)
			return error_invalid(error, "%s", msg);
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	/* Drop region entries that no longer set anything. */
	{
		size_t i, k = 0;

		for (i = 0; i < p->nregion_caps; i++) {
			const struct sgd_region_cap *c = &p->region_caps[i];

			if (c->cap_n != 0 || c->max_strokes || c->max_load_s != 0)
				p->region_caps[k++] = *c;
		}
		p->nregion_caps = k;
	}
	pe = sgd_profile_validate(d->policy, p, msg, sizeof(msg));
	if (pe != SGD_PROFILE_OK)
		return error_invalid(error, "%s", msg);
	return 0;
}

static int store_error(struct daemon *d, sd_bus_error *error, int r, const char *what)
{
	if (r == -EEXIST)
		return sd_bus_error_setf(error, SGD_ERR_INVALID_ARGUMENT,
					 "Another profile already uses that patient reference.");
	log_err("storage: %s: %s", what, sgd_store_errmsg(d->store));
	return error_storage(error, r, what);
}

int method_create_profile(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct daemon *d = userdata;
	struct sgd_profile *p = NULL;
	struct profile *obj;
	int r;

	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	sgd_profile_init(p);
	r = profile_apply_dict(d, m, p, error);
	if (r < 0)
		goto out;
	if (!p->patient_ref[0]) {
		r = error_invalid(error, "A profile needs a patient_ref (a pseudonymous reference, never a name).");
		goto out;
	}
	r = sgd_store_profile_create(d->store, p, (int64_t)now_realtime_usec());
	if (r < 0) {
		r = store_error(d, error, r, "create the profile");
		goto out;
	}
	r = profile_new(d, p, &obj);
	if (r < 0)
		goto out;
	log_info("profile %" PRId64 " created (%s)", p->id, p->patient_ref);
	sd_bus_emit_object_added(d->bus, obj->path);
	manager_emit_changed(d, "Profiles");
	r = sd_bus_reply_method_return(m, "o", obj->path);
out:
	free(p);
	return r;
}

/*
 * Manager.FindProfile: the patient reference is the only human-facing key.
 * A reference is looked up as text, byte for byte: "12" is patient "12",
 * never profile id 12 (ids are reached by object path only). A string that
 * is not a reference is refused rather than guessed at; profiles stored
 * before the syntax was enforced are reached by their path.
 */
int method_find_profile(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct daemon *d = userdata;
	const char *ref;
	struct profile *obj;
	char path[sizeof(SGD_PATH_PROFILE) + 24];
	int64_t id = 0;
	int r;

	r = sd_bus_message_read(m, "s", &ref);
	if (r < 0)
		return r;
	if (!sgd_patient_ref_valid(ref))
		return error_invalid(error, "'%.*s' is not a patient reference (1-%d characters "
				     "A-Z, a-z, 0-9, '.', '_' or '-'); a profile stored with an "
				     "older reference is reached by its object path.",
				     SGD_PATIENT_REF_LEN + 1, ref, SGD_PATIENT_REF_LEN);
	r = sgd_store_profile_find_ref(d->store, ref, &id);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, SGD_ERR_NO_SUCH_OBJECT,
					 "No profile has the patient reference '%s'.", ref);
	if (r < 0)
		return store_error(d, error, r, "find the profile");
	snprintf(path, sizeof(path), SGD_PATH_PROFILE "/%" PRId64, id);
	obj = profile_find_path(d, path);
	if (!obj)
		return sd_bus_error_setf(error, SGD_ERR_NO_SUCH_OBJECT,
					 "No profile has the patient reference '%s'.", ref);
	return sd_bus_reply_method_return(m, "o", obj->path);
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct profile *obj = userdata;
	struct daemon *d = obj->d;
	struct sgd_profile *p = malloc(sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	*p = obj->p;
	r = profile_apply_dict(d, m, p, error);
	if (r < 0)
		goto out;
	r = sgd_store_profile_update(d->store, p, (int64_t)now_realtime_usec());
	if (r < 0) {
		r = store_error(d, error, r, "update the profile");
		goto out;
	}
	obj->p = *p;
	sd_bus_emit_properties_changed(d->bus, obj->path, SGD_IFACE_PROFILE, "PatientRef",
				       "LegacyPatientRef", "DisplayName", "MaxForceN", "RegionCapsN", "TargetMinN",
				       "TargetMaxN", "MaxStrokes", "MaxSecondsUnderLoad",
				       "RegionMaxStrokes", "RegionMaxSeconds", "Conditions",
				       "ModifiedAt", NULL);
	r = sd_bus_reply_method_return(m, NULL);
out:
	free(p);
	return r;
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct profile *obj = userdata;
	struct daemon *d = obj->d;
	struct profile **pp;
	struct session *s;
	int r;

	for (s = d->sessions; s; s = s->next)
		if (s->inst && s->rec.profile_id == obj->p.id)
			return sd_bus_error_setf(error, SGD_ERR_BUSY,
						 "Profile is used by the session in progress %s; stop it first.",
						 s->path);
	r = sgd_store_profile_delete(d->store, obj->p.id, (int64_t)now_realtime_usec());
	if (r < 0)
		return store_error(d, error, r, "delete the profile");
	r = sd_bus_reply_method_return(m, NULL);
	sd_bus_emit_object_removed(d->bus, obj->path);
	for (pp = &d->profiles; *pp; pp = &(*pp)->next)
		if (*pp == obj) {
			*pp = obj->next;
			break;
		}
	log_info("profile %" PRId64 " deleted", obj->p.id);
	profile_free(obj);
	manager_emit_changed(d, "Profiles");
	return r;
}

/* ---- history across visits ---------------------------------------------- */

#define LIST_SESSIONS_MAX 1000	/* one page at most; page with offset */

/* ListSessions(u offset, u limit) -> (ao sessions, u total): newest first,
 * one page read from SQLite (a patient's history is never loaded whole). */
static int method_list_sessions(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct profile *obj = userdata;
	struct daemon *d = obj->d;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int64_t *ids = NULL;
	size_t n = 0, i;
	uint32_t offset, limit, total = 0;
	int r;

	r = sd_bus_message_read(m, "uu", &offset, &limit);
	if (r < 0)
		return r;
	if (limit > LIST_SESSIONS_MAX)
		return error_invalid(error, "At most %d sessions per page (limit %u); page "
				     "with the offset.", LIST_SESSIONS_MAX, limit);
	r = sgd_store_profile_sessions(d->store, obj->p.id, offset, limit, &ids, &n, &total);
	if (r < 0)
		return store_error(d, error, r, "list the sessions");
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "o");
	for (i = 0; r >= 0 && i < n; i++) {
		char path[sizeof(SGD_PATH_SESSION) + 24];

		snprintf(path, sizeof(path), SGD_PATH_SESSION "/%" PRId64, ids[i]);
		r = sd_bus_message_append(reply, "o", path);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "u", total);
	free(ids);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

/* GetRegionHistory() -> aa{sv}: per (session, region:side) aggregates of
 * the patient's strokes, newest session first (kept by the database with
 * every stroke: reading costs the visits, not the strokes). */
static int method_get_region_history(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct profile *obj = userdata;
	struct daemon *d = obj->d;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct sgd_region_hist *h = NULL;
	size_t n = 0, i;
	int r;

	r = sgd_store_region_history(d->store, obj->p.id, &h, &n);
	if (r < 0)
		return store_error(d, error, r, "read the history");
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	for (i = 0; r >= 0 && i < n; i++) {
		char path[sizeof(SGD_PATH_SESSION) + 24];

		snprintf(path, sizeof(path), SGD_PATH_SESSION "/%" PRId64, h[i].session_id);
		r = sd_bus_message_append(reply, "a{sv}", 9,
					  "session", "o", path,
					  "started_us", "t", (uint64_t)h[i].started_us,
					  "region", "s", h[i].region,
					  "side", "s", sgd_side_str(h[i].side),
					  "strokes", "u", h[i].strokes,
					  "peak_n", "d", h[i].peak_n,
					  "mean_n", "d", h[i].mean_n,
					  "impulse_ns", "d", h[i].impulse_ns,
					  "violations", "u", h[i].violations);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	free(h);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int append_region_map(sd_bus_message *reply, const struct sgd_profile *p,
			     enum region_field f)
{
	const char *sig = f == RF_STROKES ? "{su}" : "{sd}";
	size_t i;
	int r;

	r = sd_bus_message_open_container(reply, 'a', sig);
	for (i = 0; r >= 0 && i < p->nregion_caps; i++) {
		const struct sgd_region_cap *c = &p->region_caps[i];

		if (f == RF_CAP && c->cap_n > 0)
			r = sd_bus_message_append(reply, "{sd}", c->region, c->cap_n);
		else if (f == RF_STROKES && c->max_strokes)
			r = sd_bus_message_append(reply, "{su}", c->region, c->max_strokes);
		else if (f == RF_SECONDS && c->max_load_s > 0)
			r = sd_bus_message_append(reply, "{sd}", c->region, c->max_load_s);
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* One getter per computed property; the others are read by offset
 * (sd-bus's built-in getters, prop_get_chars for a char array). */

SGD_GETTER(get_legacy_patient_ref)
{
	const struct profile *obj = userdata;

	return sd_bus_message_append(reply, "b", !sgd_patient_ref_valid(obj->p.patient_ref));
}

SGD_GETTER(get_region_caps)
{
	return append_region_map(reply, &((const struct profile *)userdata)->p, RF_CAP);
}

SGD_GETTER(get_region_max_strokes)
{
	return append_region_map(reply, &((const struct profile *)userdata)->p, RF_STROKES);
}

SGD_GETTER(get_region_max_seconds)
{
	return append_region_map(reply, &((const struct profile *)userdata)->p, RF_SECONDS);
}

SGD_GETTER(get_conditions)
{
	const struct sgd_profile *p = &((const struct profile *)userdata)->p;
	char buf[SGD_NAME_MAX + SGD_REGION_MAX + 2];
	size_t i;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	for (i = 0; r >= 0 && i < p->nconditions; i++)
		r = sd_bus_message_append(reply, "s",
			sgd_profile_condition_str(&p->conditions[i], buf, sizeof(buf)));
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST
/* a property computed by a getter, one read from a field of the profile */
#define P(name, sig, get, flags) SD_BUS_PROPERTY(name, sig, get, 0, flags)
#define F(name, sig, get, field, flags) \
	SD_BUS_PROPERTY(name, sig, get, offsetof(struct profile, p.field), flags)

static const sd_bus_vtable profile_vtable[] = {
	SD_BUS_VTABLE_START(0),
	F("Id", "t", NULL, id, CONST),
	F("PatientRef", "s", prop_get_chars, patient_ref, CHANGE),
	P("LegacyPatientRef", "b", get_legacy_patient_ref, CHANGE),
	F("DisplayName", "s", prop_get_chars, display_name, CHANGE),
	F("MaxForceN", "d", NULL, max_force_n, CHANGE),
	P("RegionCapsN", "a{sd}", get_region_caps, CHANGE),
	F("TargetMinN", "d", NULL, target_low_n, CHANGE),
	F("TargetMaxN", "d", NULL, target_high_n, CHANGE),
	F("MaxStrokes", "u", NULL, max_strokes, CHANGE),
	F("MaxSecondsUnderLoad", "d", NULL, max_load_s, CHANGE),
	P("RegionMaxStrokes", "a{su}", get_region_max_strokes, CHANGE),
	P("RegionMaxSeconds", "a{sd}", get_region_max_seconds, CHANGE),
	P("Conditions", "as", get_conditions, CHANGE),
	F("CreatedAt", "t", NULL, created_us, CONST),
	F("ModifiedAt", "t", NULL, updated_us, CHANGE),
	SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", properties), SD_BUS_NO_RESULT,
				method_update, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListSessions", SD_BUS_ARGS("u", offset, "u", limit),
				SD_BUS_RESULT("ao", sessions, "u", total), method_list_sessions,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetRegionHistory", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", history), method_get_region_history,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int profile_find(sd_bus *bus, const char *path, const char *interface,
			void *userdata, void **found, sd_bus_error *error)
{
	struct profile *p = profile_find_path(userdata, path);

	if (!p)
		return 0;
	*found = p;
	return 1;
}

/*
 * No profile is enumerated: GetManagedObjects names only live objects
 * (instruments, sessions in progress). A clinic has thousands of patients,
 * each with all its properties in the reply (5,001 profiles took the event
 * loop, which carries the alarms, for every call). A profile stays
 * reachable by its path (profile_find), FindProfile and ListProfiles.
 */
static int profile_enumerate(sd_bus *bus, const char *prefix, void *userdata,
			     char ***nodes, sd_bus_error *error)
{
	*nodes = NULL;
	return 0;
}

#define LIST_PROFILES_MAX 1000	/* one page: about 40 KB of paths */

int method_manager_list_profiles(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct daemon *d = userdata;
	uint32_t offset, limit, total = 0;
	const char *query;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int r;

	r = sd_bus_message_read(m, "suu", &query, &offset, &limit);
	if (r < 0)
		return error_malformed(error, r);
	if (limit == 0 || limit > LIST_PROFILES_MAX)
		return error_invalid(error, "limit must be 1 to %d profiles per page.",
				     LIST_PROFILES_MAX);
	if (!sgd_profile_query_valid(query))
		return error_invalid(error, "The search text must be at most %d bytes, without "
				     "control characters.", SGD_PROFILE_QUERY_LEN);
	r = sgd_store_profile_page(d->store, query, offset, limit, &ids, &n, &total);
	if (r < 0)
		return store_error(d, error, r, "list the profiles");
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "o");
	for (i = 0; r >= 0 && i < n; i++) {
		char path[sizeof(SGD_PATH_PROFILE) + 24];

		snprintf(path, sizeof(path), SGD_PATH_PROFILE "/%" PRId64, ids[i]);
		r = sd_bus_message_append(reply, "o", path);
	}
	free(ids);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "u", total);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

int profile_setup_bus(struct daemon *d)
{
	int r;

	r = sd_bus_add_fallback_vtable(d->bus, NULL, SGD_PATH_PROFILE, SGD_IFACE_PROFILE,
				       profile_vtable, profile_find, d);
	if (r < 0)
		return r;
	return sd_bus_add_node_enumerator(d->bus, NULL, SGD_PATH_PROFILE, profile_enumerate, d);
}
