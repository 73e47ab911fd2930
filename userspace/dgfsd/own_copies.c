// SPDX-License-Identifier: GPL-2.0
/*
 * This host's own chunk_copies records against its chunk files
 * (own_copies.h, docs/CLUSTER.md "A lost copy").
 *
 * Repair counts a chunk's copies from chunk_copies. A record whose file
 * is gone (a disk replaced, a file deleted by hand, a crash between the
 * write and its fsync) would count as a copy for ever: repair would never
 * make the chunk's R-th copy again, and reads would be sent here to fail
 * over. So at start-up every record of this host (host_id = this one; no
 * other host's) is checked, and in each repair pass a slice of them: a
 * record whose file is absent or not the chunk's size is removed, and the
 * owner's next pass finds the chunk short and copies it again. A record
 * of a file that is there always stays.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "own_copies.h"

/* Records read from the database at once. */
#define OWN_COPIES_PAGE	1024

static atomic_ullong removed_total;

unsigned long long own_copies_removed_total(void)
{
	return atomic_load(&removed_total);
}

struct forget_arg {
	struct cluster *c;
	const uint8_t *id;
};

static int forget(void *arg)
{
	struct forget_arg *f = arg;

	return cluster_copy_del(f->c, f->id);
}

unsigned long own_copies_check(struct dgfsd *d, struct own_copies_cursor *cur, size_t max,
			       unsigned long *checked)
{
	struct cluster_own_copy *page = calloc(OWN_COPIES_PAGE, sizeof(*page));
	unsigned long removed = 0, seen = 0;
	char hex[2 * DGFS_CHUNK_ID_LEN + 1];
	size_t got, i, want;

	if (!page)
		goto out;
	for (;;) {
		want = max && max - seen < OWN_COPIES_PAGE ? max - seen : OWN_COPIES_PAGE;
		if (cluster_own_copies(d->cluster, cur->started ? cur->after : NULL, page, want,
				       &got))
			break;
		for (i = 0; i < got; i++) {
			struct forget_arg f = { .c = d->cluster, .id = page[i].id };
			const char *why = "";
			int ret;

			ret = chunkstore_forget_lost(d->cs, page[i].id, page[i].size, &why, forget,
						     &f);
			if (ret <= 0)
				continue;
			removed++;
			atomic_fetch_add(&removed_total, 1);
			dgfs_hex_encode(page[i].id, DGFS_CHUNK_ID_LEN, hex);
			fprintf(stderr, "dgfsd: copies: chunk %s (%u bytes) is %s here: this host's "
				"record of it removed\n", hex, page[i].size, why);
		}
		seen += got;
		if (got) {
			memcpy(cur->after, page[got - 1].id, DGFS_CHUNK_ID_LEN);
			cur->started = true;
		}
		if (got < want) {	/* the last record: the next check starts over */
			cur->started = false;
			break;
		}
		if (max && seen >= max)
			break;
	}
out:
	free(page);
	if (checked)
		*checked = seen;
	return removed;
}

unsigned long own_copies_at_start(void *arg)
{
	struct dgfsd *d = arg;
	struct own_copies_cursor cur = { .started = false };
	unsigned long checked, removed;

	removed = own_copies_check(d, &cur, 0, &checked);
	fprintf(stderr, "dgfsd: copies: %lu of this host's %lu chunk_copies record%s had no chunk "
		"file of the right size: removed (repair copies those chunks again)\n",
		removed, checked, checked == 1 ? "" : "s");
	return removed;
}
