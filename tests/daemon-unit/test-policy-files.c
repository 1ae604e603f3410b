/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which clinic policy is in force (policy-files.c): /etc replaces the
 * vendor file, the vendor file replaces the built-in defaults, and only a
 * missing file falls through: a broken or unreadable one stops the daemon.
 * The built-in defaults are exactly the shipped daemon/policy.conf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "policy-files.h"

static char dir[] = "/tmp/sg-policy-files-XXXXXX";
static char etc[512], vendor[512];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "cannot create %s", path);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static const char etc_text[] =
	"[limits]\nabsolute_max_n = 12\n[region etc_region]\ncap_n = 6\n";
static const char vendor_text[] =
	"[limits]\nabsolute_max_n = 13\n[region vendor_region]\ncap_n = 7\n";

/* Loads with [etc, vendor]; returns the error and the region's name, or "". */
static int load(const char **used, char *region, size_t len, char *err, size_t errlen)
{
	const char *const paths[] = { etc, vendor };
	struct sgd_policy *p = NULL;
	int r;

	err[0] = region[0] = '\0';
	r = sgd_policy_load_first(paths, 2, &p, used, err, errlen);
	if (r == 0) {
		snprintf(region, len, "%s", p->nregions ? p->regions[0].name : "");
		sgd_policy_free(p);
	} else {
		CHECK(p == NULL, "output untouched on error");
	}
	return r;
}

static void test_order(void)
{
	const char *used = NULL;
	char region[64], err[512];
	int r;

	/* Neither file: the built-in defaults. */
	r = load(&used, region, sizeof(region), err, sizeof(err));
	CHECK(r == 0, "built-in defaults load: %d %s", r, err);
	CHECK(used && !strcmp(used, SGD_POLICY_BUILTIN), "used %s", used ? used : "(null)");

	/* The vendor file alone. */
	write_file(vendor, vendor_text);
	r = load(&used, region, sizeof(region), err, sizeof(err));
	CHECK(r == 0 && !strcmp(used, vendor), "vendor file used: %d %s %s", r, used, err);
	CHECK(!strcmp(region, "vendor_region"), "vendor's regions: %s", region);

	/* /etc replaces it entirely (no merging: one region, /etc's). */
	write_file(etc, etc_text);
	r = load(&used, region, sizeof(region), err, sizeof(err));
	CHECK(r == 0 && !strcmp(used, etc), "/etc file used: %d %s %s", r, used, err);
	CHECK(!strcmp(region, "etc_region"), "/etc's regions: %s", region);

	/* A broken /etc file is an error, never a fall back to the vendor's. */
	write_file(etc, "[limits]\nabsolute_max_n = lots\n");
	r = load(&used, region, sizeof(region), err, sizeof(err));
	CHECK(r == -EINVAL && strstr(err, etc) && !strcmp(used, etc),
	      "invalid /etc refused: %d %s", r, err);

	/* So is one that cannot be read (a directory in its place). */
	unlink(etc);
	CHECK(mkdir(etc, 0700) == 0, "mkdir %s", etc);
	r = load(&used, region, sizeof(region), err, sizeof(err));
	CHECK(r == -EISDIR && strstr(err, etc), "unreadable /etc refused: %d %s", r, err);
	rmdir(etc);

	/* A broken vendor file with no /etc: refused too. */
	write_file(vendor, "[limits]\n");
	r = load(&used, region, sizeof(region), err, sizeof(err));
	CHECK(r == -EINVAL && strstr(err, vendor), "invalid vendor file refused: %d %s", r, err);
	unlink(vendor);
}

/* The compiled-in text is the shipped file, byte for byte. */
static void test_builtin_is_shipped(const char *top)
{
	char path[4096];
	char *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/daemon/policy.conf", top);
	f = fopen(path, "rb");
	CHECK(f != NULL, "open %s", path);
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "read %s", path);
	fclose(f);
	CHECK((size_t)n == sgd_policy_builtin_len && buf &&
	      !memcmp(buf, sgd_policy_builtin, (size_t)n),
	      "built-in defaults (%zu bytes) differ from %s (%ld bytes)",
	      sgd_policy_builtin_len, path, n);
	CHECK(sgd_policy_builtin[sgd_policy_builtin_len] == '\0', "terminated");
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DATA_DIR TOP_DIR\n", argv[0]);
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(etc, sizeof(etc), "%s/etc-policy.conf", dir);
	snprintf(vendor, sizeof(vendor), "%s/vendor-policy.conf", dir);
	test_order();
	test_builtin_is_shipped(argv[2]);
	rmdir(dir);
	return check_exit("test-policy-files");
}
