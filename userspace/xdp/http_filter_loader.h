/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading dgfsd's HTTP filter (bpf/http_filter.bpf.c) onto an interface
 * through libxdp's dispatcher, beside dgfs's fast-path program or any
 * other, and reading its pinned maps (per network namespace, in
 * HTTP_FILTER_PIN_DIR/netns-INODE-COOKIE/, kept across re-attaches).
 * Conventions as in dgfs_xdp_loader.h: 0 or a negative errno, one line in
 * err on failure; root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN to find
 * attached programs); not thread-safe.
 */
#ifndef _HTTP_FILTER_LOADER_H
#define _HTTP_FILTER_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <xdp/libxdp.h>

#include "http_filter.h"

struct http_filter_config {
	uint16_t port;		/* the HTTP port, host order, != 0 */
	uint32_t rate;		/* new connections per second per client, 1 .. HTTP_FILTER_MAX_RATE */
	uint32_t burst;		/* at once from a full bucket, 1 .. HTTP_FILTER_MAX_BURST */
};

/* 0 if @cfg can be loaded, else -EINVAL and what is wrong in err. */
int http_filter_check(const struct http_filter_config *cfg, char *err, size_t errlen);

/*
 * Attach the filter to @ifname in @mode (XDP_MODE_NATIVE or XDP_MODE_SKB)
 * with @cfg. A filter already there is replaced by the new one (added
 * first, then the old one taken out); other programs stay.
 */
int http_filter_attach(const char *ifname, enum xdp_attach_mode mode,
		       const struct http_filter_config *cfg, char *err, size_t errlen);

/* Take the filter off @ifname; -ENOENT if it was not there. */
int http_filter_detach(const char *ifname, char *err, size_t errlen);

/*
 * The counters summed over CPUs, and the clients the LRU map remembers,
 * from this namespace's pins. -ENOENT if no filter was attached here.
 */
int http_filter_counters(uint64_t counters[HTTP_FILTER_NR_COUNTERS], uint64_t *clients,
			 char *err, size_t errlen);

/* Pin under @dir (a bpffs directory) instead of HTTP_FILTER_PIN_DIR (tests). */
void http_filter_set_pin_dir(const char *dir);

#endif /* _HTTP_FILTER_LOADER_H */
