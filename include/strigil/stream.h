/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Binary frames of Instrument.OpenStream() (docs/dbus-api.md): one
 * SOCK_SEQPACKET packet = header + count samples, little-endian.
 * Applications may copy this header.
 */
#ifndef STRIGIL_STREAM_H
#define STRIGIL_STREAM_H

#include <stdint.h>

#define STRIGIL_STREAM_MAGIC		0x31534753u	/* "SGS1" */
#define STRIGIL_STREAM_VERSION		1
#define STRIGIL_STREAM_MAX_SAMPLES	64

struct strigil_stream_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t count;		/* samples in this packet */
	uint64_t first_index;	/* index of the first sample since the fd opened */
	uint32_t dropped;	/* samples dropped (reader too slow) since the previous packet */
	uint32_t lost;		/* samples lost by the device since the previous packet */
} __attribute__((packed));

struct strigil_stream_sample {
	double t_s;		/* seconds since streaming started */
	float force_n;
	float shear_x_n;
	float shear_y_n;
	float tilt_deg;
	uint32_t has;		/* 1 = shear valid, 2 = tilt valid */
	uint32_t flags;		/* STRIGIL_STATUS_* of the device frame */
} __attribute__((packed));

_Static_assert(sizeof(struct strigil_stream_hdr) == 24, "stream header layout");
_Static_assert(sizeof(struct strigil_stream_sample) == 32, "stream sample layout");

#endif
