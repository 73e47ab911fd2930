/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsd's side of the dgfs generic netlink family: just what the
 * mainserver needs from dgfs.ko (dgfsctl is the operator's full client).
 * All calls are synchronous and thread-safe (one socket behind a mutex).
 * Errors are negative errnos, with the kernel's extack message logged to
 * stderr when there is one.
 */
#ifndef DGFSD_KMOD_H
#define DGFSD_KMOD_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/dgfs.h>

#include "proto/latency.h"

struct kmod;

/* -ENOENT when the "dgfs" family does not exist (module not loaded). */
int kmod_open(struct kmod **out);
void kmod_close(struct kmod *k);			/* NULL is fine */

/*
 * Makes sure store @name exists with directory @path (absolute): adds it,
 * or accepts an existing one with the same path; -EEXIST if it has
 * another path.
 */
int kmod_store_ensure(struct kmod *k, const char *name, const char *path);

/*
 * Is store @name there with directory @path? 1 yes, 0 no (the module is
 * there without it, or with another path), -ENODEV when dgfs.ko cannot be
 * reached, another -errno when the kernel refused to say. Logs nothing:
 * for polling.
 */
int kmod_store_check(struct kmod *k, const char *name, const char *path);

/*
 * Forget the socket and the family id: the next call connects and resolves
 * the family again (a reloaded module may have registered it under another
 * id, and then every request on the old one fails).
 */
void kmod_reset(struct kmod *k);

/* chunk add: @relpath inside the store, @size the file's size. -EEXIST if indexed. */
int kmod_chunk_add(struct kmod *k, const uint8_t id[DGFS_CHUNK_ID_LEN], const char *store,
		   const char *relpath, uint64_t size);
/* One chunk of a kmod_chunk_add_many(). */
struct kmod_chunk_new {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	const char *relpath;
	uint64_t size;
};
/* At most this many in one kmod_chunk_add_many() (one netlink message). */
#define KMOD_ADD_MANY_MAX	256
/*
 * chunk add of @n chunks of @store in one request (DGFS_A_CHUNKS): all are
 * added, or none and -errno, not logged (the caller may add them one by
 * one to learn which failed and why). -EOPNOTSUPP from a module too old
 * to take chunk lists.
 */
int kmod_chunk_add_many(struct kmod *k, const char *store,
			const struct kmod_chunk_new *v, size_t n);
/* chunk del: 0 or -ENOENT. */
int kmod_chunk_del(struct kmod *k, const uint8_t id[DGFS_CHUNK_ID_LEN]);

/* Every chunk of store @store (dump), passed to @cb; @cb's non-zero stops. */
int kmod_chunk_foreach(struct kmod *k, const char *store,
		       int (*cb)(const uint8_t id[DGFS_CHUNK_ID_LEN], uint64_t size, void *arg),
		       void *arg);

/* config set: the key (NULL: leave as is), port and max read (0: leave). */
int kmod_config_set(struct kmod *k, const uint8_t key[DGFS_AUTH_KEY_LEN], uint16_t port,
		    uint32_t max_read);
struct kmod_config {
	uint16_t port;
	uint32_t max_read;
	bool auth;
	bool key_set;
};
int kmod_config_get(struct kmod *k, struct kmod_config *cfg);

/*
 * stats get: each counter the kernel reports, by its name as dgfsctl
 * prints it ("requests", "ring_full", ...), passed to @cb.
 */
int kmod_stats_foreach(struct kmod *k, void (*cb)(const char *name, uint64_t value, void *arg),
		       void *arg);

/*
 * stats get's latency histograms (DGFS_A_LATENCY): fast-path requests and
 * slow reads' waits for the disk. -EOPNOTSUPP from a module without them.
 */
int kmod_latency(struct kmod *k, struct lat_hist *request, struct lat_hist *disk);

#endif /* DGFSD_KMOD_H */
