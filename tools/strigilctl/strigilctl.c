// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl: the clinician's and technician's command line. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "strigil.h"
#include "strigilctl.h"

struct ctl_global ctl;

/* The verbs, in one place. */
static const struct ctl_verb verbs[] = {
	{ "status",   verb_status,   "[--json]",
	  "daemon version, instruments, sessions in progress" },
	{ "monitor",  verb_monitor,  "[--json] [INSTRUMENT]",
	  "live view: force against the cap, strokes, warnings and alarms" },
	{ "calibrate", verb_calibrate, "[--non-interactive --point G...] INSTRUMENT",
	  "the technician's guided calibration (writes only as the last step)" },
	{ "profile",  verb_profile,  "add|list|show|edit|delete|regions ...",
	  "patient profiles: caps per region, target band, conditions" },
	{ "session",  verb_session,  "start|pause|resume|stop|list|show|report ...",
	  "treatment sessions and their reports" },
	{ "history",  verb_history,  "[--json] PATIENT_REF",
	  "a patient's visits: strokes, peak, mean, impulse, violations per site, trend" },
	{ "export",   verb_export,   "--format csv|fhir [--output FILE] SESSION...|--patient REF",
	  "strokes and violations as CSV or an HL7 FHIR R4 Bundle" },
	{ "sync",     verb_sync,     "status [--json]",
	  "the clinic network: link to the server, records waiting, last error" },
	{ "replay",   verb_replay,   "[--limit N] [--warn-fraction F] [--json] FILE.csv",
	  "run the engines offline over a recorded trace (JSON Lines)" },
	{ "simulate", verb_simulate, "[OPTIONS] --out FILE.csv",
	  "write a simulated trace and its ground truth" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: strigilctl [--json] [--address ADDR | --user] VERB [ARGS]\n\nVerbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n  %-10s   %s\n", verbs[i].name, verbs[i].help,
			"", verbs[i].args);
	fprintf(f, "\nRun 'strigilctl VERB --help' for a verb's options.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",    no_argument,       NULL, 'j' },
		{ "address", required_argument, NULL, 'a' },
		{ "user",    no_argument,       NULL, 'u' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{}
	};
	int c;

	/* '+': stop at the verb; its options are its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 'a': ctl.address = optarg; break;
		case 'u': ctl.user_bus = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("strigilctl %s\n", SG_VERSION_STRING); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[optind], verbs[i].name) == 0) {
			int vargc = argc - optind;
			char **vargv = argv + optind;

			optind = 0;	/* full getopt reset for the verb */
			return verbs[i].run(vargc, vargv);
		}
	}
	fprintf(stderr, "strigilctl: unknown verb '%s'; 'strigilctl --help' lists them\n",
		argv[optind]);
	return EXIT_USAGE;
}
