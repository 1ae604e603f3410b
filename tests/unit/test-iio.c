// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/iio.c against a fake sysfs tree and a regular file standing in for
 * /dev/iio:deviceN (the real kernel is exercised in tests/vm).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sg-iio.h"

static char root[256];

static void put(const char *rel, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

static void put_bytes(const char *rel, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static void get(const char *rel, char *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	n = f ? fread(buf, 1, len - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
}

static void mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(2);
	}
}

#define D "sys/bus/iio/devices/iio:device3/"

static void make_tree(void)
{
	struct strigil_calibration cal;

	mk("sys"); mk("sys/bus"); mk("sys/bus/iio"); mk("sys/bus/iio/devices");
	mk("dev");
	mk("sys/bus/iio/devices/iio:device1");
	put("sys/bus/iio/devices/iio:device1/name", "other\n");
	mk(D); mk(D "scan_elements"); mk(D "buffer");
	put(D "name", "strigil\n");
	put(D "serial", "SG7\n");
	put(D "model", "Strigil S3\n");
	put(D "firmware", "1.2.3\n");
	put(D "model_id", "3\n");
	put(D "channel_mask", "0x05\n");	/* normal + shear_y */
	put(D "protocol_version", "0x0100\n");
	put(D "sampling_frequency", "1000\n");
	put(D "sampling_frequency_available", "100 500 1000\n");
	put(D "full_scale", "8388607 0 8388607 0\n");
	put(D "in_voltage0_scale", "0.002500000\n");
	put(D "in_voltage0_offset", "-1000\n");
	put(D "in_voltage2_scale", "1.000000001\n");
	put(D "in_voltage2_offset", "3000\n");
	put(D "frames", "0\n");
	put(D "samples", "0\n");
	put(D "lost_samples", "5\n");
	put(D "bad_frames", "0\n");
	put(D "urb_errors", "0\n");
	put(D "resyncs", "0\n");
	put(D "status_flags", "0x0000\n");
	put(D "status_flags_seen", "0x5\n");	/* written back as 0x0005 */
	put(D "alert", "off\n");
	put(D "buffer/enable", "0\n");
	put(D "buffer/length", "0000\n");
	put(D "buffer/watermark", "00\n");
	put(D "scan_elements/in_voltage0_en", "0\n");
	put(D "scan_elements/in_voltage0_index", "0\n");
	put(D "scan_elements/in_voltage0_type", "le:s32/32>>0\n");
	put(D "scan_elements/in_voltage2_en", "0\n");
	put(D "scan_elements/in_voltage2_index", "1\n");
	put(D "scan_elements/in_voltage2_type", "le:s32/32>>0\n");
	put(D "scan_elements/in_timestamp_en", "0\n");
	put(D "scan_elements/in_timestamp_index", "2\n");
	put(D "scan_elements/in_timestamp_type", "le:s64/64>>0\n");

	memset(&cal, 0, sizeof(cal));
	cal.version = htole16(STRIGIL_CAL_VERSION);
	cal.size = htole16(STRIGIL_CAL_SIZE);
	cal.channel_mask = 0x05;
	cal.cal_date = htole64(1767225600);
	cal.due_date = htole64(1798761600);
	memcpy(cal.technician, "ann", 3);
	cal.crc32 = htole32(sg_crc32(&cal, offsetof(struct strigil_calibration, crc32)));
	put_bytes(D "calibration", &cal, sizeof(cal));

	/* 20 scans: s32 ch0, s32 ch2, s64 timestamp (16 bytes each) */
	{
		unsigned char scans[20 * 16];
		int i;

		for (i = 0; i < 20; i++) {
			int32_t a = htole32(-5 + i), b = htole32(100000 * i);
			int64_t ts = htole64(1000000000LL + i * 1000000LL);

			memcpy(scans + i * 16, &a, 4);
			memcpy(scans + i * 16 + 4, &b, 4);
			memcpy(scans + i * 16 + 8, &ts, 8);
		}
		put_bytes("dev/iio:device3", scans, sizeof(scans));
	}
}

struct got {
	unsigned blocks, samples, lost;
	int32_t first0, last2;
	uint32_t t0;
	uint16_t flags;
	uint8_t nch, mask;
};

static void on_block(void *u, const struct sg_block *b)
{
	struct got *g = u;

	if (g->blocks == 0) {
		g->first0 = b->raw[0][0];
		g->t0 = b->t0_us;
		g->flags = b->flags;
		g->nch = b->nchannels;
		g->mask = b->channel_mask;
	}
	g->last2 = b->raw[b->nsamples - 1][1];
	g->blocks++;
	g->samples += b->nsamples;
	g->lost += b->lost_before;
}

int main(void)
{
	char sys[300], dev[300], ids[4][SG_IIO_ID_MAX], id[SG_IIO_ID_MAX], buf[64];
	const struct sg_device_info *in;
	struct sg_calibration cal;
	struct sg_iio_counters c;
	struct sg_iio *io = NULL;
	struct got g = { 0 };
	int r;

	snprintf(root, sizeof(root), "/tmp/sg-iio-XXXXXX");
	if (!mkdtemp(root))
		return 2;
	make_tree();
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);

	CHECK_EQ_INT(sg_iio_list(sys, ids, 4), 1);
	CHECK(!strcmp(ids[0], "iio:device3"), "listed %s", ids[0]);
	CHECK_EQ_INT(sg_iio_find_serial(sys, "SG7", id), 0);
	CHECK(!strcmp(id, "iio:device3"), "found %s", id);
	CHECK_EQ_INT(sg_iio_find_serial(sys, "nope", id), -ENOENT);

	/* bad ids and devices that are not ours */
	CHECK_EQ_INT(sg_iio_open(sys, dev, "../../etc", &io), -EINVAL);
	CHECK_EQ_INT(sg_iio_open(sys, dev, "iio:device1", &io), -ENODEV);
	CHECK_EQ_INT(sg_iio_open(sys, dev, "iio:device9", &io), -ENODEV);
	CHECK(io == NULL, "handle on failure");

	r = sg_iio_open(sys, dev, "iio:device3", &io);
	CHECK_EQ_INT(r, 0);
	if (r < 0)
		return check_exit("test-iio");
	in = sg_iio_info(io);
	CHECK(!strcmp(in->serial, "SG7") && !strcmp(in->model, "Strigil S3") &&
	      !strcmp(in->firmware, "1.2.3"), "strings");
	CHECK_EQ_INT(in->model_id, 3);
	CHECK_EQ_INT(in->channel_mask, 0x05);
	CHECK_EQ_INT(in->proto_version, 0x0100);
	CHECK_EQ_INT(in->nrates, 3);
	CHECK_EQ_INT(in->rates_hz[2], 1000);
	CHECK_EQ_INT(in->default_rate_hz, 1000);
	CHECK_EQ_INT(in->full_scale[2], 8388607);

	CHECK_EQ_INT(sg_iio_read_calibration(io, &cal), 0);
	CHECK_NEAR(cal.scale[0], 2.5e-6, 1e-18);
	CHECK_NEAR(cal.offset[0], 1000, 0);
	CHECK_NEAR(cal.scale[2], 1.000000001e-3, 1e-18);
	CHECK_NEAR(cal.offset[2], -3000, 0);
	CHECK_EQ_INT(cal.cal_date, 1767225600);
	CHECK(!strcmp(cal.technician, "ann"), "technician %s", cal.technician);

	CHECK_EQ_INT(sg_iio_set_alert(io, STRIGIL_ALERT_EXCEEDED), 0);
	get(D "alert", buf, sizeof(buf));
	CHECK(!strcmp(buf, "exceeded"), "alert %s", buf);
	CHECK_EQ_INT(sg_iio_set_alert(io, (enum strigil_alert)3), -EINVAL);

	CHECK_EQ_INT(sg_iio_start(io, 250), -EINVAL);	/* not offered */
	CHECK_EQ_INT(sg_iio_start(io, 1000), 0);
	CHECK(sg_iio_fd(io) >= 0, "fd");
	CHECK_EQ_INT(sg_iio_start(io, 1000), -EALREADY);
	get(D "buffer/enable", buf, sizeof(buf));
	CHECK(buf[0] == '1', "enable %s", buf);
	get(D "buffer/length", buf, sizeof(buf));
	CHECK(!strncmp(buf, "2000\n", 5), "length %s", buf);
	get(D "scan_elements/in_voltage2_en", buf, sizeof(buf));
	CHECK(buf[0] == '1', "en %s", buf);

	put(D "lost_samples", "8\n");
	r = sg_iio_read(io, on_block, &g);
	CHECK_EQ_INT(r, 20);
	CHECK_EQ_INT(g.blocks, 2);		/* 12 + 8 */
	CHECK_EQ_INT(g.samples, 20);
	CHECK_EQ_INT(g.lost, 3);
	CHECK_EQ_INT(g.first0, -5);
	CHECK_EQ_INT(g.last2, 1900000);
	CHECK_EQ_INT(g.t0, 1000000);		/* us, low 32 bits */
	CHECK_EQ_INT(g.flags, 5);
	/* the latched flags are cleared by writing back what was read */
	get(D "status_flags_seen", buf, sizeof(buf));
	CHECK(!strcmp(buf, "0x0005\n"), "status_flags_seen written back: %s", buf);
	CHECK_EQ_INT(g.nch, 2);
	CHECK_EQ_INT(g.mask, 0x05);
	CHECK_EQ_INT(sg_iio_last_timestamp_ns(io), 1019000000LL);
	CHECK_EQ_INT(sg_iio_read(io, on_block, &g), 0);	/* nothing more */

	CHECK_EQ_INT(sg_iio_counters(io, &c), 0);
	CHECK_EQ_INT(c.lost_samples, 8);
	CHECK_EQ_INT(sg_iio_stop(io), 0);
	CHECK_EQ_INT(sg_iio_fd(io), -1);
	get(D "buffer/enable", buf, sizeof(buf));
	CHECK(buf[0] == '0', "enable after stop %s", buf);

	/* writing a calibration: converted, CRC'd, written as one blob */
	{
		struct strigil_calibration w;
		struct sg_calibration c2 = cal;
		char path[512];
		FILE *f;
		size_t n = 0;

		c2.scale[0] = 3e-6;
		snprintf(c2.technician, sizeof(c2.technician), "bob");
		CHECK_EQ_INT(sg_iio_write_calibration(io, &c2), 0);
		snprintf(path, sizeof(path), "%s/" D "calibration", root);
		f = fopen(path, "rb");
		if (f) {
			n = fread(&w, 1, sizeof(w), f);
			fclose(f);
		}
		CHECK_EQ_INT(n, sizeof(w));
		CHECK_EQ_INT(le32toh(w.ch[0].scale_pu), 3000000);
		CHECK_EQ_INT((int32_t)le32toh(w.ch[2].offset), -3000);
		CHECK_EQ_INT(le32toh(w.crc32),
			     sg_crc32(&w, offsetof(struct strigil_calibration, crc32)));
		c2.channel_mask = 0x01;
		CHECK_EQ_INT(sg_iio_write_calibration(io, &c2), -EINVAL);
	}

	/* nonsense from sysfs is refused, not trusted */
	put(D "in_voltage0_scale", "0.00x\n");
	CHECK_EQ_INT(sg_iio_read_calibration(io, &cal), -EPROTO);
	put(D "in_voltage0_scale", "0.0000000001\n");	/* 10 digits */
	CHECK_EQ_INT(sg_iio_read_calibration(io, &cal), -EPROTO);
	put(D "in_voltage0_scale", "0.002500000\n");
	put(D "scan_elements/in_timestamp_type", "le:s64/99>>0\n");
	CHECK_EQ_INT(sg_iio_start(io, 0), -EPROTO);
	CHECK_EQ_INT(sg_iio_fd(io), -1);
	put(D "scan_elements/in_timestamp_type", "le:s64/64>>0\n");
	put(D "buffer/enable", "1\n");		/* someone else streams */
	CHECK_EQ_INT(sg_iio_start(io, 0), -EBUSY);
	put(D "buffer/enable", "0\n");
	put(D "lost_samples", "many\n");
	CHECK_EQ_INT(sg_iio_counters(io, &c), -EPROTO);
	sg_iio_close(io);

	/* a device whose directory vanished reports ENODEV */
	put(D "lost_samples", "0\n");
	CHECK_EQ_INT(sg_iio_open(sys, dev, "iio:device3", &io), 0);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s/" D "'", root);
		CHECK_EQ_INT(system(cmd), 0);
	}
	CHECK_EQ_INT(sg_iio_counters(io, &c), -ENODEV);
	CHECK_EQ_INT(sg_iio_set_alert(io, STRIGIL_ALERT_OFF), -ENODEV);
	sg_iio_close(io);

	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", root);
	}
	return check_exit("test-iio");
}
