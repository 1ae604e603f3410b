// SPDX-License-Identifier: LGPL-2.1-or-later
/* The calibration procedure's maths: the fit recovers a known gain and
 * offset, and each check fails when it should. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "strigilctl.h"
#include "cal-proc.h"

/* A load cell with a known gain and offset: raw = offset + load / scale. */
struct ctl_global ctl;

static const double TRUE_SCALE = 2.5e-5;	/* N per count */
static const double TRUE_OFFSET = 8123.0;	/* counts */

static double raw_for(double grams, double err_n)
{
	return TRUE_OFFSET + (cal_grams_to_newtons(grams) + err_n) / TRUE_SCALE;
}

static void good_input(struct cal_input *in)
{
	static const double masses[] = { 200, 500, 1000, 1500, 500, 1000 };
	/* Small deterministic errors (N), like a real rig's. */
	static const double err[] = { 0.004, -0.003, 0.005, -0.002, 0.001, 0.002 };

	memset(in, 0, sizeof(*in));
	cal_tolerance_default(&in->tol);
	for (int i = 0; i < 3; i++)
		in->zero[in->nzero++] = (struct cal_reading){ raw_for(0, 0.001 * (i - 1)),
							      0.01 / TRUE_SCALE, 1000 };
	for (size_t i = 0; i < sizeof(masses) / sizeof(masses[0]); i++)
		in->point[in->npoints++] = (struct cal_point){ masses[i],
			{ raw_for(masses[i], err[i]), 0.01 / TRUE_SCALE, 1000 } };
	in->have_verify = true;
	in->verify = (struct cal_point){ 750, { raw_for(750, 0.003), 0.01 / TRUE_SCALE, 1000 } };
}

static void test_recovers_gain_and_offset(void)
{
	struct cal_input in;
	struct cal_result res;

	good_input(&in);
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	CHECK(fabs(res.fit.scale - TRUE_SCALE) / TRUE_SCALE < 1e-3, "scale %g", res.fit.scale);
	/* 0.01 N of error at 2.5e-5 N/count is 400 counts. */
	CHECK_NEAR(res.fit.offset, TRUE_OFFSET, 400);
	CHECK(res.pass, "passes: %s", res.why);
	CHECK(res.ok_linearity && res.ok_repeat && res.ok_verify && res.ok_zero_noise &&
	      res.ok_zero_drift && res.ok_sign, "every check");
	CHECK_EQ_INT(res.repeated_loads, 2);
	CHECK_NEAR(res.span_n, cal_grams_to_newtons(1500), 1e-12);
	/* 500 g repeated with 0.004 N spread, 1000 g with 0.003 N. */
	CHECK_NEAR(res.repeat_n, 0.004, 2e-4);
	CHECK_NEAR(res.zero_noise_n, 0.01, 2e-4);
	CHECK_NEAR(res.zero_drift_n, 0.002, 2e-4);
	CHECK_NEAR(res.verify_error_n, 0.003, 0.01);
	CHECK(res.why[0] == '\0', "no reason on pass");
}

static void test_failures(void)
{
	struct cal_input in;
	struct cal_result res;

	/* Nonlinear: the heaviest load reads 3 % high. */
	good_input(&in);
	in.point[3].r.mean = raw_for(1500, cal_grams_to_newtons(1500) * 0.03);
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	CHECK(!res.ok_linearity && !res.pass, "nonlinear fails (%.2f %%)", res.fit.linearity_pct);
	CHECK(strstr(res.why, "Linearity") != NULL, "says why: %s", res.why);

	/* Noisy zero. */
	good_input(&in);
	in.zero[1].stddev = 0.2 / TRUE_SCALE;
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	CHECK(!res.ok_zero_noise && !res.pass, "noisy zero fails");
	CHECK(strstr(res.why, "noise") != NULL, "%s", res.why);

	/* Drifting zero. */
	good_input(&in);
	in.zero[2].mean = raw_for(0, 0.3);
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	CHECK(!res.ok_zero_drift && !res.pass, "drifting zero fails");

	/* Poor repeatability: the second 500 g differs by 0.3 N. */
	good_input(&in);
	in.point[4].r.mean = raw_for(500, 0.3);
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	CHECK(!res.ok_repeat && !res.pass, "repeatability fails (%.2f %%)", res.repeat_pct);

	/* Verification off by 0.5 N. */
	good_input(&in);
	in.verify.r.mean = raw_for(750, 0.5);
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	CHECK(!res.ok_verify && !res.pass, "verification fails (%.2f %%)", res.verify_pct);
	CHECK(strstr(res.why, "Verification") != NULL, "%s", res.why);

	/* Reading falls with load: the device cannot store a negative scale. */
	good_input(&in);
	for (unsigned i = 0; i < in.npoints; i++)
		in.point[i].r.mean = 2 * TRUE_OFFSET - in.point[i].r.mean;
	CHECK_EQ_INT(cal_evaluate(&in, &res), -ERANGE);

	/* Input errors. */
	good_input(&in);
	in.npoints = 0;
	CHECK_EQ_INT(cal_evaluate(&in, &res), -EINVAL);
	good_input(&in);
	in.nzero = 0;
	CHECK_EQ_INT(cal_evaluate(&in, &res), -EINVAL);
	good_input(&in);
	in.point[0].grams = NAN;
	CHECK_EQ_INT(cal_evaluate(&in, &res), -EINVAL);
	/* Readings that do not move: no fit. */
	good_input(&in);
	for (unsigned i = 0; i < in.npoints; i++)
		in.point[i].r.mean = TRUE_OFFSET;
	for (unsigned i = 0; i < in.nzero; i++)
		in.zero[i].mean = TRUE_OFFSET;
	CHECK_EQ_INT(cal_evaluate(&in, &res), -EDOM);
}

static void test_parse_mass(void)
{
	double g = 0;

	CHECK(cal_parse_mass("500", &g) == 0 && g == 500, "500");
	CHECK(cal_parse_mass("500g", &g) == 0 && g == 500, "500g");
	CHECK(cal_parse_mass("1.5kg", &g) == 0 && g == 1500, "1.5kg");
	CHECK(cal_parse_mass("0", &g) == -EINVAL, "zero");
	CHECK(cal_parse_mass("-5", &g) == -EINVAL, "negative");
	CHECK(cal_parse_mass("nan", &g) == -EINVAL, "nan");
	CHECK(cal_parse_mass("5 lb", &g) == -EINVAL, "unit");
	CHECK(cal_parse_mass("", &g) == -EINVAL, "empty");
	CHECK(cal_parse_mass("1e9", &g) == -EINVAL, "absurd");
}

static void test_certificate(void)
{
	struct cal_input in;
	struct cal_result res;
	struct cal_identity id = { "SIM0001", "S1", "1.0.0", "tech42", 1700000000,
				   1700000000 + 365 * 86400, 2.4e-5, 8000, 1690000000, true, "" };
	struct json_object *c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	good_input(&in);
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	c = cal_certificate_json(&in, &res, &id);
	CHECK(!strcmp(json_object_get_string(json_object_object_get(c, "result")), "pass"),
	      "result pass");
	CHECK_EQ_INT(json_object_array_length(json_object_object_get(c, "points")), 6);
	CHECK_EQ_INT(json_object_array_length(json_object_object_get(c, "zero")), 3);
	CHECK(json_object_object_get(c, "previous") != NULL, "previous calibration");
	CHECK(!strcmp(json_object_get_string(json_object_object_get(c, "due")),
		      "2024-11-13T22:13:20.000Z"), "due date");
	json_object_put(c);

	f = open_memstream(&buf, &len);
	cal_certificate_text(f, &in, &res, &id);
	fclose(f);
	CHECK(strstr(buf, "RESULT       PASS") != NULL, "text verdict");
	CHECK(strstr(buf, "tech42") != NULL, "technician");
	CHECK(strstr(buf, "    1500.0") != NULL, "points table");
	free(buf);
}

/*
 * The case: a least-squares zero of 1012.97 counts is stored as
 * 1013 (the instrument keeps whole counts, 1e-12 N/count); the certificate
 * must show and judge 1013.00, the value in force.
 */
static void test_stored_values(void)
{
	const double scale = 1.000000004e-4, offset = 1012.97;
	static const double masses[] = { 200, 500, 1000 };
	struct cal_input in;
	struct cal_result res;
	struct cal_identity id = { .serial = "SIM0002", .technician = "tk01",
				   .old_scale = NAN, .old_offset = NAN };
	struct json_object *c, *fit;
	char *buf = NULL, masses_txt[128];
	size_t len = 0;
	double so, ss;
	FILE *f;

	memset(&in, 0, sizeof(in));
	cal_tolerance_default(&in.tol);
	in.zero[in.nzero++] = (struct cal_reading){ offset, 1, 1000 };
	in.zero[in.nzero++] = (struct cal_reading){ offset, 1, 1000 };
	for (size_t i = 0; i < 3; i++)
		in.point[in.npoints++] = (struct cal_point){ masses[i],
			{ offset + cal_grams_to_newtons(masses[i]) / scale, 1, 1000 } };
	in.point[in.npoints++] = in.point[1];	/* 500 g again */
	CHECK_EQ_INT(cal_evaluate(&in, &res), 0);
	CHECK_NEAR(res.lsq_offset, 1012.97, 1e-6);
	CHECK(res.fit.offset == 1013.0, "stored zero %.6f", res.fit.offset);
	CHECK(res.fit.scale == 100000000 * 1e-12 && res.lsq_scale != res.fit.scale,
	      "stored scale %.15g (1e-12 resolution)", res.fit.scale);
	CHECK_EQ_INT(cal_stored_values(res.lsq_offset, res.lsq_scale, &so, &ss), 0);
	CHECK(so == res.fit.offset && ss == res.fit.scale, "the stored values");
	CHECK(cal_stored_values(3e9, 1e-4, &so, &ss) == -ERANGE, "offset outside int32");
	CHECK(cal_stored_values(0, 1e-13, &so, &ss) == -ERANGE, "scale under resolution");
	/* Residuals of the stored values: 0.03 counts x 1e-4 N = 3e-6 N at zero. */
	CHECK_NEAR(res.fit.residual[0], -0.03 * 1e-4, 1e-9);
	CHECK(res.pass, "passes: %s", res.why);

	snprintf(id.number, sizeof(id.number), "%s", "");
	cal_certificate_number("SIM0002", 12, id.number, sizeof(id.number));
	CHECK(!strcmp(id.number, "SIM0002-000012"), "number %s", id.number);
	cal_masses_text(&in, masses_txt, sizeof(masses_txt));
	CHECK(!strcmp(masses_txt, "200.0 g, 500.0 g x2, 1000.0 g"), "masses: %s", masses_txt);

	c = cal_certificate_json(&in, &res, &id);
	fit = json_object_object_get(c, "fit");
	CHECK(!strcmp(json_object_to_json_string(json_object_object_get(fit, "offset_counts")),
		      "1013.000"), "JSON zero: %s",
	      json_object_to_json_string(json_object_object_get(fit, "offset_counts")));
	CHECK(json_object_get_double(json_object_object_get(fit, "scale_n_per_count")) ==
	      100000000 * 1e-12,
	      "JSON scale");
	CHECK(!strcmp(json_object_get_string(json_object_object_get(c, "number")),
		      "SIM0002-000012"), "JSON number");
	CHECK_EQ_INT(json_object_array_length(json_object_object_get(c, "reference_masses_g")), 4);
	json_object_put(c);

	f = open_memstream(&buf, &len);
	cal_certificate_text(f, &in, &res, &id);
	fclose(f);
	CHECK(strstr(buf, "Stored       0.000100000000 N/count, zero at 1013.00 counts") != NULL,
	      "text shows the stored values:\n%s", buf);
	CHECK(strstr(buf, "zero at 1012.97 counts (before the instrument's rounding)") != NULL,
	      "and the least squares zero as such");
	CHECK(strstr(buf, "Number       SIM0002-000012\n") != NULL, "number");
	CHECK(strstr(buf, "Masses       200.0 g, 500.0 g x2, 1000.0 g\n") != NULL, "masses");
	free(buf);
}

/* The unloaded readings judged at a given scale (calibrate.c's check
 * before any mass is placed): noise and drift exact, each limit inclusive. */
static void test_judge_zero(void)
{
	struct cal_input in;
	struct cal_zero z;

	memset(&in, 0, sizeof(in));
	cal_tolerance_default(&in.tol);
	/* binary fractions, so that "at the limit" is exact */
	in.tol.zero_noise_n = 2.5;
	in.tol.zero_drift_n = 1.5;
	/* at 0.5 N/count: sd 5 counts is 2.5 N; means 100..103 are 1.5 N */
	in.zero[in.nzero++] = (struct cal_reading){ 101, 4, 100 };
	in.zero[in.nzero++] = (struct cal_reading){ 103, 5, 100 };
	in.zero[in.nzero++] = (struct cal_reading){ 100, 2, 100 };
	cal_judge_zero(&in, 0.5, &z);
	CHECK_NEAR(z.noise_n, 2.5, 1e-12);
	CHECK_NEAR(z.drift_n, 1.5, 1e-12);
	CHECK(z.ok_noise && z.ok_drift, "at the limits: within");
	cal_judge_zero(&in, 0.505, &z);
	CHECK(!z.ok_noise && !z.ok_drift, "1 %% above the limits: noise %g, drift %g",
	      z.noise_n, z.drift_n);
	in.zero[1].stddev = 4;
	cal_judge_zero(&in, 0.505, &z);
	CHECK(z.ok_noise && !z.ok_drift, "quiet but drifting: noise %g", z.noise_n);
	/* a falling gain is judged by its size, as cal_evaluate does */
	cal_judge_zero(&in, -0.5, &z);
	CHECK_NEAR(z.drift_n, 1.5, 1e-12);
}

int main(void)
{
	test_recovers_gain_and_offset();
	test_failures();
	test_parse_mass();
	test_certificate();
	test_stored_values();
	test_judge_zero();
	return check_exit("test-ctl-calproc");
}
