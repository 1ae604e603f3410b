/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: patient profiles, each a row with its region caps and
 * conditions in child tables, written in one transaction. A deleted
 * profile keeps its row (deleted_us): its sessions still refer to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "storage-private.h"

/* The rows of one child table of profile id (which: ?1 is the id). */
static int delete_children(struct sgd_store *s, enum stmt_id which, int64_t id,
			   const char *what)
{
	struct binder b;
	int r;

	if ((r = store_stmt_id(s, which, id, &b)))
		return r;
	return store_step_done(s, b.st, &b, what);
}

int store_profile_children_write(struct sgd_store *s,
				 const struct sgd_profile *p)
{
	struct binder b;
	int r;

	if ((r = delete_children(s, ST_PRC_DELETE, p->id, "delete region caps")) ||
	    (r = delete_children(s, ST_PCOND_DELETE, p->id, "delete conditions")))
		return r;

	for (size_t i = 0; i < p->nregion_caps; i++) {
		const struct sgd_region_cap *c = &p->region_caps[i];

		if ((r = store_stmt_id(s, ST_PRC_INSERT, p->id, &b)))
			return r;
		b_int(&b, 2, (int64_t)i);
		B_TXT(&b, 3, c->region);
		b_dbl(&b, 4, c->cap_n);
		b_int(&b, 5, c->max_strokes);
		b_dbl(&b, 6, c->max_load_s);
		if ((r = store_step_done(s, b.st, &b, "insert region cap")))
			return r;
	}
	for (size_t i = 0; i < p->nconditions; i++) {
		const struct sgd_profile_condition *c = &p->conditions[i];

		if ((r = store_stmt_id(s, ST_PCOND_INSERT, p->id, &b)))
			return r;
		b_int(&b, 2, (int64_t)i);
		B_TXT(&b, 3, c->name);
		B_TXT(&b, 4, c->region);
		if ((r = store_step_done(s, b.st, &b, "insert condition")))
			return r;
	}
	return 0;
}

int store_profile_args_ok(struct sgd_store *s, const struct sgd_profile *p)
{
	if (!p)
		return store_set_err(s, -EINVAL, "no profile");
	if (p->nregion_caps > SGD_PROFILE_MAX_REGION_CAPS ||
	    p->nconditions > SGD_PROFILE_MAX_CONDITIONS)
		return store_set_err(s, -EINVAL, "profile has too many entries");
	if (!p->patient_ref[0] ||
	    strnlen(p->patient_ref, sizeof(p->patient_ref)) >= sizeof(p->patient_ref))
		return store_set_err(s, -EINVAL, "profile needs a patient reference");
	return 0;
}

/*
 * The profiles row of p: inserted (ST_PROFILE_INSERT, the fields are ?1..)
 * or updated by id (ST_PROFILE_UPDATE, the id is ?1, the fields ?2..).
 */
int store_profile_row_write(struct sgd_store *s, enum stmt_id id,
			    const struct sgd_profile *p, int64_t now_us)
{
	bool update = id == ST_PROFILE_UPDATE;
	int k = update ? 2 : 1;
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if ((r = store_stmt(s, id, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (update)
		b_int(&b, 1, p->id);
	B_TXT(&b, k, p->patient_ref);
	B_TXT(&b, k + 1, p->display_name);
	b_dbl(&b, k + 2, p->max_force_n);
	b_dbl(&b, k + 3, p->target_low_n);
	b_dbl(&b, k + 4, p->target_high_n);
	b_int(&b, k + 5, p->max_strokes);
	b_dbl(&b, k + 6, p->max_load_s);
	b_int(&b, k + 7, now_us);
	r = store_step_done(s, st, &b, update ? "update profile" : "create profile");
	if (r == -EEXIST)
		store_set_err(s, r, "a profile with patient reference '%s' exists", p->patient_ref);
	return r;
}

int sgd_store_profile_create(struct sgd_store *s, struct sgd_profile *p,
			     int64_t now_us)
{
	int64_t old_id = p ? p->id : 0;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = store_profile_args_ok(s, p)))
		return r;
	if ((r = store_tx_begin(s)))
		return r;
	if ((r = store_profile_row_write(s, ST_PROFILE_INSERT, p, now_us)))
		return store_tx_rollback(s, r);
	p->id = sqlite3_last_insert_rowid(s->db);
	if ((r = store_profile_children_write(s, p)) || (r = store_tx_commit(s))) {
		p->id = old_id;
		return store_tx_rollback(s, r);
	}
	p->created_us = p->updated_us = now_us;
	return 0;
}

int sgd_store_profile_update(struct sgd_store *s, struct sgd_profile *p,
			     int64_t now_us)
{
	int r;

	if (!s)
		return -EINVAL;
	if ((r = store_profile_args_ok(s, p)))
		return r;
	if ((r = store_tx_begin(s)))
		return r;
	if ((r = store_profile_row_write(s, ST_PROFILE_UPDATE, p, now_us)))
		return store_tx_rollback(s, r);
	if (sqlite3_changes(s->db) != 1)
		return store_tx_rollback(s, store_set_err(s, -ENOENT, "no profile %lld",
							  (long long)p->id));
	if ((r = store_profile_children_write(s, p)) || (r = store_tx_commit(s)))
		return store_tx_rollback(s, r);
	p->updated_us = now_us;
	return 0;
}

int sgd_store_profile_delete(struct sgd_store *s, int64_t id, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = store_stmt(s, ST_PROFILE_DELETE, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, id);
	b_int(&b, 2, now_us);
	if ((r = store_step_done(s, st, &b, "delete profile")))
		return r;
	if (sqlite3_changes(s->db) != 1)
		return store_set_err(s, -ENOENT, "no profile %lld", (long long)id);
	return 0;
}

static void profile_from_row(sqlite3_stmt *st, struct sgd_profile *p)
{
	sgd_profile_init(p);
	p->id = sqlite3_column_int64(st, 0);
	col_txt(st, 1, p->patient_ref, sizeof(p->patient_ref));
	col_txt(st, 2, p->display_name, sizeof(p->display_name));
	p->max_force_n = sqlite3_column_double(st, 3);
	p->target_low_n = sqlite3_column_double(st, 4);
	p->target_high_n = sqlite3_column_double(st, 5);
	p->max_strokes = (uint32_t)sqlite3_column_int64(st, 6);
	p->max_load_s = sqlite3_column_double(st, 7);
	p->created_us = sqlite3_column_int64(st, 8);
	p->updated_us = sqlite3_column_int64(st, 9);
}

static void profile_row(sqlite3_stmt *st, void *elem)
{
	profile_from_row(st, elem);
}

static int profile_children_read(struct sgd_store *s, struct sgd_profile *p)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc = SQLITE_OK, r;

	if ((r = store_stmt(s, ST_PRC_GET, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->id);
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sgd_region_cap *c;

		if (p->nregion_caps >= SGD_PROFILE_MAX_REGION_CAPS)
			continue;	/* cannot happen: we wrote them */
		c = &p->region_caps[p->nregion_caps++];
		col_txt(st, 0, c->region, sizeof(c->region));
		c->cap_n = sqlite3_column_double(st, 1);
		c->max_strokes = (uint32_t)sqlite3_column_int64(st, 2);
		c->max_load_s = sqlite3_column_double(st, 3);
	}
	done_stmt(st);
	if (b.rc != SQLITE_OK)
		return store_sql_err(s, b.rc, "read region caps");
	if (rc != SQLITE_DONE)
		return store_sql_err(s, rc, "read region caps");

	if ((r = store_stmt(s, ST_PCOND_GET, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_int(&b, 1, p->id);
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sgd_profile_condition *c;

		if (p->nconditions >= SGD_PROFILE_MAX_CONDITIONS)
			continue;
		c = &p->conditions[p->nconditions++];
		col_txt(st, 0, c->name, sizeof(c->name));
		col_txt(st, 1, c->region, sizeof(c->region));
	}
	done_stmt(st);
	if (b.rc != SQLITE_OK)
		return store_sql_err(s, b.rc, "read conditions");
	if (rc != SQLITE_DONE)
		return store_sql_err(s, rc, "read conditions");
	return 0;
}

int sgd_store_profile_get(struct sgd_store *s, int64_t id,
			  struct sgd_profile *out)
{
	int r;

	if (!s || !out)
		return -EINVAL;
	if ((r = store_get_row_by_id(s, ST_PROFILE_GET, id, profile_row, out, "profile")))
		return r;
	return profile_children_read(s, out);
}

int sgd_store_profile_find_ref(struct sgd_store *s, const char *patient_ref,
			       int64_t *id)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc, r;

	if (!s || !patient_ref || !id)
		return -EINVAL;
	if ((r = store_stmt(s, ST_PROFILE_FIND_REF, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_txt(&b, 1, patient_ref, SGD_PATIENT_REF_MAX);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	done_stmt(st);
	if (rc == SQLITE_DONE)
		return store_set_err(s, -ENOENT, "no profile with patient reference '%.*s'",
				     SGD_PATIENT_REF_LEN, patient_ref);
	if (rc != SQLITE_ROW)
		return store_sql_err(s, rc, "find profile");
	return 0;
}

int sgd_store_profile_list(struct sgd_store *s, struct sgd_profile **out,
			   size_t *n)
{
	struct sgd_profile *arr;
	sqlite3_stmt *st = NULL;
	struct binder b;
	size_t cnt;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = store_stmt(s, ST_PROFILE_LIST, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if ((r = store_list_rows(s, st, &b, sizeof(*arr), profile_row, "list profiles",
				 (void **)&arr, &cnt)))
		return r;
	for (size_t i = 0; i < cnt; i++) {
		if ((r = profile_children_read(s, &arr[i]))) {
			free(arr);
			return r;
		}
	}
	*out = arr;
	*n = cnt;
	return 0;
}

/* q as a LIKE pattern (ESCAPE '\\'): '%', '_' and '\\' match only
 * themselves (patient references contain '_'); a '%' after it, and one
 * before it unless prefix. */
static int like_pattern(const char *q, bool prefix, char *out, size_t size)
{
	size_t o = 0;

	if (!prefix && o + 1 < size)
		out[o++] = '%';
	for (; *q; q++) {
		if (o + 3 >= size)
			return -ENAMETOOLONG;
		if (*q == '%' || *q == '_' || *q == '\\')
			out[o++] = '\\';
		out[o++] = *q;
	}
	if (o + 2 > size)
		return -ENAMETOOLONG;
	out[o++] = '%';
	out[o] = '\0';
	return 0;
}

/* Binds ?1 (the query), ?2 (its prefix pattern), ?3 (its substring one). */
static int bind_query(struct sgd_store *s, enum stmt_id which, const char *query,
		      sqlite3_stmt **st, struct binder *b)
{
	char prefix[2 * SGD_PROFILE_QUERY_LEN + 4], sub[2 * SGD_PROFILE_QUERY_LEN + 4];
	int r;

	if (like_pattern(query, true, prefix, sizeof(prefix)) ||
	    like_pattern(query, false, sub, sizeof(sub)))
		return store_set_err(s, -EINVAL, "search text too long");
	if ((r = store_stmt(s, which, st)))
		return r;
	*b = (struct binder){ *st, SQLITE_OK };
	b_txt(b, 1, query, SGD_PROFILE_QUERY_LEN + 1);
	b_txt(b, 2, prefix, sizeof(prefix));
	b_txt(b, 3, sub, sizeof(sub));
	return 0;
}

int sgd_store_profile_page(struct sgd_store *s, const char *query, uint32_t offset,
			   uint32_t limit, int64_t **ids, size_t *n, uint32_t *total)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc, r;

	if (!s || !query || !ids || !n || !total)
		return -EINVAL;
	*ids = NULL;
	*n = 0;
	if (!sgd_profile_query_valid(query))
		return store_set_err(s, -EINVAL, "not a search text");
	if ((r = bind_query(s, ST_PROFILE_PAGE_COUNT, query, &st, &b)))
		return r;
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		*total = (uint32_t)sqlite3_column_int64(st, 0);
	done_stmt(st);
	if (rc != SQLITE_ROW)
		return store_sql_err(s, rc, "count profiles");
	if (!limit)
		return 0;
	if ((r = bind_query(s, ST_PROFILE_PAGE, query, &st, &b)))
		return r;
	b_int(&b, 4, limit);
	b_int(&b, 5, offset);
	return store_list_rows(s, st, &b, sizeof(**ids), store_id_row, "page of profiles",
			       (void **)ids, n);
}

int sgd_store_profile_ids(struct sgd_store *s, int64_t **out, size_t *n)
{
	return store_list_ids(s, ST_PROFILE_IDS, "list profile ids", out, n);
}
