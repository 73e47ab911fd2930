// SPDX-License-Identifier: GPL-2.0
/* Latency histogram (hist.h). */

#include <math.h>

#include "hist.h"

#define EXACT (2u << HIST_SUB_BITS)	/* values below this have a bucket each */

static unsigned int bucket_of(uint64_t v)
{
	unsigned int msb, shift;

	if (v < EXACT)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return (shift << HIST_SUB_BITS) + (unsigned int)(v >> shift);
}

/* The smallest value of bucket @i and its width. */
static uint64_t bucket_low(unsigned int i, uint64_t *width)
{
	unsigned int shift;

	if (i < EXACT) {
		*width = 1;
		return i;
	}
	shift = (i >> HIST_SUB_BITS) - 1;
	*width = 1ull << shift;
	return (uint64_t)(i - (shift << HIST_SUB_BITS)) << shift;
}

void hist_add(struct hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	unsigned int i;

	for (i = 0; i < HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0, low, width;
	unsigned int i;

	if (!h->count)
		return 0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			low = bucket_low(i, &width);
			low += width / 2;
			return low < h->max ? low : h->max;
		}
	}
	return h->max;
}
