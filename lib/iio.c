// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * IIO source: instruments bound to the strigil kernel module, read through
 * sysfs (docs/sysfs-bus-iio-strigil) and the /dev/iio:deviceN buffer.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg-iio.h"

#define IIO_READ_SCANS	64	/* scans per read() call */

struct scan_elem {
	unsigned index;		/* scan index */
	unsigned bytes;		/* storage bytes: 4 or 8 */
	unsigned offset;	/* byte offset in one scan */
	bool be;		/* big endian storage */
	bool is_signed;
	unsigned realbits, shift;
};

struct sg_iio {
	char sys_root[PATH_MAX / 4];
	char dev_root[PATH_MAX / 4];
	char id[SG_IIO_ID_MAX];
	struct sg_device_info info;
	uint8_t chan[STRIGIL_MAX_CHANNELS];	/* protocol channel per slot */
	unsigned nch;

	int fd;
	unsigned scan_bytes;
	struct scan_elem elem[STRIGIL_MAX_CHANNELS];
	struct scan_elem ts;
	uint64_t lost_seen;
	uint32_t block_seq;
	int64_t last_ts;
	uint8_t buf[IIO_READ_SCANS * 64];
};

/* Truncating copy (device strings are short; never overflow). */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const char *root_or(const char *root, const char *dflt)
{
	return root && *root ? root : dflt;
}

static int dev_path(const struct sg_iio *io, const char *name, char *path,
		    size_t len)
{
	int n = snprintf(path, len, "%s/bus/iio/devices/%s/%s", io->sys_root,
			 io->id, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* -ENODEV when the device directory itself is gone. */
static int gone_or(const struct sg_iio *io, int err)
{
	char path[PATH_MAX];

	if (err != -ENOENT)
		return err;
	if (dev_path(io, "name", path, sizeof(path)) == 0 &&
	    access(path, F_OK) != 0)
		return -ENODEV;
	return err;
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

static int read_attr(const struct sg_iio *io, const char *name, char *buf,
		     size_t len)
{
	char path[PATH_MAX];
	int r = dev_path(io, name, path, sizeof(path));

	if (r < 0)
		return r;
	r = read_file(path, buf, len);
	return r < 0 ? gone_or(io, r) : r;
}

static int write_attr_bytes(const struct sg_iio *io, const char *name,
			    const void *data, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r = dev_path(io, name, path, sizeof(path));

	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return gone_or(io, -errno);
	n = write(fd, data, len);
	r = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int write_attr(const struct sg_iio *io, const char *name,
		      const char *value)
{
	return write_attr_bytes(io, name, value, strlen(value));
}

static int parse_ll(const char *s, long long min, long long max,
		    long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return -EPROTO;
	*out = v;
	return 0;
}

static int parse_ull(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EPROTO;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -EPROTO;
	*out = v;
	return 0;
}

static int read_ll(const struct sg_iio *io, const char *name, long long min,
		   long long max, long long *out)
{
	char buf[64];
	int r = read_attr(io, name, buf, sizeof(buf));

	return r < 0 ? r : parse_ll(buf, min, max, out);
}

static bool is_strigil(const char *sys_root, const char *id)
{
	char path[PATH_MAX], name[32];
	int n = snprintf(path, sizeof(path), "%s/bus/iio/devices/%s/name",
			 sys_root, id);

	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	return read_file(path, name, sizeof(name)) > 0 &&
	       strcmp(name, "strigil") == 0;
}

static int id_number(const char *id)
{
	return atoi(id + strlen("iio:device"));
}

static int cmp_ids(const void *a, const void *b)
{
	return id_number(a) - id_number(b);
}

int sg_iio_list(const char *sys_root, char (*ids)[SG_IIO_ID_MAX], size_t max)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t found = 0;
	DIR *d;

	sys_root = root_or(sys_root, "/sys");
	snprintf(path, sizeof(path), "%s/bus/iio/devices", sys_root);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "iio:device", 10) ||
		    strlen(de->d_name) >= SG_IIO_ID_MAX ||
		    !is_strigil(sys_root, de->d_name))
			continue;
		if (found < max)
			copy_str(ids[found], SG_IIO_ID_MAX, de->d_name);
		found++;
	}
	closedir(d);
	if (found > INT_MAX)
		return -EOVERFLOW;
	qsort(ids, found < max ? found : max, SG_IIO_ID_MAX, cmp_ids);
	return (int)found;
}

int sg_iio_find_serial(const char *sys_root, const char *serial,
		       char id[SG_IIO_ID_MAX])
{
	char ids[64][SG_IIO_ID_MAX];
	char path[PATH_MAX], buf[64];
	int i, n = sg_iio_list(sys_root, ids, 64);

	if (n < 0)
		return n;
	sys_root = root_or(sys_root, "/sys");
	for (i = 0; i < n && i < 64; i++) {
		snprintf(path, sizeof(path), "%s/bus/iio/devices/%s/serial",
			 sys_root, ids[i]);
		if (read_file(path, buf, sizeof(buf)) >= 0 &&
		    strcmp(buf, serial) == 0) {
			copy_str(id, SG_IIO_ID_MAX, ids[i]);
			return 0;
		}
	}
	return -ENOENT;
}

/* "1 2 3" -> up to max numbers in range; returns the count. */
static int parse_list(const char *s, long long min, long long max,
		      long long *out, int nmax)
{
	char tmp[256], *save = NULL, *tok;
	int n = 0;

	copy_str(tmp, sizeof(tmp), s);
	for (tok = strtok_r(tmp, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (n == nmax || parse_ll(tok, min, max, &out[n]) < 0)
			return -EPROTO;
		n++;
	}
	return n;
}

static int read_info(struct sg_iio *io)
{
	struct sg_device_info *in = &io->info;
	long long v, list[STRIGIL_MAX_RATES], fs[STRIGIL_MAX_CHANNELS];
	char buf[256];
	int r, i, n;

	memset(in, 0, sizeof(*in));
	if ((r = read_attr(io, "serial", buf, sizeof(buf))) < 0)
		return r;
	copy_str(in->serial, sizeof(in->serial), buf);
	if ((r = read_attr(io, "model", buf, sizeof(buf))) < 0)
		return r;
	copy_str(in->model, sizeof(in->model), buf);
	if ((r = read_attr(io, "firmware", buf, sizeof(buf))) < 0)
		return r;
	copy_str(in->firmware, sizeof(in->firmware), buf);
	if ((r = read_ll(io, "model_id", 0, 255, &v)) < 0)
		return r;
	in->model_id = (uint8_t)v;
	if ((r = read_ll(io, "channel_mask", 1, STRIGIL_CH_MASK_ALL, &v)) < 0)
		return r;
	in->channel_mask = (uint8_t)v;
	if ((r = read_ll(io, "protocol_version", 0, 0xffff, &v)) < 0)
		return r;
	in->proto_version = (uint16_t)v;
	if ((r = read_ll(io, "sampling_frequency", STRIGIL_RATE_MIN_HZ,
			 STRIGIL_RATE_MAX_HZ, &v)) < 0)
		return r;
	in->default_rate_hz = (uint16_t)v;
	if ((r = read_attr(io, "sampling_frequency_available", buf,
			   sizeof(buf))) < 0)
		return r;
	n = parse_list(buf, STRIGIL_RATE_MIN_HZ, STRIGIL_RATE_MAX_HZ, list,
		       STRIGIL_MAX_RATES);
	if (n <= 0)
		return -EPROTO;
	for (i = 0; i < n; i++)
		in->rates_hz[i] = (uint16_t)list[i];
	in->nrates = (unsigned)n;
	if ((r = read_attr(io, "full_scale", buf, sizeof(buf))) < 0)
		return r;
	if (parse_list(buf, 0, INT32_MAX, fs, STRIGIL_MAX_CHANNELS) !=
	    STRIGIL_MAX_CHANNELS)
		return -EPROTO;
	for (i = 0; i < STRIGIL_MAX_CHANNELS; i++)
		in->full_scale[i] = (int32_t)fs[i];

	io->nch = 0;
	for (i = 0; i < STRIGIL_MAX_CHANNELS; i++)
		if (in->channel_mask & STRIGIL_CH_BIT(i))
			io->chan[io->nch++] = (uint8_t)i;
	return 0;
}

int sg_iio_open(const char *sys_root, const char *dev_root, const char *id,
		struct sg_iio **out)
{
	struct sg_iio *io;
	int r;

	*out = NULL;
	if (!id || strncmp(id, "iio:device", 10) || strchr(id, '/') ||
	    strlen(id) >= SG_IIO_ID_MAX)
		return -EINVAL;
	sys_root = root_or(sys_root, "/sys");
	dev_root = root_or(dev_root, "/dev");
	if (strlen(sys_root) >= sizeof(io->sys_root) ||
	    strlen(dev_root) >= sizeof(io->dev_root))
		return -ENAMETOOLONG;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->fd = -1;
	copy_str(io->sys_root, sizeof(io->sys_root), sys_root);
	copy_str(io->dev_root, sizeof(io->dev_root), dev_root);
	copy_str(io->id, sizeof(io->id), id);
	if (!is_strigil(io->sys_root, id)) {
		free(io);
		return -ENODEV;
	}
	r = read_info(io);
	if (r < 0) {
		free(io);
		return r;
	}
	*out = io;
	return 0;
}

void sg_iio_close(struct sg_iio *io)
{
	if (!io)
		return;
	sg_iio_stop(io);
	free(io);
}

const char *sg_iio_id(const struct sg_iio *io)
{
	return io->id;
}

const struct sg_device_info *sg_iio_info(const struct sg_iio *io)
{
	return &io->info;
}

/* IIO_VAL_INT_PLUS_NANO "I.NNNNNNNNN" (milli-units) -> pico-units, exact. */
static int parse_scale_pu(const char *s, uint64_t *pu)
{
	const char *dot = strchr(s, '.');
	long long ip, frac = 0;
	char ibuf[32];
	size_t ilen = dot ? (size_t)(dot - s) : strlen(s);
	int digits = 0;

	if (ilen == 0 || ilen >= sizeof(ibuf))
		return -EPROTO;
	memcpy(ibuf, s, ilen);
	ibuf[ilen] = '\0';
	if (parse_ll(ibuf, 0, INT32_MAX, &ip) < 0)
		return -EPROTO;
	if (dot) {
		for (const char *p = dot + 1; *p; p++, digits++) {
			if (*p < '0' || *p > '9' || digits == 9)
				return -EPROTO;
			frac = frac * 10 + (*p - '0');
		}
	}
	for (; digits < 9; digits++)
		frac *= 10;
	*pu = (uint64_t)ip * 1000000000ull + (uint64_t)frac;
	return 0;
}

int sg_iio_read_calibration_wire(struct sg_iio *io,
				 struct strigil_calibration *blob)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r = dev_path(io, "calibration", path, sizeof(path));

	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gone_or(io, -errno);
	n = read(fd, blob, sizeof(*blob));
	r = n < 0 ? -errno : (size_t)n != sizeof(*blob) ? -EPROTO : 0;
	close(fd);
	return r;
}

int sg_iio_read_calibration(struct sg_iio *io, struct sg_calibration *cal)
{
	struct strigil_calibration blob;
	char name[64], buf[64];
	long long off;
	uint64_t pu;
	unsigned k;
	int r;

	memset(cal, 0, sizeof(*cal));
	cal->channel_mask = io->info.channel_mask;
	for (k = 0; k < io->nch; k++) {
		unsigned ch = io->chan[k];

		snprintf(name, sizeof(name), "in_voltage%u_scale", ch);
		r = read_attr(io, name, buf, sizeof(buf));
		if (r < 0)
			return r;
		if (parse_scale_pu(buf, &pu) < 0 || pu == 0)
			return -EPROTO;
		snprintf(name, sizeof(name), "in_voltage%u_offset", ch);
		r = read_ll(io, name, INT32_MIN, INT32_MAX, &off);
		if (r < 0)
			return r;
		cal->scale[ch] = (double)pu * 1e-12;
		cal->offset[ch] = (double)-off;
	}
	/* Dates and technician live only in the blob (root only). */
	r = sg_iio_read_calibration_wire(io, &blob);
	if (r == -EACCES || r == -EPERM)
		return 0;
	if (r < 0)
		return r;
	if (sg_crc32(&blob, offsetof(struct strigil_calibration, crc32)) !=
	    le32toh(blob.crc32))
		return -EBADMSG;
	cal->cal_date = (int64_t)le64toh(blob.cal_date);
	cal->due_date = (int64_t)le64toh(blob.due_date);
	memcpy(cal->technician, blob.technician, sizeof(blob.technician));
	cal->technician[sizeof(blob.technician)] = '\0';
	return 0;
}

int sg_iio_write_calibration_wire(struct sg_iio *io,
				  const struct strigil_calibration *blob)
{
	return write_attr_bytes(io, "calibration", blob, sizeof(*blob));
}

int sg_iio_write_calibration(struct sg_iio *io, const struct sg_calibration *cal)
{
	struct strigil_calibration w;
	int r;

	if (cal->channel_mask != io->info.channel_mask)
		return -EINVAL;
	r = sg_calibration_to_wire(cal, &w);
	if (r < 0)
		return r;
	return sg_iio_write_calibration_wire(io, &w);
}

int sg_iio_set_alert(struct sg_iio *io, enum strigil_alert alert)
{
	static const char *const names[] = { "off", "warning", "exceeded" };

	if ((unsigned)alert >= sizeof(names) / sizeof(names[0]))
		return -EINVAL;
	return write_attr(io, "alert", names[alert]);
}

/* "le:s32/32>>0" */
static int parse_type(const char *s, struct scan_elem *e)
{
	char endian[3], sign;
	unsigned real, storage, shift;

	if (sscanf(s, "%2[lb]e:%c%u/%u>>%u", endian, &sign, &real, &storage,
		   &shift) != 5)
		return -EPROTO;
	if ((storage != 32 && storage != 64) || real == 0 || real > storage ||
	    shift >= storage || (sign != 's' && sign != 'u'))
		return -EPROTO;
	e->be = endian[0] == 'b';
	e->is_signed = sign == 's';
	e->bytes = storage / 8;
	e->realbits = real;
	e->shift = shift;
	return 0;
}

static int setup_elem(struct sg_iio *io, const char *prefix,
		      struct scan_elem *e)
{
	char name[96], buf[64];
	long long idx;
	int r;

	snprintf(name, sizeof(name), "scan_elements/%s_en", prefix);
	if ((r = write_attr(io, name, "1")) < 0)
		return r;
	snprintf(name, sizeof(name), "scan_elements/%s_index", prefix);
	if ((r = read_ll(io, name, 0, 63, &idx)) < 0)
		return r;
	e->index = (unsigned)idx;
	snprintf(name, sizeof(name), "scan_elements/%s_type", prefix);
	if ((r = read_attr(io, name, buf, sizeof(buf))) < 0)
		return r;
	return parse_type(buf, e);
}

/* Lays out the scan as the IIO core does: ascending index, natural align. */
static void layout_scan(struct sg_iio *io)
{
	struct scan_elem *order[STRIGIL_MAX_CHANNELS + 1];
	unsigned n = 0, i, j, off = 0, maxb = 1;

	for (i = 0; i < io->nch; i++)
		order[n++] = &io->elem[i];
	order[n++] = &io->ts;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && order[j]->index < order[j - 1]->index; j--) {
			struct scan_elem *t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		unsigned b = order[i]->bytes;

		off = (off + b - 1) / b * b;
		order[i]->offset = off;
		off += b;
		if (b > maxb)
			maxb = b;
	}
	io->scan_bytes = (off + maxb - 1) / maxb * maxb;
}

int sg_iio_start(struct sg_iio *io, unsigned rate_hz)
{
	char path[PATH_MAX], name[64], buf[32];
	struct sg_iio_counters c;
	long long cur, en;
	unsigned i;
	int r;

	if (io->fd >= 0)
		return -EALREADY;
	if (rate_hz) {
		for (i = 0; i < io->info.nrates; i++)
			if (io->info.rates_hz[i] == rate_hz)
				break;
		if (i == io->info.nrates)
			return -EINVAL;
	}
	/* The chardev is exclusive: opening it first claims the device. */
	snprintf(path, sizeof(path), "%s/%s", io->dev_root, io->id);
	io->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (io->fd < 0) {
		r = -errno;
		io->fd = -1;
		return gone_or(io, r);
	}
	if ((r = read_ll(io, "buffer/enable", 0, 1, &en)) < 0)
		goto fail;
	if (en) {
		r = -EBUSY;
		goto fail;
	}
	if ((r = read_ll(io, "sampling_frequency", 0, 65535, &cur)) < 0)
		goto fail;
	if (rate_hz && (unsigned)cur != rate_hz) {
		snprintf(buf, sizeof(buf), "%u", rate_hz);
		if ((r = write_attr(io, "sampling_frequency", buf)) < 0)
			goto fail;
		cur = rate_hz;
	}
	for (i = 0; i < io->nch; i++) {
		snprintf(name, sizeof(name), "in_voltage%u", io->chan[i]);
		if ((r = setup_elem(io, name, &io->elem[i])) < 0)
			goto fail;
		if (io->elem[i].bytes != 4) {
			r = -EPROTO;
			goto fail;
		}
	}
	if ((r = setup_elem(io, "in_timestamp", &io->ts)) < 0)
		goto fail;
	if (io->ts.bytes != 8) {
		r = -EPROTO;
		goto fail;
	}
	layout_scan(io);
	if (io->scan_bytes > 64) {
		r = -EPROTO;
		goto fail;
	}
	/* Two seconds of samples; wake the reader about every 10 ms. */
	snprintf(buf, sizeof(buf), "%lld", cur * 2);
	if ((r = write_attr(io, "buffer/length", buf)) < 0)
		goto fail;
	snprintf(buf, sizeof(buf), "%lld", cur / 100 > 0 ? cur / 100 : 1);
	if ((r = write_attr(io, "buffer/watermark", buf)) < 0)
		goto fail;
	if ((r = sg_iio_counters(io, &c)) < 0)
		goto fail;
	io->lost_seen = c.lost_samples;
	if ((r = write_attr(io, "buffer/enable", "1")) < 0)
		goto fail;
	io->block_seq = 0;
	io->last_ts = 0;
	return 0;
fail:
	close(io->fd);
	io->fd = -1;
	return r;
}

int sg_iio_fd(const struct sg_iio *io)
{
	return io->fd;
}

int64_t sg_iio_last_timestamp_ns(const struct sg_iio *io)
{
	return io->last_ts;
}

static uint64_t load(const uint8_t *p, const struct scan_elem *e)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < e->bytes; i++) {
		unsigned k = e->be ? i : e->bytes - 1 - i;

		v = (v << 8) | p[e->offset + k];
	}
	return v;
}

static int32_t elem_value(const uint8_t *scan, const struct scan_elem *e)
{
	uint64_t v = load(scan, e) >> e->shift;
	unsigned bits = e->realbits;

	if (bits < 64)
		v &= (1ull << bits) - 1;
	if (e->is_signed && bits < 64 && (v & (1ull << (bits - 1))))
		v |= ~((1ull << bits) - 1);
	return (int32_t)(int64_t)v;
}

int sg_iio_read(struct sg_iio *io, sg_block_fn fn, void *userdata)
{
	struct sg_block blk;
	uint64_t lost_now;
	char buf[32];
	ssize_t n;
	unsigned nscans, i, k;
	uint16_t flags = 0;
	uint64_t lost = 0;
	long long f;

	if (io->fd < 0)
		return -EBADF;
	n = read(io->fd, io->buf, sizeof(io->buf) / io->scan_bytes *
		 io->scan_bytes);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return errno == ENODEV ? -ENODEV : -errno;
	}
	if (n == 0)
		return 0;
	nscans = (unsigned)n / io->scan_bytes;

	/* Two small sysfs reads per call (the kernel wakes us ~100 times/s). */
	if (read_attr(io, "lost_samples", buf, sizeof(buf)) > 0 &&
	    parse_ull(buf, &lost_now) == 0) {
		if (lost_now >= io->lost_seen)
			lost = lost_now - io->lost_seen;
		io->lost_seen = lost_now;
	}
	/*
	 * Flags of every frame since the last call (latched by the driver):
	 * an OVERLOAD between two reads is never missed; it is reported on
	 * every block of this call (conservative). Reading does not clear
	 * them (any IIO tool may read the file): writing back exactly what
	 * was read does, so a flag latched in between stays for the next
	 * call. A failed write only reports the same flags again.
	 */
	if (read_attr(io, "status_flags_seen", buf, sizeof(buf)) > 0 &&
	    parse_ll(buf, 0, 0xffff, &f) == 0 && f) {
		flags = (uint16_t)f;
		snprintf(buf, sizeof(buf), "0x%04x\n", flags);
		(void)write_attr(io, "status_flags_seen", buf);
	}

	for (i = 0; i < nscans;) {
		memset(&blk, 0, sizeof(blk));
		blk.seq = io->block_seq++;
		blk.flags = flags;
		blk.channel_mask = io->info.channel_mask;
		blk.nchannels = (uint8_t)io->nch;
		blk.lost_before = lost > UINT32_MAX ? UINT32_MAX : (uint32_t)lost;
		lost = 0;
		for (; i < nscans && blk.nsamples < STRIGIL_MAX_SAMPLES_ANY; i++) {
			const uint8_t *scan = io->buf + (size_t)i * io->scan_bytes;
			int64_t ts = (int64_t)load(scan, &io->ts);

			if (blk.nsamples == 0)
				blk.t0_us = (uint32_t)((uint64_t)ts / 1000u);
			for (k = 0; k < io->nch; k++)
				blk.raw[blk.nsamples][k] = elem_value(scan, &io->elem[k]);
			blk.nsamples++;
			io->last_ts = ts;
		}
		fn(userdata, &blk);
	}
	return (int)nscans;
}

int sg_iio_stop(struct sg_iio *io)
{
	int r = 0;

	if (io->fd < 0)
		return 0;
	r = write_attr(io, "buffer/enable", "0");
	close(io->fd);
	io->fd = -1;
	return r == -ENODEV || r == -ENOENT ? 0 : r;
}

int sg_iio_counters(struct sg_iio *io, struct sg_iio_counters *c)
{
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
		{ "frames", offsetof(struct sg_iio_counters, frames) },
		{ "samples", offsetof(struct sg_iio_counters, samples) },
		{ "lost_samples", offsetof(struct sg_iio_counters, lost_samples) },
		{ "bad_frames", offsetof(struct sg_iio_counters, bad_frames) },
		{ "urb_errors", offsetof(struct sg_iio_counters, urb_errors) },
		{ "resyncs", offsetof(struct sg_iio_counters, resyncs) },
	};
	char buf[32];
	size_t i;
	int r;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint64_t v;

		if ((r = read_attr(io, map[i].name, buf, sizeof(buf))) < 0)
			return r;
		if (parse_ull(buf, &v) < 0)
			return -EPROTO;
		memcpy((char *)c + map[i].off, &v, sizeof(v));
	}
	return 0;
}
