// SPDX-License-Identifier: GPL-2.0
/*
 * http_filter_loader: attach and detach dgfsd's HTTP filter through
 * libxdp, and read its pinned maps. See http_filter_loader.h.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "dgfs_xdp_loader.h"
#include "http_filter_loader.h"
#include "http_filter.skel.h"

/* Filters on one interface we look at; a dispatcher holds at most 10. */
#define MAX_PROGS	16

static const char *pin_top = HTTP_FILTER_PIN_DIR;

void http_filter_set_pin_dir(const char *dir)
{
	pin_top = dir ? dir : HTTP_FILTER_PIN_DIR;
}

int http_filter_check(const struct http_filter_config *cfg, char *err, size_t errlen)
{
	if (!cfg->port)
		return snprintf(err, errlen, "port 0"), -EINVAL;
	if (!cfg->rate || cfg->rate > HTTP_FILTER_MAX_RATE)
		return snprintf(err, errlen, "SYN rate %u not in 1..%u", cfg->rate,
				HTTP_FILTER_MAX_RATE), -EINVAL;
	if (!cfg->burst || cfg->burst > HTTP_FILTER_MAX_BURST)
		return snprintf(err, errlen, "SYN burst %u not in 1..%u", cfg->burst,
				HTTP_FILTER_MAX_BURST), -EINVAL;
	return 0;
}

/* What is attached to an interface: our filters and the rest. */
struct attached {
	uint32_t ids[MAX_PROGS];	/* filters */
	unsigned int n;
	unsigned int others;
	enum xdp_attach_mode mode;
	bool legacy;			/* one program, no dispatcher */
};

static int find_filters(int ifindex, struct attached *a)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *prog;
	int ret = libxdp_get_error(mp);

	memset(a, 0, sizeof(*a));
	if (ret == -ENOENT || (!ret && !mp))
		return 0;
	if (ret)
		return ret;
	a->mode = xdp_multiprog__attach_mode(mp);
	a->legacy = xdp_multiprog__is_legacy(mp);
	prog = xdp_multiprog__is_legacy(mp) ? xdp_multiprog__main_prog(mp) :
		xdp_multiprog__next_prog(NULL, mp);
	for (; prog; prog = xdp_multiprog__is_legacy(mp) ? NULL :
	     xdp_multiprog__next_prog(prog, mp)) {
		const char *name = xdp_program__name(prog);

		if (name && !strcmp(name, HTTP_FILTER_PROG_NAME) && a->n < MAX_PROGS)
			a->ids[a->n++] = xdp_program__id(prog);
		else
			a->others++;
	}
	xdp_multiprog__close(mp);
	return 0;
}

static int detach_filters(int ifindex, const struct attached *a, char *err, size_t errlen,
			  const char *ifname)
{
	for (unsigned int i = 0; i < a->n; i++) {
		struct xdp_program *prog = xdp_program__from_id(a->ids[i]);
		int ret = libxdp_get_error(prog);

		if (!ret) {
			ret = xdp_program__detach(prog, ifindex, a->mode, 0);
			xdp_program__close(prog);
		}
		if (ret)
			return dgfs_xdp_fail(err, errlen, ret, "cannot detach the HTTP filter %u "
					     "from %s", a->ids[i], ifname);
	}
	return 0;
}

/* A pinned map of another layout (an older filter) would fail the load:
 * unpin it and start from zero (programs still using it keep it).
 */
static void unpin_incompatible(const char *dir, const char *name, uint32_t type,
			       uint32_t key_size, uint32_t value_size, uint32_t max_entries)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    (info.type != type || info.key_size != key_size || info.value_size != value_size ||
	     info.max_entries != max_entries))
		unlink(path);
	close(fd);
}

int http_filter_attach(const char *ifname, enum xdp_attach_mode mode,
		       const struct http_filter_config *cfg, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	DECLARE_LIBXDP_OPTS(xdp_program_opts, prog_opts);
	struct xdp_program *prog = NULL;
	struct http_filter_bpf *skel = NULL;
	struct dgfs_xdp_quiet q;
	struct attached old;
	char dir[PATH_MAX];
	uint32_t interval;
	int ifindex, ret;

	ret = http_filter_check(cfg, err, errlen);
	if (ret)
		return ret;
	if (mode != XDP_MODE_NATIVE && mode != XDP_MODE_SKB)
		return snprintf(err, errlen, "XDP mode must be native or skb"), -EINVAL;
	ifindex = ifname ? (int)if_nametoindex(ifname) : 0;
	if (!ifindex)
		return snprintf(err, errlen, "no interface \"%s\"", ifname ? ifname : ""), -ENODEV;

	dgfs_xdp_quiet_begin(&q);
	ret = dgfs_xdp_netns_dir(pin_top, true, dir, sizeof(dir), err, errlen);
	if (ret)
		goto out;
	unpin_incompatible(dir, HTTP_FILTER_COUNTERS_MAP, BPF_MAP_TYPE_PERCPU_ARRAY,
			   sizeof(__u32), sizeof(struct http_filter_counters), 1);
	unpin_incompatible(dir, HTTP_FILTER_CLIENTS_MAP, BPF_MAP_TYPE_LRU_HASH,
			   sizeof(struct http_filter_key), sizeof(struct http_filter_client),
			   HTTP_FILTER_MAX_CLIENTS);
	open_opts.pin_root_path = dir;
	skel = http_filter_bpf__open_opts(&open_opts);
	if (!skel) {
		ret = dgfs_xdp_fail(err, errlen, -errno, "cannot open the HTTP filter's object");
		goto out;
	}
	interval = 1000000000u / cfg->rate;
	skel->rodata->http_port = cfg->port;
	skel->rodata->interval_ns = interval;
	skel->rodata->tolerance_ns = (uint64_t)(cfg->burst - 1) * interval;

	/* libxdp loads the object itself, as an extension of its dispatcher. */
	prog_opts.obj = skel->obj;
	prog_opts.prog_name = HTTP_FILTER_PROG_NAME;
	prog = xdp_program__create(&prog_opts);
	ret = libxdp_get_error(prog);
	if (ret) {
		prog = NULL;
		dgfs_xdp_fail(err, errlen, ret, "cannot prepare the HTTP filter");
		goto out;
	}
	ret = find_filters(ifindex, &old);
	if (ret) {
		dgfs_xdp_fail(err, errlen, ret, "cannot list the XDP programs on %s", ifname);
		goto out;
	}
	/*
	 * In the dispatcher the new one goes in before the old one goes out.
	 * An old filter alone without one (a kernel without freplace; a
	 * dgfsd killed before it could detach) or in another mode must go
	 * first: SYNs pass unlimited for the moment in between.
	 */
	if (old.n && !old.others && (old.legacy || old.mode != mode)) {
		ret = detach_filters(ifindex, &old, err, errlen, ifname);
		if (ret)
			goto out;
		old.n = 0;
	}
	ret = xdp_program__attach(prog, ifindex, mode, 0);
	if (ret) {
		dgfs_xdp_fail(err, errlen, ret, "cannot attach the HTTP filter to %s in %s mode",
			      ifname, mode == XDP_MODE_SKB ? "skb" : "native");
		goto out;
	}
	ret = detach_filters(ifindex, &old, err, errlen, ifname);
out:
	if (prog)
		xdp_program__close(prog);
	http_filter_bpf__destroy(skel);
	dgfs_xdp_quiet_end(&q);
	return ret;
}

int http_filter_detach(const char *ifname, char *err, size_t errlen)
{
	struct dgfs_xdp_quiet q;
	struct attached a;
	int ifindex, ret;

	ifindex = ifname ? (int)if_nametoindex(ifname) : 0;
	if (!ifindex)
		return snprintf(err, errlen, "no interface \"%s\"", ifname ? ifname : ""), -ENODEV;
	dgfs_xdp_quiet_begin(&q);
	ret = find_filters(ifindex, &a);
	if (ret)
		dgfs_xdp_fail(err, errlen, ret, "cannot list the XDP programs on %s", ifname);
	else if (!a.n) {
		snprintf(err, errlen, "no HTTP filter on %s", ifname);
		ret = -ENOENT;
	} else
		ret = detach_filters(ifindex, &a, err, errlen, ifname);
	dgfs_xdp_quiet_end(&q);
	return ret;
}

static int open_pinned(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ?
			(snprintf(err, errlen, "no HTTP filter was attached in this network "
				  "namespace (no %s)", path), -ENOENT) :
			(snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)), -errno);
	return fd;
}

int http_filter_counters(uint64_t counters[HTTP_FILTER_NR_COUNTERS], uint64_t *clients,
			 char *err, size_t errlen)
{
	struct http_filter_counters *vals = NULL;
	struct http_filter_key key, next;
	int cfd = -1, kfd = -1, ncpus, ret;
	char dir[PATH_MAX];
	void *prev = NULL;
	__u32 zero = 0;
	uint64_t n = 0;

	memset(counters, 0, HTTP_FILTER_NR_COUNTERS * sizeof(counters[0]));
	*clients = 0;
	ret = dgfs_xdp_netns_dir(pin_top, false, dir, sizeof(dir) - 32, err, errlen);
	if (ret)
		return ret;
	cfd = ret = open_pinned(dir, HTTP_FILTER_COUNTERS_MAP, err, errlen);
	if (ret < 0)
		goto out;
	kfd = ret = open_pinned(dir, HTTP_FILTER_CLIENTS_MAP, err, errlen);
	if (ret < 0)
		goto out;
	ncpus = libbpf_num_possible_cpus();
	vals = ncpus > 0 ? calloc(ncpus, sizeof(*vals)) : NULL;
	if (!vals) {
		ret = -ENOMEM;
		snprintf(err, errlen, "cannot read the HTTP filter's counters: out of memory");
		goto out;
	}
	if (bpf_map_lookup_elem(cfd, &zero, vals)) {
		ret = -errno;
		snprintf(err, errlen, "cannot read the HTTP filter's counters: %s", strerror(errno));
		goto out;
	}
	for (int cpu = 0; cpu < ncpus; cpu++)
		for (int i = 0; i < HTTP_FILTER_NR_COUNTERS; i++)
			counters[i] += vals[cpu].c[i];
	/* The LRU map's keys; bounded, in case entries come and go meanwhile. */
	while (n < 2 * HTTP_FILTER_MAX_CLIENTS && !bpf_map_get_next_key(kfd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	*clients = n < HTTP_FILTER_MAX_CLIENTS ? n : HTTP_FILTER_MAX_CLIENTS;
	ret = 0;
out:
	free(vals);
	if (cfd >= 0)
		close(cfd);
	if (kfd >= 0)
		close(kfd);
	return ret;
}
