/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checks of text and numbers a caller hands in (text.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "text.h"

/* Well-formed UTF-8: no overlong forms, surrogates or code points beyond
 * Unicode. */
bool text_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned n, i;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return false;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* Valid UTF-8, no control characters, at most max bytes. */
bool string_ok(const char *s, size_t max)
{
	const unsigned char *p;

	if (strlen(s) > max)
		return false;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return text_utf8_valid(s);
}

bool double_ok(double v)
{
	return isfinite(v);
}
