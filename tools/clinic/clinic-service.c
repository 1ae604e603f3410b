/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "clinic-service.h"
#include "clinic-util.h"

struct _ClinicService {
	GObject parent;
	GDBusConnection *conn;
	StrigilManager *manager;
	GCancellable *cancel;
	ClinicServiceState state;
	char *state_text;
	guint watch;
	guint generation;
};

G_DEFINE_FINAL_TYPE(ClinicService, clinic_service, G_TYPE_OBJECT)

enum { SIG_STATE_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void set_state(ClinicService *self, ClinicServiceState st, const char *text)
{
	self->state = st;
	g_free(self->state_text);
	self->state_text = g_strdup(text);
	g_signal_emit(self, signals[SIG_STATE_CHANGED], 0);
}

static void drop_manager(ClinicService *self)
{
	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	self->cancel = g_cancellable_new();
	g_clear_object(&self->manager);
}

static void on_manager_ready(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicService *self = data;
	g_autoptr(GError) error = NULL;
	StrigilManager *m = strigil_manager_proxy_new_finish(res, &error);

	if (!m) {
		if (!clinic_error_is_cancel(error)) {
			g_autofree char *t = clinic_error_text(error);
			set_state(self, CLINIC_SERVICE_ABSENT, t);
		}
		g_object_unref(self);
		return;
	}
	g_clear_object(&self->manager);
	self->manager = m;
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(m), CLINIC_CALL_TIMEOUT_MS);
	self->generation++;
	/* A proxy whose cache is empty means the daemon did not answer GetAll
	 * (e.g. the bus policy denied us): say so rather than show nothing. */
	if (!strigil_manager_get_version(m))
		set_state(self, CLINIC_SERVICE_ABSENT,
			  "The Strigil service did not let this account read its state; ask an "
			  "administrator to add you to the clinic group.");
	else
		set_state(self, CLINIC_SERVICE_READY, NULL);
	g_object_unref(self);
}

static void on_name_appeared(GDBusConnection *conn, const char *name, const char *owner,
			     gpointer data)
{
	ClinicService *self = data;

	drop_manager(self);
	set_state(self, CLINIC_SERVICE_CONNECTING, "Connecting to the Strigil service…");
	strigil_manager_proxy_new(conn, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, CLINIC_BUS_NAME,
				  CLINIC_ROOT_PATH, self->cancel, on_manager_ready,
				  g_object_ref(self));
}

static void on_name_vanished(GDBusConnection *conn, const char *name, gpointer data)
{
	ClinicService *self = data;

	drop_manager(self);
	if (!conn || g_dbus_connection_is_closed(conn))
		set_state(self, CLINIC_SERVICE_NO_BUS,
			  "Lost the connection to the system bus. Restart the application.");
	else
		set_state(self, CLINIC_SERVICE_ABSENT,
			  "The Strigil service is not running. Waiting for it to start; "
			  "the application reconnects by itself.");
}

static void clinic_service_dispose(GObject *obj)
{
	ClinicService *self = CLINIC_SERVICE(obj);

	if (self->watch)
		g_bus_unwatch_name(self->watch);
	self->watch = 0;
	if (self->cancel)
		g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	g_clear_object(&self->manager);
	g_clear_object(&self->conn);
	G_OBJECT_CLASS(clinic_service_parent_class)->dispose(obj);
}

static void clinic_service_finalize(GObject *obj)
{
	g_free(CLINIC_SERVICE(obj)->state_text);
	G_OBJECT_CLASS(clinic_service_parent_class)->finalize(obj);
}

static void clinic_service_class_init(ClinicServiceClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);

	oc->dispose = clinic_service_dispose;
	oc->finalize = clinic_service_finalize;
	signals[SIG_STATE_CHANGED] = g_signal_new("state-changed", G_TYPE_FROM_CLASS(klass),
						  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
						  G_TYPE_NONE, 0);
}

static void clinic_service_init(ClinicService *self)
{
	self->cancel = g_cancellable_new();
	self->state = CLINIC_SERVICE_CONNECTING;
	self->state_text = g_strdup("Looking for the Strigil service…");
}

ClinicService *clinic_service_new(GDBusConnection *conn, const char *error_text)
{
	ClinicService *self = g_object_new(CLINIC_TYPE_SERVICE, NULL);

	if (!conn) {
		self->state = CLINIC_SERVICE_NO_BUS;
		g_free(self->state_text);
		self->state_text = g_strdup(error_text ? error_text : "No bus connection.");
		return self;
	}
	self->conn = g_object_ref(conn);
	self->watch = g_bus_watch_name_on_connection(conn, CLINIC_BUS_NAME,
						     G_BUS_NAME_WATCHER_FLAGS_NONE,
						     on_name_appeared, on_name_vanished,
						     self, NULL);
	return self;
}

ClinicServiceState clinic_service_get_state(ClinicService *self) { return self->state; }
const char *clinic_service_get_state_text(ClinicService *self) { return self->state_text; }
GDBusConnection *clinic_service_get_connection(ClinicService *self) { return self->conn; }
StrigilManager *clinic_service_get_manager(ClinicService *self)
{
	return self->state == CLINIC_SERVICE_READY ? self->manager : NULL;
}
GCancellable *clinic_service_get_cancellable(ClinicService *self) { return self->cancel; }
guint clinic_service_get_generation(ClinicService *self) { return self->generation; }

char *clinic_error_name(const GError *error)
{
	return error && g_dbus_error_is_remote_error(error) ?
		g_dbus_error_get_remote_error(error) : NULL;
}

gboolean clinic_error_is_cancel(const GError *error)
{
	return error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

char *clinic_error_text(const GError *error)
{
	g_autofree char *name = clinic_error_name(error);
	g_autoptr(GError) copy = NULL;
	g_autofree char *msg = NULL;
	const char *advice = clinic_error_advice(name);

	if (!error)
		return g_strdup("Unknown error.");
	copy = g_error_copy(error);
	g_dbus_error_strip_remote_error(copy);
	msg = g_strdup(copy->message);
	/* Our own errors carry a sentence meant for people; the bus's own
	 * ("... was not provided by any .service files") does not. */
	if (name && g_str_has_prefix(name, STRIGIL_DBUS_ERROR_PREFIX)) {
		if (advice && !g_str_has_suffix(name, ".InvalidArgument") &&
		    !g_str_has_suffix(name, ".Contraindicated"))
			return g_strdup_printf("%s %s", msg, advice);
		return g_steal_pointer(&msg);
	}
	if (advice)
		return g_strdup(advice);
	return g_steal_pointer(&msg);
}

double clinic_dict_double(GVariant *dict, const char *key, double fallback)
{
	double v;

	return dict && g_variant_lookup(dict, key, "d", &v) ? v : fallback;
}

guint64 clinic_dict_u64(GVariant *dict, const char *key)
{
	guint64 v;

	return dict && g_variant_lookup(dict, key, "t", &v) ? v : 0;
}

guint32 clinic_dict_u32(GVariant *dict, const char *key)
{
	guint32 v;

	return dict && g_variant_lookup(dict, key, "u", &v) ? v : 0;
}

const char *clinic_dict_str(GVariant *dict, const char *key)
{
	const char *v;

	return dict && g_variant_lookup(dict, key, "&s", &v) ? v : "";
}
