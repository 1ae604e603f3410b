/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The storage writer: a thread with its own database connection that runs
 * the daemon's record writes (strokes, violations, session summaries and
 * state changes) in order, so that the event loop - which carries the
 * alarm path: samples -> engine -> the tool's alert -> the Alert property -
 * never waits for a disk flush, a lock held by another process or a full
 * disk (docs/storage.md, "The storage writer").
 *
 * The loop submits jobs; the thread runs each job's run() (the job does
 * its own sgd_store_begin/end, so a job is one atomic commit) and hands
 * the job back through an eventfd, in submission order. A job that fails
 * with a transient error (-EBUSY, -ENOSPC, -EIO, -EROFS, -ENOMEM, ...)
 * stays at the head of the queue and is tried again with a growing pause
 * (0.1 s up to 2 s): the writer is then "failing" (sgd_writer_status),
 * and nothing behind it overtakes it. A job that can never succeed
 * (-EINVAL, -ENOENT, -EEXIST) comes back with its error.
 *
 * Memory is bounded: sgd_writer_submit refuses a job (-ENOBUFS, nothing
 * taken) when the records waiting would exceed the bound given at
 * creation; jobs with records = 0 (state changes) count only against the
 * job bound. Plain C and pthreads, no D-Bus.
 */
#ifndef STRIGIL_DAEMON_STORE_WRITER_H
#define STRIGIL_DAEMON_STORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "storage.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sgd_writer;

struct sgd_write_job {
	struct sgd_write_job *next;		/* the writer's */
	/* Runs on the writer's thread with the writer's connection: returns
	 * 0 or a negative errno (then nothing of it may be stored). */
	int (*run)(struct sgd_store *st, struct sgd_write_job *job);
	unsigned records;			/* toward the bound; 0 = state only */
	/* Set by the writer before the job comes back: */
	int result;
	unsigned attempts;
	char errmsg[256];
};

struct sgd_writer_status {
	bool failing;			/* the head job's last attempt failed */
	int error;			/* its errno (negative), 0 when not failing */
	char errmsg[256];		/* its message */
	unsigned jobs;			/* waiting (incl. the one being tried) */
	unsigned records;		/* records of those jobs */
	uint64_t failed_attempts;	/* since start */
	uint64_t done;			/* jobs stored since start */
	/* The write-ahead log was deleted (or replaced) under the daemon:
	 * SQLite goes on writing into the unlinked file, lost at exit. From
	 * then on every job is followed by a FULL checkpoint into the
	 * database file (slower, durable). Sticky until restart. */
	bool wal_lost;
};

/* Opens the writer's own connection (sgd_store_open_peer) and starts the
 * thread. max_records bounds the records waiting, max_jobs the jobs. */
int sgd_writer_new(struct sgd_store *main, unsigned max_records, unsigned max_jobs,
		   struct sgd_writer **out, char *err, size_t errlen);
/* Readable (EPOLLIN) when jobs came back or the status changed; read it
 * with sgd_writer_ack() before popping. */
int sgd_writer_fd(const struct sgd_writer *w);
void sgd_writer_ack(struct sgd_writer *w);
/* Queues job (the caller keeps ownership; it comes back through
 * sgd_writer_pop). -ENOBUFS: the bound would be exceeded, nothing taken;
 * -ESHUTDOWN: the writer is stopping. */
int sgd_writer_submit(struct sgd_writer *w, struct sgd_write_job *job);
/* The next finished job in submission order, or NULL. */
struct sgd_write_job *sgd_writer_pop(struct sgd_writer *w);
void sgd_writer_status(struct sgd_writer *w, struct sgd_writer_status *out);
/* Retry delays in ms (tests shorten them; defaults 100 and 2000). */
void sgd_writer_set_retry(struct sgd_writer *w, unsigned first_ms, unsigned max_ms);
/* Waits until every submitted job has come back or timeout_ms passed
 * (still failing): returns the jobs still waiting. The loop then pops. */
unsigned sgd_writer_drain(struct sgd_writer *w, unsigned timeout_ms);
/* Stops the thread. Jobs still queued are handed back with -ECANCELED
 * (sgd_writer_pop them before freeing w... see sgd_writer_stop). */
void sgd_writer_stop(struct sgd_writer *w);
void sgd_writer_free(struct sgd_writer *w);

#ifdef __cplusplus
}
#endif

#endif
