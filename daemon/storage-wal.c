/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: the WAL's upkeep (see the comment below) and the
 * checkpointer thread that keeps it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage-private.h"

int store_set_wal(struct sgd_store *s)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sql_err(s, rc, "journal_mode=WAL");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = store_sql_err(s, rc, "journal_mode=WAL");
	} else {
		mode = sqlite3_column_text(st, 0);
		if (!mode || strcmp((const char *)mode, "wal"))
			r = store_set_err(s, -EIO, "cannot switch to WAL (journal mode %s)",
					  mode ? (const char *)mode : "?");
	}
	sqlite3_finalize(st);
	return r;
}

/* ======================================================================
 * WAL upkeep
 *
 * A commit appends its pages to the WAL and fsyncs it. SQLite's own
 * automatic checkpoint would run inside the commit that crosses its
 * threshold (copying the WAL into the database and fsyncing that too):
 * a stall of milliseconds on the sample -> signal path. Instead the
 * automatic checkpoint is off on every connection of ours, the WAL hook
 * wakes a checkpointer thread on its own connection (PASSIVE: it never
 * blocks a writer), and the next write transaction after a complete
 * checkpoint starts the WAL again from its beginning.
 *
 * A commit that only overwrites blocks the WAL file already has costs
 * one data flush; one that extends the file also commits the new size
 * and blocks to the file system journal (ext4 on the bench machine:
 * fdatasync p50 0.19 ms vs 0.43 ms, docs/performance.md). So the WAL is
 * kept at its working size: SQLITE_FCNTL_PERSIST_WAL keeps the file when
 * the database closes, journal_size_limit trims it back to that size,
 * and sgd_store_prepare_wal() gives a new (empty) WAL that size once.
 * Bytes after the last valid frame are ignored by SQLite by design
 * (frames carry the header's salts and a running checksum).
 * ==================================================================== */

#define WAL_CHECKPOINT_FRAMES	1000	/* SQLite's default autocheckpoint */
#define WAL_KEEP_FRAMES		1280	/* working size, with headroom */
#define WAL_HEADER_BYTES	32
#define WAL_FRAME_HEADER_BYTES	24

static int64_t wal_bytes(struct sgd_store *s)
{
	int page = 4096;

	if (store_pragma_int(s, "PRAGMA page_size", &page) || page <= 0)
		page = 4096;
	return WAL_HEADER_BYTES + (int64_t)WAL_KEEP_FRAMES * (page + WAL_FRAME_HEADER_BYTES);
}

static void *checkpointer_main(void *arg)
{
	struct checkpointer *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		int log = -1, done = -1;

		while (!c->wanted && !c->quit)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->quit)
			break;
		c->wanted = false;
		pthread_mutex_unlock(&c->lock);
		/* a checkpoint that could not finish (a reader, a busy disk)
		 * is simply tried again at the next due kick */
		(void)sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE,
						&log, &done);
		pthread_mutex_lock(&c->lock);
		c->done++;
		c->log_frames = log;
		c->ckpt_frames = done;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void checkpointer_request(struct checkpointer *c)
{
	pthread_mutex_lock(&c->lock);
	c->wanted = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void checkpointer_wake(struct checkpointer *c)
{
	c->due = false;
	pthread_mutex_lock(&c->lock);
	c->wanted = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Runs on the writer's thread after each commit, outside its locks. The
 * wake-up itself waits for sgd_store_kick(): a thread woken inside the
 * commit can take the writer's CPU (make bench: a 1.4 ms commit on tmpfs)
 * before the caller has sent its signal. A WAL four times the threshold
 * (nobody kicks) wakes it at once. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct checkpointer *c = arg;

	(void)db;
	(void)schema;
	if (frames >= 4 * WAL_CHECKPOINT_FRAMES)
		checkpointer_wake(c);
	else if (frames >= WAL_CHECKPOINT_FRAMES)
		c->due = true;
	return SQLITE_OK;
}

/* A peer's commits (the storage writer's thread, never the event loop)
 * wake the owner's checkpointer themselves: nothing latency-critical
 * runs on that thread, and the loop's `due` flag stays the loop's. */
static int on_peer_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct checkpointer *c = arg;

	(void)db;
	(void)schema;
	if (frames >= WAL_CHECKPOINT_FRAMES)
		checkpointer_request(c);
	return SQLITE_OK;
}

void sgd_store_kick(struct sgd_store *s)
{
	if (s && s->ckpt.started && s->ckpt.due)
		checkpointer_wake(&s->ckpt);
}

static void persist_wal(sqlite3 *db)
{
	int on = 1;

	(void)sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
}

int store_wal_peer_init(struct sgd_store *s, struct sgd_store *owner)
{
	char sql[64];
	int r;

	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld", (long long)wal_bytes(owner));
	if ((r = store_exec_sql(s, sql, "journal_size_limit")))
		return r;
	persist_wal(s->db);
	sqlite3_wal_autocheckpoint(s->db, 0);
	if (owner->ckpt.started)
		sqlite3_wal_hook(s->db, on_peer_wal_commit, &owner->ckpt);
	return 0;
}

int store_checkpointer_start(struct sgd_store *s)
{
	struct checkpointer *c = &s->ckpt;
	sigset_t all, old;
	char sql[64];
	int rc, r;

	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld", (long long)wal_bytes(s));
	if ((r = store_exec_sql(s, sql, "journal_size_limit")))
		return r;
	persist_wal(s->db);
	rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = store_set_err(s, store_errno(rc) ? store_errno(rc) : -EIO,
				  "checkpoint connection: %s", c->db ? sqlite3_errmsg(c->db) :
				  "out of memory");
		sqlite3_close(c->db);
		c->db = NULL;
		return r;
	}
	sqlite3_wal_autocheckpoint(c->db, 0);
	persist_wal(c->db);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	/* The thread takes no signals: the daemon receives them through
	 * sd-event's signalfd, which needs them blocked in every thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&c->thread, NULL, checkpointer_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		sqlite3_close(c->db);
		c->db = NULL;
		return store_set_err(s, r, "checkpoint thread: %s", strerror(-r));
	}
	c->started = true;
	/* replaces SQLite's automatic checkpoint (also a WAL hook) */
	sqlite3_wal_autocheckpoint(s->db, 0);
	sqlite3_wal_hook(s->db, on_wal_commit, c);
	return 0;
}

void store_checkpointer_stop(struct sgd_store *s)
{
	struct checkpointer *c = &s->ckpt;

	if (!c->started)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	sqlite3_close(c->db);
	c->db = NULL;
	c->started = false;
}

int sgd_store_prepare_wal(struct sgd_store *s)
{
	static const char zeros[65536];
	char wal[sizeof(s->path) + 8];
	int64_t want, off;
	struct stat st;
	int rc, r, fd, log = -1, done = -1;

	if (!s)
		return -EINVAL;
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", s->path) >= sizeof(wal))
		return store_set_err(s, -ENAMETOOLONG, "WAL path too long");
	want = wal_bytes(s);
	if (stat(wal, &st) == 0 && st.st_size >= want)
		return 0;
	/* Only an empty WAL is touched: everything into the database, the
	 * file cut to zero, then the write lock so no other connection can
	 * start writing frames while the file is extended. */
	rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
	if (rc != SQLITE_OK)
		return store_sql_err(s, rc, "WAL checkpoint");
	if (log != 0)
		return store_set_err(s, -EBUSY, "WAL still in use by another connection");
	if ((r = store_exec_sql(s, "BEGIN IMMEDIATE", "begin WAL preparation")))
		return r;
	fd = open(wal, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = store_set_err(s, -errno, "%s: %s", wal, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || st.st_size != 0) {
		r = store_set_err(s, -EBUSY, "%s: written meanwhile", wal);
		goto out_close;
	}
	for (off = 0; off < want; ) {
		size_t n = want - off < (int64_t)sizeof(zeros) ? (size_t)(want - off) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = store_set_err(s, w < 0 ? -errno : -EIO, "%s: %s", wal,
					  w < 0 ? strerror(errno) : "short write");
			break;
		}
		off += w;
	}
	if (!r && fdatasync(fd) < 0)
		r = store_set_err(s, -errno, "%s: %s", wal, strerror(errno));
	if (r && ftruncate(fd, 0) < 0)
		r = store_set_err(s, r, "%s: cannot cut back: %s", wal, strerror(errno));
out_close:
	close(fd);
out:
	return store_tx_rollback(s, r);	/* nothing was written through SQLite */
}

int64_t sgd_store_wal_size(struct sgd_store *s)
{
	return s ? wal_bytes(s) : -EINVAL;
}

int sgd_store_checkpoints(struct sgd_store *s)
{
	int n;

	if (!s || !s->ckpt.started)
		return -EINVAL;
	pthread_mutex_lock(&s->ckpt.lock);
	n = (int)s->ckpt.done;
	pthread_mutex_unlock(&s->ckpt.lock);
	return n;
}

int64_t sgd_store_wal_held_bytes(struct sgd_store *s)
{
	int64_t held = 0;
	int page = 4096;

	if (!s || !s->ckpt.started)
		return -EINVAL;
	if (store_pragma_int(s, "PRAGMA page_size", &page) || page <= 0)
		page = 4096;
	pthread_mutex_lock(&s->ckpt.lock);
	if (s->ckpt.log_frames > 0 && s->ckpt.ckpt_frames >= 0 &&
	    s->ckpt.ckpt_frames < s->ckpt.log_frames)
		held = (int64_t)(s->ckpt.log_frames - s->ckpt.ckpt_frames) *
		       (page + WAL_FRAME_HEADER_BYTES);
	pthread_mutex_unlock(&s->ckpt.lock);
	return held;
}

int sgd_store_checkpoint_full(struct sgd_store *s)
{
	int rc, log = -1, done = -1;

	if (!s)
		return -EINVAL;
	rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_FULL, &log, &done);
	if (rc != SQLITE_OK)
		return store_sql_err(s, rc, "full checkpoint");
	return log == done ? 0 : store_set_err(s, -EBUSY, "checkpoint incomplete (%d of %d)",
					       done, log);
}
