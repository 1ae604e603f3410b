/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigil-sync: the clinic network service (docs/network.md).
 *
 *   strigil-sync [--config FILE] [--address ADDR | --user]
 *   strigil-sync migrate [--config FILE] [--sql-dir DIR]
 *
 * Configuration: /etc/strigil/sync.conf (INI, like the policy file):
 *   [server]  conninfo = libpq connection string (sslmode=verify-full and
 *             sslrootcert required), password_file = a libpq passfile
 *             (default: $CREDENTIALS_DIRECTORY/pgpass when systemd's
 *             LoadCredential= gave one)
 *   [local]   database = strigild's database, state = our own
 *   [sync]    batch = records per upload transaction, retry_max_s
 *   [migrate] conninfo = the schema owner's connection (migrate only)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <ini.h>
#include <systemd/sd-daemon.h>

#include "sync.h"

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sync_error(struct sync *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the same error again (a server down for an hour) is logged once */
	if (strcmp(msg, s->last_error) != 0) {
		fprintf(stderr, "strigil-sync: %s\n", msg);
		snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
		s->last_error_us = now_us();
		sync_status_changed(s, "LastError");
	}
}

/* ---- status on D-Bus (org.strigil.Sync1) -------------------------------- */

static const char *link_str(enum link_state l)
{
	return l == LINK_ONLINE ? "online" : l == LINK_CONNECTING ? "connecting" : "offline";
}

static int status_get(sd_bus *bus, const char *path, const char *interface,
		      const char *property, sd_bus_message *reply, void *userdata,
		      sd_bus_error *error)
{
	struct sync *s = userdata;

	if (!strcmp(property, "Link"))
		return sd_bus_message_append(reply, "s", link_str(s->link));
	if (!strcmp(property, "Server"))
		return sd_bus_message_append(reply, "s", s->server);
	if (!strcmp(property, "Backlog"))
		return sd_bus_message_append(reply, "t", s->backlog);
	if (!strcmp(property, "Uploaded"))
		return sd_bus_message_append(reply, "t", s->uploaded);
	if (!strcmp(property, "LastError"))
		return sd_bus_message_append(reply, "s", s->last_error);
	if (!strcmp(property, "LastErrorAt"))
		return sd_bus_message_append(reply, "t", s->last_error_us);
	if (!strcmp(property, "LastSyncAt"))
		return sd_bus_message_append(reply, "t", s->last_sync_us);
	if (!strcmp(property, "Merges"))
		return sd_bus_message_append(reply, "u", s->merges);
	if (!strcmp(property, "Rejected"))
		return sd_bus_message_append(reply, "u", s->rejected);
	return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s.",
				 property);
}

#define P(n, t) SD_BUS_PROPERTY(n, t, status_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
static const sd_bus_vtable status_vtable[] = {
	SD_BUS_VTABLE_START(0),
	P("Link", "s"),
	P("Server", "s"),
	P("Backlog", "t"),
	P("Uploaded", "t"),
	P("LastError", "s"),
	P("LastErrorAt", "t"),
	P("LastSyncAt", "t"),
	P("Merges", "u"),
	P("Rejected", "u"),
	SD_BUS_VTABLE_END
};

void sync_status_changed(struct sync *s, const char *prop)
{
	if (!s->bus || !s->status_slot)
		return;
	sd_bus_emit_properties_changed(s->bus, SYNC_PATH, SYNC_IFACE, prop,
				       !strcmp(prop, "LastError") ? "LastErrorAt" : NULL, NULL);
	sd_notifyf(0, "STATUS=%s, %" PRIu64 " record(s) waiting%s%s", link_str(s->link),
		   s->backlog, s->last_error[0] ? ", last error: " : "", s->last_error);
}

static void update_backlog(struct sync *s)
{
	int64_t b = local_backlog(s);

	if (b >= 0 && (uint64_t)b != s->backlog) {
		s->backlog = (uint64_t)b;
		sync_status_changed(s, "Backlog");
	}
}

/* ---- scheduling ----------------------------------------------------------- */

void sync_kick(struct sync *s)
{
	struct job *j;
	bool nothing;

	if (s->link != LINK_ONLINE || s->job || s->hold)
		return;
	/* local profile edits first: a pull never overwrites one */
	if (s->need_profiles_push) {
		j = profiles_push_job(s, &nothing);
		if (j) {
			pg_run(s, j);
			return;
		}
		s->need_profiles_push = false;
	}
	if (s->need_profiles_pull) {
		s->need_profiles_pull = false;
		j = profiles_pull_job(s);
		if (j) {
			pg_run(s, j);
			return;
		}
	}
	if (s->need_records) {
		s->need_records = false;
		j = records_job(s);
		if (j) {
			pg_run(s, j);
			return;
		}
	}
	update_backlog(s);
}

static int pending_cb(void *ud, int n, char **v, char **names)
{
	return 1;	/* one row is enough: abort */
}

static int on_kick_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sync *s = userdata;

	s->need_profiles_push = s->need_records = true;
	/* a profile strigild refused before (e.g. Busy: its session was
	 * running) is tried again when strigild has written something */
	if (sqlite3_exec(s->sdb, "SELECT 1 FROM pending LIMIT 1", pending_cb, s, NULL) == SQLITE_ABORT)
		s->need_profiles_pull = true;
	update_backlog(s);
	sync_kick(s);
	return 0;
}

/* strigild wrote: look after a short quiet time (a block of strokes is
 * many writes), never more often than every 50 ms. */
static int on_inotify(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct sync *s = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t now;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	sd_event_now(s->event, CLOCK_MONOTONIC, &now);
	if (sd_event_source_get_enabled(s->kick_timer, NULL) == 0) {
		sd_event_source_set_time(s->kick_timer, now + 50000);
		sd_event_source_set_enabled(s->kick_timer, SD_EVENT_ONESHOT);
	}
	return 0;
}

/* ---- configuration ------------------------------------------------------- */

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct config *c = user;
	char **dst = NULL;

	if (!strcmp(section, "server") && !strcmp(name, "conninfo"))
		dst = &c->conninfo;
	else if (!strcmp(section, "server") && !strcmp(name, "password_file"))
		dst = &c->password_file;
	else if (!strcmp(section, "local") && !strcmp(name, "database"))
		dst = &c->local_db;
	else if (!strcmp(section, "local") && !strcmp(name, "state"))
		dst = &c->state_db;
	else if (!strcmp(section, "sync") && !strcmp(name, "batch")) {
		char *end;
		long v = strtol(value, &end, 10);

		if (*end || v < 1 || v > 100000)
			return 0;
		c->batch = (int)v;
		return 1;
	} else if (!strcmp(section, "sync") && !strcmp(name, "retry_max_s")) {
		char *end;
		double v = strtod(value, &end);

		if (*end || !(v >= 0.1 && v <= 3600))
			return 0;
		c->retry_max_s = v;
		return 1;
	} else if (!strcmp(section, "migrate") && !strcmp(name, "conninfo")) {
		return 1;	/* read by migrate */
	} else {
		return 0;
	}
	free(*dst);
	*dst = strdup(value);
	return *dst ? 1 : 0;
}

/* TLS with the clinic's CA and the server's name checked, or nothing. */
static int check_conninfo(const char *ci, char *err, size_t errlen)
{
	PQconninfoOption *opts, *o;
	char *perr = NULL;
	const char *mode = NULL, *root = NULL, *host = NULL;
	int r = 0;

	opts = PQconninfoParse(ci, &perr);
	if (!opts) {
		snprintf(err, errlen, "[server] conninfo: %s", perr ? perr : "out of memory");
		PQfreemem(perr);
		return -EINVAL;
	}
	for (o = opts; o->keyword; o++) {
		if (!strcmp(o->keyword, "sslmode"))
			mode = o->val;
		else if (!strcmp(o->keyword, "sslrootcert"))
			root = o->val;
		else if (!strcmp(o->keyword, "host"))
			host = o->val;
		else if (!strcmp(o->keyword, "password") && o->val) {
			snprintf(err, errlen, "[server] conninfo must not hold a password: put it in "
				 "a root-only password file (password_file) or a systemd credential");
			r = -EINVAL;
		}
	}
	if (!r && (!mode || strcmp(mode, "verify-full"))) {
		snprintf(err, errlen, "[server] conninfo needs sslmode=verify-full (TLS with the "
			 "server's certificate and name checked against the clinic's CA)");
		r = -EINVAL;
	} else if (!r && (!root || !*root)) {
		snprintf(err, errlen, "[server] conninfo needs sslrootcert=<the clinic's CA file>");
		r = -EINVAL;
	} else if (!r && (!host || !*host || host[0] == '/')) {
		snprintf(err, errlen, "[server] conninfo needs the server's host name");
		r = -EINVAL;
	}
	PQconninfoFree(opts);
	return r;
}

/* Credentials never in a world-readable file (libpq checks 0600 too). */
static int check_secret_file(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "password file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "password file %s is readable by others (mode %04o); "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int load_config(const char *path, struct config *c, char *err, size_t errlen)
{
	const char *cred = getenv("CREDENTIALS_DIRECTORY");
	int line;

	c->local_db = strdup("/var/lib/strigil/strigil.db");
	c->state_db = strdup("/var/lib/strigil-sync/state.db");
	c->batch = 5000;
	c->retry_max_s = 30;
	line = ini_parse(path, ini_cb, c);
	if (line < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	if (line > 0) {
		snprintf(err, errlen, "%s:%d: unknown key or bad value", path, line);
		return -EINVAL;
	}
	if (!c->conninfo) {
		snprintf(err, errlen, "%s: [server] conninfo is missing", path);
		return -EINVAL;
	}
	if (!c->password_file && cred) {
		if (asprintf(&c->password_file, "%s/pgpass", cred) < 0)
			return -ENOMEM;
		if (access(c->password_file, R_OK) < 0) {
			free(c->password_file);
			c->password_file = NULL;
		}
	}
	if (c->password_file && check_secret_file(c->password_file, err, errlen) < 0)
		return -EPERM;
	return check_conninfo(c->conninfo, err, errlen);
}

/* ---- migrate: the central schema ---------------------------------------- */

struct mig_cfg {
	char *conninfo;
};

static int mig_ini(void *user, const char *section, const char *name, const char *value)
{
	struct mig_cfg *m = user;

	if (!strcmp(section, "migrate") && !strcmp(name, "conninfo")) {
		free(m->conninfo);
		m->conninfo = strdup(value);
	}
	return 1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/*
 * Applies sql-dir/NNN-*.sql in order, each in one transaction with its
 * record in strigil_migrations; steps already recorded are skipped. Run
 * by the schema owner (an administrator), never by a PC role.
 */
static int migrate(const char *config, const char *dir)
{
	struct mig_cfg m = { 0 };
	char *names[256];
	size_t n = 0, i;
	struct dirent *de;
	PGconn *c;
	PGresult *res;
	DIR *d;
	int rc = 1;

	ini_parse(config, mig_ini, &m);
	if (!m.conninfo) {
		fprintf(stderr, "strigil-sync migrate: %s has no [migrate] conninfo (the schema "
			"owner's connection)\n", config);
		return 1;
	}
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "strigil-sync migrate: %s: %s\n", dir, strerror(errno));
		free(m.conninfo);
		return 1;
	}
	while ((de = readdir(d)) && n < 256) {
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".sql") && de->d_name[0] >= '0' &&
		    de->d_name[0] <= '9')
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	c = PQconnectdb(m.conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "strigil-sync migrate: %s", PQerrorMessage(c));
		goto out;
	}
	res = PQexec(c, "CREATE TABLE IF NOT EXISTS strigil_migrations ("
		     " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "strigil-sync migrate: %s", PQresultErrorMessage(res));
		PQclear(res);
		goto out;
	}
	PQclear(res);
	for (i = 0; i < n; i++) {
		const char *p1[1] = { names[i] };
		char path[4096], *sql;
		bool done;

		res = PQexecParams(c, "SELECT 1 FROM strigil_migrations WHERE name = $1", 1, NULL,
				   p1, NULL, NULL, 0);
		done = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
		PQclear(res);
		if (done)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		sql = read_file(path);
		if (!sql) {
			fprintf(stderr, "strigil-sync migrate: cannot read %s\n", path);
			goto out;
		}
		PQclear(PQexec(c, "BEGIN"));
		res = PQexec(c, sql);
		free(sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "strigil-sync migrate: %s: %s", names[i],
				PQresultErrorMessage(res));
			PQclear(res);
			PQclear(PQexec(c, "ROLLBACK"));
			goto out;
		}
		PQclear(res);
		res = PQexecParams(c, "INSERT INTO strigil_migrations (name) VALUES ($1)", 1, NULL,
				   p1, NULL, NULL, 0);
		PQclear(res);
		res = PQexec(c, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "strigil-sync migrate: %s: %s", names[i],
				PQresultErrorMessage(res));
			PQclear(res);
			goto out;
		}
		PQclear(res);
		printf("applied %s\n", names[i]);
	}
	rc = 0;
out:
	PQfinish(c);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(m.conninfo);
	return rc;
}

/* ---- main ----------------------------------------------------------------- */

static void free_config(struct config *c)
{
	free(c->conninfo);
	free(c->password_file);
	free(c->local_db);
	free(c->state_db);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "address", required_argument, NULL, 'a' },
		{ "user", no_argument, NULL, 'u' },
		{ "sql-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *config = "/etc/strigil/sync.conf", *address = NULL;
	const char *sqldir = "/usr/share/strigil/central";
	struct sync s = { 0 };
	char err[512] = "", *dbdir = NULL;
	bool user = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "c:a:ud:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'a': address = optarg; break;
		case 'u': user = true; break;
		case 'd': sqldir = optarg; break;
		case 'h':
			printf("usage: strigil-sync [--config FILE] [--address ADDR | --user]\n"
			       "       strigil-sync migrate [--config FILE] [--sql-dir DIR]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "migrate"))
		return migrate(config, sqldir);
	if (optind < argc) {
		fprintf(stderr, "strigil-sync: unknown command '%s'\n", argv[optind]);
		return 2;
	}
	if (load_config(config, &s.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "strigil-sync: %s\n", err);
		free_config(&s.cfg);
		return 1;
	}
	s.retry_s = 0.25;
	s.inotify_fd = -1;
	if (local_open(&s, err, sizeof(err)) < 0) {
		fprintf(stderr, "strigil-sync: %s\n", err);
		goto fail;
	}
	r = sd_event_default(&s.event);
	if (r < 0)
		goto fail_r;
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	sd_event_add_signal(s.event, NULL, SIGTERM, NULL, NULL);
	sd_event_add_signal(s.event, NULL, SIGINT, NULL, NULL);

	if (address) {
		r = sd_bus_new(&s.bus);
		if (r >= 0)
			r = sd_bus_set_address(s.bus, address);
		if (r >= 0)
			r = sd_bus_set_bus_client(s.bus, 1);
		if (r >= 0)
			r = sd_bus_start(s.bus);
	} else {
		r = user ? sd_bus_open_user(&s.bus) : sd_bus_open_system(&s.bus);
	}
	if (r < 0) {
		fprintf(stderr, "strigil-sync: cannot connect to the bus: %s\n", strerror(-r));
		goto fail;
	}
	r = sd_bus_attach_event(s.bus, s.event, 0);
	if (r >= 0)
		r = sd_bus_add_object_vtable(s.bus, &s.status_slot, SYNC_PATH, SYNC_IFACE,
					     status_vtable, &s);
	if (r >= 0)
		r = sd_bus_request_name(s.bus, SYNC_BUS_NAME, 0);
	if (r < 0) {
		fprintf(stderr, "strigil-sync: cannot own %s: %s\n", SYNC_BUS_NAME, strerror(-r));
		goto fail;
	}

	/* strigild's writes wake us: the database's directory, its files */
	dbdir = strdup(s.cfg.local_db);
	s.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!dbdir || s.inotify_fd < 0 ||
	    inotify_add_watch(s.inotify_fd, dirname(dbdir), IN_MODIFY | IN_CLOSE_WRITE |
			      IN_CREATE | IN_MOVED_TO) < 0) {
		fprintf(stderr, "strigil-sync: cannot watch %s: %s\n", s.cfg.local_db,
			strerror(errno));
		goto fail;
	}
	sd_event_add_io(s.event, &s.inotify_src, s.inotify_fd, EPOLLIN, on_inotify, &s);
	sd_event_add_time(s.event, &s.kick_timer, CLOCK_MONOTONIC, 0, 10000, on_kick_timer, &s);
	sd_event_source_set_enabled(s.kick_timer, SD_EVENT_OFF);

	update_backlog(&s);
	pg_connect(&s);
	sd_notify(0, "READY=1");
	r = sd_event_loop(s.event);
	sd_notify(0, "STOPPING=1");
	if (s.pg)
		PQfinish(s.pg);
	s.pg = NULL;
	r = 0;
	goto out;
fail_r:
	fprintf(stderr, "strigil-sync: %s\n", strerror(-r));
fail:
	r = 1;
out:
	free(dbdir);
	if (s.job)
		job_free(s.job);
	sd_event_source_disable_unref(s.pg_io);
	sd_event_source_disable_unref(s.retry_timer);
	sd_event_source_disable_unref(s.inotify_src);
	sd_event_source_disable_unref(s.kick_timer);
	if (s.inotify_fd >= 0)
		close(s.inotify_fd);
	sd_bus_slot_unref(s.status_slot);
	sd_bus_flush_close_unref(s.bus);
	sd_event_unref(s.event);
	local_close(&s);
	free_config(&s.cfg);
	return r;
}
