/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What strigild offers the clinic network (strigil-sync, docs/network.md):
 * global ids (Profile.Uuid, Session.Uuid), the review state of a profile
 * whose offline edits were merged (Profile.ReviewState, ConfirmReview) and
 * Manager.ApplyRemoteProfile, through which strigil-sync writes a profile
 * that came from the centre. strigild stays the only writer of its
 * database; strigil-sync only reads it.
 *
 * These members live in vtables of their own on the existing interfaces
 * (sd-bus merges several vtables of one interface), so the treatment path
 * and the other objects' code are untouched. The real-time path never
 * calls in here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "manager.h"
#include "profile.h"
#include "session.h"
#include "util.h"

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower-case hex: the only form
 * stored, so that one profile has one spelling on every PC. */
static bool uuid_valid(const char *u)
{
	size_t i;

	if (strlen(u) != SGD_UUID_MAX - 1)
		return false;
	for (i = 0; u[i]; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return false;
		} else if (!((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static int session_uuid_get(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	struct daemon *d = userdata;
	char uuid[SGD_UUID_MAX] = "";
	int r;

	r = sgd_store_session_uuid(d->store, object_path_id(path, SGD_PATH_SESSION), uuid);
	if (r < 0)
		return error_storage(error, r, "read the session's uuid");
	return sd_bus_message_append(reply, "s", uuid);
}

static int profile_net_get(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	struct profile *obj = userdata;
	char uuid[SGD_UUID_MAX] = "", review[SGD_REVIEW_MAX] = "";
	int r;

	r = sgd_store_profile_sync_info(obj->d->store, obj->p.id, uuid, review);
	if (r < 0)
		return error_storage(error, r, "read the profile's uuid");
	return sd_bus_message_append(reply, "s", strcmp(property, "Uuid") == 0 ? uuid : review);
}

static int method_confirm_review(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct profile *obj = userdata;
	struct daemon *d = obj->d;
	int64_t now = (int64_t)now_realtime_usec();
	int r;

	r = sgd_store_profile_set_review(d->store, obj->p.id, "", now);
	if (r < 0) {
		log_err("storage: confirm review: %s", sgd_store_errmsg(d->store));
		return error_storage(error, r, "confirm the review");
	}
	obj->p.updated_us = now;
	log_info("profile %" PRId64 ": merged profile confirmed by a clinician", obj->p.id);
	sd_bus_emit_properties_changed(d->bus, obj->path, SGD_IFACE_PROFILE, "ReviewState",
				       "ModifiedAt", NULL);
	return sd_bus_reply_method_return(m, NULL);
}

/* Reads the options of ApplyRemoteProfile: review (s), delete (b). */
static int read_apply_options(sd_bus_message *m, const char **review, int *del,
			      sd_bus_error *error)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "review") == 0)
			r = sd_bus_message_read(m, "v", "s", review);
		else if (strcmp(key, "delete") == 0)
			r = sd_bus_message_read(m, "v", "b", del);
		else
			return error_invalid(error, "Unknown option '%s' (known: review, delete).", key);
		if (r < 0)
			return error_invalid(error, "Option '%s' has the wrong type.", key);
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (strcmp(*review, "") != 0 && strcmp(*review, SGD_REVIEW_MERGED) != 0)
		return error_invalid(error, "Review state must be \"\" or \"merged\".");
	return 0;
}

static struct profile *cached_profile(struct daemon *d, int64_t id)
{
	struct profile *p;

	for (p = d->profiles; p; p = p->next)
		if (p->p.id == id)
			return p;
	return NULL;
}

static int apply_remote_delete(sd_bus_message *m, struct daemon *d, const char *uuid,
			       sd_bus_error *error)
{
	struct profile **pp, *obj;
	struct session *s;
	bool deleted = false;
	int64_t id = 0;
	char *path = NULL;
	int r;

	r = sgd_store_profile_by_uuid(d->store, uuid, &id, &deleted);
	if (r == -ENOENT || (r >= 0 && deleted))
		return sd_bus_reply_method_return(m, "o", "/");	/* nothing to do */
	if (r < 0)
		return error_storage(error, r, "find the profile");
	for (s = d->sessions; s; s = s->next)
		if (s->inst && s->rec.profile_id == id)
			return sd_bus_error_setf(error, SGD_ERR_BUSY,
						 "Profile is used by the session in progress %s.",
						 s->path);
	r = sgd_store_profile_delete(d->store, id, (int64_t)now_realtime_usec());
	if (r < 0)
		return error_storage(error, r, "delete the profile");
	if (asprintf(&path, SGD_PATH_PROFILE "/%" PRId64, id) < 0)
		return -ENOMEM;
	r = sd_bus_reply_method_return(m, "o", path);
	sd_bus_emit_object_removed(d->bus, path);
	obj = cached_profile(d, id);
	for (pp = &d->profiles; obj && *pp; pp = &(*pp)->next)
		if (*pp == obj) {
			*pp = obj->next;
			profile_free(obj);
			break;
		}
	log_info("profile %" PRId64 " deleted by the clinic network (%s)", id, uuid);
	manager_emit_changed(d, "Profiles");
	free(path);
	return r;
}

static int method_apply_remote_profile(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct daemon *d = userdata;
	struct sgd_profile *p = NULL;
	const char *uuid, *review = "";
	struct profile *obj;
	bool created = false;
	int del = 0, r;
	char *path = NULL;

	r = sd_bus_message_read(m, "s", &uuid);
	if (r < 0)
		return r;
	if (!uuid_valid(uuid))
		return error_invalid(error, "'%s' is not a profile uuid (36 lower-case characters).",
				     uuid);
	/* options come after the properties: skip these, read them, rewind */
	r = sd_bus_message_skip(m, "a{sv}");
	if (r < 0)
		return error_malformed(error, r);
	r = read_apply_options(m, &review, &del, error);
	if (r < 0)
		return error_malformed(error, r);
	if (del)
		return apply_remote_delete(m, d, uuid, error);
	r = sd_bus_message_rewind(m, true);
	if (r >= 0)
		r = sd_bus_message_skip(m, "s");
	if (r < 0)
		return error_malformed(error, r);

	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	sgd_profile_init(p);
	r = profile_apply_dict(d, m, p, error);
	if (r < 0)
		goto out;
	if (!p->patient_ref[0]) {
		r = error_invalid(error, "A remote profile needs its patient_ref.");
		goto out;
	}
	r = sgd_store_profile_put_remote(d->store, uuid, p, review,
					 (int64_t)now_realtime_usec(), &created);
	if (r == -EEXIST) {
		r = sd_bus_error_setf(error, SGD_ERR_INVALID_ARGUMENT,
				      "Another profile of this PC already uses patient reference %s.",
				      p->patient_ref);
		goto out;
	}
	if (r < 0) {
		log_err("storage: apply remote profile: %s", sgd_store_errmsg(d->store));
		r = error_storage(error, r, "store the profile");
		goto out;
	}
	if (asprintf(&path, SGD_PATH_PROFILE "/%" PRId64, p->id) < 0) {
		r = -ENOMEM;
		goto out;
	}
	obj = cached_profile(d, p->id);
	if (obj)	/* the cached copy follows the row just written */
		(void)sgd_store_profile_get(d->store, p->id, &obj->p);
	log_info("profile %" PRId64 " %s by the clinic network (%s%s)", p->id,
		 created ? "created" : "updated", uuid, review[0] ? ", merged: review" : "");
	r = sd_bus_reply_method_return(m, "o", path);
	if (created) {
		sd_bus_emit_object_added(d->bus, path);
		manager_emit_changed(d, "Profiles");
	} else {
		sd_bus_emit_properties_changed(d->bus, path, SGD_IFACE_PROFILE, "PatientRef",
					       "DisplayName", "MaxForceN", "RegionCapsN",
					       "TargetMinN", "TargetMaxN", "MaxStrokes",
					       "MaxSecondsUnderLoad", "RegionMaxStrokes",
					       "RegionMaxSeconds", "Conditions", "ModifiedAt",
					       "ReviewState", NULL);
	}
out:
	free(path);
	free(p);
	return r;
}

#define CONST SD_BUS_VTABLE_PROPERTY_CONST
#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable manager_net_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("ApplyRemoteProfile",
				SD_BUS_ARGS("s", uuid, "a{sv}", properties, "a{sv}", options),
				SD_BUS_RESULT("o", profile), method_apply_remote_profile,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static const sd_bus_vtable profile_net_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Uuid", "s", profile_net_get, 0, CONST),
	SD_BUS_PROPERTY("ReviewState", "s", profile_net_get, 0, CHANGE),
	SD_BUS_METHOD_WITH_ARGS("ConfirmReview", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_confirm_review, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static const sd_bus_vtable session_net_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Uuid", "s", session_uuid_get, 0, CONST),
	SD_BUS_VTABLE_END
};

static int profile_net_find(sd_bus *bus, const char *path, const char *interface,
			    void *userdata, void **found, sd_bus_error *error)
{
	struct profile *p = profile_find_path(userdata, path);

	if (!p)
		return 0;
	*found = p;
	return 1;
}

static int session_net_find(sd_bus *bus, const char *path, const char *interface,
			    void *userdata, void **found, sd_bus_error *error)
{
	struct daemon *d = userdata;
	char uuid[SGD_UUID_MAX];
	int64_t id = object_path_id(path, SGD_PATH_SESSION);

	if (id <= 0 || sgd_store_session_uuid(d->store, id, uuid) < 0)
		return 0;
	*found = d;
	return 1;
}

int network_setup_bus(struct daemon *d)
{
	int r;

	r = sd_bus_add_object_vtable(d->bus, NULL, SGD_ROOT, SGD_IFACE_MANAGER,
				     manager_net_vtable, d);
	if (r >= 0)
		r = sd_bus_add_fallback_vtable(d->bus, NULL, SGD_PATH_PROFILE, SGD_IFACE_PROFILE,
					       profile_net_vtable, profile_net_find, d);
	if (r >= 0)
		r = sd_bus_add_fallback_vtable(d->bus, NULL, SGD_PATH_SESSION, SGD_IFACE_SESSION,
					       session_net_vtable, session_net_find, d);
	return r;
}
