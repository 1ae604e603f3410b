// SPDX-License-Identifier: LGPL-2.1-or-later
/* Simulator: determinism, config and script validation, scripted ground
 * truth, verdicts, lost samples, NaN time, channels, endless mode and the
 * statistics of random sessions. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "strigil.h"
#include "check.h"

static void test_determinism(void)
{
	struct sg_sim_config c;
	struct sg_sim *a, *b, *d;
	struct sg_sample x, y, z;
	int same = 1, differ = 0;

	sg_sim_config_default(&c);
	c.duration_s = 5;
	c.hum_n = 0.05;
	c.spike_rate_hz = 3;
	c.drop_prob = 0.01;
	c.jitter_s = 0.0002;
	a = sg_sim_new(&c);
	b = sg_sim_new(&c);
	c.seed = 2;
	d = sg_sim_new(&c);
	CHECK(a && b && d, "sims");
	if (!a || !b || !d)
		return;
	for (;;) {
		int ra = sg_sim_next(a, &x), rb = sg_sim_next(b, &y), rd = sg_sim_next(d, &z);

		if (ra != rb || (ra && (x.t_s != y.t_s || x.force_n != y.force_n)))
			same = 0;
		if (rd && ra && x.force_n != z.force_n)
			differ = 1;
		if (!ra || !rb)
			break;
	}
	CHECK(same, "same seed, same trace");
	CHECK(differ, "other seed, other trace");
	sg_sim_free(a);
	sg_sim_free(b);
	sg_sim_free(d);
}

static void test_config_check(void)
{
	struct sg_sim_config c;
	char err[128] = "";

	sg_sim_config_default(&c);
	CHECK_EQ_INT(sg_sim_config_check(&c, err, sizeof(err)), 0);
	c.rate_hz = NAN;
	CHECK_EQ_INT(sg_sim_config_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "rate") != NULL, "message '%s'", err);
	errno = 0;
	CHECK(sg_sim_new(&c) == NULL && errno == EINVAL, "sg_sim_new refuses");
	sg_sim_config_default(&c);
	c.over_prob = 0.5;	/* without over_n */
	CHECK_EQ_INT(sg_sim_config_check(&c, err, sizeof(err)), -EINVAL);
	sg_sim_config_default(&c);
	c.drop_prob = 0.9;
	CHECK_EQ_INT(sg_sim_config_check(&c, err, sizeof(err)), -EINVAL);
	sg_sim_config_default(&c);
	c.has = 0x80;
	CHECK_EQ_INT(sg_sim_config_check(&c, err, sizeof(err)), -EINVAL);
}

static void test_script_parse(void)
{
	struct sg_sim_segment g[8];
	char err[160] = "";
	int n;

	n = sg_sim_script_parse("rest 1; stroke 6 0.5 rise=0.3 plateau=0.2 dip=0.5:0.02\n"
				"  ;rest 0.5", g, 8, err, sizeof(err));
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_EQ_INT(g[0].type, SG_SIM_REST);
		CHECK_NEAR(g[0].duration_s, 1, 0);
		CHECK_EQ_INT(g[1].type, SG_SIM_STROKE);
		CHECK_NEAR(g[1].peak_n, 6, 0);
		CHECK_NEAR(g[1].duration_s, 0.5, 0);
		CHECK_NEAR(g[1].rise_frac, 0.3, 0);
		CHECK_NEAR(g[1].plateau_frac, 0.2, 0);
		CHECK_NEAR(g[1].dip_at_frac, 0.5, 0);
		CHECK_NEAR(g[1].dip_s, 0.02, 0);
	}
	CHECK_EQ_INT(sg_sim_script_parse("rest", g, 8, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "segment 1") != NULL, "message '%s'", err);
	CHECK_EQ_INT(sg_sim_script_parse("rest 1; jump 3", g, 8, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "segment 2") != NULL && strstr(err, "jump"), "message '%s'", err);
	CHECK_EQ_INT(sg_sim_script_parse("stroke 6 -1", g, 8, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(sg_sim_script_parse("stroke 6 0.5 rise=x", g, 8, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(sg_sim_script_parse("stroke 6 0.5 tone=1", g, 8, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(sg_sim_script_parse("stroke nan 0.5", g, 8, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(sg_sim_script_parse(" ; ", g, 8, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(sg_sim_script_parse("rest 1;rest 1;rest 1", g, 2, err, sizeof(err)), -EINVAL);
}

static void test_scripted_truth(void)
{
	struct sg_sim_segment g[4];
	struct sg_sim_config c;
	struct sg_sim *s;
	struct sg_sample x;
	const struct sg_sim_truth *t;
	size_t n = 0, samples = 0;
	double maxclean = 0, maxf = 0;
	char err[128];
	int ns = sg_sim_script_parse("rest 1; stroke 6 0.5 rise=0.3 plateau=0.3; rest 0.5;"
				     "stroke 11 0.6 plateau=0.4 dip=0.5:0.02", g, 4, err, sizeof(err));

	CHECK_EQ_INT(ns, 4);
	sg_sim_config_default(&c);
	c.noise_n = 0;
	c.duration_s = 0;	/* the script decides */
	c.script = g;
	c.nscript = (size_t)ns;
	s = sg_sim_new(&c);
	CHECK(s != NULL, "sim");
	if (!s)
		return;
	while (sg_sim_next(s, &x) == 1) {
		samples++;
		maxclean = fmax(maxclean, sg_sim_clean_force(s));
		maxf = fmax(maxf, x.force_n);
		CHECK(x.force_n == sg_sim_clean_force(s), "no noise: clean force out");
		if (x.force_n != sg_sim_clean_force(s))
			break;
	}
	CHECK_EQ_INT(samples, 2600);
	t = sg_sim_truth(s, &n);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_NEAR(t[0].start_s, 1.0, 1e-9);
		CHECK_NEAR(t[0].end_s, 1.5, 1e-9);
		CHECK_NEAR(t[0].rise_s, 0.15, 1e-9);
		CHECK(t[0].peak_n >= 6.0 && t[0].peak_n <= 6.0 * 1.031, "peak %g", t[0].peak_n);
		CHECK_NEAR(t[1].start_s, 2.0, 1e-9);
		CHECK_NEAR(t[1].dip_at_s, 2.3, 1e-9);
		CHECK(t[1].dip_depth >= 0.85, "dip depth");
		/* the dip really dips */
		CHECK(sg_sim_truth_force(&t[1], 2.3) < 0.15 * 11, "dip %g",
		      sg_sim_truth_force(&t[1], 2.3));
		CHECK_NEAR(maxclean, t[1].peak_n, 0.02);
		CHECK_NEAR(maxf, maxclean, 0);
		CHECK_NEAR(sg_sim_truth_force(&t[0], 0.5), 0, 0);
		/* verdicts: stroke 2 plateaus at 11 N (+-3 % tremor) */
		CHECK_EQ_INT(sg_sim_truth_verdict(&t[1], 9.0, 0.010), SG_SIM_VIOLATION);
		CHECK_EQ_INT(sg_sim_truth_verdict(&t[1], 13.0, 0.010), SG_SIM_SAFE);
		CHECK_EQ_INT(sg_sim_truth_verdict(&t[1], 11.0, 0.010), SG_SIM_AMBIGUOUS);
		CHECK_EQ_INT(sg_sim_truth_verdict(&t[1], 0.0, 0.010), SG_SIM_SAFE);
		{
			double first, run = sg_sim_truth_run_above(&t[0], 3.0, &first);

			/* half-cosine rise over 0.15 s reaches 3 N at its middle */
			CHECK_NEAR(first, 1.075, 0.002);
			CHECK(run > 0.2 && run < 0.45, "run %g", run);
		}
	}
	sg_sim_free(s);
}

static void test_drops_time_and_channels(void)
{
	struct sg_sim_config c;
	struct sg_sim *s;
	struct sg_sample x;
	uint64_t n = 0, jumps = 0, nan = 0;
	double last = -1, shear_ratio_max = 0;

	sg_sim_config_default(&c);
	c.duration_s = 20;
	c.drop_prob = 0.003;
	c.noise_n = 0;
	c.has = SG_HAS_SHEAR | SG_HAS_TILT;
	s = sg_sim_new(&c);
	while (s && sg_sim_next(s, &x) == 1) {
		if (last >= 0 && x.t_s - last > 1.5e-3)
			jumps++;
		last = x.t_s;
		n++;
		CHECK_EQ_INT(x.has, SG_HAS_SHEAR | SG_HAS_TILT);
		if (x.force_n > 1.0)
			shear_ratio_max = fmax(shear_ratio_max,
					       hypot(x.shear_x_n, x.shear_y_n) / x.force_n);
		CHECK(x.tilt_deg >= 25 && x.tilt_deg <= 55, "tilt %g", x.tilt_deg);
	}
	CHECK(s != NULL, "sim");
	if (s) {
		CHECK_EQ_INT(n + sg_sim_dropped(s), 20000);
		CHECK(sg_sim_dropped(s) > 100, "dropped %llu", (unsigned long long)sg_sim_dropped(s));
		CHECK(jumps > 20, "jumps %llu", (unsigned long long)jumps);
		CHECK(shear_ratio_max > 0.15 && shear_ratio_max <= 0.4 + 1e-9,
		      "friction %g", shear_ratio_max);
	}
	sg_sim_free(s);

	c.drop_prob = 0;
	c.nan_time = true;
	c.duration_s = 1;
	s = sg_sim_new(&c);
	while (s && sg_sim_next(s, &x) == 1)
		nan += isnan(x.t_s);
	CHECK_EQ_INT(nan, 1000);
	sg_sim_free(s);
}

static void test_random_statistics(void)
{
	struct sg_sim_config c;
	struct sg_sim *s;
	struct sg_sample x;
	const struct sg_sim_truth *t;
	size_t n, over = 0, dips = 0;
	double sum = 0;

	sg_sim_config_default(&c);
	c.duration_s = 300;
	c.rate_hz = 100;
	c.stroke_rate_hz = 0.5;
	c.peak_mean_n = 6;
	c.peak_sd_n = 2;
	c.over_prob = 0.1;
	c.over_n = 12;
	c.dip_prob = 0.3;
	s = sg_sim_new(&c);
	CHECK(s != NULL, "sim");
	if (!s)
		return;
	while (sg_sim_next(s, &x) == 1)
		;
	t = sg_sim_truth(s, &n);
	/* 0.5 Hz for 300 s: about 150 strokes */
	CHECK(n > 130 && n < 170, "strokes %zu", n);
	for (size_t i = 0; i < n; i++) {
		CHECK(t[i].end_s > t[i].start_s && t[i].end_s <= 300, "stroke %zu times", i);
		if (i)
			CHECK(t[i].start_s >= t[i - 1].end_s + 0.25 - 1e-9, "rest before %zu", i);
		if (t[i].over) {
			over++;
			CHECK(t[i].above_s > 0.02, "over stroke %zu above %g", i, t[i].above_s);
		} else {
			sum += t[i].peak_n;
		}
		dips += t[i].dip_s > 0;
	}
	CHECK(over > 5 && over < 30, "over %zu", over);
	CHECK(dips > 25 && dips < 70, "dips %zu", dips);
	CHECK_NEAR(sum / (double)(n - over), 6.1, 0.5);
	sg_sim_free(s);
}

static void test_endless(void)
{
	struct sg_sim_config c;
	struct sg_sim *s;
	struct sg_sample x;
	size_t n = 0;
	int ok = 1;

	sg_sim_config_default(&c);
	c.duration_s = 0;
	c.rate_hz = 100;
	c.stroke_rate_hz = 2.0;
	c.drift_n_per_s = 0.01;
	s = sg_sim_new(&c);
	/* ~11 min at 100 Hz (over 1024 strokes): truth stays bounded */
	for (long k = 0; s && k < 66000; k++) {
		if (sg_sim_next(s, &x) != 1 || !(fabs(x.force_n) < 100)) {
			ok = 0;
			break;
		}
	}
	CHECK(ok, "endless");
	if (s) {
		sg_sim_truth(s, &n);
		CHECK(n > 0 && n <= 1024, "kept %zu", n);
	}
	sg_sim_free(s);

	/* a looping script is endless too */
	{
		struct sg_sim_segment g[2] = {
			{ .type = SG_SIM_REST, .duration_s = 0.5 },
			{ .type = SG_SIM_STROKE, .duration_s = 0.5, .peak_n = 4,
			  .plateau_frac = -1 },
		};
		long k;

		c.script = g;
		c.nscript = 2;
		c.script_loop = true;
		s = sg_sim_new(&c);
		for (k = 0; s && k < 100000; k++)
			if (sg_sim_next(s, &x) != 1)
				break;
		CHECK_EQ_INT(k, 100000);
		if (s) {
			sg_sim_truth(s, &n);
			CHECK_EQ_INT(n, 1000);
		}
		sg_sim_free(s);
	}
}

int main(void)
{
	test_determinism();
	test_config_check();
	test_script_parse();
	test_scripted_truth();
	test_drops_time_and_channels();
	test_random_statistics();
	test_endless();
	return check_exit("test-sim");
}
