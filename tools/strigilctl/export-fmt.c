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
#define ID_SERIAL "urn:strigil:instrument-serial"
#define ID_SESSION "urn:strigil:session"
#define SNOMED "http://snomed.info/sct"
#define EXT_BODYSITE "http://hl7.org/fhir/StructureDefinition/bodySite"
#define EXT_TARGET_BODY "http://hl7.org/fhir/StructureDefinition/procedure-targetBodyStructure"

/*
 * SNOMED CT body structures of the shipped policy's regions: only codes
 * whose meaning matches the region (a broader or narrower code would say
 * something else was treated); a region without a row is exported as text.
 * The displays are the SNOMED CT preferred terms, one per code. Keep this
 * table and docs/export.md's in step (tests/cli-unit checks it).
 */
const struct ex_body_code ex_body_codes[] = {
	{ "neck", "45048000", "Neck structure" },
	{ "shoulder", "16982005", "Shoulder region structure" },
	{ "elbow", "127949000", "Elbow region structure" },
	{ "forearm", "14975008", "Forearm structure" },
	{ "gluteal", "46862004", "Buttock structure" },
	{ "knee", "72696002", "Knee region structure" },
	{ "shin", "78234002", "Shin structure" },
	{ "calf", "53840002", "Structure of calf of leg" },
	{ "foot_dorsum", "2402003", "Structure of dorsum of foot" },
	{ NULL, NULL, NULL }
};

static const struct ex_body_code laterality[] = {
	{ "left", "7771000", "Left" },
	{ "right", "24028007", "Right" },
};

const struct ex_body_code *ex_body_code(const char *region)
{
	char base[64];

	ex_region_base(region, base, sizeof(base));
	for (const struct ex_body_code *c = ex_body_codes; c->region; c++)
		if (!strcmp(c->region, base))
			return c;
	return NULL;
}

const struct ex_body_code *ex_laterality(const char *side)
{
	for (size_t i = 0; side && i < sizeof(laterality) / sizeof(laterality[0]); i++)
		if (!strcmp(laterality[i].region, side))
			return &laterality[i];
	return NULL;
}

void ex_region_base(const char *region, char *base, size_t len)
{
	const char *colon = region ? strchr(region, ':') : NULL;
	size_t n = region ? (colon ? (size_t)(colon - region) : strlen(region)) : 0;

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(base, region ? region : "", n);
	base[n] = '\0';
}

const char *ex_side_of(const char *side_key, const char *region)
{
	const char *colon;

	if (side_key)
		return side_key;
	colon = region ? strchr(region, ':') : NULL;
	if (colon && (!strcmp(colon + 1, "left") || !strcmp(colon + 1, "right")))
		return colon + 1;
	return "unknown";
}

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

double ex_wall_time(const struct ex_session *s, double t, bool start)
{
	double wall = s->started_at + t;

	for (size_t p = 0; p < s->npauses; p++) {
		const struct ex_pause *pa = &s->pauses[p];
		double uncounted = (pa->wall_end - pa->wall_start) - (pa->t_end - pa->t_start);

		if (!isfinite(uncounted) || uncounted <= 0)
			continue;
		if (start ? t >= pa->t_end : t > pa->t_start)
			wall += uncounted;
	}
	return wall;
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

bool ex_csv_is_formula(const char *s)
{
	/* OWASP "CSV Injection": a cell starting with one of these is run as a
	 * formula by Excel, LibreOffice and Google Sheets. */
	return s && *s && strchr("=+-@\t\r", *s) != NULL;
}

void ex_csv_field(FILE *f, const char *s)
{
	bool formula = ex_csv_is_formula(s);

	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		if (formula)
			fputc('\'', f);
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
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

static void csv_site(FILE *f, const struct ex_session *se, const struct ex_site *site)
{
	ex_csv_field(f, se->id);
	fputc(',', f);
	ex_csv_field(f, se->patient_ref);
	fputc(',', f);
	ex_csv_field(f, se->instrument_serial);
	fputc(',', f);
	ex_csv_field(f, site ? site->region : "");
}

/* The last columns; burst and end are a stroke's (NULL: empty cells). */
static void csv_tail(FILE *f, const struct ex_site *site, const struct ex_stroke *st)
{
	fputc(',', f);
	ex_csv_field(f, site ? site->side : "");
	fputc(',', f);
	ex_csv_field(f, site ? site->cap_reasons : "");
	fputc(',', f);
	if (st && st->burst)
		fprintf(f, "%u", st->burst);
	fputc(',', f);
	ex_csv_field(f, st ? st->end : "");
	fputs("\r\n", f);
}

int ex_write_csv(FILE *f, const struct ex_session *s, size_t n)
{
	fputs("session,patient_ref,instrument,region,kind,index,time_utc,"
	      "start_s,end_s,duration_s,peak_n,mean_n,impulse_ns,above_limit_s,"
	      "limit_n,force_n,flag,side,cap_reasons,burst,end\r\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct ex_session *se = &s[i];

		for (size_t k = 0; k < se->nstrokes; k++) {
			const struct ex_stroke *st = &se->strokes[k];

			csv_site(f, se, &st->site);
			fprintf(f, ",stroke,%u", st->index);
			csv_time(f, st->start_s);
			csv_num(f, st->t_start, 3);
			csv_num(f, st->t_end, 3);
			csv_num(f, st->t_end - st->t_start, 3);
			csv_num(f, st->peak_n, 3);
			csv_num(f, st->mean_n, 3);
			csv_num(f, st->impulse_ns, 3);
			csv_num(f, st->above_limit_s, 3);
			csv_num(f, st->site.cap_n, 3);
			fputs(",,", f);
			fputs(st->exceeded ? "exceeded" : st->warned ? "warning" : "", f);
			csv_tail(f, &st->site, st);
		}
		for (size_t v = 0; v < se->nviolations; v++) {
			const struct ex_violation *vi = &se->violations[v];

			csv_site(f, se, &vi->site);
			fprintf(f, ",%s,", ex_violation_kind_str(vi->kind));
			if (vi->stroke_index)
				fprintf(f, "%u", vi->stroke_index);
			csv_time(f, vi->t_s);
			csv_num(f, vi->t, 3);
			fputs(",,,,,,", f);
			csv_num(f, vi->limit_n, 3);
			csv_num(f, vi->force_n, 3);
			fputc(',', f);
			ex_csv_field(f, vi->detail);
			csv_tail(f, &vi->site, NULL);
		}
		for (size_t p = 0; p < se->npauses; p++) {
			const struct ex_pause *pa = &se->pauses[p];

			/* A pause is the session's, not a region's. */
			csv_site(f, se, NULL);
			fprintf(f, ",pause,%zu", p + 1);
			/* Its own wall clock; duration = how long it really was. */
			csv_time(f, pa->wall_start);
			csv_num(f, pa->t_start, 3);
			csv_num(f, pa->t_end, 3);
			csv_num(f, pa->wall_end - pa->wall_start, 3);
			fputs(",,,,,,,", f);
			ex_csv_field(f, pa->reason);
			csv_tail(f, NULL, NULL);
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

/* The cap in force for this record and why (as recorded with it). */
static struct json_object *limit_range(double limit_n, const char *why)
{
	struct json_object *arr, *rr;

	if (!isfinite(limit_n) || limit_n <= 0)
		return NULL;
	arr = json_object_new_array();
	rr = json_object_new_object();
	add(rr, "high", quantity(limit_n, "N", 3));
	add_str(rr, "text", why && *why ? why : "force cap in force (reasons not recorded)");
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

/* Which burst (continuous contact) a stroke is a pass of; NULL when not recorded. */
static struct json_object *burst_component(uint32_t burst)
{
	struct json_object *c;

	if (!burst)
		return NULL;
	c = json_object_new_object();
	add(c, "code", concept(CS_IASTM, "stroke-burst",
			       "Burst (continuous contact) of the stroke"));
	add(c, "valueInteger", json_object_new_int64(burst));
	return c;
}

/* How a stroke ended: lift-off, or the blade turned round inside its burst. */
static struct json_object *end_component(const char *end)
{
	struct json_object *c, *v;

	if (!end || !*end)
		return NULL;
	if (!strcmp(end, "lift"))
		v = concept(CS_IASTM, "lift", "Ended at lift-off");
	else if (!strcmp(end, "reversal"))
		v = concept(CS_IASTM, "reversal", "Ended where the direction reversed");
	else {
		/* A kind this version does not know: its text, never a code. */
		v = json_object_new_object();
		add_str(v, "text", end);
	}
	c = json_object_new_object();
	add(c, "code", concept(CS_IASTM, "stroke-end", "How the stroke ended"));
	add(c, "valueCodeableConcept", v);
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
/*
 * Body sites: one BodyStructure per (patient, region:side) in the Bundle,
 * whose location is the SNOMED CT body structure (text when the table has
 * none) and whose locationQualifier is the laterality; every bodySite
 * CodeableConcept carries the same code, its text, and the core bodySite
 * extension pointing at that BodyStructure.
 */
struct ex_bodies {
	struct {
		const char *patient_urn;
		char region[64];
		char side[12];
		char urn[46];
	} *v;
	size_t n, cap;
	struct json_object *entries;
};

static void new_urn(char out[46]);
static void add_entry(struct json_object *entries, const char *urn, struct json_object *res);

static void site_text(const struct ex_site *site, char *buf, size_t len)
{
	if (!strcmp(site->side, "unknown"))
		snprintf(buf, len, "%s (side not recorded)", site->region);
	else
		snprintf(buf, len, "%s", site->region);
}

static struct json_object *site_location(const struct ex_site *site)
{
	const struct ex_body_code *bc = ex_body_code(site->region);
	struct json_object *cc = json_object_new_object();
	char text[96];

	if (bc) {
		struct json_object *arr = json_object_new_array();

		json_object_array_add(arr, coding(SNOMED, bc->code, bc->display));
		add(cc, "coding", arr);
	}
	site_text(site, text, sizeof(text));
	add_str(cc, "text", text);
	return cc;
}

/* The BodyStructure's fullUrl for this patient and site (added once). */
static const char *body_structure(struct ex_bodies *b, const char *patient_urn,
				  const struct ex_site *site)
{
	struct json_object *bs, *pat;
	const struct ex_body_code *lat;

	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].patient_urn == patient_urn && !strcmp(b->v[i].region, site->region) &&
		    !strcmp(b->v[i].side, site->side))
			return b->v[i].urn;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		void *nv = realloc(b->v, cap * sizeof(*b->v));

		if (!nv)
			return NULL;
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n].patient_urn = patient_urn;
	snprintf(b->v[b->n].region, sizeof(b->v[b->n].region), "%s", site->region);
	snprintf(b->v[b->n].side, sizeof(b->v[b->n].side), "%s", site->side);
	new_urn(b->v[b->n].urn);
	bs = json_object_new_object();
	add_str(bs, "resourceType", "BodyStructure");
	add(bs, "location", site_location(site));
	if ((lat = ex_laterality(site->side))) {
		struct json_object *q = json_object_new_array();

		json_object_array_add(q, concept(SNOMED, lat->code, lat->display));
		add(bs, "locationQualifier", q);
	}
	pat = json_object_new_object();
	add_str(pat, "reference", patient_urn);
	add(bs, "patient", pat);
	add_entry(b->entries, b->v[b->n].urn, bs);
	return b->v[b->n++].urn;
}

static struct json_object *ext_ref(const char *url, const char *urn)
{
	struct json_object *e = json_object_new_object();
	struct json_object *r = json_object_new_object();

	add_str(e, "url", url);
	add_str(r, "reference", urn);
	add(e, "valueReference", r);
	return e;
}

static struct json_object *body_site(struct ex_bodies *b, const char *patient_urn,
				     const struct ex_site *site)
{
	struct json_object *cc = site_location(site);
	const char *urn = body_structure(b, patient_urn, site);

	if (urn) {
		struct json_object *ext = json_object_new_array();

		json_object_array_add(ext, ext_ref(EXT_BODYSITE, urn));
		add(cc, "extension", ext);
	}
	return cc;
}

static struct json_object *observation_base(const struct ex_session *se,
					    const char *patient, const char *device,
					    const char *procedure, struct ex_bodies *bodies,
					    const struct ex_site *site)
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
	if (site && site->region[0])
		add(o, "bodySite", body_site(bodies, patient, site));
	return o;
}

static struct json_object *stroke_observation(const struct ex_session *se,
					      const struct ex_stroke *st,
					      const char *patient, const char *device,
					      const char *procedure, struct ex_bodies *bodies)
{
	struct json_object *o = observation_base(se, patient, device, procedure, bodies,
						 &st->site);
	struct json_object *per = json_object_new_object();
	struct json_object *comps = json_object_new_array();
	struct json_object *c;
	char idv[96];

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
	add(o, "referenceRange", limit_range(st->site.cap_n, st->site.cap_reasons));
	if ((c = component("stroke-peak-force", "Peak normal force", st->peak_n, "N", 3)))
		json_object_array_add(comps, c);
	if ((c = component("stroke-mean-force", "Mean normal force", st->mean_n, "N", 3)))
		json_object_array_add(comps, c);
	if ((c = component("stroke-duration", "Stroke duration", st->t_end - st->t_start, "s", 3)))
		json_object_array_add(comps, c);
	if ((c = component("stroke-impulse", "Force impulse", st->impulse_ns, "N.s", 3)))
		json_object_array_add(comps, c);
	if ((c = component("time-above-limit", "Time above the force limit",
			   st->above_limit_s, "s", 3)))
		json_object_array_add(comps, c);
	if ((c = burst_component(st->burst)))
		json_object_array_add(comps, c);
	if ((c = end_component(st->end)))
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
						 const char *device, const char *procedure,
						 struct ex_bodies *bodies)
{
	struct json_object *o = observation_base(se, patient, device, procedure, bodies,
						 &vi->site);
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
		add(o, "referenceRange", limit_range(vi->limit_n, vi->site.cap_reasons));
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

/* Sites of a session in the order first treated (strokes, then events). */
static size_t session_sites(const struct ex_session *se, const struct ex_site **out, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < se->nstrokes + se->nviolations; k++) {
		const struct ex_site *site = k < se->nstrokes ? &se->strokes[k].site :
					     &se->violations[k - se->nstrokes].site;
		size_t j;

		if (!site->region[0])
			continue;
		for (j = 0; j < n; j++)
			if (!strcmp(out[j]->region, site->region) && !strcmp(out[j]->side, site->side))
				break;
		if (j == n && n < max)
			out[n++] = site;
	}
	return n;
}

static void procedure_sites(struct json_object *pr, const struct ex_session *se,
			    const char *patient, struct ex_bodies *bodies)
{
	const struct ex_site *sites[64];
	size_t ns = session_sites(se, sites, 64);
	struct json_object *arr, *ext;

	if (!ns)
		return;
	arr = json_object_new_array();
	ext = json_object_new_array();
	for (size_t j = 0; j < ns; j++) {
		const char *urn = body_structure(bodies, patient, sites[j]);

		json_object_array_add(arr, body_site(bodies, patient, sites[j]));
		if (urn)
			json_object_array_add(ext, ext_ref(EXT_TARGET_BODY, urn));
	}
	add_nonempty(pr, "extension", ext);
	add(pr, "bodySite", arr);
}

static void procedure_pauses(struct json_object *pr, const struct ex_session *se)
{
	struct json_object *notes;

	if (!se->npauses)
		return;
	notes = json_object_new_array();
	for (size_t p = 0; p < se->npauses; p++) {
		const struct ex_pause *pa = &se->pauses[p];
		struct json_object *nt = json_object_new_object();
		char a[40], z[40], text[192];

		cj_iso8601(pa->wall_start, a, sizeof(a));
		cj_iso8601(pa->wall_end, z, sizeof(z));
		snprintf(text, sizeof(text), "Paused from %s to %s%s%s", a, z[0] ? z : "the end",
			 pa->reason[0] ? ": " : "", pa->reason);
		add_str(nt, "text", text);
		add_time(nt, "time", pa->wall_start);
		json_object_array_add(notes, nt);
	}
	add(pr, "note", notes);
}

struct json_object *ex_fhir_bundle(const struct ex_session *s, size_t n, double now,
				  const struct ex_options *opt)
{
	const char *psys = opt && opt->patient_system && *opt->patient_system ?
			   opt->patient_system : EX_PATIENT_SYSTEM_DEFAULT;
	struct ex_bodies bodies = { 0 };
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
	bodies.entries = entries;
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
			add(p, "identifier", identifier(psys, se->patient_ref));
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
			procedure_sites(pr, se, patient[i], &bodies);
			procedure_pauses(pr, se);
			add(fde, "manipulated", ref(device[i], se->instrument_model));
			json_object_array_add(fd, fde);
			add(pr, "focalDevice", fd);
			add_entry(entries, procedure, pr);
		}
		for (size_t k = 0; k < se->nstrokes; k++) {
			char urn[46];

			new_urn(urn);
			add_entry(entries, urn, stroke_observation(se, &se->strokes[k], patient[i],
								   device[i], procedure, &bodies));
		}
		for (size_t v = 0; v < se->nviolations; v++) {
			char urn[46];

			new_urn(urn);
			add_entry(entries, urn, violation_observation(se, &se->violations[v], v + 1,
								      patient[i], device[i],
								      procedure, &bodies));
		}
	}
	add_nonempty(b, "entry", entries);	/* FHIR forbids an empty array */
	free(bodies.v);
	free(patient);
	free(device);
	return b;
}
