// SPDX-License-Identifier: GPL-2.0
/*
 * Replicated writes and reads from any host (repl.h). Every host computes
 * a chunk's owners alike from the live hosts it read at its last
 * heartbeat (placement.c); chunk_copies records which hosts really hold
 * it, each host adding its own copies, so a read goes first to hosts that
 * have it even after the members changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "peer.h"
#include "placement.h"
#include "repl.h"

bool repl_on(const struct dgfsd *d)
{
	return d->cluster && d->cfg.cluster_secret_len;
}

struct placement_host *repl_placement_input(const struct cluster_member *m, size_t n,
					    bool draining_too)
{
	struct placement_host *h = calloc(n ? n : 1, sizeof(*h));
	size_t i;

	for (i = 0; h && i < n; i++) {
		h[i].id = m[i].id;
		h[i].zone = m[i].zone;
		/* Weight 0 owns nothing: a draining host takes no new copies. */
		h[i].weight = m[i].draining && !draining_too ? 0 : m[i].capacity;
	}
	return h;
}

unsigned int repl_store(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN], const void *data,
			uint32_t len, bool *pinned, bool *created, const char **why)
{
	const char *self = cluster_host_id(d->cluster);
	struct cluster_member *m = NULL;
	struct placement_host *h = NULL;
	size_t n = 0, owners[DGFSD_REPLICAS_MAX], k, i;
	unsigned int copies = 0, status = 0;
	int ret;

	*pinned = *created = false;
	if (cluster_members(d->cluster, &m, &n) || !(h = repl_placement_input(m, n, false))) {
		*why = "out of memory";
		status = 503;
		goto out;
	}
	k = placement_owners(id, h, n, d->cfg.replicas, owners);
	for (i = 0; i < k; i++) {
		const struct cluster_member *o = &m[owners[i]];

		if (!strcmp(o->id, self)) {
			ret = chunkstore_put(d->cs, id, data, len, created);
			if (ret) {
				fprintf(stderr, "dgfsd: cannot store a chunk here: %s\n",
					strerror(-ret));
				continue;
			}
			*pinned = true;
			/* Counted only once the database says where it is. */
			if (!cluster_copy_add(d->cluster, id))
				copies++;
		} else if (!peer_put_chunk(&d->cfg, o, id, data, len)) {
			copies++;
		}
	}
	if (copies < d->cfg.write_quorum) {
		if (*pinned)
			chunkstore_unpin(d->cs, id, *created);
		*pinned = *created = false;
		*why = "too few hosts took the chunk: fewer copies than --write-quorum";
		status = 503;
	}
out:
	free(h);
	free(m);
	return status;
}

unsigned int repl_spread(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN], const void *data,
			 uint32_t len, const char **why)
{
	const char *self = cluster_host_id(d->cluster);
	struct cluster_member *m = NULL;
	struct placement_host *h = NULL;
	size_t n = 0, owners[DGFSD_REPLICAS_MAX], k, i;
	unsigned int copies = 0, status = 0;

	if (cluster_members(d->cluster, &m, &n) || !(h = repl_placement_input(m, n, false))) {
		*why = "out of memory";
		status = 503;
		goto out;
	}
	if (!cluster_copy_add(d->cluster, id))
		copies++;
	k = placement_owners(id, h, n, d->cfg.replicas, owners);
	for (i = 0; i < k; i++) {
		const struct cluster_member *o = &m[owners[i]];

		if (strcmp(o->id, self) &&
		    !peer_put_chunk(&d->cfg, o, id, data, len))
			copies++;
	}
	if (copies < d->cfg.write_quorum) {
		*why = "too few hosts took the chunk: fewer copies than --write-quorum";
		status = 503;
	}
out:
	free(h);
	free(m);
	return status;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long repl_fetch(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN], uint8_t *buf, size_t cap)
{
	char (*have)[DGFSD_CLUSTER_NAME_MAX + 1] = NULL;
	const char *self = cluster_host_id(d->cluster);
	struct cluster_member *m = NULL;
	struct placement_host *h = NULL;
	size_t n = 0, nhave = 0, k = 0, i, j, *order = NULL;
	int64_t deadline = now_ms() + REPL_FETCH_DEADLINE_MS;
	long got = -ENOENT;
	int pass;

	if (cluster_members(d->cluster, &m, &n) || !(h = repl_placement_input(m, n, true)) ||
	    !(order = calloc(n ? n : 1, sizeof(*order))) ||
	    !(have = calloc(DGFSD_REPLICAS_MAX * 4, sizeof(*have)))) {
		got = -ENOMEM;
		goto out;
	}
	/* Every live host ranked for this chunk: its owners first. */
	k = placement_owners(id, h, n, n, order);
	cluster_copy_hosts(d->cluster, id, have, DGFSD_REPLICAS_MAX * 4, &nhave);
	/* Pass 0: the hosts that record a copy; pass 1: the others (a stale table). */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < k; i++) {
			const struct cluster_member *o = &m[order[i]];
			bool recorded = false;

			if (!strcmp(o->id, self))
				continue;
			for (j = 0; j < nhave && !recorded; j++)
				recorded = !strcmp(have[j], o->id);
			if (recorded != !pass)
				continue;
			if (now_ms() >= deadline) {
				got = -ETIMEDOUT;
				goto out;
			}
			got = peer_get_chunk(&d->cfg, o, id, buf, cap);
			if (got >= 0)
				goto out;
			if (got == -EBADMSG)
				fprintf(stderr, "dgfsd: host %s sent bytes that are not their chunk's "
					"id; trying the next\n", o->id);
		}
	}
out:
	free(have);
	free(order);
	free(h);
	free(m);
	return got;
}

void repl_removed(void *arg, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct dgfsd *d = arg;

	cluster_copy_del(d->cluster, id);
}
