/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lays a report out on pages: a PDF file (cairo) or a printer (GtkPrintOperation). */
#ifndef CLINIC_REPORT_H
#define CLINIC_REPORT_H

#include <gtk/gtk.h>

#include "clinic-report-model.h"

gboolean clinic_report_save_pdf(const struct clinic_report *r, const char *path, GError **error);
/* Opens the desktop's print dialog. */
void clinic_report_print(const struct clinic_report *r, GtkWindow *parent);

#endif
