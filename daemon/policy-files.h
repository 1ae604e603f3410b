/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which clinic policy strigild runs with, the systemd way: the
 * administrator's file in /etc replaces the vendor's under /usr/share, and
 * with neither the built-in defaults apply (the shipped daemon/policy.conf,
 * compiled in). No merging: one whole file is in force, so what a clinic
 * reads is exactly what limits its patients.
 */
#ifndef SGD_POLICY_FILES_H
#define SGD_POLICY_FILES_H

#include <stddef.h>

#include "policy.h"

#define SGD_POLICY_ETC     "/etc/strigil/policy.conf"
#define SGD_POLICY_VENDOR  "/usr/share/strigil/policy.conf"
#define SGD_POLICY_BUILTIN "(built-in defaults)"

/* daemon/policy.conf as built into the binary (generated at build time). */
extern const char sgd_policy_builtin[];
extern const size_t sgd_policy_builtin_len;

/*
 * Loads the first of paths[0..n) that exists, else the built-in defaults.
 * Only a missing file (ENOENT) falls through to the next: an unreadable or
 * invalid file is an error and *out stays untouched, so a broken /etc file
 * never quietly hands the clinic back the vendor's caps. *used is the path
 * in force, or SGD_POLICY_BUILTIN.
 */
int sgd_policy_load_first(const char *const *paths, size_t n,
			  struct sgd_policy **out, const char **used,
			  char *err, size_t errlen);

#endif
