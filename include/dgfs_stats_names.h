/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's counters (DGFS_A_STATS) by the names userspace shows them
 * under: `dgfsctl stats` and dgfsd's /metrics (dgfs_kmod_NAME). One list,
 * so the two never differ. X(name, attribute suffix), in display order.
 */
#ifndef DGFS_STATS_NAMES_H
#define DGFS_STATS_NAMES_H

#include <linux/dgfs.h>

#define DGFS_STATS_NAMES(X)						\
	X(stores,		STORES)					\
	X(chunks,		CHUNKS)					\
	X(chunk_bytes,		CHUNK_BYTES)				\
	X(lookups,		LOOKUPS)				\
	X(lookup_hits,		LOOKUP_HITS)				\
	X(obj_created,		OBJ_CREATED)				\
	X(obj_destroyed,	OBJ_DESTROYED)				\
	X(requests,		REQUESTS)				\
	X(replies,		REPLIES)				\
	X(datagrams,		DATAGRAMS)				\
	X(bytes,		BYTES)					\
	X(malformed,		MALFORMED)				\
	X(ring_full,		RING_FULL)				\
	X(client_full,		CLIENT_FULL)				\
	X(balanced,		BALANCED)				\
	X(rings,		RINGS)					\
	X(queued,		QUEUED)					\
	X(queued_max,		QUEUED_MAX)				\
	X(no_rings,		NO_RINGS)				\
	X(token_rejected,	TOKEN_REJECTED)				\
	X(noent,		NOENT)					\
	X(range,		RANGE)					\
	X(io_errors,		IO_ERRORS)				\
	X(overloaded,		OVERLOADED)				\
	X(cache_misses,		CACHE_MISSES)				\
	X(slow_reads,		SLOW_READS)				\
	X(send_errors,		SEND_ERRORS)				\
	X(stack_requests,	STACK_REQUESTS)				\
	X(src_unspec,		SRC_UNSPEC)				\
	X(src_loopback,		SRC_LOOPBACK)				\
	X(src_multicast,	SRC_MULTICAST)				\
	X(src_mapped,		SRC_MAPPED)				\
	X(src_local,		SRC_LOCAL)				\
	X(bad_dst,		BAD_DST)

#endif /* DGFS_STATS_NAMES_H */
