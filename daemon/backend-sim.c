/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated instruments (--simulate N): raw counts generated in real time
 * from an sd-event timer (a few ms per batch, only while streaming), sent
 * through the same path as a real device (calibration, engine, streams).
 * The signal is libstrigil's simulator (realistic) or flat noise, plus
 * strokes and spikes scripted over org.strigil.Strigil1.Debug.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "hotplug.h"
#include "instrument.h"
#include "util.h"

#define SIM_RATE_HZ		1000
#define SIM_TICK_USEC		5000
#define SIM_OFFSET		1000.0	/* raw counts at zero load */
#define SIM_SCALE		1e-4	/* N per count */
#define SIM_NOISE_N		0.01
#define SIM_MAX_SCRIPT		4096
#define SIM_ALERT_DELAYS	4096
#define SIM_TICK_RING		4096	/* about 20 s of ticks */

struct pulse {
	double peak_n, contact_s, gap_s;
};

struct sim {
	struct instrument *inst;
	sd_event_source *timer;
	uint64_t t0_usec, produced;
	uint32_t seq;
	bool flat;
	struct sg_sim *gen;
	uint64_t rng;
	struct pulse *script;
	size_t nscript, pos;
	double pulse_t;
	bool spike_pending;
	double spike_n;
	bool alert_broken;	/* Debug.BreakAlert: SET_ALERT fails like a STALL */
	/* Debug.AlertDelaysUs: for each switch of the tool to "exceeded",
	 * the time from the arrival of the samples that caused it (the
	 * reference of LimitExceeded's arrival_us) to the SET_ALERT; the
	 * tool's own alarm, which make bench's adversarial row reports */
	uint32_t alert_delay_us[SIM_ALERT_DELAYS];
	unsigned nalert_delays;
	/* Debug.TickLateUs: how late each tick ran after its due time (the
	 * last SIM_TICK_RING): a stalled event loop makes the instrument's
	 * samples wait before anything - the engine, the tool's alarm - sees
	 * them, which arrival_us (taken when they are read) cannot show */
	uint32_t tick_late_us[SIM_TICK_RING];
	unsigned ntick_late;
};

static double sim_uniform(struct sim *s)
{
	/* xorshift64*: deterministic, good enough for sensor noise */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double sim_noise(struct sim *s)
{
	/* Sum of uniforms: close enough to Gaussian for a noise floor. */
	return (sim_uniform(s) + sim_uniform(s) + sim_uniform(s) - 1.5) * 2.0 * SIM_NOISE_N;
}

static double sim_force(struct sim *s)
{
	double f = 0;

	if (s->pos < s->nscript) {
		const struct pulse *p = &s->script[s->pos];

		if (s->pulse_t < p->contact_s)
			f = p->peak_n * 0.5 * (1.0 - cos(2.0 * M_PI * s->pulse_t / p->contact_s));
		s->pulse_t += 1.0 / SIM_RATE_HZ;
		if (s->pulse_t >= p->contact_s + p->gap_s) {
			s->pos++;
			s->pulse_t = 0;
			if (s->pos == s->nscript) {
				free(s->script);
				s->script = NULL;
				s->nscript = s->pos = 0;
			}
		}
		f += sim_noise(s);
	} else if (!s->flat && s->gen) {
		struct sg_sample smp;

		if (sg_sim_next(s->gen, &smp) == 1)
			f = smp.force_n;
	} else {
		f = sim_noise(s);
	}
	if (s->spike_pending) {
		s->spike_pending = false;
		f = s->spike_n;
	}
	return f;
}

static int sim_tick(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sim *s = userdata;
	struct instrument *inst = s->inst;
	uint64_t now = now_monotonic_usec();
	uint64_t due = (now - s->t0_usec) * SIM_RATE_HZ / 1000000u;
	uint64_t n = due > s->produced ? due - s->produced : 0;
	const unsigned per_frame = STRIGIL_MAX_SAMPLES_PER_FRAME(1);

	uint64_t skipped = 0;

	s->tick_late_us[s->ntick_late++ % SIM_TICK_RING] =
		now > usec ? (now - usec > UINT32_MAX ? UINT32_MAX : (uint32_t)(now - usec)) : 0;

	/* The loop stalled: do not flood, start over - and say so: a real
	 * instrument's samples would be lost too (LostSamples counts them). */
	if (n > SIM_RATE_HZ) {
		skipped = n - SIM_RATE_HZ;
		n = SIM_RATE_HZ;
	}
	while (n > 0 && inst->streaming) {
		struct sg_block blk = {
			.lost_before = (uint32_t)(skipped > UINT32_MAX ? UINT32_MAX : skipped),
			.seq = s->seq++,
			.t0_us = (uint32_t)(s->produced * 1000000u / SIM_RATE_HZ),
			.channel_mask = STRIGIL_CH_BIT(STRIGIL_CH_NORMAL),
			.nchannels = 1,
		};
		unsigned i, k = n < per_frame ? (unsigned)n : per_frame;

		for (i = 0; i < k; i++)
			blk.raw[i][0] = (int32_t)lround(sim_force(s) / SIM_SCALE + SIM_OFFSET);
		blk.nsamples = (uint8_t)k;
		n -= k;
		s->produced += k;
		skipped = 0;
		instrument_on_block(inst, &blk);
	}
	s->produced = due;
	if (!inst->streaming || !s->timer)
		return 0;
	sd_event_source_set_time(src, now + SIM_TICK_USEC);
	return sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

static int sim_start(struct instrument *inst)
{
	struct sim *s = inst->backend;
	int r;

	s->t0_usec = now_monotonic_usec();
	s->produced = 0;
	if (!s->timer) {
		/* Accuracy of one tick: sd-event coalesces the ticks of all
		 * simulated instruments into shared wake-ups (a tick then
		 * delivers 5-10 ms of samples, still one frame's worth), as a
		 * USB host controller's interrupt serves several devices. At
		 * 32 instruments this took the daemon from ~5 % to ~3.7 % of
		 * a core (make bench), the simulator's own cost. */
		r = sd_event_add_time(inst->d->event, &s->timer, CLOCK_MONOTONIC,
				      s->t0_usec + SIM_TICK_USEC, SIM_TICK_USEC, sim_tick, s);
		if (r < 0)
			return r;
		sd_event_source_set_description(s->timer, "sim-tick");
		(void)sd_event_source_set_priority(s->timer, SGD_PRIORITY_SAMPLES);
		return 0;
	}
	r = sd_event_source_set_time(s->timer, s->t0_usec + SIM_TICK_USEC);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void sim_stop(struct instrument *inst)
{
	struct sim *s = inst->backend;

	/* Only disabled: we may be inside sim_tick's call chain. */
	if (s->timer)
		sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
}

static int sim_set_alert(struct instrument *inst, enum strigil_alert a)
{
	struct sim *s = inst->backend;

	if (s->alert_broken)
		return -EPIPE;	/* what a STALLed control request gives */
	if (a == STRIGIL_ALERT_EXCEEDED && inst->in_block && s->nalert_delays < SIM_ALERT_DELAYS) {
		uint64_t d = now_monotonic_usec() - inst->block_arrival_usec;

		s->alert_delay_us[s->nalert_delays++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}
	log_debug("%s: alert %d (simulated LED/vibration)", inst->info.serial, (int)a);
	return 0;
}

static int sim_write_calibration(struct instrument *inst, const struct sg_calibration *c)
{
	/* The simulated device stores it; its own signal keeps its scale. */
	return 0;
}

static void sim_destroy(struct instrument *inst)
{
	struct sim *s = inst->backend;

	if (!s)
		return;
	sd_event_source_disable_unref(s->timer);
	sg_sim_free(s->gen);
	free(s->script);
	free(s);
}

static const struct backend_ops sim_ops = {
	.name = "simulated",
	.start = sim_start,
	.stop = sim_stop,
	.set_alert = sim_set_alert,
	.write_calibration = sim_write_calibration,
	.destroy = sim_destroy,
};

int sim_add_instruments(struct daemon *d, unsigned n, bool flat)
{
	unsigned i;

	for (i = 1; i <= n; i++) {
		struct sg_device_info info = {
			.model_id = STRIGIL_MODEL_S1,
			.channel_mask = STRIGIL_CH_BIT(STRIGIL_CH_NORMAL),
			.proto_version = STRIGIL_PROTO_VERSION,
			.default_rate_hz = SIM_RATE_HZ,
			.rates_hz = { SIM_RATE_HZ },
			.nrates = 1,
			.full_scale = { 1 << 23 },
		};
		struct sg_sim_config sc;
		struct sg_calibration cal;
		struct instrument *inst;
		struct sim *s;
		time_t now = time(NULL);

		snprintf(info.serial, sizeof(info.serial), "SIM%04u", i);
		snprintf(info.model, sizeof(info.model), "S1");
		snprintf(info.firmware, sizeof(info.firmware), "0.1.0-sim");
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->flat = flat;
		s->rng = 0x9e3779b97f4a7c15ULL * i;
		sg_sim_config_default(&sc);
		sc.seed = i;
		sc.rate_hz = SIM_RATE_HZ;
		sc.duration_s = 0;
		sc.drop_prob = 0;	/* device-level loss is modelled by Unplug */
		sc.jitter_s = 0;
		s->gen = sg_sim_new(&sc);
		inst = instrument_new(d, &info, &sim_ops, s);
		if (!inst) {
			sg_sim_free(s->gen);
			free(s);
			return -ENOMEM;
		}
		s->inst = inst;
		memset(&cal, 0, sizeof(cal));
		cal.channel_mask = info.channel_mask;
		cal.offset[STRIGIL_CH_NORMAL] = SIM_OFFSET;
		cal.scale[STRIGIL_CH_NORMAL] = SIM_SCALE;
		/* Calibrated at midnight today, due in a year... */
		cal.cal_date = now - now % 86400;
		cal.due_date = cal.cal_date + 365 * 86400;
		snprintf(cal.technician, sizeof(cal.technician), "factory");
		/* ...unless it was written since: a real device keeps what it was
		 * given, so the simulated one gets back its newest record. */
		{
			struct sgd_calibration_rec *hist = NULL;
			size_t nh = 0;

			if (sgd_store_calibration_list(d->store, info.serial, &hist, &nh) >= 0 &&
			    nh > 0 && hist[0].cal.channel_mask == info.channel_mask)
				cal = hist[0].cal;
			free(hist);
		}
		instrument_set_device(inst, "", &cal, true);
		instrument_publish(inst);
	}
	return 0;
}

/* ---- org.strigil.Strigil1.Debug ---------------------------------------- */

static int method_unplug(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;

	sim_stop(inst);
	instrument_set_connected(inst, false);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_replug(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;

	instrument_set_connected(inst, true);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_play(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	struct sim *s = inst->backend;
	struct pulse add[256], *ns;
	size_t n = 0;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(ddd)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(ddd)", &add[n].peak_n, &add[n].contact_s,
					&add[n].gap_s)) > 0) {
		const struct pulse *p = &add[n];

		if (!double_ok(p->peak_n) || p->peak_n < 0 || p->peak_n > 100 ||
		    !double_ok(p->contact_s) || p->contact_s < 0.01 || p->contact_s > 10 ||
		    !double_ok(p->gap_s) || p->gap_s < 0 || p->gap_s > 60)
			return error_invalid(error, "Stroke %zu: peak 0-100 N, contact 0.01-10 s and gap 0-60 s are required.",
					     n + 1);
		if (++n == sizeof(add) / sizeof(add[0]))
			return error_invalid(error, "At most %zu strokes per Play() call.", n - 1);
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (s->nscript + n > SIM_MAX_SCRIPT)
		return sd_bus_error_setf(error, SGD_ERR_BUSY,
					 "The script queue is full (%d strokes); wait for it to play.",
					 SIM_MAX_SCRIPT);
	ns = realloc(s->script, (s->nscript + n + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	memcpy(ns + s->nscript, add, n * sizeof(*ns));
	s->script = ns;
	s->nscript += n;
	return sd_bus_reply_method_return(m, NULL);
}

static int method_spike(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	struct sim *s = inst->backend;
	double f;
	int r;

	r = sd_bus_message_read(m, "d", &f);
	if (r < 0)
		return r;
	if (!double_ok(f) || f < 0 || f > 200)
		return error_invalid(error, "Spike force must be 0-200 N.");
	s->spike_n = f;
	s->spike_pending = true;
	return sd_bus_reply_method_return(m, NULL);
}

static int method_break_alert(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	struct sim *s = inst->backend;
	int broken, r;

	r = sd_bus_message_read(m, "b", &broken);
	if (r < 0)
		return r;
	s->alert_broken = broken;
	return sd_bus_reply_method_return(m, NULL);
}

static int method_remove(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct instrument *inst = userdata;
	int r;

	r = sd_bus_reply_method_return(m, NULL);
	instrument_remove(inst);
	return r;
}

/*
 * What is still queued, so that a test waits for its script to have been
 * played (in sample time) instead of guessing from the wall clock.
 */
SGD_GETTER(get_pending_strokes)
{
	const struct sim *s = ((const struct instrument *)userdata)->backend;

	return sd_bus_message_append(reply, "u", (uint32_t)(s->nscript - s->pos));
}

SGD_GETTER(get_spike_pending)
{
	const struct sim *s = ((const struct instrument *)userdata)->backend;

	return sd_bus_message_append(reply, "b", (int)s->spike_pending);
}

SGD_GETTER(get_alert_broken)
{
	const struct sim *s = ((const struct instrument *)userdata)->backend;

	return sd_bus_message_append(reply, "b", (int)s->alert_broken);
}

SGD_GETTER(get_alert_delays)
{
	const struct sim *s = ((const struct instrument *)userdata)->backend;

	return sd_bus_message_append_array(reply, 'u', s->alert_delay_us,
					   s->nalert_delays * sizeof(uint32_t));
}

SGD_GETTER(get_tick_late)
{
	const struct sim *s = ((const struct instrument *)userdata)->backend;
	unsigned n = s->ntick_late < SIM_TICK_RING ? s->ntick_late : SIM_TICK_RING;

	return sd_bus_message_append_array(reply, 'u', s->tick_late_us, n * sizeof(uint32_t));
}

static const sd_bus_vtable debug_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("PendingStrokes", "u", get_pending_strokes, 0, 0),
	SD_BUS_PROPERTY("SpikePending", "b", get_spike_pending, 0, 0),
	SD_BUS_PROPERTY("AlertBroken", "b", get_alert_broken, 0, 0),
	SD_BUS_PROPERTY("AlertDelaysUs", "au", get_alert_delays, 0, 0),
	SD_BUS_PROPERTY("TickLateUs", "au", get_tick_late, 0, 0),
	SD_BUS_METHOD_WITH_ARGS("BreakAlert", SD_BUS_ARGS("b", broken), SD_BUS_NO_RESULT,
				method_break_alert, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Unplug", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_unplug,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Replug", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_replug,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Play", SD_BUS_ARGS("a(ddd)", strokes), SD_BUS_NO_RESULT,
				method_play, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Spike", SD_BUS_ARGS("d", force_n), SD_BUS_NO_RESULT,
				method_spike, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_remove,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int debug_find(sd_bus *bus, const char *path, const char *interface,
		      void *userdata, void **found, sd_bus_error *error)
{
	struct instrument *inst = instrument_find_path(userdata, path);

	if (!inst || !inst->simulated)
		return 0;
	*found = inst;
	return 1;
}

int sim_setup_bus(struct daemon *d)
{
	return sd_bus_add_fallback_vtable(d->bus, NULL, SGD_PATH_INSTRUMENT, SGD_IFACE_DEBUG,
					  debug_vtable, debug_find, d);
}
