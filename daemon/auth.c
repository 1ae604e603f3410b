/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorization: decided first, before a method handler runs, from ONE
 * table mapping each method to a polkit action (bolt's bouncer is the
 * model). A bus filter sees every incoming call; a call that needs an
 * action is held while org.freedesktop.PolicyKit1 answers asynchronously,
 * then either refused with Error.AccessDenied or re-queued for normal
 * dispatch, marked as approved. Handlers never see unauthorized calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strigild.h"

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
	{ SGD_IFACE_MANAGER, "FindProfile", A_MONITOR, NULL },
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

struct auth_query {
	struct auth_query *next;
	struct auth_state *st;
	sd_bus_message *m;
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
	struct auth_query *queries;
	struct approved *approved;
};

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

static void query_free(struct auth_query *q)
{
	struct auth_query **pp;

	for (pp = &q->st->queries; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	sd_bus_slot_unref(q->slot);
	sd_bus_message_unref(q->m);
	free(q);
}

static void query_deny(struct auth_query *q, const char *why)
{
	const char *member = sd_bus_message_get_member(q->m);

	log_info("auth: %s denied to %s (%s): %s", member,
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
		log_warn("auth: polkit failed: %s: %s", e->name, e->message);
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
	query_free(q);
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

static int auth_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct auth_state *st = userdata;
	const struct auth_rule *rule;
	struct approved **pp;
	struct auth_query *q;
	const char *iface;
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
	rule = auth_rule_for(iface, sd_bus_message_get_member(m));
	if (!rule)
		return 0;	/* unknown member: sd-bus answers UnknownMethod */
	if (!sd_bus_message_get_sender(m))
		return 0;	/* direct connection without a bus: trusted */

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->st = st;
	q->m = sd_bus_message_ref(m);
	q->actions[q->nactions++] = rule->action;
	if (rule->extra) {
		const char *extra = rule->extra(m);

		if (extra)
			q->actions[q->nactions++] = extra;
	}
	q->next = st->queries;
	st->queries = q;
	r = query_send(q);
	if (r < 0) {
		query_deny(q, "could not be checked");
		query_free(q);
	}
	return 1;	/* held: answered or re-queued by query_reply() */
}

int auth_setup(struct daemon *d)
{
	struct auth_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->d = d;
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
