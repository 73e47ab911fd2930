// SPDX-License-Identifier: GPL-2.0
/*
 * Latency histograms, per CPU like the counters and summed on read: log2
 * buckets of nanoseconds (include/dgfs_hist.h), so that recording one
 * costs a clock read, a count-leading-zeros and two per-CPU adds, and no
 * lock. Recorded in process context only (the workers and the IO
 * workqueue); the packet path only reads the clock for the request's
 * stamp (ring.c).
 *
 * The module parameter `latency` (on by default) turns the stamps off, for
 * measuring what they cost (docs/BENCHMARKS.md): a static key, so that on
 * the code is what it was without the switch (a no-op where the branch
 * is, and a test of the stamp when a request ends), and off takes no
 * clock read and records nothing. A request stamped
 * 0 (taken while off) is not recorded when it ends, whatever the switch
 * says then: its latency is unknown.
 */
#include <linux/jump_label.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/ktime.h>
#include <linux/sysfs.h>

#include "dgfs.h"

DEFINE_STATIC_KEY_TRUE(dgfs_latency_on);

static int latency_param_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret = kstrtobool(val, &on);

	if (ret)
		return ret;
	if (on)
		static_branch_enable(&dgfs_latency_on);
	else
		static_branch_disable(&dgfs_latency_on);
	return 0;
}

static int latency_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%c\n", static_key_enabled(&dgfs_latency_on) ? 'Y' : 'N');
}

static const struct kernel_param_ops latency_param_ops = {
	.set = latency_param_set,
	.get = latency_param_get,
};
module_param_cb(latency, &latency_param_ops, NULL, 0644);
MODULE_PARM_DESC(latency, "stamp fast-path requests and disk waits for the latency histograms (default Y; N: no clock reads, the histograms stand still)");

void __dgfs_latency_record(struct dgfs_net *dn, enum dgfs_hist_id h, u64 since)
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
