/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The storage writer thread (see store-writer.h). One mutex guards the
 * two lists (waiting, done) and the status; the job being run stays at
 * the head of the waiting list, so the order of the commits - and of the
 * signals the loop sends after them - is the order of submission.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store-writer.h"

struct sgd_writer {
	struct sgd_store *st;		/* the writer's own connection */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* work, quit, or a job came back */
	int efd;
	bool started, quit;
	struct sgd_write_job *head, **tail;	/* waiting, head being run */
	struct sgd_write_job *done, **done_tail;
	unsigned max_records, max_jobs;
	unsigned retry_first_ms, retry_max_ms;
	struct sgd_writer_status status;
	char wal_path[4200];
	dev_t wal_dev;
	ino_t wal_ino;			/* 0 = not known */
};

static void notify(struct sgd_writer *w);

/* After a commit: is the WAL still the file SQLite writes? If not (it was
 * deleted or replaced under us), the commits since are only in an
 * unlinked file, lost at exit: copy them into the database now, and after
 * every job from now on. Writer thread only. */
static void wal_watch(struct sgd_writer *w)
{
	struct stat st;
	bool gone = stat(w->wal_path, &st) < 0;

	if (!gone && !w->wal_ino) {
		w->wal_dev = st.st_dev;
		w->wal_ino = st.st_ino;
		return;
	}
	if (!w->status.wal_lost && w->wal_ino &&
	    (gone || st.st_ino != w->wal_ino || st.st_dev != w->wal_dev)) {
		pthread_mutex_lock(&w->lock);
		w->status.wal_lost = true;
		pthread_mutex_unlock(&w->lock);
		notify(w);
	}
	if (w->status.wal_lost)
		(void)sgd_store_checkpoint_full(w->st);
}

static void notify(struct sgd_writer *w)
{
	uint64_t one = 1;

	/* an eventfd counter only overflows after 2^64 - 2 writes */
	(void)!write(w->efd, &one, sizeof(one));
}

/* Errors that no retry can cure: the job comes back with its error. */
static bool permanent(int r)
{
	return r == -EINVAL || r == -ENOENT || r == -EEXIST || r == -EPROTONOSUPPORT;
}

static void wait_ms(struct sgd_writer *w, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!w->quit && pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
		;
}

static void *writer_main(void *arg)
{
	struct sgd_writer *w = arg;
	unsigned delay = 0;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct sgd_write_job *job;
		int r;

		while (!w->head && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->head)
			break;		/* quit with nothing left */
		job = w->head;
		pthread_mutex_unlock(&w->lock);
		sgd_store_peer_working(w->st, true);
		r = job->run(w->st, job);
		if (r >= 0)
			wal_watch(w);
		sgd_store_peer_working(w->st, false);
		pthread_mutex_lock(&w->lock);
		job->attempts++;
		if (r < 0 && !permanent(r)) {
			bool changed = !w->status.failing || w->status.error != r;

			w->status.failing = true;
			w->status.error = r;
			w->status.failed_attempts++;
			snprintf(w->status.errmsg, sizeof(w->status.errmsg), "%s",
				 sgd_store_errmsg(w->st));
			if (changed || job->attempts == 1)
				notify(w);
			if (w->quit)
				break;	/* sgd_writer_stop: the rest is cancelled */
			delay = delay ? delay * 2 : w->retry_first_ms;
			if (delay > w->retry_max_ms)
				delay = w->retry_max_ms;
			wait_ms(w, delay);
			continue;
		}
		/* stored (or never storable): back to the loop, in order */
		delay = 0;
		job->result = r;
		if (r < 0)
			snprintf(job->errmsg, sizeof(job->errmsg), "%s", sgd_store_errmsg(w->st));
		w->head = job->next;
		if (!w->head)
			w->tail = &w->head;
		job->next = NULL;
		*w->done_tail = job;
		w->done_tail = &job->next;
		w->status.jobs--;
		w->status.records -= job->records;
		if (r >= 0)
			w->status.done++;
		if (w->status.failing && r >= 0) {
			w->status.failing = false;
			w->status.error = 0;
			w->status.errmsg[0] = 0;
		}
		pthread_cond_broadcast(&w->cond);	/* sgd_writer_drain */
		notify(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int sgd_writer_new(struct sgd_store *main, unsigned max_records, unsigned max_jobs,
		   struct sgd_writer **out, char *err, size_t errlen)
{
	struct sgd_writer *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int r;

	if (!w)
		return -ENOMEM;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-r));
		free(w);
		return r;
	}
	r = sgd_store_open_peer(main, &w->st, err, errlen);
	if (r < 0) {
		close(w->efd);
		free(w);
		return r;
	}
	w->tail = &w->head;
	w->done_tail = &w->done;
	snprintf(w->wal_path, sizeof(w->wal_path), "%s-wal", sgd_store_path(main));
	{
		struct stat wst;

		/* the WAL as it is now (strigild made it its working size) */
		if (stat(w->wal_path, &wst) == 0) {
			w->wal_dev = wst.st_dev;
			w->wal_ino = wst.st_ino;
		}
	}
	w->max_records = max_records;
	w->max_jobs = max_jobs;
	w->retry_first_ms = 100;
	w->retry_max_ms = 2000;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	/* no signals on this thread: sd-event's signalfd needs them blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		snprintf(err, errlen, "writer thread: %s", strerror(-r));
		sgd_writer_free(w);
		return r;
	}
	w->started = true;
	*out = w;
	return 0;
}

int sgd_writer_fd(const struct sgd_writer *w)
{
	return w->efd;
}

void sgd_writer_ack(struct sgd_writer *w)
{
	uint64_t n;

	(void)!read(w->efd, &n, sizeof(n));
}

int sgd_writer_submit(struct sgd_writer *w, struct sgd_write_job *job)
{
	int r = 0;

	pthread_mutex_lock(&w->lock);
	if (w->quit || !w->started)
		r = -ESHUTDOWN;
	else if (w->status.jobs + 1 > w->max_jobs ||
		 (job->records && w->status.records + job->records > w->max_records))
		r = -ENOBUFS;
	if (r == 0) {
		job->next = NULL;
		job->result = 0;
		job->attempts = 0;
		job->errmsg[0] = 0;
		*w->tail = job;
		w->tail = &job->next;
		w->status.jobs++;
		w->status.records += job->records;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

struct sgd_write_job *sgd_writer_pop(struct sgd_writer *w)
{
	struct sgd_write_job *job;

	pthread_mutex_lock(&w->lock);
	job = w->done;
	if (job) {
		w->done = job->next;
		if (!w->done)
			w->done_tail = &w->done;
		job->next = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	return job;
}

void sgd_writer_status(struct sgd_writer *w, struct sgd_writer_status *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->status;
	pthread_mutex_unlock(&w->lock);
}

void sgd_writer_set_retry(struct sgd_writer *w, unsigned first_ms, unsigned max_ms)
{
	pthread_mutex_lock(&w->lock);
	w->retry_first_ms = first_ms ? first_ms : 1;
	w->retry_max_ms = max_ms < w->retry_first_ms ? w->retry_first_ms : max_ms;
	pthread_mutex_unlock(&w->lock);
}

unsigned sgd_writer_drain(struct sgd_writer *w, unsigned timeout_ms)
{
	struct timespec ts;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (w->head && w->started &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
		;
	left = w->status.jobs;
	pthread_mutex_unlock(&w->lock);
	return left;
}

void sgd_writer_stop(struct sgd_writer *w)
{
	struct sgd_write_job *job;

	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
	/* what could not be stored comes back cancelled, in order */
	while ((job = w->head)) {
		w->head = job->next;
		job->next = NULL;
		job->result = -ECANCELED;
		snprintf(job->errmsg, sizeof(job->errmsg), "%s",
			 w->status.errmsg[0] ? w->status.errmsg : "the daemon stopped");
		*w->done_tail = job;
		w->done_tail = &job->next;
		w->status.jobs--;
		w->status.records -= job->records;
	}
	w->tail = &w->head;
}

void sgd_writer_free(struct sgd_writer *w)
{
	if (!w)
		return;
	sgd_writer_stop(w);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	sgd_store_close(w->st);
	close(w->efd);
	free(w);
}
