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
 */
#ifndef _DGFS_H
#define _DGFS_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/rhashtable-types.h>
#include <linux/refcount.h>
#include <linux/u64_stats_sync.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/netlink.h>

#include <linux/dgfs.h>

struct dgfs_config {
	u16 port;
	u32 max_read;
	bool auth;
	bool key_set;
	u8 key[DGFS_AUTH_KEY_LEN];
	struct rcu_head rcu;
};

struct dgfs_pcpu_stats {
	u64_stats_t lookups;
	u64_stats_t lookup_hits;
	struct u64_stats_sync syncp;
};

struct dgfs_net {
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

#endif /* _DGFS_H */
