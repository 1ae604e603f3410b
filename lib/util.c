// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <zlib.h>

#include "strigil.h"

unsigned sg_popcount8(uint8_t mask)
{
	return (unsigned)__builtin_popcount(mask);
}

bool sg_parse_number(const char *s, double *v)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return *end == '\0' && errno != ERANGE && isfinite(*v);
}

/* The IEEE CRC of zlib: the same as the kernel's crc32_le(~0, ..) ^ ~0. */
uint32_t sg_crc32(const void *buf, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	const unsigned char *p = buf;

	while (len > 0) {
		uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;

		crc = crc32(crc, p, chunk);
		p += chunk;
		len -= chunk;
	}
	return (uint32_t)crc;
}
