/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strigilctl: shared sd-bus helpers (connection, errors, replies as JSON). */
#ifndef STRIGILCTL_BUS_H
#define STRIGILCTL_BUS_H

#include <systemd/sd-bus.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <strigil/dbus.h>

#define SG_BUS_NAME STRIGIL_DBUS_NAME
#define SG_ROOT STRIGIL_DBUS_ROOT
#define SG_IFACE_MANAGER STRIGIL_DBUS_IFACE_MANAGER
#define SG_IFACE_INSTRUMENT STRIGIL_DBUS_IFACE_INSTRUMENT
#define SG_IFACE_SESSION STRIGIL_DBUS_IFACE_SESSION
#define SG_IFACE_PROFILE STRIGIL_DBUS_IFACE_PROFILE
#define SG_IFACE_DEBUG STRIGIL_DBUS_IFACE_DEBUG
#define SG_ERROR_PREFIX STRIGIL_DBUS_ERROR_PREFIX

/* Connects as --address/--user/system say. Prints why and returns an exit
 * code (EXIT_NODAEMON) on failure, 0 on success. */
int ctl_bus_open(sd_bus **bus);

/*
 * Prints a failed call as a sentence that says what to do next, to stderr,
 * prefixed by what ("starting the session"). Returns the exit code for it.
 */
int ctl_bus_error(const char *what, const sd_bus_error *e, int r);
/* The sentence and exit code for an error name (unit tested). */
const char *ctl_error_advice(const char *name, int *exit_code);

/* Reads the next complete value of m (any signature) as JSON. */
int ctl_bus_read_json(sd_bus_message *m, struct json_object **out);

/* Calls a method with no arguments and returns the reply's first value as JSON. */
int ctl_bus_call_json(sd_bus *bus, const char *path, const char *iface,
		      const char *method, const char *what, struct json_object **out);

/* Properties.GetAll as a JSON object; an exit code on failure. */
int ctl_bus_get_all(sd_bus *bus, const char *path, const char *iface,
		    struct json_object **out);

/* Resolves a user's INSTRUMENT (serial or object path) to an object path. */
int ctl_resolve_instrument(sd_bus *bus, const char *arg, char **path);
/* Resolves a user's SESSION (its id, id:N or object path) or PROFILE (a
 * patient reference, id:N or object path; a reference made of digits is
 * a reference, never an id). kind: "session" or "profile". */
int ctl_resolve_object(sd_bus *bus, const char *kind, const char *arg, char **path);

/* The API's patient reference syntax: 1-64 of [A-Za-z0-9._-]. */
bool ctl_patient_ref_ok(const char *s);

/* µs since epoch (D-Bus 't') to unix seconds, NaN for 0. */
double ctl_usec_to_s(int64_t usec);

#endif

/* Every stored session's path, newest first (Manager.ListSessions pages). */
int ctl_list_sessions(sd_bus *bus, struct json_object **out);
/* ObjectManager.GetManagedObjects: {path: {interface: {property: value}}}
 * (the live objects: instruments, sessions in progress, profiles). */
int ctl_managed_objects(sd_bus *bus, struct json_object **out);
/* The properties of iface on path inside a GetManagedObjects tree, or NULL. */
struct json_object *ctl_object_props(struct json_object *objs, const char *path,
				     const char *iface);

/* a{sv} building: open with sd_bus_message_open_container(m, 'a', "{sv}"). */
int ctl_append_entry(sd_bus_message *m, const char *key, const char *sig, ...);

/* Converts "yes/no" questions: reads a line from stdin; false on EOF. */
bool ctl_confirm(const char *question);
/* Reads one line from stdin after printing prompt (on stderr); NULL on EOF. */
char *ctl_prompt(const char *prompt);

/* Calendar date of unix seconds in UTC ("2026-11-21"), "-" for NaN/0. */
void ctl_date(double unix_s, char *buf, size_t len);

/* running, paused or disconnected: the session still counts. */
bool ctl_session_active(const char *state);
/* Parses a finite number; false (and a message naming opt) otherwise. */
bool ctl_parse_double(const char *opt, const char *s, double *v);
bool ctl_parse_uint(const char *opt, const char *s, uint32_t *v);
/* Calls a method with no arguments and no reply value; an exit code. */
int ctl_bus_call_void(sd_bus *bus, const char *path, const char *iface,
		      const char *method, const char *what);
