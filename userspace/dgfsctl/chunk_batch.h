/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl: batch mode's "chunk add" lines, sent many to a message. */
#ifndef DGFSCTL_CHUNK_BATCH_H
#define DGFSCTL_CHUNK_BATCH_H

#include <stdbool.h>

#include "chunk.h"

struct dgfsctl;
struct chunk_batch;

struct chunk_batch *chunk_batch_new(void);
void chunk_batch_free(struct chunk_batch *b);	/* NULL is fine */

/* true: the line can join the queued ones (same store, room left). */
bool chunk_batch_fits(const struct chunk_batch *b, const struct chunk_add_args *a);
/* Queues a parsed line (it must fit): 0, -ENOSPC or -ENOMEM. */
int chunk_batch_queue(struct chunk_batch *b, const struct chunk_add_args *a,
		      unsigned long lineno);
/*
 * Adds the queued lines; each one that fails is reported as a lone
 * "chunk add" would be, with "NAME:LINE: command failed", and sets *status
 * to EXIT_ERROR. -1 when a failure ends the batch (no -f): the lines
 * after it were not sent. The queue is empty afterwards.
 */
int chunk_batch_flush(struct chunk_batch *b, struct dgfsctl *ctl,
		      const char *name, int *status);

#endif /* DGFSCTL_CHUNK_BATCH_H */
