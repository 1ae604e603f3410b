/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patients screen. The list comes from Manager.ListProfiles (API level 3):
 * the daemon searches (reference prefix or display-name substring) and
 * pages, 50 at a time ("Show more patients"), so a clinic with thousands of
 * patients costs one proxy per row shown, not one per patient. A daemon of
 * an older level gives only Manager.Profiles: then one proxy per profile,
 * kept in step with the property, filtered here. The form edits one profile and
 * sends it whole to CreateProfile/Update. The daemon validates: its
 * InvalidArgument sentence is shown next to the field it is about
 * (clinic_error_field). A safety fact in a profile is never dropped by the
 * form: conditions and region caps the form has no widget for are kept
 * and sent back as they were.
 */
#include <string.h>

#include "clinic-patients.h"
#include "clinic-util.h"
#include "clinic-window.h"

struct cond_row {
	char *name;
	gboolean local;
	GtkWidget *check;
	GtkWidget *where;	/* local conditions: regions, empty = everywhere */
};

struct region_row {
	char *key;		/* "calf", "calf:left" */
	GtkWidget *cap, *strokes, *secs;
};

struct _ClinicPatients {
	GtkBox parent;
	ClinicService *service;
	GHashTable *rows;		/* object path -> GtkListBoxRow (owned by the list) */
	GPtrArray *conds;		/* struct cond_row */
	GPtrArray *regions;		/* struct region_row */
	GPtrArray *extra_conditions;	/* char *: names the policy does not list */
	StrigilProfile *current;	/* NULL: the form creates a new profile */
	char *select_after;		/* path to select once its row exists */
	gulong profiles_handler;
	guint region_rows_used;

	GtkSearchEntry *search;
	GtkListBox *list;
	GtkLabel *list_status;
	GtkLabel *form_title, *form_error;
	GtkEntry *ref_entry, *name_entry, *max_force_entry, *target_min_entry,
		 *target_max_entry, *max_strokes_entry, *max_load_entry;
	GtkLabel *ref_error, *name_error, *max_force_error, *target_error,
		 *session_caps_error, *conditions_error, *region_error;
	GtkBox *block_box, *gentle_box;
	GtkGrid *region_grid;
	GtkButton *new_button, *save_button, *treat_button, *history_button, *more_button;

	gboolean paged;		/* the daemon has ListProfiles (APIVersion >= 3) */
	guint list_gen;		/* bumped by each new search: older pages dropped */
	guint loaded;		/* positions of the search read from the daemon */
	guint total;		/* the search's matches, from the last page */
	guint refresh_id;	/* a reload after another client created a profile */
	guint om_sub;		/* InterfacesAdded/Removed of the daemon */
	GDBusConnection *om_conn;
};

#define PAGE 50		/* rows per ListProfiles page */

G_DEFINE_FINAL_TYPE(ClinicPatients, clinic_patients, GTK_TYPE_BOX)

enum { SIG_SELECTED, SIG_TREAT, SIG_HISTORY, N_SIGNALS };
static guint signals[N_SIGNALS];

static void cond_row_free(gpointer p)
{
	struct cond_row *c = p;

	g_free(c->name);
	g_free(c);
}

static void region_row_free(gpointer p)
{
	struct region_row *r = p;

	g_free(r->key);
	g_free(r);
}

/* ---- field errors ---------------------------------------------------- */

static void show_error(GtkLabel *label, const char *text)
{
	gtk_label_set_text(label, text ? text : "");
	gtk_widget_set_visible(GTK_WIDGET(label), text != NULL);
}

static void clear_errors(ClinicPatients *self)
{
	GtkLabel *all[] = { self->form_error, self->ref_error, self->name_error,
			    self->max_force_error, self->target_error, self->session_caps_error,
			    self->conditions_error, self->region_error };

	for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
		show_error(all[i], NULL);
	for (guint i = 0; i < self->regions->len; i++) {
		struct region_row *r = g_ptr_array_index(self->regions, i);

		gtk_widget_remove_css_class(r->cap, "error");
	}
}

static void show_field_error(ClinicPatients *self, const char *text)
{
	char region[96];
	GtkLabel *where;

	switch (clinic_error_field(text, region, sizeof(region))) {
	case CLINIC_FIELD_REF: where = self->ref_error; break;
	case CLINIC_FIELD_NAME: where = self->name_error; break;
	case CLINIC_FIELD_MAX_FORCE: where = self->max_force_error; break;
	case CLINIC_FIELD_TARGET: where = self->target_error; break;
	case CLINIC_FIELD_SESSION_CAPS: where = self->session_caps_error; break;
	case CLINIC_FIELD_CONDITIONS: where = self->conditions_error; break;
	case CLINIC_FIELD_REGION_CAPS:
		where = self->region_error;
		for (guint i = 0; i < self->regions->len; i++) {
			struct region_row *r = g_ptr_array_index(self->regions, i);

			if (region[0] && strcmp(r->key, region) == 0) {
				gtk_widget_add_css_class(r->cap, "error");
				gtk_widget_grab_focus(r->cap);
			}
		}
		break;
	default: where = self->form_error; break;
	}
	show_error(where, text);
}

/* ---- the form --------------------------------------------------------- */

static void set_entry_double(GtkEntry *e, double v)
{
	char buf[32] = "";

	if (v > 0)
		g_snprintf(buf, sizeof(buf), "%g", v);
	gtk_editable_set_text(GTK_EDITABLE(e), buf);
}

static void set_entry_u32(GtkEntry *e, guint32 v)
{
	char buf[32] = "";

	if (v > 0)
		g_snprintf(buf, sizeof(buf), "%u", v);
	gtk_editable_set_text(GTK_EDITABLE(e), buf);
}

static GtkWidget *small_entry(const char *a11y, const char *placeholder)
{
	GtkWidget *e = gtk_entry_new();

	gtk_editable_set_width_chars(GTK_EDITABLE(e), 7);
	gtk_entry_set_placeholder_text(GTK_ENTRY(e), placeholder);
	gtk_accessible_update_property(GTK_ACCESSIBLE(e), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
	return e;
}

static struct region_row *region_row_find(ClinicPatients *self, const char *key)
{
	for (guint i = 0; i < self->regions->len; i++) {
		struct region_row *r = g_ptr_array_index(self->regions, i);

		if (strcmp(r->key, key) == 0)
			return r;
	}
	return NULL;
}

static struct region_row *region_row_add(ClinicPatients *self, const char *key,
					 const char *label, double default_cap)
{
	struct region_row *r = g_new0(struct region_row, 1);
	int row = (int)self->regions->len + 1;
	g_autofree char *a_cap = g_strdup_printf("%s: cap in newtons", label);
	g_autofree char *a_str = g_strdup_printf("%s: strokes per session", label);
	g_autofree char *a_sec = g_strdup_printf("%s: seconds under load per session", label);
	g_autofree char *ph = default_cap > 0 ? g_strdup_printf("%g N", default_cap) : g_strdup("");
	GtkWidget *l = gtk_label_new(label);

	r->key = g_strdup(key);
	gtk_label_set_xalign(GTK_LABEL(l), 0);
	r->cap = small_entry(a_cap, ph);
	r->strokes = small_entry(a_str, "");
	r->secs = small_entry(a_sec, "");
	gtk_grid_attach(self->region_grid, l, 0, row, 1, 1);
	gtk_grid_attach(self->region_grid, r->cap, 1, row, 1, 1);
	gtk_grid_attach(self->region_grid, r->strokes, 2, row, 1, 1);
	gtk_grid_attach(self->region_grid, r->secs, 3, row, 1, 1);
	g_ptr_array_add(self->regions, r);
	return r;
}

/* Rows for the policy's regions (and sides, for lateral ones), once per
 * connection: the policy cannot change while the daemon runs. */
static void build_policy_widgets(ClinicPatients *self, StrigilManager *m)
{
	GVariant *conds = strigil_manager_dup_condition_details(m);
	GVariant *regions = strigil_manager_dup_region_details(m);
	const char *heads[] = { "Region", "Cap (N)", "Strokes", "Seconds" };
	GtkWidget *child;
	GVariantIter it;
	GVariant *d;

	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->block_box))))
		gtk_box_remove(self->block_box, child);
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->gentle_box))))
		gtk_box_remove(self->gentle_box, child);
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->region_grid))))
		gtk_grid_remove(self->region_grid, child);
	g_ptr_array_set_size(self->conds, 0);
	g_ptr_array_set_size(self->regions, 0);

	for (size_t i = 0; i < G_N_ELEMENTS(heads); i++) {
		GtkWidget *h = gtk_label_new(heads[i]);

		gtk_widget_add_css_class(h, "dim-label");
		gtk_label_set_xalign(GTK_LABEL(h), 0);
		gtk_grid_attach(self->region_grid, h, (int)i, 0, 1, 1);
	}
	if (conds) {
		g_variant_iter_init(&it, conds);
		while ((d = g_variant_iter_next_value(&it))) {
			struct cond_row *c = g_new0(struct cond_row, 1);
			const char *kind = clinic_dict_str(d, "kind");
			gboolean blocks = strcmp(kind, "contraindication") == 0;
			gboolean ovr = FALSE;
			GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
			g_autofree char *text = NULL;

			g_variant_lookup(d, "local", "b", &c->local);
			g_variant_lookup(d, "override", "b", &ovr);
			c->name = g_strdup(clinic_dict_str(d, "name"));
			if (blocks)
				text = g_strdup_printf("%s (blocks treatment%s)", clinic_dict_str(d, "label"),
						       ovr ? "; an authorized override is possible" : "");
			else
				text = g_strdup_printf("%s (gentler caps: ×%.2g%s)", clinic_dict_str(d, "label"),
						       clinic_dict_double(d, "cap_factor", 1),
						       clinic_dict_double(d, "cap_max_n", 0) > 0 ? ", capped" : "");
			c->check = gtk_check_button_new_with_label(text);
			gtk_box_append(GTK_BOX(box), c->check);
			if (c->local) {
				g_autofree char *a = g_strdup_printf("%s: only in these regions",
								      clinic_dict_str(d, "label"));
				c->where = small_entry(a, "everywhere");
				gtk_editable_set_width_chars(GTK_EDITABLE(c->where), 18);
				gtk_box_append(GTK_BOX(box), c->where);
			}
			gtk_box_append(blocks ? self->block_box : self->gentle_box, box);
			g_ptr_array_add(self->conds, c);
			g_variant_unref(d);
		}
		g_variant_unref(conds);
	}
	if (regions) {
		g_variant_iter_init(&it, regions);
		while ((d = g_variant_iter_next_value(&it))) {
			const char *name = clinic_dict_str(d, "name");
			const char *label = clinic_dict_str(d, "label");
			double cap = clinic_dict_double(d, "cap_n", 0);
			gboolean lateral = FALSE;

			region_row_add(self, name, label, cap);
			g_variant_lookup(d, "lateral", "b", &lateral);
			if (lateral) {
				g_autofree char *kl = g_strdup_printf("%s:left", name);
				g_autofree char *kr = g_strdup_printf("%s:right", name);
				g_autofree char *ll = g_strdup_printf("%s, left side", label);
				g_autofree char *lr = g_strdup_printf("%s, right side", label);

				region_row_add(self, kl, ll, 0);
				region_row_add(self, kr, lr, 0);
			}
			g_variant_unref(d);
		}
		g_variant_unref(regions);
	}
}

static void fill_form(ClinicPatients *self, StrigilProfile *p)
{
	const char *const *conds = p ? strigil_profile_get_conditions(p) : NULL;
	GVariant *caps = p ? strigil_profile_dup_region_caps_n(p) : NULL;
	GVariant *strokes = p ? strigil_profile_dup_region_max_strokes(p) : NULL;
	GVariant *secs = p ? strigil_profile_dup_region_max_seconds(p) : NULL;
	GVariantIter it;
	const char *key;
	double dv;
	guint32 uv;

	clear_errors(self);
	gtk_label_set_text(self->form_title, p ? "Edit patient" : "New patient");
	gtk_editable_set_text(GTK_EDITABLE(self->ref_entry), p ? strigil_profile_get_patient_ref(p) : "");
	gtk_editable_set_text(GTK_EDITABLE(self->name_entry), p ? strigil_profile_get_display_name(p) : "");
	set_entry_double(self->max_force_entry, p ? strigil_profile_get_max_force_n(p) : 0);
	set_entry_double(self->target_min_entry, p ? strigil_profile_get_target_min_n(p) : 0);
	set_entry_double(self->target_max_entry, p ? strigil_profile_get_target_max_n(p) : 0);
	set_entry_u32(self->max_strokes_entry, p ? strigil_profile_get_max_strokes(p) : 0);
	set_entry_double(self->max_load_entry, p ? strigil_profile_get_max_seconds_under_load(p) : 0);

	g_ptr_array_set_size(self->extra_conditions, 0);
	for (guint i = 0; i < self->conds->len; i++) {
		struct cond_row *c = g_ptr_array_index(self->conds, i);

		gtk_check_button_set_active(GTK_CHECK_BUTTON(c->check), FALSE);
		if (c->where)
			gtk_editable_set_text(GTK_EDITABLE(c->where), "");
	}
	for (size_t k = 0; conds && conds[k]; k++) {
		g_autofree char *name = g_strdup(conds[k]);
		char *at = strchr(name, '@');
		gboolean known = FALSE;

		if (at)
			*at++ = '\0';
		for (guint i = 0; i < self->conds->len; i++) {
			struct cond_row *c = g_ptr_array_index(self->conds, i);

			if (strcmp(c->name, name) != 0)
				continue;
			known = TRUE;
			if (at && c->where && gtk_check_button_get_active(GTK_CHECK_BUTTON(c->check)) &&
			    gtk_editable_get_text(GTK_EDITABLE(c->where))[0] == '\0')
				break;	/* already everywhere */
			if (at && c->where) {
				const char *old = gtk_editable_get_text(GTK_EDITABLE(c->where));
				g_autofree char *t = old[0] ? g_strdup_printf("%s, %s", old, at) : g_strdup(at);

				gtk_editable_set_text(GTK_EDITABLE(c->where), t);
			} else if (c->where) {
				gtk_editable_set_text(GTK_EDITABLE(c->where), "");
			}
			gtk_check_button_set_active(GTK_CHECK_BUTTON(c->check), TRUE);
		}
		if (!known)
			g_ptr_array_add(self->extra_conditions, g_strdup(conds[k]));
	}
	if (self->extra_conditions->len)
		show_error(self->conditions_error,
			   "This profile has conditions the clinic policy no longer lists; they are kept.");

	for (guint i = 0; i < self->regions->len; i++) {
		struct region_row *r = g_ptr_array_index(self->regions, i);

		gtk_editable_set_text(GTK_EDITABLE(r->cap), "");
		gtk_editable_set_text(GTK_EDITABLE(r->strokes), "");
		gtk_editable_set_text(GTK_EDITABLE(r->secs), "");
	}
	if (caps) {
		g_variant_iter_init(&it, caps);
		while (g_variant_iter_next(&it, "{&sd}", &key, &dv)) {
			struct region_row *r = region_row_find(self, key);

			if (!r)	/* e.g. a side the policy no longer marks lateral */
				r = region_row_add(self, key, key, 0);
			set_entry_double(GTK_ENTRY(r->cap), dv);
		}
	}
	if (strokes) {
		g_variant_iter_init(&it, strokes);
		while (g_variant_iter_next(&it, "{&su}", &key, &uv)) {
			struct region_row *r = region_row_find(self, key);

			if (!r)
				r = region_row_add(self, key, key, 0);
			set_entry_u32(GTK_ENTRY(r->strokes), uv);
		}
	}
	if (secs) {
		g_variant_iter_init(&it, secs);
		while (g_variant_iter_next(&it, "{&sd}", &key, &dv)) {
			struct region_row *r = region_row_find(self, key);

			if (!r)
				r = region_row_add(self, key, key, 0);
			set_entry_double(GTK_ENTRY(r->secs), dv);
		}
	}
	g_clear_pointer(&caps, g_variant_unref);
	g_clear_pointer(&strokes, g_variant_unref);
	g_clear_pointer(&secs, g_variant_unref);
	gtk_widget_set_sensitive(GTK_WIDGET(self->treat_button), p != NULL);
	gtk_widget_set_sensitive(GTK_WIDGET(self->history_button), p != NULL);
}

/* Reads the form into a{sv}; a local parse error is shown next to its
 * field and gives NULL (nothing is sent). */
static GVariant *form_to_dict(ClinicPatients *self)
{
	GVariantBuilder b, caps, strokes, secs, conds;
	struct { GtkEntry *e; GtkLabel *err; const char *key; gboolean count; } nums[] = {
		{ self->max_force_entry, self->max_force_error, "max_force_n", FALSE },
		{ self->target_min_entry, self->target_error, "target_min_n", FALSE },
		{ self->target_max_entry, self->target_error, "target_max_n", FALSE },
		{ self->max_strokes_entry, self->session_caps_error, "max_strokes", TRUE },
		{ self->max_load_entry, self->session_caps_error, "max_load_s", FALSE },
	};
	gboolean ok = TRUE;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "patient_ref",
			      g_variant_new_string(gtk_editable_get_text(GTK_EDITABLE(self->ref_entry))));
	g_variant_builder_add(&b, "{sv}", "display_name",
			      g_variant_new_string(gtk_editable_get_text(GTK_EDITABLE(self->name_entry))));
	for (size_t i = 0; i < G_N_ELEMENTS(nums); i++) {
		const char *t = gtk_editable_get_text(GTK_EDITABLE(nums[i].e));
		double dv;
		uint32_t uv;

		if (nums[i].count ? !clinic_parse_count(t, &uv) : !clinic_parse_newtons(t, &dv)) {
			show_error(nums[i].err, nums[i].count ?
				   "Enter a whole number (empty = no cap)." :
				   "Enter a number, e.g. 8 or 7.5 (empty = none).");
			ok = FALSE;
			continue;
		}
		g_variant_builder_add(&b, "{sv}", nums[i].key,
				      nums[i].count ? g_variant_new_uint32(uv) : g_variant_new_double(dv));
	}

	g_variant_builder_init(&caps, G_VARIANT_TYPE("a{sd}"));
	g_variant_builder_init(&strokes, G_VARIANT_TYPE("a{su}"));
	g_variant_builder_init(&secs, G_VARIANT_TYPE("a{sd}"));
	for (guint i = 0; i < self->regions->len; i++) {
		struct region_row *r = g_ptr_array_index(self->regions, i);
		double cap, sec;
		uint32_t n;

		if (!clinic_parse_newtons(gtk_editable_get_text(GTK_EDITABLE(r->cap)), &cap) ||
		    !clinic_parse_count(gtk_editable_get_text(GTK_EDITABLE(r->strokes)), &n) ||
		    !clinic_parse_newtons(gtk_editable_get_text(GTK_EDITABLE(r->secs)), &sec)) {
			g_autofree char *m = g_strdup_printf("Region %s: enter numbers only (empty = clinic default).", r->key);

			show_error(self->region_error, m);
			gtk_widget_add_css_class(r->cap, "error");
			ok = FALSE;
			continue;
		}
		if (cap > 0)
			g_variant_builder_add(&caps, "{sd}", r->key, cap);
		if (n > 0)
			g_variant_builder_add(&strokes, "{su}", r->key, n);
		if (sec > 0)
			g_variant_builder_add(&secs, "{sd}", r->key, sec);
	}
	g_variant_builder_add(&b, "{sv}", "region_caps_n", g_variant_builder_end(&caps));
	g_variant_builder_add(&b, "{sv}", "region_max_strokes", g_variant_builder_end(&strokes));
	g_variant_builder_add(&b, "{sv}", "region_max_seconds", g_variant_builder_end(&secs));

	g_variant_builder_init(&conds, G_VARIANT_TYPE("as"));
	for (guint i = 0; i < self->conds->len; i++) {
		struct cond_row *c = g_ptr_array_index(self->conds, i);
		g_auto(GStrv) parts = NULL;
		gboolean any = FALSE;

		if (!gtk_check_button_get_active(GTK_CHECK_BUTTON(c->check)))
			continue;
		if (c->where) {
			parts = g_regex_split_simple("[,\\s]+", gtk_editable_get_text(GTK_EDITABLE(c->where)), 0, 0);
			for (size_t k = 0; parts[k]; k++) {
				g_autofree char *spec = NULL;

				if (!parts[k][0])
					continue;
				spec = g_strdup_printf("%s@%s", c->name, parts[k]);
				g_variant_builder_add(&conds, "s", spec);
				any = TRUE;
			}
		}
		if (!any)
			g_variant_builder_add(&conds, "s", c->name);
	}
	for (guint i = 0; i < self->extra_conditions->len; i++)
		g_variant_builder_add(&conds, "s", (char *)g_ptr_array_index(self->extra_conditions, i));
	g_variant_builder_add(&b, "{sv}", "conditions", g_variant_builder_end(&conds));

	if (!ok) {
		g_variant_unref(g_variant_ref_sink(g_variant_builder_end(&b)));
		return NULL;
	}
	return g_variant_builder_end(&b);
}

/* ---- the list --------------------------------------------------------- */

static char *row_text(StrigilProfile *p)
{
	const char *name = strigil_profile_get_display_name(p);

	if (name && *name)
		return g_strdup_printf("%s — %s", strigil_profile_get_patient_ref(p), name);
	return g_strdup(strigil_profile_get_patient_ref(p));
}

static void update_row(GtkListBoxRow *row)
{
	StrigilProfile *p = g_object_get_data(G_OBJECT(row), "profile");
	g_autofree char *t = row_text(p);

	gtk_label_set_text(GTK_LABEL(gtk_list_box_row_get_child(row)), t);
	gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, t, -1);
	gtk_list_box_row_changed(row);
}

static gboolean filter_row(GtkListBoxRow *row, gpointer data)
{
	ClinicPatients *self = data;
	StrigilProfile *p = g_object_get_data(G_OBJECT(row), "profile");
	const char *q = gtk_editable_get_text(GTK_EDITABLE(self->search));
	g_autofree char *qn = NULL, *ref = NULL, *name = NULL;

	if (self->paged || !q || !*q)
		return TRUE;	/* the daemon searched */
	qn = g_utf8_casefold(q, -1);
	ref = g_utf8_casefold(strigil_profile_get_patient_ref(p) ? strigil_profile_get_patient_ref(p) : "", -1);
	name = g_utf8_casefold(strigil_profile_get_display_name(p) ? strigil_profile_get_display_name(p) : "", -1);
	return strstr(ref, qn) || strstr(name, qn);
}

static int sort_rows(GtkListBoxRow *a, GtkListBoxRow *b, gpointer data)
{
	StrigilProfile *pa = g_object_get_data(G_OBJECT(a), "profile");
	StrigilProfile *pb = g_object_get_data(G_OBJECT(b), "profile");

	return g_strcmp0(strigil_profile_get_patient_ref(pa), strigil_profile_get_patient_ref(pb));
}

static void select_profile(ClinicPatients *self, StrigilProfile *p)
{
	g_set_object(&self->current, p);
	fill_form(self, p);
	g_signal_emit(self, signals[SIG_SELECTED], 0, p);
}

static void update_status(ClinicPatients *self)
{
	const char *q = gtk_editable_get_text(GTK_EDITABLE(self->search));
	g_autofree char *t = NULL;

	if (!self->paged) {
		guint count = g_hash_table_size(self->rows), match = 0;
		GHashTableIter it;
		gpointer row;

		g_hash_table_iter_init(&it, self->rows);
		while (g_hash_table_iter_next(&it, NULL, &row))
			if (row && filter_row(row, self))
				match++;
		if (!count)
			t = g_strdup("No patients yet: create one with New patient.");
		else if (q && *q)
			t = g_strdup_printf("%u of %u patients match “%s”", match, count, q);
		else
			t = g_strdup_printf("%u patient%s", count, count == 1 ? "" : "s");
	} else if (!self->total && q && *q) {
		t = g_strdup_printf("No patient matches “%s”.", q);
	} else if (!self->total) {
		t = g_strdup("No patients yet: create one with New patient.");
	} else if (self->loaded < self->total) {
		t = g_strdup_printf("Showing %u of %u patients", self->loaded, self->total);
	} else {
		t = g_strdup_printf("%u patient%s", self->total, self->total == 1 ? "" : "s");
	}
	gtk_label_set_text(self->list_status, t);
	gtk_widget_set_visible(GTK_WIDGET(self->more_button),
			       self->paged && self->loaded < self->total);
}

static void on_profile_proxy(GObject *src, GAsyncResult *res, gpointer data);

/* A row for path, once its proxy exists (nothing if it is there or coming). */
static void add_pending(ClinicPatients *self, const char *path)
{
	if (g_hash_table_contains(self->rows, path))
		return;
	g_hash_table_insert(self->rows, g_strdup(path), NULL);	/* pending */
	strigil_profile_proxy_new(clinic_service_get_connection(self->service),
				  G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, CLINIC_BUS_NAME, path,
				  clinic_service_get_cancellable(self->service),
				  on_profile_proxy, g_object_ref(self));
}

/* Selects path's row, making one (a patient outside the loaded pages: just
 * created, or found by its exact reference). */
static void show_profile(ClinicPatients *self, char *path /* owned */)
{
	GtkWidget *row = g_hash_table_lookup(self->rows, path);

	if (row) {
		gtk_list_box_select_row(self->list, GTK_LIST_BOX_ROW(row));
		select_profile(self, g_object_get_data(G_OBJECT(row), "profile"));
		g_free(path);
		return;
	}
	g_free(self->select_after);
	self->select_after = path;
	if (self->paged)
		add_pending(self, path);
}

static void on_profile_props(GDBusProxy *proxy, GVariant *changed, GStrv inv, gpointer data)
{
	GtkListBoxRow *row = data;
	ClinicPatients *self = CLINIC_PATIENTS(gtk_widget_get_ancestor(GTK_WIDGET(row), CLINIC_TYPE_PATIENTS));

	update_row(row);
	if (self && (StrigilProfile *)proxy == self->current)
		g_signal_emit(self, signals[SIG_SELECTED], 0, self->current);
}

static void on_profile_proxy(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicPatients *self = data;
	g_autoptr(GError) error = NULL;
	StrigilProfile *p = strigil_profile_proxy_new_finish(res, &error);
	const char *path;
	GtkWidget *row, *label;

	if (!p) {
		if (!clinic_error_is_cancel(error))
			g_warning("profile proxy: %s", error->message);
		g_object_unref(self);
		return;
	}
	path = g_dbus_proxy_get_object_path(G_DBUS_PROXY(p));
	if (!g_hash_table_contains(self->rows, path) || g_hash_table_lookup(self->rows, path)) {
		g_object_unref(p);	/* gone again, or already there */
		g_object_unref(self);
		return;
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(p), CLINIC_CALL_TIMEOUT_MS);
	row = gtk_list_box_row_new();
	label = gtk_label_new("");
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_widget_set_margin_start(label, 8);
	gtk_widget_set_margin_top(label, 6);
	gtk_widget_set_margin_bottom(label, 6);
	gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), label);
	g_object_set_data_full(G_OBJECT(row), "profile", p, g_object_unref);
	g_signal_connect_object(p, "g-properties-changed", G_CALLBACK(on_profile_props), row, G_CONNECT_AFTER);
	gtk_list_box_append(self->list, row);
	g_hash_table_insert(self->rows, g_strdup(path), row);
	update_row(GTK_LIST_BOX_ROW(row));
	if (self->select_after && strcmp(self->select_after, path) == 0) {
		g_clear_pointer(&self->select_after, g_free);
		gtk_list_box_select_row(self->list, GTK_LIST_BOX_ROW(row));
		select_profile(self, p);
	}
	update_status(self);
	g_object_unref(self);
}

static void sync_profiles(ClinicPatients *self)
{
	StrigilManager *m = clinic_service_get_manager(self->service);
	const char *const *paths = m ? strigil_manager_get_profiles(m) : NULL;
	g_autoptr(GHashTable) want = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter it;
	gpointer key, row;

	for (size_t i = 0; paths && paths[i]; i++)
		g_hash_table_add(want, (gpointer)paths[i]);
	g_hash_table_iter_init(&it, self->rows);
	while (g_hash_table_iter_next(&it, &key, &row)) {
		if (g_hash_table_contains(want, key))
			continue;
		if (row) {
			StrigilProfile *p = g_object_get_data(G_OBJECT(row), "profile");

			if (p == self->current)
				select_profile(self, NULL);
			gtk_list_box_remove(self->list, row);
		}
		g_hash_table_iter_remove(&it);
	}
	for (size_t i = 0; paths && paths[i]; i++)
		add_pending(self, paths[i]);
	if (!paths || !paths[0])
		update_status(self);
}

/* ---- the paged list (ListProfiles) ------------------------------------ */

struct page_req {
	ClinicPatients *self;
	guint gen;
	gboolean refresh;	/* positions 0..n again, not the next page */
};

static void on_page(GObject *src, GAsyncResult *res, gpointer data)
{
	struct page_req *req = data;
	ClinicPatients *self = req->self;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) paths = NULL;
	guint total = 0, n = 0;

	if (!strigil_manager_call_list_profiles_finish(STRIGIL_MANAGER(src), &paths, &total, res,
							&error)) {
		if (!clinic_error_is_cancel(error) && req->gen == self->list_gen) {
			g_autofree char *t = clinic_error_text(error);

			gtk_label_set_text(self->list_status, t);
		}
	} else if (req->gen == self->list_gen) {	/* else: an older search */
		for (; paths && paths[n]; n++)
			add_pending(self, paths[n]);
		self->loaded = req->refresh ? MAX(self->loaded, n) : self->loaded + n;
		self->total = total;
		update_status(self);
	}
	g_object_unref(self);
	g_free(req);
}

static void request_page(ClinicPatients *self, guint offset, guint limit, gboolean refresh)
{
	StrigilManager *m = clinic_service_get_manager(self->service);
	struct page_req *req;

	if (!m)
		return;
	req = g_new0(struct page_req, 1);
	req->self = g_object_ref(self);
	req->gen = self->list_gen;
	req->refresh = refresh;
	strigil_manager_call_list_profiles(m, gtk_editable_get_text(GTK_EDITABLE(self->search)),
					   offset, limit, CLINIC_CALL_FLAGS, -1,
					   clinic_service_get_cancellable(self->service),
					   on_page, req);
}

/* Rows of an earlier search go; the form keeps the patient it shows. */
static void new_search(ClinicPatients *self)
{
	GtkWidget *child;

	self->list_gen++;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
		gtk_list_box_remove(self->list, child);
	g_hash_table_remove_all(self->rows);
	self->loaded = self->total = 0;
	request_page(self, 0, PAGE, FALSE);
}

static gboolean refresh_now(gpointer data)
{
	ClinicPatients *self = data;

	self->refresh_id = 0;
	request_page(self, 0, MIN(MAX(self->loaded, PAGE), 1000), TRUE);
	return G_SOURCE_REMOVE;
}

/* Another client created or deleted a profile (the daemon still announces
 * them, though GetManagedObjects no longer lists them): a new one appears
 * if it falls in the loaded positions; a deleted one goes. */
static void on_om_signal(GDBusConnection *conn, const char *sender, const char *path,
			 const char *iface, const char *signal, GVariant *params, gpointer data)
{
	ClinicPatients *self = data;
	const char *obj = NULL;
	GtkWidget *row;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(oa{sa{sv}})")) &&
	    !g_variant_is_of_type(params, G_VARIANT_TYPE("(oas)")))
		return;
	g_variant_get_child(params, 0, "&o", &obj);
	if (!obj || !g_str_has_prefix(obj, STRIGIL_DBUS_PATH_PROFILE "/"))
		return;
	if (strcmp(signal, "InterfacesAdded") == 0) {
		if (!self->refresh_id)
			self->refresh_id = g_timeout_add(200, refresh_now, self);
		return;
	}
	if (!g_hash_table_contains(self->rows, obj))
		return;
	row = g_hash_table_lookup(self->rows, obj);
	if (row) {
		if (g_object_get_data(G_OBJECT(row), "profile") == (gpointer)self->current)
			select_profile(self, NULL);
		gtk_list_box_remove(self->list, row);
	}
	g_hash_table_remove(self->rows, obj);
	if (self->total)
		self->total--;
	if (self->loaded)
		self->loaded--;
	update_status(self);
}

static void unwatch(ClinicPatients *self)
{
	if (self->om_sub)
		g_dbus_connection_signal_unsubscribe(self->om_conn, self->om_sub);
	self->om_sub = 0;
	g_clear_object(&self->om_conn);
	g_clear_handle_id(&self->refresh_id, g_source_remove);
}

static void on_more_clicked(ClinicPatients *self)
{
	if (self->paged)
		request_page(self, self->loaded, PAGE, FALSE);
}

static void clear_list(ClinicPatients *self)
{
	GtkWidget *child;

	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
		gtk_list_box_remove(self->list, child);
	g_hash_table_remove_all(self->rows);
	g_clear_object(&self->current);
}

static void on_service_state(ClinicService *service, gpointer data)
{
	ClinicPatients *self = data;
	StrigilManager *m = clinic_service_get_manager(service);

	clear_list(self);
	unwatch(self);
	self->list_gen++;
	self->paged = FALSE;
	self->loaded = self->total = 0;
	gtk_widget_set_visible(GTK_WIDGET(self->more_button), FALSE);
	gtk_widget_set_sensitive(GTK_WIDGET(self->save_button), m != NULL);
	gtk_widget_set_sensitive(GTK_WIDGET(self->new_button), m != NULL);
	if (!m) {
		gtk_label_set_text(self->list_status, "Patients appear when the Strigil service is running.");
		fill_form(self, NULL);
		return;
	}
	build_policy_widgets(self, m);
	fill_form(self, NULL);
	self->paged = strigil_manager_get_apiversion(m) >= 3;
	if (!self->paged) {
		/* an older daemon: every profile, from the property */
		g_signal_connect_object(m, "notify::profiles", G_CALLBACK(sync_profiles), self,
					G_CONNECT_SWAPPED);
		sync_profiles(self);
		return;
	}
	self->om_conn = g_object_ref(clinic_service_get_connection(service));
	self->om_sub = g_dbus_connection_signal_subscribe(self->om_conn, CLINIC_BUS_NAME,
		"org.freedesktop.DBus.ObjectManager", NULL, CLINIC_ROOT_PATH, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, on_om_signal, self, NULL);
	new_search(self);
}

/* ---- actions ---------------------------------------------------------- */

static void on_saved(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicPatients *self = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	gboolean ok;

	if (STRIGIL_IS_MANAGER(src))
		ok = strigil_manager_call_create_profile_finish(STRIGIL_MANAGER(src), &path, res, &error);
	else
		ok = strigil_profile_call_update_finish(STRIGIL_PROFILE(src), res, &error);
	gtk_widget_set_sensitive(GTK_WIDGET(self->save_button), TRUE);
	if (!ok) {
		if (!clinic_error_is_cancel(error)) {
			g_autofree char *t = clinic_error_text(error);

			show_field_error(self, t);
		}
		g_object_unref(self);
		return;
	}
	clinic_window_toast(GTK_WIDGET(self), path ? "Patient created." : "Patient saved.");
	if (path)
		show_profile(self, g_steal_pointer(&path));
	g_object_unref(self);
}

static void on_save_clicked(ClinicPatients *self)
{
	StrigilManager *m = clinic_service_get_manager(self->service);
	GVariant *dict;

	clear_errors(self);
	if (!m)
		return;
	dict = form_to_dict(self);
	if (!dict)
		return;
	gtk_widget_set_sensitive(GTK_WIDGET(self->save_button), FALSE);
	if (self->current)
		strigil_profile_call_update(self->current, dict, CLINIC_CALL_FLAGS, -1,
					    clinic_service_get_cancellable(self->service),
					    on_saved, g_object_ref(self));
	else
		strigil_manager_call_create_profile(m, dict, CLINIC_CALL_FLAGS, -1,
						    clinic_service_get_cancellable(self->service),
						    on_saved, g_object_ref(self));
}

static void on_new_clicked(ClinicPatients *self)
{
	gtk_list_box_unselect_all(self->list);
	select_profile(self, NULL);
	gtk_widget_grab_focus(GTK_WIDGET(self->ref_entry));
}

static void on_row_activated(ClinicPatients *self, GtkListBoxRow *row)
{
	select_profile(self, g_object_get_data(G_OBJECT(row), "profile"));
}

static void on_search_changed(ClinicPatients *self)
{
	if (self->paged) {
		new_search(self);
	} else {
		gtk_list_box_invalidate_filter(self->list);
		update_status(self);
	}
}

/* Enter in the search: the daemon's exact lookup by reference (the list
 * may still be loading, or be long). */
static void on_found(GObject *src, GAsyncResult *res, gpointer data)
{
	ClinicPatients *self = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;

	if (strigil_manager_call_find_profile_finish(STRIGIL_MANAGER(src), &path, res, &error)) {
		show_profile(self, g_steal_pointer(&path));
	} else if (!clinic_error_is_cancel(error)) {
		g_autofree char *t = clinic_error_text(error);

		gtk_label_set_text(self->list_status, t);
	}
	g_object_unref(self);
}

static void on_search_activate(ClinicPatients *self)
{
	StrigilManager *m = clinic_service_get_manager(self->service);
	const char *q = gtk_editable_get_text(GTK_EDITABLE(self->search));

	if (m && q && *q)
		strigil_manager_call_find_profile(m, q, CLINIC_CALL_FLAGS, -1,
						  clinic_service_get_cancellable(self->service),
						  on_found, g_object_ref(self));
}

static void on_treat_clicked(ClinicPatients *self)
{
	if (self->current)
		g_signal_emit(self, signals[SIG_TREAT], 0, self->current);
}

static void on_history_clicked(ClinicPatients *self)
{
	if (self->current)
		g_signal_emit(self, signals[SIG_HISTORY], 0, self->current);
}

void clinic_patients_set_service(ClinicPatients *self, ClinicService *service)
{
	g_set_object(&self->service, service);
	g_signal_connect_object(service, "state-changed", G_CALLBACK(on_service_state), self, 0);
	on_service_state(service, self);
}

static void clinic_patients_dispose(GObject *obj)
{
	ClinicPatients *self = CLINIC_PATIENTS(obj);

	unwatch(self);
	g_clear_object(&self->current);
	g_clear_object(&self->service);
	gtk_widget_dispose_template(GTK_WIDGET(obj), CLINIC_TYPE_PATIENTS);
	G_OBJECT_CLASS(clinic_patients_parent_class)->dispose(obj);
}

static void clinic_patients_finalize(GObject *obj)
{
	ClinicPatients *self = CLINIC_PATIENTS(obj);

	g_hash_table_unref(self->rows);
	g_ptr_array_unref(self->conds);
	g_ptr_array_unref(self->regions);
	g_ptr_array_unref(self->extra_conditions);
	g_free(self->select_after);
	G_OBJECT_CLASS(clinic_patients_parent_class)->finalize(obj);
}

static void clinic_patients_class_init(ClinicPatientsClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);

	oc->dispose = clinic_patients_dispose;
	oc->finalize = clinic_patients_finalize;
	for (int i = 0; i < N_SIGNALS; i++)
		signals[i] = g_signal_new(i == SIG_SELECTED ? "selected" : i == SIG_TREAT ? "treat" : "history",
					  G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
					  NULL, G_TYPE_NONE, 1, G_TYPE_OBJECT);
	gtk_widget_class_set_template_from_resource(wc, "/org/strigil/Clinic/patients.ui");
#define CHILD(n) gtk_widget_class_bind_template_child(wc, ClinicPatients, n)
	CHILD(search); CHILD(list); CHILD(list_status); CHILD(form_title); CHILD(form_error);
	CHILD(ref_entry); CHILD(name_entry); CHILD(max_force_entry); CHILD(target_min_entry);
	CHILD(target_max_entry); CHILD(max_strokes_entry); CHILD(max_load_entry);
	CHILD(ref_error); CHILD(name_error); CHILD(max_force_error); CHILD(target_error);
	CHILD(session_caps_error); CHILD(conditions_error); CHILD(region_error);
	CHILD(block_box); CHILD(gentle_box); CHILD(region_grid);
	CHILD(new_button); CHILD(save_button); CHILD(treat_button); CHILD(history_button);
	CHILD(more_button);
#undef CHILD
	gtk_widget_class_bind_template_callback(wc, on_search_changed);
	gtk_widget_class_bind_template_callback(wc, on_search_activate);
	gtk_widget_class_bind_template_callback(wc, on_row_activated);
	gtk_widget_class_bind_template_callback(wc, on_new_clicked);
	gtk_widget_class_bind_template_callback(wc, on_more_clicked);
	gtk_widget_class_bind_template_callback(wc, on_save_clicked);
	gtk_widget_class_bind_template_callback(wc, on_treat_clicked);
	gtk_widget_class_bind_template_callback(wc, on_history_clicked);
}

static void clinic_patients_init(ClinicPatients *self)
{
	self->rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->conds = g_ptr_array_new_with_free_func(cond_row_free);
	self->regions = g_ptr_array_new_with_free_func(region_row_free);
	self->extra_conditions = g_ptr_array_new_with_free_func(g_free);
	gtk_widget_init_template(GTK_WIDGET(self));
	gtk_list_box_set_filter_func(self->list, filter_row, self, NULL);
	gtk_list_box_set_sort_func(self->list, sort_rows, self, NULL);
}
