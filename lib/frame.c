// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sample frame decoder and encoder (docs/protocol.md, "Sample frames").
 *
 * Everything in a frame came from a device and is checked before use: the
 * decoder never reads past len, never writes past struct sg_block, and never
 * allocates. Multi-byte fields are read byte by byte, so neither alignment
 * nor host byte order matters.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "strigil.h"

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Two's complement without relying on implementation-defined conversion. */
static int32_t s32_from_u32(uint32_t v)
{
	return v <= INT32_MAX ? (int32_t)v : (int32_t)(v - 0x80000000u) + INT32_MIN;
}

_Static_assert(STRIGIL_MAX_SAMPLES_ANY == 12, "zero_rows_from() clears 12 rows");

/* Clears raw[from..11]: one jump, then one 16-byte store per row (a loop
 * or a memset of a variable size cost about four times as much). */
static inline void zero_rows_from(struct sg_block *out, unsigned from)
{
	static const int32_t z[STRIGIL_MAX_CHANNELS];

#define ZROW(i) memcpy(out->raw[i], z, sizeof(z))
	switch (from) {
	case 0: ZROW(0); /* fall through */
	case 1: ZROW(1); /* fall through */
	case 2: ZROW(2); /* fall through */
	case 3: ZROW(3); /* fall through */
	case 4: ZROW(4); /* fall through */
	case 5: ZROW(5); /* fall through */
	case 6: ZROW(6); /* fall through */
	case 7: ZROW(7); /* fall through */
	case 8: ZROW(8); /* fall through */
	case 9: ZROW(9); /* fall through */
	case 10: ZROW(10); /* fall through */
	case 11: ZROW(11); /* fall through */
	default: break;
	}
#undef ZROW
}

/* The samples into out->raw, every other entry of it zeroed (the block
 * is all zero but for what the frame carries), rows written whole (16
 * bytes). A memset of the whole block first was a `rep stos` of 212
 * bytes per frame, a quarter of the decoder's time at 4 samples a frame. */
static inline __attribute__((always_inline))
void copy_samples(struct sg_block *out, const uint8_t *p, unsigned count, unsigned nch)
{
	for (unsigned i = 0; i < count; i++) {
		int32_t row[STRIGIL_MAX_CHANNELS] = { 0 };

		for (unsigned k = 0; k < nch; k++, p += 4)
			row[k] = s32_from_u32(get_le32(p));
		memcpy(out->raw[i], row, sizeof(row));
	}
	zero_rows_from(out, count);
}

static inline bool mask_valid(uint8_t mask)
{
	return (mask & ~STRIGIL_CH_MASK_ALL) == 0 &&
	       (mask & STRIGIL_CH_BIT(STRIGIL_CH_NORMAL)) != 0;
}

bool sg_channel_mask_valid(uint8_t mask)
{
	return mask_valid(mask);
}

const char *sg_frame_error_str(enum sg_frame_error e)
{
	switch (e) {
	case SG_FRAME_OK:	return "ok";
	case SG_FRAME_SHORT:	return "frame shorter than its header";
	case SG_FRAME_TYPE:	return "unknown frame type";
	case SG_FRAME_VERSION:	return "unsupported frame version";
	case SG_FRAME_CHANNELS:	return "channel mask differs from the device's";
	case SG_FRAME_COUNT:	return "sample count zero or above the maximum";
	case SG_FRAME_LENGTH:	return "frame length does not match its sample count";
	case SG_FRAME_STALE:	return "stale or duplicate sequence number";
	}
	return "unknown frame error";
}

void sg_decoder_init(struct sg_decoder *d, uint8_t channel_mask)
{
	memset(d, 0, sizeof(*d));
	d->channel_mask = channel_mask;
	d->nchannels = (uint8_t)sg_popcount8(channel_mask);
}

static enum sg_frame_error reject(struct sg_decoder *d, enum sg_frame_error e)
{
	d->frames_bad++;
	if (e == SG_FRAME_STALE)
		d->frames_stale++;
	return e;
}

/*
 * Sequence numbers use serial number arithmetic (RFC 1982) on 32 bits:
 * delta = seq - expected, read as a signed 32-bit distance.
 *   delta == 0                          in order
 *   0 < delta <= SG_SEQ_MAX_GAP         delta frames were lost
 *   -SG_SEQ_STALE_WINDOW <= delta < 0   stale or duplicate: dropped
 *   anything else                       the device restarted or the stream
 *                                       jumped: accept and resynchronise,
 *                                       loss unknown (counted in resyncs)
 * so a device reset (seq back to 0 after hours) costs no more than
 * SG_SEQ_STALE_WINDOW frames and never wedges the stream.
 */
enum sg_frame_error sg_decode_frame(struct sg_decoder *d, const void *buf,
				    size_t len, struct sg_block *out)
{
	const uint8_t *p = buf;
	unsigned count, nch;
	uint32_t seq, lost = 0;
	bool resync = false;

	if (!buf || len < STRIGIL_FRAME_HDR_SIZE)
		return reject(d, SG_FRAME_SHORT);
	if (p[0] != STRIGIL_FRAME_TYPE_SAMPLES)
		return reject(d, SG_FRAME_TYPE);
	if (p[1] != STRIGIL_FRAME_VERSION)
		return reject(d, SG_FRAME_VERSION);
	if (!mask_valid(d->channel_mask) || p[3] != d->channel_mask)
		return reject(d, SG_FRAME_CHANNELS);
	nch = d->nchannels;
	count = p[2];
	if (count == 0 || count > STRIGIL_MAX_SAMPLES_PER_FRAME(nch))
		return reject(d, SG_FRAME_COUNT);
	if (len != STRIGIL_FRAME_HDR_SIZE + (size_t)count * nch * 4)
		return reject(d, SG_FRAME_LENGTH);

	seq = get_le32(p + 4);
	if (d->have_seq && seq != d->next_seq) {
		uint32_t ahead = seq - d->next_seq;
		uint32_t behind = d->next_seq - seq;

		if (ahead <= SG_SEQ_MAX_GAP)
			lost = ahead * d->last_count;
		else if (behind <= SG_SEQ_STALE_WINDOW)
			return reject(d, SG_FRAME_STALE);
		else
			resync = true;
	}

	/* the header part (padding included); raw[] in copy_samples */
	memset(out, 0, offsetof(struct sg_block, raw));
	out->seq = seq;
	out->t0_us = get_le32(p + 8);
	out->flags = get_le16(p + 12) & STRIGIL_STATUS_KNOWN;
	out->channel_mask = d->channel_mask;
	out->nchannels = (uint8_t)nch;
	out->nsamples = (uint8_t)count;
	out->lost_before = lost;
	p += STRIGIL_FRAME_HDR_SIZE;
	/* A constant channel count per case lets the compiler unroll the
	 * inner loop: this runs for every sample of every instrument. */
	switch (nch) {
	case 1: copy_samples(out, p, count, 1); break;
	case 2: copy_samples(out, p, count, 2); break;
	case 3: copy_samples(out, p, count, 3); break;
	case 4: copy_samples(out, p, count, 4); break;
	default: copy_samples(out, p, count, nch); break;
	}

	d->have_seq = true;
	d->next_seq = seq + 1;
	d->last_count = (uint8_t)count;
	d->frames_ok++;
	d->samples_ok += count;
	d->samples_lost += lost;
	if (resync)
		d->resyncs++;
	return SG_FRAME_OK;
}

int sg_encode_frame(void *buf, size_t buflen, uint32_t seq, uint32_t t0_us,
		    uint16_t flags, uint8_t channel_mask,
		    const int32_t (*raw)[STRIGIL_MAX_CHANNELS], unsigned nsamples)
{
	uint8_t *p = buf;
	unsigned nch = sg_popcount8(channel_mask);
	size_t len;

	if (!buf || !raw || !sg_channel_mask_valid(channel_mask) ||
	    nsamples == 0 || nsamples > STRIGIL_MAX_SAMPLES_PER_FRAME(nch))
		return -EINVAL;
	len = STRIGIL_FRAME_HDR_SIZE + (size_t)nsamples * nch * 4;
	if (buflen < len)
		return -EINVAL;

	p[0] = STRIGIL_FRAME_TYPE_SAMPLES;
	p[1] = STRIGIL_FRAME_VERSION;
	p[2] = (uint8_t)nsamples;
	p[3] = channel_mask;
	put_le32(p + 4, seq);
	put_le32(p + 8, t0_us);
	put_le16(p + 12, flags);
	put_le16(p + 14, 0);
	p += STRIGIL_FRAME_HDR_SIZE;
	for (unsigned i = 0; i < nsamples; i++)
		for (unsigned k = 0; k < nch; k++, p += 4)
			put_le32(p, (uint32_t)raw[i][k]);
	return (int)len;
}
