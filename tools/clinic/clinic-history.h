/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* History screen: a patient's visits, per-region trends, past sessions, reports. */
#ifndef CLINIC_HISTORY_H
#define CLINIC_HISTORY_H

#include <gtk/gtk.h>

#include "clinic-service.h"

#define CLINIC_TYPE_HISTORY (clinic_history_get_type())
G_DECLARE_FINAL_TYPE(ClinicHistory, clinic_history, CLINIC, HISTORY, GtkBox)

void clinic_history_set_service(ClinicHistory *self, ClinicService *service);
void clinic_history_set_profile(ClinicHistory *self, StrigilProfile *profile);
void clinic_history_refresh(ClinicHistory *self);

#endif
