/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Instruments' bus glue and sample path: one D-Bus object per serial, kept
 * across re-plug; its decisions (streaming demand, lost samples, method
 * checks) are instrument-core.c's. It owns the stroke engine; a session
 * drives it through the instrument_engine_*() functions. Backends
 * (simulated, IIO, libusb) hand in blocks of raw counts; here they are
 * calibrated, fed to the engine (live force, strokes, limits), to the
 * calibration procedure (ReadPoint) and to OpenStream() sockets.
 * Streaming runs only while someone needs it: a claim, an open stream, a
 * pending ReadPoint or a session.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strigil/stream.h>

#include "daemon.h"
#include "hotplug.h"
#include "instrument.h"
#include "manager.h"
#include "session.h"
#include "util.h"

#define MAX_STREAMS_PER_INSTRUMENT	16
#define STREAM_SNDBUF			(64 * 1024)

struct stream_client {
	struct stream_client *next;
	struct instrument *inst;
	int fd;
	sd_event_source *io;
	uint64_t index;
	uint32_t dropped;
	uint32_t lost;
};

struct read_point {
	struct read_point *next;
	sd_bus_message *m;
	uint64_t want, n;
	double mean[STRIGIL_MAX_CHANNELS];
	double m2[STRIGIL_MAX_CHANNELS];
};

/* Fresh engine state; sample times restart at 0 (session time). */
void instrument_reset_engine(struct instrument *inst, const struct sg_limit_config *lc)
{
	struct sg_limit_config none;

	if (!lc) {
		sg_limit_config_default(&none);
		none.limit_n = 0;
		none.max_strokes = 0;
		none.max_load_s = 0;
		lc = &none;
	}
	sg_engine_init(inst->engine, &inst->d->stroke_config, lc);
	inst->engine_base = inst->sample_index;
}

static void emit(struct instrument *inst, const char *prop)
{
	sd_bus_emit_properties_changed(inst->d->bus, inst->path, SGD_IFACE_INSTRUMENT,
				       prop, NULL);
}

/* ---- what a session drives (the instrument owns its engine) ------------ */

void instrument_attach_session(struct instrument *inst, struct session *s,
			       const struct sg_limit_config *lc)
{
	inst->session = s;
	instrument_reset_engine(inst, lc);
	instrument_set_alert(inst, STRIGIL_ALERT_OFF);
	emit(inst, "ActiveSession");
}

void instrument_detach_session(struct instrument *inst)
{
	inst->session = NULL;
	instrument_set_alert(inst, STRIGIL_ALERT_OFF);
	emit(inst, "ActiveSession");
}

void instrument_set_limits(struct instrument *inst, const struct sg_limit_config *lc)
{
	sg_engine_set_limit(inst->engine, lc);
}

int instrument_engine_flush(struct instrument *inst, struct sg_event *ev, int max)
{
	return sg_engine_flush(inst->engine, ev, max);
}

void instrument_engine_gap(struct instrument *inst, uint64_t samples)
{
	sg_engine_gap(inst->engine, samples);
}

double instrument_load_seconds(const struct instrument *inst)
{
	return sg_engine_load_seconds(inst->engine);
}

double instrument_engine_delay(const struct instrument *inst)
{
	return sg_engine_delay(inst->engine);
}

double instrument_engine_now_s(const struct instrument *inst)
{
	if (!inst->rate_hz)
		return NAN;
	return (double)(inst->sample_index - inst->engine_base) / inst->rate_hz -
	       sg_engine_delay(inst->engine);
}

bool instrument_connected(const struct instrument *inst)
{
	return inst->connected;
}

enum strigil_alert instrument_alert(const struct instrument *inst)
{
	return inst->alert;
}

uint64_t instrument_block_arrival(const struct instrument *inst)
{
	return inst->block_arrival_usec;
}

void instrument_start_facts(const struct instrument *inst, struct session_start_instrument *f)
{
	*f = (struct session_start_instrument){
		.serial = inst->info.serial,
		.connected = inst->connected,
		.busy_with = inst->session ? session_path(inst->session) : NULL,
		.cal_date = inst->cal.cal_date,
		.due_date = inst->cal.due_date,
	};
}

struct instrument *instrument_find_serial(struct daemon *d, const char *serial)
{
	struct instrument *i;

	for (i = d->instruments; i; i = i->next)
		if (strcmp(i->info.serial, serial) == 0)
			return i;
	return NULL;
}

struct instrument *instrument_find_path(struct daemon *d, const char *path)
{
	struct instrument *i;

	for (i = d->instruments; i; i = i->next)
		if (strcmp(i->path, path) == 0)
			return i;
	return NULL;
}

bool instrument_calibration_valid(const struct instrument *inst, int64_t now_s)
{
	return instrument_cal_valid(&inst->cal, now_s);
}

/* ---- streaming ------------------------------------------------------- */

static bool streaming_wanted(struct instrument *inst)
{
	struct instrument_demand d = {
		.connected = inst->connected,
		.session_running = inst->session && session_feeds_engine(inst->session),
		.claims = (unsigned)sd_bus_track_count(inst->claims),
		.streams = inst->streams != NULL,
		.reads = inst->reads != NULL,
	};

	return instrument_streaming_wanted(&d);
}

static void reads_fail(struct instrument *inst, const char *name, const char *msg)
{
	while (inst->reads) {
		struct read_point *rp = inst->reads;

		inst->reads = rp->next;
		sd_bus_reply_method_errorf(rp->m, name, "%s", msg);
		sd_bus_message_unref(rp->m);
		free(rp);
	}
}

void instrument_update_streaming(struct instrument *inst)
{
	bool want = streaming_wanted(inst);
	int r;

	if (want == inst->streaming)
		return;
	if (want) {
		r = inst->ops->start(inst);
		if (r < 0) {
			log_err("%s: cannot start streaming: %s", inst->info.serial, strerror(-r));
			reads_fail(inst, SGD_ERR_DEVICE_ERROR,
				   "The instrument refused to start streaming.");
			return;
		}
		inst->streaming = true;
		/* A session keeps its engine state across a re-plug. */
		if (!inst->session)
			instrument_reset_engine(inst, NULL);
		log_debug("%s: streaming at %u Hz", inst->info.serial, inst->rate_hz);
	} else {
		if (inst->connected)
			inst->ops->stop(inst);
		inst->streaming = false;
		inst->force_n = NAN;
		emit(inst, "ForceN");
		log_debug("%s: streaming stopped", inst->info.serial);
	}
	emit(inst, "Streaming");
}

/* Inside a block of samples a property change waits until the block's
 * session signals are out (instrument_on_block emits it), so that it
 * never delays a LimitExceeded; outside one it goes at once. */
static void emit_after_block(struct instrument *inst, const char *prop, bool *pending)
{
	if (inst->in_block)
		*pending = true;
	else
		emit(inst, prop);
}

static void emit_pending(struct instrument *inst, const char *prop, bool *pending)
{
	if (*pending) {
		*pending = false;
		emit(inst, prop);
	}
}

void instrument_alert_failed(struct instrument *inst, enum strigil_alert a, int err)
{
	inst->alert_failures++;
	log_warn("%s: SET_ALERT %d failed: %s (%" PRIu32 " failed so far)", inst->info.serial,
		 (int)a, strerror(-err), inst->alert_failures);
	emit_after_block(inst, "AlertFailures", &inst->alert_failures_dirty);
}

void instrument_set_alert(struct instrument *inst, enum strigil_alert a)
{
	if (inst->alert == a)
		return;
	inst->alert = a;
	if (inst->connected && inst->ops->set_alert) {
		int r = inst->ops->set_alert(inst, a);

		if (r < 0)
			instrument_alert_failed(inst, a, r);
	}
	emit_after_block(inst, "Alert", &inst->alert_dirty);
}

static void stream_client_free(struct stream_client *c)
{
	struct stream_client **pp;

	for (pp = &c->inst->streams; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	sd_event_source_disable_unref(c->io);
	close(c->fd);
	free(c);
}

static void streams_send(struct instrument *inst, const struct strigil_stream_sample *smp,
			 unsigned n, uint32_t lost)
{
	struct stream_client *c, *next;
	struct {
		struct strigil_stream_hdr h;
		struct strigil_stream_sample s[STRIGIL_STREAM_MAX_SAMPLES];
	} pkt;

	memcpy(pkt.s, smp, n * sizeof(*smp));
	for (c = inst->streams; c; c = next) {
		ssize_t w;

		next = c->next;
		c->lost += lost;
		pkt.h = (struct strigil_stream_hdr){
			.magic = STRIGIL_STREAM_MAGIC,
			.version = STRIGIL_STREAM_VERSION,
			.count = (uint16_t)n,
			.first_index = c->index,
			.dropped = c->dropped,
			.lost = c->lost,
		};
		w = send(c->fd, &pkt, sizeof(pkt.h) + n * sizeof(*smp),
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		c->index += n;
		if (w >= 0) {
			c->dropped = 0;
			c->lost = 0;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			/* The reader is slow: drop, count, never block or queue. */
			c->dropped += n;
		} else {
			log_debug("%s: stream client gone: %m", inst->info.serial);
			stream_client_free(c);
			instrument_update_streaming(inst);
		}
	}
}

static void read_point_add(struct read_point *rp, unsigned nch, const int32_t *raw)
{
	unsigned k;

	rp->n++;
	for (k = 0; k < nch; k++) {
		double x = raw[k], delta = x - rp->mean[k];

		rp->mean[k] += delta / (double)rp->n;
		rp->m2[k] += delta * (x - rp->mean[k]);
	}
}

static void read_point_finish(struct instrument *inst, struct read_point *rp)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	unsigned k;
	int r;

	r = sd_bus_message_new_method_return(rp->m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sddt)");
	for (k = 0; r >= 0 && k < inst->nchannels; k++) {
		double sd = rp->n > 1 ? sqrt(rp->m2[k] / (double)(rp->n - 1)) : 0;

		r = sd_bus_message_append(reply, "(sddt)", instrument_channel_name(inst->channels[k]),
					  rp->mean[k], sd, (uint64_t)rp->n);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	if (r < 0)
		log_warn("%s: ReadPoint reply failed: %s", inst->info.serial, strerror(-r));
}

static void reads_feed(struct instrument *inst, const int32_t *raw)
{
	struct read_point **pp = &inst->reads;

	while (*pp) {
		struct read_point *rp = *pp;

		read_point_add(rp, inst->nchannels, raw);
		if (rp->n >= rp->want) {
			*pp = rp->next;
			read_point_finish(inst, rp);
			sd_bus_message_unref(rp->m);
			free(rp);
			continue;
		}
		pp = &rp->next;
	}
}

/* The hot path: O(channels) per sample, no allocation. */
void instrument_on_block(struct instrument *inst, const struct sg_block *blk)
{
	struct strigil_stream_sample out[STRIGIL_MAX_SAMPLES_ANY];
	struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
	struct session *s = inst->session;
	bool feed = !s || session_feeds_engine(s);
	unsigned i, k, n = blk->nsamples;
	uint64_t now;

	if (!inst->streaming)
		return;
	if (blk->nchannels != inst->nchannels) {
		/* a backend bug or a device that changed under us: count, skip */
		inst->lost_samples += blk->nsamples;
		return;
	}
	/* arrival of these samples (LimitExceeded carries it: daemon path latency) */
	now = now_monotonic_usec();
	inst->block_arrival_usec = now;
	inst->in_block = true;
	if (n > STRIGIL_MAX_SAMPLES_ANY)
		n = STRIGIL_MAX_SAMPLES_ANY;
	if (blk->lost_before) {
		inst->lost_samples += blk->lost_before;
		inst->sample_index += blk->lost_before;
		struct instrument_lost acc;

		instrument_account_lost(blk->lost_before, s != NULL, feed, &acc);
		if (s)
			session_count_samples(s, acc.session_lost, acc.session_paused);
		if (acc.engine_gap)
			sg_engine_gap(inst->engine, acc.engine_gap);
		emit(inst, "LostSamples");
	}
	for (i = 0; i < n; i++) {
		struct sg_sample smp = {
			.t_s = (double)(inst->sample_index - inst->engine_base) / inst->rate_hz,
		};
		double v[STRIGIL_MAX_CHANNELS] = { 0 };
		int nev;

		for (k = 0; k < inst->nchannels; k++)
			v[inst->channels[k]] = sg_calibration_apply(&inst->cal, inst->channels[k],
								    blk->raw[i][k]);
		smp.force_n = v[STRIGIL_CH_NORMAL];
		smp.shear_x_n = v[STRIGIL_CH_SHEAR_X];
		smp.shear_y_n = v[STRIGIL_CH_SHEAR_Y];
		smp.tilt_deg = v[STRIGIL_CH_TILT];
		if (inst->info.channel_mask & (STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_X) |
					       STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_Y)))
			smp.has |= SG_HAS_SHEAR;
		if (inst->info.channel_mask & STRIGIL_CH_BIT(STRIGIL_CH_TILT))
			smp.has |= SG_HAS_TILT;

		out[i] = (struct strigil_stream_sample){
			.t_s = smp.t_s, .force_n = (float)smp.force_n,
			.shear_x_n = (float)smp.shear_x_n, .shear_y_n = (float)smp.shear_y_n,
			.tilt_deg = (float)smp.tilt_deg, .has = smp.has, .flags = blk->flags,
		};
		if (inst->reads)
			reads_feed(inst, blk->raw[i]);
		if (feed) {
			nev = sg_engine_feed(inst->engine, &smp, ev, SG_MAX_EVENTS_PER_SAMPLE);
			if (nev > 0 && s)
				session_on_events(s, ev, nev);
			/* session_on_events may end the session (never frees inst). */
			s = inst->session;
			feed = !s || session_feeds_engine(s);
		} else if (s) {
			session_count_samples(s, 0, 1);
		}
		inst->sample_index++;
		if (!inst->streaming)
			break;
	}
	/* The block's events: one commit, then their signals; then the
	 * Alert property the block changed (the tool itself was alarmed at
	 * once: a property change must not delay the LimitExceeded signal). */
	if (inst->session)
		session_flush(inst->session);
	inst->in_block = false;
	emit_pending(inst, "Alert", &inst->alert_dirty);
	emit_pending(inst, "AlertFailures", &inst->alert_failures_dirty);
	if (!inst->streaming)
		return;
	if (inst->streams)
		streams_send(inst, out, n, blk->lost_before);

	inst->force_n = feed ? sg_engine_force(inst->engine)
			     : (double)out[n ? n - 1 : 0].force_n;
	/* Live force is for clients that claimed the instrument (a monitor):
	 * sessions nobody watches must not flood the bus (30 Hz per
	 * instrument was the largest share of CPU at 32 instruments). */
	if (sd_bus_track_count(inst->claims) > 0 &&
	    now - inst->force_emitted_usec >= SGD_FORCE_EMIT_USEC &&
	    fabs(inst->force_n - inst->force_emitted) >= 0.001) {
		inst->force_emitted_usec = now;
		inst->force_emitted = inst->force_n;
		emit(inst, "ForceN");
	}
}

void instrument_set_connected(struct instrument *inst, bool connected)
{
	if (inst->connected == connected)
		return;
	inst->connected = connected;
	log_info("%s: %s", inst->info.serial, connected ? "connected" : "disconnected");
	if (connected && inst->unplugged_usec) {
		/* What the instrument would have sent while unplugged is lost. */
		uint64_t lost = instrument_unplugged_samples(inst->unplugged_usec,
							     now_monotonic_usec(), inst->rate_hz);

		inst->unplugged_usec = 0;
		inst->lost_samples += lost;
		inst->sample_index += lost;
		if (inst->session)
			session_count_samples(inst->session, lost, lost);
		emit(inst, "LostSamples");
	}
	if (!connected) {
		/* The backend is gone; nothing to stop. */
		if (inst->streaming) {
			inst->unplugged_usec = now_monotonic_usec();
			inst->streaming = false;
			inst->force_n = NAN;
			emit(inst, "Streaming");
			emit(inst, "ForceN");
		}
		reads_fail(inst, SGD_ERR_DISCONNECTED,
			   "The instrument was unplugged during the measurement; plug it in and repeat.");
		/* An unplugged tool shows no alert: a client that drew the
		 * alarm from Alert must hear that it went off. */
		if (inst->alert != STRIGIL_ALERT_OFF) {
			inst->alert = STRIGIL_ALERT_OFF;
			emit_after_block(inst, "Alert", &inst->alert_dirty);
		}
	}
	emit(inst, "Connected");
	manager_notify_status(inst->d);
	if (inst->session)
		session_on_connected(inst->session, connected);
	instrument_update_streaming(inst);
}

/* ---- lifetime ---------------------------------------------------------- */

static int claims_empty(sd_bus_track *t, void *userdata)
{
	struct instrument *inst = userdata;

	emit(inst, "Claims");
	instrument_update_streaming(inst);
	/* 0 would make sd-bus queue the (still empty) track again at once */
	return 1;
}

struct instrument *instrument_new(struct daemon *d, const struct sg_device_info *info,
				  const struct backend_ops *ops, void *backend)
{
	struct instrument *inst = calloc(1, sizeof(*inst));
	struct sgd_instrument_rec rec = { 0 };
	int r;

	if (!inst)
		return NULL;
	inst->d = d;
	inst->info = *info;
	inst->ops = ops;
	inst->backend = backend;
	inst->force_n = NAN;
	inst->rate_hz = info->default_rate_hz ? info->default_rate_hz : 1000;
	inst->nchannels = instrument_channel_ids(info->channel_mask, inst->channels);
	inst->engine = sg_engine_new(&d->stroke_config, NULL);
	r = sd_bus_path_encode(SGD_PATH_INSTRUMENT, info->serial, &inst->path);
	if (!inst->engine || r < 0)
		goto fail;
	r = sd_bus_track_new(d->bus, &inst->claims, claims_empty, inst);
	if (r < 0)
		goto fail;
	sd_bus_track_set_recursive(inst->claims, true);

	snprintf(rec.serial, sizeof(rec.serial), "%s", info->serial);
	snprintf(rec.model, sizeof(rec.model), "%s", info->model);
	snprintf(rec.firmware, sizeof(rec.firmware), "%s", info->firmware);
	rec.first_seen_us = rec.last_seen_us = (int64_t)now_realtime_usec();
	r = sgd_store_instrument_seen(d->store, &rec);
	if (r < 0)
		log_warn("%s: cannot record instrument: %s", info->serial,
			 sgd_store_errmsg(d->store));
	return inst;
fail:
	sg_engine_free(inst->engine);
	free(inst->path);
	free(inst);
	return NULL;
}

/* ---- devices behind the object (hotplug.c, backend-sim.c) --------------- */

void instrument_rebind(struct instrument *inst, const struct backend_ops *ops, void *backend,
		       const struct sg_device_info *info)
{
	if (inst->ops && inst->ops->destroy && inst->backend)
		inst->ops->destroy(inst);
	inst->ops = ops;
	inst->backend = backend;
	inst->info = *info;
}

void instrument_set_device(struct instrument *inst, const char *syspath,
			   const struct sg_calibration *cal, bool simulated)
{
	snprintf(inst->syspath, sizeof(inst->syspath), "%s", syspath);
	memset(&inst->cal, 0, sizeof(inst->cal));
	inst->cal.channel_mask = inst->info.channel_mask;
	if (cal)
		inst->cal = *cal;
	inst->simulated = simulated;
}

void instrument_unbind(struct instrument *inst)
{
	instrument_set_connected(inst, false);
	if (inst->ops && inst->ops->destroy)
		inst->ops->destroy(inst);
	inst->backend = NULL;
	inst->syspath[0] = 0;
}

/* Adds it to the daemon and announces it. inst->cal must be set. */
void instrument_publish(struct instrument *inst)
{
	struct daemon *d = inst->d;
	struct sgd_calibration_rec *hist = NULL;
	size_t n = 0;

	inst->next = d->instruments;
	d->instruments = inst;
	inst->connected = true;
	/* The device's own calibration starts the history if it is new. */
	if (inst->cal.cal_date > 0 &&
	    sgd_store_calibration_list(d->store, inst->info.serial, &hist, &n) >= 0 &&
	    (n == 0 || hist[0].cal.cal_date != inst->cal.cal_date ||
	     memcmp(hist[0].cal.scale, inst->cal.scale, sizeof(inst->cal.scale)) != 0)) {
		struct sgd_calibration_rec rec = { 0 };

		snprintf(rec.instrument, sizeof(rec.instrument), "%s", inst->info.serial);
		rec.written_us = (int64_t)now_realtime_usec();
		rec.cal = inst->cal;
		if (sgd_store_calibration_add(d->store, &rec) < 0)
			log_warn("%s: cannot record calibration: %s", inst->info.serial,
				 sgd_store_errmsg(d->store));
	}
	free(hist);
	log_info("%s: new %s instrument %s firmware %s (%s)", inst->info.serial,
		 inst->ops->name, inst->info.model, inst->info.firmware, inst->path);
	sd_bus_emit_object_added(d->bus, inst->path);
	sd_bus_emit_signal(d->bus, SGD_ROOT, SGD_IFACE_MANAGER, "InstrumentAdded", "o",
			   inst->path);
	manager_emit_changed(d, "Instruments");
}

void instrument_free(struct instrument *inst)
{
	while (inst->streams)
		stream_client_free(inst->streams);
	reads_fail(inst, SGD_ERR_DISCONNECTED, "The instrument went away.");
	if (inst->ops && inst->ops->destroy)
		inst->ops->destroy(inst);
	inst->backend = NULL;
	sd_bus_track_unref(inst->claims);
	sg_engine_free(inst->engine);
	free(inst->path);
	free(inst);
}

void instrument_remove(struct instrument *inst)
{
	struct daemon *d = inst->d;
	struct instrument **pp;

	instrument_set_connected(inst, false);
	if (inst->session)
		session_detach_instrument(inst->session);
	for (pp = &d->instruments; *pp; pp = &(*pp)->next)
		if (*pp == inst) {
			*pp = inst->next;
			break;
		}
	sd_bus_emit_object_removed(d->bus, inst->path);
	sd_bus_emit_signal(d->bus, SGD_ROOT, SGD_IFACE_MANAGER, "InstrumentRemoved", "o",
			   inst->path);
	manager_emit_changed(d, "Instruments");
	instrument_free(inst);
}

/* ---- D-Bus ------------------------------------------------------------ */

/* The domain's refusals (instrument-core.c) as the bus's errors. */
static const char *const verdict_errors[] = {
	[INSTRUMENT_BAD_ARGUMENT] = SGD_ERR_INVALID_ARGUMENT,
	[INSTRUMENT_UNPLUGGED] = SGD_ERR_DISCONNECTED,
	[INSTRUMENT_NOT_CLAIMED] = SGD_ERR_NOT_CLAIMED,
	[INSTRUMENT_NOT_STREAMING] = SGD_ERR_NOT_CLAIMED,
	[INSTRUMENT_BUSY] = SGD_ERR_BUSY,
};

static int verdict_error(enum instrument_verdict v, const char *msg, sd_bus_error *error)
{
	return v == INSTRUMENT_OK ? 0 : sd_bus_error_set(error, verdict_errors[v], msg);
}

static int method_claim(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	int r;

	r = sd_bus_track_add_sender(inst->claims, m);
	if (r < 0)
		return r;
	emit(inst, "Claims");
	instrument_update_streaming(inst);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	int r;

	if (sd_bus_track_count_sender(inst->claims, m) <= 0)
		return sd_bus_error_setf(error, SGD_ERR_NOT_CLAIMED,
					 "You hold no claim on instrument %s.", inst->info.serial);
	r = sd_bus_track_remove_sender(inst->claims, m);
	if (r < 0)
		return r;
	emit(inst, "Claims");
	instrument_update_streaming(inst);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_tare(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	char msg[256];
	enum instrument_verdict v = instrument_check_tare(inst->info.serial, inst->connected,
							  inst->streaming, msg, sizeof(msg));

	if (v != INSTRUMENT_OK)
		return verdict_error(v, msg, error);
	sg_engine_tare(inst->engine);
	return sd_bus_reply_method_return(m, NULL);
}

static int stream_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct stream_client *c = userdata;
	struct instrument *inst = c->inst;
	char buf[64];

	/* Clients never send; anything readable is EOF or junk to discard. */
	if (!(revents & (EPOLLHUP | EPOLLERR)) && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		return 0;
	stream_client_free(c);
	instrument_update_streaming(inst);
	return 0;
}

static int method_open_stream(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	struct stream_client *c, *it;
	int sv[2], sndbuf = STREAM_SNDBUF, r;
	enum instrument_verdict v;
	unsigned count = 0;
	char msg[256];

	for (it = inst->streams; it; it = it->next)
		count++;
	v = instrument_check_open_stream(inst->info.serial, count, MAX_STREAMS_PER_INSTRUMENT,
					 inst->connected, msg, sizeof(msg));
	if (v != INSTRUMENT_OK)
		return verdict_error(v, msg, error);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	/* No shutdown(sv[1], SHUT_WR) here: it makes sv[0] read EOF at once,
	 * so stream_io() closed every stream right after OpenStream. A client
	 * that writes only gets its junk discarded by stream_io(). */
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	c->inst = inst;
	c->fd = sv[0];
	r = sd_event_add_io(inst->d->event, &c->io, c->fd, EPOLLIN, stream_io, c);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		free(c);
		return r;
	}
	c->next = inst->streams;
	inst->streams = c;
	r = sd_bus_reply_method_return(m, "h", sv[1]);
	close(sv[1]);
	if (r < 0) {
		stream_client_free(c);
		return r;
	}
	instrument_update_streaming(inst);
	return 1;
}

static int method_read_point(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	struct read_point *rp;
	enum instrument_verdict v;
	uint64_t want = 0;
	double seconds;
	char msg[256];
	int r;

	r = sd_bus_message_read(m, "d", &seconds);
	if (r < 0)
		return r;
	v = instrument_check_read_point(inst->info.serial, seconds, inst->connected,
					sd_bus_track_count_sender(inst->claims, m) > 0,
					inst->rate_hz, &want, msg, sizeof(msg));
	if (v != INSTRUMENT_OK)
		return verdict_error(v, msg, error);
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	rp->m = sd_bus_message_ref(m);
	rp->want = want;
	rp->next = inst->reads;
	inst->reads = rp;
	instrument_update_streaming(inst);
	return 1;	/* answered when enough samples were averaged */
}

/* {sv} key -> ad: the instrument's channels' entries of a per-channel array. */
static int append_channel_values(sd_bus_message *reply, const char *key,
				 const struct instrument *inst, const double *per_channel)
{
	double v[STRIGIL_MAX_CHANNELS];
	unsigned k;
	int r;

	for (k = 0; k < inst->nchannels; k++)
		v[k] = per_channel[inst->channels[k]];
	r = sd_bus_message_open_container(reply, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(reply, "s", key);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'v', "ad");
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'd', v, inst->nchannels * sizeof(double));
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

/* written_us < 0: no record (no history keys); replaced_us < 0: the
 * calibration in use (no replaced_at). record: the calibration record's id
 * (the certificate number), 0 = none. */
static int append_calibration(sd_bus_message *reply, const struct instrument *inst,
			      const struct sg_calibration *c, int64_t written_us,
			      const char *actor, int64_t replaced_us, int64_t record)
{
	int64_t now = (int64_t)(now_realtime_usec() / 1000000u);
	unsigned k;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}",
				  "date", "t", (uint64_t)(c->cal_date > 0 ? c->cal_date : 0) * 1000000u,
				  "due", "t", (uint64_t)(c->due_date > 0 ? c->due_date : 0) * 1000000u,
				  "technician", "s", c->technician,
				  "valid", "b", c->cal_date > 0 && (c->due_date == 0 || now < c->due_date));
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(reply, "s", "channels");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'v', "as");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "s");
	for (k = 0; r >= 0 && k < inst->nchannels; k++)
		r = sd_bus_message_append(reply, "s", instrument_channel_name(inst->channels[k]));
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	r = append_channel_values(reply, "offset", inst, c->offset);
	if (r >= 0)
		r = append_channel_values(reply, "scale", inst, c->scale);
	if (r < 0)
		return r;
	if (written_us >= 0) {
		r = sd_bus_message_append(reply, "{sv}{sv}{sv}", "written_at", "t", (uint64_t)written_us,
					  "actor", "s", actor, "record", "t", (uint64_t)record);
		if (r >= 0 && replaced_us >= 0)
			r = sd_bus_message_append(reply, "{sv}", "replaced_at", "t",
						  (uint64_t)replaced_us);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static bool same_calibration(const struct sg_calibration *a, const struct sg_calibration *b)
{
	return a->cal_date == b->cal_date && a->due_date == b->due_date &&
	       memcmp(a->offset, b->offset, sizeof(a->offset)) == 0 &&
	       memcmp(a->scale, b->scale, sizeof(a->scale)) == 0 &&
	       strncmp(a->technician, b->technician, sizeof(a->technician)) == 0;
}

static int method_get_calibration(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct sgd_calibration_rec *hist = NULL;
	size_t n = 0;
	int r;

	/* Who wrote the calibration in use, when, and its record: the newest
	 * record that is this calibration (none if it was never recorded). */
	if (sgd_store_calibration_list(inst->d->store, inst->info.serial, &hist, &n) < 0)
		n = 0;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = n > 0 && same_calibration(&hist[0].cal, &inst->cal) ?
		    append_calibration(reply, inst, &inst->cal, hist[0].written_us, hist[0].actor,
				       -1, hist[0].id) :
		    append_calibration(reply, inst, &inst->cal, -1, NULL, -1, 0);
	free(hist);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_get_calibration_history(sd_bus_message *m, void *userdata,
					  sd_bus_error *error)
{
	struct instrument *inst = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct sgd_calibration_rec *hist = NULL;
	size_t n = 0, i, first;
	int r;

	r = sgd_store_calibration_list(inst->d->store, inst->info.serial, &hist, &n);
	if (r < 0)
		return error_storage(error, r, "read the calibration history");
	/* The records are newest first; the newest is the calibration in use
	 * (when it is), each older one was replaced by the record before it. */
	first = n > 0 && same_calibration(&hist[0].cal, &inst->cal) ? 1 : 0;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	for (i = first; r >= 0 && i < n; i++)
		r = append_calibration(reply, inst, &hist[i].cal, hist[i].written_us,
				       hist[i].actor, i > 0 ? hist[i - 1].written_us : 0, hist[i].id);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	free(hist);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int read_double_array(sd_bus_message *m, double *out, unsigned want,
			     const char *key, sd_bus_error *error)
{
	const void *p;
	size_t sz;
	int r;

	r = sd_bus_message_read_array(m, 'd', &p, &sz);
	if (r < 0)
		return r;
	if (sz != want * sizeof(double))
		return error_invalid(error, "Calibration key '%s' needs %u values (one per channel), got %zu.",
				     key, want, sz / sizeof(double));
	memcpy(out, p, sz);
	return 0;
}

static int write_calibration(sd_bus_message *m, void *userdata, sd_bus_error *error);

static int method_write_calibration(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	int r = write_calibration(m, userdata, error);

	return r < 0 ? error_malformed(error, r) : r;
}

static int write_calibration(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	struct sg_calibration c = inst->cal;
	struct strigil_calibration wire;
	struct sgd_calibration_rec rec = { 0 };
	struct instrument_cal_request req;
	enum instrument_verdict v;
	char msg[256];
	double offset[STRIGIL_MAX_CHANNELS], scale[STRIGIL_MAX_CHANNELS];
	bool have_tech = false, have_due = false, have_off = false, have_scale = false;
	uint64_t date_us = now_realtime_usec(), due_us = 0;
	const char *tech = NULL;
	uid_t uid = (uid_t)-1;
	sd_bus_creds *creds = NULL;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "technician") == 0) {
			r = sd_bus_message_read(m, "v", "s", &tech);
			have_tech = true;
		} else if (strcmp(key, "date") == 0) {
			r = sd_bus_message_read(m, "v", "t", &date_us);
		} else if (strcmp(key, "due") == 0) {
			r = sd_bus_message_read(m, "v", "t", &due_us);
			have_due = true;
		} else if (strcmp(key, "offset") == 0 || strcmp(key, "scale") == 0) {
			bool is_off = key[0] == 'o';

			r = sd_bus_message_enter_container(m, 'v', "ad");
			if (r < 0)
				goto bad_type;
			r = read_double_array(m, is_off ? offset : scale, inst->nchannels, key, error);
			if (r < 0)
				return r;
			r = sd_bus_message_exit_container(m);
			if (is_off)
				have_off = true;
			else
				have_scale = true;
		} else {
			return error_invalid(error, "Unknown calibration key '%s' (known: technician, date, due, offset, scale).",
					     key);
		}
		if (r < 0)
			goto bad_type;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;

	req = (struct instrument_cal_request){
		.technician = have_tech ? tech : NULL, .date_us = date_us, .due_us = due_us,
		.have_due = have_due, .have_offset = have_off, .have_scale = have_scale,
		.offset = offset, .scale = scale,
	};
	v = instrument_check_calibration(&req, inst->info.serial, inst->info.channel_mask,
					 inst->connected, &c, msg, sizeof(msg));
	if (v != INSTRUMENT_OK)
		return verdict_error(v, msg, error);
	r = sg_calibration_to_wire(&c, &wire);
	if (r < 0)
		return error_invalid(error, "The calibration does not fit the instrument's format (offset or scale out of range).");
	/* What the device will store, exactly (rounded to its resolution). */
	r = sg_calibration_from_wire(&wire, &c);
	if (r < 0)
		return error_invalid(error, "The calibration does not round-trip through the wire format.");
	if (inst->ops->write_calibration) {
		r = inst->ops->write_calibration(inst, &c);
		if (r < 0)
			return sd_bus_error_setf(error, SGD_ERR_DEVICE_ERROR,
						 "Instrument %s refused the calibration (%s); the old one is still active.",
						 inst->info.serial, strerror(-r));
	}
	inst->cal = c;
	if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds) >= 0)
		sd_bus_creds_get_euid(creds, &uid);
	sd_bus_creds_unref(creds);
	snprintf(rec.instrument, sizeof(rec.instrument), "%s", inst->info.serial);
	snprintf(rec.actor, sizeof(rec.actor), "uid:%d", (int)uid);
	rec.written_us = (int64_t)now_realtime_usec();
	rec.cal = c;
	r = sgd_store_calibration_add(inst->d->store, &rec);
	if (r < 0)
		log_err("%s: calibration written to the device but not recorded: %s",
			inst->info.serial, sgd_store_errmsg(inst->d->store));
	log_info("%s: calibration written by technician %s (uid %d), due %lld",
		 inst->info.serial, c.technician, (int)uid, (long long)c.due_date);
	sd_bus_emit_properties_changed(inst->d->bus, inst->path, SGD_IFACE_INSTRUMENT,
				       "CalibrationDate", "CalibrationDue", "CalibrationValid",
				       "CalibrationTechnician", NULL);
	return sd_bus_reply_method_return(m, NULL);
bad_type:
	return error_invalid(error, "A calibration key has the wrong type (technician s, date t, due t, offset ad, scale ad).");
}

/* One getter per computed property; the others are read by offset
 * (sd-bus's built-in getters, prop_get_chars/prop_get_bool). */

SGD_GETTER(get_backend)
{
	const struct instrument *inst = userdata;

	return sd_bus_message_append(reply, "s", inst->ops->name);
}

SGD_GETTER(get_channels)
{
	const struct instrument *inst = userdata;
	unsigned k;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	for (k = 0; r >= 0 && k < inst->nchannels; k++)
		r = sd_bus_message_append(reply, "s", instrument_channel_name(inst->channels[k]));
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* unix seconds (0 = never) at the offset, as microseconds */
SGD_GETTER(get_date_usec)
{
	int64_t sec = *(const int64_t *)userdata;

	return sd_bus_message_append(reply, "t", (uint64_t)(sec > 0 ? sec : 0) * 1000000u);
}

SGD_GETTER(get_calibration_valid)
{
	const struct instrument *inst = userdata;
	int64_t now = (int64_t)(now_realtime_usec() / 1000000u);

	return sd_bus_message_append(reply, "b", instrument_calibration_valid(inst, now));
}

SGD_GETTER(get_claims)
{
	const struct instrument *inst = userdata;

	return sd_bus_message_append(reply, "u", sd_bus_track_count(inst->claims));
}

SGD_GETTER(get_active_session)
{
	const struct instrument *inst = userdata;

	return sd_bus_message_append(reply, "o", inst->session ? session_path(inst->session) : "/");
}

SGD_GETTER(get_stroke_rule)
{
	const struct instrument *inst = userdata;

	return sd_bus_message_append(reply, "s",
				     instrument_stroke_rule(inst->info.channel_mask,
							    inst->d->stroke_config.contact_only));
}

SGD_GETTER(get_alert)
{
	const struct instrument *inst = userdata;

	return sd_bus_message_append(reply, "s", instrument_alert_str(inst->alert));
}

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST
/* a property computed by a getter, one read from a field */
#define P(name, sig, get, flags) SD_BUS_PROPERTY(name, sig, get, 0, flags)
#define F(name, sig, get, field, flags) \
	SD_BUS_PROPERTY(name, sig, get, offsetof(struct instrument, field), flags)

const sd_bus_vtable instrument_vtable[] = {
	SD_BUS_VTABLE_START(0),
	F("Serial", "s", prop_get_chars, info.serial, CONST),
	F("Model", "s", prop_get_chars, info.model, CONST),
	F("Firmware", "s", prop_get_chars, info.firmware, CONST),
	P("Backend", "s", get_backend, CONST),
	F("Connected", "b", prop_get_bool, connected, CHANGE),
	F("SampleRateHz", "u", NULL, rate_hz, CHANGE),
	P("Channels", "as", get_channels, CONST),
	F("CalibrationDate", "t", get_date_usec, cal.cal_date, CHANGE),
	F("CalibrationDue", "t", get_date_usec, cal.due_date, CHANGE),
	P("CalibrationValid", "b", get_calibration_valid, CHANGE),
	F("CalibrationTechnician", "s", prop_get_chars, cal.technician, CHANGE),
	F("LostSamples", "t", NULL, lost_samples, CHANGE),
	F("ForceN", "d", NULL, force_n, CHANGE),
	F("Streaming", "b", prop_get_bool, streaming, CHANGE),
	P("Claims", "u", get_claims, CHANGE),
	P("ActiveSession", "o", get_active_session, CHANGE),
	P("Alert", "s", get_alert, CHANGE),
	F("AlertFailures", "u", NULL, alert_failures, CHANGE),
	P("StrokeRule", "s", get_stroke_rule, CONST),
	SD_BUS_METHOD_WITH_ARGS("Claim", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_claim,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_release,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Tare", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_tare,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("OpenStream", SD_BUS_NO_ARGS, SD_BUS_RESULT("h", fd),
				method_open_stream, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReadPoint", SD_BUS_ARGS("d", seconds),
				SD_BUS_RESULT("a(sddt)", channels), method_read_point,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetCalibration", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a{sv}", calibration), method_get_calibration,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("WriteCalibration", SD_BUS_ARGS("a{sv}", calibration),
				SD_BUS_NO_RESULT, method_write_calibration,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetCalibrationHistory", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", history), method_get_calibration_history,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int instrument_find(sd_bus *bus, const char *path, const char *interface,
			   void *userdata, void **found, sd_bus_error *error)
{
	struct instrument *inst = instrument_find_path(userdata, path);

	if (!inst)
		return 0;
	*found = inst;
	return 1;
}

const char *instrument_step(const void *obj, const void **next)
{
	const struct instrument *i = obj;

	*next = i->next;
	return i->path;
}

static int instrument_enumerate(sd_bus *bus, const char *prefix, void *userdata,
				char ***nodes, sd_bus_error *error)
{
	struct daemon *d = userdata;

	return object_paths_strv(d->instruments, instrument_step, nodes);
}

int instrument_setup_bus(struct daemon *d)
{
	int r;

	r = sd_bus_add_fallback_vtable(d->bus, NULL, SGD_PATH_INSTRUMENT, SGD_IFACE_INSTRUMENT,
				       instrument_vtable, instrument_find, d);
	if (r < 0)
		return r;
	return sd_bus_add_node_enumerator(d->bus, NULL, SGD_PATH_INSTRUMENT,
					  instrument_enumerate, d);
}
