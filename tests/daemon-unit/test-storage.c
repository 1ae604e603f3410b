/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Storage on real SQLite in a temporary directory: CRUD of every table,
 * migration of a version-1 database, startup recovery, typed errors, and
 * crash safety (a SIGKILLed writer loses no insert that returned 0). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "storage.h"

static char dir[256];
static const char *data_dir;

static struct sgd_store *open_store(const char *path)
{
	struct sgd_store *s = NULL;
	char err[512] = "";
	int r = sgd_store_open_file(path, &s, err, sizeof(err));

	CHECK(r == 0 && s, "open %s: %d %s", path, r, err);
	return s;
}

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void make_profile(struct sgd_profile *p, const char *ref)
{
	char msg[256];
	struct sgd_region_cap rc = { .region = "calf", .cap_n = 6.5,
				     .max_strokes = 100, .max_load_s = 90 };

	sgd_profile_init(p);
	CHECK(sgd_profile_set_patient_ref(p, ref, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(sgd_profile_set_display_name(p, "Zoë Example", msg, sizeof(msg)) == 0,
	      "%s", msg);
	p->max_force_n = 7;
	p->target_low_n = 3;
	p->target_high_n = 6;
	p->max_load_s = 600;
	CHECK(sgd_profile_set_region_cap(p, &rc, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(sgd_profile_add_condition(p, "anticoagulants", msg, sizeof(msg)) == 0, "anticoagulants");
	CHECK(sgd_profile_add_condition(p, "varicose_veins@calf", msg, sizeof(msg)) == 0,
	      "%s", msg);
}

static void make_session(struct sgd_session *se, int64_t profile_id,
			 int64_t started)
{
	memset(se, 0, sizeof(*se));
	se->profile_id = profile_id;
	snprintf(se->instrument, sizeof(se->instrument), "SIM0001");
	snprintf(se->region, sizeof(se->region), "calf");
	se->state = SGD_SESSION_RUNNING;
	se->started_us = started;
	se->limit_n = 3.25;
	snprintf(se->reasons, sizeof(se->reasons), "region calf default 10.00 N\n"
		 "anticoagulants x0.5 -> 3.25 N (strictest)");
	se->max_load_s = 450;
}

static void make_stroke(struct sg_stroke *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->index = i;
	k->start_s = i * 2.0;
	k->end_s = i * 2.0 + 0.8;
	k->duration_s = 0.8;
	k->peak_n = 2.0 + 0.01 * i;
	k->mean_n = 1.5;
	k->impulse_ns = 1.2;
	k->above_limit_s = 0;
	k->limit_n = 3.25;
	k->has = 0;
	k->peak_shear_n = NAN;		/* not measured: must come back NaN */
	k->mean_tilt_deg = NAN;
	k->direction_deg = NAN;
}

static void test_profiles(struct sgd_store *s)
{
	struct sgd_profile p, q, got, *list = NULL;
	size_t n = 0;
	int r;

	make_profile(&p, "P-0001");
	r = sgd_store_profile_create(s, &p, 1000);
	CHECK(r == 0 && p.id > 0, "create: %d %s", r, sgd_store_errmsg(s));
	CHECK_EQ_INT(p.created_us, 1000);

	r = sgd_store_profile_get(s, p.id, &got);
	CHECK(r == 0, "get: %s", sgd_store_errmsg(s));
	CHECK(!strcmp(got.patient_ref, "P-0001") &&
	      !strcmp(got.display_name, "Zoë Example"), "strings");
	CHECK_NEAR(got.max_force_n, 7, 0);
	CHECK_NEAR(got.target_low_n, 3, 0);
	CHECK_NEAR(got.target_high_n, 6, 0);
	CHECK_NEAR(got.max_load_s, 600, 0);
	CHECK_EQ_INT(got.nregion_caps, 1);
	CHECK(!strcmp(got.region_caps[0].region, "calf") &&
	      got.region_caps[0].cap_n == 6.5 && got.region_caps[0].max_strokes == 100 &&
	      got.region_caps[0].max_load_s == 90, "region cap");
	CHECK_EQ_INT(got.nconditions, 2);
	CHECK(!strcmp(got.conditions[0].name, "anticoagulants") &&
	      !got.conditions[0].region[0], "cond 0");
	CHECK(!strcmp(got.conditions[1].name, "varicose_veins") &&
	      !strcmp(got.conditions[1].region, "calf"), "cond 1");
	CHECK_EQ_INT(got.created_us, 1000);

	/* duplicate live patient_ref */
	make_profile(&q, "P-0001");
	r = sgd_store_profile_create(s, &q, 1001);
	CHECK(r == -EEXIST && q.id == 0, "dup: %d", r);
	CHECK(strstr(sgd_store_errmsg(s), "P-0001") != NULL, "%s", sgd_store_errmsg(s));

	/* update: children replaced */
	got.max_force_n = 6;
	got.nconditions = 1;
	got.nregion_caps = 0;
	snprintf(got.display_name, sizeof(got.display_name), "Renamed");
	r = sgd_store_profile_update(s, &got, 2000);
	CHECK(r == 0, "update: %s", sgd_store_errmsg(s));
	r = sgd_store_profile_get(s, p.id, &q);
	CHECK(r == 0 && q.max_force_n == 6 && q.nconditions == 1 &&
	      q.nregion_caps == 0 && !strcmp(q.display_name, "Renamed") &&
	      q.updated_us == 2000 && q.created_us == 1000, "updated");

	/* second profile; update one into the other's ref is refused whole */
	make_profile(&q, "P-0002");
	CHECK(sgd_store_profile_create(s, &q, 3000) == 0, "%s", sgd_store_errmsg(s));
	snprintf(q.patient_ref, sizeof(q.patient_ref), "P-0001");
	q.max_force_n = 1.5;
	r = sgd_store_profile_update(s, &q, 3001);
	CHECK(r == -EEXIST, "update to dup ref: %d", r);
	r = sgd_store_profile_get(s, q.id, &got);
	CHECK(r == 0 && !strcmp(got.patient_ref, "P-0002") && got.max_force_n == 7 &&
	      got.nconditions == 2, "failed update changed nothing");

	r = sgd_store_profile_list(s, &list, &n);
	CHECK(r == 0 && n == 2, "list: %d %zu", r, n);
	if (r == 0 && n == 2)
		CHECK(list[0].id == p.id && list[1].id == q.id &&
		      list[1].nconditions == 2, "list order and children");
	free(list);

	/* delete: soft; ref reusable; get/update say ENOENT */
	r = sgd_store_profile_delete(s, q.id, 4000);
	CHECK(r == 0, "delete: %s", sgd_store_errmsg(s));
	CHECK(sgd_store_profile_delete(s, q.id, 4001) == -ENOENT, "delete twice");
	CHECK(sgd_store_profile_get(s, q.id, &got) == -ENOENT, "gone");
	CHECK(sgd_store_profile_update(s, &q, 4002) == -ENOENT, "update gone");
	CHECK(sgd_store_profile_get(s, 999999, &got) == -ENOENT, "never");
	r = sgd_store_profile_list(s, &list, &n);
	CHECK(r == 0 && n == 1, "list after delete: %zu", n);
	free(list);
	make_profile(&q, "P-0002");
	CHECK(sgd_store_profile_create(s, &q, 5000) == 0, "ref reusable after delete");

	/* bad arguments */
	sgd_profile_init(&q);
	CHECK(sgd_store_profile_create(s, &q, 1) == -EINVAL, "no ref");
	CHECK(sgd_store_profile_create(s, NULL, 1) == -EINVAL, "NULL");
}

static void test_sessions(struct sgd_store *s)
{
	struct sgd_profile p;
	struct sgd_session se, got, *list = NULL;
	struct sgd_stroke_row *rows = NULL;
	struct sgd_violation v, *vs = NULL;
	struct sgd_audit a, *audits = NULL;
	struct sg_stroke k;
	size_t n = 0;
	int64_t id;
	int r;

	make_profile(&p, "S-0001");
	CHECK(sgd_store_profile_create(s, &p, 10) == 0, "%s", sgd_store_errmsg(s));

	make_session(&se, p.id, 100);
	r = sgd_store_session_create(s, &se, NULL);
	CHECK(r == 0 && se.id > 0, "create: %d %s", r, sgd_store_errmsg(s));
	r = sgd_store_session_get(s, se.id, &got);
	CHECK(r == 0 && got.state == SGD_SESSION_RUNNING && got.ended_us == 0 &&
	      got.limit_n == 3.25 && !strcmp(got.instrument, "SIM0001") &&
	      strstr(got.reasons, "(strictest)") && got.max_load_s == 450 &&
	      got.profile_id == p.id, "session row");

	/* strokes and violations */
	for (uint32_t i = 1; i <= 5; i++) {
		make_stroke(&k, i);
		/* strokes 3-5: passes of one burst, 3 and 4 ended by reversals */
		if (i >= 3) {
			k.burst = 3;
			k.pass = i - 2;
			k.end = i < 5 ? SG_END_REVERSAL : SG_END_LIFT;
		}
		id = 0;
		r = sgd_store_add_stroke(s, se.id, "calf", &k, 100 + i, &id);
		CHECK(r == 0 && id > 0, "stroke %u: %s", i, sgd_store_errmsg(s));
	}
	memset(&v, 0, sizeof(v));
	v.session_id = se.id;
	v.wall_us = 150;
	snprintf(v.region, sizeof(v.region), "calf");
	v.type = SG_EV_EXCEEDED;
	v.t_s = 4.2;
	v.force_n = 4.0;
	v.limit_n = 3.25;
	CHECK(sgd_store_add_violation(s, &v) == 0 && v.id > 0, "%s", sgd_store_errmsg(s));
	v.type = SG_EV_WARNING;
	v.force_n = 3.0;
	CHECK(sgd_store_add_violation(s, &v) == 0, "%s", sgd_store_errmsg(s));
	v.type = SG_EV_STROKE;
	CHECK(sgd_store_add_violation(s, &v) == -EINVAL, "a stroke is no violation");
	v.type = SG_EV_EXCEEDED;
	v.session_id = 987654;
	CHECK(sgd_store_add_violation(s, &v) == -ENOENT, "unknown session");
	make_stroke(&k, 9);
	CHECK(sgd_store_add_stroke(s, 987654, "calf", &k, 1, NULL) == -ENOENT,
	      "stroke for unknown session: %s", sgd_store_errmsg(s));
	CHECK(sgd_store_add_stroke(s, se.id, "", &k, 1, NULL) == -EINVAL, "no region");

	r = sgd_store_session_strokes(s, se.id, &rows, &n);
	CHECK(r == 0 && n == 5, "strokes: %zu", n);
	if (r == 0 && n == 5) {
		CHECK(rows[0].stroke.index == 1 && rows[4].stroke.index == 5, "order");
		CHECK_NEAR(rows[4].stroke.peak_n, 2.05, 1e-12);
		CHECK_NEAR(rows[2].stroke.start_s, 6.0, 0);
		CHECK(isnan(rows[0].stroke.peak_shear_n), "NaN round trip");
		CHECK(!strcmp(rows[0].region, "calf") && rows[0].wall_us == 101, "row");
		/* bursts: an engine without them (0) makes a stroke its own */
		CHECK(rows[0].stroke.burst == 1 && rows[0].stroke.pass == 1 &&
		      rows[0].stroke.end == SG_END_LIFT, "burst of one: %u %u %u",
		      rows[0].stroke.burst, rows[0].stroke.pass, rows[0].stroke.end);
		CHECK(rows[2].stroke.burst == 3 && rows[3].stroke.burst == 3 &&
		      rows[4].stroke.burst == 3 && rows[3].stroke.pass == 2 &&
		      rows[3].stroke.end == SG_END_REVERSAL && rows[4].stroke.end == SG_END_LIFT,
		      "burst round trip");
	}
	free(rows);
	r = sgd_store_session_violations(s, se.id, &vs, &n);
	CHECK(r == 0 && n == 2, "violations: %zu", n);
	if (r == 0 && n == 2)
		CHECK(vs[0].type == SG_EV_EXCEEDED && vs[1].type == SG_EV_WARNING &&
		      vs[0].force_n == 4.0 && vs[0].t_s == 4.2, "violation rows");
	free(vs);

	/* state changes, region change via update */
	CHECK(sgd_store_session_set_state(s, se.id, SGD_SESSION_PAUSED, 200) == 0, "%s", sgd_store_errmsg(s));
	CHECK(sgd_store_session_set_state(s, se.id, 42, 200) == -EINVAL, "bad state");
	CHECK(sgd_store_session_set_state(s, 987654, SGD_SESSION_PAUSED, 200) ==
	      -ENOENT, "unknown");
	r = sgd_store_session_get(s, se.id, &got);
	CHECK(r == 0 && got.state == SGD_SESSION_PAUSED && got.updated_us == 200, "paused");
	got.state = SGD_SESSION_RUNNING;
	snprintf(got.region, sizeof(got.region), "hamstring");
	got.limit_n = 6.0;
	got.load_s = 3.5;
	got.flags = SGD_SESSION_F_CAL_EXPIRED;
	CHECK(sgd_store_session_update(s, &got, 300) == 0, "%s", sgd_store_errmsg(s));
	got.limit_n = NAN;
	CHECK(sgd_store_session_update(s, &got, 300) == -EINVAL, "NaN limit refused");

	/* finish recomputes the summary from the rows */
	r = sgd_store_session_finish(s, se.id, SGD_SESSION_FINISHED, 400, &got);
	CHECK(r == 0, "finish: %s", sgd_store_errmsg(s));
	CHECK(got.state == SGD_SESSION_FINISHED && got.ended_us == 400 &&
	      got.stroke_count == 5 && got.violation_count == 1 &&
	      !strcmp(got.region, "hamstring") && got.flags == SGD_SESSION_F_CAL_EXPIRED,
	      "summary: %u strokes %u violations", got.stroke_count, got.violation_count);
	CHECK_NEAR(got.load_s, 3.5, 1e-12);	/* the daemon's figure is kept */
	CHECK_NEAR(got.peak_n, 2.05, 1e-12);
	CHECK(sgd_store_session_finish(s, se.id, SGD_SESSION_RUNNING, 1, NULL) == -EINVAL,
	      "finish needs an end state");

	/* an overridden session and its audit record are one transaction */
	make_session(&se, p.id, 500);
	se.flags = SGD_SESSION_F_OVERRIDE;
	memset(&a, 0, sizeof(a));
	a.at_us = 500;
	snprintf(a.actor, sizeof(a.actor), "uid:1000");
	snprintf(a.action, sizeof(a.action), "override_contraindication");
	snprintf(a.conditions, sizeof(a.conditions), "recent_sutures");
	snprintf(a.reason, sizeof(a.reason), "surgeon cleared");
	r = sgd_store_session_create(s, &se, &a);
	CHECK(r == 0 && a.id > 0 && a.session_id == se.id && a.profile_id == p.id,
	      "override session: %s", sgd_store_errmsg(s));
	/* audit that cannot be stored -> no session either */
	{
		struct sgd_session se2;
		struct sgd_audit bad;
		struct sgd_session *all = NULL;
		size_t before = 0, after = 0;

		CHECK(sgd_store_session_list(s, 0, &all, &before) == 0, "list");
		free(all);
		make_session(&se2, p.id, 600);
		memset(&bad, 0, sizeof(bad));	/* no actor/reason */
		CHECK(sgd_store_session_create(s, &se2, &bad) == -EINVAL && se2.id == 0,
		      "refused");
		CHECK(sgd_store_session_list(s, 0, &all, &after) == 0, "list");
		free(all);
		CHECK_EQ_INT(after, before);
		make_session(&se2, 987654, 600);
		CHECK(sgd_store_session_create(s, &se2, NULL) == -ENOENT,
		      "unknown profile: %s", sgd_store_errmsg(s));
	}
	r = sgd_store_audit_list(s, se.id, &audits, &n);
	CHECK(r == 0 && n == 1 && !strcmp(audits[0].reason, "surgeon cleared") &&
	      !strcmp(audits[0].actor, "uid:1000") &&
	      !strcmp(audits[0].conditions, "recent_sutures"), "audit");
	free(audits);
	memset(&a, 0, sizeof(a));
	a.at_us = 700;
	snprintf(a.actor, sizeof(a.actor), "uid:0");
	snprintf(a.action, sizeof(a.action), "profile_delete");
	snprintf(a.reason, sizeof(a.reason), "requested by patient");
	CHECK(sgd_store_audit_add(s, &a) == 0, "%s", sgd_store_errmsg(s));
	r = sgd_store_audit_list(s, 0, &audits, &n);
	CHECK(r == 0 && n == 2 && audits[0].at_us == 700 && audits[0].session_id == 0,
	      "all audit, newest first");
	free(audits);

	r = sgd_store_session_list(s, p.id, &list, &n);
	CHECK(r == 0 && n == 2 && list[0].state == SGD_SESSION_FINISHED &&
	      list[1].state == SGD_SESSION_RUNNING, "sessions of profile");
	free(list);
	CHECK(!strcmp(sgd_session_state_str(SGD_SESSION_INTERRUPTED), "interrupted"), "str");
	CHECK(sgd_session_state_from_str("paused") == SGD_SESSION_PAUSED, "paused");
	CHECK(sgd_session_state_from_str("bogus") == -EINVAL, "bogus");
}

static void test_calibration_and_instruments(struct sgd_store *s)
{
	struct sgd_calibration_rec c, *list = NULL;
	struct sgd_instrument_rec in, got;
	size_t n = 0;
	int r;

	memset(&c, 0, sizeof(c));
	snprintf(c.instrument, sizeof(c.instrument), "SIM0001");
	snprintf(c.actor, sizeof(c.actor), "uid:1000");
	c.written_us = 10;
	c.cal.channel_mask = 0x7;
	for (int i = 0; i < STRIGIL_MAX_CHANNELS; i++) {
		c.cal.offset[i] = 100.5 + i;
		c.cal.scale[i] = 1e-4 * (i + 1);
	}
	c.cal.cal_date = 1700000000;
	c.cal.due_date = 1731536000;
	snprintf(c.cal.technician, sizeof(c.cal.technician), "T-17");
	CHECK(sgd_store_calibration_add(s, &c) == 0 && c.id > 0, "%s", sgd_store_errmsg(s));
	c.written_us = 20;
	c.cal.scale[1] = 2e-4;
	c.cal.cal_date = 1710000000;
	CHECK(sgd_store_calibration_add(s, &c) == 0, "%s", sgd_store_errmsg(s));
	snprintf(c.instrument, sizeof(c.instrument), "OTHER");
	CHECK(sgd_store_calibration_add(s, &c) == 0, "%s", sgd_store_errmsg(s));
	c.cal.offset[2] = NAN;
	CHECK(sgd_store_calibration_add(s, &c) == -EINVAL, "NaN offset");

	r = sgd_store_calibration_list(s, "SIM0001", &list, &n);
	CHECK(r == 0 && n == 2, "list: %zu", n);
	if (r == 0 && n == 2) {
		CHECK(list[0].cal.cal_date == 1710000000 && list[1].cal.cal_date ==
		      1700000000, "newest first");
		CHECK(list[1].cal.offset[3] == 103.5 && list[1].cal.scale[2] == 1e-4 * 3 &&
		      list[1].cal.channel_mask == 0x7 &&
		      !strcmp(list[1].cal.technician, "T-17") &&
		      !strcmp(list[1].actor, "uid:1000"), "values");
	}
	free(list);
	r = sgd_store_calibration_list(s, NULL, &list, &n);
	CHECK(r == 0 && n == 3, "all: %zu", n);
	free(list);

	memset(&in, 0, sizeof(in));
	snprintf(in.serial, sizeof(in.serial), "SIM0001");
	snprintf(in.model, sizeof(in.model), "Strigil S1");
	snprintf(in.firmware, sizeof(in.firmware), "1.0.0");
	in.last_seen_us = 100;
	CHECK(sgd_store_instrument_seen(s, &in) == 0, "%s", sgd_store_errmsg(s));
	snprintf(in.firmware, sizeof(in.firmware), "1.1.0");
	in.last_seen_us = 200;
	CHECK(sgd_store_instrument_seen(s, &in) == 0, "%s", sgd_store_errmsg(s));
	r = sgd_store_instrument_get(s, "SIM0001", &got);
	CHECK(r == 0 && got.first_seen_us == 100 && got.last_seen_us == 200 &&
	      !strcmp(got.firmware, "1.1.0"), "instrument upsert");
	CHECK(sgd_store_instrument_get(s, "NOPE", &got) == -ENOENT, "unknown");
}

/* A database written by schema version 1 (fixture) migrates in place. */
static void test_migration(void)
{
	char fixture[4096], path[512], *sql = NULL;
	struct sgd_store *s;
	struct sgd_profile p, *plist = NULL;
	struct sgd_session se;
	struct sgd_calibration_rec *cl = NULL;
	struct sgd_instrument_rec in = { .serial = "SIM0001", .last_seen_us = 5 };
	sqlite3 *db = NULL;
	FILE *f;
	long len;
	size_t n = 0;

	snprintf(fixture, sizeof(fixture), "%s/schema-v1.sql", data_dir);
	f = fopen(fixture, "r");
	CHECK(f != NULL, "fixture %s", fixture);
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	sql = calloc(1, (size_t)len + 1);
	CHECK(sql && fread(sql, 1, (size_t)len, f) == (size_t)len, "read fixture");
	fclose(f);
	/* A migration step that fails is rolled back as a whole: here a
	 * stray "instruments" table makes step 2 fail. */
	path_in(path, sizeof(path), "v1-broken.db");
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "sqlite3_open");
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "load fixture: %s",
	      sqlite3_errmsg(db));
	CHECK(sqlite3_exec(db, "CREATE TABLE instruments (x);", NULL, NULL, NULL) ==
	      SQLITE_OK, "stray table");
	sqlite3_close(db);
	{
		struct sgd_store *bs = NULL;
		char err[512] = "";
		int r = sgd_store_open_file(path, &bs, err, sizeof(err));
		sqlite3_stmt *st = NULL;

		CHECK(r == -EIO && bs == NULL, "broken migration: %d %s", r, err);
		CHECK(strstr(err, "migration to schema 2") != NULL, "%s", err);
		CHECK(sqlite3_open(path, &db) == SQLITE_OK, "reopen");
		CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
		      SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
		      sqlite3_column_int(st, 0) == 1, "still version 1");
		sqlite3_finalize(st);
		CHECK(sqlite3_prepare_v2(db, "SELECT flags FROM sessions", -1, &st, NULL) !=
		      SQLITE_OK, "step 2 rolled back: no sessions.flags");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}

	path_in(path, sizeof(path), "v1.db");
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "sqlite3_open");
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "load fixture: %s",
	      sqlite3_errmsg(db));
	sqlite3_close(db);
	free(sql);

	s = open_store(path);
	if (!s)
		return;
	CHECK_EQ_INT(sgd_store_schema_version(s), SGD_STORE_SCHEMA_VERSION);
	CHECK(sgd_store_profile_get(s, 1, &p) == 0 && !strcmp(p.patient_ref, "P-0001") &&
	      p.nregion_caps == 1 && p.nconditions == 2 &&
	      !strcmp(p.conditions[1].region, "calf"), "v1 profile kept");
	CHECK(sgd_store_profile_list(s, &plist, &n) == 0 && n == 1, "deleted stays deleted");
	free(plist);
	CHECK(sgd_store_session_get(s, 1, &se) == 0 && se.flags == 0 &&
	      se.state == SGD_SESSION_FINISHED && se.stroke_count == 2, "v1 session");
	CHECK(sgd_store_calibration_list(s, "SIM0001", &cl, &n) == 0 && n == 1 &&
	      cl[0].cal.offset[0] == 100.0 && cl[0].cal.scale[3] == 1.0, "v1 calibration");
	free(cl);
	/* new in schema 4 (engine): strokes recorded before bursts were
	 * contacts, each a burst of one pass ended by a lift */
	{
		struct sgd_stroke_row *rows = NULL;
		size_t nr = 0;

		CHECK(sgd_store_session_strokes(s, 1, &rows, &nr) == 0 && nr == 2, "v1 strokes");
		for (size_t i = 0; i < nr; i++)
			CHECK(rows[i].stroke.burst == rows[i].stroke.index && rows[i].stroke.pass == 1 &&
			      rows[i].stroke.end == SG_END_LIFT, "v1 stroke %zu: burst %u pass %u",
			      i, rows[i].stroke.burst, rows[i].stroke.pass);
		free(rows);
	}
	/* new in v2 */
	CHECK(sgd_store_instrument_seen(s, &in) == 0, "instruments table: %s",
	      sgd_store_errmsg(s));
	/* the v1 session left running is recovered like any other */
	CHECK_EQ_INT(sgd_store_mark_interrupted(s, 999), 1);
	CHECK(sgd_store_session_get(s, 2, &se) == 0 &&
	      se.state == SGD_SESSION_INTERRUPTED && se.ended_us == 999 &&
	      se.stroke_count == 1, "interrupted with summary");
	sgd_store_close(s);

	/* reopening an up-to-date database is a no-op */
	s = open_store(path);
	if (s) {
		CHECK_EQ_INT(sgd_store_schema_version(s), SGD_STORE_SCHEMA_VERSION);
		CHECK_EQ_INT(sgd_store_mark_interrupted(s, 1000), 0);
		sgd_store_close(s);
	}
}

static void test_open_errors(void)
{
	char path[512], err[512];
	struct sgd_store *s = NULL;
	sqlite3 *db = NULL;
	int fd, r;

	/* not a database */
	path_in(path, sizeof(path), "junk.db");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0, "create junk");
	if (fd >= 0) {
		static const char junk[] = "this is not an SQLite database, not at all....."
			"..................................................................";
		CHECK(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk), "write");
		close(fd);
	}
	r = sgd_store_open_file(path, &s, err, sizeof(err));
	CHECK(r == -EBADMSG && s == NULL, "junk: %d %s", r, err);
	CHECK(strstr(err, "junk.db") != NULL, "%s", err);

	/* newer schema than this build: refused, untouched */
	path_in(path, sizeof(path), "future.db");
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open");
	CHECK(sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 99;", NULL,
			   NULL, NULL) == SQLITE_OK, "future");
	sqlite3_close(db);
	r = sgd_store_open_file(path, &s, err, sizeof(err));
	CHECK(r == -EPROTONOSUPPORT && s == NULL, "future: %d %s", r, err);
	CHECK(strstr(err, "newer") != NULL, "%s", err);

	/* state dir handling */
	r = sgd_store_open("/nonexistent-strigil-dir", &s, err, sizeof(err));
	CHECK(r == -ENOENT && s == NULL, "no dir: %d %s", r, err);
	path_in(path, sizeof(path), "junk.db");
	r = sgd_store_open(path, &s, err, sizeof(err));
	CHECK(r == -ENOTDIR, "file as dir: %d %s", r, err);
	r = sgd_store_open(dir, &s, err, sizeof(err));
	CHECK(r == 0 && s, "state dir: %s", err);
	if (s) {
		struct stat st;

		path_in(path, sizeof(path), SGD_STORE_DB_NAME);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0077) == 0,
		      "database private: %o", (unsigned)st.st_mode);
		path_in(path, sizeof(path), SGD_STORE_DB_NAME "-wal");
		CHECK(stat(path, &st) == 0, "WAL mode: -wal file exists");
		sgd_store_close(s);
	}
}

/* Another connection holds the write lock: a write fails with -EBUSY
 * after the busy timeout, says so, and writes nothing. */
static void test_busy(void)
{
	char path[512];
	struct sgd_store *s;
	struct sgd_profile p, *list = NULL;
	sqlite3 *db = NULL;
	size_t n = 1;
	int r;

	path_in(path, sizeof(path), "busy.db");
	s = open_store(path);
	if (!s)
		return;
	CHECK(sgd_store_set_busy_timeout(s, 20) == 0, "timeout");
	CHECK(sgd_store_set_busy_timeout(s, -1) == -EINVAL, "negative");
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "second connection");
	CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "lock");
	make_profile(&p, "B-0001");
	r = sgd_store_profile_create(s, &p, 1);
	CHECK(r == -EBUSY && p.id == 0, "locked: %d %s", r, sgd_store_errmsg(s));
	CHECK(strstr(sgd_store_errmsg(s), "locked") != NULL, "%s", sgd_store_errmsg(s));
	CHECK(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK, "unlock");
	sqlite3_close(db);
	CHECK(sgd_store_profile_list(s, &list, &n) == 0 && n == 0, "nothing written");
	free(list);
	CHECK(sgd_store_profile_create(s, &p, 2) == 0, "works once free: %s",
	      sgd_store_errmsg(s));
	sgd_store_close(s);
}

/*
 * Crash safety: a child writes strokes and reports each row id on a pipe
 * only after sgd_store_add_stroke returned 0; the parent SIGKILLs it
 * mid-stream and must find every reported row, complete, after reopening.
 */
static void test_crash(void)
{
	char path[512];
	struct sgd_store *s;
	struct sgd_profile p;
	struct sgd_session se;
	struct sgd_stroke_row *rows = NULL;
	int64_t ids[400], sid;
	size_t nids = 0, n = 0;
	int pfd[2], status;
	pid_t pid;

	path_in(path, sizeof(path), "crash.db");
	s = open_store(path);
	if (!s)
		return;
	make_profile(&p, "K-0001");
	CHECK(sgd_store_profile_create(s, &p, 1) == 0, "%s", sgd_store_errmsg(s));
	make_session(&se, p.id, 2);
	CHECK(sgd_store_session_create(s, &se, NULL) == 0, "%s", sgd_store_errmsg(s));
	sid = se.id;
	sgd_store_close(s);

	CHECK(pipe(pfd) == 0, "pipe");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid < 0)
		return;
	if (pid == 0) {
		struct sgd_store *cs = NULL;
		char err[256];
		struct sg_stroke k;

		close(pfd[0]);
		if (sgd_store_open_file(path, &cs, err, sizeof(err)))
			_exit(3);
		for (uint32_t i = 1; i < 100000; i++) {
			int64_t id;

			make_stroke(&k, i);
			if (sgd_store_add_stroke(cs, sid, "calf", &k, i, &id))
				_exit(4);
			if (write(pfd[1], &id, sizeof(id)) != (ssize_t)sizeof(id))
				_exit(5);
		}
		_exit(6);	/* never reached: the parent kills us */
	}
	close(pfd[1]);
	while (nids < sizeof(ids) / sizeof(ids[0])) {
		ssize_t got = read(pfd[0], &ids[nids], sizeof(ids[0]));

		if (got != (ssize_t)sizeof(ids[0]))
			break;
		nids++;
	}
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "child died by SIGKILL (status %d)", status);
	close(pfd[0]);
	CHECK(nids == sizeof(ids) / sizeof(ids[0]), "child wrote %zu strokes", nids);

	/* restart: recovery marks the session, every reported row is there */
	s = open_store(path);
	if (!s)
		return;
	CHECK_EQ_INT(sgd_store_mark_interrupted(s, 3), 1);
	CHECK(sgd_store_session_strokes(s, sid, &rows, &n) == 0, "%s", sgd_store_errmsg(s));
	CHECK(n >= nids, "stored %zu >= reported %zu", n, nids);
	for (size_t i = 0, j = 0; i < nids; i++) {
		while (j < n && rows[j].id != ids[i])
			j++;
		CHECK(j < n, "reported stroke row %lld missing", (long long)ids[i]);
		if (j >= n)
			break;
		CHECK(rows[j].stroke.index == i + 1 && rows[j].stroke.duration_s == 0.8,
		      "row %lld complete", (long long)ids[i]);
	}
	free(rows);
	CHECK(sgd_store_session_get(s, sid, &se) == 0 &&
	      se.state == SGD_SESSION_INTERRUPTED && se.stroke_count == n,
	      "interrupted session summary %u vs %zu", se.stroke_count, n);
	sgd_store_close(s);
}

static void rm_rf(const char *d)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", d);
}

int main(int argc, char **argv)
{
	struct sgd_store *s;
	char path[512];
	const char *tmp = getenv("TMPDIR");

	if (argc < 2) {
		fprintf(stderr, "usage: %s DATA_DIR [TOP_DIR]\n", argv[0]);
		return 2;
	}
	data_dir = argv[1];
	snprintf(dir, sizeof(dir), "%s/strigil-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	path_in(path, sizeof(path), "main.db");
	s = open_store(path);
	if (s) {
		CHECK_EQ_INT(sgd_store_schema_version(s), SGD_STORE_SCHEMA_VERSION);
		test_profiles(s);
		test_sessions(s);
		test_calibration_and_instruments(s);
		sgd_store_close(s);
	}
	test_migration();
	test_open_errors();
	test_busy();
	test_crash();
	rm_rf(dir);
	return check_exit("test-storage");
}
