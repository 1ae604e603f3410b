// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sgbench: the measuring D-Bus client of `make bench` (tests/perf/bench.py
 * drives it). Figures only, never asserted. Every command prints one line
 * of "key=value" pairs on stdout, which bench.py reads.
 *
 *   sgbench listen ADDRESS SECONDS
 *       LimitExceeded signals of every session: receipt time (CLOCK_MONOTONIC)
 *       minus the event's arrival_us (when the samples that raised it reached
 *       strigild), i.e. the daemon path through the dbus-daemon. Until
 *       SECONDS have passed or SIGTERM (then what has arrived is counted).
 *       Also the instruments' Alert property changes to "exceeded": the
 *       k-th such change pairs with the k-th LimitExceeded (one per
 *       over-cap stroke), and its receipt minus that event's arrival_us is
 *       the delay of the alarm a screen shows (a line "alert ..." before
 *       the "latency ..." line).
 *   sgbench stream ADDRESS SECONDS INSTRUMENT_PATH...
 *       Instrument.OpenStream() on each path, read every packet for SECONDS:
 *       samples delivered per second, samples dropped by the daemon.
 *   sgbench stall ADDRESS INSTRUMENT_PATH
 *       OpenStream(), print "stalled=1", then never read (until SIGTERM).
 *   sgbench ping ADDRESS SECONDS INSTRUMENT_PATH
 *       Round trips of Properties.Get(Instrument, "Streaming"), back to back
 *       with 10 ms pauses: how responsive the daemon is to another client.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include <strigil/stream.h>

#define NAME		"org.strigil.Strigil1"
#define IFACE_INST	"org.strigil.Strigil1.Instrument"
#define MAX_VALUES	(1u << 20)
#define MAX_STREAMS	64

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int die(const char *what, int r)
{
	fprintf(stderr, "sgbench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static sd_bus *connect_bus(const char *address)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0)
		die("connect to the bus", r);
	return bus;
}

/* A growing list of figures (microseconds). */
struct values {
	uint64_t *v;
	size_t n;
};

static void values_add(struct values *vs, uint64_t x)
{
	if (!vs->v) {
		vs->v = malloc(MAX_VALUES * sizeof(*vs->v));
		if (!vs->v)
			die("malloc", ENOMEM);
	}
	if (vs->n < MAX_VALUES)
		vs->v[vs->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static uint64_t pct(const struct values *vs, double q)
{
	size_t i = (size_t)((double)vs->n * q + 0.999999);

	if (!vs->n)
		return 0;
	if (i < 1)
		i = 1;
	if (i > vs->n)
		i = vs->n;
	return vs->v[i - 1];
}

static void print_values(const char *what, struct values *vs)
{
	qsort(vs->v, vs->n, sizeof(*vs->v), cmp_u64);
	printf("%s n=%zu p50_us=%" PRIu64 " p95_us=%" PRIu64 " p99_us=%" PRIu64
	       " max_us=%" PRIu64 "\n", what, vs->n, pct(vs, 0.50), pct(vs, 0.95),
	       pct(vs, 0.99), vs->n ? vs->v[vs->n - 1] : 0);
	free(vs->v);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

/* ---- listen ---------------------------------------------------------------- */

#define ALERT_RING 65536

struct listen_state {
	struct values lat;
	unsigned missing;	/* signals without arrival_us */
	struct values alert;	/* Alert "exceeded" receipt - arrival_us */
	uint64_t *alert_t;	/* receipts not yet paired */
	size_t alert_head, alert_tail;
	unsigned unpaired;	/* LimitExceeded with no Alert change before it */
};

static int on_props(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct listen_state *st = userdata;
	uint64_t received = now_usec();
	const char *iface, *key, *val;
	int r;

	if (sd_bus_message_read(m, "s", &iface) < 0 ||
	    strcmp(iface, IFACE_INST) != 0)
		return 0;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return 0;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if (sd_bus_message_read(m, "s", &key) < 0)
			return 0;
		if (strcmp(key, "Alert") == 0) {
			if (sd_bus_message_read(m, "v", "s", &val) < 0)
				return 0;
			if (strcmp(val, "exceeded") == 0 &&
			    st->alert_tail - st->alert_head < ALERT_RING)
				st->alert_t[st->alert_tail++ % ALERT_RING] = received;
		} else if (sd_bus_message_skip(m, "v") < 0) {
			return 0;
		}
		if (sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	return 0;
}

static int on_exceeded(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct listen_state *st = userdata;
	uint64_t received = now_usec(), arrival = 0;
	const char *key;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return 0;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if (sd_bus_message_read(m, "s", &key) < 0)
			return 0;
		if (strcmp(key, "arrival_us") == 0) {
			if (sd_bus_message_read(m, "v", "t", &arrival) < 0)
				return 0;
		} else if (sd_bus_message_skip(m, "v") < 0) {
			return 0;
		}
		if (sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	if (arrival) {
		if (st->alert_head < st->alert_tail) {
			uint64_t t = st->alert_t[st->alert_head++ % ALERT_RING];

			values_add(&st->alert, t >= arrival ? t - arrival : 0);
		} else {
			st->unpaired++;
		}
	}
	if (arrival && received >= arrival) {
		values_add(&st->lat, received - arrival);
		/* per event (make bench keeps them: build/bench/daemon-path-*.txt) */
		if (getenv("SGBENCH_EVENTS"))
			fprintf(stderr, "event arrival_us=%llu latency_us=%llu\n",
				(unsigned long long)arrival, (unsigned long long)(received - arrival));
	} else
		st->missing++;
	return 0;
}

static int cmd_listen(const char *address, double seconds)
{
	sd_bus *bus = connect_bus(address);
	struct listen_state st = { { NULL, 0 }, 0, { NULL, 0 }, NULL, 0, 0, 0 };
	uint64_t end = now_usec() + (uint64_t)(seconds * 1e6);
	int r;

	st.alert_t = calloc(ALERT_RING, sizeof(*st.alert_t));
	if (!st.alert_t)
		die("calloc", ENOMEM);
	r = sd_bus_match_signal(bus, NULL, NAME, NULL, "org.strigil.Strigil1.Session",
				"LimitExceeded", on_exceeded, &st);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, NAME, NULL, "org.freedesktop.DBus.Properties",
					"PropertiesChanged", on_props, &st);
	if (r < 0)
		die("add match", r);
	signal(SIGTERM, on_term);
	printf("listening=1\n");
	fflush(stdout);
	for (;;) {
		uint64_t now = now_usec();

		r = sd_bus_process(bus, NULL);
		if (r < 0)
			die("process", r);
		if (r > 0)
			continue;
		/* SIGTERM: what has arrived is processed, then the result. */
		if (now >= end || stop)
			break;
		/* at most 100 ms: a SIGTERM just before the wait is seen */
		r = sd_bus_wait(bus, end - now < 100000 ? end - now : 100000);
		if (r < 0 && r != -EINTR)
			die("wait", r);
	}
	printf("unpaired=%u ", st.unpaired);
	print_values("alert", &st.alert);
	free(st.alert_t);
	printf("without_arrival=%u ", st.missing);
	print_values("latency", &st.lat);
	sd_bus_flush_close_unref(bus);
	return 0;
}

/* ---- stream / stall --------------------------------------------------------- */

static int open_stream(sd_bus *bus, const char *path)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int fd, r;

	r = sd_bus_call_method(bus, NAME, path, IFACE_INST, "OpenStream", &err, &reply, "");
	if (r < 0) {
		fprintf(stderr, "sgbench: OpenStream %s: %s\n", path, err.message);
		exit(1);
	}
	r = sd_bus_message_read(reply, "h", &fd);
	if (r < 0)
		die("read the fd", r);
	/* the fd belongs to the reply: keep a copy of our own */
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		die("dup the fd", errno);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
	return fd;
}

static int cmd_stream(const char *address, double seconds, int npaths, char **paths)
{
	sd_bus *bus = connect_bus(address);
	struct pollfd pfd[MAX_STREAMS];
	uint64_t samples = 0, dropped = 0, lost = 0, packets = 0, bad = 0, gaps = 0, t0, t1, end;
	uint64_t next[MAX_STREAMS] = { 0 };	/* expected first_index per stream */
	struct {
		struct strigil_stream_hdr h;
		struct strigil_stream_sample s[STRIGIL_STREAM_MAX_SAMPLES];
	} pkt;
	int i;

	if (npaths > MAX_STREAMS)
		npaths = MAX_STREAMS;
	for (i = 0; i < npaths; i++)
		pfd[i] = (struct pollfd){ .fd = open_stream(bus, paths[i]), .events = POLLIN };
	t0 = now_usec();
	end = t0 + (uint64_t)(seconds * 1e6);
	while ((t1 = now_usec()) < end) {
		int r = poll(pfd, (nfds_t)npaths, (int)((end - t1) / 1000 + 1));

		if (r < 0 && errno != EINTR)
			die("poll", errno);
		for (i = 0; r > 0 && i < npaths; i++) {
			ssize_t n;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			while ((n = recv(pfd[i].fd, &pkt, sizeof(pkt), MSG_DONTWAIT)) > 0) {
				if ((size_t)n < sizeof(pkt.h) || pkt.h.magic != STRIGIL_STREAM_MAGIC ||
				    (size_t)n != sizeof(pkt.h) + pkt.h.count * sizeof(pkt.s[0])) {
					bad++;
					continue;
				}
				/* every sample is delivered or counted as dropped */
				if (pkt.h.first_index != next[i] + pkt.h.dropped)
					gaps++;
				next[i] = pkt.h.first_index + pkt.h.count;
				packets++;
				samples += pkt.h.count;
				dropped += pkt.h.dropped;
				lost += pkt.h.lost;
			}
			if (n == 0) {
				fprintf(stderr, "sgbench: stream %s closed by the daemon\n", paths[i]);
				exit(1);
			}
		}
	}
	t1 = now_usec();
	printf("streams=%d seconds=%.2f samples=%" PRIu64 " rate=%.0f packets=%" PRIu64
	       " dropped=%" PRIu64 " lost=%" PRIu64 " bad=%" PRIu64 " gaps=%" PRIu64 "\n", npaths,
	       (double)(t1 - t0) / 1e6, samples, (double)samples * 1e6 / (double)(t1 - t0),
	       packets, dropped, lost, bad, gaps);
	for (i = 0; i < npaths; i++)
		close(pfd[i].fd);
	sd_bus_flush_close_unref(bus);
	return 0;
}

static int cmd_stall(const char *address, const char *path)
{
	sd_bus *bus = connect_bus(address);
	int fd = open_stream(bus, path);

	signal(SIGTERM, on_term);
	printf("stalled=1\n");
	fflush(stdout);
	while (!stop)
		pause();	/* never read: the socket fills up */
	close(fd);
	sd_bus_flush_close_unref(bus);
	return 0;
}

/* ---- ping ---------------------------------------------------------------------- */

static int cmd_ping(const char *address, double seconds, const char *path)
{
	sd_bus *bus = connect_bus(address);
	struct values rtt = { NULL, 0 };
	uint64_t end = now_usec() + (uint64_t)(seconds * 1e6);
	unsigned errors = 0;

	while (now_usec() < end) {
		sd_bus_error err = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		uint64_t t0 = now_usec();
		int r;

		r = sd_bus_call_method(bus, NAME, path, "org.freedesktop.DBus.Properties", "Get",
				       &err, &reply, "ss", IFACE_INST, "Streaming");
		if (r < 0)
			errors++;
		else
			values_add(&rtt, now_usec() - t0);
		sd_bus_message_unref(reply);
		sd_bus_error_free(&err);
		usleep(10000);
	}
	printf("errors=%u ", errors);
	print_values("rtt", &rtt);
	sd_bus_flush_close_unref(bus);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "listen") == 0)
		return cmd_listen(argv[2], atof(argv[3]));
	if (argc >= 5 && strcmp(argv[1], "stream") == 0)
		return cmd_stream(argv[2], atof(argv[3]), argc - 4, argv + 4);
	if (argc == 4 && strcmp(argv[1], "stall") == 0)
		return cmd_stall(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "ping") == 0)
		return cmd_ping(argv[2], atof(argv[3]), argv[4]);
	fprintf(stderr, "usage: sgbench listen ADDRESS SECONDS\n"
			"       sgbench stream ADDRESS SECONDS INSTRUMENT_PATH...\n"
			"       sgbench stall ADDRESS INSTRUMENT_PATH\n"
			"       sgbench ping ADDRESS SECONDS INSTRUMENT_PATH\n");
	return 2;
}
