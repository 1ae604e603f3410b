// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Calibration blobs, device info and the calibration least-squares fit
 * (docs/protocol.md "Calibration", docs/calibration.md).
 *
 * Wire structures are read and written byte by byte (little-endian), never
 * by casting, and every field a device sent is checked before it is used.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "strigil.h"

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static int32_t s32_from_u32(uint32_t v)
{
	return v <= INT32_MAX ? (int32_t)v : (int32_t)(v - 0x80000000u) + INT32_MIN;
}

/*
 * A fixed-size, NUL-padded wire string: printable ASCII up to the first NUL
 * (or the end of the field). Anything else is refused rather than mangled,
 * because these strings become D-Bus strings and database keys.
 */
static int wire_string(const uint8_t *src, size_t n, char *dst, bool need_text)
{
	size_t i;

	for (i = 0; i < n && src[i]; i++) {
		if (src[i] < 0x20 || src[i] > 0x7e)
			return -EPROTO;
		dst[i] = (char)src[i];
	}
	dst[i] = '\0';
	return need_text && i == 0 ? -EPROTO : 0;
}

/* ---- Calibration blob --------------------------------------------------- */

/* Offsets inside struct strigil_calibration (asserted in test-protocol.c). */
enum {
	CAL_VERSION = 0, CAL_SIZE = 2, CAL_MASK = 4, CAL_CH = 8,
	CAL_DATE = CAL_CH + 8 * STRIGIL_MAX_CHANNELS, CAL_DUE = CAL_DATE + 8,
	CAL_TECH = CAL_DUE + 8, CAL_CRC = CAL_TECH + 16,
};

int sg_calibration_from_wire(const struct strigil_calibration *w,
			     struct sg_calibration *c)
{
	const uint8_t *p = (const uint8_t *)w;
	struct sg_calibration tmp;
	uint64_t date, due;
	uint8_t mask;

	if (!w || !c)
		return -EINVAL;
	if (get_le16(p + CAL_VERSION) != STRIGIL_CAL_VERSION ||
	    get_le16(p + CAL_SIZE) != STRIGIL_CAL_SIZE)
		return -EPROTO;
	if (sg_crc32(p, CAL_CRC) != get_le32(p + CAL_CRC))
		return -EBADMSG;

	memset(&tmp, 0, sizeof(tmp));
	mask = p[CAL_MASK];
	if (!sg_channel_mask_valid(mask))
		return -EPROTO;
	tmp.channel_mask = mask;
	for (unsigned ch = 0; ch < STRIGIL_MAX_CHANNELS; ch++) {
		const uint8_t *q = p + CAL_CH + 8 * ch;
		uint32_t scale_pu = get_le32(q + 4);

		if (!(mask & STRIGIL_CH_BIT(ch)))
			continue;
		if (scale_pu == 0)
			return -EPROTO;
		tmp.offset[ch] = s32_from_u32(get_le32(q));
		tmp.scale[ch] = scale_pu * 1e-12;
	}
	date = get_le64(p + CAL_DATE);
	due = get_le64(p + CAL_DUE);
	if (date > INT64_MAX || due > INT64_MAX)
		return -EPROTO;
	tmp.cal_date = (int64_t)date;
	tmp.due_date = (int64_t)due;
	if (wire_string(p + CAL_TECH, 16, tmp.technician, false) < 0)
		return -EPROTO;
	*c = tmp;
	return 0;
}

int sg_calibration_to_wire(const struct sg_calibration *c,
			   struct strigil_calibration *w)
{
	uint8_t buf[STRIGIL_CAL_SIZE];
	size_t tlen;

	if (!c || !w || !sg_channel_mask_valid(c->channel_mask) ||
	    c->cal_date < 0 || c->due_date < 0)
		return -EINVAL;
	tlen = strnlen(c->technician, sizeof(c->technician));
	if (tlen > 16)
		return -EINVAL;
	for (size_t i = 0; i < tlen; i++)
		if (c->technician[i] < 0x20 || c->technician[i] > 0x7e)
			return -EINVAL;

	memset(buf, 0, sizeof(buf));
	put_le16(buf + CAL_VERSION, STRIGIL_CAL_VERSION);
	put_le16(buf + CAL_SIZE, STRIGIL_CAL_SIZE);
	buf[CAL_MASK] = c->channel_mask;
	for (unsigned ch = 0; ch < STRIGIL_MAX_CHANNELS; ch++) {
		uint8_t *q = buf + CAL_CH + 8 * ch;
		double off, pu;

		if (!(c->channel_mask & STRIGIL_CH_BIT(ch)))
			continue;
		off = round(c->offset[ch]);
		pu = round(c->scale[ch] * 1e12);
		if (!isfinite(off) || off < INT32_MIN || off > INT32_MAX ||
		    !isfinite(pu) || pu < 1 || pu > UINT32_MAX)
			return -EINVAL;
		put_le32(q, (uint32_t)(int32_t)off);
		put_le32(q + 4, (uint32_t)pu);
	}
	put_le64(buf + CAL_DATE, (uint64_t)c->cal_date);
	put_le64(buf + CAL_DUE, (uint64_t)c->due_date);
	memcpy(buf + CAL_TECH, c->technician, tlen);
	put_le32(buf + CAL_CRC, sg_crc32(buf, CAL_CRC));
	memcpy(w, buf, sizeof(buf));
	return 0;
}

/* ---- Device info -------------------------------------------------------- */

enum {
	INFO_PROTO = 0, INFO_SIZE = 2, INFO_MODEL_ID = 4, INFO_MASK = 5,
	INFO_FW_MAJOR = 6, INFO_FW_MINOR = 7, INFO_FW_PATCH = 8,
	INFO_DEFAULT_RATE = 10, INFO_RATES = 12,
	INFO_FULL_SCALE = INFO_RATES + 2 * STRIGIL_MAX_RATES,
	INFO_SERIAL = INFO_FULL_SCALE + 4 * STRIGIL_MAX_CHANNELS,
	INFO_MODEL = INFO_SERIAL + 16,
};

/* The channels each known model must report; other ids: any valid mask. */
static bool model_mask_ok(uint8_t model_id, uint8_t mask)
{
	switch (model_id) {
	case STRIGIL_MODEL_S1:
		return mask == STRIGIL_CH_BIT(STRIGIL_CH_NORMAL);
	case STRIGIL_MODEL_S3:
		return mask == (STRIGIL_CH_BIT(STRIGIL_CH_NORMAL) |
				STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_X) |
				STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_Y));
	case STRIGIL_MODEL_S4:
		return mask == STRIGIL_CH_MASK_ALL;
	default:
		return model_id != 0;
	}
}

int sg_device_info_from_wire(const void *buf, size_t len,
			     struct sg_device_info *info)
{
	const uint8_t *p = buf;
	struct sg_device_info tmp;
	bool default_listed = false;

	if (!buf || !info)
		return -EINVAL;
	/* A newer minor version may append fields: a longer answer is fine. */
	if (len < STRIGIL_INFO_SIZE || get_le16(p + INFO_SIZE) < STRIGIL_INFO_SIZE)
		return -EPROTO;
	memset(&tmp, 0, sizeof(tmp));
	tmp.proto_version = get_le16(p + INFO_PROTO);
	if (tmp.proto_version >> 8 != STRIGIL_PROTO_MAJOR)
		return -EPROTO;
	tmp.model_id = p[INFO_MODEL_ID];
	tmp.channel_mask = p[INFO_MASK];
	if (!sg_channel_mask_valid(tmp.channel_mask) ||
	    !model_mask_ok(tmp.model_id, tmp.channel_mask))
		return -EPROTO;
	snprintf(tmp.firmware, sizeof(tmp.firmware), "%u.%u.%u", p[INFO_FW_MAJOR],
		 p[INFO_FW_MINOR], get_le16(p + INFO_FW_PATCH));

	tmp.default_rate_hz = get_le16(p + INFO_DEFAULT_RATE);
	for (unsigned i = 0; i < STRIGIL_MAX_RATES; i++) {
		uint16_t r = get_le16(p + INFO_RATES + 2 * i);

		if (r == 0)
			continue;
		if (r < STRIGIL_RATE_MIN_HZ || r > STRIGIL_RATE_MAX_HZ)
			return -EPROTO;
		for (unsigned j = 0; j < tmp.nrates; j++)
			if (tmp.rates_hz[j] == r)
				return -EPROTO;
		tmp.rates_hz[tmp.nrates++] = r;
		if (r == tmp.default_rate_hz)
			default_listed = true;
	}
	if (!default_listed)
		return -EPROTO;

	for (unsigned ch = 0; ch < STRIGIL_MAX_CHANNELS; ch++) {
		uint32_t fs = get_le32(p + INFO_FULL_SCALE + 4 * ch);

		if (!(tmp.channel_mask & STRIGIL_CH_BIT(ch)))
			continue;
		if (fs == 0 || fs > INT32_MAX)
			return -EPROTO;
		tmp.full_scale[ch] = (int32_t)fs;
	}
	if (wire_string(p + INFO_SERIAL, 16, tmp.serial, true) < 0 ||
	    wire_string(p + INFO_MODEL, 16, tmp.model, false) < 0)
		return -EPROTO;
	*info = tmp;
	return 0;
}

/* ---- Least-squares fit -------------------------------------------------- */

/*
 * Fits load = scale * (raw - offset) by ordinary least squares on centred
 * data (numerically stable for raw counts in the millions). Residuals are
 * indicated minus reference load, in N.
 */
int sg_calibration_fit(const struct sg_fit_point *pts, size_t n,
		       struct sg_fit *fit)
{
	double mraw = 0, mload = 0, sxx = 0, sxy = 0, syy = 0, ssr = 0;
	double rmin, rmax, lmin, lmax, slope, maxres = 0;

	if (!pts || !fit || n < 2 || n > SG_FIT_MAX_POINTS)
		return -EINVAL;
	rmin = rmax = pts[0].raw;
	lmin = lmax = pts[0].load;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(pts[i].raw) || !isfinite(pts[i].load))
			return -EINVAL;
		mraw += pts[i].raw;
		mload += pts[i].load;
		rmin = fmin(rmin, pts[i].raw);
		rmax = fmax(rmax, pts[i].raw);
		lmin = fmin(lmin, pts[i].load);
		lmax = fmax(lmax, pts[i].load);
	}
	mraw /= (double)n;
	mload /= (double)n;
	/* Two distinct loads and readings that actually moved with them. */
	if (!(lmax > lmin) ||
	    !(rmax - rmin > 1e-9 * fmax(fabs(rmax), fabs(rmin))))
		return -EDOM;
	for (size_t i = 0; i < n; i++) {
		double dx = pts[i].raw - mraw, dy = pts[i].load - mload;

		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	slope = sxy / sxx;
	if (!isfinite(slope) || slope == 0)
		return -EDOM;
	/* A load cell reading backwards cannot be stored (scale_pu > 0). */
	if (slope < 0)
		return -ERANGE;
	memset(fit, 0, sizeof(*fit));
	fit->scale = slope;
	fit->offset = mraw - mload / slope;
	fit->npoints = n;
	for (size_t i = 0; i < n; i++) {
		double r = slope * (pts[i].raw - mraw) + mload - pts[i].load;

		fit->residual[i] = r;
		ssr += r * r;
		maxres = fmax(maxres, fabs(r));
	}
	fit->max_residual = maxres;
	fit->rms_residual = sqrt(ssr / (double)n);
	fit->linearity_pct = maxres / (lmax - lmin) * 100.0;
	fit->r2 = 1.0 - ssr / syy;
	return 0;
}
