/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libstrigil: frame decoding, calibration maths, stroke and limit engines,
 * simulator, CSV traces and device sources. No D-Bus, no policy.
 *
 * This header is the contract between lib/ and its users (daemon/, tools/,
 * tests/). Changes are additive. Functions return 0 or a positive count on
 * success and a negative errno on failure unless said otherwise.
 *
 * Units: newtons, seconds (tilt: degrees).
 */
#ifndef STRIGIL_LIB_H
#define STRIGIL_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <strigil/protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SG_VERSION_STRING "0.1.0"

/* ======================================================================
 * Frame decoder (allocation-free, never trusts device data)
 * ==================================================================== */

enum sg_frame_error {
	SG_FRAME_OK = 0,
	SG_FRAME_SHORT,		/* shorter than the header */
	SG_FRAME_TYPE,		/* unknown frame type */
	SG_FRAME_VERSION,	/* unsupported frame version */
	SG_FRAME_CHANNELS,	/* channel_mask differs from the device's */
	SG_FRAME_COUNT,		/* sample_count 0 or above the maximum */
	SG_FRAME_LENGTH,	/* length != header + samples */
	SG_FRAME_STALE,		/* sequence number older than the last one */
};

const char *sg_frame_error_str(enum sg_frame_error e);

struct sg_block {
	uint32_t seq;
	uint32_t t0_us;			/* device time of raw[0] */
	uint16_t flags;			/* STRIGIL_STATUS_* */
	uint8_t channel_mask;
	uint8_t nchannels;
	uint8_t nsamples;
	uint32_t lost_before;		/* samples lost since previous frame */
	int32_t raw[STRIGIL_MAX_SAMPLES_ANY][STRIGIL_MAX_CHANNELS];
	/* raw[i][k]: k-th channel present in channel_mask (ascending order) */
};

struct sg_decoder {
	uint8_t channel_mask;
	uint8_t nchannels;
	bool have_seq;
	uint32_t next_seq;
	uint8_t last_count;		/* samples per frame seen last (gap estimate) */
	uint64_t frames_ok;
	uint64_t frames_bad;
	uint64_t samples_ok;
	uint64_t samples_lost;
	uint64_t frames_stale;		/* of frames_bad: SG_FRAME_STALE */
	uint64_t resyncs;		/* sequence jumps accepted, loss unknown */
};

/*
 * Sequence rule (serial number arithmetic on 32 bits, see lib/frame.c and
 * docs/protocol.md): a frame up to SG_SEQ_MAX_GAP ahead of the expected
 * seq counts the frames in between as lost (lost_before = gap * samples per
 * frame of the previous frame); up to SG_SEQ_STALE_WINDOW behind is stale
 * and dropped; any other jump (device restart) is accepted as a resync.
 */
#define SG_SEQ_MAX_GAP		STRIGIL_SEQ_MAX_GAP	/* <strigil/protocol.h> */
#define SG_SEQ_STALE_WINDOW	STRIGIL_SEQ_STALE_WINDOW

void sg_decoder_init(struct sg_decoder *d, uint8_t channel_mask);
/* Returns SG_FRAME_OK and fills *out, or an error (counted, *out untouched). */
enum sg_frame_error sg_decode_frame(struct sg_decoder *d, const void *buf,
				    size_t len, struct sg_block *out);
unsigned sg_popcount8(uint8_t mask);
/* The whole of s is one finite number (strtod syntax): true and *v set,
 * else false (empty, trailing text, overflow, inf, nan). */
bool sg_parse_number(const char *s, double *v);
/* A channel mask a device may have: NORMAL set, nothing above STRIGIL_CH_TILT. */
bool sg_channel_mask_valid(uint8_t mask);

/* Encoding, for the emulator and tests. Returns the frame length or -EINVAL. */
int sg_encode_frame(void *buf, size_t buflen, uint32_t seq, uint32_t t0_us,
		    uint16_t flags, uint8_t channel_mask,
		    const int32_t (*raw)[STRIGIL_MAX_CHANNELS], unsigned nsamples);

/* ======================================================================
 * Calibration
 * ==================================================================== */

struct sg_calibration {
	uint8_t channel_mask;
	double offset[STRIGIL_MAX_CHANNELS];	/* raw counts at zero */
	double scale[STRIGIL_MAX_CHANNELS];	/* units per count */
	int64_t cal_date;			/* unix s, 0 = never */
	int64_t due_date;			/* unix s */
	char technician[17];
};

uint32_t sg_crc32(const void *buf, size_t len);	/* zlib crc32 */
/* -EBADMSG on bad CRC, -EPROTO on bad version/size/mask/scale. */
int sg_calibration_from_wire(const struct strigil_calibration *w,
			     struct sg_calibration *c);
/* -EINVAL if a value does not fit the wire format. Fills crc32. */
int sg_calibration_to_wire(const struct sg_calibration *c,
			   struct strigil_calibration *w);
static inline double sg_calibration_apply(const struct sg_calibration *c,
					  unsigned ch, int32_t raw)
{
	return ((double)raw - c->offset[ch]) * c->scale[ch];
}

struct sg_fit_point {
	double raw;		/* mean raw counts at this load */
	double load;		/* reference load in N (mass * g) */
};

#define SG_FIT_MAX_POINTS 32

struct sg_fit {
	double scale;			/* N per count */
	double offset;			/* counts at zero load */
	double linearity_pct;		/* max |residual| / span * 100 */
	double max_residual;		/* N */
	double rms_residual;		/* N */
	double r2;
	size_t npoints;
	double residual[SG_FIT_MAX_POINTS];	/* N, per point */
};

#define SG_STANDARD_GRAVITY 9.80665
/* Least squares; needs >= 2 distinct loads. -EINVAL, -EDOM (degenerate). */
int sg_calibration_fit(const struct sg_fit_point *pts, size_t n,
		       struct sg_fit *fit);

/* ======================================================================
 * Samples, strokes, limits
 * ==================================================================== */

#define SG_HAS_SHEAR	0x1
#define SG_HAS_TILT	0x2

struct sg_sample {
	double t_s;		/* host or trace time; NaN = unknown (use rate) */
	double force_n;		/* calibrated normal force */
	double shear_x_n;
	double shear_y_n;
	double tilt_deg;
	uint8_t has;		/* SG_HAS_* */
};

struct sg_stroke {
	uint32_t index;			/* 1-based within the engine's life */
	double start_s, end_s, duration_s;
	double peak_n, mean_n;
	double impulse_ns;		/* integral of force over the stroke */
	double above_limit_s;		/* time above the active limit */
	double limit_n;			/* active limit when the stroke ended */
	uint8_t has;			/* SG_HAS_* of the fields below */
	double peak_shear_n;		/* max |shear| */
	double mean_tilt_deg;
	double direction_deg;		/* atan2(mean shear y, mean shear x) */
	/* Additions: strokes inside bursts (docs/engine.md). */
	uint32_t burst;			/* 1-based burst (continuous contact) */
	uint32_t pass;			/* 1-based stroke within its burst */
	uint8_t end;			/* enum sg_stroke_end */
};

/* Why a stroke ended: the tool left the skin (the end of a burst), or the
 * blade turned round inside a burst (shear models only). */
enum sg_stroke_end {
	SG_END_LIFT = 0,
	SG_END_REVERSAL = 1,
};

const char *sg_stroke_end_str(enum sg_stroke_end end);	/* "lift", "reversal" */

/* A burst: one period of continuous contact (the contact hysteresis) and
 * the strokes (passes) inside it; reported when the contact ends. */
struct sg_burst {
	uint32_t index;			/* 1-based within the engine's life */
	uint32_t passes;		/* strokes in it (>= 1) */
	double start_s, end_s, duration_s;	/* as a stroke's times */
	double peak_n;			/* maximum of its strokes' peaks */
};

/*
 * Stroke engine parameters; docs/engine.md derives each default. Forces are
 * relative to the tracked baseline (the unloaded reading).
 */
struct sg_stroke_config {
	double contact_on_n;	/* 0.5: contact begins at or above this */
	double contact_off_n;	/* 0.3: contact ends below this */
	double min_stroke_s;	/* 0.150: shorter contacts are not strokes */
	double merge_gap_s;	/* 0.060: shorter dips do not split */
	double lowpass_hz;	/* 60: one-pole low-pass cut-off (any rate) */
	double nominal_rate_hz;	/* 1000: used when timestamps are missing */
	/* Additions (0 in a zeroed struct means "default"). */
	double baseline_tau_s;	/* 2.0: zero tracking time constant, unloaded */
	double tare_s;		/* 0.100: averaging time of sg_engine_tare() */
	double mains_hz;	/* 0: off; 50 or 60: notch the mains hum
				 * (Q 5, +0.6 ms delay, needs rate >= 4 x
				 * mains; see docs/engine.md) */
	/* Additions: strokes split where the blade turns round inside a burst
	 * (samples with shear only; docs/engine.md derives the defaults). */
	double reversal_ratio;	/* 0.05: shear along the stroke against it,
				 * per newton of normal force, that counts as
				 * reversed (oil: friction 0.1-0.35) */
	double reversal_confirm_s; /* 0.040: reversed this long to split */
	double reversal_min_n;	/* 1.0: normal force below which the shear's
				 * direction is not judged (>= contact_on_n) */
	double direction_tau_s;	/* 0.100: the stroke's direction follows its
				 * shear with this time constant (fanning) */
	bool contact_only;	/* true: never split at reversals (a stroke is
				 * a burst, as on models without shear) */
};

void sg_stroke_config_default(struct sg_stroke_config *c);
/* -EINVAL if a field is out of range (see docs/engine.md), else 0.
 * sg_engine_init() replaces out-of-range fields by their defaults. */
int sg_stroke_config_check(const struct sg_stroke_config *c);

struct sg_limit_config {
	double limit_n;		/* active cap; <= 0 or NaN disables */
	double warn_fraction;	/* 0.9 */
	double sustain_s;	/* 0.010 */
	uint32_t max_strokes;	/* session cap, 0 = none */
	double max_load_s;	/* session cap on seconds under load, 0 = none */
};

void sg_limit_config_default(struct sg_limit_config *c);
/* -EINVAL if warn_fraction is not in (0, 1], sustain_s not in [0, 1] s or
 * max_load_s negative/NaN, else 0. A disabled cap (<= 0 or NaN) is valid. */
int sg_limit_config_check(const struct sg_limit_config *c);

enum sg_event_type {
	SG_EV_STROKE = 1,	/* .stroke */
	SG_EV_WARNING,		/* .t_s .force_n .limit_n */
	SG_EV_EXCEEDED,		/* .t_s .force_n .limit_n */
	SG_EV_CAP_STROKES,	/* max_strokes reached */
	SG_EV_CAP_TIME,		/* max_load_s reached */
	SG_EV_CONTACT,		/* contact begins (for UIs) */
	SG_EV_RELEASE,		/* contact ends */
	SG_EV_BURST,		/* .burst: a burst with strokes ended (just
				 * before its SG_EV_RELEASE) */
};

const char *sg_event_type_str(enum sg_event_type t);

struct sg_event {
	enum sg_event_type type;
	double t_s;
	double force_n;
	double limit_n;
	struct sg_stroke stroke;
	struct sg_burst burst;		/* addition: SG_EV_BURST */
};

#define SG_MAX_EVENTS_PER_SAMPLE 8

/*
 * The engine: stroke detection and limit checking fed by one stream of
 * calibrated samples. O(1) per sample, no allocation, fixed size.
 * The internals below are private to lib/engine.c.
 */
struct sg_engine;
size_t sg_engine_size(void);
void sg_engine_init(struct sg_engine *e, const struct sg_stroke_config *sc,
		    const struct sg_limit_config *lc);
/* Changes the active cap (e.g. region change); takes effect with the next
 * sample. A different cap re-arms the warning/exceeded of the current
 * stroke; a changed session cap re-arms its event. Out-of-range fields are
 * replaced by defaults (check with sg_limit_config_check() first). */
void sg_engine_set_limit(struct sg_engine *e, const struct sg_limit_config *lc);
/* Re-zero: the next tare_s of samples define the unloaded baseline. A
 * stroke in progress is abandoned (no events); no events while taring. */
void sg_engine_tare(struct sg_engine *e);
/* Feeds one sample; returns the number of events written to ev[] (<= max).
 * Pass max = SG_MAX_EVENTS_PER_SAMPLE: events beyond max are lost. A sample
 * with a non-finite force is ignored (returns 0); shear/tilt that are not
 * finite are ignored for that sample. */
int sg_engine_feed(struct sg_engine *e, const struct sg_sample *s,
		   struct sg_event *ev, int max);
/* Marks a gap of n lost samples (so filters and timing stay honest); with
 * timestamps the engine also infers gaps itself (never counted twice). */
void sg_engine_gap(struct sg_engine *e, uint64_t nlost);
/* End of input: closes a stroke in progress if it is long enough. */
int sg_engine_flush(struct sg_engine *e, struct sg_event *ev, int max);

/* Live views. */
double sg_engine_force(const struct sg_engine *e);	/* filtered, baseline removed */
bool sg_engine_in_contact(const struct sg_engine *e);
double sg_engine_stroke_rate(const struct sg_engine *e); /* strokes/min, rolling */
uint32_t sg_engine_strokes(const struct sg_engine *e);
uint32_t sg_engine_bursts(const struct sg_engine *e);	/* bursts with strokes */
double sg_engine_load_seconds(const struct sg_engine *e);

/* Total signal delay of the filter chain (s): reported stroke times are
 * corrected by it; alarms are raised this much after the force moved. */
double sg_engine_delay(const struct sg_engine *e);
/* Baseline (unloaded reading, N) currently subtracted from the force. */
double sg_engine_baseline(const struct sg_engine *e);
/* Samples the engine inferred as lost (timestamp jumps + sg_engine_gap). */
uint64_t sg_engine_lost(const struct sg_engine *e);

/* Convenience: heap engine for non hot-path users. */
struct sg_engine *sg_engine_new(const struct sg_stroke_config *sc,
				const struct sg_limit_config *lc);
void sg_engine_free(struct sg_engine *e);

/* ======================================================================
 * CSV traces: header with t_s,force_n (+ shear_x_n,shear_y_n,tilt_deg)
 * ==================================================================== */

/*
 * Format (docs/trace-format.md): a header line naming the columns, in any
 * order: t_s and force_n required; shear_x_n with shear_y_n, and tilt_deg
 * optional. Duplicate known columns are errors; unknown (or unnamed)
 * columns are ignored and listed by sg_csv_ignored(). Every row has the
 * header's field count (trailing empty fields and missing trailing ignored
 * columns excepted); values are finite numbers; t_s never decreases (equal
 * times are allowed). A UTF-8 BOM, RFC 4180 quoting within a line, blanks
 * around fields, LF or CRLF are accepted; blank lines and lines starting
 * with '#' are skipped. Lines are at most 4095 bytes.
 */
struct sg_csv_reader;
/*
 * Opens and reads the header. NULL on error with "file:line: message" (or
 * "file: strerror") in err and errno set (EINVAL for format errors).
 * sg_csv_next() returns -EINVAL (format) or -EIO (read error); errors are
 * sticky. Allocation happens only here.
 */
struct sg_csv_reader *sg_csv_open(const char *path, char *err, size_t errlen);
/* 1 = sample read, 0 = end of file, <0 = error (message in err). */
int sg_csv_next(struct sg_csv_reader *r, struct sg_sample *s, char *err,
		size_t errlen);
void sg_csv_close(struct sg_csv_reader *r);
/* Parses from memory (fuzzing, tests); name is used in messages. */
struct sg_csv_reader *sg_csv_open_mem(const char *name, const char *data,
				      size_t len, char *err, size_t errlen);

/* SG_HAS_* of the columns the header named. */
uint8_t sg_csv_columns(const struct sg_csv_reader *r);
/* The header's ignored columns as "'name', 'name2'" for one warning to the
 * user, or NULL if there are none. Valid until sg_csv_close(). */
const char *sg_csv_ignored(const struct sg_csv_reader *r);
/* Physical line number of the last line read (1-based). */
unsigned long sg_csv_line(const struct sg_csv_reader *r);

/* 0, -EINVAL (bad argument, non-finite value) or -EIO. A sample writes the
 * columns its .has names: keep them equal to the header's. */
int sg_csv_write_header(FILE *f, uint8_t has);
int sg_csv_write_sample(FILE *f, const struct sg_sample *s);

/* ======================================================================
 * Simulator: realistic synthetic signals with ground truth
 * ==================================================================== */

/*
 * A scripted session: segments played in order (tests, the daemon's demo,
 * the USB emulator). Fields left 0 in a stroke are drawn from the seed.
 * Text form for sg_sim_script_parse(), ';' or newline separated:
 *   rest SECONDS
 *   stroke PEAK_N SECONDS [rise=FRAC] [plateau=FRAC] [dip=FRAC[:SECONDS]]
 */
enum sg_sim_segment_type {
	SG_SIM_REST = 0,
	SG_SIM_STROKE = 1,
};

struct sg_sim_segment {
	enum sg_sim_segment_type type;
	double duration_s;		/* > 0 */
	double peak_n;			/* stroke: envelope peak */
	double rise_frac;		/* 0: drawn in 0.20..0.45 */
	double plateau_frac;		/* < 0: drawn in 0..0.35; 0: none */
	double dip_at_frac;		/* 0: no dip; else dip centre in (0, 1) */
	double dip_s;			/* dip length, 0: drawn in 0.010..0.035 */
};

#define SG_SIM_MAX_SEGMENTS 256

struct sg_sim_config {
	uint64_t seed;
	double rate_hz;			/* 100..2000 */
	double duration_s;		/* <= 0: endless (daemon) */
	double stroke_rate_hz;		/* 0.25..1 */
	double stroke_duty;		/* fraction of a cycle in contact */
	double peak_mean_n;		/* 2.6..14 N typical */
	double peak_sd_n;
	double noise_n;			/* white noise RMS */
	double hum_n;			/* mains hum amplitude */
	double hum_hz;			/* 50 or 60 */
	double drift_n_per_s;		/* baseline drift: largest slope of a
					 * 600 s wander (bounded when endless) */
	double spike_rate_hz;		/* single-sample spikes */
	double spike_n;
	double drop_prob;		/* probability a run of 1..12 samples
					 * (a lost USB frame) starts here */
	double dip_prob;		/* probability of a strum-like dip */
	double jitter_s;		/* timestamp jitter, uniform +- */
	double over_prob;		/* probability a stroke exceeds over_n */
	double over_n;			/* peak used for deliberate violations */
	uint8_t has;			/* SG_HAS_* extra channels */
	/* Additions. */
	bool nan_time;			/* emit t_s = NaN (time unknown) */
	const struct sg_sim_segment *script;	/* NULL: random strokes */
	size_t nscript;			/* <= SG_SIM_MAX_SEGMENTS, copied */
	bool script_loop;		/* repeat the script (else play once) */
	/* Additions: bursts, passes back and forth without lifting the tool
	 * (random sessions with SG_HAS_SHEAR only; 0 = the default noted). */
	double burst_prob;		/* probability a contact is a burst */
	unsigned burst_min, burst_max;	/* passes per burst: 3..8 */
	double pass_min_s, pass_max_s;	/* pass duration: 0.3..0.9 s */
	double valley_min, valley_max;	/* fraction of the lower neighbouring
					 * peak lost at a turnaround: 0.15..0.95 */
	double turn_min_s, turn_max_s;	/* friction flip time constant at a
					 * turnaround (velocity through 0):
					 * 0.004..0.025 s */
	double mu_min, mu_max;		/* friction coefficient: 0.15..0.40 */
	double fan_deg_s;		/* fanning: the direction of travel of a
					 * stroke rotates at up to this rate */
	double zig_deg;			/* a turnaround reverses the direction
					 * within +-zig_deg (zig-zag) */
	double shear_offset_n;		/* shear zero offset (size, any angle) */
	double shear_drift_n_per_s;	/* shear zero wander, largest slope */
};

void sg_sim_config_default(struct sg_sim_config *c);
/* -EINVAL if a field is out of range (message in err), else 0. */
int sg_sim_config_check(const struct sg_sim_config *c, char *err,
			size_t errlen);
/* Parses the text form above into seg[max]; returns the count or -EINVAL
 * with a message naming the segment in err. */
int sg_sim_script_parse(const char *text, struct sg_sim_segment *seg,
			size_t max, char *err, size_t errlen);

/*
 * Ground truth of one stroke: the clean (noise-, hum-, drift-, spike-free)
 * normal force is envelope(t) * (1 + tremor) * (1 - dip(t)) on
 * [start_s, end_s] and 0 elsewhere; sg_sim_truth_force() evaluates it.
 */
struct sg_sim_truth {
	double start_s, end_s, peak_n;	/* peak_n: max of the clean force */
	double above_s;		/* longest run of the clean force at or above
				 * over_n (0 if over_n <= 0) */
	/* Additions: the shape, so any limit can be judged afterwards. */
	double envelope_n;		/* envelope peak */
	double rise_s, plateau_s;	/* fall = the rest of the stroke */
	double tremor, tremor_hz, tremor_phase;	/* relative amplitude */
	double dip_at_s, dip_s, dip_depth;	/* dip_s 0: no dip */
	bool over;			/* drawn as a deliberate violation */
	uint8_t has;			/* SG_HAS_* of the fields below */
	double shear_mu;		/* |shear| = mu * force */
	double direction_deg;		/* shear direction */
	double peak_shear_n;
	double mean_tilt_deg;
	/* Additions: bursts. A stroke is one pass of a burst; a stroke that is
	 * not part of a multi-pass burst is a burst of one pass. */
	uint32_t burst;			/* 1-based burst index */
	uint32_t pass;			/* 1-based pass within the burst */
	uint32_t passes;		/* passes in the burst */
	uint8_t end;			/* enum sg_stroke_end: lift or reversal */
	double left_n, right_n;		/* clean force at its start / end (the
					 * valleys at turnarounds; 0 at a lift) */
	double turn_in_s, turn_out_s;	/* friction flip time constants at its
					 * start / end (0: no turnaround) */
	double direction0_deg;		/* shear direction at its start */
	double fan_deg_s;		/* and its rotation rate */
};

/* Clean force of the stroke at time t (0 outside). */
double sg_sim_truth_force(const struct sg_sim_truth *t, double time_s);
/* Clean shear of the stroke at time t (0 outside), N. */
void sg_sim_truth_shear(const struct sg_sim_truth *t, double time_s,
			double *sx, double *sy);
/* Longest run (s) of the clean force at or above level; *first (if not
 * NULL) gets the time it first reaches the level (NaN if never). */
double sg_sim_truth_run_above(const struct sg_sim_truth *t, double level,
			      double *first);

/* Start of the first run of the clean force at or above level that lasts
 * at least min_s (NaN if none): where an ideal alarm's timer starts. */
double sg_sim_truth_first_run(const struct sg_sim_truth *t, double level,
			      double min_s);

/*
 * Whether a stroke violates limit L (docs/engine.md): with m = SG_SIM_MARGIN,
 *   VIOLATION  the clean force stays >= (1 + m) L for >= 2 * sustain_s
 *   SAFE       the clean force never stays >= (1 - m) L for sustain_s / 2
 *   AMBIGUOUS  otherwise (an engine may alarm or not)
 */
#define SG_SIM_MARGIN 0.05
enum sg_sim_verdict {
	SG_SIM_SAFE = 0,
	SG_SIM_AMBIGUOUS = 1,
	SG_SIM_VIOLATION = 2,
};
enum sg_sim_verdict sg_sim_truth_verdict(const struct sg_sim_truth *t,
					 double limit_n, double sustain_s);

struct sg_sim;
/* NULL with errno = EINVAL on a bad config, ENOMEM. */
struct sg_sim *sg_sim_new(const struct sg_sim_config *c);
void sg_sim_free(struct sg_sim *s);
/* 1 = sample, 0 = end; a dropped sample is skipped (t_s jumps). */
int sg_sim_next(struct sg_sim *s, struct sg_sample *out);
/* Ground truth of strokes begun so far (in endless mode only the latest
 * ones are kept). The pointer is valid until the next sg_sim_next(). */
const struct sg_sim_truth *sg_sim_truth(const struct sg_sim *s, size_t *n);
/* Clean force at the last sample (for plots and tests). */
double sg_sim_clean_force(const struct sg_sim *s);
/* Samples dropped so far. */
uint64_t sg_sim_dropped(const struct sg_sim *s);

/* ======================================================================
 * Device sources (raw counts). Info is common to every backend.
 * ==================================================================== */

struct sg_device_info {
	char serial[17];
	char model[17];
	char firmware[24];		/* "1.2.3" */
	uint8_t model_id;
	uint8_t channel_mask;
	uint16_t proto_version;
	uint16_t default_rate_hz;
	uint16_t rates_hz[STRIGIL_MAX_RATES];
	unsigned nrates;
	int32_t full_scale[STRIGIL_MAX_CHANNELS];
};

/* Validates and converts a GET_INFO answer (-EPROTO on nonsense). */
int sg_device_info_from_wire(const void *buf, size_t len,
			     struct sg_device_info *info);

typedef void (*sg_block_fn)(void *userdata, const struct sg_block *blk);

#ifdef __cplusplus
}
#endif

#endif /* STRIGIL_LIB_H */
