/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clinic policy file (/etc/strigil/policy.conf, else the vendor file or the
 * built-in defaults: policy-files.h): body regions with default
 * force caps, absolute contraindications, precautions with cap factors,
 * calibration policy and global limits. Plain C, no D-Bus.
 *
 * The file is INI (parsed with libinih); see daemon/policy.conf for the
 * format, which is documented there section by section. A bad file is
 * refused as a whole with "file:line: message"; nothing is half-loaded.
 *
 * Identifiers (region and condition names) are stable machine names:
 * [a-z][a-z0-9_]*, at most SGD_NAME_MAX-1 bytes. Labels are for humans.
 * Functions return 0 or a negative errno.
 */
#ifndef STRIGIL_DAEMON_POLICY_H
#define STRIGIL_DAEMON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SGD_NAME_MAX		48	/* machine name, incl. NUL */
#define SGD_LABEL_MAX		96	/* human label, incl. NUL */
#define SGD_URI_MAX		160	/* [export] URIs, incl. NUL (fits a policy line) */
#define SGD_POLICY_MAX_REGIONS	64	/* fits a uint64_t region mask */
#define SGD_POLICY_MAX_CONDITIONS 64

/* Hard sanity bounds the parser enforces on any policy file (newtons,
 * seconds). They are far outside clinical use on purpose: the clinic's
 * own numbers live in the file. */
#define SGD_POLICY_CAP_CEILING_N	200.0
#define SGD_POLICY_MAX_LOAD_CEILING_S	(4.0 * 3600.0)
#define SGD_POLICY_MAX_STROKES_CEILING	100000u

struct sgd_region {
	char name[SGD_NAME_MAX];	/* e.g. "upper_trapezius" */
	char label[SGD_LABEL_MAX];	/* e.g. "Upper trapezius" */
	double cap_n;			/* default cap, > 0 */
	uint32_t max_strokes;		/* per-session stroke cap, 0 = none */
	double max_load_s;		/* per-session seconds under load, 0 = none */
	/* The body has two of it (lateral = yes): a session names the side,
	 * "calf:left", and a cap or condition may name one side or both. */
	bool lateral;
};

enum sgd_condition_kind {
	SGD_CONTRAINDICATION = 1,	/* refuses a session unless overridden */
	SGD_PRECAUTION = 2,		/* tightens caps */
};

const char *sgd_condition_kind_str(enum sgd_condition_kind k);

struct sgd_condition {
	char name[SGD_NAME_MAX];	/* e.g. "anticoagulants" */
	char label[SGD_LABEL_MAX];
	enum sgd_condition_kind kind;
	/* Contraindication: may an authorized clinician override it (with a
	 * recorded reason)? Always false for precautions. */
	bool override_allowed;
	/* Local conditions may be recorded for one region in a profile
	 * ("hematoma@calf"); systemic ones apply everywhere. */
	bool local;
	/* Multiplier on every applicable cap, in (0, 1]; 1 = none. For a
	 * contraindication it applies when the contraindication is overridden. */
	double cap_factor;
	/* Absolute cap while the condition applies, 0 = none. */
	double cap_max_n;
	/* Multiplier on the session stroke and load-time caps, (0, 1]. */
	double session_factor;
	/* Regions where the condition matters (bit i = regions[i]); all
	 * regions when the file gives no "regions =" line. */
	uint64_t region_mask;
};

/* [limits] sustain_s above this is refused: an alarm that late is none. */
#define SGD_POLICY_SUSTAIN_MAX_S	0.5
#define SGD_POLICY_WAL_HELD_MAX_MB	65536u	/* [storage] wal_held_mb ceiling */

struct sgd_policy {
	char source[256];		/* file name used in messages */

	/* [limits] */
	double absolute_max_n;		/* nothing may ever be set above */
	double min_cap_n;		/* caps below are refused as absurd */
	double warn_fraction;		/* warning at limit * warn_fraction */
	double sustain_s;		/* above the limit this long = exceeded */
	uint32_t max_strokes;		/* global session cap, 0 = none */
	double max_load_s;		/* global session cap, 0 = none */
	char default_region[SGD_NAME_MAX]; /* used when none is given; "" = required */

	/* [export] FHIR Identifier.system of patient references (an absolute
	 * URI, e.g. the clinic's own); "urn:strigil:patient-ref" by default. */
	char patient_identifier_system[SGD_URI_MAX];

	/* [calibration] */
	bool allow_uncalibrated;	/* default false */
	bool allow_expired;		/* default false */
	uint32_t expired_grace_days;	/* still valid this long after due */

	/* [strokes] (optional; 0 = the engine's default, docs/engine.md) */
	bool stroke_rule_contact;	/* rule = contact: never split at reversals */
	double reversal_ratio;
	double reversal_confirm_s;
	double reversal_min_n;
	double direction_tau_s;
	/* [storage] on_damage: a damaged database at start is moved aside
	 * (kept) and a fresh one started (true), or strigild refuses to
	 * start (false, the default) */
	bool damaged_start_fresh;
	/* [storage] wal_held_mb: a write-ahead log that another process's
	 * read snapshot keeps from being checkpointed beyond this size makes
	 * StorageState "degraded" (records are stored; the disk fills) */
	uint32_t wal_held_mb;

	size_t nregions;
	struct sgd_region regions[SGD_POLICY_MAX_REGIONS];
	size_t nconditions;
	struct sgd_condition conditions[SGD_POLICY_MAX_CONDITIONS];
};

/*
 * Loads and validates a policy file. On success *out is a new policy
 * (free with sgd_policy_free). On failure *out is untouched, err holds
 * "file:line: message" (or "file: message") and the return is -EINVAL
 * (bad content), -ENOENT/-EACCES/-EIO (cannot read) or -ENOMEM.
 */
int sgd_policy_load(const char *path, struct sgd_policy **out,
		    char *err, size_t errlen);
/* Same from memory; name is used in messages. */
int sgd_policy_parse(const char *name, const char *data, size_t len,
		     struct sgd_policy **out, char *err, size_t errlen);
void sgd_policy_free(struct sgd_policy *p);

/* Lookups by machine name; NULL if unknown. */
const struct sgd_region *sgd_policy_region(const struct sgd_policy *p,
					   const char *name);
const struct sgd_condition *sgd_policy_condition(const struct sgd_policy *p,
						 const char *name);
/* Index of a region (for region_mask), or -1. */
int sgd_policy_region_index(const struct sgd_policy *p, const char *name);
/* Does condition c matter in region r? */
bool sgd_condition_applies_to(const struct sgd_policy *p,
			      const struct sgd_condition *c,
			      const struct sgd_region *r);

/* true if s is a valid machine name ([a-z][a-z0-9_]*, < SGD_NAME_MAX). */
bool sgd_name_valid(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* STRIGIL_DAEMON_POLICY_H */
