/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Open chunk files kept for small downloads (fdcache.c): a GET of a few
 * KiB then costs no openat() and close() (docs/BENCHMARKS.md).
 */
#ifndef DGFSD_FDCACHE_H
#define DGFSD_FDCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/dgfs_proto.h"

struct fdcache;

/* A cache of @slots open files (0: none, every call opens and closes). */
struct fdcache *fdcache_new(unsigned int slots);
/* Closes every file; no fdcache_get()'s fd may be in use. NULL is fine. */
void fdcache_free(struct fdcache *c);

/*
 * A read-only fd of chunk @id in directory @dir_fd, opened or from the
 * cache; -errno. Hand it back with fdcache_put() once read (pread only:
 * the fd is shared).
 */
int fdcache_get(struct fdcache *c, int dir_fd, const uint8_t id[DGFS_CHUNK_ID_LEN]);
void fdcache_put(struct fdcache *c, const uint8_t id[DGFS_CHUNK_ID_LEN], int fd);

/*
 * Chunk @id's file was removed or replaced (a repair): its cached fd is
 * closed (once no reader holds it), and an open under way when this was
 * called is not kept.
 */
void fdcache_forget(struct fdcache *c, const uint8_t id[DGFS_CHUNK_ID_LEN]);

#endif
