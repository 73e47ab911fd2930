/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Repair, rebalancing and draining (repair.c, docs/CLUSTER.md): a thread
 * on every replicating host. On the owner of the cluster's background
 * work it copies each chunk to those of its placement owners that lack
 * it, and has the surplus copies dropped; on a draining host it removes
 * the copies its owners hold now.
 */
#ifndef DGFSD_REPAIR_H
#define DGFSD_REPAIR_H

#include <stdatomic.h>

#include "dgfsd.h"

struct repair;

/* What repair did and found (/metrics). */
struct repair_stats {
	atomic_ullong passes;		/* passes over the chunks, as owner */
	atomic_ullong copied;		/* copies made on an owner */
	atomic_ullong failed;		/* copies that could not be made */
	atomic_ullong refused;		/* fetched bytes that were not their chunk */
	atomic_ullong bytes;		/* bytes of the copies made */
	atomic_ullong handed_off;	/* a draining host's copies removed */
	atomic_ullong trimmed;		/* surplus copies their holders dropped, as owner */
	atomic_ullong trim_failed;	/* trims a holder refused or did not answer */
	/* As of the owner's last whole pass. */
	atomic_ullong short_chunks;	/* fewer than R copies on live, undrained hosts */
	atomic_ullong misplaced;	/* an owner lacked a copy */
	atomic_ullong lost;		/* no live host holds a copy */
	atomic_ullong surplus;		/* a live host that is no owner holds a copy */
	atomic_llong last_pass;		/* when the owner's last whole pass ended, Unix s; 0: none */
};

/* The thread, with a cluster and a cluster secret (repl_on); else *out NULL. 0 or -errno. */
int repair_start(struct dgfsd *d, struct repair **out);
/* Ends the thread (within one copy) and frees @r. NULL is fine. */
void repair_stop(struct repair *r);
const struct repair_stats *repair_stats(void);

/*
 * This host's copy of chunk @id dropped if it is surplus (DELETE
 * /internal/chunks/ID, or the owner's own copy): this host is none of the
 * chunk's R owners over the live hosts it knows, and each owner gives the
 * chunk's bytes (SHA-256 checked) and has its copy on record, that record
 * locked while this host's goes (cluster_copy_drop). 200, or the HTTP
 * status of the refusal with *why: 404 (no copy here), 409 (not surplus,
 * an owner lacks it, or in use here now), 503.
 */
unsigned int repair_trim_here(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN],
			      const char **why);

#endif /* DGFSD_REPAIR_H */
