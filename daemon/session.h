/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions (session.c, the bus glue and the records' way to storage;
 * session-core.c, the domain).
 */
#ifndef STRIGILD_SESSION_H
#define STRIGILD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "strigil.h"
#include "session-core.h"
#include "storage.h"

struct daemon;
struct instrument;

/* ---- sessions (session.c) -------------------------------------------- */
struct session {
	struct daemon *d;
	struct session *next;
	char *path;
	char *instrument_path;
	char *profile_path;
	struct instrument *inst;	/* NULL once finished */
	struct sgd_session rec;		/* storage view */
	enum session_state state;
	/* Only while live (finished sessions stay small in memory): */
	struct sgd_limits *limits;	/* for the current region */
	struct sgd_profile *profile;	/* snapshot at start */
	uint64_t paused_samples;	/* engine gap to declare on resume */
	uint64_t lost_samples;
	struct session_caps_sent caps_sent;
	struct session_extra *extra;	/* session.c */
};

int sessions_load(struct daemon *d);
struct session *session_find_path(struct daemon *d, const char *path);
int session_setup_bus(struct daemon *d);
/* The sessions in progress (running, paused, disconnected), for the
 * Manager's Sessions/ActiveSessions and the node enumerator. */
const char *session_step_active(const void *obj, const void **next);
/* A clean stop: every session in progress ends as interrupted, stored. */
void session_end_all(struct daemon *d);
void session_free(struct session *s);
int method_start_session(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_start_session_options(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* Manager.ListSessions(u offset, u limit) -> (ao, u total), newest first. */
int method_manager_list_sessions(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* From the instrument's sample path. */
void session_on_events(struct session *s, const struct sg_event *ev, int n);
/* Commits the events of the block (one fsync), then signals them; the
 * instrument calls it when a block of samples is done. */
void session_flush(struct session *s);
void session_on_connected(struct session *s, bool connected);
/* True while the session's samples go to the engine (running). */
bool session_feeds_engine(const struct session *s);
/* Samples the session did not see: lost (counted in LostSamples) and
 * paused (a gap its engine is told of on resume). */
void session_count_samples(struct session *s, uint64_t lost, uint64_t paused);
const char *session_path(const struct session *s);
/* The instrument object goes away: the session ends as aborted. */
void session_detach_instrument(struct session *s);
/* The storage writer's jobs came back (its eventfd): their signals and
 * answers go out, in order; the storage state is published. */
void session_writer_dispatch(struct daemon *d);
/* The Manager's Storage* properties and StorageStateChanged from the
 * writer's status (force: emit the properties even if unchanged). */
void storage_publish(struct daemon *d, bool force);
/* "ok", "failing" (records wait in memory) or "degraded" (stored, but the
 * write-ahead log was deleted under the daemon). */
const char *storage_state_str(const struct daemon *d);

#endif
