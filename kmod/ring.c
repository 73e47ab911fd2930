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
 * Producers: the packet path, with bottom halves off (the kfunc may also
 * run from BPF_PROG_TEST_RUN in process context, hence the
 * local_bh_disable()), under the ring's producer lock. Without balancing
 * only the ring's own CPU produces, and the lock is never contended. One
 * consumer: the ring's work item, which the workqueue never runs twice at
 * once, bound to the ring's CPU.
 *
 * Balancing (`config set balance on`). A NIC with fewer receive queues
 * than CPUs (virtio with one, many cheap NICs) takes every request on the
 * CPUs of its queues, and their workers do all the sending while the
 * other CPUs idle. With balancing a request goes to the ring of a CPU
 * chosen by a keyed hash of the client's address, so a client's requests
 * stay in order on one CPU, and the XDP program's parse stays where the
 * packet arrived.
 *
 * Clients take turns. A ring serves one CPU, and one receive queue's NAPI
 * runs on one CPU: behind a single-queue NIC (or a veth whose NAPI a flood
 * keeps scheduled) every client's requests meet in the same ring. Served
 * in arrival order, a flooder that keeps the ring full leaves a small read
 * a free slot only by luck and then 511 expensive reads to wait behind.
 * So requests are grouped into flows by client address, as fq does with
 * packets: a flow may have DGFS_FLOW_QUOTA requests queued at once (more
 * are dropped and counted client_full), and the worker serves the flows
 * round-robin, one request each a turn. Spoofed sources spread a flood
 * over many flows; tokens bind replies to addresses, but the slots are
 * taken before the token is checked, so per-address shares are what this
 * can give.
 */
#include <linux/inetdevice.h>
#include <linux/netdevice.h>
#include <linux/random.h>
#include <linux/sched/clock.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/ktime.h>
#include <linux/workqueue.h>
#include <net/addrconf.h>
#include <net/ipv6.h>
#include <net/route.h>

#include "dgfs.h"
#include "reply.h"
#include <dgfs_kfuncs.h>

#define DGFS_RING_SLOTS 512	/* a power of two */
#define DGFS_FLOWS 256		/* a power of two, at most 256 (u8) */
/* 1/8 of the ring: a client pipelines well within it (dgfs get keeps a
 * few requests per job going), and eight flooders still leave room.
 */
#define DGFS_FLOW_QUOTA 64

/* A request the worker has taken off the ring, waiting for its flow's turn. */
struct dgfs_waiting {
	struct list_head list;		/* in its flow's queue, or the free list */
	struct dgfs_xdp_req r;
	u64 queued;			/* its slot's stamp */
	u8 flow;
};

struct dgfs_flow {
	struct list_head queue;		/* its waiting requests, oldest first */
	struct list_head turn;		/* in dgfs_ring.turns while it has any */
	/* For the top clients (the consumer's; read without its lock): */
	u64 served;			/* requests taken off its queue */
	u8 client[16];			/* the last client served, under label */
	bool shared;			/* it served more than one address */
};

struct dgfs_ring {
	/* The producers': */
	spinlock_t lock ____cacheline_aligned_in_smp;
	u32 head;
	siphash_key_t flow_key;		/* random, set before the first request */
	u8 slot_flow[DGFS_RING_SLOTS];	/* each slot's flow, stored with it */
	/* When each slot's request was queued (dgfs_latency_stamp()): the start
	 * of its latency (DGFS_H_REQUEST).
	 */
	u64 slot_stamp[DGFS_RING_SLOTS];
	/* Per flow, requests let in (the producer's) and done with (the
	 * consumer's): the difference, in u16 arithmetic, is what the flow
	 * has queued, in the ring or waiting its turn.
	 */
	u16 admitted[DGFS_FLOWS];
	u16 finished[DGFS_FLOWS] ____cacheline_aligned_in_smp;
	/* The consumer's: */
	u32 tail ____cacheline_aligned_in_smp;
	struct work_struct work;
	int cpu;			/* the work's, like the producer's */
	struct dgfs_net *dn;
	struct dgfs_routes routes;
	struct dgfs_streams streams;
	struct list_head turns;		/* flows with requests waiting, in turn */
	struct list_head free;		/* unused entries of waiting[] */
	seqcount_t label;		/* flows' client addresses change */
	struct dgfs_flow flows[DGFS_FLOWS];
	struct dgfs_waiting waiting[DGFS_RING_SLOTS];
	struct dgfs_xdp_req slot[DGFS_RING_SLOTS];
};

/* The client's flow: keyed, so that no client can choose to share one. */
static u8 flow_of(const struct dgfs_ring *ring, const struct dgfs_xdp_req *r)
{
	return siphash(r->saddr, sizeof(r->saddr), &ring->flow_key) & (DGFS_FLOWS - 1);
}

static struct workqueue_struct *dgfs_rx_wq;

static bool read_req_valid(const struct dgfs_read_req *req, u32 max_read)
{
	u32 length = be32_to_cpu(req->length);

	return req->magic == cpu_to_be32(DGFS_PROTO_MAGIC) &&
	       req->version == DGFS_PROTO_VERSION && req->op == DGFS_OP_READ &&
	       !req->flags && length && length <= max_read;
}

/*
 * Addresses. A reply goes back to the request's source, from its
 * destination, so refuse what the stack itself would never answer: a
 * source it would call martian (the reply would reach a local service, or
 * many hosts), a destination that is not one of this namespace's unicast
 * addresses (with promiscuous mode, a bridge, or a macvlan child in
 * another namespace, the device sees other hosts' traffic). Each check
 * returns 0, -EXDEV (not to us: not counted, XDP passes it on) or -EINVAL
 * with *why the counter to move.
 */
static int addr_check4(struct net *net, const struct net_device *dev, bool lo,
		       __be32 saddr, __be32 daddr, enum dgfs_counter *why)
{
	*why = DGFS_C_BAD_DST;
	if (ipv4_is_zeronet(daddr) || ipv4_is_lbcast(daddr) ||
	    ipv4_is_multicast(daddr) || (ipv4_is_loopback(daddr) && !lo))
		return -EINVAL;
	/* The table the device's traffic is routed by (its VRF's, if any). */
	switch (inet_addr_type_dev_table(net, dev, daddr)) {
	case RTN_LOCAL:
		break;
	case RTN_BROADCAST:	/* a subnet's broadcast address */
	case RTN_MULTICAST:
		return -EINVAL;
	default:
		return -EXDEV;
	}

	*why = DGFS_C_SRC_UNSPEC;
	if (ipv4_is_zeronet(saddr))
		return -EINVAL;
	*why = DGFS_C_SRC_MULTICAST;
	if (ipv4_is_multicast(saddr) || ipv4_is_lbcast(saddr))
		return -EINVAL;
	/* On loopback, our own addresses are the clients on this host. */
	if (lo)
		return 0;
	*why = DGFS_C_SRC_LOOPBACK;
	if (ipv4_is_loopback(saddr))
		return -EINVAL;
	switch (inet_addr_type_dev_table(net, dev, saddr)) {
	case RTN_LOCAL:
		*why = DGFS_C_SRC_LOCAL;
		return -EINVAL;
	case RTN_BROADCAST:
	case RTN_MULTICAST:
		*why = DGFS_C_SRC_MULTICAST;
		return -EINVAL;
	}
	return 0;
}

static int addr_check6(struct net *net, const struct net_device *dev, bool lo,
		       const struct in6_addr *saddr,
		       const struct in6_addr *daddr, enum dgfs_counter *why)
{
	int st = ipv6_addr_type(saddr), dt = ipv6_addr_type(daddr);

	*why = DGFS_C_BAD_DST;
	if (dt == IPV6_ADDR_ANY || (dt & IPV6_ADDR_MULTICAST) ||
	    ((dt & IPV6_ADDR_LOOPBACK) && !lo))
		return -EINVAL;
	/* Global addresses of any device count, link-local ones only of the
	 * device the request came in on (on loopback: of any).
	 */
	if (!ipv6_chk_addr(net, daddr, lo ? NULL : dev, 0))
		return -EXDEV;

	*why = DGFS_C_SRC_UNSPEC;
	if (st == IPV6_ADDR_ANY)
		return -EINVAL;
	*why = DGFS_C_SRC_MULTICAST;
	if (st & IPV6_ADDR_MULTICAST)
		return -EINVAL;
	if (lo)
		return 0;
	*why = DGFS_C_SRC_LOOPBACK;
	if (st & IPV6_ADDR_LOOPBACK)
		return -EINVAL;
	*why = DGFS_C_SRC_LOCAL;
	if (ipv6_chk_addr(net, saddr, dev, 0))
		return -EINVAL;
	return 0;
}

static int addr_check(struct dgfs_net *dn, const struct net_device *dev,
		      const struct dgfs_xdp_req *r, enum dgfs_counter *why)
{
	const struct in6_addr *saddr = (const struct in6_addr *)r->saddr;
	const struct in6_addr *daddr = (const struct in6_addr *)r->daddr;
	bool lo = dev->flags & IFF_LOOPBACK;

	/*
	 * IPv4 comes IPv4-mapped. An IPv6 packet from a mapped address
	 * would be answered over IPv4 (the stack drops those); one to a
	 * mapped address is not to us.
	 */
	if (ipv6_addr_v4mapped(daddr) != ipv6_addr_v4mapped(saddr)) {
		*why = ipv6_addr_v4mapped(saddr) ? DGFS_C_SRC_MAPPED : DGFS_C_BAD_DST;
		return -EINVAL;
	}
	if (ipv6_addr_v4mapped(daddr))
		return addr_check4(dn->net, dev, lo, saddr->s6_addr32[3],
				   daddr->s6_addr32[3], why);
	return addr_check6(dn->net, dev, lo, saddr, daddr, why);
}

int dgfs_ring_submit(struct dgfs_net *dn, const struct net_device *dev,
		     const struct dgfs_xdp_req *r)
{
	const struct dgfs_config *config;
	struct dgfs_ring **rings, *ring;
	enum dgfs_counter why;
	struct dgfs_xdp_req *slot;
	bool ours, valid, balance;
	u64 now;
	int cpu, to, ret = 0;
	u32 head;
	u8 flow;

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
	balance = config->balance;
	rcu_read_unlock();
	if (!ours)
		return -EADDRNOTAVAIL;
	/* No store was ever added here: the module serves no port in this
	 * namespace, so the request is not ours (XDP passes it to the
	 * stack). Pairs with the release in dgfs_net_rings_init().
	 */
	rings = smp_load_acquire(&dn->rings);
	if (!rings) {
		dgfs_count(dn, DGFS_C_NO_RINGS);
		return -EADDRNOTAVAIL;
	}
	/* Addresses first: a request to another host's address is not ours
	 * to judge at all.
	 */
	ret = addr_check(dn, dev, r, &why);
	if (ret == -EINVAL)
		dgfs_count(dn, why);
	if (ret)
		return ret;
	if (!valid) {
		dgfs_count(dn, DGFS_C_MALFORMED);
		return -EINVAL;
	}

	/* Before the lock: the clock read is all the stamp costs (none
	 * with the stamps off: 0).
	 */
	now = dgfs_latency_stamp();
	local_bh_disable();
	cpu = smp_processor_id();
	if (balance) {
		to = cpumask_nth(siphash(r->saddr, sizeof(r->saddr), &dn->balance_key) %
				 num_online_cpus(), cpu_online_mask);
		/* A CPU going offline meanwhile: its work runs elsewhere. */
		if (to < nr_cpu_ids && rings[to])
			cpu = to;
	}
	ring = rings[cpu];
	spin_lock(&ring->lock);
	head = ring->head;
	flow = flow_of(ring, r);
	if ((u16)(ring->admitted[flow] - READ_ONCE(ring->finished[flow])) >=
	    DGFS_FLOW_QUOTA) {
		dgfs_count(dn, DGFS_C_CLIENT_FULL);
		ret = -ENOSPC;
	} else if (head - smp_load_acquire(&ring->tail) >= DGFS_RING_SLOTS) {
		dgfs_count(dn, DGFS_C_RING_FULL);
		ret = -ENOSPC;
	} else {
		slot = &ring->slot[head & (DGFS_RING_SLOTS - 1)];
		*slot = *r;
		/* The device we were given, not whatever the caller wrote. */
		slot->ifindex = dev->ifindex;
		ring->slot_flow[head & (DGFS_RING_SLOTS - 1)] = flow;
		ring->slot_stamp[head & (DGFS_RING_SLOTS - 1)] = now;
		WRITE_ONCE(ring->admitted[flow], ring->admitted[flow] + 1);
		smp_store_release(&ring->head, head + 1);
		queue_work_on(cpu, dgfs_rx_wq, &ring->work);
		if (cpu != smp_processor_id())
			dgfs_count(dn, DGFS_C_BALANCED);
	}
	spin_unlock(&ring->lock);
	local_bh_enable();
	return ret;
}

/*
 * For the stats: what each ring's flows were let in with and are not done
 * with yet, in the ring's slots or waiting their turn. Read without the
 * lock, finished before admitted, so that a request done meanwhile is
 * never counted as less than none.
 */
void dgfs_rings_queued(struct dgfs_net *dn, u64 *all, u64 *max)
{
	struct dgfs_ring **rings = smp_load_acquire(&dn->rings);
	int cpu, f;

	BUILD_BUG_ON(2 * DGFS_RING_SLOTS != DGFS_RING_CAPACITY);
	*all = 0;
	*max = 0;
	if (!rings)
		return;
	for_each_possible_cpu(cpu) {
		const struct dgfs_ring *ring = rings[cpu];
		u64 n = 0;

		if (!ring)
			continue;
		for (f = 0; f < DGFS_FLOWS; f++) {
			u16 done = READ_ONCE(ring->finished[f]);

			smp_rmb();
			n += (u16)(READ_ONCE(ring->admitted[f]) - done);
		}
		n = min_t(u64, n, DGFS_RING_CAPACITY);
		*all += n;
		*max = max(*max, n);
	}
}

bool dgfs_rings_client(struct dgfs_net *dn, unsigned long *pos,
		       struct dgfs_client_stat *st)
{
	struct dgfs_ring **rings = smp_load_acquire(&dn->rings);
	unsigned int seq;

	for (; rings && *pos < (unsigned long)nr_cpu_ids * DGFS_FLOWS; (*pos)++) {
		int cpu = *pos / DGFS_FLOWS;
		struct dgfs_ring *ring = rings[cpu];
		struct dgfs_flow *flow;

		if (!ring)
			continue;
		flow = &ring->flows[*pos % DGFS_FLOWS];
		st->requests = smp_load_acquire(&flow->served);
		if (!st->requests)
			continue;
		do {
			seq = read_seqcount_begin(&ring->label);
			memcpy(st->addr, flow->client, sizeof(st->addr));
			st->shared = READ_ONCE(flow->shared);
		} while (read_seqcount_retry(&ring->label, seq));
		st->cpu = cpu;
		(*pos)++;
		return true;
	}
	return false;
}

/*
 * A run of the worker is bounded, as a NAPI poll is (a budget of packets
 * and at most 2 ms a round, net_rx_action()): at most DGFS_DRAIN_TURNS
 * turns and DGFS_DRAIN_NSEC, then, with work left, the work item queues
 * itself again behind whatever else waits on this CPU's pool (another
 * namespace's ring, say) and returns. A flood can keep the worker busy
 * for minutes on a slow host; an unbounded run kept every other ring of
 * the CPU waiting as long.
 */
#define DGFS_DRAIN_TURNS 64
#define DGFS_DRAIN_NSEC (2 * NSEC_PER_MSEC)

/*
 * Takes what the packet path queued off the ring into its flows' queues
 * (copies, as cheap as the producer's), so that the turn order is chosen
 * among everything that waits, not by arrival. Stops when every waiting
 * entry is taken: the ring holds the rest, and fills, as before.
 */
static void ring_pull(struct dgfs_ring *ring)
{
	u32 tail = ring->tail, head = smp_load_acquire(&ring->head);
	struct dgfs_waiting *w;
	struct dgfs_flow *flow;

	if (tail == head)
		return;
	while (tail != head && !list_empty(&ring->free)) {
		w = list_first_entry(&ring->free, struct dgfs_waiting, list);
		w->r = ring->slot[tail & (DGFS_RING_SLOTS - 1)];
		w->flow = ring->slot_flow[tail & (DGFS_RING_SLOTS - 1)];
		w->queued = ring->slot_stamp[tail & (DGFS_RING_SLOTS - 1)];
		tail++;
		flow = &ring->flows[w->flow];
		if (list_empty(&flow->queue))
			list_add_tail(&flow->turn, &ring->turns);
		list_move_tail(&w->list, &flow->queue);
	}
	/* The slots are the producer's again. */
	smp_store_release(&ring->tail, tail);
}

/* Serves the oldest request of the flow whose turn it is; false if none. */
static bool ring_serve_next(struct dgfs_ring *ring)
{
	struct dgfs_flow *flow;
	struct dgfs_waiting *w;
	struct dgfs_xdp_req r;
	u64 queued;
	u8 f;

	flow = list_first_entry_or_null(&ring->turns, struct dgfs_flow, turn);
	if (!flow)
		return false;
	w = list_first_entry(&flow->queue, struct dgfs_waiting, list);
	r = w->r;
	queued = w->queued;
	f = w->flow;
	list_move(&w->list, &ring->free);
	/* Label the flow with its client: a change is rare (several clients
	 * of one flow, a keyed hash, take turns), so readers seldom retry.
	 */
	if (memcmp(flow->client, r.saddr, sizeof(flow->client))) {
		preempt_disable();
		write_seqcount_begin(&ring->label);
		if (flow->served)
			WRITE_ONCE(flow->shared, true);
		memcpy(flow->client, r.saddr, sizeof(flow->client));
		write_seqcount_end(&ring->label);
		preempt_enable();
	}
	/* After the label: a reader that sees a count sees its client. */
	smp_store_release(&flow->served, flow->served + 1);
	/* One request a turn: the flow goes to the back, or out. */
	if (list_empty(&flow->queue))
		list_del(&flow->turn);
	else
		list_move_tail(&flow->turn, &ring->turns);
	dgfs_serve(ring->dn, &r, queued, &ring->routes, &ring->streams);
	/* Its share is free again (the producer reads this locklessly). */
	WRITE_ONCE(ring->finished[f], ring->finished[f] + 1);
	return true;
}

/*
 * Turns: the next flow's next request, then the next slice of the oldest
 * reply still going, and so on until both are done with. A small read
 * waits behind one request of each other client and a slice of each big
 * reply, not behind whole big replies or a flooder's backlog. The order
 * lives in the flows' and streams' lists, so it goes on across runs.
 */
static void dgfs_ring_drain(struct work_struct *work)
{
	struct dgfs_ring *ring = container_of(work, struct dgfs_ring, work);
	u64 stop = local_clock() + DGFS_DRAIN_NSEC;
	unsigned int turns = 0;
	bool busy;

	do {
		ring_pull(ring);
		busy = ring_serve_next(ring);
		if (dgfs_streams_resume(ring->dn, &ring->routes, &ring->streams))
			busy = true;
	} while (busy && ++turns < DGFS_DRAIN_TURNS && local_clock() < stop);

	/* Out of budget, not of work: the rest in the next run. */
	if (busy)
		queue_work_on(ring->cpu, dgfs_rx_wq, &ring->work);
}

static void rings_free(struct dgfs_ring **rings)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (!rings[cpu])
			continue;
		cancel_work_sync(&rings[cpu]->work);
		dgfs_streams_flush(&rings[cpu]->streams);
		dgfs_routes_flush(&rings[cpu]->routes);
		kvfree(rings[cpu]);
	}
	kfree(rings);
}

/*
 * Under dgfs_net.lock, at every store add: the first makes the rings (and
 * their route tables), about 130 KB per possible CPU, charged to the
 * caller's memory cgroup. A namespace that never serves costs none of it.
 */
int dgfs_net_rings_init(struct dgfs_net *dn)
{
	struct dgfs_ring **rings;
	int cpu, i;

	lockdep_assert_held(&dn->lock);
	if (dn->rings)
		return 0;
	rings = kcalloc(nr_cpu_ids, sizeof(*rings), GFP_KERNEL_ACCOUNT);
	if (!rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct dgfs_ring *ring;

		ring = kvzalloc_node(sizeof(*ring), GFP_KERNEL_ACCOUNT,
				     cpu_to_node(cpu));
		if (!ring) {
			rings_free(rings);
			return -ENOMEM;
		}
		spin_lock_init(&ring->lock);
		seqcount_init(&ring->label);
		INIT_WORK(&ring->work, dgfs_ring_drain);
		INIT_LIST_HEAD(&ring->streams.list);
		INIT_LIST_HEAD(&ring->turns);
		INIT_LIST_HEAD(&ring->free);
		for (i = 0; i < DGFS_FLOWS; i++) {
			INIT_LIST_HEAD(&ring->flows[i].queue);
			INIT_LIST_HEAD(&ring->flows[i].turn);
		}
		for (i = 0; i < DGFS_RING_SLOTS; i++)
			list_add_tail(&ring->waiting[i].list, &ring->free);
		get_random_bytes(&ring->flow_key, sizeof(ring->flow_key));
		ring->dn = dn;
		ring->cpu = cpu;
		rings[cpu] = ring;
	}
	get_random_bytes(&dn->balance_key, sizeof(dn->balance_key));
	/* The packet path reads the pointer without the lock: it must see
	 * the rings whole.
	 */
	smp_store_release(&dn->rings, rings);
	return 0;
}

/* The namespace is going: no packet can reach its rings any more. */
void dgfs_net_rings_uninit(struct dgfs_net *dn)
{
	if (!dn->rings)
		return;
	rings_free(dn->rings);
	dn->rings = NULL;
}

/*
 * Bound to the CPU the packet came in on, like the packet itself, at the
 * ordinary priority (nice 0): not WQ_HIGHPRI. Softirqs that cannot run
 * when they are raised (past their 2 ms, or while ksoftirqd already has
 * some) wait for this CPU's ksoftirqd, a nice 0 thread; a nice -20
 * worker kept busy by a flood left it about 1% of the CPU, and with it
 * the receive path, the timers (neighbour resolution, the replies' own)
 * and RCU's softirq: on a slow host, minutes of RCU stall. At the same
 * priority the scheduler shares the CPU between them. WQ_CPU_INTENSIVE:
 * a busy worker does not hold back the other work items of the CPU's
 * pool either, as the pool's concurrency control would otherwise.
 */
int __init dgfs_ring_init(void)
{
	dgfs_rx_wq = alloc_workqueue("dgfs_rx", WQ_CPU_INTENSIVE, 0);
	return dgfs_rx_wq ? 0 : -ENOMEM;
}

void dgfs_ring_uninit(void)
{
	destroy_workqueue(dgfs_rx_wq);
}
