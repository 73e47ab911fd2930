/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfs's XDP program (bpf/dgfs_xdp.bpf.c) and the userspace that loads it
 * and reads its counters (userspace/xdp/): what both sides must agree on.
 *
 * The counters live in one per-CPU array map with a single element, a
 * struct dgfs_xdp_counters; userspace sums it over the CPUs. Every packet
 * the program sees moves exactly one counter, except a valid request,
 * which moves requests_valid and one of its four outcomes. The indices are
 * part of the pinned map's layout: add new counters at the end only.
 *
 * docs/XDP.md explains every counter.
 */
#ifndef _DGFS_XDP_H
#define _DGFS_XDP_H

#include <linux/types.h>

/*
 * X(ENUM_SUFFIX, "name"). Passed: OTHER, NONFIRST_FRAGMENT (and NO_KMOD).
 * A valid request: REQUESTS_VALID plus SUBMITTED, RING_FULL, KMOD_REJECTED
 * or NO_KMOD. Dropped, one reason each: RUNT .. BAD_LENGTH.
 */
#define DGFS_XDP_COUNTERS(X)				\
	X(OTHER,		"other")		\
	X(NONFIRST_FRAGMENT,	"nonfirst_fragment")	\
	X(REQUESTS_VALID,	"requests_valid")	\
	X(SUBMITTED,		"submitted")		\
	X(RING_FULL,		"ring_full")		\
	X(KMOD_REJECTED,	"kmod_rejected")	\
	X(NO_KMOD,		"no_kmod")		\
	X(RUNT,			"runt")			\
	X(BAD_IP,		"bad_ip")		\
	X(IP_OPTIONS,		"ip_options")		\
	X(IPV6_EXT,		"ipv6_ext")		\
	X(FRAGMENT,		"fragment")		\
	X(BAD_UDP_LEN,		"bad_udp_len")		\
	X(BAD_SIZE,		"bad_size")		\
	X(BAD_MAGIC,		"bad_magic")		\
	X(BAD_VERSION,		"bad_version")		\
	X(BAD_OP,		"bad_op")		\
	X(BAD_FLAGS,		"bad_flags")		\
	X(BAD_LENGTH,		"bad_length")

enum dgfs_xdp_counter {
#define DGFS_XDP_ENUM(e, name) DGFS_XDP_##e,
	DGFS_XDP_COUNTERS(DGFS_XDP_ENUM)
#undef DGFS_XDP_ENUM
	DGFS_XDP_NR_COUNTERS
};

/* The drop reasons: the counters from here to the end. */
#define DGFS_XDP_FIRST_DROP	DGFS_XDP_RUNT

struct dgfs_xdp_counters {
	__u64 c[DGFS_XDP_NR_COUNTERS];
};

/* Names of the program, its counters map and where the map is pinned. */
#define DGFS_XDP_PROG_NAME	"dgfs_xdp"
#define DGFS_XDP_MAP_NAME	"xdp_counters"
#define DGFS_XDP_PIN_DIR	"/sys/fs/bpf/dgfs"

#ifndef __bpf__
static inline const char *dgfs_xdp_counter_name(unsigned int i)
{
	static const char *const names[DGFS_XDP_NR_COUNTERS] = {
#define DGFS_XDP_NAME(e, name) [DGFS_XDP_##e] = name,
		DGFS_XDP_COUNTERS(DGFS_XDP_NAME)
#undef DGFS_XDP_NAME
	};

	return i < DGFS_XDP_NR_COUNTERS ? names[i] : "?";
}

static inline int dgfs_xdp_counter_is_drop(unsigned int i)
{
	return i >= DGFS_XDP_FIRST_DROP && i < DGFS_XDP_NR_COUNTERS;
}
#endif

#endif /* _DGFS_XDP_H */
