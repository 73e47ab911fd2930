/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A latency histogram with buckets of about 1.6% relative width: the
 * first 128 values are exact, then each power of two is split into 64
 * buckets. Fixed size, no allocation, mergeable.
 */
#ifndef DGFS_BENCH_HIST_H
#define DGFS_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS	6
#define HIST_BUCKETS	(64 << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at quantile @q (0..1): the middle of its bucket; 0 if empty. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif /* DGFS_BENCH_HIST_H */
