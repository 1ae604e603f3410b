/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The live trace's memory: a fixed ring of (time, force) samples, filled
 * by the stream reader at 1 kHz and read by the widget once per frame.
 * No allocation after init; pure, unit-tested.
 */
#ifndef CLINIC_RING_H
#define CLINIC_RING_H

#include <stddef.h>
#include <stdint.h>

#define CLINIC_RING_CAP 16384	/* > 10 s at 1 kHz, power of two */

struct clinic_ring {
	double t[CLINIC_RING_CAP];
	float f[CLINIC_RING_CAP];
	uint64_t head;		/* samples ever pushed */
};

void clinic_ring_reset(struct clinic_ring *r);
void clinic_ring_push(struct clinic_ring *r, double t_s, float force_n);
size_t clinic_ring_len(const struct clinic_ring *r);
/* i-th oldest retained sample (0 <= i < len). */
void clinic_ring_get(const struct clinic_ring *r, size_t i, double *t_s, float *force_n);
/* Newest sample time, or 0 when empty. */
double clinic_ring_last_t(const struct clinic_ring *r);

/*
 * Column decimation for drawing: for ncols columns covering [t0, t1),
 * min/max force per column (NAN when the column has no sample). A 10 s
 * window of 10,000 samples becomes at most 2 * ncols points per frame.
 */
void clinic_ring_columns(const struct clinic_ring *r, double t0, double t1,
			 size_t ncols, float *fmin, float *fmax);

#endif
