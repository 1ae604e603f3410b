// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CSV force traces (docs/trace-format.md).
 *
 *   t_s,force_n[,shear_x_n,shear_y_n][,tilt_deg]   header, any column order
 *   0.000,0.012
 *
 * Rules: the header is required and names every column; unknown and
 * duplicate columns are errors (a typo such as "force_N" must not silently
 * drop data); shear_x_n and shear_y_n come together; every row has exactly
 * as many fields as the header; values are finite decimal numbers; t_s never
 * decreases. LF or CRLF line ends; blank lines and lines starting with '#'
 * are skipped. Errors read "FILE:LINE: message" and are sticky.
 *
 * The reader allocates once, in open; sg_csv_next() is allocation-free.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strigil.h"

#define CSV_LINE_MAX	1024
#define CSV_NAME_MAX	256

enum csv_col { COL_T, COL_FORCE, COL_SHEAR_X, COL_SHEAR_Y, COL_TILT, NCOLS };

static const char *const col_names[NCOLS] = {
	[COL_T] = "t_s", [COL_FORCE] = "force_n", [COL_SHEAR_X] = "shear_x_n",
	[COL_SHEAR_Y] = "shear_y_n", [COL_TILT] = "tilt_deg",
};

struct sg_csv_reader {
	FILE *f;			/* file source, or NULL for memory */
	const char *mem;
	size_t memlen, mempos;
	unsigned long line;		/* physical line number of buf */
	unsigned ncols;
	enum csv_col cols[NCOLS];	/* field index -> column */
	uint8_t has;
	bool have_prev;
	double prev_t;
	int error;			/* sticky: first error returned again */
	char errmsg[CSV_NAME_MAX + 160];
	char name[CSV_NAME_MAX];
	char buf[CSV_LINE_MAX];
	char data[];			/* copy of the memory source */
};

__attribute__((format(printf, 3, 4)))
static int fail(struct sg_csv_reader *r, int code, const char *fmt, ...)
{
	int n;
	va_list ap;

	n = snprintf(r->errmsg, sizeof(r->errmsg), "%s:%lu: ", r->name,
		     r->line ? r->line : 1);
	if (n < 0 || (size_t)n >= sizeof(r->errmsg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->errmsg + n, sizeof(r->errmsg) - (size_t)n, fmt, ap);
	va_end(ap);
	r->error = code;
	return code;
}

static void copy_err(const struct sg_csv_reader *r, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", r->errmsg);
}

static int next_char(struct sg_csv_reader *r)
{
	if (r->f)
		return getc_unlocked(r->f);
	return r->mempos < r->memlen ? (unsigned char)r->mem[r->mempos++] : EOF;
}

/* Reads one physical line into buf without its LF or CRLF. 1, 0 = EOF, <0. */
static int read_line(struct sg_csv_reader *r)
{
	size_t n = 0;
	int c;

	r->line++;
	while ((c = next_char(r)) != EOF && c != '\n') {
		if (c == '\0')
			return fail(r, -EINVAL, "NUL byte in a text file");
		if (n + 1 >= sizeof(r->buf))
			return fail(r, -EINVAL, "line longer than %d bytes",
				    CSV_LINE_MAX - 1);
		r->buf[n++] = (char)c;
	}
	if (c == EOF && r->f && ferror(r->f))
		return fail(r, -EIO, "read error: %s", strerror(errno ? errno : EIO));
	if (c == EOF && n == 0) {
		r->line--;
		return 0;
	}
	if (n > 0 && r->buf[n - 1] == '\r')
		n--;
	r->buf[n] = '\0';
	return 1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool skip_line(const char *s)
{
	while (is_blank(*s))
		s++;
	return *s == '\0' || *s == '#';
}

/* Splits buf in place at commas, trimming blanks. Returns the field count. */
static unsigned split(char *s, char **fields, unsigned max)
{
	unsigned n = 0;

	for (;;) {
		char *end = strchr(s, ',');
		char *e;

		if (end)
			*end = '\0';
		while (is_blank(*s))
			s++;
		e = s + strlen(s);
		while (e > s && is_blank(e[-1]))
			*--e = '\0';
		if (n < max)
			fields[n] = s;
		n++;
		if (!end)
			return n;
		s = end + 1;
	}
}

static bool parse_number(const char *s, double *v)
{
	char *end;

	if (*s == '\0')
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return *end == '\0';
}

/* Reads the next line that is not blank or a comment. 1, 0 = EOF, <0. */
static int next_content_line(struct sg_csv_reader *r)
{
	int rc;

	while ((rc = read_line(r)) == 1)
		if (!skip_line(r->buf))
			return 1;
	return rc;
}

static int read_header(struct sg_csv_reader *r)
{
	char *fields[NCOLS + 1];
	bool seen[NCOLS] = { false };
	unsigned n;
	double v;
	int rc;

	rc = next_content_line(r);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return fail(r, -EINVAL, "empty file: expected a header line such as t_s,force_n");
	n = split(r->buf, fields, NCOLS + 1);
	if (parse_number(fields[0], &v))
		return fail(r, -EINVAL, "missing header: the first line must name the columns "
			    "(t_s,force_n[,shear_x_n,shear_y_n][,tilt_deg])");
	if (n > NCOLS + 1)
		n = NCOLS + 1;	/* a duplicate or unknown column is reported below */
	for (unsigned i = 0; i < n; i++) {
		unsigned c;

		for (c = 0; c < NCOLS; c++)
			if (strcmp(fields[i], col_names[c]) == 0)
				break;
		if (fields[i][0] == '\0')
			return fail(r, -EINVAL, "header field %u is empty", i + 1);
		if (c == NCOLS)
			return fail(r, -EINVAL, "unknown column '%.64s' (known: t_s, force_n, "
				    "shear_x_n, shear_y_n, tilt_deg)", fields[i]);
		if (seen[c])
			return fail(r, -EINVAL, "duplicate column '%s'", col_names[c]);
		seen[c] = true;
		r->cols[i] = (enum csv_col)c;
	}
	r->ncols = n;
	for (unsigned c = COL_T; c <= COL_FORCE; c++)
		if (!seen[c])
			return fail(r, -EINVAL, "missing column '%s'", col_names[c]);
	if (seen[COL_SHEAR_X] != seen[COL_SHEAR_Y])
		return fail(r, -EINVAL, "column '%s' requires column '%s'",
			    col_names[seen[COL_SHEAR_X] ? COL_SHEAR_X : COL_SHEAR_Y],
			    col_names[seen[COL_SHEAR_X] ? COL_SHEAR_Y : COL_SHEAR_X]);
	if (seen[COL_SHEAR_X])
		r->has |= SG_HAS_SHEAR;
	if (seen[COL_TILT])
		r->has |= SG_HAS_TILT;
	return 0;
}

static struct sg_csv_reader *finish_open(struct sg_csv_reader *r, char *err,
					 size_t errlen)
{
	int rc = read_header(r);

	if (rc < 0) {
		copy_err(r, err, errlen);
		sg_csv_close(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

struct sg_csv_reader *sg_csv_open(const char *path, char *err, size_t errlen)
{
	struct sg_csv_reader *r;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", path);
	r->f = fopen(path, "re");
	if (!r->f) {
		int e = errno;

		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		free(r);
		errno = e;
		return NULL;
	}
	return finish_open(r, err, errlen);
}

struct sg_csv_reader *sg_csv_open_mem(const char *name, const char *data,
				      size_t len, char *err, size_t errlen)
{
	struct sg_csv_reader *r;

	if (!name || (!data && len)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r) + len + 1);
	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (len)
		memcpy(r->data, data, len);
	r->mem = r->data;
	r->memlen = len;
	return finish_open(r, err, errlen);
}

int sg_csv_next(struct sg_csv_reader *r, struct sg_sample *s, char *err,
		size_t errlen)
{
	char *fields[NCOLS + 1];
	double v[NCOLS] = { 0 };
	unsigned n;
	int rc;

	if (!r || !s)
		return -EINVAL;
	if (r->error) {
		copy_err(r, err, errlen);
		return r->error;
	}
	rc = next_content_line(r);
	if (rc <= 0) {
		if (rc < 0)
			copy_err(r, err, errlen);
		return rc;
	}
	n = split(r->buf, fields, NCOLS + 1);
	if (n != r->ncols) {
		fail(r, -EINVAL, "expected %u fields as in the header, found %u",
		     r->ncols, n);
		copy_err(r, err, errlen);
		return r->error;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *name = col_names[r->cols[i]];

		if (!parse_number(fields[i], &v[r->cols[i]]))
			fail(r, -EINVAL, "column %s: '%.40s' is not a number", name,
			     fields[i]);
		else if (!isfinite(v[r->cols[i]]))
			fail(r, -EINVAL, "column %s: '%.40s' is not a finite number",
			     name, fields[i]);
		if (r->error) {
			copy_err(r, err, errlen);
			return r->error;
		}
	}
	if (r->have_prev && v[COL_T] < r->prev_t) {
		fail(r, -EINVAL, "time goes backwards (t_s %.9g after %.9g)",
		     v[COL_T], r->prev_t);
		copy_err(r, err, errlen);
		return r->error;
	}
	r->have_prev = true;
	r->prev_t = v[COL_T];

	memset(s, 0, sizeof(*s));
	s->t_s = v[COL_T];
	s->force_n = v[COL_FORCE];
	s->shear_x_n = v[COL_SHEAR_X];
	s->shear_y_n = v[COL_SHEAR_Y];
	s->tilt_deg = v[COL_TILT];
	s->has = r->has;
	return 1;
}

uint8_t sg_csv_columns(const struct sg_csv_reader *r)
{
	return r ? r->has : 0;
}

unsigned long sg_csv_line(const struct sg_csv_reader *r)
{
	return r ? r->line : 0;
}

void sg_csv_close(struct sg_csv_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	free(r);
}

/* ---- Writer ------------------------------------------------------------- */

int sg_csv_write_header(FILE *f, uint8_t has)
{
	if (!f || (has & ~(SG_HAS_SHEAR | SG_HAS_TILT)))
		return -EINVAL;
	fputs("t_s,force_n", f);
	if (has & SG_HAS_SHEAR)
		fputs(",shear_x_n,shear_y_n", f);
	if (has & SG_HAS_TILT)
		fputs(",tilt_deg", f);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

/* Microsecond time and micronewton force: below any instrument's noise. */
int sg_csv_write_sample(FILE *f, const struct sg_sample *s)
{
	if (!f || !s || !isfinite(s->t_s) || !isfinite(s->force_n) ||
	    ((s->has & SG_HAS_SHEAR) &&
	     (!isfinite(s->shear_x_n) || !isfinite(s->shear_y_n))) ||
	    ((s->has & SG_HAS_TILT) && !isfinite(s->tilt_deg)))
		return -EINVAL;
	fprintf(f, "%.6f,%.6f", s->t_s, s->force_n);
	if (s->has & SG_HAS_SHEAR)
		fprintf(f, ",%.6f,%.6f", s->shear_x_n, s->shear_y_n);
	if (s->has & SG_HAS_TILT)
		fprintf(f, ",%.6f", s->tilt_deg);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
