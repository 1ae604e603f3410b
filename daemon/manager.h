/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Manager object (manager.c).
 */
#ifndef STRIGILD_MANAGER_H
#define STRIGILD_MANAGER_H

struct daemon;

/* Emits PropertiesChanged for the Manager's object lists. */
void manager_emit_changed(struct daemon *d, const char *property);
/* sd_notify STATUS= line: instruments connected, sessions in progress. */
void manager_notify_status(struct daemon *d);
int manager_setup_bus(struct daemon *d);

#endif
