/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "clinic-ring.h"
#include "clinic-trace.h"

struct _ClinicTrace {
	GtkWidget parent;
	struct clinic_ring *ring;
	uint64_t drawn_head;
	double cap, warn, tmin, tmax;
	gboolean alarm;
	guint64 frames;
	guint tick;
	float *cmin, *cmax;
	size_t ncols;
	PangoLayout *layout;
};

G_DEFINE_FINAL_TYPE(ClinicTrace, clinic_trace, GTK_TYPE_WIDGET)

/* Redraw only when samples arrived since the last frame: an idle
 * instrument costs nothing. */
static gboolean on_tick(GtkWidget *w, GdkFrameClock *clock, gpointer data)
{
	ClinicTrace *self = CLINIC_TRACE(w);

	if (self->ring->head != self->drawn_head)
		gtk_widget_queue_draw(w);
	return G_SOURCE_CONTINUE;
}

static double y_of(double f, double top, double h)
{
	return h - (f / top) * h;
}

static void band(GtkSnapshot *s, double w, double h, double top, double lo, double hi,
		 const GdkRGBA *c)
{
	double y1 = y_of(hi, top, h), y2 = y_of(lo, top, h);

	gtk_snapshot_append_color(s, c, &GRAPHENE_RECT_INIT(0, (float)y1, (float)w, (float)(y2 - y1)));
}

static void text_at(ClinicTrace *self, GtkSnapshot *s, const char *text, double x, double y,
		    const GdkRGBA *c)
{
	/* One layout reused (the text node keeps its own glyphs). */
	if (!self->layout)
		self->layout = gtk_widget_create_pango_layout(GTK_WIDGET(self), NULL);
	pango_layout_set_text(self->layout, text, -1);
	gtk_snapshot_save(s);
	gtk_snapshot_translate(s, &GRAPHENE_POINT_INIT((float)x, (float)y));
	gtk_snapshot_append_layout(s, self->layout, c);
	gtk_snapshot_restore(s);
}

static void clinic_trace_snapshot(GtkWidget *widget, GtkSnapshot *s)
{
	ClinicTrace *self = CLINIC_TRACE(widget);
	double w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
	double t1 = clinic_ring_last_t(self->ring), t0 = t1 - CLINIC_TRACE_WINDOW_S;
	double top = 5, peak = 0;
	size_t ncols = w > 2 ? (size_t)w : 2;
	GdkRGBA bg = { 0.12, 0.12, 0.14, 1 }, grid = { 1, 1, 1, 0.12 };
	GdkRGBA target = { 0.2, 0.75, 0.35, 0.25 }, warnc = { 0.95, 0.65, 0.1, 0.35 };
	GdkRGBA capc = { 0.95, 0.2, 0.2, 1 };

	self->frames++;
	self->drawn_head = self->ring->head;
	if (self->ncols != ncols) {
		self->cmin = g_renew(float, self->cmin, ncols);
		self->cmax = g_renew(float, self->cmax, ncols);
		self->ncols = ncols;
	}
	clinic_ring_columns(self->ring, t0, t1, ncols, self->cmin, self->cmax);
	for (size_t i = 0; i < ncols; i++)
		if (!isnan(self->cmax[i]) && self->cmax[i] > peak)
			peak = self->cmax[i];
	if (self->cap > 0)
		top = self->cap * 1.3;
	if (peak * 1.1 > top)
		top = peak * 1.1;

	if (self->alarm)
		bg = (GdkRGBA){ 0.35, 0.02, 0.02, 1 };
	gtk_snapshot_append_color(s, &bg, &GRAPHENE_RECT_INIT(0, 0, (float)w, (float)h));
	for (int n = 1; n < top; n += top > 20 ? 5 : 1) {
		double y = y_of(n, top, h);

		gtk_snapshot_append_color(s, &grid, &GRAPHENE_RECT_INIT(0, (float)y, (float)w, 1));
	}
	if (self->tmax > self->tmin && self->tmax > 0)
		band(s, w, h, top, self->tmin, self->tmax, &target);
	if (self->cap > 0) {
		band(s, w, h, top, self->cap * self->warn, self->cap, &warnc);
		gtk_snapshot_append_color(s, &capc, &GRAPHENE_RECT_INIT(0, (float)(y_of(self->cap, top, h) - 1.5),
									 (float)w, 3));
	}

	/* The line as one thin bar per pixel column (its min..max, joined to
	 * the neighbour): colour nodes only, no per-frame cairo surface. */
	{
		GdkRGBA line = { 0.4, 0.75, 1.0, 1 };
		float prev_lo = NAN, prev_hi = NAN;

		for (size_t i = 0; i < ncols; i++) {
			float lo = self->cmin[i], hi = self->cmax[i];
			double y1, y2;

			if (isnan(lo)) {
				prev_lo = prev_hi = NAN;
				continue;
			}
			if (!isnan(prev_lo)) {
				lo = MIN(lo, prev_hi);
				hi = MAX(hi, prev_lo);
			}
			y1 = y_of(hi, top, h) - 1;
			y2 = y_of(lo, top, h) + 1;
			gtk_snapshot_append_color(s, &line, &GRAPHENE_RECT_INIT((float)i, (float)y1, 2,
										 (float)(y2 - y1)));
			prev_lo = self->cmin[i];
			prev_hi = self->cmax[i];
		}
	}
	{
		GdkRGBA txt = { 1, 1, 1, 0.7 }, captxt = { 1, 0.5, 0.5, 1 };

		for (int n = 0; n < top; n += top > 20 ? 5 : 2) {
			char lab[16];

			g_snprintf(lab, sizeof(lab), "%d N", n);
			text_at(self, s, lab, 4, y_of(n, top, h) - 16, &txt);
		}
		if (self->cap > 0) {
			char lab[32];

			g_snprintf(lab, sizeof(lab), "cap %.1f N", self->cap);
			text_at(self, s, lab, w - 90, y_of(self->cap, top, h) - 20, &captxt);
		}
	}
}

static void clinic_trace_measure(GtkWidget *w, GtkOrientation o, int for_size, int *min, int *nat,
				 int *min_base, int *nat_base)
{
	*min = o == GTK_ORIENTATION_HORIZONTAL ? 300 : 180;
	*nat = o == GTK_ORIENTATION_HORIZONTAL ? 800 : 300;
}

static void clinic_trace_finalize(GObject *obj)
{
	ClinicTrace *self = CLINIC_TRACE(obj);

	g_free(self->ring);
	g_clear_object(&self->layout);
	g_free(self->cmin);
	g_free(self->cmax);
	G_OBJECT_CLASS(clinic_trace_parent_class)->finalize(obj);
}

static void clinic_trace_class_init(ClinicTraceClass *klass)
{
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = clinic_trace_finalize;
	wc->snapshot = clinic_trace_snapshot;
	wc->measure = clinic_trace_measure;
	gtk_widget_class_set_accessible_role(wc, GTK_ACCESSIBLE_ROLE_IMG);
}

static void clinic_trace_init(ClinicTrace *self)
{
	self->ring = g_new0(struct clinic_ring, 1);
	self->warn = 0.9;
	gtk_widget_set_hexpand(GTK_WIDGET(self), TRUE);
	gtk_widget_set_vexpand(GTK_WIDGET(self), TRUE);
	gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
				       "Live force trace, last 10 seconds", -1);
	self->tick = gtk_widget_add_tick_callback(GTK_WIDGET(self), on_tick, NULL, NULL);
}

void clinic_trace_push(ClinicTrace *self, double t_s, float force_n)
{
	/* A stream restarted (new fd): times start again from 0. */
	if (self->ring->head && t_s < clinic_ring_last_t(self->ring))
		clinic_ring_reset(self->ring);
	clinic_ring_push(self->ring, t_s, force_n);
}

void clinic_trace_clear(ClinicTrace *self)
{
	clinic_ring_reset(self->ring);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void clinic_trace_set_limits(ClinicTrace *self, double cap_n, double warn_fraction,
			     double target_min_n, double target_max_n)
{
	self->cap = cap_n;
	self->warn = warn_fraction > 0 && warn_fraction < 1 ? warn_fraction : 0.9;
	self->tmin = target_min_n;
	self->tmax = target_max_n;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void clinic_trace_set_alarm(ClinicTrace *self, gboolean alarm)
{
	self->alarm = alarm;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

double clinic_trace_last_force(ClinicTrace *self)
{
	double t;
	float f;
	size_t n = clinic_ring_len(self->ring);

	if (!n)
		return NAN;
	clinic_ring_get(self->ring, n - 1, &t, &f);
	return f;
}

guint64 clinic_trace_frames(ClinicTrace *self)
{
	return self->frames;
}
