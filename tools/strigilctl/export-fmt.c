// SPDX-License-Identifier: LGPL-2.1-or-later
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <systemd/sd-id128.h>

#include "ctl-json.h"
#include "export-fmt.h"

#define UCUM "http://unitsofmeasure.org"
#define CS_IASTM "urn:strigil:fhir:codesystem:iastm"
#define CS_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
#define CS_INTERP "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#define ID_PATIENT "urn:strigil:patient-ref"
#define ID_SERIAL "urn:strigil:instrument-serial"
#define ID_SESSION "urn:strigil:session"

const char *ex_violation_kind_str(enum ex_violation_kind k)
{
	switch (k) {
	case EX_WARNING: return "warning";
	case EX_EXCEEDED: return "exceeded";
	case EX_CAP: return "cap";
	}
	return "unknown";
}

enum ex_violation_kind ex_violation_kind_parse(const char *s)
{
	if (!s)
		return 0;
	if (!strcasecmp(s, "warning") || !strcasecmp(s, "warn") ||
	    !strcasecmp(s, "LimitWarning"))
		return EX_WARNING;
	if (!strcasecmp(s, "exceeded") || !strcasecmp(s, "exceed") ||
	    !strcasecmp(s, "LimitExceeded") || !strcasecmp(s, "violation"))
		return EX_EXCEEDED;
	if (!strncasecmp(s, "cap", 3) || !strcasecmp(s, "SessionCapReached"))
		return EX_CAP;
	return 0;
}

void ex_link_violations(struct ex_session *s)
{
	for (size_t v = 0; v < s->nviolations; v++) {
		struct ex_violation *vi = &s->violations[v];

		if (vi->kind == EX_CAP)
			continue;
		for (size_t k = 0; k < s->nstrokes; k++) {
			struct ex_stroke *st = &s->strokes[k];
			bool in = vi->stroke_index ? vi->stroke_index == st->index :
				  (vi->t_s >= st->start_s && vi->t_s <= st->end_s);

			if (!in)
				continue;
			if (!vi->stroke_index)
				vi->stroke_index = st->index;
			if (vi->kind == EX_EXCEEDED)
				st->exceeded = true;
			else
				st->warned = true;
			break;
		}
	}
}

void ex_csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_num(FILE *f, double v, int decimals)
{
	fputc(',', f);
	if (isfinite(v))
		fprintf(f, "%.*f", decimals, v);
}

static void csv_time(FILE *f, double t)
{
	char buf[40];

	cj_iso8601(t, buf, sizeof(buf));
	fputc(',', f);
	fputs(buf, f);
}

int ex_write_csv(FILE *f, const struct ex_session *s, size_t n)
{
	fputs("session,patient_ref,instrument,region,kind,index,time_utc,"
	      "start_s,end_s,duration_s,peak_n,mean_n,impulse_ns,above_limit_s,"
	      "limit_n,force_n,flag\r\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct ex_session *se = &s[i];

		for (size_t k = 0; k < se->nstrokes; k++) {
			const struct ex_stroke *st = &se->strokes[k];

			ex_csv_field(f, se->id);
			fputc(',', f);
			ex_csv_field(f, se->patient_ref);
			fputc(',', f);
			ex_csv_field(f, se->instrument_serial);
			fputc(',', f);
			ex_csv_field(f, se->region);
			fprintf(f, ",stroke,%u", st->index);
			csv_time(f, st->start_s);
			csv_num(f, st->start_s - se->started_at, 3);
			csv_num(f, st->end_s - se->started_at, 3);
			csv_num(f, st->end_s - st->start_s, 3);
			csv_num(f, st->peak_n, 3);
			csv_num(f, st->mean_n, 3);
			csv_num(f, st->impulse_ns, 3);
			csv_num(f, st->above_limit_s, 3);
			csv_num(f, st->limit_n, 3);
			fputs(",,", f);
			fputs(st->exceeded ? "exceeded" : st->warned ? "warning" : "", f);
			fputs("\r\n", f);
		}
		for (size_t v = 0; v < se->nviolations; v++) {
			const struct ex_violation *vi = &se->violations[v];

			ex_csv_field(f, se->id);
			fputc(',', f);
			ex_csv_field(f, se->patient_ref);
			fputc(',', f);
			ex_csv_field(f, se->instrument_serial);
			fputc(',', f);
			ex_csv_field(f, se->region);
			fprintf(f, ",%s,", ex_violation_kind_str(vi->kind));
			if (vi->stroke_index)
				fprintf(f, "%u", vi->stroke_index);
			csv_time(f, vi->t_s);
			csv_num(f, vi->t_s - se->started_at, 3);
			fputs(",,,,,,", f);
			csv_num(f, vi->limit_n, 3);
			csv_num(f, vi->force_n, 3);
			fputc(',', f);
			ex_csv_field(f, vi->detail);
			fputs("\r\n", f);
		}
	}
	fflush(f);
	return ferror(f) ? -1 : 0;
}

/* ---- FHIR ------------------------------------------------------------- */

static void add(struct json_object *o, const char *k, struct json_object *v)
{
	if (v)
		json_object_object_add(o, k, v);
}

/* FHIR forbids empty objects and arrays: e.g. a period without times is left out. */
static void add_nonempty(struct json_object *o, const char *k, struct json_object *v)
{
	bool empty = !v || (json_object_is_type(v, json_type_array) ?
			    json_object_array_length(v) == 0 :
			    json_object_object_length(v) == 0);

	if (!empty)
		json_object_object_add(o, k, v);
	else
		json_object_put(v);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void add_time(struct json_object *o, const char *k, double t)
{
	char buf[40];

	cj_iso8601(t, buf, sizeof(buf));
	add_str(o, k, buf);
}

static void new_urn(char out[46])
{
	sd_id128_t id;

	/* Random (version 4) UUID; fullUrls only have to be unique. */
	if (sd_id128_randomize(&id) < 0)
		memset(&id, 0, sizeof(id));
	snprintf(out, 46, "urn:uuid:" SD_ID128_UUID_FORMAT_STR, SD_ID128_FORMAT_VAL(id));
}

static struct json_object *coding(const char *system, const char *code, const char *display)
{
	struct json_object *c = json_object_new_object();

	add_str(c, "system", system);
	add_str(c, "code", code);
	add_str(c, "display", display);
	return c;
}

static struct json_object *concept(const char *system, const char *code, const char *display)
{
	struct json_object *cc = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	json_object_array_add(arr, coding(system, code, display));
	add(cc, "coding", arr);
	add_str(cc, "text", display);
	return cc;
}

static struct json_object *quantity(double v, const char *ucum, int decimals)
{
	struct json_object *q = json_object_new_object();

	add(q, "value", cj_fixed(v, decimals));
	add_str(q, "unit", ucum);
	add_str(q, "system", UCUM);
	add_str(q, "code", ucum);
	return q;
}

static struct json_object *ref(const char *urn, const char *display)
{
	struct json_object *r = json_object_new_object();

	add_str(r, "reference", urn);
	add_str(r, "display", display);
	return r;
}

static struct json_object *identifier(const char *system, const char *value)
{
	struct json_object *arr = json_object_new_array();
	struct json_object *id = json_object_new_object();

	add_str(id, "system", system);
	add_str(id, "value", value);
	json_object_array_add(arr, id);
	return arr;
}

static struct json_object *interpretation(bool critical)
{
	struct json_object *arr = json_object_new_array();

	json_object_array_add(arr, critical ?
		concept(CS_INTERP, "HH", "Critical high") :
		concept(CS_INTERP, "H", "High"));
	return arr;
}

static struct json_object *limit_range(double limit_n, const char *why)
{
	struct json_object *arr, *rr;

	if (!isfinite(limit_n) || limit_n <= 0)
		return NULL;
	arr = json_object_new_array();
	rr = json_object_new_object();
	add(rr, "high", quantity(limit_n, "N", 3));
	add_str(rr, "text", why && *why ? why : "effective force limit");
	json_object_array_add(arr, rr);
	return arr;
}

static struct json_object *component(const char *code, const char *display,
				     double v, const char *ucum, int decimals)
{
	struct json_object *c;

	if (!isfinite(v))
		return NULL;
	c = json_object_new_object();
	add(c, "code", concept(CS_IASTM, code, display));
	add(c, "valueQuantity", quantity(v, ucum, decimals));
	return c;
}

static void add_entry(struct json_object *entries, const char *urn, struct json_object *res)
{
	struct json_object *e = json_object_new_object();

	add_str(e, "fullUrl", urn);
	add(e, "resource", res);
	json_object_array_add(entries, e);
}

static struct json_object *category(void)
{
	struct json_object *arr = json_object_new_array();

	json_object_array_add(arr, concept(CS_CATEGORY, "procedure", "Procedure"));
	return arr;
}

/* Fields every Observation of a session shares. */
static struct json_object *observation_base(const struct ex_session *se,
					    const char *patient, const char *device,
					    const char *procedure)
{
	struct json_object *o = json_object_new_object();
	struct json_object *part = json_object_new_array();

	add_str(o, "resourceType", "Observation");
	add_str(o, "status", "final");
	json_object_array_add(part, ref(procedure, NULL));
	add(o, "partOf", part);
	add(o, "category", category());
	add(o, "subject", ref(patient, NULL));
	add(o, "device", ref(device, se->instrument_model));
	if (se->region[0]) {
		struct json_object *site = json_object_new_object();

		add_str(site, "text", se->region);
		add(o, "bodySite", site);
	}
	return o;
}

static struct json_object *stroke_observation(const struct ex_session *se,
					      const struct ex_stroke *st,
					      const char *patient, const char *device,
					      const char *procedure)
{
	struct json_object *o = observation_base(se, patient, device, procedure);
	struct json_object *per = json_object_new_object();
	struct json_object *comps = json_object_new_array();
	struct json_object *c;
	char idv[96];
	double limit = isfinite(st->limit_n) && st->limit_n > 0 ? st->limit_n : se->limit_n;

	snprintf(idv, sizeof(idv), "%s/stroke/%u", se->id, st->index);
	add(o, "identifier", identifier(ID_SESSION, idv));
	add(o, "code", concept(CS_IASTM, "stroke-peak-force",
			       "IASTM stroke peak normal force"));
	add_time(per, "start", st->start_s);
	add_time(per, "end", st->end_s);
	add_nonempty(o, "effectivePeriod", per);
	add(o, "valueQuantity", quantity(st->peak_n, "N", 3));
	if (st->exceeded || st->warned)
		add(o, "interpretation", interpretation(st->exceeded));
	add(o, "referenceRange", limit_range(limit, se->limit_reason));
	if ((c = component("stroke-peak-force", "Peak normal force", st->peak_n, "N", 3)))
		json_object_array_add(comps, c);
	if ((c = component("stroke-mean-force", "Mean normal force", st->mean_n, "N", 3)))
		json_object_array_add(comps, c);
	if ((c = component("stroke-duration", "Stroke duration", st->end_s - st->start_s, "s", 3)))
		json_object_array_add(comps, c);
	if ((c = component("stroke-impulse", "Force impulse", st->impulse_ns, "N.s", 3)))
		json_object_array_add(comps, c);
	if ((c = component("time-above-limit", "Time above the force limit",
			   st->above_limit_s, "s", 3)))
		json_object_array_add(comps, c);
	add_nonempty(o, "component", comps);
	if (st->exceeded || st->warned) {
		struct json_object *notes = json_object_new_array();
		struct json_object *nt = json_object_new_object();

		add_str(nt, "text", st->exceeded ? "Force limit exceeded during this stroke" :
			"Force approached the limit (warning) during this stroke");
		json_object_array_add(notes, nt);
		add(o, "note", notes);
	}
	return o;
}

static struct json_object *violation_observation(const struct ex_session *se,
						 const struct ex_violation *vi,
						 size_t nth, const char *patient,
						 const char *device, const char *procedure)
{
	struct json_object *o = observation_base(se, patient, device, procedure);
	char idv[96];

	snprintf(idv, sizeof(idv), "%s/violation/%zu", se->id, nth);
	add(o, "identifier", identifier(ID_SESSION, idv));
	switch (vi->kind) {
	case EX_EXCEEDED:
		add(o, "code", concept(CS_IASTM, "force-limit-exceeded",
				       "IASTM force limit exceeded"));
		break;
	case EX_WARNING:
		add(o, "code", concept(CS_IASTM, "force-limit-warning",
				       "IASTM force near the limit"));
		break;
	case EX_CAP:
		add(o, "code", concept(CS_IASTM, "session-cap-reached",
				       "IASTM session cap reached"));
		break;
	}
	add_time(o, "effectiveDateTime", vi->t_s);
	if (vi->kind != EX_CAP) {
		add(o, "valueQuantity", quantity(vi->force_n, "N", 3));
		add(o, "interpretation", interpretation(vi->kind == EX_EXCEEDED));
		add(o, "referenceRange", limit_range(vi->limit_n, se->limit_reason));
	} else {
		add_str(o, "valueString", vi->detail[0] ? vi->detail : "cap reached");
	}
	return o;
}

/* Index of the first session with the same key, so shared resources are emitted once. */
static size_t first_same(const struct ex_session *s, size_t i, bool by_patient)
{
	for (size_t j = 0; j < i; j++)
		if (by_patient ? !strcmp(s[j].patient_ref, s[i].patient_ref) :
		    !strcmp(s[j].instrument_serial, s[i].instrument_serial))
			return j;
	return i;
}

struct json_object *ex_fhir_bundle(const struct ex_session *s, size_t n, double now)
{
	struct json_object *b = json_object_new_object();
	struct json_object *entries = json_object_new_array();
	char (*patient)[46] = calloc(n ? n : 1, sizeof(*patient));
	char (*device)[46] = calloc(n ? n : 1, sizeof(*device));
	char bundle_id[46];

	if (!b || !entries || !patient || !device) {
		json_object_put(b);
		json_object_put(entries);
		free(patient);
		free(device);
		return NULL;
	}
	new_urn(bundle_id);
	add_str(b, "resourceType", "Bundle");
	{
		struct json_object *bid = json_object_new_object();

		add_str(bid, "system", "urn:ietf:rfc:3986");
		add_str(bid, "value", bundle_id);
		add(b, "identifier", bid);
	}
	add_str(b, "type", "collection");
	add_time(b, "timestamp", now);

	for (size_t i = 0; i < n; i++) {
		const struct ex_session *se = &s[i];
		size_t jp = first_same(s, i, true), jd = first_same(s, i, false);
		char procedure[46];

		if (jp == i) {
			struct json_object *p = json_object_new_object();

			new_urn(patient[i]);
			add_str(p, "resourceType", "Patient");
			/* Pseudonymous: the reference only, never a name. */
			add(p, "identifier", identifier(ID_PATIENT, se->patient_ref));
			add_entry(entries, patient[i], p);
		} else {
			memcpy(patient[i], patient[jp], sizeof(patient[i]));
		}
		if (jd == i) {
			struct json_object *d = json_object_new_object();
			struct json_object *names = json_object_new_array();
			struct json_object *nm = json_object_new_object();

			new_urn(device[i]);
			add_str(d, "resourceType", "Device");
			add(d, "identifier", identifier(ID_SERIAL, se->instrument_serial));
			add_str(d, "manufacturer", "Strigil");
			add_str(d, "serialNumber", se->instrument_serial);
			add_str(d, "modelNumber", se->instrument_model);
			add_str(nm, "name", se->instrument_model[0] ? se->instrument_model :
				"Strigil IASTM instrument");
			add_str(nm, "type", "model-name");
			json_object_array_add(names, nm);
			add(d, "deviceName", names);
			if (se->instrument_firmware[0]) {
				struct json_object *vers = json_object_new_array();
				struct json_object *v = json_object_new_object();

				add_str(v, "value", se->instrument_firmware);
				json_object_array_add(vers, v);
				add(d, "version", vers);
			}
			add_entry(entries, device[i], d);
		} else {
			memcpy(device[i], device[jd], sizeof(device[i]));
		}

		/* The session itself. */
		{
			struct json_object *pr = json_object_new_object();
			struct json_object *per = json_object_new_object();
			struct json_object *fd = json_object_new_array();
			struct json_object *fde = json_object_new_object();

			new_urn(procedure);
			add_str(pr, "resourceType", "Procedure");
			add(pr, "identifier", identifier(ID_SESSION, se->id));
			add_str(pr, "status", strcmp(se->state, "running") == 0 ||
				strcmp(se->state, "paused") == 0 ? "in-progress" :
				strcmp(se->state, "interrupted") == 0 ? "stopped" : "completed");
			add(pr, "code", concept(CS_IASTM, "iastm",
						"Instrument-assisted soft tissue mobilization"));
			add(pr, "subject", ref(patient[i], NULL));
			add_time(per, "start", se->started_at);
			add_time(per, "end", se->ended_at);
			add_nonempty(pr, "performedPeriod", per);
			if (se->region[0]) {
				struct json_object *sites = json_object_new_array();
				struct json_object *site = json_object_new_object();

				add_str(site, "text", se->region);
				json_object_array_add(sites, site);
				add(pr, "bodySite", sites);
			}
			add(fde, "manipulated", ref(device[i], se->instrument_model));
			json_object_array_add(fd, fde);
			add(pr, "focalDevice", fd);
			add_entry(entries, procedure, pr);
		}
		for (size_t k = 0; k < se->nstrokes; k++) {
			char urn[46];

			new_urn(urn);
			add_entry(entries, urn, stroke_observation(se, &se->strokes[k], patient[i],
								   device[i], procedure));
		}
		for (size_t v = 0; v < se->nviolations; v++) {
			char urn[46];

			new_urn(urn);
			add_entry(entries, urn, violation_observation(se, &se->violations[v], v + 1,
								      patient[i], device[i],
								      procedure));
		}
	}
	add(b, "entry", entries);
	free(patient);
	free(device);
	return b;
}
