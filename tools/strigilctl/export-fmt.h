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

struct ex_stroke {
	uint32_t index;		/* 1-based within the session */
	double start_s;		/* unix seconds (UTC) */
	double end_s;
	double peak_n, mean_n;
	double impulse_ns;	/* N*s; NaN = unknown */
	double above_limit_s;	/* seconds above the limit */
	double limit_n;		/* limit active at the stroke */
	bool exceeded;		/* a LimitExceeded fell in this stroke */
	bool warned;		/* a LimitWarning fell in this stroke */
};

enum ex_violation_kind {
	EX_WARNING = 1,
	EX_EXCEEDED,
	EX_CAP,			/* session cap reached (strokes or time) */
};

struct ex_violation {
	enum ex_violation_kind kind;
	double t_s;		/* unix seconds */
	double force_n;		/* NaN for caps */
	double limit_n;
	uint32_t stroke_index;	/* 0 = not within a stroke */
	char detail[64];	/* e.g. "max_strokes" for caps */
};

struct ex_session {
	char id[64];
	char patient_ref[96];	/* pseudonymous reference from the profile */
	char instrument_serial[32];
	char instrument_model[32];
	char instrument_firmware[32];
	char region[64];
	char state[24];
	double started_at;	/* unix seconds */
	double ended_at;	/* NaN while running */
	double limit_n;		/* effective limit */
	char limit_reason[512];	/* why ("region neck 4.0 N; anticoagulants x0.5") */
	struct ex_stroke *strokes;
	size_t nstrokes;
	struct ex_violation *violations;
	size_t nviolations;
};

const char *ex_violation_kind_str(enum ex_violation_kind k);
/* Parses "warning", "exceeded", "cap..." (and a few synonyms); 0 if unknown. */
enum ex_violation_kind ex_violation_kind_parse(const char *s);

/* Marks strokes that contain a violation (by stroke_index, else by time). */
void ex_link_violations(struct ex_session *s);

/* One CSV (RFC 4180) with a "kind" column: stroke, warning, exceeded, cap. */
int ex_write_csv(FILE *f, const struct ex_session *s, size_t n);

/*
 * A FHIR R4 Bundle (type "collection"): one Patient per pseudonymous
 * reference, one Device per instrument, one Procedure per session, one
 * Observation per stroke (peak force as valueQuantity, mean force and
 * duration as components, UCUM units, interpretation H/HH when a limit was
 * crossed) and one Observation per violation. now = Bundle.timestamp.
 * Returns a new reference or NULL on allocation failure.
 */
struct json_object *ex_fhir_bundle(const struct ex_session *s, size_t n, double now);

/* RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
void ex_csv_field(FILE *f, const char *s);

#endif
