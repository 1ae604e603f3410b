// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CSV force traces (docs/trace-format.md).
 *
 *   t_s,force_n[,shear_x_n,shear_y_n][,tilt_deg]   header, any column order
 *   0.000,0.012
 *
 * Rules: the header is required and names every column; duplicate known
 * columns are errors; unknown columns (sample index, raw counts, ...) are
 * ignored and listed by sg_csv_ignored() so the caller can warn once (a typo
 * in a required column still fails as "missing column"); shear_x_n and
 * shear_y_n come together; every row has as many fields as the header
 * (trailing empty fields and trailing ignored columns excepted); values are
 * finite decimal numbers; t_s never decreases. A UTF-8 byte order mark,
 * RFC 4180 double-quoted fields (on one line), blanks around fields, LF or
 * CRLF line ends are accepted; blank lines and lines starting with '#' are
 * skipped. Errors read "FILE:LINE: message" and are sticky.
 *
 * The reader allocates once, in open; sg_csv_next() is allocation-free.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strigil.h"

#define CSV_LINE_MAX	4096
#define CSV_NAME_MAX	256
#define CSV_FIELDS_MAX	(CSV_LINE_MAX / 2)	/* "a,b,..." of one-byte fields */
#define CSV_IGNORED_MAX	256			/* listed names, truncated with ... */

enum csv_col { COL_T, COL_FORCE, COL_SHEAR_X, COL_SHEAR_Y, COL_TILT, NCOLS,
	       COL_IGNORED = NCOLS, COL_UNNAMED };

static const char *const col_names[NCOLS] = {
	[COL_T] = "t_s", [COL_FORCE] = "force_n", [COL_SHEAR_X] = "shear_x_n",
	[COL_SHEAR_Y] = "shear_y_n", [COL_TILT] = "tilt_deg",
};

struct sg_csv_reader {
	FILE *f;			/* file source, or NULL for memory */
	const char *mem;
	size_t memlen, mempos;
	unsigned long line;		/* physical line number of buf */
	unsigned ncols;			/* header fields (trailing empty dropped) */
	unsigned nneeded;		/* fields up to the last known column */
	uint8_t cols[CSV_FIELDS_MAX];	/* field index -> enum csv_col */
	uint8_t has;
	bool bom_checked;
	char ignored[CSV_IGNORED_MAX];	/* unknown column names, ", "-separated */
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
	if (!r->bom_checked) {
		/* A UTF-8 byte order mark (spreadsheets write one) is not data. */
		r->bom_checked = true;
		c = next_char(r);
		if (c == 0xEF) {
			if (next_char(r) != 0xBB || next_char(r) != 0xBF)
				return fail(r, -EINVAL, "not UTF-8 text (bad byte order mark)");
		} else if (c != EOF) {
			if (r->f)
				ungetc(c, r->f);
			else
				r->mempos--;
		}
	}
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

/* Trims blanks off [s, *e) in place; returns the new start. */
static char *trim(char *s, char **e)
{
	while (is_blank(*s))
		s++;
	while (*e > s && is_blank((*e)[-1]))
		(*e)--;
	**e = '\0';
	return s;
}

/*
 * Cuts the next field off *pos in place: blanks around it are dropped, and
 * an RFC 4180 quoted field ("a,b" with "" for a quote) is unquoted (blanks
 * inside the quotes are trimmed too: a number or a name never has them).
 * *pos becomes NULL after the last field. NULL on a malformed quote, with
 * the error set.
 */
static char *next_field(struct sg_csv_reader *r, char **pos, unsigned idx)
{
	char *s = *pos, *e;

	while (is_blank(*s))
		s++;
	if (*s != '"') {
		char *comma = strchr(s, ',');

		e = comma ? comma : s + strlen(s);
		*pos = comma ? comma + 1 : NULL;
		return trim(s, &e);
	} else {
		char *in = s + 1, *out = s + 1, *start = s + 1;

		for (;;) {
			if (*in == '\0') {
				fail(r, -EINVAL, "field %u: quote not closed on this line "
				     "(fields spanning lines are not supported)", idx + 1);
				return NULL;
			}
			if (*in == '"') {
				if (in[1] != '"')
					break;
				in++;
			}
			*out++ = *in++;
		}
		e = out;
		in++;	/* the closing quote */
		while (is_blank(*in))
			in++;
		if (*in != ',' && *in != '\0') {
			fail(r, -EINVAL, "field %u: unexpected text after a closing quote",
			     idx + 1);
			return NULL;
		}
		*pos = *in == ',' ? in + 1 : NULL;
		return trim(start, &e);
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

static void note_ignored(struct sg_csv_reader *r, const char *name)
{
	size_t len = strlen(r->ignored);
	size_t room = sizeof(r->ignored) - len;

	if (len && room > 2) {
		memcpy(r->ignored + len, ", ", 3);
		len += 2;
		room -= 2;
	}
	if ((size_t)snprintf(r->ignored + len, room, name[0] == '(' ? "%s" : "'%s'",
			     name) >= room)
		memcpy(r->ignored + sizeof(r->ignored) - 4, "...", 4);
}

static int read_header(struct sg_csv_reader *r)
{
	bool seen[NCOLS] = { false };
	char *pos, *name;
	unsigned n = 0, named = 0;
	double v;
	int rc;

	rc = next_content_line(r);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return fail(r, -EINVAL, "empty file: expected a header line such as t_s,force_n");
	pos = r->buf;
	while (pos) {
		unsigned c;

		name = next_field(r, &pos, n);
		if (!name)
			return r->error;
		if (n == 0 && parse_number(name, &v))
			return fail(r, -EINVAL, "missing header: the first line must name the "
				    "columns (t_s,force_n[,shear_x_n,shear_y_n][,tilt_deg])");
		if (n >= CSV_FIELDS_MAX)
			return fail(r, -EINVAL, "more than %d columns", CSV_FIELDS_MAX);
		for (c = 0; c < NCOLS; c++)
			if (strcmp(name, col_names[c]) == 0)
				break;
		if (c < NCOLS && seen[c])
			return fail(r, -EINVAL, "duplicate column '%s'", col_names[c]);
		if (c < NCOLS) {
			seen[c] = true;
			r->nneeded = n + 1;
		} else if (name[0]) {
			note_ignored(r, name);
		} else {
			c = COL_UNNAMED;
		}
		if (name[0])
			named = n + 1;
		r->cols[n++] = (uint8_t)c;
	}
	/* Empty trailing header fields (trailing commas) are no columns; an
	 * unnamed column elsewhere (e.g. a spreadsheet's row index) is an
	 * ignored column like an unknown one. */
	r->ncols = named;
	for (unsigned i = 0; i < named; i++) {
		if (r->cols[i] == COL_UNNAMED) {
			char what[32];

			snprintf(what, sizeof(what), "(unnamed column %u)", i + 1);
			note_ignored(r, what);
			r->cols[i] = COL_IGNORED;
		}
	}
	for (unsigned c = COL_T; c <= COL_FORCE; c++) {
		if (seen[c])
			continue;
		/* A spreadsheet in a decimal-comma locale writes ';' or tabs */
		if (named == 1 && strpbrk(r->ignored, ";\t"))
			return fail(r, -EINVAL, "missing column '%s' (the header is "
				    "separated by '%s', not by commas: write comma-"
				    "separated values with decimal points)", col_names[c],
				    strchr(r->ignored, ';') ? ";" : "tab");
		return fail(r, -EINVAL, "missing column '%s'%s%s%s", col_names[c],
				    r->ignored[0] ? " (unknown columns: " : "", r->ignored,
				    r->ignored[0] ? "; names are case-sensitive)" : "");
	}
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
	double v[NCOLS] = { 0 };
	char *pos, *field;
	unsigned n = 0;
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
	pos = r->buf;
	while (pos) {
		field = next_field(r, &pos, n);
		if (!field)
			goto out;
		if (n >= r->ncols) {
			/* extra fields are fine only if empty (trailing commas) */
			if (field[0]) {
				unsigned total = n + 1;

				while (pos && next_field(r, &pos, total))
					total++;
				if (!r->error)
					fail(r, -EINVAL, "expected %u fields as in the header, "
					     "found %u", r->ncols, total);
				goto out;
			}
		} else if (r->cols[n] != COL_IGNORED) {
			unsigned c = r->cols[n];

			if (!parse_number(field, &v[c]))
				fail(r, -EINVAL, "column %s: '%.40s' is not a number",
				     col_names[c], field);
			else if (!isfinite(v[c]))
				fail(r, -EINVAL, "column %s: '%.40s' is not a finite number",
				     col_names[c], field);
			if (r->error)
				goto out;
		}
		n++;
	}
	/* Missing trailing fields are fine only for ignored columns. */
	if (n < r->nneeded) {
		fail(r, -EINVAL, "expected %u fields as in the header, found %u",
		     r->ncols, n);
		goto out;
	}
	if (r->have_prev && v[COL_T] < r->prev_t) {
		fail(r, -EINVAL, "time goes backwards (t_s %.9g after %.9g)",
		     v[COL_T], r->prev_t);
		goto out;
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
out:
	copy_err(r, err, errlen);
	return r->error;
}

uint8_t sg_csv_columns(const struct sg_csv_reader *r)
{
	return r ? r->has : 0;
}

const char *sg_csv_ignored(const struct sg_csv_reader *r)
{
	return r && r->ignored[0] ? r->ignored : NULL;
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
