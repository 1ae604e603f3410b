/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The clinic network's profile body: validation, canonical form, merge. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "body.h"

void sp_body_init(struct sp_body *b)
{
	memset(b, 0, sizeof(*b));
}

struct sp_region *sp_body_region(struct sp_body *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nregions; i++)
		if (strcmp(b->regions[i].region, name) == 0)
			return &b->regions[i];
	if (b->nregions >= SP_MAX_REGIONS || strlen(name) >= SP_KEY_MAX)
		return NULL;
	memset(&b->regions[b->nregions], 0, sizeof(b->regions[0]));
	snprintf(b->regions[b->nregions].region, SP_KEY_MAX, "%s", name);
	return &b->regions[b->nregions++];
}

int sp_body_add_cond(struct sp_body *b, const char *cond)
{
	size_t i, at;

	if (strlen(cond) >= SP_KEY_MAX)
		return -E2BIG;
	for (at = 0; at < b->nconds; at++) {
		int c = strcmp(b->conds[at], cond);

		if (c == 0)
			return 0;
		if (c > 0)
			break;
	}
	if (b->nconds >= SP_MAX_CONDS)
		return -E2BIG;
	for (i = b->nconds; i > at; i--)
		memcpy(b->conds[i], b->conds[i - 1], SP_KEY_MAX);
	snprintf(b->conds[at], SP_KEY_MAX, "%s", cond);
	b->nconds++;
	return 0;
}

static int region_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sp_region *)a)->region,
		      ((const struct sp_region *)b)->region);
}

void sp_body_normalize(struct sp_body *b)
{
	size_t i, k = 0;

	for (i = 0; i < b->nregions; i++) {
		const struct sp_region *r = &b->regions[i];

		if (r->cap_n != 0 || r->max_strokes || r->max_seconds != 0)
			b->regions[k++] = *r;
	}
	b->nregions = k;
	qsort(b->regions, b->nregions, sizeof(b->regions[0]), region_cmp);
}

/* ---- decoding ----------------------------------------------------------- */

#define BAD(...) (snprintf(why, whylen, __VA_ARGS__), -EBADMSG)

static bool text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int get_string(json_object *v, const char *key, char *dst, size_t max,
		      char *why, size_t whylen)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return BAD("'%s' is not a string", key);
	s = json_object_get_string(v);
	if (strlen(s) >= max)
		return BAD("'%s' is longer than %zu bytes", key, max - 1);
	if (!text_ok(s))
		return BAD("'%s' has control characters", key);
	snprintf(dst, max, "%s", s);
	return 0;
}

/* A number in [0, ceiling]; json-c gives ints and doubles. */
static int get_number(json_object *v, const char *key, double ceiling, double *out,
		      char *why, size_t whylen)
{
	double d;

	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return BAD("'%s' is not a number", key);
	d = json_object_get_double(v);
	if (!isfinite(d) || d < 0 || d > ceiling)
		return BAD("'%s' is out of range (%g, allowed 0..%g)", key, d, ceiling);
	*out = d;
	return 0;
}

static int get_count(json_object *v, const char *key, uint32_t *out, char *why, size_t whylen)
{
	double d;
	int r = get_number(v, key, SP_STROKES_CEILING, &d, why, whylen);

	if (r < 0)
		return r;
	if (d != floor(d))
		return BAD("'%s' is not a whole number", key);
	*out = (uint32_t)d;
	return 0;
}

enum rfield { RF_CAP, RF_STROKES, RF_SECONDS };

static int get_region_map(json_object *v, const char *key, enum rfield f, struct sp_body *b,
			  char *why, size_t whylen)
{
	int r;

	if (!json_object_is_type(v, json_type_object))
		return BAD("'%s' is not an object", key);
	json_object_object_foreach(v, region, val) {
		struct sp_region *e;

		if (strlen(region) == 0 || strlen(region) >= SP_KEY_MAX || !text_ok(region))
			return BAD("'%s' has a bad region name", key);
		e = sp_body_region(b, region);
		if (!e)
			return BAD("'%s' has more than %d regions", key, SP_MAX_REGIONS);
		if (f == RF_CAP)
			r = get_number(val, key, SP_CAP_CEILING, &e->cap_n, why, whylen);
		else if (f == RF_SECONDS)
			r = get_number(val, key, SP_SECONDS_CEILING, &e->max_seconds, why, whylen);
		else
			r = get_count(val, key, &e->max_strokes, why, whylen);
		if (r < 0)
			return r;
	}
	return 0;
}

int sp_body_from_json(const char *json, struct sp_body *out, char *why, size_t whylen)
{
	json_tokener *tok;
	json_object *root;
	struct sp_body *b = out;
	int r = 0;

	sp_body_init(b);
	if (!json)
		return BAD("no body");
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)strlen(json));
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != strlen(json)) {
		json_object_put(root);
		json_tokener_free(tok);
		return BAD("body is not valid JSON");
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return BAD("body is not a JSON object");
	}
	json_object_object_foreach(root, key, v) {
		if (strcmp(key, "patient_ref") == 0) {
			r = get_string(v, key, b->patient_ref, SP_REF_MAX, why, whylen);
		} else if (strcmp(key, "display_name") == 0) {
			r = get_string(v, key, b->display_name, SP_NAME_MAX, why, whylen);
		} else if (strcmp(key, "max_force_n") == 0) {
			r = get_number(v, key, SP_CAP_CEILING, &b->max_force_n, why, whylen);
		} else if (strcmp(key, "target_min_n") == 0) {
			r = get_number(v, key, SP_CAP_CEILING, &b->target_min_n, why, whylen);
		} else if (strcmp(key, "target_max_n") == 0) {
			r = get_number(v, key, SP_CAP_CEILING, &b->target_max_n, why, whylen);
		} else if (strcmp(key, "max_strokes") == 0) {
			r = get_count(v, key, &b->max_strokes, why, whylen);
		} else if (strcmp(key, "max_load_s") == 0) {
			r = get_number(v, key, SP_SECONDS_CEILING, &b->max_load_s, why, whylen);
		} else if (strcmp(key, "region_caps_n") == 0) {
			r = get_region_map(v, key, RF_CAP, b, why, whylen);
		} else if (strcmp(key, "region_max_strokes") == 0) {
			r = get_region_map(v, key, RF_STROKES, b, why, whylen);
		} else if (strcmp(key, "region_max_seconds") == 0) {
			r = get_region_map(v, key, RF_SECONDS, b, why, whylen);
		} else if (strcmp(key, "conditions") == 0) {
			size_t i, n;

			if (!json_object_is_type(v, json_type_array)) {
				r = BAD("'conditions' is not an array");
				break;
			}
			n = json_object_array_length(v);
			for (i = 0; r >= 0 && i < n; i++) {
				char c[SP_KEY_MAX];

				r = get_string(json_object_array_get_idx(v, i), key, c, sizeof(c),
					       why, whylen);
				if (r >= 0 && !c[0])
					r = BAD("'conditions' has an empty name");
				if (r >= 0 && sp_body_add_cond(b, c) < 0)
					r = BAD("'conditions' has more than %d entries", SP_MAX_CONDS);
			}
		} else {
			r = BAD("unknown profile key '%s' (newer PC? refused, not applied in part)",
				key);
		}
		if (r < 0)
			break;
	}
	json_object_put(root);
	if (r < 0)
		return r;
	if (!b->patient_ref[0])
		return BAD("body has no patient_ref");
	sp_body_normalize(b);
	return 0;
}

/* ---- canonical form --------------------------------------------------- */

static json_object *num(double d)
{
	char buf[32];

	/* one spelling per value: %.17g round-trips every double */
	snprintf(buf, sizeof(buf), "%.17g", d);
	return json_object_new_double_s(d, buf);
}

static json_object *body_object(const struct sp_body *b)
{
	json_object *o = json_object_new_object(), *caps, *strokes, *secs, *conds;
	size_t i;

	if (!o)
		return NULL;
	caps = json_object_new_object();
	strokes = json_object_new_object();
	secs = json_object_new_object();
	conds = json_object_new_array();
	/* keys in a fixed (alphabetical) order */
	json_object_object_add(o, "conditions", conds);
	for (i = 0; i < b->nconds; i++)
		json_object_array_add(conds, json_object_new_string(b->conds[i]));
	json_object_object_add(o, "display_name", json_object_new_string(b->display_name));
	json_object_object_add(o, "max_force_n", num(b->max_force_n));
	json_object_object_add(o, "max_load_s", num(b->max_load_s));
	json_object_object_add(o, "max_strokes", json_object_new_int64(b->max_strokes));
	json_object_object_add(o, "patient_ref", json_object_new_string(b->patient_ref));
	json_object_object_add(o, "region_caps_n", caps);
	json_object_object_add(o, "region_max_seconds", secs);
	json_object_object_add(o, "region_max_strokes", strokes);
	for (i = 0; i < b->nregions; i++) {
		const struct sp_region *r = &b->regions[i];

		if (r->cap_n > 0)
			json_object_object_add(caps, r->region, num(r->cap_n));
		if (r->max_seconds > 0)
			json_object_object_add(secs, r->region, num(r->max_seconds));
		if (r->max_strokes)
			json_object_object_add(strokes, r->region,
					       json_object_new_int64(r->max_strokes));
	}
	json_object_object_add(o, "target_max_n", num(b->target_max_n));
	json_object_object_add(o, "target_min_n", num(b->target_min_n));
	return o;
}

static char *to_text(json_object *o)
{
	char *s = NULL;

	if (o)
		s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

char *sp_body_to_json(const struct sp_body *b)
{
	return to_text(body_object(b));
}

char *sp_state_canonical(const struct sp_state *st)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "body", st->deleted ? NULL : body_object(&st->body));
	json_object_object_add(o, "deleted", json_object_new_boolean(st->deleted));
	json_object_object_add(o, "review", json_object_new_string(st->review));
	return to_text(o);
}

/* ---- merge ------------------------------------------------------------ */

/* The stricter of two caps where 0 means "not set": a set cap survives. */
static double lower_cap(double a, double b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

static uint32_t lower_count(uint32_t a, uint32_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static int merge_bodies(const struct sp_body *t, const struct sp_body *o, struct sp_body *m)
{
	const struct sp_body *band;
	size_t i;

	*m = *o;	/* names, patient_ref: the later edit (ours) */
	m->max_force_n = lower_cap(t->max_force_n, o->max_force_n);
	m->max_strokes = lower_count(t->max_strokes, o->max_strokes);
	m->max_load_s = lower_cap(t->max_load_s, o->max_load_s);
	for (i = 0; i < t->nregions; i++) {
		const struct sp_region *tr = &t->regions[i];
		struct sp_region *mr = sp_body_region(m, tr->region);

		if (!mr)
			return -E2BIG;
		mr->cap_n = lower_cap(tr->cap_n, mr->cap_n);
		mr->max_strokes = lower_count(tr->max_strokes, mr->max_strokes);
		mr->max_seconds = lower_cap(tr->max_seconds, mr->max_seconds);
	}
	for (i = 0; i < t->nconds; i++)
		if (sp_body_add_cond(m, t->conds[i]) < 0)
			return -E2BIG;
	/* the target band is a pair: take one side's whole band */
	band = o;
	if (t->target_max_n > 0 && (o->target_max_n <= 0 || t->target_max_n < o->target_max_n))
		band = t;
	m->target_min_n = band->target_min_n;
	m->target_max_n = band->target_max_n;
	if (m->max_force_n > 0 && m->target_max_n > m->max_force_n)
		m->target_min_n = m->target_max_n = 0;
	sp_body_normalize(m);
	return 0;
}

int sp_merge(const struct sp_state *theirs, const struct sp_state *ours, struct sp_state *out)
{
	struct sp_state m;
	int r = 0;

	memset(&m, 0, sizeof(m));
	if (theirs->deleted && ours->deleted) {
		m.deleted = true;
		*out = m;
		return 0;
	}
	/* an edit wins over a delete: its safety facts are kept, for review */
	if (theirs->deleted)
		m.body = ours->body;
	else if (ours->deleted)
		m.body = theirs->body;
	else
		r = merge_bodies(&theirs->body, &ours->body, &m.body);
	if (r < 0)
		return r;
	snprintf(m.review, sizeof(m.review), "merged");
	*out = m;
	return 0;
}
