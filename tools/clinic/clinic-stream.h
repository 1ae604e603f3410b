/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Instrument.OpenStream packets (docs/dbus-api.md, daemon/stream.h, the
 * published format the docs tell applications to copy).
 */
#ifndef CLINIC_STREAM_H
#define CLINIC_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <strigil/stream.h>

struct clinic_stream_stats {
	uint64_t packets, samples, dropped, lost, bad;
};

typedef void (*clinic_sample_fn)(void *user, double t_s, float force_n);

/*
 * Checks one received packet (magic, version, count within 1..64, length
 * exactly header + count samples) and hands each sample to fn. Returns
 * the number of samples, or -1 for a malformed packet (counted in bad,
 * nothing delivered).
 */
int clinic_stream_parse(const void *buf, size_t len, struct clinic_stream_stats *st,
			clinic_sample_fn fn, void *user);

#endif
