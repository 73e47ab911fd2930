/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The replicas a manifest lists for each chunk (replicas.c,
 * docs/PROTOCOL.md "Replicas in a manifest"): with replication on, every
 * live host that holds a copy (chunk_copies), this host first when it is
 * one, the others in placement order, at most --replicas of them, so that
 * `dgfs get` reads each chunk over the fast path from whichever answers.
 */
#ifndef DGFSD_REPLICAS_H
#define DGFSD_REPLICAS_H

#include <jansson.h>

#include "dgfsd.h"
#include "meta.h"

/*
 * Adds "hosts" to @fastpath (the manifest's fastpath object) and
 * "replicas" to each object of @chunks (one per chunk of @f, in order):
 * indices into hosts. This host's entry names @self_host, the address the
 * manifest gives as fastpath.host. 0, or -errno (the database cannot be
 * reached, memory) with @fastpath and @chunks as they were.
 */
int replicas_add(struct dgfsd *d, const struct meta_file *f, const char *self_host,
		 json_t *fastpath, json_t *chunks);

#endif /* DGFSD_REPLICAS_H */
