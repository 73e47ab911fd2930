// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsctl top (also installed as dgfs-top): the module's fast path live,
 * as bcc's *top tools show theirs. Every interval it reads the counters,
 * the latency histograms and the clients over netlink and prints what
 * moved since the last read: requests, replies and bytes per second, the
 * latency percentiles of that interval's requests and disk reads, cache
 * misses, the rings' backlog and drops, and the busiest clients.
 *
 * On a terminal the frame is redrawn in place (q or Ctrl-C quits); else,
 * or with a count, frames follow each other, separated by a blank line,
 * which is what tests read.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <linux/dgfs.h>

#include "clients.h"
#include "dgfsctl.h"
#include "parse.h"
#include "stats.h"
#include "top.h"

static const char *const wanted[TOP_NSTATS] = {
	[TOP_REQUESTS] = "requests",
	[TOP_REPLIES] = "replies",
	[TOP_BYTES] = "bytes",
	[TOP_DATAGRAMS] = "datagrams",
	[TOP_CACHE_MISSES] = "cache_misses",
	[TOP_SLOW_READS] = "slow_reads",
	[TOP_QUEUED] = "queued",
	[TOP_QUEUED_MAX] = "queued_max",
	[TOP_RING_FULL] = "ring_full",
	[TOP_CLIENT_FULL] = "client_full",
	[TOP_OVERLOADED] = "overloaded",
};

void top_sample_from_stats(struct top_sample *t, const struct stats_info *s)
{
	size_t i, f;

	for (i = 0; i < TOP_NSTATS; i++)
		for (f = 0; f < STATS_NFIELDS; f++)
			if (!strcmp(stats_fields[f].name, wanted[i]))
				t->val[i] = s->val[f];
	t->have_latency = s->have_latency;
	t->request = s->latency[0];
	t->disk = s->latency[1];
}

/* A latency in ns, in 5 characters or so: 850ns, 12.3us, 4.50ms, 1.23s. */
static const char *dur(double ns, char *buf, size_t len)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e5)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e6)
		snprintf(buf, len, "%.0fus", ns / 1e3);
	else if (ns < 1e8)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else if (ns < 1e9)
		snprintf(buf, len, "%.0fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

/* "p50 X p90 Y p99 Z" of a histogram's interval, or dashes if empty. */
static void percentiles(FILE *fp, const struct lat_hist *h)
{
	static const double q[] = { 0.5, 0.9, 0.99 };
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		fprintf(fp, "  p%.0f %s", q[i] * 100,
			lat_hist_count(h) ? dur(lat_hist_quantile(h, q[i]), buf, sizeof(buf)) : "-");
}

void top_render(FILE *fp, const struct top_sample *a, const struct top_sample *b,
		unsigned int nclients)
{
	double secs = (double)(b->at_ns - a->at_ns) / 1e9;
	uint64_t d[TOP_NSTATS];
	struct lat_hist req, disk;
	char when[32], addr[INET6_ADDRSTRLEN];
	struct tm tm;
	time_t now = b->wall;
	size_t i;

	if (secs <= 0)
		secs = 1e-9;
	/* A counter gone back: the module was reloaded; all of it is new. */
	for (i = 0; i < TOP_NSTATS; i++)
		d[i] = b->val[i] >= a->val[i] ? b->val[i] - a->val[i] : b->val[i];
	lat_hist_sub(&req, &b->request, &a->request);
	lat_hist_sub(&disk, &b->disk, &a->disk);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);

	fprintf(fp, "dgfs-top  %s  interval %.1f s\n", when, secs);
	fprintf(fp, "requests/s %10.0f  replies/s %10.0f  MB/s %8.2f  datagrams/s %10.0f\n",
		(double)d[TOP_REQUESTS] / secs, (double)d[TOP_REPLIES] / secs,
		(double)d[TOP_BYTES] / secs / 1e6, (double)d[TOP_DATAGRAMS] / secs);
	if (b->have_latency) {
		fprintf(fp, "latency   ");
		percentiles(fp, &req);
		fprintf(fp, "  (%" PRIu64 " requests)\n", lat_hist_count(&req));
		fprintf(fp, "disk reads/s %6.0f", (double)lat_hist_count(&disk) / secs);
		percentiles(fp, &disk);
		fprintf(fp, "\n");
	} else {
		fprintf(fp, "latency    (this dgfs.ko keeps no histograms)\n");
	}
	fprintf(fp, "cache misses/s %6.0f  slow reads now %" PRIu64 "\n",
		(double)d[TOP_CACHE_MISSES] / secs, b->val[TOP_SLOW_READS]);
	fprintf(fp, "rings     queued %" PRIu64 "  fullest %" PRIu64 "/%u (%.0f%%)"
		"  dropped/s ring_full %.0f client_full %.0f  overloaded/s %.0f\n",
		b->val[TOP_QUEUED], b->val[TOP_QUEUED_MAX], DGFS_RING_CAPACITY,
		100.0 * (double)b->val[TOP_QUEUED_MAX] / DGFS_RING_CAPACITY,
		(double)d[TOP_RING_FULL] / secs, (double)d[TOP_CLIENT_FULL] / secs,
		(double)d[TOP_OVERLOADED] / secs);
	fprintf(fp, "\n");
	if (b->clients_err) {
		fprintf(fp, "clients: %s\n", b->clients_err == -EPERM ?
			"not shown (needs CAP_NET_ADMIN)" : strerror(-b->clients_err));
		return;
	}
	fprintf(fp, "%-40s %10s %12s\n", "CLIENT", "REQ/S", "REQUESTS");
	for (i = 0; i < b->clients.n && i < nclients; i++) {
		const struct client_info *c = &b->clients.items[i];

		fprintf(fp, "%-40s %10.0f %12" PRIu64 "%s\n",
			client_addr_str(c->addr, addr, sizeof(addr)), (double)c->rate / secs,
			c->requests, c->shared ? "  (shared flow)" : "");
	}
	if (b->clients.n > nclients)
		fprintf(fp, "... and %zu more\n", b->clients.n - nclients);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One read of everything: 0, or EXIT_ERROR after saying why. */
static int top_read(struct dgfsctl *ctl, struct top_sample *t,
		    const struct client_list *before)
{
	struct stats_info s = { 0 };
	struct dgfs_req_error err = { 0 };
	struct dgfs_req sreq = {
		.cmd = DGFS_CMD_STATS_GET,
		.parse = stats_parse_reply,
		.arg = &s,
		.what = "getting the statistics",
	};
	struct dgfs_req creq = {
		.cmd = DGFS_CMD_CLIENTS_GET,
		.dump = true,
		.error = &err,
		.parse = clients_parse_reply,
		.reset = client_list_reset,
		.arg = &t->clients,
		.what = "dumping the clients",
	};

	if (dgfs_nl_request(&ctl->nl, &sreq))
		return EXIT_ERROR;
	if (!s.valid) {
		fprintf(stderr, "dgfsctl: %s: the kernel sent no statistics\n", sreq.what);
		return EXIT_ERROR;
	}
	t->at_ns = mono_ns();
	t->wall = time(NULL);
	top_sample_from_stats(t, &s);
	t->clients_err = 0;
	if (dgfs_nl_request(&ctl->nl, &creq)) {
		/* A kernel's refusal (no CAP_NET_ADMIN, an older module) is
		 * shown in the frame; a socket failure was reported.
		 */
		if (!err.error)
			return EXIT_ERROR;
		t->clients_err = err.error;
		client_list_reset(&t->clients);
		return EXIT_OK;
	}
	client_list_merge(&t->clients);
	client_list_rates(&t->clients, before);
	return EXIT_OK;
}

static volatile sig_atomic_t top_stop;

static void top_on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

/*
 * Waits @ms for the interval to pass; true if q was pressed or a signal
 * came. A terminal that hangs up stops the key reading (*@keys), not top.
 */
static bool top_wait(int ms, bool *keys)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;
	char c;

	while (!top_stop) {
		uint64_t now = mono_ns();

		if (now >= end)
			return false;
		if (!*keys) {
			struct timespec ts = {
				.tv_sec = (time_t)((end - now) / 1000000000u),
				.tv_nsec = (long)((end - now) % 1000000000u),
			};

			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&pfd, 1, (int)((end - now + 999999) / 1000000)) <= 0)
			continue;
		if (read(STDIN_FILENO, &c, 1) != 1 || (pfd.revents & (POLLHUP | POLLERR)))
			*keys = false;
		else if (c == 'q' || c == 'Q')
			return true;
	}
	return true;
}

static const char *kw_interval(const char *arg, void *dst)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0.1 && v <= 3600))
		return "interval must be 0.1 to 3600 seconds";
	*(double *)dst = v;
	return NULL;
}

static const char *kw_count(const char *arg, void *dst)
{
	uint64_t v;

	if (parse_size(arg, &v) || v < 1 || v > 1000000 || strspn(arg, "0123456789") != strlen(arg))
		return "must be a number from 1 to 1000000";
	*(unsigned int *)dst = (unsigned int)v;
	return NULL;
}

static int top_cmd(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd, int argc, char **argv)
{
	double interval = 1.0;
	unsigned int count = 0, nclients = 10, frame;
	struct keyword kw[] = {
		KEYWORD("interval", kw_interval, &interval),
		KEYWORD("count", kw_count, &count),
		KEYWORD("clients", kw_count, &nclients),
	};
	struct top_sample s[2];
	struct termios saved, raw;
	bool screen, keys = false, raw_set = false;
	char err[256];
	int ret, cur = 0;

	if (parse_keywords(argc, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)))
		return cmd_usage_error(cmd, "%s", err);
	if (ctl->json)
		return cmd_usage_error(cmd, "top has no JSON output (stats -j has the numbers)");
	/* Redrawn in place on a terminal, unless a count asks for a log. */
	screen = !count && isatty(STDOUT_FILENO);
	memset(s, 0, sizeof(s));
	if ((ret = top_read(ctl, &s[0], &s[1].clients)))
		return ret;
	top_stop = 0;
	signal(SIGINT, top_on_signal);
	signal(SIGTERM, top_on_signal);
	if (screen && isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved)) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		keys = raw_set = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	if (screen)
		printf("\033[?25l");	/* no cursor while redrawing */
	for (frame = 0; !count || frame < count; frame++) {
		if (top_wait((int)(interval * 1000), &keys))
			break;
		client_list_reset(&s[!cur].clients);
		if ((ret = top_read(ctl, &s[!cur], &s[cur].clients)))
			break;
		if (screen)
			printf("\033[H\033[2J");
		else if (frame)
			printf("\n");
		top_render(stdout, &s[cur], &s[!cur], nclients);
		if (screen)
			printf("(q quits)\n");
		fflush(stdout);
		cur = !cur;
	}
	if (screen)
		printf("\033[?25h");
	if (raw_set)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	client_list_reset(&s[0].clients);
	client_list_reset(&s[1].clients);
	return ret;
}

const struct dgfsctl_cmd top_cmds[] = {
	{ "show", top_cmd, "top [interval SECS] [count N] [clients N]" },
	{ NULL, NULL, NULL },
};
