/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This host's chunk_copies records checked against its chunk files
 * (own_copies.c, docs/CLUSTER.md "A lost copy"): a record whose file is
 * gone or of the wrong size is removed, so that repair counts the copy
 * as lost and makes it again.
 */
#ifndef DGFSD_OWN_COPIES_H
#define DGFSD_OWN_COPIES_H

#include <stdbool.h>
#include <stddef.h>

#include "dgfsd.h"

/* Where a check left off, for the next one to go on from. */
struct own_copies_cursor {
	uint8_t after[DGFS_CHUNK_ID_LEN];
	bool started;		/* after is set; false: from the first record */
};

/*
 * Checks up to @max of this host's records (0: all of them) from @cur on,
 * @cur moved past them (back to the first once the last one was checked).
 * One line on stderr for each record removed. How many were removed;
 * *checked (may be NULL) how many were checked.
 */
unsigned long own_copies_check(struct dgfsd *d, struct own_copies_cursor *cur, size_t max,
			       unsigned long *checked);

/*
 * chunkstore_reconcile()'s check at start-up (@arg the dgfsd): every one
 * of this host's records, and a summary line. How many were removed.
 */
unsigned long own_copies_at_start(void *arg);

/* Records removed by both, since dgfsd started (/metrics). */
unsigned long long own_copies_removed_total(void);

#endif /* DGFSD_OWN_COPIES_H */
