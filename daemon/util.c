/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging, typed errors and small helpers of strigild. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <systemd/sd-journal.h>

#include "daemon.h"
#include "util.h"

static bool log_verbose;
static bool log_to_journal;

/*
 * systemd sets JOURNAL_STREAM=<st_dev>:<st_ino> of the stream it connected
 * to stdout/stderr (systemd.exec(5)). The variable is inherited, so only a
 * match with our own stderr proves stderr is the journal.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(bool verbose)
{
	log_verbose = verbose;
	/* Under systemd stderr is the journal: log natively there (priority,
	 * fields) and never also to stderr. Otherwise (foreground, tests,
	 * demo) readable stderr lines are what a developer wants to see. */
	log_to_journal = stderr_is_journal();
}

bool log_stderr_is_journal(void)
{
	return log_to_journal;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	if (log_to_journal) {
		sd_journal_printv(prio, fmt, ap);
	} else {
		fputs("strigild: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

int object_paths_strv(const void *first, object_step_fn step, char ***nodes)
{
	const void *o, *next;
	size_t n = 0, k = 0;
	char **v;

	for (o = first; o; o = next)
		if (step(o, &next))
			n++;
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (o = first; o && k < n; o = next) {
		const char *path = step(o, &next);

		if (!path)
			continue;
		v[k] = strdup(path);
		if (!v[k]) {
			while (k)
				free(v[--k]);
			free(v);
			return -ENOMEM;
		}
		k++;
	}
	*nodes = v;
	return 1;
}

int object_paths_append(sd_bus_message *m, const void *first, object_step_fn step)
{
	const void *o, *next;
	int r;

	r = sd_bus_message_open_container(m, 'a', "o");
	for (o = first; r >= 0 && o; o = next) {
		const char *path = step(o, &next);

		if (path)
			r = sd_bus_message_append(m, "o", path);
	}
	return r < 0 ? r : sd_bus_message_close_container(m);
}

int64_t object_path_id(const char *path, const char *prefix)
{
	size_t plen = strlen(prefix);
	const char *p;
	int64_t id = 0;

	if (strncmp(path, prefix, plen) != 0 || path[plen] != '/')
		return -1;
	p = path + plen + 1;
	if (*p < '1' || *p > '9' || strlen(p) > 18)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		id = id * 10 + (*p - '0');
	}
	return id;
}

static int id_paths_append(sd_bus_message *m, const char *prefix, const int64_t *ids,
			   size_t n)
{
	char path[256];
	size_t i;
	int r;

	r = sd_bus_message_open_container(m, 'a', "o");
	for (i = 0; r >= 0 && i < n; i++) {
		snprintf(path, sizeof(path), "%s/%" PRId64, prefix, ids[i]);
		r = sd_bus_message_append(m, "o", path);
	}
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int id_paths_strv(const char *prefix, const int64_t *ids, size_t n, char ***nodes)
{
	char **v = calloc(n + 1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (asprintf(&v[i], "%s/%" PRId64, prefix, ids[i]) < 0) {
			while (i)
				free(v[--i]);
			free(v);
			return -ENOMEM;
		}
	*nodes = v;
	return 0;
}

int stored_paths(struct sgd_store *st, store_ids_fn list, const char *prefix,
		 sd_bus_message *m, char ***nodes)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int r;

	r = list(st, &ids, &n);
	if (r >= 0)
		r = m ? id_paths_append(m, prefix, ids, n) : id_paths_strv(prefix, ids, n, nodes);
	free(ids);
	return r;
}

/* Clients (strigilctl) get errno values from sd_bus_error_get_errno(). */
static const sd_bus_error_map strigil_errors[] = {
	SD_BUS_ERROR_MAP(SGD_ERR_INVALID_ARGUMENT, EINVAL),
	SD_BUS_ERROR_MAP(SGD_ERR_CONTRAINDICATED, EPERM),
	SD_BUS_ERROR_MAP(SGD_ERR_NOT_CALIBRATED, ENODATA),
	SD_BUS_ERROR_MAP(SGD_ERR_CALIBRATION_EXPIRED, ESTALE),
	SD_BUS_ERROR_MAP(SGD_ERR_NO_SUCH_OBJECT, ENOENT),
	SD_BUS_ERROR_MAP(SGD_ERR_BUSY, EBUSY),
	SD_BUS_ERROR_MAP(SGD_ERR_DISCONNECTED, ENODEV),
	SD_BUS_ERROR_MAP(SGD_ERR_ACCESS_DENIED, EACCES),
	SD_BUS_ERROR_MAP(SGD_ERR_NOT_CLAIMED, ENOLCK),
	SD_BUS_ERROR_MAP(SGD_ERR_INVALID_STATE, EALREADY),
	SD_BUS_ERROR_MAP(SGD_ERR_STORAGE_FAILED, EIO),
	SD_BUS_ERROR_MAP(SGD_ERR_DEVICE_ERROR, EREMOTEIO),
	SD_BUS_ERROR_MAP_END
};

void errors_register(void)
{
	sd_bus_error_add_map(strigil_errors);
}

int error_storage(sd_bus_error *e, int r, const char *what)
{
	log_err("storage: %s failed: %s", what, strerror(-r));
	return sd_bus_error_setf(e, SGD_ERR_STORAGE_FAILED,
				 "The database refused to %s (%s); nothing was changed. "
				 "Check the disk and the daemon's journal.",
				 what, strerror(-r));
}

int error_invalid(sd_bus_error *e, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return sd_bus_error_set(e, SGD_ERR_INVALID_ARGUMENT, buf);
}

int error_malformed(sd_bus_error *e, int r)
{
	if (sd_bus_error_is_set(e) || r == -ENOMEM)
		return r;
	return sd_bus_error_setf(e, SGD_ERR_INVALID_ARGUMENT,
				 "Malformed arguments (%s); see docs/dbus-api.md for the types.",
				 strerror(-r));
}

static uint64_t now_usec(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_realtime_usec(void)
{
	return now_usec(CLOCK_REALTIME);
}

uint64_t now_monotonic_usec(void)
{
	return now_usec(CLOCK_MONOTONIC);
}

/* Property getters for a field at the vtable entry's offset (sd-bus hands
 * the getter userdata + offset, as for its own built-in getters): a char
 * array (sd-bus's built-in "s" getter wants a char *) and a C bool (its
 * "b" getter reads an int). Numbers and char * paths need no getter. */
int prop_get_chars(sd_bus *bus, const char *path, const char *interface,
		   const char *property, sd_bus_message *reply, void *userdata,
		   sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", (const char *)userdata);
}

int prop_get_bool(sd_bus *bus, const char *path, const char *interface,
		  const char *property, sd_bus_message *reply, void *userdata,
		  sd_bus_error *error)
{
	return sd_bus_message_append(reply, "b", (int)*(const bool *)userdata);
}
