/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef CLINIC_WINDOW_H
#define CLINIC_WINDOW_H

#include <adwaita.h>

#include "clinic-service.h"

#define CLINIC_TYPE_WINDOW (clinic_window_get_type())
G_DECLARE_FINAL_TYPE(ClinicWindow, clinic_window, CLINIC, WINDOW, AdwApplicationWindow)

ClinicWindow *clinic_window_new(AdwApplication *app, ClinicService *service, gboolean bench);
/* A short message at the bottom of the window (also read by screen readers). */
void clinic_window_toast(GtkWidget *any_child, const char *text);

#endif
