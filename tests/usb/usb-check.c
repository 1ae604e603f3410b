// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * usb-check: checks libstrigil's libusb source (lib/usb.c) against a live
 * device: in the test VM, strigil-gadget over dummy_hcd (tests/vm). It
 * detaches the strigil kernel driver while it runs (auto-detach) and gives
 * the device back when it exits.
 *
 *   usb-check [--serial S] [--rate HZ] [--seconds N] [--pattern] [--allow-lost]
 *             [--expect-bad]
 *       info, calibration write + read-back + restore, refused calibration,
 *       alert + status, STALLed requests, streaming N seconds (default 2)
 *       with every frame valid and an async SET_ALERT sent from inside the
 *       first block callback; --pattern also checks every sample against
 *       the gadget's test pattern (raw_k(n+1) - raw_k(n) = 2k+1 mod P).
 *       --expect-bad: the device sends bad frames (strigil-gadget
 *       --bad-every N): they must be counted and dropped, and the samples
 *       that got through must still follow the pattern.
 *   usb-check --until-disconnect N
 *       streams until the device goes away (unplug it meanwhile): passes
 *       if the disconnect is reported within N seconds.
 *
 * Exit 0 when every check passed; each failure is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg-usb.h"

#define PATTERN_MOD 1000003

static unsigned failures;

#define EXPECT(cond, ...) do {						\
	if (!(cond)) {							\
		failures++;						\
		printf("usb-check: FAIL: " __VA_ARGS__);		\
		putchar('\n');						\
	}								\
} while (0)

struct stream_state {
	bool pattern, have_prev, allow_lost, expect_bad;
	unsigned nch;
	int32_t prev[STRIGIL_MAX_CHANNELS];
	uint64_t samples, lost, pattern_errors, disconnects, errors;
	/* SET_ALERT from inside a block callback, as strigild does it */
	struct sg_usb_dev *dev;
	bool alert_tried;
	int alert_rc, alert_err;
	unsigned alert_done;
};

static void on_alert_done(void *u, enum strigil_alert a, int err)
{
	struct stream_state *st = u;

	st->alert_done++;
	st->alert_err = err;
}

static void check_step(struct stream_state *st, const int32_t *prev, const int32_t *cur)
{
	for (unsigned k = 0; k < st->nch; k++) {
		int64_t d = ((int64_t)cur[k] - prev[k]) % PATTERN_MOD;

		if (d < 0)
			d += PATTERN_MOD;
		if (d != 2 * k + 1 && st->pattern_errors++ < 5)
			printf("usb-check: pattern: channel slot %u stepped by %lld\n", k,
			       (long long)d);
	}
}

static void on_block(void *u, const struct sg_block *b)
{
	struct stream_state *st = u;

	st->samples += b->nsamples;
	st->lost += b->lost_before;
	if (st->dev && !st->alert_tried) {
		/* inside libusb event handling: only the async request works */
		st->alert_tried = true;
		st->alert_rc = sg_usb_set_alert_async(st->dev, STRIGIL_ALERT_EXCEEDED,
						      on_alert_done, st);
	}
	if (!st->pattern)
		return;
	if (b->lost_before)
		st->have_prev = false;	/* continuity unknown across a gap */
	for (unsigned i = 0; i < b->nsamples; i++) {
		if (st->have_prev)
			check_step(st, st->prev, b->raw[i]);
		memcpy(st->prev, b->raw[i], sizeof(st->prev));
		st->have_prev = true;
	}
}

static void on_disconnect(void *u)
{
	((struct stream_state *)u)->disconnects++;
}

static void on_error(void *u, int err)
{
	((struct stream_state *)u)->errors++;
	printf("usb-check: streaming gave up: %s\n", strerror(-err));
}

static void check_requests(struct sg_usb_dev *dev)
{
	const struct sg_device_info *info = sg_usb_info(dev);
	struct sg_calibration orig, mine, back;
	struct sg_usb_status status;
	unsigned char junk[8];
	int rc;

	rc = sg_usb_get_calibration(dev, &orig);
	EXPECT(rc == 0, "GET_CALIBRATION: %s", strerror(-rc));
	if (rc == 0) {
		mine = orig;
		snprintf(mine.technician, sizeof(mine.technician), "usb-check");
		mine.cal_date = 1763683200;
		mine.due_date = 1795219200;
		rc = sg_usb_set_calibration(dev, &mine);
		EXPECT(rc == 0, "SET_CALIBRATION: %s", strerror(-rc));
		rc = sg_usb_get_calibration(dev, &back);
		EXPECT(rc == 0 && strcmp(back.technician, "usb-check") == 0 &&
		       back.cal_date == mine.cal_date, "calibration read-back differs");
		mine.channel_mask = info->channel_mask == 1 ? 0x0f : 0x01;
		EXPECT(sg_usb_set_calibration(dev, &mine) == -EINVAL,
		       "calibration for other channels accepted");
		rc = sg_usb_set_calibration(dev, &orig);
		EXPECT(rc == 0, "restoring the calibration: %s", strerror(-rc));
	}

	/* a blob with a bad CRC, sent raw: must not be stored */
	{
		struct strigil_calibration w;

		if (sg_calibration_to_wire(&orig, &w) == 0) {
			w.technician[0] = 'X';	/* CRC now wrong */
			libusb_control_transfer(sg_usb_handle(dev), 0x41,
						STRIGIL_REQ_SET_CALIBRATION, 0,
						sg_usb_interface(dev), (unsigned char *)&w,
						sizeof(w), STRIGIL_CTRL_TIMEOUT_MS);
			rc = sg_usb_get_calibration(dev, &back);
			EXPECT(rc == 0 && back.technician[0] != 'X',
			       "a blob with a bad CRC was stored");
		}
	}

	rc = sg_usb_set_alert(dev, STRIGIL_ALERT_EXCEEDED);
	EXPECT(rc == 0, "SET_ALERT: %s", strerror(-rc));
	rc = sg_usb_get_status(dev, &status);
	EXPECT(rc == 0 && status.alert == STRIGIL_ALERT_EXCEEDED && status.rate_hz == 0,
	       "GET_STATUS: rc %d alert %u rate %u", rc, status.alert, status.rate_hz);
	EXPECT(sg_usb_set_alert(dev, STRIGIL_ALERT_OFF) == 0, "SET_ALERT off");

	/* malformed requests STALL: unknown request, bad rate, bad alert */
	rc = libusb_control_transfer(sg_usb_handle(dev), 0xC1, 0x7f, 0, sg_usb_interface(dev),
				     junk, sizeof(junk), STRIGIL_CTRL_TIMEOUT_MS);
	EXPECT(rc == LIBUSB_ERROR_PIPE, "unknown request: %s", libusb_error_name(rc));
	rc = libusb_control_transfer(sg_usb_handle(dev), 0x41, STRIGIL_REQ_START, 7,
				     sg_usb_interface(dev), NULL, 0, STRIGIL_CTRL_TIMEOUT_MS);
	EXPECT(rc == LIBUSB_ERROR_PIPE, "START at 7 Hz: %s", libusb_error_name(rc));
	rc = libusb_control_transfer(sg_usb_handle(dev), 0x41, STRIGIL_REQ_SET_ALERT, 3,
				     sg_usb_interface(dev), NULL, 0, STRIGIL_CTRL_TIMEOUT_MS);
	EXPECT(rc == LIBUSB_ERROR_PIPE, "SET_ALERT 3: %s", libusb_error_name(rc));
	/* the device still answers after the STALLs */
	EXPECT(sg_usb_get_status(dev, &status) == 0, "GET_STATUS after STALLs");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "serial",           required_argument, NULL, 's' },
		{ "rate",             required_argument, NULL, 'r' },
		{ "seconds",          required_argument, NULL, 'n' },
		{ "pattern",          no_argument,       NULL, 'p' },
		{ "allow-lost",       no_argument,       NULL, 'l' },
		{ "expect-bad",       no_argument,       NULL, 'b' },
		{ "until-disconnect", required_argument, NULL, 'u' },
		{}
	};
	struct stream_state st = { 0 };
	struct sg_usb_callbacks cb = { on_block, on_disconnect, on_error, &st };
	const char *serial = NULL;
	unsigned rate = 0;
	double seconds = 2, until = 0;
	libusb_context *ctx;
	struct sg_usb_dev *dev;
	const struct sg_device_info *info;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': serial = optarg; break;
		case 'r': rate = (unsigned)atoi(optarg); break;
		case 'n': seconds = atof(optarg); break;
		case 'p': st.pattern = true; break;
		case 'l': st.allow_lost = true; break;
		case 'b': st.expect_bad = true; break;
		case 'u': until = atof(optarg); break;
		default: return 2;
		}
	}
	rc = libusb_init(&ctx);
	if (rc < 0) {
		printf("usb-check: libusb_init: %s\n", libusb_error_name(rc));
		return 1;
	}
	rc = sg_usb_open(ctx, NULL, &dev);
	if (rc < 0) {
		printf("usb-check: FAIL: open: %s\n", strerror(-rc));
		libusb_exit(ctx);
		return 1;
	}
	info = sg_usb_info(dev);
	printf("usb-check: %s %s firmware %s, channels 0x%02x, default %u Hz\n",
	       info->serial, info->model, info->firmware, info->channel_mask,
	       info->default_rate_hz);
	EXPECT(!serial || strcmp(serial, info->serial) == 0, "serial %s, want %s",
	       info->serial, serial);
	if (!rate)
		rate = info->default_rate_hz;
	st.nch = sg_popcount8(info->channel_mask);
	EXPECT(sg_usb_start(dev, 123, &cb) == -EINVAL, "123 Hz accepted");

	if (until > 0) {
		rc = sg_usb_read_for(dev, until, rate, &cb);
		EXPECT(rc == -ENODEV && st.disconnects == 1,
		       "no disconnect reported (rc %d, %llu disconnects)", rc,
		       (unsigned long long)st.disconnects);
		printf("usb-check: %llu samples before the disconnect\n",
		       (unsigned long long)st.samples);
	} else {
		const struct sg_usb_stream *s = sg_usb_stream(dev);

		struct sg_usb_status status;

		check_requests(dev);
		st.dev = dev;
		rc = sg_usb_read_for(dev, seconds, rate, &cb);
		EXPECT(rc == 0, "streaming: %s", strerror(-rc));
		EXPECT(st.alert_tried && st.alert_rc == 0 && st.alert_done == 1 &&
		       st.alert_err == 0,
		       "SET_ALERT from a block callback: submit %s, %u completions, %s",
		       strerror(-st.alert_rc), st.alert_done, strerror(-st.alert_err));
		rc = sg_usb_get_status(dev, &status);
		EXPECT(rc == 0 && status.alert == STRIGIL_ALERT_EXCEEDED,
		       "alert after the async SET_ALERT: rc %d alert %u", rc, status.alert);
		EXPECT(sg_usb_set_alert(dev, STRIGIL_ALERT_OFF) == 0, "SET_ALERT off");
		printf("usb-check: %.1f s at %u Hz: %llu frames, %llu samples, %llu lost, "
		       "%llu bad frames, %llu stale, %llu transfer errors\n", seconds, rate,
		       (unsigned long long)s->dec.frames_ok, (unsigned long long)st.samples,
		       (unsigned long long)st.lost, (unsigned long long)s->dec.frames_bad,
		       (unsigned long long)s->dec.frames_stale,
		       (unsigned long long)s->transfer_errors);
		EXPECT(st.samples > 0, "no samples");
		EXPECT(st.expect_bad ? s->dec.frames_bad > 0 : s->dec.frames_bad == 0,
		       "%llu bad frames", (unsigned long long)s->dec.frames_bad);
		EXPECT(st.allow_lost || st.lost == 0, "%llu samples lost",
		       (unsigned long long)st.lost);
		EXPECT(st.pattern_errors == 0, "%llu samples off the test pattern",
		       (unsigned long long)st.pattern_errors);
		EXPECT(st.errors == 0 && st.disconnects == 0, "stream errors");
		EXPECT(!sg_usb_streaming(dev), "still streaming after read_for");
	}
	sg_usb_close(dev);
	libusb_exit(ctx);
	printf("usb-check: %s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
}
