/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replication (repl.c, docs/CLUSTER.md): a new chunk stored on its owners,
 * and a chunk this host lacks fetched from a replica. Only with a cluster
 * and a cluster secret (repl_on).
 */
#ifndef DGFSD_REPL_H
#define DGFSD_REPL_H

#include <stdbool.h>
#include <stdint.h>

#include "dgfsd.h"

/* Give up on fetching one chunk after this long, whatever is left to try. */
#define REPL_FETCH_DEADLINE_MS	15000

bool repl_on(const struct dgfsd *d);

/*
 * Chunk @id (@data, @len bytes, hashed by the caller) onto its owners:
 * placement over the live hosts, --replicas of them; stored here if this
 * host is one (then pinned: *pinned, with *created as chunkstore_put
 * says), sent to the others. 0 once --write-quorum copies are durable;
 * else an HTTP status with *why, nothing left pinned.
 */
unsigned int repl_store(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN], const void *data,
			uint32_t len, bool *pinned, bool *created, const char **why);

/*
 * Chunk @id, held (pinned) here already (PUT /chunks, then a commit of a
 * chunk list): recorded as this host's copy and sent to its owners other
 * than this host. 0 once --write-quorum copies are durable, counting this
 * one; else an HTTP status with *why.
 */
unsigned int repl_spread(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN], const void *data,
			 uint32_t len, const char **why);

/*
 * Chunk @id from a host that holds it into @buf (@cap bytes): the hosts
 * that record a copy first, in placement order, then the other live ones,
 * each within PEER_REQUEST_MS, all within REPL_FETCH_DEADLINE_MS. Its
 * length once its SHA-256 matched, else -errno.
 */
long repl_fetch(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN], uint8_t *buf, size_t cap);

struct cluster_member;
struct placement_host;
/*
 * The live hosts @m (@n of them) as placement's input (ids point into
 * @m), a draining host with weight 0 (it owns nothing) unless
 * @draining_too. calloc'd (free it), NULL when out of memory.
 */
struct placement_host *repl_placement_input(const struct cluster_member *m, size_t n,
					    bool draining_too);

/* chunkstore_on_remove()'s hook: the copy is forgotten. */
void repl_removed(void *arg, const uint8_t id[DGFS_CHUNK_ID_LEN]);

#endif /* DGFSD_REPL_H */
