/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checks of what callers hand in, shared by the domain cores and the bus
 * glue (no bus here). */
#ifndef STRIGILD_TEXT_H
#define STRIGILD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Well-formed UTF-8 (no overlong forms, surrogates, or code points
 * beyond U+10FFFF). */
bool text_utf8_valid(const char *s);
/* At most max bytes of valid UTF-8 without control characters. */
bool string_ok(const char *s, size_t max);
/* A finite number (not NaN, not infinite). */
bool double_ok(double v);

#endif
