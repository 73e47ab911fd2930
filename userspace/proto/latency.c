// SPDX-License-Identifier: GPL-2.0
/* Latency histograms in dgfs.ko's log2 buckets (latency.h). */
#include <math.h>

#include "dgfs_hist.h"
#include "proto/latency.h"

void lat_hist_record(struct lat_hist_shared *h, uint64_t ns)
{
	atomic_fetch_add_explicit(&h->b[dgfs_hist_bucket(ns)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void lat_hist_load(const struct lat_hist_shared *h, struct lat_hist *out)
{
	for (unsigned int i = 0; i < DGFS_HIST_BUCKETS; i++)
		out->b[i] = atomic_load_explicit(&h->b[i], memory_order_relaxed);
	out->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

uint64_t lat_hist_count(const struct lat_hist *h)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < DGFS_HIST_BUCKETS; i++)
		n += h->b[i];
	return n;
}

void lat_hist_sub(struct lat_hist *out, const struct lat_hist *now,
		  const struct lat_hist *before)
{
	unsigned int i;

	/* A count gone back: the module was reloaded between the two reads,
	 * and everything in @now came after it.
	 */
	for (i = 0; i < DGFS_HIST_BUCKETS; i++)
		if (now->b[i] < before->b[i])
			break;
	if (i < DGFS_HIST_BUCKETS || now->sum_ns < before->sum_ns) {
		*out = *now;
		return;
	}
	for (i = 0; i < DGFS_HIST_BUCKETS; i++)
		out->b[i] = now->b[i] - before->b[i];
	out->sum_ns = now->sum_ns - before->sum_ns;
}

double lat_hist_quantile(const struct lat_hist *h, double q)
{
	uint64_t n = lat_hist_count(h), seen = 0;
	double rank;

	if (!n)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)n;
	for (unsigned int i = 0; i < DGFS_HIST_BUCKETS; i++) {
		double lo = i ? (double)dgfs_hist_bound_ns(i - 1) : 0;

		if (!h->b[i] || (double)(seen + h->b[i]) < rank) {
			seen += h->b[i];
			continue;
		}
		if (i == DGFS_HIST_BUCKETS - 1)
			return lo;
		return lo + ((double)dgfs_hist_bound_ns(i) - lo) *
			    (rank - (double)seen) / (double)h->b[i];
	}
	/* Rounding: rank a hair past the last count. */
	return (double)dgfs_hist_bound_ns(DGFS_HIST_BUCKETS - 2);
}

double lat_hist_le_seconds(unsigned int b)
{
	return b < DGFS_HIST_BUCKETS - 1 ? (double)dgfs_hist_bound_ns(b) / 1e9 : INFINITY;
}
