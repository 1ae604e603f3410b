// SPDX-License-Identifier: LGPL-2.1-or-later
/* Calibration: wire round trips, CRC and field checks, device info, fit. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "strigil.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void refresh_crc(struct strigil_calibration *w)
{
	uint8_t *p = (uint8_t *)w;

	put32(p + STRIGIL_CAL_SIZE - 4, sg_crc32(p, STRIGIL_CAL_SIZE - 4));
}

static void sample_cal(struct sg_calibration *c)
{
	memset(c, 0, sizeof(*c));
	c->channel_mask = 0x07;
	c->offset[0] = -123456;
	c->scale[0] = 2.5e-6;
	c->offset[1] = 42;
	c->scale[1] = 1e-12;
	c->offset[2] = 2147483647;
	c->scale[2] = 4294967295e-12;
	c->cal_date = 1763683200;
	c->due_date = 1795219200;
	strcpy(c->technician, "J. Doe");
}

static void test_wire_roundtrip(void)
{
	struct sg_calibration c, back;
	struct strigil_calibration w;
	uint8_t *p = (uint8_t *)&w;

	sample_cal(&c);
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), 0);
	CHECK_EQ_INT(p[0], STRIGIL_CAL_VERSION);
	CHECK_EQ_INT(p[2], STRIGIL_CAL_SIZE);
	CHECK_EQ_INT(p[4], 0x07);
	CHECK(p[8] == 0xc0 && p[9] == 0x1d && p[10] == 0xfe && p[11] == 0xff,
	      "offset -123456 little endian");
	CHECK(p[32] == 0 && p[39] == 0, "unused channel 3 is zero");
	CHECK_EQ_INT(sg_crc32(p, 72),
		     (uint32_t)p[72] | (uint32_t)p[73] << 8 | (uint32_t)p[74] << 16 |
		     (uint32_t)p[75] << 24);

	memset(&back, 0xff, sizeof(back));
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &back), 0);
	CHECK_EQ_INT(back.channel_mask, 0x07);
	for (int ch = 0; ch < 3; ch++) {
		CHECK_NEAR(back.offset[ch], c.offset[ch], 0);
		CHECK_NEAR(back.scale[ch], c.scale[ch], c.scale[ch] * 1e-12);
	}
	CHECK_NEAR(back.offset[3], 0, 0);
	CHECK_NEAR(back.scale[3], 0, 0);
	CHECK_EQ_INT(back.cal_date, c.cal_date);
	CHECK_EQ_INT(back.due_date, c.due_date);
	CHECK(strcmp(back.technician, "J. Doe") == 0, "technician '%s'", back.technician);
	/* value = (raw - offset) * scale */
	CHECK_NEAR(sg_calibration_apply(&back, 0, -123456 + 400000), 1.0, 1e-12);

	/* a 16-character technician has no NUL on the wire */
	strcpy(c.technician, "0123456789abcdef");
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), 0);
	CHECK_EQ_INT(p[71], 'f');
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &back), 0);
	CHECK(strcmp(back.technician, "0123456789abcdef") == 0, "16 chars");
}

static void test_wire_bad(void)
{
	struct sg_calibration c, out;
	struct strigil_calibration good, w;
	uint8_t *p = (uint8_t *)&w;

	sample_cal(&c);
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &good), 0);

	/* every single-bit flip in the CRC-covered part is caught */
	for (int byte = 0; byte < STRIGIL_CAL_SIZE; byte++) {
		int rc;

		w = good;
		p[byte] ^= 0x10;
		memset(&out, 0x5a, sizeof(out));
		rc = sg_calibration_from_wire(&w, &out);
		CHECK(rc == -EBADMSG || (byte < 4 && rc == -EPROTO),
		      "flip in byte %d: rc %d", byte, rc);
		CHECK(out.channel_mask == 0x5a, "byte %d: output touched on error", byte);
	}

	w = good;
	p[0] = 2;
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), -EPROTO);
	w = good;
	p[2] = 75;
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), -EPROTO);
	w = good;
	p[4] = 0x06;	/* no NORMAL */
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), -EPROTO);
	w = good;
	p[4] = 0x17;	/* unknown channel */
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), -EPROTO);
	w = good;
	put32(p + 8 + 4, 0);	/* scale 0 on a calibrated channel */
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), -EPROTO);
	w = good;
	p[40 + 7] = 0x80;	/* negative date */
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), -EPROTO);
	w = good;
	p[56] = '\n';	/* control character in technician */
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), -EPROTO);
	w = good;
	put32(p + 32 + 4, 0);	/* channel 3 is not in the mask: ignored */
	p[5] = 0xee;		/* reserved: ignored */
	refresh_crc(&w);
	CHECK_EQ_INT(sg_calibration_from_wire(&w, &out), 0);
	CHECK_EQ_INT(sg_calibration_from_wire(NULL, &out), -EINVAL);

	/* to_wire refuses values the wire cannot carry */
	sample_cal(&c);
	c.scale[0] = 0;
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.scale[0] = -1e-6;
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.scale[1] = 5e-3;	/* > 2^32 pico-units */
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.offset[2] = 2147483648.0;
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.offset[0] = NAN;
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.channel_mask = 0;
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.cal_date = -1;
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	memset(c.technician, 'x', sizeof(c.technician));	/* unterminated */
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.technician[0] = '\t';
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), -EINVAL);
	sample_cal(&c);
	c.scale[3] = NAN;	/* channel not in the mask: not written */
	CHECK_EQ_INT(sg_calibration_to_wire(&c, &w), 0);
}

static void make_info(uint8_t *p)
{
	memset(p, 0, 80);
	p[0] = 0x00;	/* proto 1.0 */
	p[1] = 0x01;
	p[2] = STRIGIL_INFO_SIZE;
	p[4] = STRIGIL_MODEL_S4;
	p[5] = 0x0f;
	p[6] = 1;
	p[7] = 2;
	p[8] = 0x2c;	/* patch 300 */
	p[9] = 0x01;
	p[10] = 0xe8;	/* default 1000 Hz */
	p[11] = 0x03;
	p[12] = 0xf4;	/* 500 */
	p[13] = 0x01;
	p[14] = 0xe8;	/* 1000 */
	p[15] = 0x03;
	for (int ch = 0; ch < 4; ch++)
		put32(p + 28 + 4 * ch, 8388607);
	memcpy(p + 44, "SG4-000123", 10);
	memcpy(p + 60, "Strigil S4", 10);
}

static void test_info(void)
{
	uint8_t w[80], b[80];
	struct sg_device_info info;

	make_info(w);
	CHECK_EQ_INT(sg_device_info_from_wire(w, STRIGIL_INFO_SIZE, &info), 0);
	CHECK(strcmp(info.serial, "SG4-000123") == 0, "serial '%s'", info.serial);
	CHECK(strcmp(info.model, "Strigil S4") == 0, "model '%s'", info.model);
	CHECK(strcmp(info.firmware, "1.2.300") == 0, "firmware '%s'", info.firmware);
	CHECK_EQ_INT(info.proto_version, 0x0100);
	CHECK_EQ_INT(info.model_id, 4);
	CHECK_EQ_INT(info.channel_mask, 0x0f);
	CHECK_EQ_INT(info.default_rate_hz, 1000);
	CHECK_EQ_INT(info.nrates, 2);
	CHECK_EQ_INT(info.rates_hz[0], 500);
	CHECK_EQ_INT(info.rates_hz[1], 1000);
	CHECK_EQ_INT(info.full_scale[3], 8388607);

	/* a longer answer from a newer minor version is accepted */
	memcpy(b, w, 80);
	b[0] = 0x07;	/* 1.7 */
	b[2] = 80;
	CHECK_EQ_INT(sg_device_info_from_wire(b, 80, &info), 0);
	/* a 16-character serial has no NUL */
	memcpy(b, w, 80);
	memcpy(b + 44, "ABCDEFGHIJKLMNOP", 16);
	CHECK_EQ_INT(sg_device_info_from_wire(b, 76, &info), 0);
	CHECK(strcmp(info.serial, "ABCDEFGHIJKLMNOP") == 0, "16-char serial");

	struct { int off; uint8_t val; const char *what; } bad[] = {
		{ 1, 2, "major 2" }, { 2, 60, "info_size < 76" },
		{ 4, STRIGIL_MODEL_S1, "S1 with 4 channels" }, { 4, 0, "model 0" },
		{ 5, 0x0e, "no NORMAL" }, { 5, 0x1f, "unknown channel" },
		{ 10, 0x2c, "default rate not listed" }, { 12, 50, "rate below 100" },
		{ 14, 0xf4, "duplicate rate" }, { 31, 0x80, "full scale > INT32_MAX" },
		{ 44, 0, "empty serial" }, { 45, 0x01, "control char in serial" },
		{ 61, 0xc3, "non-ASCII model" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(b, w, 80);
		b[bad[i].off] = bad[i].val;
		if (bad[i].off == 14)
			b[15] = 0x01;	/* 500 twice */
		if (bad[i].off == 12)
			b[13] = 0;
		memset(&info, 0x77, sizeof(info));
		CHECK(sg_device_info_from_wire(b, 76, &info) == -EPROTO, "%s accepted",
		      bad[i].what);
		CHECK(info.model_id == 0x77, "%s: output touched", bad[i].what);
	}
	memcpy(b, w, 80);
	put32(b + 28 + 12, 0);	/* full scale 0 on the tilt channel */
	CHECK_EQ_INT(sg_device_info_from_wire(b, 76, &info), -EPROTO);
	CHECK_EQ_INT(sg_device_info_from_wire(w, 75, &info), -EPROTO);
	CHECK_EQ_INT(sg_device_info_from_wire(NULL, 76, &info), -EINVAL);
	/* S1: full scale of absent channels is ignored */
	memcpy(b, w, 80);
	b[4] = STRIGIL_MODEL_S1;
	b[5] = 0x01;
	put32(b + 32, 0);
	CHECK_EQ_INT(sg_device_info_from_wire(b, 76, &info), 0);
	CHECK_EQ_INT(info.full_scale[1], 0);
	/* an unknown future model with a valid mask is accepted */
	b[4] = 9;
	CHECK_EQ_INT(sg_device_info_from_wire(b, 76, &info), 0);
}

static void test_fit(void)
{
	struct sg_fit_point pts[SG_FIT_MAX_POINTS + 1];
	struct sg_fit fit;
	const double gain = 2.5e-6, off = 8.3e5;	/* N/count, counts */

	/* exact data: gain and offset recovered, zero residuals */
	for (int i = 0; i < 6; i++) {
		pts[i].load = i * 0.5 * SG_STANDARD_GRAVITY;	/* 0..2.5 kg */
		pts[i].raw = off + pts[i].load / gain;
	}
	CHECK_EQ_INT(sg_calibration_fit(pts, 6, &fit), 0);
	CHECK_NEAR(fit.scale, gain, gain * 1e-12);
	CHECK_NEAR(fit.offset, off, 1e-6);
	CHECK_NEAR(fit.max_residual, 0, 1e-9);
	CHECK_NEAR(fit.rms_residual, 0, 1e-9);
	CHECK_NEAR(fit.linearity_pct, 0, 1e-9);
	CHECK_NEAR(fit.r2, 1, 1e-12);
	CHECK_EQ_INT(fit.npoints, 6);

	/* two points are enough */
	CHECK_EQ_INT(sg_calibration_fit(pts + 2, 2, &fit), 0);
	CHECK_NEAR(fit.scale, gain, gain * 1e-9);
	CHECK_NEAR(fit.offset, off, 1e-3);

	/*
	 * Known residuals: raw = i/gain for i = 0..4, reference loads i N
	 * except point 2 whose reference is d N lower (the cell reads d high).
	 * Least squares spreads the error: residual = (H - I) delta, with hat
	 * matrix H_i2 = 1/5 + x_i x_2 / Sxx = 1/5 (x centred, x_2 = 0): the
	 * slope is untouched, r_2 = 0.8 d, every other r_i = -0.2 d.
	 */
	const double d = 0.05;
	for (int i = 0; i < 5; i++) {
		pts[i].load = i - (i == 2 ? d : 0);
		pts[i].raw = i / gain;
	}
	CHECK_EQ_INT(sg_calibration_fit(pts, 5, &fit), 0);
	CHECK_NEAR(fit.scale, gain, gain * 1e-9);
	for (int i = 0; i < 5; i++)
		CHECK_NEAR(fit.residual[i], i == 2 ? d * 0.8 : -d * 0.2, 1e-9);
	CHECK_NEAR(fit.max_residual, 0.04, 1e-9);
	CHECK_NEAR(fit.linearity_pct, 0.04 / 4 * 100, 1e-7);
	CHECK_NEAR(fit.rms_residual, sqrt((0.04 * 0.04 + 4 * 0.01 * 0.01) / 5), 1e-9);
	/* SStot of loads 0, 1, 1.95, 3, 4 around their mean 1.99 */
	CHECK_NEAR(fit.r2, 1 - (0.04 * 0.04 + 4 * 0.01 * 0.01) / 10.002, 1e-9);

	/* degenerate and bad input */
	for (int i = 0; i < 4; i++) {
		pts[i].load = 1.0;
		pts[i].raw = 1000 + i;
	}
	CHECK_EQ_INT(sg_calibration_fit(pts, 4, &fit), -EDOM);	/* one load */
	for (int i = 0; i < 4; i++) {
		pts[i].load = i;
		pts[i].raw = 5e6;
	}
	CHECK_EQ_INT(sg_calibration_fit(pts, 4, &fit), -EDOM);	/* raw stuck */
	pts[0].raw = 10;
	pts[1].raw = 0;
	pts[0].load = 0;
	pts[1].load = 1;
	CHECK_EQ_INT(sg_calibration_fit(pts, 2, &fit), -ERANGE);	/* reads backwards */
	CHECK_EQ_INT(sg_calibration_fit(pts, 1, &fit), -EINVAL);
	CHECK_EQ_INT(sg_calibration_fit(pts, SG_FIT_MAX_POINTS + 1, &fit), -EINVAL);
	CHECK_EQ_INT(sg_calibration_fit(NULL, 2, &fit), -EINVAL);
	pts[1].raw = NAN;
	CHECK_EQ_INT(sg_calibration_fit(pts, 2, &fit), -EINVAL);
	pts[1].raw = INFINITY;
	CHECK_EQ_INT(sg_calibration_fit(pts, 2, &fit), -EINVAL);
}

int main(void)
{
	test_wire_roundtrip();
	test_wire_bad();
	test_info();
	test_fit();
	return check_exit("calib");
}
