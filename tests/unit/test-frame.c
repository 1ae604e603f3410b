// SPDX-License-Identifier: LGPL-2.1-or-later
/* Frame decoder: every error kind, gaps, wraparound, stale, resync. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "strigil.h"

#define M1 0x01
#define M3 0x07
#define M4 0x0f

static int32_t raw_in[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS];

static int enc(uint8_t *buf, uint32_t seq, uint8_t mask, unsigned n)
{
	return sg_encode_frame(buf, STRIGIL_FRAME_MAX_SIZE, seq, seq * 1000u,
			       STRIGIL_STATUS_BUTTON, mask,
			       (const int32_t (*)[STRIGIL_MAX_CHANNELS])raw_in, n);
}

static void test_roundtrip(void)
{
	uint8_t buf[64];
	struct sg_decoder d;
	struct sg_block b;
	int len;

	for (unsigned i = 0; i < STRIGIL_MAX_SAMPLES_ANY; i++)
		for (unsigned k = 0; k < STRIGIL_MAX_CHANNELS; k++)
			raw_in[i][k] = (int32_t)(i * 1000 + k) - 5000;
	raw_in[0][0] = INT32_MIN;
	raw_in[1][0] = INT32_MAX;

	/* exact byte layout of the header */
	len = enc(buf, 0x01020304u, M3, 4);
	CHECK_EQ_INT(len, 16 + 4 * 3 * 4);
	CHECK(buf[0] == 0x53 && buf[1] == 1 && buf[2] == 4 && buf[3] == M3, "hdr");
	CHECK(buf[4] == 0x04 && buf[7] == 0x01, "seq little endian");
	CHECK(buf[12] == STRIGIL_STATUS_BUTTON && buf[13] == 0, "flags");
	CHECK(buf[14] == 0 && buf[15] == 0, "reserved zero");
	CHECK(buf[16] == 0x00 && buf[19] == 0x80, "INT32_MIN as le32");

	sg_decoder_init(&d, M3);
	CHECK_EQ_INT(d.nchannels, 3);
	CHECK_EQ_INT(sg_decode_frame(&d, buf, (size_t)len, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.seq, 0x01020304u);
	CHECK_EQ_INT(b.t0_us, 0x01020304u * 1000u);
	CHECK_EQ_INT(b.flags, STRIGIL_STATUS_BUTTON);
	CHECK_EQ_INT(b.nsamples, 4);
	CHECK_EQ_INT(b.nchannels, 3);
	CHECK_EQ_INT(b.channel_mask, M3);
	CHECK_EQ_INT(b.lost_before, 0);
	CHECK_EQ_INT(b.raw[0][0], INT32_MIN);
	CHECK_EQ_INT(b.raw[1][0], INT32_MAX);
	CHECK_EQ_INT(b.raw[3][2], 3002 - 5000);
	CHECK_EQ_INT(b.raw[4][0], 0);	/* unused entries are zeroed */
	CHECK_EQ_INT(d.frames_ok, 1);
	CHECK_EQ_INT(d.samples_ok, 4);

	/* reserved status bits are dropped, known ones kept */
	buf[12] = 0xff;
	buf[13] = 0xff;
	memset(buf + 4, 0, 4);
	sg_decoder_init(&d, M3);
	CHECK_EQ_INT(sg_decode_frame(&d, buf, (size_t)len, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.flags, STRIGIL_STATUS_KNOWN);

	/* maximum sizes per channel count */
	CHECK_EQ_INT(enc(buf, 1, M1, 12), 64);
	CHECK_EQ_INT(enc(buf, 1, M4, 3), 64);
	CHECK_EQ_INT(enc(buf, 1, M4, 4), -EINVAL);
	CHECK_EQ_INT(enc(buf, 1, M1, 0), -EINVAL);
	CHECK_EQ_INT(enc(buf, 1, 0x02, 1), -EINVAL);	/* no NORMAL */
	CHECK_EQ_INT(enc(buf, 1, 0x11, 1), -EINVAL);	/* unknown channel */
	CHECK_EQ_INT(sg_encode_frame(buf, 19, 1, 0, 0, M1,
				     (const int32_t (*)[STRIGIL_MAX_CHANNELS])raw_in, 1),
		     -EINVAL);
	CHECK_EQ_INT(sg_encode_frame(buf, 20, 1, 0, 0, M1,
				     (const int32_t (*)[STRIGIL_MAX_CHANNELS])raw_in, 1),
		     20);
	CHECK_EQ_INT(sg_encode_frame(NULL, 64, 1, 0, 0, M1,
				     (const int32_t (*)[STRIGIL_MAX_CHANNELS])raw_in, 1),
		     -EINVAL);
}

static void expect_error(const uint8_t *buf, size_t len, uint8_t mask,
			 enum sg_frame_error want, const char *what)
{
	struct sg_decoder d;
	struct sg_block b;
	enum sg_frame_error e;

	sg_decoder_init(&d, mask);
	memset(&b, 0xa5, sizeof(b));
	e = sg_decode_frame(&d, buf, len, &b);
	CHECK(e == want, "%s: got %d (%s), want %d", what, e, sg_frame_error_str(e), want);
	CHECK(b.seq == 0xa5a5a5a5u && b.nsamples == 0xa5, "%s: out was touched", what);
	CHECK(d.frames_bad == 1 && d.frames_ok == 0, "%s: not counted", what);
	CHECK(!d.have_seq, "%s: sequence state changed", what);
}

static void test_errors(void)
{
	uint8_t good[64], bad[64];
	int len = enc(good, 7, M3, 2);

	CHECK_EQ_INT(len, 40);
	expect_error(good, 0, M3, SG_FRAME_SHORT, "empty");
	expect_error(good, 15, M3, SG_FRAME_SHORT, "15 bytes");
	expect_error(NULL, 40, M3, SG_FRAME_SHORT, "NULL");

	memcpy(bad, good, 64);
	bad[0] = 'X';
	expect_error(bad, 40, M3, SG_FRAME_TYPE, "type");
	memcpy(bad, good, 64);
	bad[1] = 2;
	expect_error(bad, 40, M3, SG_FRAME_VERSION, "version 2");
	bad[1] = 0;
	expect_error(bad, 40, M3, SG_FRAME_VERSION, "version 0");
	expect_error(good, 40, M1, SG_FRAME_CHANNELS, "mask differs");
	expect_error(good, 40, 0, SG_FRAME_CHANNELS, "decoder mask 0");
	memcpy(bad, good, 64);
	bad[3] = 0x06;
	expect_error(bad, 40, 0x06, SG_FRAME_CHANNELS, "no NORMAL channel");
	memcpy(bad, good, 64);
	bad[2] = 0;
	expect_error(bad, 16, M3, SG_FRAME_COUNT, "count 0");
	bad[2] = 5;	/* 3 channels: at most 4 samples */
	expect_error(bad, 16 + 5 * 12, M3, SG_FRAME_COUNT, "count 5 of 3 channels");
	bad[2] = 255;
	expect_error(bad, 64, M3, SG_FRAME_COUNT, "count 255");
	expect_error(good, 39, M3, SG_FRAME_LENGTH, "one byte short");
	expect_error(good, 41, M3, SG_FRAME_LENGTH, "one byte long");
	expect_error(good, 16, M3, SG_FRAME_LENGTH, "header only");

	for (int e = SG_FRAME_OK; e <= SG_FRAME_STALE; e++)
		CHECK(strlen(sg_frame_error_str((enum sg_frame_error)e)) > 0, "str %d", e);
	CHECK(strcmp(sg_frame_error_str((enum sg_frame_error)99), "unknown frame error") == 0,
	      "out of range");
}

static enum sg_frame_error feed(struct sg_decoder *d, uint32_t seq, unsigned n,
				struct sg_block *b)
{
	uint8_t buf[64];
	int len = enc(buf, seq, M1, n);

	return sg_decode_frame(d, buf, (size_t)len, b);
}

static void test_sequence(void)
{
	struct sg_decoder d;
	struct sg_block b;

	sg_decoder_init(&d, M1);
	CHECK_EQ_INT(feed(&d, 100, 4, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);
	CHECK_EQ_INT(feed(&d, 101, 4, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);
	/* gap of 3 frames after a 4-sample frame */
	CHECK_EQ_INT(feed(&d, 105, 2, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 12);
	CHECK_EQ_INT(d.samples_lost, 12);
	/* next gap uses the last frame's count (2) */
	CHECK_EQ_INT(feed(&d, 107, 4, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 2);
	CHECK_EQ_INT(d.samples_lost, 14);
	/* duplicate and older frames are stale, dropped, and change nothing */
	CHECK_EQ_INT(feed(&d, 107, 4, &b), SG_FRAME_STALE);
	CHECK_EQ_INT(feed(&d, 100, 4, &b), SG_FRAME_STALE);
	CHECK_EQ_INT(d.frames_stale, 2);
	CHECK_EQ_INT(d.frames_bad, 2);
	CHECK_EQ_INT(feed(&d, 108, 1, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);
	CHECK_EQ_INT(d.frames_ok, 5);
	CHECK_EQ_INT(d.samples_ok, 15);
	CHECK_EQ_INT(d.samples_lost, 14);

	/* wraparound at 2^32 is continuous */
	sg_decoder_init(&d, M1);
	CHECK_EQ_INT(feed(&d, 0xfffffffeu, 3, &b), SG_FRAME_OK);
	CHECK_EQ_INT(feed(&d, 0xffffffffu, 3, &b), SG_FRAME_OK);
	CHECK_EQ_INT(feed(&d, 0, 3, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);
	CHECK_EQ_INT(feed(&d, 0xffffffffu, 3, &b), SG_FRAME_STALE);
	/* a gap across the wrap */
	CHECK_EQ_INT(feed(&d, 2, 3, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 3);
	CHECK_EQ_INT(d.resyncs, 0);

	/* limits of the gap and stale windows */
	sg_decoder_init(&d, M1);
	CHECK_EQ_INT(feed(&d, 0, 1, &b), SG_FRAME_OK);
	CHECK_EQ_INT(feed(&d, 1 + SG_SEQ_MAX_GAP, 12, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, SG_SEQ_MAX_GAP);
	CHECK_EQ_INT(d.resyncs, 0);
	CHECK_EQ_INT(feed(&d, 2 + SG_SEQ_MAX_GAP + SG_SEQ_MAX_GAP + 1, 1, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);		/* too far ahead: resync */
	CHECK_EQ_INT(d.resyncs, 1);

	sg_decoder_init(&d, M1);
	CHECK_EQ_INT(feed(&d, 5000, 1, &b), SG_FRAME_OK);
	CHECK_EQ_INT(feed(&d, 5001 - SG_SEQ_STALE_WINDOW, 1, &b), SG_FRAME_STALE);
	/* a device restart (seq back to 0 after 5000 frames) resynchronises */
	CHECK_EQ_INT(feed(&d, 0, 1, &b), SG_FRAME_OK);
	CHECK_EQ_INT(d.resyncs, 1);
	CHECK_EQ_INT(feed(&d, 1, 1, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);
	/* 2^31 back (the ambiguous half-way point) is a resync, not a loss */
	CHECK_EQ_INT(feed(&d, 2 + 0x80000000u, 1, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);
	CHECK_EQ_INT(d.resyncs, 2);
	CHECK_EQ_INT(d.samples_lost, 0);

	/* bad frames in between do not disturb the sequence */
	sg_decoder_init(&d, M1);
	CHECK_EQ_INT(feed(&d, 10, 2, &b), SG_FRAME_OK);
	CHECK_EQ_INT(sg_decode_frame(&d, "junk", 4, &b), SG_FRAME_SHORT);
	CHECK_EQ_INT(feed(&d, 11, 2, &b), SG_FRAME_OK);
	CHECK_EQ_INT(b.lost_before, 0);
}

static void test_mask_valid(void)
{
	CHECK(sg_channel_mask_valid(0x01), "S1");
	CHECK(sg_channel_mask_valid(0x07), "S3");
	CHECK(sg_channel_mask_valid(0x0f), "S4");
	CHECK(!sg_channel_mask_valid(0x00), "empty");
	CHECK(!sg_channel_mask_valid(0x0e), "no normal");
	CHECK(!sg_channel_mask_valid(0x1f), "bit 4");
	CHECK(!sg_channel_mask_valid(0x81), "bit 7");
}

int main(void)
{
	test_roundtrip();
	test_errors();
	test_sequence();
	test_mask_valid();
	return check_exit("frame");
}
