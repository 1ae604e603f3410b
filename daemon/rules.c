/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clinical rules engine: profile validation, effective limits with their
 * reasons, contraindications and override checks, calibration policy.
 *
 * The effective cap is order-independent: base = the strictest of the
 * global, region, profile and profile-region caps; the factors of every
 * applicable condition multiply the base; each condition's own absolute
 * cap is a separate candidate; the smallest candidate wins. We never
 * loosen a cap to make it "usable": stricter is the safe side.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"

static void say(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* Appends to a bounded buffer; truncation is harmless (text only). */
static void append(char *buf, size_t buflen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t buflen, const char *fmt, ...)
{
	size_t used = strnlen(buf, buflen);
	va_list ap;

	if (used + 1 >= buflen)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, buflen - used, fmt, ap);
	va_end(ap);
}

const char *sgd_profile_error_str(enum sgd_profile_error e)
{
	switch (e) {
	case SGD_PROFILE_OK: return "ok";
	case SGD_PROFILE_BAD_NUMBER: return "bad_number";
	case SGD_PROFILE_CAP_RANGE: return "cap_range";
	case SGD_PROFILE_SESSION_CAP_RANGE: return "session_cap_range";
	case SGD_PROFILE_TARGET_BAND: return "target_band";
	case SGD_PROFILE_UNKNOWN_REGION: return "unknown_region";
	case SGD_PROFILE_UNKNOWN_CONDITION: return "unknown_condition";
	case SGD_PROFILE_CONDITION_REGION: return "condition_region";
	case SGD_PROFILE_DUPLICATE: return "duplicate";
	case SGD_PROFILE_TOO_MANY: return "too_many";
	case SGD_PROFILE_STRING_TOO_LONG: return "string_too_long";
	case SGD_PROFILE_BAD_STRING: return "bad_string";
	case SGD_PROFILE_BAD_SIDE: return "bad_side";
	}
	return "unknown";
}

const char *sgd_rule_str(enum sgd_rule r)
{
	switch (r) {
	case SGD_RULE_GLOBAL_MAX: return "global_max";
	case SGD_RULE_REGION_DEFAULT: return "region_default";
	case SGD_RULE_PROFILE_MAX: return "profile_max";
	case SGD_RULE_PROFILE_REGION: return "profile_region";
	case SGD_RULE_CONDITION_FACTOR: return "condition_factor";
	case SGD_RULE_CONDITION_MAX: return "condition_max";
	}
	return "unknown";
}

const char *sgd_cal_verdict_str(enum sgd_cal_verdict v)
{
	switch (v) {
	case SGD_CAL_OK: return "ok";
	case SGD_CAL_MISSING_ALLOWED: return "uncalibrated_allowed";
	case SGD_CAL_EXPIRED_ALLOWED: return "expired_allowed";
	case SGD_CAL_MISSING_REFUSED: return "uncalibrated";
	case SGD_CAL_EXPIRED_REFUSED: return "expired";
	}
	return "unknown";
}

/* ======================================================================
 * Strings
 * ==================================================================== */

/* Well-formed UTF-8 (no overlongs, no surrogates), no control chars. */
static bool text_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp, min;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if (cp >= 0x80 && cp < 0xa0)	/* C1 controls */
			return false;
		p += n + 1;
	}
	return true;
}

/* Checks one string for a field of size dstlen. */
static enum sgd_profile_error check_text(const char *what, const char *s,
					 size_t dstlen, bool required,
					 char *msg, size_t msglen)
{
	size_t n;

	if (!s) {
		say(msg, msglen, "%s is missing", what);
		return SGD_PROFILE_BAD_STRING;
	}
	n = strnlen(s, dstlen);
	if (n >= dstlen) {
		say(msg, msglen, "%s is too long (at most %zu bytes)", what,
		    dstlen - 1);
		return SGD_PROFILE_STRING_TOO_LONG;
	}
	if (required && !n) {
		say(msg, msglen, "%s must not be empty", what);
		return SGD_PROFILE_BAD_STRING;
	}
	if (!text_valid(s)) {
		say(msg, msglen, "%s must be UTF-8 text without control characters",
		    what);
		return SGD_PROFILE_BAD_STRING;
	}
	return SGD_PROFILE_OK;
}

/* ======================================================================
 * Sides
 * ==================================================================== */

const char *sgd_side_str(enum sgd_side side)
{
	switch (side) {
	case SGD_SIDE_NONE: return "";
	case SGD_SIDE_LEFT: return "left";
	case SGD_SIDE_RIGHT: return "right";
	case SGD_SIDE_UNKNOWN: return "unknown";
	}
	return "unknown";
}

/* Splits "name[:side]" without the policy: the name and the side text
 * (NULL when absent). false when the name part is too long. */
static bool split_site(const char *spec, char name[SGD_NAME_MAX], const char **side)
{
	const char *colon = strchr(spec, ':');
	size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);

	if (nl >= SGD_NAME_MAX)
		return false;
	memcpy(name, spec, nl);
	name[nl] = '\0';
	*side = colon ? colon + 1 : NULL;
	return true;
}

static bool side_parse(const char *t, enum sgd_side *out)
{
	if (!strcmp(t, "left"))
		*out = SGD_SIDE_LEFT;
	else if (!strcmp(t, "right"))
		*out = SGD_SIDE_RIGHT;
	else
		return false;
	return true;
}

int sgd_site_parse(const struct sgd_policy *pol, const char *spec,
		   enum sgd_site_use use, struct sgd_site *out,
		   char *msg, size_t msglen)
{
	char name[SGD_NAME_MAX];
	const char *side_text;
	const struct sgd_region *reg;
	enum sgd_side side = SGD_SIDE_NONE;

	if (!spec || !*spec) {
		say(msg, msglen, "no body region given");
		return SGD_PROFILE_UNKNOWN_REGION;
	}
	if (!split_site(spec, name, &side_text) || !sgd_name_valid(name) ||
	    !(reg = sgd_policy_region(pol, name))) {
		say(msg, msglen, "unknown region '%.*s' (not in the clinic policy)",
		    SGD_REGION_MAX, spec);
		return SGD_PROFILE_UNKNOWN_REGION;
	}
	if (side_text && !side_parse(side_text, &side)) {
		say(msg, msglen, "'%.*s': the side of a region is 'left' or 'right' "
		    "(e.g. %s:left)", SGD_REGION_MAX, spec, reg->name);
		return SGD_PROFILE_BAD_SIDE;
	}
	if (side != SGD_SIDE_NONE && !reg->lateral) {
		say(msg, msglen, "region %s has no sides (it is midline): write "
		    "'%s' without ':%s'", reg->name, reg->name, side_text);
		return SGD_PROFILE_BAD_SIDE;
	}
	/* Never guess a side: the treated one must be said. */
	if (use == SGD_SITE_TREATED && reg->lateral && side == SGD_SIDE_NONE) {
		say(msg, msglen, "region %s has a left and a right side: say which, "
		    "%s:left or %s:right", reg->name, reg->name, reg->name);
		return SGD_PROFILE_BAD_SIDE;
	}
	out->region = reg;
	out->side = side;
	return SGD_PROFILE_OK;
}

const char *sgd_site_str(const struct sgd_site *site, char *buf, size_t buflen)
{
	if (!buflen)
		return buf;
	if (site->side == SGD_SIDE_NONE)
		snprintf(buf, buflen, "%s", site->region->name);
	else
		snprintf(buf, buflen, "%s:%s", site->region->name,
			 sgd_side_str(site->side));
	return buf;
}

bool sgd_site_covers(const struct sgd_site *target,
		     const struct sgd_site *treated)
{
	if (target->region != treated->region)
		return false;
	return target->side == SGD_SIDE_NONE || target->side == treated->side;
}

/* ======================================================================
 * Profile builders
 * ==================================================================== */

void sgd_profile_init(struct sgd_profile *p)
{
	memset(p, 0, sizeof(*p));
}

bool sgd_patient_ref_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= SGD_PATIENT_REF_LEN)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

bool sgd_profile_query_valid(const char *q)
{
	size_t n;

	if (!q)
		return false;
	for (n = 0; q[n]; n++) {
		unsigned char c = (unsigned char)q[n];

		if (n >= SGD_PROFILE_QUERY_LEN || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* Only new references are held to the syntax: a profile stored before it
 * was enforced keeps its reference (sgd_profile_validate() checks text
 * only), so that it stays readable and treatable; renaming it needs a
 * valid one. */
enum sgd_profile_error sgd_profile_set_patient_ref(struct sgd_profile *p,
		const char *s, char *msg, size_t msglen)
{
	enum sgd_profile_error e;

	e = check_text("patient reference", s, sizeof(p->patient_ref), true,
		       msg, msglen);
	if (e)
		return e;
	if (!sgd_patient_ref_valid(s)) {
		say(msg, msglen, "patient reference '%s' is not valid: use 1-%d "
		    "characters A-Z, a-z, 0-9, '.', '_' or '-' (a pseudonym, "
		    "never a name)", s, SGD_PATIENT_REF_LEN);
		return SGD_PROFILE_BAD_STRING;
	}
	snprintf(p->patient_ref, sizeof(p->patient_ref), "%s", s);
	return SGD_PROFILE_OK;
}

enum sgd_profile_error sgd_profile_set_display_name(struct sgd_profile *p,
		const char *s, char *msg, size_t msglen)
{
	enum sgd_profile_error e;

	e = check_text("display name", s, sizeof(p->display_name), false,
		       msg, msglen);
	if (e)
		return e;
	snprintf(p->display_name, sizeof(p->display_name), "%s", s);
	return SGD_PROFILE_OK;
}

static bool nonneg_finite(double d)
{
	return isfinite(d) && d >= 0;
}

static enum sgd_profile_error check_name(const char *what, const char *s,
					 enum sgd_profile_error unknown,
					 char *msg, size_t msglen)
{
	if (!s || !*s) {
		say(msg, msglen, "%s name is empty", what);
		return unknown;
	}
	if (strnlen(s, SGD_NAME_MAX) >= SGD_NAME_MAX) {
		say(msg, msglen, "%s name is too long (at most %d bytes)", what,
		    SGD_NAME_MAX - 1);
		return SGD_PROFILE_STRING_TOO_LONG;
	}
	if (!sgd_name_valid(s)) {
		say(msg, msglen, "'%s' is not a %s name (snake_case expected)",
		    s, what);
		return unknown;
	}
	return SGD_PROFILE_OK;
}

/* "name" or "name:left|right", syntax only (the policy is checked by
 * sgd_profile_validate). */
static enum sgd_profile_error check_site_syntax(const char *s, char *msg,
						size_t msglen)
{
	char name[SGD_NAME_MAX];
	const char *side_text;
	enum sgd_side side;
	enum sgd_profile_error e;

	if (!s || strnlen(s, SGD_REGION_MAX) >= SGD_REGION_MAX ||
	    !split_site(s, name, &side_text)) {
		say(msg, msglen, "region is too long (at most %d bytes)",
		    SGD_NAME_MAX - 1);
		return SGD_PROFILE_STRING_TOO_LONG;
	}
	e = check_name("region", name, SGD_PROFILE_UNKNOWN_REGION, msg, msglen);
	if (e)
		return e;
	if (side_text && !side_parse(side_text, &side)) {
		say(msg, msglen, "'%s': the side of a region is 'left' or 'right'", s);
		return SGD_PROFILE_BAD_SIDE;
	}
	return SGD_PROFILE_OK;
}

enum sgd_profile_error sgd_profile_set_region_cap(struct sgd_profile *p,
		const struct sgd_region_cap *c, char *msg, size_t msglen)
{
	enum sgd_profile_error e;
	size_t i;

	e = check_site_syntax(c->region, msg, msglen);
	if (e)
		return e;
	if (!nonneg_finite(c->cap_n) || !nonneg_finite(c->max_load_s)) {
		say(msg, msglen, "caps for region %s must be finite and not negative",
		    c->region);
		return SGD_PROFILE_BAD_NUMBER;
	}
	for (i = 0; i < p->nregion_caps; i++)
		if (!strcmp(p->region_caps[i].region, c->region))
			break;
	if (i == p->nregion_caps && i >= SGD_PROFILE_MAX_REGION_CAPS) {
		say(msg, msglen, "too many region caps (at most %d)",
		    SGD_PROFILE_MAX_REGION_CAPS);
		return SGD_PROFILE_TOO_MANY;
	}
	p->region_caps[i] = *c;
	if (i == p->nregion_caps)
		p->nregion_caps++;
	return SGD_PROFILE_OK;
}

/* Splits "name@region"; region "" when absent. */
static enum sgd_profile_error split_condition(const char *spec,
		struct sgd_profile_condition *out, char *msg, size_t msglen)
{
	const char *at;
	size_t nl;
	enum sgd_profile_error e;

	memset(out, 0, sizeof(*out));
	if (!spec) {
		say(msg, msglen, "condition is missing");
		return SGD_PROFILE_UNKNOWN_CONDITION;
	}
	at = strchr(spec, '@');
	nl = at ? (size_t)(at - spec) : strlen(spec);
	if (nl >= SGD_NAME_MAX) {
		say(msg, msglen, "condition name is too long (at most %d bytes)",
		    SGD_NAME_MAX - 1);
		return SGD_PROFILE_STRING_TOO_LONG;
	}
	memcpy(out->name, spec, nl);
	e = check_name("condition", out->name, SGD_PROFILE_UNKNOWN_CONDITION,
		       msg, msglen);
	if (e)
		return e;
	if (at) {
		e = check_site_syntax(at + 1, msg, msglen);
		if (e)
			return e;
		snprintf(out->region, sizeof(out->region), "%s", at + 1);
	}
	return SGD_PROFILE_OK;
}

enum sgd_profile_error sgd_profile_add_condition(struct sgd_profile *p,
		const char *spec, char *msg, size_t msglen)
{
	struct sgd_profile_condition c;
	enum sgd_profile_error e;

	e = split_condition(spec, &c, msg, msglen);
	if (e)
		return e;
	for (size_t i = 0; i < p->nconditions; i++) {
		if (!strcmp(p->conditions[i].name, c.name) &&
		    !strcmp(p->conditions[i].region, c.region)) {
			say(msg, msglen, "condition %s given twice", spec);
			return SGD_PROFILE_DUPLICATE;
		}
	}
	if (p->nconditions >= SGD_PROFILE_MAX_CONDITIONS) {
		say(msg, msglen, "too many conditions (at most %d)",
		    SGD_PROFILE_MAX_CONDITIONS);
		return SGD_PROFILE_TOO_MANY;
	}
	p->conditions[p->nconditions++] = c;
	return SGD_PROFILE_OK;
}

const char *sgd_profile_condition_str(const struct sgd_profile_condition *c,
				      char *buf, size_t buflen)
{
	if (!buflen)
		return buf;
	if (c->region[0])
		snprintf(buf, buflen, "%s@%s", c->name, c->region);
	else
		snprintf(buf, buflen, "%s", c->name);
	return buf;
}

/* ======================================================================
 * Validation against the policy
 * ==================================================================== */

static enum sgd_profile_error check_cap(const struct sgd_policy *pol,
					const char *what, double v,
					char *msg, size_t msglen)
{
	if (!nonneg_finite(v)) {
		say(msg, msglen, "%s must be a finite number of newtons, not negative",
		    what);
		return SGD_PROFILE_BAD_NUMBER;
	}
	if (v > 0 && (v < pol->min_cap_n || v > pol->absolute_max_n)) {
		say(msg, msglen, "%s %.2f N is outside the clinic's range "
		    "%.2f-%.2f N", what, v, pol->min_cap_n, pol->absolute_max_n);
		return SGD_PROFILE_CAP_RANGE;
	}
	return SGD_PROFILE_OK;
}

static enum sgd_profile_error check_session_caps(const char *what,
		uint32_t strokes, double load_s, char *msg, size_t msglen)
{
	if (!nonneg_finite(load_s)) {
		say(msg, msglen, "%s time cap must be a finite number of seconds, "
		    "not negative", what);
		return SGD_PROFILE_BAD_NUMBER;
	}
	if (strokes > SGD_POLICY_MAX_STROKES_CEILING ||
	    load_s > SGD_POLICY_MAX_LOAD_CEILING_S) {
		say(msg, msglen, "%s session cap out of range (at most %u strokes, "
		    "%.0f s under load)", what, SGD_POLICY_MAX_STROKES_CEILING,
		    SGD_POLICY_MAX_LOAD_CEILING_S);
		return SGD_PROFILE_SESSION_CAP_RANGE;
	}
	return SGD_PROFILE_OK;
}

enum sgd_profile_error sgd_profile_validate(const struct sgd_policy *pol,
		const struct sgd_profile *p, char *msg, size_t msglen)
{
	enum sgd_profile_error e;
	char what[SGD_REGION_MAX + 32];
	struct sgd_site site;

	if ((e = check_text("patient reference", p->patient_ref,
			    sizeof(p->patient_ref), true, msg, msglen)))
		return e;
	if ((e = check_text("display name", p->display_name,
			    sizeof(p->display_name), false, msg, msglen)))
		return e;
	if ((e = check_cap(pol, "max force", p->max_force_n, msg, msglen)))
		return e;
	if ((e = check_session_caps("profile", p->max_strokes, p->max_load_s,
				    msg, msglen)))
		return e;

	/* target band */
	if (!nonneg_finite(p->target_low_n) || !nonneg_finite(p->target_high_n)) {
		say(msg, msglen, "target band must be finite newtons, not negative");
		return SGD_PROFILE_BAD_NUMBER;
	}
	if (p->target_low_n > 0 || p->target_high_n > 0) {
		double top = pol->absolute_max_n;

		if (p->max_force_n > 0 && p->max_force_n < top)
			top = p->max_force_n;
		if (!(p->target_low_n > 0) || !(p->target_high_n > p->target_low_n)) {
			say(msg, msglen, "target band %.2f-%.2f N: need 0 < low < high",
			    p->target_low_n, p->target_high_n);
			return SGD_PROFILE_TARGET_BAND;
		}
		if (p->target_high_n > top) {
			say(msg, msglen, "target band top %.2f N is above the cap "
			    "%.2f N", p->target_high_n, top);
			return SGD_PROFILE_TARGET_BAND;
		}
	}

	if (p->nregion_caps > SGD_PROFILE_MAX_REGION_CAPS) {
		say(msg, msglen, "too many region caps (at most %d)",
		    SGD_PROFILE_MAX_REGION_CAPS);
		return SGD_PROFILE_TOO_MANY;
	}
	for (size_t i = 0; i < p->nregion_caps; i++) {
		const struct sgd_region_cap *c = &p->region_caps[i];

		if ((e = check_site_syntax(c->region, msg, msglen)))
			return e;
		if ((e = sgd_site_parse(pol, c->region, SGD_SITE_TARGET, &site,
					msg, msglen)))
			return e;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(p->region_caps[j].region, c->region)) {
				say(msg, msglen, "region %s has two cap entries",
				    c->region);
				return SGD_PROFILE_DUPLICATE;
			}
		}
		snprintf(what, sizeof(what), "cap for region %s", c->region);
		if ((e = check_cap(pol, what, c->cap_n, msg, msglen)))
			return e;
		snprintf(what, sizeof(what), "region %s", c->region);
		if ((e = check_session_caps(what, c->max_strokes, c->max_load_s,
					    msg, msglen)))
			return e;
	}

	if (p->nconditions > SGD_PROFILE_MAX_CONDITIONS) {
		say(msg, msglen, "too many conditions (at most %d)",
		    SGD_PROFILE_MAX_CONDITIONS);
		return SGD_PROFILE_TOO_MANY;
	}
	for (size_t i = 0; i < p->nconditions; i++) {
		const struct sgd_profile_condition *c = &p->conditions[i];
		const struct sgd_condition *pc;

		if ((e = check_name("condition", c->name,
				    SGD_PROFILE_UNKNOWN_CONDITION, msg, msglen)))
			return e;
		pc = sgd_policy_condition(pol, c->name);
		if (!pc) {
			say(msg, msglen, "unknown condition '%s' (not in the clinic "
			    "policy)", c->name);
			return SGD_PROFILE_UNKNOWN_CONDITION;
		}
		if (strnlen(c->region, SGD_REGION_MAX) >= SGD_REGION_MAX) {
			say(msg, msglen, "region name of condition %s is too long",
			    c->name);
			return SGD_PROFILE_STRING_TOO_LONG;
		}
		if (c->region[0]) {
			if (!pc->local) {
				say(msg, msglen, "condition %s is systemic: it cannot "
				    "be limited to region %s", c->name, c->region);
				return SGD_PROFILE_CONDITION_REGION;
			}
			if ((e = check_site_syntax(c->region, msg, msglen)))
				return e;
			if ((e = sgd_site_parse(pol, c->region, SGD_SITE_TARGET,
						&site, msg, msglen))) {
				char why[200];

				snprintf(why, sizeof(why), "%s", msg);
				say(msg, msglen, "condition %s: %s", c->name, why);
				return e;
			}
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(p->conditions[j].name, c->name) &&
			    !strcmp(p->conditions[j].region, c->region)) {
				say(msg, msglen, "condition %s given twice", c->name);
				return SGD_PROFILE_DUPLICATE;
			}
		}
	}
	return SGD_PROFILE_OK;
}

/* ======================================================================
 * Effective limits
 * ==================================================================== */

static void add_reason(struct sgd_limits *l, enum sgd_rule rule,
		       const char *subject, double cap, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_reason(struct sgd_limits *l, enum sgd_rule rule,
		       const char *subject, double cap, const char *fmt, ...)
{
	struct sgd_reason *r;
	va_list ap;

	if (l->nreasons >= SGD_MAX_REASONS)
		return;		/* cannot happen: sized for every rule */
	r = &l->reasons[l->nreasons++];
	r->rule = rule;
	snprintf(r->subject, sizeof(r->subject), "%s", subject ? subject : "");
	r->cap_n = cap;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* The profile's region cap entries that apply at the treated site ("calf"
 * and "calf:left" both apply to calf:left), at most SGD_PROFILE_MAX_REGION_CAPS. */
static size_t profile_region_caps(const struct sgd_policy *pol,
				  const struct sgd_profile *p,
				  const struct sgd_site *treated,
				  const struct sgd_region_cap **out)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nregion_caps; i++) {
		struct sgd_site t;

		if (sgd_site_parse(pol, p->region_caps[i].region, SGD_SITE_TARGET,
				   &t, NULL, 0) == SGD_PROFILE_OK &&
		    sgd_site_covers(&t, treated))
			out[n++] = &p->region_caps[i];
	}
	return n;
}

/* A session cap candidate: the strictest non-zero wins. */
struct cap_pick {
	double v;
	const char *who;
};

static void pick(struct cap_pick *c, double v, const char *who)
{
	if (v > 0 && (c->v <= 0 || v < c->v)) {
		c->v = v;
		c->who = who;
	}
}

static void contra_add(struct sgd_limits *l, const struct sgd_condition *pc)
{
	for (size_t i = 0; i < l->ncontra; i++)
		if (!strcmp(l->contra[i], pc->name))
			return;
	if (l->ncontra >= SGD_PROFILE_MAX_CONDITIONS)
		return;
	snprintf(l->contra[l->ncontra++], SGD_NAME_MAX, "%s", pc->name);
	if (!pc->override_allowed)
		l->contra_overridable = false;
}

int sgd_rules_evaluate(const struct sgd_policy *pol,
		       const struct sgd_profile *p, const char *region,
		       struct sgd_limits *out, char *msg, size_t msglen)
{
	const struct sgd_region *reg;
	const struct sgd_region_cap *prc[SGD_PROFILE_MAX_REGION_CAPS];
	size_t nprc;
	struct sgd_site site;
	const struct sgd_condition *applied[SGD_PROFILE_MAX_CONDITIONS];
	size_t napplied = 0;
	double base, factor = 1.0, session_factor = 1.0;
	struct cap_pick strokes = { 0, NULL }, load = { 0, NULL };

	if (!pol || !p || !out)
		return -EINVAL;
	if (sgd_profile_validate(pol, p, msg, msglen) != SGD_PROFILE_OK)
		return -EINVAL;
	if (!region || !*region) {
		if (!pol->default_region[0]) {
			say(msg, msglen, "no region given and the clinic policy has "
			    "no default region");
			return -EINVAL;
		}
		region = pol->default_region;
	}
	if (sgd_site_parse(pol, region, SGD_SITE_TREATED, &site, msg, msglen))
		return -EINVAL;
	reg = site.region;

	memset(out, 0, sizeof(*out));
	sgd_site_str(&site, out->region, sizeof(out->region));
	snprintf(out->region_name, sizeof(out->region_name), "%s", reg->name);
	out->side = site.side;
	out->warn_fraction = pol->warn_fraction;
	out->sustain_s = pol->sustain_s;
	out->contra_overridable = true;

	/* Caps that do not depend on conditions; base = the strictest. */
	add_reason(out, SGD_RULE_GLOBAL_MAX, "", pol->absolute_max_n,
		   "clinic absolute maximum %.2f N", pol->absolute_max_n);
	add_reason(out, SGD_RULE_REGION_DEFAULT, reg->name, reg->cap_n,
		   "region %s default %.2f N", reg->name, reg->cap_n);
	if (p->max_force_n > 0)
		add_reason(out, SGD_RULE_PROFILE_MAX, "", p->max_force_n,
			   "profile cap %.2f N", p->max_force_n);
	/* "calf" and "calf:left" both apply at calf:left: each is a candidate */
	nprc = profile_region_caps(pol, p, &site, prc);
	for (size_t i = 0; i < nprc; i++)
		if (prc[i]->cap_n > 0)
			add_reason(out, SGD_RULE_PROFILE_REGION, prc[i]->region,
				   prc[i]->cap_n, "profile cap for %s %.2f N",
				   prc[i]->region, prc[i]->cap_n);
	base = out->reasons[0].cap_n;
	for (size_t i = 1; i < out->nreasons; i++)
		if (out->reasons[i].cap_n < base)
			base = out->reasons[i].cap_n;

	/* Conditions that apply in this region. */
	for (size_t i = 0; i < p->nconditions; i++) {
		const struct sgd_profile_condition *c = &p->conditions[i];
		const struct sgd_condition *pc = sgd_policy_condition(pol, c->name);
		bool dup = false;

		if (!pc)
			continue;	/* validated above */
		if (c->region[0]) {
			struct sgd_site t;

			/* a local condition at calf:left leaves calf:right alone;
			 * at calf (no side) it applies to both */
			if (sgd_site_parse(pol, c->region, SGD_SITE_TARGET, &t, NULL, 0) ||
			    !sgd_site_covers(&t, &site))
				continue;
		}
		if (!sgd_condition_applies_to(pol, pc, reg))
			continue;
		for (size_t j = 0; j < napplied; j++)
			dup |= applied[j] == pc;
		if (dup)
			continue;	/* "x" and "x@region": count once */
		applied[napplied++] = pc;
		if (pc->kind == SGD_CONTRAINDICATION)
			contra_add(out, pc);
	}
	for (size_t i = 0; i < napplied; i++) {
		const struct sgd_condition *pc = applied[i];
		const char *tag = pc->kind == SGD_CONTRAINDICATION ?
			" (if overridden)" : "";

		if (pc->cap_factor < 1.0) {
			factor *= pc->cap_factor;
			add_reason(out, SGD_RULE_CONDITION_FACTOR, pc->name,
				   base * factor, "%s x%g -> %.2f N%s", pc->name,
				   pc->cap_factor, base * factor, tag);
		}
		if (pc->cap_max_n > 0)
			add_reason(out, SGD_RULE_CONDITION_MAX, pc->name,
				   pc->cap_max_n, "%s cap %.2f N%s", pc->name,
				   pc->cap_max_n, tag);
		session_factor *= pc->session_factor;
	}

	/* The strictest wins; on a tie the more specific (later) rule. */
	out->winner = 0;
	for (size_t i = 1; i < out->nreasons; i++)
		if (out->reasons[i].cap_n <= out->reasons[out->winner].cap_n)
			out->winner = i;
	out->limit_n = out->reasons[out->winner].cap_n;
	out->verdict = out->ncontra ? SGD_VERDICT_CONTRAINDICATED : SGD_VERDICT_OK;
	if (!out->ncontra)
		out->contra_overridable = false;

	/* Session caps. */
	pick(&strokes, pol->max_strokes, "clinic");
	pick(&strokes, reg->max_strokes, "region");
	pick(&strokes, p->max_strokes, "profile");
	pick(&load, pol->max_load_s, "clinic");
	pick(&load, reg->max_load_s, "region");
	pick(&load, p->max_load_s, "profile");
	for (size_t i = 0; i < nprc; i++) {
		pick(&strokes, prc[i]->max_strokes, "profile region");
		pick(&load, prc[i]->max_load_s, "profile region");
	}
	if (strokes.v > 0) {
		double v = floor(strokes.v * session_factor);

		out->max_strokes = v < 1 ? 1 : (uint32_t)v;
		append(out->session_caps_text, sizeof(out->session_caps_text),
		       "strokes: %s %.0f", strokes.who, strokes.v);
		if (session_factor < 1.0)
			append(out->session_caps_text, sizeof(out->session_caps_text),
			       " x%g -> %u", session_factor, out->max_strokes);
	}
	if (load.v > 0) {
		out->max_load_s = load.v * session_factor;
		append(out->session_caps_text, sizeof(out->session_caps_text),
		       "%sload time: %s %.0f s", strokes.v > 0 ? "; " : "",
		       load.who, load.v);
		if (session_factor < 1.0)
			append(out->session_caps_text, sizeof(out->session_caps_text),
			       " x%g -> %.0f s", session_factor, out->max_load_s);
	}
	if (!out->session_caps_text[0])
		snprintf(out->session_caps_text, sizeof(out->session_caps_text),
			 "no session caps");

	/* Target band, clamped under the effective limit. */
	if (p->target_high_n > 0) {
		out->target_high_n = fmin(p->target_high_n, out->limit_n);
		out->target_low_n = fmin(p->target_low_n, out->target_high_n);
	}
	return 0;
}

int sgd_rules_check_override(const struct sgd_policy *pol,
			     const struct sgd_limits *l, const char *reason,
			     char *msg, size_t msglen)
{
	const char *s;

	if (!pol || !l)
		return -EINVAL;
	if (l->verdict != SGD_VERDICT_CONTRAINDICATED || !l->ncontra)
		return 0;
	for (size_t i = 0; i < l->ncontra; i++) {
		const struct sgd_condition *pc = sgd_policy_condition(pol, l->contra[i]);

		if (!pc || !pc->override_allowed) {
			say(msg, msglen, "%s is an absolute contraindication that the "
			    "clinic policy does not allow overriding", l->contra[i]);
			return -EPERM;
		}
	}
	if (!reason) {
		say(msg, msglen, "an override needs a reason");
		return -EINVAL;
	}
	for (s = reason; *s == ' ' || *s == '\t'; s++)
		;
	if (!*s) {
		say(msg, msglen, "an override needs a reason (it is recorded)");
		return -EINVAL;
	}
	if (strnlen(reason, SGD_OVERRIDE_REASON_MAX) >= SGD_OVERRIDE_REASON_MAX) {
		say(msg, msglen, "override reason too long (at most %d bytes)",
		    SGD_OVERRIDE_REASON_MAX - 1);
		return -EINVAL;
	}
	if (!text_valid(reason)) {
		say(msg, msglen, "override reason must be UTF-8 text without "
		    "control characters");
		return -EINVAL;
	}
	return 0;
}

const char *sgd_limits_contra_str(const struct sgd_limits *l, char *buf,
				  size_t buflen)
{
	if (!buflen)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < l->ncontra; i++)
		append(buf, buflen, "%s%s", i ? ", " : "", l->contra[i]);
	return buf;
}

const char *sgd_limits_reasons_str(const struct sgd_limits *l, char *buf,
				   size_t buflen)
{
	if (!buflen)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < l->nreasons; i++)
		append(buf, buflen, "%s%s%s", i ? "\n" : "", l->reasons[i].text,
		       i == l->winner ? " (strictest)" : "");
	return buf;
}

void sgd_limits_to_engine(const struct sgd_limits *l,
			  struct sg_limit_config *lc)
{
	lc->limit_n = l->limit_n;
	lc->warn_fraction = l->warn_fraction;
	lc->sustain_s = l->sustain_s;
	lc->max_strokes = l->max_strokes;
	lc->max_load_s = l->max_load_s;
}

/* ======================================================================
 * Calibration policy
 * ==================================================================== */

enum sgd_cal_verdict sgd_rules_check_calibration(const struct sgd_policy *pol,
		int64_t cal_date, int64_t due_date, int64_t now,
		char *msg, size_t msglen)
{
	int64_t grace = (int64_t)pol->expired_grace_days * 86400;

	if (cal_date <= 0) {
		say(msg, msglen, "the instrument has never been calibrated%s",
		    pol->allow_uncalibrated ? " (allowed by clinic policy; the "
		    "session is marked)" : ": calibrate it first");
		return pol->allow_uncalibrated ? SGD_CAL_MISSING_ALLOWED :
			SGD_CAL_MISSING_REFUSED;
	}
	if (due_date > 0 && now > due_date + grace) {
		say(msg, msglen, "the instrument's calibration expired %lld days "
		    "ago%s", (long long)((now - due_date) / 86400),
		    pol->allow_expired ? " (allowed by clinic policy; the session "
		    "is marked)" : ": recalibrate it first");
		return pol->allow_expired ? SGD_CAL_EXPIRED_ALLOWED :
			SGD_CAL_EXPIRED_REFUSED;
	}
	return SGD_CAL_OK;
}
