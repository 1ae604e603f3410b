/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorization: decided first, before a method handler runs, from ONE
 * table mapping each method to a polkit action (bolt's bouncer is the
 * model). A bus filter sees every incoming call; a call that needs an
 * action is held while org.freedesktop.PolicyKit1 answers asynchronously,
 * then either refused with Error.AccessDenied or re-queued for normal
 * dispatch, marked as approved. Handlers never see unauthorized calls.
 *
 * Deny by default: a member of our interfaces that is not in the table is
 * refused (AccessDenied), so a method added without its action is
 * unreachable, never open (tests/integration/test_auth.py walks the XML
 * against `strigild --list-actions`).
 *
 * Under load (issue 16: a flood of authorized calls once took the bus's
 * 128 pending replies to polkit, and every clinician got AccessDenied):
 * at most AUTH_MAX_INFLIGHT checks wait for polkit at once; further calls
 * wait here, and a free slot goes to the caller with the fewest checks in
 * flight, so one flooding client cannot starve another. What one caller
 * may hold is bounded (AUTH_CALLER_MAX_HELD calls, AUTH_CALLER_MAX_BYTES
 * of messages): beyond that its calls get Error.Busy - that caller's
 * only. The total is bounded too (AUTH_MAX_HELD, AUTH_MAX_BYTES); past it
 * only callers that already hold a call are refused. A call larger than
 * AUTH_CALL_MAX_BYTES is refused before it is held. Denial log lines are
 * rate-limited.
 *
 * A Busy answer is not sent at once: it waits AUTH_BUSY_DELAY_US. A flood
 * answered at once spins (each Busy frees a slot of the client's window,
 * which sends the next call), and the spinning - 230,000 Busy answers in
 * 20 s from 16 clients, make bench - takes the CPU and dbus-daemon from
 * the messages clinicians wait for, the alarm's among them (the Alert
 * change came p99 33 ms late at a client while the tool's own alarm
 * stayed at 0.03 ms). With the answer delayed, a client's window is full
 * of calls that wait, and it cannot send faster than its window per
 * delay. Per caller, held + deferred calls reach 128, the system bus's
 * max_replies_per_connection, so a client on the system bus is always
 * stopped by its own window, never spinning; the deferred calls are
 * bounded in number and bytes (per caller and in all), past which Busy
 * is answered at once as before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "daemon.h"
#include "util.h"

#define A_MONITOR	"org.strigil.Strigil1.monitor"
#define A_TREAT		"org.strigil.Strigil1.treat"
#define A_PROFILES	"org.strigil.Strigil1.manage-profiles"
#define A_OVERRIDE	"org.strigil.Strigil1.override-contraindication"
#define A_CALIBRATE	"org.strigil.Strigil1.calibrate"
#define A_SYNC		"org.strigil.Strigil1.sync-profiles"

/* A second action some calls need depending on their arguments. */
typedef const char *(*auth_extra_fn)(sd_bus_message *m);

struct auth_rule {
	const char *interface;
	const char *member;
	const char *action;
	auth_extra_fn extra;
};

static const char *extra_override(sd_bus_message *m);

/* THE table. Properties are read-only (no writable property exists). */
static const struct auth_rule auth_table[] = {
	{ SGD_IFACE_MANAGER, "CreateProfile", A_PROFILES, NULL },
	{ SGD_IFACE_MANAGER, "ListSessions", A_MONITOR, NULL },
	{ SGD_IFACE_MANAGER, "FindProfile", A_MONITOR, NULL },
	{ SGD_IFACE_MANAGER, "ListProfiles", A_MONITOR, NULL },
	{ SGD_IFACE_MANAGER, "StartSession", A_TREAT, NULL },
	{ SGD_IFACE_MANAGER, "StartSessionWithOptions", A_TREAT, extra_override },
	{ SGD_IFACE_INSTRUMENT, "Claim", A_MONITOR, NULL },
	{ SGD_IFACE_INSTRUMENT, "Release", A_MONITOR, NULL },
	{ SGD_IFACE_INSTRUMENT, "OpenStream", A_MONITOR, NULL },
	{ SGD_IFACE_INSTRUMENT, "GetCalibration", A_MONITOR, NULL },
	{ SGD_IFACE_INSTRUMENT, "GetCalibrationHistory", A_MONITOR, NULL },
	{ SGD_IFACE_INSTRUMENT, "Tare", A_TREAT, NULL },
	{ SGD_IFACE_INSTRUMENT, "ReadPoint", A_CALIBRATE, NULL },
	{ SGD_IFACE_INSTRUMENT, "WriteCalibration", A_CALIBRATE, NULL },
	{ SGD_IFACE_SESSION, "SetRegion", A_TREAT, NULL },
	{ SGD_IFACE_SESSION, "Pause", A_TREAT, NULL },
	{ SGD_IFACE_SESSION, "Resume", A_TREAT, NULL },
	{ SGD_IFACE_SESSION, "Stop", A_TREAT, NULL },
	{ SGD_IFACE_SESSION, "GetStrokes", A_MONITOR, NULL },
	{ SGD_IFACE_SESSION, "GetViolations", A_MONITOR, NULL },
	{ SGD_IFACE_SESSION, "GetBursts", A_MONITOR, NULL },
	{ SGD_IFACE_SESSION, "GetPauses", A_MONITOR, NULL },
	{ SGD_IFACE_PROFILE, "ListSessions", A_MONITOR, NULL },
	{ SGD_IFACE_PROFILE, "GetRegionHistory", A_MONITOR, NULL },
	{ SGD_IFACE_PROFILE, "Update", A_PROFILES, NULL },
	{ SGD_IFACE_PROFILE, "Delete", A_PROFILES, NULL },
	{ SGD_IFACE_PROFILE, "ConfirmReview", A_PROFILES, NULL },
	{ SGD_IFACE_MANAGER, "ApplyRemoteProfile", A_SYNC, NULL },
	{ SGD_IFACE_DEBUG, "Unplug", A_CALIBRATE, NULL },
	{ SGD_IFACE_DEBUG, "Replug", A_CALIBRATE, NULL },
	{ SGD_IFACE_DEBUG, "Play", A_CALIBRATE, NULL },
	{ SGD_IFACE_DEBUG, "Spike", A_CALIBRATE, NULL },
	{ SGD_IFACE_DEBUG, "BreakAlert", A_CALIBRATE, NULL },
	{ SGD_IFACE_DEBUG, "Remove", A_CALIBRATE, NULL },
};

#define IFACE_PREFIX "org.strigil.Strigil1."

#define AUTH_MAX_INFLIGHT	32		/* polkit checks at once (bus: 128 replies) */
#define AUTH_MAX_HELD		256		/* calls held, all callers */
#define AUTH_MAX_BYTES		(32u << 20)	/* their messages */
#define AUTH_CALLER_MAX_HELD	16		/* calls held for one caller */
#define AUTH_CALLER_MAX_BYTES	(4u << 20)
#define AUTH_CALL_MAX_BYTES	(1u << 20)	/* a bigger call is refused */
#define AUTH_BUSY_DELAY_US	(250 * 1000ULL)	/* a Busy answer waits this long */
#define AUTH_CALLER_MAX_DEFERRED (128 - AUTH_CALLER_MAX_HELD)
#define AUTH_MAX_DEFERRED	2048		/* deferred Busy answers, all callers */
#define AUTH_LOG_BURST		20		/* log lines per AUTH_LOG_WINDOW_US */
#define AUTH_LOG_WINDOW_US	(10 * 1000000ULL)

struct caller {
	struct caller *next;
	char *sender;			/* unique bus name */
	unsigned held, inflight;
	size_t bytes;
	unsigned deferred;		/* Busy answers waiting to be sent */
	size_t deferred_bytes;
};

/* A call answered Busy once its time has come (oldest first). */
struct deferred {
	struct deferred *next;
	struct caller *c;
	sd_bus_message *m;
	size_t bytes;
	uint64_t due_us;
	unsigned held;			/* the caller's held calls when it came */
};

struct auth_query {
	struct auth_query *next;
	struct auth_state *st;
	struct caller *c;
	sd_bus_message *m;
	size_t bytes;
	bool inflight;			/* sent to polkit (counted) */
	const char *actions[2];
	unsigned nactions, next_action;
	sd_bus_slot *slot;
};

struct approved {
	struct approved *next;
	sd_bus_message *m;
};

struct auth_state {
	struct daemon *d;
	sd_bus_slot *filter;
	struct auth_query *queries;	/* held: in flight or waiting, oldest last */
	struct approved *approved;
	struct caller *callers;
	unsigned inflight, held;
	size_t bytes;
	struct deferred *busy_head, **busy_tail;	/* FIFO by due time */
	unsigned deferred;
	size_t deferred_bytes;
	sd_event_source *busy_timer;
	uint64_t log_window_us;		/* rate limit of the log lines */
	unsigned log_lines, log_suppressed;
};

static void auth_log(struct auth_state *st, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* At most AUTH_LOG_BURST lines per window; the rest are counted and the
 * count logged when the next window opens (a flood once wrote 63,000
 * lines in 20 s). */
static void auth_log(struct auth_state *st, int prio, const char *fmt, ...)
{
	uint64_t now = now_monotonic_usec();
	char msg[512];
	va_list ap;

	if (now - st->log_window_us >= AUTH_LOG_WINDOW_US) {
		if (st->log_suppressed)
			log_msg(LOG_WARNING, "auth: %u message(s) suppressed in the last %llu s",
				st->log_suppressed, (unsigned long long)(AUTH_LOG_WINDOW_US / 1000000));
		st->log_window_us = now;
		st->log_lines = st->log_suppressed = 0;
	}
	if (st->log_lines >= AUTH_LOG_BURST) {
		st->log_suppressed++;
		return;
	}
	st->log_lines++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(prio, "%s", msg);
}

static const struct auth_rule *auth_rule_for(const char *interface, const char *member)
{
	size_t i;

	if (!interface || !member)
		return NULL;
	for (i = 0; i < sizeof(auth_table) / sizeof(auth_table[0]); i++)
		if (strcmp(auth_table[i].interface, interface) == 0 &&
		    strcmp(auth_table[i].member, member) == 0)
			return &auth_table[i];
	return NULL;
}

const char *auth_action_for(const char *interface, const char *member)
{
	const struct auth_rule *r = auth_rule_for(interface, member);

	return r ? r->action : NULL;
}

void auth_print_table(FILE *f)
{
	size_t i;

	for (i = 0; i < sizeof(auth_table) / sizeof(auth_table[0]); i++)
		fprintf(f, "%s %s %s%s\n", auth_table[i].interface, auth_table[i].member,
			auth_table[i].action,
			auth_table[i].extra == extra_override ? " (+" A_OVERRIDE " with override_reason)" : "");
}

/* The size of m's body, walked (strings, arrays) up to limit: -E2BIG
 * beyond it. sd-bus does not tell a received message's size; a held call
 * costs its whole message. The message is rewound after. */
static int body_walk(sd_bus_message *m, size_t *size, size_t limit, unsigned depth)
{
	for (;;) {
		const char *contents;
		char type;
		int r;

		if (*size > limit)
			return -E2BIG;
		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r <= 0)
			return r;
		if (type == 'a' && contents && strlen(contents) == 1 &&
		    strchr("ynqiuxtdb", contents[0])) {
			const void *p;
			size_t n;

			r = sd_bus_message_read_array(m, contents[0], &p, &n);
			*size += n;
		} else if (type == 'a' || type == 'v' || type == 'r' || type == 'e') {
			if (depth > 64)
				return -EINVAL;
			r = sd_bus_message_enter_container(m, type, contents);
			if (r >= 0)
				r = body_walk(m, size, limit, depth + 1);
			if (r >= 0)
				r = sd_bus_message_exit_container(m);
			*size += 8;
		} else if (type == 's' || type == 'o' || type == 'g') {
			const char *str = NULL;

			r = sd_bus_message_read_basic(m, type, &str);
			*size += (str ? strlen(str) : 0) + 8;
		} else {
			uint64_t v;

			r = sd_bus_message_read_basic(m, type, &v);
			*size += 8;
		}
		if (r < 0)
			return r;
	}
}

static int body_size(sd_bus_message *m, size_t limit, size_t *size)
{
	int r;

	*size = 256;	/* header, fields */
	r = body_walk(m, size, limit, 0);
	sd_bus_message_rewind(m, true);
	return r;
}

/* StartSessionWithOptions needs override-contraindication when an
 * override_reason is among the options. The message is rewound after. */
static const char *extra_override(sd_bus_message *m)
{
	const char *extra = NULL;
	int r;

	r = sd_bus_message_skip(m, "oos");
	if (r < 0)
		goto out;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r <= 0)
		goto out;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		const char *key;

		if (sd_bus_message_read(m, "s", &key) < 0)
			break;
		if (strcmp(key, "override_reason") == 0)
			extra = A_OVERRIDE;
		if (sd_bus_message_skip(m, "v") < 0 ||
		    sd_bus_message_exit_container(m) < 0)
			break;
	}
out:
	sd_bus_message_rewind(m, true);
	return extra;
}

static struct caller *caller_get(struct auth_state *st, const char *sender)
{
	struct caller *c;

	for (c = st->callers; c; c = c->next)
		if (strcmp(c->sender, sender) == 0)
			return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->sender = strdup(sender))) {
		free(c);
		return NULL;
	}
	c->next = st->callers;
	st->callers = c;
	return c;
}

static void caller_put(struct auth_state *st, struct caller *c)
{
	struct caller **pp;

	if (c->held || c->deferred)
		return;
	for (pp = &st->callers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c->sender);
	free(c);
}

static void auth_pump(struct auth_state *st);

static void query_free(struct auth_query *q)
{
	struct auth_state *st = q->st;
	struct auth_query **pp;

	for (pp = &st->queries; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	if (q->inflight) {
		st->inflight--;
		q->c->inflight--;
	}
	st->held--;
	st->bytes -= q->bytes;
	q->c->held--;
	q->c->bytes -= q->bytes;
	caller_put(st, q->c);
	sd_bus_slot_unref(q->slot);
	sd_bus_message_unref(q->m);
	free(q);
}

static void query_deny(struct auth_query *q, const char *why)
{
	const char *member = sd_bus_message_get_member(q->m);

	auth_log(q->st, LOG_INFO, "auth: %s denied to %s (%s): %s", member,
		 sd_bus_message_get_sender(q->m) ?: "?",
		 q->actions[q->next_action], why);
	sd_bus_reply_method_errorf(q->m, SGD_ERR_ACCESS_DENIED,
				   "Not authorized to call %s: polkit action %s %s.",
				   member, q->actions[q->next_action], why);
}

static int query_send(struct auth_query *q);

static int query_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	struct auth_query *q = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	int authorized = 0, challenge = 0;
	int r;

	q->slot = sd_bus_slot_unref(q->slot);
	if (e) {
		auth_log(q->st, LOG_WARNING, "auth: polkit failed: %s: %s", e->name, e->message);
		query_deny(q, "could not be checked (polkit unavailable)");
		goto done;
	}
	r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
	if (r >= 0)
		r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
	if (r < 0) {
		query_deny(q, "could not be checked (bad polkit answer)");
		goto done;
	}
	if (!authorized) {
		query_deny(q, challenge ? "needs interactive authentication"
				       : "is not granted");
		goto done;
	}
	if (++q->next_action < q->nactions) {
		if (query_send(q) >= 0)
			return 0;
		query_deny(q, "could not be checked");
		goto done;
	}
	/* Approved: let sd-bus dispatch it again; the filter lets it through. */
	{
		struct approved *a = calloc(1, sizeof(*a));

		if (!a) {
			sd_bus_reply_method_errorf(q->m, SD_BUS_ERROR_NO_MEMORY, "Out of memory.");
			goto done;
		}
		a->m = sd_bus_message_ref(q->m);
		a->next = q->st->approved;
		q->st->approved = a;
		r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->m), q->m);
		if (r < 0) {
			q->st->approved = a->next;
			sd_bus_message_unref(a->m);
			free(a);
			sd_bus_reply_method_errorf(q->m, SD_BUS_ERROR_FAILED,
						   "Could not dispatch the call: %s", strerror(-r));
		}
	}
done:
	{
		struct auth_state *st = q->st;

		query_free(q);
		auth_pump(st);
	}
	return 0;
}

static int query_send(struct auth_query *q)
{
	sd_bus *bus = sd_bus_message_get_bus(q->m);
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *c = NULL;
	/* polkit CheckAuthorization flags: 1 = AllowUserInteraction */
	uint32_t flags = sd_bus_message_get_allow_interactive_authorization(q->m) ? 1 : 0;
	int r;

	r = sd_bus_message_new_method_call(bus, &c, "org.freedesktop.PolicyKit1",
					   "/org/freedesktop/PolicyKit1/Authority",
					   "org.freedesktop.PolicyKit1.Authority",
					   "CheckAuthorization");
	if (r < 0)
		return r;
	r = sd_bus_message_append(c, "(sa{sv})s", "system-bus-name", 1, "name", "s",
				  sd_bus_message_get_sender(q->m),
				  q->actions[q->next_action]);
	if (r < 0)
		return r;
	r = sd_bus_message_append(c, "a{ss}us", 0, flags, "");
	if (r < 0)
		return r;
	/* Interactive authentication may take a while (agent prompt). */
	return sd_bus_call_async(bus, &q->slot, c, query_reply, q,
				 flags ? 120 * 1000000ULL : 0);
}

/* Sends waiting checks while slots are free: each to the caller with the
 * fewest checks in flight (the oldest of its calls first). */
static void auth_pump(struct auth_state *st)
{
	while (st->inflight < AUTH_MAX_INFLIGHT) {
		struct auth_query *q, *best = NULL;

		for (q = st->queries; q; q = q->next)	/* newest first */
			if (!q->inflight && (!best || q->c->inflight <= best->c->inflight))
				best = q;
		if (!best)
			return;
		best->inflight = true;
		st->inflight++;
		best->c->inflight++;
		if (query_send(best) < 0) {
			query_deny(best, "could not be checked");
			query_free(best);
		}
	}
}

static void reply_busy(sd_bus_message *m, unsigned held)
{
	sd_bus_reply_method_errorf(m, SGD_ERR_BUSY,
				   "Too many of your calls are waiting for authorization (%u); wait for their answers, then retry.",
				   held);
}

static int busy_timer_arm(struct auth_state *st);

/* Sends the Busy answers whose time has come. */
static int busy_due(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct auth_state *st = userdata;
	uint64_t now = now_monotonic_usec();

	while (st->busy_head && st->busy_head->due_us <= now) {
		struct deferred *b = st->busy_head;

		st->busy_head = b->next;
		if (!st->busy_head)
			st->busy_tail = &st->busy_head;
		reply_busy(b->m, b->held);
		st->deferred--;
		st->deferred_bytes -= b->bytes;
		b->c->deferred--;
		b->c->deferred_bytes -= b->bytes;
		caller_put(st, b->c);
		sd_bus_message_unref(b->m);
		free(b);
	}
	return busy_timer_arm(st);
}

static int busy_timer_arm(struct auth_state *st)
{
	sd_event *e = st->d->event;
	int r;

	if (!st->busy_head)
		return st->busy_timer ? sd_event_source_set_enabled(st->busy_timer, SD_EVENT_OFF) : 0;
	if (!st->busy_timer) {
		if (!e)
			return -ENXIO;
		r = sd_event_add_time(e, &st->busy_timer, CLOCK_MONOTONIC, st->busy_head->due_us,
				      10 * 1000, busy_due, st);
		if (r < 0)
			return r;
		(void)sd_event_source_set_description(st->busy_timer, "auth-busy");
		return 0;
	}
	r = sd_event_source_set_time(st->busy_timer, st->busy_head->due_us);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(st->busy_timer, SD_EVENT_ONESHOT);
}

/* Holds m until its Busy answer is due; < 0 when the deferred calls'
 * bounds are reached (then the caller answers at once). */
static int busy_defer(struct auth_state *st, struct caller *c, sd_bus_message *m, size_t size)
{
	struct deferred *b;

	if (c->deferred >= AUTH_CALLER_MAX_DEFERRED || st->deferred >= AUTH_MAX_DEFERRED ||
	    c->deferred_bytes + size > AUTH_CALLER_MAX_BYTES ||
	    st->deferred_bytes + size > AUTH_MAX_BYTES)
		return -ENOBUFS;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->c = c;
	b->m = sd_bus_message_ref(m);
	b->bytes = size;
	b->held = c->held;
	b->due_us = now_monotonic_usec() + AUTH_BUSY_DELAY_US;
	*st->busy_tail = b;
	st->busy_tail = &b->next;
	st->deferred++;
	st->deferred_bytes += size;
	c->deferred++;
	c->deferred_bytes += size;
	if (busy_timer_arm(st) < 0) {
		/* no timer: undo, answer at once */
		st->busy_tail = &st->busy_head;
		while (*st->busy_tail != b)
			st->busy_tail = &(*st->busy_tail)->next;
		*st->busy_tail = NULL;
		st->deferred--;
		st->deferred_bytes -= size;
		c->deferred--;
		c->deferred_bytes -= size;
		sd_bus_message_unref(b->m);
		free(b);
		return -EIO;
	}
	return 0;
}

static int auth_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct auth_state *st = userdata;
	const struct auth_rule *rule;
	struct approved **pp;
	struct auth_query *q;
	struct caller *c;
	const char *iface;
	size_t size = 0;
	int r;
	uint8_t type = 0;

	if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
		return 0;
	iface = sd_bus_message_get_interface(m);
	if (!iface || strncmp(iface, IFACE_PREFIX, strlen(IFACE_PREFIX)) != 0)
		return 0;
	for (pp = &st->approved; *pp; pp = &(*pp)->next)
		if ((*pp)->m == m) {
			struct approved *a = *pp;

			*pp = a->next;
			sd_bus_message_unref(a->m);
			free(a);
			return 0;
		}
	if (!sd_bus_message_get_sender(m))
		return 0;	/* direct connection without a bus: trusted */
	rule = auth_rule_for(iface, sd_bus_message_get_member(m));
	if (!rule) {
		/* deny by default: not in the table, not reachable */
		auth_log(st, LOG_INFO, "auth: %s.%s refused to %s: not in the authorization table",
			 iface, sd_bus_message_get_member(m) ?: "?", sd_bus_message_get_sender(m));
		sd_bus_reply_method_errorf(m, SGD_ERR_ACCESS_DENIED,
					   "%s.%s is not a method strigild authorizes.", iface,
					   sd_bus_message_get_member(m) ?: "?");
		return 1;
	}
	r = body_size(m, AUTH_CALL_MAX_BYTES, &size);
	if (r == -E2BIG) {
		sd_bus_reply_method_errorf(m, SGD_ERR_INVALID_ARGUMENT,
					   "The call is larger than %u bytes; no strigild method takes that much.",
					   AUTH_CALL_MAX_BYTES);
		return 1;
	}
	c = caller_get(st, sd_bus_message_get_sender(m));
	if (!c)
		return -ENOMEM;
	/* the caller's own bound; past the total, only callers that hold
	 * calls already are refused: never the clinician's first call */
	if (c->held >= AUTH_CALLER_MAX_HELD || c->bytes + size > AUTH_CALLER_MAX_BYTES ||
	    (c->held > 0 && (st->held >= AUTH_MAX_HELD || st->bytes + size > AUTH_MAX_BYTES))) {
		auth_log(st, LOG_WARNING, "auth: %s refused to %s: %u call(s) of it waiting for authorization",
			 sd_bus_message_get_member(m) ?: "?", c->sender, c->held);
		if (busy_defer(st, c, m, size) < 0) {
			sd_bus_reply_method_errorf(m, SGD_ERR_BUSY,
						   "Too many of your calls are waiting for authorization (%u) or for their refusal (%u); wait for their answers, then retry.",
						   c->held, c->deferred);
			caller_put(st, c);
		}
		return 1;
	}

	q = calloc(1, sizeof(*q));
	if (!q) {
		caller_put(st, c);
		return -ENOMEM;
	}
	q->st = st;
	q->c = c;
	q->bytes = size;
	c->held++;
	c->bytes += size;
	st->held++;
	st->bytes += size;
	q->m = sd_bus_message_ref(m);
	q->actions[q->nactions++] = rule->action;
	if (rule->extra) {
		const char *extra = rule->extra(m);

		if (extra)
			q->actions[q->nactions++] = extra;
	}
	q->next = st->queries;
	st->queries = q;
	auth_pump(st);
	return 1;	/* held: answered or re-queued by query_reply() */
}

int auth_setup(struct daemon *d)
{
	struct auth_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->d = d;
	st->busy_tail = &st->busy_head;
	d->auth = st;
	return sd_bus_add_filter(d->bus, &st->filter, auth_filter, st);
}

void auth_free(struct daemon *d)
{
	struct auth_state *st = d->auth;

	if (!st)
		return;
	while (st->queries)
		query_free(st->queries);
	while (st->busy_head) {
		struct deferred *b = st->busy_head;

		st->busy_head = b->next;
		reply_busy(b->m, b->held);
		b->c->deferred--;
		caller_put(st, b->c);
		sd_bus_message_unref(b->m);
		free(b);
	}
	sd_event_source_disable_unref(st->busy_timer);
	while (st->approved) {
		struct approved *a = st->approved;

		st->approved = a->next;
		sd_bus_message_unref(a->m);
		free(a);
	}
	sd_bus_slot_unref(st->filter);
	free(st);
	d->auth = NULL;
}
