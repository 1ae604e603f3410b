/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigilctl: small json-c accessors shared by the verbs and the pure
 * formatting modules (export, calibration certificate, monitor view).
 * D-Bus replies are converted to json-c trees once (bus.c), so every verb
 * reads values the same way whether it prints text or --json.
 */
#ifndef STRIGILCTL_JSON_H
#define STRIGILCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* The value of key, or NULL (obj may be NULL). */
struct json_object *cj_get(struct json_object *obj, const char *key);
/* Number at key (int, double or numeric string), or def. */
double cj_num(struct json_object *obj, const char *key, double def);
int64_t cj_int(struct json_object *obj, const char *key, int64_t def);
bool cj_bool(struct json_object *obj, const char *key, bool def);
/* String at key, or def (never NULL if def is not). */
const char *cj_str(struct json_object *obj, const char *key, const char *def);
bool cj_has(struct json_object *obj, const char *key);

/* A double with a fixed number of decimals (clean JSON: 7.25, not 7.2500000001). */
struct json_object *cj_fixed(double v, int decimals);

/* RFC 3339 / FHIR instant in UTC with milliseconds; "" when t is not finite. */
void cj_iso8601(double unix_s, char *buf, size_t len);

/* Last path element of a D-Bus object path ("/a/b/c" -> "c"). */
const char *cj_path_tail(const char *path);

/* Sorts an array of objects by an integer key, or by a string key. */
void cj_sort_by_int(struct json_object *array, const char *key);
void cj_sort_by_str(struct json_object *array, const char *key);

/* Pretty JSON to f, with a newline. */
void cj_print(FILE *f, struct json_object *obj);

#endif
