/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency histograms in dgfs.ko's buckets (include/dgfs_hist.h: log2 of
 * nanoseconds, 1.024 us .. 17.2 s): as the module reports them
 * (DGFS_A_LATENCY), as dgfsd's UDP tier records its own, and what
 * dgfsctl, dgfs-top and /metrics make of them.
 */
#ifndef DGFS_PROTO_LATENCY_H
#define DGFS_PROTO_LATENCY_H

#include <stdatomic.h>
#include <stdint.h>

#include <linux/dgfs.h>

struct lat_hist {
	uint64_t b[DGFS_HIST_BUCKETS];	/* not cumulative */
	uint64_t sum_ns;
};

/* Recorded by many threads at once (relaxed atomics). */
struct lat_hist_shared {
	_Atomic uint64_t b[DGFS_HIST_BUCKETS];
	_Atomic uint64_t sum_ns;
};

void lat_hist_record(struct lat_hist_shared *h, uint64_t ns);
void lat_hist_load(const struct lat_hist_shared *h, struct lat_hist *out);

uint64_t lat_hist_count(const struct lat_hist *h);
/* now - before, bucket by bucket: what was counted between two reads. */
void lat_hist_sub(struct lat_hist *out, const struct lat_hist *now,
		  const struct lat_hist *before);
/*
 * The latency in ns below which a fraction @q (0..1) of those counted
 * lie, linear within its bucket as Prometheus's histogram_quantile()
 * takes it; in the last, unbounded bucket its lower bound. 0 if none.
 */
double lat_hist_quantile(const struct lat_hist *h, double q);
/* Upper bound of bucket @b in seconds (the last: +Inf). */
double lat_hist_le_seconds(unsigned int b);

#endif /* DGFS_PROTO_LATENCY_H */
