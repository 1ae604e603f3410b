/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main window: three screens in a view stack, the service banner
 * (shown whenever strigild is not there, never a frozen window), and the
 * wiring between screens (the window passes the chosen patient along; no
 * screen reaches into another).
 */
#include "clinic-history.h"
#include "clinic-patients.h"
#include "clinic-treatment.h"
#include "clinic-window.h"

struct _ClinicWindow {
	AdwApplicationWindow parent;
	ClinicService *service;

	AdwViewStack *stack;
	AdwToastOverlay *toasts;
	GtkRevealer *service_revealer;
	GtkLabel *service_label, *patient_label;
	GtkSpinner *service_spinner;
	ClinicPatients *patients;
	ClinicTreatment *treatment;
	ClinicHistory *history;
};

G_DEFINE_FINAL_TYPE(ClinicWindow, clinic_window, ADW_TYPE_APPLICATION_WINDOW)

void clinic_window_toast(GtkWidget *any_child, const char *text)
{
	GtkRoot *root = gtk_widget_get_root(any_child);
	AdwToast *t;

	if (!root || !CLINIC_IS_WINDOW(root))
		return;
	t = adw_toast_new(text);
	adw_toast_set_timeout(t, 6);
	adw_toast_overlay_add_toast(CLINIC_WINDOW(root)->toasts, t);
}

static void on_service_state(ClinicService *service, gpointer data)
{
	ClinicWindow *self = data;
	ClinicServiceState st = clinic_service_get_state(service);
	GtkWidget *box = gtk_widget_get_parent(GTK_WIDGET(self->service_label));

	gtk_label_set_text(self->service_label, clinic_service_get_state_text(service) ?
			   clinic_service_get_state_text(service) : "");
	gtk_revealer_set_reveal_child(self->service_revealer, st != CLINIC_SERVICE_READY);
	gtk_spinner_set_spinning(self->service_spinner, st == CLINIC_SERVICE_CONNECTING);
	if (st == CLINIC_SERVICE_READY)
		gtk_widget_remove_css_class(box, "service-down");
	else
		gtk_widget_add_css_class(box, "service-down");
	if (st == CLINIC_SERVICE_READY)
		gtk_label_set_text(self->patient_label, "No patient selected");
}

static void on_patient_selected(ClinicPatients *p, StrigilProfile *profile, gpointer data)
{
	ClinicWindow *self = data;
	g_autofree char *t = NULL;

	if (profile)
		t = g_strdup_printf("Patient %s", strigil_profile_get_patient_ref(profile));
	gtk_label_set_text(self->patient_label, t ? t : "No patient selected");
	/* A running session keeps its patient: the snapshot the daemon took. */
	if (!clinic_treatment_in_session(self->treatment))
		clinic_treatment_set_profile(self->treatment, profile);
	clinic_history_set_profile(self->history, profile);
}

static void on_treat(ClinicPatients *p, StrigilProfile *profile, gpointer data)
{
	ClinicWindow *self = data;

	clinic_treatment_set_profile(self->treatment, profile);
	adw_view_stack_set_visible_child_name(self->stack, "treatment");
}

static void on_history(ClinicPatients *p, StrigilProfile *profile, gpointer data)
{
	ClinicWindow *self = data;

	clinic_history_set_profile(self->history, profile);
	adw_view_stack_set_visible_child_name(self->stack, "history");
}

static void on_session_ended(ClinicTreatment *t, const char *path, gpointer data)
{
	clinic_history_refresh(CLINIC_WINDOW(data)->history);
}

static void show_page(GSimpleAction *a, GVariant *param, gpointer data)
{
	adw_view_stack_set_visible_child_name(CLINIC_WINDOW(data)->stack, g_variant_get_string(param, NULL));
}

static void clinic_window_dispose(GObject *obj)
{
	ClinicWindow *self = CLINIC_WINDOW(obj);

	g_clear_object(&self->service);
	gtk_widget_dispose_template(GTK_WIDGET(obj), CLINIC_TYPE_WINDOW);
	G_OBJECT_CLASS(clinic_window_parent_class)->dispose(obj);
}

static void clinic_window_class_init(ClinicWindowClass *klass)
{
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = clinic_window_dispose;
	g_type_ensure(CLINIC_TYPE_PATIENTS);
	g_type_ensure(CLINIC_TYPE_TREATMENT);
	g_type_ensure(CLINIC_TYPE_HISTORY);
	gtk_widget_class_set_template_from_resource(wc, "/org/strigil/Clinic/window.ui");
#define CHILD(n) gtk_widget_class_bind_template_child(wc, ClinicWindow, n)
	CHILD(stack); CHILD(toasts); CHILD(service_revealer); CHILD(service_label);
	CHILD(service_spinner); CHILD(patient_label); CHILD(patients); CHILD(treatment); CHILD(history);
#undef CHILD
}

static void clinic_window_init(ClinicWindow *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
}

ClinicWindow *clinic_window_new(AdwApplication *app, ClinicService *service, gboolean bench)
{
	ClinicWindow *self = g_object_new(CLINIC_TYPE_WINDOW, "application", app, NULL);
	static const GActionEntry actions[] = {
		{ "show", show_page, "s", NULL, NULL, { 0 } },
	};
	static const char *const accels[][2] = {
		{ "win.show::patients", "<Alt>1" },
		{ "win.show::treatment", "<Alt>2" },
		{ "win.show::history", "<Alt>3" },
	};
	g_autoptr(GtkCssProvider) css = gtk_css_provider_new();

	gtk_css_provider_load_from_resource(css, "/org/strigil/Clinic/style.css");
	gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
						   GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
	g_action_map_add_action_entries(G_ACTION_MAP(self), actions, G_N_ELEMENTS(actions), self);
	for (size_t i = 0; i < G_N_ELEMENTS(accels); i++) {
		const char *keys[] = { accels[i][1], NULL };

		gtk_application_set_accels_for_action(GTK_APPLICATION(app), accels[i][0], keys);
	}
	self->service = g_object_ref(service);
	g_signal_connect(self->patients, "selected", G_CALLBACK(on_patient_selected), self);
	g_signal_connect(self->patients, "treat", G_CALLBACK(on_treat), self);
	g_signal_connect(self->patients, "history", G_CALLBACK(on_history), self);
	g_signal_connect(self->treatment, "session-ended", G_CALLBACK(on_session_ended), self);
	clinic_treatment_set_bench(self->treatment, bench);
	g_signal_connect_object(service, "state-changed", G_CALLBACK(on_service_state), self, 0);
	clinic_patients_set_service(self->patients, service);
	clinic_treatment_set_service(self->treatment, service);
	clinic_history_set_service(self->history, service);
	on_service_state(service, self);
	return self;
}
