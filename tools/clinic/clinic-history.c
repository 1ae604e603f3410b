/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * History screen. Visits come from Profile.ListSessions (paged in the
 * daemon's database, newest first); the per-region trends from
 * Profile.GetRegionHistory. Against a daemon without them (before the
 * records work) it falls back to Manager.Sessions filtered by profile and
 * trends computed from each visit's strokes. Opening a visit loads its
 * strokes, events and pauses into a struct clinic_report: the text shown
 * here is the report's own lines, so screen and paper never disagree.
 */
#include <math.h>
#include <string.h>

#include "clinic-history.h"
#include "clinic-plot.h"
#include "clinic-report.h"
#include "clinic-report-model.h"
#include "clinic-util.h"
#include "clinic-window.h"

#define MAX_VISITS 200

struct trend {
	guint64 started_us;
	char *region;
	double peak, mean, impulse, cap;
	guint32 violations, strokes;
};

struct _ClinicHistory {
	GtkBox parent;
	ClinicService *service;
	StrigilProfile *profile;
	GCancellable *cancel;		/* per patient shown */
	GPtrArray *trends;		/* struct trend */
	GHashTable *visit_sites;	/* session path -> "calf:left, neck" (GetRegionHistory) */
	guint pending_trends;
	gboolean fallback;
	struct clinic_report report;
	gboolean report_ready;
	guint detail_gen;

	GtkLabel *title_label, *visits_status, *report_status;
	GtkListBox *visit_list;
	GtkDropDown *trend_region;
	ClinicPlot *plot_peak, *plot_mean, *plot_violations, *plot_impulse;
	GtkButton *pdf_button, *print_button;
	GtkTextView *detail_view;
};

G_DEFINE_FINAL_TYPE(ClinicHistory, clinic_history, GTK_TYPE_BOX)

static void relabel_visits(ClinicHistory *self);

static void trend_free(gpointer p)
{
	struct trend *t = p;

	g_free(t->region);
	g_free(t);
}

static int trend_cmp(gconstpointer a, gconstpointer b)
{
	const struct trend *x = *(struct trend *const *)a, *y = *(struct trend *const *)b;

	return x->started_us < y->started_us ? -1 : x->started_us > y->started_us;
}

/* ---- trends ------------------------------------------------------------ */

static void draw_trends(ClinicHistory *self)
{
	GtkStringList *model = GTK_STRING_LIST(gtk_drop_down_get_model(self->trend_region));
	guint sel = gtk_drop_down_get_selected(self->trend_region);
	const char *region = model && sel != GTK_INVALID_LIST_POSITION ?
		gtk_string_list_get_string(model, sel) : NULL;
	g_autoptr(GArray) peak = g_array_new(FALSE, FALSE, sizeof(double));
	g_autoptr(GArray) mean = g_array_new(FALSE, FALSE, sizeof(double));
	g_autoptr(GArray) viol = g_array_new(FALSE, FALSE, sizeof(double));
	g_autoptr(GArray) imp = g_array_new(FALSE, FALSE, sizeof(double));
	g_autofree char *tp = NULL, *tm = NULL, *tv = NULL, *ti = NULL;
	double cap = 0;

	g_ptr_array_sort(self->trends, trend_cmp);
	for (guint i = 0; region && i < self->trends->len; i++) {
		struct trend *t = g_ptr_array_index(self->trends, i);
		double v = t->violations;

		if (strcmp(t->region, region) != 0)
			continue;
		g_array_append_val(peak, t->peak);
		g_array_append_val(mean, t->mean);
		g_array_append_val(viol, v);
		g_array_append_val(imp, t->impulse);
		if (t->cap > 0)
			cap = t->cap;
	}
	tp = g_strdup_printf("Peak force per visit, %s", region ? region : "—");
	tm = g_strdup_printf("Mean force per visit, %s", region ? region : "—");
	tv = g_strdup_printf("Violations per visit, %s", region ? region : "—");
	ti = g_strdup_printf("Impulse per visit (N·s), %s", region ? region : "—");
	clinic_plot_set(self->plot_peak, tp, "N", (double *)(void *)peak->data, peak->len, cap, FALSE);
	clinic_plot_set(self->plot_mean, tm, "N", (double *)(void *)mean->data, mean->len, 0, FALSE);
	clinic_plot_set(self->plot_violations, tv, "", (double *)(void *)viol->data, viol->len, 0, TRUE);
	clinic_plot_set(self->plot_impulse, ti, "N·s", (double *)(void *)imp->data, imp->len, 0, FALSE);
}

static void trends_done(ClinicHistory *self)
{
	g_autoptr(GtkStringList) regions = gtk_string_list_new(NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	g_ptr_array_sort(self->trends, trend_cmp);
	/* Newest visit's regions first: the one the clinician is following. */
	for (guint i = self->trends->len; i-- > 0;) {
		struct trend *t = g_ptr_array_index(self->trends, i);

		if (g_hash_table_add(seen, t->region))
			gtk_string_list_append(regions, t->region);
	}
	gtk_drop_down_set_model(self->trend_region, G_LIST_MODEL(regions));
	gtk_drop_down_set_selected(self->trend_region, 0);
	draw_trends(self);
}

static void on_trend_region_changed(ClinicHistory *self)
{
	draw_trends(self);
}

static void add_trend(ClinicHistory *self, guint64 started, const char *region, double peak,
		      double mean, double impulse, guint32 violations, guint32 strokes, double cap)
{
	struct trend *t = g_new0(struct trend, 1);

	t->started_us = started;
	t->region = g_strdup(region);
	t->peak = peak;
	t->mean = mean;
	t->impulse = impulse;
	t->violations = violations;
	t->strokes = strokes;
	t->cap = cap;
	g_ptr_array_add(self->trends, t);
}

static void on_region_history(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicHistory *self = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(src), res, &error);
	GVariantIter *it;
	GVariant *d;

	if (!ret) {
		if (!clinic_error_is_cancel(error))
			self->fallback = TRUE;	/* computed from the visits' strokes */
		g_object_unref(self);
		return;
	}
	g_variant_get(ret, "(aa{sv})", &it);
	while ((d = g_variant_iter_next_value(it))) {
		const char *region = clinic_dict_str(d, "region");

		{
			const char *sess = "";
			const char *old_sites;

			g_variant_lookup(d, "session", "&o", &sess);
			old_sites = g_hash_table_lookup(self->visit_sites, sess);
			/* newest session first, sites in the daemon's order */
			g_hash_table_insert(self->visit_sites, g_strdup(sess),
					    old_sites ? g_strdup_printf("%s, %s", old_sites, region) : g_strdup(region));
		}
		add_trend(self, clinic_dict_u64(d, "started_us"), region,
			  clinic_dict_double(d, "peak_n", 0), clinic_dict_double(d, "mean_n", 0),
			  clinic_dict_double(d, "impulse_ns", 0), clinic_dict_u32(d, "violations"),
			  clinic_dict_u32(d, "strokes"), clinic_dict_double(d, "cap_n", 0));
		g_variant_unref(d);
	}
	g_variant_iter_free(it);
	relabel_visits(self);
	trends_done(self);
	g_object_unref(self);
}

/* Fallback: one visit's strokes, grouped by region. */
static void on_visit_strokes(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicHistory *self = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) strokes = NULL;
	guint64 started = strigil_session_get_started_at(STRIGIL_SESSION(src));

	if (strigil_session_call_get_strokes_finish(STRIGIL_SESSION(src), &strokes, res, &error)) {
		g_autoptr(GHashTable) by = g_hash_table_new(g_str_hash, g_str_equal);
		GVariantIter it;
		GVariant *d;

		g_variant_iter_init(&it, strokes);
		while ((d = g_variant_iter_next_value(&it))) {
			const char *region = clinic_dict_str(d, "region");
			struct trend *t = g_hash_table_lookup(by, region);
			double peak = clinic_dict_double(d, "peak_n", 0);
			double cap = clinic_dict_double(d, "cap_n", clinic_dict_double(d, "limit_n", 0));

			if (!t) {
				add_trend(self, started, region, 0, 0, 0, 0, 0, 0);
				t = g_ptr_array_index(self->trends, self->trends->len - 1);
				g_hash_table_insert(by, t->region, t);
			}
			t->strokes++;
			t->peak = MAX(t->peak, peak);
			t->mean += (clinic_dict_double(d, "mean_n", 0) - t->mean) / t->strokes;
			t->impulse += clinic_dict_double(d, "impulse_ns", 0);
			t->violations += cap > 0 && peak > cap;
			t->cap = cap;
			g_variant_unref(d);
		}
	}
	if (self->pending_trends && --self->pending_trends == 0 && !clinic_error_is_cancel(error))
		trends_done(self);
	g_object_unref(self);
}

/* ---- visits ------------------------------------------------------------ */

static int sort_visits(GtkListBoxRow *a, GtkListBoxRow *b, gpointer data)
{
	StrigilSession *x = g_object_get_data(G_OBJECT(a), "session");
	StrigilSession *y = g_object_get_data(G_OBJECT(b), "session");
	guint64 tx = strigil_session_get_started_at(x), ty = strigil_session_get_started_at(y);

	return tx > ty ? -1 : tx < ty;
}

/* "2026-12-03 14:05  calf:left, neck — 12 strokes, 1 over the cap — finished":
 * every site treated when the daemon's history says so, else the last one. */
static char *visit_text(ClinicHistory *self, StrigilSession *s)
{
	const char *sites = g_hash_table_lookup(self->visit_sites, g_dbus_proxy_get_object_path(G_DBUS_PROXY(s)));
	char when[48];

	clinic_format_time(strigil_session_get_started_at(s), when, sizeof(when));
	return g_strdup_printf("%s  %s — %u strokes, %u over the cap — %s", when,
			       sites ? sites : strigil_session_get_region(s),
			       strigil_session_get_stroke_count(s),
			       strigil_session_get_violation_count(s), strigil_session_get_state(s));
}

static void relabel_visits(ClinicHistory *self)
{
	for (GtkWidget *row = gtk_widget_get_first_child(GTK_WIDGET(self->visit_list)); row;
	     row = gtk_widget_get_next_sibling(row)) {
		StrigilSession *s = g_object_get_data(G_OBJECT(row), "session");
		g_autofree char *t = NULL;

		if (!s)
			continue;
		t = visit_text(self, s);
		gtk_label_set_text(GTK_LABEL(gtk_list_box_row_get_child(GTK_LIST_BOX_ROW(row))), t);
		gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, t, -1);
	}
}

static void on_visit_proxy(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicHistory *self = data;
	g_autoptr(GError) error = NULL;
	StrigilSession *s = strigil_session_proxy_new_finish(res, &error);
	const char *mine;
	g_autofree char *t = NULL;
	GtkWidget *row, *l;

	if (!s || !self->profile) {
		g_clear_object(&s);
		if (self->pending_trends && --self->pending_trends == 0)
			trends_done(self);
		g_object_unref(self);
		return;
	}
	mine = g_dbus_proxy_get_object_path(G_DBUS_PROXY(self->profile));
	if (g_strcmp0(strigil_session_get_profile(s), mine) != 0) {
		g_object_unref(s);	/* fallback scan: another patient's */
		if (self->pending_trends && --self->pending_trends == 0)
			trends_done(self);
		g_object_unref(self);
		return;
	}
	t = visit_text(self, s);
	row = gtk_list_box_row_new();
	l = gtk_label_new(t);
	gtk_label_set_xalign(GTK_LABEL(l), 0);
	gtk_label_set_wrap(GTK_LABEL(l), TRUE);
	gtk_widget_set_margin_start(l, 6);
	gtk_widget_set_margin_top(l, 4);
	gtk_widget_set_margin_bottom(l, 4);
	gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), l);
	gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, t, -1);
	g_object_set_data_full(G_OBJECT(row), "session", s, g_object_unref);
	gtk_list_box_append(self->visit_list, row);
	if (self->fallback)
		strigil_session_call_get_strokes(s, CLINIC_CALL_FLAGS, -1, self->cancel,
						 on_visit_strokes, g_object_ref(self));
	g_object_unref(self);
}

static void load_visit_paths(ClinicHistory *self, const char *const *paths, guint total)
{
	guint n = 0;
	g_autofree char *st = NULL;

	for (size_t i = 0; paths && paths[i] && n < (self->fallback ? G_MAXUINT : MAX_VISITS); i++, n++)
		strigil_session_proxy_new(clinic_service_get_connection(self->service),
					  G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, CLINIC_BUS_NAME, paths[i],
					  self->cancel, on_visit_proxy, g_object_ref(self));
	if (self->fallback)
		self->pending_trends = n;
	if (!self->fallback)
		st = total > n ? g_strdup_printf("Showing the latest %u of %u visits.", n, total) :
			g_strdup_printf("%u visit%s.", total, total == 1 ? "" : "s");
	gtk_label_set_text(self->visits_status, st ? st : "");
	if (n == 0) {
		gtk_label_set_text(self->visits_status, "No visits yet.");
		if (self->fallback)
			trends_done(self);
	}
}

static void on_list_sessions(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicHistory *self = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(src), res, &error);

	if (ret) {
		g_autofree const char **paths = NULL;
		guint total;

		g_variant_get(ret, "(^a&ou)", &paths, &total);
		self->fallback = FALSE;
		load_visit_paths(self, paths, total);
		g_dbus_proxy_call(G_DBUS_PROXY(self->profile), "GetRegionHistory", NULL, CLINIC_CALL_FLAGS,
				  -1, self->cancel, on_region_history, g_object_ref(self));
	} else if (!clinic_error_is_cancel(error)) {
		StrigilManager *m = clinic_service_get_manager(self->service);

		/* A daemon from before ListSessions: scan every session. */
		self->fallback = TRUE;
		if (m)
			load_visit_paths(self, strigil_manager_get_sessions(m), 0);
	}
	g_object_unref(self);
}

static void clear(ClinicHistory *self)
{
	GtkWidget *child;

	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	self->cancel = g_cancellable_new();
	self->detail_gen++;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->visit_list))))
		gtk_list_box_remove(self->visit_list, child);
	g_ptr_array_set_size(self->trends, 0);
	g_hash_table_remove_all(self->visit_sites);
	self->pending_trends = 0;
	clinic_report_free(&self->report);
	self->report_ready = FALSE;
	gtk_widget_set_sensitive(GTK_WIDGET(self->pdf_button), FALSE);
	gtk_widget_set_sensitive(GTK_WIDGET(self->print_button), FALSE);
	gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->detail_view), "", -1);
	gtk_label_set_text(self->report_status, "");
	gtk_label_set_text(self->visits_status, "");
	{
		g_autoptr(GtkStringList) none = gtk_string_list_new(NULL);

		gtk_drop_down_set_model(self->trend_region, G_LIST_MODEL(none));
	}
	draw_trends(self);
}

void clinic_history_refresh(ClinicHistory *self)
{
	clear(self);
	if (!self->profile || !clinic_service_get_manager(self->service)) {
		gtk_label_set_text(self->title_label, self->profile ? clinic_service_get_state_text(self->service) :
				   "Choose a patient on the Patients page.");
		return;
	}
	{
		g_autofree char *t = g_strdup_printf("History of %s", strigil_profile_get_patient_ref(self->profile));

		gtk_label_set_text(self->title_label, t);
	}
	gtk_label_set_text(self->visits_status, "Loading…");
	g_dbus_proxy_call(G_DBUS_PROXY(self->profile), "ListSessions", g_variant_new("(uu)", 0, MAX_VISITS),
			  CLINIC_CALL_FLAGS, -1, self->cancel, on_list_sessions, g_object_ref(self));
}

/* ---- one visit: the record and its report -------------------------------- */

struct detail {
	ClinicHistory *self;
	StrigilSession *session;
	guint gen;
	guint pending;
	GVariant *strokes, *events, *pauses, *bursts;
	StrigilInstrument *instrument;
};

static void copy_str(char *dst, size_t n, const char *src)
{
	g_strlcpy(dst, src ? src : "", n);
}

static void build_report(ClinicHistory *self, struct detail *d)
{
	struct clinic_report *r = &self->report;
	StrigilSession *s = d->session;
	const char *const *flags = strigil_session_get_flags(s);
	const char *const *reasons = strigil_session_get_limit_reasons(s);
	GVariantIter it;
	GVariant *v;
	size_t i;

	clinic_report_free(r);
	copy_str(r->patient_ref, sizeof(r->patient_ref), strigil_profile_get_patient_ref(self->profile));
	copy_str(r->display_name, sizeof(r->display_name), strigil_profile_get_display_name(self->profile));
	g_snprintf(r->clinician, sizeof(r->clinician), "%s (%s), who produced this report",
		   g_get_real_name(), g_get_user_name());
	if (d->instrument) {
		StrigilInstrument *in = d->instrument;
		char due[48], date[48];

		clinic_format_time(strigil_instrument_get_calibration_due(in), due, sizeof(due));
		clinic_format_time(strigil_instrument_get_calibration_date(in), date, sizeof(date));
		g_snprintf(r->instrument, sizeof(r->instrument), "%s %s", strigil_instrument_get_model(in),
			   strigil_instrument_get_serial(in));
		if (strigil_instrument_get_calibration_date(in) == 0)
			g_snprintf(r->calibration, sizeof(r->calibration), "never calibrated");
		else
			g_snprintf(r->calibration, sizeof(r->calibration),
				   "calibrated %s by %s, due %s (%s now)", date,
				   strigil_instrument_get_calibration_technician(in), due,
				   strigil_instrument_get_calibration_valid(in) ? "valid" : "EXPIRED");
	} else {
		copy_str(r->instrument, sizeof(r->instrument), strigil_session_get_instrument(s));
		copy_str(r->calibration, sizeof(r->calibration), "instrument not known to the service now");
	}
	if (flags && flags[0]) {
		g_autofree char *f = g_strjoinv(", ", (char **)flags);

		copy_str(r->flags, sizeof(r->flags), f);
		if (g_strv_contains(flags, "uncalibrated") || g_strv_contains(flags, "calibration-expired"))
			g_strlcat(r->calibration, "; at the session: NOT VALID (see flags)", sizeof(r->calibration));
	}
	copy_str(r->override_reason, sizeof(r->override_reason), strigil_session_get_override_reason(s));
	copy_str(r->state, sizeof(r->state), strigil_session_get_state(s));
	r->session_id = strigil_session_get_id(s);
	r->started_us = strigil_session_get_started_at(s);
	r->ended_us = strigil_session_get_ended_at(s);
	r->printed_us = (guint64)g_get_real_time();
	r->stroke_count = strigil_session_get_stroke_count(s);
	r->violation_count = strigil_session_get_violation_count(s);
	r->warning_count = strigil_session_get_warning_count(s);
	r->seconds_under_load = strigil_session_get_seconds_under_load(s);
	r->peak_n = strigil_session_get_peak_n(s);
	r->lost_samples = strigil_session_get_lost_samples(s);

	if (d->strokes) {
		r->strokes = g_new0(struct clinic_report_stroke, g_variant_n_children(d->strokes));
		g_variant_iter_init(&it, d->strokes);
		for (i = 0; (v = g_variant_iter_next_value(&it)); i++) {
			struct clinic_report_stroke *k = &r->strokes[i];

			k->index = clinic_dict_u32(v, "index");
			k->start_s = clinic_dict_double(v, "start_s", clinic_dict_double(v, "end_s", 0) -
							clinic_dict_double(v, "duration_s", 0));
			k->duration_s = clinic_dict_double(v, "duration_s", 0);
			k->peak_n = clinic_dict_double(v, "peak_n", 0);
			k->mean_n = clinic_dict_double(v, "mean_n", 0);
			k->cap_n = clinic_dict_double(v, "cap_n", clinic_dict_double(v, "limit_n", 0));
			copy_str(k->region, sizeof(k->region), clinic_dict_str(v, "region"));
			k->burst = clinic_dict_u32(v, "burst");	/* 0: not recorded */
			{
				/* The reasons recorded with the stroke (records work), once per region. */
				g_autofree const char **why = NULL;
				struct clinic_report_region *g;

				if (g_variant_lookup(v, "cap_reasons", "^a&s", &why) && why && why[0] &&
				    (g = clinic_report_region(r, k->region)) && !g->reasons[0]) {
					g_autofree char *j = g_strjoinv("; ", (char **)why);

					copy_str(g->reasons, sizeof(g->reasons), j);
				}
			}
			g_variant_unref(v);
		}
		r->nstrokes = i;
		clinic_report_number_passes(r->strokes, r->nstrokes);
	}
	if (d->events) {
		r->events = g_new0(struct clinic_report_event, g_variant_n_children(d->events));
		g_variant_iter_init(&it, d->events);
		for (i = 0; (v = g_variant_iter_next_value(&it)); i++) {
			struct clinic_report_event *e = &r->events[i];

			copy_str(e->kind, sizeof(e->kind), clinic_dict_str(v, "kind"));
			e->t_s = clinic_dict_double(v, "t_s", 0);
			e->force_n = clinic_dict_double(v, "force_n", 0);
			e->limit_n = clinic_dict_double(v, "limit_n", 0);
			copy_str(e->region, sizeof(e->region), clinic_dict_str(v, "region"));
			g_variant_unref(v);
		}
		r->nevents = i;
	}
	if (d->pauses) {
		r->pauses_known = 1;
		r->pauses = g_new0(struct clinic_report_pause, g_variant_n_children(d->pauses) + 1);
		g_variant_iter_init(&it, d->pauses);
		for (i = 0; (v = g_variant_iter_next_value(&it)); i++) {
			r->pauses[i].start_s = clinic_dict_double(v, "start_s", 0);
			r->pauses[i].end_s = clinic_dict_double(v, "end_s", 0);
			copy_str(r->pauses[i].reason, sizeof(r->pauses[i].reason), clinic_dict_str(v, "reason"));
			g_variant_unref(v);
		}
		r->npauses = i;
	}
	if (d->bursts) {
		r->bursts_known = 1;
		r->bursts = g_new0(struct clinic_report_burst, g_variant_n_children(d->bursts) + 1);
		g_variant_iter_init(&it, d->bursts);
		for (i = 0; (v = g_variant_iter_next_value(&it)); i++) {
			struct clinic_report_burst *b = &r->bursts[i];

			b->index = clinic_dict_u32(v, "index");
			b->passes = clinic_dict_u32(v, "passes");
			b->start_s = clinic_dict_double(v, "start_s", 0);
			b->duration_s = clinic_dict_double(v, "duration_s", 0);
			b->peak_n = clinic_dict_double(v, "peak_n", 0);
			g_variant_unref(v);
		}
		r->nbursts = i;
	}
	clinic_report_collect_regions(r);
	/* The session's own reasons are those of its last region. */
	if (reasons && reasons[0]) {
		struct clinic_report_region *g = clinic_report_region(r, strigil_session_get_region(s));

		if (g && !g->reasons[0]) {
			g_autofree char *j = g_strjoinv("; ", (char **)reasons);

			copy_str(g->reasons, sizeof(g->reasons), j);
			if (g->cap_n == 0)
				g->cap_n = strigil_session_get_effective_limit_n(s);
		}
	}
}

static void detail_step_done(struct detail *d)
{
	ClinicHistory *self = d->self;

	if (--d->pending)
		return;
	if (d->gen == self->detail_gen && self->profile) {
		GString *text = g_string_new(NULL);
		struct clinic_report_line *lines;
		size_t n = 0;

		build_report(self, d);
		lines = clinic_report_lines(&self->report, &n);
		for (size_t i = 0; i < n; i++) {
			if (lines[i].kind == CLINIC_LINE_HEADING)
				g_string_append_c(text, '\n');
			g_string_append_printf(text, "%s\n", lines[i].text);
		}
		free(lines);
		gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->detail_view), text->str, -1);
		g_string_free(text, TRUE);
		self->report_ready = TRUE;
		gtk_widget_set_sensitive(GTK_WIDGET(self->pdf_button), TRUE);
		gtk_widget_set_sensitive(GTK_WIDGET(self->print_button), TRUE);
	}
	g_clear_pointer(&d->strokes, g_variant_unref);
	g_clear_pointer(&d->events, g_variant_unref);
	g_clear_pointer(&d->pauses, g_variant_unref);
	g_clear_pointer(&d->bursts, g_variant_unref);
	g_clear_object(&d->instrument);
	g_object_unref(d->session);
	g_object_unref(d->self);
	g_free(d);
}

static void on_detail_strokes(GObject *src, GAsyncResult *res, gpointer data)
{
	struct detail *d = data;
	g_autoptr(GError) error = NULL;

	if (!strigil_session_call_get_strokes_finish(STRIGIL_SESSION(src), &d->strokes, res, &error) &&
	    !clinic_error_is_cancel(error)) {
		g_autofree char *t = clinic_error_text(error);
		gtk_label_set_text(d->self->report_status, t);
	}
	detail_step_done(d);
}

static void on_detail_events(GObject *src, GAsyncResult *res, gpointer data)
{
	struct detail *d = data;
	g_autoptr(GError) error = NULL;

	strigil_session_call_get_violations_finish(STRIGIL_SESSION(src), &d->events, res, &error);
	detail_step_done(d);
}

static void on_detail_pauses(GObject *src, GAsyncResult *res, gpointer data)
{
	struct detail *d = data;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(src), res, NULL);

	if (ret)
		g_variant_get(ret, "(@aa{sv})", &d->pauses);
	detail_step_done(d);
}

/* GetBursts (API level 2): an older service has none, and the report says so. */
static void on_detail_bursts(GObject *src, GAsyncResult *res, gpointer data)
{
	struct detail *d = data;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(src), res, NULL);

	if (ret)
		g_variant_get(ret, "(@aa{sv})", &d->bursts);
	detail_step_done(d);
}

static void on_detail_instrument(GObject *src, GAsyncResult *res, gpointer data)
{
	struct detail *d = data;

	d->instrument = strigil_instrument_proxy_new_finish(res, NULL);
	/* An instrument object the daemon no longer has gives an empty cache. */
	if (d->instrument && !strigil_instrument_get_serial(d->instrument))
		g_clear_object(&d->instrument);
	detail_step_done(d);
}

static void on_visit_selected(ClinicHistory *self)
{
	GtkListBoxRow *row = gtk_list_box_get_selected_row(self->visit_list);
	StrigilSession *s = row ? g_object_get_data(G_OBJECT(row), "session") : NULL;
	struct detail *d;

	self->detail_gen++;
	self->report_ready = FALSE;
	gtk_widget_set_sensitive(GTK_WIDGET(self->pdf_button), FALSE);
	gtk_widget_set_sensitive(GTK_WIDGET(self->print_button), FALSE);
	if (!s)
		return;
	gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->detail_view), "Loading the record…", -1);
	d = g_new0(struct detail, 1);
	d->self = g_object_ref(self);
	d->session = g_object_ref(s);
	d->gen = self->detail_gen;
	d->pending = 5;
	strigil_session_call_get_strokes(s, CLINIC_CALL_FLAGS, -1, self->cancel, on_detail_strokes, d);
	strigil_session_call_get_violations(s, CLINIC_CALL_FLAGS, -1, self->cancel, on_detail_events, d);
	g_dbus_proxy_call(G_DBUS_PROXY(s), "GetPauses", NULL, CLINIC_CALL_FLAGS, -1, self->cancel,
			  on_detail_pauses, d);
	g_dbus_proxy_call(G_DBUS_PROXY(s), "GetBursts", NULL, CLINIC_CALL_FLAGS, -1, self->cancel,
			  on_detail_bursts, d);
	strigil_instrument_proxy_new(clinic_service_get_connection(self->service),
				     G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, CLINIC_BUS_NAME,
				     strigil_session_get_instrument(s), self->cancel, on_detail_instrument, d);
}

static char *report_path(ClinicHistory *self)
{
	const char *dir = g_get_user_special_dir(G_USER_DIRECTORY_DOCUMENTS);
	g_autofree char *name = g_strdup_printf("strigil-report-%s-session-%" G_GUINT64_FORMAT ".pdf",
						self->report.patient_ref, self->report.session_id);

	if (!dir || !g_file_test(dir, G_FILE_TEST_IS_DIR))
		dir = g_get_home_dir();
	return g_build_filename(dir, name, NULL);
}

static void on_pdf_clicked(ClinicHistory *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	g_autofree char *t = NULL;

	if (!self->report_ready)
		return;
	path = report_path(self);
	if (clinic_report_save_pdf(&self->report, path, &error))
		t = g_strdup_printf("Report saved: %s", path);
	else
		t = g_strdup_printf("The report was not saved: %s", error->message);
	gtk_label_set_text(self->report_status, t);
	clinic_window_toast(GTK_WIDGET(self), t);
}

static void on_print_clicked(ClinicHistory *self)
{
	if (self->report_ready)
		clinic_report_print(&self->report, GTK_WINDOW(gtk_widget_get_root(GTK_WIDGET(self))));
}

/* ---- plumbing ------------------------------------------------------------ */

static void on_service_state(ClinicService *service, gpointer data)
{
	clinic_history_refresh(CLINIC_HISTORY(data));
}

void clinic_history_set_service(ClinicHistory *self, ClinicService *service)
{
	g_set_object(&self->service, service);
	g_signal_connect_object(service, "state-changed", G_CALLBACK(on_service_state), self, 0);
}

void clinic_history_set_profile(ClinicHistory *self, StrigilProfile *profile)
{
	if (profile == self->profile)
		return;
	g_set_object(&self->profile, profile);
	clinic_history_refresh(self);
}

static void clinic_history_dispose(GObject *obj)
{
	ClinicHistory *self = CLINIC_HISTORY(obj);

	if (self->cancel)
		g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	g_clear_object(&self->profile);
	g_clear_object(&self->service);
	gtk_widget_dispose_template(GTK_WIDGET(obj), CLINIC_TYPE_HISTORY);
	G_OBJECT_CLASS(clinic_history_parent_class)->dispose(obj);
}

static void clinic_history_finalize(GObject *obj)
{
	ClinicHistory *self = CLINIC_HISTORY(obj);

	g_ptr_array_unref(self->trends);
	g_hash_table_unref(self->visit_sites);
	clinic_report_free(&self->report);
	G_OBJECT_CLASS(clinic_history_parent_class)->finalize(obj);
}

static void clinic_history_class_init(ClinicHistoryClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

	oc->dispose = clinic_history_dispose;
	oc->finalize = clinic_history_finalize;
	g_type_ensure(CLINIC_TYPE_PLOT);
	gtk_widget_class_set_template_from_resource(wc, "/org/strigil/Clinic/history.ui");
#define CHILD(n) gtk_widget_class_bind_template_child(wc, ClinicHistory, n)
	CHILD(title_label); CHILD(visits_status); CHILD(report_status); CHILD(visit_list);
	CHILD(trend_region); CHILD(plot_peak); CHILD(plot_mean); CHILD(plot_violations);
	CHILD(plot_impulse); CHILD(pdf_button); CHILD(print_button); CHILD(detail_view);
#undef CHILD
	gtk_widget_class_bind_template_callback(wc, on_visit_selected);
	gtk_widget_class_bind_template_callback(wc, on_trend_region_changed);
	gtk_widget_class_bind_template_callback(wc, on_pdf_clicked);
	gtk_widget_class_bind_template_callback(wc, on_print_clicked);
}

static void clinic_history_init(ClinicHistory *self)
{
	self->trends = g_ptr_array_new_with_free_func(trend_free);
	self->visit_sites = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->cancel = g_cancellable_new();
	gtk_widget_init_template(GTK_WIDGET(self));
	gtk_list_box_set_sort_func(self->visit_list, sort_visits, NULL, NULL);
}
