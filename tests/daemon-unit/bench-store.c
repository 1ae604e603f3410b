// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figures for `make bench` (never asserted): policy load, rules
 * evaluation, durable stroke insert latency (WAL + synchronous=FULL: one
 * fsync per commit) and reading a session back.
 * Usage: bench-store TOP_DIR [STROKES]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Durable stroke inserts (one commit + fsync each) into a new store:
 * with the WAL growing from empty (what SQLite does by itself) or given
 * its working size first (sgd_store_prepare_wal, as strigild does). */
static int store_run(const char *tmp, bool prepared, const struct sgd_profile *prof,
		     size_t nstrokes)
{
	char dir[256], cmd[300], err[512];
	struct sgd_profile p = *prof;
	struct sgd_session se;
	struct sgd_store *s = NULL;
	struct sgd_stroke_row *rows = NULL;
	struct sg_stroke k;
	size_t n = 0;
	double t0, *lat, sum = 0;

	snprintf(dir, sizeof(dir), "%s/strigil-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || sgd_store_open(dir, &s, err, sizeof(err))) {
		fprintf(stderr, "store: %s\n", err);
		return 1;
	}
	if ((prepared && sgd_store_prepare_wal(s)) || sgd_store_profile_create(s, &p, 1)) {
		fprintf(stderr, "%s\n", sgd_store_errmsg(s));
		return 1;
	}
	memset(&se, 0, sizeof(se));
	se.profile_id = p.id;
	strcpy(se.instrument, "BENCH");
	strcpy(se.region, "calf");
	se.limit_n = 5;
	se.started_us = 1;
	if (sgd_store_session_create(s, &se, NULL)) {
		fprintf(stderr, "%s\n", sgd_store_errmsg(s));
		return 1;
	}
	lat = calloc(nstrokes, sizeof(*lat));
	if (!lat)
		return 1;
	memset(&k, 0, sizeof(k));
	for (size_t i = 0; i < nstrokes; i++) {
		k.index = (uint32_t)i + 1;
		k.peak_n = 4;
		k.duration_s = 0.8;
		t0 = now_s();
		if (sgd_store_add_stroke(s, se.id, "calf", &k, (int64_t)i, NULL)) {
			fprintf(stderr, "%s\n", sgd_store_errmsg(s));
			return 1;
		}
		lat[i] = now_s() - t0;
		sgd_store_kick(s);	/* as strigild does after its signals */
		/* strokes come at <= 1 Hz per instrument: even 32 instruments
		 * leave the checkpointer time between two commits */
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
	qsort(lat, nstrokes, sizeof(*lat), cmp_dbl);
	for (size_t i = 0; i < nstrokes; i++)
		sum += lat[i];
	printf("durable stroke insert (%zu, fsync each, %s, WAL %s): mean %.3f ms, "
	       "p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", nstrokes, dir,
	       prepared ? "prepared" : "growing", sum / nstrokes * 1e3,
	       lat[nstrokes / 2] * 1e3, lat[nstrokes * 99 / 100] * 1e3, lat[nstrokes - 1] * 1e3);
	printf("checkpoints run by the checkpointer thread: %d\n", sgd_store_checkpoints(s));
	t0 = now_s();
	sgd_store_session_strokes(s, se.id, &rows, &n);
	printf("read back %zu strokes: %.2f ms\n", n, (now_s() - t0) * 1e3);
	t0 = now_s();
	sgd_store_session_finish(s, se.id, SGD_SESSION_FINISHED, 2, NULL);
	printf("finish session (summary from rows): %.2f ms\n", (now_s() - t0) * 1e3);
	free(rows);
	free(lat);
	sgd_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	char path[4096], err[512], msg[256];
	const char *tmp = getenv("TMPDIR");
	struct sgd_policy *pol = NULL;
	struct sgd_profile p;
	struct sgd_limits l;
	size_t nstrokes = argc > 2 ? (size_t)atoi(argv[2]) : 500;
	double t0;
	int iters = 2000;

	if (argc < 2 || nstrokes < 10) {
		fprintf(stderr, "usage: %s TOP_DIR [STROKES>=10]\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/daemon/policy.conf", argv[1]);
	t0 = now_s();
	for (int i = 0; i < 200; i++) {
		sgd_policy_free(pol);
		pol = NULL;
		if (sgd_policy_load(path, &pol, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	}
	printf("policy load (shipped file, %zu regions, %zu conditions): %.1f us\n",
	       pol->nregions, pol->nconditions, (now_s() - t0) / 200 * 1e6);

	sgd_profile_init(&p);
	strcpy(p.patient_ref, "bench");
	p.max_force_n = 9;
	sgd_profile_add_condition(&p, "anticoagulants", msg, sizeof(msg));
	sgd_profile_add_condition(&p, "varicose_veins", msg, sizeof(msg));
	sgd_profile_add_condition(&p, "thin_skin", msg, sizeof(msg));
	t0 = now_s();
	for (int i = 0; i < iters; i++)
		sgd_rules_evaluate(pol, &p, pol->regions[i % pol->nregions].name, &l,
				   msg, sizeof(msg));
	printf("rules evaluate (3 conditions): %.2f us\n",
	       (now_s() - t0) / iters * 1e6);

	if (store_run(tmp, false, &p, nstrokes) || store_run(tmp, true, &p, nstrokes))
		return 1;
	sgd_policy_free(pol);
	return 0;
}
