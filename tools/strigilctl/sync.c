// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl sync status: the clinic network link (strigil-sync's
 * org.strigil.Sync1 status, docs/network.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "ctl-json.h"
#include "strigilctl.h"

#define SYNC_NAME "org.strigil.Sync1"
#define SYNC_PATH "/org/strigil/Sync1"

static const char usage[] =
	"Usage: strigilctl sync status [--json]\n"
	"Shows the clinic network: whether this PC is linked to the clinic's server,\n"
	"how many records wait to go up, the last error, merges and rejected profiles.\n";

static int sync_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	struct json_object *p = NULL, *out;
	sd_bus *bus = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	r = ctl_bus_open(&bus);
	if (r)
		return r;
	r = sd_bus_call_method(bus, SYNC_NAME, SYNC_PATH, "org.freedesktop.DBus.Properties",
			       "GetAll", &error, &reply, "s", SYNC_NAME);
	if (r < 0) {
		if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN,
					   SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
			fprintf(stderr, "strigilctl: the clinic network service is not running on "
				"this PC; start it with 'systemctl start strigil-sync' (configured in "
				"/etc/strigil/sync.conf).\n");
			r = EXIT_NODAEMON;
		} else {
			r = ctl_bus_error("reading the clinic network status", &error, r);
		}
		goto out;
	}
	r = ctl_bus_read_json(reply, &p);
	if (r < 0) {
		fprintf(stderr, "strigilctl: the clinic network status could not be read.\n");
		r = EXIT_FAIL;
		goto out;
	}
	out = json_object_new_object();
	json_object_object_add(out, "link", json_object_new_string(cj_str(p, "Link", "?")));
	json_object_object_add(out, "server", json_object_new_string(cj_str(p, "Server", "")));
	json_object_object_add(out, "backlog", json_object_new_int64(cj_int(p, "Backlog", 0)));
	json_object_object_add(out, "uploaded", json_object_new_int64(cj_int(p, "Uploaded", 0)));
	json_object_object_add(out, "last_error", json_object_new_string(cj_str(p, "LastError", "")));
	json_object_object_add(out, "last_error_at",
			       json_object_new_int64(cj_int(p, "LastErrorAt", 0)));
	json_object_object_add(out, "last_sync_at", json_object_new_int64(cj_int(p, "LastSyncAt", 0)));
	json_object_object_add(out, "merges", json_object_new_int64(cj_int(p, "Merges", 0)));
	json_object_object_add(out, "rejected", json_object_new_int64(cj_int(p, "Rejected", 0)));
	if (ctl.json) {
		cj_print(stdout, out);
	} else {
		char at[40];

		cj_iso8601(ctl_usec_to_s(cj_int(p, "LastSyncAt", 0)), at, sizeof(at));
		printf("Link:        %s%s%s\n", cj_str(out, "link", "?"),
		       cj_str(out, "server", "")[0] ? " to " : "", cj_str(out, "server", ""));
		printf("Backlog:     %lld record(s) waiting to go up\n",
		       (long long)cj_int(out, "backlog", 0));
		printf("Last sync:   %s\n", at[0] ? at : "never");
		printf("Merges:      %lld (merged profiles wait for a clinician's review)\n",
		       (long long)cj_int(out, "merges", 0));
		printf("Rejected:    %lld profile version(s) from the server\n",
		       (long long)cj_int(out, "rejected", 0));
		printf("Last error:  %s\n", cj_str(out, "last_error", "")[0] ?
		       cj_str(out, "last_error", "") : "none");
	}
	json_object_put(out);
	r = EXIT_OK;
out:
	json_object_put(p);
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r;
}

int verb_sync(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "status")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	return sync_status(argc - 1, argv + 1);
}
