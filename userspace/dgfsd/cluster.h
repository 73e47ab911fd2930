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
	int64_t silent_ms;	/* since its last heartbeat */
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

#endif /* DGFSD_CLUSTER_H */
