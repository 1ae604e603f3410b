/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libstrigil IIO source: reads instruments bound to the strigil kernel
 * module through the IIO sysfs ABI and /dev/iio:deviceN.
 * The ABI is documented in docs/sysfs-bus-iio-strigil.
 *
 * Functions return 0 (or a count) on success and a negative errno on
 * failure. -ENODEV means the instrument is gone (unplugged, unbound): the
 * handle stays valid until sg_iio_close() but can do nothing more.
 *
 * Roots are configurable so that tests can point the reader at a fake
 * sysfs tree: sys_root NULL means "/sys", dev_root NULL means "/dev".
 *
 * Not thread safe: one handle is used by one thread (the daemon's loop).
 */
#ifndef STRIGIL_SG_IIO_H
#define STRIGIL_SG_IIO_H

#include <stddef.h>
#include <stdint.h>

#include "strigil.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_IIO_ID_MAX	32	/* "iio:deviceNNN" and NUL */

/*
 * Lists the strigil IIO devices (name == "strigil") under
 * <sys_root>/bus/iio/devices, sorted by device number. Writes at most max
 * ids; returns how many exist (may exceed max) or a negative errno.
 */
int sg_iio_list(const char *sys_root, char (*ids)[SG_IIO_ID_MAX], size_t max);

/* Finds the device with this serial number; -ENOENT if none. */
int sg_iio_find_serial(const char *sys_root, const char *serial,
		       char id[SG_IIO_ID_MAX]);

struct sg_iio;

/* Opens one device by id ("iio:device3"); reads its info. */
int sg_iio_open(const char *sys_root, const char *dev_root, const char *id,
		struct sg_iio **out);
/* Stops streaming if needed and frees the handle. NULL is fine. */
void sg_iio_close(struct sg_iio *io);

const char *sg_iio_id(const struct sg_iio *io);
const struct sg_device_info *sg_iio_info(const struct sg_iio *io);

/*
 * Calibration as the device holds it: offsets and scales come from the
 * IIO _offset/_scale attributes (exact), dates and technician from the
 * calibration blob. -ENODATA if the device's calibration is invalid.
 */
int sg_iio_read_calibration(struct sg_iio *io, struct sg_calibration *cal);
/* Reads the raw 76-byte blob (root only). */
int sg_iio_read_calibration_wire(struct sg_iio *io,
				 struct strigil_calibration *blob);
/*
 * Writes a wire blob (root only). The driver validates it (version, size,
 * channel mask, scales, CRC) and reads it back from the device: -EINVAL
 * for a bad blob, -EIO if the device did not store it.
 */
int sg_iio_write_calibration_wire(struct sg_iio *io,
				  const struct strigil_calibration *blob);

/*
 * The same from a struct sg_calibration (sg_calibration_to_wire fills
 * version, size and CRC). -EINVAL if its channel mask is not the
 * device's or a value does not fit the wire format.
 */
int sg_iio_write_calibration(struct sg_iio *io,
			     const struct sg_calibration *cal);

int sg_iio_set_alert(struct sg_iio *io, enum strigil_alert alert);

/*
 * Starts buffered capture at rate_hz (one of info.rates_hz; 0 = the
 * device's current rate): enables every channel and the timestamp,
 * sizes the kernel buffer, opens /dev/iio:deviceN non-blocking.
 * -EBUSY if another reader holds the buffer.
 */
int sg_iio_start(struct sg_iio *io, unsigned rate_hz);
/* The fd to poll for POLLIN while started, else -1. */
int sg_iio_fd(const struct sg_iio *io);

/*
 * Reads what the kernel has buffered and calls fn once per block of up to
 * STRIGIL_MAX_SAMPLES_ANY samples. For each block: raw counts in
 * channel order, t0_us = IIO timestamp of raw[0] in microseconds (low 32
 * bits, same wrapping as device time), seq = block counter,
 * lost_before = samples the driver counted as lost since the previous
 * block, flags = the OR of the status flags of every frame received since
 * the previous call (so an OVERLOAD or SENSOR_FAULT is never missed; it
 * covers the whole call's samples).
 * Returns the number of samples delivered (0: nothing buffered, never
 * blocks), -ENODEV once the device is gone.
 */
int sg_iio_read(struct sg_iio *io, sg_block_fn fn, void *userdata);

/* Timestamp (IIO clock, ns) of the last sample delivered, 0 if none. */
int64_t sg_iio_last_timestamp_ns(const struct sg_iio *io);

/* Disables the buffer and closes the fd. Idempotent. */
int sg_iio_stop(struct sg_iio *io);

struct sg_iio_counters {
	uint64_t frames;	/* good frames since bind */
	uint64_t samples;	/* good samples since bind */
	uint64_t lost_samples;	/* estimated from sequence gaps */
	uint64_t bad_frames;	/* malformed or stale frames dropped */
	uint64_t urb_errors;	/* transfer errors */
	uint64_t resyncs;	/* sequence jumps accepted, loss unknown */
};

/* Driver counters (cumulative since the device was bound). */
int sg_iio_counters(struct sg_iio *io, struct sg_iio_counters *c);

#ifdef __cplusplus
}
#endif

#endif /* STRIGIL_SG_IIO_H */
