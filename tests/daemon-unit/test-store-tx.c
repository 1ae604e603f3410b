/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sgd_store_begin/sgd_store_end on real SQLite: a stroke (or violation)
 * and the session summary it changes are committed together, or not at
 * all; a failed call inside rolls everything back; misuse is a typed error
 * that changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-test.h"

static char dir[256];

static size_t count_violations(struct sgd_store *s, int64_t id)
{
	struct sgd_violation *v = NULL;
	size_t n = 0;

	CHECK(sgd_store_session_violations(s, id, &v, &n) == 0, "%s", sgd_store_errmsg(s));
	free(v);
	return n;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	struct sgd_store *s = NULL;
	struct sgd_profile p;
	struct sgd_session se, got;
	struct sgd_violation v;
	struct sg_stroke k;
	char path[512], err[512] = "", msg[256];
	int r;

	snprintf(dir, sizeof(dir), "%s/strigil-storetx-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/tx.db", dir);
	r = sgd_store_open_file(path, &s, err, sizeof(err));
	CHECK(r == 0 && s, "open: %d %s", r, err);
	if (!s)
		return check_exit("test-store-tx");

	/* misuse: typed errors */
	CHECK_EQ_INT(sgd_store_begin(NULL), -EINVAL);
	CHECK_EQ_INT(sgd_store_end(NULL, 0), -EINVAL);

	sgd_profile_init(&p);
	CHECK(sgd_profile_set_patient_ref(&p, "TX-1", msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(sgd_store_profile_create(s, &p, 10) == 0, "%s", sgd_store_errmsg(s));
	memset(&se, 0, sizeof(se));
	se.profile_id = p.id;
	snprintf(se.instrument, sizeof(se.instrument), "SIM0001");
	snprintf(se.region, sizeof(se.region), "calf");
	se.state = SGD_SESSION_RUNNING;
	se.started_us = 100;
	se.limit_n = 8;
	CHECK(sgd_store_session_create(s, &se, NULL) == 0, "%s", sgd_store_errmsg(s));

	/* committed together: the row and the summary */
	make_stroke(&k, 1, 5.5);
	se.stroke_count = 1;
	se.peak_n = 5.5;
	se.load_s = 0.75;
	r = sgd_store_begin(s);
	CHECK(r == 0, "begin: %s", sgd_store_errmsg(s));
	r = sgd_store_add_stroke(s, se.id, "calf", &k, 200, NULL);
	CHECK(r == 0, "stroke in a transaction: %s", sgd_store_errmsg(s));
	r = sgd_store_session_update(s, &se, 200);
	CHECK(r == 0, "summary in a transaction: %s", sgd_store_errmsg(s));
	CHECK_EQ_INT(sgd_store_end(s, 0), 0);
	CHECK_EQ_INT(count_strokes(s, se.id), 1);
	CHECK(sgd_store_session_get(s, se.id, &got) == 0 && got.stroke_count == 1 &&
	      got.peak_n == 5.5 && got.load_s == 0.75, "summary committed with the row");

	/* an error inside: everything since begin is rolled back */
	make_stroke(&k, 2, 9.0);
	CHECK_EQ_INT(sgd_store_begin(s), 0);
	r = sgd_store_add_stroke(s, se.id, "calf", &k, 300, NULL);
	CHECK(r == 0, "second stroke: %s", sgd_store_errmsg(s));
	r = sgd_store_add_stroke(s, se.id + 1000, "calf", &k, 300, NULL);	/* no such session */
	CHECK(r < 0, "stroke of an unknown session refused (%d)", r);
	CHECK_EQ_INT(sgd_store_end(s, r), r);
	CHECK_EQ_INT(count_strokes(s, se.id), 1);

	/* the caller gives up: rolled back too, the store stays usable */
	memset(&v, 0, sizeof(v));
	v.session_id = se.id;
	v.wall_us = 400;
	snprintf(v.region, sizeof(v.region), "calf");
	v.type = SG_EV_EXCEEDED;
	v.t_s = 3.0;
	v.force_n = 9.0;
	v.limit_n = 8.0;
	CHECK_EQ_INT(sgd_store_begin(s), 0);
	CHECK(sgd_store_add_violation(s, &v) == 0, "%s", sgd_store_errmsg(s));
	CHECK_EQ_INT(sgd_store_end(s, -ECANCELED), -ECANCELED);
	CHECK_EQ_INT(count_violations(s, se.id), 0);

	/* a begin inside a begin is refused and changes nothing */
	CHECK_EQ_INT(sgd_store_begin(s), 0);
	CHECK(sgd_store_begin(s) < 0, "nested begin refused");
	CHECK(sgd_store_add_violation(s, &v) == 0, "%s", sgd_store_errmsg(s));
	CHECK_EQ_INT(sgd_store_end(s, 0), 0);
	CHECK_EQ_INT(count_violations(s, se.id), 1);

	/* without begin, calls commit on their own as before */
	make_stroke(&k, 3, 4.0);
	CHECK(sgd_store_add_stroke(s, se.id, "calf", &k, 500, NULL) == 0, "%s",
	      sgd_store_errmsg(s));
	CHECK_EQ_INT(count_strokes(s, se.id), 2);

	/* and the data survives a reopen */
	sgd_store_close(s);
	s = NULL;
	r = sgd_store_open_file(path, &s, err, sizeof(err));
	CHECK(r == 0 && s, "reopen: %d %s", r, err);
	if (s) {
		CHECK_EQ_INT(count_strokes(s, se.id), 2);
		CHECK_EQ_INT(count_violations(s, se.id), 1);
		sgd_store_close(s);
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit("test-store-tx");
}
