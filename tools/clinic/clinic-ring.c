/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <string.h>

#include "clinic-ring.h"

void clinic_ring_reset(struct clinic_ring *r)
{
	r->head = 0;
}

void clinic_ring_push(struct clinic_ring *r, double t_s, float force_n)
{
	size_t i = (size_t)(r->head & (CLINIC_RING_CAP - 1));

	r->t[i] = t_s;
	r->f[i] = force_n;
	r->head++;
}

size_t clinic_ring_len(const struct clinic_ring *r)
{
	return r->head < CLINIC_RING_CAP ? (size_t)r->head : CLINIC_RING_CAP;
}

void clinic_ring_get(const struct clinic_ring *r, size_t i, double *t_s, float *force_n)
{
	uint64_t first = r->head - clinic_ring_len(r);
	size_t k = (size_t)((first + i) & (CLINIC_RING_CAP - 1));

	*t_s = r->t[k];
	*force_n = r->f[k];
}

double clinic_ring_last_t(const struct clinic_ring *r)
{
	if (r->head == 0)
		return 0;
	return r->t[(size_t)((r->head - 1) & (CLINIC_RING_CAP - 1))];
}

void clinic_ring_columns(const struct clinic_ring *r, double t0, double t1,
			 size_t ncols, float *fmin, float *fmax)
{
	size_t len = clinic_ring_len(r), i, lo = 0, hi;
	double span = t1 - t0;

	for (i = 0; i < ncols; i++)
		fmin[i] = fmax[i] = NAN;
	if (len == 0 || ncols == 0 || !(span > 0))
		return;
	/* Samples are in time order: binary search the first one >= t0. */
	hi = len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		double t;
		float f;

		clinic_ring_get(r, mid, &t, &f);
		if (t < t0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < len; i++) {
		double t;
		float f;
		size_t c;

		clinic_ring_get(r, i, &t, &f);
		if (t >= t1)
			break;
		c = (size_t)((t - t0) / span * (double)ncols);
		if (c >= ncols)
			c = ncols - 1;
		if (isnan(fmin[c]) || f < fmin[c])
			fmin[c] = f;
		if (isnan(fmax[c]) || f > fmax[c])
			fmax[c] = f;
	}
}
