/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild internals shared by the daemon's files. The D-Bus API itself is
 * documented in docs/dbus-api.md and daemon/org.strigil.Strigil1.xml.
 */
#ifndef STRIGILD_H
#define STRIGILD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <strigil/dbus.h>

#include "strigil.h"
#include "policy.h"
#include "rules.h"
#include "session-core.h"
#include "instrument-core.h"
#include "storage.h"
#include "store-writer.h"

/* The API's names: include/strigil/dbus.h (one copy for every part) */
#define SGD_BUS_NAME		STRIGIL_DBUS_NAME
#define SGD_ROOT		STRIGIL_DBUS_ROOT
#define SGD_IFACE_MANAGER	STRIGIL_DBUS_IFACE_MANAGER
#define SGD_IFACE_INSTRUMENT	STRIGIL_DBUS_IFACE_INSTRUMENT
#define SGD_IFACE_SESSION	STRIGIL_DBUS_IFACE_SESSION
#define SGD_IFACE_PROFILE	STRIGIL_DBUS_IFACE_PROFILE
#define SGD_IFACE_DEBUG		STRIGIL_DBUS_IFACE_DEBUG
#define SGD_PATH_INSTRUMENT	STRIGIL_DBUS_PATH_INSTRUMENT
#define SGD_PATH_SESSION	STRIGIL_DBUS_PATH_SESSION
#define SGD_PATH_PROFILE	STRIGIL_DBUS_PATH_PROFILE

#define SGD_ERR_INVALID_ARGUMENT	STRIGIL_DBUS_ERROR_INVALID_ARGUMENT
#define SGD_ERR_CONTRAINDICATED		STRIGIL_DBUS_ERROR_CONTRAINDICATED
#define SGD_ERR_NOT_CALIBRATED		STRIGIL_DBUS_ERROR_NOT_CALIBRATED
#define SGD_ERR_CALIBRATION_EXPIRED	STRIGIL_DBUS_ERROR_CALIBRATION_EXPIRED
#define SGD_ERR_NO_SUCH_OBJECT		STRIGIL_DBUS_ERROR_NO_SUCH_OBJECT
#define SGD_ERR_BUSY			STRIGIL_DBUS_ERROR_BUSY
#define SGD_ERR_DISCONNECTED		STRIGIL_DBUS_ERROR_DISCONNECTED
#define SGD_ERR_ACCESS_DENIED		STRIGIL_DBUS_ERROR_ACCESS_DENIED
#define SGD_ERR_NOT_CLAIMED		STRIGIL_DBUS_ERROR_NOT_CLAIMED
#define SGD_ERR_INVALID_STATE		STRIGIL_DBUS_ERROR_INVALID_STATE
#define SGD_ERR_STORAGE_FAILED		STRIGIL_DBUS_ERROR_STORAGE_FAILED
#define SGD_ERR_DEVICE_ERROR		STRIGIL_DBUS_ERROR_DEVICE_ERROR

#define _cleanup_(f)		__attribute__((cleanup(f)))

#define SGD_STRING_MAX		SGD_NOTE_MAX	/* any free-text argument, bytes */
#define SGD_FORCE_EMIT_USEC	(1000000 / 30)	/* ForceN changes at most 30 Hz */
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

/* ---- logging (log.c) ------------------------------------------------ */
void log_setup(bool verbose);

/*
 * The daemon's object lists (instruments, profiles, sessions) through one
 * iterator, for the sd-bus node enumerators and the Manager's ao
 * properties: step() returns obj's object path, or NULL to leave obj out,
 * and sets *next to the following object.
 */
typedef const char *(*object_step_fn)(const void *obj, const void **next);
/* NULL-terminated copy of the paths, as sd_bus_node_enumerator_t wants. */
int object_paths_strv(const void *first, object_step_fn step, char ***nodes);
/* Appends the paths as one "ao" to m. */
int object_paths_append(sd_bus_message *m, const void *first, object_step_fn step);
/* Objects kept in the database (sessions, profiles) have the path
 * "<prefix>/<id>" with the id in canonical decimal: the id, or -1 when the
 * path is not exactly that. */
int64_t object_path_id(const char *path, const char *prefix);
/* "<prefix>/<id>" of every id list() gives (sgd_store_session_ids,
 * sgd_store_profile_ids): appended to m as "ao", or with m NULL as the
 * strv a node enumerator returns in *nodes. */
typedef int (*store_ids_fn)(struct sgd_store *st, int64_t **ids, size_t *n);
int stored_paths(struct sgd_store *st, store_ids_fn list, const char *prefix,
		 sd_bus_message *m, char ***nodes);
/* True when stderr is the journal (JOURNAL_STREAM matches it): a message
 * already sent with sd_journal_send() must then not be logged again. */
bool log_stderr_is_journal(void);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)

/* ---- errors (errors.c) ---------------------------------------------- */
void errors_register(void);
/* Sets a typed error from a negative errno of storage (StorageFailed). */
int error_storage(sd_bus_error *e, int r, const char *what);
/* Turns a message parsing failure into InvalidArgument (if nothing set yet). */
int error_malformed(sd_bus_error *e, int r);
int error_invalid(sd_bus_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- authorization (auth.c) ----------------------------------------- */
int auth_setup(struct daemon *d);
void auth_free(struct daemon *d);
/* polkit action of a method, NULL if the method needs none (for docs/tests) */
const char *auth_action_for(const char *interface, const char *member);
/* "interface member action" per line: strigild --list-actions (tests
 * compare it with the XML: every method has an action). */
void auth_print_table(FILE *f);

/* ---- backends -------------------------------------------------------- */
struct backend_ops {
	const char *name;		/* "simulated", "iio", "usb" */
	/* Starts streaming at inst->rate_hz; samples come through
	 * instrument_on_block(). */
	int (*start)(struct instrument *inst);
	void (*stop)(struct instrument *inst);
	int (*set_alert)(struct instrument *inst, enum strigil_alert a);
	int (*write_calibration)(struct instrument *inst,
				 const struct sg_calibration *c);
	void (*destroy)(struct instrument *inst);
};

/* ---- instruments (instrument.c) ------------------------------------- */
struct stream_client;
struct read_point;

struct instrument {
	struct daemon *d;
	struct instrument *next;
	char *path;
	struct sg_device_info info;
	const struct backend_ops *ops;
	void *backend;			/* backend private data */
	char syspath[256];		/* udev device, "" for simulated */
	bool connected;
	bool simulated;
	unsigned nchannels;
	uint8_t channels[STRIGIL_MAX_CHANNELS];	/* channel ids present */
	unsigned rate_hz;
	struct sg_calibration cal;

	bool streaming;
	uint64_t lost_samples;
	uint64_t sample_index;		/* samples since first streamed (incl. lost) */
	uint64_t engine_base;		/* sample_index at the engine's time 0 */
	uint64_t unplugged_usec;	/* monotonic time of an unplug while streaming */
	uint64_t block_arrival_usec;	/* monotonic time the block in instrument_on_block() arrived */
	bool in_block;			/* inside instrument_on_block() */
	bool alert_dirty;		/* Alert changed in this block, not yet emitted */
	uint32_t alert_failures;	/* SET_ALERT requests the tool refused or lost */
	bool alert_failures_dirty;	/* changed in this block, not yet emitted */
	double force_n;			/* live, NaN when not streaming */
	uint64_t force_emitted_usec;
	double force_emitted;
	enum strigil_alert alert;

	struct sg_engine *engine;	/* live force, strokes, limits */
	sd_bus_track *claims;
	struct stream_client *streams;
	struct read_point *reads;
	struct session *session;	/* running/paused/disconnected one */
};

struct instrument *instrument_new(struct daemon *d, const struct sg_device_info *info,
				  const struct backend_ops *ops, void *backend);
void instrument_free(struct instrument *inst);
/* A device (re)appears behind a known object (the old backend is
 * destroyed); its udev path ("" for simulated) and calibration (NULL: none
 * valid); the device goes away (udev remove). */
void instrument_rebind(struct instrument *inst, const struct backend_ops *ops, void *backend,
		       const struct sg_device_info *info);
void instrument_set_device(struct instrument *inst, const char *syspath,
			   const struct sg_calibration *cal, bool simulated);
void instrument_unbind(struct instrument *inst);
/* Adds it to the daemon and announces it on the bus; inst->cal must be set. */
void instrument_publish(struct instrument *inst);
void instrument_reset_engine(struct instrument *inst, const struct sg_limit_config *lc);
struct instrument *instrument_find_serial(struct daemon *d, const char *serial);
struct instrument *instrument_find_path(struct daemon *d, const char *path);
/* Removes the object for good (InstrumentRemoved). */
void instrument_remove(struct instrument *inst);
/* Backends report plug state and data. */
void instrument_set_connected(struct instrument *inst, bool connected);
void instrument_on_block(struct instrument *inst, const struct sg_block *blk);
/* Re-evaluates whether streaming is wanted (claims, streams, session). */
void instrument_update_streaming(struct instrument *inst);
void instrument_set_alert(struct instrument *inst, enum strigil_alert a);
/* A SET_ALERT failed (at once or, for libusb, when its transfer ended):
 * counted in the AlertFailures property and logged. */
void instrument_alert_failed(struct instrument *inst, enum strigil_alert a, int err);
bool instrument_calibration_valid(const struct instrument *inst, int64_t now_s);
/* A session drives the instrument's engine through these; the instrument
 * owns it, and the fields of one module's struct are written only by it. */
void instrument_attach_session(struct instrument *inst, struct session *s,
			       const struct sg_limit_config *lc);
void instrument_detach_session(struct instrument *inst);
void instrument_set_limits(struct instrument *inst, const struct sg_limit_config *lc);
int instrument_engine_flush(struct instrument *inst, struct sg_event *ev, int max);
void instrument_engine_gap(struct instrument *inst, uint64_t samples);
double instrument_load_seconds(const struct instrument *inst);
double instrument_engine_delay(const struct instrument *inst);
/* The engine's clock on the timeline of its strokes (seconds since the
 * session's engine started, less its delay); NaN without a rate. */
double instrument_engine_now_s(const struct instrument *inst);
bool instrument_connected(const struct instrument *inst);
enum strigil_alert instrument_alert(const struct instrument *inst);
/* monotonic time the block being processed arrived */
uint64_t instrument_block_arrival(const struct instrument *inst);
/* What a start needs to know of it (session-core.h). */
void instrument_start_facts(const struct instrument *inst, struct session_start_instrument *f);
int instrument_setup_bus(struct daemon *d);
const char *instrument_step(const void *obj, const void **next);
extern const sd_bus_vtable instrument_vtable[];

/* ---- simulated backend (backend-sim.c) ------------------------------- */
int sim_add_instruments(struct daemon *d, unsigned n, bool flat);
int sim_setup_bus(struct daemon *d);

/* ---- real backends (backend-iio.c, backend-usb.c) and hotplug -------- */
int hotplug_setup(struct daemon *d);
void hotplug_free(struct daemon *d);

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

/* ---- the daemon -------------------------------------------------------- */
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
	struct record_job *reply_jobs;	/* methods answered when stored */
	bool storage_failing;
	bool storage_degraded;
	char storage_error[256];
	unsigned storage_pending;
	bool storage_pending_published;
	uint64_t storage_dropped;	/* records never stored */
	char *damaged_db;		/* where a damaged database was moved at start */
};

/* Emits PropertiesChanged for the Manager's object lists. */
void manager_emit_changed(struct daemon *d, const char *property);
/* sd_notify STATUS= line: instruments connected, sessions in progress. */
void manager_notify_status(struct daemon *d);
int manager_setup_bus(struct daemon *d);

uint64_t now_realtime_usec(void);
uint64_t now_monotonic_usec(void);
/* Property getters by offset (SD_BUS_PROPERTY(name, sig, getter,
 * offsetof(struct x, field), flags)): a char array, a bool. */
/* Defines a property getter of its own (an sd_bus_property_get_t). */
#define SGD_GETTER(fn) static int fn(sd_bus *bus, const char *path, const char *interface, \
				     const char *property, sd_bus_message *reply, \
				     void *userdata, sd_bus_error *error)
int prop_get_chars(sd_bus *bus, const char *path, const char *interface,
		   const char *property, sd_bus_message *reply, void *userdata,
		   sd_bus_error *error);
int prop_get_bool(sd_bus *bus, const char *path, const char *interface,
		  const char *property, sd_bus_message *reply, void *userdata,
		  sd_bus_error *error);

#endif
