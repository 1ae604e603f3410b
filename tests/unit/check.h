/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal assertion helpers for unit tests: every failed CHECK is printed
 * and counted; check_exit() returns non-zero if any failed, and fails a
 * test that checked nothing. */
#ifndef STRIGIL_TEST_CHECK_H
#define STRIGIL_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned check_failed, check_total;

#define CHECK(cond, ...) do {						\
	check_total++;							\
	if (!(cond)) {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: CHECK(%s) failed: ",		\
			__FILE__, __LINE__, #cond);			\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

#define CHECK_NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol), \
	"%s = %.9g, expected %.9g +- %g", #a, (double)(a), (double)(b), (double)(tol))
#define CHECK_EQ_INT(a, b) CHECK((long long)(a) == (long long)(b), \
	"%s = %lld, expected %lld", #a, (long long)(a), (long long)(b))

static inline int check_exit(const char *name)
{
	if (check_total == 0) {
		fprintf(stderr, "%s: no checks ran\n", name);
		return 1;
	}
	printf("%s: %u checks, %u failed\n", name, check_total, check_failed);
	return check_failed ? 1 : 0;
}

#endif
