/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The link to the centre: libpq in non-blocking mode inside sd-event (the
 * shape of PostgreSQL's src/test/examples/testlibpq2.c: the socket in the
 * loop, PQconsumeInput, PQnotifies, PQisBusy/PQgetResult) and the job
 * runner: one job's statements are sent one after the other with
 * PQsendQueryParams (every value a parameter, never spliced into SQL); a
 * failed statement rolls the whole job back. A lost connection fails the
 * job in flight (whatever it sent is either committed or not; the retry is
 * idempotent) and a timer with backoff reconnects.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sync.h"

/* ---- jobs ---------------------------------------------------------------- */

struct job *job_new(const char *what, bool tx, job_done_fn done, void *ud)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->what = what;
	j->in_tx = tx;
	j->done = done;
	j->ud = ud;
	if (tx && job_add(j, "BEGIN", NULL, NULL, 0) < 0) {
		free(j);
		return NULL;
	}
	return j;
}

int job_addv(struct job *j, const char *sql, step_fn fn, void *ud, int n,
	     const char *const *params)
{
	struct step *st;
	int i;

	if (j->nsteps == j->cap) {
		size_t nc = j->cap ? j->cap * 2 : 8;
		struct step *ns = realloc(j->steps, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		j->steps = ns;
		j->cap = nc;
	}
	st = &j->steps[j->nsteps];
	memset(st, 0, sizeof(*st));
	st->sql = strdup(sql);
	st->params = n ? calloc((size_t)n, sizeof(char *)) : NULL;
	if (!st->sql || (n && !st->params)) {
		free(st->sql);
		free(st->params);
		return -ENOMEM;
	}
	st->nparams = n;
	for (i = 0; i < n; i++)
		if (params[i] && !(st->params[i] = strdup(params[i])))
			goto nomem;
	st->fn = fn;
	st->ud = ud;
	j->nsteps++;
	return 0;
nomem:
	for (i = 0; i < n; i++)
		free(st->params[i]);
	free(st->params);
	free(st->sql);
	return -ENOMEM;
}

int job_add(struct job *j, const char *sql, step_fn fn, void *ud, int n, ...)
{
	const char *p[16];
	va_list ap;
	int i;

	if (n > 16)
		return -E2BIG;
	va_start(ap, n);
	for (i = 0; i < n; i++)
		p[i] = va_arg(ap, const char *);
	va_end(ap);
	return job_addv(j, sql, fn, ud, n, p);
}

int job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->error, sizeof(j->error), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

void job_free(struct job *j)
{
	size_t i;
	int k;

	if (!j)
		return;
	for (i = 0; i < j->nsteps; i++) {
		for (k = 0; k < j->steps[i].nparams; k++)
			free(j->steps[i].params[k]);
		free(j->steps[i].params);
		free(j->steps[i].sql);
	}
	free(j->steps);
	free(j);
}

const char *pg_result_error(const PGresult *res)
{
	static char buf[512];
	const char *m = res ? PQresultErrorMessage(res) : "";
	size_t n;

	snprintf(buf, sizeof(buf), "%s", m && *m ? m : "no result");
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

/* ---- the running job ----------------------------------------------------- */

static void arm_retry(struct sync *s);

static void job_end(struct sync *s, bool ok)
{
	struct job *j = s->job;

	s->job = NULL;
	if (s->last_res) {
		PQclear(s->last_res);
		s->last_res = NULL;
	}
	if (!j)
		return;
	if (!ok && !j->error[0])
		snprintf(j->error, sizeof(j->error), "%s failed", j->what);
	if (j->done)
		j->done(s, j, ok, j->ud);
	job_free(j);
	if (!ok && s->link == LINK_ONLINE) {
		/* retried after the backoff, never in a tight loop */
		s->hold = true;
		arm_retry(s);
	} else if (ok) {
		s->retry_s = 0.25;
	}
}

static int watch(struct sync *s, uint32_t events);

static void send_next(struct sync *s)
{
	struct job *j = s->job;
	struct step *st;
	int r;

	if (!j)
		return;
	if (j->next == j->nsteps) {
		if (j->in_tx && (j->nsteps == 0 || strcmp(j->steps[j->nsteps - 1].sql, "COMMIT"))) {
			if (job_add(j, "COMMIT", NULL, NULL, 0) < 0) {
				job_fail(j, "out of memory");
				pg_disconnect(s, "out of memory");
				return;
			}
		} else {
			job_end(s, true);
			sync_kick(s);
			return;
		}
	}
	st = &j->steps[j->next];
	if (!PQsendQueryParams(s->pg, st->sql, st->nparams, NULL,
			       (const char *const *)st->params, NULL, NULL, 0)) {
		job_fail(j, "%s: %s", j->what, PQerrorMessage(s->pg));
		pg_disconnect(s, PQerrorMessage(s->pg));
		return;
	}
	r = PQflush(s->pg);
	if (r < 0) {
		pg_disconnect(s, PQerrorMessage(s->pg));
		return;
	}
	s->want_flush = r == 1;
	watch(s, EPOLLIN | (s->want_flush ? EPOLLOUT : 0));
}

/* A statement's results are all in: check, hand to its step, go on. */
static void step_finished(struct sync *s)
{
	struct job *j = s->job;
	PGresult *res = s->last_res;
	struct step *st = &j->steps[j->next];
	ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int r = 0;

	if (strcmp(st->sql, "ROLLBACK") == 0 && j->error[0]) {
		job_end(s, false);	/* the rollback of a failed job */
		return;
	}
	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		job_fail(j, "%s: %s", j->what, pg_result_error(res));
		r = -EIO;
	} else if (st->fn) {
		r = st->fn(s, j, res, st->ud);
		if (r < 0 && !j->error[0])
			job_fail(j, "%s: step failed (%d)", j->what, r);
	}
	if (res) {
		PQclear(res);
		s->last_res = NULL;
	}
	if (r < 0) {
		if (j->in_tx) {
			/* never half-way: everything since BEGIN is undone */
			j->next = j->nsteps;
			if (job_add(j, "ROLLBACK", NULL, NULL, 0) < 0) {
				pg_disconnect(s, "out of memory");
				return;
			}
			send_next(s);
			return;
		}
		job_end(s, false);
		return;
	}
	j->next++;
	send_next(s);
}

static void read_notifies(struct sync *s)
{
	PGnotify *n;

	while ((n = PQnotifies(s->pg))) {
		if (strcmp(n->relname, "strigil_profiles") == 0)
			s->need_profiles_pull = true;
		PQfreemem(n);
	}
}

static int on_pg_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct sync *s = userdata;

	if (s->link == LINK_CONNECTING) {
		PostgresPollingStatusType ps = PQconnectPoll(s->pg);

		if (ps == PGRES_POLLING_FAILED) {
			pg_disconnect(s, PQerrorMessage(s->pg));
			return 0;
		}
		if (ps == PGRES_POLLING_OK) {
			struct job *j;

			PQsetnonblocking(s->pg, 1);
			s->link = LINK_ONLINE;
			s->hold = false;
			s->retry_s = 0.25;
			fprintf(stderr, "strigil-sync: connected to %s (TLS %s)\n", s->server,
				PQsslInUse(s->pg) ? "on" : "off");
			sync_status_changed(s, "Link");
			watch(s, EPOLLIN);
			/* NOTIFY first, then everything that may have been
			 * missed while apart */
			j = job_new("listen", false, NULL, NULL);
			if (!j || job_add(j, "LISTEN strigil_profiles", NULL, NULL, 0) < 0) {
				job_free(j);
				pg_disconnect(s, "out of memory");
				return 0;
			}
			s->need_profiles_push = s->need_profiles_pull = s->need_records = true;
			pg_run(s, j);
			return 0;
		}
		watch(s, ps == PGRES_POLLING_WRITING ? EPOLLOUT : EPOLLIN);
		return 0;
	}
	if (revents & EPOLLOUT) {
		int r = PQflush(s->pg);

		if (r < 0) {
			pg_disconnect(s, PQerrorMessage(s->pg));
			return 0;
		}
		s->want_flush = r == 1;
		watch(s, EPOLLIN | (s->want_flush ? EPOLLOUT : 0));
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (!PQconsumeInput(s->pg)) {
			pg_disconnect(s, PQerrorMessage(s->pg));
			return 0;
		}
		while (s->job && !PQisBusy(s->pg)) {
			PGresult *res = PQgetResult(s->pg);

			if (!res) {
				step_finished(s);
				if (!s->pg)
					return 0;
				continue;
			}
			if (s->last_res)
				PQclear(s->last_res);
			s->last_res = res;
		}
		if (PQstatus(s->pg) == CONNECTION_BAD) {
			pg_disconnect(s, PQerrorMessage(s->pg));
			return 0;
		}
		/* after the results: libpq parses a NOTIFY that came in the same
		 * read as a result only in PQisBusy/PQgetResult, and no new byte
		 * may ever wake us for it */
		if (!s->job)
			PQisBusy(s->pg);	/* parses what was read */
		read_notifies(s);
	}
	if (!s->job)
		sync_kick(s);
	return 0;
}

static int watch(struct sync *s, uint32_t events)
{
	int fd = PQsocket(s->pg);

	if (s->pg_io && sd_event_source_get_io_fd(s->pg_io) != fd)
		s->pg_io = sd_event_source_disable_unref(s->pg_io);
	if (!s->pg_io)
		return sd_event_add_io(s->event, &s->pg_io, fd, events, on_pg_io, s);
	return sd_event_source_set_io_events(s->pg_io, events);
}

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sync *s = userdata;

	s->hold = false;
	if (!s->pg)
		pg_connect(s);
	else
		sync_kick(s);
	return 0;
}

static void arm_retry(struct sync *s)
{
	uint64_t when = now_us();

	sd_event_now(s->event, CLOCK_MONOTONIC, &when);
	when += (uint64_t)(s->retry_s * 1e6);
	s->retry_s = s->retry_s * 2 > s->cfg.retry_max_s ? s->cfg.retry_max_s : s->retry_s * 2;
	if (!s->retry_timer)
		sd_event_add_time(s->event, &s->retry_timer, CLOCK_MONOTONIC, when, 10000,
				  on_retry, s);
	else
		sd_event_source_set_time(s->retry_timer, when);
	sd_event_source_set_enabled(s->retry_timer, SD_EVENT_ONESHOT);
}

void pg_disconnect(struct sync *s, const char *why)
{
	char msg[512];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", why && *why ? why : "connection closed");
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (s->job && !s->job->error[0])
		job_fail(s->job, "%s: %s", s->job->what, msg);
	job_end(s, false);
	s->pg_io = sd_event_source_disable_unref(s->pg_io);
	if (s->pg) {
		PQfinish(s->pg);
		s->pg = NULL;
	}
	if (s->link != LINK_OFFLINE) {
		s->link = LINK_OFFLINE;
		sync_status_changed(s, "Link");
	}
	sync_error(s, "server: %s", msg);
	arm_retry(s);
}

int pg_connect(struct sync *s)
{
	const char *const keys[] = { "dbname", "passfile", "application_name",
				     "connect_timeout", "keepalives_idle",
				     "keepalives_interval", "keepalives_count", NULL };
	const char *vals[] = { s->cfg.conninfo, s->cfg.password_file, "strigil-sync",
			       "5", "5", "2", "3", NULL };
	PostgresPollingStatusType ps;

	if (s->pg)
		return 0;
	s->pg = PQconnectStartParams(keys, vals, 1);
	if (!s->pg || PQstatus(s->pg) == CONNECTION_BAD) {
		pg_disconnect(s, s->pg ? PQerrorMessage(s->pg) : "out of memory");
		return -EIO;
	}
	snprintf(s->server, sizeof(s->server), "%s:%s/%s", PQhost(s->pg) ? PQhost(s->pg) : "",
		 PQport(s->pg) ? PQport(s->pg) : "", PQdb(s->pg) ? PQdb(s->pg) : "");
	s->link = LINK_CONNECTING;
	sync_status_changed(s, "Link");
	ps = PQconnectPoll(s->pg);
	if (ps == PGRES_POLLING_FAILED) {
		pg_disconnect(s, PQerrorMessage(s->pg));
		return -EIO;
	}
	return watch(s, ps == PGRES_POLLING_READING ? EPOLLIN : EPOLLOUT);
}

int pg_run(struct sync *s, struct job *j)
{
	if (s->link != LINK_ONLINE || s->job) {
		job_free(j);
		return -EAGAIN;
	}
	s->job = j;
	j->next = 0;
	send_next(s);
	return 0;
}
