/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Profiles follow the patient (docs/network.md).
 *
 * Push (a local edit): strigild's database says which profiles changed
 * (change_seq above our cursor: the order of commits, never a clock); the
 * profile is read from strigild on D-Bus
 * and compared, in canonical form, with what was last synced. A changed one
 * is one job: lock the centre's row (SELECT ... FOR UPDATE), then
 *   - no row: INSERT;
 *   - the row is still at the revision we last saw: UPDATE;
 *   - it moved on (another PC wrote while we were apart): MERGE (body.c:
 *     conditions united, lower caps, an edit wins over a delete), write the
 *     result marked "merged" and the merge record (both versions, who,
 *     when), and after the COMMIT apply the result here too.
 * Pull (NOTIFY strigil_profiles, or after connecting): rows above the pull
 * cursor, validated whole, applied through Manager.ApplyRemoteProfile
 * unless this PC has an unsynced edit of that profile (then the push
 * merges it first).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sync.h"

#define SGD_NAME	"org.strigil.Strigil1"
#define SGD_ROOT	"/org/strigil/Strigil1"

/* ---- strigild over D-Bus ------------------------------------------------ */

static int read_region_map(sd_bus_message *m, struct sp_body *b, int field)
{
	const char *sig = field == 1 ? "{su}" : "{sd}";
	const char *entry = field == 1 ? "su" : "sd";
	int r;

	r = sd_bus_message_enter_container(m, 'a', sig);
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
		const char *name;
		struct sp_region *e;
		double d = 0;
		uint32_t u = 0;

		r = field == 1 ? sd_bus_message_read(m, "su", &name, &u) :
				 sd_bus_message_read(m, "sd", &name, &d);
		if (r < 0)
			return r;
		e = sp_body_region(b, name);
		if (!e)
			return -E2BIG;
		if (field == 0)
			e->cap_n = d;
		else if (field == 1)
			e->max_strokes = u;
		else
			e->max_seconds = d;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

int profile_read_bus(struct sync *s, int64_t id, struct sp_state *st, char *uuid)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char path[128];
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), SGD_ROOT "/profile/%" PRId64, id);
	r = sd_bus_call_method(s->bus, SGD_NAME, path, "org.freedesktop.DBus.Properties",
			       "GetAll", &error, &reply, "s", "org.strigil.Strigil1.Profile");
	if (r < 0) {
		sync_error(s, "strigild: cannot read profile %" PRId64 ": %s", id,
			   error.message ? error.message : strerror(-r));
		sd_bus_error_free(&error);
		return r;
	}
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		struct sp_body *b = &st->body;
		const char *key, *str;
		char type;
		const char *contents;

		r = sd_bus_message_read(reply, "s", &key);
		if (r < 0)
			break;
		r = sd_bus_message_peek_type(reply, &type, &contents);
		if (r < 0)
			break;
		r = sd_bus_message_enter_container(reply, 'v', contents);
		if (r < 0)
			break;
		if (!strcmp(key, "PatientRef") || !strcmp(key, "DisplayName") ||
		    !strcmp(key, "Uuid") || !strcmp(key, "ReviewState")) {
			r = sd_bus_message_read(reply, "s", &str);
			if (r >= 0 && !strcmp(key, "PatientRef"))
				snprintf(b->patient_ref, sizeof(b->patient_ref), "%s", str);
			else if (r >= 0 && !strcmp(key, "DisplayName"))
				snprintf(b->display_name, sizeof(b->display_name), "%s", str);
			else if (r >= 0 && !strcmp(key, "Uuid"))
				snprintf(uuid, 37, "%s", str);
			else if (r >= 0)
				snprintf(st->review, sizeof(st->review), "%s", str);
		} else if (!strcmp(key, "MaxForceN")) {
			r = sd_bus_message_read(reply, "d", &b->max_force_n);
		} else if (!strcmp(key, "TargetMinN")) {
			r = sd_bus_message_read(reply, "d", &b->target_min_n);
		} else if (!strcmp(key, "TargetMaxN")) {
			r = sd_bus_message_read(reply, "d", &b->target_max_n);
		} else if (!strcmp(key, "MaxStrokes")) {
			r = sd_bus_message_read(reply, "u", &b->max_strokes);
		} else if (!strcmp(key, "MaxSecondsUnderLoad")) {
			r = sd_bus_message_read(reply, "d", &b->max_load_s);
		} else if (!strcmp(key, "RegionCapsN")) {
			r = read_region_map(reply, b, 0);
		} else if (!strcmp(key, "RegionMaxStrokes")) {
			r = read_region_map(reply, b, 1);
		} else if (!strcmp(key, "RegionMaxSeconds")) {
			r = read_region_map(reply, b, 2);
		} else if (!strcmp(key, "Conditions")) {
			r = sd_bus_message_enter_container(reply, 'a', "s");
			while (r >= 0 && (r = sd_bus_message_read(reply, "s", &str)) > 0)
				if (sp_body_add_cond(b, str) < 0)
					r = -E2BIG;
			if (r >= 0)
				r = sd_bus_message_exit_container(reply);
		} else {
			/* Id, CreatedAt, ModifiedAt: local, not part of the body */
			r = sd_bus_message_skip(reply, contents);
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		sync_error(s, "strigild: profile %" PRId64 " could not be decoded: %s", id,
			   strerror(-r));
		return r;
	}
	sp_body_normalize(&st->body);
	return 0;
}

static int append_map(sd_bus_message *m, const char *key, const struct sp_body *b, int field)
{
	const char *sig = field == 1 ? "a{su}" : "a{sd}";
	size_t i;
	int r;

	r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", key);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', sig);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', sig + 1);
	for (i = 0; r >= 0 && i < b->nregions; i++) {
		const struct sp_region *e = &b->regions[i];

		if (field == 0 && e->cap_n > 0)
			r = sd_bus_message_append(m, "{sd}", e->region, e->cap_n);
		else if (field == 1 && e->max_strokes)
			r = sd_bus_message_append(m, "{su}", e->region, e->max_strokes);
		else if (field == 2 && e->max_seconds > 0)
			r = sd_bus_message_append(m, "{sd}", e->region, e->max_seconds);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

int profile_apply_bus(struct sync *s, const char *uuid, const struct sp_state *st,
		      char *err, size_t errlen)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	const struct sp_body *b = &st->body;
	size_t i;
	int r;

	r = sd_bus_message_new_method_call(s->bus, &m, SGD_NAME, SGD_ROOT,
					   "org.strigil.Strigil1.Manager", "ApplyRemoteProfile");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", uuid);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0 && !st->deleted) {
		r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
					  "patient_ref", "s", b->patient_ref,
					  "display_name", "s", b->display_name,
					  "max_force_n", "d", b->max_force_n,
					  "target_min_n", "d", b->target_min_n,
					  "target_max_n", "d", b->target_max_n,
					  "max_strokes", "u", b->max_strokes,
					  "max_load_s", "d", b->max_load_s);
		if (r >= 0)
			r = append_map(m, "region_caps_n", b, 0);
		if (r >= 0)
			r = append_map(m, "region_max_strokes", b, 1);
		if (r >= 0)
			r = append_map(m, "region_max_seconds", b, 2);
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", "conditions");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', "as");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'a', "s");
		for (i = 0; r >= 0 && i < b->nconds; i++)
			r = sd_bus_message_append(m, "s", b->conds[i]);
		for (i = 0; r >= 0 && i < 3; i++)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}", 2, "review", "s", st->review,
					  "delete", "b", (int)st->deleted);
	if (r < 0) {
		snprintf(err, errlen, "cannot build the call: %s", strerror(-r));
		sd_bus_message_unref(m);
		return r;
	}
	r = sd_bus_call(s->bus, m, 10 * 1000000ULL, &error, &reply);
	if (r < 0)
		snprintf(err, errlen, "%s", error.message ? error.message : strerror(-r));
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r;
}

/* ---- local changes -------------------------------------------------------- */

/* The local state of the profile with that uuid: 1 found (live or
 * tombstone), 0 no such profile here, <0 error. */
static int local_state(struct sync *s, const char *uuid, struct sp_state *st)
{
	sqlite3_stmt *q = NULL;
	int64_t id = 0;
	int deleted = 0, rc;
	char u[37];

	if (sqlite3_prepare_v2(s->ldb, "SELECT id, deleted_us IS NOT NULL FROM profiles"
			       " WHERE uuid = ?1", -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(q, 0);
		deleted = sqlite3_column_int(q, 1);
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -EIO;
	if (deleted) {
		memset(st, 0, sizeof(*st));
		st->deleted = true;
		return 1;
	}
	return profile_read_bus(s, id, st, u) < 0 ? -EIO : 1;
}

/* What one profile push carries from step to step. */
struct push {
	char uuid[37];
	int64_t base_rev;
	struct sp_state ours;
	char *ours_text;
	struct sp_state result;		/* what the centre has after the job */
	int64_t new_rev;
	bool merged, write_local;
	int64_t cursor;			/* local change_seq this push covers */
};

static void push_free(struct push *p)
{
	free(p->ours_text);
	free(p);
}

static json_object *version_json(const struct sp_state *st, const char *by, const char *at,
				 int64_t rev)
{
	json_object *o = json_object_new_object();
	char *body = st->deleted ? NULL : sp_body_to_json(&st->body);

	json_object_object_add(o, "body", body ? json_tokener_parse(body) : NULL);
	json_object_object_add(o, "deleted", json_object_new_boolean(st->deleted));
	json_object_object_add(o, "review", json_object_new_string(st->review));
	if (by)
		json_object_object_add(o, "by", json_object_new_string(by));
	if (at)
		json_object_object_add(o, "at", json_object_new_string(at));
	if (rev)
		json_object_object_add(o, "rev", json_object_new_int64(rev));
	free(body);
	return o;
}

static int got_rev(struct sync *s, struct job *j, PGresult *res, void *ud)
{
	struct push *p = ud;

	if (PQntuples(res) != 1)
		return job_fail(j, "profile %s: the server wrote no row", p->uuid);
	p->new_rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	return 0;
}

static int add_write(struct job *j, struct push *p, const struct sp_state *st, bool insert)
{
	char *body = sp_body_to_json(&st->body);
	int r;

	if (!body)
		return -ENOMEM;
	r = job_add(j, insert ?
		    "INSERT INTO profiles (uuid, patient_ref, body, deleted, review)"
		    " VALUES ($1, $2, $3::jsonb, $4, $5) RETURNING rev" :
		    "UPDATE profiles SET patient_ref = $2, body = $3::jsonb, deleted = $4,"
		    " review = $5 WHERE uuid = $1 RETURNING rev",
		    got_rev, p, 5, p->uuid, st->body.patient_ref, body,
		    st->deleted ? "true" : "false", st->review);
	free(body);
	p->result = *st;
	return r;
}

/* The centre's row is locked: decide insert, update or merge. */
static int push_decide(struct sync *s, struct job *j, PGresult *res, void *ud)
{
	struct push *p = ud;
	struct sp_state theirs;
	char why[256], *theirs_text;
	int64_t rev;
	int r;

	if (PQntuples(res) == 0) {
		if (p->ours.deleted) {	/* created and deleted before it ever went up */
			p->result = p->ours;
			return 0;
		}
		return add_write(j, p, &p->ours, true);
	}
	rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	memset(&theirs, 0, sizeof(theirs));
	theirs.deleted = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	snprintf(theirs.review, sizeof(theirs.review), "%s", PQgetvalue(res, 0, 3));
	if (sp_body_from_json(PQgetvalue(res, 0, 1), &theirs.body, why, sizeof(why)) < 0 &&
	    !theirs.deleted) {
		s->rejected++;
		return job_fail(j, "profile %s: the server's version is invalid (%s); not merged",
				p->uuid, why);
	}
	if (rev == p->base_rev) {
		p->new_rev = rev;
		return add_write(j, p, &p->ours, false);
	}
	theirs_text = sp_state_canonical(&theirs);
	if (theirs_text && strcmp(theirs_text, p->ours_text) == 0) {
		/* the same change arrived from elsewhere: nothing to write */
		free(theirs_text);
		p->result = theirs;
		p->new_rev = rev;
		return 0;
	}
	free(theirs_text);
	/* concurrent edits: merge, record, mark for review */
	{
		struct sp_state m;
		json_object *t, *o, *mj;

		r = sp_merge(&theirs, &p->ours, &m);
		if (r < 0)
			return job_fail(j, "profile %s: the merged profile would have more "
					"conditions or regions than a profile holds; not merged",
					p->uuid);
		r = add_write(j, p, &m, false);
		if (r < 0)
			return r;
		t = version_json(&theirs, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5), rev);
		o = version_json(&p->ours, NULL, NULL, p->base_rev);
		mj = version_json(&m, NULL, NULL, 0);
		r = job_add(j, "INSERT INTO profile_merges (uuid, theirs, ours, result)"
			    " VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb)", NULL, NULL, 4, p->uuid,
			    json_object_to_json_string(t), json_object_to_json_string(o),
			    json_object_to_json_string(mj));
		json_object_put(t);
		json_object_put(o);
		json_object_put(mj);
		p->merged = p->write_local = true;
		return r;
	}
}

static void push_done(struct sync *s, struct job *j, bool ok, void *ud)
{
	struct push *p = ud;
	char *text, err[512];

	if (!ok) {
		sync_error(s, "%s", j->error);
		push_free(p);
		return;
	}
	text = sp_state_canonical(&p->result);
	if (p->write_local &&
	    profile_apply_bus(s, p->uuid, &p->result, err, sizeof(err)) < 0) {
		/* Not applied here: forget the base so that the next round
		 * merges again (a merge with a merge gives the same result) */
		sync_error(s, "profile %s: merged on the server but not applied here: %s",
			   p->uuid, err);
		state_profile_set(s, p->uuid, 0, "");
	} else {
		state_profile_set(s, p->uuid, p->new_rev, text ? text : "");
		fprintf(stderr, "strigil-sync: profile %s sent (rev %lld)\n", p->uuid,
			(long long)p->new_rev);
	}
	if (p->merged) {
		s->merges++;
		fprintf(stderr, "strigil-sync: profile %s: concurrent edits merged (review)\n",
			p->uuid);
		sync_status_changed(s, "Merges");
	}
	s->last_sync_us = now_us();
	free(text);
	push_free(p);
}

struct job *profiles_push_job(struct sync *s, bool *nothing)
{
	sqlite3_stmt *q = NULL;
	int64_t cursor = 0, max_seen = 0;
	struct job *j = NULL;
	int rc;

	*nothing = false;
	if (local_schema_check(s) < 0)
		return NULL;
	state_get(s, PROFILES_CURSOR, &cursor, NULL);
	if (sqlite3_prepare_v2(s->ldb, "SELECT id, uuid, change_seq, deleted_us IS NOT NULL"
			       " FROM profiles WHERE change_seq > ?1 AND uuid IS NOT NULL"
			       " ORDER BY change_seq", -1, &q, NULL) != SQLITE_OK) {
		sync_error(s, "local database: %s", sqlite3_errmsg(s->ldb));
		return NULL;
	}
	sqlite3_bind_int64(q, 1, cursor);
	max_seen = cursor;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0), base = 0;
		const char *uuid = (const char *)sqlite3_column_text(q, 1);
		struct push *p = calloc(1, sizeof(*p));
		char *synced = NULL, u[37];

		if (!p)
			break;
		snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
		p->cursor = sqlite3_column_int64(q, 2);
		if (sqlite3_column_int(q, 3)) {
			p->ours.deleted = true;
		} else if (profile_read_bus(s, id, &p->ours, u) < 0) {
			/* strigild not answering: try again at the next change */
			push_free(p);
			break;
		}
		p->ours_text = sp_state_canonical(&p->ours);
		state_profile_get(s, p->uuid, &base, &synced);
		if (p->ours_text && synced && strcmp(synced, p->ours_text) == 0) {
			free(synced);
			push_free(p);
			max_seen = sqlite3_column_int64(q, 2);
			continue;
		}
		free(synced);
		p->base_rev = base;
		j = job_new("push profile", true, push_done, p);
		if (!j || job_add(j, "SELECT rev, body::text, deleted, review, updated_by,"
				  " updated_at::text FROM profiles WHERE uuid = $1 FOR UPDATE",
				  push_decide, p, 1, p->uuid) < 0) {
			job_free(j);
			push_free(p);
			j = NULL;
		}
		break;
	}
	sqlite3_finalize(q);
	if (!j && rc == SQLITE_DONE) {
		*nothing = true;
		if (max_seen > cursor)
			state_set(s, PROFILES_CURSOR, max_seen, 0);
	} else if (max_seen > cursor) {
		state_set(s, PROFILES_CURSOR, max_seen, 0);
	}
	return j;
}

/* ---- remote changes ------------------------------------------------------- */

/*
 * Two PCs created a profile for the same patient while apart: two UUIDs,
 * one patient reference, and strigild keeps one live profile per
 * reference. The remote one is merged into the local one (same rules as
 * concurrent edits: no safety fact of either is lost), which is marked for
 * review and goes up under its own UUID; the other PC does the same with
 * ours, so both rows end up with the union. The merge is recorded. Returns
 * 1 when it handled the row, 0 when there is no such local profile.
 */
static int same_patient(struct sync *s, struct job *j, const char *uuid, int64_t rev,
			const struct sp_state *remote)
{
	struct sp_state local, m;
	sqlite3_stmt *q = NULL;
	char luuid[37] = "", u[37], err[512], *ltext = NULL, *mtext = NULL, *rtext;
	int64_t id = 0;
	int r = 0;

	if (sqlite3_prepare_v2(s->ldb, "SELECT id, uuid FROM profiles WHERE patient_ref = ?1"
			       " AND deleted_us IS NULL AND uuid <> ?2", -1, &q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(q, 1, remote->body.patient_ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, uuid, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		id = sqlite3_column_int64(q, 0);
		snprintf(luuid, sizeof(luuid), "%s", (const char *)sqlite3_column_text(q, 1));
	}
	sqlite3_finalize(q);
	if (!id || profile_read_bus(s, id, &local, u) < 0)
		return 0;
	if (sp_merge(remote, &local, &m) < 0) {
		sync_error(s, "profile %s and this PC's %s are the same patient but cannot be merged "
			   "(too many conditions or regions)", uuid, luuid);
		return 0;
	}
	ltext = sp_state_canonical(&local);
	mtext = sp_state_canonical(&m);
	if (ltext && mtext && strcmp(ltext, mtext) != 0) {
		json_object *t, *o, *mj;

		if (profile_apply_bus(s, luuid, &m, err, sizeof(err)) < 0) {
			sync_error(s, "profile %s (same patient as %s) not merged here: %s", luuid, uuid,
				   err);
			goto out;
		}
		t = version_json(remote, NULL, NULL, rev);
		json_object_object_add(t, "uuid", json_object_new_string(uuid));
		o = version_json(&local, NULL, NULL, 0);
		mj = version_json(&m, NULL, NULL, 0);
		/* the record needs the centre to have our row: the push sends it */
		job_add(j, "INSERT INTO profile_merges (uuid, theirs, ours, result)"
			" SELECT $1, $2::jsonb, $3::jsonb, $4::jsonb"
			" WHERE EXISTS (SELECT 1 FROM profiles WHERE uuid = $1)", NULL, NULL, 4, luuid,
			json_object_to_json_string(t), json_object_to_json_string(o),
			json_object_to_json_string(mj));
		json_object_put(t);
		json_object_put(o);
		json_object_put(mj);
		s->merges++;
		sync_status_changed(s, "Merges");
		s->need_profiles_push = true;
		fprintf(stderr, "strigil-sync: profile %s is the same patient as this PC's %s: "
			"merged (review)\n", uuid, luuid);
	}
	/* the other UUID is handled: its next revision merges again */
	rtext = sp_state_canonical(remote);
	state_profile_set(s, uuid, rev, rtext ? rtext : "");
	free(rtext);
	r = 1;
out:
	free(ltext);
	free(mtext);
	return r;
}

static int pull_rows(struct sync *s, struct job *j, PGresult *res, void *ud)
{
	int64_t cursor = 0, maxrev;
	int i, n = PQntuples(res);

	state_get(s, "profiles_remote", &cursor, NULL);
	maxrev = cursor;
	for (i = 0; i < n; i++) {
		const char *uuid = PQgetvalue(res, i, 0);
		int64_t rev = strtoll(PQgetvalue(res, i, 1), NULL, 10), base = 0;
		struct sp_state remote, local;
		char why[256], err[512], *synced = NULL, *text = NULL, *ltext = NULL;
		int lr;

		if (rev > maxrev)
			maxrev = rev;
		state_profile_get(s, uuid, &base, &synced);
		if (base >= rev) {	/* our own write coming back */
			free(synced);
			continue;
		}
		memset(&remote, 0, sizeof(remote));
		remote.deleted = strcmp(PQgetvalue(res, i, 3), "t") == 0;
		snprintf(remote.review, sizeof(remote.review), "%s", PQgetvalue(res, i, 4));
		if (!remote.deleted &&
		    sp_body_from_json(PQgetvalue(res, i, 2), &remote.body, why, sizeof(why)) < 0) {
			/* never applied in part: the profile stays as it is here */
			s->rejected++;
			sync_error(s, "profile %s rev %" PRId64 " from the server rejected: %s",
				   uuid, rev, why);
			sync_status_changed(s, "Rejected");
			free(synced);
			continue;
		}
		if (strcmp(remote.review, "") && strcmp(remote.review, "merged")) {
			s->rejected++;
			sync_error(s, "profile %s rev %" PRId64 " rejected: bad review state", uuid,
				   rev);
			free(synced);
			continue;
		}
		lr = local_state(s, uuid, &local);
		if (lr > 0) {
			ltext = sp_state_canonical(&local);
			if (!synced || !ltext || strcmp(synced, ltext)) {
				/* edited here too: the push merges both */
				fprintf(stderr, "strigil-sync: profile %s rev %" PRId64 " waits: edited "
					"here too\n", uuid, rev);
				s->need_profiles_push = true;
				free(ltext);
				free(synced);
				continue;
			}
		}
		free(ltext);
		free(synced);
		if (!remote.deleted && lr <= 0 && same_patient(s, j, uuid, rev, &remote) > 0)
			continue;
		text = sp_state_canonical(&remote);
		if (remote.deleted && lr <= 0) {
			state_profile_set(s, uuid, rev, text);
		} else if (profile_apply_bus(s, uuid, &remote, err, sizeof(err)) < 0) {
			sync_error(s, "profile %s rev %" PRId64 " not applied: %s", uuid, rev, err);
			sqlite3_stmt *q = NULL;

			if (sqlite3_prepare_v2(s->sdb, "INSERT OR IGNORE INTO pending VALUES (?1)",
					       -1, &q, NULL) == SQLITE_OK) {
				sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
				sqlite3_step(q);
			}
			sqlite3_finalize(q);
		} else {
			sqlite3_stmt *q = NULL;

			state_profile_set(s, uuid, rev, text);
			fprintf(stderr, "strigil-sync: profile %s rev %" PRId64 " applied\n", uuid, rev);
			if (sqlite3_prepare_v2(s->sdb, "DELETE FROM pending WHERE uuid = ?1",
					       -1, &q, NULL) == SQLITE_OK) {
				sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
				sqlite3_step(q);
			}
			sqlite3_finalize(q);
			s->last_sync_us = now_us();
		}
		free(text);
	}
	if (maxrev > cursor)
		state_set(s, "profiles_remote", maxrev, 0);
	if (n >= 200)
		s->need_profiles_pull = true;
	return 0;
}

struct job *profiles_pull_job(struct sync *s)
{
	char cur[32], *pending = NULL;
	sqlite3_stmt *q = NULL;
	int64_t cursor = 0;
	struct job *j;
	size_t len = 2;

	state_get(s, "profiles_remote", &cursor, NULL);
	snprintf(cur, sizeof(cur), "%" PRId64, cursor);
	/* profiles that could not be applied before: an array literal of
	 * uuids (validated by the server's uuid[] cast) */
	pending = strdup("{");
	if (pending && sqlite3_prepare_v2(s->sdb, "SELECT uuid FROM pending LIMIT 100", -1, &q,
					  NULL) == SQLITE_OK) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *u = (const char *)sqlite3_column_text(q, 0);
			char *np = realloc(pending, len + strlen(u) + 2);

			if (!np)
				break;
			pending = np;
			if (len > 2)
				strcat(pending, ",");
			strcat(pending, u);
			len = strlen(pending) + 1;
		}
	}
	sqlite3_finalize(q);
	if (!pending)
		return NULL;
	{
		char *np = realloc(pending, strlen(pending) + 2);

		if (!np) {
			free(pending);
			return NULL;
		}
		pending = np;
		strcat(pending, "}");
	}
	j = job_new("pull profiles", false, NULL, NULL);
	if (j && job_add(j, "SELECT uuid::text, rev, body::text, deleted, review FROM profiles"
			 " WHERE rev > $1 OR uuid = ANY($2::uuid[]) ORDER BY rev LIMIT 200",
			 pull_rows, NULL, 2, cur, pending) < 0) {
		job_free(j);
		j = NULL;
	}
	free(pending);
	return j;
}
