/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild storage: the instruments seen and their calibration history.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage-private.h"

/* ======================================================================
 * Calibration history
 * ==================================================================== */

int sgd_store_calibration_add(struct sgd_store *s,
			      struct sgd_calibration_rec *rec)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!rec || !rec->instrument[0])
		return store_set_err(s, -EINVAL, "calibration record needs an instrument");
	for (int i = 0; i < STRIGIL_MAX_CHANNELS; i++)
		if (!isfinite(rec->cal.offset[i]) || !isfinite(rec->cal.scale[i]))
			return store_set_err(s, -EINVAL, "calibration channel %d is not "
					     "a finite number", i);
	if ((r = store_stmt(s, ST_CAL_INSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	B_TXT(&b, 1, rec->instrument);
	b_int(&b, 2, rec->written_us);
	B_TXT(&b, 3, rec->actor);
	b_int(&b, 4, rec->cal.channel_mask);
	/* native doubles: the database never leaves this machine */
	b_blob(&b, 5, rec->cal.offset, sizeof(rec->cal.offset));
	b_blob(&b, 6, rec->cal.scale, sizeof(rec->cal.scale));
	b_int(&b, 7, rec->cal.cal_date);
	b_int(&b, 8, rec->cal.due_date);
	B_TXT(&b, 9, rec->cal.technician);
	if ((r = store_step_done(s, st, &b, "add calibration")))
		return r;
	rec->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static void calibration_row(sqlite3_stmt *st, void *elem)
{
	struct sgd_calibration_rec *c = elem;
	const void *blob;

	c->id = sqlite3_column_int64(st, 0);
	col_txt(st, 1, c->instrument, sizeof(c->instrument));
	c->written_us = sqlite3_column_int64(st, 2);
	col_txt(st, 3, c->actor, sizeof(c->actor));
	c->cal.channel_mask = (uint8_t)sqlite3_column_int(st, 4);
	blob = sqlite3_column_blob(st, 5);
	if (blob && sqlite3_column_bytes(st, 5) == (int)sizeof(c->cal.offset))
		memcpy(c->cal.offset, blob, sizeof(c->cal.offset));
	blob = sqlite3_column_blob(st, 6);
	if (blob && sqlite3_column_bytes(st, 6) == (int)sizeof(c->cal.scale))
		memcpy(c->cal.scale, blob, sizeof(c->cal.scale));
	c->cal.cal_date = sqlite3_column_int64(st, 7);
	c->cal.due_date = sqlite3_column_int64(st, 8);
	col_txt(st, 9, c->cal.technician, sizeof(c->cal.technician));
}

int sgd_store_calibration_list(struct sgd_store *s, const char *instrument,
			       struct sgd_calibration_rec **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s || !out || !n)
		return -EINVAL;
	if ((r = store_stmt(s, instrument ? ST_CAL_LIST : ST_CAL_LIST_ALL, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	if (instrument)
		b_txt(&b, 1, instrument, SGD_SERIAL_MAX);
	return store_list_rows(s, st, &b, sizeof(**out), calibration_row, "list calibrations",
			       (void **)out, n);
}

/* ======================================================================
 * Instruments seen
 * ==================================================================== */

int sgd_store_instrument_seen(struct sgd_store *s,
			      const struct sgd_instrument_rec *rec)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int r;

	if (!s)
		return -EINVAL;
	if (!rec || !rec->serial[0])
		return store_set_err(s, -EINVAL, "instrument needs a serial");
	if ((r = store_stmt(s, ST_INSTR_UPSERT, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	B_TXT(&b, 1, rec->serial);
	B_TXT(&b, 2, rec->model);
	B_TXT(&b, 3, rec->firmware);
	b_int(&b, 4, rec->first_seen_us ? rec->first_seen_us : rec->last_seen_us);
	b_int(&b, 5, rec->last_seen_us);
	return store_step_done(s, st, &b, "record instrument");
}

int sgd_store_instrument_get(struct sgd_store *s, const char *serial,
			     struct sgd_instrument_rec *out)
{
	sqlite3_stmt *st = NULL;
	struct binder b;
	int rc = SQLITE_OK, r;

	if (!s || !serial || !out)
		return -EINVAL;
	if ((r = store_stmt(s, ST_INSTR_GET, &st)))
		return r;
	b = (struct binder){ st, SQLITE_OK };
	b_txt(&b, 1, serial, SGD_SERIAL_MAX);
	rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		col_txt(st, 0, out->serial, sizeof(out->serial));
		col_txt(st, 1, out->model, sizeof(out->model));
		col_txt(st, 2, out->firmware, sizeof(out->firmware));
		out->first_seen_us = sqlite3_column_int64(st, 3);
		out->last_seen_us = sqlite3_column_int64(st, 4);
	}
	done_stmt(st);
	if (rc == SQLITE_DONE)
		return store_set_err(s, -ENOENT, "no instrument %.*s", SGD_SERIAL_MAX,
				     serial);
	if (rc != SQLITE_ROW)
		return store_sql_err(s, rc, "get instrument");
	return 0;
}
