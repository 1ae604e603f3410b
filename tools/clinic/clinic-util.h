/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pure helpers of strigil-clinic: no GTK, no bus. Unit-tested in
 * tests/clinic/test-clinic-unit.c.
 */
#ifndef CLINIC_UTIL_H
#define CLINIC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The profile form's fields a daemon validation message can belong to. */
enum clinic_field {
	CLINIC_FIELD_NONE = 0,		/* shown at the top of the form */
	CLINIC_FIELD_REF,
	CLINIC_FIELD_NAME,
	CLINIC_FIELD_MAX_FORCE,
	CLINIC_FIELD_TARGET,
	CLINIC_FIELD_SESSION_CAPS,
	CLINIC_FIELD_REGION_CAPS,
	CLINIC_FIELD_CONDITIONS,
};

/*
 * Which field a strigild InvalidArgument sentence is about (the daemon's
 * messages name the key or the thing: "target band ...", "unknown region
 * 'x'", "Another profile already uses that patient reference."). When
 * the message names a region, *region gets it (regionlen bytes).
 */
enum clinic_field clinic_error_field(const char *message, char *region, size_t regionlen);

/* A number typed by the clinician: whole string, finite, >= 0. Empty text
 * is 0 ("none"/"clinic default"). False for anything else. */
bool clinic_parse_newtons(const char *text, double *out);
bool clinic_parse_count(const char *text, uint32_t *out);

/* "calf:left" -> region "calf", side "left"; "neck" -> "neck", "". */
void clinic_split_region(const char *full, char *region, size_t regionlen,
			 char *side, size_t sidelen);

/* "calf" + "left" -> "calf:left"; an empty side gives the bare region. */
void clinic_join_region(const char *region, const char *side, char *out, size_t outlen);

/* Local time of a µs-since-epoch timestamp, "2026-12-03 14:05" (or
 * "—" for 0). */
void clinic_format_time(uint64_t us, char *out, size_t outlen);

/* A sentence for the clinician for a D-Bus error name (what to do next,
 * no D-Bus jargon); NULL if the name is not one we know. */
const char *clinic_error_advice(const char *dbus_error_name);

#endif
