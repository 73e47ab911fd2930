/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The latency histograms' buckets (DGFS_A_LATENCY), for dgfs.ko, which
 * fills them, and userspace, which shows them: log2 buckets of
 * nanoseconds, as bcc's histograms have, so that finding one costs a
 * count-leading-zeros and no table.
 */
#ifndef DGFS_HIST_H
#define DGFS_HIST_H

#include <linux/types.h>
#include <linux/dgfs.h>

/* The bucket a latency of @ns nanoseconds is counted in. */
static inline unsigned int dgfs_hist_bucket(__u64 ns)
{
	unsigned int b;

	if (ns <= (1ULL << DGFS_HIST_MIN_SHIFT))
		return 0;
	/* The bits of ns - 1: ns <= 2^bits, and ns > 2^(bits - 1). */
	b = 64 - __builtin_clzll(ns - 1) - DGFS_HIST_MIN_SHIFT;
	return b < DGFS_HIST_BUCKETS ? b : DGFS_HIST_BUCKETS - 1;
}

/* Bucket @b's upper bound in ns; the last has none (0). */
static inline __u64 dgfs_hist_bound_ns(unsigned int b)
{
	return b < DGFS_HIST_BUCKETS - 1 ? 1ULL << (DGFS_HIST_MIN_SHIFT + b) : 0;
}

#endif /* DGFS_HIST_H */
