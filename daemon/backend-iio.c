/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IIO backend: instruments bound to the strigil kernel module, read with
 * libstrigil's IIO source (lib/sg-iio.h) from /dev/iio:deviceN, watched
 * by the event loop only while streaming.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotplug.h"
#include "util.h"

#if __has_include("sg-iio.h")
#include "sg-iio.h"

struct iio_backend {
	struct instrument *inst;
	struct sg_iio *io;
	sd_event_source *src;
};

bool iio_available(void)
{
	return true;
}

static void iio_block(void *userdata, const struct sg_block *blk)
{
	instrument_on_block(userdata, blk);
}

static int iio_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct iio_backend *b = userdata;
	int r;

	r = sg_iio_read(b->io, iio_block, b->inst);
	if (r == -ENODEV || (revents & (EPOLLHUP | EPOLLERR))) {
		/* udev's remove follows; stop polling a dead fd meanwhile */
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		if (b->inst->connected)
			instrument_set_connected(b->inst, false);
	} else if (r < 0 && r != -EAGAIN) {
		log_warn("%s: IIO read failed: %s", b->inst->info.serial, strerror(-r));
	}
	return 0;
}

static int iio_start(struct instrument *inst)
{
	struct iio_backend *b = inst->backend;
	int r;

	if (!b)
		return -ENODEV;
	r = sg_iio_start(b->io, inst->rate_hz);
	if (r < 0)
		return r;
	sd_event_source_disable_unref(b->src);
	b->src = NULL;
	r = sd_event_add_io(inst->d->event, &b->src, sg_iio_fd(b->io), EPOLLIN, iio_ready, b);
	if (r >= 0)
		(void)sd_event_source_set_priority(b->src, SGD_PRIORITY_SAMPLES);
	if (r < 0)
		sg_iio_stop(b->io);
	return r;
}

static void iio_stop(struct instrument *inst)
{
	struct iio_backend *b = inst->backend;

	if (!b)
		return;
	if (b->src)
		sd_event_source_set_enabled(b->src, SD_EVENT_OFF);
	sg_iio_stop(b->io);
}

static int iio_set_alert(struct instrument *inst, enum strigil_alert a)
{
	struct iio_backend *b = inst->backend;

	return b ? sg_iio_set_alert(b->io, a) : -ENODEV;
}

static int iio_write_calibration(struct instrument *inst, const struct sg_calibration *c)
{
	struct iio_backend *b = inst->backend;
	struct strigil_calibration wire;
	int r;

	if (!b)
		return -ENODEV;
	r = sg_calibration_to_wire(c, &wire);
	if (r < 0)
		return r;
	return sg_iio_write_calibration_wire(b->io, &wire);
}

static void iio_destroy(struct instrument *inst)
{
	struct iio_backend *b = inst->backend;

	if (!b)
		return;
	sd_event_source_disable_unref(b->src);
	sg_iio_close(b->io);
	free(b);
}

static const struct backend_ops iio_ops = {
	.name = "iio",
	.start = iio_start,
	.stop = iio_stop,
	.set_alert = iio_set_alert,
	.write_calibration = iio_write_calibration,
	.destroy = iio_destroy,
};

static int iio_attach_id(struct daemon *d, const char *sys_root, const char *dev_root,
			 const char *id, const char *syspath)
{
	struct iio_backend *b = calloc(1, sizeof(*b));
	struct sg_calibration cal;
	struct instrument *inst;
	bool cal_ok;
	int r;

	if (!b)
		return -ENOMEM;
	r = sg_iio_open(sys_root, dev_root, id, &b->io);
	if (r < 0) {
		free(b);
		return r;
	}
	r = sg_iio_read_calibration(b->io, &cal);
	cal_ok = r >= 0;
	if (!cal_ok)
		log_warn("%s: cannot read the calibration: %s", id, strerror(-r));
	inst = hotplug_bind(d, sg_iio_info(b->io), &cal, cal_ok, &iio_ops, b, syspath);
	if (!inst) {
		sg_iio_close(b->io);
		free(b);
		return -EEXIST;
	}
	b->inst = inst;
	return 0;
}

int iio_attach(struct daemon *d, struct udev_device *dev)
{
	return iio_attach_id(d, NULL, NULL, udev_device_get_sysname(dev),
			     udev_device_get_syspath(dev));
}

int iio_scan_root(struct daemon *d, const char *sys_root, const char *dev_root)
{
	char ids[16][SG_IIO_ID_MAX];
	int n, i, r;

	n = sg_iio_list(sys_root, ids, 16);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < 16; i++) {
		char syspath[1024];
		int len = snprintf(syspath, sizeof(syspath), "%s/bus/iio/devices/%s",
				   sys_root, ids[i]);

		if (len < 0 || (size_t)len >= sizeof(((struct instrument *)0)->syspath))
			return -ENAMETOOLONG;
		r = iio_attach_id(d, sys_root, dev_root, ids[i], syspath);
		if (r < 0)
			log_warn("%s: cannot open the IIO instrument: %s", syspath, strerror(-r));
	}
	return n;
}

#else	/* libstrigil without the IIO source (lib/sg-iio.h) */

bool iio_available(void)
{
	return false;
}

int iio_attach(struct daemon *d, struct udev_device *dev)
{
	return -EOPNOTSUPP;
}

int iio_scan_root(struct daemon *d, const char *sys_root, const char *dev_root)
{
	return -EOPNOTSUPP;
}

#endif
