// SPDX-License-Identifier: LGPL-2.1-or-later
/* strigilctl export: CSV layout and quoting, FHIR R4 Bundle structure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "strigilctl.h"
#include "ctl-json.h"
#include "export-fmt.h"

struct ctl_global ctl;

static struct ex_stroke strokes[3];
static struct ex_violation viol[3];
static struct ex_pause pause;

static void make_sessions(struct ex_session s[2])
{
	memset(s, 0, 2 * sizeof(*s));
	snprintf(s[0].id, sizeof(s[0].id), "12");
	snprintf(s[0].patient_ref, sizeof(s[0].patient_ref), "pt-0042");
	snprintf(s[0].instrument_serial, sizeof(s[0].instrument_serial), "SIM0001");
	snprintf(s[0].instrument_model, sizeof(s[0].instrument_model), "S1");
	snprintf(s[0].instrument_firmware, sizeof(s[0].instrument_firmware), "1.0.0");
	snprintf(s[0].state, sizeof(s[0].state), "finished");
	s[0].started_at = 1700000000.0;
	s[0].ended_at = 1700000060.0;
	for (int i = 0; i < 3; i++) {
		strokes[i].index = (uint32_t)i + 1;
		strokes[i].t_start = 2.0 * i + 1.0;
		strokes[i].t_end = strokes[i].t_start + 0.6;
		strokes[i].start_s = s[0].started_at + strokes[i].t_start;
		strokes[i].end_s = strokes[i].start_s + 0.6;
		strokes[i].peak_n = 3.0 + i;	/* 3, 4, 5 N */
		strokes[i].mean_n = 1.5 + i * 0.5;
		strokes[i].impulse_ns = 0.9;
		strokes[i].above_limit_s = i == 2 ? 0.2 : 0.0;
		strokes[i].limit_n = 4.0;
		/* Strokes 1-2 on the left calf, 3 on the neck (needs quoting). */
		snprintf(strokes[i].site.region, sizeof(strokes[i].site.region), "%s",
			 i < 2 ? "calf:left" : "neck, posterior");
		snprintf(strokes[i].site.side, sizeof(strokes[i].site.side), "%s",
			 i < 2 ? "left" : "");
		strokes[i].site.cap_n = i < 2 ? 5.0 : 4.0;
		snprintf(strokes[i].site.cap_reasons, sizeof(strokes[i].site.cap_reasons), "%s",
			 i < 2 ? "region calf cap 10 N; anticoagulants x0.5" :
			 "region neck cap 4 N");
	}
	/* Strokes 1-2: two passes of burst 1 (the blade turned round after
	 * the first); stroke 3 from a strigild before bursts: not recorded. */
	strokes[0].burst = strokes[1].burst = 1;
	snprintf(strokes[0].end, sizeof(strokes[0].end), "reversal");
	snprintf(strokes[1].end, sizeof(strokes[1].end), "lift");
	strokes[2].burst = 0;
	strokes[2].end[0] = '\0';
	viol[0] = (struct ex_violation){ .kind = EX_WARNING, .t_s = strokes[1].start_s + 0.3,
					 .force_n = 3.8, .limit_n = 4.0 };
	viol[1] = (struct ex_violation){ .kind = EX_EXCEEDED, .t_s = strokes[2].start_s + 0.3,
					 .force_n = 4.9, .limit_n = 4.0 };
	viol[2] = (struct ex_violation){ .kind = EX_CAP, .t_s = s[0].started_at + 50,
					 .force_n = NAN, .limit_n = 4.0, .detail = "strokes" };
	for (int i = 0; i < 3; i++)
		viol[i].site = strokes[2].site;
	viol[0].t = 3.3;
	viol[1].t = 5.3;
	viol[2].t = 50;
	strokes[0].start_s = strokes[0].end_s = NAN;	/* times unknown */
	strokes[0].t_start = strokes[0].t_end = NAN;
	s[0].strokes = strokes;
	s[0].nstrokes = 3;
	s[0].violations = viol;
	s[0].nviolations = 3;
	pause.t_start = 30.0;
	pause.t_end = 42.5;
	pause.wall_start = s[0].started_at + 30.0;
	pause.wall_end = s[0].started_at + 42.5;
	snprintf(pause.reason, sizeof(pause.reason), "clinician");
	s[0].pauses = &pause;
	s[0].npauses = 1;
	s[0].pauses_known = true;
	/* A second session of the same patient on the same instrument, no strokes. */
	s[1] = s[0];
	snprintf(s[1].id, sizeof(s[1].id), "13");
	s[1].strokes = NULL;
	s[1].nstrokes = 0;
	s[1].violations = NULL;
	s[1].nviolations = 0;
	s[1].pauses = NULL;
	s[1].npauses = 0;
	s[1].ended_at = NAN;
	snprintf(s[1].state, sizeof(s[1].state), "running");
}

static size_t count_lines(const char *s, const char *prefix)
{
	size_t n = 0;

	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!prefix || strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static void test_csv(void)
{
	struct ex_session s[2];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	make_sessions(s);
	ex_link_violations(&s[0]);
	CHECK(!strokes[0].warned && !strokes[0].exceeded, "stroke 1 is clean");
	CHECK(strokes[1].warned && !strokes[1].exceeded, "stroke 2 warned");
	CHECK(strokes[2].exceeded, "stroke 3 exceeded");
	CHECK_EQ_INT(viol[1].stroke_index, 3);
	CHECK_EQ_INT(viol[2].stroke_index, 0);
	CHECK(ex_write_csv(f, s, 2) == 0, "csv written");
	fclose(f);
	CHECK(strncmp(buf, "session,patient_ref,instrument,region,kind,index,", 48) == 0,
	      "header: %.60s", buf);
	/* burst and end appended: the older columns keep their positions. */
	CHECK(strstr(buf, ",flag,side,cap_reasons,burst,end\r\n") != NULL, "header tail");
	/* The first pass ended where the blade turned round (untimed stroke). */
	CHECK(strstr(buf, ",stroke,1,,,,,3.000,1.500,0.900,0.000,5.000,,,left,"
		      "region calf cap 10 N; anticoagulants x0.5,1,reversal\r\n") != NULL,
	      "stroke 1 row: %s", buf);
	CHECK_EQ_INT(count_lines(buf, NULL), 1 + 3 + 3 + 1);
	/* Each stroke under its own region, side and cap (not the final region). */
	CHECK_EQ_INT(count_lines(buf, "12,pt-0042,SIM0001,calf:left,stroke,"), 2);
	CHECK_EQ_INT(count_lines(buf, "12,pt-0042,SIM0001,\"neck, posterior\",stroke,"), 1);
	CHECK(strstr(buf, ",stroke,2,2023-11-14T22:13:23.000Z,3.000,3.600,0.600,4.000,2.000,"
		  "0.900,0.000,5.000,,warning,left,region calf cap 10 N; anticoagulants x0.5,1,lift\r\n"),
	      "stroke 2 row: %s", buf);
	CHECK(strstr(buf, ",stroke,3,2023-11-14T22:13:25.000Z,5.000,5.600,0.600,5.000,2.500,"
		  "0.900,0.200,4.000,,exceeded,,region neck cap 4 N,,\r\n") != NULL,
	      "stroke 3 row: %s", buf);
	CHECK(strstr(buf, "12,pt-0042,SIM0001,,pause,1,2023-11-14T22:13:50.000Z,30.000,42.500,"
		      "12.500,,,,,,,clinician,,,,\r\n") != NULL, "pause row: %s", buf);
	CHECK(strstr(buf, ",exceeded,3,") != NULL, "violation row linked to its stroke");
	CHECK(strstr(buf, ",cap,,") != NULL && strstr(buf, ",strokes,,region neck cap 4 N,,\r\n"),
	      "cap row");
	/* Every row has the header's number of fields (outside quotes). */
	{
		size_t want = 0, line = 0;
		bool q = false;
		size_t fields = 1;

		for (const char *p = buf; *p; p++) {
			if (*p == '"')
				q = !q;
			else if (*p == ',' && !q)
				fields++;
			else if (*p == '\n' && !q) {
				if (line == 0)
					want = fields;
				CHECK_EQ_INT(fields, want);
				fields = 1;
				line++;
			}
		}
		CHECK_EQ_INT(want, 21);
	}
	free(buf);

	/* Formula neutralization (OWASP): = + - @ TAB CR lead to an apostrophe. */
	{
		static const struct { const char *in, *out; } cases[] = {
			{ "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
			{ "=1+2", "'=1+2" },
			{ "+41", "'+41" },
			{ "-2-3", "'-2-3" },
			{ "@SUM(A1)", "'@SUM(A1)" },
			{ "\tcmd", "'\tcmd" },
			{ "\rcmd", "\"'\rcmd\"" },
			{ "pt-0042", "pt-0042" },	/* '-' inside is harmless */
			{ "a=b", "a=b" },
			{ "", "" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			buf = NULL;
			f = open_memstream(&buf, &len);
			ex_csv_field(f, cases[i].in);
			fclose(f);
			CHECK(strcmp(buf, cases[i].out) == 0, "field %zu: %s -> %s", i, cases[i].in, buf);
			free(buf);
		}
		CHECK(!ex_csv_is_formula(NULL) && !ex_csv_is_formula("") &&
		      ex_csv_is_formula("-") && !ex_csv_is_formula(" =1"), "formula rule");
	}

	/* Quoting of quotes. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	ex_csv_field(f, "a \"b\", c");
	fclose(f);
	CHECK(strcmp(buf, "\"a \"\"b\"\", c\"") == 0, "quoted: %s", buf);
	free(buf);

	CHECK_EQ_INT(ex_violation_kind_parse("exceeded"), EX_EXCEEDED);
	CHECK_EQ_INT(ex_violation_kind_parse("warning"), EX_WARNING);
	CHECK_EQ_INT(ex_violation_kind_parse("bogus"), 0);
}

static struct json_object *find_full_url(struct json_object *entries, const char *url)
{
	for (size_t i = 0; i < json_object_array_length(entries); i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);

		if (strcmp(cj_str(e, "fullUrl", ""), url) == 0)
			return cj_get(e, "resource");
	}
	return NULL;
}

static void check_quantity(struct json_object *q, const char *unit, double value)
{
	CHECK(q != NULL, "quantity present");
	CHECK(strcmp(cj_str(q, "unit", ""), unit) == 0, "unit %s", cj_str(q, "unit", ""));
	CHECK(strcmp(cj_str(q, "code", ""), unit) == 0, "code %s", cj_str(q, "code", ""));
	CHECK(strcmp(cj_str(q, "system", ""), "http://unitsofmeasure.org") == 0, "UCUM");
	if (!isnan(value))
		CHECK_NEAR(cj_num(q, "value", NAN), value, 1e-9);
}

/* The component with this code, or NULL. */
static struct json_object *component(struct json_object *obs, const char *code)
{
	struct json_object *comp = cj_get(obs, "component");

	for (size_t i = 0; comp && i < json_object_array_length(comp); i++) {
		struct json_object *c = json_object_array_get_idx(comp, i);
		struct json_object *coding = json_object_array_get_idx(
			cj_get(cj_get(c, "code"), "coding"), 0);

		if (!strcmp(cj_str(coding, "code", ""), code))
			return c;
	}
	return NULL;
}

/* valueQuantity of the component with this code, or NULL. */
static struct json_object *component_q(struct json_object *obs, const char *code)
{
	return cj_get(component(obs, code), "valueQuantity");
}

/* The code of the component's valueCodeableConcept ("" if none). */
static const char *component_code(struct json_object *obs, const char *code)
{
	struct json_object *v = cj_get(component(obs, code), "valueCodeableConcept");

	return cj_str(json_object_array_get_idx(cj_get(v, "coding"), 0), "code", "");
}

static void test_fhir(void)
{
	struct ex_session s[2];
	struct json_object *b, *entries, *again;
	size_t n, nobs = 0, npat = 0, ndev = 0, nproc = 0, nflag = 0, nbody = 0;
	const char *text;

	make_sessions(s);
	ex_link_violations(&s[0]);
	b = ex_fhir_bundle(s, 2, 1700000100.0, &(struct ex_options){
		.patient_system = "https://clinic.example/pt" });
	CHECK(b != NULL, "bundle");
	CHECK(strcmp(cj_str(b, "resourceType", ""), "Bundle") == 0, "resourceType");
	CHECK(strcmp(cj_str(b, "type", ""), "collection") == 0, "Bundle.type");
	CHECK(strcmp(cj_str(b, "timestamp", ""), "2023-11-14T22:15:00.000Z") == 0, "timestamp %s",
	      cj_str(b, "timestamp", ""));
	entries = cj_get(b, "entry");
	CHECK(entries && json_object_is_type(entries, json_type_array), "entries");
	n = json_object_array_length(entries);
	/* 1 patient + 1 device (shared) + 2 body structures (calf:left, neck) +
	 * 2 procedures + 3 strokes + 3 violations. */
	CHECK_EQ_INT(n, 12);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);
		struct json_object *r = cj_get(e, "resource");
		const char *rt = cj_str(r, "resourceType", "");

		CHECK(strncmp(cj_str(e, "fullUrl", ""), "urn:uuid:", 9) == 0 &&
		      strlen(cj_str(e, "fullUrl", "")) == 45, "fullUrl %s", cj_str(e, "fullUrl", ""));
		if (!strcmp(rt, "Patient")) {
			npat++;
			CHECK(!cj_has(r, "name"), "pseudonymous patient has no name");
			CHECK(strcmp(cj_str(json_object_array_get_idx(cj_get(r, "identifier"), 0),
					    "value", ""), "pt-0042") == 0, "patient ref");
			CHECK(strcmp(cj_str(json_object_array_get_idx(cj_get(r, "identifier"), 0),
					    "system", ""), "https://clinic.example/pt") == 0,
			      "the clinic's identifier system");
		} else if (!strcmp(rt, "BodyStructure")) {
			struct json_object *loc = cj_get(r, "location");
			struct json_object *q = cj_get(r, "locationQualifier");
			const char *code = cj_has(loc, "coding") ? cj_str(json_object_array_get_idx(
				cj_get(loc, "coding"), 0), "code", "") : "";

			nbody++;
			if (!strcmp(cj_str(loc, "text", ""), "calf:left")) {
				CHECK(!strcmp(code, "53840002"), "calf coded: %s", code);
				CHECK(q && !strcmp(cj_str(json_object_array_get_idx(cj_get(
					json_object_array_get_idx(q, 0), "coding"), 0), "code", ""),
					"7771000"), "left laterality qualifier");
			} else {
				/* "neck, posterior" is not a policy region: text only. */
				CHECK(!cj_has(loc, "coding") && !q, "uncoded site: text, no side");
			}
			CHECK(find_full_url(entries, cj_str(cj_get(r, "patient"), "reference", "")),
			      "body structure's patient resolves");
		} else if (!strcmp(rt, "Device")) {
			ndev++;
			CHECK(strcmp(cj_str(r, "serialNumber", ""), "SIM0001") == 0, "serial");
		} else if (!strcmp(rt, "Procedure")) {
			nproc++;
			if (cj_has(r, "bodySite"))
				CHECK_EQ_INT(json_object_array_length(cj_get(r, "bodySite")), 2);
			CHECK(find_full_url(entries, cj_str(cj_get(r, "subject"), "reference", "")),
			      "procedure subject resolves");
		} else if (!strcmp(rt, "Observation")) {
			struct json_object *code = cj_get(r, "code");
			struct json_object *coding = json_object_array_get_idx(cj_get(code, "coding"), 0);
			struct json_object *subj = find_full_url(entries,
				cj_str(cj_get(r, "subject"), "reference", ""));
			struct json_object *dev = find_full_url(entries,
				cj_str(cj_get(r, "device"), "reference", ""));

			nobs++;
			CHECK(strcmp(cj_str(r, "status", ""), "final") == 0, "status");
			CHECK(coding && *cj_str(coding, "system", "") && *cj_str(coding, "code", ""),
			      "Observation.code.coding");
			CHECK(subj && !strcmp(cj_str(subj, "resourceType", ""), "Patient"),
			      "subject is the Patient");
			CHECK(dev && !strcmp(cj_str(dev, "resourceType", ""), "Device"),
			      "device is the Device");
			if (!strcmp(cj_str(coding, "code", ""), "stroke-peak-force")) {
				const char *idv = cj_str(json_object_array_get_idx(
					cj_get(r, "identifier"), 0), "value", "");
				bool untimed = !strcmp(idv, "12/stroke/1");

				check_quantity(cj_get(r, "valueQuantity"), "N", NAN);
				check_quantity(component_q(r, "stroke-mean-force"), "N", NAN);
				if (untimed) {
					/* Unknown times: no period, no duration, not empty. */
					CHECK(!cj_has(r, "effectivePeriod"), "no period");
					CHECK(!component_q(r, "stroke-duration"), "no duration");
				} else {
					check_quantity(component_q(r, "stroke-duration"), "s", 0.6);
					CHECK(cj_has(cj_get(r, "effectivePeriod"), "start"), "period");
				}
				/* The stroke's own cap and reasons. */
				check_quantity(cj_get(json_object_array_get_idx(
					cj_get(r, "referenceRange"), 0), "high"), "N",
					strcmp(idv, "12/stroke/3") ? 5.0 : 4.0);
				CHECK(strcmp(cj_str(json_object_array_get_idx(cj_get(r, "referenceRange"), 0),
						    "text", ""), strcmp(idv, "12/stroke/3") ?
					     "region calf cap 10 N; anticoagulants x0.5" :
					     "region neck cap 4 N") == 0, "cap reasons of %s", idv);
				/* Its burst and how it ended; none invented for stroke 3. */
				if (strcmp(idv, "12/stroke/3")) {
					struct json_object *bc = component(r, "stroke-burst");

					CHECK(bc && cj_int(bc, "valueInteger", 0) == 1,
					      "burst of %s", idv);
					CHECK(!strcmp(component_code(r, "stroke-end"),
						      untimed ? "reversal" : "lift"),
					      "end of %s: %s", idv, component_code(r, "stroke-end"));
				} else {
					CHECK(!component(r, "stroke-burst") &&
					      !component(r, "stroke-end"),
					      "no burst or end for a stroke without them");
				}
				CHECK(strcmp(cj_str(cj_get(r, "bodySite"), "text", ""),
					     strcmp(idv, "12/stroke/3") ? "calf:left" :
					     "neck, posterior") == 0, "body site of %s", idv);
			}
			if (cj_has(r, "interpretation"))
				nflag++;
		}
	}
	CHECK_EQ_INT(npat, 1);
	CHECK_EQ_INT(ndev, 1);
	CHECK_EQ_INT(nproc, 2);
	CHECK_EQ_INT(nbody, 2);
	CHECK_EQ_INT(nobs, 6);
	/* Strokes 2 and 3 + the warning and exceeded events. */
	CHECK_EQ_INT(nflag, 4);

	/* The peak of stroke 3 is exactly 5 N and flagged critical. */
	text = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	CHECK(strstr(text, "\"value\":5.000,\"unit\":\"N\",\"system\":\"http://unitsofmeasure.org\","
		      "\"code\":\"N\"") != NULL, "stroke 3 peak quantity");
	CHECK(strstr(text, "\"code\":\"HH\"") != NULL, "critical high flag");
	CHECK(strstr(text, "NaN") == NULL && strstr(text, "nan") == NULL, "no NaN in JSON");
	CHECK(strstr(text, "{}") == NULL && strstr(text, "[]") == NULL,
	      "no empty object or array (FHIR forbids them)");
	/* The output parses back as JSON. */
	again = json_tokener_parse(text);
	CHECK(again != NULL, "parses back");
	json_object_put(again);
	json_object_put(b);
}

static void test_body_codes(void)
{
	const struct ex_body_code *c;
	char base[8];

	c = ex_body_code("calf:right");
	CHECK(c && !strcmp(c->code, "53840002"), "calf:right is calf");
	CHECK(ex_body_code("wrist_hand") == NULL, "no code: text only");
	CHECK(!strcmp(ex_laterality("left")->code, "7771000") &&
	      !strcmp(ex_laterality("right")->code, "24028007") && !ex_laterality("") &&
	      !ex_laterality("unknown"), "laterality qualifiers");
	/* One display per code, one row per region. */
	for (const struct ex_body_code *a = ex_body_codes; a->region; a++)
		for (const struct ex_body_code *b = a + 1; b->region; b++)
			CHECK(strcmp(a->code, b->code) && strcmp(a->region, b->region),
			      "%s and %s", a->region, b->region);
	ex_region_base("upper_trapezius:left", base, sizeof(base));
	CHECK(!strcmp(base, "upper_t"), "truncated, terminated base: %s", base);
	CHECK(!strcmp(ex_side_of(NULL, "calf:left"), "left") &&
	      !strcmp(ex_side_of(NULL, "calf"), "unknown") &&
	      !strcmp(ex_side_of("", "neck"), "") &&
	      !strcmp(ex_side_of("unknown", "calf"), "unknown"), "side of a record");
}

/* An engine clock that stood still during a pause (no samples came): the
 * later records are dated after the pause's wall-clock length. */
static void test_wall_time(void)
{
	struct ex_pause pz[2] = {
		{ .t_start = 10, .t_end = 10, .wall_start = 1010, .wall_end = 1014 },	/* 4 s, uncounted */
		{ .t_start = 20, .t_end = 25, .wall_start = 1024, .wall_end = 1029 },	/* counted */
	};
	struct ex_session se = { .started_at = 1000, .pauses = pz, .npauses = 2 };

	CHECK_NEAR(ex_wall_time(&se, 5, true), 1005, 1e-9);
	CHECK_NEAR(ex_wall_time(&se, 10, false), 1010, 1e-9);	/* closed by the pause */
	CHECK_NEAR(ex_wall_time(&se, 10, true), 1014, 1e-9);	/* started at the resume */
	CHECK_NEAR(ex_wall_time(&se, 10.5, false), 1014.5, 1e-9);
	CHECK_NEAR(ex_wall_time(&se, 30, true), 1034, 1e-9);	/* 2nd pause counted: +0 */
	pz[1].wall_end = NAN;	/* still paused: nothing known to add */
	CHECK_NEAR(ex_wall_time(&se, 30, true), 1034, 1e-9);
	CHECK(isnan(ex_wall_time(&se, NAN, true)), "NaN stays unknown");
}

/* docs/export.md's table is the one in export-fmt.c, row for row. */
static void test_body_codes_documented(void)
{
	const char *top = getenv("SG_TOP");
	char path[4096], line[512];
	size_t rows = 0, want = 0;
	bool in_table = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/export.md", top ? top : ".");
	f = fopen(path, "r");
	CHECK(f != NULL, "cannot read %s (run from the source tree or set SG_TOP)", path);
	if (!f)
		return;
	for (const struct ex_body_code *c = ex_body_codes; c->region; c++)
		want++;
	while (fgets(line, sizeof(line), f)) {
		bool found = false;

		if (!strncmp(line, "### SNOMED CT body structures", 29)) {
			in_table = true;
			continue;
		}
		if (!in_table || strncmp(line, "| ", 2) || !strncmp(line, "| policy region", 15))
			continue;
		for (const struct ex_body_code *c = ex_body_codes; c->region; c++) {
			char row[512];

			snprintf(row, sizeof(row), "| %s | %s | %s |\n", c->region, c->code, c->display);
			found |= !strcmp(line, row);
		}
		CHECK(found, "docs/export.md row not in ex_body_codes[]: %s", line);
		rows++;
	}
	fclose(f);
	CHECK(in_table, "docs/export.md has the SNOMED CT table");
	CHECK_EQ_INT(rows, want);
}

static void test_iso(void)
{
	char buf[40];

	cj_iso8601(0.0, buf, sizeof(buf));
	CHECK(strcmp(buf, "1970-01-01T00:00:00.000Z") == 0, "%s", buf);
	cj_iso8601(1700000000.9996, buf, sizeof(buf));
	CHECK(strcmp(buf, "2023-11-14T22:13:21.000Z") == 0, "rounding carries: %s", buf);
	cj_iso8601(NAN, buf, sizeof(buf));
	CHECK(buf[0] == '\0', "NaN gives empty");
}

int main(void)
{
	test_csv();
	test_fhir();
	test_body_codes();
	test_wall_time();
	test_body_codes_documented();
	test_iso();
	return check_exit("test-ctl-export");
}
