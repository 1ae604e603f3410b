/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clinical rules: patient profiles, their validation, and the effective
 * limit for (policy, profile, region) with the reasons behind it.
 * Plain C, no D-Bus, no storage.
 *
 * The strictest applicable cap wins. Candidates, each recorded as a reason:
 *   - global absolute maximum            ([limits] absolute_max_n)
 *   - the region's default cap           ([region NAME] cap_n)
 *   - the profile's max force            (profile max_force_n)
 *   - the profile's cap for this region  (profile region cap)
 *   - every applicable precaution (and overridden contraindication):
 *     base x cap_factor, where base is the strictest of the caps above,
 *     and its cap_max_n if set. Factors of several conditions multiply.
 * On a tie the more specific rule (later in the list) is named the winner.
 * Session caps (strokes, seconds under load) are the strictest non-zero
 * of global / region / profile / profile region, times the product of
 * the applicable session factors.
 */
#ifndef STRIGIL_DAEMON_RULES_H
#define STRIGIL_DAEMON_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strigil.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pseudonymous patient reference: 1-64 bytes of [A-Za-z0-9._-] (the
 * array holds the NUL too). Rows stored before the syntax was enforced
 * may hold other text (sgd_patient_ref_valid() says which). */
#define SGD_PATIENT_REF_LEN	64
#define SGD_PATIENT_REF_MAX	(SGD_PATIENT_REF_LEN + 1)
#define SGD_DISPLAY_NAME_MAX	128	/* incl. NUL */
/* A body site as text: "neck", "calf:left" (region name, ':' and side). */
#define SGD_REGION_MAX		(SGD_NAME_MAX + 8)	/* incl. NUL */
#define SGD_PROFILE_MAX_REGION_CAPS SGD_POLICY_MAX_REGIONS
#define SGD_PROFILE_MAX_CONDITIONS 32
#define SGD_OVERRIDE_REASON_MAX	512	/* incl. NUL */

/* ======================================================================
 * Sides. The policy says which regions are lateral ([region] lateral =
 * yes). A treated site names the side of a lateral region ("calf:left")
 * and none for a midline one ("neck"); a cap or a local condition may name
 * one side of a lateral region or, without a side, both.
 * ==================================================================== */

enum sgd_side {
	SGD_SIDE_NONE = 0,		/* midline region, or (caps, conditions) both sides */
	SGD_SIDE_LEFT,
	SGD_SIDE_RIGHT,
	SGD_SIDE_UNKNOWN,		/* records stored before sides existed */
};

/* "", "left", "right", "unknown". */
const char *sgd_side_str(enum sgd_side s);

struct sgd_site {
	const struct sgd_region *region;	/* in the policy */
	enum sgd_side side;
};

enum sgd_site_use {
	SGD_SITE_TREATED,	/* a session's region: a lateral one needs its side */
	SGD_SITE_TARGET,	/* a cap or condition: the side is optional */
};

/*
 * Parses "name" or "name:left|right" against the policy into *out.
 * Returns SGD_PROFILE_OK, SGD_PROFILE_UNKNOWN_REGION (no such region, bad
 * syntax) or SGD_PROFILE_BAD_SIDE (a side on a midline region, a side
 * other than left/right, a treated lateral region without side), with a
 * sentence in msg. *out is only written on success.
 */
int sgd_site_parse(const struct sgd_policy *pol, const char *spec,
		   enum sgd_site_use use, struct sgd_site *out,
		   char *msg, size_t msglen);
/* "calf:left" / "neck" into buf; returns buf. */
const char *sgd_site_str(const struct sgd_site *s, char *buf, size_t buflen);
/* Does a cap or condition at target apply to the treated site? Same
 * region, and the target names no side or the treated one. */
bool sgd_site_covers(const struct sgd_site *target,
		     const struct sgd_site *treated);

/* ======================================================================
 * Profiles
 * ==================================================================== */

struct sgd_region_cap {
	char region[SGD_REGION_MAX];	/* "calf" (both sides) or "calf:left" */
	double cap_n;			/* 0 = not set */
	uint32_t max_strokes;		/* 0 = not set */
	double max_load_s;		/* 0 = not set */
};

struct sgd_profile_condition {
	char name[SGD_NAME_MAX];
	char region[SGD_REGION_MAX];	/* "" = everywhere; else "calf" (both
					 * sides) or "calf:left" (local only) */
};

struct sgd_profile {
	int64_t id;			/* storage id, 0 = not stored */
	char patient_ref[SGD_PATIENT_REF_MAX];	/* required, printable */
	char display_name[SGD_DISPLAY_NAME_MAX];	/* may be "" */
	double max_force_n;		/* 0 = not set */
	double target_low_n;		/* target band, both 0 = not set */
	double target_high_n;
	uint32_t max_strokes;		/* profile-wide session caps, 0 = none */
	double max_load_s;
	size_t nregion_caps;
	struct sgd_region_cap region_caps[SGD_PROFILE_MAX_REGION_CAPS];
	size_t nconditions;
	struct sgd_profile_condition conditions[SGD_PROFILE_MAX_CONDITIONS];
	int64_t created_us;		/* set by storage, unix microseconds */
	int64_t updated_us;
};

/* Typed validation errors; each comes with a human sentence. */
enum sgd_profile_error {
	SGD_PROFILE_OK = 0,
	SGD_PROFILE_BAD_NUMBER,		/* NaN, infinite or negative */
	SGD_PROFILE_CAP_RANGE,		/* below min_cap_n or above absolute_max_n */
	SGD_PROFILE_SESSION_CAP_RANGE,	/* stroke/time cap out of range */
	SGD_PROFILE_TARGET_BAND,	/* low >= high, one missing, above caps */
	SGD_PROFILE_UNKNOWN_REGION,
	SGD_PROFILE_UNKNOWN_CONDITION,
	SGD_PROFILE_CONDITION_REGION,	/* region given for a systemic condition */
	SGD_PROFILE_DUPLICATE,		/* same region cap / condition twice */
	SGD_PROFILE_TOO_MANY,		/* more entries than the arrays hold */
	SGD_PROFILE_STRING_TOO_LONG,
	SGD_PROFILE_BAD_STRING,		/* empty ref, control chars, bad UTF-8 */
	SGD_PROFILE_BAD_SIDE,		/* side on a midline region, bad side, lateral without side */
};

/* Machine name, e.g. "unknown_region". */
const char *sgd_profile_error_str(enum sgd_profile_error e);

/* true if s is a patient reference as the API defines it: 1 to
 * SGD_PATIENT_REF_LEN bytes, each of A-Z a-z 0-9 '.' '_' '-'. A reference
 * made only of digits is a reference like any other, never an id. */
bool sgd_patient_ref_valid(const char *s);

/* Longest ListProfiles query in bytes: a display name's length. */
#define SGD_PROFILE_QUERY_LEN	(SGD_DISPLAY_NAME_MAX - 1)

/* true if q is a ListProfiles query: "" (all) or up to
 * SGD_PROFILE_QUERY_LEN bytes without control characters (it is matched
 * against references and names, which have none). */
bool sgd_profile_query_valid(const char *q);

/* A blank profile (all caps unset, no conditions). */
void sgd_profile_init(struct sgd_profile *p);

/*
 * Builders for the daemon's a{sv} decoding: they check lengths and
 * syntax (not the policy) and leave *p unchanged on error. msg gets a
 * human sentence on error.
 */
enum sgd_profile_error sgd_profile_set_patient_ref(struct sgd_profile *p,
		const char *s, char *msg, size_t msglen);
enum sgd_profile_error sgd_profile_set_display_name(struct sgd_profile *p,
		const char *s, char *msg, size_t msglen);
/* Adds or replaces the cap entry of a region. */
enum sgd_profile_error sgd_profile_set_region_cap(struct sgd_profile *p,
		const struct sgd_region_cap *c, char *msg, size_t msglen);
/* spec: "name", "name@region" or "name@region:side". */
enum sgd_profile_error sgd_profile_add_condition(struct sgd_profile *p,
		const char *spec, char *msg, size_t msglen);
/* "name" or "name@region" into buf; returns buf. */
const char *sgd_profile_condition_str(const struct sgd_profile_condition *c,
				      char *buf, size_t buflen);

/*
 * Full check of a profile against the policy: numbers finite and in
 * range, regions and conditions known, target band sane (0 < low < high
 * <= the profile's max force and absolute max), no duplicates, strings
 * printable UTF-8 without control characters. Nothing is modified.
 */
enum sgd_profile_error sgd_profile_validate(const struct sgd_policy *pol,
		const struct sgd_profile *p, char *msg, size_t msglen);

/* ======================================================================
 * Effective limits
 * ==================================================================== */

enum sgd_rule {
	SGD_RULE_GLOBAL_MAX = 1,	/* policy absolute maximum */
	SGD_RULE_REGION_DEFAULT,	/* policy region default */
	SGD_RULE_PROFILE_MAX,		/* profile max force */
	SGD_RULE_PROFILE_REGION,	/* profile cap for the region */
	SGD_RULE_CONDITION_FACTOR,	/* precaution / overridden contraindication x factor */
	SGD_RULE_CONDITION_MAX,		/* condition's absolute cap */
};

const char *sgd_rule_str(enum sgd_rule r);	/* "region_default", ... */

#define SGD_MAX_REASONS		(4 + 2 * SGD_PROFILE_MAX_CONDITIONS)
#define SGD_REASON_TEXT_MAX	160

struct sgd_reason {
	enum sgd_rule rule;
	char subject[SGD_REGION_MAX];	/* site or condition name, "" for global/profile */
	double cap_n;			/* the cap this rule gives */
	char text[SGD_REASON_TEXT_MAX];	/* "anticoagulants x0.5 -> 3.5 N" */
};

enum sgd_verdict {
	SGD_VERDICT_OK = 0,
	SGD_VERDICT_CONTRAINDICATED,	/* see contraindications[] */
};

struct sgd_limits {
	enum sgd_verdict verdict;
	char region[SGD_REGION_MAX];	/* the treated site, "calf:left" */
	char region_name[SGD_NAME_MAX];	/* its region, "calf" */
	enum sgd_side side;		/* NONE for a midline region */
	double limit_n;			/* effective cap (strictest) */
	size_t winner;			/* index in reasons[] of the rule that set it */
	double warn_fraction;		/* from the policy */
	double sustain_s;
	uint32_t max_strokes;		/* effective session caps, 0 = none */
	double max_load_s;
	double target_low_n;		/* profile band clamped to limit_n, 0 = none */
	double target_high_n;
	char session_caps_text[SGD_REASON_TEXT_MAX];	/* how the caps were reached */
	size_t nreasons;		/* in evaluation order */
	struct sgd_reason reasons[SGD_MAX_REASONS];
	/* Contraindications that apply here (verdict CONTRAINDICATED). */
	size_t ncontra;
	char contra[SGD_PROFILE_MAX_CONDITIONS][SGD_NAME_MAX];
	bool contra_overridable;	/* every one of them allows override */
};

/*
 * Effective limit for a profile at a treated site ("neck", "calf:left";
 * "" or NULL: the policy's default region, never lateral). A lateral
 * region without its side is refused (-EINVAL): a side is never guessed. Returns 0 and fills *out (the verdict may be
 * CONTRAINDICATED: the caps are still computed as they would apply under
 * an override), or -EINVAL with a message (unknown region, profile that
 * fails validation); *out is then undefined.
 */
int sgd_rules_evaluate(const struct sgd_policy *pol,
		       const struct sgd_profile *p, const char *region,
		       struct sgd_limits *out, char *msg, size_t msglen);

/*
 * May the contraindications in l be overridden with this reason?
 * 0 = yes (also when there is nothing to override), -EPERM = a condition
 * forbids override (msg names it), -EINVAL = reason empty, too long or
 * not printable text.
 */
int sgd_rules_check_override(const struct sgd_policy *pol,
			     const struct sgd_limits *l, const char *reason,
			     char *msg, size_t msglen);

/* "open_wound, dvt" into buf; returns buf. */
const char *sgd_limits_contra_str(const struct sgd_limits *l, char *buf,
				  size_t buflen);
/* All reasons, one per line, the winner marked with " (strictest)". */
const char *sgd_limits_reasons_str(const struct sgd_limits *l, char *buf,
				   size_t buflen);

/* Sets the engine's limit, warn fraction, sustain time and session caps
 * from l; other fields of lc are left alone (start from
 * sg_limit_config_default()). */
void sgd_limits_to_engine(const struct sgd_limits *l,
			  struct sg_limit_config *lc);

/* ======================================================================
 * Calibration policy
 * ==================================================================== */

enum sgd_cal_verdict {
	SGD_CAL_OK = 0,
	SGD_CAL_MISSING_ALLOWED,	/* never calibrated, policy allows: mark session */
	SGD_CAL_EXPIRED_ALLOWED,	/* past due (+grace), policy allows: mark session */
	SGD_CAL_MISSING_REFUSED,	/* -> Error.NotCalibrated */
	SGD_CAL_EXPIRED_REFUSED,	/* -> Error.CalibrationExpired */
};

const char *sgd_cal_verdict_str(enum sgd_cal_verdict v);

/* cal_date/due_date/now: unix seconds; cal_date 0 = never calibrated,
 * due_date 0 = no due date. msg gets a sentence for non-OK verdicts. */
enum sgd_cal_verdict sgd_rules_check_calibration(const struct sgd_policy *pol,
		int64_t cal_date, int64_t due_date, int64_t now,
		char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif

#endif /* STRIGIL_DAEMON_RULES_H */
