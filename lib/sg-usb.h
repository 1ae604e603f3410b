/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libstrigil's libusb device source: for PCs without the strigil kernel
 * module, the daemon's fallback, tools and tests. docs/protocol.md is the
 * protocol it speaks.
 *
 * Threading: one thread. Every function here, and every callback, runs in
 * the thread that handles the libusb context's events.
 *
 * Event loop integration (sd-event, poll...): the caller owns the
 * libusb_context. Watch the fds of libusb_get_pollfds(ctx) (and follow
 * libusb_set_pollfd_notifiers(ctx, ...) for changes); when one is ready,
 * call sg_usb_handle_events(ctx), which never blocks. On Linux libusb
 * handles its timeouts through a timerfd among those fds
 * (libusb_pollfds_handle_timeouts(ctx) == 1), so no timer is needed.
 *
 * Callbacks (sg_block_fn, disconnect, error) run from inside libusb event
 * handling, also from inside the synchronous calls below (a frame can be
 * delivered while sg_usb_start() sends START). They MUST NOT call
 * sg_usb_start/stop/close or other sg_usb_* request functions: note the
 * event and act on it from the event loop.
 */
#ifndef STRIGIL_SG_USB_H
#define STRIGIL_SG_USB_H

#include <libusb.h>

#include "strigil.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_USB_TRANSFERS	8	/* interrupt IN transfers kept in flight */
#define SG_USB_MAX_ERRORS	50	/* consecutive failed transfers: give up */

/* libusb error code -> negative errno (-EPIPE for a STALL, -ENODEV...). */
int sg_usb_errno(int libusb_error);

/* A matching device: VID/PID and the vendor interface triplet. */
struct sg_usb_found {
	uint8_t bus;
	uint8_t address;
	uint8_t interface;		/* bInterfaceNumber */
	uint8_t endpoint;		/* interrupt IN bEndpointAddress */
	char port_path[32];		/* "1-2.3" */
};

/* Fills up to max entries; returns how many matched (may exceed max). */
int sg_usb_enumerate(libusb_context *ctx, struct sg_usb_found *out, size_t max);

struct sg_usb_callbacks {
	sg_block_fn block;			/* every decoded frame (required) */
	void (*disconnect)(void *userdata);	/* device gone; once */
	void (*error)(void *userdata, int err);	/* streaming gave up; once */
	void *userdata;
};

/*
 * The streaming state machine, apart from libusb so it can be tested
 * without a device: sg_usb_stream_complete() takes one completed transfer
 * and returns whether to resubmit it.
 */
struct sg_usb_stream {
	struct sg_decoder dec;
	struct sg_usb_callbacks cb;
	unsigned consecutive_errors;
	uint64_t transfer_errors;	/* failed transfers (not bad frames) */
	bool disconnected;
	bool failed;
};

void sg_usb_stream_init(struct sg_usb_stream *s, uint8_t channel_mask,
			const struct sg_usb_callbacks *cb);
bool sg_usb_stream_complete(struct sg_usb_stream *s, int libusb_transfer_status,
			    const uint8_t *buf, int len);

struct sg_usb_dev;

/*
 * Opens a device (which = NULL: the first one found), detaches a kernel
 * driver while we hold it (libusb_set_auto_detach_kernel_driver), claims
 * the interface and reads GET_INFO. -ENODEV if none, -EACCES, -EBUSY,
 * -EPROTO (not a valid Strigil device)...
 */
int sg_usb_open(libusb_context *ctx, const struct sg_usb_found *which,
		struct sg_usb_dev **out);
/* Stops streaming if needed, releases the interface, frees everything. */
void sg_usb_close(struct sg_usb_dev *dev);

const struct sg_device_info *sg_usb_info(const struct sg_usb_dev *dev);
const struct sg_usb_stream *sg_usb_stream(const struct sg_usb_dev *dev);
libusb_context *sg_usb_context(const struct sg_usb_dev *dev);
/* For tests that need raw requests (e.g. checking STALLs). */
libusb_device_handle *sg_usb_handle(const struct sg_usb_dev *dev);
uint8_t sg_usb_interface(const struct sg_usb_dev *dev);
bool sg_usb_streaming(const struct sg_usb_dev *dev);

/* Control requests (STRIGIL_CTRL_TIMEOUT_MS each). -EPIPE: the device
 * refused (STALL); -EPROTO: its answer failed validation. */
int sg_usb_get_info(struct sg_usb_dev *dev, struct sg_device_info *info);
int sg_usb_get_calibration(struct sg_usb_dev *dev, struct sg_calibration *c);
/* Writes, then reads back: -EPIPE if the device refused (STALL or not stored).
 * -EINVAL if c's channel mask is not the device's. */
int sg_usb_set_calibration(struct sg_usb_dev *dev, const struct sg_calibration *c);
int sg_usb_set_alert(struct sg_usb_dev *dev, enum strigil_alert alert);

/*
 * SET_ALERT without blocking, for callers inside libusb event handling
 * (a block callback deciding an alarm): the synchronous request above
 * would have to handle events recursively there, which libusb refuses
 * (LIBUSB_ERROR_BUSY, -EBUSY). One request is in flight at a time; an
 * alert set meanwhile is queued, replacing any older queued one (an alert
 * is a level), and sent when the first completes. done (may be NULL) runs
 * from event handling once per request sent, with 0 or a negative errno
 * (-EPIPE refused, -ETIMEDOUT, -ENODEV, -ECANCELED at close); the last
 * done/userdata given are the ones called. Returns 0 when sent or queued,
 * -EINVAL, or the submit error (-ENODEV...).
 */
typedef void (*sg_usb_alert_fn)(void *userdata, enum strigil_alert alert, int err);
int sg_usb_set_alert_async(struct sg_usb_dev *dev, enum strigil_alert alert,
			   sg_usb_alert_fn done, void *userdata);

struct sg_usb_status {
	uint16_t flags;			/* STRIGIL_STATUS_* (known bits) */
	uint16_t rate_hz;		/* 0 = stopped */
	uint8_t alert;			/* enum strigil_alert */
	uint32_t frames_sent;
};
int sg_usb_get_status(struct sg_usb_dev *dev, struct sg_usb_status *st);

/*
 * Submits SG_USB_TRANSFERS interrupt transfers, then sends START(rate).
 * rate_hz must be one of the device's rates (-EINVAL). -EBUSY if already
 * streaming. Frames are then delivered from event handling.
 */
int sg_usb_start(struct sg_usb_dev *dev, unsigned rate_hz,
		 const struct sg_usb_callbacks *cb);
/* Sends STOP, cancels the transfers and waits until all completed
 * (handling events for at most 2 s). Safe when not streaming. */
int sg_usb_stop(struct sg_usb_dev *dev);

/* Handles pending events without blocking (for an external event loop). */
int sg_usb_handle_events(libusb_context *ctx);

/*
 * Blocking helper for tools and tests: streams at rate_hz for seconds,
 * handling events itself, then stops. 0, -ENODEV if the device went away,
 * or the error that ended streaming.
 */
int sg_usb_read_for(struct sg_usb_dev *dev, double seconds, unsigned rate_hz,
		    const struct sg_usb_callbacks *cb);

#ifdef __cplusplus
}
#endif

#endif /* STRIGIL_SG_USB_H */
