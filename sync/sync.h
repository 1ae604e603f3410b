/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigil-sync: shares a clinic PC's profiles and records with the
 * clinic's PostgreSQL server (docs/network.md).
 *
 *   strigild's SQLite --(read-only)--> outbox --(libpq, TLS)--> centre
 *   centre --(LISTEN/NOTIFY, pull)--> Manager.ApplyRemoteProfile --> strigild
 *
 * One sd-event loop: the libpq connection is non-blocking (its socket is
 * an event source), strigild's database is watched with inotify, the
 * status is published on D-Bus (org.strigil.Sync1). Work is done in
 * jobs: one job is one unit of work and one server transaction, a list of
 * parameterized statements run in order; a step may look at its result and
 * add steps. A job that fails is rolled back as a whole and retried later;
 * nothing local is marked done before the server's COMMIT succeeded.
 */
#ifndef STRIGIL_SYNC_H
#define STRIGIL_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "body.h"

#define SYNC_BUS_NAME	"org.strigil.Sync1"
#define SYNC_PATH	"/org/strigil/Sync1"
#define SYNC_IFACE	"org.strigil.Sync1"

struct sync;
struct job;

/* A step's result handler: returns 0 to go on, <0 to fail the job (with
 * job_fail's message). It may add steps with job_add. */
typedef int (*step_fn)(struct sync *s, struct job *j, PGresult *res, void *ud);
/* Called once when a job ends: ok after its COMMIT, else failed. */
typedef void (*job_done_fn)(struct sync *s, struct job *j, bool ok, void *ud);

struct step {
	char *sql;
	int nparams;
	char **params;		/* text, NULL = SQL NULL */
	step_fn fn;
	void *ud;
};

struct job {
	const char *what;		/* for logs */
	struct step *steps;
	size_t nsteps, cap, next;
	bool in_tx;			/* starts with BEGIN, ends with COMMIT */
	job_done_fn done;
	void *ud;
	char error[512];
};

struct job *job_new(const char *what, bool tx, job_done_fn done, void *ud);
/* Adds a statement with n text parameters (copied). */
int job_add(struct job *j, const char *sql, step_fn fn, void *ud, int n, ...);
int job_addv(struct job *j, const char *sql, step_fn fn, void *ud, int n,
	     const char *const *params);
int job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void job_free(struct job *j);

enum link_state { LINK_OFFLINE, LINK_CONNECTING, LINK_ONLINE };

struct config {
	char *conninfo;			/* libpq connection string */
	char *password_file;		/* optional: passfile for libpq */
	char *local_db;			/* strigild's database (read-only) */
	char *state_db;			/* our own state */
	double retry_max_s;
	int batch;			/* strokes per upload transaction */
};

struct sync {
	struct config cfg;
	sd_event *event;
	sd_bus *bus;			/* strigild's bus: status + ApplyRemoteProfile */
	sd_bus_slot *status_slot;
	/* server */
	PGconn *pg;
	sd_event_source *pg_io, *retry_timer;
	enum link_state link;
	double retry_s;
	struct job *job;		/* running job, NULL when idle */
	size_t result_rows;
	PGresult *last_res;
	bool want_flush;
	bool hold;			/* a job failed: wait for the retry timer */
	/* local */
	sqlite3 *ldb;			/* strigild's database, read-only */
	sqlite3 *sdb;			/* state: cursors and synced profiles */
	int inotify_fd;
	sd_event_source *inotify_src, *kick_timer;
	bool need_profiles_push, need_profiles_pull, need_records;
	/* status (org.strigil.Sync1) */
	char server[128];
	char last_error[512];
	uint64_t last_error_us, last_sync_us;
	uint64_t uploaded, backlog;
	uint32_t merges, rejected;
};

/* pg.c */
int pg_connect(struct sync *s);
void pg_disconnect(struct sync *s, const char *why);
/* Runs j when the link is up and no job runs; takes ownership. */
int pg_run(struct sync *s, struct job *j);
/* libpq's text for a result error, one line. */
const char *pg_result_error(const PGresult *res);

/* local.c */
/*
 * Cursors over strigild's change sequence (schema 6): the names differ
 * from the wall-clock cursors of earlier releases ("sessions",
 * "profiles_local"), so an upgraded sync starts from 0 and sends every
 * session and profile once more; the centre takes them idempotently.
 */
#define LOCAL_SCHEMA_MIN 6
#define SESSIONS_CURSOR "sessions_seq"
#define PROFILES_CURSOR "profiles_seq"
int local_open(struct sync *s, char *err, size_t errlen);
/* 0 when strigild's database has the schema this sync needs; else the
 * reason is reported with sync_error(). */
int local_schema_check(struct sync *s);
void local_close(struct sync *s);
int state_get(struct sync *s, const char *name, int64_t *a, int64_t *b);
int state_set(struct sync *s, const char *name, int64_t a, int64_t b);
/* Base revision and synced canonical text of a profile (NULL/0 if none). */
int state_profile_get(struct sync *s, const char *uuid, int64_t *rev, char **synced);
int state_profile_set(struct sync *s, const char *uuid, int64_t rev, const char *synced);
/* Records waiting in strigild's database above the cursors. */
int64_t local_backlog(struct sync *s);
/* Builds the record upload job for the next batch; NULL when nothing waits. */
struct job *records_job(struct sync *s);

/* profiles.c */
struct job *profiles_push_job(struct sync *s, bool *nothing);
struct job *profiles_pull_job(struct sync *s);
/* Reads a live local profile from strigild (D-Bus) into st. */
int profile_read_bus(struct sync *s, int64_t id, struct sp_state *st, char *uuid);
int profile_apply_bus(struct sync *s, const char *uuid, const struct sp_state *st,
		      char *err, size_t errlen);

/* main.c */
void sync_kick(struct sync *s);
void sync_error(struct sync *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sync_status_changed(struct sync *s, const char *prop);
uint64_t now_us(void);

#endif
