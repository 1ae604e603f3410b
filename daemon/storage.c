/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage on SQLite (WAL): opening and closing. See storage.h for
 * the contract and storage-private.h for the files of the module.
 *
 * Durability: journal_mode=WAL with synchronous=FULL fsyncs the WAL on
 * every commit, so a row is on stable storage when sqlite3_step() of its
 * (autocommit) INSERT or our COMMIT returned. NORMAL would survive a
 * process crash but could lose the last commits on power loss, and the
 * daemon signals strokes to clients as "recorded" right after the call.
 * At <= a few strokes per second the fsync cost is irrelevant.
 *
 * Patient data: the database is created private (0600) before SQLite
 * opens it; sgd_store_secure_dir() keeps the folder and files ours and
 * private; a damaged database is moved aside, never deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage-private.h"

int sgd_store_open_file(const char *db_path, struct sgd_store **out,
			char *err, size_t errlen)
{
	struct sgd_store *s;
	int rc, r, fd;

	if (!db_path || !*db_path || !out) {
		if (err && errlen)
			snprintf(err, errlen, "no database path");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", db_path);

	/* An existing file of 0 bytes is a truncated history, not a new one
	 * (strigild creates the file and its schema in one go at first start). */
	{
		struct stat est;

		if (stat(db_path, &est) == 0 && S_ISREG(est.st_mode) && est.st_size == 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s: damaged database: the file is empty "
					 "(0 bytes; truncated?)", db_path);
			free(s);
			return -EBADMSG;
		}
	}
	/* Patient data: create the file private before SQLite does (the
	 * -wal and -shm files inherit its mode). */
	fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", db_path, strerror(-r));
		free(s);
		return r;
	}
	close(fd);

	rc = sqlite3_open_v2(db_path, &s->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		r = s->db ? store_sql_err(s, rc, "open") :
			store_set_err(s, -ENOMEM, "open: out of memory");
		goto fail;
	}
	rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK) {
		r = store_sql_err(s, rc, "busy timeout");
		goto fail;
	}
	if ((r = store_set_wal(s)) ||
	    (r = store_exec_sql(s, "PRAGMA synchronous=FULL", "synchronous=FULL")) ||
	    (r = store_exec_sql(s, "PRAGMA foreign_keys=ON", "foreign_keys=ON")) ||
	    (r = store_migrate(s)) ||
	    (r = store_integrity_check(s)) ||
	    (r = store_checkpointer_start(s)))
		goto fail;
	*out = s;
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", db_path, s->err);
	store_stmt_finalize_all(s);
	sqlite3_close(s->db);
	free(s);
	return r;
}

int sgd_store_open_peer(struct sgd_store *owner, struct sgd_store **out,
			char *err, size_t errlen)
{
	struct sgd_store *s;
	int rc, r;

	if (!owner || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", owner->path);
	s->owner = owner;
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		r = s->db ? store_sql_err(s, rc, "open") :
			store_set_err(s, -ENOMEM, "open: out of memory");
		goto fail;
	}
	if ((r = sgd_store_set_busy_timeout(s, BUSY_TIMEOUT_MS)) ||
	    (r = store_exec_sql(s, "PRAGMA synchronous=FULL", "synchronous=FULL")) ||
	    (r = store_exec_sql(s, "PRAGMA foreign_keys=ON", "foreign_keys=ON")) ||
	    (r = store_wal_peer_init(s, owner)))
		goto fail;
	*out = s;
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", s->path, s->err);
	sqlite3_close(s->db);
	free(s);
	return r;
}

/* Owner and mode of one path: ours, and no access for group or others. */
static int secure_path(const char *path, bool dir, unsigned *fixed, char *err, size_t errlen)
{
	mode_t want = dir ? 0700 : 0600;
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT && !dir)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a %s (a link or a device is refused)", path,
			 dir ? "directory" : "regular file");
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s belongs to uid %u, not to strigild's uid %u: "
			 "refusing patient data another user controls (chown it)", path,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 07777) != want) {
		if (chmod(path, want) < 0) {
			snprintf(err, errlen, "%s: chmod %o: %s", path, (unsigned)want,
				 strerror(errno));
			return -errno;
		}
		(*fixed)++;
	}
	return 0;
}

int sgd_store_secure_dir(const char *state_dir, unsigned *fixed, char *err, size_t errlen)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char path[4096];
	size_t i;
	int r;

	*fixed = 0;
	r = secure_path(state_dir, true, fixed, err, errlen);
	for (i = 0; r >= 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", state_dir, SGD_STORE_DB_NAME, files[i]);
		r = secure_path(path, false, fixed, err, errlen);
	}
	return r;
}

int sgd_store_move_aside(const char *state_dir, int64_t now_us, char *moved, size_t movedlen)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char from[4096], to[4200], stamp[32];
	time_t t = (time_t)(now_us / 1000000);
	struct tm tm;
	size_t i;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%06dZ",
		 (int)(now_us % 1000000));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(from, sizeof(from), "%s/%s%s", state_dir, SGD_STORE_DB_NAME, files[i]);
		snprintf(to, sizeof(to), "%s/%s.damaged-%s%s", state_dir, SGD_STORE_DB_NAME, stamp,
			 files[i]);
		if (i == 0)
			snprintf(moved, movedlen, "%s", to);
		/* never deleted, never overwritten: link, then unlink */
		if (link(from, to) < 0) {
			if (errno == ENOENT && i > 0)
				continue;
			return -errno;
		}
		if (unlink(from) < 0)
			return -errno;
	}
	return 0;
}

int sgd_store_open(const char *state_dir, struct sgd_store **out, char *err,
		   size_t errlen)
{
	char path[4096];
	struct stat st;

	if (!state_dir || !*state_dir || !out) {
		if (err && errlen)
			snprintf(err, errlen, "no state directory");
		return -EINVAL;
	}
	if (stat(state_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int r = stat(state_dir, &st) < 0 ? -errno : -ENOTDIR;

		if (err && errlen)
			snprintf(err, errlen, "state directory %s: %s", state_dir,
				 strerror(-r));
		return r;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
			     SGD_STORE_DB_NAME) >= sizeof(path)) {
		if (err && errlen)
			snprintf(err, errlen, "state directory path too long");
		return -ENAMETOOLONG;
	}
	return sgd_store_open_file(path, out, err, errlen);
}

void sgd_store_close(struct sgd_store *s)
{
	if (!s)
		return;
	store_checkpointer_stop(s);
	/* With a size limit, closing a persistent WAL would cut it to zero
	 * bytes; without one it keeps its size (its frames are all in the
	 * database by then, and harmless to read again). */
	(void)sqlite3_exec(s->db, "PRAGMA journal_size_limit=-1", NULL, NULL, NULL);
	store_stmt_finalize_all(s);
	/* Closing the last connection checkpoints the WAL into the db (and
	 * keeps the file, PERSIST_WAL, for the next start). */
	if (sqlite3_close(s->db) != SQLITE_OK)
		(void)sqlite3_close_v2(s->db);
	free(s);
}

const char *sgd_store_path(const struct sgd_store *s)
{
	return s ? s->path : "";
}

int sgd_store_set_busy_timeout(struct sgd_store *s, int ms)
{
	int rc;

	if (!s || ms < 0)
		return -EINVAL;
	rc = sqlite3_busy_timeout(s->db, ms);
	return rc == SQLITE_OK ? 0 : store_sql_err(s, rc, "busy timeout");
}
