// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the CSV trace reader. Every accepted sample is finite
 * with non-decreasing time; every error names the file and a line, and
 * stays (errors are sticky).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "strigil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], err2[256];
	struct sg_csv_reader *r;
	struct sg_sample s;
	double prev = -INFINITY;
	int rc;

	err[0] = '\0';
	r = sg_csv_open_mem("fuzz.csv", (const char *)data, size, err, sizeof(err));
	if (!r) {
		ASSERT(strncmp(err, "fuzz.csv:", 9) == 0);
		return 0;
	}
	while ((rc = sg_csv_next(r, &s, err, sizeof(err))) == 1) {
		ASSERT(isfinite(s.t_s) && isfinite(s.force_n));
		ASSERT(isfinite(s.shear_x_n) && isfinite(s.shear_y_n) && isfinite(s.tilt_deg));
		ASSERT(s.t_s >= prev);
		ASSERT(s.has == sg_csv_columns(r));
		ASSERT((s.has & ~(SG_HAS_SHEAR | SG_HAS_TILT)) == 0);
		prev = s.t_s;
	}
	if (rc < 0) {
		ASSERT(strncmp(err, "fuzz.csv:", 9) == 0);
		ASSERT(sg_csv_next(r, &s, err2, sizeof(err2)) == rc);
		ASSERT(strcmp(err, err2) == 0);
	} else {
		ASSERT(sg_csv_next(r, &s, err, sizeof(err)) == 0);
	}
	sg_csv_close(r);
	return 0;
}
