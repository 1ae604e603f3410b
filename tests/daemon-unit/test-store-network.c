/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store's part of the clinic network (schemas 5, 6) on real SQLite: every
 * profile and session gets a distinct random UUID, also rows written before
 * the migration; a remote profile is created with its UUID or replaces the
 * one with that UUID (a deleted one comes back); a patient reference taken
 * by another live profile is refused and changes nothing; review state;
 * change_seq follows the order of commits, whatever time they carry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store-test.h"

static bool uuid_v4(const char *u)
{
	if (strlen(u) != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' ||
	    u[14] != '4' || !strchr("89ab", u[19]))
		return false;
	for (int i = 0; i < 36; i++)
		if (i != 8 && i != 13 && i != 18 && i != 23 && !strchr("0123456789abcdef", u[i]))
			return false;
	return true;
}

static void profile(struct sgd_profile *p, const char *ref)
{
	char msg[256];

	sgd_profile_init(p);
	CHECK(sgd_profile_set_patient_ref(p, ref, msg, sizeof(msg)) == 0, "%s", msg);
}

/* change_seq of one row, read on a connection of its own (as strigil-sync) */
static long long seq_of(const char *path, const char *table, int64_t id)
{
	char sql[128];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	snprintf(sql, sizeof(sql), "SELECT change_seq FROM %s WHERE id = %lld", table,
		 (long long)id);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[512], err[512] = "";
	char u1[SGD_UUID_MAX], u2[SGD_UUID_MAX], rv[SGD_REVIEW_MAX], su[SGD_UUID_MAX];
	struct sgd_store *s = NULL;
	struct sgd_profile p, q, got;
	struct sgd_session se;
	bool created = false, deleted = true;
	int64_t id = 0;
	sqlite3 *db;

	snprintf(dir, sizeof(dir), "%s/strigil-storenet-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* a version-1 database with data (the storage test's fixture): the
	 * migration gives every row a distinct UUID */
	snprintf(path, sizeof(path), "%s/old.db", dir);
	if (argc > 1) {
		char fixture[512], *sql = NULL;
		size_t len = 0;
		FILE *f;

		snprintf(fixture, sizeof(fixture), "%s/schema-v1.sql", argv[1]);
		f = fopen(fixture, "r");
		CHECK(f && getdelim(&sql, &len, '\0', f) > 0, "read %s", fixture);
		if (f)
			fclose(f);
		CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
		      sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "load fixture");
		sqlite3_close(db);
		free(sql);
		CHECK(sgd_store_open_file(path, &s, err, sizeof(err)) == 0, "migrate: %s", err);
		CHECK(sgd_store_profile_sync_info(s, 1, u1, rv) == 0 && uuid_v4(u1),
		      "migrated profile has a uuid (%s)", u1);
		CHECK(sgd_store_session_uuid(s, 1, u2) == 0 && uuid_v4(u2) &&
		      sgd_store_session_uuid(s, 2, su) == 0 && uuid_v4(su) && strcmp(u2, su),
		      "migrated sessions have distinct uuids (%s, %s)", u2, su);
		sgd_store_close(s);
		s = NULL;
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/net.db", dir);
	CHECK(sgd_store_open_file(path, &s, err, sizeof(err)) == 0 && s, "open: %s", err);
	if (!s)
		return check_exit("test-store-network");
	CHECK_EQ_INT(sgd_store_schema_version(s), SGD_STORE_SCHEMA_VERSION);

	profile(&p, "NET-1");
	CHECK(sgd_store_profile_create(s, &p, 10) == 0, "%s", sgd_store_errmsg(s));
	profile(&q, "NET-2");
	CHECK(sgd_store_profile_create(s, &q, 11) == 0, "%s", sgd_store_errmsg(s));
	CHECK(sgd_store_profile_sync_info(s, p.id, u1, rv) == 0 && uuid_v4(u1) && rv[0] == 0,
	      "profile has a v4 uuid (%s), no review", u1);
	CHECK(sgd_store_profile_sync_info(s, q.id, u2, rv) == 0 && uuid_v4(u2) && strcmp(u1, u2),
	      "distinct uuids (%s, %s)", u1, u2);
	CHECK(sgd_store_profile_by_uuid(s, u2, &id, &deleted) == 0 && id == q.id && !deleted,
	      "found by uuid");
	CHECK_EQ_INT(sgd_store_profile_by_uuid(s, "00000000-0000-4000-8000-000000000000", &id, NULL),
		     -ENOENT);

	memset(&se, 0, sizeof(se));
	se.profile_id = p.id;
	snprintf(se.instrument, sizeof(se.instrument), "SIM0001");
	snprintf(se.region, sizeof(se.region), "calf");
	se.started_us = 100;
	CHECK(sgd_store_session_create(s, &se, NULL) == 0, "%s", sgd_store_errmsg(s));
	CHECK(sgd_store_session_uuid(s, se.id, su) == 0 && uuid_v4(su), "session uuid %s", su);
	CHECK_EQ_INT(sgd_store_session_uuid(s, 999, su), -ENOENT);

	/* a remote profile: created with its uuid */
	{
		const char *ru = "0123abcd-0000-4000-8000-00000000beef";
		char rr[SGD_REVIEW_MAX];

		profile(&got, "NET-R");
		got.max_force_n = 7;
		CHECK(sgd_store_profile_put_remote(s, ru, &got, "", 20, &created) == 0 && created,
		      "remote created: %s", sgd_store_errmsg(s));
		CHECK(sgd_store_profile_by_uuid(s, ru, &id, NULL) == 0 && id == got.id, "by its uuid");
		/* replaced, marked merged */
		profile(&got, "NET-R");
		got.max_force_n = 5;
		CHECK(sgd_store_profile_put_remote(s, ru, &got, SGD_REVIEW_MERGED, 30, &created) == 0 &&
		      !created && got.id == id, "remote replaced: %s", sgd_store_errmsg(s));
		CHECK(sgd_store_profile_get(s, id, &got) == 0 && got.max_force_n == 5 &&
		      got.created_us == 20 && got.updated_us == 30, "fields replaced, creation kept");
		CHECK(sgd_store_profile_sync_info(s, id, su, rr) == 0 && !strcmp(rr, "merged"),
		      "review state stored (%s)", rr);
		CHECK(sgd_store_profile_set_review(s, id, "", 40) == 0, "confirm");
		CHECK(sgd_store_profile_sync_info(s, id, su, rr) == 0 && rr[0] == 0, "confirmed");
		/* deleted here, then an edit from elsewhere: live again */
		CHECK(sgd_store_profile_delete(s, id, 50) == 0, "delete");
		CHECK(sgd_store_profile_by_uuid(s, ru, &id, &deleted) == 0 && deleted, "tombstone");
		profile(&got, "NET-R");
		got.max_force_n = 4;
		CHECK(sgd_store_profile_put_remote(s, ru, &got, SGD_REVIEW_MERGED, 60, &created) == 0 &&
		      !created, "deleted profile comes back: %s", sgd_store_errmsg(s));
		CHECK(sgd_store_profile_get(s, id, &got) == 0 && got.max_force_n == 4, "live again");
		/* another live profile has the patient reference: refused, nothing changed */
		profile(&got, "NET-1");
		CHECK_EQ_INT(sgd_store_profile_put_remote(s, ru, &got, "", 70, NULL), -EEXIST);
		CHECK(sgd_store_profile_get(s, id, &got) == 0 && !strcmp(got.patient_ref, "NET-R") &&
		      got.max_force_n == 4, "refused change left the profile as it was");
		CHECK_EQ_INT(sgd_store_profile_put_remote(s, "0123abcd-0000-4000-8000-00000000bee",
							  &got, "", 70, NULL), -EINVAL);
	}
	/* change_seq: commit order, never the time a write carries (a
	 * writer's queue or a clock step back can stamp a later commit with
	 * an earlier time); strigil-sync's cursors depend on it */
	{
		struct sgd_session se2;
		long long a, b;

		a = seq_of(path, "profiles", p.id);
		b = seq_of(path, "profiles", q.id);
		CHECK(a > 0 && b > a, "profiles: created in order, sequence in order (%lld, %lld)",
		      a, b);
		CHECK(sgd_store_profile_update(s, &p, 5) == 0, "%s", sgd_store_errmsg(s));
		a = seq_of(path, "profiles", p.id);
		CHECK(a > b && a > seq_of(path, "profiles", id),
		      "an edit stamped earlier still comes after every commit before it (%lld)", a);
		memset(&se2, 0, sizeof(se2));
		se2.profile_id = q.id;
		snprintf(se2.instrument, sizeof(se2.instrument), "SIM0002");
		snprintf(se2.region, sizeof(se2.region), "calf");
		se2.started_us = 200;
		CHECK(sgd_store_session_create(s, &se2, NULL) == 0, "%s", sgd_store_errmsg(s));
		a = seq_of(path, "sessions", se.id);
		b = seq_of(path, "sessions", se2.id);
		CHECK(a > 0 && b > a, "sessions in order (%lld, %lld)", a, b);
		CHECK(sgd_store_session_set_state(s, se.id, SGD_SESSION_PAUSED, 50) == 0, "%s",
		      sgd_store_errmsg(s));
		a = seq_of(path, "sessions", se.id);
		CHECK(a > b, "a state change stamped earlier comes after (%lld > %lld)", a, b);
	}
	sgd_store_close(s);
	unlink(path);
	{
		char wal[600];

		snprintf(wal, sizeof(wal), "%s-wal", path);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", path);
		unlink(wal);
	}
	rmdir(dir);
	return check_exit("test-store-network");
}
