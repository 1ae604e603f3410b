// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libusb device source (docs/protocol.md). See sg-usb.h for the threading
 * and event loop rules.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg-usb.h"

#define REQ_IN	(LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_VENDOR | LIBUSB_RECIPIENT_INTERFACE)
#define REQ_OUT	(LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_VENDOR | LIBUSB_RECIPIENT_INTERFACE)
#define DRAIN_MS 2000

struct sg_usb_dev {
	libusb_context *ctx;
	libusb_device_handle *h;
	uint8_t interface;
	uint8_t endpoint;
	bool claimed;
	bool streaming;
	bool stopping;
	unsigned in_flight;
	struct sg_device_info info;
	struct sg_usb_stream stream;
	struct libusb_transfer *xfer[SG_USB_TRANSFERS];
	uint8_t buf[SG_USB_TRANSFERS][STRIGIL_FRAME_MAX_SIZE];
	/* SET_ALERT without blocking: one control transfer in flight, the
	 * newest level queued behind it (an alert is a level, not an event). */
	struct libusb_transfer *alert_xfer;
	uint8_t alert_setup[LIBUSB_CONTROL_SETUP_SIZE];
	bool alert_busy;
	bool closing;
	int alert_queued;		/* -1: nothing queued */
	uint8_t alert_sent;
	sg_usb_alert_fn alert_done;
	void *alert_userdata;
};

int sg_usb_errno(int e)
{
	switch (e) {
	case LIBUSB_SUCCESS:		 return 0;
	case LIBUSB_ERROR_IO:		 return -EIO;
	case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
	case LIBUSB_ERROR_ACCESS:	 return -EACCES;
	case LIBUSB_ERROR_NO_DEVICE:	 return -ENODEV;
	case LIBUSB_ERROR_NOT_FOUND:	 return -ENOENT;
	case LIBUSB_ERROR_BUSY:		 return -EBUSY;
	case LIBUSB_ERROR_TIMEOUT:	 return -ETIMEDOUT;
	case LIBUSB_ERROR_OVERFLOW:	 return -EOVERFLOW;
	case LIBUSB_ERROR_PIPE:		 return -EPIPE;
	case LIBUSB_ERROR_INTERRUPTED:	 return -EINTR;
	case LIBUSB_ERROR_NO_MEM:	 return -ENOMEM;
	case LIBUSB_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
	default:			 return -EIO;
	}
}

/* ---- Streaming state machine (no libusb calls: unit-testable) ---------- */

void sg_usb_stream_init(struct sg_usb_stream *s, uint8_t channel_mask,
			const struct sg_usb_callbacks *cb)
{
	memset(s, 0, sizeof(*s));
	sg_decoder_init(&s->dec, channel_mask);
	if (cb)
		s->cb = *cb;
}

static void stream_fail(struct sg_usb_stream *s, int err)
{
	if (s->failed || s->disconnected)
		return;
	s->failed = true;
	if (s->cb.error)
		s->cb.error(s->cb.userdata, err);
}

bool sg_usb_stream_complete(struct sg_usb_stream *s, int status,
			    const uint8_t *buf, int len)
{
	struct sg_block blk;

	switch (status) {
	case LIBUSB_TRANSFER_COMPLETED:
		s->consecutive_errors = 0;
		if (len >= 0 && buf &&
		    sg_decode_frame(&s->dec, buf, (size_t)len, &blk) == SG_FRAME_OK &&
		    s->cb.block)
			s->cb.block(s->cb.userdata, &blk);
		return !s->disconnected && !s->failed;
	case LIBUSB_TRANSFER_NO_DEVICE:
		if (!s->disconnected) {
			s->disconnected = true;
			if (s->cb.disconnect)
				s->cb.disconnect(s->cb.userdata);
		}
		return false;
	case LIBUSB_TRANSFER_CANCELLED:
		return false;
	default:
		/*
		 * ERROR, TIMED_OUT, STALL, OVERFLOW (a packet above 64 bytes):
		 * transient on a noisy bus. Retry, but give up on a stream that
		 * keeps failing instead of spinning.
		 */
		s->transfer_errors++;
		if (++s->consecutive_errors >= SG_USB_MAX_ERRORS) {
			stream_fail(s, status == LIBUSB_TRANSFER_STALL ? -EPIPE : -EIO);
			return false;
		}
		return !s->disconnected && !s->failed;
	}
}

/* ---- Enumeration and open ---------------------------------------------- */

/* Finds the Strigil interface of dev: 0 and fills f, or -ENOENT. */
static int match_device(libusb_device *dev, struct sg_usb_found *f)
{
	struct libusb_device_descriptor dd;
	struct libusb_config_descriptor *cfg;
	int rc = -ENOENT;

	if (libusb_get_device_descriptor(dev, &dd) < 0 ||
	    dd.idVendor != STRIGIL_USB_VID || dd.idProduct != STRIGIL_USB_PID)
		return -ENOENT;
	if (libusb_get_active_config_descriptor(dev, &cfg) < 0 &&
	    libusb_get_config_descriptor(dev, 0, &cfg) < 0)
		return -ENOENT;
	for (int i = 0; i < cfg->bNumInterfaces && rc; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];

		for (int a = 0; a < itf->num_altsetting && rc; a++) {
			const struct libusb_interface_descriptor *id = &itf->altsetting[a];

			if (id->bAlternateSetting != 0 ||
			    id->bInterfaceClass != STRIGIL_USB_CLASS ||
			    id->bInterfaceSubClass != STRIGIL_USB_SUBCLASS ||
			    id->bInterfaceProtocol != STRIGIL_USB_PROTOCOL)
				continue;
			for (int e = 0; e < id->bNumEndpoints; e++) {
				const struct libusb_endpoint_descriptor *ep = &id->endpoint[e];

				if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) ==
				    LIBUSB_ENDPOINT_IN &&
				    (ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) ==
				    LIBUSB_TRANSFER_TYPE_INTERRUPT &&
				    (ep->wMaxPacketSize & 0x7ff) >= STRIGIL_FRAME_MAX_SIZE) {
					f->interface = id->bInterfaceNumber;
					f->endpoint = ep->bEndpointAddress;
					rc = 0;
					break;
				}
			}
		}
	}
	libusb_free_config_descriptor(cfg);
	if (rc == 0) {
		uint8_t ports[8];
		int n = libusb_get_port_numbers(dev, ports, (int)sizeof(ports));
		size_t off;

		f->bus = libusb_get_bus_number(dev);
		f->address = libusb_get_device_address(dev);
		off = (size_t)snprintf(f->port_path, sizeof(f->port_path), "%u", f->bus);
		for (int i = 0; i < n && off < sizeof(f->port_path); i++)
			off += (size_t)snprintf(f->port_path + off, sizeof(f->port_path) - off,
						"%c%u", i ? '.' : '-', ports[i]);
	}
	return rc;
}

int sg_usb_enumerate(libusb_context *ctx, struct sg_usb_found *out, size_t max)
{
	libusb_device **list;
	ssize_t n;
	int count = 0;

	if (!out && max)
		return -EINVAL;
	n = libusb_get_device_list(ctx, &list);
	if (n < 0)
		return sg_usb_errno((int)n);
	for (ssize_t i = 0; i < n; i++) {
		struct sg_usb_found f;

		memset(&f, 0, sizeof(f));
		if (match_device(list[i], &f) < 0)
			continue;
		if ((size_t)count < max)
			out[count] = f;
		count++;
	}
	libusb_free_device_list(list, 1);
	return count;
}

static int ctrl(struct sg_usb_dev *dev, uint8_t type, uint8_t req, uint16_t value,
		void *buf, uint16_t len)
{
	int rc;

	if (!dev || !dev->h)
		return -EINVAL;
	rc = libusb_control_transfer(dev->h, type, req, value, dev->interface, buf, len,
				     STRIGIL_CTRL_TIMEOUT_MS);
	return rc < 0 ? sg_usb_errno(rc) : rc;
}

int sg_usb_get_info(struct sg_usb_dev *dev, struct sg_device_info *info)
{
	uint8_t buf[STRIGIL_INFO_SIZE];
	int rc;

	if (!info)
		return -EINVAL;
	rc = ctrl(dev, REQ_IN, STRIGIL_REQ_GET_INFO, 0, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	return sg_device_info_from_wire(buf, (size_t)rc, info);
}

static struct libusb_device *find_device(libusb_context *ctx,
					 const struct sg_usb_found *which,
					 libusb_device **list, ssize_t n,
					 struct sg_usb_found *found)
{
	for (ssize_t i = 0; i < n; i++) {
		memset(found, 0, sizeof(*found));
		if (match_device(list[i], found) < 0)
			continue;
		if (!which || (which->bus == found->bus && which->address == found->address))
			return list[i];
	}
	return NULL;
}

int sg_usb_open(libusb_context *ctx, const struct sg_usb_found *which,
		struct sg_usb_dev **out)
{
	struct sg_usb_found found;
	struct sg_usb_dev *dev;
	libusb_device **list, *udev;
	ssize_t n;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->ctx = ctx;
	dev->alert_queued = -1;
	dev->alert_xfer = libusb_alloc_transfer(0);
	if (!dev->alert_xfer) {
		rc = -ENOMEM;
		goto err;
	}
	for (unsigned i = 0; i < SG_USB_TRANSFERS; i++) {
		dev->xfer[i] = libusb_alloc_transfer(0);
		if (!dev->xfer[i]) {
			rc = -ENOMEM;
			goto err;
		}
	}

	n = libusb_get_device_list(ctx, &list);
	if (n < 0) {
		rc = sg_usb_errno((int)n);
		goto err;
	}
	udev = find_device(ctx, which, list, n, &found);
	rc = udev ? sg_usb_errno(libusb_open(udev, &dev->h)) : -ENODEV;
	libusb_free_device_list(list, 1);
	if (rc < 0)
		goto err;
	dev->interface = found.interface;
	dev->endpoint = found.endpoint;

	/* NOT_SUPPORTED on platforms without kernel drivers: nothing to detach. */
	rc = libusb_set_auto_detach_kernel_driver(dev->h, 1);
	if (rc < 0 && rc != LIBUSB_ERROR_NOT_SUPPORTED) {
		rc = sg_usb_errno(rc);
		goto err;
	}
	rc = libusb_claim_interface(dev->h, dev->interface);
	if (rc < 0) {
		rc = sg_usb_errno(rc);
		goto err;
	}
	dev->claimed = true;
	rc = sg_usb_get_info(dev, &dev->info);
	if (rc < 0)
		goto err;
	*out = dev;
	return 0;
err:
	sg_usb_close(dev);
	return rc;
}

const struct sg_device_info *sg_usb_info(const struct sg_usb_dev *dev)
{
	return dev ? &dev->info : NULL;
}

const struct sg_usb_stream *sg_usb_stream(const struct sg_usb_dev *dev)
{
	return dev ? &dev->stream : NULL;
}

libusb_context *sg_usb_context(const struct sg_usb_dev *dev)
{
	return dev ? dev->ctx : NULL;
}

libusb_device_handle *sg_usb_handle(const struct sg_usb_dev *dev)
{
	return dev ? dev->h : NULL;
}

uint8_t sg_usb_interface(const struct sg_usb_dev *dev)
{
	return dev ? dev->interface : 0;
}

bool sg_usb_streaming(const struct sg_usb_dev *dev)
{
	return dev && dev->streaming;
}

/* ---- Control requests --------------------------------------------------- */

int sg_usb_get_calibration(struct sg_usb_dev *dev, struct sg_calibration *c)
{
	struct strigil_calibration w;
	int rc;

	if (!c)
		return -EINVAL;
	rc = ctrl(dev, REQ_IN, STRIGIL_REQ_GET_CALIBRATION, 0, &w, sizeof(w));
	if (rc < 0)
		return rc;
	if (rc != (int)sizeof(w))
		return -EPROTO;
	return sg_calibration_from_wire(&w, c);
}

int sg_usb_set_calibration(struct sg_usb_dev *dev, const struct sg_calibration *c)
{
	struct strigil_calibration w, back;
	int rc;

	if (!dev || !c || c->channel_mask != dev->info.channel_mask)
		return -EINVAL;
	rc = sg_calibration_to_wire(c, &w);
	if (rc < 0)
		return rc;
	rc = ctrl(dev, REQ_OUT, STRIGIL_REQ_SET_CALIBRATION, 0, &w, sizeof(w));
	if (rc < 0)
		return rc;
	if (rc != (int)sizeof(w))
		return -EIO;
	/* A device that cannot STALL the status stage refuses silently
	 * (docs/protocol.md section 3): only the read-back tells. */
	rc = ctrl(dev, REQ_IN, STRIGIL_REQ_GET_CALIBRATION, 0, &back, sizeof(back));
	if (rc < 0)
		return rc;
	return rc == (int)sizeof(back) && memcmp(&w, &back, sizeof(w)) == 0 ? 0 : -EPIPE;
}

int sg_usb_set_alert(struct sg_usb_dev *dev, enum strigil_alert alert)
{
	int rc;

	if ((unsigned)alert > STRIGIL_ALERT_EXCEEDED)
		return -EINVAL;
	rc = ctrl(dev, REQ_OUT, STRIGIL_REQ_SET_ALERT, (uint16_t)alert, NULL, 0);
	return rc < 0 ? rc : 0;
}

static int transfer_errno(enum libusb_transfer_status st)
{
	switch (st) {
	case LIBUSB_TRANSFER_COMPLETED:	return 0;
	case LIBUSB_TRANSFER_TIMED_OUT:	return -ETIMEDOUT;
	case LIBUSB_TRANSFER_STALL:	return -EPIPE;
	case LIBUSB_TRANSFER_NO_DEVICE:	return -ENODEV;
	case LIBUSB_TRANSFER_CANCELLED:	return -ECANCELED;
	default:			return -EIO;
	}
}

static int alert_submit(struct sg_usb_dev *dev, uint8_t alert);

static void LIBUSB_CALL alert_transfer_done(struct libusb_transfer *t)
{
	struct sg_usb_dev *dev = t->user_data;
	int err = transfer_errno(t->status);
	uint8_t sent = dev->alert_sent;

	dev->alert_busy = false;
	if (dev->alert_done)
		dev->alert_done(dev->alert_userdata, (enum strigil_alert)sent, err);
	if (dev->alert_queued >= 0 && !dev->closing && err != -ENODEV) {
		uint8_t next = (uint8_t)dev->alert_queued;
		int rc;

		dev->alert_queued = -1;
		rc = alert_submit(dev, next);
		if (rc < 0 && dev->alert_done)
			dev->alert_done(dev->alert_userdata, (enum strigil_alert)next, rc);
	}
}

static int alert_submit(struct sg_usb_dev *dev, uint8_t alert)
{
	int rc;

	libusb_fill_control_setup(dev->alert_setup, REQ_OUT, STRIGIL_REQ_SET_ALERT, alert,
				  dev->interface, 0);
	libusb_fill_control_transfer(dev->alert_xfer, dev->h, dev->alert_setup,
				     alert_transfer_done, dev, STRIGIL_CTRL_TIMEOUT_MS);
	rc = libusb_submit_transfer(dev->alert_xfer);
	if (rc < 0)
		return sg_usb_errno(rc);
	dev->alert_busy = true;
	dev->alert_sent = alert;
	return 0;
}

int sg_usb_set_alert_async(struct sg_usb_dev *dev, enum strigil_alert alert,
			   sg_usb_alert_fn done, void *userdata)
{
	if (!dev || !dev->h || (unsigned)alert > STRIGIL_ALERT_EXCEEDED)
		return -EINVAL;
	if (dev->closing)
		return -ENODEV;
	dev->alert_done = done;
	dev->alert_userdata = userdata;
	if (dev->alert_busy) {
		dev->alert_queued = (int)alert;
		return 0;
	}
	return alert_submit(dev, (uint8_t)alert);
}

int sg_usb_get_status(struct sg_usb_dev *dev, struct sg_usb_status *st)
{
	uint8_t b[STRIGIL_STATUS_SIZE];
	struct sg_usb_status tmp;
	int rc;

	if (!st)
		return -EINVAL;
	rc = ctrl(dev, REQ_IN, STRIGIL_REQ_GET_STATUS, 0, b, sizeof(b));
	if (rc < 0)
		return rc;
	if (rc != (int)sizeof(b))
		return -EPROTO;
	tmp.flags = (uint16_t)(b[0] | b[1] << 8) & STRIGIL_STATUS_KNOWN;
	tmp.rate_hz = (uint16_t)(b[2] | b[3] << 8);
	tmp.alert = b[4];
	tmp.frames_sent = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 |
			  (uint32_t)b[11] << 24;
	if (tmp.alert > STRIGIL_ALERT_EXCEEDED ||
	    (tmp.rate_hz && (tmp.rate_hz < STRIGIL_RATE_MIN_HZ ||
			     tmp.rate_hz > STRIGIL_RATE_MAX_HZ)))
		return -EPROTO;
	*st = tmp;
	return 0;
}

/* ---- Streaming ----------------------------------------------------------- */

static void LIBUSB_CALL transfer_done(struct libusb_transfer *t)
{
	struct sg_usb_dev *dev = t->user_data;
	bool again;
	int rc;

	again = sg_usb_stream_complete(&dev->stream, t->status, t->buffer,
				       t->actual_length) && !dev->stopping;
	if (again) {
		rc = libusb_submit_transfer(t);
		if (rc == 0)
			return;
		sg_usb_stream_complete(&dev->stream, rc == LIBUSB_ERROR_NO_DEVICE ?
				       LIBUSB_TRANSFER_NO_DEVICE : LIBUSB_TRANSFER_ERROR,
				       NULL, 0);
	}
	dev->in_flight--;
}

static void cancel_all(struct sg_usb_dev *dev)
{
	for (unsigned i = 0; i < SG_USB_TRANSFERS; i++)
		libusb_cancel_transfer(dev->xfer[i]);	/* NOT_FOUND if idle: fine */
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Handles events until no transfer is in flight, for at most DRAIN_MS. */
static int drain(struct sg_usb_dev *dev)
{
	double deadline = now_s() + DRAIN_MS / 1000.0;

	while (dev->in_flight > 0 && now_s() < deadline) {
		struct timeval tv = { 0, 50000 };
		int rc = libusb_handle_events_timeout_completed(dev->ctx, &tv, NULL);

		if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED)
			return sg_usb_errno(rc);
	}
	return dev->in_flight ? -ETIMEDOUT : 0;
}

int sg_usb_start(struct sg_usb_dev *dev, unsigned rate_hz,
		 const struct sg_usb_callbacks *cb)
{
	bool rate_ok = false;
	int rc;

	if (!dev || !dev->h || !cb || !cb->block)
		return -EINVAL;
	if (dev->streaming || dev->in_flight)
		return -EBUSY;
	for (unsigned i = 0; i < dev->info.nrates; i++)
		if (dev->info.rates_hz[i] == rate_hz)
			rate_ok = true;
	if (!rate_ok)
		return -EINVAL;

	/* The device restarts seq at 0 on START: fresh decoder state. */
	sg_usb_stream_init(&dev->stream, dev->info.channel_mask, cb);
	dev->stopping = false;
	for (unsigned i = 0; i < SG_USB_TRANSFERS; i++)
		libusb_fill_interrupt_transfer(dev->xfer[i], dev->h, dev->endpoint,
					       dev->buf[i], STRIGIL_FRAME_MAX_SIZE,
					       transfer_done, dev, 0);
	for (unsigned i = 0; i < SG_USB_TRANSFERS; i++) {
		rc = libusb_submit_transfer(dev->xfer[i]);
		if (rc < 0) {
			rc = sg_usb_errno(rc);
			goto err;
		}
		dev->in_flight++;
	}
	dev->streaming = true;
	rc = ctrl(dev, REQ_OUT, STRIGIL_REQ_START, (uint16_t)rate_hz, NULL, 0);
	if (rc < 0)
		goto err;
	return 0;
err:
	dev->streaming = false;
	dev->stopping = true;
	cancel_all(dev);
	drain(dev);
	return rc;
}

int sg_usb_stop(struct sg_usb_dev *dev)
{
	int rc = 0, rc2;

	if (!dev)
		return -EINVAL;
	if (!dev->streaming && !dev->in_flight)
		return 0;
	dev->stopping = true;
	if (!dev->stream.disconnected) {
		rc = ctrl(dev, REQ_OUT, STRIGIL_REQ_STOP, 0, NULL, 0);
		if (rc == -ENODEV)
			rc = 0;		/* unplugged: nothing left to stop */
	}
	cancel_all(dev);
	rc2 = drain(dev);
	dev->streaming = false;
	return rc < 0 ? rc : rc2;
}

int sg_usb_handle_events(libusb_context *ctx)
{
	struct timeval zero = { 0, 0 };

	return sg_usb_errno(libusb_handle_events_timeout_completed(ctx, &zero, NULL));
}

int sg_usb_read_for(struct sg_usb_dev *dev, double seconds, unsigned rate_hz,
		    const struct sg_usb_callbacks *cb)
{
	double deadline;
	int rc;

	if (!dev || !(seconds >= 0) || !isfinite(seconds))
		return -EINVAL;
	rc = sg_usb_start(dev, rate_hz, cb);
	if (rc < 0)
		return rc;
	deadline = now_s() + seconds;
	while (!dev->stream.disconnected && !dev->stream.failed && now_s() < deadline) {
		double left = deadline - now_s();
		struct timeval tv = { 0, 0 };

		if (left > 0.1)
			left = 0.1;
		if (left > 0)
			tv.tv_usec = (suseconds_t)(left * 1e6);
		rc = libusb_handle_events_timeout_completed(dev->ctx, &tv, NULL);
		if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED)
			break;
		rc = 0;
	}
	if (rc < 0) {
		sg_usb_stop(dev);
		return sg_usb_errno(rc);
	}
	if (dev->stream.disconnected) {
		sg_usb_stop(dev);
		return -ENODEV;
	}
	rc = sg_usb_stop(dev);
	if (dev->stream.failed)
		return -EIO;
	return rc;
}

/* Cancels a SET_ALERT still in flight and waits for it (at most DRAIN_MS). */
static void alert_drain(struct sg_usb_dev *dev)
{
	double deadline = now_s() + DRAIN_MS / 1000.0;

	dev->closing = true;
	dev->alert_queued = -1;
	if (!dev->alert_busy)
		return;
	libusb_cancel_transfer(dev->alert_xfer);
	while (dev->alert_busy && now_s() < deadline) {
		struct timeval tv = { 0, 50000 };
		int rc = libusb_handle_events_timeout_completed(dev->ctx, &tv, NULL);

		if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED)
			break;
	}
}

void sg_usb_close(struct sg_usb_dev *dev)
{
	bool idle;

	if (!dev)
		return;
	if (dev->h) {
		sg_usb_stop(dev);
		alert_drain(dev);
	}
	idle = dev->in_flight == 0 && !dev->alert_busy;
	if (dev->claimed)
		libusb_release_interface(dev->h, dev->interface);
	if (dev->h)
		libusb_close(dev->h);
	/* A transfer libusb still owns must not be freed (never seen: drain
	 * waits for cancellation); leaking it is the safe failure. */
	if (!idle)
		return;
	for (unsigned i = 0; i < SG_USB_TRANSFERS; i++)
		libusb_free_transfer(dev->xfer[i]);
	libusb_free_transfer(dev->alert_xfer);
	free(dev);
}
