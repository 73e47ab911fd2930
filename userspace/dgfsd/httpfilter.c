// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd's HTTP filter (--http-filter IFACE): the XDP program of
 * bpf/http_filter.bpf.c on IFACE, limiting each client's new connections
 * to the HTTP port (--syn-rate, --syn-burst) before they reach the socket.
 * Attached at start, while dgfsd still has the privileges for it, and
 * taken off at stop. Its counters go to /metrics (metrics.c).
 * docs/DGFSD.md, "The HTTP filter".
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dgfsd.h"
#include "http_filter_loader.h"

int dgfsd_call_in_child(int (*fn)(void *arg, char *why, size_t whylen), void *arg,
			char *err, size_t errlen)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return snprintf(err, errlen, "fork: %s", strerror(errno)), -errno;
	}
	if (pid == 0) {
		char why[512] = "";
		int ret = fn(arg, why, sizeof(why));

		if (ret && write(fds[1], why, strlen(why)) < 0)
			ret = -EIO;
		_exit(ret < 0 && ret > -256 ? -ret : ret ? EIO : 0);
	}
	close(fds[1]);
	n = read(fds[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!err[0])
		snprintf(err, errlen, "the child process failed");
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}

int http_filter_check_iface(const struct dgfsd_config *cfg)
{
	if (cfg->http_filter[0] && !if_nametoindex(cfg->http_filter)) {
		fprintf(stderr, "dgfsd: --http-filter %s: no such interface\n", cfg->http_filter);
		return -1;
	}
	return 0;
}

static int attach(void *arg, char *why, size_t whylen)
{
	const struct dgfsd_config *cfg = arg;
	struct http_filter_config fc = {
		.port = cfg->http_port, .rate = cfg->syn_rate, .burst = cfg->syn_burst,
	};

	return http_filter_attach(cfg->http_filter,
				  cfg->http_filter_skb ? XDP_MODE_SKB : XDP_MODE_NATIVE, &fc, why,
				  whylen);
}

static int detach(void *arg, char *why, size_t whylen)
{
	const struct dgfsd_config *cfg = arg;

	return http_filter_detach(cfg->http_filter, why, whylen);
}

int http_filter_start(struct dgfsd *d)
{
	char err[512];

	if (!d->cfg.http_filter[0])
		return 0;
	if (dgfsd_call_in_child(attach, &d->cfg, err, sizeof(err))) {
		fprintf(stderr, "dgfsd: cannot attach the HTTP filter: %s\n", err);
		return -1;
	}
	d->http_filter_attached = true;
	fprintf(stderr, "dgfsd: HTTP filter on %s (%s): %u new connections per second per "
		"client, %u at once\n", d->cfg.http_filter,
		d->cfg.http_filter_skb ? "skb" : "native", d->cfg.syn_rate, d->cfg.syn_burst);
	return 0;
}

void http_filter_stop(struct dgfsd *d)
{
	char err[512];

	if (!d->http_filter_attached)
		return;
	d->http_filter_attached = false;
	if (dgfsd_call_in_child(detach, &d->cfg, err, sizeof(err)))
		fprintf(stderr, "dgfsd: warning: the HTTP filter stays on %s: %s\n",
			d->cfg.http_filter, err);
}
