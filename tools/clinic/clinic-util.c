/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clinic-util.h"

static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* Copies the first 'quoted' word, or the word after "region ", into out. */
static bool region_of(const char *msg, char *out, size_t outlen)
{
	const char *p = strchr(msg, '\'');
	size_t n = 0;

	if (p) {
		p++;
		while (p[n] && p[n] != '\'')
			n++;
	} else if ((p = strstr(msg, "region ")) != NULL) {
		p += strlen("region ");
		while (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':'))
			n++;
	}
	if (!p || n == 0 || n >= outlen)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

enum clinic_field clinic_error_field(const char *msg, char *region, size_t regionlen)
{
	if (region && regionlen)
		region[0] = '\0';
	if (!msg)
		return CLINIC_FIELD_NONE;
	/* Order matters: "condition ... region" is about the condition. */
	if (contains(msg, "patient_ref") || contains(msg, "patient reference"))
		return CLINIC_FIELD_REF;
	if (contains(msg, "display_name") || contains(msg, "display name"))
		return CLINIC_FIELD_NAME;
	if (contains(msg, "condition"))
		return CLINIC_FIELD_CONDITIONS;
	if (contains(msg, "target"))
		return CLINIC_FIELD_TARGET;
	if (contains(msg, "region")) {
		if (region && regionlen)
			region_of(msg, region, regionlen);
		return CLINIC_FIELD_REGION_CAPS;
	}
	if (contains(msg, "session cap") || contains(msg, "time cap") ||
	    contains(msg, "max_strokes") || contains(msg, "max_load_s"))
		return CLINIC_FIELD_SESSION_CAPS;
	if (contains(msg, "max force") || contains(msg, "max_force_n") || contains(msg, "newtons"))
		return CLINIC_FIELD_MAX_FORCE;
	return CLINIC_FIELD_NONE;
}

static bool blank(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

bool clinic_parse_newtons(const char *text, double *out)
{
	char *end;
	double v;

	if (!text || blank(text)) {
		*out = 0;
		return true;
	}
	errno = 0;
	v = strtod(text, &end);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (end == text || *end || errno || !isfinite(v) || v < 0)
		return false;
	*out = v;
	return true;
}

bool clinic_parse_count(const char *text, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!text || blank(text)) {
		*out = 0;
		return true;
	}
	while (isspace((unsigned char)*text))
		text++;
	if (!isdigit((unsigned char)*text))
		return false;
	errno = 0;
	v = strtoul(text, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (*end || errno || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

void clinic_split_region(const char *full, char *region, size_t regionlen,
			 char *side, size_t sidelen)
{
	const char *colon = strchr(full, ':');
	size_t n = colon ? (size_t)(colon - full) : strlen(full);

	if (n >= regionlen)
		n = regionlen - 1;
	memcpy(region, full, n);
	region[n] = '\0';
	snprintf(side, sidelen, "%s", colon ? colon + 1 : "");
}

void clinic_join_region(const char *region, const char *side, char *out, size_t outlen)
{
	if (side && *side)
		snprintf(out, outlen, "%s:%s", region, side);
	else
		snprintf(out, outlen, "%s", region);
}

void clinic_format_time(uint64_t us, char *out, size_t outlen)
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;

	if (us == 0 || !localtime_r(&t, &tm)) {
		snprintf(out, outlen, "—");
		return;
	}
	strftime(out, outlen, "%Y-%m-%d %H:%M", &tm);
}

struct advice {
	const char *suffix;
	const char *text;
};

static const struct advice advices[] = {
	{ "Strigil1.Error.InvalidArgument", "The service refused a value; correct it and try again." },
	{ "Strigil1.Error.Contraindicated", "Do not treat this region: the patient has a condition that blocks treatment here." },
	{ "Strigil1.Error.NotCalibrated", "The instrument has never been calibrated: a technician must calibrate it first." },
	{ "Strigil1.Error.CalibrationExpired", "The instrument's calibration has expired: a technician must calibrate it." },
	{ "Strigil1.Error.NoSuchObject", "That record no longer exists; the list has been refreshed." },
	{ "Strigil1.Error.Busy", "The instrument or patient is in use by another session; stop that session first." },
	{ "Strigil1.Error.Disconnected", "The instrument is unplugged: check the USB cable and plug it in." },
	{ "Strigil1.Error.AccessDenied", "You are not authorized for this; ask an administrator for the clinician role." },
	{ "Strigil1.Error.InvalidState", "The session is not in a state that allows this." },
	{ "Strigil1.Error.StorageFailed", "The service could not save to its database; nothing was recorded. Call your administrator." },
	{ "Strigil1.Error.DeviceError", "The instrument refused the request; unplug and re-plug it, then try again." },
	{ "DBus.Error.AccessDenied", "This account may not use the Strigil service; ask an administrator to add you to the clinic group." },
	{ "DBus.Error.ServiceUnknown", "The Strigil service is not running; it is started automatically, or ask your administrator." },
	{ "DBus.Error.NameHasNoOwner", "The Strigil service is not running; it is started automatically, or ask your administrator." },
	{ "DBus.Error.NoReply", "The Strigil service did not answer; try again in a moment." },
	{ "DBus.Error.Timeout", "The Strigil service did not answer in time; try again in a moment." },
	{ "DBus.Error.InteractiveAuthorizationRequired", "Authentication is needed and no authentication agent is running." },
};

const char *clinic_error_advice(const char *name)
{
	size_t i, n, l;

	if (!name)
		return NULL;
	n = strlen(name);
	for (i = 0; i < sizeof(advices) / sizeof(advices[0]); i++) {
		l = strlen(advices[i].suffix);
		if (n >= l && strcmp(name + n - l, advices[i].suffix) == 0)
			return advices[i].text;
	}
	return NULL;
}
