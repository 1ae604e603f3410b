/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigilctl export: CSV and HL7 FHIR R4 formatting of finished sessions.
 * Pure functions over plain structs (export.c fills them from D-Bus), so
 * they are unit tested without a daemon.
 */
#ifndef STRIGILCTL_EXPORT_FMT_H
#define STRIGILCTL_EXPORT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/*
 * What was in force when a record happened, read from that record (never
 * from the session's current state): the region as written ("calf:left"),
 * its side ("left", "right", "" for a midline region, "unknown" for records
 * from before sides existed), the cap and why.
 */
struct ex_site {
	char region[64];	/* full "region:side" text as recorded */
	char side[12];
	double cap_n;		/* NaN = not recorded */
	char cap_reasons[512];	/* "; "-joined; "" = not recorded */
};

struct ex_stroke {
	uint32_t index;		/* 1-based within the session */
	double t_start, t_end;	/* the engine's start and end: s since the session started */
	double start_s;		/* the same as unix seconds (ex_wall_time); NaN = unknown */
	double end_s;
	struct ex_site site;
	double peak_n, mean_n;
	double impulse_ns;	/* N*s; NaN = unknown */
	double above_limit_s;	/* seconds above the limit */
	double limit_n;		/* limit active at the stroke */
	bool exceeded;		/* a LimitExceeded fell in this stroke */
	bool warned;		/* a LimitWarning fell in this stroke */
	/* Bursts: the continuous contact this stroke is a pass of (1-based;
	 * 0 = not recorded, a strigild from before bursts) and how it ended
	 * ("lift", "reversal"; "" = not recorded). Never derived. */
	uint32_t burst;
	char end[16];
};

enum ex_violation_kind {
	EX_WARNING = 1,
	EX_EXCEEDED,
	EX_CAP,			/* session cap reached (strokes or time) */
};

struct ex_violation {
	enum ex_violation_kind kind;
	double t;		/* the engine's time: s since the session started */
	double t_s;		/* the same as unix seconds */
	double force_n;		/* NaN for caps */
	double limit_n;
	uint32_t stroke_index;	/* 0 = not within a stroke */
	char detail[64];	/* e.g. "max_strokes" for caps */
	struct ex_site site;
};

struct ex_pause {
	double t_start, t_end;		/* engine seconds since the session started */
	double wall_start, wall_end;	/* unix seconds; NaN = unknown (still paused) */
	char reason[64];
};

struct ex_session {
	char id[64];
	char patient_ref[96];	/* pseudonymous reference from the profile */
	char instrument_serial[32];
	char instrument_model[32];
	char instrument_firmware[32];
	char state[24];
	double started_at;	/* unix seconds */
	double ended_at;	/* NaN while running */
	struct ex_stroke *strokes;
	size_t nstrokes;
	struct ex_violation *violations;
	size_t nviolations;
	struct ex_pause *pauses;
	size_t npauses;
	bool pauses_known;	/* false: the daemon keeps no pause records */
};

/* Options every export shares. */
struct ex_options {
	/* FHIR Identifier.system of the patient reference (the clinic's,
	 * from the policy file's [export] section through the daemon). */
	const char *patient_system;
};

/*
 * SNOMED CT body structure of a policy region (the machine name without
 * ":side"), or NULL when the table has no code for it (then exports use
 * text only). One display per code; the table is docs/export.md's.
 */
struct ex_body_code {
	const char *region;
	const char *code;
	const char *display;
};
const struct ex_body_code *ex_body_code(const char *region);
/* The whole table, NULL-terminated by region (for docs checks). */
extern const struct ex_body_code ex_body_codes[];

/* SNOMED CT laterality qualifier of "left"/"right" (its .region is the
 * side); NULL otherwise. */
const struct ex_body_code *ex_laterality(const char *side);

/* Splits "calf:left" into its region "calf" (base, len bytes). */
void ex_region_base(const char *region, char *base, size_t len);
/* The side a record carries: its "side" key when the daemon sent one,
 * else the ":side" suffix of its region, else "unknown" (never guessed). */
const char *ex_side_of(const char *side_key, const char *region);

const char *ex_violation_kind_str(enum ex_violation_kind k);
/* Parses "warning", "exceeded", "cap..." (and a few synonyms); 0 if unknown. */
enum ex_violation_kind ex_violation_kind_parse(const char *s);

/*
 * Unix time of an engine time t (seconds since the session started, the
 * strokes' and events' own clock). The engine counts samples; while a
 * session is paused or unplugged the samples may stop, and its clock with
 * them, so each earlier pause adds the part of its wall-clock length that
 * the engine did not count (both recorded with the pause). start: t is a
 * stroke's start (after a pause from its end on); otherwise an end or an
 * event (after a pause once past its start: the stroke a pause closed ends
 * at the pause's start). NaN when t is.
 */
double ex_wall_time(const struct ex_session *s, double t, bool start);

/* Marks strokes that contain a violation (by stroke_index, else by time). */
void ex_link_violations(struct ex_session *s);

/* One CSV (RFC 4180) with a "kind" column: stroke, warning, exceeded, cap,
 * pause. Every text cell goes through ex_csv_field (formula neutralized). */
int ex_write_csv(FILE *f, const struct ex_session *s, size_t n);

/*
 * A FHIR R4 Bundle (type "collection"): one Patient per pseudonymous
 * reference, one Device per instrument, one Procedure per session, one
 * Observation per stroke (peak force as valueQuantity, mean force and
 * duration as components, UCUM units, interpretation H/HH when a limit was
 * crossed) and one Observation per violation. now = Bundle.timestamp.
 * Returns a new reference or NULL on allocation failure.
 */
struct json_object *ex_fhir_bundle(const struct ex_session *s, size_t n, double now,
				  const struct ex_options *opt);

#define EX_PATIENT_SYSTEM_DEFAULT "urn:strigil:patient-ref"

/*
 * RFC 4180 field: quoted when it holds a comma, quote, CR or LF. A cell a
 * spreadsheet would run as a formula (first character = + - @ TAB or CR,
 * OWASP's list) gets a leading apostrophe, so it shows as text.
 */
void ex_csv_field(FILE *f, const char *s);
/* True when s would be read as a formula (the rule above). */
bool ex_csv_is_formula(const char *s);

#endif
