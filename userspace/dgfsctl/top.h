/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl top / dgfs-top: one read of the module, and a frame from two. */
#ifndef DGFSCTL_TOP_H
#define DGFSCTL_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "clients.h"
#include "proto/latency.h"
#include "stats.h"

/* The counters a frame shows, by their names in dgfs_stats_names.h. */
enum top_stat {
	TOP_REQUESTS, TOP_REPLIES, TOP_BYTES, TOP_DATAGRAMS, TOP_CACHE_MISSES,
	TOP_SLOW_READS, TOP_QUEUED, TOP_QUEUED_MAX, TOP_RING_FULL, TOP_CLIENT_FULL,
	TOP_OVERLOADED, TOP_NSTATS
};

struct top_sample {
	uint64_t at_ns;			/* CLOCK_MONOTONIC, when read */
	time_t wall;
	uint64_t val[TOP_NSTATS];
	bool have_latency;
	struct lat_hist request, disk;
	struct client_list clients;	/* merged, with rates since the last */
	int clients_err;		/* the kernel's refusal to dump them, or 0 */
};

void top_sample_from_stats(struct top_sample *t, const struct stats_info *s);
/* The frame of what moved from @a to @b, @nclients clients at most. */
void top_render(FILE *fp, const struct top_sample *a, const struct top_sample *b,
		unsigned int nclients);

#endif /* DGFSCTL_TOP_H */
