// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libusb layer without a device: the streaming state machine (decode path,
 * disconnect, cancellation, error give-up), error mapping, argument checks,
 * and enumeration on whatever bus this machine has. The real device path is
 * exercised in QEMU (tests/vm) with dummy_hcd and the emulator.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "sg-usb.h"

struct rec {
	unsigned blocks, disconnects, errors;
	int last_err;
	struct sg_block last;
};

static void on_block(void *u, const struct sg_block *b)
{
	struct rec *r = u;

	r->blocks++;
	r->last = *b;
}

static void on_disconnect(void *u)
{
	((struct rec *)u)->disconnects++;
}

static void on_error(void *u, int err)
{
	struct rec *r = u;

	r->errors++;
	r->last_err = err;
}

static int frame(uint8_t *buf, uint32_t seq, unsigned n)
{
	int32_t raw[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS] = { { 0 } };

	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < 3; k++)
			raw[i][k] = (int32_t)(seq * 100 + i * 10 + k);
	return sg_encode_frame(buf, 64, seq, seq * 2000, 0, 0x07,
			       (const int32_t (*)[STRIGIL_MAX_CHANNELS])raw, n);
}

static void test_stream(void)
{
	struct rec r = { 0 };
	struct sg_usb_callbacks cb = { on_block, on_disconnect, on_error, &r };
	struct sg_usb_stream s;
	uint8_t buf[64];
	int len;

	sg_usb_stream_init(&s, 0x07, &cb);
	len = frame(buf, 0, 2);
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "resubmit");
	CHECK_EQ_INT(r.blocks, 1);
	CHECK_EQ_INT(r.last.nsamples, 2);
	CHECK_EQ_INT(r.last.raw[1][2], 12);

	/* a gap of two frames is reported as lost samples */
	len = frame(buf, 3, 4);
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "resubmit");
	CHECK_EQ_INT(r.blocks, 2);
	CHECK_EQ_INT(r.last.lost_before, 4);
	CHECK_EQ_INT(r.last.raw[3][0], 330);

	/* bad frames: dropped and counted, the stream goes on */
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len - 1), "resubmit");
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, 0), "zero-length");
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "duplicate");
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, NULL, -1), "nonsense");
	CHECK_EQ_INT(r.blocks, 2);
	CHECK_EQ_INT(s.dec.frames_bad, 3);
	CHECK_EQ_INT(s.dec.frames_stale, 1);

	/* transient errors are retried; a success resets the count */
	for (int i = 0; i < SG_USB_MAX_ERRORS - 1; i++)
		CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_ERROR, NULL, 0), "retry %d", i);
	len = frame(buf, 4, 1);
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "resubmit");
	CHECK_EQ_INT(r.blocks, 3);
	for (int i = 0; i < SG_USB_MAX_ERRORS - 1; i++)
		CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_OVERFLOW, NULL, 0), "retry %d", i);
	CHECK_EQ_INT(r.errors, 0);
	/* ...but a stream that keeps failing gives up, once */
	CHECK(!sg_usb_stream_complete(&s, LIBUSB_TRANSFER_STALL, NULL, 0), "gave up");
	CHECK_EQ_INT(r.errors, 1);
	CHECK_EQ_INT(r.last_err, -EPIPE);
	CHECK(s.failed, "failed");
	CHECK(!sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "no resubmit after failure");
	CHECK(!sg_usb_stream_complete(&s, LIBUSB_TRANSFER_ERROR, NULL, 0), "no resubmit after failure");
	CHECK_EQ_INT(r.errors, 1);
	CHECK_EQ_INT(s.transfer_errors, 2 * (SG_USB_MAX_ERRORS - 1) + 2);

	/* disconnect: reported once, nothing resubmitted */
	memset(&r, 0, sizeof(r));
	sg_usb_stream_init(&s, 0x07, &cb);
	for (int i = 0; i < SG_USB_TRANSFERS; i++)
		CHECK(!sg_usb_stream_complete(&s, LIBUSB_TRANSFER_NO_DEVICE, NULL, 0), "no resubmit");
	CHECK_EQ_INT(r.disconnects, 1);
	CHECK_EQ_INT(r.errors, 0);
	len = frame(buf, 0, 1);
	CHECK(!sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "none after unplug");
	for (int i = 0; i < SG_USB_MAX_ERRORS; i++)
		sg_usb_stream_complete(&s, LIBUSB_TRANSFER_ERROR, NULL, 0);
	CHECK_EQ_INT(r.errors, 0);	/* an unplugged device does not also "fail" */

	/* cancellation (stop) is silent */
	memset(&r, 0, sizeof(r));
	sg_usb_stream_init(&s, 0x07, &cb);
	CHECK(!sg_usb_stream_complete(&s, LIBUSB_TRANSFER_CANCELLED, NULL, 0), "cancelled");
	CHECK(r.blocks == 0 && r.disconnects == 0 && r.errors == 0, "callbacks on cancel");

	/* callbacks are optional except block; a NULL set is safe */
	sg_usb_stream_init(&s, 0x07, NULL);
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "no callbacks");
	CHECK(!sg_usb_stream_complete(&s, LIBUSB_TRANSFER_NO_DEVICE, NULL, 0), "no callbacks");

	/* a device whose mask changed (wrong device) delivers nothing */
	memset(&r, 0, sizeof(r));
	sg_usb_stream_init(&s, 0x01, &cb);
	CHECK(sg_usb_stream_complete(&s, LIBUSB_TRANSFER_COMPLETED, buf, len), "resubmit");
	CHECK_EQ_INT(r.blocks, 0);
	CHECK_EQ_INT(s.dec.frames_bad, 1);
}

static void test_errno(void)
{
	CHECK_EQ_INT(sg_usb_errno(LIBUSB_SUCCESS), 0);
	CHECK_EQ_INT(sg_usb_errno(LIBUSB_ERROR_PIPE), -EPIPE);
	CHECK_EQ_INT(sg_usb_errno(LIBUSB_ERROR_NO_DEVICE), -ENODEV);
	CHECK_EQ_INT(sg_usb_errno(LIBUSB_ERROR_ACCESS), -EACCES);
	CHECK_EQ_INT(sg_usb_errno(LIBUSB_ERROR_BUSY), -EBUSY);
	CHECK_EQ_INT(sg_usb_errno(LIBUSB_ERROR_TIMEOUT), -ETIMEDOUT);
	CHECK_EQ_INT(sg_usb_errno(LIBUSB_ERROR_OTHER), -EIO);
	CHECK_EQ_INT(sg_usb_errno(-1234), -EIO);
}

static void test_args(void)
{
	struct sg_usb_callbacks cb = { on_block, NULL, NULL, NULL };
	struct sg_device_info info;
	struct sg_calibration cal;
	struct sg_usb_status st;

	CHECK_EQ_INT(sg_usb_get_info(NULL, &info), -EINVAL);
	CHECK_EQ_INT(sg_usb_get_calibration(NULL, &cal), -EINVAL);
	CHECK_EQ_INT(sg_usb_set_calibration(NULL, &cal), -EINVAL);
	CHECK_EQ_INT(sg_usb_set_alert(NULL, STRIGIL_ALERT_OFF), -EINVAL);
	CHECK_EQ_INT(sg_usb_set_alert(NULL, (enum strigil_alert)3), -EINVAL);
	CHECK_EQ_INT(sg_usb_get_status(NULL, &st), -EINVAL);
	CHECK_EQ_INT(sg_usb_start(NULL, 1000, &cb), -EINVAL);
	CHECK_EQ_INT(sg_usb_stop(NULL), -EINVAL);
	CHECK_EQ_INT(sg_usb_read_for(NULL, 1, 1000, &cb), -EINVAL);
	CHECK_EQ_INT(sg_usb_open(NULL, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(sg_usb_enumerate(NULL, NULL, 4), -EINVAL);
	CHECK(sg_usb_info(NULL) == NULL && !sg_usb_streaming(NULL), "NULL getters");
	sg_usb_close(NULL);
}

static void test_bus(void)
{
	struct sg_usb_found found[4];
	struct sg_usb_dev *dev = (struct sg_usb_dev *)1;
	libusb_context *ctx;
	int n, rc;

	rc = libusb_init(&ctx);
	if (rc < 0) {
		/* containers without usbfs: the error must come back typed */
		printf("libusb_init: %s (no USB here); open must fail cleanly\n",
		       libusb_error_name(rc));
		CHECK(sg_usb_errno(rc) < 0, "errno");
		return;
	}
	n = sg_usb_enumerate(ctx, found, 4);
	CHECK(n >= 0, "enumerate: %d", n);
	CHECK_EQ_INT(sg_usb_enumerate(ctx, NULL, 0), n);
	rc = sg_usb_open(ctx, NULL, &dev);
	if (n == 0) {
		CHECK_EQ_INT(rc, -ENODEV);
		CHECK(dev == NULL, "out cleared on error");
	} else {
		printf("%d Strigil device(s) on this machine: open gave %d\n", n, rc);
		if (rc == 0)
			sg_usb_close(dev);
	}
	libusb_exit(ctx);
}

int main(void)
{
	test_stream();
	test_errno();
	test_args();
	test_bus();
	return check_exit("usb");
}
