// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cal-proc.h"
#include "ctl-json.h"

void cal_tolerance_default(struct cal_tolerance *t)
{
	/* Clinical force readouts are shown to 0.1 N over ~0-20 N; 1 % of
	 * span keeps the instrument well inside that. */
	t->linearity_pct = 1.0;
	t->repeat_pct = 1.0;
	t->verify_pct = 1.0;
	t->zero_noise_n = 0.05;
	t->zero_drift_n = 0.05;
}

double cal_grams_to_newtons(double grams)
{
	return grams / 1000.0 * SG_STANDARD_GRAVITY;
}

int cal_parse_mass(const char *s, double *grams)
{
	char *end;
	double v, mul = 1.0;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (!strcasecmp(end, "kg"))
		mul = 1000.0;
	else if (*end && strcasecmp(end, "g"))
		return -EINVAL;
	v *= mul;
	if (!isfinite(v) || v <= 0 || v > 100000.0)
		return -EINVAL;
	*grams = v;
	return 0;
}

static void why_add(struct cal_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void why_add(struct cal_result *r, const char *fmt, ...)
{
	size_t len = strlen(r->why);
	va_list ap;

	if (len >= sizeof(r->why) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(r->why + len, sizeof(r->why) - len, fmt, ap);
	va_end(ap);
}

int cal_stored_values(double offset, double scale, double *s_offset, double *s_scale)
{
	struct sg_calibration c = { .channel_mask = STRIGIL_CH_BIT(STRIGIL_CH_NORMAL) };
	struct strigil_calibration wire;

	/* The same round trip strigild does before writing (WriteCalibration). */
	c.offset[STRIGIL_CH_NORMAL] = offset;
	c.scale[STRIGIL_CH_NORMAL] = scale;
	if (sg_calibration_to_wire(&c, &wire) < 0 || sg_calibration_from_wire(&wire, &c) < 0)
		return -ERANGE;
	*s_offset = c.offset[STRIGIL_CH_NORMAL];
	*s_scale = c.scale[STRIGIL_CH_NORMAL];
	return 0;
}

/* Residuals, linearity and r^2 of the stored values over the fit points. */
static void judge_stored(const struct sg_fit_point *pts, size_t n, struct sg_fit *f,
			 double span_n)
{
	double sum2 = 0, maxr = 0, mean = 0, tot = 0;

	for (size_t i = 0; i < n; i++)
		mean += pts[i].load / (double)n;
	for (size_t i = 0; i < n; i++) {
		double r = (pts[i].raw - f->offset) * f->scale - pts[i].load;

		f->residual[i] = r;
		sum2 += r * r;
		tot += (pts[i].load - mean) * (pts[i].load - mean);
		maxr = fmax(maxr, fabs(r));
	}
	f->max_residual = maxr;
	f->rms_residual = sqrt(sum2 / (double)n);
	f->r2 = tot > 0 ? 1.0 - sum2 / tot : 1.0;
	f->linearity_pct = span_n > 0 ? maxr / span_n * 100.0 : 0;
}

void cal_judge_zero(const struct cal_input *in, double scale, struct cal_zero *z)
{
	double lo = INFINITY, hi = -INFINITY, sd = 0;

	for (unsigned i = 0; i < in->nzero; i++) {
		lo = fmin(lo, in->zero[i].mean);
		hi = fmax(hi, in->zero[i].mean);
		sd = fmax(sd, in->zero[i].stddev);
	}
	z->noise_n = sd * fabs(scale);
	z->drift_n = (hi - lo) * fabs(scale);
	z->ok_noise = z->noise_n <= in->tol.zero_noise_n;
	z->ok_drift = z->drift_n <= in->tol.zero_drift_n;
}

int cal_evaluate(const struct cal_input *in, struct cal_result *res)
{
	struct sg_fit_point pts[SG_FIT_MAX_POINTS];
	size_t n = 0;
	struct cal_zero zero;
	double scale;
	int r;

	memset(res, 0, sizeof(*res));
	res->verify_load_n = res->verify_measured_n = NAN;
	res->verify_error_n = res->verify_pct = NAN;
	if (in->nzero < 1 || in->nzero > CAL_MAX_ZERO || in->npoints < 1 ||
	    in->npoints > CAL_MAX_POINTS)
		return -EINVAL;
	for (unsigned i = 0; i < in->nzero; i++) {
		const struct cal_reading *z = &in->zero[i];

		if (!isfinite(z->mean) || !isfinite(z->stddev) || z->stddev < 0)
			return -EINVAL;
		pts[n].raw = z->mean;
		pts[n].load = 0.0;
		n++;
	}
	for (unsigned i = 0; i < in->npoints; i++) {
		const struct cal_point *p = &in->point[i];

		if (!isfinite(p->grams) || p->grams <= 0 || !isfinite(p->r.mean))
			return -EINVAL;
		pts[n].raw = p->r.mean;
		pts[n].load = cal_grams_to_newtons(p->grams);
		res->span_n = fmax(res->span_n, pts[n].load);
		n++;
	}
	/* -ERANGE: the reading falls as the load rises (cannot be stored). */
	r = sg_calibration_fit(pts, n, &res->fit);
	if (r < 0)
		return r;
	res->lsq_scale = res->fit.scale;
	res->lsq_offset = res->fit.offset;
	/* From here on, the values the instrument will hold. A falling
	 * reading (negative gain) cannot be stored: judged on the fit. */
	if (res->fit.scale > 0) {
		if (cal_stored_values(res->lsq_offset, res->lsq_scale, &res->fit.offset,
				      &res->fit.scale) < 0)
			return -EOVERFLOW;
		judge_stored(pts, n, &res->fit, res->span_n);
	}
	scale = res->fit.scale;

	res->ok_sign = scale > 0;
	cal_judge_zero(in, scale, &zero);
	res->zero_noise_n = zero.noise_n;
	res->zero_drift_n = zero.drift_n;

	/* Repeatability: spread of the raw means of one reference load, in N. */
	for (unsigned i = 0; i < in->npoints; i++) {
		double lo = in->point[i].r.mean, hi = lo;
		unsigned count = 1;
		bool first = true;

		for (unsigned j = 0; j < in->npoints; j++) {
			if (j == i || fabs(in->point[j].grams - in->point[i].grams) > 1e-9)
				continue;
			if (j < i)
				first = false;
			lo = fmin(lo, in->point[j].r.mean);
			hi = fmax(hi, in->point[j].r.mean);
			count++;
		}
		if (count < 2 || !first)
			continue;
		res->repeated_loads++;
		res->repeat_n = fmax(res->repeat_n, (hi - lo) * fabs(scale));
	}
	res->repeat_pct = res->span_n > 0 ? res->repeat_n / res->span_n * 100.0 : 0;

	if (in->have_verify) {
		res->verify_load_n = cal_grams_to_newtons(in->verify.grams);
		res->verify_measured_n = (in->verify.r.mean - res->fit.offset) * scale;
		res->verify_error_n = res->verify_measured_n - res->verify_load_n;
		res->verify_pct = fabs(res->verify_error_n) / res->span_n * 100.0;
	}

	res->ok_linearity = res->fit.linearity_pct <= in->tol.linearity_pct;
	res->ok_repeat = res->repeat_pct <= in->tol.repeat_pct;
	res->ok_verify = !in->have_verify || res->verify_pct <= in->tol.verify_pct;
	res->ok_zero_noise = zero.ok_noise;
	res->ok_zero_drift = zero.ok_drift;
	res->pass = res->ok_sign && res->ok_linearity && res->ok_repeat &&
		    res->ok_verify && res->ok_zero_noise && res->ok_zero_drift;

	if (!res->ok_sign)
		why_add(res, "The reading falls as the load rises (gain %.3g N/count): check "
			"the masses were entered in the right order and the load cell "
			"wiring. ", scale);
	if (!res->ok_zero_noise)
		why_add(res, "Unloaded noise %.3f N exceeds %.3f N: keep the tool still, "
			"away from vibration, and check the cable. ", res->zero_noise_n,
			in->tol.zero_noise_n);
	if (!res->ok_zero_drift)
		why_add(res, "The unloaded reading drifted %.3f N (limit %.3f N): let the "
			"tool warm up and repeat. ", res->zero_drift_n, in->tol.zero_drift_n);
	if (!res->ok_linearity)
		why_add(res, "Linearity error %.2f %% of span exceeds %.2f %%: check the "
			"reference masses and their placement. ", res->fit.linearity_pct,
			in->tol.linearity_pct);
	if (!res->ok_repeat)
		why_add(res, "Repeated loads differ by %.2f %% of span (limit %.2f %%): "
			"place the masses the same way each time. ", res->repeat_pct,
			in->tol.repeat_pct);
	if (!res->ok_verify)
		why_add(res, "Verification error %.2f %% of span exceeds %.2f %%: the fit "
			"does not hold for an independent load. ", res->verify_pct,
			in->tol.verify_pct);
	return 0;
}

/* ---- certificate ------------------------------------------------------ */

void cal_certificate_number(const char *serial, uint64_t record, char *buf, size_t len)
{
	if (!record)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s-%06llu", serial ? serial : "?", (unsigned long long)record);
}

void cal_masses_text(const struct cal_input *in, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < in->npoints && used < len; i++) {
		unsigned count = 0;
		bool first = true;

		for (unsigned j = 0; j < in->npoints; j++) {
			if (fabs(in->point[j].grams - in->point[i].grams) > 1e-9)
				continue;
			first &= j >= i;
			count++;
		}
		if (!first)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%.1f g", used ? ", " : "",
					 in->point[i].grams);
		if (count > 1 && used < len)
			used += (size_t)snprintf(buf + used, len - used, " x%u", count);
	}
}

static void add(struct json_object *o, const char *k, struct json_object *v)
{
	if (v)
		json_object_object_add(o, k, v);
}

static void add_time(struct json_object *o, const char *k, int64_t t)
{
	char buf[40];

	if (t <= 0)
		return;
	cj_iso8601((double)t, buf, sizeof(buf));
	add(o, k, json_object_new_string(buf));
}

static struct json_object *reading_json(double grams, const struct cal_reading *r,
					double residual)
{
	struct json_object *o = json_object_new_object();

	add(o, "mass_g", cj_fixed(grams, 3));
	add(o, "load_n", cj_fixed(cal_grams_to_newtons(grams), 5));
	add(o, "raw_mean", cj_fixed(r->mean, 3));
	add(o, "raw_stddev", cj_fixed(r->stddev, 3));
	add(o, "samples", json_object_new_int64((int64_t)r->n));
	add(o, "residual_n", cj_fixed(residual, 5));
	return o;
}

struct json_object *cal_certificate_json(const struct cal_input *in,
					 const struct cal_result *res,
					 const struct cal_identity *id)
{
	struct json_object *c = json_object_new_object();
	struct json_object *inst = json_object_new_object();
	struct json_object *fit = json_object_new_object();
	struct json_object *tol = json_object_new_object();
	struct json_object *zero = json_object_new_array();
	struct json_object *pts = json_object_new_array();
	struct json_object *checks = json_object_new_object();
	unsigned k = 0;

	add(c, "certificate", json_object_new_string("Strigil instrument calibration"));
	if (id->number[0])
		add(c, "number", json_object_new_string(id->number));
	add(inst, "serial", json_object_new_string(id->serial ? id->serial : ""));
	add(inst, "model", json_object_new_string(id->model ? id->model : ""));
	add(inst, "firmware", json_object_new_string(id->firmware ? id->firmware : ""));
	add(c, "instrument", inst);
	add(c, "channel", json_object_new_string("normal"));
	add(c, "technician", json_object_new_string(id->technician ? id->technician : ""));
	add_time(c, "date", id->date_s);
	add_time(c, "due", id->due_s);
	add(c, "gravity_m_s2", cj_fixed(SG_STANDARD_GRAVITY, 5));

	for (unsigned i = 0; i < in->nzero; i++, k++)
		json_object_array_add(zero, reading_json(0, &in->zero[i], res->fit.residual[k]));
	add(c, "zero", zero);
	for (unsigned i = 0; i < in->npoints; i++, k++)
		json_object_array_add(pts, reading_json(in->point[i].grams, &in->point[i].r,
							res->fit.residual[k]));
	add(c, "points", pts);
	{
		struct json_object *masses = json_object_new_array();
		char text[256];

		for (unsigned i = 0; i < in->npoints; i++)
			json_object_array_add(masses, cj_fixed(in->point[i].grams, 3));
		add(c, "reference_masses_g", masses);
		cal_masses_text(in, text, sizeof(text));
		add(c, "reference_masses", json_object_new_string(text));
	}

	/* What the instrument stores; the least squares values beside. */
	add(fit, "scale_n_per_count", json_object_new_double(res->fit.scale));
	add(fit, "offset_counts", cj_fixed(res->fit.offset, 3));
	add(fit, "least_squares_scale_n_per_count", json_object_new_double(res->lsq_scale));
	add(fit, "least_squares_offset_counts", cj_fixed(res->lsq_offset, 3));
	add(fit, "linearity_pct", cj_fixed(res->fit.linearity_pct, 4));
	add(fit, "max_residual_n", cj_fixed(res->fit.max_residual, 5));
	add(fit, "rms_residual_n", cj_fixed(res->fit.rms_residual, 5));
	add(fit, "r2", cj_fixed(res->fit.r2, 8));
	add(fit, "span_n", cj_fixed(res->span_n, 4));
	add(fit, "repeatability_n", cj_fixed(res->repeat_n, 5));
	add(fit, "repeatability_pct", cj_fixed(res->repeat_pct, 4));
	add(fit, "zero_noise_n", cj_fixed(res->zero_noise_n, 5));
	add(fit, "zero_drift_n", cj_fixed(res->zero_drift_n, 5));
	add(c, "fit", fit);

	if (in->have_verify) {
		struct json_object *v = json_object_new_object();

		add(v, "mass_g", cj_fixed(in->verify.grams, 3));
		add(v, "load_n", cj_fixed(res->verify_load_n, 5));
		add(v, "measured_n", cj_fixed(res->verify_measured_n, 5));
		add(v, "error_n", cj_fixed(res->verify_error_n, 5));
		add(v, "error_pct", cj_fixed(res->verify_pct, 4));
		add(c, "verification", v);
	}

	add(tol, "linearity_pct", cj_fixed(in->tol.linearity_pct, 4));
	add(tol, "repeatability_pct", cj_fixed(in->tol.repeat_pct, 4));
	add(tol, "verification_pct", cj_fixed(in->tol.verify_pct, 4));
	add(tol, "zero_noise_n", cj_fixed(in->tol.zero_noise_n, 5));
	add(tol, "zero_drift_n", cj_fixed(in->tol.zero_drift_n, 5));
	add(c, "tolerance", tol);

	add(checks, "direction", json_object_new_boolean(res->ok_sign));
	add(checks, "zero_noise", json_object_new_boolean(res->ok_zero_noise));
	add(checks, "zero_drift", json_object_new_boolean(res->ok_zero_drift));
	add(checks, "linearity", json_object_new_boolean(res->ok_linearity));
	add(checks, "repeatability", json_object_new_boolean(res->ok_repeat));
	add(checks, "verification", json_object_new_boolean(res->ok_verify));
	add(c, "checks", checks);
	add(c, "result", json_object_new_string(res->pass ? "pass" : "fail"));
	if (!res->pass)
		add(c, "reason", json_object_new_string(res->why));
	if (isfinite(id->old_scale)) {
		struct json_object *old = json_object_new_object();

		add(old, "scale_n_per_count", json_object_new_double(id->old_scale));
		add(old, "offset_counts", cj_fixed(id->old_offset, 3));
		add_time(old, "date", id->old_date_s);
		add(c, "previous", old);
	}
	add(c, "written", json_object_new_boolean(id->written));
	return c;
}

static const char *ok(bool b)
{
	return b ? "pass" : "FAIL";
}

static void date_str(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

void cal_certificate_text(FILE *f, const struct cal_input *in,
			  const struct cal_result *res, const struct cal_identity *id)
{
	char d1[40], d2[40];
	unsigned k = 0;

	date_str(id->date_s, d1, sizeof(d1));
	date_str(id->due_s, d2, sizeof(d2));
	fprintf(f, "STRIGIL INSTRUMENT CALIBRATION CERTIFICATE\n\n");
	fprintf(f, "Number       %s\n", id->number[0] ? id->number : "none (not written)");
	fprintf(f, "Instrument   %s (model %s, firmware %s)\n", id->serial ? id->serial : "-",
		id->model ? id->model : "-", id->firmware ? id->firmware : "-");
	fprintf(f, "Channel      normal force\n");
	fprintf(f, "Technician   %s\n", id->technician ? id->technician : "-");
	fprintf(f, "Date         %s\nDue          %s\n", d1, d2);
	fprintf(f, "Gravity      %.5f m/s^2 (standard)\n", SG_STANDARD_GRAVITY);
	{
		char masses[256];

		cal_masses_text(in, masses, sizeof(masses));
		fprintf(f, "Masses       %s", masses);
		if (in->have_verify)
			fprintf(f, "; verification %.1f g", in->verify.grams);
		fprintf(f, "\n\n");
	}
	fprintf(f, "  %10s %10s %14s %10s %8s %11s\n", "mass (g)", "load (N)", "raw mean",
		"raw sd", "samples", "resid (N)");
	for (unsigned i = 0; i < in->nzero; i++, k++)
		fprintf(f, "  %10.1f %10.4f %14.2f %10.2f %8llu %+11.4f\n", 0.0, 0.0,
			in->zero[i].mean, in->zero[i].stddev,
			(unsigned long long)in->zero[i].n, res->fit.residual[k]);
	for (unsigned i = 0; i < in->npoints; i++, k++)
		fprintf(f, "  %10.1f %10.4f %14.2f %10.2f %8llu %+11.4f\n", in->point[i].grams,
			cal_grams_to_newtons(in->point[i].grams), in->point[i].r.mean,
			in->point[i].r.stddev, (unsigned long long)in->point[i].r.n,
			res->fit.residual[k]);
	/* %.12f and %.2f show the stored values exactly: the instrument
	 * keeps whole counts and 1e-12 N/count. */
	fprintf(f, "\nStored       %.12f N/count, zero at %.2f counts, r^2 %.6f\n",
		res->fit.scale, res->fit.offset, res->fit.r2);
	fprintf(f, "Least sq.    %.12f N/count, zero at %.2f counts (before the "
		"instrument's rounding)\n", res->lsq_scale, res->lsq_offset);
	fprintf(f, "Direction    %s\n", ok(res->ok_sign));
	fprintf(f, "Zero noise   %.4f N (limit %.4f N)  %s\n", res->zero_noise_n,
		in->tol.zero_noise_n, ok(res->ok_zero_noise));
	fprintf(f, "Zero drift   %.4f N (limit %.4f N)  %s\n", res->zero_drift_n,
		in->tol.zero_drift_n, ok(res->ok_zero_drift));
	fprintf(f, "Linearity    %.3f %% of %.2f N span (limit %.2f %%)  %s\n",
		res->fit.linearity_pct, res->span_n, in->tol.linearity_pct,
		ok(res->ok_linearity));
	if (res->repeated_loads)
		fprintf(f, "Repeatab.    %.4f N = %.3f %% of span (limit %.2f %%)  %s\n",
			res->repeat_n, res->repeat_pct, in->tol.repeat_pct, ok(res->ok_repeat));
	else
		fprintf(f, "Repeatab.    not measured (no load was repeated)\n");
	if (in->have_verify)
		fprintf(f, "Verification %.1f g = %.4f N, measured %.4f N, error %+.4f N = "
			"%.3f %% of span (limit %.2f %%)  %s\n", in->verify.grams,
			res->verify_load_n, res->verify_measured_n, res->verify_error_n,
			res->verify_pct, in->tol.verify_pct, ok(res->ok_verify));
	else
		fprintf(f, "Verification not done\n");
	if (isfinite(id->old_scale)) {
		date_str(id->old_date_s, d1, sizeof(d1));
		fprintf(f, "Previous     %.6g N/count, zero at %.2f counts (%s)\n",
			id->old_scale, id->old_offset, d1);
	}
	fprintf(f, "\nRESULT       %s\n", res->pass ? "PASS" : "FAIL");
	if (!res->pass)
		fprintf(f, "             %s\n", res->why);
	fprintf(f, "Written      %s\n", id->written ? "yes, the instrument holds this calibration" :
		"no, the instrument's calibration is unchanged");
}
