/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Treatment screen: instrument, region and side, the live trace, the alarm. */
#ifndef CLINIC_TREATMENT_H
#define CLINIC_TREATMENT_H

#include <gtk/gtk.h>

#include "clinic-service.h"

#define CLINIC_TYPE_TREATMENT (clinic_treatment_get_type())
G_DECLARE_FINAL_TYPE(ClinicTreatment, clinic_treatment, CLINIC, TREATMENT, GtkBox)

/* Signal "session-ended" (const char *session_path). */
void clinic_treatment_set_service(ClinicTreatment *self, ClinicService *service);
void clinic_treatment_set_profile(ClinicTreatment *self, StrigilProfile *profile);
/* --bench: log frame rate and the alarm's drawing delay to stderr. */
void clinic_treatment_set_bench(ClinicTreatment *self, gboolean bench);
gboolean clinic_treatment_in_session(ClinicTreatment *self);

#endif
