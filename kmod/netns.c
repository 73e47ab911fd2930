// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state: each namespace is its own storage host, with
 * its own stores, chunk index and config. Tests run several hosts in one
 * kernel this way.
 */
#include <linux/percpu.h>
#include <linux/slab.h>

#include "dgfs.h"

unsigned int dgfs_net_id __read_mostly;

/* Called under dn->lock after every change that a dump could observe. */
void dgfs_net_changed(struct dgfs_net *dn)
{
	lockdep_assert_held(&dn->lock);
	/* Never 0: a dump whose cb->seq is 0 is not checked at all. */
	if (++dn->generation == 0)
		dn->generation = 1;
}

void dgfs_count_add(struct dgfs_net *dn, enum dgfs_counter c, u64 n)
{
	struct dgfs_pcpu_stats *stats = get_cpu_ptr(dn->stats);
	unsigned long flags;

	/* irqsave: process context and softirq both count on this CPU. */
	flags = u64_stats_update_begin_irqsave(&stats->syncp);
	u64_stats_add(&stats->c[c], n);
	u64_stats_update_end_irqrestore(&stats->syncp, flags);
	put_cpu_ptr(dn->stats);
}

u64 dgfs_counter_sum(struct dgfs_net *dn, enum dgfs_counter c)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct dgfs_pcpu_stats *s = per_cpu_ptr(dn->stats, cpu);
		unsigned int start;
		u64 v;

		do {
			start = u64_stats_fetch_begin_irq(&s->syncp);
			v = u64_stats_read(&s->c[c]);
		} while (u64_stats_fetch_retry_irq(&s->syncp, start));
		sum += v;
	}
	return sum;
}

/*
 * Under dn->lock, at every store add: the first makes what serving takes
 * (the IO workqueue, then the rings, which the packet path then sees), so
 * that a namespace that never serves costs only its pernet state.
 */
int dgfs_net_start(struct dgfs_net *dn)
{
	int ret;

	lockdep_assert_held(&dn->lock);
	if (dn->rings)
		return 0;
	ret = dgfs_serve_net_init(dn);
	if (ret < 0)
		return ret;
	ret = dgfs_net_rings_init(dn);
	if (ret < 0)
		goto err_rings;
	return 0;

err_rings:
	dgfs_serve_net_uninit(dn);
	return ret;
}

static int __net_init dgfs_net_init(struct net *net)
{
	struct dgfs_net *dn = dgfs_net(net);
	struct dgfs_config *config;
	int cpu, ret;

	dn->net = net;
	mutex_init(&dn->lock);
	INIT_LIST_HEAD(&dn->stores);
	INIT_LIST_HEAD(&dn->chunks);
	dn->generation = 1;

	config = kzalloc(sizeof(*config), GFP_KERNEL);
	if (!config)
		return -ENOMEM;
	config->port = DGFS_DEFAULT_PORT;
	config->max_read = DGFS_DEFAULT_MAX_READ;
	config->auth = true;	/* and no key yet: every read is refused */
	RCU_INIT_POINTER(dn->config, config);

	dn->stats = alloc_percpu(struct dgfs_pcpu_stats);
	if (!dn->stats) {
		ret = -ENOMEM;
		goto err_stats;
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(dn->stats, cpu)->syncp);

	/* The rings and the IO workqueue wait for the first store. */
	ret = dgfs_chunk_index_init(dn);
	if (ret < 0)
		goto err_index;
	return 0;

err_index:
	free_percpu(dn->stats);
err_stats:
	kfree(config);
	return ret;
}

/*
 * Sockets first: on rmmod the namespace still has its devices, and a request
 * arriving through a socket's encap hook goes to the rings. So they are
 * unhooked here (and no longer current: workers send no more replies), and
 * the core waits one RCU grace period for all the namespaces of the batch
 * before any exit: from then on nothing submits through them. XDP cannot:
 * a loaded program holds the module, and a dying namespace has no devices
 * left by its exit.
 */
static void __net_exit dgfs_net_pre_exit(struct net *net)
{
	dgfs_sockets_unhook(dgfs_net(net));
}

static void __net_exit dgfs_net_exit(struct net *net)
{
	struct dgfs_net *dn = dgfs_net(net);

	/*
	 * Stop the workers, then the IO workqueue (at rmmod, this waits for
	 * this namespace's slow reads); then nobody takes a socket any more,
	 * and the sockets close without a grace period (reply.c).
	 */
	dgfs_net_rings_uninit(dn);
	dgfs_serve_net_uninit(dn);
	dgfs_sockets_close(dn);

	mutex_lock(&dn->lock);
	dgfs_chunk_flush(dn);
	dgfs_store_flush(dn);
	mutex_unlock(&dn->lock);

	dgfs_chunk_index_uninit(dn);
	free_percpu(dn->stats);
	/* The namespace is gone: no reader of the config is left. */
	kfree(rcu_dereference_protected(dn->config, true));
}

static struct pernet_operations dgfs_net_ops = {
	.init = dgfs_net_init,
	.pre_exit = dgfs_net_pre_exit,
	.exit = dgfs_net_exit,
	.id = &dgfs_net_id,
	.size = sizeof(struct dgfs_net),
};

int dgfs_netns_init(void)
{
	return register_pernet_subsys(&dgfs_net_ops);
}

void dgfs_netns_uninit(void)
{
	unregister_pernet_subsys(&dgfs_net_ops);
}
