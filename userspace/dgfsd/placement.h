/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a chunk's copies live (placement.c, docs/CLUSTER.md): weighted
 * rendezvous hashing of the chunk id over the live hosts, distinct zones
 * first.
 */
#ifndef DGFSD_PLACEMENT_H
#define DGFSD_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#define PLACEMENT_ID_LEN	32	/* a chunk id: SHA-256 */

struct placement_host {
	const char *id;		/* unique among the hosts */
	const char *zone;
	uint64_t weight;	/* its share, e.g. capacity; 0 takes nothing */
};

/*
 * The @r hosts that own chunk @chunk, best first, as indices into @hosts
 * (@n of them) in @out: the hosts ranked by their weighted score for this
 * chunk, each zone's best host first, then the next best regardless of
 * zone until @r are taken. Returns how many were taken: min(@r, the hosts
 * with a weight). The same hosts give the same answer in any order, and a
 * host that comes or goes moves only the chunks it owns or takes.
 */
size_t placement_owners(const uint8_t chunk[PLACEMENT_ID_LEN], const struct placement_host *hosts,
			size_t n, size_t r, size_t *out);

#endif /* DGFSD_PLACEMENT_H */
