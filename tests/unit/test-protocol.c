// SPDX-License-Identifier: LGPL-2.1-or-later
/* The wire layouts are ABI: their sizes and offsets must never move. */
#include <stddef.h>

#include "check.h"
#include "strigil.h"

int main(void)
{
	CHECK_EQ_INT(sizeof(struct strigil_frame_hdr), STRIGIL_FRAME_HDR_SIZE);
	CHECK_EQ_INT(sizeof(struct strigil_info), STRIGIL_INFO_SIZE);
	CHECK_EQ_INT(sizeof(struct strigil_calibration), STRIGIL_CAL_SIZE);
	CHECK_EQ_INT(sizeof(struct strigil_status), STRIGIL_STATUS_SIZE);
	CHECK_EQ_INT(offsetof(struct strigil_frame_hdr, seq), 4);
	CHECK_EQ_INT(offsetof(struct strigil_frame_hdr, flags), 12);
	CHECK_EQ_INT(offsetof(struct strigil_calibration, crc32), STRIGIL_CAL_SIZE - 4);
	CHECK_EQ_INT(offsetof(struct strigil_info, serial), 44);
	CHECK_EQ_INT(STRIGIL_MAX_SAMPLES_PER_FRAME(1), STRIGIL_MAX_SAMPLES_ANY);
	CHECK_EQ_INT(STRIGIL_MAX_SAMPLES_PER_FRAME(4), 3);
	/* the kernel's crc32_le(~0, "123456789", 9) ^ ~0 check value */
	CHECK_EQ_INT(sg_crc32("123456789", 9), 0xCBF43926u);
	return check_exit("protocol");
}
