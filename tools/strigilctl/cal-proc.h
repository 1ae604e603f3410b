/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The technician's calibration procedure, as pure maths over readings:
 * zero windows (unloaded), reference loads (mass in grams, repeated), an
 * optional verification load. Least squares by libstrigil's
 * sg_calibration_fit; pass/fail against tolerances; certificate as JSON and
 * text. calibrate.c does the talking (D-Bus, prompts) and writes the result
 * only as the very last step.
 */
#ifndef STRIGILCTL_CAL_PROC_H
#define STRIGILCTL_CAL_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "strigil.h"

#define CAL_MAX_ZERO 8
#define CAL_MAX_POINTS (SG_FIT_MAX_POINTS - CAL_MAX_ZERO)

struct cal_reading {
	double mean;		/* raw counts */
	double stddev;		/* raw counts */
	uint64_t n;		/* samples averaged */
};

struct cal_point {
	double grams;		/* reference mass */
	struct cal_reading r;
};

struct cal_tolerance {
	double linearity_pct;	/* max |residual| in % of span */
	double repeat_pct;	/* spread of repeated loads, % of span */
	double verify_pct;	/* verification error, % of span */
	double zero_noise_n;	/* stddev unloaded */
	double zero_drift_n;	/* spread of the unloaded windows */
};

void cal_tolerance_default(struct cal_tolerance *t);

struct cal_input {
	struct cal_reading zero[CAL_MAX_ZERO];
	unsigned nzero;
	struct cal_point point[CAL_MAX_POINTS];
	unsigned npoints;
	bool have_verify;
	struct cal_point verify;
	struct cal_tolerance tol;
};

struct cal_result {
	/*
	 * scale N/count and offset counts exactly as the instrument stores
	 * them (its format keeps whole counts and 1e-12 N/count), with the
	 * residuals, linearity and every check computed from those values:
	 * the certificate shows and judges what is written, not the least
	 * squares numbers before rounding (lsq_* below).
	 */
	struct sg_fit fit;
	double lsq_scale, lsq_offset;	/* the least-squares fit, before storing */
	double span_n;			/* largest reference load */
	double zero_noise_n;
	double zero_drift_n;
	double repeat_n;		/* largest spread of one repeated load */
	double repeat_pct;
	unsigned repeated_loads;	/* loads measured more than once */
	double verify_load_n;		/* NaN if none */
	double verify_measured_n;
	double verify_error_n;
	double verify_pct;
	bool ok_linearity, ok_repeat, ok_verify, ok_zero_noise, ok_zero_drift, ok_sign;
	bool pass;
	char why[512];			/* failed checks as sentences, "" if pass */
};

double cal_grams_to_newtons(double grams);

/*
 * The unloaded readings at a scale (N/count): noise (their largest standard
 * deviation) and drift (the spread of their means) in newtons, each judged
 * against in->tol. cal_evaluate judges them at the new fit's scale;
 * calibrate.c judges them at the previous calibration's scale too, before
 * any mass is placed.
 */
struct cal_zero {
	double noise_n, drift_n;
	bool ok_noise, ok_drift;
};

void cal_judge_zero(const struct cal_input *in, double scale, struct cal_zero *z);

/*
 * -EINVAL: fewer than one zero window or one reference load, or a
 * non-finite/negative mass; -EDOM: the loads are all equal or the
 * readings did not move (no fit); -ERANGE: the reading falls as the load
 * rises (masses entered in the wrong order, or the load cell is wired
 * backwards), which the device cannot store; -EOVERFLOW: the zero or gain
 * does not fit the instrument's calibration format.
 */
int cal_evaluate(const struct cal_input *in, struct cal_result *res);

/*
 * The normal-channel offset and scale the instrument stores for these
 * (its calibration format: whole counts, 1e-12 units per count); -ERANGE
 * when they do not fit it.
 */
int cal_stored_values(double offset, double scale, double *s_offset, double *s_scale);

/* Parses "500" or "500g" or "0.5kg" into grams (> 0, <= 100 kg); -EINVAL. */
int cal_parse_mass(const char *s, double *grams);

struct cal_identity {
	const char *serial, *model, *firmware, *technician;
	int64_t date_s, due_s;		/* unix seconds */
	double old_scale, old_offset;	/* NaN if none */
	int64_t old_date_s;
	bool written;			/* the device now holds this calibration */
	/* Certificate number: the instrument's serial and strigild's record
	 * of the write ("SIM0002-000012"); "" while nothing is written. */
	char number[64];
};

/* "SERIAL-NNNNNN" from strigild's calibration record id. */
void cal_certificate_number(const char *serial, uint64_t record, char *buf, size_t len);
/* "200 g, 500 g x2, 1000 g" (each distinct mass once, in order). */
void cal_masses_text(const struct cal_input *in, char *buf, size_t len);

/* The calibration certificate. */
struct json_object *cal_certificate_json(const struct cal_input *in,
					 const struct cal_result *res,
					 const struct cal_identity *id);
void cal_certificate_text(FILE *f, const struct cal_input *in,
			  const struct cal_result *res, const struct cal_identity *id);

#endif
