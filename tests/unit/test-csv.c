// SPDX-License-Identifier: LGPL-2.1-or-later
/* CSV traces: good files, every error kind with its line number, writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "strigil.h"

static char err[512];

static struct sg_csv_reader *open_len(const char *s, size_t len)
{
	err[0] = '\0';
	return sg_csv_open_mem("x.csv", s, len, err, sizeof(err));
}

static struct sg_csv_reader *open_str(const char *s)
{
	return open_len(s, strlen(s));
}

/* Reads every sample; returns the count, or the error code. */
static int read_all(struct sg_csv_reader *r, struct sg_sample *out, int max)
{
	struct sg_sample s;
	int n = 0, rc;

	while ((rc = sg_csv_next(r, &s, err, sizeof(err))) == 1) {
		if (n < max)
			out[n] = s;
		n++;
	}
	return rc < 0 ? rc : n;
}

static void test_good(void)
{
	struct sg_sample s[8];
	struct sg_csv_reader *r;

	r = open_str("t_s,force_n\n0,0.5\n0.001,1.25\n0.002,-0.125\n");
	CHECK(r != NULL, "open: %s", err);
	if (!r)
		return;
	CHECK_EQ_INT(sg_csv_columns(r), 0);
	CHECK_EQ_INT(read_all(r, s, 8), 3);
	CHECK_NEAR(s[1].t_s, 0.001, 0);
	CHECK_NEAR(s[1].force_n, 1.25, 0);
	CHECK_NEAR(s[2].force_n, -0.125, 0);
	CHECK_EQ_INT(s[2].has, 0);
	CHECK_EQ_INT(sg_csv_line(r), 4);
	CHECK_EQ_INT(sg_csv_next(r, s, err, sizeof(err)), 0);	/* EOF stays EOF */
	sg_csv_close(r);

	/* any order, all columns, CRLF, blanks, comments, spaces, no final EOL */
	r = open_str("# recorded 2026-11-21\r\n\r\n tilt_deg , shear_y_n,force_n,t_s,shear_x_n\r\n"
		     "1.5,-0.5,3.0,10.0,0.25\r\n# pause\r\n\r\n"
		     "2.5,0.5,4,10.5,1e-1\r\n   \r\n2,0,5,10.5,0");
	CHECK(r != NULL, "open: %s", err);
	if (!r)
		return;
	CHECK_EQ_INT(sg_csv_columns(r), SG_HAS_SHEAR | SG_HAS_TILT);
	CHECK_EQ_INT(read_all(r, s, 8), 3);
	CHECK_NEAR(s[0].t_s, 10.0, 0);
	CHECK_NEAR(s[0].force_n, 3.0, 0);
	CHECK_NEAR(s[0].shear_x_n, 0.25, 0);
	CHECK_NEAR(s[0].shear_y_n, -0.5, 0);
	CHECK_NEAR(s[0].tilt_deg, 1.5, 0);
	CHECK_EQ_INT(s[0].has, SG_HAS_SHEAR | SG_HAS_TILT);
	CHECK_NEAR(s[1].shear_x_n, 0.1, 0);
	CHECK_NEAR(s[2].t_s, 10.5, 0);	/* equal time is not backwards */
	CHECK_EQ_INT(sg_csv_line(r), 9);
	sg_csv_close(r);

	/* header only: a valid, empty trace */
	r = open_str("t_s,force_n\n");
	CHECK(r != NULL, "header only: %s", err);
	if (r) {
		CHECK_EQ_INT(read_all(r, s, 8), 0);
		sg_csv_close(r);
	}
	sg_csv_close(NULL);
}

/* Open succeeds; the n-th sg_csv_next fails with msg. */
static void expect_row_error_len(const char *text, size_t len, int code, const char *msg)
{
	struct sg_sample s[4];
	struct sg_csv_reader *r = open_len(text, len);
	int rc;

	CHECK(r != NULL, "open '%s': %s", text, err);
	if (!r)
		return;
	rc = read_all(r, s, 4);
	CHECK(rc == code, "'%s': rc %d, want %d", text, rc, code);
	CHECK(strstr(err, msg) != NULL, "'%s': message '%s' lacks '%s'", text, err, msg);
	/* the error is sticky and the rows before it were delivered */
	err[0] = '\0';
	CHECK(sg_csv_next(r, s, err, sizeof(err)) == code, "'%s': not sticky", text);
	CHECK(strstr(err, msg) != NULL, "'%s': sticky message '%s'", text, err);
	sg_csv_close(r);
}

static void expect_open_error_len(const char *text, size_t len, const char *msg)
{
	struct sg_csv_reader *r = open_len(text, len);

	CHECK(r == NULL, "'%s' opened", text);
	CHECK(r != NULL || errno == EINVAL, "'%s': errno %d", text, errno);
	CHECK(strstr(err, msg) != NULL, "'%s': message '%s' lacks '%s'", text, err, msg);
	sg_csv_close(r);
}

/* String literals keep their embedded NULs. */
#define expect_open_error(lit, msg) expect_open_error_len(lit, sizeof(lit) - 1, msg)
#define expect_row_error(lit, code, msg) expect_row_error_len(lit, sizeof(lit) - 1, code, msg)

static void test_errors(void)
{
	char longline[5000];
	struct sg_csv_reader *r;
	struct sg_sample s;
	int n;

	expect_open_error("", "x.csv:1: empty file");
	expect_open_error("\n\n# only a comment\n", "x.csv:3: empty file");
	expect_open_error("0.0,1.0\n0.1,1.1\n", "x.csv:1: missing header");
	expect_open_error("\n-1.5,2\n", "x.csv:2: missing header");
	expect_open_error("t_s\n0\n", "x.csv:1: missing column 'force_n'");
	expect_open_error("force_n,tilt_deg\n", "x.csv:1: missing column 't_s'");
	/* a typo in a required column is a missing column, naming the typo */
	expect_open_error("t_s,Force_N\n", "x.csv:1: missing column 'force_n' "
			  "(unknown columns: 'Force_N'; names are case-sensitive)");
	expect_open_error("time,force_n,temp_c\n", "x.csv:1: missing column 't_s'");
	expect_open_error("t_s;force_n\n0,1;2,5\n", "x.csv:1: missing column 't_s' (the header "
			  "is separated by ';', not by commas");
	expect_open_error("t_s\tforce_n\n", "x.csv:1: missing column 't_s' (the header "
			  "is separated by 'tab'");
	expect_open_error("t_s,force_n,\"force_n\"\n", "x.csv:1: duplicate column 'force_n'");
	expect_open_error("t_s,\"force_n\n", "x.csv:1: field 2: quote not closed");
	expect_open_error("t_s,\"force\"_n\n", "x.csv:1: field 2: unexpected text after a closing quote");
	expect_open_error("\xEF\xBB" "t_s,force_n\n", "x.csv:1: not UTF-8 text");
	expect_open_error("t_s,force_n,t_s\n", "x.csv:1: duplicate column 't_s'");
	expect_open_error("t_s,force_n,force_n,force_n,force_n,force_n,force_n\n",
			  "x.csv:1: duplicate column 'force_n'");
	expect_open_error("t_s,force_n,shear_x_n\n",
			  "x.csv:1: column 'shear_x_n' requires column 'shear_y_n'");
	expect_open_error("t_s,force_n,shear_y_n\n",
			  "x.csv:1: column 'shear_y_n' requires column 'shear_x_n'");
	expect_open_error("t_s,force_n\0\n", "x.csv:1:");
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	expect_open_error_len(longline, strlen(longline), "x.csv:1: line longer than 4095 bytes");

	expect_row_error("t_s,force_n\n0,1\n1,2,3\n", -EINVAL,
			 "x.csv:3: expected 2 fields as in the header, found 3");
	expect_row_error("t_s,force_n\n0,1\n1\n", -EINVAL,
			 "x.csv:3: expected 2 fields as in the header, found 1");
	expect_row_error("t_s,force_n\r\n0,1\r\n1,abc\r\n", -EINVAL,
			 "x.csv:3: column force_n: 'abc' is not a number");
	expect_row_error("t_s,force_n\n0,1\n0.5,1.5N\n", -EINVAL,
			 "x.csv:3: column force_n: '1.5N' is not a number");
	expect_row_error("t_s,force_n\n,1\n", -EINVAL,
			 "x.csv:2: column t_s: '' is not a number");
	expect_row_error("t_s,force_n\n0,1 2\n", -EINVAL,
			 "x.csv:2: column force_n: '1 2' is not a number");
	expect_row_error("t_s,force_n\n0,nan\n", -EINVAL,
			 "x.csv:2: column force_n: 'nan' is not a finite number");
	expect_row_error("t_s,force_n\n0,1\n\n#c\ninf,1\n", -EINVAL,
			 "x.csv:5: column t_s: 'inf' is not a finite number");
	expect_row_error("t_s,force_n\n0,1e999\n", -EINVAL,
			 "x.csv:2: column force_n: '1e999' is not a finite number");
	expect_row_error("t_s,force_n\n\"0\",\"1,5\"\n", -EINVAL,
			 "x.csv:2: column force_n: '1,5' is not a number");
	expect_row_error("t_s,force_n\n0,\"1\n", -EINVAL,
			 "x.csv:2: field 2: quote not closed");
	expect_row_error("t_s,force_n\n0,1,,\n0,1,x\n", -EINVAL,
			 "x.csv:3: expected 2 fields as in the header, found 3");
	expect_row_error("t_s,force_n,temp\n0,1,20\n0\n", -EINVAL,
			 "x.csv:3: expected 3 fields as in the header, found 1");
	expect_row_error("t_s,force_n,temp\n0,1,\"20\n", -EINVAL,
			 "x.csv:2: field 3: quote not closed");
	expect_row_error("t_s,force_n\n0,1\n0.2,1\n0.1,1\n", -EINVAL,
			 "x.csv:4: time goes backwards (t_s 0.1 after 0.2)");
	expect_row_error("force_n,t_s\n1,5\n1,-5\n", -EINVAL,
			 "x.csv:3: time goes backwards");
	expect_row_error("t_s,force_n\n0,1\n1,\0\n", -EINVAL, "x.csv:3: NUL byte");

	/* rows before an error are delivered */
	r = open_str("t_s,force_n\n0,1\n1,2\n2,x\n");
	n = 0;
	while (r && sg_csv_next(r, &s, err, sizeof(err)) == 1)
		n++;
	CHECK_EQ_INT(n, 2);
	sg_csv_close(r);

	/* NULL and tiny error buffers are safe */
	r = sg_csv_open_mem("y.csv", "t_s\n", 4, NULL, 0);
	CHECK(r == NULL, "NULL err");
	r = sg_csv_open_mem("y.csv", "t_s\n", 4, err, 4);
	CHECK(r == NULL && strcmp(err, "y.c") == 0, "truncated '%s'", err);
	CHECK(sg_csv_next(NULL, &s, err, sizeof(err)) == -EINVAL, "NULL reader");
}

/* What real tools write: BOM, quotes, trailing commas, extra columns. */
static void test_real_tools(void)
{
	struct sg_sample s[8];
	struct sg_csv_reader *r;

	/* spreadsheet export: BOM, quoted names and values, CRLF */
	r = open_str("\xEF\xBB\xBF\"t_s\",\"force_n\"\r\n\"0.5\",\"1.25\"\r\n\" 0.6 \",2\r\n");
	CHECK(r != NULL, "BOM+quotes: %s", err);
	if (r) {
		CHECK(sg_csv_ignored(r) == NULL, "nothing ignored");
		CHECK_EQ_INT(read_all(r, s, 8), 2);
		CHECK_NEAR(s[0].t_s, 0.5, 0);
		CHECK_NEAR(s[0].force_n, 1.25, 0);
		CHECK_NEAR(s[1].t_s, 0.6, 0);
		sg_csv_close(r);
	}
	/* a BOM alone before the header of a file with a comment first */
	r = open_str("\xEF\xBB\xBF# logger v2\nt_s,force_n\n0,1\n");
	CHECK(r != NULL, "BOM+comment: %s", err);
	if (r) {
		CHECK_EQ_INT(read_all(r, s, 8), 1);
		sg_csv_close(r);
	}
	/* "" inside quotes is a quote; quoted commas stay in the field */
	r = open_str("\"idx \"\"a,b\"\"\",t_s,force_n\n\"x,\"\"y\",1,2\n");
	CHECK(r != NULL, "quoted comma: %s", err);
	if (r) {
		CHECK(sg_csv_ignored(r) && strcmp(sg_csv_ignored(r), "'idx \"a,b\"'") == 0,
		      "ignored %s", sg_csv_ignored(r));
		CHECK_EQ_INT(read_all(r, s, 8), 1);
		CHECK_NEAR(s[0].t_s, 1, 0);
		CHECK_NEAR(s[0].force_n, 2, 0);
		sg_csv_close(r);
	}
	/* trailing commas on the header and/or rows */
	r = open_str("t_s,force_n,\n0,1,\n0.1,2\n0.2,3,,\n");
	CHECK(r != NULL, "trailing comma: %s", err);
	if (r) {
		CHECK(sg_csv_ignored(r) == NULL, "trailing comma ignored nothing");
		CHECK_EQ_INT(read_all(r, s, 8), 3);
		CHECK_NEAR(s[2].force_n, 3, 0);
		sg_csv_close(r);
	}
	/* extra columns anywhere, unnamed index column (pandas), text in them,
	 * a missing trailing ignored value */
	r = open_str(",sample,t_s,raw_counts,force_n,shear_x_n,shear_y_n,temp_c,status\n"
		     "0,17,0.001,81234,1.5,0.1,0.2,31.5,OK\n"
		     "1,18,0.002,,1.6,0.1,0.2,n/a\n");
	CHECK(r != NULL, "extra columns: %s", err);
	if (r) {
		const char *ig = sg_csv_ignored(r);

		CHECK(ig && strcmp(ig, "'sample', 'raw_counts', 'temp_c', 'status', "
				   "(unnamed column 1)") == 0, "ignored %s", ig);
		CHECK_EQ_INT(sg_csv_columns(r), SG_HAS_SHEAR);
		CHECK_EQ_INT(read_all(r, s, 8), 2);
		CHECK_NEAR(s[1].t_s, 0.002, 0);
		CHECK_NEAR(s[1].force_n, 1.6, 0);
		CHECK_NEAR(s[1].shear_y_n, 0.2, 0);
		CHECK_EQ_INT(s[1].has, SG_HAS_SHEAR);
		sg_csv_close(r);
	}
	/* a known column after the ignored ones must be present in each row */
	expect_row_error("t_s,temp,force_n\n0,20\n", -EINVAL,
			 "x.csv:2: expected 3 fields as in the header, found 2");
}

static void test_files(void)
{
	char path[] = "/tmp/test-csv-XXXXXX";
	struct sg_sample in = { .t_s = 0, .has = SG_HAS_SHEAR | SG_HAS_TILT }, out[3];
	struct sg_csv_reader *r;
	FILE *f;
	int fd;

	r = sg_csv_open("/nonexistent/trace.csv", err, sizeof(err));
	CHECK(r == NULL && errno == ENOENT, "nonexistent opened");
	CHECK(strcmp(err, "/nonexistent/trace.csv: No such file or directory") == 0,
	      "message '%s'", err);

	r = sg_csv_open("/", err, sizeof(err));
	CHECK(r == NULL && errno == EIO, "a directory opened");
	CHECK(strcmp(err, "/:1: read error: Is a directory") == 0, "message '%s'", err);

	fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	CHECK_EQ_INT(sg_csv_write_header(f, SG_HAS_SHEAR | SG_HAS_TILT), 0);
	for (int i = 0; i < 3; i++) {
		in.t_s = 1000.0 + i * 0.0005;
		in.force_n = 2.6 + i;
		in.shear_x_n = -0.123456;
		in.shear_y_n = 1e-6;
		in.tilt_deg = 12.5;
		CHECK_EQ_INT(sg_csv_write_sample(f, &in), 0);
	}
	in.force_n = NAN;
	CHECK_EQ_INT(sg_csv_write_sample(f, &in), -EINVAL);
	in.force_n = 1;
	in.tilt_deg = INFINITY;
	CHECK_EQ_INT(sg_csv_write_sample(f, &in), -EINVAL);
	in.has = 0;	/* tilt not written: its value does not matter */
	in.t_s = NAN;
	CHECK_EQ_INT(sg_csv_write_sample(f, &in), -EINVAL);
	CHECK_EQ_INT(sg_csv_write_header(f, 0x80), -EINVAL);
	fclose(f);

	r = sg_csv_open(path, err, sizeof(err));
	CHECK(r != NULL, "reopen: %s", err);
	if (r) {
		CHECK_EQ_INT(sg_csv_columns(r), SG_HAS_SHEAR | SG_HAS_TILT);
		CHECK_EQ_INT(read_all(r, out, 3), 3);
		CHECK_NEAR(out[2].t_s, 1000.001, 1e-9);
		CHECK_NEAR(out[2].force_n, 4.6, 1e-9);
		CHECK_NEAR(out[1].shear_x_n, -0.123456, 1e-12);
		CHECK_NEAR(out[1].shear_y_n, 1e-6, 1e-12);
		CHECK_NEAR(out[0].tilt_deg, 12.5, 0);
		sg_csv_close(r);
	}

	/* a file error names the file path */
	f = fopen(path, "w");
	fputs("t_s,force_n\n0,1\n-1,1\n", f);
	fclose(f);
	r = sg_csv_open(path, err, sizeof(err));
	CHECK(r != NULL, "open: %s", err);
	if (r) {
		CHECK_EQ_INT(read_all(r, out, 3), -EINVAL);
		CHECK(strncmp(err, path, strlen(path)) == 0 &&
		      strncmp(err + strlen(path), ":3: time goes backwards", 23) == 0,
		      "message '%s'", err);
		sg_csv_close(r);
	}
	unlink(path);
}

int main(void)
{
	test_good();
	test_errors();
	test_real_tools();
	test_files();
	return check_exit("csv");
}
