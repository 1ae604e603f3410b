/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "clinic-plot.h"

struct _ClinicPlot {
	GtkWidget parent;
	char *title, *unit;
	double *v;
	size_t n;
	double cap;
	gboolean bars;
};

G_DEFINE_FINAL_TYPE(ClinicPlot, clinic_plot, GTK_TYPE_WIDGET)

static void clinic_plot_snapshot(GtkWidget *widget, GtkSnapshot *s)
{
	ClinicPlot *self = CLINIC_PLOT(widget);
	double w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
	double top = self->cap > 0 ? self->cap * 1.2 : 0, left = 44, bottom = 18, ph;
	cairo_t *cr = gtk_snapshot_append_cairo(s, &GRAPHENE_RECT_INIT(0, 0, (float)w, (float)h));
	char lab[64];

	for (size_t i = 0; i < self->n; i++)
		if (self->v[i] > top)
			top = self->v[i];
	if (!(top > 0))
		top = 1;
	top *= 1.1;
	ph = h - bottom - 20;
	cairo_set_source_rgb(cr, 0.97, 0.97, 0.98);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0.15, 0.15, 0.2);
	cairo_select_font_face(cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, 12);
	cairo_move_to(cr, 6, 14);
	cairo_show_text(cr, self->title ? self->title : "");
	cairo_select_font_face(cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 10);
	g_snprintf(lab, sizeof(lab), "%.3g %s", top, self->unit ? self->unit : "");
	cairo_move_to(cr, 4, 32);
	cairo_show_text(cr, lab);
	cairo_move_to(cr, 4, h - bottom);
	cairo_show_text(cr, "0");
	cairo_set_source_rgba(cr, 0, 0, 0, 0.3);
	cairo_set_line_width(cr, 1);
	cairo_move_to(cr, left, 20);
	cairo_line_to(cr, left, h - bottom);
	cairo_line_to(cr, w - 6, h - bottom);
	cairo_stroke(cr);
	if (self->cap > 0) {
		double y = h - bottom - self->cap / top * ph;

		cairo_set_source_rgb(cr, 0.85, 0.15, 0.15);
		cairo_set_dash(cr, (double[]){ 4, 3 }, 2, 0);
		cairo_move_to(cr, left, y);
		cairo_line_to(cr, w - 6, y);
		cairo_stroke(cr);
		cairo_set_dash(cr, NULL, 0, 0);
	}
	if (self->n == 0) {
		cairo_set_source_rgb(cr, 0.4, 0.4, 0.45);
		cairo_move_to(cr, left + 10, h / 2);
		cairo_show_text(cr, "no visits");
		cairo_destroy(cr);
		return;
	}
	{
		double step = (w - left - 16) / (double)(self->n > 1 ? self->n - 1 : 1);

		cairo_set_source_rgb(cr, 0.2, 0.45, 0.85);
		cairo_set_line_width(cr, 2);
		for (size_t i = 0; i < self->n; i++) {
			double x = left + 8 + step * (double)i, y = h - bottom - self->v[i] / top * ph;

			if (self->bars) {
				cairo_rectangle(cr, x - 4, y, 8, h - bottom - y);
				cairo_fill(cr);
			} else {
				if (i == 0)
					cairo_move_to(cr, x, y);
				else
					cairo_line_to(cr, x, y);
			}
		}
		if (!self->bars) {
			cairo_stroke(cr);
			for (size_t i = 0; i < self->n; i++) {
				double x = left + 8 + step * (double)i, y = h - bottom - self->v[i] / top * ph;

				cairo_arc(cr, x, y, 3, 0, 2 * G_PI);
				cairo_fill(cr);
			}
		}
	}
	cairo_destroy(cr);
}

static void clinic_plot_measure(GtkWidget *w, GtkOrientation o, int for_size, int *min, int *nat,
				int *min_base, int *nat_base)
{
	*min = o == GTK_ORIENTATION_HORIZONTAL ? 200 : 120;
	*nat = o == GTK_ORIENTATION_HORIZONTAL ? 320 : 140;
}

static void clinic_plot_finalize(GObject *obj)
{
	ClinicPlot *self = CLINIC_PLOT(obj);

	g_free(self->title);
	g_free(self->unit);
	g_free(self->v);
	G_OBJECT_CLASS(clinic_plot_parent_class)->finalize(obj);
}

static void clinic_plot_class_init(ClinicPlotClass *klass)
{
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = clinic_plot_finalize;
	wc->snapshot = clinic_plot_snapshot;
	wc->measure = clinic_plot_measure;
	gtk_widget_class_set_accessible_role(wc, GTK_ACCESSIBLE_ROLE_IMG);
}

static void clinic_plot_init(ClinicPlot *self)
{
	gtk_widget_set_hexpand(GTK_WIDGET(self), TRUE);
}

void clinic_plot_set(ClinicPlot *self, const char *title, const char *unit,
		     const double *values, size_t n, double cap, gboolean bars)
{
	GString *desc = g_string_new(NULL);

	g_free(self->title);
	g_free(self->unit);
	g_free(self->v);
	self->title = g_strdup(title);
	self->unit = g_strdup(unit);
	self->v = n ? g_memdup2(values, n * sizeof(double)) : NULL;
	self->n = n;
	self->cap = cap;
	self->bars = bars;
	g_string_append_printf(desc, "%s, oldest visit first:", title);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(desc, " %.3g", values[i]);
	gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
				       GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc->str, -1);
	g_string_free(desc, TRUE);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}
