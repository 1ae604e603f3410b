/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One layout for paper and PDF: Pango lines on A4 with margins, a page
 * break when the next line does not fit. The PDF goes through cairo's PDF
 * surface; printing hands the same drawing to GtkPrintOperation.
 */
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#include "clinic-report.h"

#define A4_W 595.0
#define A4_H 842.0
#define MARGIN 50.0

struct layout {
	struct clinic_report_line *lines;
	size_t n;
	size_t *page_start;	/* first line of each page */
	size_t npages;
};

static PangoLayout *line_layout(cairo_t *cr, const struct clinic_report_line *l, double width)
{
	PangoLayout *pl = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string(
		l->kind == CLINIC_LINE_TITLE ? "Sans Bold 16" :
		l->kind == CLINIC_LINE_HEADING ? "Sans Bold 12" :
		l->kind == CLINIC_LINE_ALERT ? "Monospace Bold 8" : "Monospace 8");

	pango_layout_set_font_description(pl, fd);
	pango_font_description_free(fd);
	pango_layout_set_width(pl, (int)(width * PANGO_SCALE));
	pango_layout_set_wrap(pl, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_text(pl, l->text, -1);
	return pl;
}

static double line_height(cairo_t *cr, const struct clinic_report_line *l, double width)
{
	PangoLayout *pl = line_layout(cr, l, width);
	int w, h;

	pango_layout_get_size(pl, &w, &h);
	g_object_unref(pl);
	return (double)h / PANGO_SCALE + (l->kind == CLINIC_LINE_HEADING ? 10 : 2);
}

static void paginate(struct layout *lay, cairo_t *cr, double width, double height)
{
	double y = 0;

	lay->page_start = g_new(size_t, lay->n + 1);
	lay->npages = 1;
	lay->page_start[0] = 0;
	for (size_t i = 0; i < lay->n; i++) {
		double h = line_height(cr, &lay->lines[i], width);

		if (y + h > height && y > 0) {
			lay->page_start[lay->npages++] = i;
			y = 0;
		}
		y += h;
	}
	lay->page_start[lay->npages] = lay->n;
}

static void draw_page(struct layout *lay, cairo_t *cr, size_t page, double width, double height)
{
	double y = 0;
	char foot[64];

	for (size_t i = lay->page_start[page]; i < lay->page_start[page + 1]; i++) {
		const struct clinic_report_line *l = &lay->lines[i];
		PangoLayout *pl;

		if (l->kind == CLINIC_LINE_HEADING)
			y += 8;
		pl = line_layout(cr, l, width);
		if (l->kind == CLINIC_LINE_ALERT)
			cairo_set_source_rgb(cr, 0.7, 0, 0);
		else
			cairo_set_source_rgb(cr, 0, 0, 0);
		cairo_move_to(cr, 0, y);
		pango_cairo_show_layout(cr, pl);
		y += line_height(cr, l, width) - (l->kind == CLINIC_LINE_HEADING ? 8 : 0);
		g_object_unref(pl);
	}
	g_snprintf(foot, sizeof(foot), "page %zu of %zu", page + 1, lay->npages);
	cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
	cairo_move_to(cr, 0, height + 14);
	cairo_show_text(cr, foot);
}

gboolean clinic_report_save_pdf(const struct clinic_report *r, const char *path, GError **error)
{
	struct layout lay = { 0 };
	cairo_surface_t *surf;
	cairo_t *cr;
	cairo_status_t st;

	lay.lines = clinic_report_lines(r, &lay.n);
	if (!lay.lines) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Out of memory.");
		return FALSE;
	}
	surf = cairo_pdf_surface_create(path, A4_W, A4_H);
	cr = cairo_create(surf);
	cairo_translate(cr, MARGIN, MARGIN);
	paginate(&lay, cr, A4_W - 2 * MARGIN, A4_H - 2 * MARGIN - 20);
	for (size_t p = 0; p < lay.npages; p++) {
		draw_page(&lay, cr, p, A4_W - 2 * MARGIN, A4_H - 2 * MARGIN - 20);
		cairo_show_page(cr);
	}
	cairo_destroy(cr);
	cairo_surface_finish(surf);
	st = cairo_surface_status(surf);
	cairo_surface_destroy(surf);
	g_free(lay.page_start);
	free(lay.lines);
	if (st != CAIRO_STATUS_SUCCESS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write %s: %s", path,
			    cairo_status_to_string(st));
		return FALSE;
	}
	return TRUE;
}

static void on_begin_print(GtkPrintOperation *op, GtkPrintContext *ctx, gpointer data)
{
	struct layout *lay = data;

	paginate(lay, gtk_print_context_get_cairo_context(ctx), gtk_print_context_get_width(ctx),
		 gtk_print_context_get_height(ctx) - 20);
	gtk_print_operation_set_n_pages(op, (int)lay->npages);
}

static void on_draw_page(GtkPrintOperation *op, GtkPrintContext *ctx, int page, gpointer data)
{
	struct layout *lay = data;

	draw_page(lay, gtk_print_context_get_cairo_context(ctx), (size_t)page,
		  gtk_print_context_get_width(ctx), gtk_print_context_get_height(ctx) - 20);
}

static void layout_free(gpointer data)
{
	struct layout *lay = data;

	g_free(lay->page_start);
	free(lay->lines);
	g_free(lay);
}

void clinic_report_print(const struct clinic_report *r, GtkWindow *parent)
{
	GtkPrintOperation *op = gtk_print_operation_new();
	struct layout *lay = g_new0(struct layout, 1);
	g_autoptr(GError) error = NULL;

	lay->lines = clinic_report_lines(r, &lay->n);
	g_object_set_data_full(G_OBJECT(op), "layout", lay, layout_free);
	gtk_print_operation_set_job_name(op, r->patient_ref);
	gtk_print_operation_set_unit(op, GTK_UNIT_POINTS);
	g_signal_connect(op, "begin-print", G_CALLBACK(on_begin_print), lay);
	g_signal_connect(op, "draw-page", G_CALLBACK(on_draw_page), lay);
	gtk_print_operation_run(op, GTK_PRINT_OPERATION_ACTION_PRINT_DIALOG, parent, &error);
	g_object_unref(op);
}
