/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Discovery and hotplug: a libudev monitor (subsystems iio and usb) in the
 * sd-event loop. An instrument with the strigil kernel driver appears as an
 * IIO device; a Strigil USB device that no driver claimed is read through
 * libusb. Instruments are keyed by serial: a re-plug finds the same object
 * (Connected goes false, then true) and its session continues.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotplug.h"
#include "util.h"

#define USB_SETTLE_USEC		1500000	/* give the kernel driver time to bind */

struct pending_usb {
	struct pending_usb *next;
	struct hotplug *hp;
	char syspath[256];
	sd_event_source *timer;
};

struct hotplug {
	struct daemon *d;
	struct udev *udev;
	struct udev_monitor *mon;
	sd_event_source *src;
	struct pending_usb *pending;
};

struct instrument *hotplug_bind(struct daemon *d, const struct sg_device_info *info,
				const struct sg_calibration *cal, bool cal_valid,
				const struct backend_ops *ops, void *backend,
				const char *syspath)
{
	struct instrument *inst = instrument_find_serial(d, info->serial);
	bool known = inst != NULL;

	if (inst && inst->connected) {
		log_warn("%s: a second instrument with the same serial; ignoring %s",
			 info->serial, syspath);
		return NULL;
	}
	if (!inst) {
		inst = instrument_new(d, info, ops, backend);
		if (!inst)
			return NULL;
	} else {
		instrument_rebind(inst, ops, backend, info);
	}
	instrument_set_device(inst, syspath, cal_valid ? cal : NULL, false);
	if (!cal_valid)
		log_warn("%s: no valid calibration on the device", info->serial);
	if (known) {
		sd_bus_emit_properties_changed(d->bus, inst->path, SGD_IFACE_INSTRUMENT,
					       "CalibrationDate", "CalibrationDue",
					       "CalibrationValid", "CalibrationTechnician", NULL);
		instrument_set_connected(inst, true);
	} else {
		instrument_publish(inst);
	}
	return inst;
}

void hotplug_unbind(struct daemon *d, const char *syspath)
{
	struct instrument *inst;

	/* Connected may already be false: the backend saw the device go
	 * (ENODEV, libusb disconnect) before udev's "remove" came. */
	for (inst = d->instruments; inst; inst = inst->next)
		if (!inst->simulated && inst->syspath[0] &&
		    strcmp(inst->syspath, syspath) == 0)
			break;
	if (!inst)
		return;
	instrument_unbind(inst);
}

static bool is_strigil_usb(struct udev_device *dev)
{
	const char *vid = udev_device_get_sysattr_value(dev, "idVendor");
	const char *pid = udev_device_get_sysattr_value(dev, "idProduct");
	char want_vid[8], want_pid[8];

	snprintf(want_vid, sizeof(want_vid), "%04x", STRIGIL_USB_VID);
	snprintf(want_pid, sizeof(want_pid), "%04x", STRIGIL_USB_PID);
	return vid && pid && strcmp(vid, want_vid) == 0 && strcmp(pid, want_pid) == 0;
}

/* Does any interface of this USB device have a kernel driver bound? */
static bool usb_driver_bound(const char *syspath)
{
	const char *sysname = strrchr(syspath, '/');
	struct dirent *de;
	bool bound = false;
	DIR *dir;

	if (!sysname)
		return false;
	sysname++;
	dir = opendir(syspath);
	if (!dir)
		return false;
	while (!bound && (de = readdir(dir))) {
		char p[512];

		if (strncmp(de->d_name, sysname, strlen(sysname)) != 0 ||
		    de->d_name[strlen(sysname)] != ':')
			continue;
		snprintf(p, sizeof(p), "%s/%s/driver", syspath, de->d_name);
		bound = access(p, F_OK) == 0;
	}
	closedir(dir);
	return bound;
}

static void pending_free(struct pending_usb *p)
{
	struct pending_usb **pp;

	for (pp = &p->hp->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	sd_event_source_disable_unref(p->timer);
	free(p);
}

static int usb_settled(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pending_usb *p = userdata;
	struct hotplug *hp = p->hp;
	struct udev_device *dev;

	dev = udev_device_new_from_syspath(hp->udev, p->syspath);
	if (dev && !usb_driver_bound(p->syspath)) {
		int r = usb_attach(hp->d, dev);

		if (r < 0)
			log_warn("%s: cannot use the instrument through libusb: %s",
				 p->syspath, strerror(-r));
	}
	udev_device_unref(dev);
	pending_free(p);
	return 0;
}

static void usb_added(struct hotplug *hp, struct udev_device *dev, uint64_t delay)
{
	struct pending_usb *p;

	if (!usb_available()) {
		log_warn("%s: Strigil USB device without a kernel driver, and this strigild has no libusb backend",
			 udev_device_get_syspath(dev));
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->hp = hp;
	snprintf(p->syspath, sizeof(p->syspath), "%s", udev_device_get_syspath(dev));
	if (sd_event_add_time_relative(hp->d->event, &p->timer, CLOCK_MONOTONIC, delay, 0,
				       usb_settled, p) < 0) {
		free(p);
		return;
	}
	p->next = hp->pending;
	hp->pending = p;
}

static void handle_device(struct hotplug *hp, struct udev_device *dev, const char *action)
{
	const char *subsys = udev_device_get_subsystem(dev);
	const char *syspath = udev_device_get_syspath(dev);
	const char *devtype = udev_device_get_devtype(dev);
	int r;

	if (!subsys || !syspath)
		return;
	if (strcmp(action, "remove") == 0) {
		struct pending_usb *p;

		for (p = hp->pending; p; p = p->next)
			if (strcmp(p->syspath, syspath) == 0) {
				pending_free(p);
				break;
			}
		hotplug_unbind(hp->d, syspath);
		return;
	}
	if (strcmp(action, "add") != 0)
		return;
	if (strcmp(subsys, "iio") == 0) {
		const char *name = udev_device_get_sysattr_value(dev, "name");

		if (!name || strcmp(name, "strigil") != 0)
			return;
		r = iio_attach(hp->d, dev);
		if (r < 0)
			log_warn("%s: cannot open the IIO instrument: %s", syspath, strerror(-r));
	} else if (strcmp(subsys, "usb") == 0 && devtype && strcmp(devtype, "usb_device") == 0 &&
		   is_strigil_usb(dev)) {
		usb_added(hp, dev, USB_SETTLE_USEC);
	}
}

static int monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct hotplug *hp = userdata;
	struct udev_device *dev;

	while ((dev = udev_monitor_receive_device(hp->mon))) {
		const char *action = udev_device_get_action(dev);

		if (action)
			handle_device(hp, dev, action);
		udev_device_unref(dev);
	}
	return 0;
}

static void enumerate(struct hotplug *hp, const char *subsys)
{
	struct udev_enumerate *e = udev_enumerate_new(hp->udev);
	struct udev_list_entry *it;

	if (!e)
		return;
	udev_enumerate_add_match_subsystem(e, subsys);
	udev_enumerate_scan_devices(e);
	udev_list_entry_foreach(it, udev_enumerate_get_list_entry(e)) {
		struct udev_device *dev = udev_device_new_from_syspath(hp->udev,
						udev_list_entry_get_name(it));

		if (!dev)
			continue;
		if (strcmp(subsys, "usb") == 0) {
			/* at start-up a bound driver is already bound */
			if (udev_device_get_devtype(dev) &&
			    strcmp(udev_device_get_devtype(dev), "usb_device") == 0 &&
			    is_strigil_usb(dev) && !usb_driver_bound(udev_device_get_syspath(dev)))
				usb_added(hp, dev, 0);
		} else {
			handle_device(hp, dev, "add");
		}
		udev_device_unref(dev);
	}
	udev_enumerate_unref(e);
}

int hotplug_setup(struct daemon *d)
{
	struct hotplug *hp = calloc(1, sizeof(*hp));
	int r;

	if (!hp)
		return -ENOMEM;
	hp->d = d;
	d->hotplug = hp;
	hp->udev = udev_new();
	if (!hp->udev)
		return -ENOMEM;
	hp->mon = udev_monitor_new_from_netlink(hp->udev, "udev");
	if (!hp->mon)
		return -EPROTONOSUPPORT;
	udev_monitor_filter_add_match_subsystem_devtype(hp->mon, "iio", NULL);
	udev_monitor_filter_add_match_subsystem_devtype(hp->mon, "usb", "usb_device");
	r = udev_monitor_enable_receiving(hp->mon);
	if (r < 0)
		return r;
	r = sd_event_add_io(d->event, &hp->src, udev_monitor_get_fd(hp->mon), EPOLLIN,
			    monitor_io, hp);
	if (r < 0)
		return r;
	r = usb_setup(d);
	if (r < 0)
		log_warn("libusb backend unavailable: %s", strerror(-r));
	enumerate(hp, "iio");
	enumerate(hp, "usb");
	return 0;
}

void hotplug_free(struct daemon *d)
{
	struct hotplug *hp = d->hotplug;

	if (!hp)
		return;
	while (hp->pending)
		pending_free(hp->pending);
	sd_event_source_disable_unref(hp->src);
	udev_monitor_unref(hp->mon);
	udev_unref(hp->udev);
	usb_free(d);
	free(hp);
	d->hotplug = NULL;
}
