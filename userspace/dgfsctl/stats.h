/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl: counters (DGFS_A_STATS). */
#ifndef DGFSCTL_STATS_H
#define DGFSCTL_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/msg.h>

#include "dgfs_stats_names.h"
#include "dgfs_xdp.h"

/* One field per name in dgfs_stats_names.h. */
#define STATS_COUNT_ONE(name, attr) + 1
#define STATS_NFIELDS (0 DGFS_STATS_NAMES(STATS_COUNT_ONE))

struct stats_info {
	bool valid;
	uint64_t val[STATS_NFIELDS];	/* in the order of stats_fields[] */
	/* The XDP program's counters, when one was ever attached. */
	bool have_xdp;
	uint64_t xdp[DGFS_XDP_NR_COUNTERS];
};

struct stats_field {
	const char *name;	/* text and JSON */
	int attr;		/* DGFS_STATS_A_* */
};

extern const struct stats_field stats_fields[STATS_NFIELDS];

/* dgfs_req.parse with a struct stats_info as arg. */
int stats_parse_reply(struct nl_msg *msg, void *arg);
/* One JSON object or one "name value" line per counter; the XDP
 * program's are named xdp_<name>.
 */
void stats_print(const struct stats_info *s);

#endif /* DGFSCTL_STATS_H */
