/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instrument's domain (instrument-core.h): streaming demand,
 * calibration validity, accounting of samples never delivered, property
 * texts, and the checks of Tare, ReadPoint and WriteCalibration. Pure:
 * daemon/instrument.c is its glue.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "instrument-core.h"
#include "text.h"

bool instrument_streaming_wanted(const struct instrument_demand *d)
{
	if (!d->connected)
		return false;
	return d->session_running || d->claims > 0 || d->streams || d->reads;
}

bool instrument_cal_valid(const struct sg_calibration *c, int64_t now_s)
{
	return c->cal_date > 0 && (c->due_date == 0 || now_s < c->due_date);
}

uint64_t instrument_unplugged_samples(uint64_t unplugged_usec, uint64_t now_usec,
				      unsigned rate_hz)
{
	if (now_usec <= unplugged_usec)
		return 0;
	return (now_usec - unplugged_usec) * rate_hz / 1000000u;
}

void instrument_account_lost(uint64_t n, bool has_session, bool feed,
			     struct instrument_lost *out)
{
	out->engine_gap = feed ? n : 0;
	out->session_lost = has_session ? n : 0;
	out->session_paused = has_session && !feed ? n : 0;
}

const char *instrument_alert_str(enum strigil_alert a)
{
	return a == STRIGIL_ALERT_EXCEEDED ? "exceeded" :
	       a == STRIGIL_ALERT_WARNING ? "warning" : "off";
}

const char *instrument_stroke_rule(uint8_t channel_mask, bool contact_only)
{
	uint8_t sh = STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_X) | STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_Y);

	return (channel_mask & sh) == sh && !contact_only ? "reversal" : "contact";
}

static const char *const channel_names[STRIGIL_MAX_CHANNELS] = {
	"normal", "shear_x", "shear_y", "tilt",
};

unsigned instrument_channel_ids(uint8_t channel_mask, uint8_t ids[STRIGIL_MAX_CHANNELS])
{
	unsigned ch, n = 0;

	for (ch = 0; ch < STRIGIL_MAX_CHANNELS; ch++)
		if (channel_mask & STRIGIL_CH_BIT(ch))
			ids[n++] = (uint8_t)ch;
	return n;
}

const char *instrument_channel_name(unsigned id)
{
	return id < STRIGIL_MAX_CHANNELS ? channel_names[id] : "unknown";
}

/* ---- checks ------------------------------------------------------------- */

const char *instrument_verdict_str(enum instrument_verdict v)
{
	switch (v) {
	case INSTRUMENT_OK: return "ok";
	case INSTRUMENT_BAD_ARGUMENT: return "bad-argument";
	case INSTRUMENT_UNPLUGGED: return "unplugged";
	case INSTRUMENT_NOT_CLAIMED: return "not-claimed";
	case INSTRUMENT_NOT_STREAMING: return "not-streaming";
	case INSTRUMENT_BUSY: return "busy";
	}
	return "unknown";
}

static enum instrument_verdict refuse(enum instrument_verdict v, char *msg, size_t msglen,
				      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum instrument_verdict refuse(enum instrument_verdict v, char *msg, size_t msglen,
				      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return v;
}

static enum instrument_verdict unplugged(const char *serial, char *msg, size_t msglen)
{
	return refuse(INSTRUMENT_UNPLUGGED, msg, msglen,
		      "Instrument %s is unplugged; plug it in and retry.", serial);
}

enum instrument_verdict instrument_check_tare(const char *serial, bool connected,
					      bool streaming, char *msg, size_t msglen)
{
	if (!connected)
		return unplugged(serial, msg, msglen);
	if (!streaming)
		return refuse(INSTRUMENT_NOT_STREAMING, msg, msglen,
			      "Instrument %s is not streaming; Claim() it or start a session first.",
			      serial);
	return INSTRUMENT_OK;
}

enum instrument_verdict instrument_check_open_stream(const char *serial, unsigned open,
						     unsigned max, bool connected,
						     char *msg, size_t msglen)
{
	if (open >= max)
		return refuse(INSTRUMENT_BUSY, msg, msglen,
			      "Instrument %s already has %u open streams; close one first.",
			      serial, open);
	if (!connected)
		return unplugged(serial, msg, msglen);
	return INSTRUMENT_OK;
}

enum instrument_verdict instrument_check_read_point(const char *serial, double seconds,
						    bool connected, bool claimed,
						    unsigned rate_hz, uint64_t *samples,
						    char *msg, size_t msglen)
{
	if (!double_ok(seconds) || seconds < 0.1 || seconds > 30)
		return refuse(INSTRUMENT_BAD_ARGUMENT, msg, msglen,
			      "ReadPoint needs 0.1 to 30 seconds, got %g.", seconds);
	if (!connected)
		return unplugged(serial, msg, msglen);
	if (!claimed)
		return refuse(INSTRUMENT_NOT_CLAIMED, msg, msglen,
			      "Claim() instrument %s before reading calibration points.", serial);
	*samples = (uint64_t)ceil(seconds * rate_hz);
	return INSTRUMENT_OK;
}

enum instrument_verdict
instrument_check_calibration(const struct instrument_cal_request *req, const char *serial,
			     uint8_t channel_mask, bool connected,
			     struct sg_calibration *out, char *msg, size_t msglen)
{
	uint8_t ids[STRIGIL_MAX_CHANNELS];
	unsigned k, n = instrument_channel_ids(channel_mask, ids);
	const char *tech = req->technician;

	if (!tech || !req->have_due || !req->have_offset || !req->have_scale)
		return refuse(INSTRUMENT_BAD_ARGUMENT, msg, msglen,
			      "WriteCalibration needs technician, due, offset and scale.");
	if (!*tech || strlen(tech) >= sizeof(out->technician))
		return refuse(INSTRUMENT_BAD_ARGUMENT, msg, msglen,
			      "Technician id must be 1 to %zu characters.",
			      sizeof(out->technician) - 1);
	for (k = 0; tech[k]; k++)
		if (tech[k] < 0x21 || tech[k] > 0x7e)
			return refuse(INSTRUMENT_BAD_ARGUMENT, msg, msglen,
				      "Technician id must be printable ASCII without spaces.");
	if (req->date_us == 0 || req->due_us <= req->date_us)
		return refuse(INSTRUMENT_BAD_ARGUMENT, msg, msglen,
			      "The due date must come after the calibration date.");
	for (k = 0; k < n; k++) {
		if (!double_ok(req->offset[k]) || fabs(req->offset[k]) > 2147483647.0)
			return refuse(INSTRUMENT_BAD_ARGUMENT, msg, msglen,
				      "Offset of channel %s is not a finite raw count.",
				      channel_names[ids[k]]);
		if (!double_ok(req->scale[k]) || req->scale[k] <= 0 || req->scale[k] > 1.0)
			return refuse(INSTRUMENT_BAD_ARGUMENT, msg, msglen,
				      "Scale of channel %s must be finite, > 0 and <= 1 unit per count.",
				      channel_names[ids[k]]);
	}
	if (!connected)
		return unplugged(serial, msg, msglen);

	memset(out, 0, sizeof(*out));
	out->channel_mask = channel_mask;
	for (k = 0; k < n; k++) {
		out->offset[ids[k]] = req->offset[k];
		out->scale[ids[k]] = req->scale[k];
	}
	out->cal_date = (int64_t)(req->date_us / 1000000u);
	out->due_date = (int64_t)(req->due_us / 1000000u);
	snprintf(out->technician, sizeof(out->technician), "%s", tech);
	return INSTRUMENT_OK;
}
