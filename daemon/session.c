/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions' bus glue: one patient, one instrument, one body region at a
 * time. What a start, a pause, a resume, a region change or a plug change
 * may do is decided in session-core.c (typed outcomes, unit-tested without
 * a bus; the clinical rules are rules.c); here are the facts it needs, the
 * error names of its outcomes (one table), the records and the signals.
 * The instrument's engine then checks every sample. Every stroke and violation is committed to the database
 * BEFORE its signal goes out, so a client never saw anything a crash
 * could lose. Finished and interrupted sessions stay available as objects
 * (reports), read back from storage.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-journal.h>

#include "daemon.h"
#include "hotplug.h"
#include "instrument.h"
#include "manager.h"
#include "profile.h"
#include "session.h"
#include "util.h"

/* Events of the current block of samples, committed together (see
 * "enforcement" below). */
struct pending {
	enum sg_event_type type;	/* STROKE, WARNING, EXCEEDED, CAP_* */
	struct sg_stroke stroke;	/* STROKE */
	struct sgd_violation v;		/* the others */
	int64_t wall_us;
};

#define PENDING_MAX 16	/* a full list is committed early */

struct session_batch {
	struct pending ev[PENDING_MAX];
	unsigned n;
};

struct session_extra {
	char override_reason[SGD_OVERRIDE_REASON_MAX];
	char override_contra[SGD_CONDITIONS_TEXT_MAX];
	uint32_t warnings;
	struct session_batch *batch;	/* only while live (about 40 KB: each
					 * violation has room for its cap reasons) */
	/* The summary with every record queued for the storage writer
	 * (s->rec has what is stored): the next job's row starts here. */
	struct {
		uint32_t strokes, violations;
		double peak_n, load_s;
	} ahead;
	uint32_t lost_records;		/* could not be queued (bound, memory) */
	/* The engine's start of the stroke in progress (or the last one):
	 * a warning or violation records the stroke it fell in. */
	double stroke_start_s;
	int64_t pause_id;		/* open pause record, 0 = none */
};

static void emit(struct session *s, const char *prop)
{
	sd_bus_emit_properties_changed(s->d->bus, s->path, SGD_IFACE_SESSION, prop, NULL);
}

struct session *session_find_path(struct daemon *d, const char *path)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		if (strcmp(s->path, path) == 0)
			return s;
	return NULL;
}

void session_free(struct session *s)
{
	free(s->limits);
	free(s->profile);
	if (s->extra)
		free(s->extra->batch);
	free(s->extra);
	free(s->path);
	free(s->instrument_path);
	free(s->profile_path);
	free(s);
}

static struct session *session_alloc(struct daemon *d, const struct sgd_session *rec)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	s->rec = *rec;
	s->extra = calloc(1, sizeof(*s->extra));
	if (!s->extra ||
	    asprintf(&s->path, SGD_PATH_SESSION "/%" PRId64, rec->id) < 0 ||
	    asprintf(&s->profile_path, SGD_PATH_PROFILE "/%" PRId64, rec->profile_id) < 0 ||
	    sd_bus_path_encode(SGD_PATH_INSTRUMENT, rec->instrument, &s->instrument_path) < 0) {
		session_free(s);
		return NULL;
	}
	/* append: the list is ordered by id */
	{
		struct session **pp = &d->sessions;

		while (*pp)
			pp = &(*pp)->next;
		*pp = s;
	}
	return s;
}

/*
 * Stored sessions are not all kept in memory: a clinic's history grows by
 * thousands a year, about 3.5 KB each as objects (make bench: 5,000 stored
 * sessions took strigild from 5.8 to 23.5 MB). The list holds the sessions
 * in progress and at most SESSION_CACHE_MAX ended ones; any other stored
 * session is loaded from the database when a caller names its path, and
 * the oldest ended one leaves the list. Nothing else keeps a pointer to an
 * ended session across event loop iterations (auth re-dispatches the
 * message, which looks the object up again).
 */
#define SESSION_CACHE_MAX 32

/* Drops ended sessions beyond the cache size, oldest first, never keep. */
static void sessions_trim(struct daemon *d, const struct session *keep)
{
	struct session **pp, *s;
	unsigned ended = 0;

	for (s = d->sessions; s; s = s->next)
		ended += !s->inst;
	for (pp = &d->sessions; *pp && ended > SESSION_CACHE_MAX; ) {
		s = *pp;
		if (s->inst || s == keep) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		session_free(s);
		ended--;
	}
}

static struct session *session_load(struct daemon *d, const char *path)
{
	int64_t id = object_path_id(path, SGD_PATH_SESSION);
	struct sgd_session rec;
	struct session *s;

	if (id <= 0 || sgd_store_session_get(d->store, id, &rec) < 0)
		return NULL;
	s = session_alloc(d, &rec);
	if (!s)
		return NULL;
	s->state = session_ended_state(rec.state);
	sessions_trim(d, s);
	return s;
}

int sessions_load(struct daemon *d)
{
	int64_t *ids = NULL;
	size_t n = 0;

	/* nothing is loaded: this checks that the sessions can be listed */
	if (sgd_store_session_ids(d->store, &ids, &n) < 0) {
		log_err("cannot list sessions: %s", sgd_store_errmsg(d->store));
		return -EIO;
	}
	free(ids);
	log_info("%zu stored session(s), served from the database", n);
	return 0;
}

/* ---- a{sv} records ----------------------------------------------------- */

static int append_reasons(sd_bus_message *reply, const char *text, bool only_winner);

/* "key": as of the cap's reasons (one per line in the record). */
static int append_reasons_entry(sd_bus_message *m, const char *key, const char *reasons)
{
	int r = sd_bus_message_open_container(m, 'e', "sv");

	if (r >= 0)
		r = sd_bus_message_append(m, "s", key);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "as");
	if (r >= 0)
		r = append_reasons(m, reasons, false);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

/* What was in force when a record happened: where (the site and its side)
 * and why its cap (st->limit_n / v->limit_n) was what it was. */
struct in_force {
	const char *region;		/* "calf:left" */
	enum sgd_side side;
	const char *reasons;		/* "" = not recorded (before schema 3) */
};

static int append_stroke(sd_bus_message *m, const struct sg_stroke *st, int64_t wall_us,
			 const struct in_force *f)
{
	const char *region = f->region;
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
				  "index", "u", st->index,
				  "time", "t", (uint64_t)wall_us,
				  "start_s", "d", st->start_s,
				  "end_s", "d", st->end_s,
				  "duration_s", "d", st->duration_s,
				  "peak_n", "d", st->peak_n,
				  "mean_n", "d", st->mean_n,
				  "impulse_ns", "d", st->impulse_ns,
				  "above_limit_s", "d", st->above_limit_s,
				  "limit_n", "d", st->limit_n,
				  "region", "s", region);
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}", "side", "s", sgd_side_str(f->side),
					  "cap_n", "d", st->limit_n);
	if (r >= 0)
		r = append_reasons_entry(m, "cap_reasons", f->reasons);
	if (r >= 0 && (st->has & SG_HAS_SHEAR))
		r = sd_bus_message_append(m, "{sv}{sv}", "peak_shear_n", "d", st->peak_shear_n,
					  "direction_deg", "d", st->direction_deg);
	if (r >= 0 && (st->has & SG_HAS_TILT))
		r = sd_bus_message_append(m, "{sv}", "mean_tilt_deg", "d", st->mean_tilt_deg);
	/* bursts: the continuous contact it belongs to, and how it ended */
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}", "burst", "u",
					  st->burst ? st->burst : st->index, "end", "s",
					  sg_stroke_end_str((enum sg_stroke_end)st->end));
	if (r < 0)
		return r;
	return sd_bus_message_close_container(m);
}

/* A burst's summary from its strokes (stored in order): the passes of one
 * burst are consecutive and share its index. Pure: no bus, no store. */
struct burst_sum {
	uint32_t index, passes;
	double start_s, end_s, peak_n;
};

static size_t bursts_of(const struct sgd_stroke_row *rows, size_t n, struct burst_sum *out)
{
	size_t nb = 0;

	for (size_t i = 0; i < n; i++) {
		const struct sg_stroke *st = &rows[i].stroke;
		uint32_t b = st->burst ? st->burst : st->index;

		if (nb == 0 || out[nb - 1].index != b) {
			out[nb++] = (struct burst_sum){ b, 0, st->start_s, st->end_s, st->peak_n };
		}
		out[nb - 1].passes++;
		out[nb - 1].end_s = st->end_s;
		if (st->peak_n > out[nb - 1].peak_n)
			out[nb - 1].peak_n = st->peak_n;
	}
	return nb;
}

static const char *violation_kind(enum sg_event_type t)
{
	switch (t) {
	case SG_EV_WARNING: return "warning";
	case SG_EV_EXCEEDED: return "exceeded";
	case SG_EV_CAP_STROKES: return "cap_strokes";
	case SG_EV_CAP_TIME: return "cap_time";
	default: return "other";
	}
}

/* arrival_us: CLOCK_MONOTONIC µs at which the samples that raised the event
 * reached the daemon (live signals only; 0 = not sent, e.g. GetViolations).
 * Lets a client measure the daemon path latency (make bench). */
static int append_violation(sd_bus_message *m, const struct sgd_violation *v,
			    uint64_t arrival_us)
{
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}{sv}",
				  "kind", "s", violation_kind(v->type),
				  "time", "t", (uint64_t)v->wall_us,
				  "t_s", "d", v->t_s,
				  "force_n", "d", v->force_n,
				  "limit_n", "d", v->limit_n,
				  "region", "s", v->region);
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}", "side", "s", sgd_side_str(v->side),
					  "cap_n", "d", v->limit_n, "start_s", "d", v->start_s);
	if (r >= 0)
		r = append_reasons_entry(m, "cap_reasons", v->has_cap_reasons ? v->cap_reasons : "");
	if (r >= 0 && arrival_us)
		r = sd_bus_message_append(m, "{sv}", "arrival_us", "t", arrival_us);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(m);
}

static int append_reasons(sd_bus_message *reply, const char *text, bool only_winner);
static int append_flag_names(sd_bus_message *m, uint32_t flags);

/* ---- limits -------------------------------------------------------------- */

static void apply_limits(struct session *s, const struct sgd_limits *l)
{
	if (s->limits)
		*s->limits = *l;
	session_record_apply_limits(&s->rec, l);
}

static void engine_limits(const struct sgd_limits *l, struct sg_limit_config *lc)
{
	sg_limit_config_default(lc);
	sgd_limits_to_engine(l, lc);
}

/* The start's refusals as the bus's errors, one table (the sentence is
 * the domain's, session-core.c). */
static const char *const start_errors[] = {
	[SESSION_START_BAD_TEXT] = SGD_ERR_INVALID_ARGUMENT,
	[SESSION_START_BAD_REGION] = SGD_ERR_INVALID_ARGUMENT,
	[SESSION_START_DISCONNECTED] = SGD_ERR_DISCONNECTED,
	[SESSION_START_BUSY] = SGD_ERR_BUSY,
	[SESSION_START_CONTRAINDICATED] = SGD_ERR_CONTRAINDICATED,
	[SESSION_START_BAD_OVERRIDE] = SGD_ERR_INVALID_ARGUMENT,
	[SESSION_START_NOT_CALIBRATED] = SGD_ERR_NOT_CALIBRATED,
	[SESSION_START_CAL_EXPIRED] = SGD_ERR_CALIBRATION_EXPIRED,
};

/* A transition the domain refused, as the bus's error. msg: the domain's
 * sentence where it has one (region changes). */
static int verdict_error(const struct session *s, enum session_verdict v, const char *msg,
			 sd_bus_error *error)
{
	switch (v) {
	case SESSION_OK:
		return 0;
	case SESSION_ENDED:
		return sd_bus_error_setf(error, SGD_ERR_INVALID_STATE,
					 "Session %" PRId64 " is %s; only its records can be read.",
					 s->rec.id, session_state_str(s->state));
	case SESSION_NOT_RUNNING:
		return sd_bus_error_setf(error, SGD_ERR_INVALID_STATE,
					 "Session %" PRId64 " is %s, not running.", s->rec.id,
					 session_state_str(s->state));
	case SESSION_NOT_PAUSED:
		return sd_bus_error_setf(error, SGD_ERR_INVALID_STATE,
					 "Session %" PRId64 " is %s, not paused.", s->rec.id,
					 session_state_str(s->state));
	case SESSION_UNPLUGGED:
		return sd_bus_error_setf(error, SGD_ERR_DISCONNECTED,
					 "Instrument %s is unplugged; the session resumes by itself when it is back.",
					 s->rec.instrument);
	case SESSION_BAD_TEXT:
	case SESSION_BAD_REGION:
		return sd_bus_error_set(error, SGD_ERR_INVALID_ARGUMENT, msg);
	case SESSION_CONTRAINDICATED:
		return sd_bus_error_set(error, SGD_ERR_CONTRAINDICATED, msg);
	}
	return -EINVAL;
}

/* ---- starting ------------------------------------------------------------- */

static void journal_session(struct session *s, const char *event, int prio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void journal_session(struct session *s, const char *event, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One journal entry, the structured one; stderr gets a readable line
	 * only when it is not the journal (foreground runs, tests). */
	if (!log_stderr_is_journal())
		log_msg(prio, "session %" PRId64 ": %s", s->rec.id, msg);
	sd_journal_send("MESSAGE=session %" PRId64 ": %s", s->rec.id, msg,
			"PRIORITY=%d", prio,
			"SYSLOG_IDENTIFIER=strigild",
			"STRIGIL_EVENT=%s", event,
			"STRIGIL_SESSION=%" PRId64, s->rec.id,
			"STRIGIL_INSTRUMENT=%s", s->rec.instrument,
			"STRIGIL_PROFILE=%" PRId64, s->rec.profile_id,
			"STRIGIL_PATIENT_REF=%s", s->rec.patient_ref,
			"STRIGIL_REGION=%s", s->rec.region,
			"STRIGIL_LIMIT_N=%.3f", s->rec.limit_n,
			NULL);
}

static int caller_actor(sd_bus_message *m, char *buf, size_t len)
{
	sd_bus_creds *creds = NULL;
	uid_t uid = (uid_t)-1;
	int r;

	r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
	if (r >= 0)
		r = sd_bus_creds_get_euid(creds, &uid);
	sd_bus_creds_unref(creds);
	if (r < 0)
		snprintf(buf, len, "bus:%s", sd_bus_message_get_sender(m) ?: "?");
	else
		snprintf(buf, len, "uid:%u", (unsigned)uid);
	return 0;
}

static int start_session(struct daemon *d, sd_bus_message *m, const char *inst_path,
			 const char *prof_path, const char *region, const char *override_reason,
			 const char *note, sd_bus_error *error)
{
	struct instrument *inst = instrument_find_path(d, inst_path);
	struct profile *prof = profile_find_path(d, prof_path);
	int64_t now_s = (int64_t)(now_realtime_usec() / 1000000u);
	struct session_start_instrument facts;
	struct session_start_result res;
	struct sgd_limits *l = NULL;
	struct sgd_session rec;
	struct sgd_audit audit = { 0 };
	struct sg_limit_config lc;
	struct session *s;
	int r;

	if (!inst)
		return sd_bus_error_setf(error, SGD_ERR_NO_SUCH_OBJECT,
					 "No instrument %s (see the Manager's Instruments).", inst_path);
	if (!prof)
		return sd_bus_error_setf(error, SGD_ERR_NO_SUCH_OBJECT,
					 "No profile %s (see the Manager's Profiles).", prof_path);
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	/* the domain decides (session-core.c); here are its facts and its IO */
	instrument_start_facts(inst, &facts);
	if (session_check_start(d->policy, &prof->p, region, &facts, override_reason, note,
				now_s, l, &res) != SESSION_START_OK) {
		r = sd_bus_error_set(error, start_errors[res.outcome], res.msg);
		goto out;
	}
	session_record_init(&rec, &prof->p, facts.serial, res.flags, (int64_t)now_realtime_usec());
	if (rec.flags & SGD_SESSION_F_OVERRIDE) {
		caller_actor(m, audit.actor, sizeof(audit.actor));
		snprintf(audit.action, sizeof(audit.action), "override_contraindication");
		audit.at_us = rec.started_us;
		audit.profile_id = prof->p.id;
		sgd_limits_contra_str(l, audit.conditions, sizeof(audit.conditions));
		snprintf(audit.reason, sizeof(audit.reason), "%s", override_reason);
	}
	/* the record carries the limits in force */
	session_record_apply_limits(&rec, l);
	r = sgd_store_session_create(d->store, &rec,
				     (rec.flags & SGD_SESSION_F_OVERRIDE) ? &audit : NULL);
	if (r < 0) {
		log_err("storage: %s", sgd_store_errmsg(d->store));
		r = error_storage(error, r, "record the new session");
		goto out;
	}
	s = session_alloc(d, &rec);
	if (!s) {
		r = -ENOMEM;
		goto out;
	}
	s->limits = malloc(sizeof(*s->limits));
	s->profile = malloc(sizeof(*s->profile));
	s->extra->batch = calloc(1, sizeof(*s->extra->batch));
	if (!s->limits || !s->profile || !s->extra->batch) {
		/* the row exists: close it rather than leave it running */
		sgd_store_session_finish(d->store, rec.id, SGD_SESSION_ABORTED,
					 (int64_t)now_realtime_usec(), NULL);
		s->state = SESSION_INTERRUPTED;
		r = -ENOMEM;
		goto out;
	}
	s->state = SESSION_RUNNING;
	s->inst = inst;
	s->extra->stroke_start_s = NAN;
	*s->profile = prof->p;
	apply_limits(s, l);
	if (rec.flags & SGD_SESSION_F_OVERRIDE) {
		snprintf(s->extra->override_reason, sizeof(s->extra->override_reason), "%s",
			 override_reason);
		snprintf(s->extra->override_contra, sizeof(s->extra->override_contra), "%s",
			 audit.conditions);
	}
	engine_limits(l, &lc);
	instrument_attach_session(inst, s, &lc);

	sd_bus_emit_object_added(d->bus, s->path);
	manager_emit_changed(d, "Sessions");
	manager_emit_changed(d, "ActiveSessions");
	instrument_update_streaming(inst);
	journal_session(s, "session-start", LOG_INFO,
			"started on %s for patient %s (profile %" PRId64 ") in %s, limit %.2f N (%s)%s%s%s",
			facts.serial, s->rec.patient_ref, prof->p.id, s->rec.region, l->limit_n,
			l->reasons[l->winner].text,
			(rec.flags & SGD_SESSION_F_UNCALIBRATED) ? ", UNCALIBRATED instrument" :
			(rec.flags & SGD_SESSION_F_CAL_EXPIRED) ? ", calibration EXPIRED" : "",
			note && *note ? "; note: " : "", note ? note : "");
	if (rec.flags & SGD_SESSION_F_OVERRIDE)
		journal_session(s, "contraindication-override", LOG_WARNING,
				"contraindication (%s) overridden by %s: %s", audit.conditions,
				audit.actor, override_reason);
	r = sd_bus_reply_method_return(m, "o", s->path);
out:
	free(l);
	return r;
}

int method_start_session(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *ipath, *ppath, *region;
	int r;

	r = sd_bus_message_read(m, "oos", &ipath, &ppath, &region);
	if (r < 0)
		return r;
	return start_session(userdata, m, ipath, ppath, region, NULL, NULL, error);
}

static int start_session_options(sd_bus_message *m, void *userdata, sd_bus_error *error);

int method_start_session_options(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	int r = start_session_options(m, userdata, error);

	return r < 0 ? error_malformed(error, r) : r;
}

static int start_session_options(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *ipath, *ppath, *region, *reason = NULL, *note = NULL;
	int r;

	r = sd_bus_message_read(m, "oos", &ipath, &ppath, &region);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, **dst;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "override_reason") == 0)
			dst = &reason;
		else if (strcmp(key, "note") == 0)
			dst = &note;
		else
			return error_invalid(error, "Unknown session option '%s' (known: override_reason, note).",
					     key);
		r = sd_bus_message_read(m, "v", "s", dst);
		if (r < 0)
			return error_invalid(error, "Session option '%s' must be a string.", key);
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (reason && !*reason)
		return error_invalid(error, "An override needs a reason (override_reason must not be empty).");
	return start_session(userdata, m, ipath, ppath, region, reason, note, error);
}

static const char *pending_kind(enum sg_event_type t);

/* ---- enforcement (called per engine event from the sample path) --------
 *
 * Events of one block of samples (one USB transfer or IIO read) are
 * recorded together: the tool is alarmed at once, the rows and the
 * session summary they change go into ONE commit (one fsync), and only
 * then are the signals sent: never signal what is not on disk. A warning
 * and the exceeded that follows it within one block thus share one fsync
 * (make bench, daemon path: about half of all LimitExceeded events had
 * waited for a second commit).
 *
 * The commit runs on the storage writer's thread (store-writer.h), never
 * on the event loop: when the block ends (session_flush) its events are
 * copied into a job and queued; the loop goes on at once (the block's
 * Alert property change, the next samples), and the job comes back
 * through the writer's eventfd once committed, in order; then its signals
 * go out (session_writer_dispatch). A disk that is slow, full or locked
 * by another process thus delays the records' signals - they wait until
 * their rows are stored, and are retried until then - but never the
 * alarm. Session state changes (pause, resume, region, end) go through
 * the same queue, so the database sees everything in the order it
 * happened, and their methods answer once it is stored (or say honestly
 * that it is not). */

enum job_kind { JOB_EVENTS, JOB_SUMMARY, JOB_STATE, JOB_FINISH, JOB_PAUSE, JOB_PAUSE_END };

struct record_job {
	struct sgd_write_job base;	/* first: the writer's view */
	enum job_kind kind;
	char path[64];			/* the session's object path */
	struct sgd_session next;	/* the row to write (summary, state);
					 * JOB_FINISH: then the final row */
	enum sgd_session_state final;	/* JOB_FINISH */
	int64_t now_us;
	uint64_t arrival_us;		/* JOB_EVENTS: the block's arrival */
	bool summary;			/* JOB_EVENTS: write next with the rows */
	enum sgd_side side;		/* JOB_EVENTS: the side in force */
	struct sgd_pause pause;		/* JOB_PAUSE; JOB_PAUSE_END: end_s, end_us */
	/* loop only (the writer never reads these): */
	sd_bus_message *reply;		/* method answered when stored */
	struct record_job *reply_next;	/* d->storage.reply_jobs */
	uint32_t warnings;		/* JOB_FINISH: for Stop's summary */
	uint64_t lost_samples;
	unsigned n;
	struct pending ev[];		/* JOB_EVENTS */
};

/* The writer's thread: one job, one commit. */
static int run_events(struct sgd_store *st, struct sgd_write_job *base)
{
	struct record_job *j = (struct record_job *)base;
	unsigned i;
	int r;

	r = sgd_store_begin(st);
	for (i = 0; r >= 0 && i < j->n; i++) {
		struct pending *p = &j->ev[i];

		/* every event of the job happened under the cap of j->next: a
		 * region change flushes the batch first */
		if (p->type == SG_EV_STROKE)
			r = sgd_store_add_stroke_ex(st, j->next.id, j->next.region, j->next.reasons,
						    &p->stroke, p->wall_us, NULL);
		else
			r = sgd_store_add_violation(st, &p->v);
	}
	/* the rows and the summary they change, together (a failed
	 * summary fails the job: it is tried again as a whole) */
	if (r >= 0 && j->summary)
		r = sgd_store_session_update(st, &j->next, j->ev[j->n - 1].wall_us);
	return sgd_store_end(st, r);
}

static int run_summary(struct sgd_store *st, struct sgd_write_job *base)
{
	struct record_job *j = (struct record_job *)base;

	return sgd_store_session_update(st, &j->next, j->now_us);
}

static int run_state(struct sgd_store *st, struct sgd_write_job *base)
{
	struct record_job *j = (struct record_job *)base;

	return sgd_store_session_set_state(st, j->next.id, j->next.state, j->now_us);
}

static int run_pause(struct sgd_store *st, struct sgd_write_job *base)
{
	struct record_job *j = (struct record_job *)base;

	return sgd_store_pause_begin(st, &j->pause);
}

static int run_pause_end(struct sgd_store *st, struct sgd_write_job *base)
{
	struct record_job *j = (struct record_job *)base;

	return sgd_store_pause_end_open(st, j->next.id, j->pause.end_s, j->pause.end_us);
}

static int run_finish(struct sgd_store *st, struct sgd_write_job *base)
{
	struct record_job *j = (struct record_job *)base;
	int r = sgd_store_session_update(st, &j->next, j->now_us);

	if (r >= 0)
		r = sgd_store_session_finish(st, j->next.id, j->final, j->now_us, &j->next);
	return r;
}

/* The row as the queue will have it: the record plus every event queued
 * (s->rec's summary counts only what is stored and signalled). */
static void queued_row(const struct session *s, struct sgd_session *row)
{
	*row = s->rec;
	row->stroke_count = s->extra->ahead.strokes;
	row->violation_count = s->extra->ahead.violations;
	row->peak_n = s->extra->ahead.peak_n;
	row->load_s = s->extra->ahead.load_s;
}

static struct record_job *job_new(struct session *s, enum job_kind kind, unsigned n)
{
	struct record_job *j = calloc(1, sizeof(*j) + n * sizeof(j->ev[0]));
	static int (*const run[])(struct sgd_store *, struct sgd_write_job *) = {
		[JOB_EVENTS] = run_events, [JOB_SUMMARY] = run_summary,
		[JOB_STATE] = run_state, [JOB_FINISH] = run_finish,
		[JOB_PAUSE] = run_pause, [JOB_PAUSE_END] = run_pause_end,
	};

	if (!j)
		return NULL;
	j->base.run = run[kind];
	j->kind = kind;
	snprintf(j->path, sizeof(j->path), "%s", s->path);
	queued_row(s, &j->next);
	j->now_us = (int64_t)now_realtime_usec();
	return j;
}

static void job_free(struct record_job *j)
{
	sd_bus_message_unref(j->reply);
	free(j);
}

/* Queues j, or counts it lost (the bounded queue is full: storage has
 * been failing for long). Returns j, or NULL when it was not queued
 * (then freed). Records are dropped only here, counted and flagged. */
static struct record_job *job_submit(struct session *s, struct record_job *j)
{
	struct daemon *d = s->d;
	int r = sgd_writer_submit(d->writer, &j->base);
	unsigned i;

	if (r >= 0)
		return j;
	if (j->n) {
		for (i = 0; i < j->n; i++)
			journal_session(s, "storage-error", LOG_ERR,
					"%s at t=%.3f s NOT stored: the storage queue is full (%s)",
					pending_kind(j->ev[i].type),
					j->ev[i].type == SG_EV_STROKE ? j->ev[i].stroke.end_s
								     : j->ev[i].v.t_s,
					strerror(-r));
		s->extra->lost_records += j->n;
		d->storage.dropped += j->n;
		if (!(s->rec.flags & SGD_SESSION_F_RECORDS_LOST)) {
			/* stored with the next summary that gets through */
			s->rec.flags |= SGD_SESSION_F_RECORDS_LOST;
			emit(s, "Flags");
		}
		emit(s, "LostRecords");
		storage_publish(d, true);
	} else {
		journal_session(s, "storage-error", LOG_ERR,
				"session state NOT stored: the storage queue is full (%s)",
				strerror(-r));
	}
	job_free(j);
	return NULL;
}

/* Answers m once j is stored (or says it is not, session_writer_dispatch). */
static int job_reply_later(struct session *s, struct record_job *j, sd_bus_message *m)
{
	j->reply = sd_bus_message_ref(m);
	j->reply_next = s->d->storage.reply_jobs;
	s->d->storage.reply_jobs = j;
	return 1;
}

static void signal_dict(struct daemon *d, const char *path, const char *name,
			int (*fill)(sd_bus_message *, const void *), const void *arg)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
	int r;

	r = sd_bus_message_new_signal(d->bus, &sig, path, SGD_IFACE_SESSION, name);
	if (r >= 0)
		r = fill(sig, arg);
	if (r >= 0)
		r = sd_bus_send(d->bus, sig, NULL);
	if (r < 0)
		log_err("%s: cannot emit %s: %s", path, name, strerror(-r));
}

struct stroke_arg {
	const struct sg_stroke *st;
	int64_t wall_us;
	struct in_force f;
};

static int fill_stroke(sd_bus_message *m, const void *p)
{
	const struct stroke_arg *a = p;

	return append_stroke(m, a->st, a->wall_us, &a->f);
}

struct violation_arg {
	const struct sgd_violation *v;
	uint64_t arrival_us;
};

static int fill_violation(sd_bus_message *m, const void *p)
{
	const struct violation_arg *a = p;

	return append_violation(m, a->v, a->arrival_us);
}

static struct pending *pending_add(struct session *s, enum sg_event_type type)
{
	struct session_batch *b = s->extra->batch;	/* live sessions have one */
	struct pending *p;

	if (b->n == PENDING_MAX)
		session_flush(s);
	p = &b->ev[b->n++];
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->wall_us = (int64_t)now_realtime_usec();
	return p;
}

static void pending_violation(struct session *s, const struct sg_event *ev)
{
	struct pending *p = pending_add(s, ev->type);

	p->v = (struct sgd_violation){
		.session_id = s->rec.id,
		.wall_us = p->wall_us,
		.type = ev->type,
		.t_s = ev->t_s,
		.force_n = ev->force_n,
		.limit_n = ev->limit_n,
		.side = s->limits ? s->limits->side : SGD_SIDE_UNKNOWN,
		.start_s = s->extra->stroke_start_s,
	};
	snprintf(p->v.region, sizeof(p->v.region), "%s", s->rec.region);
}

static void on_limit(struct session *s, const struct sg_event *ev)
{
	bool exceeded = ev->type == SG_EV_EXCEEDED;

	/* The tool alarms first, before any disk write: the patient comes
	 * first, and a slow or failed disk must neither delay nor silence it. */
	enum strigil_alert next;

	if (session_alert_on_limit(instrument_alert(s->inst), exceeded, &next))
		instrument_set_alert(s->inst, next);
	pending_violation(s, ev);
}

static void on_cap(struct session *s, const struct sg_event *ev)
{
	if (session_cap_first(&s->caps_sent, ev->type == SG_EV_CAP_STROKES))
		pending_violation(s, ev);
}

/* Records a committed limit event: journal and signal. */
static void limit_done(struct daemon *d, const struct record_job *j, const struct pending *p)
{
	bool exceeded = p->type == SG_EV_EXCEEDED;

	signal_dict(d, j->path, exceeded ? "LimitExceeded" : "LimitWarning", fill_violation,
		    &(struct violation_arg){ &p->v, j->arrival_us });
	if (!exceeded)
		return;
	sd_journal_send("MESSAGE=session %" PRId64 ": force %.2f N above the limit %.2f N in %s "
			"(patient %s)", j->next.id, p->v.force_n, p->v.limit_n, p->v.region,
			j->next.patient_ref,
			"PRIORITY=%d", LOG_WARNING,
			"SYSLOG_IDENTIFIER=strigild",
			"STRIGIL_EVENT=limit-exceeded",
			"STRIGIL_SESSION=%" PRId64, j->next.id,
			"STRIGIL_INSTRUMENT=%s", j->next.instrument,
			"STRIGIL_PATIENT_REF=%s", j->next.patient_ref,
			"STRIGIL_REGION=%s", p->v.region,
			"STRIGIL_FORCE_N=%.3f", p->v.force_n,
			"STRIGIL_LIMIT_N=%.3f", p->v.limit_n,
			"STRIGIL_T_S=%.3f", p->v.t_s,
			NULL);
	if (!log_stderr_is_journal())
		log_warn("session %" PRId64 ": LIMIT EXCEEDED %.2f N > %.2f N (%s)", j->next.id,
			 p->v.force_n, p->v.limit_n, p->v.region);
}

static const char *pending_kind(enum sg_event_type t)
{
	return t == SG_EV_STROKE ? "stroke" : violation_kind(t);
}

void session_flush(struct session *s)
{
	struct session_batch *b = s->extra->batch;
	struct record_job *j;
	bool summary = false;
	unsigned i, n = b ? b->n : 0;

	if (!n)		/* most blocks: nothing happened (and s->rec is big) */
		return;
	b->n = 0;
	j = job_new(s, JOB_EVENTS, n);
	if (!j) {
		/* the events are lost: say so (never silently) */
		s->extra->lost_records += n;
		s->d->storage.dropped += n;
		s->rec.flags |= SGD_SESSION_F_RECORDS_LOST;
		journal_session(s, "storage-error", LOG_ERR, "%u record(s) NOT stored: out of memory", n);
		return;
	}
	memcpy(j->ev, b->ev, n * sizeof(b->ev[0]));
	j->n = j->base.records = n;
	j->side = s->limits ? s->limits->side : SGD_SIDE_UNKNOWN;
	for (i = 0; i < n; i++)
		if (j->ev[i].type != SG_EV_STROKE) {
			/* the cap's reasons, as in force now (a region change
			 * flushes the batch first) */
			j->ev[i].v.has_cap_reasons = true;
			snprintf(j->ev[i].v.cap_reasons, sizeof(j->ev[i].v.cap_reasons), "%s",
				 s->rec.reasons);
		}
	/* all of them came with the instrument's current block */
	j->arrival_us = s->inst ? instrument_block_arrival(s->inst) : 0;
	for (i = 0; i < n; i++) {
		const struct pending *p = &b->ev[i];

		switch (p->type) {
		case SG_EV_STROKE:
			j->next.stroke_count++;
			if (p->stroke.peak_n > j->next.peak_n)
				j->next.peak_n = p->stroke.peak_n;
			summary = true;
			break;
		case SG_EV_EXCEEDED:
			j->next.violation_count++;
			summary = true;
			break;
		default:
			break;
		}
	}
	if (summary && s->inst)
		j->next.load_s = instrument_load_seconds(s->inst);
	j->summary = summary;
	if (!job_submit(s, j))
		return;
	s->extra->ahead.strokes = j->next.stroke_count;
	s->extra->ahead.violations = j->next.violation_count;
	s->extra->ahead.peak_n = j->next.peak_n;
	s->extra->ahead.load_s = j->next.load_s;
}

/* A committed events job: the session's stored summary moves on, and
 * the signals go out, in the order the events happened. */
static void events_done(struct daemon *d, struct session *s, const struct record_job *j)
{
	uint32_t violations = 0, warnings = 0;
	bool strokes = false;
	unsigned i;

	for (i = 0; i < j->n; i++) {
		const struct pending *p = &j->ev[i];
		const char *cap = p->type == SG_EV_CAP_STROKES ? "strokes" : "time";

		switch (p->type) {
		case SG_EV_STROKE:
			strokes = true;
			signal_dict(d, j->path, "StrokeCompleted", fill_stroke,
				    &(struct stroke_arg){ &p->stroke, p->wall_us,
					{ j->next.region, j->side, j->next.reasons } });
			break;
		case SG_EV_WARNING:
			warnings++;
			limit_done(d, j, p);
			break;
		case SG_EV_EXCEEDED:
			violations++;
			limit_done(d, j, p);
			break;
		case SG_EV_CAP_STROKES:
		case SG_EV_CAP_TIME:
			if (s)
				journal_session(s, "session-cap", LOG_NOTICE, "%s cap reached in %s",
						cap, p->v.region);
			sd_bus_emit_signal(d->bus, j->path, SGD_IFACE_SESSION, "SessionCapReached",
					   "s", cap);
			break;
		default:
			break;
		}
	}
	if (!s)
		return;
	if (j->summary) {
		s->rec.stroke_count = j->next.stroke_count;
		s->rec.violation_count = j->next.violation_count;
		s->rec.peak_n = j->next.peak_n;
		s->rec.load_s = j->next.load_s;
	}
	s->extra->warnings += warnings;
	if (violations)
		emit(s, "ViolationCount");
	if (warnings)
		emit(s, "WarningCount");
	if (strokes)
		sd_bus_emit_properties_changed(d->bus, s->path, SGD_IFACE_SESSION, "StrokeCount",
					       "SecondsUnderLoad", "PeakN", NULL);
}

static int append_summary(sd_bus_message *m, const struct sgd_session *rec,
			  enum session_state state, uint32_t warnings, uint64_t lost_samples);

/* A job that will never be stored: the daemon stops with storage failing
 * (-ECANCELED) or the row is refused for good. Its records are counted
 * lost and journalled. */
static void job_lost(struct daemon *d, struct session *s, const struct record_job *j)
{
	unsigned i;

	for (i = 0; i < j->n; i++)
		log_err("%s: %s at t=%.3f s NOT stored: %s", j->path, pending_kind(j->ev[i].type),
			j->ev[i].type == SG_EV_STROKE ? j->ev[i].stroke.end_s : j->ev[i].v.t_s,
			j->base.errmsg);
	if (!j->n)
		log_err("%s: session %s NOT stored: %s", j->path,
			j->kind == JOB_FINISH ? "end" : "state", j->base.errmsg);
	d->storage.dropped += j->n;
	if (s && j->n) {
		s->extra->lost_records += j->n;
		emit(s, "LostRecords");
	}
}

static void job_done(struct daemon *d, struct record_job *j)
{
	struct session *s = session_find_path(d, j->path);
	struct record_job **pp;

	if (j->base.result < 0) {
		job_lost(d, s, j);
		if (j->reply)
			sd_bus_reply_method_errorf(j->reply, SGD_ERR_STORAGE_FAILED,
						   "Done, but not stored: %s. The clinic's IT should check the disk of /var/lib/strigil.",
						   j->base.errmsg);
	} else {
		switch (j->kind) {
		case JOB_EVENTS:
			events_done(d, s, j);
			break;
		case JOB_FINISH:
			if (s) {
				s->rec = j->next;
				sd_bus_emit_properties_changed(d->bus, s->path, SGD_IFACE_SESSION,
							       "EndedAt", "StrokeCount",
							       "ViolationCount", "SecondsUnderLoad",
							       "PeakN", NULL);
			}
			if (j->reply) {
				_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
				int r = sd_bus_message_new_method_return(j->reply, &reply);

				if (r >= 0)
					r = append_summary(reply, &j->next, session_ended_state(j->final),
							   j->warnings, j->lost_samples);
				if (r >= 0)
					r = sd_bus_send(NULL, reply, NULL);
				if (r < 0)
					sd_bus_reply_method_errno(j->reply, r, NULL);
			}
			break;
		case JOB_SUMMARY:
		case JOB_STATE:
		case JOB_PAUSE:
		case JOB_PAUSE_END:
			if (j->reply)
				sd_bus_reply_method_return(j->reply, NULL);
			break;
		}
	}
	for (pp = &d->storage.reply_jobs; *pp; pp = &(*pp)->reply_next)
		if (*pp == j) {
			*pp = j->reply_next;
			break;
		}
	job_free(j);
}

/* The Manager's storage properties follow the writer's status; while it
 * fails, every method waiting for a write is answered at once with the
 * truth (done, not yet stored, retried) instead of hanging. */
const char *storage_state_str(const struct daemon *d)
{
	return d->storage.failing ? "failing" : d->storage.degraded ? "degraded" : "ok";
}

void storage_publish(struct daemon *d, bool force)
{
	struct sgd_writer_status st;
	bool changed;

	if (!d->writer)
		return;
	sgd_writer_status(d->writer, &st);
	int64_t held = sgd_store_wal_held_bytes(d->store);
	bool wal_held = held > (int64_t)d->policy->wal_held_mb << 20;
	bool degraded = (st.wal_lost || wal_held) && !st.failing;

	if (degraded && st.wal_lost)
		/* degraded, not failing: records are stored (checkpointed) */
		snprintf(st.errmsg, sizeof(st.errmsg), "the write-ahead log %.100s-wal was deleted "
			 "under strigild: every record is now checkpointed into the database; "
			 "restart strigild", sgd_store_path(d->store));
	else if (degraded)
		/* records are stored; the WAL cannot be copied back and grows */
		snprintf(st.errmsg, sizeof(st.errmsg), "the write-ahead log holds %lld MB that "
			 "another process's open read transaction (a backup, an sqlite3 shell) keeps "
			 "from the database: records are stored, the disk fills until it ends "
			 "([storage] wal_held_mb = %u)", (long long)(held >> 20),
			 (unsigned)d->policy->wal_held_mb);
	changed = st.failing != d->storage.failing || degraded != d->storage.degraded ||
		  ((st.failing || degraded) && strcmp(st.errmsg, d->storage.error) != 0);
	if (changed) {
		d->storage.failing = st.failing;
		d->storage.degraded = degraded;
		snprintf(d->storage.error, sizeof(d->storage.error), "%s", st.errmsg);
		if (st.failing)
			log_err("storage failing: %s (%u record(s) waiting, kept and retried)",
				st.errmsg, st.records);
		else if (degraded)
			log_msg(LOG_CRIT, "storage degraded: %s", st.errmsg);
		else
			log_info("storage back: every waiting record is stored");
		sd_bus_emit_signal(d->bus, SGD_ROOT, SGD_IFACE_MANAGER, "StorageStateChanged", "ss",
				   storage_state_str(d), st.errmsg);
	}
	if (changed || force || (st.records != d->storage.pending &&
				 (st.failing || d->storage.pending_published))) {
		d->storage.pending = st.records;
		/* while storage is fine the count changes with every block:
		 * published only while failing, and once when back to 0 */
		d->storage.pending_published = st.failing || st.records != 0;
		sd_bus_emit_properties_changed(d->bus, SGD_ROOT, SGD_IFACE_MANAGER, "StorageState",
					       "StorageError", "StoragePending", "StorageDropped",
					       NULL);
	}
	if (st.failing) {
		while (d->storage.reply_jobs) {
			struct record_job *j = d->storage.reply_jobs;

			d->storage.reply_jobs = j->reply_next;
			j->reply_next = NULL;
			sd_bus_reply_method_errorf(j->reply, SGD_ERR_STORAGE_FAILED,
						   "Done, but not stored yet: %s. strigild keeps it and retries until storage works again (strigilctl status shows the storage state).",
						   st.errmsg);
			j->reply = sd_bus_message_unref(j->reply);
		}
	}
}

void session_writer_dispatch(struct daemon *d)
{
	struct sgd_write_job *job;

	sgd_writer_ack(d->writer);
	while ((job = sgd_writer_pop(d->writer)))
		job_done(d, (struct record_job *)job);
	storage_publish(d, false);
	/* signals are out: now the WAL checkpoint may run, if one is due */
	sgd_store_kick(d->store);
}

void session_on_events(struct session *s, const struct sg_event *ev, int n)
{
	int i;

	for (i = 0; i < n && s->inst; i++) {
		switch (ev[i].type) {
		case SG_EV_STROKE:
			pending_add(s, SG_EV_STROKE)->stroke = ev[i].stroke;
			/* a stroke that ended where the blade turned round is
			 * a stroke boundary like a lift: the tool's alert is
			 * re-armed, so the next pass alarms on its own */
			if (ev[i].stroke.end == SG_END_REVERSAL) {
				instrument_set_alert(s->inst, STRIGIL_ALERT_OFF);
				/* the next stroke of the burst starts there */
				s->extra->stroke_start_s = ev[i].stroke.end_s;
			}
			break;
		case SG_EV_WARNING:
		case SG_EV_EXCEEDED:
			on_limit(s, &ev[i]);
			break;
		case SG_EV_CAP_STROKES:
		case SG_EV_CAP_TIME:
			on_cap(s, &ev[i]);
			break;
		case SG_EV_RELEASE:
			instrument_set_alert(s->inst, STRIGIL_ALERT_OFF);
			break;
		case SG_EV_CONTACT:
			/* the engine dates a stroke from its contact, less its delay */
			s->extra->stroke_start_s = ev[i].t_s - instrument_engine_delay(s->inst);
			break;
		case SG_EV_BURST:
			break;
		}
	}
}

/* The engine's clock now, on the timeline of its strokes: seconds since
 * the session's engine started, less the engine's delay (a stroke's
 * start_s/end_s are dated the same way, so a stroke the pause closed ends
 * at the pause's start_s and the next one starts at or after its end_s). */
static double engine_now_s(const struct session *s)
{
	return s->inst ? instrument_engine_now_s(s->inst) : NAN;
}

/*
 * A pause is a record of its own and ends the stroke in progress: a
 * stroke never spans a pause (the engine would otherwise report the force
 * before and after it as one long stroke). The closed stroke, and what
 * else the engine had, are recorded before the pause.
 */
static void pause_begin(struct session *s, const char *reason)
{
	struct sgd_pause p = { .session_id = s->rec.id };
	struct record_job *j;

	if (s->inst && s->state == SESSION_RUNNING) {
		struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
		int n = instrument_engine_flush(s->inst, ev, SG_MAX_EVENTS_PER_SAMPLE);

		if (n > 0)
			session_on_events(s, ev, n);
	}
	session_flush(s);
	if (s->extra->pause_id)
		return;		/* already paused (paused, then unplugged) */
	snprintf(p.reason, sizeof(p.reason), "%s", reason);
	p.start_s = engine_now_s(s);
	p.start_us = (int64_t)now_realtime_usec();
	if (!isfinite(p.start_s))
		p.start_s = 0;
	/* stored by the writer, in order behind the session's records */
	j = job_new(s, JOB_PAUSE, 0);
	if (!j) {
		journal_session(s, "storage-error", LOG_ERR, "pause NOT stored: out of memory");
		return;
	}
	j->pause = p;
	if (!job_submit(s, j))
		return;
	s->extra->pause_id = -1;	/* open (its row id is the writer's) */
	journal_session(s, "session-pause", LOG_INFO, "%s at t=%.3f s for patient %s",
			reason, p.start_s, s->rec.patient_ref);
}

static void pause_end(struct session *s)
{
	double end_s = engine_now_s(s);
	struct record_job *j;

	if (!s->extra->pause_id)
		return;
	s->extra->pause_id = 0;
	j = job_new(s, JOB_PAUSE_END, 0);
	if (!j) {
		journal_session(s, "storage-error", LOG_ERR, "end of pause NOT stored: out of memory");
		return;
	}
	j->pause.end_s = end_s;
	j->pause.end_us = (int64_t)now_realtime_usec();
	job_submit(s, j);
}

/* Returns the queued state job (for a method to answer when stored), or
 * NULL when nothing changed or it could not be queued (journalled). */
static struct record_job *set_state(struct session *s, enum session_state st)
{
	struct record_job *j;

	if (s->state == st)
		return NULL;
	s->state = st;
	s->rec.state = session_store_state(st);
	emit(s, "State");
	j = job_new(s, JOB_STATE, 0);
	if (!j) {
		journal_session(s, "storage-error", LOG_ERR, "session state NOT stored: out of memory");
		return NULL;
	}
	return job_submit(s, j);
}

static void resume_engine(struct session *s)
{
	if (s->paused_samples) {
		instrument_engine_gap(s->inst, s->paused_samples);
		s->paused_samples = 0;
	}
}

void session_on_connected(struct session *s, bool connected)
{
	enum session_state next;

	switch (session_on_plug(s->state, connected, &next)) {
	case SESSION_PLUG_PAUSE:
		pause_begin(s, "unplugged");
		set_state(s, next);
		journal_session(s, "instrument-unplugged", LOG_WARNING,
				"instrument unplugged, session paused");
		break;
	case SESSION_PLUG_RESUME:
		resume_engine(s);
		pause_end(s);
		set_state(s, next);
		journal_session(s, "instrument-replugged", LOG_INFO,
				"instrument back, session resumed (%" PRIu64 " samples lost so far)",
				s->lost_samples);
		break;
	case SESSION_PLUG_NOTHING:
		break;
	}
	emit(s, "LostSamples");
}

const char *session_path(const struct session *s)
{
	return s->path;
}

bool session_feeds_engine(const struct session *s)
{
	return s->state == SESSION_RUNNING;
}

void session_count_samples(struct session *s, uint64_t lost, uint64_t paused)
{
	s->lost_samples += lost;
	s->paused_samples += paused;
}

/* Ends a live session. In memory it ends at once, whatever the disk does
 * (the instrument is free, the alarm off, a Debug.Remove may free the
 * instrument next); the final row is queued behind the session's records
 * and its end is announced (EndedAt, the counts) when stored. Returns the
 * queued job, or NULL when it could not be queued (journalled: the next
 * start marks the session interrupted). */
static struct record_job *session_end(struct session *s, enum sgd_session_state final)
{
	struct instrument *inst = s->inst;
	struct record_job *j;

	if (inst && s->state == SESSION_RUNNING) {
		struct sg_event ev[SG_MAX_EVENTS_PER_SAMPLE];
		int n = instrument_engine_flush(inst, ev, SG_MAX_EVENTS_PER_SAMPLE);

		if (n > 0)
			session_on_events(s, ev, n);
	}
	session_flush(s);
	pause_end(s);		/* a session stopped while paused ends its pause */
	if (inst)
		s->rec.load_s = s->extra->ahead.load_s = instrument_load_seconds(inst);
	j = job_new(s, JOB_FINISH, 0);
	if (j) {
		j->final = final;
		j->warnings = s->extra->warnings;
		j->lost_samples = s->lost_samples;
		j = job_submit(s, j);
	} else {
		journal_session(s, "storage-error", LOG_ERR, "session end NOT stored: out of memory");
	}
	s->rec.state = final;
	s->rec.ended_us = (int64_t)now_realtime_usec();
	s->state = session_ended_state(final);
	s->inst = NULL;
	free(s->limits);
	free(s->profile);
	free(s->extra->batch);
	s->limits = NULL;
	s->profile = NULL;
	s->extra->batch = NULL;
	if (inst) {
		instrument_detach_session(inst);
		instrument_update_streaming(inst);
	}
	emit(s, "State");
	manager_emit_changed(s->d, "Sessions");
	manager_emit_changed(s->d, "ActiveSessions");
	{
		char why[SGD_REASONS_MAX];

		/* one line: the reasons are stored one per line */
		snprintf(why, sizeof(why), "%s", s->rec.reasons);
		for (char *c = why; *c; c++)
			if (*c == '\n')
				*c = ';';
		journal_session(s, "session-end", LOG_INFO,
				"%s for patient %s: %u strokes, %u violations, %.1f s under load, "
				"peak %.2f N; last cap %.2f N in %s (%s)",
				session_state_str(s->state), s->rec.patient_ref, s->extra->ahead.strokes,
				s->extra->ahead.violations, s->extra->ahead.load_s, s->extra->ahead.peak_n,
				s->rec.limit_n,
				s->rec.region, why);
	}
	return j;
}

void session_detach_instrument(struct session *s)
{
	session_end(s, SGD_SESSION_ABORTED);
}

void session_end_all(struct daemon *d)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		if (s->inst)
			session_end(s, SGD_SESSION_ABORTED);
}

/* ---- methods -------------------------------------------------------------- */

static struct record_job *job_submit_new(struct session *s, enum job_kind kind)
{
	struct record_job *j = job_new(s, kind, 0);

	return j ? job_submit(s, j) : NULL;
}

/* A state change is done (in memory, for the engine and the alarm): the
 * method answers when it is stored too, or says at once that it is not. */
static int reply_when_stored(struct session *s, sd_bus_message *m, struct record_job *j,
			     sd_bus_error *error)
{
	struct sgd_writer_status st;

	if (!j)
		return sd_bus_error_setf(error, SGD_ERR_STORAGE_FAILED,
					 "Done, but it could not be stored: the storage queue is full (strigilctl status shows the storage state).");
	sgd_writer_status(s->d->writer, &st);
	if (st.failing)
		return sd_bus_error_setf(error, SGD_ERR_STORAGE_FAILED,
					 "Done, but not stored yet: %s. strigild keeps it and retries until storage works again (strigilctl status shows the storage state).",
					 st.errmsg);
	return job_reply_later(s, j, m);
}

static int method_set_region(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	struct sgd_limits *l;
	struct sg_limit_config lc;
	enum session_verdict v;
	const char *region;
	char msg[1024];
	int r;

	r = sd_bus_message_read(m, "s", &region);
	if (r < 0)
		return r;
	if (!s->inst)
		return verdict_error(s, SESSION_ENDED, NULL, error);
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	v = session_check_region(s->d->policy, s->profile, region, s->rec.flags,
				 s->extra->override_contra, l, msg, sizeof(msg));
	if (v != SESSION_OK) {
		r = verdict_error(s, v, msg, error);
		goto out;
	}
	/* what happened so far is recorded under the cap it happened under */
	session_flush(s);
	/* the new cap applies now, whatever the disk does */
	apply_limits(s, l);
	engine_limits(l, &lc);
	instrument_set_limits(s->inst, &lc);
	session_caps_rearm(&s->caps_sent);
	journal_session(s, "region-change", LOG_INFO, "region %s, limit %.2f N (%s)",
			s->rec.region, l->limit_n, l->reasons[l->winner].text);
	sd_bus_emit_properties_changed(s->d->bus, s->path, SGD_IFACE_SESSION, "Region", "Side",
				       "EffectiveLimitN", "LimitSource", "LimitReasons",
				       "TargetMinN", "TargetMaxN", "MaxStrokes",
				       "MaxSecondsUnderLoad", "Flags", NULL);
	r = reply_when_stored(s, m, job_submit_new(s, JOB_SUMMARY), error);
out:
	free(l);
	return r;
}

static int method_pause(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	struct record_job *j;
	enum session_verdict v = session_check_pause(s->inst != NULL, s->state);

	if (v != SESSION_OK)
		return verdict_error(s, v, NULL, error);
	pause_begin(s, "pause");
	j = set_state(s, SESSION_PAUSED);
	instrument_set_alert(s->inst, STRIGIL_ALERT_OFF);
	instrument_update_streaming(s->inst);
	return reply_when_stored(s, m, j, error);
}

static int method_resume(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	struct record_job *j;
	enum session_verdict v = session_check_resume(s->inst != NULL, s->state,
						      s->inst && instrument_connected(s->inst));

	if (v != SESSION_OK)
		return verdict_error(s, v, NULL, error);
	resume_engine(s);
	pause_end(s);
	j = set_state(s, SESSION_RUNNING);
	instrument_update_streaming(s->inst);
	return reply_when_stored(s, m, j, error);
}

static int append_summary(sd_bus_message *m, const struct sgd_session *rec,
			  enum session_state state, uint32_t warnings, uint64_t lost_samples)
{
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
				  "id", "t", (uint64_t)rec->id,
				  "state", "s", session_state_str(state),
				  "region", "s", rec->region,
				  "started_at", "t", (uint64_t)rec->started_us,
				  "ended_at", "t", (uint64_t)rec->ended_us,
				  "strokes", "u", rec->stroke_count,
				  "violations", "u", rec->violation_count,
				  "warnings", "u", warnings,
				  "seconds_under_load", "d", rec->load_s,
				  "peak_n", "d", rec->peak_n,
				  "effective_limit_n", "d", rec->limit_n,
				  "flags", "u", rec->flags,
				  "lost_samples", "t", lost_samples);
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}", "patient_ref", "s", rec->patient_ref);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "flag_names");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "as");
	if (r >= 0)
		r = append_flag_names(m, rec->flags);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "limit_reasons");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "as");
	if (r >= 0)
		r = append_reasons(m, rec->reasons, false);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(m);
}

static int method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	enum session_verdict v = session_check_stop(s->inst != NULL);

	if (v != SESSION_OK)
		return verdict_error(s, v, NULL, error);
	/* the summary is the stored one: answered when the end is stored */
	return reply_when_stored(s, m, session_end(s, SGD_SESSION_FINISHED), error);
}

/* The Get* record methods answer one shape: aa{sv}, one dict per row
 * that append() writes. */
typedef int (*append_row_fn)(sd_bus_message *m, const void *row);

static int reply_rows(sd_bus_message *m, const void *rows, size_t n, size_t size,
		      append_row_fn append)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	size_t i;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "a{sv}");
	for (i = 0; r >= 0 && i < n; i++)
		r = append(reply, (const char *)rows + i * size);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int append_stroke_row(sd_bus_message *m, const void *p)
{
	const struct sgd_stroke_row *row = p;

	return append_stroke(m, &row->stroke, row->wall_us,
			     &(struct in_force){ row->region, row->side,
						 row->has_cap_reasons ? row->cap_reasons : "" });
}

static int append_burst_row(sd_bus_message *m, const void *p)
{
	const struct burst_sum *b = p;

	return sd_bus_message_append(m, "a{sv}", 5,
				     "index", "u", b->index,
				     "passes", "u", b->passes,
				     "start_s", "d", b->start_s,
				     "duration_s", "d", b->end_s - b->start_s,
				     "peak_n", "d", b->peak_n);
}

static int append_violation_row(sd_bus_message *m, const void *p)
{
	return append_violation(m, p, 0);
}

static int append_pause_row(sd_bus_message *m, const void *p)
{
	const struct sgd_pause *row = p;

	return sd_bus_message_append(m, "a{sv}", 5,
				     "start_s", "d", row->start_s,
				     "end_s", "d", row->end_s,
				     "reason", "s", row->reason,
				     "started_at", "t", (uint64_t)row->start_us,
				     "ended_at", "t", (uint64_t)row->end_us);
}

static int method_get_strokes(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	struct sgd_stroke_row *rows = NULL;
	size_t n = 0;
	int r;

	r = sgd_store_session_strokes(s->d->store, s->rec.id, &rows, &n);
	if (r < 0)
		return error_storage(error, r, "read the strokes");
	r = reply_rows(m, rows, n, sizeof(*rows), append_stroke_row);
	free(rows);
	return r;
}

static int method_get_bursts(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	struct sgd_stroke_row *rows = NULL;
	struct burst_sum *b = NULL;
	size_t n = 0, nb;
	int r;

	r = sgd_store_session_strokes(s->d->store, s->rec.id, &rows, &n);
	if (r < 0)
		return error_storage(error, r, "read the strokes");
	b = calloc(n ? n : 1, sizeof(*b));
	if (!b) {
		free(rows);
		return -ENOMEM;
	}
	nb = bursts_of(rows, n, b);
	free(rows);
	r = reply_rows(m, b, nb, sizeof(*b), append_burst_row);
	free(b);
	return r;
}

static int method_get_violations(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	struct sgd_violation *rows = NULL;
	size_t n = 0;
	int r;

	r = sgd_store_session_violations(s->d->store, s->rec.id, &rows, &n);
	if (r < 0)
		return error_storage(error, r, "read the violations");
	r = reply_rows(m, rows, n, sizeof(*rows), append_violation_row);
	free(rows);
	return r;
}

static int method_get_pauses(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session *s = userdata;
	struct sgd_pause *rows = NULL;
	size_t n = 0;
	int r;

	r = sgd_store_session_pauses(s->d->store, s->rec.id, &rows, &n);
	if (r < 0)
		return error_storage(error, r, "read the pauses");
	r = reply_rows(m, rows, n, sizeof(*rows), append_pause_row);
	free(rows);
	return r;
}

/* Session flags: the bit mask of the record (Stop's "flags") and the
 * names of the Flags property and Stop's "flag_names", from one table. */
static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ SGD_SESSION_F_UNCALIBRATED, "uncalibrated" },
	{ SGD_SESSION_F_CAL_EXPIRED, "calibration-expired" },
	{ SGD_SESSION_F_OVERRIDE, "override" },
	{ SGD_SESSION_F_PRECAUTION, "precaution" },
	{ SGD_SESSION_F_RECORDS_LOST, "records-lost" },
};

static int append_flag_names(sd_bus_message *m, uint32_t flags)
{
	int r = sd_bus_message_open_container(m, 'a', "s");

	for (size_t i = 0; r >= 0 && i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (flags & flag_names[i].bit)
			r = sd_bus_message_append(m, "s", flag_names[i].name);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

/* ---- properties ------------------------------------------------------------ */

/* Reasons are stored one per line, the winner suffixed " (strictest)". */
#define STRICTEST " (strictest)"

static int append_reasons(sd_bus_message *reply, const char *text, bool only_winner)
{
	const char *p = text;
	int r = 0;

	if (!only_winner)
		r = sd_bus_message_open_container(reply, 'a', "s");
	while (r >= 0 && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		size_t sl = strlen(STRICTEST);
		bool winner = len >= sl && memcmp(p + len - sl, STRICTEST, sl) == 0;
		char line[SGD_REASON_TEXT_MAX + 16];

		if (winner)
			len -= sl;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = 0;
		if (!only_winner && len)
			r = sd_bus_message_append(reply, "s", line);
		else if (only_winner && winner)
			return sd_bus_message_append(reply, "s", line);
		p += eol ? (size_t)(eol - p) + 1 : strlen(p);
	}
	if (only_winner)
		return sd_bus_message_append(reply, "s", "");
	return r < 0 ? r : sd_bus_message_close_container(reply);
}

static uint32_t stored_warnings(struct session *s)
{
	struct sgd_violation *rows = NULL;
	size_t n = 0, i;
	uint32_t w = 0;

	if (sgd_store_session_violations(s->d->store, s->rec.id, &rows, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (rows[i].type == SG_EV_WARNING)
			w++;
	free(rows);
	return w;
}

static void load_override(struct session *s)
{
	struct sgd_audit *a = NULL;
	size_t n = 0;

	if (s->extra->override_reason[0] || !(s->rec.flags & SGD_SESSION_F_OVERRIDE))
		return;
	if (sgd_store_audit_list(s->d->store, s->rec.id, &a, &n) >= 0 && n > 0)
		snprintf(s->extra->override_reason, sizeof(s->extra->override_reason), "%s",
			 a[0].reason);
	free(a);
}

/* One getter per computed property; the others are read by offset
 * (sd-bus's built-in getters, prop_get_chars for a char array). */

SGD_GETTER(get_state)
{
	const struct session *s = userdata;

	return sd_bus_message_append(reply, "s", session_state_str(s->state));
}

SGD_GETTER(get_warning_count)
{
	struct session *s = userdata;

	return sd_bus_message_append(reply, "u", s->inst ? s->extra->warnings : stored_warnings(s));
}

SGD_GETTER(get_seconds_under_load)
{
	const struct session *s = userdata;

	return sd_bus_message_append(reply, "d", s->inst ? instrument_load_seconds(s->inst)
						: s->rec.load_s);
}

SGD_GETTER(get_limit_source)
{
	const struct session *s = userdata;

	return append_reasons(reply, s->rec.reasons, true);
}

SGD_GETTER(get_limit_reasons)
{
	const struct session *s = userdata;

	return append_reasons(reply, s->rec.reasons, false);
}

SGD_GETTER(get_target_min)
{
	const struct session *s = userdata;

	return sd_bus_message_append(reply, "d", s->inst ? s->limits->target_low_n : 0.0);
}

SGD_GETTER(get_target_max)
{
	const struct session *s = userdata;

	return sd_bus_message_append(reply, "d", s->inst ? s->limits->target_high_n : 0.0);
}

SGD_GETTER(get_flags)
{
	const struct session *s = userdata;

	return append_flag_names(reply, s->rec.flags);
}

SGD_GETTER(get_side)
{
	const struct session *s = userdata;
	const char *colon = strrchr(s->rec.region, ':');
	const struct sgd_region *reg = sgd_policy_region(s->d->policy, s->rec.region);

	if (s->inst)
		return sd_bus_message_append(reply, "s", sgd_side_str(s->limits->side));
	/* a stored site: its suffix; a lateral region stored without one
	 * predates sides (never guessed) */
	return sd_bus_message_append(reply, "s", colon ? colon + 1 :
				     reg && reg->lateral ? "unknown" : "");
}

SGD_GETTER(get_override_reason)
{
	struct session *s = userdata;

	load_override(s);
	return sd_bus_message_append(reply, "s", s->extra->override_reason);
}

SGD_GETTER(get_lost_records)
{
	const struct session *s = userdata;

	return sd_bus_message_append(reply, "u", s->extra->lost_records);
}

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST
/* a property computed by a getter, one read from a field */
#define P(name, sig, get, flags) SD_BUS_PROPERTY(name, sig, get, 0, flags)
#define F(name, sig, get, field, flags) \
	SD_BUS_PROPERTY(name, sig, get, offsetof(struct session, field), flags)

static const sd_bus_vtable session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	F("Id", "t", NULL, rec.id, CONST),
	F("Instrument", "o", NULL, instrument_path, CONST),
	F("Profile", "o", NULL, profile_path, CONST),
	F("PatientRef", "s", prop_get_chars, rec.patient_ref, CONST),
	F("Region", "s", prop_get_chars, rec.region, CHANGE),
	P("Side", "s", get_side, CHANGE),
	P("State", "s", get_state, CHANGE),
	F("StartedAt", "t", NULL, rec.started_us, CONST),
	F("EndedAt", "t", NULL, rec.ended_us, CHANGE),
	F("StrokeCount", "u", NULL, rec.stroke_count, CHANGE),
	F("ViolationCount", "u", NULL, rec.violation_count, CHANGE),
	P("WarningCount", "u", get_warning_count, CHANGE),
	P("SecondsUnderLoad", "d", get_seconds_under_load, CHANGE),
	F("PeakN", "d", NULL, rec.peak_n, CHANGE),
	F("EffectiveLimitN", "d", NULL, rec.limit_n, CHANGE),
	P("LimitSource", "s", get_limit_source, CHANGE),
	P("LimitReasons", "as", get_limit_reasons, CHANGE),
	P("TargetMinN", "d", get_target_min, CHANGE),
	P("TargetMaxN", "d", get_target_max, CHANGE),
	F("MaxStrokes", "u", NULL, rec.max_strokes, CHANGE),
	F("MaxSecondsUnderLoad", "d", NULL, rec.max_load_s, CHANGE),
	P("Flags", "as", get_flags, CHANGE),
	P("OverrideReason", "s", get_override_reason, CONST),
	F("LostSamples", "t", NULL, lost_samples, CHANGE),
	P("LostRecords", "u", get_lost_records, CHANGE),
	SD_BUS_METHOD_WITH_ARGS("SetRegion", SD_BUS_ARGS("s", region), SD_BUS_NO_RESULT,
				method_set_region, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Pause", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_pause,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Resume", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_resume,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", summary),
				method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetStrokes", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", strokes),
				method_get_strokes, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetViolations", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", violations), method_get_violations,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetPauses", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", pauses),
				method_get_pauses, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetBursts", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", bursts),
				method_get_bursts, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("StrokeCompleted", SD_BUS_ARGS("a{sv}", stroke), 0),
	SD_BUS_SIGNAL_WITH_ARGS("LimitWarning", SD_BUS_ARGS("a{sv}", event), 0),
	SD_BUS_SIGNAL_WITH_ARGS("LimitExceeded", SD_BUS_ARGS("a{sv}", event), 0),
	SD_BUS_SIGNAL_WITH_ARGS("SessionCapReached", SD_BUS_ARGS("s", cap), 0),
	SD_BUS_VTABLE_END
};

static int session_find(sd_bus *bus, const char *path, const char *interface,
			void *userdata, void **found, sd_bus_error *error)
{
	struct session *s = session_find_path(userdata, path);

	if (!s)
		s = session_load(userdata, path);
	if (!s)
		return 0;
	*found = s;
	return 1;
}

const char *session_step_active(const void *obj, const void **next)
{
	const struct session *s = obj;

	*next = s->next;
	return s->inst ? s->path : NULL;
}

/* Only the sessions in progress: GetManagedObjects stays small and cheap
 * (it once walked 5,000 stored sessions, 0.6 s on the event loop per
 * call, delaying alarms); the history is paged (Manager.ListSessions). */
static int session_enumerate(sd_bus *bus, const char *prefix, void *userdata,
			     char ***nodes, sd_bus_error *error)
{
	struct daemon *d = userdata;

	return object_paths_strv(d->sessions, session_step_active, nodes);
}

#define LIST_SESSIONS_MAX 1000	/* one page: about 40 KB of paths */

int method_manager_list_sessions(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct daemon *d = userdata;
	uint32_t offset, limit, total = 0;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int r;

	r = sd_bus_message_read(m, "uu", &offset, &limit);
	if (r < 0)
		return error_malformed(error, r);
	if (limit == 0 || limit > LIST_SESSIONS_MAX)
		return error_invalid(error, "limit must be 1 to %d sessions per page.",
				     LIST_SESSIONS_MAX);
	r = sgd_store_session_page(d->store, offset, limit, &ids, &n, &total);
	if (r < 0)
		return error_storage(error, r, "list the sessions");
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "o");
	for (i = 0; r >= 0 && i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), SGD_PATH_SESSION "/%" PRId64, ids[i]);
		r = sd_bus_message_append(reply, "o", path);
	}
	free(ids);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "u", total);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

int session_setup_bus(struct daemon *d)
{
	int r;

	r = sd_bus_add_fallback_vtable(d->bus, NULL, SGD_PATH_SESSION, SGD_IFACE_SESSION,
				       session_vtable, session_find, d);
	if (r < 0)
		return r;
	return sd_bus_add_node_enumerator(d->bus, NULL, SGD_PATH_SESSION, session_enumerate, d);
}
