// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * strigil-gadget: the Strigil instrument, emulated through FunctionFS.
 *
 * Sets up a configfs USB gadget (VID 0x1209 PID 0x0001, one vendor
 * interface, one interrupt IN endpoint) with a usb_f_fs function, answers
 * every control request of include/strigil/protocol.h (STALL on malformed
 * ones), keeps its calibration in a file (atomic replace), and streams a
 * signal at the requested rate as raw counts through its calibration.
 * It can misbehave on purpose for tests (bad frames, sequence gaps,
 * stalled requests). See tools/gadget/README.md and --help.
 *
 * Needs root, configfs, libcomposite and usb_f_fs, and a UDC (dummy_hcd in
 * tests). Unplug/replug: write "" / the UDC name to <gadget>/UDC.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>

#include "strigil.h"

#define CAL_CRC_LEN	offsetof(struct strigil_calibration, crc32)

enum signal_kind { SIG_PATTERN, SIG_SIM, SIG_CSV };

struct options {
	const char *configfs;
	const char *gadget;
	const char *ffs_dir;
	const char *udc;
	const char *cal_file;
	const char *serial;
	const char *csv;
	enum signal_kind signal;
	int model;
	bool bind;
	unsigned bad_every;
	unsigned gap_every;
	unsigned flags_every;
	int stall_req;
	uint64_t seed;
};

static struct options opt = {
	.configfs = "/sys/kernel/config",
	.gadget = "strigil",
	.ffs_dir = "/dev/ffs-strigil",
	.serial = "SG0001",
	.model = STRIGIL_MODEL_S1,
	.bind = true,
	.stall_req = -1,
	.seed = 1,
};

/* Shared between the ep0 thread and the streamer. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct strigil_info info;
static struct strigil_calibration cal;
static bool streaming;
static bool enabled;
static unsigned rate_hz;
static uint8_t alert;
static uint32_t frames_sent;
static uint64_t stream_gen;
static volatile sig_atomic_t quit;
static pthread_t streamer;
static char gadget_dir[PATH_MAX];

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("strigil-gadget: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

__attribute__((format(printf, 1, 2)))
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("strigil-gadget: ", stdout);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- configfs ---------------------------------------------------------- */

/* Formats a path into a PATH_MAX buffer; a path that does not fit is fatal. */
__attribute__((format(printf, 2, 3)))
static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		die("path too long");
}

static int write_str(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX];
	int fd, r = 0;
	ssize_t n;

	pathf(path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

static void must_write(const char *dir, const char *name, const char *val)
{
	int r = write_str(dir, name, val);

	if (r < 0)
		die("cannot write %s/%s: %s", dir, name, strerror(-r));
}

__attribute__((format(printf, 1, 2)))
static void must_mkdir(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
}

__attribute__((format(printf, 1, 2)))
static void rmdir_f(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	rmdir(path);
}

static const char *first_udc(void)
{
	static char name[256];
	struct dirent *de;
	DIR *d = opendir("/sys/class/udc");

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s", de->d_name);
		closedir(d);
		return name;
	}
	closedir(d);
	return NULL;
}

static void gadget_teardown(void)
{
	char path[PATH_MAX];

	if (!gadget_dir[0])
		return;
	write_str(gadget_dir, "UDC", "\n");
	pathf(path, "%s/configs/c.1/ffs.%s", gadget_dir,
		 opt.gadget);
	unlink(path);
	rmdir_f("%s/configs/c.1/strings/0x409", gadget_dir);
	rmdir_f("%s/configs/c.1", gadget_dir);
	rmdir_f("%s/functions/ffs.%s", gadget_dir, opt.gadget);
	rmdir_f("%s/strings/0x409", gadget_dir);
	rmdir(gadget_dir);
	gadget_dir[0] = '\0';
}

static void gadget_create(void)
{
	char buf[64], path[PATH_MAX], target[PATH_MAX];

	pathf(gadget_dir, "%s/usb_gadget/%s",
		 opt.configfs, opt.gadget);
	must_mkdir("%s", gadget_dir);
	snprintf(buf, sizeof(buf), "0x%04x", STRIGIL_USB_VID);
	must_write(gadget_dir, "idVendor", buf);
	snprintf(buf, sizeof(buf), "0x%04x", STRIGIL_USB_PID);
	must_write(gadget_dir, "idProduct", buf);
	must_write(gadget_dir, "bcdDevice", "0x0100");
	must_write(gadget_dir, "bcdUSB", "0x0200");
	must_mkdir("%s/strings/0x409", gadget_dir);
	pathf(path, "%s/strings/0x409", gadget_dir);
	must_write(path, "manufacturer", "Strigil");
	must_write(path, "product", info.model);
	must_write(path, "serialnumber", opt.serial);
	must_mkdir("%s/configs/c.1", gadget_dir);
	pathf(path, "%s/configs/c.1", gadget_dir);
	must_write(path, "MaxPower", "100");
	must_mkdir("%s/configs/c.1/strings/0x409", gadget_dir);
	pathf(path, "%s/configs/c.1/strings/0x409",
		 gadget_dir);
	must_write(path, "configuration", "Strigil");
	must_mkdir("%s/functions/ffs.%s", gadget_dir, opt.gadget);
	pathf(target, "%s/functions/ffs.%s", gadget_dir,
		 opt.gadget);
	pathf(path, "%s/configs/c.1/ffs.%s", gadget_dir,
		 opt.gadget);
	if (symlink(target, path) < 0 && errno != EEXIST)
		die("symlink %s: %s", path, strerror(errno));
}

/* ---- descriptors -------------------------------------------------------- */

/* Compile-time little endian constants for the static descriptors. */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define LE16C(x) ((uint16_t)(x))
#define LE32C(x) ((uint32_t)(x))
#else
#define LE16C(x) ((uint16_t)((((x) & 0xff) << 8) | (((x) >> 8) & 0xff)))
#define LE32C(x) ((uint32_t)((((x) & 0xffu) << 24) | (((x) & 0xff00u) << 8) | \
			     (((x) >> 8) & 0xff00u) | (((x) >> 24) & 0xffu)))
#endif

struct ep_desc_set {
	struct usb_interface_descriptor intf;
	struct usb_endpoint_descriptor_no_audio ep;
} __attribute__((packed));

static const struct {
	struct usb_functionfs_descs_head_v2 head;
	__le32 fs_count;
	__le32 hs_count;
	struct ep_desc_set fs, hs;
} __attribute__((packed)) descriptors = {
	.head = {
		.magic = LE32C(FUNCTIONFS_DESCRIPTORS_MAGIC_V2),
		.length = LE32C(sizeof(descriptors)),
		.flags = LE32C(FUNCTIONFS_HAS_FS_DESC |
				 FUNCTIONFS_HAS_HS_DESC),
	},
	.fs_count = LE32C(2),
	.hs_count = LE32C(2),
#define STRIGIL_DESCS(maxp, interval) {					\
		.intf = {						\
			.bLength = sizeof(struct usb_interface_descriptor), \
			.bDescriptorType = USB_DT_INTERFACE,		\
			.bNumEndpoints = 1,				\
			.bInterfaceClass = STRIGIL_USB_CLASS,		\
			.bInterfaceSubClass = STRIGIL_USB_SUBCLASS,	\
			.bInterfaceProtocol = STRIGIL_USB_PROTOCOL,	\
			.iInterface = 1,				\
		},							\
		.ep = {							\
			.bLength = sizeof(struct usb_endpoint_descriptor_no_audio), \
			.bDescriptorType = USB_DT_ENDPOINT,		\
			.bEndpointAddress = 1 | USB_DIR_IN,		\
			.bmAttributes = USB_ENDPOINT_XFER_INT,		\
			.wMaxPacketSize = LE16C(maxp),		\
			.bInterval = (interval),			\
		},							\
	}
	.fs = STRIGIL_DESCS(STRIGIL_EP_MAXPACKET_FS, STRIGIL_EP_INTERVAL_MS),
	/* HS: 2^(4-1) microframes = 1 ms */
	.hs = STRIGIL_DESCS(STRIGIL_EP_MAXPACKET_HS, 4),
};

#define IFACE_NAME "Strigil force sensor"
static const struct {
	struct usb_functionfs_strings_head head;
	struct {
		__le16 code;
		char str1[sizeof(IFACE_NAME)];
	} __attribute__((packed)) lang0;
} __attribute__((packed)) strings = {
	.head = {
		.magic = LE32C(FUNCTIONFS_STRINGS_MAGIC),
		.length = LE32C(sizeof(strings)),
		.str_count = LE32C(1),
		.lang_count = LE32C(1),
	},
	.lang0 = { LE16C(0x0409), IFACE_NAME },
};

/* ---- identity and calibration -------------------------------------------- */

static void make_info(void)
{
	static const uint16_t rates[] = { 100, 200, 500, 1000, 2000 };
	uint8_t mask;
	unsigned i;

	switch (opt.model) {
	case STRIGIL_MODEL_S3:
		mask = STRIGIL_CH_BIT(0) | STRIGIL_CH_BIT(1) | STRIGIL_CH_BIT(2);
		break;
	case STRIGIL_MODEL_S4:
		mask = STRIGIL_CH_MASK_ALL;
		break;
	default:
		mask = STRIGIL_CH_BIT(0);
	}
	memset(&info, 0, sizeof(info));
	info.proto_version = htole16(STRIGIL_PROTO_VERSION);
	info.info_size = htole16(STRIGIL_INFO_SIZE);
	info.model_id = (uint8_t)opt.model;
	info.channel_mask = mask;
	info.fw_major = 1;
	info.fw_minor = 2;
	info.fw_patch = htole16(3);
	info.default_rate_hz = htole16(1000);
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		info.rates_hz[i] = htole16(rates[i]);
	for (i = 0; i < STRIGIL_MAX_CHANNELS; i++)
		info.full_scale[i] = htole32(mask & STRIGIL_CH_BIT(i) ?
					     8388607 : 0);
	memcpy(info.serial, opt.serial, strnlen(opt.serial, sizeof(info.serial)));
	snprintf(info.model, sizeof(info.model), "Strigil S%d", opt.model);
}

/* The same rules the driver applies; the device is the last line. */
static bool cal_valid(const struct strigil_calibration *c)
{
	unsigned i;

	if (le16toh(c->version) != STRIGIL_CAL_VERSION ||
	    le16toh(c->size) != STRIGIL_CAL_SIZE ||
	    c->channel_mask != info.channel_mask ||
	    c->reserved[0] || c->reserved[1] || c->reserved[2])
		return false;
	for (i = 0; i < STRIGIL_MAX_CHANNELS; i++)
		if ((c->channel_mask & STRIGIL_CH_BIT(i)) &&
		    (le32toh(c->ch[i].scale_pu) == 0 ||
		     le32toh(c->ch[i].scale_pu) > INT32_MAX))
			return false;
	return sg_crc32(c, CAL_CRC_LEN) == le32toh(c->crc32);
}

static void default_cal(struct strigil_calibration *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->version = htole16(STRIGIL_CAL_VERSION);
	c->size = htole16(STRIGIL_CAL_SIZE);
	c->channel_mask = info.channel_mask;
	for (i = 0; i < STRIGIL_MAX_CHANNELS; i++) {
		if (!(info.channel_mask & STRIGIL_CH_BIT(i)))
			continue;
		c->ch[i].offset = htole32((uint32_t)(1000 * (int32_t)(i + 1)));
		/* 2.5 uN per count (tilt: 10 udeg per count) */
		c->ch[i].scale_pu = htole32(i == STRIGIL_CH_TILT ? 10000000u
							       : 2500000u);
	}
	c->cal_date = htole64(1767225600);	/* 2026-01-01 */
	c->due_date = htole64(1798761600);	/* 2027-01-01 */
	memcpy(c->technician, "factory", 7);
	c->crc32 = htole32(sg_crc32(c, CAL_CRC_LEN));
}

/* Atomic replace: temp file, fsync, rename, fsync the directory. */
static int save_cal(const struct strigil_calibration *c)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd, r = 0;

	if (!opt.cal_file)
		return 0;
	pathf(tmp, "%s.tmp", opt.cal_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, c, sizeof(*c)) != (ssize_t)sizeof(*c) || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, opt.cal_file) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", opt.cal_file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

static void load_cal(void)
{
	int fd = opt.cal_file ? open(opt.cal_file, O_RDONLY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		ssize_t n = read(fd, &cal, sizeof(cal));

		close(fd);
		if (n == (ssize_t)sizeof(cal) && cal_valid(&cal))
			return;
		logmsg("calibration file %s invalid: using defaults",
		       opt.cal_file);
	}
	default_cal(&cal);
	if (opt.cal_file && save_cal(&cal) < 0)
		die("cannot write %s: %s", opt.cal_file, strerror(errno));
}

/* ---- signal ------------------------------------------------------------- */

#define PATTERN_MOD	1000003

/*
 * Test pattern: raw_k(n) = offset_k + ((n * (2k + 1)) mod P) - P/2, where n
 * is the global sample index and k the channel slot. A reader recovers n
 * from slot 0 and checks every channel (tests/vm/vmtest.c).
 */
static int32_t pattern_raw(uint64_t n, unsigned k, int32_t offset)
{
	return offset + (int32_t)((n * (2 * k + 1)) % PATTERN_MOD) -
	       PATTERN_MOD / 2;
}

static uint64_t rng_state;

static double rng_uniform(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ull) >> 11) /
	       9007199254740992.0;
}

static struct sg_sim *sim;
static struct sg_csv_reader *csv;

/* The engine helper's simulator, restarted (same seed) at every START. */
static void sim_restart(unsigned rate)
{
	struct sg_sim_config c;

	sg_sim_free(sim);
	sg_sim_config_default(&c);
	c.seed = opt.seed;
	c.rate_hz = rate;
	c.duration_s = 0;	/* endless */
	c.has = (opt.model >= STRIGIL_MODEL_S3 ? SG_HAS_SHEAR : 0) |
		(opt.model == STRIGIL_MODEL_S4 ? SG_HAS_TILT : 0);
	sim = sg_sim_new(&c);
	if (!sim)
		die("cannot create the simulator");
}

static void csv_restart(void)
{
	char err[256];

	sg_csv_close(csv);
	csv = sg_csv_open(opt.csv, err, sizeof(err));
	if (!csv)
		die("%s", err);
}

static void sample_to_values(const struct sg_sample *smp, double *v)
{
	v[STRIGIL_CH_NORMAL] = smp->force_n;
	v[STRIGIL_CH_SHEAR_X] = smp->has & SG_HAS_SHEAR ? smp->shear_x_n : 0;
	v[STRIGIL_CH_SHEAR_Y] = smp->has & SG_HAS_SHEAR ? smp->shear_y_n : 0;
	v[STRIGIL_CH_TILT] = smp->has & SG_HAS_TILT ? smp->tilt_deg : 0;
}

/* Next physical values (N, deg) of the sim or the CSV trace (looping). */
static void next_values(double *v)
{
	struct sg_sample smp;
	char err[256];
	int r;

	if (opt.signal == SIG_SIM) {
		if (sg_sim_next(sim, &smp) != 1)
			memset(&smp, 0, sizeof(smp));
		sample_to_values(&smp, v);
		return;
	}
	r = sg_csv_next(csv, &smp, err, sizeof(err));
	if (r == 0) {
		csv_restart();
		r = sg_csv_next(csv, &smp, err, sizeof(err));
	}
	if (r < 0)
		die("%s", err);
	if (r == 0)
		memset(&smp, 0, sizeof(smp));
	sample_to_values(&smp, v);
}

static int32_t to_raw(const struct strigil_calibration *c, unsigned ch,
		      double value)
{
	double pu = le32toh(c->ch[ch].scale_pu);
	double raw = value / (pu * 1e-12) + (int32_t)le32toh(c->ch[ch].offset);
	double fs = (int32_t)le32toh(info.full_scale[ch]);

	if (raw > fs)
		raw = fs;
	if (raw < -fs)
		raw = -fs;
	return (int32_t)lrint(raw);
}

/* ---- streaming ----------------------------------------------------------- */

static size_t encode_frame(uint8_t *buf, uint32_t seq, uint32_t t0,
			   uint16_t flags, uint8_t mask,
			   int32_t (*raw)[STRIGIL_MAX_CHANNELS], unsigned count)
{
	int len = sg_encode_frame(buf, STRIGIL_FRAME_MAX_SIZE, seq, t0, flags,
				  mask, (const int32_t (*)[STRIGIL_MAX_CHANNELS])raw,
				  count);

	if (len < 0)
		die("cannot encode a frame of %u samples", count);
	return (size_t)len;
}

static int write_frame(int ep, const void *buf, size_t len)
{
	ssize_t n = write(ep, buf, len);

	if (n < 0)
		return -errno;
	return 0;
}

/* A deliberately broken frame: kinds rotate. */
static size_t bad_frame(uint8_t *buf, unsigned kind, uint32_t seq,
			uint8_t mask)
{
	int32_t raw[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS] = { { 0 } };
	size_t len;
	unsigned i;

	switch (kind % 5) {
	case 0:		/* short: half a header */
		encode_frame(buf, seq, 0, 0, mask, raw, 1);
		return 8;
	case 1:		/* garbage */
		for (i = 0; i < STRIGIL_FRAME_MAX_SIZE; i++)
			buf[i] = (uint8_t)(rng_uniform() * 256);
		buf[0] = 0xa5;	/* never a valid type */
		return 40;
	case 2:		/* stale: an old sequence number */
		return encode_frame(buf, seq - 7, 0, 0, mask, raw, 1);
	case 3:		/* wrong channel mask */
		return encode_frame(buf, seq, 0, 0, mask ^ 0x08, raw, 1);
	default:	/* length disagrees with sample_count */
		len = encode_frame(buf, seq, 0, 0, mask, raw, 2);
		return len - 4;
	}
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void *stream_main(void *arg)
{
	char path[PATH_MAX];
	uint8_t buf[STRIGIL_FRAME_MAX_SIZE];
	int32_t raw[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS];
	uint64_t n_global = 0, t_start = 0, sent = 0, gen = 0, dev_t0;
	uint32_t seq = 1;
	unsigned nbad = 0;
	int ep;

	(void)arg;
	pathf(path, "%s/ep1", opt.ffs_dir);
	ep = open(path, O_WRONLY | O_CLOEXEC);
	if (ep < 0)
		die("open %s: %s", path, strerror(errno));
	dev_t0 = now_us();

	for (;;) {
		struct strigil_calibration c;
		unsigned rate, nch, maxc, count, i, k, slot;
		uint64_t now, due;
		uint8_t mask;
		double v[STRIGIL_MAX_CHANNELS];
		size_t len;
		int r;

		pthread_mutex_lock(&lock);
		while (!quit && !(streaming && enabled))
			pthread_cond_wait(&cond, &lock);
		if (quit) {
			pthread_mutex_unlock(&lock);
			break;
		}
		if (gen != stream_gen) {
			gen = stream_gen;
			t_start = now_us();
			sent = 0;
			if (opt.signal == SIG_SIM)
				sim_restart(rate_hz);
			else if (opt.signal == SIG_CSV)
				csv_restart();
		}
		rate = rate_hz;
		c = cal;
		mask = info.channel_mask;
		pthread_mutex_unlock(&lock);

		nch = sg_popcount8(mask);
		maxc = STRIGIL_MAX_SAMPLES_PER_FRAME(nch);
		now = now_us();
		due = (now - t_start) * rate / 1000000u + 1;
		if (due <= sent) {
			uint64_t next = t_start + (sent * 1000000u) / rate;
			struct timespec ts = { 0, 0 };

			if (next > now)
				ts.tv_nsec = (long)(next - now) * 1000;
			if (ts.tv_nsec > 2000000)
				ts.tv_nsec = 2000000;
			nanosleep(&ts, NULL);
			continue;
		}
		count = due - sent > maxc ? maxc : (unsigned)(due - sent);

		for (i = 0; i < count; i++) {
			uint64_t n = n_global + i;

			if (opt.signal != SIG_PATTERN)
				next_values(v);
			for (k = 0, slot = 0; k < STRIGIL_MAX_CHANNELS; k++) {
				if (!(mask & STRIGIL_CH_BIT(k)))
					continue;
				if (opt.signal == SIG_PATTERN)
					raw[i][slot] = pattern_raw(n, slot,
						(int32_t)le32toh(c.ch[k].offset));
				else
					raw[i][slot] = to_raw(&c, k, v[k]);
				slot++;
			}
		}

		if (opt.bad_every && frames_sent % opt.bad_every ==
				     opt.bad_every - 1) {
			len = bad_frame(buf, nbad++, seq, mask);
			r = write_frame(ep, buf, len);
			if (r == -EINTR || r == -ESHUTDOWN) {
				continue;
			}
		}

		/* device clock: microseconds since the gadget started */
		len = encode_frame(buf, seq,
				   (uint32_t)(t_start - dev_t0 +
					      sent * 1000000u / rate),
				   opt.flags_every && seq % opt.flags_every == 0 ?
				   STRIGIL_STATUS_OVERLOAD : 0,
				   mask, raw, count);
		if (opt.gap_every && seq % opt.gap_every == 0) {
			r = 0;		/* "lost": never sent */
		} else {
			r = write_frame(ep, buf, len);
		}
		if (r == -EINTR)
			continue;	/* STOP while blocked: resend later */
		if (r < 0) {
			struct timespec ts = { 0, 10000000 };

			nanosleep(&ts, NULL);
			continue;
		}
		seq++;
		sent += count;
		n_global += count;
		pthread_mutex_lock(&lock);
		frames_sent++;
		pthread_mutex_unlock(&lock);
	}
	close(ep);
	return NULL;
}

/* ---- ep0 ----------------------------------------------------------------- */

static void stall(int ep0, const struct usb_ctrlrequest *setup)
{
	/* FunctionFS halts ep0 on an I/O in the wrong direction. */
	if (setup->bRequestType & USB_DIR_IN) {
		if (read(ep0, NULL, 0) >= 0 || errno != EL2HLT)
			logmsg("stall(in) req %u: %s", setup->bRequest,
			       strerror(errno));
	} else {
		if (write(ep0, NULL, 0) >= 0 || errno != EL2HLT)
			logmsg("stall(out) req %u: %s", setup->bRequest,
			       strerror(errno));
	}
}

static void ack(int ep0)
{
	if (read(ep0, NULL, 0) < 0)
		logmsg("ack: %s", strerror(errno));
}

static void reply(int ep0, const void *data, size_t len, uint16_t wlength)
{
	if (len > wlength)
		len = wlength;
	if (write(ep0, data, len) < 0)
		logmsg("reply: %s", strerror(errno));
}

static bool rate_ok(unsigned r)
{
	unsigned i;

	for (i = 0; i < STRIGIL_MAX_RATES; i++)
		if (r && le16toh(info.rates_hz[i]) == r)
			return true;
	return false;
}

static void set_streaming(bool on, unsigned rate)
{
	pthread_mutex_lock(&lock);
	streaming = on;
	if (on) {
		rate_hz = rate;
		stream_gen++;
	}
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (!on)
		pthread_kill(streamer, SIGUSR1);
}

static void handle_setup(int ep0, const struct usb_ctrlrequest *s)
{
	uint16_t value = le16toh(s->wValue), index = le16toh(s->wIndex);
	uint16_t length = le16toh(s->wLength);
	bool in = s->bRequestType & USB_DIR_IN;
	struct strigil_calibration c;
	struct strigil_status st;

	if ((s->bRequestType & USB_TYPE_MASK) != USB_TYPE_VENDOR ||
	    (s->bRequestType & USB_RECIP_MASK) != USB_RECIP_INTERFACE ||
	    index != 0 || s->bRequest == opt.stall_req)
		goto stall;

	switch (s->bRequest) {
	case STRIGIL_REQ_GET_INFO:
		if (!in || !length)
			goto stall;
		reply(ep0, &info, sizeof(info), length);
		return;
	case STRIGIL_REQ_GET_CALIBRATION:
		if (!in || !length)
			goto stall;
		pthread_mutex_lock(&lock);
		c = cal;
		pthread_mutex_unlock(&lock);
		reply(ep0, &c, sizeof(c), length);
		return;
	case STRIGIL_REQ_SET_CALIBRATION:
		if (in || length != sizeof(c))
			goto stall;
		/*
		 * FunctionFS acks the status stage itself once the data is
		 * read: a bad blob cannot be STALLed here, it is simply not
		 * stored (the host reads back and sees the old one).
		 */
		if (read(ep0, &c, sizeof(c)) != (ssize_t)sizeof(c)) {
			logmsg("SET_CALIBRATION: short data");
			return;
		}
		if (!cal_valid(&c)) {
			logmsg("SET_CALIBRATION: invalid blob refused");
			return;
		}
		if (save_cal(&c) < 0) {
			logmsg("SET_CALIBRATION: cannot save: %s",
			       strerror(errno));
			return;
		}
		pthread_mutex_lock(&lock);
		cal = c;
		pthread_mutex_unlock(&lock);
		logmsg("calibration stored");
		return;
	case STRIGIL_REQ_START:
		if (in || length || !rate_ok(value))
			goto stall;
		set_streaming(true, value);
		ack(ep0);
		logmsg("START %u Hz", value);
		return;
	case STRIGIL_REQ_STOP:
		if (in || length)
			goto stall;
		set_streaming(false, 0);
		ack(ep0);
		logmsg("STOP");
		return;
	case STRIGIL_REQ_SET_ALERT:
		if (in || length || value > STRIGIL_ALERT_EXCEEDED)
			goto stall;
		pthread_mutex_lock(&lock);
		alert = (uint8_t)value;
		pthread_mutex_unlock(&lock);
		ack(ep0);
		logmsg("ALERT %u", value);
		return;
	case STRIGIL_REQ_GET_STATUS:
		if (!in || !length)
			goto stall;
		memset(&st, 0, sizeof(st));
		pthread_mutex_lock(&lock);
		st.rate_hz = htole16(streaming ? rate_hz : 0);
		st.alert = alert;
		st.frames_sent = htole32(frames_sent);
		pthread_mutex_unlock(&lock);
		reply(ep0, &st, sizeof(st), length);
		return;
	default:
		break;
	}
stall:
	stall(ep0, s);
}

static void on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: strigil-gadget [OPTIONS]\n"
"Emulates a Strigil instrument through FunctionFS (run as root).\n\n"
"  --model 1|3|4         S1 (normal), S3 (+shear), S4 (+tilt); default 1\n"
"  --serial STR          serial number (default SG0001)\n"
"  --cal-file PATH       calibration storage (created with defaults)\n"
"  --signal KIND         pattern (test pattern, default) or sim (libstrigil's\n"
"                        simulator: realistic strokes)\n"
"  --csv PATH            play back a CSV trace (docs/trace-format.md), looping\n"
"  --udc NAME            UDC to bind (default: the first one)\n"
"  --no-bind             set up, but let the caller write <gadget>/UDC\n"
"  --name NAME           configfs gadget name (default strigil)\n"
"  --ffs DIR             FunctionFS mount point (default /dev/ffs-strigil)\n"
"  --configfs DIR        configfs mount (default /sys/kernel/config)\n"
"  --bad-every N         insert a malformed frame every N frames\n"
"  --gap-every N         drop the frame whose seq is a multiple of N\n"
"  --overload-every N    set OVERLOAD on frames whose seq is a multiple of N\n"
"  --stall-request R     STALL every control request number R\n"
"  --seed N              noise seed\n"
"Stops on SIGTERM/SIGINT and removes the gadget.\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "serial", required_argument, NULL, 's' },
		{ "cal-file", required_argument, NULL, 'c' },
		{ "signal", required_argument, NULL, 'S' },
		{ "csv", required_argument, NULL, 'C' },
		{ "udc", required_argument, NULL, 'u' },
		{ "no-bind", no_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "ffs", required_argument, NULL, 'f' },
		{ "configfs", required_argument, NULL, 'g' },
		{ "bad-every", required_argument, NULL, 'b' },
		{ "gap-every", required_argument, NULL, 'G' },
		{ "overload-every", required_argument, NULL, 'O' },
		{ "stall-request", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			opt.model = atoi(optarg);
			if (opt.model != 1 && opt.model != 3 && opt.model != 4)
				die("--model: 1, 3 or 4");
			break;
		case 's':
			if (strlen(optarg) > 16)
				die("--serial: at most 16 characters");
			opt.serial = optarg;
			break;
		case 'c': opt.cal_file = optarg; break;
		case 'S':
			if (!strcmp(optarg, "pattern"))
				opt.signal = SIG_PATTERN;
			else if (!strcmp(optarg, "sim"))
				opt.signal = SIG_SIM;
			else
				die("--signal: pattern or sim");
			break;
		case 'C': opt.csv = optarg; opt.signal = SIG_CSV; break;
		case 'u': opt.udc = optarg; break;
		case 'n': opt.bind = false; break;
		case 'N': opt.gadget = optarg; break;
		case 'f': opt.ffs_dir = optarg; break;
		case 'g': opt.configfs = optarg; break;
		case 'b': opt.bad_every = (unsigned)atoi(optarg); break;
		case 'G': opt.gap_every = (unsigned)atoi(optarg); break;
		case 'O': opt.flags_every = (unsigned)atoi(optarg); break;
		case 'R': opt.stall_req = atoi(optarg); break;
		case 'r': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct usb_functionfs_event ev[4];
	struct sigaction sa = { 0 };
	sigset_t mask;
	char path[PATH_MAX];
	int ep0, r;

	parse_args(argc, argv);
	rng_state = opt.seed ? opt.seed : 1;
	if (opt.csv)
		csv_restart();	/* fail early on a bad file */
	make_info();
	load_cal();

	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_sigusr1;	/* no SA_RESTART: interrupts writes */
	sigaction(SIGUSR1, &sa, NULL);

	gadget_create();
	if (mkdir(opt.ffs_dir, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", opt.ffs_dir, strerror(errno));
	if (mount(opt.gadget, opt.ffs_dir, "functionfs", 0, NULL) < 0 &&
	    errno != EBUSY)
		die("mount functionfs: %s", strerror(errno));
	pathf(path, "%s/ep0", opt.ffs_dir);
	ep0 = open(path, O_RDWR | O_CLOEXEC);
	if (ep0 < 0)
		die("open %s: %s", path, strerror(errno));
	if (write(ep0, &descriptors, sizeof(descriptors)) < 0)
		die("descriptors: %s", strerror(errno));
	if (write(ep0, &strings, sizeof(strings)) < 0)
		die("strings: %s", strerror(errno));

	/* Termination signals go to this thread only (it owns ep0). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	if (pthread_create(&streamer, NULL, stream_main, NULL))
		die("pthread_create failed");
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);

	if (opt.bind) {
		const char *udc = opt.udc ? opt.udc : first_udc();

		if (!udc)
			die("no UDC in /sys/class/udc (load dummy_hcd?)");
		r = write_str(gadget_dir, "UDC", udc);
		if (r < 0)
			die("bind to %s: %s", udc, strerror(-r));
	}
	logmsg("ready: %s serial %s, gadget %s", info.model, opt.serial,
	       gadget_dir);

	while (!quit) {
		ssize_t n = read(ep0, ev, sizeof(ev));
		size_t i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			logmsg("ep0 read: %s", strerror(errno));
			break;
		}
		for (i = 0; i < (size_t)n / sizeof(ev[0]); i++) {
			switch (ev[i].type) {
			case FUNCTIONFS_ENABLE:
				pthread_mutex_lock(&lock);
				enabled = true;
				pthread_cond_broadcast(&cond);
				pthread_mutex_unlock(&lock);
				break;
			case FUNCTIONFS_DISABLE:
			case FUNCTIONFS_UNBIND:
			case FUNCTIONFS_SUSPEND:
				pthread_mutex_lock(&lock);
				enabled = false;
				streaming = false;
				pthread_mutex_unlock(&lock);
				pthread_kill(streamer, SIGUSR1);
				break;
			case FUNCTIONFS_SETUP:
				handle_setup(ep0, &ev[i].u.setup);
				break;
			default:
				break;
			}
		}
	}

	pthread_mutex_lock(&lock);
	quit = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	pthread_kill(streamer, SIGUSR1);
	write_str(gadget_dir, "UDC", "\n");	/* unblocks the streamer */
	pthread_join(streamer, NULL);
	close(ep0);
	umount(opt.ffs_dir);
	gadget_teardown();
	sg_csv_close(csv);
	sg_sim_free(sim);
	logmsg("stopped");
	return 0;
}
