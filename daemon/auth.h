/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorization (auth.c): one table from method to polkit action.
 */
#ifndef STRIGILD_AUTH_H
#define STRIGILD_AUTH_H

#include <stdio.h>

struct daemon;

int auth_setup(struct daemon *d);
void auth_free(struct daemon *d);
/* polkit action of a method, NULL if the method needs none (for docs/tests) */
const char *auth_action_for(const char *interface, const char *member);
/* "interface member action" per line: strigild --list-actions (tests
 * compare it with the XML: every method has an action). */
void auth_print_table(FILE *f);

#endif
