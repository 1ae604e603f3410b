/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * strigild: the Strigil instrument daemon. One sd-event loop drives the
 * bus, the instruments (udev hotplug, IIO, libusb, simulated), sessions
 * with per-sample enforcement and the SQLite store.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "daemon.h"
#include "auth.h"
#include "hotplug.h"
#include "manager.h"
#include "profile.h"
#include "session.h"
#include "util.h"
#include "policy-files.h"

enum bus_kind { BUS_SYSTEM, BUS_USER, BUS_ADDRESS };

/* Bounds of the storage writer's queue (store-writer.h): at a stroke a
 * second that is hours of work kept while storage fails; at most about
 * 4096 x 2.6 KB + 16384 x 0.3 KB = 16 MB of memory. */
#define SGD_WRITER_MAX_RECORDS	16384
#define SGD_WRITER_MAX_JOBS	4096
#define LOOP_BUSY_TIMEOUT_MS	100

struct options {
	enum bus_kind bus;
	const char *address;
	const char *state_dir;
	const char *policy;
	unsigned simulate;
	bool sim_flat;
	bool hotplug;
	bool verbose;
	char *iio_sys, *iio_dev;		/* --iio-root (tests) */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: strigild [OPTIONS]\n"
		"The Strigil instrument daemon (D-Bus name " SGD_BUS_NAME ").\n\n"
		"  --system             use the system bus (default)\n"
		"  --user               use the user's session bus\n"
		"  --address ADDR       use a private bus (tests, demo)\n"
		"  --state-dir DIR      database directory (default $STATE_DIRECTORY\n"
		"                       or /var/lib/strigil)\n"
		"  --policy FILE        clinic policy (default /etc/strigil/policy.conf,\n"
		"                       else /usr/share/strigil/policy.conf, else built in)\n"
		"  --simulate N         add N simulated instruments (SIM0001...)\n"
		"  --sim-signal KIND    realistic (default) or flat (tests)\n"
		"  --no-hotplug         do not watch udev for real instruments\n"
		"  --iio-root SYS:DEV   (tests) also open the IIO instruments of a fake\n"
		"                       sysfs tree SYS with character devices in DEV\n"
		"  --verbose            debug messages\n"
		"  --list-actions       print the polkit action of every method and exit\n"
		"  --help, --version\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { O_SYSTEM = 256, O_USER, O_ADDRESS, O_STATE, O_POLICY, O_SIM, O_SIGNAL,
	       O_NOHOTPLUG, O_VERBOSE, O_VERSION, O_IIO_ROOT, O_LIST_ACTIONS };
	static const struct option longopts[] = {
		{ "system", no_argument, NULL, O_SYSTEM },
		{ "user", no_argument, NULL, O_USER },
		{ "address", required_argument, NULL, O_ADDRESS },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "simulate", required_argument, NULL, O_SIM },
		{ "sim-signal", required_argument, NULL, O_SIGNAL },
		{ "no-hotplug", no_argument, NULL, O_NOHOTPLUG },
		{ "iio-root", required_argument, NULL, O_IIO_ROOT },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "list-actions", no_argument, NULL, O_LIST_ACTIONS },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
		char *end;
		unsigned long v;

		switch (c) {
		case O_SYSTEM: o->bus = BUS_SYSTEM; break;
		case O_USER: o->bus = BUS_USER; break;
		case O_ADDRESS: o->bus = BUS_ADDRESS; o->address = optarg; break;
		case O_STATE: o->state_dir = optarg; break;
		case O_POLICY: o->policy = optarg; break;
		case O_SIM:
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > 64) {
				fprintf(stderr, "strigild: --simulate needs 0 to 64, got '%s'\n", optarg);
				return -EINVAL;
			}
			o->simulate = (unsigned)v;
			break;
		case O_SIGNAL:
			if (strcmp(optarg, "flat") == 0)
				o->sim_flat = true;
			else if (strcmp(optarg, "realistic") == 0)
				o->sim_flat = false;
			else {
				fprintf(stderr, "strigild: --sim-signal is 'realistic' or 'flat'\n");
				return -EINVAL;
			}
			break;
		case O_NOHOTPLUG: o->hotplug = false; break;
		case O_IIO_ROOT: {
			char *colon = strchr(optarg, ':');

			if (!colon || colon == optarg || !colon[1]) {
				fprintf(stderr, "strigild: --iio-root needs SYS:DEV\n");
				return -EINVAL;
			}
			free(o->iio_sys);
			free(o->iio_dev);
			o->iio_sys = strndup(optarg, (size_t)(colon - optarg));
			o->iio_dev = strdup(colon + 1);
			break;
		}
		case O_VERBOSE: o->verbose = true; break;
		case O_VERSION: printf("strigild %s\n", SG_VERSION_STRING); exit(0);
		case O_LIST_ACTIONS: auth_print_table(stdout); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "strigild: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int bus_open(const struct options *o, sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	switch (o->bus) {
	case BUS_SYSTEM: return sd_bus_open_system(ret);
	case BUS_USER: return sd_bus_open_user(ret);
	case BUS_ADDRESS: break;
	}
	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, o->address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, true);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, true);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*ret = bus;
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	log_info("signal %d, exiting", (int)si->ssi_signo);
	sd_notify(0, "STOPPING=1");
	/* A clean stop finishes the sessions in progress now (interrupted,
	 * stored, signalled) instead of leaving them to the next start. */
	session_end_all(d);
	return sd_event_exit(d->event, 0);
}

/* A damaged database (docs/storage.md, "Recovery"): per the clinic
 * policy's [storage] on_damage, refuse to start, or move it aside (kept)
 * and start with a fresh one; the Manager's DamagedDatabase names it. */
static int open_damaged(struct daemon *d, const char *state_dir, char *err)
{
	char why[512], moved[4300];
	int r;

	snprintf(why, sizeof(why), "%s", err);
	sd_journal_send("MESSAGE=damaged database in %s: %s (%s)", state_dir, why,
			d->policy->damaged_start_fresh ? "moved aside, starting with a fresh one"
						       : "not starting: [storage] on_damage = refuse",
			"PRIORITY=%d", LOG_CRIT, "SYSLOG_IDENTIFIER=strigild",
			"STRIGIL_EVENT=storage-damaged", NULL);
	if (!log_stderr_is_journal())
		log_msg(LOG_CRIT, "damaged database in %s: %s", state_dir, why);
	if (!d->policy->damaged_start_fresh) {
		snprintf(err, 512, "%.300s; the clinic policy says refuse ([storage] on_damage): "
			 "restore a backup or see docs/storage.md, Recovery", why);
		return -EBADMSG;
	}
	r = sgd_store_move_aside(state_dir, (int64_t)now_realtime_usec(), moved, sizeof(moved));
	if (r < 0) {
		snprintf(err, 512, "%.300s; cannot move it aside: %s", why, strerror(-r));
		return r;
	}
	log_msg(LOG_CRIT, "damaged database kept as %s; starting with an empty one", moved);
	d->damaged_db = strdup(moved);
	return sgd_store_open(state_dir, &d->store, err, 512);
}

static int on_writer(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	session_writer_dispatch(userdata);
	return 0;
}

/* Record writes run on the storage writer's thread; the loop only hears
 * back through its eventfd. */
static int writer_setup(struct daemon *d, char *err, size_t errlen)
{
	int r;

	r = sgd_writer_new(d->store, SGD_WRITER_MAX_RECORDS, SGD_WRITER_MAX_JOBS, &d->writer,
			   err, errlen);
	if (r < 0)
		return r;
	r = sd_event_add_io(d->event, &d->writer_src, sgd_writer_fd(d->writer), EPOLLIN,
			    on_writer, d);
	if (r < 0) {
		snprintf(err, errlen, "writer event source: %s", strerror(-r));
		return r;
	}
	sd_event_source_set_description(d->writer_src, "storage-writer");
	(void)sd_event_source_set_priority(d->writer_src, SGD_PRIORITY_RECORDS);
	return 0;
}

/* At exit: what is queued gets WRITER_DRAIN_MS to be stored (and
 * signalled); what still cannot be is journalled as lost, record by
 * record. */
#define WRITER_DRAIN_MS 10000

static void writer_shutdown(struct daemon *d)
{
	unsigned left;

	if (!d->writer)
		return;
	left = sgd_writer_drain(d->writer, WRITER_DRAIN_MS);
	if (left)
		log_err("storage still failing at exit: %u job(s) not stored", left);
	sgd_writer_stop(d->writer);
	if (d->bus)
		session_writer_dispatch(d);
	d->writer_src = sd_event_source_disable_unref(d->writer_src);
	sgd_writer_free(d->writer);
	d->writer = NULL;
}

static void daemon_free(struct daemon *d)
{
	writer_shutdown(d);
	while (d->sessions) {
		struct session *s = d->sessions;

		d->sessions = s->next;
		session_free(s);
	}
	while (d->instruments) {
		struct instrument *i = d->instruments;

		d->instruments = i->next;
		instrument_free(i);
	}
	hotplug_free(d);	/* after the instruments: their backends use libusb */
	while (d->profiles) {
		struct profile *p = d->profiles;

		d->profiles = p->next;
		profile_free(p);
	}
	auth_free(d);
	if (d->bus)
		sd_bus_flush_close_unref(d->bus);
	sgd_store_close(d->store);
	sgd_policy_free(d->policy);
	free(d->damaged_db);
	sd_event_unref(d->event);
}

int main(int argc, char **argv)
{
	struct options o = { .bus = BUS_SYSTEM, .hotplug = true };
	struct daemon d = { 0 };
	char err[512];
	sigset_t ss;
	int r, n;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	log_setup(o.verbose);
	if (!o.state_dir)
		o.state_dir = getenv("STATE_DIRECTORY") ?: "/var/lib/strigil";
	if (o.policy) {
		r = sgd_policy_load(o.policy, &d.policy, err, sizeof(err));
	} else {
		static const char *const policy_paths[] = { SGD_POLICY_ETC, SGD_POLICY_VENDOR };

		r = sgd_policy_load_first(policy_paths, 2, &d.policy, &o.policy, err, sizeof(err));
	}
	if (r < 0) {
		log_err("bad clinic policy, not starting: %s", err);
		return 1;
	}
	log_info("clinic policy: %s", o.policy);
	if (mkdir(o.state_dir, 0700) < 0 && errno != EEXIST) {
		log_err("cannot create state directory %s: %m", o.state_dir);
		goto fail;
	}
	{
		unsigned fixed = 0;

		r = sgd_store_secure_dir(o.state_dir, &fixed, err, sizeof(err));
		if (r < 0) {
			log_err("unsafe state directory, not starting: %s", err);
			goto fail;
		}
		if (fixed)
			log_warn("state directory %s: %u mode(s) were too open, set to 0700/0600",
				 o.state_dir, fixed);
	}
	r = sgd_store_open(o.state_dir, &d.store, err, sizeof(err));
	if (r == -EBADMSG)
		r = open_damaged(&d, o.state_dir, err);
	if (r < 0) {
		log_err("cannot open the database in %s: %s", o.state_dir, err);
		goto fail;
	}
	/* The loop's own connection writes little (a new session, a
	 * profile, a calibration) and never waits for another process's
	 * lock: such a method fails (StorageFailed) rather than hold up the
	 * alarm path; it waits only for a commit of the writer thread's.
	 * Records go through the writer. */
	sgd_store_loop_busy(d.store, LOOP_BUSY_TIMEOUT_MS);
	r = sgd_store_prepare_wal(d.store);
	if (r < 0)
		log_info("WAL left at its size (%s): commits may be slower", sgd_store_errmsg(d.store));
	n = sgd_store_mark_interrupted(d.store, (int64_t)now_realtime_usec());
	if (n > 0)
		log_warn("%d session(s) were interrupted by a previous crash", n);

	sg_stroke_config_default(&d.stroke_config);
	/* the policy's [strokes] (0: the engine's default) */
	d.stroke_config.contact_only = d.policy->stroke_rule_contact;
	if (d.policy->reversal_ratio > 0)
		d.stroke_config.reversal_ratio = d.policy->reversal_ratio;
	if (d.policy->reversal_confirm_s > 0)
		d.stroke_config.reversal_confirm_s = d.policy->reversal_confirm_s;
	if (d.policy->reversal_min_n > 0)
		d.stroke_config.reversal_min_n = d.policy->reversal_min_n;
	if (d.policy->direction_tau_s > 0)
		d.stroke_config.direction_tau_s = d.policy->direction_tau_s;
	errors_register();
	r = sd_event_default(&d.event);
	if (r < 0)
		goto fail_r;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	sd_event_add_signal(d.event, NULL, SIGTERM, on_signal, &d);
	sd_event_add_signal(d.event, NULL, SIGINT, on_signal, &d);
	sd_event_set_watchdog(d.event, true);
	r = writer_setup(&d, err, sizeof(err));
	if (r < 0) {
		log_err("cannot start the storage writer: %s", err);
		goto fail;
	}

	r = bus_open(&o, &d.bus);
	if (r < 0) {
		log_err("cannot connect to the bus: %s", strerror(-r));
		goto fail;
	}
	r = sd_bus_attach_event(d.bus, d.event, SD_EVENT_PRIORITY_NORMAL);
	if (r >= 0)
		r = auth_setup(&d);
	if (r >= 0)
		r = manager_setup_bus(&d);
	if (r >= 0)
		r = instrument_setup_bus(&d);
	if (r >= 0)
		r = profile_setup_bus(&d);
	if (r >= 0)
		r = session_setup_bus(&d);
	if (r >= 0)
		r = network_setup_bus(&d);
	if (r >= 0 && o.simulate)
		r = sim_setup_bus(&d);
	if (r < 0)
		goto fail_r;
	r = profiles_load(&d);
	if (r >= 0)
		r = sessions_load(&d);
	if (r < 0)
		goto fail_r;
	d.simulate = o.simulate > 0;
	d.sim_flat = o.sim_flat;
	if (o.simulate) {
		r = sim_add_instruments(&d, o.simulate, o.sim_flat);
		if (r < 0)
			goto fail_r;
	}
	if (o.hotplug) {
		r = hotplug_setup(&d);
		if (r < 0)
			log_warn("hotplug disabled: %s", strerror(-r));
	}
	if (o.iio_sys && iio_scan_root(&d, o.iio_sys, o.iio_dev) < 0)
		log_warn("no IIO instrument under %s", o.iio_sys);
	r = sd_bus_request_name(d.bus, SGD_BUS_NAME, 0);
	if (r < 0) {
		log_err("cannot own %s (bus policy?): %s", SGD_BUS_NAME, strerror(-r));
		goto fail;
	}
	log_info("ready on %s, state in %s", SGD_BUS_NAME, o.state_dir);
	sd_notify(0, "READY=1");
	manager_notify_status(&d);
	r = sd_event_loop(d.event);
	daemon_free(&d);
	free(o.iio_sys);
	free(o.iio_dev);
	return r < 0 ? 1 : 0;
fail_r:
	log_err("start-up failed: %s", strerror(-r));
fail:
	daemon_free(&d);
	free(o.iio_sys);
	free(o.iio_dev);
	return 1;
}
