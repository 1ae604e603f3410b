/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strigilctl: shared sd-bus helpers (connection, errors, replies as JSON). */
#ifndef STRIGILCTL_BUS_H
#define STRIGILCTL_BUS_H

#include <systemd/sd-bus.h>
#include <json-c/json.h>

#define SG_BUS_NAME "org.strigil.Strigil1"
#define SG_ROOT "/org/strigil/Strigil1"
#define SG_IFACE_MANAGER SG_BUS_NAME ".Manager"
#define SG_IFACE_INSTRUMENT SG_BUS_NAME ".Instrument"
#define SG_IFACE_SESSION SG_BUS_NAME ".Session"
#define SG_IFACE_PROFILE SG_BUS_NAME ".Profile"
#define SG_IFACE_DEBUG SG_BUS_NAME ".Debug"
#define SG_ERROR_PREFIX SG_BUS_NAME ".Error."

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
/* Resolves a session or profile id (decimal id, patient ref for
 * profiles, or object path). kind: "session" or "profile". */
int ctl_resolve_object(sd_bus *bus, const char *kind, const char *arg, char **path);

/* µs since epoch (D-Bus 't') to unix seconds, NaN for 0. */
double ctl_usec_to_s(int64_t usec);

#endif
