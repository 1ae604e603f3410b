/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild's durable storage: one SQLite database in WAL mode
 * (<state-dir>/strigil.db) holding profiles, sessions, strokes,
 * violations, pauses, calibration history, the audit of overrides, the
 * instruments seen and the clinic network's ids. Plain C, no D-Bus; its
 * files (daemon/storage*.c) are listed in storage-private.h. Single-threaded use (the daemon's
 * event loop; the store runs its own checkpointer thread on its own
 * connection inside); several processes may open the same file (busy
 * timeout).
 *
 * Every function returns 0 (or a positive count where said) or a
 * negative errno; the message of the last error is in
 * sgd_store_errmsg(). Errors:
 *   -EINVAL   bad argument (nothing written)
 *   -ENOENT   no such row
 *   -EEXIST   conflict (e.g. a live profile with that patient_ref)
 *   -EBUSY    database locked beyond the busy timeout
 *   -ENOSPC   disk full
 *   -EROFS    read-only
 *   -EBADMSG  corrupt or not a database
 *   -EPROTONOSUPPORT  schema newer than this build
 *   -EIO      any other SQLite failure
 *
 * Durability: every write function commits before it returns, with
 * synchronous=FULL (a WAL commit is fsync'ed), so the daemon may emit its
 * D-Bus signal for a stroke or violation right after the call returned 0:
 * the row survives a crash of the process or of the machine.
 *
 * Times: *_us are unix microseconds (CLOCK_REALTIME); stroke times t_s
 * are seconds from the session start (engine time).
 */
#ifndef STRIGIL_DAEMON_STORAGE_H
#define STRIGIL_DAEMON_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strigil.h"
#include "policy.h"
#include "rules.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SGD_STORE_DB_NAME	"strigil.db"
#define SGD_STORE_SCHEMA_VERSION 6
#define SGD_SERIAL_MAX		32	/* incl. NUL */
#define SGD_ACTOR_MAX		64	/* "uid:1000" or a user name */
#define SGD_REASONS_MAX		2048	/* reasons text of a session */
#define SGD_CONDITIONS_TEXT_MAX	512

struct sgd_store;
struct sgd_audit;

/*
 * Opens (creating if needed) <state_dir>/strigil.db; the directory must
 * exist. Sets WAL, synchronous=FULL, foreign keys, busy timeout, and
 * migrates the schema to SGD_STORE_SCHEMA_VERSION in one transaction.
 * On failure err holds a message and nothing is left open.
 */
int sgd_store_open(const char *state_dir, struct sgd_store **out,
		   char *err, size_t errlen);
/*
 * The state directory and the database files (strigil.db, -wal, -shm):
 * owned by this process's uid (else -EPERM: patient data another user
 * controls), directory 0700, files 0600 (fixed with chmod, counted in
 * *fixed), no links or devices. err says what is wrong.
 */
int sgd_store_secure_dir(const char *state_dir, unsigned *fixed, char *err, size_t errlen);
/* A damaged database (sgd_store_open gave -EBADMSG) is moved aside, never
 * deleted: strigil.db -> strigil.db.damaged-<UTC time> (and its -wal,
 * -shm). moved gets the new name. 0 or a negative errno. */
int sgd_store_move_aside(const char *state_dir, int64_t now_us, char *moved, size_t movedlen);
/* Same with an explicit database file name. */
int sgd_store_open_file(const char *db_path, struct sgd_store **out,
			char *err, size_t errlen);
/*
 * A second connection to owner's database for another thread (strigild's
 * storage writer, store-writer.h): same pragmas, no migration, its
 * commits wake owner's checkpointer. Close it (sgd_store_close) before
 * owner. Each connection is used by one thread at a time.
 */
int sgd_store_open_peer(struct sgd_store *owner, struct sgd_store **out,
			char *err, size_t errlen);
void sgd_store_close(struct sgd_store *s);
const char *sgd_store_errmsg(const struct sgd_store *s);
/* Busy timeout in milliseconds (default 5000): how long a write waits
 * for another connection's lock before failing with -EBUSY. */
int sgd_store_set_busy_timeout(struct sgd_store *s, int ms);
/*
 * The event loop's connection: a write that meets a lock waits (up to
 * max_wait_ms) only while the store's writer thread runs a job that is
 * not itself blocked - the lock is then the writer's, held for a commit;
 * another process's lock is given up after 2 ms (-EBUSY), so that the
 * loop, which also carries the alarm path, never waits for it.
 */
int sgd_store_loop_busy(struct sgd_store *s, int max_wait_ms);
/* The writer thread, around each job on its peer connection. */
void sgd_store_peer_working(struct sgd_store *peer, bool working);
/*
 * Gives an empty write-ahead log its working size (a few MB of zeros)
 * so that commits overwrite the file instead of extending it: their
 * fsync then flushes data only, not the file's size (about half the
 * time on ext4). The daemon calls it once after opening; the file is
 * kept across restarts. Returns 0 (also when the WAL already has that
 * size), -EBUSY when another connection is using the WAL (nothing
 * changed), or an I/O error; it is an optimisation, failure is harmless.
 */
int sgd_store_prepare_wal(struct sgd_store *s);
/* The WAL's working size in bytes (what sgd_store_prepare_wal gives it,
 * and what it is trimmed back to after it grew). */
int64_t sgd_store_wal_size(struct sgd_store *s);
/* Wakes the checkpointer thread if a commit found the WAL due for a
 * checkpoint. Call it when latency-critical work is done (strigild: after
 * a block's signals); a WAL four times the threshold wakes it anyway. */
void sgd_store_kick(struct sgd_store *s);
/* The database file's path. */
const char *sgd_store_path(const struct sgd_store *s);
/* Bytes of the write-ahead log that the last checkpoint could not copy
 * into the database (another connection's read snapshot holds them): 0
 * when it copied everything. */
int64_t sgd_store_wal_held_bytes(struct sgd_store *s);
/* Copies every committed frame of the WAL into the database file and
 * syncs it (SQLITE_CHECKPOINT_FULL; waits for writers up to the busy
 * timeout). -EBUSY when a reader kept part of it in the WAL. */
int sgd_store_checkpoint_full(struct sgd_store *s);
/* How many checkpoints the store's checkpointer thread has run. */
int sgd_store_checkpoints(struct sgd_store *s);
/* PRAGMA user_version of the open database. */
int sgd_store_schema_version(struct sgd_store *s);

/*
 * Startup recovery: sessions left "running" or "paused" by a previous
 * daemon become "interrupted" with ended_us = now_us. Returns how many.
 */
int sgd_store_mark_interrupted(struct sgd_store *s, int64_t now_us);

/* ======================================================================
 * Profiles (struct sgd_profile from rules.h; validate before storing)
 * ==================================================================== */

/* Sets p->id, created_us, updated_us. -EEXIST if a live profile has the
 * same patient_ref. */
int sgd_store_profile_create(struct sgd_store *s, struct sgd_profile *p,
			     int64_t now_us);
/* Replaces every field of profile p->id (sets updated_us). */
int sgd_store_profile_update(struct sgd_store *s, struct sgd_profile *p,
			     int64_t now_us);
/* Soft delete: sessions keep their history; get/list no longer see it. */
int sgd_store_profile_delete(struct sgd_store *s, int64_t id, int64_t now_us);
int sgd_store_profile_get(struct sgd_store *s, int64_t id,
			  struct sgd_profile *out);
/* Every live profile's id, ascending (*out malloc'ed; NULL when none). */
int sgd_store_profile_ids(struct sgd_store *s, int64_t **out, size_t *n);
/* The live profile whose patient reference is exactly patient_ref (byte
 * for byte; "12" is a reference, not an id): *id, or -ENOENT. */
int sgd_store_profile_find_ref(struct sgd_store *s, const char *patient_ref,
			       int64_t *id);
/* One page of the live profiles' ids in patient_ref order (byte order),
 * at most limit from offset; query "" = all, else the profiles whose
 * patient_ref starts with it or whose display_name contains it (ASCII
 * letters match either case). *total = how many match; only the page is
 * read into memory. query must be sgd_profile_query_valid(). */
int sgd_store_profile_page(struct sgd_store *s, const char *query, uint32_t offset,
			   uint32_t limit, int64_t **ids, size_t *n, uint32_t *total);
/* Live profiles by id; *out is malloc'ed (free()), *n set. */
int sgd_store_profile_list(struct sgd_store *s, struct sgd_profile **out,
			   size_t *n);

/* ======================================================================
 * Sessions
 * ==================================================================== */

enum sgd_session_state {
	SGD_SESSION_RUNNING = 0,
	SGD_SESSION_PAUSED,
	SGD_SESSION_FINISHED,
	SGD_SESSION_INTERRUPTED,	/* daemon died while running/paused */
	SGD_SESSION_ABORTED,		/* stopped by the daemon (e.g. refused later) */
};

const char *sgd_session_state_str(enum sgd_session_state st);	/* "running" */
/* Returns the state or -EINVAL. */
int sgd_session_state_from_str(const char *s);

/* Session flags (bit set). */
#define SGD_SESSION_F_UNCALIBRATED	0x1	/* started without calibration */
#define SGD_SESSION_F_CAL_EXPIRED	0x2	/* started with expired calibration */
#define SGD_SESSION_F_OVERRIDE		0x4	/* contraindication overridden */
#define SGD_SESSION_F_RECORDS_LOST	0x10	/* records could not be stored
						 * (storage failed beyond the
						 * daemon's bounded queue) */
#define SGD_SESSION_F_PRECAUTION	0x8	/* a precaution (or overridden
						 * contraindication) lowered a cap at
						 * some time during the session */

struct sgd_session {
	int64_t id;
	int64_t profile_id;
	char instrument[SGD_SERIAL_MAX];	/* instrument serial */
	char region[SGD_REGION_MAX];		/* current region */
	enum sgd_session_state state;
	uint32_t flags;				/* SGD_SESSION_F_* */
	int64_t started_us;
	int64_t ended_us;			/* 0 while not ended */
	int64_t updated_us;
	double limit_n;				/* current effective limit */
	char reasons[SGD_REASONS_MAX];		/* sgd_limits_reasons_str() */
	uint32_t max_strokes;			/* effective caps, 0 = none */
	double max_load_s;
	/* Summary, kept by sgd_store_session_update/finish. */
	uint32_t stroke_count;
	uint32_t violation_count;
	double load_s;				/* seconds under load */
	double peak_n;				/* highest stroke peak */
	/* Read only (from the profile row, deleted or not): whose session. */
	char patient_ref[SGD_PATIENT_REF_MAX];
};

/*
 * Sets se->id. state is normally RUNNING. If override is not NULL (a
 * contraindication was overridden), the audit row is stored in the same
 * transaction with session_id = se->id, and override->id is set: there
 * is never an overridden session without its audit record.
 */
int sgd_store_session_create(struct sgd_store *s, struct sgd_session *se,
			     struct sgd_audit *override);
/* Writes the mutable fields of se->id: state, flags, region, limit_n,
 * reasons, caps, ended_us, summary; updated_us = now_us. */
int sgd_store_session_update(struct sgd_store *s,
			     const struct sgd_session *se, int64_t now_us);
int sgd_store_session_set_state(struct sgd_store *s, int64_t id,
				enum sgd_session_state st, int64_t now_us);
/* Ends a session (FINISHED or ABORTED) with its summary recomputed from
 * the stored strokes and violations; *out (optional) gets the row. */
int sgd_store_session_finish(struct sgd_store *s, int64_t id,
			     enum sgd_session_state st, int64_t now_us,
			     struct sgd_session *out);
int sgd_store_session_get(struct sgd_store *s, int64_t id,
			  struct sgd_session *out);
/* Every session's id, ascending (*out malloc'ed; NULL when none). */
int sgd_store_session_ids(struct sgd_store *s, int64_t **out, size_t *n);
/* One page of the sessions' ids, newest first (limit rows from offset;
 * *out malloc'ed, NULL when none); *total = how many sessions exist. */
int sgd_store_session_page(struct sgd_store *s, uint32_t offset, uint32_t limit,
			   int64_t **out, size_t *n, uint32_t *total);
/* By id; profile_id 0 = all. *out malloc'ed. */
int sgd_store_session_list(struct sgd_store *s, int64_t profile_id,
			   struct sgd_session **out, size_t *n);

/* ======================================================================
 * Strokes and violations (committed and fsync'ed before returning)
 * ==================================================================== */

struct sgd_stroke_row {
	int64_t id;
	int64_t session_id;
	int64_t wall_us;			/* when stored */
	char region[SGD_REGION_MAX];		/* the treated site, "calf:left" */
	enum sgd_side side;			/* from region; UNKNOWN before schema 3 */
	struct sg_stroke stroke;		/* .limit_n: the cap in force */
	bool has_cap_reasons;			/* false before schema 3 */
	char cap_reasons[SGD_REASONS_MAX];	/* why that cap, one per line */
};

/* Returns 0 and sets *row_id (optional). region is the treated site
 * ("calf:left", "neck"); the side column is derived from it. */
int sgd_store_add_stroke(struct sgd_store *s, int64_t session_id,
			 const char *region, const struct sg_stroke *st,
			 int64_t wall_us, int64_t *row_id);
/* The same with the reasons of the cap in force (st->limit_n), as
 * sgd_limits_reasons_str() gives them; NULL = not recorded. */
int sgd_store_add_stroke_ex(struct sgd_store *s, int64_t session_id,
			    const char *region, const char *cap_reasons,
			    const struct sg_stroke *st, int64_t wall_us,
			    int64_t *row_id);
int sgd_store_session_strokes(struct sgd_store *s, int64_t session_id,
			      struct sgd_stroke_row **out, size_t *n);

struct sgd_violation {
	int64_t id;
	int64_t session_id;
	int64_t wall_us;
	char region[SGD_REGION_MAX];
	enum sg_event_type type;	/* WARNING, EXCEEDED, CAP_STROKES, CAP_TIME */
	double t_s;			/* engine time */
	double force_n;
	double limit_n;			/* the cap in force */
	enum sgd_side side;		/* read only: from region (UNKNOWN before schema 3) */
	double start_s;			/* engine start of the stroke it fell in, NaN = unknown */
	bool has_cap_reasons;
	char cap_reasons[SGD_REASONS_MAX];	/* why that cap, one per line */
};

/* v->id is set on success. */
int sgd_store_add_violation(struct sgd_store *s, struct sgd_violation *v);

/* One durable commit (one fsync) for several single-statement calls:
 * sgd_store_add_stroke, sgd_store_add_violation, sgd_store_session_update
 * (not the calls that run their own transaction). sgd_store_end(s, r)
 * commits if r >= 0, else rolls back everything since sgd_store_begin;
 * returns r, or the commit's error (then nothing was stored). The daemon
 * stores a record and the session summary it changes together this way. */
int sgd_store_begin(struct sgd_store *s);
int sgd_store_end(struct sgd_store *s, int r);
int sgd_store_session_violations(struct sgd_store *s, int64_t session_id,
				 struct sgd_violation **out, size_t *n);

/* ======================================================================
 * Calibration history, instruments, audit of overrides
 * ==================================================================== */

struct sgd_calibration_rec {
	int64_t id;
	char instrument[SGD_SERIAL_MAX];
	int64_t written_us;		/* when it was written/recorded */
	char actor[SGD_ACTOR_MAX];	/* who wrote it ("" = read from device) */
	struct sg_calibration cal;
};

int sgd_store_calibration_add(struct sgd_store *s,
			      struct sgd_calibration_rec *rec);
/* Newest first; instrument NULL = all. *out malloc'ed. */
int sgd_store_calibration_list(struct sgd_store *s, const char *instrument,
			       struct sgd_calibration_rec **out, size_t *n);

struct sgd_instrument_rec {
	char serial[SGD_SERIAL_MAX];
	char model[SGD_SERIAL_MAX];
	char firmware[SGD_SERIAL_MAX];
	int64_t first_seen_us;
	int64_t last_seen_us;
};

/* Inserts or refreshes (model, firmware, last_seen; first_seen kept). */
int sgd_store_instrument_seen(struct sgd_store *s,
			      const struct sgd_instrument_rec *r);
int sgd_store_instrument_get(struct sgd_store *s, const char *serial,
			     struct sgd_instrument_rec *out);

struct sgd_audit {
	int64_t id;
	int64_t at_us;
	char actor[SGD_ACTOR_MAX];		/* who authorized */
	char action[SGD_NAME_MAX];		/* "override_contraindication" */
	int64_t profile_id;			/* 0 = none */
	int64_t session_id;			/* 0 = none */
	char conditions[SGD_CONDITIONS_TEXT_MAX]; /* "open_wound, dvt" */
	char reason[SGD_OVERRIDE_REASON_MAX];
};

/* a->id set on success. actor, action and reason are required. */
int sgd_store_audit_add(struct sgd_store *s, struct sgd_audit *a);
/* Newest first; session_id 0 = all. *out malloc'ed. */
int sgd_store_audit_list(struct sgd_store *s, int64_t session_id,
			 struct sgd_audit **out, size_t *n);

/* ======================================================================
 * Pauses (records of their own) and a patient's history
 * ==================================================================== */

struct sgd_pause {
	int64_t id;
	int64_t session_id;
	char reason[SGD_NAME_MAX];	/* "pause" (asked), "unplugged" */
	double start_s, end_s;		/* engine time; end NaN = unknown (open, or
					 * the daemon died during the pause) */
	int64_t start_us, end_us;	/* wall clock; end 0 = still paused */
};

/* p->id set. */
int sgd_store_pause_begin(struct sgd_store *s, struct sgd_pause *p);
/* Ends the open pause of a session, if any (0 also when none was open):
 * strigild's storage writer does not know the pause's id yet when it
 * queues its end. */
int sgd_store_pause_end_open(struct sgd_store *s, int64_t session_id, double end_s,
			     int64_t end_us);
int sgd_store_session_pauses(struct sgd_store *s, int64_t session_id,
			     struct sgd_pause **out, size_t *n);

/* A profile's sessions newest first (started, then id), one page of at
 * most limit from offset: only that page is read. *total = all of them. */
int sgd_store_profile_sessions(struct sgd_store *s, int64_t profile_id,
			       uint32_t offset, uint32_t limit,
			       int64_t **ids, size_t *n, uint32_t *total);

struct sgd_region_hist {
	int64_t session_id;
	int64_t started_us;
	char region[SGD_REGION_MAX];	/* the treated site as stored */
	enum sgd_side side;
	uint32_t strokes;
	double peak_n;			/* highest stroke peak (NaN: no stroke) */
	double mean_n;			/* mean of the strokes' mean forces (NaN: none) */
	double impulse_ns;		/* sum of the strokes' impulses */
	uint32_t violations;		/* exceeded events at that site */
};

/* One row per (session, site) with strokes or exceeded events, newest
 * session first; kept up to date by triggers (table session_sites), so
 * reading costs the visits and sites, not the strokes. */
int sgd_store_region_history(struct sgd_store *s, int64_t profile_id,
			     struct sgd_region_hist **out, size_t *n);

/* ======================================================================
 * Clinic network (docs/network.md): every profile and session has a
 * random UUID (schema 5) that names it across the clinic's PCs; a profile
 * has a review state: "" or "merged" (offline edits of two PCs were
 * merged; a clinician confirms).
 * ==================================================================== */

#define SGD_UUID_MAX	37	/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" + NUL */
#define SGD_REVIEW_MAX	16
#define SGD_REVIEW_MERGED "merged"

/* The uuid and review state of profile id (live or deleted). */
int sgd_store_profile_sync_info(struct sgd_store *s, int64_t id,
				char uuid[SGD_UUID_MAX], char review[SGD_REVIEW_MAX]);
int sgd_store_session_uuid(struct sgd_store *s, int64_t id, char uuid[SGD_UUID_MAX]);
/* The profile (live or deleted, *deleted says) with that uuid; -ENOENT. */
int sgd_store_profile_by_uuid(struct sgd_store *s, const char *uuid, int64_t *id,
			      bool *deleted);
/* Sets the review state of a live profile (updated_us = now_us). */
int sgd_store_profile_set_review(struct sgd_store *s, int64_t id, const char *review,
				 int64_t now_us);
/*
 * A profile from the clinic network, in one transaction: the profile with
 * that uuid gets every field of p and the review state (a deleted one is
 * live again), or it is created with that uuid. Sets p->id and *created
 * (optional). -EEXIST when another live profile has p's patient_ref.
 */
int sgd_store_profile_put_remote(struct sgd_store *s, const char *uuid,
				 struct sgd_profile *p, const char *review,
				 int64_t now_us, bool *created);

#ifdef __cplusplus
}
#endif

#endif /* STRIGIL_DAEMON_STORAGE_H */
