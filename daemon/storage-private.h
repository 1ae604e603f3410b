/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside strigild's storage: what the storage-*.c files share and nobody
 * else sees (storage.h is the module's interface). The files:
 *
 *   storage.c             opening and closing: the database file created
 *                         private, connection settings, a peer connection
 *                         for the writer thread, the files' owner and mode,
 *                         a damaged database moved aside
 *   storage-schema.c      the schema: migrations[] and the checks at open
 *                         (quick_check, every table present)
 *   storage-stmt.c        the statement cache (every cached statement's SQL
 *                         by id) and the helpers that run SQL: errors mapped
 *                         to errno, stepping, transactions, reading lists
 *   storage-wal.c         WAL upkeep: the checkpointer thread, the WAL kept
 *                         at its working size
 *   storage-profiles.c    patient profiles with their region caps and
 *                         conditions
 *   storage-sessions.c    session rows, their states, startup recovery
 *   storage-strokes.c     strokes (with their burst, pass and end)
 *   storage-violations.c  warnings and exceeded caps
 *   storage-pauses.c      pauses of a session
 *   storage-instruments.c instruments seen and their calibration history
 *   storage-audit.c       the audit of overrides
 *   storage-history.c     a patient's history: sessions paged, per-site sums
 *   storage-network.c     the clinic network's global ids, remote profiles
 *
 * Every error path sets s->err (store_set_err, store_sql_err) and returns
 * a negative errno, as storage.h promises.
 */
#ifndef STRIGIL_DAEMON_STORAGE_PRIVATE_H
#define STRIGIL_DAEMON_STORAGE_PRIVATE_H

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "storage.h"

#define BUSY_TIMEOUT_MS 5000

/* ======================================================================
 * The store
 * ==================================================================== */

/* Every cached statement, by id; its SQL is in storage-stmt.c. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PROFILE_INSERT,
	ST_PROFILE_UPDATE,
	ST_PROFILE_DELETE,
	ST_PROFILE_GET,
	ST_PROFILE_LIST,
	ST_PROFILE_IDS,
	ST_PROFILE_FIND_REF,
	ST_PROFILE_PAGE,
	ST_PROFILE_PAGE_COUNT,
	ST_PRC_DELETE,
	ST_PRC_INSERT,
	ST_PRC_GET,
	ST_PCOND_DELETE,
	ST_PCOND_INSERT,
	ST_PCOND_GET,
	ST_SESSION_INSERT,
	ST_SESSION_UPDATE,
	ST_SESSION_SET_STATE,
	ST_SESSION_FINISH,
	ST_SESSION_GET,
	ST_SESSION_LIST,
	ST_SESSION_LIST_PROFILE,
	ST_SESSION_IDS,
	ST_SESSION_INTERRUPT,
	ST_SESSION_PAGE,
	ST_SESSION_COUNT,
	ST_STROKE_INSERT,
	ST_STROKE_LIST,
	ST_VIOLATION_INSERT,
	ST_VIOLATION_LIST,
	ST_PAUSE_INSERT,
	ST_PAUSE_END_OPEN,
	ST_PAUSE_LIST,
	ST_PAUSE_CLOSE_OPEN,
	ST_CAL_INSERT,
	ST_CAL_LIST,
	ST_CAL_LIST_ALL,
	ST_INSTR_UPSERT,
	ST_INSTR_GET,
	ST_AUDIT_INSERT,
	ST_AUDIT_LIST,
	ST_AUDIT_LIST_ALL,
	ST_PROFILE_SESSIONS,
	ST_PROFILE_SESSION_COUNT,
	ST_REGION_HISTORY,
	ST_COUNT
};

/* The checkpointer: a thread with its own connection copies the WAL
 * back into the database when it has grown, so a commit on the event
 * loop never waits for a checkpoint (storage-wal.c). */
struct checkpointer {
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started, wanted, quit;
	bool due;		/* writer's thread only: wake at the next kick */
	unsigned done;		/* checkpoints run */
	int log_frames;		/* the last checkpoint: frames in the WAL */
	int ckpt_frames;	/* ... and how many it could copy */
};

struct sgd_store {
	sqlite3 *db;
	char path[4096];
	sqlite3_stmt *stmt[ST_COUNT];
	char err[512];
	struct checkpointer ckpt;
	struct sgd_store *owner;	/* a peer connection: whose checkpointer */
	/* The owner (the event loop's connection) only: what its peer, the
	 * storage writer, is doing, so that a lock the loop meets is known
	 * as the writer's (wait: a commit takes milliseconds) or another
	 * process's (give up: it can last seconds). */
	atomic_int peer_state;		/* enum peer_state */
	int loop_wait_ms;		/* sgd_store_loop_busy(): longest wait */
	uint64_t busy_since_us;		/* the current lock wait's start */
};

enum peer_state {
	PEER_IDLE,			/* no job running */
	PEER_WRITING,			/* a job runs (holds or takes the lock) */
	PEER_BLOCKED,			/* a job waits for someone else's lock */
};

/* ======================================================================
 * Errors and SQL helpers (storage-stmt.c)
 * ==================================================================== */

/* A SQLite result code as a negative errno (0 for OK, ROW, DONE). */
int store_errno(int rc);
/* Keeps the message in s->err; returns r. */
int store_set_err(struct sgd_store *s, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps a SQLite failure to -errno with "what: sqlite message". */
int store_sql_err(struct sgd_store *s, int rc, const char *what);

/* The cached statement id, prepared on first use. */
int store_stmt(struct sgd_store *s, enum stmt_id id, sqlite3_stmt **out);
/* Finalizes every cached statement (before the connection closes). */
void store_stmt_finalize_all(struct sgd_store *s);

static inline void done_stmt(sqlite3_stmt *st)
{
	/* reset's return repeats the step error we already handled */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

/* Binding helpers: the first failing bind is remembered. */
struct binder {
	sqlite3_stmt *st;
	int rc;
};

static inline void b_int(struct binder *b, int i, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->st, i, v);
}

static inline void b_dbl(struct binder *b, int i, double v)
{
	if (b->rc != SQLITE_OK)
		return;
	/* SQLite stores NaN as NULL; say so explicitly */
	b->rc = isnan(v) ? sqlite3_bind_null(b->st, i) :
		sqlite3_bind_double(b->st, i, v);
}

static inline void b_txt(struct binder *b, int i, const char *v, size_t max)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_text(b->st, i, v, (int)strnlen(v, max),
					  SQLITE_TRANSIENT);
}

static inline void b_blob(struct binder *b, int i, const void *v, size_t n)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_blob(b->st, i, v, (int)n, SQLITE_TRANSIENT);
}

#define B_TXT(b, i, field) b_txt(b, i, field, sizeof(field))

static inline void col_txt(sqlite3_stmt *st, int i, char *dst, size_t dstlen)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? strnlen((const char *)t, dstlen - 1) : 0;

	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

static inline double col_dbl(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(st, i);
}

/* The side of a stored site ('left', 'right', '' midline, else unknown). */
enum sgd_side store_col_side(sqlite3_stmt *st, int i);

/* Runs a statement that returns no rows (b NULL: nothing bound). */
int store_step_done(struct sgd_store *s, sqlite3_stmt *st, struct binder *b,
		    const char *what);

int store_tx_begin(struct sgd_store *s);
int store_tx_commit(struct sgd_store *s);
/* Rolls back after an error; keeps the first error's message; returns r. */
int store_tx_rollback(struct sgd_store *s, int r);

/* Fills one zeroed list element from the current row of a query. */
typedef void (*row_reader)(sqlite3_stmt *st, void *elem);

/*
 * The list queries: runs st, whose parameters b bound (b->rc says whether
 * they all were), to its end and returns a malloc'ed array of one element
 * per row, each zeroed and then filled by read. st is reset in every case.
 */
int store_list_rows(struct sgd_store *s, sqlite3_stmt *st, const struct binder *b,
		    size_t elem, row_reader read, const char *what, void **out, size_t *n);
/*
 * The one row of a by-id query (stmt id: ?1 is the id) into out, filled by
 * read; -ENOENT "no <noun> <id>" when there is none.
 */
int store_get_row_by_id(struct sgd_store *s, enum stmt_id which, int64_t id,
			row_reader read, void *out, const char *noun);
/* The cached statement which in b, its ?1 bound to id (b->rc says whether
 * that bind worked, as with every binder). */
int store_stmt_id(struct sgd_store *s, enum stmt_id which, int64_t id, struct binder *b);
/* store_list_rows of a query whose one parameter (?1) is an id: a
 * session's strokes, violations, pauses, a profile's history. */
int store_list_by_id(struct sgd_store *s, enum stmt_id which, int64_t id, size_t elem,
		     row_reader read, const char *what, void **out, size_t *n);
/* An id query's row: the int64 of its first column. */
void store_id_row(sqlite3_stmt *st, void *elem);
/* The ids of a parameterless id query, in its order. */
int store_list_ids(struct sgd_store *s, enum stmt_id which, const char *what,
		   int64_t **out, size_t *n);

/* Uncached SQL: connection settings, the schema, the WAL. */
int store_exec_sql(struct sgd_store *s, const char *sql, const char *what);
/* The integer a pragma query returns. */
int store_pragma_int(struct sgd_store *s, const char *sql, int *out);

/* ======================================================================
 * Opening: the schema (storage-schema.c) and the WAL (storage-wal.c)
 * ==================================================================== */

/* Takes the database to SGD_STORE_SCHEMA_VERSION in one transaction. */
int store_migrate(struct sgd_store *s);
/* quick_check and every table of the schema present; -EBADMSG if not. */
int store_integrity_check(struct sgd_store *s);

/* journal_mode=WAL, or an error. */
int store_set_wal(struct sgd_store *s);
/* The owner's checkpointer thread, replacing SQLite's autocheckpoint. */
int store_checkpointer_start(struct sgd_store *s);
void store_checkpointer_stop(struct sgd_store *s);
/* A peer connection keeps the WAL as the owner does; its commits wake
 * the owner's checkpointer. */
int store_wal_peer_init(struct sgd_store *s, struct sgd_store *owner);

/* ======================================================================
 * Record families used by another family's transaction
 * ==================================================================== */

/* storage-audit.c: the audit row of an override (session creation). */
int store_audit_insert(struct sgd_store *s, struct sgd_audit *a);

/* storage-profiles.c: a profile from the clinic network (storage-network.c). */
int store_profile_args_ok(struct sgd_store *s, const struct sgd_profile *p);
int store_profile_row_write(struct sgd_store *s, enum stmt_id id,
			    const struct sgd_profile *p, int64_t now_us);
int store_profile_children_write(struct sgd_store *s, const struct sgd_profile *p);

#endif
