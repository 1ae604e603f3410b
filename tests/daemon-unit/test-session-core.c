/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session's domain without a bus (daemon/session-core.c): the start
 * checks and their order, pause/resume, region change under an override,
 * session caps, unplug/re-plug, the states of ended and crashed sessions. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "session-core.h"

static const char policy_text[] =
	"[limits]\n"
	"absolute_max_n = 14\n"
	"min_cap_n = 1\n"
	"warn_fraction = 0.8\n"
	"[calibration]\n"
	"allow_uncalibrated = no\n"
	"allow_expired = no\n"
	"expired_grace_days = 7\n"
	"[region neck]\n"
	"cap_n = 4\n"
	"[region calf]\n"
	"lateral = yes\n"
	"cap_n = 10\n"
	"[region hamstring]\n"
	"lateral = yes\n"
	"cap_n = 12\n"
	"[contraindication dvt]\n"
	"override = no\n"
	"[contraindication recent_sutures]\n"
	"local = yes\n"
	"override = yes\n"
	"cap_factor = 0.5\n"
	"[contraindication open_wound]\n"
	"local = yes\n"
	"override = yes\n"
	"[precaution anticoagulants]\n"
	"cap_factor = 0.5\n";

static struct sgd_policy *pol;
static const int64_t day = 86400, now = 1800000000;

static void profile(struct sgd_profile *p, const char *ref, const char *cond1, const char *cond2)
{
	char msg[256];

	sgd_profile_init(p);
	p->id = 7;
	CHECK(sgd_profile_set_patient_ref(p, ref, msg, sizeof(msg)) == 0, "%s", msg);
	if (cond1)
		CHECK(sgd_profile_add_condition(p, cond1, msg, sizeof(msg)) == SGD_PROFILE_OK,
		      "%s: %s", cond1, msg);
	if (cond2)
		CHECK(sgd_profile_add_condition(p, cond2, msg, sizeof(msg)) == SGD_PROFILE_OK,
		      "%s: %s", cond2, msg);
}

/* A plugged, free, calibrated instrument. */
static struct session_start_instrument good_inst(void)
{
	return (struct session_start_instrument){
		.serial = "SG-0001", .connected = true, .busy_with = NULL,
		.cal_date = now - 30 * day, .due_date = now + 300 * day,
	};
}

static enum session_start_outcome start(const struct sgd_profile *p, const char *region,
					const struct session_start_instrument *inst,
					const char *reason, const char *note,
					struct session_start_result *res)
{
	static struct sgd_limits l;

	return session_check_start(pol, p, region, inst, reason, note, now, &l, res);
}

#define CHECK_OUTCOME(got, want, res) \
	CHECK((got) == (want), "outcome %s, expected %s (%s)", session_start_outcome_str(got), \
	      session_start_outcome_str(want), (res)->msg)

static void test_start_ok(void)
{
	struct session_start_instrument inst = good_inst();
	struct session_start_result res;
	struct sgd_limits l;
	struct sgd_profile p;
	struct sgd_session rec;

	profile(&p, "OK1", NULL, NULL);
	CHECK_OUTCOME(session_check_start(pol, &p, "calf:left", &inst, NULL, "first visit", now,
					  &l, &res), SESSION_START_OK, &res);
	CHECK_EQ_INT(res.flags, 0);
	CHECK_NEAR(l.limit_n, 10.0, 1e-12);
	session_record_init(&rec, &p, inst.serial, res.flags, 123);
	session_record_apply_limits(&rec, &l);
	CHECK(!strcmp(rec.region, "calf:left") && !strcmp(rec.instrument, "SG-0001") &&
	      !strcmp(rec.patient_ref, "OK1"), "record %s %s %s", rec.region, rec.instrument,
	      rec.patient_ref);
	CHECK(rec.profile_id == 7 && rec.started_us == 123 && rec.updated_us == 123 &&
	      rec.state == SGD_SESSION_RUNNING, "record facts");
	CHECK_NEAR(rec.limit_n, 10.0, 1e-12);
	CHECK(!(rec.flags & SGD_SESSION_F_PRECAUTION), "no precaution, no flag");
	CHECK(strstr(rec.reasons, "calf") != NULL, "reasons: %s", rec.reasons);

	/* a precaution that lowers the cap flags the record for good */
	profile(&p, "OK2", "anticoagulants", NULL);
	CHECK_OUTCOME(session_check_start(pol, &p, "neck", &inst, NULL, NULL, now, &l, &res),
		      SESSION_START_OK, &res);
	CHECK_NEAR(l.limit_n, 2.0, 1e-12);
	session_record_init(&rec, &p, inst.serial, res.flags, 1);
	session_record_apply_limits(&rec, &l);
	CHECK(rec.flags & SGD_SESSION_F_PRECAUTION, "precaution flag 0x%x", rec.flags);
	CHECK_NEAR(rec.limit_n, 2.0, 1e-12);
}

/* Each refusal, and that the checks come in the order the clinician
 * needs them: text, region, plug, busy, contraindication, calibration. */
static void test_start_refusals(void)
{
	struct session_start_instrument inst = good_inst();
	struct session_start_result res;
	struct sgd_profile p, dvt;
	char longnote[SGD_NOTE_MAX + 2];

	profile(&p, "R1", NULL, NULL);
	profile(&dvt, "R2", "dvt", NULL);

	CHECK_OUTCOME(start(&p, "calf:left", &inst, "bad\x01", NULL, &res),
		      SESSION_START_BAD_TEXT, &res);
	CHECK(!strcmp(res.msg, "The override reason is too long or not text."), "%s", res.msg);
	memset(longnote, 'n', sizeof(longnote));
	longnote[SGD_NOTE_MAX] = '\0';		/* exactly the maximum: accepted */
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, longnote, &res), SESSION_START_OK, &res);
	longnote[SGD_NOTE_MAX] = 'n';
	longnote[SGD_NOTE_MAX + 1] = '\0';	/* one byte more: refused */
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, longnote, &res),
		      SESSION_START_BAD_TEXT, &res);
	CHECK(strstr(res.msg, "at most 256 bytes") != NULL, "%s", res.msg);
	CHECK_OUTCOME(start(&p, "calf\xc3\x28", &inst, NULL, NULL, &res),
		      SESSION_START_BAD_TEXT, &res);
	CHECK(!strcmp(res.msg, "The region name is too long or not text."), "%s", res.msg);

	/* a side is never guessed; a midline region has none; unknown ones */
	CHECK_OUTCOME(start(&p, "calf", &inst, NULL, NULL, &res), SESSION_START_BAD_REGION, &res);
	CHECK(res.msg[0] >= 'A' && res.msg[0] <= 'Z' && res.msg[strlen(res.msg) - 1] == '.',
	      "a sentence: %s", res.msg);
	CHECK_OUTCOME(start(&p, "neck:left", &inst, NULL, NULL, &res),
		      SESSION_START_BAD_REGION, &res);
	CHECK_OUTCOME(start(&p, "elbow", &inst, NULL, NULL, &res), SESSION_START_BAD_REGION, &res);

	/* a bad region is reported before the instrument's state */
	inst.connected = false;
	CHECK_OUTCOME(start(&p, "calf", &inst, NULL, NULL, &res), SESSION_START_BAD_REGION, &res);
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, NULL, &res),
		      SESSION_START_DISCONNECTED, &res);
	CHECK(!strcmp(res.msg, "Instrument SG-0001 is unplugged; plug it in and retry."), "%s",
	      res.msg);
	/* unplugged before busy */
	inst.busy_with = "/org/strigil/Strigil1/session/3";
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, NULL, &res),
		      SESSION_START_DISCONNECTED, &res);
	inst.connected = true;
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, NULL, &res), SESSION_START_BUSY, &res);
	CHECK(strstr(res.msg, "already runs session /org/strigil/Strigil1/session/3") != NULL,
	      "%s", res.msg);
	/* busy before the patient's contraindication */
	CHECK_OUTCOME(start(&dvt, "calf:left", &inst, NULL, NULL, &res), SESSION_START_BUSY, &res);
	inst.busy_with = NULL;

	/* contraindication before calibration */
	inst.cal_date = 0;
	CHECK_OUTCOME(start(&dvt, "calf:left", &inst, NULL, NULL, &res),
		      SESSION_START_CONTRAINDICATED, &res);
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, NULL, &res),
		      SESSION_START_NOT_CALIBRATED, &res);
	CHECK(strstr(res.msg, "Instrument SG-0001 is not calibrated: ") == res.msg, "%s", res.msg);
	/* expired: 8 days past due with 7 days of grace; 7 days is still in */
	inst.cal_date = now - 400 * day;
	inst.due_date = now - 8 * day;
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, NULL, &res),
		      SESSION_START_CAL_EXPIRED, &res);
	CHECK(strstr(res.msg, "Instrument SG-0001: ") == res.msg, "%s", res.msg);
	inst.due_date = now - 7 * day;
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, NULL, &res), SESSION_START_OK, &res);
}

static void test_start_calibration_allowed(void)
{
	struct sgd_policy lax = *pol;
	struct session_start_instrument inst = good_inst();
	struct session_start_result res;
	struct sgd_limits l;
	struct sgd_profile p;

	lax.allow_uncalibrated = lax.allow_expired = true;
	profile(&p, "CA", NULL, NULL);
	inst.cal_date = 0;
	CHECK_OUTCOME(session_check_start(&lax, &p, "neck", &inst, NULL, NULL, now, &l, &res),
		      SESSION_START_OK, &res);
	CHECK_EQ_INT(res.flags, SGD_SESSION_F_UNCALIBRATED);
	inst.cal_date = now - 400 * day;
	inst.due_date = now - 30 * day;
	CHECK_OUTCOME(session_check_start(&lax, &p, "neck", &inst, NULL, NULL, now, &l, &res),
		      SESSION_START_OK, &res);
	CHECK_EQ_INT(res.flags, SGD_SESSION_F_CAL_EXPIRED);
}

static void test_start_override(void)
{
	struct session_start_instrument inst = good_inst();
	struct session_start_result res;
	struct sgd_profile p, dvt;

	profile(&p, "OV1", "recent_sutures@calf:left", NULL);
	profile(&dvt, "OV2", "dvt", NULL);

	/* local: the other side is not concerned */
	CHECK_OUTCOME(start(&p, "calf:right", &inst, NULL, NULL, &res), SESSION_START_OK, &res);
	CHECK_OUTCOME(start(&p, "calf:left", &inst, NULL, NULL, &res),
		      SESSION_START_CONTRAINDICATED, &res);
	CHECK(strstr(res.msg, "Treatment of region calf:left is contraindicated for this patient "
			      "(recent_sutures). An authorized clinician may override it") == res.msg,
	      "%s", res.msg);
	/* a blank reason is no reason */
	CHECK_OUTCOME(start(&p, "calf:left", &inst, "   ", NULL, &res),
		      SESSION_START_BAD_OVERRIDE, &res);
	CHECK_OUTCOME(start(&p, "calf:left", &inst, "surgeon cleared it", NULL, &res),
		      SESSION_START_OK, &res);
	CHECK_EQ_INT(res.flags, SGD_SESSION_F_OVERRIDE);
	/* the policy forbids overriding a DVT, whatever the reason */
	CHECK_OUTCOME(start(&dvt, "neck", &inst, NULL, NULL, &res),
		      SESSION_START_CONTRAINDICATED, &res);
	CHECK(strstr(res.msg, "does not allow an override") != NULL, "%s", res.msg);
	CHECK_OUTCOME(start(&dvt, "neck", &inst, "I am sure", NULL, &res),
		      SESSION_START_CONTRAINDICATED, &res);
	CHECK(strstr(res.msg, "dvt") != NULL, "%s", res.msg);
	CHECK_EQ_INT(res.flags, 0);
}

static void test_pause_resume_stop(void)
{
	CHECK_EQ_INT(session_check_pause(true, SESSION_RUNNING), SESSION_OK);
	CHECK_EQ_INT(session_check_pause(true, SESSION_PAUSED), SESSION_NOT_RUNNING);
	CHECK_EQ_INT(session_check_pause(true, SESSION_DISCONNECTED), SESSION_NOT_RUNNING);
	CHECK_EQ_INT(session_check_pause(false, SESSION_FINISHED), SESSION_ENDED);
	CHECK_EQ_INT(session_check_pause(false, SESSION_RUNNING), SESSION_ENDED);

	CHECK_EQ_INT(session_check_resume(true, SESSION_PAUSED, true), SESSION_OK);
	CHECK_EQ_INT(session_check_resume(true, SESSION_RUNNING, true), SESSION_NOT_PAUSED);
	/* unplugged: it resumes by itself when the tool is back */
	CHECK_EQ_INT(session_check_resume(true, SESSION_DISCONNECTED, true), SESSION_UNPLUGGED);
	CHECK_EQ_INT(session_check_resume(true, SESSION_PAUSED, false), SESSION_UNPLUGGED);
	CHECK_EQ_INT(session_check_resume(false, SESSION_INTERRUPTED, true), SESSION_ENDED);

	CHECK_EQ_INT(session_check_stop(true), SESSION_OK);
	CHECK_EQ_INT(session_check_stop(false), SESSION_ENDED);
	CHECK(!strcmp(session_verdict_str(SESSION_UNPLUGGED), "unplugged"), "str");
}

static void test_region_change(void)
{
	struct sgd_profile p;
	struct sgd_limits l;
	char msg[1024];

	profile(&p, "RC", "recent_sutures@calf:left", "open_wound@hamstring:left");
	/* no override at start: a contraindicated site is refused */
	CHECK_EQ_INT(session_check_region(pol, &p, "calf:left", 0, "", &l, msg, sizeof(msg)),
		     SESSION_CONTRAINDICATED);
	CHECK(strstr(msg, "contraindicated for this patient (recent_sutures)") != NULL, "%s", msg);
	CHECK_EQ_INT(session_check_region(pol, &p, "calf:right", 0, "", &l, msg, sizeof(msg)),
		     SESSION_OK);
	CHECK_NEAR(l.limit_n, 10.0, 1e-12);
	CHECK(!strcmp(l.region, "calf:right"), "%s", l.region);
	/* the override covers exactly the conditions it named */
	CHECK_EQ_INT(session_check_region(pol, &p, "calf:left", SGD_SESSION_F_OVERRIDE,
					  "recent_sutures", &l, msg, sizeof(msg)), SESSION_OK);
	CHECK_NEAR(l.limit_n, 5.0, 1e-12);
	CHECK_EQ_INT(session_check_region(pol, &p, "hamstring:left", SGD_SESSION_F_OVERRIDE,
					  "recent_sutures", &l, msg, sizeof(msg)),
		     SESSION_CONTRAINDICATED);
	/* a named condition without the override flag covers nothing */
	CHECK_EQ_INT(session_check_region(pol, &p, "calf:left", 0, "recent_sutures", &l, msg,
					  sizeof(msg)), SESSION_CONTRAINDICATED);
	CHECK_EQ_INT(session_check_region(pol, &p, "calf", 0, "", &l, msg, sizeof(msg)),
		     SESSION_BAD_REGION);
	CHECK_EQ_INT(session_check_region(pol, &p, "ca\x7flf", 0, "", &l, msg, sizeof(msg)),
		     SESSION_BAD_TEXT);
}

static void test_caps(void)
{
	struct session_caps_sent c = { 0 };

	CHECK(session_cap_first(&c, true), "first stroke cap");
	CHECK(!session_cap_first(&c, true), "stroke cap once");
	CHECK(session_cap_first(&c, false), "the time cap is its own");
	CHECK(!session_cap_first(&c, false), "time cap once");
	session_caps_rearm(&c);		/* a region change */
	CHECK(session_cap_first(&c, true) && session_cap_first(&c, false), "re-armed");
}

static void test_alert(void)
{
	enum strigil_alert next;

	CHECK(session_alert_on_limit(STRIGIL_ALERT_OFF, false, &next) &&
	      next == STRIGIL_ALERT_WARNING, "warning shows");
	CHECK(session_alert_on_limit(STRIGIL_ALERT_OFF, true, &next) &&
	      next == STRIGIL_ALERT_EXCEEDED, "exceeded alarms");
	CHECK(session_alert_on_limit(STRIGIL_ALERT_WARNING, true, &next) &&
	      next == STRIGIL_ALERT_EXCEEDED, "exceeded over a warning");
	/* a warning never lowers an alarm */
	CHECK(!session_alert_on_limit(STRIGIL_ALERT_EXCEEDED, false, &next), "kept alarm");
	CHECK(session_alert_on_limit(STRIGIL_ALERT_EXCEEDED, true, &next) &&
	      next == STRIGIL_ALERT_EXCEEDED, "alarm again");
}

static void test_plug(void)
{
	enum session_state next;

	CHECK_EQ_INT(session_on_plug(SESSION_RUNNING, false, &next), SESSION_PLUG_PAUSE);
	CHECK_EQ_INT(next, SESSION_DISCONNECTED);
	CHECK_EQ_INT(session_on_plug(SESSION_DISCONNECTED, true, &next), SESSION_PLUG_RESUME);
	CHECK_EQ_INT(next, SESSION_RUNNING);
	/* paused by the clinician: stays paused through unplug and re-plug */
	CHECK_EQ_INT(session_on_plug(SESSION_PAUSED, false, &next), SESSION_PLUG_NOTHING);
	CHECK_EQ_INT(next, SESSION_PAUSED);
	CHECK_EQ_INT(session_on_plug(SESSION_PAUSED, true, &next), SESSION_PLUG_NOTHING);
	CHECK_EQ_INT(next, SESSION_PAUSED);
	/* twice the same event changes nothing more */
	CHECK_EQ_INT(session_on_plug(SESSION_DISCONNECTED, false, &next), SESSION_PLUG_NOTHING);
	CHECK_EQ_INT(next, SESSION_DISCONNECTED);
	CHECK_EQ_INT(session_on_plug(SESSION_RUNNING, true, &next), SESSION_PLUG_NOTHING);
	CHECK_EQ_INT(next, SESSION_RUNNING);
}

/* What the database says, and what a session read back (after a crash
 * or not) is shown as. */
static void test_states(void)
{
	CHECK_EQ_INT(session_store_state(SESSION_RUNNING), SGD_SESSION_RUNNING);
	CHECK_EQ_INT(session_store_state(SESSION_PAUSED), SGD_SESSION_PAUSED);
	CHECK_EQ_INT(session_store_state(SESSION_DISCONNECTED), SGD_SESSION_PAUSED);
	CHECK_EQ_INT(session_store_state(SESSION_FINISHED), SGD_SESSION_FINISHED);
	CHECK_EQ_INT(session_store_state(SESSION_INTERRUPTED), SGD_SESSION_INTERRUPTED);

	CHECK_EQ_INT(session_ended_state(SGD_SESSION_FINISHED), SESSION_FINISHED);
	CHECK_EQ_INT(session_ended_state(SGD_SESSION_INTERRUPTED), SESSION_INTERRUPTED);
	CHECK_EQ_INT(session_ended_state(SGD_SESSION_ABORTED), SESSION_INTERRUPTED);
	/* rows a crash left running or paused: nobody runs them */
	CHECK_EQ_INT(session_ended_state(SGD_SESSION_RUNNING), SESSION_INTERRUPTED);
	CHECK_EQ_INT(session_ended_state(SGD_SESSION_PAUSED), SESSION_INTERRUPTED);

	CHECK(!strcmp(session_state_str(SESSION_DISCONNECTED), "disconnected"), "str");
	CHECK(!strcmp(session_state_str(SESSION_INTERRUPTED), "interrupted"), "str");
}

static void test_text(void)
{
	char s[8] = "abcdefg";

	CHECK(string_ok(s, 7) && !string_ok(s, 6), "length edge");
	CHECK(string_ok("caf\xc3\xa9", 16), "utf-8");
	CHECK(!string_ok("a\tb", 16) && !string_ok("a\x7f", 16), "control characters");
	CHECK(!string_ok("\xc0\xaf", 16), "overlong");
	CHECK(!string_ok("\xed\xa0\x80", 16), "surrogate");
	CHECK(double_ok(1.5) && !double_ok(NAN) && !double_ok(INFINITY), "finite");
}

int main(int argc, char **argv)
{
	char err[512];

	if (sgd_policy_parse("session-core-test", policy_text, sizeof(policy_text) - 1,
			     &pol, err, sizeof(err))) {
		fprintf(stderr, "test policy: %s\n", err);
		return 1;
	}
	test_start_ok();
	test_start_refusals();
	test_start_calibration_allowed();
	test_start_override();
	test_pause_resume_stop();
	test_region_change();
	test_caps();
	test_alert();
	test_plug();
	test_states();
	test_text();
	sgd_policy_free(pol);
	return check_exit("test-session-core");
}
