// SPDX-License-Identifier: GPL-2.0
/*
 * Latency histograms, per CPU like the counters and summed on read: log2
 * buckets of nanoseconds (include/dgfs_hist.h), so that recording one
 * costs a clock read, a count-leading-zeros and two per-CPU adds, and no
 * lock. Recorded in process context only (the workers and the IO
 * workqueue); the packet path only reads the clock for the request's
 * stamp (ring.c).
 */
#include <linux/percpu.h>
#include <linux/ktime.h>

#include "dgfs.h"

void dgfs_latency_record(struct dgfs_net *dn, enum dgfs_hist_id h, u64 since)
{
	u64 ns = ktime_get_ns() - since;
	struct dgfs_pcpu_stats *stats = get_cpu_ptr(dn->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&stats->syncp);
	u64_stats_inc(&stats->hist[h][dgfs_hist_bucket(ns)]);
	u64_stats_add(&stats->hist_sum_ns[h], ns);
	u64_stats_update_end_irqrestore(&stats->syncp, flags);
	put_cpu_ptr(dn->stats);
}

void dgfs_latency_sum(struct dgfs_net *dn, enum dgfs_hist_id h,
		      u64 buckets[DGFS_HIST_BUCKETS], u64 *sum_ns)
{
	u64 b[DGFS_HIST_BUCKETS], sum;
	unsigned int start, i;
	int cpu;

	memset(buckets, 0, sizeof(u64) * DGFS_HIST_BUCKETS);
	*sum_ns = 0;
	for_each_possible_cpu(cpu) {
		const struct dgfs_pcpu_stats *s = per_cpu_ptr(dn->stats, cpu);

		/* One CPU's buckets and sum as one snapshot (on 32-bit). */
		do {
			start = u64_stats_fetch_begin_irq(&s->syncp);
			for (i = 0; i < DGFS_HIST_BUCKETS; i++)
				b[i] = u64_stats_read(&s->hist[h][i]);
			sum = u64_stats_read(&s->hist_sum_ns[h]);
		} while (u64_stats_fetch_retry_irq(&s->syncp, start));
		for (i = 0; i < DGFS_HIST_BUCKETS; i++)
			buckets[i] += b[i];
		*sum_ns += sum;
	}
}
