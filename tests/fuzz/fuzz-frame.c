// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the frame decoder on a stream of frames, plus the
 * GET_INFO and calibration parsers on the same bytes.
 *
 * Input: byte 0 picks the decoder's channel mask; then records of
 * [length byte][length bytes], each decoded as one interrupt transfer.
 * Invariants are checked with __builtin_trap(): a decoded block must
 * re-encode to the same frame, counters must add up, and a blob that
 * parses must survive a wire round trip.
 */
#include <stdint.h>
#include <string.h>

#include "strigil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

static void check_block(const uint8_t *frame, size_t len, const struct sg_block *b)
{
	uint8_t again[STRIGIL_FRAME_MAX_SIZE];
	int n;

	ASSERT(b->nsamples >= 1 && b->nsamples <= STRIGIL_MAX_SAMPLES_ANY);
	ASSERT(b->nchannels == sg_popcount8(b->channel_mask));
	ASSERT((b->flags & ~STRIGIL_STATUS_KNOWN) == 0);
	ASSERT(b->lost_before <= (uint64_t)SG_SEQ_MAX_GAP * STRIGIL_MAX_SAMPLES_ANY);
	n = sg_encode_frame(again, sizeof(again), b->seq, b->t0_us, b->flags,
			    b->channel_mask, (const int32_t (*)[STRIGIL_MAX_CHANNELS])b->raw,
			    b->nsamples);
	ASSERT(n == (int)len);
	/* identical but for reserved flag bits and the reserved field */
	ASSERT(memcmp(again, frame, 12) == 0);
	ASSERT(memcmp(again + 16, frame + 16, len - 16) == 0);
}

static void fuzz_wire(const uint8_t *data, size_t size)
{
	struct sg_device_info info;
	struct sg_calibration c, c2;
	struct strigil_calibration w, w2;

	if (sg_device_info_from_wire(data, size, &info) == 0) {
		ASSERT(sg_channel_mask_valid(info.channel_mask));
		ASSERT(info.nrates >= 1 && info.nrates <= STRIGIL_MAX_RATES);
		ASSERT(info.serial[0] != '\0');
		ASSERT(strlen(info.serial) <= 16 && strlen(info.model) <= 16);
	}
	if (size < sizeof(w))
		return;
	memcpy(&w, data, sizeof(w));
	if (sg_calibration_from_wire(&w, &c) != 0)
		return;
	ASSERT(sg_calibration_to_wire(&c, &w2) == 0);
	ASSERT(sg_calibration_from_wire(&w2, &c2) == 0);
	ASSERT(memcmp(&c, &c2, sizeof(c)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t masks[] = { 0x01, 0x07, 0x0f, 0x03, 0x00, 0x10 };
	struct sg_decoder d;
	struct sg_block b;
	uint64_t calls = 0, samples = 0;

	fuzz_wire(data, size);
	if (size < 1)
		return 0;
	sg_decoder_init(&d, masks[data[0] % sizeof(masks)]);
	data++;
	size--;
	while (size > 0) {
		size_t len = data[0];
		enum sg_frame_error e;

		data++;
		size--;
		if (len > size)
			len = size;
		e = sg_decode_frame(&d, data, len, &b);
		calls++;
		ASSERT(e <= SG_FRAME_STALE);
		ASSERT(sg_frame_error_str(e)[0] != '\0');
		if (e == SG_FRAME_OK) {
			check_block(data, len, &b);
			samples += b.nsamples;
		}
		data += len;
		size -= len;
	}
	ASSERT(d.frames_ok + d.frames_bad == calls);
	ASSERT(d.samples_ok == samples);
	ASSERT(d.frames_stale <= d.frames_bad);
	return 0;
}
