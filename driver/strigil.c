// SPDX-License-Identifier: GPL-2.0
/*
 * Strigil IASTM instrument: USB driver offering an IIO device.
 *
 * The instrument has one vendor interface with one interrupt IN endpoint
 * carrying sample frames, and vendor control requests for identity,
 * calibration, start/stop and the alert pattern. The wire protocol is
 * include/strigil/protocol.h (normative text: docs/protocol.md); the sysfs
 * ABI is docs/sysfs-bus-iio-strigil.
 *
 * Lifetime: the IIO device (and our state inside iio_priv()) is allocated
 * with devm on the interface, so it lives until the driver is unbound and
 * the last file reference on /dev/iio:deviceN is gone (the IIO core holds
 * the refcount). disconnect() marks us disconnected under io_mutex (every
 * entry point checks the flag under io_mutex), deactivates the buffer,
 * unregisters the IIO device (which wakes blocked readers, who then get
 * -ENODEV), then kills whatever URB is still anchored; strigil_disconnect()
 * says why that order, and what no order can close in the 6.1 IIO core.
 */

#include <linux/bitops.h>
#include <linux/crc32.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/usb.h>
#include <linux/iio/buffer.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/iio.h>
#include <linux/iio/kfifo_buf.h>
#include <linux/iio/sysfs.h>
#include <asm/unaligned.h>

#include <strigil/protocol.h>

#define STRIGIL_NUM_URBS	8
#define STRIGIL_MAX_URB_ERRORS	50
#define STRIGIL_MIN_PACKET	(STRIGIL_FRAME_HDR_SIZE + 4)
/* STRIGIL_SEQ_MAX_GAP, STRIGIL_SEQ_STALE_WINDOW: <strigil/protocol.h> */
#define STRIGIL_CAL_CRC_LEN	offsetof(struct strigil_calibration, crc32)

static const char * const strigil_labels[STRIGIL_MAX_CHANNELS] = {
	[STRIGIL_CH_NORMAL]	= "normal_force",
	[STRIGIL_CH_SHEAR_X]	= "shear_x",
	[STRIGIL_CH_SHEAR_Y]	= "shear_y",
	[STRIGIL_CH_TILT]	= "tilt",
};

static const char * const strigil_alerts[] = {
	[STRIGIL_ALERT_OFF]		= "off",
	[STRIGIL_ALERT_WARNING]		= "warning",
	[STRIGIL_ALERT_EXCEEDED]	= "exceeded",
};

struct strigil {
	struct usb_device *udev;
	struct usb_interface *intf;
	struct iio_dev *indio_dev;
	u8 ifnum;
	u8 ep_addr;
	u16 maxp;
	u8 interval;

	/* Serialises control transfers and protects what they update. */
	struct mutex io_mutex;
	bool disconnected;

	/* Identity, read once at probe. */
	u16 proto;
	u8 model_id;
	u8 channel_mask;
	u8 nch;
	u16 fw_patch;
	u8 fw_major, fw_minor;
	char serial[sizeof_field(struct strigil_info, serial) + 1];
	char model[sizeof_field(struct strigil_info, model) + 1];
	int rates[STRIGIL_MAX_RATES];
	int nrates;
	u32 full_scale[STRIGIL_MAX_CHANNELS];

	/* Under io_mutex. */
	int rate;
	u8 alert;
	bool cal_valid;
	struct strigil_calibration cal;

	/* Stream state: written by URB completions, under lock. */
	spinlock_t lock;
	bool streaming;
	bool have_seq;
	bool clock_set;
	u32 next_seq;
	u8 last_count;
	u64 stream_pos;		/* samples since START, lost ones included */
	s64 base_ns;		/* IIO clock of the stream's first sample */
	u16 last_flags;
	u16 seen_flags;		/* OR since cleared through status_flags_seen */
	u64 frames_ok;
	u64 samples_ok;
	u64 frames_bad;
	u64 samples_lost;
	u64 urb_errors;
	u64 resyncs;
	unsigned int consecutive_errors;

	struct usb_anchor anchor;
	struct urb *urbs[STRIGIL_NUM_URBS];

	struct iio_chan_spec channels[STRIGIL_MAX_CHANNELS + 1];
	unsigned long scan_masks[2];
	/* One scan: up to four s32 counts, then the s64 timestamp. */
	struct {
		s32 raw[STRIGIL_MAX_CHANNELS];
		s64 ts __aligned(8);
	} scan;
};

/* ---- control requests --------------------------------------------------- */

static int strigil_ctrl_in(struct strigil *st, u8 req, u16 value, void *buf,
			   u16 len)
{
	return usb_control_msg_recv(st->udev, 0, req,
				    USB_DIR_IN | USB_TYPE_VENDOR |
				    USB_RECIP_INTERFACE,
				    value, st->ifnum, buf, len,
				    STRIGIL_CTRL_TIMEOUT_MS, GFP_KERNEL);
}

static int strigil_ctrl_out(struct strigil *st, u8 req, u16 value,
			    const void *buf, u16 len)
{
	return usb_control_msg_send(st->udev, 0, req,
				    USB_DIR_OUT | USB_TYPE_VENDOR |
				    USB_RECIP_INTERFACE,
				    value, st->ifnum, buf, len,
				    STRIGIL_CTRL_TIMEOUT_MS, GFP_KERNEL);
}

/* ---- validation of device data ------------------------------------------ */

static void strigil_copy_string(char *dst, const char *src, size_t srclen)
{
	size_t i;

	for (i = 0; i < srclen && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static int strigil_parse_info(struct strigil *st, const struct strigil_info *in)
{
	struct device *dev = &st->intf->dev;
	u16 proto = le16_to_cpu(in->proto_version);
	u16 def = le16_to_cpu(in->default_rate_hz);
	int i;

	if ((proto >> 8) != STRIGIL_PROTO_MAJOR ||
	    le16_to_cpu(in->info_size) < STRIGIL_INFO_SIZE) {
		dev_err(dev, "unsupported protocol %#06x (info size %u)\n",
			proto, le16_to_cpu(in->info_size));
		return -EPROTO;
	}
	if (!(in->channel_mask & STRIGIL_CH_BIT(STRIGIL_CH_NORMAL)) ||
	    (in->channel_mask & ~STRIGIL_CH_MASK_ALL)) {
		dev_err(dev, "bad channel mask %#04x\n", in->channel_mask);
		return -EPROTO;
	}
	st->proto = proto;
	st->model_id = in->model_id;
	st->channel_mask = in->channel_mask;
	st->nch = hweight8(in->channel_mask);
	st->fw_major = in->fw_major;
	st->fw_minor = in->fw_minor;
	st->fw_patch = le16_to_cpu(in->fw_patch);
	strigil_copy_string(st->serial, in->serial, sizeof(in->serial));
	strigil_copy_string(st->model, in->model, sizeof(in->model));

	st->nrates = 0;
	for (i = 0; i < STRIGIL_MAX_RATES; i++) {
		u16 r = le16_to_cpu(in->rates_hz[i]);

		if (!r)
			continue;
		if (r < STRIGIL_RATE_MIN_HZ || r > STRIGIL_RATE_MAX_HZ) {
			dev_err(dev, "bad sampling rate %u Hz\n", r);
			return -EPROTO;
		}
		st->rates[st->nrates++] = r;
	}
	if (!st->nrates) {
		dev_err(dev, "no sampling rate offered\n");
		return -EPROTO;
	}
	st->rate = st->rates[0];
	for (i = 0; i < st->nrates; i++)
		if (st->rates[i] == def)
			st->rate = def;
	for (i = 0; i < STRIGIL_MAX_CHANNELS; i++)
		st->full_scale[i] = le32_to_cpu(in->full_scale[i]);
	return 0;
}

static u32 strigil_cal_crc(const struct strigil_calibration *cal)
{
	/* zlib's crc32(): initial and final inversion around crc32_le */
	return ~crc32_le(~0U, (const u8 *)cal, STRIGIL_CAL_CRC_LEN);
}

static int strigil_check_cal(const struct strigil *st,
			     const struct strigil_calibration *cal)
{
	int i;

	if (le16_to_cpu(cal->version) != STRIGIL_CAL_VERSION ||
	    le16_to_cpu(cal->size) != STRIGIL_CAL_SIZE)
		return -EPROTO;
	if (cal->channel_mask != st->channel_mask)
		return -EPROTO;
	if (cal->reserved[0] || cal->reserved[1] || cal->reserved[2])
		return -EPROTO;
	for (i = 0; i < STRIGIL_MAX_CHANNELS; i++) {
		if (!(cal->channel_mask & STRIGIL_CH_BIT(i)))
			continue;
		if (!le32_to_cpu(cal->ch[i].scale_pu) ||
		    le32_to_cpu(cal->ch[i].scale_pu) > INT_MAX)
			return -EPROTO;
	}
	if (strigil_cal_crc(cal) != le32_to_cpu(cal->crc32))
		return -EBADMSG;
	return 0;
}

/* Called with io_mutex held (or before registration). */
static int strigil_read_cal(struct strigil *st)
{
	struct strigil_calibration cal;
	int ret;

	ret = strigil_ctrl_in(st, STRIGIL_REQ_GET_CALIBRATION, 0, &cal,
			      sizeof(cal));
	if (ret)
		return ret;
	st->cal = cal;
	ret = strigil_check_cal(st, &cal);
	st->cal_valid = !ret;
	if (ret)
		dev_warn(&st->intf->dev,
			 "device calibration is invalid (%d); scale unavailable\n",
			 ret);
	return 0;
}

/* ---- stream ------------------------------------------------------------- */

/*
 * Pushes every sample of a valid frame; called with st->lock held.
 * Timestamps count samples at the configured rate from the first frame
 * of the stream, lost ones included (docs/protocol.md 2.3): the device
 * clock is not synchronised to ours.
 */
static void strigil_push_frame(struct strigil *st, const u8 *buf,
			       unsigned int count)
{
	const __le32 *p = (const __le32 *)(buf + STRIGIL_FRAME_HDR_SIZE);
	unsigned int i, k;

	if (!st->clock_set) {
		st->clock_set = true;
		st->stream_pos = 0;
		st->base_ns = iio_get_time_ns(st->indio_dev) -
			      div_s64((s64)(count - 1) * NSEC_PER_SEC, st->rate);
	}

	for (i = 0; i < count; i++) {
		s64 ts = st->base_ns +
			 (s64)div_u64(st->stream_pos * NSEC_PER_SEC, st->rate);

		memset(&st->scan, 0, sizeof(st->scan));
		for (k = 0; k < st->nch; k++)
			st->scan.raw[k] = (s32)get_unaligned_le32(p++);
		iio_push_to_buffers_with_timestamp(st->indio_dev, &st->scan,
						   ts);
		st->stream_pos++;
	}
}

/* Decodes one frame exactly as docs/protocol.md says; called under lock. */
static void strigil_handle_frame(struct strigil *st, const u8 *buf,
				 unsigned int len)
{
	const struct strigil_frame_hdr *hdr = (const void *)buf;
	unsigned int count, max;
	u32 seq, ahead, behind;
	u64 lost;

	if (len < STRIGIL_FRAME_HDR_SIZE)
		goto bad;
	if (hdr->type != STRIGIL_FRAME_TYPE_SAMPLES ||
	    hdr->version != STRIGIL_FRAME_VERSION ||
	    hdr->channel_mask != st->channel_mask)
		goto bad;
	count = hdr->sample_count;
	max = STRIGIL_MAX_SAMPLES_PER_FRAME(st->nch);
	if (!count || count > max)
		goto bad;
	if (len != STRIGIL_FRAME_HDR_SIZE + count * st->nch * 4)
		goto bad;

	/* Sequence rule of docs/protocol.md 2.2 (RFC 1982 arithmetic) */
	seq = le32_to_cpu(hdr->seq);
	if (st->have_seq && seq != st->next_seq) {
		ahead = seq - st->next_seq;
		behind = st->next_seq - seq;
		if (ahead <= STRIGIL_SEQ_MAX_GAP) {
			/* lost frames: as many samples as the last one each */
			lost = (u64)ahead * st->last_count;
			st->samples_lost += lost;
			st->stream_pos += lost;
		} else if (behind <= STRIGIL_SEQ_STALE_WINDOW) {
			goto bad;		/* stale or duplicate */
		} else {
			st->resyncs++;		/* device restart: loss unknown */
		}
	}
	st->have_seq = true;
	st->next_seq = seq + 1;
	st->last_count = count;
	st->last_flags = le16_to_cpu(hdr->flags) & STRIGIL_STATUS_KNOWN;
	st->seen_flags |= st->last_flags;
	st->frames_ok++;
	st->samples_ok += count;
	strigil_push_frame(st, buf, count);
	return;
bad:
	st->frames_bad++;
}

/*
 * What a host controller reports for a device that has just been pulled
 * out, until the hub driver notices and disconnect() runs: EPROTO (bit
 * stuffing), EILSEQ (CRC) and ETIME (no response). On 7-11 % of surprise
 * unplugs 50 of them arrive first. The unplug is the news, not these.
 */
static bool strigil_unplug_status(int status)
{
	return status == -EPROTO || status == -EILSEQ || status == -ETIME;
}

static void strigil_urb_complete(struct urb *urb)
{
	struct strigil *st = urb->context;
	unsigned long flags;
	bool stopped = false;
	int ret;

	switch (urb->status) {
	case 0:
		break;
	case -ENOENT:
	case -ECONNRESET:
	case -ESHUTDOWN:
	case -ENODEV:
		return;		/* killed, unlinked or gone */
	default:
		spin_lock_irqsave(&st->lock, flags);
		st->urb_errors++;
		/* A device that only errors is not polled forever. */
		if (++st->consecutive_errors > STRIGIL_MAX_URB_ERRORS &&
		    st->streaming) {
			st->streaming = false;
			stopped = true;
		}
		spin_unlock_irqrestore(&st->lock, flags);
		/* urb_errors counts them all; the log keeps errors for errors */
		if (stopped && strigil_unplug_status(urb->status))
			dev_dbg(&st->intf->dev,
				"%d transfer errors in a row (last %d, device going away?): stream stopped\n",
				STRIGIL_MAX_URB_ERRORS, urb->status);
		else if (stopped)
			dev_err(&st->intf->dev,
				"%d transfer errors in a row (last %d): stream stopped\n",
				STRIGIL_MAX_URB_ERRORS, urb->status);
		goto resubmit;
	}

	spin_lock_irqsave(&st->lock, flags);
	st->consecutive_errors = 0;
	if (st->streaming)
		strigil_handle_frame(st, urb->transfer_buffer,
				     min(urb->actual_length,
					 urb->transfer_buffer_length));
	spin_unlock_irqrestore(&st->lock, flags);

resubmit:
	if (!READ_ONCE(st->streaming))
		return;
	usb_anchor_urb(urb, &st->anchor);
	ret = usb_submit_urb(urb, GFP_ATOMIC);
	if (ret) {
		usb_unanchor_urb(urb);
		if (ret != -EPERM && ret != -ENODEV)
			dev_err_ratelimited(&st->intf->dev,
					    "resubmit failed: %d\n", ret);
	}
}

static void strigil_stop_urbs(struct strigil *st)
{
	unsigned long flags;

	spin_lock_irqsave(&st->lock, flags);
	st->streaming = false;
	spin_unlock_irqrestore(&st->lock, flags);
	usb_kill_anchored_urbs(&st->anchor);
}

static int strigil_buffer_postenable(struct iio_dev *indio_dev)
{
	struct strigil *st = iio_priv(indio_dev);
	unsigned long flags;
	int i, ret;

	mutex_lock(&st->io_mutex);
	if (st->disconnected) {
		ret = -ENODEV;
		goto out;
	}
	spin_lock_irqsave(&st->lock, flags);
	st->streaming = true;
	st->have_seq = false;
	st->clock_set = false;
	st->consecutive_errors = 0;
	spin_unlock_irqrestore(&st->lock, flags);

	for (i = 0; i < STRIGIL_NUM_URBS; i++) {
		usb_anchor_urb(st->urbs[i], &st->anchor);
		ret = usb_submit_urb(st->urbs[i], GFP_KERNEL);
		if (ret) {
			usb_unanchor_urb(st->urbs[i]);
			goto err_kill;
		}
	}
	ret = strigil_ctrl_out(st, STRIGIL_REQ_START, st->rate, NULL, 0);
	if (ret)
		goto err_kill;
	mutex_unlock(&st->io_mutex);
	return 0;

err_kill:
	strigil_stop_urbs(st);
	dev_err(&st->intf->dev, "cannot start streaming: %d\n", ret);
out:
	mutex_unlock(&st->io_mutex);
	return ret;
}

static int strigil_buffer_predisable(struct iio_dev *indio_dev)
{
	struct strigil *st = iio_priv(indio_dev);
	int ret = 0;

	mutex_lock(&st->io_mutex);
	if (!st->disconnected)
		ret = strigil_ctrl_out(st, STRIGIL_REQ_STOP, 0, NULL, 0);
	strigil_stop_urbs(st);
	mutex_unlock(&st->io_mutex);
	/* A failed STOP (device unplugged) must not keep the buffer on. */
	if (ret && ret != -ENODEV)
		dev_dbg(&st->intf->dev, "STOP failed: %d\n", ret);
	return 0;
}

static const struct iio_buffer_setup_ops strigil_buffer_ops = {
	.postenable = strigil_buffer_postenable,
	.predisable = strigil_buffer_predisable,
};

/* ---- IIO channel attributes -------------------------------------------- */

static int strigil_read_raw(struct iio_dev *indio_dev,
			    struct iio_chan_spec const *chan, int *val,
			    int *val2, long mask)
{
	struct strigil *st = iio_priv(indio_dev);
	int ret;
	u32 pu;

	mutex_lock(&st->io_mutex);
	if (st->disconnected) {
		ret = -ENODEV;
		goto out;
	}
	switch (mask) {
	case IIO_CHAN_INFO_SAMP_FREQ:
		*val = st->rate;
		ret = IIO_VAL_INT;
		break;
	case IIO_CHAN_INFO_SCALE:
		if (!st->cal_valid) {
			ret = -ENODATA;
			break;
		}
		/* pico-units per count == nano milli-units per count */
		pu = le32_to_cpu(st->cal.ch[chan->channel].scale_pu);
		*val = pu / 1000000000U;
		*val2 = pu % 1000000000U;
		ret = IIO_VAL_INT_PLUS_NANO;
		break;
	case IIO_CHAN_INFO_OFFSET:
		if (!st->cal_valid) {
			ret = -ENODATA;
			break;
		}
		/* IIO applies (raw + offset) * scale; we store raw at zero */
		*val = -(s32)le32_to_cpu(st->cal.ch[chan->channel].offset);
		if ((s32)le32_to_cpu(st->cal.ch[chan->channel].offset) ==
		    S32_MIN) {
			ret = -ERANGE;
			break;
		}
		ret = IIO_VAL_INT;
		break;
	default:
		ret = -EINVAL;
	}
out:
	mutex_unlock(&st->io_mutex);
	return ret;
}

static int strigil_write_raw(struct iio_dev *indio_dev,
			     struct iio_chan_spec const *chan, int val,
			     int val2, long mask)
{
	struct strigil *st = iio_priv(indio_dev);
	int i, ret;

	if (mask != IIO_CHAN_INFO_SAMP_FREQ || val2)
		return -EINVAL;
	for (i = 0; i < st->nrates; i++)
		if (st->rates[i] == val)
			break;
	if (i == st->nrates)
		return -EINVAL;

	/* The rate is sent with START: refuse changes while streaming. */
	ret = iio_device_claim_direct_mode(indio_dev);
	if (ret)
		return ret;
	mutex_lock(&st->io_mutex);
	if (st->disconnected) {
		ret = -ENODEV;
	} else {
		st->rate = val;
		ret = 0;
	}
	mutex_unlock(&st->io_mutex);
	iio_device_release_direct_mode(indio_dev);
	return ret;
}

static int strigil_write_raw_get_fmt(struct iio_dev *indio_dev,
				     struct iio_chan_spec const *chan,
				     long mask)
{
	return IIO_VAL_INT;
}

static int strigil_read_avail(struct iio_dev *indio_dev,
			      struct iio_chan_spec const *chan,
			      const int **vals, int *type, int *length,
			      long mask)
{
	struct strigil *st = iio_priv(indio_dev);

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	*vals = st->rates;
	*type = IIO_VAL_INT;
	*length = st->nrates;
	return IIO_AVAIL_LIST;
}

static int strigil_read_label(struct iio_dev *indio_dev,
			      struct iio_chan_spec const *chan, char *label)
{
	if (chan->type != IIO_VOLTAGE || chan->channel >= STRIGIL_MAX_CHANNELS)
		return -EINVAL;
	return sysfs_emit(label, "%s\n", strigil_labels[chan->channel]);
}

/* ---- device attributes ------------------------------------------------- */

static struct strigil *strigil_from_dev(struct device *dev)
{
	return iio_priv(dev_to_iio_dev(dev));
}

static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n", strigil_from_dev(dev)->serial);
}

static ssize_t model_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", strigil_from_dev(dev)->model);
}

static ssize_t model_id_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", strigil_from_dev(dev)->model_id);
}

static ssize_t firmware_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct strigil *st = strigil_from_dev(dev);

	return sysfs_emit(buf, "%u.%u.%u\n", st->fw_major, st->fw_minor,
			  st->fw_patch);
}

static ssize_t protocol_version_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%04x\n", strigil_from_dev(dev)->proto);
}

static ssize_t channel_mask_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%02x\n", strigil_from_dev(dev)->channel_mask);
}

static ssize_t full_scale_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct strigil *st = strigil_from_dev(dev);

	return sysfs_emit(buf, "%u %u %u %u\n", st->full_scale[0],
			  st->full_scale[1], st->full_scale[2],
			  st->full_scale[3]);
}

#define STRIGIL_COUNTER_SHOW(name, field)				\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct strigil *st = strigil_from_dev(dev);			\
	unsigned long flags;						\
	u64 v;								\
									\
	spin_lock_irqsave(&st->lock, flags);				\
	v = st->field;							\
	spin_unlock_irqrestore(&st->lock, flags);			\
	return sysfs_emit(buf, "%llu\n", v);				\
}

STRIGIL_COUNTER_SHOW(lost_samples, samples_lost)
STRIGIL_COUNTER_SHOW(bad_frames, frames_bad)
STRIGIL_COUNTER_SHOW(frames, frames_ok)
STRIGIL_COUNTER_SHOW(samples, samples_ok)
STRIGIL_COUNTER_SHOW(urb_errors, urb_errors)
STRIGIL_COUNTER_SHOW(resyncs, resyncs)

static ssize_t status_flags_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct strigil *st = strigil_from_dev(dev);
	unsigned long flags;
	u16 v;

	spin_lock_irqsave(&st->lock, flags);
	v = st->last_flags;
	spin_unlock_irqrestore(&st->lock, flags);
	return sysfs_emit(buf, "0x%04x\n", v);
}

/*
 * Latched flags: a frame with OVERLOAD or SENSOR_FAULT between two reads
 * of the buffer must not go unnoticed. Reading never clears: generic IIO
 * tools (libiio's iio_info, iio_attr) read every attribute and would take
 * the flags away from the process that owns the buffer. That process
 * clears what it has handled by writing it back (write-one-to-clear), so
 * a flag latched between its read and its write stays latched.
 */
static ssize_t status_flags_seen_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	struct strigil *st = strigil_from_dev(dev);
	unsigned long flags;
	u16 v;

	spin_lock_irqsave(&st->lock, flags);
	v = st->seen_flags;
	spin_unlock_irqrestore(&st->lock, flags);
	return sysfs_emit(buf, "0x%04x\n", v);
}

static ssize_t status_flags_seen_store(struct device *dev,
				       struct device_attribute *attr,
				       const char *buf, size_t len)
{
	struct strigil *st = strigil_from_dev(dev);
	unsigned long flags;
	u16 v;
	int ret;

	ret = kstrtou16(buf, 0, &v);
	if (ret)
		return ret;
	spin_lock_irqsave(&st->lock, flags);
	st->seen_flags &= ~v;
	spin_unlock_irqrestore(&st->lock, flags);
	return len;
}

static ssize_t alert_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct strigil *st = strigil_from_dev(dev);
	ssize_t ret;

	mutex_lock(&st->io_mutex);
	if (st->disconnected)
		ret = -ENODEV;
	else
		ret = sysfs_emit(buf, "%s\n", strigil_alerts[st->alert]);
	mutex_unlock(&st->io_mutex);
	return ret;
}

static ssize_t alert_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t len)
{
	struct strigil *st = strigil_from_dev(dev);
	int a, ret;

	a = sysfs_match_string(strigil_alerts, buf);
	if (a < 0)
		return -EINVAL;
	mutex_lock(&st->io_mutex);
	if (st->disconnected) {
		ret = -ENODEV;
	} else {
		ret = strigil_ctrl_out(st, STRIGIL_REQ_SET_ALERT, a, NULL, 0);
		if (!ret)
			st->alert = a;
	}
	mutex_unlock(&st->io_mutex);
	return ret ? ret : len;
}

static ssize_t calibration_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct strigil *st = strigil_from_dev(dev);
	ssize_t ret;

	mutex_lock(&st->io_mutex);
	if (st->disconnected) {
		ret = -ENODEV;
	} else {
		/* Binary: exactly the device's blob, valid or not. */
		memcpy(buf, &st->cal, sizeof(st->cal));
		ret = sizeof(st->cal);
	}
	mutex_unlock(&st->io_mutex);
	return ret;
}

static ssize_t calibration_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct strigil *st = strigil_from_dev(dev);
	struct strigil_calibration cal;
	int ret;

	if (len != sizeof(cal))
		return -EINVAL;
	memcpy(&cal, buf, sizeof(cal));

	mutex_lock(&st->io_mutex);
	if (st->disconnected) {
		ret = -ENODEV;
		goto out;
	}
	ret = strigil_check_cal(st, &cal);
	if (ret) {
		ret = -EINVAL;
		goto out;
	}
	ret = strigil_ctrl_out(st, STRIGIL_REQ_SET_CALIBRATION, 0, &cal,
			       sizeof(cal));
	if (ret)
		goto out;
	/* Read back what the device stored: that is the truth. */
	ret = strigil_read_cal(st);
	if (!ret && (!st->cal_valid || memcmp(&st->cal, &cal, sizeof(cal))))
		ret = -EIO;
out:
	mutex_unlock(&st->io_mutex);
	return ret ? ret : len;
}

static IIO_DEVICE_ATTR_RO(serial, 0);
static IIO_DEVICE_ATTR_RO(model, 0);
static IIO_DEVICE_ATTR_RO(model_id, 0);
static IIO_DEVICE_ATTR_RO(firmware, 0);
static IIO_DEVICE_ATTR_RO(channel_mask, 0);
static IIO_DEVICE_ATTR_RO(protocol_version, 0);
static IIO_DEVICE_ATTR_RO(full_scale, 0);
static IIO_DEVICE_ATTR_RO(lost_samples, 0);
static IIO_DEVICE_ATTR_RO(bad_frames, 0);
static IIO_DEVICE_ATTR_RO(frames, 0);
static IIO_DEVICE_ATTR_RO(samples, 0);
static IIO_DEVICE_ATTR_RO(urb_errors, 0);
static IIO_DEVICE_ATTR_RO(resyncs, 0);
static IIO_DEVICE_ATTR_RO(status_flags, 0);
static IIO_DEVICE_ATTR(status_flags_seen, 0644, status_flags_seen_show,
		       status_flags_seen_store, 0);
static IIO_DEVICE_ATTR(alert, 0644, alert_show, alert_store, 0);
static IIO_DEVICE_ATTR(calibration, 0600, calibration_show,
		       calibration_store, 0);

static struct attribute *strigil_attrs[] = {
	&iio_dev_attr_serial.dev_attr.attr,
	&iio_dev_attr_model.dev_attr.attr,
	&iio_dev_attr_model_id.dev_attr.attr,
	&iio_dev_attr_firmware.dev_attr.attr,
	&iio_dev_attr_channel_mask.dev_attr.attr,
	&iio_dev_attr_protocol_version.dev_attr.attr,
	&iio_dev_attr_full_scale.dev_attr.attr,
	&iio_dev_attr_lost_samples.dev_attr.attr,
	&iio_dev_attr_bad_frames.dev_attr.attr,
	&iio_dev_attr_frames.dev_attr.attr,
	&iio_dev_attr_samples.dev_attr.attr,
	&iio_dev_attr_urb_errors.dev_attr.attr,
	&iio_dev_attr_resyncs.dev_attr.attr,
	&iio_dev_attr_status_flags.dev_attr.attr,
	&iio_dev_attr_status_flags_seen.dev_attr.attr,
	&iio_dev_attr_alert.dev_attr.attr,
	&iio_dev_attr_calibration.dev_attr.attr,
	NULL
};

static const struct attribute_group strigil_attr_group = {
	.attrs = strigil_attrs,
};

static const struct iio_info strigil_iio_info = {
	.read_raw = strigil_read_raw,
	.write_raw = strigil_write_raw,
	.write_raw_get_fmt = strigil_write_raw_get_fmt,
	.read_avail = strigil_read_avail,
	.read_label = strigil_read_label,
	.attrs = &strigil_attr_group,
};

/* ---- probe / disconnect ------------------------------------------------- */

static void strigil_put_udev(void *data)
{
	usb_put_dev(data);
}

static void strigil_free_urbs(void *data)
{
	struct strigil *st = data;
	int i;

	for (i = 0; i < STRIGIL_NUM_URBS; i++) {
		struct urb *urb = st->urbs[i];

		if (!urb)
			continue;
		usb_free_coherent(st->udev, urb->transfer_buffer_length,
				  urb->transfer_buffer, urb->transfer_dma);
		usb_free_urb(urb);
	}
}

static int strigil_alloc_urbs(struct strigil *st)
{
	unsigned int pipe = usb_rcvintpipe(st->udev, st->ep_addr);
	int i;

	for (i = 0; i < STRIGIL_NUM_URBS; i++) {
		struct urb *urb = usb_alloc_urb(0, GFP_KERNEL);
		void *buf;

		if (!urb)
			return -ENOMEM;
		buf = usb_alloc_coherent(st->udev, st->maxp, GFP_KERNEL,
					 &urb->transfer_dma);
		if (!buf) {
			usb_free_urb(urb);
			return -ENOMEM;
		}
		usb_fill_int_urb(urb, st->udev, pipe, buf, st->maxp,
				 strigil_urb_complete, st, st->interval);
		urb->transfer_flags |= URB_NO_TRANSFER_DMA_MAP;
		st->urbs[i] = urb;
	}
	return 0;
}

static void strigil_setup_channels(struct strigil *st)
{
	struct iio_chan_spec *chan;
	int ch, si = 0;

	for (ch = 0; ch < STRIGIL_MAX_CHANNELS; ch++) {
		if (!(st->channel_mask & STRIGIL_CH_BIT(ch)))
			continue;
		chan = &st->channels[si];
		chan->type = IIO_VOLTAGE;
		chan->indexed = 1;
		chan->channel = ch;
		chan->info_mask_separate = BIT(IIO_CHAN_INFO_SCALE) |
					   BIT(IIO_CHAN_INFO_OFFSET);
		chan->info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ);
		chan->info_mask_shared_by_all_available =
			BIT(IIO_CHAN_INFO_SAMP_FREQ);
		chan->scan_index = si;
		chan->scan_type.sign = 's';
		chan->scan_type.realbits = 32;
		chan->scan_type.storagebits = 32;
		chan->scan_type.endianness = IIO_CPU;
		si++;
	}
	chan = &st->channels[si];
	chan->type = IIO_TIMESTAMP;
	chan->channel = -1;
	chan->scan_index = si;
	chan->scan_type.sign = 's';
	chan->scan_type.realbits = 64;
	chan->scan_type.storagebits = 64;

	/* The device always sends every channel: the core demuxes subsets. */
	st->scan_masks[0] = GENMASK(si - 1, 0);
	st->scan_masks[1] = 0;
}

static int strigil_probe(struct usb_interface *intf,
			 const struct usb_device_id *id)
{
	struct device *dev = &intf->dev;
	struct usb_endpoint_descriptor *ep;
	struct strigil_info info;
	struct iio_dev *indio_dev;
	struct strigil *st;
	int ret;

	ret = usb_find_int_in_endpoint(intf->cur_altsetting, &ep);
	if (ret) {
		dev_err(dev, "no interrupt IN endpoint\n");
		return ret;
	}
	if (usb_endpoint_maxp(ep) < STRIGIL_MIN_PACKET ||
	    usb_endpoint_maxp(ep) > STRIGIL_FRAME_MAX_SIZE) {
		dev_err(dev, "bad wMaxPacketSize %u\n", usb_endpoint_maxp(ep));
		return -ENODEV;
	}

	indio_dev = devm_iio_device_alloc(dev, sizeof(*st));
	if (!indio_dev)
		return -ENOMEM;
	st = iio_priv(indio_dev);
	st->indio_dev = indio_dev;
	st->intf = intf;
	st->udev = usb_get_dev(interface_to_usbdev(intf));
	ret = devm_add_action_or_reset(dev, strigil_put_udev, st->udev);
	if (ret)
		return ret;
	st->ifnum = intf->cur_altsetting->desc.bInterfaceNumber;
	st->ep_addr = ep->bEndpointAddress;
	st->maxp = usb_endpoint_maxp(ep);
	st->interval = ep->bInterval;
	mutex_init(&st->io_mutex);
	spin_lock_init(&st->lock);
	init_usb_anchor(&st->anchor);

	ret = strigil_ctrl_in(st, STRIGIL_REQ_GET_INFO, 0, &info, sizeof(info));
	if (ret) {
		dev_err(dev, "GET_INFO failed: %d\n", ret);
		return ret;
	}
	ret = strigil_parse_info(st, &info);
	if (ret)
		return ret;
	ret = strigil_read_cal(st);
	if (ret) {
		dev_err(dev, "GET_CALIBRATION failed: %d\n", ret);
		return ret;
	}

	ret = devm_add_action(dev, strigil_free_urbs, st);
	if (ret)
		return ret;
	ret = strigil_alloc_urbs(st);
	if (ret)
		return ret;

	strigil_setup_channels(st);
	indio_dev->name = "strigil";
	indio_dev->info = &strigil_iio_info;
	indio_dev->channels = st->channels;
	indio_dev->num_channels = st->nch + 1;
	indio_dev->available_scan_masks = st->scan_masks;
	indio_dev->modes = INDIO_DIRECT_MODE;

	ret = devm_iio_kfifo_buffer_setup(dev, indio_dev, &strigil_buffer_ops);
	if (ret)
		return ret;

	usb_set_intfdata(intf, st);
	ret = iio_device_register(indio_dev);
	if (ret) {
		usb_set_intfdata(intf, NULL);
		return ret;
	}
	dev_info(dev, "%s %s (firmware %u.%u.%u), %u channel(s), %d Hz\n",
		 st->model, st->serial, st->fw_major, st->fw_minor,
		 st->fw_patch, st->nch, st->rate);
	return 0;
}

static void strigil_disconnect(struct usb_interface *intf)
{
	struct strigil *st = usb_get_intfdata(intf);
	struct iio_dev *indio_dev = st->indio_dev;
	bool was_streaming;

	/* From here every entry point fails with -ENODEV. */
	mutex_lock(&st->io_mutex);
	st->disconnected = true;
	mutex_unlock(&st->io_mutex);

	/*
	 * Why the buffer goes off before unregistering, and why a pause
	 * remains (no order of ours closes this; it is the 6.1 IIO core's):
	 *
	 * iio_buffer_read() -> iio_buffer_ready() tests indio_dev->info for
	 * NULL, then, if the buffer is active and holds fewer scans than
	 * asked for, calls iio_buffer_flush_hwfifo(), which dereferences
	 * indio_dev->info again. No lock covers the two: the reader holds
	 * nothing that iio_device_unregister() takes (info_exist_lock is
	 * taken by the ioctl and sysfs paths, not by read), and unregister
	 * sets info to NULL. A reader preempted between the test and the
	 * dereference while unregister runs is a NULL dereference (seen under
	 * plug/unplug stress in QEMU before this order).
	 *
	 * - Unregistering first (usb-skeleton's order) NULLs info with the
	 *   buffer still active: every reader short of data is in the window.
	 * - Deactivating first (iio_update_buffers() removes the buffer from
	 *   the active list, under the core's mlock) sends every reader that
	 *   tests it afterwards down the drain path (to_flush = 0), which
	 *   never touches info. Left: a reader that saw the buffer active
	 *   just before and has not reached the dereference yet.
	 * - Nothing the driver can take or wait on marks that reader: it runs
	 *   only core code (no driver callback: we have no
	 *   hwfifo_flush_to_buffer, and looking it up is the dereference),
	 *   and the one lock it passes through (the kfifo's user_lock, in
	 *   data_available) is private to kfifo_buf.c and released before
	 *   the dereference.
	 *
	 * So the pause is a bound on that last window, not a proof: a reader
	 * would have to be descheduled for 20 ms within those few
	 * statements. tests/vm's plug-cycles-streaming unplugs under a
	 * reader (200 cycles in make check, PLUG_CYCLES=1000 for the stress
	 * run). The fix belongs in the core: take info_exist_lock around the
	 * flush, or test info inside iio_buffer_flush_hwfifo().
	 */
	was_streaming = iio_buffer_enabled(indio_dev);
	if (was_streaming) {
		iio_update_buffers(indio_dev, NULL, indio_dev->buffer);
		msleep(20);
	}

	/* Unregister: wakes blocked readers, who then get -ENODEV. */
	iio_device_unregister(indio_dev);

	/* Kill whatever is still in flight (nothing, normally). */
	strigil_stop_urbs(st);

	/* A live device (driver unbind) is told to stop; best effort. */
	if (was_streaming && interface_to_usbdev(intf)->state !=
			     USB_STATE_NOTATTACHED)
		strigil_ctrl_out(st, STRIGIL_REQ_STOP, 0, NULL, 0);

	usb_set_intfdata(intf, NULL);
	/* devm releases URBs, the usb_device reference and the IIO device. */
}

static const struct usb_device_id strigil_table[] = {
	{ USB_DEVICE_AND_INTERFACE_INFO(STRIGIL_USB_VID, STRIGIL_USB_PID,
					STRIGIL_USB_CLASS,
					STRIGIL_USB_SUBCLASS,
					STRIGIL_USB_PROTOCOL) },
	{ }
};
MODULE_DEVICE_TABLE(usb, strigil_table);

static struct usb_driver strigil_driver = {
	.name = "strigil",
	.probe = strigil_probe,
	.disconnect = strigil_disconnect,
	.id_table = strigil_table,
};
module_usb_driver(strigil_driver);

MODULE_AUTHOR("Strigil project");
MODULE_DESCRIPTION("Strigil IASTM force instrument (USB, IIO)");
MODULE_LICENSE("GPL");
