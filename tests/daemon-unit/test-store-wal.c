/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WAL upkeep of the store on real SQLite: sgd_store_prepare_wal gives an
 * empty WAL its working size and refuses (changing nothing) while another
 * connection uses it; the checkpointer thread, woken by sgd_store_kick()
 * once a commit found the WAL due, copies it back into the database; the
 * next commit starts the WAL again from its beginning and
 * trims it back to the working size; rows committed before a SIGKILL are
 * all there after a reopen of a prepared (zero-padded) WAL; the file is
 * kept across a clean close. */
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store-test.h"

static char dir[256];

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int64_t new_session(struct sgd_store *s, const char *ref)
{
	struct sgd_profile p;
	struct sgd_session se;
	char msg[256];

	sgd_profile_init(&p);
	CHECK(sgd_profile_set_patient_ref(&p, ref, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(sgd_store_profile_create(s, &p, 10) == 0, "%s", sgd_store_errmsg(s));
	memset(&se, 0, sizeof(se));
	se.profile_id = p.id;
	se.state = SGD_SESSION_RUNNING;
	snprintf(se.instrument, sizeof(se.instrument), "WAL0001");
	snprintf(se.region, sizeof(se.region), "calf");
	se.limit_n = 8;
	se.started_us = 1;
	CHECK(sgd_store_session_create(s, &se, NULL) == 0, "%s", sgd_store_errmsg(s));
	return se.id;
}

static int add_strokes(struct sgd_store *s, int64_t id, uint32_t from, uint32_t n)
{
	struct sg_stroke k;

	for (uint32_t i = from; i < from + n; i++) {
		make_stroke(&k, i, 4.0);
		if (sgd_store_add_stroke(s, id, "calf", &k, i, NULL))
			return -1;
	}
	return 0;
}

/* Another connection writes `bytes` of filler in one commit (its own
 * automatic checkpoint off): the WAL grows past its working size. */
static void grow_wal(const char *db, int bytes)
{
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_open_v2(db, &raw, SQLITE_OPEN_READWRITE, NULL);
	CHECK(rc == SQLITE_OK, "raw open: %s", sqlite3_errstr(rc));
	rc = sqlite3_exec(raw, "PRAGMA wal_autocheckpoint=0;"
			  "CREATE TABLE IF NOT EXISTS filler (b BLOB)", NULL, NULL, NULL);
	CHECK(rc == SQLITE_OK, "filler table: %s", sqlite3_errmsg(raw));
	rc = sqlite3_prepare_v2(raw, "INSERT INTO filler VALUES (zeroblob(?))", -1, &st, NULL);
	CHECK(rc == SQLITE_OK, "filler insert: %s", sqlite3_errmsg(raw));
	if (st) {
		sqlite3_bind_int(st, 1, bytes);
		rc = sqlite3_step(st);
		CHECK(rc == SQLITE_DONE, "filler insert: %s", sqlite3_errmsg(raw));
	}
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

/* The checkpointer runs on its own thread: wait for it (a condition with
 * a generous deadline, not a timing assertion). */
static int wait_checkpoints(struct sgd_store *s, int atleast)
{
	for (int i = 0; i < 12000; i++) {
		int n = sgd_store_checkpoints(s);

		if (n < 0 || n >= atleast)
			return n;
		nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
	}
	return sgd_store_checkpoints(s);
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	struct sgd_store *s = NULL, *s2 = NULL;
	char db[512], wal[520], db2[512], wal2[520], db3[512], wal3[520], err[512] = "";
	int64_t want, id, id3 = 0;
	off_t before;
	sqlite3 *reader = NULL;
	pid_t pid;
	int r, status = 0;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/strigil-storewal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/a.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(db2, sizeof(db2), "%s/b.db", dir);
	snprintf(wal2, sizeof(wal2), "%s-wal", db2);
	snprintf(db3, sizeof(db3), "%s/c.db", dir);
	snprintf(wal3, sizeof(wal3), "%s-wal", db3);

	CHECK_EQ_INT(sgd_store_prepare_wal(NULL), -EINVAL);
	CHECK_EQ_INT(sgd_store_checkpoints(NULL), -EINVAL);

	/* 1. a new store: the WAL gets its working size, once */
	r = sgd_store_open_file(db, &s, err, sizeof(err));
	CHECK(r == 0 && s, "open: %d %s", r, err);
	if (!s)
		return check_exit("test-store-wal");
	want = sgd_store_wal_size(s);
	CHECK(want > 1000 * 4096, "working size %lld bytes", (long long)want);
	CHECK(file_size(wal) < want, "new WAL smaller than its working size (%lld)",
	      (long long)file_size(wal));
	CHECK(sgd_store_prepare_wal(s) == 0, "prepare: %s", sgd_store_errmsg(s));
	CHECK_EQ_INT(file_size(wal), want);
	CHECK(sgd_store_prepare_wal(s) == 0, "again: %s", sgd_store_errmsg(s));
	CHECK_EQ_INT(file_size(wal), want);
	CHECK_EQ_INT(sgd_store_checkpoints(s), 0);
	id = new_session(s, "WAL-1");
	CHECK(add_strokes(s, id, 1, 20) == 0, "strokes: %s", sgd_store_errmsg(s));
	CHECK_EQ_INT(count_strokes(s, id), 20);
	CHECK_EQ_INT(file_size(wal), want);	/* commits overwrite, never extend */

	/* 2. the WAL grows past its size (another connection's big commit);
	 * our next commit finds it due, the kick wakes the checkpointer, which
	 * empties it into the database; the commit after that starts it again
	 * and trims it */
	grow_wal(db, 6 * 1024 * 1024);
	CHECK(file_size(wal) > want, "WAL grew to %lld", (long long)file_size(wal));
	CHECK(add_strokes(s, id, 21, 1) == 0, "stroke: %s", sgd_store_errmsg(s));
	/* due, but the thread waits for the kick (never inside a commit) */
	CHECK_EQ_INT(sgd_store_checkpoints(s), 0);
	sgd_store_kick(NULL);
	sgd_store_kick(s);
	CHECK(wait_checkpoints(s, 1) >= 1, "checkpointer ran (%d)", sgd_store_checkpoints(s));
	CHECK(add_strokes(s, id, 22, 1) == 0, "stroke: %s", sgd_store_errmsg(s));
	CHECK_EQ_INT(file_size(wal), want);
	CHECK_EQ_INT(count_strokes(s, id), 22);

	/* 3. a WAL in use by another connection is left alone: -EBUSY */
	r = sgd_store_open_file(db2, &s2, err, sizeof(err));
	CHECK(r == 0 && s2, "open b: %d %s", r, err);
	if (s2) {
		int64_t id2 = new_session(s2, "WAL-2");

		CHECK(sqlite3_open_v2(db2, &reader, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK,
		      "reader open");
		CHECK(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM sessions", NULL, NULL,
				   NULL) == SQLITE_OK, "reader: %s", sqlite3_errmsg(reader));
		before = file_size(wal2);
		r = sgd_store_prepare_wal(s2);
		CHECK(r == -EBUSY, "prepare with a reader: %d (%s)", r, sgd_store_errmsg(s2));
		CHECK_EQ_INT(file_size(wal2), before);
		sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(reader);
		CHECK(add_strokes(s2, id2, 1, 3) == 0, "strokes b: %s", sgd_store_errmsg(s2));
		CHECK_EQ_INT(count_strokes(s2, id2), 3);
		sgd_store_close(s2);
	}

	/* 4. SIGKILL after commits into a prepared WAL: all of them there */
	pid = fork();
	if (pid == 0) {
		struct sgd_store *c = NULL;

		if (sgd_store_open_file(db3, &c, err, sizeof(err)) || sgd_store_prepare_wal(c))
			_exit(3);
		if (add_strokes(c, new_session(c, "WAL-3"), 1, 50))
			_exit(4);
		raise(SIGKILL);
		_exit(5);
	}
	CHECK(pid > 0, "fork");
	if (pid > 0) {
		waitpid(pid, &status, 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "writer killed (status %#x)", status);
		CHECK_EQ_INT(file_size(wal3), want);
		s2 = NULL;
		r = sgd_store_open_file(db3, &s2, err, sizeof(err));
		CHECK(r == 0 && s2, "reopen after SIGKILL: %d %s", r, err);
		if (s2) {
			struct sgd_session *rows = NULL;
			size_t n = 0;

			CHECK(sgd_store_session_list(s2, 0, &rows, &n) == 0 && n == 1, "%zu sessions: %s",
			      n, sgd_store_errmsg(s2));
			if (n == 1)
				id3 = rows[0].id;
			free(rows);
			CHECK_EQ_INT(count_strokes(s2, id3), 50);
			sgd_store_close(s2);
		}
	}

	/* 5. a clean close keeps the WAL file at its size; a reopen sees all */
	sgd_store_close(s);
	s = NULL;
	CHECK_EQ_INT(file_size(wal), want);
	r = sgd_store_open_file(db, &s, err, sizeof(err));
	CHECK(r == 0 && s, "reopen: %d %s", r, err);
	if (s) {
		CHECK_EQ_INT(count_strokes(s, id), 22);
		CHECK(sgd_store_prepare_wal(s) == 0, "prepare after reopen: %s", sgd_store_errmsg(s));
		CHECK_EQ_INT(file_size(wal), want);
		sgd_store_close(s);
	}
	snprintf(db, sizeof(db), "rm -rf '%s'", dir);
	if (system(db) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit("test-store-wal");
}
