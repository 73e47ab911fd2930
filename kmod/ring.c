// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU rings between the packet path and the workers.
 *
 * The XDP program (through a kfunc) and the service socket's receive hook
 * both run in softirq context, where nothing may sleep or wait for a disk.
 * They only check a request's shape and copy it into this CPU's ring; a
 * work item bound to the same CPU drains the ring in process context. A
 * full ring drops the request and counts it: nothing ever waits in softirq.
 *
 * One producer per ring: the packet path on that CPU, with bottom halves
 * off (the kfunc may also run from BPF_PROG_TEST_RUN in process context,
 * hence the local_bh_disable()). One consumer: the ring's work item, which
 * the workqueue never runs twice at once.
 */
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dgfs.h"
#include "reply.h"
#include <dgfs_kfuncs.h>

#define DGFS_RING_SLOTS 512	/* a power of two */

struct dgfs_ring {
	u32 head ____cacheline_aligned_in_smp;	/* written by the producer */
	u32 tail ____cacheline_aligned_in_smp;	/* written by the consumer */
	struct work_struct work;
	struct dgfs_net *dn;
	struct dgfs_routes routes;	/* the consumer's alone */
	struct dgfs_xdp_req slot[DGFS_RING_SLOTS];
};

static struct workqueue_struct *dgfs_rx_wq;

static bool read_req_valid(const struct dgfs_read_req *req, u32 max_read)
{
	u32 length = be32_to_cpu(req->length);

	return req->magic == cpu_to_be32(DGFS_PROTO_MAGIC) &&
	       req->version == DGFS_PROTO_VERSION && req->op == DGFS_OP_READ &&
	       !req->flags && length && length <= max_read;
}

int dgfs_ring_submit(struct dgfs_net *dn, const struct dgfs_xdp_req *r)
{
	const struct dgfs_config *config;
	struct dgfs_ring *ring;
	bool ours, valid;
	int cpu, ret = 0;
	u32 head;

	/*
	 * One look at the configuration for both checks. The port: an XDP
	 * program loaded before `config set port` still catches the old one,
	 * which is no longer ours (the program passes it on to the stack).
	 * The shape: a kfunc can be called by any XDP program.
	 */
	rcu_read_lock();
	config = rcu_dereference(dn->config);
	ours = be16_to_cpu(r->dport) == config->port;
	valid = read_req_valid(&r->req, config->max_read);
	rcu_read_unlock();
	if (!ours)
		return -EADDRNOTAVAIL;
	if (!valid) {
		dgfs_count(dn, DGFS_C_MALFORMED);
		return -EINVAL;
	}

	local_bh_disable();
	cpu = smp_processor_id();
	ring = dn->rings[cpu];
	head = ring->head;
	if (head - smp_load_acquire(&ring->tail) >= DGFS_RING_SLOTS) {
		dgfs_count(dn, DGFS_C_RING_FULL);
		ret = -ENOSPC;
	} else {
		ring->slot[head & (DGFS_RING_SLOTS - 1)] = *r;
		smp_store_release(&ring->head, head + 1);
		queue_work_on(cpu, dgfs_rx_wq, &ring->work);
	}
	local_bh_enable();
	return ret;
}

static void dgfs_ring_drain(struct work_struct *work)
{
	struct dgfs_ring *ring = container_of(work, struct dgfs_ring, work);
	struct dgfs_xdp_req r;
	unsigned int done = 0;
	u32 tail = ring->tail;

	while (tail != smp_load_acquire(&ring->head)) {
		r = ring->slot[tail & (DGFS_RING_SLOTS - 1)];
		/* The slot is ours to reuse as soon as it is copied. */
		smp_store_release(&ring->tail, ++tail);
		dgfs_serve(ring->dn, &r, &ring->routes);
		if (!(++done % 32))
			cond_resched();
	}
}

int dgfs_net_rings_init(struct dgfs_net *dn)
{
	int cpu;

	dn->rings = kcalloc(nr_cpu_ids, sizeof(*dn->rings), GFP_KERNEL);
	if (!dn->rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct dgfs_ring *ring;

		ring = kvzalloc_node(sizeof(*ring), GFP_KERNEL, cpu_to_node(cpu));
		if (!ring)
			goto err;
		INIT_WORK(&ring->work, dgfs_ring_drain);
		ring->dn = dn;
		dn->rings[cpu] = ring;
	}
	return 0;
err:
	dgfs_net_rings_uninit(dn);
	return -ENOMEM;
}

/* The namespace is going: no packet can reach its rings any more. */
void dgfs_net_rings_uninit(struct dgfs_net *dn)
{
	int cpu;

	if (!dn->rings)
		return;
	for_each_possible_cpu(cpu) {
		if (!dn->rings[cpu])
			continue;
		cancel_work_sync(&dn->rings[cpu]->work);
		dgfs_routes_flush(&dn->rings[cpu]->routes);
		kvfree(dn->rings[cpu]);
	}
	kfree(dn->rings);
	dn->rings = NULL;
}

int __init dgfs_ring_init(void)
{
	/* Bound to the CPU the packet came in on, like the packet itself. */
	dgfs_rx_wq = alloc_workqueue("dgfs_rx", WQ_HIGHPRI, 0);
	return dgfs_rx_wq ? 0 : -ENOMEM;
}

void dgfs_ring_uninit(void)
{
	destroy_workqueue(dgfs_rx_wq);
}
