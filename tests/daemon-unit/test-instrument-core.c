/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instrument's domain without a bus or a device (daemon/instrument-
 * core.c): streaming demand, calibration validity, samples lost across an
 * unplug and a pause, property texts, and the checks of Tare, OpenStream,
 * ReadPoint and WriteCalibration with their edges. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "instrument-core.h"

static void test_streaming(void)
{
	struct instrument_demand d = { .connected = true };

	CHECK(!instrument_streaming_wanted(&d), "nobody needs it: no streaming");
	d.claims = 1;
	CHECK(instrument_streaming_wanted(&d), "a claim");
	d.claims = 0;
	d.streams = true;
	CHECK(instrument_streaming_wanted(&d), "a stream");
	d.streams = false;
	d.reads = true;
	CHECK(instrument_streaming_wanted(&d), "a ReadPoint");
	d.reads = false;
	d.session_running = true;
	CHECK(instrument_streaming_wanted(&d), "a running session");
	/* unplugged: nothing to stream from, whoever asks */
	d = (struct instrument_demand){ .connected = false, .session_running = true,
					.claims = 3, .streams = true, .reads = true };
	CHECK(!instrument_streaming_wanted(&d), "unplugged");
}

static void test_calibration_valid(void)
{
	struct sg_calibration c = { .cal_date = 1000, .due_date = 2000 };

	CHECK(instrument_cal_valid(&c, 1999), "before due");
	CHECK(!instrument_cal_valid(&c, 2000), "due at exactly its date");
	c.due_date = 0;
	CHECK(instrument_cal_valid(&c, 1999999), "no due date");
	c.cal_date = 0;
	CHECK(!instrument_cal_valid(&c, 1500), "never calibrated");
}

static void test_lost(void)
{
	struct instrument_lost a;

	CHECK_EQ_INT(instrument_unplugged_samples(1000000, 3500000, 1000), 2500);
	CHECK_EQ_INT(instrument_unplugged_samples(1000000, 1000999, 1000), 0);
	CHECK_EQ_INT(instrument_unplugged_samples(1000000, 1001000, 1000), 1);
	CHECK_EQ_INT(instrument_unplugged_samples(5, 4, 1000), 0);

	/* running session: the engine gets the gap, the session counts it */
	instrument_account_lost(40, true, true, &a);
	CHECK(a.engine_gap == 40 && a.session_lost == 40 && a.session_paused == 0,
	      "running: %llu %llu %llu", (unsigned long long)a.engine_gap,
	      (unsigned long long)a.session_lost, (unsigned long long)a.session_paused);
	/* paused session: its engine hears of the gap on resume, not now */
	instrument_account_lost(40, true, false, &a);
	CHECK(a.engine_gap == 0 && a.session_lost == 40 && a.session_paused == 40,
	      "paused: %llu %llu %llu", (unsigned long long)a.engine_gap,
	      (unsigned long long)a.session_lost, (unsigned long long)a.session_paused);
	/* a monitor only */
	instrument_account_lost(7, false, true, &a);
	CHECK(a.engine_gap == 7 && a.session_lost == 0 && a.session_paused == 0, "no session");
}

static void test_texts(void)
{
	uint8_t ids[STRIGIL_MAX_CHANNELS];
	uint8_t shear = STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_X) | STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_Y);
	uint8_t normal = STRIGIL_CH_BIT(STRIGIL_CH_NORMAL);

	CHECK(!strcmp(instrument_alert_str(STRIGIL_ALERT_EXCEEDED), "exceeded"), "exceeded");
	CHECK(!strcmp(instrument_alert_str(STRIGIL_ALERT_WARNING), "warning"), "warning");
	CHECK(!strcmp(instrument_alert_str(STRIGIL_ALERT_OFF), "off"), "off");
	CHECK(!strcmp(instrument_stroke_rule(normal | shear, false), "reversal"), "both shear");
	CHECK(!strcmp(instrument_stroke_rule(normal | STRIGIL_CH_BIT(STRIGIL_CH_SHEAR_X), false),
		      "contact"), "one shear channel is not enough");
	CHECK(!strcmp(instrument_stroke_rule(normal | shear, true), "contact"), "contact_only");
	CHECK_EQ_INT(instrument_channel_ids(normal | STRIGIL_CH_BIT(STRIGIL_CH_TILT), ids), 2);
	CHECK(ids[0] == STRIGIL_CH_NORMAL && ids[1] == STRIGIL_CH_TILT, "ids %u %u", ids[0], ids[1]);
	CHECK(!strcmp(instrument_channel_name(STRIGIL_CH_TILT), "tilt"), "tilt");
	CHECK(!strcmp(instrument_channel_name(STRIGIL_MAX_CHANNELS), "unknown"), "out of range");
}

static void test_method_checks(void)
{
	char msg[256];
	uint64_t n = 0;

	CHECK_EQ_INT(instrument_check_tare("SG1", true, true, msg, sizeof(msg)), INSTRUMENT_OK);
	CHECK_EQ_INT(instrument_check_tare("SG1", true, false, msg, sizeof(msg)),
		     INSTRUMENT_NOT_STREAMING);
	CHECK(!strcmp(msg, "Instrument SG1 is not streaming; Claim() it or start a session first."),
	      "%s", msg);
	CHECK_EQ_INT(instrument_check_tare("SG1", false, true, msg, sizeof(msg)),
		     INSTRUMENT_UNPLUGGED);
	CHECK(!strcmp(msg, "Instrument SG1 is unplugged; plug it in and retry."), "%s", msg);

	CHECK_EQ_INT(instrument_check_open_stream("SG1", 15, 16, true, msg, sizeof(msg)),
		     INSTRUMENT_OK);
	CHECK_EQ_INT(instrument_check_open_stream("SG1", 16, 16, true, msg, sizeof(msg)),
		     INSTRUMENT_BUSY);
	CHECK(strstr(msg, "already has 16 open streams") != NULL, "%s", msg);
	CHECK_EQ_INT(instrument_check_open_stream("SG1", 0, 16, false, msg, sizeof(msg)),
		     INSTRUMENT_UNPLUGGED);

	/* ReadPoint: 0.1 to 30 s, plugged, claimed by the caller */
	CHECK_EQ_INT(instrument_check_read_point("SG1", 0.1, true, true, 1000, &n, msg,
						 sizeof(msg)), INSTRUMENT_OK);
	CHECK_EQ_INT(n, 100);
	CHECK_EQ_INT(instrument_check_read_point("SG1", 30, true, true, 333, &n, msg,
						 sizeof(msg)), INSTRUMENT_OK);
	CHECK_EQ_INT(n, 9990);
	CHECK_EQ_INT(instrument_check_read_point("SG1", 0.0999, true, true, 1000, &n, msg,
						 sizeof(msg)), INSTRUMENT_BAD_ARGUMENT);
	CHECK(!strcmp(msg, "ReadPoint needs 0.1 to 30 seconds, got 0.0999."), "%s", msg);
	CHECK_EQ_INT(instrument_check_read_point("SG1", 30.001, true, true, 1000, &n, msg,
						 sizeof(msg)), INSTRUMENT_BAD_ARGUMENT);
	CHECK_EQ_INT(instrument_check_read_point("SG1", NAN, true, true, 1000, &n, msg,
						 sizeof(msg)), INSTRUMENT_BAD_ARGUMENT);
	/* a bad argument is reported before the plug, the plug before the claim */
	CHECK_EQ_INT(instrument_check_read_point("SG1", 50, false, false, 1000, &n, msg,
						 sizeof(msg)), INSTRUMENT_BAD_ARGUMENT);
	CHECK_EQ_INT(instrument_check_read_point("SG1", 1, false, false, 1000, &n, msg,
						 sizeof(msg)), INSTRUMENT_UNPLUGGED);
	CHECK_EQ_INT(instrument_check_read_point("SG1", 1, true, false, 1000, &n, msg,
						 sizeof(msg)), INSTRUMENT_NOT_CLAIMED);
	CHECK(!strcmp(msg, "Claim() instrument SG1 before reading calibration points."), "%s", msg);
	CHECK(!strcmp(instrument_verdict_str(INSTRUMENT_NOT_CLAIMED), "not-claimed"), "str");
}

static void test_write_calibration(void)
{
	const uint8_t mask = STRIGIL_CH_BIT(STRIGIL_CH_NORMAL) | STRIGIL_CH_BIT(STRIGIL_CH_TILT);
	double offset[2] = { 120, -5 }, scale[2] = { 0.001, 1.0 };
	struct instrument_cal_request q = {
		.technician = "T-17", .date_us = 1700000000000000ull,
		.due_us = 1731536000000000ull, .have_due = true, .have_offset = true,
		.have_scale = true, .offset = offset, .scale = scale,
	};
	struct instrument_cal_request b;
	struct sg_calibration c;
	char msg[256];

	CHECK_EQ_INT(instrument_check_calibration(&q, "SG1", mask, true, &c, msg, sizeof(msg)),
		     INSTRUMENT_OK);
	CHECK(c.channel_mask == mask && c.offset[STRIGIL_CH_NORMAL] == 120 &&
	      c.offset[STRIGIL_CH_TILT] == -5 && c.scale[STRIGIL_CH_TILT] == 1.0 &&
	      c.scale[STRIGIL_CH_SHEAR_X] == 0, "per channel id");
	CHECK(c.cal_date == 1700000000 && c.due_date == 1731536000, "dates in seconds");
	CHECK(!strcmp(c.technician, "T-17"), "%s", c.technician);

#define REFUSED(field_change, want_substr) do {						\
		b = q;									\
		field_change;								\
		CHECK_EQ_INT(instrument_check_calibration(&b, "SG1", mask, true, &c, msg,	\
							  sizeof(msg)), INSTRUMENT_BAD_ARGUMENT); \
		CHECK(strstr(msg, want_substr) != NULL, "%s", msg);			\
	} while (0)

	REFUSED(b.technician = NULL, "needs technician, due, offset and scale");
	REFUSED(b.have_due = false, "needs technician");
	REFUSED(b.have_scale = false, "needs technician");
	REFUSED(b.technician = "", "1 to 16 characters");
	REFUSED(b.technician = "12345678901234567", "1 to 16 characters");
	REFUSED(b.technician = "J Doe", "printable ASCII without spaces");
	REFUSED(b.due_us = b.date_us, "due date must come after");
	REFUSED(b.date_us = 0, "due date must come after");
	REFUSED((b.scale = (const double[]){ 0.001, 1.0000001 }), "Scale of channel tilt");
	REFUSED((b.scale = (const double[]){ 0.0, 1.0 }), "Scale of channel normal");
	REFUSED((b.offset = (const double[]){ 2147483648.0, 0 }), "Offset of channel normal");
	REFUSED((b.offset = (const double[]){ 0, INFINITY }), "Offset of channel tilt");

	/* the edges that are accepted */
	b = q;
	b.technician = "1234567890123456";
	b.due_us = b.date_us + 1;
	b.offset = (const double[]){ 2147483647.0, -2147483647.0 };
	CHECK_EQ_INT(instrument_check_calibration(&b, "SG1", mask, true, &c, msg, sizeof(msg)),
		     INSTRUMENT_OK);
	/* checked first, then the plug */
	CHECK_EQ_INT(instrument_check_calibration(&q, "SG1", mask, false, &c, msg, sizeof(msg)),
		     INSTRUMENT_UNPLUGGED);
	b = q;
	b.technician = "";
	CHECK_EQ_INT(instrument_check_calibration(&b, "SG1", mask, false, &c, msg, sizeof(msg)),
		     INSTRUMENT_BAD_ARGUMENT);
}

int main(void)
{
	test_streaming();
	test_calibration_valid();
	test_lost();
	test_texts();
	test_method_checks();
	test_write_calibration();
	return check_exit("test-instrument-core");
}
