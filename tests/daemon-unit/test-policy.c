/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Clinic policy file: the shipped default loads and means what it says;
 * every kind of bad file is refused with the right file:line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "policy.h"

static const char *top;

static const char good_head[] =
	"[limits]\n"
	"absolute_max_n = 14\n"
	"[region calf]\n"
	"cap_n = 10\n";

/* Parses text; returns the error code and leaves the message in err. */
static int parse(const char *text, char *err, size_t errlen)
{
	struct sgd_policy *p = NULL;
	int r;

	err[0] = '\0';
	r = sgd_policy_parse("t.conf", text, strlen(text), &p, err, errlen);
	if (r == 0) {
		sgd_policy_free(p);
	} else {
		CHECK(p == NULL, "output must stay untouched on error");
	}
	return r;
}

/* A bad file: refused with -EINVAL, message starts with t.conf:LINE: and
 * contains the given words. */
static void bad(const char *text, int line, const char *words)
{
	char err[512], prefix[32];
	int r = parse(text, err, sizeof(err));

	if (line)
		snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	else
		snprintf(prefix, sizeof(prefix), "t.conf: ");
	CHECK(r == -EINVAL, "expected -EINVAL for [%s], got %d (%s)", words, r, err);
	CHECK(!strncmp(err, prefix, strlen(prefix)), "message '%s' should start "
	      "with '%s'", err, prefix);
	CHECK(strstr(err, words) != NULL, "message '%s' should say '%s'", err, words);
}

static void test_shipped_policy(void)
{
	char path[4096], err[512] = "";
	struct sgd_policy *p = NULL;
	const struct sgd_region *r;
	const struct sgd_condition *c;
	int r0;

	snprintf(path, sizeof(path), "%s/daemon/policy.conf", top);
	r0 = sgd_policy_load(path, &p, err, sizeof(err));
	CHECK(r0 == 0, "shipped policy must load: %s", err);
	if (r0)
		return;
	CHECK_NEAR(p->absolute_max_n, 14.0, 0);
	CHECK_NEAR(p->warn_fraction, 0.9, 1e-12);
	CHECK(!p->allow_uncalibrated && !p->allow_expired,
	      "default must refuse uncalibrated/expired instruments");
	CHECK(p->nregions >= 15, "regions: %zu", p->nregions);
	CHECK(p->default_region[0] == '\0', "no default region by default");
	/* every region cap inside the published clinical range */
	for (size_t i = 0; i < p->nregions; i++) {
		CHECK(p->regions[i].cap_n >= 2.6 && p->regions[i].cap_n <= 14.0,
		      "%s cap %g outside 2.6-14 N", p->regions[i].name,
		      p->regions[i].cap_n);
		CHECK(sgd_name_valid(p->regions[i].name), "%s", p->regions[i].name);
		CHECK(p->regions[i].label[0] && strcmp(p->regions[i].label,
		      p->regions[i].name), "%s has a human label", p->regions[i].name);
	}
	r = sgd_policy_region(p, "upper_trapezius");
	CHECK(r && r->cap_n == 8.0, "upper_trapezius 8 N");
	r = sgd_policy_region(p, "neck");
	CHECK(r && r->cap_n < 8.0 && r->max_load_s > 0, "neck lower, with time cap");
	CHECK(sgd_policy_region(p, "nonexistent") == NULL, "unknown region");

	/* the contraindications the brief names, all present */
	static const char *const contra[] = { "open_wound", "infection", "dvt",
		"uncontrolled_hypertension", "recent_sutures", "hematoma",
		"osteomyelitis" };
	for (size_t i = 0; i < sizeof(contra) / sizeof(contra[0]); i++) {
		c = sgd_policy_condition(p, contra[i]);
		CHECK(c && c->kind == SGD_CONTRAINDICATION, "%s", contra[i]);
	}
	c = sgd_policy_condition(p, "open_wound");
	CHECK(c && !c->override_allowed && c->local, "open_wound: local, no override");
	c = sgd_policy_condition(p, "dvt");
	CHECK(c && !c->override_allowed && !c->local, "dvt: systemic, no override");
	c = sgd_policy_condition(p, "recent_sutures");
	CHECK(c && c->override_allowed, "recent_sutures may be overridden");

	static const char *const prec[] = { "anticoagulants", "varicose_veins",
		"thin_skin", "cancer", "rheumatoid_arthritis", "kidney_dysfunction",
		"pregnancy", "acute_inflammation" };
	for (size_t i = 0; i < sizeof(prec) / sizeof(prec[0]); i++) {
		c = sgd_policy_condition(p, prec[i]);
		CHECK(c && c->kind == SGD_PRECAUTION && c->cap_factor > 0 &&
		      c->cap_factor <= 1.0, "%s", prec[i]);
	}
	c = sgd_policy_condition(p, "anticoagulants");
	CHECK(c && c->cap_factor == 0.5, "anticoagulants x0.5");
	CHECK(c && c->region_mask == UINT64_MAX, "anticoagulants everywhere");
	c = sgd_policy_condition(p, "varicose_veins");
	CHECK(c && sgd_condition_applies_to(p, c, sgd_policy_region(p, "calf")),
	      "varicose veins matter for the calf");
	CHECK(c && !sgd_condition_applies_to(p, c, sgd_policy_region(p, "neck")),
	      "varicose veins do not matter for the neck");
	sgd_policy_free(p);
}

static void test_good_variants(void)
{
	char err[512];
	struct sgd_policy *p = NULL;
	static const char text[] =
		"\xef\xbb\xbf# BOM, comments and odd spacing are fine\n"
		"; another comment\n"
		"[limits]\n"
		"absolute_max_n=12.5 ; inline comment\n"
		"min_cap_n = 2\n"
		"sustain_s = 0\n"
		"default_region = calf\n"
		"\n"
		"[ precaution   legs_only ]\n"
		"regions = calf ,shin\n"
		"cap_factor = 0.25\n"
		"[calibration]\n"
		"allow_expired = Yes\n"
		"expired_grace_days = 30\n"
		"[strokes]\n"
		"rule = contact\n"
		"reversal_ratio = 0.04\n"
		"reversal_confirm_s = 0.05\n"
		"reversal_min_n = 1.5\n"
		"direction_tau_s = 0.2\n"
		"[region calf]\n"
		"cap_n = 10\n"
		"[region shin]\n"
		"cap_n = 4\r\n"
		"[region neck]\n"
		"cap_n = 4\n";
	int r = sgd_policy_parse("g.conf", text, sizeof(text) - 1, &p, err,
				 sizeof(err));

	CHECK(r == 0, "variants must parse: %s", err);
	if (r)
		return;
	CHECK_NEAR(p->absolute_max_n, 12.5, 0);
	CHECK_NEAR(p->min_cap_n, 2.0, 0);
	CHECK_NEAR(p->sustain_s, 0.0, 0);
	CHECK(!strcmp(p->default_region, "calf"), "default region");
	CHECK(p->allow_expired && !p->allow_uncalibrated, "booleans");
	CHECK_EQ_INT(p->expired_grace_days, 30);
	CHECK_NEAR(sgd_policy_region(p, "shin")->cap_n, 4.0, 0);
	CHECK(p->stroke_rule_contact, "[strokes] rule = contact");
	CHECK_NEAR(p->reversal_ratio, 0.04, 0);
	CHECK_NEAR(p->reversal_confirm_s, 0.05, 0);
	CHECK_NEAR(p->reversal_min_n, 1.5, 0);
	CHECK_NEAR(p->direction_tau_s, 0.2, 0);
	{
		const struct sgd_condition *c = sgd_policy_condition(p, "legs_only");

		CHECK(c && c->region_mask == 0x3, "mask %llx",
		      c ? (unsigned long long)c->region_mask : 0ULL);
		CHECK(c && !c->local && c->cap_factor == 0.25, "fields");
	}
	sgd_policy_free(p);
}

/* Issue 16: a BOM right before a section, the edges of the clinical
 * ranges and UTF-8 labels are accepted; a FIFO or a directory is refused
 * at once (a FIFO once hung the daemon's start in open()). */
static void test_edges_and_files(void)
{
	static const char text[] =
		"\xef\xbb\xbf[limits]\n"
		"absolute_max_n = 14\n"
		"sustain_s = 0.5\n"
		"warn_fraction = 0.5\n"
		"[region calf]\n"
		"cap_n = 10\n"
		"label = Wad\xc3\xa9 (caf\xc3\xa9: lower leg)\n";
	char err[512], dir[] = "/tmp/strigil-policy-XXXXXX", path[600];
	struct sgd_policy *p = NULL;
	int r;

	r = sgd_policy_parse("t.conf", text, strlen(text), &p, err, sizeof(err));
	CHECK(r == 0, "BOM + [limits] on line 1, sustain_s 0.5, warn_fraction 0.5: %s", err);
	if (r == 0) {
		CHECK(p->sustain_s == 0.5 && p->warn_fraction == 0.5, "edges kept");
		CHECK(strcmp(sgd_policy_region(p, "calf")->label,
			     "Wad\xc3\xa9 (caf\xc3\xa9: lower leg)") == 0, "UTF-8 label kept");
		sgd_policy_free(p);
	}
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	CHECK(mkfifo(path, 0600) == 0, "mkfifo: %s", strerror(errno));
	alarm(20);	/* a hang in open() is a failure, not a stuck test */
	p = NULL;
	r = sgd_policy_load(path, &p, err, sizeof(err));
	alarm(0);
	CHECK(r < 0 && p == NULL && strstr(err, "not a regular file"),
	      "a FIFO is refused (%d: %s)", r, err);
	unlink(path);
	r = sgd_policy_load(dir, &p, err, sizeof(err));
	CHECK(r == -EISDIR && strstr(err, "not a regular file"), "a directory is refused (%d: %s)",
	      r, err);
	rmdir(dir);
}

static void test_bad_files(void)
{
	char text[4096], err[512];
	struct sgd_policy *p = (struct sgd_policy *)&err;	/* must stay */
	int r;

	bad("", 0, "absolute_max_n is required");
	bad("[limits]\nabsolute_max_n = 14\n", 0, "at least one region");
	bad("[limits]\nabsolute_max_n = 14\n[region calf]\n", 3, "needs cap_n");
	bad("[limits]\nabsolute_max_n = nan\n", 2, "not a number");
	bad("[limits]\nabsolute_max_n = 14x\n", 2, "not a number");
	bad("[limits]\nabsolute_max_n = -1\n", 2, "out of range");
	bad("[limits]\nabsolute_max_n = 1e9\n", 2, "out of range");
	bad("[limits]\nwarn_fraction = 1.5\n", 2, "out of range");
	/* issue 16: clinically senseless values, strict syntax */
	bad("[limits]\nabsolute_max_n = 14\nsustain_s = 10\n", 3, "out of range");
	bad("[limits]\nabsolute_max_n = 14\nsustain_s = 0.51\n", 3, "out of range");
	bad("[limits]\nabsolute_max_n = 14\nwarn_fraction = 0.49\n", 3, "out of range");
	bad("[storage]\nwal_held_mb = 0\n", 2, "at least 1");
	bad("[storage]\nwal_held_mb = 65537\n", 2, "0 .. 65536");
	bad("[storage]\nwal_held_mb = 1.5\n", 2, "whole number");
	bad("[limits]\nabsolute_max_n = 0x10\n", 2, "not a number");
	bad("[limits]\nabsolute_max_n = inf\n", 2, "not a number");
	bad("[limits]\nabsolute_max_n: 14\n", 2, "':' is not a separator");
	bad("[limits] junk\nabsolute_max_n = 14\n", 1, "follow the section header");
	bad("[limits]\nabsolute_max_n = 14\n[region calf] ; x\ncap_n = 4\n", 3,
	    "follow the section header");
	bad("[limits]\nabsolute_max_n = 14\n[region calf]\ncap_n = 4\nlabel = Wade\xff\n", 5,
	    "UTF-8");
	bad("[limits]\nabsolute_max_n = 14\n[region calf]\ncap_n = 4\nlabel = \xc0\xaf\n", 5,
	    "UTF-8");
	bad("[limits]\nabsolute_max_n = 14\nabsolute_max_n = 10\n", 3, "twice");
	bad("[limits]\nabsolute_max_n = 14\n  min_cap_n = 1\n", 3, "do not indent");
	bad("[limits]\nabsolute_max_n = 14\nbogus = 1\n", 3, "unknown key 'bogus'");
	bad("absolute_max_n = 14\n", 1, "outside of a section");
	bad("[limits]\nabsolute_max_n = 14\n[colours]\n", 3, "unknown section");
	bad("[limits]\nabsolute_max_n = 14\n[strokes]\nrule = turns\n", 4,
	    "not reversal or contact");
	bad("[limits]\nabsolute_max_n = 14\n[strokes]\nreversal_ratio = 0\n", 4, "out of range");
	bad("[limits]\nabsolute_max_n = 14\n[strokes]\nreversal_min_n = 0.3\n", 4, "out of range");
	bad("[limits]\nabsolute_max_n = 14\n[strokes]\nreversal_confirm_s = 2\n", 4, "out of range");
	bad("[limits]\nabsolute_max_n = 14\n[strokes]\ndirection_tau_s = x\n", 4, "not a number");
	bad("[limits]\nabsolute_max_n = 14\n[strokes]\nratio = 1\n", 4, "unknown key 'ratio'");
	bad("[limits]\nabsolute_max_n = 14\n[strokes]\n[strokes]\n", 4, "given twice");
	bad("[limits]\nabsolute_max_n = 14\n[region]\n", 3, "unknown section");
	bad("[limits]\nabsolute_max_n = 14\n[zone calf]\n", 3, "unknown section kind");
	bad("[limits]\nabsolute_max_n = 14\n[region Calf]\n", 3, "snake_case");
	bad("[limits]\nabsolute_max_n = 14\n[region calf\n", 3, "without ']'");
	bad("[limits]\nabsolute_max_n = 14\nthis line is junk\n", 3, "syntax error");
	bad("[limits]\nabsolute_max_n = 14\n[limits]\n", 3, "twice");

	snprintf(text, sizeof(text), "%s[region calf]\n", good_head);
	bad(text, 5, "defined twice");
	snprintf(text, sizeof(text), "%s[region shin]\ncap_n = 20\n", good_head);
	bad(text, 5, "outside");
	snprintf(text, sizeof(text), "%s[region shin]\ncap_n = 0.5\n", good_head);
	bad(text, 5, "outside");
	snprintf(text, sizeof(text), "%s[region shin]\ncap_n = 0\n", good_head);
	bad(text, 6, "out of range");
	snprintf(text, sizeof(text), "%s[region shin]\ncap_n = 4\nmax_strokes = -3\n",
		 good_head);
	bad(text, 7, "whole number");
	snprintf(text, sizeof(text), "%s[region shin]\ncap_n = 4\nlabel = \n",
		 good_head);
	bad(text, 7, "label");
	snprintf(text, sizeof(text), "%s[precaution x]\ncap_factor = 1.5\n", good_head);
	bad(text, 6, "out of range");
	snprintf(text, sizeof(text), "%s[precaution x]\ncap_factor = 0\n", good_head);
	bad(text, 6, "out of range");
	snprintf(text, sizeof(text), "%s[precaution x]\noverride = yes\n", good_head);
	bad(text, 6, "unknown key 'override'");
	snprintf(text, sizeof(text), "%s[contraindication x]\noverride = maybe\n",
		 good_head);
	bad(text, 6, "yes/no");
	snprintf(text, sizeof(text), "%s[precaution x]\nregions = calf, elbow\n",
		 good_head);
	bad(text, 6, "unknown region 'elbow'");
	snprintf(text, sizeof(text), "%s[precaution x]\nregions = ,\n", good_head);
	bad(text, 6, "empty list");
	snprintf(text, sizeof(text), "%s[precaution x]\n[contraindication x]\n",
		 good_head);
	bad(text, 6, "defined twice");
	snprintf(text, sizeof(text), "%s[precaution x]\ncap_max_n = 0.5\n", good_head);
	bad(text, 5, "below min_cap_n");
	snprintf(text, sizeof(text), "[limits]\nabsolute_max_n = 14\n"
		 "default_region = knee\n[region calf]\ncap_n = 10\n");
	bad(text, 3, "unknown region 'knee'");

	/* over-long line: refused, not split into two */
	{
		char longline[400];

		memset(longline, 'x', sizeof(longline));
		snprintf(text, sizeof(text), "%s[region shin]\ncap_n = 4\nlabel = %.*s\n",
			 good_head, 250, longline);
		bad(text, 7, "line too long");
	}
	/* NUL byte inside */
	{
		static const char nul[] = "[limits]\nabsolute_max_n = 14\0\n";

		r = sgd_policy_parse("t.conf", nul, sizeof(nul) - 1, &p, err,
				     sizeof(err));
		CHECK(r == -EINVAL && strstr(err, "t.conf:2: NUL"), "%d %s", r, err);
		CHECK(p == (struct sgd_policy *)&err, "out untouched");
	}
	/* too many regions */
	{
		size_t n = 0;

		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[limits]\nabsolute_max_n = 14\n");
		for (int i = 0; i <= SGD_POLICY_MAX_REGIONS && n < sizeof(text) - 40; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "[region r%d]\ncap_n=5\n", i);
		bad(text, 3 + 2 * SGD_POLICY_MAX_REGIONS, "too many regions");
	}
	/* files */
	r = sgd_policy_load("/nonexistent/policy.conf", &p, err, sizeof(err));
	CHECK(r == -ENOENT && strstr(err, "/nonexistent/policy.conf"), "%d %s", r, err);
	r = sgd_policy_load("/", &p, err, sizeof(err));
	CHECK(r == -EISDIR, "directory: %d %s", r, err);
	CHECK(p == (struct sgd_policy *)&err, "out untouched");
}

static void test_names(void)
{
	CHECK(sgd_name_valid("upper_trapezius"), "valid");
	CHECK(sgd_name_valid("a1"), "valid");
	CHECK(!sgd_name_valid(""), "empty");
	CHECK(!sgd_name_valid("1abc"), "digit first");
	CHECK(!sgd_name_valid("_abc"), "underscore first");
	CHECK(!sgd_name_valid("Upper"), "upper case");
	CHECK(!sgd_name_valid("a-b"), "dash");
	CHECK(!sgd_name_valid("a b"), "space");
	CHECK(!sgd_name_valid(NULL), "NULL");
	{
		char n[SGD_NAME_MAX + 1];

		memset(n, 'a', sizeof(n));
		n[SGD_NAME_MAX - 1] = '\0';
		CHECK(sgd_name_valid(n), "longest name");
		n[SGD_NAME_MAX - 1] = 'a';
		n[SGD_NAME_MAX] = '\0';
		CHECK(!sgd_name_valid(n), "too long");
	}
}

/* [export] patient_identifier_system: an absolute URI, default ours. */
static void test_export_section(void)
{
	static const char head[] = "[limits]\nabsolute_max_n = 14\n[region calf]\ncap_n = 10\n";
	static const char *const good[] = {
		"https://clinic.example/fhir/patient-ref", "urn:oid:1.2.840.113619.2.1",
		"urn:strigil:patient-ref", "x:y",
	};
	static const char *const badv[] = {
		"clinic", "1http://x", ":x", "http:", "http://a b", "http://\xc3\xa9",
	};
	char text[512], err[512];
	struct sgd_policy *p = NULL;

	CHECK(sgd_policy_parse("t.conf", head, strlen(head), &p, err, sizeof(err)) == 0, "%s", err);
	CHECK(p && !strcmp(p->patient_identifier_system, "urn:strigil:patient-ref"),
	      "default system: %s", p ? p->patient_identifier_system : "");
	sgd_policy_free(p);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		p = NULL;
		snprintf(text, sizeof(text), "%s[export]\npatient_identifier_system = %s\n", head,
			 good[i]);
		CHECK(sgd_policy_parse("t.conf", text, strlen(text), &p, err, sizeof(err)) == 0,
		      "%s: %s", good[i], err);
		CHECK(p && !strcmp(p->patient_identifier_system, good[i]), "kept %s", good[i]);
		sgd_policy_free(p);
	}
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		snprintf(text, sizeof(text), "%s[export]\npatient_identifier_system = %s\n", head,
			 badv[i]);
		bad(text, 6, "not an absolute URI");
	}
	{
		char uri[SGD_URI_MAX + 8];

		memset(uri, 'a', sizeof(uri));
		memcpy(uri, "urn:", 4);
		uri[SGD_URI_MAX] = '\0';	/* one byte too long */
		snprintf(text, sizeof(text), "%s[export]\npatient_identifier_system = %s\n",
			 head, uri);
		bad(text, 6, "not an absolute URI");
		uri[SGD_URI_MAX - 1] = '\0';	/* the longest */
		snprintf(text, sizeof(text), "%s[export]\npatient_identifier_system = %s\n",
			 head, uri);
		p = NULL;
		CHECK(sgd_policy_parse("t.conf", text, strlen(text), &p, err, sizeof(err)) == 0,
		      "longest URI: %s", err);
		sgd_policy_free(p);
	}
	snprintf(text, sizeof(text), "%s[export]\n[export]\n", head);
	bad(text, 6, "[export] given twice");
	snprintf(text, sizeof(text), "%s[export]\npatient_system = urn:x\n", head);
	bad(text, 6, "unknown key 'patient_system'");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DATA_DIR TOP_DIR\n", argv[0]);
		return 2;
	}
	top = argv[2];
	test_names();
	test_shipped_policy();
	test_good_variants();
	test_bad_files();
	test_edges_and_files();
	test_export_section();
	return check_exit("test-policy");
}
