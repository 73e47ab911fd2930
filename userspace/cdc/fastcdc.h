/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FastCDC content-defined chunking (Xia et al., USENIX ATC '16), with
 * normalized chunking: a stricter mask below the average size and a looser
 * one above it, so chunk sizes cluster around the average. A cut depends
 * only on the bytes since the previous cut, so inserting bytes into a file
 * changes the chunks around the insertion and no others.
 *
 * dgfsd and the dgfs client must cut identically (client-side dedup asks
 * the host for chunks by id), so both use this one file and its gear table.
 *
 * Streaming: feed any number of bytes at a time; memory is O(1) (the cut
 * decision needs no look-back).
 */
#ifndef DGFS_FASTCDC_H
#define DGFS_FASTCDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FASTCDC_MIN_SIZE	(256u << 10)
#define FASTCDC_AVG_SIZE	(1u << 20)
#define FASTCDC_MAX_SIZE	(4u << 20)

struct fastcdc_params {
	uint32_t min_size;	/* no cut before this many bytes */
	uint32_t avg_size;	/* a power of two, min < avg < max */
	uint32_t max_size;	/* always a cut here */
};

struct fastcdc {
	struct fastcdc_params p;
	uint64_t mask_small;	/* used below avg_size: more bits, rarer cuts */
	uint64_t mask_large;	/* used from avg_size on: fewer bits */
	uint64_t fp;		/* the gear fingerprint */
	uint32_t len;		/* bytes of the current chunk seen so far */
};

/* The defaults above. */
extern const struct fastcdc_params fastcdc_default_params;

/* 0, or -1 if the parameters are unusable (then @c is untouched). */
int fastcdc_init(struct fastcdc *c, const struct fastcdc_params *p);

/*
 * Scans @data. Returns how many bytes belong to the current chunk: all
 * @len of them (*cut false), or fewer or all with *cut true when the
 * chunk ends after the returned count; the state is then reset for the
 * next chunk and the caller feeds the rest again. The end of the input
 * always ends the last chunk (the caller's business; an empty input has
 * no chunks). @len 0 returns 0 with *cut false. All-zero data is cut
 * at max_size.
 */
size_t fastcdc_feed(struct fastcdc *c, const uint8_t *data, size_t len, bool *cut);

/* Bytes of the current (unfinished) chunk seen so far. */
static inline uint32_t fastcdc_pending(const struct fastcdc *c)
{
	return c->len;
}

/* Forget the current chunk (start of a new stream). */
void fastcdc_reset(struct fastcdc *c);

#endif /* DGFS_FASTCDC_H */
