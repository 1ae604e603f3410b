/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The profile as the clinic network carries it (pure: no bus, no
 * database). A profile's "body" is the set of strigild profile keys
 * (docs/dbus-api.md, Profile keys) as one JSON object in the centre's
 * profiles.body column; its state adds the review state and the delete
 * tombstone. Three things are done with it here:
 *
 *   - decode and validate what came from the server: every key known and
 *     of the right type, every number finite and in range, every string
 *     bounded; anything else is refused as a whole with a reason
 *     (an unknown key could be a safety fact this build does not know);
 *   - a canonical text form, so that "did this profile change since it was
 *     last synced" is one string comparison whatever the JSON spelling;
 *   - the merge of two concurrent edits (docs/network.md): conditions
 *     united, the lower cap wins everywhere (per region:side too), an edit
 *     wins over a delete, and the result is marked for review.
 */
#ifndef STRIGIL_SYNC_BODY_H
#define STRIGIL_SYNC_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_REF_MAX	64	/* patient_ref, incl. NUL */
#define SP_NAME_MAX	128	/* display_name, incl. NUL */
#define SP_KEY_MAX	112	/* "region:side" or "condition@region:side", incl. NUL */
#define SP_MAX_REGIONS	64
#define SP_MAX_CONDS	32
#define SP_CAP_CEILING	200.0		/* N: the policy's own ceiling */
#define SP_SECONDS_CEILING (4.0 * 3600.0)
#define SP_STROKES_CEILING 100000u

struct sp_region {
	char region[SP_KEY_MAX];	/* "calf:left", "neck" */
	double cap_n;			/* 0 = not set */
	uint32_t max_strokes;		/* 0 = not set */
	double max_seconds;		/* 0 = not set */
};

struct sp_body {
	char patient_ref[SP_REF_MAX];
	char display_name[SP_NAME_MAX];
	double max_force_n, target_min_n, target_max_n, max_load_s;
	uint32_t max_strokes;
	size_t nregions;
	struct sp_region regions[SP_MAX_REGIONS];	/* sorted by name */
	size_t nconds;
	char conds[SP_MAX_CONDS][SP_KEY_MAX];		/* sorted, unique */
};

struct sp_state {
	bool deleted;			/* tombstone: body unused */
	char review[16];		/* "" or "merged" */
	struct sp_body body;
};

void sp_body_init(struct sp_body *b);
/* Region entry for name, created (zeroed) when missing; NULL when full. */
struct sp_region *sp_body_region(struct sp_body *b, const char *name);
/* Adds a condition (kept sorted, duplicates ignored); -E2BIG when full. */
int sp_body_add_cond(struct sp_body *b, const char *cond);
/* Sorts regions and drops entries that set nothing. */
void sp_body_normalize(struct sp_body *b);

/*
 * Decodes a body from JSON text (the centre's profiles.body). Returns 0,
 * or -EBADMSG with a reason in why: not an object, unknown key, wrong
 * type, non-finite or out-of-range number, string too long or with
 * control characters, too many entries, missing patient_ref.
 */
int sp_body_from_json(const char *json, struct sp_body *out, char *why, size_t whylen);
/* Canonical JSON of a body (sorted keys, %.17g numbers); malloc'ed. */
char *sp_body_to_json(const struct sp_body *b);
/* Canonical text of a state: what "already synced" is compared with. */
char *sp_state_canonical(const struct sp_state *st);

/*
 * The merge of two concurrent versions of one profile (theirs: the
 * centre's, ours: this PC's). Both deleted: deleted. One deleted: the
 * other (an edit, with its safety facts, wins over a delete). Both live:
 * conditions united; every cap (max force, per region:side cap, stroke
 * and time caps, profile-wide and per region) the lower non-zero one
 * (0 means "not set", so a set cap always survives); target band (a
 * feedback aid, not a limit): the side's band with the lower maximum,
 * dropped if it lies above the merged max force; names and the
 * patient_ref: ours (the later edit). The result is always marked
 * "merged" unless both were deleted. Returns 0 or -E2BIG (the union has
 * more conditions or regions than a profile holds; nothing merged).
 */
int sp_merge(const struct sp_state *theirs, const struct sp_state *ours,
	     struct sp_state *out);

#endif
