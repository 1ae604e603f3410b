/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patient profiles on the bus (profile.c) and the clinic network's part
 * of them (network.c: Uuid, ReviewState, ApplyRemoteProfile).
 */
#ifndef STRIGILD_PROFILE_H
#define STRIGILD_PROFILE_H

#include <systemd/sd-bus.h>

#include "storage.h"

struct daemon;

/* ---- profiles (profile.c) -------------------------------------------- */
struct profile {
	struct daemon *d;
	struct profile *next;
	char *path;
	struct sgd_profile p;
};

int profiles_load(struct daemon *d);
struct profile *profile_find_path(struct daemon *d, const char *path);
int profile_setup_bus(struct daemon *d);
/* Every live profile's path (from the database), as "ao". */
int profile_paths_append(struct daemon *d, sd_bus_message *m);
/* Manager.ListProfiles(s query, u offset, u limit) -> (ao, u total): live
 * profiles in patient_ref order, paged from the database. */
int method_manager_list_profiles(sd_bus_message *m, void *userdata, sd_bus_error *error);
void profile_free(struct profile *p);
/* Applies a{sv} keys to *p (message positioned at the array). */
int profile_apply_dict(struct daemon *d, sd_bus_message *m, struct sgd_profile *p,
		       sd_bus_error *error);
int method_create_profile(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* Manager.FindProfile(s patient_ref) -> o */
int method_find_profile(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* ---- clinic network (network.c): Uuid, ReviewState, ApplyRemoteProfile */
int network_setup_bus(struct daemon *d);

#endif
