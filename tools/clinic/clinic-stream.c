/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "clinic-stream.h"

int clinic_stream_parse(const void *buf, size_t len, struct clinic_stream_stats *st,
			clinic_sample_fn fn, void *user)
{
	struct strigil_stream_hdr h;
	const unsigned char *p = buf;
	size_t i;

	if (len < sizeof(h))
		goto bad;
	memcpy(&h, p, sizeof(h));
	if (h.magic != STRIGIL_STREAM_MAGIC || h.version != STRIGIL_STREAM_VERSION ||
	    h.count == 0 || h.count > STRIGIL_STREAM_MAX_SAMPLES ||
	    len != sizeof(h) + (size_t)h.count * sizeof(struct strigil_stream_sample))
		goto bad;
	st->packets++;
	st->samples += h.count;
	st->dropped += h.dropped;
	st->lost += h.lost;
	for (i = 0; i < h.count; i++) {
		struct strigil_stream_sample s;

		memcpy(&s, p + sizeof(h) + i * sizeof(s), sizeof(s));
		fn(user, s.t_s, s.force_n);
	}
	return h.count;
bad:
	st->bad++;
	return -1;
}
