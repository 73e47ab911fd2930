/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsd's HTTP filter (bpf/http_filter.bpf.c) and the userspace that loads
 * it and reads its maps (userspace/xdp/http_filter_loader.c): what both
 * sides must agree on. docs/DGFSD.md, "The HTTP filter", has the contract.
 *
 * Two maps, pinned per network namespace in
 * HTTP_FILTER_PIN_DIR/netns-INODE-COOKIE/:
 *  - http_filter_counters: a per-CPU array of one struct
 *    http_filter_counters (userspace sums the CPUs). Every frame moves
 *    exactly one of OTHER, UNPARSED, PACKETS; a SYN also moves SYN, and a
 *    dropped one SYN_DROPPED;
 *  - http_filter_clients: an LRU hash, client address (IPv4 as
 *    ::ffff:a.b.c.d) -> struct http_filter_client.
 */
#ifndef _HTTP_FILTER_H
#define _HTTP_FILTER_H

#include <linux/types.h>

/* X(ENUM_SUFFIX, "name"). Add new counters at the end only (pinned layout). */
#define HTTP_FILTER_COUNTERS(X)			\
	X(OTHER,	"other")		\
	X(UNPARSED,	"unparsed")		\
	X(PACKETS,	"packets")		\
	X(SYN,		"syn")			\
	X(SYN_DROPPED,	"syn_dropped")		\
	X(UNTRACKED,	"untracked")

enum http_filter_counter {
#define HTTP_FILTER_ENUM(e, name) HTTP_FILTER_##e,
	HTTP_FILTER_COUNTERS(HTTP_FILTER_ENUM)
#undef HTTP_FILTER_ENUM
	HTTP_FILTER_NR_COUNTERS
};

struct http_filter_counters {
	__u64 c[HTTP_FILTER_NR_COUNTERS];
};

struct http_filter_key {
	__u8 addr[16];		/* IPv6, or IPv4-mapped */
};

/*
 * One client. The token bucket is kept as GCRA's theoretical arrival time
 * (tat_ns): one 64-bit word, so that CPUs update it with a compare and
 * exchange instead of a lock (LRU hash maps take no bpf_spin_lock).
 */
struct http_filter_client {
	__u64 tat_ns;		/* when the bucket is full again */
	__u64 packets;		/* TCP segments to the HTTP port */
	__u64 syn;		/* of which SYN without ACK */
	__u64 syn_dropped;	/* of which dropped */
};

#define HTTP_FILTER_PROG_NAME		"http_filter"
#define HTTP_FILTER_COUNTERS_MAP	"http_filter_counters"
#define HTTP_FILTER_CLIENTS_MAP		"http_filter_clients"
#define HTTP_FILTER_PIN_DIR		"/sys/fs/bpf/dgfs-http-filter"
/* Clients remembered at once; the least recently seen make room. */
#define HTTP_FILTER_MAX_CLIENTS		65536
/* --syn-rate and --syn-burst: 1 .. this. */
#define HTTP_FILTER_MAX_RATE		1000000
#define HTTP_FILTER_MAX_BURST		1000000

#ifndef __bpf__
static inline const char *http_filter_counter_name(unsigned int i)
{
	static const char *const names[HTTP_FILTER_NR_COUNTERS] = {
#define HTTP_FILTER_NAME(e, name) [HTTP_FILTER_##e] = name,
		HTTP_FILTER_COUNTERS(HTTP_FILTER_NAME)
#undef HTTP_FILTER_NAME
	};

	return i < HTTP_FILTER_NR_COUNTERS ? names[i] : "?";
}
#endif

#endif /* _HTTP_FILTER_H */
