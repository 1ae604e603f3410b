/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session's domain (session-core.h): states, transitions and the
 * checks of start, pause, resume, region change and plug changes. Pure:
 * no bus, no disk, no clock of its own; daemon/session.c is its glue.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "session-core.h"

const char *session_state_str(enum session_state st)
{
	switch (st) {
	case SESSION_RUNNING: return "running";
	case SESSION_PAUSED: return "paused";
	case SESSION_DISCONNECTED: return "disconnected";
	case SESSION_FINISHED: return "finished";
	case SESSION_INTERRUPTED: return "interrupted";
	}
	return "unknown";
}

enum sgd_session_state session_store_state(enum session_state st)
{
	switch (st) {
	case SESSION_RUNNING: return SGD_SESSION_RUNNING;
	case SESSION_PAUSED:
	case SESSION_DISCONNECTED: return SGD_SESSION_PAUSED;
	case SESSION_FINISHED: return SGD_SESSION_FINISHED;
	case SESSION_INTERRUPTED: return SGD_SESSION_INTERRUPTED;
	}
	return SGD_SESSION_INTERRUPTED;
}

enum session_state session_ended_state(enum sgd_session_state st)
{
	return st == SGD_SESSION_FINISHED ? SESSION_FINISHED : SESSION_INTERRUPTED;
}

/* ---- start --------------------------------------------------------------- */

const char *session_start_outcome_str(enum session_start_outcome o)
{
	switch (o) {
	case SESSION_START_OK: return "ok";
	case SESSION_START_BAD_TEXT: return "bad-text";
	case SESSION_START_BAD_REGION: return "bad-region";
	case SESSION_START_DISCONNECTED: return "disconnected";
	case SESSION_START_BUSY: return "busy";
	case SESSION_START_CONTRAINDICATED: return "contraindicated";
	case SESSION_START_BAD_OVERRIDE: return "bad-override";
	case SESSION_START_NOT_CALIBRATED: return "not-calibrated";
	case SESSION_START_CAL_EXPIRED: return "calibration-expired";
	}
	return "unknown";
}

static enum session_start_outcome refuse(struct session_start_result *res,
					 enum session_start_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum session_start_outcome refuse(struct session_start_result *res,
					 enum session_start_outcome o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	res->outcome = o;
	return o;
}

void session_contra_msg(const struct sgd_limits *l, char *msg, size_t msglen)
{
	char names[SGD_CONDITIONS_TEXT_MAX];

	sgd_limits_contra_str(l, names, sizeof(names));
	snprintf(msg, msglen,
		 "Treatment of region %s is contraindicated for this patient (%s). %s",
		 l->region, names,
		 l->contra_overridable
		 ? "An authorized clinician may override it, giving a reason that is recorded."
		 : "The clinic policy does not allow an override.");
}

/* The region through the rules: 0, or -EINVAL with the caller's sentence
 * (the rules' own, as a sentence). */
static int region_limits(const struct sgd_policy *pol, const struct sgd_profile *p,
			 const char *region, struct sgd_limits *l, bool *bad_text,
			 char *msg, size_t msglen)
{
	char why[256];

	*bad_text = !string_ok(region, SGD_REGION_MAX - 1);
	if (*bad_text) {
		snprintf(msg, msglen, "The region name is too long or not text.");
		return -EINVAL;
	}
	/* unknown region, a side on a midline region, a lateral one without
	 * its side: refused with the rules' sentence, nothing changes */
	if (sgd_rules_evaluate(pol, p, region, l, why, sizeof(why)) < 0) {
		if (why[0] >= 'a' && why[0] <= 'z')
			why[0] = (char)(why[0] - 'a' + 'A');
		snprintf(msg, msglen, "%s.", why);
		return -EINVAL;
	}
	return 0;
}

enum session_start_outcome
session_check_start(const struct sgd_policy *pol, const struct sgd_profile *p,
		    const char *region, const struct session_start_instrument *inst,
		    const char *override_reason, const char *note, int64_t now_s,
		    struct sgd_limits *l, struct session_start_result *res)
{
	char msg[256];
	bool bad_text;
	int r;

	memset(res, 0, sizeof(*res));
	if (override_reason && !string_ok(override_reason, SGD_OVERRIDE_REASON_MAX - 1))
		return refuse(res, SESSION_START_BAD_TEXT,
			      "The override reason is too long or not text.");
	if (note && !string_ok(note, SGD_NOTE_MAX))
		return refuse(res, SESSION_START_BAD_TEXT,
			      "The note is too long or not text (at most %d bytes).", SGD_NOTE_MAX);
	if (region_limits(pol, p, region, l, &bad_text, res->msg, sizeof(res->msg)) < 0) {
		res->outcome = bad_text ? SESSION_START_BAD_TEXT : SESSION_START_BAD_REGION;
		return res->outcome;
	}
	if (!inst->connected)
		return refuse(res, SESSION_START_DISCONNECTED,
			      "Instrument %s is unplugged; plug it in and retry.", inst->serial);
	if (inst->busy_with)
		return refuse(res, SESSION_START_BUSY,
			      "Instrument %s already runs session %s; stop it first.",
			      inst->serial, inst->busy_with);
	if (l->verdict == SGD_VERDICT_CONTRAINDICATED) {
		if (!override_reason) {
			session_contra_msg(l, res->msg, sizeof(res->msg));
			res->outcome = SESSION_START_CONTRAINDICATED;
			return res->outcome;
		}
		r = sgd_rules_check_override(pol, l, override_reason, msg, sizeof(msg));
		if (r == -EPERM)
			return refuse(res, SESSION_START_CONTRAINDICATED, "%s", msg);
		if (r < 0)
			return refuse(res, SESSION_START_BAD_OVERRIDE, "%s", msg);
		res->flags |= SGD_SESSION_F_OVERRIDE;
	}
	switch (sgd_rules_check_calibration(pol, inst->cal_date, inst->due_date, now_s,
					    msg, sizeof(msg))) {
	case SGD_CAL_OK:
		break;
	case SGD_CAL_MISSING_ALLOWED:
		res->flags |= SGD_SESSION_F_UNCALIBRATED;
		break;
	case SGD_CAL_EXPIRED_ALLOWED:
		res->flags |= SGD_SESSION_F_CAL_EXPIRED;
		break;
	case SGD_CAL_MISSING_REFUSED:
		return refuse(res, SESSION_START_NOT_CALIBRATED,
			      "Instrument %s is not calibrated: %s", inst->serial, msg);
	case SGD_CAL_EXPIRED_REFUSED:
		return refuse(res, SESSION_START_CAL_EXPIRED, "Instrument %s: %s", inst->serial, msg);
	}
	res->outcome = SESSION_START_OK;
	return res->outcome;
}

void session_record_init(struct sgd_session *rec, const struct sgd_profile *p,
			 const char *serial, uint32_t flags, int64_t now_us)
{
	memset(rec, 0, sizeof(*rec));
	rec->profile_id = p->id;
	snprintf(rec->patient_ref, sizeof(rec->patient_ref), "%s", p->patient_ref);
	snprintf(rec->instrument, sizeof(rec->instrument), "%s", serial);
	rec->flags = flags;
	rec->state = SGD_SESSION_RUNNING;
	rec->started_us = rec->updated_us = now_us;
}

void session_record_apply_limits(struct sgd_session *rec, const struct sgd_limits *l)
{
	rec->limit_n = l->limit_n;
	rec->max_strokes = l->max_strokes;
	rec->max_load_s = l->max_load_s;
	snprintf(rec->region, sizeof(rec->region), "%s", l->region);
	sgd_limits_reasons_str(l, rec->reasons, sizeof(rec->reasons));
	/* Kept in the record (it outlives the session): a precaution lowered
	 * a cap at some time during the session. */
	for (size_t i = 0; i < l->nreasons; i++)
		if (l->reasons[i].rule == SGD_RULE_CONDITION_FACTOR ||
		    l->reasons[i].rule == SGD_RULE_CONDITION_MAX)
			rec->flags |= SGD_SESSION_F_PRECAUTION;
}

/* ---- transitions ----------------------------------------------------------- */

const char *session_verdict_str(enum session_verdict v)
{
	switch (v) {
	case SESSION_OK: return "ok";
	case SESSION_ENDED: return "ended";
	case SESSION_NOT_RUNNING: return "not-running";
	case SESSION_NOT_PAUSED: return "not-paused";
	case SESSION_UNPLUGGED: return "unplugged";
	case SESSION_BAD_TEXT: return "bad-text";
	case SESSION_BAD_REGION: return "bad-region";
	case SESSION_CONTRAINDICATED: return "contraindicated";
	}
	return "unknown";
}

enum session_verdict session_check_pause(bool live, enum session_state st)
{
	if (!live)
		return SESSION_ENDED;
	return st == SESSION_RUNNING ? SESSION_OK : SESSION_NOT_RUNNING;
}

enum session_verdict session_check_resume(bool live, enum session_state st, bool connected)
{
	if (!live)
		return SESSION_ENDED;
	/* an unplugged session resumes by itself when the tool is back */
	if (st == SESSION_DISCONNECTED || !connected)
		return SESSION_UNPLUGGED;
	return st == SESSION_PAUSED ? SESSION_OK : SESSION_NOT_PAUSED;
}

enum session_verdict session_check_stop(bool live)
{
	return live ? SESSION_OK : SESSION_ENDED;
}

enum session_verdict
session_check_region(const struct sgd_policy *pol, const struct sgd_profile *p,
		     const char *region, uint32_t flags, const char *override_contra,
		     struct sgd_limits *l, char *msg, size_t msglen)
{
	char names[SGD_CONDITIONS_TEXT_MAX];
	bool bad_text;

	if (region_limits(pol, p, region, l, &bad_text, msg, msglen) < 0)
		return bad_text ? SESSION_BAD_TEXT : SESSION_BAD_REGION;
	if (l->verdict == SGD_VERDICT_CONTRAINDICATED) {
		/* An override covers exactly the conditions it named. */
		sgd_limits_contra_str(l, names, sizeof(names));
		if (!(flags & SGD_SESSION_F_OVERRIDE) || strcmp(names, override_contra) != 0) {
			session_contra_msg(l, msg, msglen);
			return SESSION_CONTRAINDICATED;
		}
	}
	return SESSION_OK;
}

enum session_plug_action session_on_plug(enum session_state st, bool connected,
					 enum session_state *next)
{
	*next = st;
	if (!connected && st == SESSION_RUNNING) {
		*next = SESSION_DISCONNECTED;
		return SESSION_PLUG_PAUSE;
	}
	if (connected && st == SESSION_DISCONNECTED) {
		*next = SESSION_RUNNING;
		return SESSION_PLUG_RESUME;
	}
	return SESSION_PLUG_NOTHING;
}

bool session_alert_on_limit(enum strigil_alert current, bool exceeded,
			    enum strigil_alert *next)
{
	*next = exceeded ? STRIGIL_ALERT_EXCEEDED : STRIGIL_ALERT_WARNING;
	return exceeded || current != STRIGIL_ALERT_EXCEEDED;
}

bool session_cap_first(struct session_caps_sent *c, bool strokes_cap)
{
	bool *sent = strokes_cap ? &c->strokes : &c->time;

	if (*sent)
		return false;
	*sent = true;
	return true;
}

void session_caps_rearm(struct session_caps_sent *c)
{
	c->strokes = c->time = false;
}
