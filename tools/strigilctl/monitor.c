// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * strigilctl monitor [INSTRUMENT]: live view of one instrument and its
 * session: force bar against the active cap, stroke count and rate, last
 * stroke, warnings and alarms as they happen. sd-event loop; Ctrl-C leaves
 * the terminal as it was (alternate screen, cursor restored). Without a
 * terminal, or with --json, it prints one line (JSON Lines) per event.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "bus.h"
#include "ctl-json.h"
#include "monitor-view.h"
#include "strigilctl.h"

static const char usage[] =
	"Usage: strigilctl monitor [--json] [--no-color] [INSTRUMENT]\n"
	"Live view of an instrument (the only one if none is named): force against\n"
	"the active cap, strokes and rate, last stroke, warnings and alarms.\n"
	"Ctrl-C quits. Without a terminal (or with --json) prints one line per\n"
	"event instead (JSON Lines with --json).\n";

#define REDRAW_USEC 100000	/* 10 Hz: a readable bar, little CPU */

struct mon {
	sd_bus *bus;
	sd_event *ev;
	char *inst_path;
	char *session_path;
	struct mon_state st;
	bool live;		/* redrawing terminal view */
	bool color;
	bool dirty;
	int width;
};

/*
 * Whether the terminal is in the alternate screen. A file-scope flag, not a
 * field of verb_monitor's struct mon: screen_restore() also runs from
 * atexit(), after verb_monitor's frame is gone (a pointer to it there read
 * a dead stack frame at every exit).
 */
static bool screen_set;

static void screen_restore(void)
{
	if (screen_set) {
		fputs("\033[0m\033[?25h\033[?1049l", stdout);
		fflush(stdout);
		screen_set = false;
	}
}

static void terminal_width(struct mon *m)
{
	struct winsize ws;

	m->width = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		m->width = ws.ws_col;
}

static void clock_str(double unix_s, char *buf, size_t len)
{
	struct tm tm;
	time_t t = isfinite(unix_s) ? (time_t)unix_s : time(NULL);

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

/* An event: a line in the view, or printed at once without a terminal. */
static void emit(struct mon *m, const char *kind, struct json_object *data, const char *text)
{
	char t[16];

	clock_str(ctl_usec_to_s(cj_int(data, "time", 0)), t, sizeof(t));
	if (m->live) {
		mon_add_event(&m->st, "%s %s", t, text);
		m->dirty = true;
		return;
	}
	if (ctl.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string(kind));
		json_object_object_add(o, "instrument", json_object_new_string(m->st.serial));
		if (m->session_path)
			json_object_object_add(o, "session",
					       json_object_new_string(cj_path_tail(m->session_path)));
		if (data)
			json_object_object_add(o, "data", json_object_get(data));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("%s %s\n", t, text);
	}
	fflush(stdout);
}

static void session_from_props(struct mon *m, struct json_object *p)
{
	struct mon_state *s = &m->st;

	if (cj_has(p, "Id"))
		snprintf(s->session_id, sizeof(s->session_id), "%lld", (long long)cj_int(p, "Id", 0));
	if (cj_has(p, "State"))
		snprintf(s->session_state, sizeof(s->session_state), "%s", cj_str(p, "State", ""));
	if (cj_has(p, "Region"))
		snprintf(s->region, sizeof(s->region), "%s", cj_str(p, "Region", ""));
	if (cj_has(p, "EffectiveLimitN"))
		s->limit_n = cj_num(p, "EffectiveLimitN", NAN);
	if (cj_has(p, "LimitSource"))
		snprintf(s->limit_source, sizeof(s->limit_source), "%s", cj_str(p, "LimitSource", ""));
	if (cj_has(p, "TargetMinN"))
		s->target_min_n = cj_num(p, "TargetMinN", 0);
	if (cj_has(p, "TargetMaxN"))
		s->target_max_n = cj_num(p, "TargetMaxN", 0);
	if (cj_has(p, "StrokeCount"))
		s->strokes = (uint32_t)cj_int(p, "StrokeCount", 0);
	if (cj_has(p, "MaxStrokes"))
		s->max_strokes = (uint32_t)cj_int(p, "MaxStrokes", 0);
	if (cj_has(p, "ViolationCount"))
		s->violations = (uint32_t)cj_int(p, "ViolationCount", 0);
	if (cj_has(p, "WarningCount"))
		s->warnings = (uint32_t)cj_int(p, "WarningCount", 0);
	if (cj_has(p, "SecondsUnderLoad"))
		s->seconds_under_load = cj_num(p, "SecondsUnderLoad", 0);
	if (cj_has(p, "MaxSecondsUnderLoad"))
		s->max_seconds = cj_num(p, "MaxSecondsUnderLoad", 0);
	m->dirty = true;
}

static void set_session(struct mon *m, const char *path)
{
	struct json_object *p = NULL;
	bool none = !path || !strcmp(path, "/");

	if ((none && !m->session_path) || (!none && m->session_path &&
					   !strcmp(path, m->session_path)))
		return;
	free(m->session_path);
	m->session_path = none ? NULL : strdup(path);
	m->st.have_session = m->session_path != NULL;
	m->st.limit_n = NAN;
	m->st.limit_source[0] = '\0';
	m->st.strokes = m->st.violations = m->st.warnings = 0;
	m->st.max_strokes = 0;
	m->st.seconds_under_load = m->st.max_seconds = 0;
	m->st.target_min_n = m->st.target_max_n = 0;
	m->st.have_last = false;
	m->st.nstroke_t = 0;
	if (m->session_path && ctl_bus_get_all(m->bus, m->session_path, SG_IFACE_SESSION, &p) == 0) {
		char text[256];

		session_from_props(m, p);
		snprintf(text, sizeof(text), "session %s %s, region %s, limit %.2f N",
			 m->st.session_id, m->st.session_state, m->st.region, m->st.limit_n);
		emit(m, "session", p, text);
	} else if (!m->session_path) {
		emit(m, "session", NULL, "no session");
	}
	json_object_put(p);
	m->dirty = true;
}

static void instrument_from_props(struct mon *m, struct json_object *p)
{
	struct mon_state *s = &m->st;

	if (cj_has(p, "Serial"))
		snprintf(s->serial, sizeof(s->serial), "%s", cj_str(p, "Serial", ""));
	if (cj_has(p, "Model"))
		snprintf(s->model, sizeof(s->model), "%s", cj_str(p, "Model", ""));
	if (cj_has(p, "Connected")) {
		bool was = s->connected;

		s->connected = cj_bool(p, "Connected", false);
		if (was != s->connected && s->serial[0])
			emit(m, s->connected ? "connected" : "unplugged", NULL,
			     s->connected ? "instrument plugged in" : "INSTRUMENT UNPLUGGED");
	}
	if (cj_has(p, "Streaming"))
		s->streaming = cj_bool(p, "Streaming", false);
	/* NaN (not streaming) arrives as JSON null: the key is there, no value. */
	if (json_object_object_get_ex(p, "ForceN", NULL)) {
		struct json_object *f = cj_get(p, "ForceN");

		s->force_n = f ? json_object_get_double(f) : NAN;
	}
	if (cj_has(p, "Alert"))
		snprintf(s->alert, sizeof(s->alert), "%s", cj_str(p, "Alert", "off"));
	if (cj_has(p, "ActiveSession"))
		set_session(m, cj_str(p, "ActiveSession", "/"));
	m->dirty = true;
}

static int on_properties(sd_bus_message *msg, void *userdata, sd_bus_error *err)
{
	struct mon *m = userdata;
	const char *path = sd_bus_message_get_path(msg), *iface;
	struct json_object *p = NULL;

	if (sd_bus_message_read(msg, "s", &iface) < 0 || ctl_bus_read_json(msg, &p) < 0)
		return 0;
	if (!strcmp(iface, SG_IFACE_INSTRUMENT) && !strcmp(path, m->inst_path))
		instrument_from_props(m, p);
	else if (!strcmp(iface, SG_IFACE_SESSION) && m->session_path &&
		 !strcmp(path, m->session_path)) {
		const char *old = m->st.session_state;
		char was[16];

		snprintf(was, sizeof(was), "%s", old);
		session_from_props(m, p);
		if (strcmp(was, m->st.session_state)) {
			char text[256];

			snprintf(text, sizeof(text), "session %s", m->st.session_state);
			emit(m, "state", p, text);
		}
	}
	json_object_put(p);
	return 0;
}

static int on_session_signal(sd_bus_message *msg, void *userdata, sd_bus_error *err)
{
	struct mon *m = userdata;
	const char *path = sd_bus_message_get_path(msg);
	const char *member = sd_bus_message_get_member(msg);
	struct json_object *d = NULL;
	char text[256];

	if (!m->session_path || !path || strcmp(path, m->session_path))
		return 0;
	if (!strcmp(member, "SessionCapReached")) {
		const char *cap = "";

		if (sd_bus_message_read(msg, "s", &cap) < 0)
			return 0;
		d = json_object_new_object();
		json_object_object_add(d, "cap", json_object_new_string(cap));
		snprintf(text, sizeof(text), "CAP REACHED (%s): move on to another region", cap);
		emit(m, "cap", d, text);
		json_object_put(d);
		return 0;
	}
	if (ctl_bus_read_json(msg, &d) < 0)
		return 0;
	if (!strcmp(member, "StrokeCompleted")) {
		struct mon_state *s = &m->st;

		uint32_t burst = (uint32_t)cj_int(d, "burst", 0);

		/* passes of one burst share its number and come in order */
		s->last_pass = burst && burst == s->last_burst ? s->last_pass + 1 : burst ? 1 : 0;
		s->last_burst = burst;
		s->have_last = true;
		s->last_index = (uint32_t)cj_int(d, "index", 0);
		s->last_peak_n = cj_num(d, "peak_n", NAN);
		s->last_mean_n = cj_num(d, "mean_n", NAN);
		s->last_duration_s = cj_num(d, "duration_s", NAN);
		s->last_limit_n = cj_num(d, "limit_n", NAN);
		if (s->last_index > s->strokes)
			s->strokes = s->last_index;
		mon_note_stroke_time(s, cj_num(d, "end_s", NAN));
		snprintf(text, sizeof(text), "stroke #%u  peak %.2f N  mean %.2f N  %.2f s%s",
			 s->last_index, s->last_peak_n, s->last_mean_n, s->last_duration_s,
			 s->last_peak_n > s->last_limit_n ? "  over limit" : "");
		emit(m, "stroke", d, text);
	} else if (!strcmp(member, "LimitWarning")) {
		m->st.warnings++;
		snprintf(text, sizeof(text), "WARNING %.2f N near the %.2f N limit",
			 cj_num(d, "force_n", NAN), cj_num(d, "limit_n", NAN));
		emit(m, "warning", d, text);
	} else if (!strcmp(member, "LimitExceeded")) {
		m->st.violations++;
		snprintf(text, sizeof(text), "LIMIT EXCEEDED %.2f N > %.2f N (%s)",
			 cj_num(d, "force_n", NAN), cj_num(d, "limit_n", NAN),
			 cj_str(d, "region", m->st.region));
		emit(m, "exceeded", d, text);
	}
	json_object_put(d);
	m->dirty = true;
	return 0;
}

static void redraw(struct mon *m)
{
	if (!m->live || !m->dirty)
		return;
	fputs("\033[H", stdout);
	mon_render(stdout, &m->st, m->width, m->color);
	fputs("\033[J", stdout);
	fflush(stdout);
	m->dirty = false;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mon *m = userdata;

	redraw(m);
	sd_event_source_set_time(s, usec + REDRAW_USEC);
	return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct mon *m = userdata;

	if (si->ssi_signo == SIGWINCH) {
		terminal_width(m);
		fputs("\033[2J", stdout);
		m->dirty = true;
		return 0;
	}
	return sd_event_exit(m->ev, si->ssi_signo == SIGINT ? EXIT_INTERRUPTED : EXIT_OK);
}

static int on_disconnect(sd_bus_message *msg, void *userdata, sd_bus_error *err)
{
	struct mon *m = userdata;

	screen_restore();
	fprintf(stderr, "strigilctl: strigild went away; check 'systemctl status strigild'\n");
	return sd_event_exit(m->ev, EXIT_NODAEMON);
}

static int on_name_owner(sd_bus_message *msg, void *userdata, sd_bus_error *err)
{
	struct mon *m = userdata;
	const char *name, *old, *new;

	if (sd_bus_message_read(msg, "sss", &name, &old, &new) < 0)
		return 0;
	if (!strcmp(name, SG_BUS_NAME) && !*new) {
		screen_restore();
		fprintf(stderr, "strigilctl: strigild stopped; the monitor ends\n");
		return sd_event_exit(m->ev, EXIT_NODAEMON);
	}
	return 0;
}

int verb_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct mon m = {};
	struct json_object *p = NULL;
	sd_event_source *timer = NULL;
	sigset_t ss;
	bool no_color = false, claimed = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 'C': no_color = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	mon_state_init(&m.st);
	m.live = isatty(STDOUT_FILENO) && !ctl.json;
	m.color = m.live && !no_color && !getenv("NO_COLOR");
	terminal_width(&m);

	r = ctl_bus_open(&m.bus);
	if (r)
		return r;
	r = ctl_resolve_instrument(m.bus, optind < argc ? argv[optind] : NULL, &m.inst_path);
	if (r)
		goto out;
	if (sd_event_default(&m.ev) < 0 || sd_bus_attach_event(m.bus, m.ev, 0) < 0) {
		fprintf(stderr, "strigilctl: cannot set up the event loop\n");
		r = EXIT_FAIL;
		goto out;
	}
	/* Subscribe first, then read the state: no change is missed. */
	r = sd_bus_match_signal(m.bus, NULL, SG_BUS_NAME, NULL, "org.freedesktop.DBus.Properties",
				"PropertiesChanged", on_properties, &m);
	if (r >= 0)
		r = sd_bus_match_signal(m.bus, NULL, SG_BUS_NAME, NULL, SG_IFACE_SESSION, NULL,
					on_session_signal, &m);
	if (r >= 0)
		r = sd_bus_match_signal(m.bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
					"org.freedesktop.DBus", "NameOwnerChanged", on_name_owner, &m);
	if (r >= 0)
		r = sd_bus_match_signal(m.bus, NULL, "org.freedesktop.DBus.Local", NULL,
					"org.freedesktop.DBus.Local", "Disconnected", on_disconnect, &m);
	if (r < 0) {
		fprintf(stderr, "strigilctl: cannot subscribe to strigild's signals: %s\n",
			strerror(-r));
		r = EXIT_FAIL;
		goto out;
	}
	r = ctl_bus_get_all(m.bus, m.inst_path, SG_IFACE_INSTRUMENT, &p);
	if (r)
		goto out;
	m.st.connected = cj_bool(p, "Connected", false);
	instrument_from_props(&m, p);
	json_object_put(p);
	p = NULL;

	/* A claim makes the daemon stream and publish ForceN while we watch. */
	{
		sd_bus_error e = SD_BUS_ERROR_NULL;

		r = sd_bus_call_method(m.bus, SG_BUS_NAME, m.inst_path, SG_IFACE_INSTRUMENT, "Claim",
				       &e, NULL, "");
		if (r < 0) {
			snprintf(m.st.status, sizeof(m.st.status),
				 "no live force (%s); events only. Ctrl-C to quit",
				 e.message ? e.message : "claim refused");
			if (!m.live)
				fprintf(stderr, "strigilctl: %s\n", m.st.status);
		} else {
			claimed = true;
		}
		sd_bus_error_free(&e);
	}

	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGWINCH);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if (sd_event_add_signal(m.ev, NULL, SIGINT, on_signal, &m) < 0 ||
	    sd_event_add_signal(m.ev, NULL, SIGTERM, on_signal, &m) < 0 ||
	    sd_event_add_signal(m.ev, NULL, SIGHUP, on_signal, &m) < 0 ||
	    sd_event_add_signal(m.ev, NULL, SIGWINCH, on_signal, &m) < 0) {
		fprintf(stderr, "strigilctl: cannot watch signals\n");
		r = EXIT_FAIL;
		goto out;
	}
	if (m.live) {
		uint64_t now;

		sd_event_now(m.ev, CLOCK_MONOTONIC, &now);
		if (sd_event_add_time(m.ev, &timer, CLOCK_MONOTONIC, now + REDRAW_USEC, 0,
				      on_timer, &m) < 0) {
			r = EXIT_FAIL;
			goto out;
		}
		screen_set = true;
		atexit(screen_restore);
		fputs("\033[?1049h\033[?25l\033[2J", stdout);
		m.dirty = true;
		redraw(&m);
	}
	r = sd_event_loop(m.ev);
	if (r < 0) {
		screen_restore();
		fprintf(stderr, "strigilctl: event loop failed: %s\n", strerror(-r));
		r = EXIT_FAIL;
	}
	screen_restore();
	if (r == EXIT_INTERRUPTED)
		r = EXIT_OK;	/* Ctrl-C is how a monitor ends */
	if (claimed)
		sd_bus_call_method(m.bus, SG_BUS_NAME, m.inst_path, SG_IFACE_INSTRUMENT, "Release",
				   NULL, NULL, "");
out:
	screen_restore();
	sd_event_source_unref(timer);
	free(m.inst_path);
	free(m.session_path);
	json_object_put(p);
	sd_bus_flush_close_unref(m.bus);
	sd_event_unref(m.ev);
	return r;
}
