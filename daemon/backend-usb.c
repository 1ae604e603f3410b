/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libusb backend: a Strigil instrument that no kernel driver claimed is
 * read with libstrigil's libusb source (lib/sg-usb.h): several interrupt
 * transfers in flight, kernel driver auto-detached while we hold it. The
 * libusb context's fds live in the sd-event loop (libusb_get_pollfds and
 * its notifiers); libusb's timeouts come through its timerfd.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "hotplug.h"
#include "util.h"

#if __has_include("sg-usb.h")
#include "sg-usb.h"

struct usb_fd {
	struct usb_fd *next;
	int fd;
	sd_event_source *src;
};

struct usb_ctx {
	struct daemon *d;
	libusb_context *ctx;
	struct usb_fd *fds;
};

static struct usb_ctx *usb_state;

struct usb_backend {
	struct instrument *inst;
	struct sg_usb_dev *dev;
	sd_event_source *gone;		/* deferred: device vanished / failed */
};

bool usb_available(void)
{
	return true;
}

static int usb_fd_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct usb_ctx *u = userdata;

	sg_usb_handle_events(u->ctx);
	return 0;
}

static uint32_t poll_to_epoll(short events)
{
	return (events & POLLIN ? EPOLLIN : 0) | (events & POLLOUT ? EPOLLOUT : 0);
}

static void pollfd_added(int fd, short events, void *userdata)
{
	struct usb_ctx *u = userdata;
	struct usb_fd *f = calloc(1, sizeof(*f));

	if (!f)
		return;
	f->fd = fd;
	if (sd_event_add_io(u->d->event, &f->src, fd, poll_to_epoll(events), usb_fd_ready, u) < 0) {
		log_err("libusb: cannot watch fd %d", fd);
		free(f);
		return;
	}
	(void)sd_event_source_set_priority(f->src, SGD_PRIORITY_SAMPLES);
	f->next = u->fds;
	u->fds = f;
}

static void pollfd_removed(int fd, void *userdata)
{
	struct usb_ctx *u = userdata;
	struct usb_fd **pp;

	for (pp = &u->fds; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			struct usb_fd *f = *pp;

			*pp = f->next;
			sd_event_source_disable_unref(f->src);
			free(f);
			return;
		}
}

int usb_setup(struct daemon *d)
{
	const struct libusb_pollfd **pfds;
	struct usb_ctx *u = calloc(1, sizeof(*u));
	int r, i;

	if (!u)
		return -ENOMEM;
	u->d = d;
	r = libusb_init(&u->ctx);
	if (r < 0) {
		free(u);
		return sg_usb_errno(r);
	}
	if (!libusb_pollfds_handle_timeouts(u->ctx))
		log_warn("libusb: timeouts not handled through fds; transfers may time out late");
	libusb_set_pollfd_notifiers(u->ctx, pollfd_added, pollfd_removed, u);
	pfds = libusb_get_pollfds(u->ctx);
	for (i = 0; pfds && pfds[i]; i++)
		pollfd_added(pfds[i]->fd, pfds[i]->events, u);
	libusb_free_pollfds(pfds);
	usb_state = u;
	return 0;
}

void usb_free(struct daemon *d)
{
	struct usb_ctx *u = usb_state;

	if (!u)
		return;
	libusb_set_pollfd_notifiers(u->ctx, NULL, NULL, NULL);
	while (u->fds)
		pollfd_removed(u->fds->fd, u);
	libusb_exit(u->ctx);
	free(u);
	usb_state = NULL;
}

static int usb_gone(sd_event_source *s, void *userdata)
{
	struct usb_backend *b = userdata;

	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	if (b->inst && b->inst->connected)
		instrument_set_connected(b->inst, false);
	return 0;
}

/* From inside libusb event handling: only note it (sg-usb.h rules). */
static void usb_cb_disconnect(void *userdata)
{
	struct usb_backend *b = userdata;

	sd_event_source_set_enabled(b->gone, SD_EVENT_ONESHOT);
}

static void usb_cb_error(void *userdata, int err)
{
	struct usb_backend *b = userdata;

	log_err("%s: streaming failed: %s", b->inst ? b->inst->info.serial : "?", strerror(-err));
	sd_event_source_set_enabled(b->gone, SD_EVENT_ONESHOT);
}

static void usb_cb_block(void *userdata, const struct sg_block *blk)
{
	struct usb_backend *b = userdata;

	if (b->inst)
		instrument_on_block(b->inst, blk);
}

static int usb_start(struct instrument *inst)
{
	struct usb_backend *b = inst->backend;
	struct sg_usb_callbacks cb = {
		.block = usb_cb_block,
		.disconnect = usb_cb_disconnect,
		.error = usb_cb_error,
		.userdata = b,
	};

	if (!b)
		return -ENODEV;
	return sg_usb_start(b->dev, inst->rate_hz, &cb);
}

static void usb_stop(struct instrument *inst)
{
	struct usb_backend *b = inst->backend;

	if (b)
		sg_usb_stop(b->dev);
}

/* From inside libusb event handling: log and count only (AlertFailures). */
static void usb_alert_done(void *userdata, enum strigil_alert a, int err)
{
	struct usb_backend *b = userdata;
	const char *serial = b->inst ? b->inst->info.serial : "?";

	if (err == 0) {
		log_debug("%s: SET_ALERT %d acknowledged", serial, (int)a);
		return;
	}
	if (err == -ECANCELED || !b->inst)
		return;		/* closing the device */
	instrument_alert_failed(b->inst, a, err);
}

/*
 * Alerts are decided per sample, i.e. from inside libusb event handling
 * (usb_cb_block): a synchronous control transfer there cannot run (libusb
 * refuses to handle events recursively: -EBUSY), so the request goes out
 * as an asynchronous transfer in the same loop.
 */
static int usb_set_alert(struct instrument *inst, enum strigil_alert a)
{
	struct usb_backend *b = inst->backend;

	return b ? sg_usb_set_alert_async(b->dev, a, usb_alert_done, b) : -ENODEV;
}

static int usb_write_calibration(struct instrument *inst, const struct sg_calibration *c)
{
	struct usb_backend *b = inst->backend;

	return b ? sg_usb_set_calibration(b->dev, c) : -ENODEV;
}

static void usb_destroy(struct instrument *inst)
{
	struct usb_backend *b = inst->backend;

	if (!b)
		return;
	sg_usb_close(b->dev);
	sd_event_source_disable_unref(b->gone);
	free(b);
}

static const struct backend_ops usb_ops = {
	.name = "usb",
	.start = usb_start,
	.stop = usb_stop,
	.set_alert = usb_set_alert,
	.write_calibration = usb_write_calibration,
	.destroy = usb_destroy,
};

int usb_attach(struct daemon *d, struct udev_device *dev)
{
	struct usb_ctx *u = usb_state;
	struct sg_usb_found found[16];
	const char *busnum = udev_device_get_sysattr_value(dev, "busnum");
	const char *devnum = udev_device_get_sysattr_value(dev, "devnum");
	struct usb_backend *b;
	struct sg_calibration cal;
	struct instrument *inst;
	bool cal_ok;
	int n, i, r;

	if (!u)
		return -EOPNOTSUPP;
	if (!busnum || !devnum)
		return -ENODEV;
	n = sg_usb_enumerate(u->ctx, found, sizeof(found) / sizeof(found[0]));
	if (n < 0)
		return n;
	for (i = 0; i < n && i < (int)(sizeof(found) / sizeof(found[0])); i++)
		if (found[i].bus == atoi(busnum) && found[i].address == atoi(devnum))
			break;
	if (i >= n || i >= (int)(sizeof(found) / sizeof(found[0])))
		return -ENODEV;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	r = sd_event_add_defer(d->event, &b->gone, usb_gone, b);
	if (r < 0) {
		free(b);
		return r;
	}
	sd_event_source_set_enabled(b->gone, SD_EVENT_OFF);
	r = sg_usb_open(u->ctx, &found[i], &b->dev);
	if (r < 0) {
		sd_event_source_disable_unref(b->gone);
		free(b);
		return r;
	}
	cal_ok = sg_usb_get_calibration(b->dev, &cal) >= 0;
	inst = hotplug_bind(d, sg_usb_info(b->dev), &cal, cal_ok, &usb_ops, b,
			    udev_device_get_syspath(dev));
	if (!inst) {
		sg_usb_close(b->dev);
		sd_event_source_disable_unref(b->gone);
		free(b);
		return -EEXIST;
	}
	b->inst = inst;
	return 0;
}

#else	/* libstrigil without the libusb source (lib/sg-usb.h) */

bool usb_available(void)
{
	return false;
}

int usb_setup(struct daemon *d)
{
	return -EOPNOTSUPP;
}

void usb_free(struct daemon *d)
{
}

int usb_attach(struct daemon *d, struct udev_device *dev)
{
	return -EOPNOTSUPP;
}

#endif
