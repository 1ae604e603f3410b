// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vmtest: the checks run inside the test VM (tests/vm/init), against the
 * real strigil module and strigil-gadget over dummy_hcd, through
 * libstrigil's IIO source (lib/iio.c). Each subcommand exits 0 on success
 * and prints why it failed otherwise.
 *
 *   vmtest wait [present|absent] [TIMEOUT_S]
 *   vmtest info SERIAL MODEL
 *   vmtest stream SECONDS RATE [--allow-lost] [--expect-bad] [--expect-overload]
 *   vmtest cal-write TECHNICIAN SCALE_PU
 *   vmtest cal-check TECHNICIAN SCALE_PU
 *   vmtest cal-bad
 *   vmtest alert
 *   vmtest blocked-read UDC_FILE
 *   vmtest plug-cycles N UDC_FILE UDC_NAME
 *   vmtest rebind N
 *   vmtest flags-latch RATE
 *
 * The gadget's test pattern (tools/gadget/strigil-gadget.c):
 * raw_k(n) = offset_k + ((n * (2k + 1)) mod P) - P/2, P = 1000003.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sg-iio.h"
#include "strigil.h"

#define PATTERN_MOD	1000003
#define CAL_CRC_LEN	offsetof(struct strigil_calibration, crc32)

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vmtest: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	return 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Waits until a strigil IIO device exists (or none does); fills id. */
static int wait_device(bool present, double timeout, char id[SG_IIO_ID_MAX])
{
	char ids[4][SG_IIO_ID_MAX];
	double end = now_s() + timeout;

	do {
		int n = sg_iio_list(NULL, ids, 4);

		if (n < 0)
			return n;
		if (present && n > 0) {
			char node[64];

			/*
			 * sysfs shows the device before devtmpfs has its node
			 * (udev users get the event after both): wait for it.
			 */
			snprintf(node, sizeof(node), "/dev/%s", ids[0]);
			if (access(node, F_OK) == 0) {
				if (id)
					memcpy(id, ids[0], SG_IIO_ID_MAX);
				return 0;
			}
		}
		if (!present && n == 0)
			return 0;
		sleep_ms(10);
	} while (now_s() < end);
	return -ETIMEDOUT;
}

static int open_first(struct sg_iio **io)
{
	char id[SG_IIO_ID_MAX];
	int r = wait_device(true, 20, id);

	if (r < 0)
		return r;
	return sg_iio_open(NULL, NULL, id, io);
}

static int cmd_wait(int argc, char **argv)
{
	bool present = argc < 1 || strcmp(argv[0], "absent") != 0;
	double t = argc >= 2 ? atof(argv[1]) : 20;
	char id[SG_IIO_ID_MAX];
	int r = wait_device(present, t, id);

	if (r < 0)
		return fail("wait %s: %s", present ? "present" : "absent",
			    strerror(-r));
	if (present)
		printf("%s\n", id);
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	const struct sg_device_info *in;
	struct sg_calibration cal;
	struct sg_iio *io;
	int model, r, ch, errors = 0;
	uint8_t want_mask;

	if (argc < 2)
		return fail("info SERIAL MODEL");
	model = atoi(argv[1]);
	want_mask = model == 4 ? 0x0f : model == 3 ? 0x07 : 0x01;
	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	in = sg_iio_info(io);
	printf("serial=%s model=%s fw=%s mask=0x%02x proto=0x%04x rate=%u nrates=%u\n",
	       in->serial, in->model, in->firmware, in->channel_mask,
	       in->proto_version, in->default_rate_hz, in->nrates);
	if (strcmp(in->serial, argv[0]))
		errors += fail("serial %s != %s", in->serial, argv[0]);
	if (in->model_id != model || in->channel_mask != want_mask)
		errors += fail("model %u mask %#x", in->model_id,
			       in->channel_mask);
	if (strcmp(in->firmware, "1.2.3"))
		errors += fail("firmware %s", in->firmware);
	if (in->proto_version != STRIGIL_PROTO_VERSION)
		errors += fail("protocol %#x", in->proto_version);
	if (in->nrates != 5 || in->rates_hz[3] != 1000)
		errors += fail("rates: %u", in->nrates);
	if ((r = sg_iio_read_calibration(io, &cal)) < 0) {
		errors += fail("calibration: %s", strerror(-r));
	} else {
		for (ch = 0; ch < STRIGIL_MAX_CHANNELS; ch++) {
			double want_scale = ch == STRIGIL_CH_TILT ? 1e-5 : 2.5e-6;

			if (!(want_mask & (1 << ch)))
				continue;
			printf("ch%d offset=%.0f scale=%.12g\n", ch,
			       cal.offset[ch], cal.scale[ch]);
			if (cal.offset[ch] != 1000.0 * (ch + 1) ||
			    fabs(cal.scale[ch] - want_scale) > want_scale * 1e-12)
				errors += fail("ch%d calibration", ch);
		}
		if (cal.cal_date != 1767225600 || strcmp(cal.technician, "factory"))
			errors += fail("cal date %" PRId64 " tech %s",
				       cal.cal_date, cal.technician);
	}
	sg_iio_close(io);
	return errors ? 1 : 0;
}

struct stream_check {
	const struct sg_calibration *cal;
	const uint8_t *chan;
	unsigned nch;
	bool have_prev;
	uint64_t prev_n;
	uint64_t samples, blocks;
	uint64_t missing;	/* pattern jumps */
	uint64_t bad_values;
	uint64_t lost_reported;
	int64_t prev_ts;
	uint64_t ts_backwards;
	uint64_t flagged_blocks;
	struct sg_iio *io;
};

static void check_block(void *userdata, const struct sg_block *b)
{
	struct stream_check *s = userdata;
	unsigned i, k;

	s->blocks++;
	s->lost_reported += b->lost_before;
	if (b->flags & STRIGIL_STATUS_OVERLOAD)
		s->flagged_blocks++;
	for (i = 0; i < b->nsamples; i++) {
		int64_t off0 = (int64_t)s->cal->offset[s->chan[0]];
		int64_t v0 = (int64_t)b->raw[i][0] - off0 + PATTERN_MOD / 2;
		uint64_t n;

		if (v0 < 0 || v0 >= PATTERN_MOD) {
			s->bad_values++;
			continue;
		}
		n = (uint64_t)v0;
		for (k = 1; k < s->nch; k++) {
			unsigned ch = s->chan[k];
			int64_t want = (int64_t)s->cal->offset[ch] +
				(int64_t)((n * (2 * k + 1)) % PATTERN_MOD) -
				PATTERN_MOD / 2;
			double value = sg_calibration_apply(s->cal, ch,
							    b->raw[i][k]);
			double want_v = ((double)((n * (2 * k + 1)) % PATTERN_MOD) -
					 PATTERN_MOD / 2) * s->cal->scale[ch];

			if (b->raw[i][k] != want ||
			    fabs(value - want_v) > 1e-9 * (fabs(want_v) + 1))
				s->bad_values++;
		}
		if (s->have_prev) {
			uint64_t d = (n + PATTERN_MOD - s->prev_n) % PATTERN_MOD;

			if (d == 0)
				s->bad_values++;	/* duplicate */
			else
				s->missing += d - 1;
		}
		s->have_prev = true;
		s->prev_n = n;
		s->samples++;
	}
	if (sg_iio_last_timestamp_ns(s->io) <= s->prev_ts)
		s->ts_backwards++;
	s->prev_ts = sg_iio_last_timestamp_ns(s->io);
}

static int cmd_stream(int argc, char **argv)
{
	struct sg_iio_counters c0, c1;
	struct stream_check s = { 0 };
	struct sg_calibration cal;
	struct sg_iio *io;
	double secs, t0, elapsed;
	unsigned rate, k;
	bool allow_lost = false, expect_bad = false, expect_overload = false;
	int r, i, errors = 0;

	if (argc < 2)
		return fail("stream SECONDS RATE [--allow-lost] [--expect-bad]");
	secs = atof(argv[0]);
	rate = (unsigned)atoi(argv[1]);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--allow-lost"))
			allow_lost = true;
		else if (!strcmp(argv[i], "--expect-bad"))
			expect_bad = true;
		else if (!strcmp(argv[i], "--expect-overload"))
			expect_overload = true;
	}
	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	if ((r = sg_iio_read_calibration(io, &cal)) < 0)
		return fail("calibration: %s", strerror(-r));
	s.cal = &cal;
	s.io = io;
	{
		static uint8_t chan[STRIGIL_MAX_CHANNELS];

		s.nch = 0;
		for (k = 0; k < STRIGIL_MAX_CHANNELS; k++)
			if (sg_iio_info(io)->channel_mask & (1u << k))
				chan[s.nch++] = (uint8_t)k;
		s.chan = chan;
	}
	if ((r = sg_iio_counters(io, &c0)) < 0)
		return fail("counters: %s", strerror(-r));
	if ((r = sg_iio_start(io, rate)) < 0)
		return fail("start: %s", strerror(-r));
	t0 = now_s();
	while ((elapsed = now_s() - t0) < secs) {
		struct pollfd pfd = { .fd = sg_iio_fd(io), .events = POLLIN };

		r = poll(&pfd, 1, 200);
		if (r < 0 && errno != EINTR)
			return fail("poll: %s", strerror(errno));
		r = sg_iio_read(io, check_block, &s);
		if (r < 0) {
			errors += fail("read: %s", strerror(-r));
			break;
		}
	}
	/* drain what is already buffered */
	while (sg_iio_read(io, check_block, &s) > 0)
		;
	if ((r = sg_iio_stop(io)) < 0)
		errors += fail("stop: %s", strerror(-r));
	if ((r = sg_iio_counters(io, &c1)) < 0)
		return fail("counters: %s", strerror(-r));
	printf("stream: %" PRIu64 " samples in %.2f s (%.1f/s at %u Hz), "
	       "%" PRIu64 " blocks, missing %" PRIu64 ", lost (driver) %" PRIu64
	       ", bad frames %" PRIu64 ", bad values %" PRIu64
	       ", urb errors %" PRIu64 "\n",
	       s.samples, elapsed, s.samples / elapsed, rate, s.blocks,
	       s.missing, c1.lost_samples - c0.lost_samples,
	       c1.bad_frames - c0.bad_frames, s.bad_values,
	       c1.urb_errors - c0.urb_errors);
	if (s.samples == 0)
		errors += fail("no samples");
	if (s.bad_values)
		errors += fail("%" PRIu64 " wrong values", s.bad_values);
	if (s.ts_backwards)
		errors += fail("timestamps went backwards %" PRIu64 " times",
			       s.ts_backwards);
	if (!allow_lost && (s.missing || c1.lost_samples != c0.lost_samples))
		errors += fail("lost samples");
	if (allow_lost && s.missing && c1.lost_samples == c0.lost_samples)
		errors += fail("gaps seen but not counted by the driver");
	if (s.lost_reported != c1.lost_samples - c0.lost_samples &&
	    !allow_lost)
		errors += fail("lost_before disagrees with the counter");
	printf("stream: %" PRIu64 " blocks flagged OVERLOAD\n", s.flagged_blocks);
	if (expect_overload && !s.flagged_blocks)
		errors += fail("OVERLOAD frames were sent but never reported");
	if (!expect_overload && s.flagged_blocks)
		errors += fail("OVERLOAD reported but never sent");
	if (expect_bad && c1.bad_frames == c0.bad_frames)
		errors += fail("no bad frame counted");
	if (!expect_bad && c1.bad_frames != c0.bad_frames)
		errors += fail("unexpected bad frames");
	sg_iio_close(io);
	return errors ? 1 : 0;
}

static void make_blob(struct strigil_calibration *w, const char *tech,
		      uint32_t scale_pu)
{
	unsigned ch;

	for (ch = 0; ch < STRIGIL_MAX_CHANNELS; ch++)
		if (w->channel_mask & (1u << ch) && ch != STRIGIL_CH_TILT)
			w->ch[ch].scale_pu = htole32(scale_pu);
	memset(w->technician, 0, sizeof(w->technician));
	memcpy(w->technician, tech, strnlen(tech, sizeof(w->technician)));
	w->crc32 = htole32(sg_crc32(w, CAL_CRC_LEN));
}

static int cmd_cal_write(int argc, char **argv)
{
	struct strigil_calibration w;
	struct sg_iio *io;
	int r;

	if (argc < 2)
		return fail("cal-write TECH SCALE_PU");
	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	if ((r = sg_iio_read_calibration_wire(io, &w)) < 0)
		return fail("read blob: %s", strerror(-r));
	make_blob(&w, argv[0], (uint32_t)strtoul(argv[1], NULL, 0));
	if ((r = sg_iio_write_calibration_wire(io, &w)) < 0)
		return fail("write blob: %s", strerror(-r));
	sg_iio_close(io);
	return 0;
}

static int cmd_cal_check(int argc, char **argv)
{
	struct sg_calibration cal;
	struct sg_iio *io;
	double want;
	int r;

	if (argc < 2)
		return fail("cal-check TECH SCALE_PU");
	want = strtoul(argv[1], NULL, 0) * 1e-12;
	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	if ((r = sg_iio_read_calibration(io, &cal)) < 0)
		return fail("calibration: %s", strerror(-r));
	printf("technician=%s scale0=%.12g\n", cal.technician, cal.scale[0]);
	sg_iio_close(io);
	if (strcmp(cal.technician, argv[0]) ||
	    fabs(cal.scale[0] - want) > want * 1e-12)
		return fail("calibration not as written");
	return 0;
}

static int cmd_cal_bad(void)
{
	struct strigil_calibration w, orig, now;
	struct sg_iio *io;
	int r, errors = 0;
	char path[256];
	int fd;

	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	if ((r = sg_iio_read_calibration_wire(io, &orig)) < 0)
		return fail("read blob: %s", strerror(-r));

	w = orig;	/* bad CRC */
	w.crc32 ^= htole32(1);
	if ((r = sg_iio_write_calibration_wire(io, &w)) != -EINVAL)
		errors += fail("bad CRC: got %d", r);
	w = orig;	/* zero scale, valid CRC */
	w.ch[0].scale_pu = 0;
	w.crc32 = htole32(sg_crc32(&w, CAL_CRC_LEN));
	if ((r = sg_iio_write_calibration_wire(io, &w)) != -EINVAL)
		errors += fail("zero scale: got %d", r);
	w = orig;	/* wrong channel mask */
	w.channel_mask ^= 0x08;
	w.crc32 = htole32(sg_crc32(&w, CAL_CRC_LEN));
	if ((r = sg_iio_write_calibration_wire(io, &w)) != -EINVAL)
		errors += fail("wrong mask: got %d", r);
	w = orig;	/* wrong version */
	w.version = htole16(9);
	w.crc32 = htole32(sg_crc32(&w, CAL_CRC_LEN));
	if ((r = sg_iio_write_calibration_wire(io, &w)) != -EINVAL)
		errors += fail("wrong version: got %d", r);
	/* wrong length */
	snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s/calibration",
		 sg_iio_id(io));
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, &orig, 10) != -1 || errno != EINVAL)
		errors += fail("short blob accepted");
	if (fd >= 0)
		close(fd);
	if ((r = sg_iio_read_calibration_wire(io, &now)) < 0 ||
	    memcmp(&now, &orig, sizeof(now)))
		errors += fail("calibration changed after refused writes");
	sg_iio_close(io);
	return errors ? 1 : 0;
}

static int cmd_alert(void)
{
	char path[256], buf[32];
	struct sg_iio *io;
	int r, fd, errors = 0;
	ssize_t n;

	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	if ((r = sg_iio_set_alert(io, STRIGIL_ALERT_WARNING)) < 0)
		errors += fail("set alert: %s", strerror(-r));
	snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s/alert",
		 sg_iio_id(io));
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0 || strncmp(buf, "warning\n", 8))
		errors += fail("alert reads back wrong");
	if (sg_iio_set_alert(io, (enum strigil_alert)7) != -EINVAL)
		errors += fail("alert 7 accepted by the library");
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "loud", 4) != -1 || errno != EINVAL)
		errors += fail("alert 'loud' accepted by the driver");
	if (fd >= 0)
		close(fd);
	if ((r = sg_iio_set_alert(io, STRIGIL_ALERT_OFF)) < 0)
		errors += fail("alert off: %s", strerror(-r));
	sg_iio_close(io);
	return errors ? 1 : 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static void count_block(void *userdata, const struct sg_block *b)
{
	*(uint64_t *)userdata += b->nsamples;
}

/*
 * A reader blocked in read() on /dev/iio:deviceN when the device is
 * unplugged must get ENODEV. The unplug is done by a child process.
 */
static int cmd_blocked_read(int argc, char **argv)
{
	struct sg_iio *io;
	uint64_t got = 0;
	uint8_t buf[4096];
	pid_t pid;
	ssize_t n;
	int r, fd, fl, e;

	if (argc < 1)
		return fail("blocked-read UDC_FILE");
	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	if ((r = sg_iio_start(io, 1000)) < 0)
		return fail("start: %s", strerror(-r));
	fd = sg_iio_fd(io);
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	/* make sure data flows, then block */
	while (got < 50) {
		r = sg_iio_read(io, count_block, &got);
		if (r < 0)
			return fail("read: %s", strerror(-r));
	}
	pid = fork();
	if (pid == 0) {
		sleep_ms(500);
		_exit(write_file(argv[0], "\n") ? 1 : 0);
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			e = errno;
			break;
		}
		if (n == 0) {
			e = 0;
			break;
		}
	}
	printf("blocked reader: read returned %s\n", e ? strerror(e) : "EOF");
	sg_iio_close(io);
	if (e != ENODEV)
		return fail("expected ENODEV");
	return 0;
}

/*
 * N cycles of: plug, wait for the IIO device, stream until samples flow,
 * unplug while streaming (reader must see ENODEV).
 */
/* Reads a sysfs attribute of the device as text; -errno or its length. */
static int read_attr_text(const char *id, const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s/%s", id, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return (int)n;
}

/*
 * status_flags_seen against a gadget sending OVERLOAD frames: latched
 * while the stream runs unread, kept by any number of reads (a stock IIO
 * tool reading every attribute takes nothing), cleared by writing back
 * what was read, and a bad write is refused.
 */
static int cmd_flags_latch(int argc, char **argv)
{
	struct sg_iio_counters c0, c;
	char a[32], b[32], path[256];
	struct sg_iio *io;
	double end;
	int r, errors = 0;

	if (argc < 1)
		return fail("flags-latch RATE");
	if ((r = open_first(&io)) < 0)
		return fail("open: %s", strerror(-r));
	if ((r = sg_iio_counters(io, &c0)) < 0)
		return fail("counters: %s", strerror(-r));
	if ((r = sg_iio_start(io, (unsigned)atoi(argv[0]))) < 0)
		return fail("start: %s", strerror(-r));
	/* 40 frames, never read through the library: flags only latch */
	end = now_s() + 30;
	do {
		sleep_ms(10);
		if ((r = sg_iio_counters(io, &c)) < 0)
			return fail("counters: %s", strerror(-r));
	} while (c.frames < c0.frames + 40 && now_s() < end);
	if (c.frames < c0.frames + 40)
		errors += fail("only %" PRIu64 " frames arrived", c.frames - c0.frames);
	/* stopped: nothing latches any more, every value below is exact */
	if ((r = sg_iio_stop(io)) < 0)
		errors += fail("stop: %s", strerror(-r));
	if (read_attr_text(sg_iio_id(io), "status_flags_seen", a, sizeof(a)) <= 0 ||
	    read_attr_text(sg_iio_id(io), "status_flags_seen", b, sizeof(b)) <= 0)
		return fail("cannot read status_flags_seen");
	printf("flags-latch: %" PRIu64 " frames, read twice: %s then %s", c.frames - c0.frames,
	       strtok(a, "\n"), b);
	if (!(strtoul(a, NULL, 0) & STRIGIL_STATUS_OVERLOAD))
		errors += fail("OVERLOAD frames were sent but not latched (%s)", a);
	if (strtoul(b, NULL, 0) != strtoul(a, NULL, 0))
		errors += fail("reading status_flags_seen cleared it (%s, then %s)", a, b);
	snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s/status_flags_seen",
		 sg_iio_id(io));
	if (write_file(path, "lots") != -EINVAL)
		errors += fail("a bad write to status_flags_seen was accepted");
	if ((r = write_file(path, a)) < 0)
		errors += fail("write back %s: %s", a, strerror(-r));
	if (read_attr_text(sg_iio_id(io), "status_flags_seen", b, sizeof(b)) <= 0 ||
	    strtoul(b, NULL, 0) != 0)
		errors += fail("writing back what was read did not clear it (%s)", b);
	sg_iio_close(io);
	return errors ? 1 : 0;
}

static int cmd_plug_cycles(int argc, char **argv)
{
	int n, i, r, errors = 0;
	double t0 = now_s();

	if (argc < 3)
		return fail("plug-cycles N UDC_FILE UDC_NAME");
	n = atoi(argv[0]);
	for (i = 0; i < n && errors < 3; i++) {
		struct sg_iio *io;
		uint64_t got = 0;
		double end;

		if ((r = write_file(argv[1], argv[2])) < 0) {
			errors += fail("cycle %d: plug: %s", i, strerror(-r));
			continue;
		}
		if ((r = open_first(&io)) < 0) {
			errors += fail("cycle %d: open: %s", i, strerror(-r));
			write_file(argv[1], "\n");
			continue;
		}
		if ((r = sg_iio_start(io, 1000)) < 0) {
			errors += fail("cycle %d: start: %s", i, strerror(-r));
		} else {
			end = now_s() + 10;
			while (got < 5 && now_s() < end) {
				struct pollfd pfd = { sg_iio_fd(io), POLLIN, 0 };

				poll(&pfd, 1, 100);
				if ((r = sg_iio_read(io, count_block, &got)) < 0)
					break;
			}
			if (got < 5)
				errors += fail("cycle %d: no samples", i);
		}
		write_file(argv[1], "\n");	/* surprise unplug */
		end = now_s() + 10;
		do {
			r = sg_iio_read(io, count_block, &got);
			if (r == 0)
				sleep_ms(5);
		} while (r >= 0 && now_s() < end);
		if (r != -ENODEV)
			errors += fail("cycle %d: after unplug read gave %d", i, r);
		sg_iio_close(io);
		if (wait_device(false, 10, NULL) < 0)
			errors += fail("cycle %d: device did not go away", i);
	}
	printf("plug-cycles: %d cycles in %.1f s\n", i, now_s() - t0);
	/* leave the instrument plugged */
	write_file(argv[1], argv[2]);
	return errors ? 1 : 0;
}

/* Unbind and rebind the driver N times while streaming. */
static int cmd_rebind(int argc, char **argv)
{
	char id[SG_IIO_ID_MAX], intf[512], link[512], path[512];
	int n, i, r, errors = 0;
	ssize_t len;

	if (argc < 1)
		return fail("rebind N");
	n = atoi(argv[0]);
	for (i = 0; i < n && errors < 3; i++) {
		struct sg_iio *io;
		uint64_t got = 0;
		double end;
		char *slash;

		if ((r = wait_device(true, 20, id)) < 0)
			return fail("cycle %d: no device", i);
		/* /sys/bus/iio/devices/iio:deviceN -> .../<usb intf>/iio:deviceN */
		snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s", id);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			return fail("readlink %s", path);
		link[len] = '\0';
		slash = strrchr(link, '/');
		if (!slash)
			return fail("link %s", link);
		*slash = '\0';
		slash = strrchr(link, '/');
		snprintf(intf, sizeof(intf), "%s", slash ? slash + 1 : link);

		if ((r = sg_iio_open(NULL, NULL, id, &io)) < 0 ||
		    (r = sg_iio_start(io, 1000)) < 0)
			return fail("cycle %d: start: %s", i, strerror(-r));
		end = now_s() + 10;
		while (got < 5 && now_s() < end) {
			struct pollfd pfd = { sg_iio_fd(io), POLLIN, 0 };

			poll(&pfd, 1, 100);
			if (sg_iio_read(io, count_block, &got) < 0)
				break;
		}
		if ((r = write_file("/sys/bus/usb/drivers/strigil/unbind",
				    intf)) < 0)
			errors += fail("unbind %s: %s", intf, strerror(-r));
		r = sg_iio_read(io, count_block, &got);
		while (r >= 0 && r != -ENODEV) {
			sleep_ms(5);
			r = sg_iio_read(io, count_block, &got);
		}
		if (r != -ENODEV)
			errors += fail("after unbind read gave %d", r);
		sg_iio_close(io);
		if ((r = write_file("/sys/bus/usb/drivers/strigil/bind",
				    intf)) < 0)
			errors += fail("bind %s: %s", intf, strerror(-r));
	}
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return fail("usage: vmtest COMMAND ARGS...");
	if (!strcmp(argv[1], "wait"))
		return cmd_wait(argc - 2, argv + 2);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 2, argv + 2);
	if (!strcmp(argv[1], "stream"))
		return cmd_stream(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cal-write"))
		return cmd_cal_write(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cal-check"))
		return cmd_cal_check(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cal-bad"))
		return cmd_cal_bad();
	if (!strcmp(argv[1], "alert"))
		return cmd_alert();
	if (!strcmp(argv[1], "blocked-read"))
		return cmd_blocked_read(argc - 2, argv + 2);
	if (!strcmp(argv[1], "plug-cycles"))
		return cmd_plug_cycles(argc - 2, argv + 2);
	if (!strcmp(argv[1], "rebind"))
		return cmd_rebind(argc - 2, argv + 2);
	if (!strcmp(argv[1], "flags-latch"))
		return cmd_flags_latch(argc - 2, argv + 2);
	return fail("unknown command %s", argv[1]);
}
