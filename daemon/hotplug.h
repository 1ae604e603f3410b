/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hotplug (hotplug.c) and the real-device backends it attaches. */
#ifndef STRIGILD_HOTPLUG_H
#define STRIGILD_HOTPLUG_H

#include <libudev.h>

#include "daemon.h"
#include "instrument.h"

/* hotplug.c: udev monitoring and the libusb fallback */
int hotplug_setup(struct daemon *d);
void hotplug_free(struct daemon *d);

/* backend-iio.c: a strigil IIO device appeared ("add" or at start-up). */
int iio_attach(struct daemon *d, struct udev_device *dev);
bool iio_available(void);
/* Test support (--iio-root): instruments under a fake sysfs/dev tree. */
int iio_scan_root(struct daemon *d, const char *sys_root, const char *dev_root);

/* backend-usb.c: a Strigil USB device without a kernel driver. */
int usb_setup(struct daemon *d);
void usb_free(struct daemon *d);
int usb_attach(struct daemon *d, struct udev_device *dev);
bool usb_available(void);

/* Gives an instrument (new or known serial) a fresh backend and plugs it
 * in: the object and its session survive a re-plug. */
struct instrument *hotplug_bind(struct daemon *d, const struct sg_device_info *info,
				const struct sg_calibration *cal, bool cal_valid,
				const struct backend_ops *ops, void *backend,
				const char *syspath);
/* The device at syspath is gone. */
void hotplug_unbind(struct daemon *d, const char *syspath);

#endif
