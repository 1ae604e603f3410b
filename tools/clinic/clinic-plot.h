/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small trend plot: one value per visit, oldest left (History screen). */
#ifndef CLINIC_PLOT_H
#define CLINIC_PLOT_H

#include <gtk/gtk.h>

#define CLINIC_TYPE_PLOT (clinic_plot_get_type())
G_DECLARE_FINAL_TYPE(ClinicPlot, clinic_plot, CLINIC, PLOT, GtkWidget)

/* n values (copied); cap (0 = none) is drawn as a line. The accessible
 * description gets the values as text. */
void clinic_plot_set(ClinicPlot *self, const char *title, const char *unit,
		     const double *values, size_t n, double cap, gboolean bars);

#endif
