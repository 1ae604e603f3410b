/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef STRIGILCTL_H
#define STRIGILCTL_H

#include <stdbool.h>

/* Exit codes (documented in strigilctl(1)). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* operation failed (daemon refused, device error) */
	EXIT_USAGE = 2,		/* bad arguments or bad input file */
	EXIT_NODAEMON = 3,	/* strigild not reachable on the bus */
	EXIT_DENIED = 4,	/* not authorized */
	EXIT_INTERRUPTED = 130,	/* Ctrl-C */
};

struct ctl_global {
	bool json;		/* --json */
	const char *address;	/* --address: a private bus (tests, demo) */
	bool user_bus;		/* --user */
};

extern struct ctl_global ctl;

/* A verb gets argv with argv[0] = verb name; getopt state is reset. */
struct ctl_verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;	/* usage line after the verb */
	const char *help;	/* one line */
};

/* One declaration per verb file (tools/strigilctl/<verb>.c). */
int verb_replay(int argc, char **argv);
int verb_simulate(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_monitor(int argc, char **argv);
int verb_calibrate(int argc, char **argv);
int verb_profile(int argc, char **argv);
int verb_session(int argc, char **argv);
int verb_export(int argc, char **argv);
int verb_history(int argc, char **argv);
int verb_sync(int argc, char **argv);

#endif
