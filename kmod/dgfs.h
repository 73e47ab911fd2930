/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfs.ko internals: the per-namespace state and the objects it holds.
 *
 * Locking, in one place:
 * - dgfs_net.lock (a mutex) serializes every change (stores, chunks,
 *   config) and every dump in a namespace. Netlink runs in process context,
 *   so sleeping under it (path lookup, file open) is fine.
 * - The chunk index is an rhashtable read under RCU, so the XDP path (softirq)
 *   never takes the mutex. A reader that finds a chunk takes a reference
 *   with refcount_inc_not_zero(); the index itself owns one reference, which
 *   deletion drops. The last reference closes the file; the memory goes
 *   after an RCU grace period, since a lockless reader may still be looking
 *   at it.
 * - The config is an RCU-protected pointer, replaced whole on every set.
 * - The service sockets are RCU-protected pointers to refcounted sockets
 *   (reply.c): a reply holds a reference, never a lock, while it sends.
 */
#ifndef _DGFS_H
#define _DGFS_H

#include <linux/atomic.h>
#include <linux/jump_label.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/rhashtable-types.h>
#include <linux/refcount.h>
#include <linux/u64_stats_sync.h>
#include <net/net_namespace.h>
#include <linux/siphash.h>
#include <net/netns/generic.h>
#include <net/netlink.h>

#include <linux/dgfs.h>
#include <dgfs_hist.h>

struct dgfs_config {
	u16 port;
	u32 max_read;
	bool auth;
	bool key_set;
	bool balance;		/* serve on the client's CPU (ring.c) */
	u8 key[DGFS_AUTH_KEY_LEN];
	struct rcu_head rcu;
};

/* Per-CPU counters, summed on read; each has a DGFS_STATS_A_* twin. */
enum dgfs_counter {
	DGFS_C_LOOKUPS,
	DGFS_C_LOOKUP_HITS,
	DGFS_C_REQUESTS,
	DGFS_C_REPLIES,
	DGFS_C_DATAGRAMS,
	DGFS_C_BYTES,
	DGFS_C_MALFORMED,
	DGFS_C_RING_FULL,
	DGFS_C_TOKEN_REJECTED,
	DGFS_C_NOENT,
	DGFS_C_RANGE,
	DGFS_C_IO_ERRORS,
	DGFS_C_OVERLOADED,
	DGFS_C_CACHE_MISSES,
	DGFS_C_SEND_ERRORS,
	DGFS_C_STACK_REQUESTS,
	/* Requests refused for their addresses (ring.c), one per reason. */
	DGFS_C_SRC_UNSPEC,
	DGFS_C_SRC_LOOPBACK,
	DGFS_C_SRC_MULTICAST,
	DGFS_C_SRC_MAPPED,
	DGFS_C_SRC_LOCAL,
	DGFS_C_BAD_DST,
	DGFS_C_NO_RINGS,	/* requests to a namespace that never served */
	DGFS_C_CLIENT_FULL,	/* requests over their client's share (ring.c) */
	DGFS_C_BALANCED,	/* requests handed to another CPU's ring */
	DGFS_C_MAX
};

/* Latency histograms (latency.c), each with a DGFS_LATENCY_A_* twin. */
enum dgfs_hist_id {
	DGFS_H_REQUEST,		/* queued by the kfunc .. last datagram sent */
	DGFS_H_DISK,		/* a slow read's wait for one page */
	DGFS_H_MAX
};

struct dgfs_pcpu_stats {
	u64_stats_t c[DGFS_C_MAX];
	u64_stats_t hist[DGFS_H_MAX][DGFS_HIST_BUCKETS];
	u64_stats_t hist_sum_ns[DGFS_H_MAX];
	struct u64_stats_sync syncp;
};

struct dgfs_ring;
struct dgfs_sock;

struct dgfs_net {
	struct net *net;
	struct mutex lock;
	struct list_head stores;	/* under lock */
	struct list_head chunks;	/* under lock; the order dumps walk */
	struct rhashtable index;	/* chunk id -> chunk; RCU readers */
	struct dgfs_config __rcu *config;
	struct dgfs_pcpu_stats __percpu *stats;
	/* Under lock. generation moves on every change, so a dump that spans
	 * several messages can tell it was torn (NLM_F_DUMP_INTR).
	 */
	u32 generation;
	unsigned int nr_stores;
	unsigned int nr_chunks;
	u64 chunk_bytes;

	/* The fast path (ring.c, serve.c, reply.c). The rings are made at
	 * the first store add and kept until the namespace goes; the packet
	 * path reads the pointer locklessly (smp_load_acquire()).
	 */
	struct dgfs_ring **rings;	/* one per possible CPU, or NULL */
	siphash_key_t balance_key;	/* client -> CPU, when balancing */
	struct workqueue_struct *io_wq;	/* slow reads; made with the rings */
	atomic_t slow_reads;		/* in flight on io_wq */
	/* UDP sockets on the service port (reply.c), made when the first
	 * store is added and replaced under lock. Replies take a reference
	 * under RCU and send without a lock: a replaced socket is closed
	 * after its last reply.
	 */
	struct dgfs_sock __rcu *sock4;
	struct dgfs_sock __rcu *sock6;
	/* Between pre_exit and exit: the sockets, no longer current. */
	struct dgfs_sock *closing4;
	struct dgfs_sock *closing6;
	u16 sock_port;			/* under lock */
};

struct dgfs_store {
	struct list_head list;		/* in dgfs_net.stores */
	char name[DGFS_STORE_NAME_MAX];
	char *path_name;		/* as the operator gave it, for show */
	struct path root;
	unsigned int nr_chunks;		/* a store with chunks cannot go */
	u64 bytes;
};

struct dgfs_chunk {
	struct rhash_head node;		/* in dgfs_net.index */
	struct list_head list;		/* in dgfs_net.chunks */
	u8 id[DGFS_CHUNK_ID_LEN];
	refcount_t ref;
	u64 size;
	struct file *file;		/* open for as long as the chunk lives */
	/* Valid only while the chunk is in the index (under dgfs_net.lock):
	 * its store cannot be deleted before it is.
	 */
	struct dgfs_store *store;
	char *path_name;		/* relative to the store */
	struct rcu_head rcu;
};

/* netns.c */
extern unsigned int dgfs_net_id;
static inline struct dgfs_net *dgfs_net(const struct net *net)
{
	return net_generic(net, dgfs_net_id);
}
int dgfs_netns_init(void);
void dgfs_netns_uninit(void);
void dgfs_net_changed(struct dgfs_net *dn);
int dgfs_net_start(struct dgfs_net *dn);

void dgfs_count_add(struct dgfs_net *dn, enum dgfs_counter c, u64 n);
static inline void dgfs_count(struct dgfs_net *dn, enum dgfs_counter c)
{
	dgfs_count_add(dn, c, 1);
}
u64 dgfs_counter_sum(struct dgfs_net *dn, enum dgfs_counter c);

/* latency.c: the start of a latency (ktime_get_ns()), or 0 when the
 * stamps are off (module parameter `latency`).
 */
DECLARE_STATIC_KEY_TRUE(dgfs_latency_on);
static inline u64 dgfs_latency_stamp(void)
{
	return static_branch_likely(&dgfs_latency_on) ? ktime_get_ns() : 0;
}
/* A latency from @since (dgfs_latency_stamp()) to now, into @h; none for
 * a request stamped while the stamps were off.
 */
void __dgfs_latency_record(struct dgfs_net *dn, enum dgfs_hist_id h, u64 since);
static inline void dgfs_latency_record(struct dgfs_net *dn, enum dgfs_hist_id h, u64 since)
{
	if (since)
		__dgfs_latency_record(dn, h, since);
}
/* @h summed over the CPUs: its buckets, and the latencies' sum in ns. */
void dgfs_latency_sum(struct dgfs_net *dn, enum dgfs_hist_id h,
		      u64 buckets[DGFS_HIST_BUCKETS], u64 *sum_ns);

/* Module-wide object accounting: every store and chunk counts once when made
 * and once when freed. They must agree when the module goes.
 */
extern atomic64_t dgfs_objects_created;
extern atomic64_t dgfs_objects_destroyed;

/* store.c */
struct dgfs_store *dgfs_store_find(struct dgfs_net *dn, const char *name);
struct dgfs_store *dgfs_store_add(struct dgfs_net *dn, const char *name,
				  const char *path_name,
				  struct netlink_ext_ack *extack);
int dgfs_store_del(struct dgfs_net *dn, const char *name,
		   struct netlink_ext_ack *extack);
void dgfs_store_flush(struct dgfs_net *dn);

/* chunk.c */
int dgfs_chunk_index_init(struct dgfs_net *dn);
void dgfs_chunk_index_uninit(struct dgfs_net *dn);
struct dgfs_chunk *dgfs_chunk_add(struct dgfs_net *dn, const u8 *id,
				  struct dgfs_store *store,
				  const char *path_name, const u64 *want_size,
				  struct netlink_ext_ack *extack);
/* One entry of a many-chunk add; @nla is what an error about it points at. */
struct dgfs_chunk_entry {
	const u8 *id;
	const char *path_name;
	const u64 *want_size;		/* or NULL */
	u64 size;			/* what want_size points at */
	const struct nlattr *nla;
};
/* Every entry (in one store, ids distinct) checked as one add is, then all
 * added, or none and -errno with the bad entry in @extack.
 */
int dgfs_chunk_add_many(struct dgfs_net *dn, struct dgfs_store *store,
			const struct dgfs_chunk_entry *e, unsigned int n,
			struct netlink_ext_ack *extack);
int dgfs_chunk_del(struct dgfs_net *dn, const u8 *id,
		   struct netlink_ext_ack *extack);
void dgfs_chunk_flush(struct dgfs_net *dn);
struct dgfs_chunk *dgfs_chunk_get(struct dgfs_net *dn, const u8 *id);
void dgfs_chunk_put(struct dgfs_chunk *chunk);
/* Under dgfs_net.lock, no reference taken. */
struct dgfs_chunk *dgfs_chunk_find_locked(struct dgfs_net *dn, const u8 *id);

/* netlink.c */
int dgfs_genl_init(void);
void dgfs_genl_uninit(void);

/* kfunc.c */
int dgfs_kfunc_init(void);

/* ring.c: per-CPU rings between the packet path and the workers. */
int dgfs_ring_init(void);
void dgfs_ring_uninit(void);
/* Under dgfs_net.lock: makes the rings if there are none yet. */
int dgfs_net_rings_init(struct dgfs_net *dn);
void dgfs_net_rings_uninit(struct dgfs_net *dn);
struct dgfs_xdp_req;
struct net_device;
/* A request that arrived on @dev (whose namespace @dn is). 0 queued;
 * -EADDRNOTAVAIL not to the configured port; -EXDEV not to an address of
 * this namespace (not counted: somebody else's); -EINVAL malformed or from
 * or to an address the stack would not answer (counted); -ENOSPC this
 * CPU's ring is full (counted).
 */
int dgfs_ring_submit(struct dgfs_net *dn, const struct net_device *dev,
		     const struct dgfs_xdp_req *r);
/* Requests waiting for a worker now: in all rings, and in the fullest. */
void dgfs_rings_queued(struct dgfs_net *dn, u64 *all, u64 *max);
/* A flow that served requests, for the top clients (DGFS_CMD_CLIENTS_GET). */
struct dgfs_client_stat {
	u8 addr[16];
	int cpu;
	u64 requests;
	bool shared;
};
/* The first such flow at or after *@pos (a cursor over every ring's
 * flows, 0 to begin), and *@pos past it; false when there is none left.
 */
bool dgfs_rings_client(struct dgfs_net *dn, unsigned long *pos,
		       struct dgfs_client_stat *st);

/* serve.c: answering requests; @routes: the worker's kept routes
 * (reply.h). A reply goes out in slices: dgfs_serve() sends a request's
 * first and keeps the rest of the reply in @streams, whose oldest
 * dgfs_streams_resume() sends the next slice of (false: none left).
 * @queued: when the request was queued (ktime_get_ns()), for DGFS_H_REQUEST.
 */
struct dgfs_routes;
struct dgfs_streams {
	struct list_head list;
	unsigned int nr;
};
void dgfs_serve(struct dgfs_net *dn, const struct dgfs_xdp_req *r, u64 queued,
		struct dgfs_routes *routes, struct dgfs_streams *streams);
bool dgfs_streams_resume(struct dgfs_net *dn, struct dgfs_routes *routes,
			 struct dgfs_streams *streams);
/* Drops every reply still going: when the worker is stopped for good. */
void dgfs_streams_flush(struct dgfs_streams *streams);
/* Under dgfs_net.lock: makes the IO workqueue if there is none yet. */
int dgfs_serve_net_init(struct dgfs_net *dn);
void dgfs_serve_net_uninit(struct dgfs_net *dn);

/* reply.c: the service sockets (the datagrams: reply.h). */
int dgfs_sockets_open(struct dgfs_net *dn, u16 port,
		      struct netlink_ext_ack *extack);
/* Namespace exit: unhook at pre_exit, close at exit once the workers stop. */
void dgfs_sockets_unhook(struct dgfs_net *dn);
void dgfs_sockets_close(struct dgfs_net *dn);

#endif /* _DGFS_H */
