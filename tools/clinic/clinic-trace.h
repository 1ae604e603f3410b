/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The live force trace: the last 10 s of the 1 kHz stream with the cap
 * line, the warning band and the target band. Samples go into a fixed
 * ring as they arrive; the widget redraws on the frame clock when there
 * is something new, never per sample.
 */
#ifndef CLINIC_TRACE_H
#define CLINIC_TRACE_H

#include <gtk/gtk.h>

#define CLINIC_TYPE_TRACE (clinic_trace_get_type())
G_DECLARE_FINAL_TYPE(ClinicTrace, clinic_trace, CLINIC, TRACE, GtkWidget)

#define CLINIC_TRACE_WINDOW_S 10.0

void clinic_trace_push(ClinicTrace *self, double t_s, float force_n);
void clinic_trace_clear(ClinicTrace *self);
/* cap_n 0 = no session (no lines); warn_fraction from the policy. */
void clinic_trace_set_limits(ClinicTrace *self, double cap_n, double warn_fraction,
			     double target_min_n, double target_max_n);
void clinic_trace_set_alarm(ClinicTrace *self, gboolean alarm);
/* Newest force, NAN when empty. */
double clinic_trace_last_force(ClinicTrace *self);
/* Frames drawn since creation (make bench). */
guint64 clinic_trace_frames(ClinicTrace *self);

#endif
