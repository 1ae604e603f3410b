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
				   1700000000 + 365 * 86400, 2.4e-5, 8000, 1690000000, true };
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

int main(void)
{
	test_recovers_gain_and_offset();
	test_failures();
	test_parse_mass();
	test_certificate();
	return check_exit("test-ctl-calproc");
}
