// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl-json.h"

struct json_object *cj_get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

bool cj_has(struct json_object *obj, const char *key)
{
	return cj_get(obj, key) != NULL;
}

double cj_num(struct json_object *obj, const char *key, double def)
{
	struct json_object *v = cj_get(obj, key);
	const char *s;
	char *end;
	double d;

	if (!v)
		return def;
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		return json_object_get_double(v);
	case json_type_string:
		s = json_object_get_string(v);
		errno = 0;
		d = strtod(s, &end);
		if (errno || end == s || *end)
			return def;
		return d;
	default:
		return def;
	}
}

int64_t cj_int(struct json_object *obj, const char *key, int64_t def)
{
	struct json_object *v = cj_get(obj, key);

	if (!v)
		return def;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	double d = cj_num(obj, key, NAN);
	if (!isfinite(d) || d < -9.2e18 || d > 9.2e18)
		return def;
	return (int64_t)d;
}

bool cj_bool(struct json_object *obj, const char *key, bool def)
{
	struct json_object *v = cj_get(obj, key);

	if (!v)
		return def;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v) != 0;
	return def;
}

const char *cj_str(struct json_object *obj, const char *key, const char *def)
{
	struct json_object *v = cj_get(obj, key);

	if (!v || !json_object_is_type(v, json_type_string))
		return def;
	return json_object_get_string(v);
}

struct json_object *cj_fixed(double v, int decimals)
{
	char buf[64];

	if (!isfinite(v))
		return NULL;	/* JSON has no NaN: the key is left out */
	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	if (strcmp(buf, "-0") == 0 || strspn(buf, "-0.") == strlen(buf))
		snprintf(buf, sizeof(buf), "%.*f", decimals, 0.0);
	return json_object_new_double_s(strtod(buf, NULL), buf);
}

void cj_iso8601(double unix_s, char *buf, size_t len)
{
	struct tm tm;
	time_t t;
	int ms;

	if (!isfinite(unix_s) || unix_s < 0 || unix_s > 253402300799.0) {
		if (len)
			buf[0] = '\0';
		return;
	}
	t = (time_t)floor(unix_s);
	ms = (int)floor((unix_s - (double)t) * 1000.0 + 0.5);
	if (ms >= 1000) {
		t++;
		ms -= 1000;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

const char *cj_path_tail(const char *path)
{
	const char *s;

	if (!path)
		return "";
	s = strrchr(path, '/');
	return s ? s + 1 : path;
}

void cj_print(FILE *f, struct json_object *obj)
{
	fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					     JSON_C_TO_STRING_SPACED |
					     JSON_C_TO_STRING_NOSLASHESCAPE), f);
	fputc('\n', f);
}

/* json_object_array_sort() has no user data: the key goes through a static. */
static const char *sort_key;

static int cmp_int(const void *a, const void *b)
{
	int64_t x = cj_int(*(struct json_object *const *)a, sort_key, 0);
	int64_t y = cj_int(*(struct json_object *const *)b, sort_key, 0);

	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(cj_str(*(struct json_object *const *)a, sort_key, ""),
		      cj_str(*(struct json_object *const *)b, sort_key, ""));
}

void cj_sort_by_int(struct json_object *array, const char *key)
{
	sort_key = key;
	json_object_array_sort(array, cmp_int);
}

void cj_sort_by_str(struct json_object *array, const char *key)
{
	sort_key = key;
	json_object_array_sort(array, cmp_str);
}
