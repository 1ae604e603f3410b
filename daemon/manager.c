/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.strigil.Strigil1.Manager at /org/strigil/Strigil1. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "hotplug.h"
#include "manager.h"
#include "profile.h"
#include "session.h"
#include "util.h"

/* The minor level of API version 1 (Manager.APIVersion): incremented by
 * every additive change (a member, a dict key, an option), so that a client
 * can tell what this daemon offers before it calls it. Each level is listed
 * in docs/dbus-api.md ("API levels") and each member added after level 1
 * carries <annotation name="org.strigil.Strigil1.Since"> in the XML;
 * tests/api checks that the three agree. */
#define SGD_API_LEVEL 3u

void manager_notify_status(struct daemon *d)
{
	struct instrument *i;
	struct session *s;
	unsigned ni = 0, ns = 0;

	for (i = d->instruments; i; i = i->next)
		ni += i->connected;
	for (s = d->sessions; s; s = s->next)
		ns += s->inst != NULL;
	sd_notifyf(0, "STATUS=%u instrument(s) connected, %u session(s) in progress", ni, ns);
}

void manager_emit_changed(struct daemon *d, const char *property)
{
	sd_bus_emit_properties_changed(d->bus, SGD_ROOT, SGD_IFACE_MANAGER, property, NULL);
	manager_notify_status(d);
}

/* What a client needs to show a condition honestly ("blocks treatment" or
 * "gentler caps") without reading the policy file itself. */
static int condition_details_append(const struct sgd_policy *p, sd_bus_message *reply)
{
	size_t i;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	for (i = 0; r >= 0 && i < p->nconditions; i++) {
		const struct sgd_condition *c = &p->conditions[i];

		r = sd_bus_message_append(reply, "a{sv}", 7,
					  "name", "s", c->name,
					  "label", "s", c->label,
					  "kind", "s", sgd_condition_kind_str(c->kind),
					  "local", "b", (int)c->local,
					  "override", "b", (int)c->override_allowed,
					  "cap_factor", "d", c->cap_factor,
					  "cap_max_n", "d", c->cap_max_n);
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int region_details_append(const struct sgd_policy *p, sd_bus_message *reply)
{
	size_t i;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	for (i = 0; r >= 0 && i < p->nregions; i++) {
		const struct sgd_region *g = &p->regions[i];

		r = sd_bus_message_append(reply, "a{sv}", 6,
					  "name", "s", g->name,
					  "label", "s", g->label,
					  "cap_n", "d", g->cap_n,
					  "max_strokes", "u", g->max_strokes,
					  "max_load_s", "d", g->max_load_s,
					  "lateral", "b", (int)g->lateral);
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* One getter per property (userdata: the daemon, plus the vtable entry's
 * offset for the ones read from a field). */

SGD_GETTER(get_version)
{
	return sd_bus_message_append(reply, "s", SG_VERSION_STRING);
}

SGD_GETTER(get_api_version)
{
	return sd_bus_message_append(reply, "u", SGD_API_LEVEL);
}

SGD_GETTER(get_instruments)
{
	const struct daemon *d = userdata;

	return object_paths_append(reply, d->instruments, instrument_step);
}

/* Sessions: the sessions in progress, like ActiveSessions (it once listed
 * every stored session, ~70 KB at 1,760, sent to every watcher at each
 * start and stop); the history is ListSessions. */
SGD_GETTER(get_active_sessions)
{
	const struct daemon *d = userdata;

	return object_paths_append(reply, d->sessions, session_step_active);
}

/* Profiles: every live profile, kept for level-1 clients; deprecated for
 * clinics with many patients (the whole list, sent to every watcher at
 * each create and delete): ListProfiles pages it. */
SGD_GETTER(get_profiles)
{
	return profile_paths_append(userdata, reply);
}

SGD_GETTER(get_storage_state)
{
	return sd_bus_message_append(reply, "s", storage_state_str(userdata));
}

SGD_GETTER(get_storage_error)
{
	const struct daemon *d = userdata;

	return sd_bus_message_append(reply, "s", d->storage.failing || d->storage.degraded ?
				     d->storage.error : "");
}

SGD_GETTER(get_storage_pending)
{
	const struct daemon *d = userdata;
	struct sgd_writer_status st = { 0 };

	if (d->writer)
		sgd_writer_status(d->writer, &st);
	return sd_bus_message_append(reply, "u", st.records);
}

SGD_GETTER(get_damaged_database)
{
	const struct daemon *d = userdata;

	return sd_bus_message_append(reply, "s", d->damaged_db ? d->damaged_db : "");
}

/* What StartSession and SetRegion accept: a lateral region with each of
 * its sides ("calf:left", "calf:right"), a midline one as it is. */
SGD_GETTER(get_regions)
{
	const struct sgd_policy *p = ((const struct daemon *)userdata)->policy;
	size_t i;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	for (i = 0; r >= 0 && i < p->nregions; i++) {
		const struct sgd_region *reg = &p->regions[i];
		char site[SGD_REGION_MAX];

		if (!reg->lateral) {
			r = sd_bus_message_append(reply, "s", reg->name);
			continue;
		}
		snprintf(site, sizeof(site), "%s:left", reg->name);
		r = sd_bus_message_append(reply, "s", site);
		snprintf(site, sizeof(site), "%s:right", reg->name);
		if (r >= 0)
			r = sd_bus_message_append(reply, "s", site);
	}
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

SGD_GETTER(get_lateral_regions)
{
	const struct sgd_policy *p = ((const struct daemon *)userdata)->policy;
	size_t i;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	for (i = 0; r >= 0 && i < p->nregions; i++)
		if (p->regions[i].lateral)
			r = sd_bus_message_append(reply, "s", p->regions[i].name);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

SGD_GETTER(get_patient_identifier_system)
{
	const struct sgd_policy *p = ((const struct daemon *)userdata)->policy;

	return sd_bus_message_append(reply, "s", p->patient_identifier_system);
}

SGD_GETTER(get_conditions)
{
	const struct sgd_policy *p = ((const struct daemon *)userdata)->policy;
	size_t i;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	for (i = 0; r >= 0 && i < p->nconditions; i++)
		r = sd_bus_message_append(reply, "s", p->conditions[i].name);
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

SGD_GETTER(get_warn_fraction)
{
	const struct sgd_policy *p = ((const struct daemon *)userdata)->policy;

	return sd_bus_message_append(reply, "d", p->warn_fraction);
}

SGD_GETTER(get_condition_details)
{
	return condition_details_append(((const struct daemon *)userdata)->policy, reply);
}

SGD_GETTER(get_region_details)
{
	return region_details_append(((const struct daemon *)userdata)->policy, reply);
}

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", get_version, 0, CONST),
	SD_BUS_PROPERTY("APIVersion", "u", get_api_version, 0, CONST),
	SD_BUS_PROPERTY("Instruments", "ao", get_instruments, 0, CHANGE),
	SD_BUS_PROPERTY("Sessions", "ao", get_active_sessions, 0, CHANGE),
	SD_BUS_PROPERTY("ActiveSessions", "ao", get_active_sessions, 0, CHANGE),
	SD_BUS_PROPERTY("Profiles", "ao", get_profiles, 0, CHANGE),
	SD_BUS_PROPERTY("Regions", "as", get_regions, 0, CONST),
	SD_BUS_PROPERTY("LateralRegions", "as", get_lateral_regions, 0, CONST),
	SD_BUS_PROPERTY("Conditions", "as", get_conditions, 0, CONST),
	SD_BUS_PROPERTY("StorageState", "s", get_storage_state, 0, CHANGE),
	SD_BUS_PROPERTY("StorageError", "s", get_storage_error, 0, CHANGE),
	SD_BUS_PROPERTY("StoragePending", "u", get_storage_pending, 0, CHANGE),
	SD_BUS_PROPERTY("StorageDropped", "t", NULL,
			offsetof(struct daemon, storage.dropped), CHANGE),
	SD_BUS_PROPERTY("DamagedDatabase", "s", get_damaged_database, 0, CONST),
	SD_BUS_METHOD_WITH_ARGS("ListSessions", SD_BUS_ARGS("u", offset, "u", limit),
				SD_BUS_RESULT("ao", sessions, "u", total), method_manager_list_sessions,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("ConditionDetails", "aa{sv}", get_condition_details, 0, CONST),
	SD_BUS_PROPERTY("RegionDetails", "aa{sv}", get_region_details, 0, CONST),
	SD_BUS_PROPERTY("WarnFraction", "d", get_warn_fraction, 0, CONST),
	SD_BUS_PROPERTY("PatientIdentifierSystem", "s", get_patient_identifier_system, 0, CONST),
	SD_BUS_METHOD_WITH_ARGS("CreateProfile", SD_BUS_ARGS("a{sv}", properties),
				SD_BUS_RESULT("o", profile), method_create_profile,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListProfiles",
				SD_BUS_ARGS("s", query, "u", offset, "u", limit),
				SD_BUS_RESULT("ao", profiles, "u", total), method_manager_list_profiles,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("FindProfile", SD_BUS_ARGS("s", patient_ref),
				SD_BUS_RESULT("o", profile), method_find_profile,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("StartSession",
				SD_BUS_ARGS("o", instrument, "o", profile, "s", region),
				SD_BUS_RESULT("o", session), method_start_session,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("StartSessionWithOptions",
				SD_BUS_ARGS("o", instrument, "o", profile, "s", region,
					    "a{sv}", options),
				SD_BUS_RESULT("o", session), method_start_session_options,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("InstrumentAdded", SD_BUS_ARGS("o", instrument), 0),
	SD_BUS_SIGNAL_WITH_ARGS("InstrumentRemoved", SD_BUS_ARGS("o", instrument), 0),
	SD_BUS_SIGNAL_WITH_ARGS("StorageStateChanged", SD_BUS_ARGS("s", state, "s", error), 0),
	SD_BUS_VTABLE_END
};

int manager_setup_bus(struct daemon *d)
{
	int r;

	r = sd_bus_add_object_manager(d->bus, NULL, SGD_ROOT);
	if (r < 0)
		return r;
	return sd_bus_add_object_vtable(d->bus, NULL, SGD_ROOT, SGD_IFACE_MANAGER,
					manager_vtable, d);
}
