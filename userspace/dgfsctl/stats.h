/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl: counters (DGFS_A_STATS). */
#ifndef DGFSCTL_STATS_H
#define DGFSCTL_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/msg.h>

#include "dgfs_stats_names.h"
#include "dgfs_xdp.h"
#include "proto/latency.h"

/* One field per name in dgfs_stats_names.h. */
#define STATS_COUNT_ONE(name, attr) + 1
#define STATS_NFIELDS (0 DGFS_STATS_NAMES(STATS_COUNT_ONE))

/* The histograms, in the order of stats_latency_names[]. */
#define STATS_NLATENCY 2
extern const char *const stats_latency_names[STATS_NLATENCY];

struct stats_info {
	bool valid;
	uint64_t val[STATS_NFIELDS];	/* in the order of stats_fields[] */
	/* The XDP program's counters, when one was ever attached. */
	bool have_xdp;
	uint64_t xdp[DGFS_XDP_NR_COUNTERS];
	/* The latency histograms (DGFS_A_LATENCY), when the kernel sent them. */
	bool have_latency;
	struct lat_hist latency[STATS_NLATENCY];
};

struct stats_field {
	const char *name;	/* text and JSON */
	int attr;		/* DGFS_STATS_A_* */
};

extern const struct stats_field stats_fields[STATS_NFIELDS];

/* dgfs_req.parse with a struct stats_info as arg. */
int stats_parse_reply(struct nl_msg *msg, void *arg);
/* One JSON object or one "name value" line per counter; the XDP
 * program's are named xdp_<name>. Then each histogram: a line
 * "NAME count N sum_ns S p50_ns A p90_ns B p99_ns C", or in JSON an
 * object of those and its bounds (le_ns) and buckets.
 */
void stats_print(const struct stats_info *s);

#endif /* DGFSCTL_STATS_H */
