/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instrument's domain: when it streams, what its calibration says,
 * where samples it never delivered are counted, what its properties read,
 * and the checks of Tare, ReadPoint and WriteCalibration - typed outcomes
 * and sentences, no bus, no device. daemon/instrument.c is the glue (the
 * sample path, the backends, the vtable, the error names). Unit-tested
 * without a bus in tests/daemon-unit/test-instrument-core.c.
 */
#ifndef STRIGILD_INSTRUMENT_CORE_H
#define STRIGILD_INSTRUMENT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strigil.h"

/* Who needs samples. Streaming runs only while someone does. */
struct instrument_demand {
	bool connected;
	bool session_running;		/* a session feeds its engine */
	unsigned claims;		/* clients that claimed it (monitors) */
	bool streams;			/* an OpenStream() socket is open */
	bool reads;			/* a ReadPoint() is pending */
};

bool instrument_streaming_wanted(const struct instrument_demand *d);

/* Calibrated, and not past its due date (0 = none) at now_s. */
bool instrument_cal_valid(const struct sg_calibration *c, int64_t now_s);

/* What the instrument would have sent while unplugged (lost samples). */
uint64_t instrument_unplugged_samples(uint64_t unplugged_usec, uint64_t now_usec,
				      unsigned rate_hz);

/* n samples never delivered: the engine is told of a gap when it is fed;
 * a session counts them as lost, and as paused time (a gap declared to
 * its engine on resume) when it is not running. */
struct instrument_lost {
	uint64_t engine_gap, session_lost, session_paused;
};

void instrument_account_lost(uint64_t n, bool has_session, bool feed,
			     struct instrument_lost *out);

/* Property texts. */
const char *instrument_alert_str(enum strigil_alert a);
/* "reversal" (strokes split where the blade turns round: both shear
 * channels, docs/engine.md) or "contact". */
const char *instrument_stroke_rule(uint8_t channel_mask, bool contact_only);
/* The channel ids a mask has, in order; returns how many. */
unsigned instrument_channel_ids(uint8_t channel_mask, uint8_t ids[STRIGIL_MAX_CHANNELS]);
const char *instrument_channel_name(unsigned id);

/* ---- checks of the methods ------------------------------------------- */

enum instrument_verdict {
	INSTRUMENT_OK = 0,
	INSTRUMENT_BAD_ARGUMENT,	/* InvalidArgument */
	INSTRUMENT_UNPLUGGED,		/* Disconnected */
	INSTRUMENT_NOT_CLAIMED,		/* NotClaimed: the caller holds no claim */
	INSTRUMENT_NOT_STREAMING,	/* NotClaimed: nobody made it stream */
	INSTRUMENT_BUSY,		/* Busy: as many streams open as it serves */
};

const char *instrument_verdict_str(enum instrument_verdict v);

enum instrument_verdict instrument_check_tare(const char *serial, bool connected,
					      bool streaming, char *msg, size_t msglen);

/* open: the streams open now, of at most max. */
enum instrument_verdict instrument_check_open_stream(const char *serial, unsigned open,
						     unsigned max, bool connected,
						     char *msg, size_t msglen);

/* *samples: how many to average at rate_hz (OK only). */
enum instrument_verdict instrument_check_read_point(const char *serial, double seconds,
						    bool connected, bool claimed,
						    unsigned rate_hz, uint64_t *samples,
						    char *msg, size_t msglen);

/* A WriteCalibration as the caller sent it (per channel of the
 * instrument, in the order of its channel ids). */
struct instrument_cal_request {
	const char *technician;		/* NULL: not given */
	uint64_t date_us;		/* calibration date, unix microseconds */
	uint64_t due_us;		/* 0: not given */
	bool have_due, have_offset, have_scale;
	const double *offset, *scale;	/* nchannels each */
};

/* Checks it against the instrument (serial, channel mask, plugged) and
 * fills *out (before the device's rounding, which the glue applies). */
enum instrument_verdict
instrument_check_calibration(const struct instrument_cal_request *req, const char *serial,
			     uint8_t channel_mask, bool connected,
			     struct sg_calibration *out, char *msg, size_t msglen);

#endif
