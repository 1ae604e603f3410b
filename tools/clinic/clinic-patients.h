/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patients screen: find, create and edit patient profiles. */
#ifndef CLINIC_PATIENTS_H
#define CLINIC_PATIENTS_H

#include <gtk/gtk.h>

#include "clinic-service.h"

#define CLINIC_TYPE_PATIENTS (clinic_patients_get_type())
G_DECLARE_FINAL_TYPE(ClinicPatients, clinic_patients, CLINIC, PATIENTS, GtkBox)

/* Signals: "selected" (StrigilProfile *), "treat" (StrigilProfile *),
 * "history" (StrigilProfile *). */
void clinic_patients_set_service(ClinicPatients *self, ClinicService *service);

#endif
