/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rules engine: effective limits and their reasons, contraindications and
 * overrides, session caps, profile validation, calibration policy. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rules.h"

/* A small policy of our own so that the expected numbers are exact and
 * independent of clinic edits to the shipped file. */
static const char policy_text[] =
	"[limits]\n"
	"absolute_max_n = 14\n"
	"min_cap_n = 1\n"
	"warn_fraction = 0.8\n"
	"sustain_s = 0.05\n"
	"max_load_s = 1200\n"
	"[calibration]\n"
	"allow_uncalibrated = no\n"
	"allow_expired = no\n"
	"expired_grace_days = 7\n"
	"[region upper_trapezius]\n"
	"cap_n = 8\n"
	"[region neck]\n"
	"cap_n = 4\n"
	"max_load_s = 120\n"
	"max_strokes = 200\n"
	"[region calf]\n"
	"cap_n = 10\n"
	"[region hamstring]\n"
	"cap_n = 12\n"
	"[contraindication open_wound]\n"
	"local = yes\n"
	"override = no\n"
	"[contraindication dvt]\n"
	"override = no\n"
	"[contraindication recent_sutures]\n"
	"local = yes\n"
	"override = yes\n"
	"cap_factor = 0.5\n"
	"[contraindication uncontrolled_hypertension]\n"
	"override = yes\n"
	"[precaution anticoagulants]\n"
	"cap_factor = 0.5\n"
	"session_factor = 0.75\n"
	"[precaution thin_skin]\n"
	"cap_factor = 0.6\n"
	"[precaution cancer]\n"
	"cap_factor = 0.9\n"
	"cap_max_n = 3\n"
	"[precaution varicose_veins]\n"
	"local = yes\n"
	"regions = calf, hamstring\n"
	"cap_factor = 0.5\n";

static struct sgd_policy *pol;

static void profile(struct sgd_profile *p, const char *ref)
{
	char msg[256];

	sgd_profile_init(p);
	CHECK(sgd_profile_set_patient_ref(p, ref, msg, sizeof(msg)) == 0, "%s", msg);
}

static void cond(struct sgd_profile *p, const char *spec)
{
	char msg[256];
	enum sgd_profile_error e = sgd_profile_add_condition(p, spec, msg, sizeof(msg));

	CHECK(e == SGD_PROFILE_OK, "add %s: %s", spec, msg);
}

static int eval2(const struct sgd_policy *lp, const struct sgd_profile *p,
		 const char *region, struct sgd_limits *l)
{
	char msg[256] = "";
	int r = sgd_rules_evaluate(lp, p, region, l, msg, sizeof(msg));

	CHECK(r == 0 || msg[0], "error without message for %s", region);
	return r;
}

static int eval(const struct sgd_profile *p, const char *region,
		struct sgd_limits *l)
{
	char msg[256] = "";
	int r = sgd_rules_evaluate(pol, p, region, l, msg, sizeof(msg));

	CHECK(r == 0, "evaluate %s: %d %s", region, r, msg);
	return r;
}

static void test_region_default(void)
{
	struct sgd_profile p;
	struct sgd_limits l;

	profile(&p, "P1");
	if (eval(&p, "upper_trapezius", &l))
		return;
	CHECK(l.verdict == SGD_VERDICT_OK, "no conditions");
	CHECK_NEAR(l.limit_n, 8.0, 1e-12);
	CHECK(l.reasons[l.winner].rule == SGD_RULE_REGION_DEFAULT, "region won");
	CHECK(!strcmp(l.reasons[l.winner].text, "region upper_trapezius default 8.00 N"),
	      "%s", l.reasons[l.winner].text);
	CHECK_NEAR(l.warn_fraction, 0.8, 0);
	CHECK_NEAR(l.sustain_s, 0.05, 0);
	CHECK_EQ_INT(l.max_strokes, 0);
	CHECK_NEAR(l.max_load_s, 1200, 0);
	CHECK(!strcmp(l.region, "upper_trapezius"), "%s", l.region);
}

/* The brief's example: region 8, profile 7, anticoagulants x0.5 -> 3.5. */
static void test_brief_example(void)
{
	struct sgd_profile p;
	struct sgd_limits l;
	struct sg_limit_config lc;
	char buf[1024];

	profile(&p, "P2");
	p.max_force_n = 7.0;
	cond(&p, "anticoagulants");
	if (eval(&p, "upper_trapezius", &l))
		return;
	CHECK_NEAR(l.limit_n, 3.5, 1e-12);
	CHECK_EQ_INT(l.nreasons, 4);
	CHECK(l.reasons[0].rule == SGD_RULE_GLOBAL_MAX, "0");
	CHECK(l.reasons[1].rule == SGD_RULE_REGION_DEFAULT, "1");
	CHECK(l.reasons[2].rule == SGD_RULE_PROFILE_MAX &&
	      !strcmp(l.reasons[2].text, "profile cap 7.00 N"), "%s", l.reasons[2].text);
	CHECK(l.reasons[3].rule == SGD_RULE_CONDITION_FACTOR &&
	      !strcmp(l.reasons[3].subject, "anticoagulants") &&
	      !strcmp(l.reasons[3].text, "anticoagulants x0.5 -> 3.50 N"),
	      "%s", l.reasons[3].text);
	CHECK_EQ_INT(l.winner, 3);
	CHECK(!strcmp(sgd_rule_str(l.reasons[l.winner].rule), "condition_factor"), "str");
	sgd_limits_reasons_str(&l, buf, sizeof(buf));
	CHECK(strstr(buf, "anticoagulants x0.5 -> 3.50 N (strictest)") != NULL, "%s", buf);
	CHECK(strstr(buf, "profile cap 7.00 N\n") != NULL, "%s", buf);
	/* session factor on the global time cap */
	CHECK_NEAR(l.max_load_s, 900, 1e-9);
	CHECK(strstr(l.session_caps_text, "x0.75") != NULL, "%s", l.session_caps_text);

	memset(&lc, 0, sizeof(lc));
	sgd_limits_to_engine(&l, &lc);
	CHECK_NEAR(lc.limit_n, 3.5, 1e-12);
	CHECK_NEAR(lc.warn_fraction, 0.8, 0);
	CHECK_NEAR(lc.sustain_s, 0.05, 0);
	CHECK_NEAR(lc.max_load_s, 900, 1e-9);
}

static void test_strictest_wins(void)
{
	struct sgd_profile p, q;
	struct sgd_limits l, m;
	struct sgd_region_cap rc = { .region = "calf", .cap_n = 6.0 };
	char msg[256];

	/* profile region cap beats region default and profile max */
	profile(&p, "P3");
	p.max_force_n = 9.0;
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) == 0, "%s", msg);
	if (eval(&p, "calf", &l))
		return;
	CHECK_NEAR(l.limit_n, 6.0, 1e-12);
	CHECK(l.reasons[l.winner].rule == SGD_RULE_PROFILE_REGION, "profile region");
	/* the profile region cap only applies to its region */
	if (eval(&p, "hamstring", &l))
		return;
	CHECK_NEAR(l.limit_n, 9.0, 1e-12);
	CHECK(l.reasons[l.winner].rule == SGD_RULE_PROFILE_MAX, "profile max");

	/* a profile cap above the region default does not loosen it */
	profile(&p, "P4");
	p.max_force_n = 13.0;
	if (eval(&p, "neck", &l))
		return;
	CHECK_NEAR(l.limit_n, 4.0, 1e-12);

	/* factors multiply; a condition's absolute cap is its own candidate */
	profile(&p, "P5");
	cond(&p, "anticoagulants");
	cond(&p, "thin_skin");
	if (eval(&p, "hamstring", &l))
		return;
	CHECK_NEAR(l.limit_n, 12.0 * 0.5 * 0.6, 1e-12);
	profile(&p, "P6");
	cond(&p, "cancer");
	if (eval(&p, "hamstring", &l))
		return;
	CHECK_NEAR(l.limit_n, 3.0, 1e-12);
	CHECK(l.reasons[l.winner].rule == SGD_RULE_CONDITION_MAX, "cancer cap");

	/* order of conditions does not matter */
	profile(&p, "P7");
	cond(&p, "cancer");
	cond(&p, "anticoagulants");
	cond(&p, "thin_skin");
	profile(&q, "P7");
	cond(&q, "thin_skin");
	cond(&q, "anticoagulants");
	cond(&q, "cancer");
	if (eval(&p, "calf", &l) || eval(&q, "calf", &m))
		return;
	CHECK_NEAR(l.limit_n, m.limit_n, 1e-12);
	CHECK_NEAR(l.limit_n, 10 * 0.9 * 0.5 * 0.6, 1e-12);

	/* the global maximum can win when a region allows more */
	{
		static const char t[] = "[limits]\nabsolute_max_n = 5\n"
			"[region calf]\ncap_n = 5\n";
		struct sgd_policy *p2 = NULL;
		char err[256];

		CHECK(sgd_policy_parse("x", t, sizeof(t) - 1, &p2, err, sizeof(err)) == 0,
		      "%s", err);
		if (p2) {
			profile(&p, "P8");
			CHECK(sgd_rules_evaluate(p2, &p, "calf", &l, msg, sizeof(msg)) == 0,
			      "%s", msg);
			CHECK_NEAR(l.limit_n, 5.0, 0);
			/* tie: the more specific rule is named */
			CHECK(l.reasons[l.winner].rule == SGD_RULE_REGION_DEFAULT, "tie");
			sgd_policy_free(p2);
		}
	}
}

static void test_local_conditions(void)
{
	struct sgd_profile p;
	struct sgd_limits l;
	char buf[256];

	/* varicose veins matter on the legs only */
	profile(&p, "L1");
	cond(&p, "varicose_veins");
	if (eval(&p, "calf", &l))
		return;
	CHECK_NEAR(l.limit_n, 5.0, 1e-12);
	if (eval(&p, "neck", &l))
		return;
	CHECK_NEAR(l.limit_n, 4.0, 1e-12);
	CHECK_EQ_INT(l.nreasons, 2);

	/* a local condition recorded for one region */
	profile(&p, "L2");
	cond(&p, "varicose_veins@hamstring");
	if (eval(&p, "calf", &l))
		return;
	CHECK_NEAR(l.limit_n, 10.0, 1e-12);
	if (eval(&p, "hamstring", &l))
		return;
	CHECK_NEAR(l.limit_n, 6.0, 1e-12);

	/* open wound on the calf refuses the calf only */
	profile(&p, "L3");
	cond(&p, "open_wound@calf");
	if (eval(&p, "calf", &l))
		return;
	CHECK(l.verdict == SGD_VERDICT_CONTRAINDICATED, "calf refused");
	CHECK_EQ_INT(l.ncontra, 1);
	CHECK(!strcmp(sgd_limits_contra_str(&l, buf, sizeof(buf)), "open_wound"), "%s", buf);
	CHECK(!l.contra_overridable, "open wound: no override");
	if (eval(&p, "neck", &l))
		return;
	CHECK(l.verdict == SGD_VERDICT_OK, "neck fine");

	/* "x" and "x@region" together count once */
	profile(&p, "L4");
	cond(&p, "varicose_veins");
	cond(&p, "varicose_veins@calf");
	if (eval(&p, "calf", &l))
		return;
	CHECK_NEAR(l.limit_n, 5.0, 1e-12);
}

static void test_contraindications(void)
{
	struct sgd_profile p;
	struct sgd_limits l;
	char msg[256], buf[256], longreason[SGD_OVERRIDE_REASON_MAX + 8];

	profile(&p, "C1");
	cond(&p, "dvt");
	cond(&p, "recent_sutures");
	if (eval(&p, "calf", &l))
		return;
	CHECK(l.verdict == SGD_VERDICT_CONTRAINDICATED, "refused");
	CHECK(!strcmp(sgd_limits_contra_str(&l, buf, sizeof(buf)),
		      "dvt, recent_sutures"), "%s", buf);
	CHECK(!l.contra_overridable, "dvt forbids override");
	CHECK(sgd_rules_check_override(pol, &l, "clinician checked", msg,
				       sizeof(msg)) == -EPERM, "EPERM");
	CHECK(strstr(msg, "dvt") != NULL, "%s", msg);

	/* overridable: needs a real reason; the override factor applies */
	profile(&p, "C2");
	cond(&p, "recent_sutures");
	cond(&p, "uncontrolled_hypertension");
	if (eval(&p, "calf", &l))
		return;
	CHECK(l.verdict == SGD_VERDICT_CONTRAINDICATED && l.contra_overridable, "ov");
	CHECK_NEAR(l.limit_n, 5.0, 1e-12);
	CHECK(strstr(l.reasons[l.winner].text, "(if overridden)") != NULL, "%s",
	      l.reasons[l.winner].text);
	CHECK(sgd_rules_check_override(pol, &l, "surgeon cleared 2026-11-01",
				       msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(sgd_rules_check_override(pol, &l, NULL, msg, sizeof(msg)) == -EINVAL, "null");
	CHECK(sgd_rules_check_override(pol, &l, "  \t", msg, sizeof(msg)) == -EINVAL,
	      "blank");
	CHECK(sgd_rules_check_override(pol, &l, "bad\x01" "char", msg, sizeof(msg)) ==
	      -EINVAL, "control");
	CHECK(sgd_rules_check_override(pol, &l, "bad \xc3\x28 utf8", msg, sizeof(msg)) ==
	      -EINVAL, "utf8");
	CHECK(sgd_rules_check_override(pol, &l, "caf\xc3\xa9 ok", msg, sizeof(msg)) == 0,
	      "utf8 ok: %s", msg);
	memset(longreason, 'r', sizeof(longreason));
	longreason[sizeof(longreason) - 1] = '\0';
	CHECK(sgd_rules_check_override(pol, &l, longreason, msg, sizeof(msg)) == -EINVAL,
	      "too long");

	/* nothing to override: OK whatever the reason */
	profile(&p, "C3");
	if (eval(&p, "calf", &l))
		return;
	CHECK(sgd_rules_check_override(pol, &l, NULL, msg, sizeof(msg)) == 0, "none");
}

static void test_session_caps(void)
{
	struct sgd_profile p;
	struct sgd_limits l;
	struct sgd_region_cap rc = { .region = "neck", .max_strokes = 150 };
	char msg[256];

	profile(&p, "S1");
	if (eval(&p, "neck", &l))
		return;
	CHECK_EQ_INT(l.max_strokes, 200);
	CHECK_NEAR(l.max_load_s, 120, 0);

	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) == 0, "%s", msg);
	p.max_load_s = 60;
	cond(&p, "anticoagulants");
	if (eval(&p, "neck", &l))
		return;
	CHECK_EQ_INT(l.max_strokes, 112);	/* floor(150 * 0.75) */
	CHECK_NEAR(l.max_load_s, 45, 1e-9);
	CHECK(strstr(l.session_caps_text, "profile region 150") != NULL, "%s",
	      l.session_caps_text);
	/* a profile region entry with only a stroke cap leaves the force cap */
	CHECK_NEAR(l.limit_n, 2.0, 1e-12);
}

static void test_target_band(void)
{
	struct sgd_profile p;
	struct sgd_limits l;

	profile(&p, "T1");
	p.target_low_n = 3;
	p.target_high_n = 6;
	cond(&p, "anticoagulants");
	if (eval(&p, "upper_trapezius", &l))
		return;
	CHECK_NEAR(l.target_high_n, 4.0, 1e-12);	/* clamped to the limit */
	CHECK_NEAR(l.target_low_n, 3.0, 1e-12);
	if (eval(&p, "neck", &l))
		return;
	CHECK_NEAR(l.target_high_n, 2.0, 1e-12);
	CHECK_NEAR(l.target_low_n, 2.0, 1e-12);
}

static void expect_invalid(const struct sgd_profile *p, enum sgd_profile_error want,
			   const char *words)
{
	char msg[256] = "";
	struct sgd_limits l;
	enum sgd_profile_error e = sgd_profile_validate(pol, p, msg, sizeof(msg));

	CHECK(e == want, "got %s want %s (%s)", sgd_profile_error_str(e),
	      sgd_profile_error_str(want), msg);
	CHECK(strstr(msg, words) != NULL, "'%s' should say '%s'", msg, words);
	CHECK(sgd_rules_evaluate(pol, p, "calf", &l, msg, sizeof(msg)) == -EINVAL,
	      "evaluate refuses an invalid profile");
}

static void test_validation(void)
{
	struct sgd_profile p, before;
	char msg[256], big[600];
	struct sgd_region_cap rc;

	profile(&p, "V1");
	CHECK(sgd_profile_validate(pol, &p, msg, sizeof(msg)) == SGD_PROFILE_OK, "%s", msg);

	p.max_force_n = NAN;
	expect_invalid(&p, SGD_PROFILE_BAD_NUMBER, "finite");
	p.max_force_n = INFINITY;
	expect_invalid(&p, SGD_PROFILE_BAD_NUMBER, "finite");
	p.max_force_n = -1;
	expect_invalid(&p, SGD_PROFILE_BAD_NUMBER, "negative");
	p.max_force_n = 50;
	expect_invalid(&p, SGD_PROFILE_CAP_RANGE, "outside");
	p.max_force_n = 0.2;
	expect_invalid(&p, SGD_PROFILE_CAP_RANGE, "outside");
	p.max_force_n = 7;

	p.target_low_n = 5;
	p.target_high_n = 4;
	expect_invalid(&p, SGD_PROFILE_TARGET_BAND, "low < high");
	p.target_low_n = 0;
	p.target_high_n = 4;
	expect_invalid(&p, SGD_PROFILE_TARGET_BAND, "low < high");
	p.target_low_n = 3;
	p.target_high_n = 8;
	expect_invalid(&p, SGD_PROFILE_TARGET_BAND, "above the cap");
	p.target_low_n = NAN;
	expect_invalid(&p, SGD_PROFILE_BAD_NUMBER, "target");
	p.target_low_n = p.target_high_n = 0;

	p.max_load_s = -5;
	expect_invalid(&p, SGD_PROFILE_BAD_NUMBER, "time cap");
	p.max_load_s = 1e9;
	expect_invalid(&p, SGD_PROFILE_SESSION_CAP_RANGE, "session cap");
	p.max_load_s = 0;
	p.max_strokes = 10000000;
	expect_invalid(&p, SGD_PROFILE_SESSION_CAP_RANGE, "session cap");
	p.max_strokes = 0;

	/* region caps */
	before = p;
	memset(&rc, 0, sizeof(rc));
	snprintf(rc.region, sizeof(rc.region), "elbow");
	rc.cap_n = 3;
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) == 0, "syntax ok");
	expect_invalid(&p, SGD_PROFILE_UNKNOWN_REGION, "unknown region 'elbow'");
	p = before;
	snprintf(rc.region, sizeof(rc.region), "calf");
	rc.cap_n = NAN;
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_NUMBER, "NaN refused by the builder");
	CHECK(!memcmp(&p, &before, sizeof(p)), "builder changed nothing");
	snprintf(rc.region, sizeof(rc.region), "Calf!");
	rc.cap_n = 3;
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) ==
	      SGD_PROFILE_UNKNOWN_REGION, "bad name");
	p.nregion_caps = 2;
	snprintf(p.region_caps[0].region, SGD_NAME_MAX, "calf");
	snprintf(p.region_caps[1].region, SGD_NAME_MAX, "calf");
	p.region_caps[0].cap_n = p.region_caps[1].cap_n = 5;
	expect_invalid(&p, SGD_PROFILE_DUPLICATE, "two cap entries");
	p.nregion_caps = 1;
	p.region_caps[0].cap_n = 20;
	expect_invalid(&p, SGD_PROFILE_CAP_RANGE, "cap for region calf");
	p.region_caps[0].cap_n = 5;
	memset(p.region_caps[0].region, 'a', SGD_NAME_MAX);	/* unterminated */
	expect_invalid(&p, SGD_PROFILE_STRING_TOO_LONG, "too long");
	p.nregion_caps = SGD_PROFILE_MAX_REGION_CAPS + 1;
	expect_invalid(&p, SGD_PROFILE_TOO_MANY, "too many");
	p = before;

	/* conditions */
	CHECK(sgd_profile_add_condition(&p, "gout", msg, sizeof(msg)) == 0, "syntax ok");
	expect_invalid(&p, SGD_PROFILE_UNKNOWN_CONDITION, "unknown condition 'gout'");
	p = before;
	CHECK(sgd_profile_add_condition(&p, "dvt@calf", msg, sizeof(msg)) == 0, "syntax");
	expect_invalid(&p, SGD_PROFILE_CONDITION_REGION, "systemic");
	p = before;
	CHECK(sgd_profile_add_condition(&p, "open_wound@elbow", msg, sizeof(msg)) == 0,
	      "%s", msg);
	expect_invalid(&p, SGD_PROFILE_UNKNOWN_REGION, "elbow");
	p = before;
	CHECK(sgd_profile_add_condition(&p, "Open-Wound", msg, sizeof(msg)) ==
	      SGD_PROFILE_UNKNOWN_CONDITION, "bad syntax");
	CHECK(sgd_profile_add_condition(&p, "open_wound@", msg, sizeof(msg)) ==
	      SGD_PROFILE_UNKNOWN_REGION, "empty region");
	CHECK(sgd_profile_add_condition(&p, "", msg, sizeof(msg)) ==
	      SGD_PROFILE_UNKNOWN_CONDITION, "empty");
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	CHECK(sgd_profile_add_condition(&p, big, msg, sizeof(msg)) ==
	      SGD_PROFILE_STRING_TOO_LONG, "long");
	CHECK(sgd_profile_add_condition(&p, "dvt", msg, sizeof(msg)) == 0, "dvt");
	CHECK(sgd_profile_add_condition(&p, "dvt", msg, sizeof(msg)) ==
	      SGD_PROFILE_DUPLICATE, "dup");
	p = before;
	for (int i = 0; i < SGD_PROFILE_MAX_CONDITIONS; i++) {
		char spec[64];

		snprintf(spec, sizeof(spec), "c%d", i);
		CHECK(sgd_profile_add_condition(&p, spec, msg, sizeof(msg)) == 0, "%s", msg);
	}
	CHECK(sgd_profile_add_condition(&p, "one_more", msg, sizeof(msg)) ==
	      SGD_PROFILE_TOO_MANY, "too many");
	p = before;

	/* strings */
	CHECK(sgd_profile_set_patient_ref(&p, "", msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_STRING, "empty ref");
	CHECK(sgd_profile_set_patient_ref(&p, big, msg, sizeof(msg)) ==
	      SGD_PROFILE_STRING_TOO_LONG, "long ref");
	CHECK(sgd_profile_set_display_name(&p, big, msg, sizeof(msg)) ==
	      SGD_PROFILE_STRING_TOO_LONG, "long name");
	CHECK(sgd_profile_set_display_name(&p, "tab\there", msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_STRING, "control");
	CHECK(sgd_profile_set_display_name(&p, "\xff\xfe", msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_STRING, "bad utf8");
	CHECK(sgd_profile_set_display_name(&p, "\xed\xa0\x80", msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_STRING, "surrogate");
	CHECK(sgd_profile_set_display_name(&p, "\xc0\xaf", msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_STRING, "overlong");
	CHECK(!memcmp(&p, &before, sizeof(p)), "failed setters changed nothing");
	CHECK(sgd_profile_set_display_name(&p, "Zoë Ångström", msg, sizeof(msg)) == 0,
	      "%s", msg);
	CHECK(!strcmp(p.display_name, "Zoë Ångström"), "set");
	p.patient_ref[0] = '\0';
	expect_invalid(&p, SGD_PROFILE_BAD_STRING, "patient reference");

	/* the error names are stable machine names */
	CHECK(!strcmp(sgd_profile_error_str(SGD_PROFILE_UNKNOWN_REGION),
		      "unknown_region"), "name");
}

static void test_regions_and_defaults(void)
{
	struct sgd_profile p;
	struct sgd_limits l;
	char msg[256];

	profile(&p, "R1");
	CHECK(sgd_rules_evaluate(pol, &p, "elbow", &l, msg, sizeof(msg)) == -EINVAL &&
	      strstr(msg, "unknown region"), "%s", msg);
	CHECK(sgd_rules_evaluate(pol, &p, "", &l, msg, sizeof(msg)) == -EINVAL &&
	      strstr(msg, "no region"), "%s", msg);
	CHECK(sgd_rules_evaluate(pol, &p, NULL, &l, msg, sizeof(msg)) == -EINVAL, "NULL");
}

static void test_calibration(void)
{
	struct sgd_policy lax = *pol;
	const int64_t day = 86400, now = 1800000000;
	char msg[256];

	CHECK(sgd_rules_check_calibration(pol, 0, 0, now, msg, sizeof(msg)) ==
	      SGD_CAL_MISSING_REFUSED, "never calibrated");
	CHECK(strstr(msg, "never been calibrated") != NULL, "%s", msg);
	CHECK(sgd_rules_check_calibration(pol, now - 300 * day, now + day, now, msg,
					  sizeof(msg)) == SGD_CAL_OK, "valid");
	CHECK(sgd_rules_check_calibration(pol, now - 300 * day, now - 3 * day, now,
					  msg, sizeof(msg)) == SGD_CAL_OK, "grace");
	CHECK(sgd_rules_check_calibration(pol, now - 400 * day, now - 8 * day, now,
					  msg, sizeof(msg)) == SGD_CAL_EXPIRED_REFUSED,
	      "expired");
	CHECK(strstr(msg, "expired 8 days ago") != NULL, "%s", msg);
	CHECK(sgd_rules_check_calibration(pol, now - 400 * day, 0, now, msg,
					  sizeof(msg)) == SGD_CAL_OK, "no due date");
	lax.allow_uncalibrated = lax.allow_expired = true;
	CHECK(sgd_rules_check_calibration(&lax, 0, 0, now, msg, sizeof(msg)) ==
	      SGD_CAL_MISSING_ALLOWED, "allowed");
	CHECK(sgd_rules_check_calibration(&lax, 1, now - 30 * day, now, msg,
					  sizeof(msg)) == SGD_CAL_EXPIRED_ALLOWED, "allowed");
	CHECK(!strcmp(sgd_cal_verdict_str(SGD_CAL_EXPIRED_REFUSED), "expired"), "str");
}

/* The shipped policy with a typical profile: sane numbers come out. */
/* Sides (issue 11): which regions have them comes from the policy; a
 * treated site names its side, caps and local conditions may name one. */
static const char lateral_policy_text[] =
	"[limits]\n"
	"absolute_max_n = 14\n"
	"[region neck]\n"
	"cap_n = 4\n"
	"[region calf]\n"
	"lateral = yes\n"
	"cap_n = 10\n"
	"max_strokes = 100\n"
	"[region shin]\n"
	"lateral = yes\n"
	"cap_n = 6\n"
	"[contraindication open_wound]\n"
	"local = yes\n"
	"[contraindication dvt]\n"
	"[precaution varicose_veins]\n"
	"local = yes\n"
	"cap_factor = 0.5\n"
	"[precaution anticoagulants]\n"
	"cap_factor = 0.5\n";

static void test_laterality(void)
{
	struct sgd_policy *lp = NULL;
	struct sgd_profile p;
	struct sgd_limits l;
	struct sgd_site site, target;
	struct sgd_region_cap rc = { .cap_n = 0 };
	char err[256], msg[256];
	int r;

	r = sgd_policy_parse("lateral", lateral_policy_text, sizeof(lateral_policy_text) - 1,
			     &lp, err, sizeof(err));
	CHECK(r == 0, "%s", err);
	if (!lp)
		return;
	CHECK(sgd_policy_region(lp, "calf")->lateral && !sgd_policy_region(lp, "neck")->lateral,
	      "lateral = yes read");

	/* parsing a treated site: the edges */
	CHECK(sgd_site_parse(lp, "calf:left", SGD_SITE_TREATED, &site, msg, sizeof(msg)) == 0 &&
	      site.side == SGD_SIDE_LEFT, "%s", msg);
	CHECK(sgd_site_parse(lp, "calf:right", SGD_SITE_TREATED, &site, msg, sizeof(msg)) == 0 &&
	      site.side == SGD_SIDE_RIGHT, "%s", msg);
	CHECK(sgd_site_parse(lp, "calf", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_SIDE && strstr(msg, "calf:left or calf:right"),
	      "a treated lateral region needs its side: %s", msg);
	CHECK(sgd_site_parse(lp, "calf", SGD_SITE_TARGET, &target, msg, sizeof(msg)) == 0 &&
	      target.side == SGD_SIDE_NONE, "a cap may name both sides");
	CHECK(sgd_site_parse(lp, "neck:left", SGD_SITE_TARGET, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_SIDE && strstr(msg, "no sides"), "midline with side: %s", msg);
	CHECK(sgd_site_parse(lp, "neck", SGD_SITE_TREATED, &site, msg, sizeof(msg)) == 0 &&
	      site.side == SGD_SIDE_NONE, "midline");
	CHECK(sgd_site_parse(lp, "calf:Left", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_SIDE, "sides are lower case");
	CHECK(sgd_site_parse(lp, "calf:", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_SIDE, "empty side");
	CHECK(sgd_site_parse(lp, "calf:left:left", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_SIDE, "two sides");
	CHECK(sgd_site_parse(lp, "calf:unknown", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_SIDE, "'unknown' is a record value, never an input");
	CHECK(sgd_site_parse(lp, "ankle:left", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_UNKNOWN_REGION, "unknown region");
	CHECK(sgd_site_parse(lp, ":left", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_UNKNOWN_REGION, "no region");
	CHECK(sgd_site_parse(lp, "", SGD_SITE_TREATED, &site, msg, sizeof(msg)) ==
	      SGD_PROFILE_UNKNOWN_REGION, "empty");

	/* covers: same region; target without side covers both */
	sgd_site_parse(lp, "calf:left", SGD_SITE_TREATED, &site, NULL, 0);
	sgd_site_parse(lp, "calf:right", SGD_SITE_TARGET, &target, NULL, 0);
	CHECK(!sgd_site_covers(&target, &site), "calf:right does not cover calf:left");
	sgd_site_parse(lp, "calf:left", SGD_SITE_TARGET, &target, NULL, 0);
	CHECK(sgd_site_covers(&target, &site), "calf:left covers calf:left");
	sgd_site_parse(lp, "calf", SGD_SITE_TARGET, &target, NULL, 0);
	CHECK(sgd_site_covers(&target, &site), "calf covers calf:left");
	sgd_site_parse(lp, "shin:left", SGD_SITE_TARGET, &target, NULL, 0);
	CHECK(!sgd_site_covers(&target, &site), "shin:left does not cover calf:left");

	/* a left-only contraindication blocks calf:left and allows calf:right */
	profile(&p, "L1");
	cond(&p, "open_wound@calf:left");
	CHECK(sgd_profile_validate(lp, &p, msg, sizeof(msg)) == SGD_PROFILE_OK, "%s", msg);
	CHECK(eval2(lp, &p, "calf:left", &l) == 0 && l.verdict == SGD_VERDICT_CONTRAINDICATED &&
	      l.ncontra == 1 && !strcmp(l.contra[0], "open_wound"), "calf:left contraindicated");
	CHECK(!strcmp(l.region, "calf:left") && !strcmp(l.region_name, "calf") &&
	      l.side == SGD_SIDE_LEFT, "limits name the site: %s", l.region);
	CHECK(eval2(lp, &p, "calf:right", &l) == 0 && l.verdict == SGD_VERDICT_OK &&
	      l.ncontra == 0, "calf:right allowed");
	CHECK(eval2(lp, &p, "shin:left", &l) == 0 && l.verdict == SGD_VERDICT_OK,
	      "the other region's left side is allowed");
	/* without a side it blocks both */
	profile(&p, "L2");
	cond(&p, "open_wound@calf");
	CHECK(eval2(lp, &p, "calf:left", &l) == 0 && l.verdict == SGD_VERDICT_CONTRAINDICATED,
	      "open_wound@calf blocks calf:left");
	CHECK(eval2(lp, &p, "calf:right", &l) == 0 && l.verdict == SGD_VERDICT_CONTRAINDICATED,
	      "and calf:right");
	/* a systemic one everywhere, both sides */
	profile(&p, "L3");
	cond(&p, "dvt");
	CHECK(eval2(lp, &p, "calf:right", &l) == 0 && l.verdict == SGD_VERDICT_CONTRAINDICATED &&
	      eval2(lp, &p, "neck", &l) == 0 && l.verdict == SGD_VERDICT_CONTRAINDICATED,
	      "systemic conditions apply on every side and region");
	CHECK(sgd_profile_add_condition(&p, "dvt@calf:left", msg, sizeof(msg)) == 0 &&
	      sgd_profile_validate(lp, &p, msg, sizeof(msg)) == SGD_PROFILE_CONDITION_REGION,
	      "a systemic condition cannot be given a side: %s", msg);
	/* local precaution on one side lowers only that side's cap */
	profile(&p, "L4");
	cond(&p, "varicose_veins@calf:right");
	CHECK(eval2(lp, &p, "calf:right", &l) == 0, "eval");
	CHECK_NEAR(l.limit_n, 5.0, 1e-12);
	CHECK(eval2(lp, &p, "calf:left", &l) == 0, "eval");
	CHECK_NEAR(l.limit_n, 10.0, 1e-12);
	/* conditions on a midline region cannot name a side */
	profile(&p, "L5");
	cond(&p, "open_wound@neck:left");
	CHECK(sgd_profile_validate(lp, &p, msg, sizeof(msg)) == SGD_PROFILE_BAD_SIDE, "%s", msg);

	/* caps: one side, both sides, both together (the strictest wins) */
	profile(&p, "C1");
	snprintf(rc.region, sizeof(rc.region), "calf:left");
	rc.cap_n = 3;
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(eval2(lp, &p, "calf:left", &l) == 0, "eval");
	CHECK_NEAR(l.limit_n, 3.0, 1e-12);
	CHECK(l.reasons[l.winner].rule == SGD_RULE_PROFILE_REGION &&
	      !strcmp(l.reasons[l.winner].subject, "calf:left"), "winner %s", l.reasons[l.winner].text);
	CHECK(eval2(lp, &p, "calf:right", &l) == 0, "eval");
	CHECK_NEAR(l.limit_n, 10.0, 1e-12);
	snprintf(rc.region, sizeof(rc.region), "calf");
	rc.cap_n = 7;
	rc.max_strokes = 20;
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(p.nregion_caps == 2, "calf and calf:left are two entries");
	CHECK(eval2(lp, &p, "calf:right", &l) == 0, "eval");
	CHECK_NEAR(l.limit_n, 7.0, 1e-12);
	CHECK(l.max_strokes == 20, "both-sides stroke cap applies to the right: %u", l.max_strokes);
	CHECK(eval2(lp, &p, "calf:left", &l) == 0, "eval");
	CHECK_NEAR(l.limit_n, 3.0, 1e-12);
	CHECK(l.max_strokes == 20, "and to the left: %u", l.max_strokes);
	snprintf(rc.region, sizeof(rc.region), "neck:right");
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) == 0, "syntax is fine");
	CHECK(sgd_profile_validate(lp, &p, msg, sizeof(msg)) == SGD_PROFILE_BAD_SIDE,
	      "a cap for a side of a midline region is refused: %s", msg);
	snprintf(rc.region, sizeof(rc.region), "calf:middle");
	CHECK(sgd_profile_set_region_cap(&p, &rc, msg, sizeof(msg)) == SGD_PROFILE_BAD_SIDE,
	      "bad side in a cap: %s", msg);

	/* the evaluation refuses a lateral region without side, and a
	 * lateral default region is refused by the parser */
	profile(&p, "E1");
	CHECK(sgd_rules_evaluate(lp, &p, "calf", &l, msg, sizeof(msg)) == -EINVAL &&
	      strstr(msg, "calf:left"), "%s", msg);
	sgd_policy_free(lp);
	{
		static const char bad[] = "[limits]\nabsolute_max_n = 10\ndefault_region = calf\n"
					  "[region calf]\nlateral = yes\ncap_n = 5\n";
		struct sgd_policy *bp = NULL;

		CHECK(sgd_policy_parse("bad", bad, sizeof(bad) - 1, &bp, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "lateral"), "a lateral default region is refused: %s", err);
		sgd_policy_free(bp);
	}
}

static void test_patient_ref(void)
{
	struct sgd_profile p;
	char msg[256], ref[80];

	sgd_profile_init(&p);
	CHECK(sgd_patient_ref_valid("2") && sgd_patient_ref_valid("A.b_c-9"), "valid refs");
	CHECK(!sgd_patient_ref_valid("") && !sgd_patient_ref_valid("Jane Doe") &&
	      !sgd_patient_ref_valid("a/b") && !sgd_patient_ref_valid("x\"y") &&
	      !sgd_patient_ref_valid("\xc3\xa9mile") && !sgd_patient_ref_valid("=A1") &&
	      !sgd_patient_ref_valid("a:b") && !sgd_patient_ref_valid(NULL), "invalid refs");
	memset(ref, 'x', sizeof(ref));
	ref[64] = 0;
	CHECK(sgd_patient_ref_valid(ref), "64 bytes");
	CHECK(sgd_profile_set_patient_ref(&p, ref, msg, sizeof(msg)) == SGD_PROFILE_OK &&
	      !strcmp(p.patient_ref, ref), "64 bytes stored: %s", msg);
	ref[64] = 'x';
	ref[65] = 0;
	CHECK(!sgd_patient_ref_valid(ref), "65 bytes");
	CHECK(sgd_profile_set_patient_ref(&p, ref, msg, sizeof(msg)) ==
	      SGD_PROFILE_STRING_TOO_LONG, "65 bytes refused: %s", msg);
	CHECK(sgd_profile_set_patient_ref(&p, "Jane Doe", msg, sizeof(msg)) ==
	      SGD_PROFILE_BAD_STRING && strstr(msg, "A-Z"), "%s", msg);
	/* a stored legacy reference still validates (text only): treatable */
	snprintf(p.patient_ref, sizeof(p.patient_ref), "Jane Doe");
	CHECK(sgd_profile_validate(pol, &p, msg, sizeof(msg)) == SGD_PROFILE_OK, "%s", msg);
}

static void test_shipped(const char *top)
{
	char path[4096], err[512], msg[256];
	struct sgd_policy *sp = NULL;
	struct sgd_profile p;
	struct sgd_limits l;

	snprintf(path, sizeof(path), "%s/daemon/policy.conf", top);
	CHECK(sgd_policy_load(path, &sp, err, sizeof(err)) == 0, "%s", err);
	if (!sp)
		return;
	profile(&p, "SH1");
	cond(&p, "anticoagulants");
	/* issue 11: the shipped policy gives paired regions their sides */
	CHECK(sgd_rules_evaluate(sp, &p, "upper_trapezius", &l, msg, sizeof(msg)) == -EINVAL,
	      "a lateral region without side is refused");
	CHECK(sgd_rules_evaluate(sp, &p, "upper_trapezius:left", &l, msg, sizeof(msg)) == 0,
	      "%s", msg);
	CHECK_NEAR(l.limit_n, 4.0, 1e-12);
	for (size_t i = 0; i < sp->nregions; i++) {
		char site[SGD_REGION_MAX];

		sgd_profile_init(&p);
		snprintf(p.patient_ref, sizeof(p.patient_ref), "x");
		snprintf(site, sizeof(site), "%s%s", sp->regions[i].name,
			 sp->regions[i].lateral ? ":right" : "");
		CHECK(sgd_rules_evaluate(sp, &p, site, &l, msg,
					 sizeof(msg)) == 0, "%s", msg);
		CHECK(l.limit_n > 0 && l.limit_n <= sp->absolute_max_n, "%s %g",
		      sp->regions[i].name, l.limit_n);
	}
	sgd_policy_free(sp);
}

int main(int argc, char **argv)
{
	char err[512];

	if (argc < 3) {
		fprintf(stderr, "usage: %s DATA_DIR TOP_DIR\n", argv[0]);
		return 2;
	}
	if (sgd_policy_parse("rules-test", policy_text, sizeof(policy_text) - 1,
			     &pol, err, sizeof(err))) {
		fprintf(stderr, "test policy: %s\n", err);
		return 1;
	}
	test_region_default();
	test_brief_example();
	test_strictest_wins();
	test_local_conditions();
	test_contraindications();
	test_session_caps();
	test_target_band();
	test_validation();
	test_regions_and_defaults();
	test_calibration();
	test_laterality();
	test_patient_ref();
	test_shipped(argv[2]);
	sgd_policy_free(pol);
	return check_exit("test-rules");
}
