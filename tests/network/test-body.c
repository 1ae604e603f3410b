/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The clinic network's profile body (sync/body.c): the merge never loses a
 * safety fact, bad server data is refused whole, the canonical form is one
 * spelling per profile. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "body.h"

static struct sp_state live(const char *json)
{
	struct sp_state st;
	char why[256];

	memset(&st, 0, sizeof(st));
	CHECK(sp_body_from_json(json, &st.body, why, sizeof(why)) == 0, "%s: %s", json, why);
	return st;
}

static const struct sp_region *region(const struct sp_body *b, const char *name)
{
	for (size_t i = 0; i < b->nregions; i++)
		if (!strcmp(b->regions[i].region, name))
			return &b->regions[i];
	return NULL;
}

static bool has_cond(const struct sp_body *b, const char *c)
{
	for (size_t i = 0; i < b->nconds; i++)
		if (!strcmp(b->conds[i], c))
			return true;
	return false;
}

static void test_merge_caps_and_conditions(void)
{
	struct sp_state t = live("{\"patient_ref\":\"p1\",\"max_force_n\":11,"
				 "\"conditions\":[\"anticoagulants\",\"open_wound@calf:left\"],"
				 "\"region_caps_n\":{\"calf:left\":7,\"neck\":3},"
				 "\"region_max_strokes\":{\"neck\":40},\"max_strokes\":0,"
				 "\"max_load_s\":300}");
	struct sp_state o = live("{\"patient_ref\":\"p1\",\"display_name\":\"J\",\"max_force_n\":9,"
				 "\"conditions\":[\"thin_skin\"],"
				 "\"region_caps_n\":{\"calf:left\":8,\"calf:right\":6.5},"
				 "\"region_max_strokes\":{\"neck\":60},\"max_strokes\":200,"
				 "\"max_load_s\":0}");
	struct sp_state m;

	CHECK_EQ_INT(sp_merge(&t, &o, &m), 0);
	CHECK(!m.deleted && !strcmp(m.review, "merged"), "merged, for review");
	CHECK_NEAR(m.body.max_force_n, 9.0, 0);
	CHECK(has_cond(&m.body, "anticoagulants") && has_cond(&m.body, "thin_skin") &&
	      has_cond(&m.body, "open_wound@calf:left") && m.body.nconds == 3,
	      "conditions united (%zu)", m.body.nconds);
	/* the lower cap per region:side; a cap set on one side only survives */
	CHECK(region(&m.body, "calf:left") && region(&m.body, "calf:left")->cap_n == 7.0, "calf:left 7");
	CHECK(region(&m.body, "calf:right") && region(&m.body, "calf:right")->cap_n == 6.5, "calf:right");
	CHECK(region(&m.body, "neck") && region(&m.body, "neck")->cap_n == 3.0 &&
	      region(&m.body, "neck")->max_strokes == 40, "neck cap and lower stroke cap");
	/* 0 means "not set": the set cap wins over none, both ways */
	CHECK_EQ_INT(m.body.max_strokes, 200);
	CHECK_NEAR(m.body.max_load_s, 300, 0);
	CHECK(!strcmp(m.body.display_name, "J"), "names from the later edit");

	/* symmetric in every safety fact */
	{
		struct sp_state m2;
		char *a, *b;

		CHECK_EQ_INT(sp_merge(&o, &t, &m2), 0);
		strcpy(m2.body.display_name, m.body.display_name);
		a = sp_state_canonical(&m);
		b = sp_state_canonical(&m2);
		CHECK(a && b && !strcmp(a, b), "merge(t,o) == merge(o,t): %s / %s", a, b);
		free(a);
		free(b);
	}
	/* a merge with its own result changes nothing (a retried merge) */
	{
		struct sp_state again;
		char *a, *b;

		CHECK_EQ_INT(sp_merge(&m, &o, &again), 0);
		a = sp_state_canonical(&m);
		b = sp_state_canonical(&again);
		CHECK(a && b && !strcmp(a, b), "merge is idempotent");
		free(a);
		free(b);
	}
}

static void test_delete_vs_edit(void)
{
	struct sp_state edit = live("{\"patient_ref\":\"p2\",\"conditions\":[\"dvt\"]}");
	struct sp_state del, m;

	memset(&del, 0, sizeof(del));
	del.deleted = true;
	CHECK_EQ_INT(sp_merge(&del, &edit, &m), 0);
	CHECK(!m.deleted && has_cond(&m.body, "dvt") && !strcmp(m.review, "merged"),
	      "theirs deleted, ours edited: the edit wins, for review");
	CHECK_EQ_INT(sp_merge(&edit, &del, &m), 0);
	CHECK(!m.deleted && has_cond(&m.body, "dvt"), "ours deleted, theirs edited: the edit wins");
	CHECK_EQ_INT(sp_merge(&del, &del, &m), 0);
	CHECK(m.deleted && !strcmp(m.review, ""), "both deleted: deleted");
}

static void test_target_band(void)
{
	struct sp_state t = live("{\"patient_ref\":\"p\",\"target_min_n\":2,\"target_max_n\":4}");
	struct sp_state o = live("{\"patient_ref\":\"p\",\"target_min_n\":3,\"target_max_n\":6,"
				 "\"max_force_n\":5}");
	struct sp_state m;

	CHECK_EQ_INT(sp_merge(&t, &o, &m), 0);
	CHECK(m.body.target_min_n == 2 && m.body.target_max_n == 4, "the band with the lower max");
	t = live("{\"patient_ref\":\"p\",\"max_force_n\":3}");
	CHECK_EQ_INT(sp_merge(&t, &o, &m), 0);
	CHECK(m.body.target_min_n == 0 && m.body.target_max_n == 0 && m.body.max_force_n == 3,
	      "a band above the merged cap is dropped");
}

static void test_too_many(void)
{
	struct sp_state t, o, m;
	char c[32];

	memset(&t, 0, sizeof(t));
	memset(&o, 0, sizeof(o));
	strcpy(t.body.patient_ref, "p");
	strcpy(o.body.patient_ref, "p");
	for (int i = 0; i < SP_MAX_CONDS; i++) {
		snprintf(c, sizeof(c), "t%02d", i);
		CHECK_EQ_INT(sp_body_add_cond(&t.body, c), 0);
		snprintf(c, sizeof(c), "o%02d", i);
		CHECK_EQ_INT(sp_body_add_cond(&o.body, c), 0);
	}
	CHECK_EQ_INT(sp_merge(&t, &o, &m), -E2BIG);
}

static void test_bad_json(void)
{
	static const char *const bad[] = {
		"", "[]", "{\"patient_ref\":\"p\"", "{\"max_force_n\":5}",
		"{\"patient_ref\":\"p\",\"max_force_n\":\"5\"}",
		"{\"patient_ref\":\"p\",\"max_force_n\":-1}",
		"{\"patient_ref\":\"p\",\"max_force_n\":1e999}",
		"{\"patient_ref\":\"p\",\"max_force_n\":201}",
		"{\"patient_ref\":\"p\",\"max_strokes\":1.5}",
		"{\"patient_ref\":\"p\",\"region_caps_n\":{\"calf\":\"x\"}}",
		"{\"patient_ref\":\"p\",\"region_caps_n\":[]}",
		"{\"patient_ref\":\"p\",\"conditions\":\"dvt\"}",
		"{\"patient_ref\":\"p\",\"conditions\":[\"\"]}",
		"{\"patient_ref\":\"p\",\"conditions\":[1]}",
		"{\"patient_ref\":\"p\\u0001\"}",
		"{\"patient_ref\":\"p\",\"unknown_safety_fact\":true}",
		"{\"patient_ref\":\"p\"} trailing",
	};
	struct sp_body b;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		CHECK(sp_body_from_json(bad[i], &b, why, sizeof(why)) == -EBADMSG && why[0],
		      "refused: %s", bad[i]);
	}
	/* the edges that are fine */
	CHECK(sp_body_from_json("{\"patient_ref\":\"p\",\"max_force_n\":200,\"max_strokes\":100000}",
				&b, why, sizeof(why)) == 0, "%s", why);
}

static void test_canonical(void)
{
	struct sp_state a = live("{\"max_force_n\":8.0,\"patient_ref\":\"p\","
				 "\"conditions\":[\"b\",\"a\",\"a\"],"
				 "\"region_caps_n\":{\"neck\":3,\"calf\":4}}");
	struct sp_state b = live("{\"patient_ref\":\"p\",\"region_caps_n\":{\"calf\":4.0,\"neck\":3.0},"
				 "\"conditions\":[\"a\",\"b\"],\"max_force_n\":8}");
	char *x = sp_state_canonical(&a), *y = sp_state_canonical(&b);

	CHECK(x && y && !strcmp(x, y), "one spelling: %s / %s", x, y);
	/* and a round trip through the body JSON keeps it */
	{
		char *j = sp_body_to_json(&a.body);
		struct sp_state c = live(j);
		char *z = sp_state_canonical(&c);

		CHECK(z && !strcmp(x, z), "round trip: %s", j);
		free(j);
		free(z);
	}
	b.body.max_force_n = 7.999999999;
	free(y);
	y = sp_state_canonical(&b);
	CHECK(strcmp(x, y) != 0, "a changed cap is a change");
	free(x);
	free(y);
}

int main(void)
{
	test_merge_caps_and_conditions();
	test_delete_vs_edit();
	test_target_band();
	test_too_many();
	test_bad_json();
	test_canonical();
	return check_exit("test-body");
}
