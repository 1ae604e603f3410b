/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The app's one link to strigild: the bus connection, the name owner
 * (followed like gnome-control-center's fingerprint panel follows fprintd)
 * and the Manager proxy. Screens ask it for proxies and listen to
 * "state-changed": when strigild goes away every screen drops its proxies
 * and shows why; when it comes back they rebuild from scratch.
 */
#ifndef CLINIC_SERVICE_H
#define CLINIC_SERVICE_H

#include <gio/gio.h>

#include <strigil/dbus.h>

#include "strigil-dbus.h"

#define CLINIC_BUS_NAME STRIGIL_DBUS_NAME
#define CLINIC_ROOT_PATH STRIGIL_DBUS_ROOT
/* Every call may raise a polkit prompt through the desktop's agent. */
#define CLINIC_CALL_FLAGS G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION
#define CLINIC_CALL_TIMEOUT_MS 30000

typedef enum {
	CLINIC_SERVICE_CONNECTING,	/* name owner known, proxy being built */
	CLINIC_SERVICE_ABSENT,		/* nobody owns org.strigil.Strigil1 */
	CLINIC_SERVICE_READY,
	CLINIC_SERVICE_NO_BUS,		/* the bus itself is unreachable */
} ClinicServiceState;

#define CLINIC_TYPE_SERVICE (clinic_service_get_type())
G_DECLARE_FINAL_TYPE(ClinicService, clinic_service, CLINIC, SERVICE, GObject)

ClinicService *clinic_service_new(GDBusConnection *conn, const char *error_text);
ClinicServiceState clinic_service_get_state(ClinicService *self);
const char *clinic_service_get_state_text(ClinicService *self);
GDBusConnection *clinic_service_get_connection(ClinicService *self);
/* NULL unless READY. */
StrigilManager *clinic_service_get_manager(ClinicService *self);
/* Cancelled (and replaced) each time the daemon goes away. */
GCancellable *clinic_service_get_cancellable(ClinicService *self);
/* Bumped on every (re)connection: a reply for an older generation is dropped. */
guint clinic_service_get_generation(ClinicService *self);

/* A clinician-facing sentence for a failed call (advice + the daemon's own
 * sentence). Free with g_free. */
char *clinic_error_text(const GError *error);
/* The remote error name, or NULL. Free with g_free. */
char *clinic_error_name(const GError *error);
/* True when the error is a cancellation (a view went away): say nothing. */
gboolean clinic_error_is_cancel(const GError *error);

/* Lookup of a{sv} members (GetStrokes and signal dicts). */
double clinic_dict_double(GVariant *dict, const char *key, double fallback);
guint64 clinic_dict_u64(GVariant *dict, const char *key);
guint32 clinic_dict_u32(GVariant *dict, const char *key);
const char *clinic_dict_str(GVariant *dict, const char *key);

#endif
