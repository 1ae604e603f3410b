/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The storage writer (daemon/store-writer.c) on real SQLite: jobs come
 * back in submission order, each one stored; another connection holding
 * the write lock makes it "failing" and holds every job back (none lost,
 * none overtaking) until the lock is gone; the bound refuses with -ENOBUFS
 * and takes nothing; a job no retry can cure comes back with its error;
 * stopping while failing hands the rest back cancelled. No timing
 * assertions: waits are bounded guards only. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store-test.h"
#include "store-writer.h"

struct stroke_job {
	struct sgd_write_job base;
	int64_t session_id;
	uint32_t index;
	int fail_with;		/* a run that fails this way (0 = none) */
};

static int run_stroke(struct sgd_store *st, struct sgd_write_job *base)
{
	struct stroke_job *j = (struct stroke_job *)base;
	struct sg_stroke k;

	if (j->fail_with)
		return j->fail_with;
	make_stroke(&k, j->index, 5.0);
	return sgd_store_add_stroke(st, j->session_id, "calf", &k, 1000 + j->index, NULL);
}

static struct stroke_job *job(int64_t sid, uint32_t index, unsigned records)
{
	struct stroke_job *j = calloc(1, sizeof(*j));

	j->base.run = run_stroke;
	j->base.records = records;
	j->session_id = sid;
	j->index = index;
	return j;
}

/* Waits (a guard, not a measure: the writer's connection has a 5 s busy
 * timeout per attempt) for the writer's eventfd, then pops. */
static struct sgd_write_job *next_done(struct sgd_writer *w)
{
	struct pollfd p = { .fd = sgd_writer_fd(w), .events = POLLIN };
	struct sgd_write_job *j;
	int i;

	for (i = 0; i < 300; i++) {
		j = sgd_writer_pop(w);
		if (j)
			return j;
		poll(&p, 1, 100);
		sgd_writer_ack(w);
	}
	return NULL;
}

static bool wait_failing(struct sgd_writer *w, bool want)
{
	struct sgd_writer_status st;
	int i;

	for (i = 0; i < 3000; i++) {
		sgd_writer_status(w, &st);
		if (st.failing == want)
			return true;
		usleep(10000);
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	struct sgd_store *s = NULL;
	struct sgd_writer *w = NULL;
	struct sgd_writer_status st;
	struct sgd_profile p;
	struct sgd_session se;
	struct sgd_write_job *done;
	struct stroke_job *big[3];
	sqlite3 *lock = NULL;
	char dir[256], path[512], err[512] = "", msg[256];
	uint32_t i;
	int r;

	snprintf(dir, sizeof(dir), "%s/strigil-writer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/w.db", dir);
	r = sgd_store_open_file(path, &s, err, sizeof(err));
	CHECK(r == 0 && s, "open: %d %s", r, err);
	if (!s)
		return check_exit("test-store-writer");
	sgd_profile_init(&p);
	CHECK(sgd_profile_set_patient_ref(&p, "W-1", msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(sgd_store_profile_create(s, &p, 10) == 0, "%s", sgd_store_errmsg(s));
	memset(&se, 0, sizeof(se));
	se.profile_id = p.id;
	snprintf(se.instrument, sizeof(se.instrument), "SIM0001");
	snprintf(se.region, sizeof(se.region), "calf");
	se.state = SGD_SESSION_RUNNING;
	se.started_us = 100;
	se.limit_n = 8;
	CHECK(sgd_store_session_create(s, &se, NULL) == 0, "%s", sgd_store_errmsg(s));

	r = sgd_writer_new(s, 10, 100, &w, err, sizeof(err));
	CHECK(r == 0 && w, "writer: %d %s", r, err);
	if (!w)
		return check_exit("test-store-writer");
	sgd_writer_set_retry(w, 5, 20);

	/* in order, each stored (two rounds of the bound's 10 records) */
	for (i = 1; i <= 20; i++) {
		CHECK_EQ_INT(sgd_writer_submit(w, &job(se.id, i, 1)->base), 0);
		if (i % 10)
			continue;
		for (uint32_t k = i - 9; k <= i; k++) {
			done = next_done(w);
			CHECK(done && ((struct stroke_job *)done)->index == k && done->result == 0,
			      "job %u back in order, stored (%u, %d)", k,
			      done ? ((struct stroke_job *)done)->index : 0, done ? done->result : -1);
			free(done);
		}
	}
	CHECK_EQ_INT(count_strokes(s, se.id), 20);

	/* another process's write lock: failing, nothing back, nothing lost */
	CHECK(sqlite3_open(path, &lock) == SQLITE_OK, "second connection");
	CHECK(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "lock");
	for (i = 21; i <= 25; i++)
		CHECK_EQ_INT(sgd_writer_submit(w, &job(se.id, i, 1)->base), 0);
	CHECK(wait_failing(w, true), "locked: the writer says it is failing");
	sgd_writer_status(w, &st);
	CHECK(st.error == -EBUSY && strstr(st.errmsg, "locked"), "locked: why (%d %s)", st.error,
	      st.errmsg);
	CHECK(st.jobs == 5 && st.records == 5, "locked: 5 jobs, 5 records waiting (%u, %u)",
	      st.jobs, st.records);
	CHECK(sgd_writer_pop(w) == NULL, "locked: no job comes back");
	/* the bound: 5 waiting, max 10 records: 5 more fit, 6 do not */
	big[0] = job(se.id, 26, 6);
	CHECK_EQ_INT(sgd_writer_submit(w, &big[0]->base), -ENOBUFS);
	big[1] = job(se.id, 26, 5);
	CHECK_EQ_INT(sgd_writer_submit(w, &big[1]->base), 0);
	big[2] = job(se.id, 27, 0);	/* a state job: only the job bound */
	CHECK_EQ_INT(sgd_writer_submit(w, &big[2]->base), 0);
	free(big[0]);
	CHECK(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK, "unlock");
	sqlite3_close(lock);
	for (i = 21; i <= 27; i++) {
		done = next_done(w);
		CHECK(done && ((struct stroke_job *)done)->index == i && done->result == 0,
		      "after the lock: job %u back in order, stored", i);
		free(done);
	}
	CHECK(wait_failing(w, false), "after the lock: not failing any more");
	CHECK_EQ_INT(count_strokes(s, se.id), 27);

	/* a job no retry can cure comes back with its error, the next goes on */
	{
		struct stroke_job *bad = job(se.id, 28, 1), *good = job(se.id, 28, 1);

		bad->fail_with = -EINVAL;
		CHECK_EQ_INT(sgd_writer_submit(w, &bad->base), 0);
		CHECK_EQ_INT(sgd_writer_submit(w, &good->base), 0);
		done = next_done(w);
		CHECK(done == &bad->base && done->result == -EINVAL, "a permanent error comes back");
		free(done);
		done = next_done(w);
		CHECK(done == &good->base && done->result == 0, "the next job is stored");
		free(done);
	}

	/* stopping while failing: the rest comes back cancelled, in order */
	CHECK(sqlite3_open(path, &lock) == SQLITE_OK, "second connection");
	CHECK(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "lock");
	for (i = 40; i < 43; i++)
		CHECK_EQ_INT(sgd_writer_submit(w, &job(se.id, i, 1)->base), 0);
	CHECK(wait_failing(w, true), "locked again: failing");
	CHECK_EQ_INT(sgd_writer_drain(w, 50), 3);
	sgd_writer_stop(w);
	for (i = 40; i < 43; i++) {
		done = sgd_writer_pop(w);
		CHECK(done && ((struct stroke_job *)done)->index == i && done->result == -ECANCELED,
		      "stopped: job %u cancelled, in order", i);
		free(done);
	}
	big[0] = job(se.id, 50, 1);
	CHECK_EQ_INT(sgd_writer_submit(w, &big[0]->base), -ESHUTDOWN);
	free(big[0]);
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
	sgd_writer_free(w);
	CHECK_EQ_INT(count_strokes(s, se.id), 28);
	sgd_store_close(s);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit("test-store-writer");
}
