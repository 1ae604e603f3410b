/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The clinical records of issue 11 in the store, real SQLite: a database
 * written by the schema-2 strigild (data/schema-v2.sql) migrates and keeps
 * every record (side 'unknown', caps kept, no invented reasons); a failing
 * step 3 rolls back; new rows keep site, side, cap reasons and stroke
 * start; pauses are records; a patient's history pages newest first and
 * aggregates per (visit, site); patient references are found as text.
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store-test.h"

static char dir[256];
static const char *data_dir;

static char *read_file(const char *name)
{
	char path[4096];
	char *buf;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "r");
	CHECK(f != NULL, "fixture %s", path);
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	CHECK(buf && fread(buf, 1, (size_t)len, f) == (size_t)len, "read %s", path);
	fclose(f);
	return buf;
}

/* Runs SQL on a plain connection (the fixture, or a probe). */
static void sql_file(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;

	CHECK(sqlite3_open(db_path, &db) == SQLITE_OK, "open %s", db_path);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "exec: %s",
	      sqlite3_errmsg(db));
	sqlite3_close(db);
}

static long long sql_int(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_open(db_path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct sgd_store *open_store(const char *path)
{
	struct sgd_store *s = NULL;
	char err[512] = "";
	int r = sgd_store_open_file(path, &s, err, sizeof(err));

	CHECK(r == 0 && s, "open %s: %d %s", path, r, err);
	return s;
}

static void test_migration_v2(void)
{
	char path[512], err[512] = "";
	char *sql = read_file("schema-v2.sql");
	struct sgd_store *s, *bs = NULL;
	struct sgd_stroke_row *rows = NULL;
	struct sgd_violation *v = NULL;
	struct sgd_pause *pz = NULL;
	struct sgd_profile p;
	struct sgd_session se;
	long long strokes_before, viol_before, sum_limit_before;
	size_t n = 0, nv = 0, np = 5;
	int64_t id = 0;
	int r;

	if (!sql)
		return;
	/* a failing step 3 (a stray "pauses" table) rolls back as a whole */
	snprintf(path, sizeof(path), "%s/v2-broken.db", dir);
	sql_file(path, sql);
	sql_file(path, "CREATE TABLE pauses (x);");
	r = sgd_store_open_file(path, &bs, err, sizeof(err));
	CHECK(r == -EIO && !bs && strstr(err, "migration to schema 3"), "%d %s", r, err);
	CHECK(sql_int(path, "PRAGMA user_version") == 2, "still version 2");
	CHECK(sql_int(path, "SELECT count(*) FROM pragma_table_info('strokes') WHERE name = 'side'")
	      == 0, "step 3 rolled back: no strokes.side");

	snprintf(path, sizeof(path), "%s/v2.db", dir);
	sql_file(path, sql);
	free(sql);
	CHECK(sql_int(path, "PRAGMA user_version") == 2, "the fixture is schema 2");
	strokes_before = sql_int(path, "SELECT count(*) FROM strokes");
	viol_before = sql_int(path, "SELECT count(*) FROM violations");
	sum_limit_before = sql_int(path, "SELECT sum(CAST(limit_n * 1000 AS INTEGER)) FROM strokes");
	CHECK(strokes_before == 4 && viol_before == 2, "fixture has data (%lld, %lld)",
	      strokes_before, viol_before);
	s = open_store(path);
	if (!s)
		return;
	/* 3 and every later step (4: the clinic network's uuids) */
	CHECK(sgd_store_schema_version(s) == SGD_STORE_SCHEMA_VERSION && SGD_STORE_SCHEMA_VERSION >= 3,
	      "migrated to the current schema");
	CHECK(sql_int(path, "SELECT count(*) FROM strokes") == strokes_before &&
	      sql_int(path, "SELECT count(*) FROM violations") == viol_before &&
	      sql_int(path, "SELECT sum(CAST(limit_n * 1000 AS INTEGER)) FROM strokes") ==
	      sum_limit_before, "every stroke and violation kept, caps unchanged");
	CHECK(sgd_store_session_strokes(s, 1, &rows, &n) == 0 && n == 3, "session 1: %zu", n);
	for (size_t i = 0; i < n; i++) {
		CHECK(rows[i].side == SGD_SIDE_UNKNOWN, "migrated stroke side unknown");
		CHECK(!rows[i].has_cap_reasons && !rows[i].cap_reasons[0], "no invented reasons");
		CHECK(rows[i].stroke.limit_n > 0, "cap kept");
	}
	CHECK(n == 3 && !strcmp(rows[0].region, "calf") && !strcmp(rows[2].region, "upper_back"),
	      "regions kept as recorded");
	free(rows);
	CHECK(sgd_store_session_violations(s, 1, &v, &nv) == 0 && nv == 2, "violations");
	for (size_t i = 0; i < nv; i++)
		CHECK(v[i].side == SGD_SIDE_UNKNOWN && isnan(v[i].start_s) && !v[i].has_cap_reasons,
		      "migrated violation: side unknown, start unknown");
	free(v);
	CHECK(sgd_store_session_pauses(s, 1, &pz, &np) == 0 && np == 0, "no pauses before");
	{
		struct sgd_region_hist *h = NULL;
		size_t nh = 0;

		CHECK(sgd_store_region_history(s, 1, &h, &nh) == 0 && nh == 2 &&
		      !strcmp(h[0].region, "calf") && h[0].side == SGD_SIDE_UNKNOWN &&
		      h[0].strokes == 2 && h[0].violations == 1 &&
		      !strcmp(h[1].region, "upper_back") && h[1].strokes == 1,
		      "the migration builds the history of the old visits: %zu", nh);
		free(h);
	}
	free(pz);
	CHECK(sgd_store_session_get(s, 1, &se) == 0 && !strcmp(se.patient_ref, "P-0001") &&
	      se.stroke_count == 3, "session row and its patient");
	/* the references, legacy ones included, stay readable and findable as text */
	CHECK(sgd_store_profile_find_ref(s, "12", &id) == 0 && id == 2, "'12' is profile id 2");
	CHECK(sgd_store_profile_get(s, 3, &p) == 0 && !strcmp(p.patient_ref, "Jane Doe"),
	      "legacy reference kept");
	CHECK(sgd_store_profile_find_ref(s, "2", &id) == -ENOENT, "no patient '2' (id 2 is '12')");
	CHECK(sgd_store_profile_get(s, 4, &p) == 0 && strlen(p.patient_ref) == 63, "63-byte ref");
	sgd_store_close(s);
}

static void test_records(void)
{
	char path[512];
	struct sgd_store *s;
	struct sgd_profile p;
	struct sgd_session se = { 0 };
	struct sgd_stroke_row *rows = NULL;
	struct sgd_violation v = { 0 }, *vs = NULL;
	struct sgd_pause pa = { 0 }, *pz = NULL;
	struct sg_stroke k;
	char msg[256];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/rec.db", dir);
	s = open_store(path);
	if (!s)
		return;
	sgd_profile_init(&p);
	CHECK(sgd_profile_set_patient_ref(&p, "R-1", msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(sgd_store_profile_create(s, &p, 1) == 0, "%s", sgd_store_errmsg(s));
	se.profile_id = p.id;
	snprintf(se.instrument, sizeof(se.instrument), "SIM0001");
	snprintf(se.region, sizeof(se.region), "calf:left");
	se.limit_n = 4;
	se.started_us = 1000;
	se.flags = SGD_SESSION_F_PRECAUTION;
	CHECK(sgd_store_session_create(s, &se, NULL) == 0, "%s", sgd_store_errmsg(s));
	make_stroke(&k, 1, 3.0);
	CHECK(sgd_store_add_stroke_ex(s, se.id, "calf:left", "region calf default 10.00 N\n"
				      "anticoagulants x0.5 -> 4.00 N (strictest)", &k, 1, NULL) == 0,
	      "%s", sgd_store_errmsg(s));
	make_stroke(&k, 2, 2.0);
	CHECK(sgd_store_add_stroke_ex(s, se.id, "neck", "x", &k, 2, NULL) == 0, "neck");
	make_stroke(&k, 3, 2.0);
	CHECK(sgd_store_add_stroke_ex(s, se.id, "calf:right", "y", &k, 3, NULL) == 0, "right");
	CHECK(sgd_store_add_stroke(s, se.id, "calf", &k, 4, NULL) == 0, "no reasons given");
	CHECK(sgd_store_session_strokes(s, se.id, &rows, &n) == 0 && n == 4, "%zu", n);
	if (n == 4) {
		CHECK(rows[0].side == SGD_SIDE_LEFT && rows[0].has_cap_reasons &&
		      strstr(rows[0].cap_reasons, "anticoagulants"), "left, reasons kept");
		CHECK(rows[1].side == SGD_SIDE_NONE && !strcmp(rows[1].region, "neck"), "midline");
		CHECK(rows[2].side == SGD_SIDE_RIGHT, "right");
		CHECK(rows[3].side == SGD_SIDE_NONE && !rows[3].has_cap_reasons,
		      "reasons not given: not recorded (NULL), not empty text");
	}
	free(rows);
	v.session_id = se.id;
	v.type = SG_EV_EXCEEDED;
	v.t_s = 5.5;
	v.start_s = 5.25;
	v.force_n = 4.5;
	v.limit_n = 4;
	v.has_cap_reasons = true;
	snprintf(v.cap_reasons, sizeof(v.cap_reasons), "because");
	snprintf(v.region, sizeof(v.region), "calf:left");
	CHECK(sgd_store_add_violation(s, &v) == 0, "%s", sgd_store_errmsg(s));
	v.type = SG_EV_WARNING;
	CHECK(sgd_store_add_violation(s, &v) == 0, "warning");
	CHECK(sgd_store_session_violations(s, se.id, &vs, &n) == 0 && n == 2 &&
	      vs[0].side == SGD_SIDE_LEFT && vs[0].start_s == 5.25 &&
	      !strcmp(vs[0].cap_reasons, "because"), "violation keeps side, start, reasons");
	free(vs);

	/* pauses */
	pa.session_id = se.id;
	snprintf(pa.reason, sizeof(pa.reason), "pause");
	pa.start_s = 7.5;
	pa.start_us = 2000;
	CHECK(sgd_store_pause_begin(s, &pa) == 0 && pa.id > 0, "%s", sgd_store_errmsg(s));
	CHECK(sgd_store_pause_end_open(s, se.id, 7.5, 3000) == 0, "%s", sgd_store_errmsg(s));
	/* none open now: nothing to end (0), and the ended pause keeps its end */
	CHECK(sgd_store_pause_end_open(s, se.id, 8, 4000) == 0, "%s", sgd_store_errmsg(s));
	CHECK(sgd_store_session_pauses(s, se.id, &pz, &n) == 0 && n == 1 &&
	      pz[0].end_s == 7.5 && pz[0].end_us == 3000, "a pause ends once");
	free(pz);
	pz = NULL;
	pa.start_s = NAN;
	CHECK(sgd_store_pause_begin(s, &pa) == -EINVAL, "a pause needs a start");
	pa.start_s = 9;
	pa.reason[0] = 0;
	CHECK(sgd_store_pause_begin(s, &pa) == -EINVAL, "and a reason");
	snprintf(pa.reason, sizeof(pa.reason), "unplugged");
	CHECK(sgd_store_pause_begin(s, &pa) == 0, "second pause stays open");
	CHECK(sgd_store_mark_interrupted(s, 9000) == 1, "the session was left running");
	CHECK(sgd_store_session_pauses(s, se.id, &pz, &n) == 0 && n == 2, "two pauses");
	if (n == 2) {
		CHECK(!strcmp(pz[0].reason, "pause") && pz[0].start_s == 7.5 && pz[0].end_s == 7.5 &&
		      pz[0].start_us == 2000 && pz[0].end_us == 3000, "first pause");
		CHECK(!strcmp(pz[1].reason, "unplugged") && pz[1].end_us == 9000 &&
		      isnan(pz[1].end_s), "an open pause ends with the interrupted session, "
		      "its engine end unknown");
	}
	free(pz);
	CHECK(sgd_store_session_get(s, se.id, &se) == 0 &&
	      (se.flags & SGD_SESSION_F_PRECAUTION), "the precaution flag is stored");
	sgd_store_close(s);
}

static void test_history(void)
{
	char path[512], msg[256];
	struct sgd_store *s;
	struct sgd_profile p, q;
	struct sgd_region_hist *h = NULL;
	int64_t sid[5], *ids = NULL;
	size_t n = 0;
	uint32_t total = 0;

	snprintf(path, sizeof(path), "%s/hist.db", dir);
	s = open_store(path);
	if (!s)
		return;
	sgd_profile_init(&p);
	sgd_profile_set_patient_ref(&p, "H-1", msg, sizeof(msg));
	CHECK(sgd_store_profile_create(s, &p, 1) == 0, "profile");
	sgd_profile_init(&q);
	sgd_profile_set_patient_ref(&q, "H-2", msg, sizeof(msg));
	CHECK(sgd_store_profile_create(s, &q, 1) == 0, "profile");
	/* visits at 100, 300, 200 (out of order), 300 again (tie: id decides) */
	{
		const int64_t at[5] = { 100, 300, 200, 300, 50 };

		for (int i = 0; i < 5; i++) {
			struct sgd_session se = { .profile_id = i == 4 ? q.id : p.id,
						  .limit_n = 5, .started_us = at[i] };

			snprintf(se.instrument, sizeof(se.instrument), "SIM0001");
			snprintf(se.region, sizeof(se.region), "calf:left");
			CHECK(sgd_store_session_create(s, &se, NULL) == 0, "session");
			sid[i] = se.id;
		}
	}
	CHECK(sgd_store_profile_sessions(s, p.id, 0, 2, &ids, &n, &total) == 0 && total == 4 &&
	      n == 2 && ids[0] == sid[3] && ids[1] == sid[1], "page 1 newest first, ties by id");
	free(ids);
	CHECK(sgd_store_profile_sessions(s, p.id, 2, 2, &ids, &n, &total) == 0 && n == 2 &&
	      ids[0] == sid[2] && ids[1] == sid[0], "page 2");
	free(ids);
	CHECK(sgd_store_profile_sessions(s, p.id, 4, 2, &ids, &n, &total) == 0 && n == 0 &&
	      total == 4, "past the end");
	free(ids);
	CHECK(sgd_store_profile_sessions(s, p.id, 0, 0, &ids, &n, &total) == 0 && n == 0 &&
	      total == 4, "limit 0 counts only");
	free(ids);

	/* strokes: visit sid[0] calf:left x2 (peaks 2, 4), neck x1; visit
	 * sid[1] calf:left x1, calf:right x1; another patient's visit */
	{
		struct { int visit; const char *site; double peak; } st[] = {
			{ 0, "calf:left", 2 }, { 0, "calf:left", 4 }, { 0, "neck", 1 },
			{ 1, "calf:left", 3 }, { 1, "calf:right", 6 }, { 4, "calf:left", 9 },
		};
		struct sg_stroke k;

		for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
			make_stroke(&k, (uint32_t)i + 1, st[i].peak);
			k.impulse_ns = 1.0;
			CHECK(sgd_store_add_stroke_ex(s, sid[st[i].visit], st[i].site, "r", &k, 1,
						      NULL) == 0, "stroke");
		}
	}
	{
		struct sgd_violation v = { .session_id = sid[0], .type = SG_EV_EXCEEDED,
					   .limit_n = 3, .start_s = NAN };

		snprintf(v.region, sizeof(v.region), "calf:left");
		CHECK(sgd_store_add_violation(s, &v) == 0, "exceeded");
		v.type = SG_EV_WARNING;
		CHECK(sgd_store_add_violation(s, &v) == 0, "a warning is not a violation");
		v.type = SG_EV_EXCEEDED;
		snprintf(v.region, sizeof(v.region), "calf:right");
		CHECK(sgd_store_add_violation(s, &v) == 0, "other side");
	}
	CHECK(sgd_store_region_history(s, p.id, &h, &n) == 0 && n == 5, "5 (visit, site): %zu", n);
	if (n == 5) {
		CHECK(h[0].session_id == sid[1] && !strcmp(h[0].region, "calf:left") &&
		      h[0].side == SGD_SIDE_LEFT && h[0].strokes == 1 && h[0].violations == 0,
		      "newest visit first, calf:left");
		CHECK(h[1].session_id == sid[1] && h[1].side == SGD_SIDE_RIGHT && h[1].violations == 0,
		      "calf:right, no violation (the one on record is another visit's)");
		CHECK(h[2].session_id == sid[0] && !strcmp(h[2].region, "calf:left") &&
		      h[2].strokes == 2 && h[2].violations == 1 && h[2].started_us == 100,
		      "older visit calf:left: 2 strokes, 1 exceeded (warning not counted)");
		CHECK_NEAR(h[2].peak_n, 4.0, 1e-12);
		CHECK_NEAR(h[2].mean_n, 1.5, 1e-12);	/* mean of the means 1 and 2 */
		CHECK_NEAR(h[2].impulse_ns, 2.0, 1e-12);
		CHECK(h[3].session_id == sid[0] && !strcmp(h[3].region, "calf:right") &&
		      h[3].strokes == 0 && h[3].violations == 1 && isnan(h[3].peak_n) &&
		      isnan(h[3].mean_n) && h[3].impulse_ns == 0,
		      "an exceeded event without a stroke at its site is kept (no invented force)");
		CHECK(!strcmp(h[4].region, "neck") && h[4].side == SGD_SIDE_NONE, "midline");
	}
	free(h);
	CHECK(sgd_store_region_history(s, q.id, &h, &n) == 0 && n == 1 && h[0].peak_n == 9,
	      "another patient's history is separate");
	free(h);
	sgd_store_close(s);
}

/* ListProfiles' page: live profiles by reference, a prefix of the
 * reference or a substring of the name (ASCII case), LIKE's wildcards as
 * plain characters, deleted ones never, only the page read. */
static void test_profile_page(void)
{
	static const char *const refs[] = { "b_2", "B-1", "a%", "bx2", "c", "a1" };
	static const char *const names[] = { "", "Anna", "100%", "", "Bobby", "" };
	char path[512], msg[256], q[200];
	struct sgd_store *s;
	struct sgd_profile p;
	int64_t id[6], *ids = NULL;
	size_t n = 0;
	uint32_t total = 0;

	snprintf(path, sizeof(path), "%s/page.db", dir);
	s = open_store(path);
	if (!s)
		return;
	for (int i = 0; i < 6; i++) {
		sgd_profile_init(&p);
		snprintf(p.patient_ref, sizeof(p.patient_ref), "%s", refs[i]);
		snprintf(p.display_name, sizeof(p.display_name), "%s", names[i]);
		CHECK(sgd_store_profile_create(s, &p, 1) == 0, "profile %s: %s", refs[i],
		      sgd_store_errmsg(s));
		id[i] = p.id;
	}
	CHECK(sgd_store_profile_delete(s, id[5], 2) == 0, "a1 deleted");
	(void)msg;
	/* byte order: 'B-1' < 'a%' < 'b_2' < 'bx2' < 'c' (a1 deleted) */
	CHECK(sgd_store_profile_page(s, "", 0, 10, &ids, &n, &total) == 0 && total == 5 && n == 5 &&
	      ids[0] == id[1] && ids[1] == id[2] && ids[2] == id[0] && ids[3] == id[3] &&
	      ids[4] == id[4], "all live profiles by reference (%zu, total %u)", n, total);
	free(ids);
	CHECK(sgd_store_profile_page(s, "", 1, 2, &ids, &n, &total) == 0 && total == 5 && n == 2 &&
	      ids[0] == id[2] && ids[1] == id[0], "offset 1 limit 2");
	free(ids);
	CHECK(sgd_store_profile_page(s, "", 4, 2, &ids, &n, &total) == 0 && n == 1 && ids[0] == id[4],
	      "the last page is short");
	free(ids);
	CHECK(sgd_store_profile_page(s, "", 5, 2, &ids, &n, &total) == 0 && n == 0 && total == 5,
	      "offset at the end: empty, with the total");
	free(ids);
	CHECK(sgd_store_profile_page(s, "", 0, 0, &ids, &n, &total) == 0 && n == 0 && total == 5,
	      "limit 0: the total only");
	free(ids);
	CHECK(sgd_store_profile_page(s, "b", 0, 10, &ids, &n, &total) == 0 && total == 4 &&
	      n == 4 && ids[0] == id[1] && ids[1] == id[0] && ids[2] == id[3] && ids[3] == id[4],
	      "'b': B-1, b_2, bx2 by prefix, c by its name Bobby (%u)", total);
	free(ids);
	CHECK(sgd_store_profile_page(s, "b_", 0, 10, &ids, &n, &total) == 0 && total == 1 &&
	      n == 1 && ids[0] == id[0], "'b_': '_' is not a wildcard (bx2 not matched) (%u)", total);
	free(ids);
	CHECK(sgd_store_profile_page(s, "%", 0, 10, &ids, &n, &total) == 0 && total == 1 &&
	      n == 1 && ids[0] == id[2], "'%%': only the name with '%%' (%u)", total);
	free(ids);
	CHECK(sgd_store_profile_page(s, "ANN", 0, 10, &ids, &n, &total) == 0 && total == 1 &&
	      ids[0] == id[1], "'ANN': a name substring, either case");
	free(ids);
	CHECK(sgd_store_profile_page(s, "a1", 0, 10, &ids, &n, &total) == 0 && total == 0 && n == 0,
	      "the deleted a1 is not found");
	free(ids);
	CHECK(sgd_store_profile_page(s, "nn", 0, 10, &ids, &n, &total) == 0 && total == 1,
	      "a substring inside the name");
	free(ids);
	CHECK(sgd_store_profile_page(s, "-1", 0, 10, &ids, &n, &total) == 0 && total == 0,
	      "a reference is matched by prefix only");
	free(ids);
	memset(q, 'x', 128);
	q[128] = '\0';
	ids = NULL;
	CHECK(sgd_store_profile_page(s, q, 0, 10, &ids, &n, &total) == -EINVAL && !ids && n == 0,
	      "a 128-byte query is refused");
	q[127] = '\0';
	CHECK(sgd_store_profile_page(s, q, 0, 10, &ids, &n, &total) == 0 && total == 0,
	      "127 bytes are a query");
	free(ids);
	CHECK(sgd_store_profile_page(s, "a\tb", 0, 10, &ids, &n, &total) == -EINVAL,
	      "a control character is refused");
	sgd_store_close(s);
}

int main(int argc, char **argv)
{
	char cmd[300];

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR [TOP]\n", argv[0]);
		return 2;
	}
	data_dir = argv[1];
	snprintf(dir, sizeof(dir), "/tmp/strigil-store-records-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_migration_v2();
	test_records();
	test_history();
	test_profile_page();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit("test-store-records");
}
