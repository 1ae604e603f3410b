/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild's shared helpers (util.c): the API's names, logging, typed
 * D-Bus errors, object path lists, clocks, property getters.
 */
#ifndef STRIGILD_UTIL_H
#define STRIGILD_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include <systemd/sd-bus.h>

#include <strigil/dbus.h>

#include "storage.h"
#include "text.h"

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
/* ---- logging, object lists ------------------------------------------ */
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

/* ---- typed D-Bus errors --------------------------------------------- */
void errors_register(void);
/* Sets a typed error from a negative errno of storage (StorageFailed). */
int error_storage(sd_bus_error *e, int r, const char *what);
/* Turns a message parsing failure into InvalidArgument (if nothing set yet). */
int error_malformed(sd_bus_error *e, int r);
int error_invalid(sd_bus_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
