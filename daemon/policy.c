/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clinic policy file parser. libinih splits lines into sections and
 * key = value pairs; this file gives them meaning and checks them. We feed
 * inih through our own line reader so that every message can carry the
 * line number, over-long lines are refused instead of silently split, and
 * empty sections are still seen (inih only reports key lines).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "policy.h"
#include "text.h"

/* inih's line buffer (INI_MAX_LINE in Debian's build) is 200 bytes,
 * including the newline and NUL. */
#define POLICY_LINE_MAX		198
#define POLICY_FILE_MAX		(1024 * 1024)

enum section_type {
	SEC_NONE = 0,
	SEC_LIMITS,
	SEC_CALIBRATION,
	SEC_STORAGE,
	SEC_REGION,
	SEC_CONTRA,
	SEC_PRECAUTION,
	SEC_EXPORT,
	SEC_STROKES,
};

/* Keys seen in the current section, to refuse duplicates. */
#define SEEN_MAX 16

struct parse_state {
	const char *name;
	const char *data;
	size_t len, pos;
	int line;		/* line last handed to inih */

	struct sgd_policy *pol;
	enum section_type sec;
	int sec_line;
	struct sgd_region *region;
	struct sgd_condition *cond;
	const char *seen[SEEN_MAX];
	size_t nseen;
	bool have_limits, have_calibration, have_storage, have_export, have_strokes;
	bool have_absolute_max;
	bool have_cap[SGD_POLICY_MAX_REGIONS];
	int region_line[SGD_POLICY_MAX_REGIONS];
	int cond_line[SGD_POLICY_MAX_CONDITIONS];
	/* "regions =" values, resolved once every region is known */
	char *cond_regions[SGD_POLICY_MAX_CONDITIONS];
	int cond_regions_line[SGD_POLICY_MAX_CONDITIONS];
	int default_region_line;

	int err_line;		/* 0 = no error yet */
	char err[256];
};

static void fail(struct parse_state *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parse_state *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->err_line)
		return;		/* the first error is the one to fix */
	ps->err_line = line > 0 ? line : -1;
	va_start(ap, fmt);
	vsnprintf(ps->err, sizeof(ps->err), fmt, ap);
	va_end(ap);
}

/* Bounded copy; the callers have checked the length already. */
static void copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = strnlen(src, dstlen - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool sgd_name_valid(const char *s)
{
	size_t n;

	if (!s || !(*s >= 'a' && *s <= 'z'))
		return false;
	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
		if (n + 1 >= SGD_NAME_MAX)
			return false;
	}
	return true;
}

const char *sgd_condition_kind_str(enum sgd_condition_kind k)
{
	switch (k) {
	case SGD_CONTRAINDICATION: return "contraindication";
	case SGD_PRECAUTION: return "precaution";
	}
	return "unknown";
}

static bool label_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p || strlen(s) >= SGD_LABEL_MAX)
		return false;
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* ---- values ---- */

static bool parse_double(const char *v, double *out)
{
	char *end;
	double d;

	/* decimal only: strtod would also take hex ("0x10"), "inf", "nan" */
	if (!*v || v[strspn(v, "0123456789.+-eE")])
		return false;
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || !isfinite(d))
		return false;
	*out = d;
	return true;
}

static bool parse_uint(const char *v, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long u;

	if (!*v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	u = strtoul(v, &end, 10);
	if (errno || *end || u > max)
		return false;
	*out = (uint32_t)u;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Numeric keys share one shape: a range check with a sentence. */
static bool want_double(struct parse_state *ps, const char *key,
			const char *v, double lo, bool lo_open, double hi,
			double *out)
{
	double d;

	if (!parse_double(v, &d)) {
		fail(ps, ps->line, "%s: '%s' is not a number", key, v);
		return false;
	}
	if ((lo_open ? d <= lo : d < lo) || d > hi) {
		fail(ps, ps->line, "%s = %g is out of range (%s%g .. %g]",
		     key, d, lo_open ? "(" : "[", lo, hi);
		return false;
	}
	*out = d;
	return true;
}

static bool want_uint(struct parse_state *ps, const char *key, const char *v,
		      unsigned long max, uint32_t *out)
{
	if (!parse_uint(v, max, out)) {
		fail(ps, ps->line, "%s: '%s' is not a whole number in 0 .. %lu",
		     key, v, max);
		return false;
	}
	return true;
}

static bool want_bool(struct parse_state *ps, const char *key, const char *v,
		      bool *out)
{
	if (!parse_bool(v, out)) {
		fail(ps, ps->line, "%s: '%s' is not yes/no", key, v);
		return false;
	}
	return true;
}

static bool want_label(struct parse_state *ps, const char *v, char *dst)
{
	if (!label_valid(v)) {
		fail(ps, ps->line,
		     "label: must be 1..%d printable characters", SGD_LABEL_MAX - 1);
		return false;
	}
	copy(dst, SGD_LABEL_MAX, v);
	return true;
}

/* ---- sections (seen by the line reader, so empty ones count too) ---- */

static void start_section(struct parse_state *ps, const char *hdr)
{
	struct sgd_policy *pol = ps->pol;
	char kind[32], name[128];
	const char *sp;

	ps->sec = SEC_NONE;
	ps->sec_line = ps->line;
	ps->region = NULL;
	ps->cond = NULL;
	ps->nseen = 0;

	sp = strchr(hdr, ' ');
	if (!sp) {
		if (!strcmp(hdr, "limits")) {
			if (ps->have_limits)
				fail(ps, ps->line, "[limits] given twice");
			ps->have_limits = true;
			ps->sec = SEC_LIMITS;
		} else if (!strcmp(hdr, "calibration")) {
			if (ps->have_calibration)
				fail(ps, ps->line, "[calibration] given twice");
			ps->have_calibration = true;
			ps->sec = SEC_CALIBRATION;
		} else if (!strcmp(hdr, "storage")) {
			if (ps->have_storage)
				fail(ps, ps->line, "[storage] given twice");
			ps->have_storage = true;
			ps->sec = SEC_STORAGE;
		} else if (!strcmp(hdr, "export")) {
			if (ps->have_export)
				fail(ps, ps->line, "[export] given twice");
			ps->have_export = true;
			ps->sec = SEC_EXPORT;
		} else if (!strcmp(hdr, "strokes")) {
			if (ps->have_strokes)
				fail(ps, ps->line, "[strokes] given twice");
			ps->have_strokes = true;
			ps->sec = SEC_STROKES;
		} else {
			fail(ps, ps->line,
			     "unknown section [%s] (expected [limits], [calibration], [storage], [export], "
			     "[strokes], [region NAME], [contraindication NAME] or "
			     "[precaution NAME])", hdr);
		}
		return;
	}
	if ((size_t)(sp - hdr) >= sizeof(kind) || strlen(sp + 1) >= sizeof(name)) {
		fail(ps, ps->line, "section name too long: [%s]", hdr);
		return;
	}
	memcpy(kind, hdr, (size_t)(sp - hdr));
	kind[sp - hdr] = '\0';
	snprintf(name, sizeof(name), "%s", sp + 1);

	if (!sgd_name_valid(name)) {
		fail(ps, ps->line,
		     "[%s %s]: names are lower-case snake_case ([a-z][a-z0-9_]*, "
		     "at most %d characters)", kind, name, SGD_NAME_MAX - 1);
		return;
	}
	if (!strcmp(kind, "region")) {
		if (sgd_policy_region(pol, name)) {
			fail(ps, ps->line, "region '%s' defined twice", name);
			return;
		}
		if (pol->nregions >= SGD_POLICY_MAX_REGIONS) {
			fail(ps, ps->line, "too many regions (at most %d)",
			     SGD_POLICY_MAX_REGIONS);
			return;
		}
		ps->region_line[pol->nregions] = ps->line;
		ps->region = &pol->regions[pol->nregions++];
		copy(ps->region->name, SGD_NAME_MAX, name);
		copy(ps->region->label, SGD_LABEL_MAX, name);
		ps->sec = SEC_REGION;
	} else if (!strcmp(kind, "contraindication") || !strcmp(kind, "precaution")) {
		bool contra = kind[0] == 'c';

		if (sgd_policy_condition(pol, name)) {
			fail(ps, ps->line, "condition '%s' defined twice", name);
			return;
		}
		if (pol->nconditions >= SGD_POLICY_MAX_CONDITIONS) {
			fail(ps, ps->line, "too many conditions (at most %d)",
			     SGD_POLICY_MAX_CONDITIONS);
			return;
		}
		ps->cond_line[pol->nconditions] = ps->line;
		ps->cond = &pol->conditions[pol->nconditions++];
		copy(ps->cond->name, SGD_NAME_MAX, name);
		copy(ps->cond->label, SGD_LABEL_MAX, name);
		ps->cond->kind = contra ? SGD_CONTRAINDICATION : SGD_PRECAUTION;
		ps->cond->cap_factor = 1.0;
		ps->cond->session_factor = 1.0;
		ps->cond->region_mask = UINT64_MAX;
		ps->sec = contra ? SEC_CONTRA : SEC_PRECAUTION;
	} else {
		fail(ps, ps->line, "unknown section kind '%s' in [%s]", kind, hdr);
	}
}

/* What inih would take more loosely: "key: value" (its ':' separator),
 * anything after a section's ']'. A line is blank, a comment, a section
 * header alone, or "key = value" with a key without ':'. */
static bool line_shape_ok(struct parse_state *ps, const char *str)
{
	const char *s = str + strspn(str, " \t"), *e;

	if (!*s || *s == '\n' || *s == '\r' || *s == '#' || *s == ';')
		return true;
	if (*s == '[') {
		e = strchr(s, ']');
		if (e && e[1 + strspn(e + 1, " \t\r\n")]) {
			fail(ps, ps->line, "nothing may follow the section header's ']'");
			return false;
		}
		return true;
	}
	e = strchr(s, '=');
	if (memchr(s, ':', e ? (size_t)(e - s) : strlen(s))) {
		fail(ps, ps->line, "write 'key = value' (':' is not a separator)");
		return false;
	}
	return true;
}

/*
 * fgets-style reader for inih. One call = one line, so ps->line always
 * names the line inih is working on. Returning NULL ends the parse.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	const char *p, *nl;
	size_t n, avail;

	if (ps->err_line || ps->pos >= ps->len)
		return NULL;
	p = ps->data + ps->pos;
	avail = ps->len - ps->pos;
	nl = memchr(p, '\n', avail);
	n = nl ? (size_t)(nl - p) + 1 : avail;
	ps->line++;
	ps->pos += n;

	if (memchr(p, '\0', n)) {
		fail(ps, ps->line, "NUL byte in the file");
		return NULL;
	}
	if (n - (nl ? 1 : 0) > POLICY_LINE_MAX || (int)n + 1 > num) {
		fail(ps, ps->line, "line too long (at most %d characters)",
		     POLICY_LINE_MAX);
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	/* a UTF-8 byte order mark (Windows editors) before the first line */
	if (ps->line == 1 && (unsigned char)str[0] == 0xef && (unsigned char)str[1] == 0xbb &&
	    (unsigned char)str[2] == 0xbf)
		memmove(str, str + 3, n - 3 + 1);
	if (!text_utf8_valid(str)) {
		fail(ps, ps->line, "not valid UTF-8 text");
		return NULL;
	}
	if (!line_shape_ok(ps, str))
		return NULL;

	/* Section header: "[kind name]" with optional spaces around. */
	{
		const char *s = str, *e;
		char hdr[160];
		size_t hl;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '[') {
			e = strchr(s, ']');
			if (!e) {
				fail(ps, ps->line, "section header without ']'");
				return NULL;
			}
			s++;
			while (*s == ' ')
				s++;
			while (e > s && e[-1] == ' ')
				e--;
			hl = (size_t)(e - s);
			if (hl >= sizeof(hdr)) {
				fail(ps, ps->line, "section header too long");
				return NULL;
			}
			memcpy(hdr, s, hl);
			hdr[hl] = '\0';
			/* collapse "region   neck" to one space */
			{
				char *w = hdr, *r = hdr;
				bool sp = false;

				for (; *r; r++) {
					if (*r == ' ' || *r == '\t') {
						sp = true;
						continue;
					}
					if (sp && w != hdr)
						*w++ = ' ';
					sp = false;
					*w++ = *r;
				}
				*w = '\0';
			}
			start_section(ps, hdr);
		}
	}
	return str;
}

static bool key_seen(struct parse_state *ps, const char *key)
{
	for (size_t i = 0; i < ps->nseen; i++)
		if (!strcmp(ps->seen[i], key))
			return true;
	if (ps->nseen < SEEN_MAX)
		ps->seen[ps->nseen++] = key;	/* static strings below */
	return false;
}

/* Canonical (static) spelling of a key, so key_seen can keep pointers. */
static const char *canon(const char *name, const char *const *keys)
{
	for (; *keys; keys++)
		if (!strcmp(name, *keys))
			return *keys;
	return NULL;
}

static const char *const limits_keys[] = {
	"absolute_max_n", "min_cap_n", "warn_fraction", "sustain_s",
	"max_strokes", "max_load_s", "default_region", NULL
};
static const char *const calibration_keys[] = {
	"allow_uncalibrated", "allow_expired", "expired_grace_days", NULL
};
static const char *const storage_keys[] = {
	"on_damage", "wal_held_mb", NULL
};
static const char *const export_keys[] = {
	"patient_identifier_system", NULL
};
static const char *const strokes_keys[] = {
	"rule", "reversal_ratio", "reversal_confirm_s", "reversal_min_n",
	"direction_tau_s", NULL
};
static const char *const region_keys[] = {
	"label", "cap_n", "max_strokes", "max_load_s", "lateral", NULL
};
static const char *const contra_keys[] = {
	"label", "override", "local", "regions", "cap_factor", "cap_max_n",
	"session_factor", NULL
};
static const char *const precaution_keys[] = {
	"label", "local", "regions", "cap_factor", "cap_max_n",
	"session_factor", NULL
};

static bool handle_limits(struct parse_state *ps, const char *k, const char *v)
{
	struct sgd_policy *pol = ps->pol;

	if (!strcmp(k, "absolute_max_n")) {
		ps->have_absolute_max = true;
		return want_double(ps, k, v, 0, true, SGD_POLICY_CAP_CEILING_N,
				   &pol->absolute_max_n);
	}
	if (!strcmp(k, "min_cap_n"))
		return want_double(ps, k, v, 0, true, SGD_POLICY_CAP_CEILING_N,
				   &pol->min_cap_n);
	/* Ranges that make clinical sense: a warning below half the cap
	 * would sound at every stroke, and a force may not stay above the
	 * cap longer than SGD_POLICY_SUSTAIN_MAX_S before it is "exceeded"
	 * (10 s once passed: an alarm that late is none). */
	if (!strcmp(k, "warn_fraction"))
		return want_double(ps, k, v, 0.5, false, 1.0, &pol->warn_fraction);
	if (!strcmp(k, "sustain_s"))
		return want_double(ps, k, v, 0, false, SGD_POLICY_SUSTAIN_MAX_S,
				   &pol->sustain_s);
	if (!strcmp(k, "max_strokes"))
		return want_uint(ps, k, v, SGD_POLICY_MAX_STROKES_CEILING,
				 &pol->max_strokes);
	if (!strcmp(k, "max_load_s"))
		return want_double(ps, k, v, 0, false,
				   SGD_POLICY_MAX_LOAD_CEILING_S, &pol->max_load_s);
	/* default_region */
	if (!sgd_name_valid(v)) {
		fail(ps, ps->line, "default_region: '%s' is not a region name", v);
		return false;
	}
	copy(pol->default_region, SGD_NAME_MAX, v);
	ps->default_region_line = ps->line;
	return true;
}

static bool handle_calibration(struct parse_state *ps, const char *k,
			       const char *v)
{
	struct sgd_policy *pol = ps->pol;

	if (!strcmp(k, "allow_uncalibrated"))
		return want_bool(ps, k, v, &pol->allow_uncalibrated);
	if (!strcmp(k, "allow_expired"))
		return want_bool(ps, k, v, &pol->allow_expired);
	return want_uint(ps, k, v, 3650, &pol->expired_grace_days);
}

static bool handle_storage(struct parse_state *ps, const char *k, const char *v)
{
	if (!strcmp(k, "wal_held_mb")) {
		if (!want_uint(ps, k, v, SGD_POLICY_WAL_HELD_MAX_MB, &ps->pol->wal_held_mb))
			return false;
		if (ps->pol->wal_held_mb == 0) {
			fail(ps, ps->line, "%s: must be at least 1 (MB)", k);
			return false;
		}
		return true;
	}
	/* on_damage: what strigild does with a damaged database at start */
	if (!strcmp(v, "refuse"))
		ps->pol->damaged_start_fresh = false;
	else if (!strcmp(v, "start_fresh"))
		ps->pol->damaged_start_fresh = true;
	else {
		fail(ps, ps->line, "%s: '%s' is not 'refuse' or 'start_fresh'", k, v);
		return false;
	}
	return true;
}

/*
 * An absolute URI (RFC 3986: scheme ":" rest), printable ASCII without
 * spaces: it goes into every exported record as FHIR Identifier.system,
 * where receivers match it byte for byte.
 */
static bool uri_valid(const char *v)
{
	size_t i = 0;

	if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
		return false;
	while ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
	       (v[i] >= '0' && v[i] <= '9') || v[i] == '+' || v[i] == '-' || v[i] == '.')
		i++;
	if (v[i] != ':' || !v[i + 1])
		return false;
	for (; v[i]; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f)
			return false;
	return true;
}

static bool handle_export(struct parse_state *ps, const char *k, const char *v)
{
	(void)k;	/* patient_identifier_system, the only key */
	if (strlen(v) >= SGD_URI_MAX || !uri_valid(v)) {
		fail(ps, ps->line, "patient_identifier_system: '%s' is not an absolute URI "
		     "(scheme:rest, no spaces, at most %d characters), e.g. "
		     "https://clinic.example/fhir/patient-ref or urn:oid:1.2.3", v,
		     SGD_URI_MAX - 1);
		return false;
	}
	copy(ps->pol->patient_identifier_system, SGD_URI_MAX, v);
	return true;
}

/* [strokes]: how the engine tells strokes apart inside continuous contact
 * (docs/engine.md derives the defaults; the ranges are the engine's own,
 * sg_stroke_config_check()). */
static bool handle_strokes(struct parse_state *ps, const char *k, const char *v)
{
	struct sgd_policy *pol = ps->pol;

	if (!strcmp(k, "rule")) {
		if (strcmp(v, "reversal") && strcmp(v, "contact")) {
			fail(ps, ps->line, "rule: '%s' is not reversal or contact", v);
			return false;
		}
		pol->stroke_rule_contact = !strcmp(v, "contact");
		return true;
	}
	if (!strcmp(k, "reversal_ratio"))
		return want_double(ps, k, v, 0.005, false, 1.0, &pol->reversal_ratio);
	if (!strcmp(k, "reversal_confirm_s"))
		return want_double(ps, k, v, 0.001, false, 1.0, &pol->reversal_confirm_s);
	if (!strcmp(k, "reversal_min_n"))
		return want_double(ps, k, v, 0.5, false, 100.0, &pol->reversal_min_n);
	return want_double(ps, k, v, 0.005, false, 10.0, &pol->direction_tau_s);
}

static bool handle_region(struct parse_state *ps, const char *k, const char *v)
{
	struct sgd_region *r = ps->region;
	size_t idx = (size_t)(r - ps->pol->regions);

	if (!strcmp(k, "label"))
		return want_label(ps, v, r->label);
	if (!strcmp(k, "cap_n")) {
		ps->have_cap[idx] = true;
		return want_double(ps, k, v, 0, true, SGD_POLICY_CAP_CEILING_N,
				   &r->cap_n);
	}
	if (!strcmp(k, "max_strokes"))
		return want_uint(ps, k, v, SGD_POLICY_MAX_STROKES_CEILING,
				 &r->max_strokes);
	if (!strcmp(k, "lateral"))
		return want_bool(ps, k, v, &r->lateral);
	return want_double(ps, k, v, 0, false, SGD_POLICY_MAX_LOAD_CEILING_S,
			   &r->max_load_s);
}

static bool handle_condition(struct parse_state *ps, const char *k,
			     const char *v)
{
	struct sgd_condition *c = ps->cond;
	size_t idx = (size_t)(c - ps->pol->conditions);

	if (!strcmp(k, "label"))
		return want_label(ps, v, c->label);
	if (!strcmp(k, "override"))
		return want_bool(ps, k, v, &c->override_allowed);
	if (!strcmp(k, "local"))
		return want_bool(ps, k, v, &c->local);
	if (!strcmp(k, "cap_factor"))
		return want_double(ps, k, v, 0, true, 1.0, &c->cap_factor);
	if (!strcmp(k, "cap_max_n"))
		return want_double(ps, k, v, 0, false, SGD_POLICY_CAP_CEILING_N,
				   &c->cap_max_n);
	if (!strcmp(k, "session_factor"))
		return want_double(ps, k, v, 0, true, 1.0, &c->session_factor);
	/* regions: resolved after the whole file is read */
	ps->cond_regions[idx] = strdup(v);
	if (!ps->cond_regions[idx]) {
		fail(ps, ps->line, "out of memory");
		return false;
	}
	ps->cond_regions_line[idx] = ps->line;
	return true;
}

static int on_pair(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse_state *ps = user;
	const char *const *keys;
	const char *k;
	bool ok;

	if (ps->err_line)
		return 0;
	switch (ps->sec) {
	case SEC_LIMITS: keys = limits_keys; break;
	case SEC_CALIBRATION: keys = calibration_keys; break;
	case SEC_STROKES: keys = strokes_keys; break;
	case SEC_STORAGE: keys = storage_keys; break;
	case SEC_REGION: keys = region_keys; break;
	case SEC_CONTRA: keys = contra_keys; break;
	case SEC_PRECAUTION: keys = precaution_keys; break;
	case SEC_EXPORT: keys = export_keys; break;
	default:
		fail(ps, ps->line, "'%s' outside of a section", name);
		return 0;
	}
	k = canon(name, keys);
	if (!k) {
		fail(ps, ps->line, "unknown key '%s' in [%s]", name, section);
		return 0;
	}
	if (key_seen(ps, k)) {
		fail(ps, ps->line,
		     "'%s' given twice in [%s] (an indented line continues the "
		     "previous value: do not indent)", k, section);
		return 0;
	}
	switch (ps->sec) {
	case SEC_LIMITS: ok = handle_limits(ps, k, value); break;
	case SEC_CALIBRATION: ok = handle_calibration(ps, k, value); break;
	case SEC_STROKES: ok = handle_strokes(ps, k, value); break;
	case SEC_STORAGE: ok = handle_storage(ps, k, value); break;
	case SEC_REGION: ok = handle_region(ps, k, value); break;
	case SEC_EXPORT: ok = handle_export(ps, k, value); break;
	default: ok = handle_condition(ps, k, value); break;
	}
	return ok ? 1 : 0;
}

/* ---- whole-file checks ---- */

static bool resolve_regions(struct parse_state *ps, size_t ci)
{
	struct sgd_condition *c = &ps->pol->conditions[ci];
	char *list = ps->cond_regions[ci], *tok, *save = NULL;
	int line = ps->cond_regions_line[ci];
	uint64_t mask = 0;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *e;
		int ri;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		e = tok + strlen(tok);
		while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		ri = sgd_policy_region_index(ps->pol, tok);
		if (ri < 0) {
			fail(ps, line, "[%s %s] regions: unknown region '%s'",
			     sgd_condition_kind_str(c->kind), c->name, tok);
			return false;
		}
		mask |= UINT64_C(1) << ri;
	}
	if (!mask) {
		fail(ps, line, "[%s %s] regions: empty list",
		     sgd_condition_kind_str(c->kind), c->name);
		return false;
	}
	c->region_mask = mask;
	return true;
}

static bool check_policy(struct parse_state *ps)
{
	struct sgd_policy *pol = ps->pol;

	if (!ps->have_absolute_max) {
		fail(ps, 0, "[limits] absolute_max_n is required");
		return false;
	}
	if (pol->min_cap_n > pol->absolute_max_n) {
		fail(ps, 0, "[limits] min_cap_n %g is above absolute_max_n %g",
		     pol->min_cap_n, pol->absolute_max_n);
		return false;
	}
	if (!pol->nregions) {
		fail(ps, 0, "no [region NAME] section: at least one region is required");
		return false;
	}
	for (size_t i = 0; i < pol->nregions; i++) {
		const struct sgd_region *r = &pol->regions[i];

		if (!ps->have_cap[i]) {
			fail(ps, ps->region_line[i], "[region %s] needs cap_n", r->name);
			return false;
		}
		if (r->cap_n > pol->absolute_max_n || r->cap_n < pol->min_cap_n) {
			fail(ps, ps->region_line[i],
			     "[region %s] cap_n %g N is outside [min_cap_n %g, "
			     "absolute_max_n %g]", r->name, r->cap_n,
			     pol->min_cap_n, pol->absolute_max_n);
			return false;
		}
	}
	for (size_t i = 0; i < pol->nconditions; i++) {
		struct sgd_condition *c = &pol->conditions[i];

		if (ps->cond_regions[i] && !resolve_regions(ps, i))
			return false;
		if (c->cap_max_n > 0 && c->cap_max_n < pol->min_cap_n) {
			fail(ps, ps->cond_line[i],
			     "[%s %s] cap_max_n %g N is below min_cap_n %g",
			     sgd_condition_kind_str(c->kind), c->name,
			     c->cap_max_n, pol->min_cap_n);
			return false;
		}
	}
	if (pol->default_region[0] && !sgd_policy_region(pol, pol->default_region)) {
		fail(ps, ps->default_region_line,
		     "default_region: unknown region '%s'", pol->default_region);
		return false;
	}
	/* A side is never guessed: a lateral region cannot be the default. */
	if (pol->default_region[0] && sgd_policy_region(pol, pol->default_region)->lateral) {
		fail(ps, ps->default_region_line,
		     "default_region: region '%s' is lateral (lateral = yes); a session must "
		     "name its side, so it cannot be the default", pol->default_region);
		return false;
	}
	return true;
}

int sgd_policy_parse(const char *name, const char *data, size_t len,
		     struct sgd_policy **out, char *err, size_t errlen)
{
	struct parse_state *ps;
	struct sgd_policy *pol;
	int r, ret = 0;

	if (!name || (!data && len) || !out)
		return -EINVAL;
	ps = calloc(1, sizeof(*ps));
	pol = calloc(1, sizeof(*pol));
	if (!ps || !pol) {
		free(ps);
		free(pol);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	ps->name = name;
	ps->data = data ? data : "";
	ps->len = len;
	ps->pol = pol;
	copy(pol->source, sizeof(pol->source), name);
	pol->min_cap_n = 1.0;
	pol->warn_fraction = 0.9;
	copy(pol->patient_identifier_system, SGD_URI_MAX, "urn:strigil:patient-ref");
	pol->sustain_s = 0.05;
	pol->wal_held_mb = 64;

	if (len > POLICY_FILE_MAX)
		fail(ps, 0, "file too large (at most %d bytes)", POLICY_FILE_MAX);
	else {
		r = ini_parse_stream(read_line, ps, on_pair, ps);
		if (r > 0 && (!ps->err_line || r < ps->err_line)) {
			ps->err_line = 0;
			fail(ps, r, "syntax error (expected [section], "
			     "key = value, or a comment starting with # or ;)");
		} else if (r < 0 && !ps->err_line) {
			fail(ps, 0, "cannot parse (inih error %d)", r);
		}
		if (!ps->err_line)
			check_policy(ps);
	}

	if (ps->err_line) {
		if (err && errlen) {
			if (ps->err_line > 0)
				snprintf(err, errlen, "%s:%d: %s", name, ps->err_line, ps->err);
			else
				snprintf(err, errlen, "%s: %s", name, ps->err);
		}
		free(pol);
		ret = -EINVAL;
	} else {
		*out = pol;
	}
	for (size_t i = 0; i < SGD_POLICY_MAX_CONDITIONS; i++)
		free(ps->cond_regions[i]);
	free(ps);
	return ret;
}

int sgd_policy_load(const char *path, struct sgd_policy **out, char *err,
		    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r;

	if (!path || !out)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO (or a device) must not hang the start-up in
	 * open(); only a regular file is read */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return r;
	}
	if (st.st_size > POLICY_FILE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: file too large (at most %d bytes)",
				 path, POLICY_FILE_MAX);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			if (err && errlen)
				snprintf(err, errlen, "%s: %s", path, strerror(-r));
			free(buf);
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	r = sgd_policy_parse(path, buf, got, out, err, errlen);
	free(buf);
	return r;
}

void sgd_policy_free(struct sgd_policy *p)
{
	free(p);
}

int sgd_policy_region_index(const struct sgd_policy *p, const char *name)
{
	if (!p || !name)
		return -1;
	for (size_t i = 0; i < p->nregions; i++)
		if (!strcmp(p->regions[i].name, name))
			return (int)i;
	return -1;
}

const struct sgd_region *sgd_policy_region(const struct sgd_policy *p,
					   const char *name)
{
	int i = sgd_policy_region_index(p, name);

	return i < 0 ? NULL : &p->regions[i];
}

const struct sgd_condition *sgd_policy_condition(const struct sgd_policy *p,
						 const char *name)
{
	if (!p || !name)
		return NULL;
	for (size_t i = 0; i < p->nconditions; i++)
		if (!strcmp(p->conditions[i].name, name))
			return &p->conditions[i];
	return NULL;
}

bool sgd_condition_applies_to(const struct sgd_policy *p,
			      const struct sgd_condition *c,
			      const struct sgd_region *r)
{
	ptrdiff_t i;

	if (!p || !c || !r)
		return false;
	i = r - p->regions;
	if (i < 0 || (size_t)i >= p->nregions)
		return false;
	return (c->region_mask >> i) & 1;
}
