/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cluster membership (cluster.c, docs/CLUSTER.md): with its metadata in
 * PostgreSQL, every dgfsd registers itself in the hosts table, heartbeats
 * there, and competes for the advisory lock that makes one host the owner
 * of the cluster's background work.
 */
#ifndef DGFSD_CLUSTER_H
#define DGFSD_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "dgfsd.h"

struct cluster;

/* One member as the database sees it now. */
struct cluster_host {
	char id[DGFSD_CLUSTER_NAME_MAX + 1];
	char addr[256];
	uint16_t http_port;
	uint16_t udp_port;
	char zone[DGFSD_CLUSTER_NAME_MAX + 1];
	uint64_t capacity;
	bool up;		/* heartbeat within this host's --down-after */
	bool stopped;		/* it left cleanly (no session) */
	bool owner;		/* its session holds the owner lock */
	bool draining;		/* the operator drains it: placement passes it over */
	bool tls;		/* it serves HTTPS (--tls-cert) */
	int64_t silent_ms;	/* since its last heartbeat */
	int64_t copies;		/* draining: copies it holds of chunks files reference; else 0 */
};

/* A live host, as placement and the internal requests need it. */
struct cluster_member {
	char id[DGFSD_CLUSTER_NAME_MAX + 1];
	char addr[256];
	uint16_t http_port;
	uint16_t udp_port;	/* its fast path (manifests list it) */
	char zone[DGFSD_CLUSTER_NAME_MAX + 1];
	uint64_t capacity;
	bool draining;		/* live, but owns nothing (placement weight 0) */
	bool tls;		/* called over HTTPS (peer.c) */
};

typedef int (*cluster_host_cb)(const struct cluster_host *h, void *arg);

/*
 * Joins the cluster when d->cfg.metadata names PostgreSQL (*out NULL and 0
 * otherwise): registers this host, which fails (-EADDRINUSE, said on
 * stderr) while a live host has the same id, and starts the heartbeat
 * thread. 0 or -errno.
 */
int cluster_start(struct dgfsd *d, struct cluster **out);
/* Leaves: the host shows down at once. NULL is fine. */
void cluster_stop(struct cluster *c);
const char *cluster_host_id(const struct cluster *c);
/* Whether this host held the owner lock at its last heartbeat. */
bool cluster_is_owner(struct cluster *c);
/* Every registered host, by id: 0, -EIO (database unreachable) or @cb's. */
int cluster_hosts(struct cluster *c, cluster_host_cb cb, void *arg);

/*
 * The live hosts (this one included) as of the last heartbeat, by id:
 * *out malloc'd (free it), *n of them. 0 or -ENOMEM.
 */
int cluster_members(struct cluster *c, struct cluster_member **out, size_t *n);

/* chunk_copies: this host holds chunk @id durably / no longer. 0 or -errno. */
int cluster_copy_add(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN]);
int cluster_copy_del(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN]);
/*
 * This host's copy of @id forgotten, but only if each of the @k hosts
 * @owners has one on record: their rows are locked until the statement
 * ends, so two hosts that each count the other as an owner cannot both
 * forget theirs. 0, -ESTALE (an owner has no row: nothing forgotten),
 * -EINVAL, -EIO.
 */
int cluster_copy_drop(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN],
		      const char *const *owners, size_t k);
/* The hosts that hold a copy of @id (at most @max) into @ids, *n of them. 0 or -errno. */
int cluster_copy_hosts(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN],
		       char (*ids)[DGFSD_CLUSTER_NAME_MAX + 1], size_t max, size_t *n);

/*
 * The hosts chunk_copies records for each of @n chunk ids (@ids, a
 * file's chunks in order, repeats allowed): @cb(i, host id, @arg) for
 * every copy of @ids[i], in no particular order. A few statements of
 * CLUSTER_COPIES_BATCH ids each, not one per chunk. 0, -EIO or @cb's
 * non-zero.
 */
#define CLUSTER_COPIES_BATCH	1024
typedef int (*cluster_copy_cb)(size_t i, const char *host, void *arg);
int cluster_copies_of(struct cluster *c, const uint8_t (*ids)[DGFS_CHUNK_ID_LEN], size_t n,
		      cluster_copy_cb cb, void *arg);

/* One of this host's chunk_copies records, with the chunk's size (0: no chunks row). */
struct cluster_own_copy {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	uint32_t size;
};

/*
 * Up to @max of this host's own chunk_copies records with chunk ids after
 * @after (NULL: from the first), in id order, into @out, *n given. Only
 * host_id = this host's: other hosts' records are theirs to check. 0 or
 * -EIO. For checking them against the chunk files a page at a time
 * (own_copies.c).
 */
int cluster_own_copies(struct cluster *c, const uint8_t *after, struct cluster_own_copy *out,
		       size_t max, size_t *n);

/* Host @id draining (@on) or not: 0, -ENOENT (no such host), -EIO. */
int cluster_set_draining(struct cluster *c, const char *id, bool on);

/* The most copies of one chunk cluster_chunks() reports. */
#define CLUSTER_COPIES_MAX	32

/* A chunk that files reference, and the hosts chunk_copies says hold it. */
struct cluster_chunk {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	uint32_t size;
	size_t nhosts;
	char hosts[CLUSTER_COPIES_MAX][DGFSD_CLUSTER_NAME_MAX + 1];
};

/*
 * Up to @max referenced chunks with ids after @after (NULL: from the
 * first), in id order, into @out (@max of them), *n given; with @holder,
 * only those it holds a copy of. 0 or -EIO. For walking every chunk a
 * page at a time (repair.c).
 */
int cluster_chunks(struct cluster *c, const uint8_t *after, const char *holder,
		   struct cluster_chunk *out, size_t max, size_t *n);

#endif /* DGFSD_CLUSTER_H */
