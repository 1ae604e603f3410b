/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigil-clinic: the clinician's desktop application. A D-Bus client of
 * strigild only (proxies generated from daemon/org.strigil.Strigil1.xml).
 *
 *   strigil-clinic [--user | --address ADDR] [--bench]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <adwaita.h>

#include "clinic-service.h"
#include "clinic-window.h"

static char *opt_address;
static gboolean opt_user, opt_system, opt_bench, opt_version;
static ClinicService *service;

static const GOptionEntry options[] = {
	{ "system", 0, 0, G_OPTION_ARG_NONE, &opt_system, "Use the system bus (default)", NULL },
	{ "user", 0, 0, G_OPTION_ARG_NONE, &opt_user, "Use the session bus", NULL },
	{ "address", 0, 0, G_OPTION_ARG_STRING, &opt_address, "Use the bus at ADDR", "ADDR" },
	{ "bench", 0, 0, G_OPTION_ARG_NONE, &opt_bench,
	  "Log frame times and the alarm's drawing delay to stderr (make bench)", NULL },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL, 0, 0, 0, NULL, NULL, NULL },
};

static GDBusConnection *open_bus(char **why)
{
	g_autoptr(GError) error = NULL;
	GDBusConnection *c;

	if (opt_address)
		c = g_dbus_connection_new_for_address_sync(
			opt_address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
	else
		c = g_bus_get_sync(opt_user ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
	if (!c)
		*why = g_strdup_printf("Cannot reach the %s bus (%s). Check that the system is "
				       "fully started, then open the application again.",
				       opt_address ? "given" : opt_user ? "session" : "system",
				       error->message);
	else
		g_dbus_connection_set_exit_on_close(c, FALSE);
	return c;
}

static void on_activate(GtkApplication *app, gpointer data)
{
	GtkWindow *win = gtk_application_get_active_window(app);

	if (!win)
		win = GTK_WINDOW(clinic_window_new(ADW_APPLICATION(app), service, opt_bench));
	gtk_window_present(win);
}

int main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("- Strigil clinic");
	g_autoptr(GError) error = NULL;
	g_autoptr(AdwApplication) app = NULL;
	g_autoptr(GDBusConnection) conn = NULL;
	g_autofree char *why = NULL;
	char *args[] = { argv[0], NULL };
	int rc;

	g_option_context_add_main_entries(ctx, options, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "strigil-clinic: %s (see --help)\n", error->message);
		return 2;
	}
	if ((opt_user + opt_system + (opt_address != NULL)) > 1) {
		fprintf(stderr, "strigil-clinic: give only one of --system, --user, --address\n");
		return 2;
	}
	if (opt_version) {
		printf("strigil-clinic %s\n", CLINIC_VERSION);
		return 0;
	}
	conn = open_bus(&why);
	service = clinic_service_new(conn, why);
	/* NON_UNIQUE: a clinic PC may run one window per bus (tests run several). */
	app = adw_application_new("org.strigil.Clinic", G_APPLICATION_NON_UNIQUE);
	g_signal_connect(app, "activate", G_CALLBACK(on_activate), NULL);
	rc = g_application_run(G_APPLICATION(app), 1, args);
	g_clear_object(&service);
	return rc;
}
