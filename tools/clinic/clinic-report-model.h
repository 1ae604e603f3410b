/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A session report as text lines (pure: no GTK, no bus). The History
 * screen fills struct clinic_report from the daemon's records; the lines
 * are laid out into a PDF or onto a printer by clinic-report.c. Unit-tested:
 * every region, the patient reference and every violation must be there.
 */
#ifndef CLINIC_REPORT_MODEL_H
#define CLINIC_REPORT_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct clinic_report_stroke {
	uint32_t index;
	double start_s, duration_s, peak_n, mean_n, cap_n;
	char region[96];
	/* Bursts (the stroke dict's "burst"; 0: not recorded by the service):
	 * pass and passes from clinic_report_number_passes(). */
	uint32_t burst, pass, passes;
};

/* Session.GetBursts(): one period of continuous contact and its passes. */
struct clinic_report_burst {
	uint32_t index, passes;
	double start_s, duration_s, peak_n;
};

struct clinic_report_event {
	char kind[24];		/* warning, exceeded, cap_strokes, cap_time */
	double t_s, force_n, limit_n;
	char region[96];
};

struct clinic_report_pause {
	double start_s, end_s;
	char reason[64];
};

struct clinic_report_region {
	char region[96];	/* "calf:left" */
	double cap_n;
	char reasons[512];	/* "profile max 12 N; region calf cap 10 N; ..." */
	uint32_t strokes, over;
	double peak_n;
};

enum clinic_report_line_kind {
	CLINIC_LINE_TITLE,
	CLINIC_LINE_HEADING,
	CLINIC_LINE_TEXT,
	CLINIC_LINE_ALERT,	/* violations, flags: printed in bold */
};

struct clinic_report_line {
	enum clinic_report_line_kind kind;
	char text[640];
};

struct clinic_report {
	char patient_ref[96], display_name[160], clinician[160];
	char instrument[160], calibration[256];
	char state[32], flags[160], override_reason[300];
	uint64_t started_us, ended_us, printed_us;
	uint64_t session_id;
	uint32_t stroke_count, violation_count, warning_count;
	double seconds_under_load, peak_n;
	uint64_t lost_samples;

	struct clinic_report_stroke *strokes;
	size_t nstrokes;
	struct clinic_report_event *events;
	size_t nevents;
	struct clinic_report_pause *pauses;
	size_t npauses;
	int pauses_known;	/* 0: the daemon has no pause records */
	struct clinic_report_burst *bursts;
	size_t nbursts;
	int bursts_known;	/* 0: the daemon has no GetBursts */
	struct clinic_report_region *regions;
	size_t nregions;
};

/* Adds (or finds) the region entry of a stroke or event: regions are listed
 * in the order they were first treated. */
struct clinic_report_region *clinic_report_region(struct clinic_report *r, const char *region);

/* Regions from the strokes and events (caps as recorded with each
 * stroke); call once after filling strokes and events. Returns 0, or -1
 * when out of memory. */
int clinic_report_collect_regions(struct clinic_report *r);

/* The report as lines, in order; *n gets the count. Free with free(). */
struct clinic_report_line *clinic_report_lines(const struct clinic_report *r, size_t *n);

void clinic_report_free(struct clinic_report *r);

/*
 * Passes within bursts. A burst is one period of continuous contact; on a
 * tool with shear channels the blade's turnarounds split it into passes
 * (strokes), and a clinician reads "burst 3 · pass 2/5". The daemon's
 * stroke records carry only their burst, in recorded order, so the passes
 * of one burst are consecutive: the pass is counted here.
 */
struct clinic_pass_counter {
	uint32_t burst, pass;	/* the last stroke's */
};

/* The pass of the next stroke, of burst `burst` (0: not recorded: 0). */
uint32_t clinic_pass_next(struct clinic_pass_counter *c, uint32_t burst);

/* Sets pass and passes of strokes in recorded order. */
void clinic_report_number_passes(struct clinic_report_stroke *s, size_t n);

/* "burst 3 · pass 2/5"; passes 0 (the burst goes on): "burst 3 · pass 2";
 * burst 0 (not recorded): "". */
void clinic_pass_text(char *buf, size_t len, uint32_t burst, uint32_t pass, uint32_t passes);

/* "Burst 3: 5 passes in 3.2 s, peak 8.1 N" */
void clinic_burst_text(char *buf, size_t len, const struct clinic_report_burst *b);

#endif
