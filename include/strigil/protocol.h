/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Strigil instrument wire protocol, version 1.
 *
 * Shared by the kernel module, libstrigil, the daemon and the emulator.
 * Only fixed-width little-endian types, constants and layouts: no logic.
 * The normative description is docs/protocol.md.
 */
#ifndef _UAPI_STRIGIL_PROTOCOL_H
#define _UAPI_STRIGIL_PROTOCOL_H

#include <linux/types.h>

/* ---- USB identity ------------------------------------------------------ */
#define STRIGIL_USB_VID			0x1209	/* pid.codes */
#define STRIGIL_USB_PID			0x0001	/* pid.codes test PID */
#define STRIGIL_USB_CLASS		0xff	/* vendor specific interface */
#define STRIGIL_USB_SUBCLASS		0x53	/* 'S' */
#define STRIGIL_USB_PROTOCOL		0x01	/* == STRIGIL_PROTO_MAJOR */
#define STRIGIL_EP_INTERVAL_MS		1	/* bInterval (FS ms, HS 2^(n-1) uframes) */
#define STRIGIL_EP_MAXPACKET_FS		64
#define STRIGIL_EP_MAXPACKET_HS		64

/* Protocol version: major changes are incompatible, minor ones additive. */
#define STRIGIL_PROTO_MAJOR		1
#define STRIGIL_PROTO_MINOR		0
#define STRIGIL_PROTO_VERSION		((STRIGIL_PROTO_MAJOR << 8) | STRIGIL_PROTO_MINOR)

/* ---- Channels ---------------------------------------------------------- */
enum strigil_channel {
	STRIGIL_CH_NORMAL	= 0,	/* normal force, newtons (every model) */
	STRIGIL_CH_SHEAR_X	= 1,	/* shear along the blade, newtons */
	STRIGIL_CH_SHEAR_Y	= 2,	/* shear across the blade, newtons */
	STRIGIL_CH_TILT		= 3,	/* blade tilt, degrees */
	STRIGIL_MAX_CHANNELS	= 4,
};

#define STRIGIL_CH_BIT(ch)		(1u << (ch))
#define STRIGIL_CH_MASK_ALL		0x0f

/* ---- Sample frames (interrupt IN endpoint) ----------------------------- */
#define STRIGIL_FRAME_TYPE_SAMPLES	0x53	/* 'S' */
#define STRIGIL_FRAME_VERSION		1

/* status flags (struct strigil_frame_hdr.flags) */
#define STRIGIL_STATUS_OVERLOAD		0x0001	/* a channel saturated */
#define STRIGIL_STATUS_SENSOR_FAULT	0x0002	/* bridge open/short detected */
#define STRIGIL_STATUS_BUTTON		0x0004	/* tool button held */
#define STRIGIL_STATUS_LOW_BATTERY	0x0008	/* wireless models only */
#define STRIGIL_STATUS_KNOWN		0x000f	/* other bits are reserved, ignored */

/*
 * One frame = header followed by sample_count samples; a sample is one
 * __le32 (two's complement signed raw ADC count) per channel set in
 * channel_mask, in ascending channel order. Frame length is exactly
 * sizeof(hdr) + sample_count * popcount(channel_mask) * 4 bytes.
 *
 * seq increments by one per frame (wrapping at 2^32); timestamp_us is the
 * device clock (wrapping at 2^32 us) at the first sample; later samples
 * follow at the configured rate.
 */
struct strigil_frame_hdr {
	__u8	type;		/* STRIGIL_FRAME_TYPE_SAMPLES */
	__u8	version;	/* STRIGIL_FRAME_VERSION */
	__u8	sample_count;	/* 1..STRIGIL_MAX_SAMPLES_PER_FRAME(nch) */
	__u8	channel_mask;	/* must equal the device's channel set */
	__le32	seq;
	__le32	timestamp_us;
	__le16	flags;		/* STRIGIL_STATUS_* */
	__le16	reserved;	/* 0 */
} __attribute__((packed));

#define STRIGIL_FRAME_HDR_SIZE		16
#define STRIGIL_FRAME_MAX_SIZE		STRIGIL_EP_MAXPACKET_FS
#define STRIGIL_MAX_SAMPLES_PER_FRAME(nch) \
	((STRIGIL_FRAME_MAX_SIZE - STRIGIL_FRAME_HDR_SIZE) / ((nch) * 4))
#define STRIGIL_MAX_SAMPLES_ANY		12	/* 1 channel: (64-16)/4 */

/*
 * The receiver's sequence rule (docs/protocol.md 2.2; serial number
 * arithmetic on 32 bits), the same in the kernel module and libstrigil:
 * a frame up to STRIGIL_SEQ_MAX_GAP ahead of the expected seq counts the
 * frames in between as lost; up to STRIGIL_SEQ_STALE_WINDOW behind is
 * stale and dropped; any other jump (a device restart) is a resync.
 */
#define STRIGIL_SEQ_MAX_GAP		(1U << 24)
#define STRIGIL_SEQ_STALE_WINDOW	1024U

/* ---- Vendor control requests (bmRequestType vendor|interface) ---------- */
enum strigil_request {
	STRIGIL_REQ_GET_INFO		= 0x01,	/* IN,  data: struct strigil_info */
	STRIGIL_REQ_GET_CALIBRATION	= 0x02,	/* IN,  data: struct strigil_calibration */
	STRIGIL_REQ_SET_CALIBRATION	= 0x03,	/* OUT, data: struct strigil_calibration */
	STRIGIL_REQ_START		= 0x04,	/* OUT, wValue = rate in Hz, no data */
	STRIGIL_REQ_STOP		= 0x05,	/* OUT, no data */
	STRIGIL_REQ_SET_ALERT		= 0x06,	/* OUT, wValue = enum strigil_alert */
	STRIGIL_REQ_GET_STATUS		= 0x07,	/* IN,  data: struct strigil_status */
};

enum strigil_alert {
	STRIGIL_ALERT_OFF	= 0,
	STRIGIL_ALERT_WARNING	= 1,	/* amber LED, short buzz every second */
	STRIGIL_ALERT_EXCEEDED	= 2,	/* red LED, continuous vibration */
};

#define STRIGIL_CTRL_TIMEOUT_MS		500
#define STRIGIL_RATE_MIN_HZ		100
#define STRIGIL_RATE_MAX_HZ		2000
#define STRIGIL_MAX_RATES		8

enum strigil_model {
	STRIGIL_MODEL_S1 = 1,	/* normal force only */
	STRIGIL_MODEL_S3 = 3,	/* normal force + 2 shear */
	STRIGIL_MODEL_S4 = 4,	/* normal force + 2 shear + tilt */
};

/* GET_INFO answer. Strings are NUL padded, not necessarily NUL terminated. */
struct strigil_info {
	__le16	proto_version;		/* STRIGIL_PROTO_VERSION */
	__le16	info_size;		/* sizeof(struct strigil_info) */
	__u8	model_id;		/* enum strigil_model */
	__u8	channel_mask;		/* STRIGIL_CH_BIT()s, NORMAL always set */
	__u8	fw_major;
	__u8	fw_minor;
	__le16	fw_patch;
	__le16	default_rate_hz;
	__le16	rates_hz[STRIGIL_MAX_RATES];	/* supported rates, 0 = unused */
	__le32	full_scale[STRIGIL_MAX_CHANNELS];	/* |raw| limit per channel */
	char	serial[16];
	char	model[16];
} __attribute__((packed));

#define STRIGIL_INFO_SIZE		76

/*
 * Calibration: value = (raw - offset) * scale_pu * 1e-12, in N (tilt: deg).
 * The device stores it atomically and STALLs a SET_CALIBRATION whose
 * version, size, channel_mask or crc32 is wrong. crc32 is the IEEE 802.3
 * CRC (zlib's crc32()) of every byte before it.
 */
#define STRIGIL_CAL_VERSION		1

struct strigil_cal_channel {
	__le32	offset;		/* signed raw counts at zero load */
	__le32	scale_pu;	/* pico-units per count, > 0 */
} __attribute__((packed));

struct strigil_calibration {
	__le16	version;		/* STRIGIL_CAL_VERSION */
	__le16	size;			/* sizeof(struct strigil_calibration) */
	__u8	channel_mask;		/* channels calibrated */
	__u8	reserved[3];		/* 0 */
	struct strigil_cal_channel ch[STRIGIL_MAX_CHANNELS];
	__le64	cal_date;		/* unix seconds; 0 = never calibrated */
	__le64	due_date;		/* unix seconds */
	char	technician[16];		/* NUL padded */
	__le32	crc32;
} __attribute__((packed));

#define STRIGIL_CAL_SIZE		76

/* GET_STATUS answer */
struct strigil_status {
	__le16	flags;			/* STRIGIL_STATUS_* now */
	__le16	rate_hz;		/* 0 = stopped */
	__u8	alert;			/* enum strigil_alert */
	__u8	reserved[3];
	__le32	frames_sent;
} __attribute__((packed));

#define STRIGIL_STATUS_SIZE		12

#endif /* _UAPI_STRIGIL_PROTOCOL_H */
