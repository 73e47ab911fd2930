// SPDX-License-Identifier: GPL-2.0
/*
 * The replicas a manifest lists (replicas.h). The holders come from
 * chunk_copies (which hosts really hold a copy), not from placement
 * (which hosts should): a copy not yet repaired onto its owner, or kept
 * on a host placement no longer asks for, is still read where it is.
 * Only live hosts (as of the last heartbeat) are listed. The order is
 * this host first when it holds the chunk (the client reached it
 * already), then the chunk's rendezvous order over the live hosts: each
 * chunk's first replica is a different host, so the reads of a file
 * spread over the cluster as its copies do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "placement.h"
#include "repl.h"
#include "replicas.h"

struct holders {
	const struct cluster_member *m;
	size_t n;			/* members */
	size_t at;			/* the batch's first chunk */
	uint8_t *hold;			/* [chunk in batch][member]: holds a copy */
};

static int by_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cluster_member *)elem)->id);
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cluster_member *)a)->id,
		      ((const struct cluster_member *)b)->id);
}

static int note_copy(size_t i, const char *host, void *arg)
{
	struct holders *hs = arg;
	const struct cluster_member *o = bsearch(host, hs->m, hs->n, sizeof(*hs->m), by_id);

	if (o)			/* a host that is down is not listed */
		hs->hold[(i - hs->at) * hs->n + (size_t)(o - hs->m)] = 1;
	return 0;
}

/* Member @o's index in the manifest's hosts, added on first use; -1 if out of memory. */
static json_int_t host_index(struct dgfsd *d, const struct cluster_member *o, bool self,
			     const char *self_host, json_t *hosts, json_int_t *idx)
{
	json_t *e;

	if (*idx >= 0)
		return *idx;
	e = json_pack("{s:s,s:s,s:i}", "id", o->id, "host", self ? self_host : o->addr,
		      "port", self ? d->cfg.udp_port : o->udp_port);
	if (!e || json_array_append_new(hosts, e))
		return -1;
	*idx = (json_int_t)json_array_size(hosts) - 1;
	return *idx;
}

int replicas_add(struct dgfsd *d, const struct meta_file *f, const char *self_host,
		 json_t *fastpath, json_t *chunks)
{
	const char *self = cluster_host_id(d->cluster);
	struct cluster_member *m = NULL;
	struct placement_host *h = NULL;
	struct holders hs = { 0 };
	uint8_t (*ids)[DGFS_CHUNK_ID_LEN] = NULL;
	json_int_t *index = NULL;
	size_t n = 0, *order = NULL, i, k, j, ranked, nb, me;
	json_t *hosts = json_array(), *lists = json_array();
	int err = 0;

	if (!hosts || !lists || cluster_members(d->cluster, &m, &n)) {
		err = -ENOMEM;
		goto out;
	}
	/* By id, for the look-ups (placement does not depend on the order). */
	qsort(m, n, sizeof(*m), member_cmp);
	if (!(h = repl_placement_input(m, n, true)) ||
	    !(order = calloc(n ? n : 1, sizeof(*order))) ||
	    !(index = malloc((n ? n : 1) * sizeof(*index))) ||
	    !(hs.hold = malloc((n ? n : 1) * CLUSTER_COPIES_BATCH)) ||
	    !(ids = malloc(CLUSTER_COPIES_BATCH * sizeof(*ids)))) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		index[i] = -1;
	/* This host's place among the members (n: not among them), once. */
	for (me = 0; me < n && strcmp(m[me].id, self); me++)
		;
	hs.m = m;
	hs.n = n;
	for (hs.at = 0; hs.at < f->nchunks && !err; hs.at += nb) {
		nb = f->nchunks - hs.at < CLUSTER_COPIES_BATCH ? f->nchunks - hs.at :
		     CLUSTER_COPIES_BATCH;
		for (i = 0; i < nb; i++)
			memcpy(ids[i], f->chunks[hs.at + i].id, DGFS_CHUNK_ID_LEN);
		memset(hs.hold, 0, n * nb);
		err = cluster_copies_of(d->cluster, (const uint8_t (*)[DGFS_CHUNK_ID_LEN])ids, nb,
					note_copy, &hs);
		for (i = 0; i < nb && !err; i++) {
			const uint8_t *hold = hs.hold + i * n;
			json_t *list = json_array();
			size_t listed = 0;

			if (!list || json_array_append_new(lists, list)) {
				err = -ENOMEM;
				break;
			}
			/* Every live host ranked; a host of weight 0 is not, so add the rest after. */
			ranked = placement_owners(ids[i], h, n, n, order);
			for (j = 0; j < n && ranked < n; j++) {
				size_t r;

				for (r = 0; r < ranked && order[r] != j; r++)
					;
				if (r == ranked)
					order[ranked++] = j;
			}
			/* This host first when it holds the chunk: then the others in rank order. */
			for (k = 0; k <= n && listed < d->cfg.replicas && !err; k++) {
				size_t o = k ? order[k - 1] : me;
				json_int_t x;

				/* This host at k == 0 only. */
				if ((k == 0) != (o == me) || o == n || !hold[o])
					continue;
				x = host_index(d, &m[o], o == me, self_host, hosts, &index[o]);
				if (x < 0 || json_array_append_new(list, json_integer(x)))
					err = -ENOMEM;
				listed++;
			}
		}
	}
	if (err)
		goto out;
	/* Only now, all or nothing: the caller's manifest stays whole on a failure. */
	for (i = 0; i < f->nchunks && !err; i++)
		if (json_object_set(json_array_get(chunks, i), "replicas", json_array_get(lists, i)))
			err = -ENOMEM;
	if (!err && json_object_set(fastpath, "hosts", hosts))
		err = -ENOMEM;
	if (err)	/* undone: a manifest with the lists on some chunks only would be refused */
		for (i = 0; i < f->nchunks; i++)
			json_object_del(json_array_get(chunks, i), "replicas");
out:
	json_decref(hosts);
	json_decref(lists);
	free(ids);
	free(hs.hold);
	free(index);
	free(order);
	free(h);
	free(m);
	return err;
}
