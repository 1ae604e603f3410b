/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session's domain: its states and transitions, and the checks that
 * decide a start, a pause, a resume, a region change and what an unplug
 * or re-plug does - each returning a typed outcome and a sentence, never
 * touching the bus, the disk or the instrument. daemon/session.c is the
 * glue: it gathers the facts (the instrument, the profile, the clock),
 * asks here, maps the outcome to an org.strigil.Strigil1.Error.* name
 * and does the IO. Unit-tested without a bus (tests/daemon-unit/
 * test-session-core.c), like rules.c.
 */
#ifndef STRIGILD_SESSION_CORE_H
#define STRIGILD_SESSION_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "rules.h"
#include "storage.h"
#include "text.h"

#define SGD_NOTE_MAX	256	/* a session's note, bytes */

enum session_state {
	SESSION_RUNNING,
	SESSION_PAUSED,
	SESSION_DISCONNECTED,	/* paused by an unplug: resumes on re-plug */
	SESSION_FINISHED,
	SESSION_INTERRUPTED,	/* ended by the daemon (crash, removal, stop) */
};

const char *session_state_str(enum session_state st);
/* The stored state of a live state (an unplugged session is stored as
 * paused: the database knows no plugs). */
enum sgd_session_state session_store_state(enum session_state st);
/* The object state of an ended or stored session: a finished one is
 * finished; anything else read back (interrupted, aborted, or a running
 * or paused row a crash left before the start-up marked it) is
 * interrupted - a session nobody runs is never shown as running. */
enum session_state session_ended_state(enum sgd_session_state st);

/* ---- start --------------------------------------------------------------- */

/* What a start needs to know of the instrument. */
struct session_start_instrument {
	const char *serial;
	bool connected;
	const char *busy_with;		/* path of the session it runs, NULL if free */
	int64_t cal_date, due_date;	/* unix s, 0 = never / no due date */
};

enum session_start_outcome {
	SESSION_START_OK = 0,
	SESSION_START_BAD_TEXT,		/* reason, note or region not text: InvalidArgument */
	SESSION_START_BAD_REGION,	/* unknown region, side missing or extra: InvalidArgument */
	SESSION_START_DISCONNECTED,	/* instrument unplugged: Disconnected */
	SESSION_START_BUSY,		/* instrument runs a session: Busy */
	SESSION_START_CONTRAINDICATED,	/* no override given, or one the policy forbids */
	SESSION_START_BAD_OVERRIDE,	/* override reason refused: InvalidArgument */
	SESSION_START_NOT_CALIBRATED,	/* policy refuses uncalibrated: NotCalibrated */
	SESSION_START_CAL_EXPIRED,	/* policy refuses expired: CalibrationExpired */
};

const char *session_start_outcome_str(enum session_start_outcome o);

struct session_start_result {
	enum session_start_outcome outcome;
	uint32_t flags;			/* SGD_SESSION_F_* the record starts with */
	char msg[1024];			/* the caller's sentence (not OK) */
};

/*
 * Decides a start, in the order a clinician needs the answer: the text
 * given, the region, the instrument (plugged, free), the patient's
 * contraindications (an override needs a reason the policy accepts),
 * then the calibration policy. override_reason and note may be NULL.
 * *l gets the limits of the region (valid from BAD_REGION on, i.e. for
 * every outcome after the region check). Returns res->outcome.
 */
enum session_start_outcome
session_check_start(const struct sgd_policy *pol, const struct sgd_profile *p,
		    const char *region, const struct session_start_instrument *inst,
		    const char *override_reason, const char *note, int64_t now_s,
		    struct sgd_limits *l, struct session_start_result *res);

/* A new session's record: the start's facts and the limits in force. */
void session_record_init(struct sgd_session *rec, const struct sgd_profile *p,
			 const char *serial, uint32_t flags, int64_t now_us);
/* The record carries the limits in force: cap, caps, region, reasons;
 * a precaution that lowered a cap flags the session for good. */
void session_record_apply_limits(struct sgd_session *rec, const struct sgd_limits *l);

/* ---- transitions of a session in progress --------------------------------- */

enum session_verdict {
	SESSION_OK = 0,
	SESSION_ENDED,			/* only its records can be read: InvalidState */
	SESSION_NOT_RUNNING,		/* Pause of a paused session: InvalidState */
	SESSION_NOT_PAUSED,		/* Resume of a running session: InvalidState */
	SESSION_UNPLUGGED,		/* Resume while unplugged: Disconnected */
	SESSION_BAD_TEXT,		/* SetRegion: InvalidArgument */
	SESSION_BAD_REGION,		/* SetRegion: InvalidArgument */
	SESSION_CONTRAINDICATED,	/* SetRegion not covered by the override */
};

const char *session_verdict_str(enum session_verdict v);

/* live: the session is in progress (has its instrument). */
enum session_verdict session_check_pause(bool live, enum session_state st);
enum session_verdict session_check_resume(bool live, enum session_state st,
					  bool connected);
enum session_verdict session_check_stop(bool live);

/*
 * A region change: the new site's limits into *l. A contraindication
 * there is refused unless the session's override named exactly the same
 * conditions (an override covers what the clinician was shown, no more).
 * override_contra: the conditions overridden at start ("" = none).
 */
enum session_verdict
session_check_region(const struct sgd_policy *pol, const struct sgd_profile *p,
		     const char *region, uint32_t flags, const char *override_contra,
		     struct sgd_limits *l, char *msg, size_t msglen);

/* The sentence of a contraindication (start or region change). */
void session_contra_msg(const struct sgd_limits *l, char *msg, size_t msglen);

/* What a plug change does to a session in progress. */
enum session_plug_action {
	SESSION_PLUG_NOTHING,
	SESSION_PLUG_PAUSE,		/* unplugged while running: pause "unplugged" */
	SESSION_PLUG_RESUME,		/* back while disconnected: resume */
};

/* *next: the state after it (st when nothing). A session the clinician
 * paused stays paused through an unplug and re-plug. */
enum session_plug_action session_on_plug(enum session_state st, bool connected,
					 enum session_state *next);

/* Session caps (max strokes, max time under load): each is signalled and
 * recorded once per region; a region change re-arms both. */
struct session_caps_sent {
	bool strokes, time;
};

/* The tool's alert on a limit event: an exceeded limit always alarms; a
 * warning shows unless the tool already shows an alarm (a warning never
 * lowers one). False: leave the tool as it is. */
bool session_alert_on_limit(enum strigil_alert current, bool exceeded,
			    enum strigil_alert *next);

/* True when this cap event is the first of its kind (record it). */
bool session_cap_first(struct session_caps_sent *c, bool strokes_cap);
void session_caps_rearm(struct session_caps_sent *c);

#endif
