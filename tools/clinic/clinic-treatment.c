/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Treatment screen.
 *
 * Data paths: the instrument's samples come through OpenStream (a
 * SOCK_SEQPACKET fd read on the main loop, into the trace's ring); the
 * session's records come as signals (StrokeCompleted, LimitWarning,
 * LimitExceeded, SessionCapReached), each sent by strigild after it is
 * on disk; counts and state come as Session properties.
 *
 * The alarm: LimitExceeded turns the whole view to the alarm state at once
 * (CSS class on the screen, the trace's background, a large label with the
 * ALERT role that assistive technology announces, the error bell, repeated
 * each second). It clears when the daemon's own alert on the tool leaves
 * "exceeded" (the force dropped: the engine's release), but never sooner
 * than ALARM_MIN_US, so that a short one is still seen.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include "clinic-report-model.h"
#include "clinic-stream.h"
#include "clinic-trace.h"
#include "clinic-treatment.h"
#include "clinic-util.h"
#include "clinic-window.h"

#define ALARM_MIN_US		(1500 * 1000)
#define ALARM_BELL_MS		1000
#define MAX_STROKE_ROWS		300

struct _ClinicTreatment {
	GtkBox parent;
	ClinicService *service;
	StrigilProfile *profile;
	StrigilInstrument *instrument;
	StrigilSession *session;
	GCancellable *cancel;		/* per view: instrument/session calls */
	GHashTable *inst_rows;		/* path -> row */
	double warn_fraction;
	gboolean bench;

	/* stream */
	int fd;
	guint fd_source;
	struct clinic_stream_stats st;
	double pass_peak;
	gboolean pass_open;

	/* alarm */
	gboolean alarm;
	gint64 alarm_since;
	guint alarm_bell;
	guint alarm_clear;
	gint64 alarm_arrival_us;	/* bench: daemon's CLOCK_MONOTONIC at the samples */
	gint64 alarm_signal_us;		/* bench: when the signal reached us */
	gulong after_paint;
	guint label_tick;
	guint nstroke_rows;
	struct clinic_pass_counter passes;	/* of the strokes listed */
	gint64 bench_start;
	guint64 bench_frames0;

	GtkLabel *alarm_label, *alert_fail_banner, *unplugged_banner;
	GtkListBox *instrument_list, *region_list, *stroke_list;
	GtkLabel *calibration_label, *region_choice_label, *state_label, *limit_label;
	GtkLabel *force_label, *peak_label, *strokes_count_label, *bursts_label, *load_label, *cap_msg;
	GtkToggleButton *left_button, *right_button, *midline_button;
	GtkButton *start_button, *pause_button, *resume_button, *region_button, *stop_button;
	ClinicTrace *trace;
};

G_DEFINE_FINAL_TYPE(ClinicTreatment, clinic_treatment, GTK_TYPE_BOX)

enum { SIG_SESSION_ENDED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void update_controls(ClinicTreatment *self);
static void adopt_session(ClinicTreatment *self, const char *path);

static void toast(ClinicTreatment *self, const char *text)
{
	clinic_window_toast(GTK_WIDGET(self), text);
}

static void toast_error(ClinicTreatment *self, const GError *error)
{
	g_autofree char *t = NULL;

	if (clinic_error_is_cancel(error))
		return;
	t = clinic_error_text(error);
	gtk_label_set_text(self->state_label, t);
	toast(self, t);
}

/* ---- region and side ------------------------------------------------- */

static const char *selected_region(ClinicTreatment *self)
{
	GtkListBoxRow *row = gtk_list_box_get_selected_row(self->region_list);

	return row ? g_object_get_data(G_OBJECT(row), "region") : NULL;
}

static const char *selected_side(ClinicTreatment *self)
{
	if (gtk_toggle_button_get_active(self->left_button))
		return "left";
	if (gtk_toggle_button_get_active(self->right_button))
		return "right";
	return "";
}

/* The full "region:side" text, or NULL when the choice is incomplete: a
 * lateral region needs its side, and nothing is ever guessed. */
static char *region_choice(ClinicTreatment *self, const char **why)
{
	GtkListBoxRow *row = gtk_list_box_get_selected_row(self->region_list);
	const char *region = selected_region(self);
	const char *side = selected_side(self);
	gboolean lateral = row && GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), "lateral"));
	gboolean known = row && GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), "lateral-known"));
	char buf[160];

	*why = NULL;
	if (!region) {
		*why = "Choose the body region.";
		return NULL;
	}
	if (known && lateral && !*side) {
		*why = "Choose the side: left or right.";
		return NULL;
	}
	if (known && !lateral && *side) {
		*why = "This region has no side: choose No side.";
		return NULL;
	}
	if (!known && !*side && !gtk_toggle_button_get_active(self->midline_button)) {
		*why = "Choose the side: left, right, or No side.";
		return NULL;
	}
	clinic_join_region(region, side, buf, sizeof(buf));
	return g_strdup(buf);
}

static void on_side_toggled(ClinicTreatment *self)
{
	update_controls(self);
}

static void on_region_selected(ClinicTreatment *self)
{
	GtkListBoxRow *row = gtk_list_box_get_selected_row(self->region_list);

	if (row && GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), "lateral-known")) &&
	    !GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), "lateral")))
		gtk_toggle_button_set_active(self->midline_button, TRUE);
	update_controls(self);
}

static void build_regions(ClinicTreatment *self, StrigilManager *m)
{
	GVariant *regions = strigil_manager_dup_region_details(m);
	GtkWidget *child;
	GVariantIter it;
	GVariant *d;

	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->region_list))))
		gtk_list_box_remove(self->region_list, child);
	if (!regions)
		return;
	g_variant_iter_init(&it, regions);
	while ((d = g_variant_iter_next_value(&it))) {
		GtkWidget *row = gtk_list_box_row_new();
		const char *label = clinic_dict_str(d, "label");
		GtkWidget *l = gtk_label_new(label);
		gboolean lateral = FALSE;
		gboolean known = g_variant_lookup(d, "lateral", "b", &lateral);

		gtk_label_set_xalign(GTK_LABEL(l), 0);
		gtk_widget_set_margin_start(l, 6);
		gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), l);
		gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
		g_object_set_data_full(G_OBJECT(row), "region", g_strdup(clinic_dict_str(d, "name")), g_free);
		g_object_set_data(G_OBJECT(row), "lateral", GINT_TO_POINTER(lateral));
		g_object_set_data(G_OBJECT(row), "lateral-known", GINT_TO_POINTER(known));
		gtk_list_box_append(self->region_list, row);
		g_variant_unref(d);
	}
	g_variant_unref(regions);
}

/* ---- the alarm -------------------------------------------------------- */

static void on_after_paint(GdkFrameClock *clock, gpointer data)
{
	ClinicTreatment *self = data;

	/* The first frame painted with the alarm state: what the clinician
	 * sees. Logged for make bench (same clock as arrival_us). */
	if (self->alarm_arrival_us || self->alarm_signal_us) {
		gint64 now = g_get_monotonic_time();

		if (self->bench)
			fprintf(stderr, "bench alarm_drawn_us %" G_GINT64_FORMAT " from_signal_us %" G_GINT64_FORMAT "\n",
				self->alarm_arrival_us ? now - self->alarm_arrival_us : -1,
				now - self->alarm_signal_us);
		self->alarm_arrival_us = self->alarm_signal_us = 0;
	}
	g_signal_handler_disconnect(clock, self->after_paint);
	self->after_paint = 0;
}

static gboolean ring_bell(gpointer data)
{
	ClinicTreatment *self = data;

	gtk_widget_error_bell(GTK_WIDGET(self));
	return G_SOURCE_CONTINUE;
}

static void set_alarm(ClinicTreatment *self, gboolean on, const char *text)
{
	GdkFrameClock *clock = gtk_widget_get_frame_clock(GTK_WIDGET(self));

	self->alarm = on;
	if (on) {
		self->alarm_since = g_get_monotonic_time();
		gtk_label_set_text(self->alarm_label, text);
		gtk_accessible_update_property(GTK_ACCESSIBLE(self->alarm_label),
					       GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
		gtk_widget_set_visible(GTK_WIDGET(self->alarm_label), TRUE);
		gtk_widget_add_css_class(GTK_WIDGET(self), "alarm");
		gtk_widget_error_bell(GTK_WIDGET(self));
		if (!self->alarm_bell)
			self->alarm_bell = g_timeout_add(ALARM_BELL_MS, ring_bell, self);
		if (clock && !self->after_paint)
			self->after_paint = g_signal_connect(clock, "after-paint",
							     G_CALLBACK(on_after_paint), self);
	} else {
		gtk_widget_set_visible(GTK_WIDGET(self->alarm_label), FALSE);
		gtk_accessible_update_property(GTK_ACCESSIBLE(self->alarm_label),
					       GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
		gtk_widget_remove_css_class(GTK_WIDGET(self), "alarm");
		g_clear_handle_id(&self->alarm_bell, g_source_remove);
		g_clear_handle_id(&self->alarm_clear, g_source_remove);
	}
	clinic_trace_set_alarm(self->trace, on);
}

static gboolean try_clear_alarm(gpointer data);

static void maybe_clear_alarm(ClinicTreatment *self)
{
	const char *alert;
	gint64 left;

	if (!self->alarm)
		return;
	alert = self->instrument ? strigil_instrument_get_alert(self->instrument) : NULL;
	if (alert && strcmp(alert, "exceeded") == 0)
		return;
	left = self->alarm_since + ALARM_MIN_US - g_get_monotonic_time();
	if (left > 0) {
		if (!self->alarm_clear)
			self->alarm_clear = g_timeout_add((guint)(left / 1000) + 1, try_clear_alarm, self);
		return;
	}
	set_alarm(self, FALSE, NULL);
	gtk_label_set_text(self->state_label, "Force back under the limit. Session running.");
}

static gboolean try_clear_alarm(gpointer data)
{
	ClinicTreatment *self = data;

	self->alarm_clear = 0;
	maybe_clear_alarm(self);
	return G_SOURCE_REMOVE;
}

/* ---- session ---------------------------------------------------------- */

static double session_cap(ClinicTreatment *self)
{
	return self->session ? strigil_session_get_effective_limit_n(self->session) : 0;
}

static void update_counts(ClinicTreatment *self)
{
	StrigilSession *s = self->session;
	char buf[160];

	if (!s) {
		gtk_label_set_text(self->strokes_count_label, "");
		gtk_label_set_text(self->load_label, "");
		gtk_label_set_text(self->limit_label, "");
		clinic_trace_set_limits(self->trace, 0, self->warn_fraction, 0, 0);
		return;
	}
	if (strigil_session_get_max_strokes(s))
		g_snprintf(buf, sizeof(buf), "Strokes %u of %u", strigil_session_get_stroke_count(s),
			   strigil_session_get_max_strokes(s));
	else
		g_snprintf(buf, sizeof(buf), "Strokes %u (no cap)", strigil_session_get_stroke_count(s));
	gtk_label_set_text(self->strokes_count_label, buf);
	if (strigil_session_get_max_seconds_under_load(s) > 0)
		g_snprintf(buf, sizeof(buf), "Under load %.0f s of %.0f s",
			   strigil_session_get_seconds_under_load(s),
			   strigil_session_get_max_seconds_under_load(s));
	else
		g_snprintf(buf, sizeof(buf), "Under load %.0f s (no cap)",
			   strigil_session_get_seconds_under_load(s));
	gtk_label_set_text(self->load_label, buf);
	{
		const char *const *reasons = strigil_session_get_limit_reasons(s);
		g_autofree char *r = reasons ? g_strjoinv("; ", (char **)reasons) : g_strdup("");
		g_autofree char *t = g_strdup_printf("%s — cap %.1f N (%s)%s%s. %u over the cap.",
						     strigil_session_get_region(s),
						     strigil_session_get_effective_limit_n(s), r,
						     strigil_session_get_target_max_n(s) > 0 ? ", target band shown in green" : "",
						     strigil_session_get_flags(s) && strigil_session_get_flags(s)[0] ?
						     ", flagged" : "",
						     strigil_session_get_violation_count(s));

		gtk_label_set_text(self->limit_label, t);
	}
	clinic_trace_set_limits(self->trace, session_cap(self), self->warn_fraction,
				strigil_session_get_target_min_n(s), strigil_session_get_target_max_n(s));
}

/* A stroke row's text: "#12  calf:left  burst 3 · pass 2/5  peak 7.5 N
 * of cap 9.0 N". passes is 0 while its burst goes on ("pass 2"). */
static char *stroke_row_text(GVariant *d, guint32 pass, guint32 passes, gboolean *over)
{
	double peak = clinic_dict_double(d, "peak_n", 0);
	double cap = clinic_dict_double(d, "cap_n", clinic_dict_double(d, "limit_n", 0));
	char p[64];

	*over = cap > 0 && peak > cap;
	clinic_pass_text(p, sizeof(p), clinic_dict_u32(d, "burst"), pass, passes);
	return g_strdup_printf("#%u  %s  %s%speak %.1f N of cap %.1f N%s",
			       clinic_dict_u32(d, "index"), clinic_dict_str(d, "region"),
			       p, p[0] ? "  " : "", peak, cap, *over ? "  OVER" : "");
}

static void set_stroke_row(GtkWidget *l, GVariant *d, guint32 pass, guint32 passes)
{
	gboolean over;
	g_autofree char *t = stroke_row_text(d, pass, passes, &over);

	gtk_label_set_text(GTK_LABEL(l), t);
	if (over)
		gtk_widget_add_css_class(l, "error");
	gtk_accessible_update_property(GTK_ACCESSIBLE(gtk_widget_get_parent(l)),
				       GTK_ACCESSIBLE_PROPERTY_LABEL, t, -1);
}

/* Strokes arrive in order (GetStrokes, then StrokeCompleted): the pass is
 * counted as they come; a burst's last pass (the tool lifted) gives its
 * count of passes, shown on each of its rows from then on. */
static void add_stroke_row(ClinicTreatment *self, GVariant *d)
{
	guint32 burst = clinic_dict_u32(d, "burst");
	guint32 pass = clinic_pass_next(&self->passes, burst);
	gboolean lifted = strcmp(clinic_dict_str(d, "end"), "lift") == 0;
	GtkWidget *l = gtk_label_new(NULL);
	GtkWidget *row, *last;

	gtk_label_set_xalign(GTK_LABEL(l), 0);
	gtk_label_set_wrap(GTK_LABEL(l), TRUE);
	g_object_set_data_full(G_OBJECT(l), "stroke", g_variant_ref(d), (GDestroyNotify)g_variant_unref);
	g_object_set_data(G_OBJECT(l), "pass", GUINT_TO_POINTER(pass));
	gtk_list_box_prepend(self->stroke_list, l);
	set_stroke_row(l, d, pass, lifted ? pass : 0);
	/* the burst's earlier passes (the rows below, newest first) */
	for (row = gtk_widget_get_next_sibling(gtk_widget_get_parent(l)); lifted && burst && row;
	     row = gtk_widget_get_next_sibling(row)) {
		GtkWidget *c = gtk_list_box_row_get_child(GTK_LIST_BOX_ROW(row));
		GVariant *e = c ? g_object_get_data(G_OBJECT(c), "stroke") : NULL;

		if (!e || clinic_dict_u32(e, "burst") != burst)
			break;
		set_stroke_row(c, e, GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(c), "pass")), pass);
	}
	/* The record keeps every stroke; the screen shows the latest. */
	if (++self->nstroke_rows > MAX_STROKE_ROWS &&
	    (last = gtk_widget_get_last_child(GTK_WIDGET(self->stroke_list)))) {
		gtk_list_box_remove(self->stroke_list, last);
		self->nstroke_rows--;
	}
}

/* The bursts summary: how many so far, and the last one's passes,
 * duration and peak (Session.GetBursts, from the stored strokes). */
static void on_bursts_loaded(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicTreatment *self = data;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(src), res, NULL);
	g_autoptr(GVariant) bursts = NULL;

	if (ret && (StrigilSession *)src == self->session) {
		gsize n;

		g_variant_get(ret, "(@aa{sv})", &bursts);
		n = g_variant_n_children(bursts);
		if (n) {
			g_autoptr(GVariant) d = g_variant_get_child_value(bursts, n - 1);
			struct clinic_report_burst b = {
				.index = clinic_dict_u32(d, "index"),
				.passes = clinic_dict_u32(d, "passes"),
				.start_s = clinic_dict_double(d, "start_s", 0),
				.duration_s = clinic_dict_double(d, "duration_s", 0),
				.peak_n = clinic_dict_double(d, "peak_n", 0),
			};
			char t[160];
			g_autofree char *text = NULL;

			clinic_burst_text(t, sizeof(t), &b);
			text = g_strdup_printf("Bursts so far %" G_GSIZE_FORMAT ". Last: %s", n, t);
			gtk_label_set_text(self->bursts_label, text);
		}
		gtk_widget_set_visible(GTK_WIDGET(self->bursts_label), n > 0);
	}
	g_object_unref(self);
}

static void load_bursts(ClinicTreatment *self)
{
	if (!self->session)
		return;
	g_dbus_proxy_call(G_DBUS_PROXY(self->session), "GetBursts", NULL, CLINIC_CALL_FLAGS, -1,
			  self->cancel, on_bursts_loaded, g_object_ref(self));
}

static void on_stroke(StrigilSession *s, GVariant *d, gpointer data)
{
	ClinicTreatment *self = data;
	char buf[64];

	add_stroke_row(self, d);
	/* a burst ended (the tool lifted): its summary is stored now */
	if (strcmp(clinic_dict_str(d, "end"), "lift") == 0)
		load_bursts(self);
	self->pass_open = FALSE;
	g_snprintf(buf, sizeof(buf), "Last pass peak %.1f N", clinic_dict_double(d, "peak_n", 0));
	gtk_label_set_text(self->peak_label, buf);
}

static void on_limit_exceeded(StrigilSession *s, GVariant *d, gpointer data)
{
	ClinicTreatment *self = data;
	g_autofree char *t = g_strdup_printf("OVER THE LIMIT: %.1f N on %s (cap %.1f N).\nLIFT THE TOOL.",
					     clinic_dict_double(d, "force_n", 0), clinic_dict_str(d, "region"),
					     clinic_dict_double(d, "limit_n", 0));

	self->alarm_signal_us = g_get_monotonic_time();
	self->alarm_arrival_us = (gint64)clinic_dict_u64(d, "arrival_us");
	set_alarm(self, TRUE, t);
	gtk_label_set_text(self->state_label, "ALARM: force over the limit.");
}

static void on_limit_warning(StrigilSession *s, GVariant *d, gpointer data)
{
	ClinicTreatment *self = data;
	g_autofree char *t = g_strdup_printf("Near the limit: %.1f N (cap %.1f N).",
					     clinic_dict_double(d, "force_n", 0), clinic_dict_double(d, "limit_n", 0));

	if (!self->alarm)
		gtk_label_set_text(self->state_label, t);
}

static void on_cap_reached(StrigilSession *s, const char *cap, gpointer data)
{
	ClinicTreatment *self = data;

	gtk_label_set_text(self->cap_msg, strcmp(cap, "strokes") == 0 ?
			   "Stroke cap for this region reached: move on to another region or stop." :
			   "Time-under-load cap for this region reached: move on to another region or stop.");
	gtk_widget_set_visible(GTK_WIDGET(self->cap_msg), TRUE);
}

static void drop_session(ClinicTreatment *self)
{
	if (self->session)
		g_signal_handlers_disconnect_by_data(self->session, self);
	g_clear_object(&self->session);
	set_alarm(self, FALSE, NULL);
	gtk_widget_set_visible(GTK_WIDGET(self->cap_msg), FALSE);
	gtk_widget_set_visible(GTK_WIDGET(self->bursts_label), FALSE);
	update_counts(self);
}

static void on_session_props(GDBusProxy *p, GVariant *changed, GStrv inv, gpointer data)
{
	ClinicTreatment *self = data;
	const char *state = strigil_session_get_state(self->session);

	update_counts(self);
	if (state && (strcmp(state, "finished") == 0 || strcmp(state, "interrupted") == 0)) {
		g_autofree char *path = g_strdup(g_dbus_proxy_get_object_path(p));

		drop_session(self);
		gtk_label_set_text(self->state_label, "Session ended.");
		g_signal_emit(self, signals[SIG_SESSION_ENDED], 0, path);
	}
	update_controls(self);
}

static void on_strokes_loaded(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicTreatment *self = data;
	g_autoptr(GVariant) strokes = NULL;
	g_autoptr(GError) error = NULL;

	if (strigil_session_call_get_strokes_finish(STRIGIL_SESSION(src), &strokes, res, &error) &&
	    (StrigilSession *)src == self->session) {
		GVariantIter it;
		GVariant *d;

		g_variant_iter_init(&it, strokes);
		while ((d = g_variant_iter_next_value(&it))) {
			add_stroke_row(self, d);
			g_variant_unref(d);
		}
	}
	g_object_unref(self);
}

static void on_session_proxy(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicTreatment *self = data;
	g_autoptr(GError) error = NULL;
	StrigilSession *s = strigil_session_proxy_new_finish(res, &error);
	GtkWidget *child;

	if (!s) {
		toast_error(self, error);
		g_object_unref(self);
		return;
	}
	drop_session(self);
	self->session = s;
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(s), CLINIC_CALL_TIMEOUT_MS);
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->stroke_list))))
		gtk_list_box_remove(self->stroke_list, child);
	self->nstroke_rows = 0;
	self->passes = (struct clinic_pass_counter){ 0 };
	g_signal_connect(s, "stroke-completed", G_CALLBACK(on_stroke), self);
	g_signal_connect(s, "limit-exceeded", G_CALLBACK(on_limit_exceeded), self);
	g_signal_connect(s, "limit-warning", G_CALLBACK(on_limit_warning), self);
	g_signal_connect(s, "session-cap-reached", G_CALLBACK(on_cap_reached), self);
	/* After the generated class handler: it drops the getters' cached
	 * strv copies of changed properties, which point into the old values. */
	g_signal_connect_after(s, "g-properties-changed", G_CALLBACK(on_session_props), self);
	strigil_session_call_get_strokes(s, CLINIC_CALL_FLAGS, -1, self->cancel,
					 on_strokes_loaded, g_object_ref(self));
	load_bursts(self);
	update_counts(self);
	update_controls(self);
	g_object_unref(self);
}

static void adopt_session(ClinicTreatment *self, const char *path)
{
	if (self->session && strcmp(g_dbus_proxy_get_object_path(G_DBUS_PROXY(self->session)), path) == 0)
		return;
	strigil_session_proxy_new(clinic_service_get_connection(self->service),
				  G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, CLINIC_BUS_NAME, path,
				  self->cancel, on_session_proxy, g_object_ref(self));
}

static void on_started(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicTreatment *self = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;

	update_controls(self);
	/* After update_controls: the refusal stays in the status line. */
	if (!strigil_manager_call_start_session_finish(STRIGIL_MANAGER(src), &path, res, &error))
		toast_error(self, error);
	else {
		gtk_label_set_text(self->state_label, "Session running.");
		adopt_session(self, path);
	}
	g_object_unref(self);
}

static void on_start_clicked(ClinicTreatment *self)
{
	StrigilManager *m = clinic_service_get_manager(self->service);
	g_autofree char *region = NULL;
	const char *why;

	if (!m || !self->instrument || !self->profile)
		return;
	region = region_choice(self, &why);
	if (!region) {
		gtk_label_set_text(self->state_label, why);
		return;
	}
	gtk_widget_set_sensitive(GTK_WIDGET(self->start_button), FALSE);
	strigil_manager_call_start_session(m, g_dbus_proxy_get_object_path(G_DBUS_PROXY(self->instrument)),
					   g_dbus_proxy_get_object_path(G_DBUS_PROXY(self->profile)),
					   region, CLINIC_CALL_FLAGS, -1, self->cancel, on_started,
					   g_object_ref(self));
}

static void on_simple_done(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicTreatment *self = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(src), res, &error);

	update_controls(self);
	if (!ret)
		toast_error(self, error);
	g_object_unref(self);
}

static void session_call(ClinicTreatment *self, const char *method, GVariant *args)
{
	if (!self->session)
		return;
	g_dbus_proxy_call(G_DBUS_PROXY(self->session), method, args, CLINIC_CALL_FLAGS, -1,
			  self->cancel, on_simple_done, g_object_ref(self));
}

static void on_pause_clicked(ClinicTreatment *self) { session_call(self, "Pause", NULL); }
static void on_resume_clicked(ClinicTreatment *self) { session_call(self, "Resume", NULL); }
static void on_stop_clicked(ClinicTreatment *self) { session_call(self, "Stop", NULL); }

static void on_region_clicked(ClinicTreatment *self)
{
	g_autofree char *region = NULL;
	const char *why;

	region = region_choice(self, &why);
	if (!region) {
		gtk_label_set_text(self->state_label, why);
		return;
	}
	session_call(self, "SetRegion", g_variant_new("(s)", region));
}

/* ---- stream ----------------------------------------------------------- */

static void on_sample(void *user, double t_s, float force_n)
{
	ClinicTreatment *self = user;

	clinic_trace_push(self->trace, t_s, force_n);
	if (force_n > self->pass_peak || !self->pass_open) {
		self->pass_peak = force_n;
		self->pass_open = TRUE;
	}
}

static void close_stream(ClinicTreatment *self)
{
	g_clear_handle_id(&self->fd_source, g_source_remove);
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
}

static gboolean on_stream_readable(int fd, GIOCondition cond, gpointer data)
{
	ClinicTreatment *self = data;
	unsigned char buf[sizeof(struct strigil_stream_hdr) +
			  STRIGIL_STREAM_MAX_SAMPLES * sizeof(struct strigil_stream_sample) + 1];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			clinic_stream_parse(buf, (size_t)n, &self->st, on_sample, self);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		/* 0 or an error: the daemon closed it (stopped, restarted). */
		self->fd_source = 0;
		close_stream(self);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void on_stream_opened(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicTreatment *self = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) handle = NULL;
	g_autoptr(GUnixFDList) fds = NULL;

	if (!strigil_instrument_call_open_stream_finish(STRIGIL_INSTRUMENT(src), &handle, &fds, res, &error)) {
		if (!clinic_error_is_cancel(error)) {
			g_autofree char *t = clinic_error_text(error);
			g_autofree char *m = g_strdup_printf("No live trace: %s", t);

			toast(self, m);
		}
		g_object_unref(self);
		return;
	}
	if ((StrigilInstrument *)src != self->instrument) {
		g_object_unref(self);
		return;
	}
	close_stream(self);
	self->fd = g_unix_fd_list_get(fds, g_variant_get_handle(handle), &error);
	if (self->fd >= 0) {
		memset(&self->st, 0, sizeof(self->st));
		clinic_trace_clear(self->trace);
		self->fd_source = g_unix_fd_add_full(G_PRIORITY_HIGH, self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
						     on_stream_readable, self, NULL);
	}
	g_object_unref(self);
}

/* ---- instrument -------------------------------------------------------- */

static void update_calibration(ClinicTreatment *self)
{
	StrigilInstrument *i = self->instrument;
	char due[32], date[32];
	g_autofree char *t = NULL;

	if (!i) {
		gtk_label_set_text(self->calibration_label, "No instrument.");
		return;
	}
	clinic_format_time(strigil_instrument_get_calibration_due(i), due, sizeof(due));
	clinic_format_time(strigil_instrument_get_calibration_date(i), date, sizeof(date));
	gtk_widget_remove_css_class(GTK_WIDGET(self->calibration_label), "error");
	if (strigil_instrument_get_calibration_date(i) == 0) {
		t = g_strdup("NOT CALIBRATED: forces cannot be trusted. A technician must calibrate it before treatment.");
		gtk_widget_add_css_class(GTK_WIDGET(self->calibration_label), "error");
	} else if (!strigil_instrument_get_calibration_valid(i)) {
		t = g_strdup_printf("CALIBRATION EXPIRED on %s: a technician must calibrate it before treatment.", due);
		gtk_widget_add_css_class(GTK_WIDGET(self->calibration_label), "error");
	} else {
		t = g_strdup_printf("Calibrated %s by %s, valid until %s.", date,
				    strigil_instrument_get_calibration_technician(i), due);
	}
	gtk_label_set_text(self->calibration_label, t);
}

static void on_instrument_props(GDBusProxy *p, GVariant *changed, GStrv inv, gpointer data)
{
	ClinicTreatment *self = data;
	const char *active;
	guint fails;

	if ((StrigilInstrument *)p != self->instrument)
		return;
	update_calibration(self);
	fails = strigil_instrument_get_alert_failures(self->instrument);
	if (fails) {
		g_autofree char *t = g_strdup_printf("The instrument's own alarm failed %u time%s: it may not "
						     "warn you. Watch this screen.", fails, fails == 1 ? "" : "s");

		gtk_label_set_text(self->alert_fail_banner, t);
		gtk_accessible_update_property(GTK_ACCESSIBLE(self->alert_fail_banner),
					       GTK_ACCESSIBLE_PROPERTY_LABEL, t, -1);
	}
	gtk_widget_set_visible(GTK_WIDGET(self->alert_fail_banner), fails > 0);
	gtk_widget_set_visible(GTK_WIDGET(self->unplugged_banner),
			       !strigil_instrument_get_connected(self->instrument));
	active = strigil_instrument_get_active_session(self->instrument);
	if (active && strcmp(active, "/") != 0)
		adopt_session(self, active);
	/* A stream closed by an unplug comes back with the instrument. */
	if (self->fd < 0 && strigil_instrument_get_connected(self->instrument))
		strigil_instrument_call_open_stream(self->instrument, CLINIC_CALL_FLAGS, -1, NULL,
						    self->cancel, on_stream_opened, g_object_ref(self));
	maybe_clear_alarm(self);
	update_controls(self);
}

static void on_instrument_selected(ClinicTreatment *self)
{
	GtkListBoxRow *row = gtk_list_box_get_selected_row(self->instrument_list);
	StrigilInstrument *i = row ? g_object_get_data(G_OBJECT(row), "instrument") : NULL;

	if (i == self->instrument)
		return;
	if (self->instrument)
		g_signal_handlers_disconnect_by_data(self->instrument, self);
	close_stream(self);
	drop_session(self);
	clinic_trace_clear(self->trace);
	g_set_object(&self->instrument, i);
	if (i) {
		g_signal_connect_after(i, "g-properties-changed", G_CALLBACK(on_instrument_props), self);
		on_instrument_props(G_DBUS_PROXY(i), NULL, NULL, self);
	} else {
		update_calibration(self);
		update_controls(self);
	}
}

static void on_instrument_proxy(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicTreatment *self = data;
	g_autoptr(GError) error = NULL;
	StrigilInstrument *i = strigil_instrument_proxy_new_finish(res, &error);
	const char *path;
	GtkWidget *row, *l;
	g_autofree char *t = NULL;

	if (!i) {
		toast_error(self, error);
		g_object_unref(self);
		return;
	}
	path = g_dbus_proxy_get_object_path(G_DBUS_PROXY(i));
	if (!g_hash_table_contains(self->inst_rows, path) || g_hash_table_lookup(self->inst_rows, path)) {
		g_object_unref(i);
		g_object_unref(self);
		return;
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(i), CLINIC_CALL_TIMEOUT_MS);
	t = g_strdup_printf("%s %s (%s)", strigil_instrument_get_model(i), strigil_instrument_get_serial(i),
			    strigil_instrument_get_backend(i));
	row = gtk_list_box_row_new();
	l = gtk_label_new(t);
	gtk_label_set_xalign(GTK_LABEL(l), 0);
	gtk_widget_set_margin_start(l, 6);
	gtk_widget_set_margin_top(l, 4);
	gtk_widget_set_margin_bottom(l, 4);
	gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), l);
	gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, t, -1);
	g_object_set_data_full(G_OBJECT(row), "instrument", i, g_object_unref);
	g_hash_table_insert(self->inst_rows, g_strdup(path), row);
	gtk_list_box_append(self->instrument_list, row);
	/* One instrument (the usual clinic PC): take it. */
	if (!self->instrument)
		gtk_list_box_select_row(self->instrument_list, GTK_LIST_BOX_ROW(row));
	g_object_unref(self);
}

static void sync_instruments(ClinicTreatment *self)
{
	StrigilManager *m = clinic_service_get_manager(self->service);
	const char *const *paths = m ? strigil_manager_get_instruments(m) : NULL;
	GHashTableIter it;
	gpointer key, row;

	g_hash_table_iter_init(&it, self->inst_rows);
	while (g_hash_table_iter_next(&it, &key, &row)) {
		gboolean keep = paths && g_strv_contains(paths, key);

		if (keep)
			continue;
		if (row) {
			if (g_object_get_data(G_OBJECT(row), "instrument") == (gpointer)self->instrument)
				gtk_list_box_unselect_all(self->instrument_list);
			gtk_list_box_remove(self->instrument_list, row);
		}
		g_hash_table_iter_remove(&it);
	}
	for (size_t i = 0; paths && paths[i]; i++) {
		if (g_hash_table_contains(self->inst_rows, paths[i]))
			continue;
		g_hash_table_insert(self->inst_rows, g_strdup(paths[i]), NULL);
		strigil_instrument_proxy_new(clinic_service_get_connection(self->service),
					     G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, CLINIC_BUS_NAME, paths[i],
					     self->cancel, on_instrument_proxy, g_object_ref(self));
	}
}

/* ---- state ------------------------------------------------------------ */

static void update_controls(ClinicTreatment *self)
{
	gboolean ready = clinic_service_get_manager(self->service) != NULL;
	const char *state = self->session ? strigil_session_get_state(self->session) : NULL;
	gboolean connected = self->instrument && strigil_instrument_get_connected(self->instrument);
	gboolean running = state && strcmp(state, "running") == 0;
	gboolean paused = state && strcmp(state, "paused") == 0;
	gboolean unplugged = state && strcmp(state, "disconnected") == 0;
	gboolean in_session = running || paused || unplugged;
	g_autofree char *region = NULL;
	const char *why = NULL;

	region = region_choice(self, &why);
	gtk_widget_set_sensitive(GTK_WIDGET(self->start_button),
				 ready && !in_session && self->profile && connected && region);
	gtk_widget_set_sensitive(GTK_WIDGET(self->pause_button), ready && running);
	gtk_widget_set_sensitive(GTK_WIDGET(self->resume_button), ready && paused);
	gtk_widget_set_sensitive(GTK_WIDGET(self->stop_button), ready && in_session);
	gtk_widget_set_sensitive(GTK_WIDGET(self->region_button), ready && in_session && region);
	gtk_label_set_text(self->region_choice_label, region ? region : why);
	if (!ready)
		gtk_label_set_text(self->state_label, clinic_service_get_state_text(self->service));
	else if (unplugged)
		gtk_label_set_text(self->state_label, "PAUSED: instrument unplugged.");
	else if (paused)
		gtk_label_set_text(self->state_label, "Session paused: nothing is counted. Resume to go on.");
	else if (running && !self->alarm)
		gtk_label_set_text(self->state_label, "Session running.");
	else if (!in_session && !self->profile)
		gtk_label_set_text(self->state_label, "Choose a patient on the Patients page.");
	else if (!in_session && !self->instrument)
		gtk_label_set_text(self->state_label, "No instrument: plug one in.");
	else if (!in_session && !connected)
		gtk_label_set_text(self->state_label, "The instrument is unplugged: plug it in.");
	else if (!in_session && !region)
		gtk_label_set_text(self->state_label, why);
	else if (!in_session && !strigil_instrument_get_calibration_valid(self->instrument))
		/* The clinic policy decides (allow_expired/allow_uncalibrated): the
		 * daemon refuses or flags the session; say so before the click. */
		gtk_label_set_text(self->state_label, "Calibration not valid: the session will be refused, "
				   "or recorded as uncalibrated if the clinic policy allows it.");
	else if (!in_session)
		gtk_label_set_text(self->state_label, "Ready to start.");
}

/* Four times a second: the force readout and the pass peak (the trace
 * itself redraws on the frame clock). */
static gboolean on_label_tick(gpointer data)
{
	ClinicTreatment *self = data;
	double f = clinic_trace_last_force(self->trace);
	char buf[64];

	if (isnan(f) || self->fd < 0)
		g_snprintf(buf, sizeof(buf), "— N");
	else	/* noise around zero is not "-0.0" */
		g_snprintf(buf, sizeof(buf), "%.1f N", fabs(f) < 0.05 ? 0.0 : f);
	gtk_label_set_text(self->force_label, buf);
	if (self->pass_open && self->pass_peak > 0.5) {
		g_snprintf(buf, sizeof(buf), "This pass: peak %.1f N", self->pass_peak);
		gtk_label_set_text(self->peak_label, buf);
	}
	if (self->bench) {
		gint64 now = g_get_monotonic_time();
		guint64 frames = clinic_trace_frames(self->trace);

		if (self->bench_start && now - self->bench_start >= G_USEC_PER_SEC) {
			fprintf(stderr, "bench fps %.1f samples %" G_GUINT64_FORMAT " dropped %" G_GUINT64_FORMAT "\n",
				(double)(frames - self->bench_frames0) * 1e6 / (double)(now - self->bench_start),
				self->st.samples, self->st.dropped);
			self->bench_start = 0;
		}
		if (!self->bench_start) {
			self->bench_start = now;
			self->bench_frames0 = frames;
		}
	}
	return G_SOURCE_CONTINUE;
}

static void on_service_state(ClinicService *service, gpointer data)
{
	ClinicTreatment *self = data;
	StrigilManager *m = clinic_service_get_manager(service);
	GtkWidget *child;

	g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	self->cancel = g_cancellable_new();
	gtk_list_box_unselect_all(self->instrument_list);
	on_instrument_selected(self);
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->instrument_list))))
		gtk_list_box_remove(self->instrument_list, child);
	g_hash_table_remove_all(self->inst_rows);
	if (m) {
		self->warn_fraction = strigil_manager_get_warn_fraction(m);
		build_regions(self, m);
		g_signal_connect_object(m, "notify::instruments", G_CALLBACK(sync_instruments), self,
					G_CONNECT_SWAPPED);
		sync_instruments(self);
	}
	update_controls(self);
}

void clinic_treatment_set_service(ClinicTreatment *self, ClinicService *service)
{
	g_set_object(&self->service, service);
	g_signal_connect_object(service, "state-changed", G_CALLBACK(on_service_state), self, 0);
	on_service_state(service, self);
}

void clinic_treatment_set_profile(ClinicTreatment *self, StrigilProfile *profile)
{
	g_set_object(&self->profile, profile);
	update_controls(self);
}

void clinic_treatment_set_bench(ClinicTreatment *self, gboolean bench)
{
	self->bench = bench;
}

gboolean clinic_treatment_in_session(ClinicTreatment *self)
{
	return self->session != NULL;
}

static void clinic_treatment_dispose(GObject *obj)
{
	ClinicTreatment *self = CLINIC_TREATMENT(obj);

	if (self->cancel)
		g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	close_stream(self);
	if (self->session)
		g_signal_handlers_disconnect_by_data(self->session, self);
	if (self->instrument)
		g_signal_handlers_disconnect_by_data(self->instrument, self);
	g_clear_object(&self->session);
	g_clear_object(&self->instrument);
	g_clear_object(&self->profile);
	g_clear_object(&self->service);
	g_clear_handle_id(&self->alarm_bell, g_source_remove);
	g_clear_handle_id(&self->alarm_clear, g_source_remove);
	g_clear_handle_id(&self->label_tick, g_source_remove);
	g_clear_pointer(&self->inst_rows, g_hash_table_unref);
	gtk_widget_dispose_template(GTK_WIDGET(obj), CLINIC_TYPE_TREATMENT);
	G_OBJECT_CLASS(clinic_treatment_parent_class)->dispose(obj);
}

static void clinic_treatment_class_init(ClinicTreatmentClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

	oc->dispose = clinic_treatment_dispose;
	signals[SIG_SESSION_ENDED] = g_signal_new("session-ended", G_TYPE_FROM_CLASS(klass),
						  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
						  G_TYPE_NONE, 1, G_TYPE_STRING);
	g_type_ensure(CLINIC_TYPE_TRACE);
	gtk_widget_class_set_template_from_resource(wc, "/org/strigil/Clinic/treatment.ui");
#define CHILD(n) gtk_widget_class_bind_template_child(wc, ClinicTreatment, n)
	CHILD(alarm_label); CHILD(alert_fail_banner); CHILD(unplugged_banner);
	CHILD(instrument_list); CHILD(region_list); CHILD(stroke_list);
	CHILD(calibration_label); CHILD(region_choice_label); CHILD(state_label); CHILD(limit_label);
	CHILD(force_label); CHILD(peak_label); CHILD(strokes_count_label); CHILD(bursts_label); CHILD(load_label); CHILD(cap_msg);
	CHILD(left_button); CHILD(right_button); CHILD(midline_button);
	CHILD(start_button); CHILD(pause_button); CHILD(resume_button); CHILD(region_button);
	CHILD(stop_button); CHILD(trace);
#undef CHILD
	gtk_widget_class_bind_template_callback(wc, on_instrument_selected);
	gtk_widget_class_bind_template_callback(wc, on_region_selected);
	gtk_widget_class_bind_template_callback(wc, on_side_toggled);
	gtk_widget_class_bind_template_callback(wc, on_start_clicked);
	gtk_widget_class_bind_template_callback(wc, on_pause_clicked);
	gtk_widget_class_bind_template_callback(wc, on_resume_clicked);
	gtk_widget_class_bind_template_callback(wc, on_region_clicked);
	gtk_widget_class_bind_template_callback(wc, on_stop_clicked);
}

static void clinic_treatment_init(ClinicTreatment *self)
{
	self->fd = -1;
	self->warn_fraction = 0.9;
	self->cancel = g_cancellable_new();
	self->inst_rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gtk_widget_init_template(GTK_WIDGET(self));
	self->label_tick = g_timeout_add(250, on_label_tick, self);
}
