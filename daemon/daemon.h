/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon (main.c): what every part of strigild hangs off, and the
 * event loop's priorities.
 */
#ifndef STRIGILD_DAEMON_H
#define STRIGILD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "strigil.h"
#include "policy.h"
#include "storage.h"
#include "store-writer.h"

struct record_job;

/*
 * What the bus was told of storage, and the methods waiting for a write:
 * kept by session.c (its writer dispatch, storage_publish()), read by
 * manager.c's Storage* properties.
 */
struct storage_view {
	struct record_job *reply_jobs;	/* methods answered when stored */
	bool failing;
	bool degraded;
	char error[256];
	unsigned pending;
	bool pending_published;
	uint64_t dropped;		/* records never stored */
};

/* Event loop priorities: the sample path (the backends' sources) and the
 * storage writer's answers (the record signals) run before any caller's
 * message is dispatched; the bus is attached at SD_EVENT_PRIORITY_NORMAL.
 * A flood of calls then costs its callers time, not the alarm. */
#define SGD_PRIORITY_SAMPLES	SD_EVENT_PRIORITY_IMPORTANT
#define SGD_PRIORITY_RECORDS	(SD_EVENT_PRIORITY_IMPORTANT + 1)

struct daemon;
struct instrument;
struct session;
struct profile;

struct daemon {
	sd_event *event;
	sd_bus *bus;
	struct sgd_policy *policy;
	struct sgd_store *store;
	struct instrument *instruments;
	struct profile *profiles;
	struct session *sessions;
	unsigned sim_count;
	bool sim_flat;
	bool simulate;
	void *auth;			/* auth.c */
	void *hotplug;			/* hotplug.c */
	struct sg_stroke_config stroke_config;
	/* the storage writer (store-writer.h) and what the bus was told */
	struct sgd_writer *writer;
	sd_event_source *writer_src;
	struct storage_view storage;	/* session.c's; the Manager reads it */
	char *damaged_db;		/* where a damaged database was moved at start */
};

#endif
