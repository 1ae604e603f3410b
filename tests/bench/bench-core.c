// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-core: throughput of the frame decoder, the calibration path and
 * the CSV reader (`make bench`). Figures only, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strigil.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_decode(uint8_t mask, unsigned nsamples, unsigned long frames)
{
	int32_t raw[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS];
	uint8_t buf[STRIGIL_FRAME_MAX_SIZE];
	struct sg_decoder d;
	struct sg_block b;
	volatile int64_t sink = 0;
	double t0, dt;
	int len = 0;

	for (unsigned i = 0; i < STRIGIL_MAX_SAMPLES_ANY; i++)
		for (unsigned k = 0; k < STRIGIL_MAX_CHANNELS; k++)
			raw[i][k] = (int32_t)(i * 7919 + k * 104729);
	sg_decoder_init(&d, mask);
	t0 = now_s();
	for (unsigned long f = 0; f < frames; f++) {
		/* re-stamp seq in place: the encoder cost is not measured */
		if (f == 0)
			len = sg_encode_frame(buf, sizeof(buf), 0, 0, 0, mask,
					      (const int32_t (*)[STRIGIL_MAX_CHANNELS])raw,
					      nsamples);
		buf[4] = (uint8_t)f;
		buf[5] = (uint8_t)(f >> 8);
		buf[6] = (uint8_t)(f >> 16);
		buf[7] = (uint8_t)(f >> 24);
		if (sg_decode_frame(&d, buf, (size_t)len, &b) == SG_FRAME_OK)
			sink += b.raw[0][0];
	}
	dt = now_s() - t0;
	printf("bench: decode mask 0x%02x x %2u samples: %6.1f ns/frame, %6.1f M samples/s "
	       "(%lu frames, %llu bad)\n", mask, nsamples, dt / (double)frames * 1e9,
	       (double)frames * nsamples / dt / 1e6, frames,
	       (unsigned long long)d.frames_bad);
	(void)sink;
}

static void bench_csv(unsigned long rows)
{
	size_t cap = rows * 80 + 64, len = 0;
	char *text = malloc(cap), err[256];
	struct sg_csv_reader *r;
	struct sg_sample s;
	unsigned long n = 0;
	double t0, dt;

	if (!text)
		return;
	len += (size_t)snprintf(text, cap, "t_s,force_n,shear_x_n,shear_y_n,tilt_deg\n");
	for (unsigned long i = 0; i < rows; i++)
		len += (size_t)snprintf(text + len, cap - len, "%.6f,%.6f,%.6f,%.6f,%.6f\n",
					i * 0.001, 5.0 + (double)(i % 1000) * 0.01, 0.25, -0.5, 20.0);
	t0 = now_s();
	r = sg_csv_open_mem("bench.csv", text, len, err, sizeof(err));
	while (r && sg_csv_next(r, &s, err, sizeof(err)) == 1)
		n++;
	dt = now_s() - t0;
	sg_csv_close(r);
	printf("bench: csv read (5 columns): %6.1f ns/row, %6.1f MB/s (%lu rows)\n",
	       dt / (double)n * 1e9, (double)len / dt / 1e6, n);
	free(text);
}

int main(void)
{
	bench_decode(0x01, 12, 20000000);
	bench_decode(0x01, 1, 20000000);
	bench_decode(0x0f, 3, 20000000);
	bench_csv(2000000);
	return 0;
}
