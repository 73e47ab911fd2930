/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bounded cache of files' metadata for meta_file_get (file_cache.c),
 * for a backend whose files only this process changes. The front
 * (meta/meta.c) forgets a path at each put and delete of it.
 */
#ifndef DGFSD_META_FILE_CACHE_H
#define DGFSD_META_FILE_CACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../meta.h"

/* Files of more chunks are not kept (they are big: one read is little beside them). */
#define FILE_CACHE_CHUNKS	16

struct meta_file_cache;

struct meta_file_cache *file_cache_new(void);
void file_cache_free(struct meta_file_cache *c);

/* The generation to pass to file_cache_put: read it before the database. */
unsigned long file_cache_gen(struct meta_file_cache *c);

/* @path's file into *f (its chunks malloc'ed if @with_chunks), or -ENOENT, -ENOMEM. */
int file_cache_get(struct meta_file_cache *c, const char *path, size_t len, struct meta_file *f,
		   bool with_chunks);

/* Keeps @f (read with its chunks) unless a path was forgotten since @gen. */
void file_cache_put(struct meta_file_cache *c, unsigned long gen, const struct meta_file *f);

/* After a put or delete of @path (committed or not). */
void file_cache_forget(struct meta_file_cache *c, const char *path, size_t len);

#endif
