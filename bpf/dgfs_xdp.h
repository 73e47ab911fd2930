/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfs's XDP program (bpf/dgfs_xdp.bpf.c) and the userspace that loads it
 * and reads its counters (userspace/xdp/): what both sides must agree on.
 *
 * The counters live in one per-CPU array map with a single element, a
 * struct dgfs_xdp_counters, one map per network namespace; userspace sums
 * it over the CPUs. Every packet the program sees moves exactly one
 * counter, except a valid request, which moves requests_valid and one of
 * its outcomes. The indices are
 * part of the pinned map's layout: add new counters at the end only.
 *
 * docs/XDP.md explains every counter.
 */
#ifndef _DGFS_XDP_H
#define _DGFS_XDP_H

#include <linux/types.h>

/*
 * X(ENUM_SUFFIX, "name", drop): drop is 1 for the reasons the program
 * drops a frame for outright. Passed: OTHER, NONFIRST_FRAGMENT. A valid
 * request: REQUESTS_VALID plus one of SUBMITTED, RING_FULL, KMOD_REJECTED
 * (dropped), NO_KMOD or NOT_LOCAL (passed). Dropped, one reason each:
 * RUNT .. BAD_LENGTH and SRC_UNSPEC .. BAD_DST.
 */
#define DGFS_XDP_COUNTERS(X)					\
	X(OTHER,		"other",		0)	\
	X(NONFIRST_FRAGMENT,	"nonfirst_fragment",	0)	\
	X(REQUESTS_VALID,	"requests_valid",	0)	\
	X(SUBMITTED,		"submitted",		0)	\
	X(RING_FULL,		"ring_full",		0)	\
	X(KMOD_REJECTED,	"kmod_rejected",	0)	\
	X(NO_KMOD,		"no_kmod",		0)	\
	X(RUNT,			"runt",			1)	\
	X(BAD_IP,		"bad_ip",		1)	\
	X(IP_OPTIONS,		"ip_options",		1)	\
	X(IPV6_EXT,		"ipv6_ext",		1)	\
	X(FRAGMENT,		"fragment",		1)	\
	X(BAD_UDP_LEN,		"bad_udp_len",		1)	\
	X(BAD_SIZE,		"bad_size",		1)	\
	X(BAD_MAGIC,		"bad_magic",		1)	\
	X(BAD_VERSION,		"bad_version",		1)	\
	X(BAD_OP,		"bad_op",		1)	\
	X(BAD_FLAGS,		"bad_flags",		1)	\
	X(BAD_LENGTH,		"bad_length",		1)	\
	X(SRC_UNSPEC,		"src_unspec",		1)	\
	X(SRC_LOOPBACK,		"src_loopback",		1)	\
	X(SRC_MULTICAST,	"src_multicast",	1)	\
	X(SRC_MAPPED,		"src_mapped",		1)	\
	X(BAD_DST,		"bad_dst",		1)	\
	X(NOT_LOCAL,		"not_local",		0)

enum dgfs_xdp_counter {
#define DGFS_XDP_ENUM(e, name, drop) DGFS_XDP_##e,
	DGFS_XDP_COUNTERS(DGFS_XDP_ENUM)
#undef DGFS_XDP_ENUM
	DGFS_XDP_NR_COUNTERS
};

/* The drop reasons, one bit per counter. */
#define DGFS_XDP_DROP_BIT(e, name, drop) | ((drop) ? 1ULL << DGFS_XDP_##e : 0)
#define DGFS_XDP_DROP_MASK (0 DGFS_XDP_COUNTERS(DGFS_XDP_DROP_BIT))
_Static_assert(DGFS_XDP_NR_COUNTERS <= 64, "drop reasons in a 64-bit mask");

struct dgfs_xdp_counters {
	__u64 c[DGFS_XDP_NR_COUNTERS];
};

/*
 * Names of the program, its counters map and where the maps are pinned:
 * one per network namespace, in DGFS_XDP_PIN_DIR/netns-INODE-COOKIE/
 * (userspace/xdp/dgfs_xdp_loader.c).
 */
#define DGFS_XDP_PROG_NAME	"dgfs_xdp"
#define DGFS_XDP_MAP_NAME	"xdp_counters"
#define DGFS_XDP_PIN_DIR	"/sys/fs/bpf/dgfs"
/* Receive queues the AF_XDP mode serves (the xsks map's size). */
#define DGFS_XSK_MAX_QUEUES	64

#ifndef __bpf__
static inline const char *dgfs_xdp_counter_name(unsigned int i)
{
	static const char *const names[DGFS_XDP_NR_COUNTERS] = {
#define DGFS_XDP_NAME(e, name, drop) [DGFS_XDP_##e] = name,
		DGFS_XDP_COUNTERS(DGFS_XDP_NAME)
#undef DGFS_XDP_NAME
	};

	return i < DGFS_XDP_NR_COUNTERS ? names[i] : "?";
}

static inline int dgfs_xdp_counter_is_drop(unsigned int i)
{
	return i < DGFS_XDP_NR_COUNTERS && (DGFS_XDP_DROP_MASK >> i) & 1;
}
#endif

#endif /* _DGFS_XDP_H */
