// SPDX-License-Identifier: LGPL-2.1-or-later
/* The monitor view: force bar against the cap, rate, events, no colors
 * when asked, and the bus reply -> JSON conversion and error advice. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/check.h"
#include "bus.h"
#include "ctl-json.h"
#include "monitor-view.h"
#include "strigilctl.h"

struct ctl_global ctl;

static void test_bar(void)
{
	char bar[64];
	double max;

	mon_bar(bar, 20, 4.0, 8.0, &max);	/* scale 10 N: 8 cells, cap at 16 */
	CHECK_NEAR(max, 10.0, 1e-12);
	CHECK(strcmp(bar, "########........|...") == 0, "bar '%s'", bar);
	mon_bar(bar, 20, 20.0, 8.0, &max);	/* beyond the scale: full, cap moves */
	CHECK_NEAR(max, 20.0, 1e-12);
	CHECK(strcmp(bar, "########|###########") == 0, "bar '%s'", bar);
	mon_bar(bar, 10, NAN, NAN, &max);
	CHECK(strcmp(bar, "..........") == 0, "no force, no cap '%s'", bar);
	mon_bar(bar, 10, -1.0, 5.0, NULL);
	CHECK(strcmp(bar, "........|.") == 0, "negative force '%s'", bar);
}

static void test_rate(void)
{
	struct mon_state m;

	mon_state_init(&m);
	CHECK(isnan(mon_stroke_rate(&m)), "no rate yet");
	for (int i = 0; i < 20; i++)
		mon_note_stroke_time(&m, 2.0 * i);	/* 0.5 Hz */
	CHECK_NEAR(mon_stroke_rate(&m), 30.0, 1e-9);
	CHECK_EQ_INT(m.nstroke_t, MON_RATE_WINDOW);
}

static void test_render(void)
{
	struct mon_state m;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int lines;

	mon_state_init(&m);
	snprintf(m.serial, sizeof(m.serial), "SIM0001");
	snprintf(m.model, sizeof(m.model), "S1");
	m.connected = m.streaming = true;
	m.have_session = true;
	snprintf(m.session_id, sizeof(m.session_id), "7");
	snprintf(m.session_state, sizeof(m.session_state), "running");
	snprintf(m.region, sizeof(m.region), "neck");
	m.limit_n = 4.0;
	snprintf(m.limit_source, sizeof(m.limit_source), "anticoagulants x0.5");
	m.force_n = 4.5;
	m.strokes = 3;
	m.have_last = true;
	m.last_index = 3;
	m.last_peak_n = 5.25;
	m.last_limit_n = 4.0;
	m.violations = 1;
	for (int i = 0; i < 10; i++)
		mon_add_event(&m, "event %d", i);
	mon_add_event(&m, "LIMIT EXCEEDED 5.10 N > 4.00 N");

	f = open_memstream(&buf, &len);
	lines = mon_render(f, &m, 80, false);
	fclose(f);
	CHECK(lines >= 10, "%d lines", lines);
	CHECK(strstr(buf, "limit 4.0 N  (anticoagulants x0.5)") != NULL, "cap and reason");
	CHECK(strstr(buf, "force   4.50 N [") != NULL, "force readout:\n%s", buf);
	CHECK(strstr(buf, "last stroke #3  peak 5.25 N") != NULL, "last stroke");
	CHECK(strstr(buf, "burst") == NULL, "no burst without one:\n%s", buf);
	CHECK(strstr(buf, "OVER LIMIT") != NULL, "over limit marked");
	CHECK(strstr(buf, "violations 1") != NULL, "violations");
	CHECK(strstr(buf, "LIMIT EXCEEDED 5.10 N > 4.00 N") != NULL, "newest event shown");
	CHECK(strstr(buf, "event 4\033") == NULL && strstr(buf, "event 5\033") != NULL,
	      "only the last %d events", MON_EVENTS);
	CHECK(strstr(buf, "\033[1;31m") == NULL, "no colors when not asked");
	free(buf);

	/* the third pass of a burst (passes back and forth without lifting) */
	m.last_burst = 2;
	m.last_pass = 3;
	f = open_memstream(&buf, &len);
	mon_render(f, &m, 80, false);
	fclose(f);
	CHECK(strstr(buf, "last stroke #3  peak 5.25 N") != NULL &&
	      strstr(buf, "  burst 2 pass 3  OVER LIMIT") != NULL, "burst and pass:\n%s", buf);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	mon_render(f, &m, 80, true);
	fclose(f);
	CHECK(strstr(buf, "\033[1;31m") != NULL, "red when over the cap");
	free(buf);
}

static void test_advice(void)
{
	int code = -1;

	CHECK(ctl_error_advice("org.strigil.Strigil1.Error.AccessDenied", &code) != NULL &&
	      code == EXIT_DENIED, "denied -> %d", code);
	CHECK(strstr(ctl_error_advice("org.strigil.Strigil1.Error.NotCalibrated", &code),
		     "strigilctl calibrate") != NULL && code == EXIT_FAIL, "calibrate advice");
	CHECK(ctl_error_advice("org.strigil.Strigil1.Error.InvalidArgument", &code) &&
	      code == EXIT_USAGE, "invalid -> usage");
	CHECK(ctl_error_advice("org.freedesktop.DBus.Error.ServiceUnknown", &code) &&
	      code == EXIT_NODAEMON, "no daemon");
	CHECK(ctl_error_advice("org.example.Nope", &code) == NULL && code == EXIT_FAIL,
	      "unknown error");
}

static void test_message_to_json(void)
{
	sd_bus *bus = NULL;
	sd_bus_message *m = NULL;
	struct json_object *o = NULL;
	const char *s;
	int r;

	int sv[2] = { -1, -1 };

	/* Messages need a started bus; one end of a socketpair will do. */
	r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	CHECK(r == 0, "socketpair");
	r = sd_bus_new(&bus);
	CHECK(r >= 0, "sd_bus_new %d", r);
	if (r >= 0)
		r = sd_bus_set_fd(bus, sv[0], sv[0]);
	if (r >= 0)
		r = sd_bus_start(bus);
	CHECK(r >= 0, "sd_bus_start %d", r);
	r = sd_bus_message_new_signal(bus, &m, "/a", "org.example.X", "Y");
	CHECK(r >= 0, "new message %d", r);
	if (r < 0)
		goto out;
	r = sd_bus_message_append(m, "a{sv}", 5,
				  "peak_n", "d", 5.5,
				  "index", "u", (uint32_t)7,
				  "time", "t", (uint64_t)1700000000000000ULL,
				  "reasons", "as", 2, "a", "b,c",
				  "nested", "a(sd)", 1, "x", NAN);
	CHECK(r >= 0, "append %d", r);
	r = sd_bus_message_seal(m, 1, 0);
	CHECK(r >= 0, "seal %d", r);
	r = sd_bus_message_rewind(m, true);
	CHECK(r >= 0, "rewind %d", r);
	r = ctl_bus_read_json(m, &o);
	CHECK(r > 0, "read %d", r);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	CHECK(strcmp(s, "{\"peak_n\":5.5,\"index\":7,\"time\":1700000000000000,"
		     "\"reasons\":[\"a\",\"b,c\"],\"nested\":[[\"x\",null]]}") == 0, "json %s", s);
	CHECK_NEAR(cj_num(o, "peak_n", 0), 5.5, 0);
	CHECK_EQ_INT(cj_int(o, "time", 0), 1700000000000000LL);
	CHECK_NEAR(ctl_usec_to_s(cj_int(o, "time", 0)), 1700000000.0, 1e-6);
	json_object_put(o);
out:
	sd_bus_message_unref(m);
	sd_bus_close_unref(bus);
	if (sv[1] >= 0)
		close(sv[1]);
}

int main(void)
{
	test_bar();
	test_rate();
	test_render();
	test_advice();
	test_message_to_json();
	return check_exit("test-ctl-monitor");
}
