/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Instruments (instrument.c, the bus glue and the sample path;
 * instrument-core.c, the domain) and the backends that feed them
 * (backend-sim.c here; backend-iio.c, backend-usb.c: hotplug.h).
 */
#ifndef STRIGILD_INSTRUMENT_H
#define STRIGILD_INSTRUMENT_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "strigil.h"
#include "instrument-core.h"
#include "session-core.h"

struct daemon;
struct session;

#define SGD_FORCE_EMIT_USEC	(1000000 / 30)	/* ForceN changes at most 30 Hz */

/* ---- backends -------------------------------------------------------- */
struct backend_ops {
	const char *name;		/* "simulated", "iio", "usb" */
	/* Starts streaming at inst->rate_hz; samples come through
	 * instrument_on_block(). */
	int (*start)(struct instrument *inst);
	void (*stop)(struct instrument *inst);
	int (*set_alert)(struct instrument *inst, enum strigil_alert a);
	int (*write_calibration)(struct instrument *inst,
				 const struct sg_calibration *c);
	void (*destroy)(struct instrument *inst);
};

/* ---- instruments (instrument.c) ------------------------------------- */
struct stream_client;
struct read_point;

struct instrument {
	struct daemon *d;
	struct instrument *next;
	char *path;
	struct sg_device_info info;
	const struct backend_ops *ops;
	void *backend;			/* backend private data */
	char syspath[256];		/* udev device, "" for simulated */
	bool connected;
	bool simulated;
	unsigned nchannels;
	uint8_t channels[STRIGIL_MAX_CHANNELS];	/* channel ids present */
	unsigned rate_hz;
	struct sg_calibration cal;

	bool streaming;
	uint64_t lost_samples;
	uint64_t sample_index;		/* samples since first streamed (incl. lost) */
	uint64_t engine_base;		/* sample_index at the engine's time 0 */
	uint64_t unplugged_usec;	/* monotonic time of an unplug while streaming */
	uint64_t block_arrival_usec;	/* monotonic time the block in instrument_on_block() arrived */
	bool in_block;			/* inside instrument_on_block() */
	bool alert_dirty;		/* Alert changed in this block, not yet emitted */
	uint32_t alert_failures;	/* SET_ALERT requests the tool refused or lost */
	bool alert_failures_dirty;	/* changed in this block, not yet emitted */
	double force_n;			/* live, NaN when not streaming */
	uint64_t force_emitted_usec;
	double force_emitted;
	enum strigil_alert alert;

	struct sg_engine *engine;	/* live force, strokes, limits */
	sd_bus_track *claims;
	struct stream_client *streams;
	struct read_point *reads;
	struct session *session;	/* running/paused/disconnected one */
};

struct instrument *instrument_new(struct daemon *d, const struct sg_device_info *info,
				  const struct backend_ops *ops, void *backend);
void instrument_free(struct instrument *inst);
/* A device (re)appears behind a known object (the old backend is
 * destroyed); its udev path ("" for simulated) and calibration (NULL: none
 * valid); the device goes away (udev remove). */
void instrument_rebind(struct instrument *inst, const struct backend_ops *ops, void *backend,
		       const struct sg_device_info *info);
void instrument_set_device(struct instrument *inst, const char *syspath,
			   const struct sg_calibration *cal, bool simulated);
void instrument_unbind(struct instrument *inst);
/* Adds it to the daemon and announces it on the bus; inst->cal must be set. */
void instrument_publish(struct instrument *inst);
void instrument_reset_engine(struct instrument *inst, const struct sg_limit_config *lc);
struct instrument *instrument_find_serial(struct daemon *d, const char *serial);
struct instrument *instrument_find_path(struct daemon *d, const char *path);
/* Removes the object for good (InstrumentRemoved). */
void instrument_remove(struct instrument *inst);
/* Backends report plug state and data. */
void instrument_set_connected(struct instrument *inst, bool connected);
void instrument_on_block(struct instrument *inst, const struct sg_block *blk);
/* Re-evaluates whether streaming is wanted (claims, streams, session). */
void instrument_update_streaming(struct instrument *inst);
void instrument_set_alert(struct instrument *inst, enum strigil_alert a);
/* A SET_ALERT failed (at once or, for libusb, when its transfer ended):
 * counted in the AlertFailures property and logged. */
void instrument_alert_failed(struct instrument *inst, enum strigil_alert a, int err);
bool instrument_calibration_valid(const struct instrument *inst, int64_t now_s);
/* A session drives the instrument's engine through these; the instrument
 * owns it, and the fields of one module's struct are written only by it. */
void instrument_attach_session(struct instrument *inst, struct session *s,
			       const struct sg_limit_config *lc);
void instrument_detach_session(struct instrument *inst);
void instrument_set_limits(struct instrument *inst, const struct sg_limit_config *lc);
int instrument_engine_flush(struct instrument *inst, struct sg_event *ev, int max);
void instrument_engine_gap(struct instrument *inst, uint64_t samples);
double instrument_load_seconds(const struct instrument *inst);
double instrument_engine_delay(const struct instrument *inst);
/* The engine's clock on the timeline of its strokes (seconds since the
 * session's engine started, less its delay); NaN without a rate. */
double instrument_engine_now_s(const struct instrument *inst);
bool instrument_connected(const struct instrument *inst);
enum strigil_alert instrument_alert(const struct instrument *inst);
/* monotonic time the block being processed arrived */
uint64_t instrument_block_arrival(const struct instrument *inst);
/* What a start needs to know of it (session-core.h). */
void instrument_start_facts(const struct instrument *inst, struct session_start_instrument *f);
int instrument_setup_bus(struct daemon *d);
const char *instrument_step(const void *obj, const void **next);
extern const sd_bus_vtable instrument_vtable[];

/* ---- simulated backend (backend-sim.c) ------------------------------- */
int sim_add_instruments(struct daemon *d, unsigned n, bool flat);
int sim_setup_bus(struct daemon *d);

#endif
