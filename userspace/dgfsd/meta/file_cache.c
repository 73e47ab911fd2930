// SPDX-License-Identifier: GPL-2.0
/*
 * Recently read files' metadata (file_cache.h), so that a download of a
 * small file does not cost an SQLite read transaction each time (a fifth
 * of its CPU: docs/BENCHMARKS.md).
 *
 * Direct-mapped by a hash of the path: a slot holds one file of at most
 * FILE_CACHE_CHUNKS chunks, so the whole cache is bounded (about 2 KiB a
 * slot). Only for a backend whose files change through this process alone
 * (SQLite); each put or delete forgets its path.
 *
 * A read races a write thus: the reader notes the generation before it
 * reads the database and stores what it read only if no write forgot
 * anything since (the generation moves under the slot's lock). So an
 * answer read before a commit is never kept after that commit's forget.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file_cache.h"

#define FILE_CACHE_SLOTS	1024
#define FILE_CACHE_STRIPES	64

struct file_cache_slot {
	bool used;
	size_t len;			/* of f.path */
	struct meta_file f;		/* f.chunks unused: chunks[] */
	struct meta_chunk chunks[FILE_CACHE_CHUNKS];
};

struct meta_file_cache {
	atomic_ulong gen;
	pthread_mutex_t lock[FILE_CACHE_STRIPES];
	struct file_cache_slot slot[FILE_CACHE_SLOTS];
};

struct meta_file_cache *file_cache_new(void)
{
	struct meta_file_cache *c = calloc(1, sizeof(*c));
	int i;

	if (!c)
		return NULL;
	for (i = 0; i < FILE_CACHE_STRIPES; i++)
		pthread_mutex_init(&c->lock[i], NULL);
	return c;
}

void file_cache_free(struct meta_file_cache *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < FILE_CACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->lock[i]);
	free(c);
}

/* FNV-1a: the slot of a path. */
static unsigned int slot_of(const char *path, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)path[i]) * 16777619u;
	return h % FILE_CACHE_SLOTS;
}

static pthread_mutex_t *lock_of(struct meta_file_cache *c, unsigned int s)
{
	return &c->lock[s % FILE_CACHE_STRIPES];
}

unsigned long file_cache_gen(struct meta_file_cache *c)
{
	return atomic_load(&c->gen);
}

int file_cache_get(struct meta_file_cache *c, const char *path, size_t len, struct meta_file *f,
		   bool with_chunks)
{
	unsigned int s = slot_of(path, len);
	struct file_cache_slot *e = &c->slot[s];
	struct meta_chunk chunks[FILE_CACHE_CHUNKS];
	bool hit;

	pthread_mutex_lock(lock_of(c, s));
	hit = e->used && e->len == len && !memcmp(e->f.path, path, len);
	if (hit) {
		*f = e->f;
		memcpy(chunks, e->chunks, e->f.nchunks * sizeof(chunks[0]));
	}
	pthread_mutex_unlock(lock_of(c, s));
	if (!hit)
		return -ENOENT;
	f->chunks = NULL;
	if (with_chunks && f->nchunks) {
		f->chunks = malloc(f->nchunks * sizeof(*f->chunks));
		if (!f->chunks)
			return -ENOMEM;
		memcpy(f->chunks, chunks, f->nchunks * sizeof(*f->chunks));
	}
	return 0;
}

void file_cache_put(struct meta_file_cache *c, unsigned long gen, const struct meta_file *f)
{
	size_t len = strnlen(f->path, sizeof(f->path));
	unsigned int s = slot_of(f->path, len);
	struct file_cache_slot *e = &c->slot[s];

	if (f->nchunks > FILE_CACHE_CHUNKS || (f->nchunks && !f->chunks))
		return;
	pthread_mutex_lock(lock_of(c, s));
	if (atomic_load(&c->gen) == gen) {
		e->f = *f;
		e->f.chunks = NULL;
		if (f->nchunks)
			memcpy(e->chunks, f->chunks, f->nchunks * sizeof(e->chunks[0]));
		e->len = len;
		e->used = true;
	}
	pthread_mutex_unlock(lock_of(c, s));
}

void file_cache_forget(struct meta_file_cache *c, const char *path, size_t len)
{
	unsigned int s = slot_of(path, len);
	struct file_cache_slot *e = &c->slot[s];

	pthread_mutex_lock(lock_of(c, s));
	if (e->used && e->len == len && !memcmp(e->f.path, path, len))
		e->used = false;
	/* Under the lock: a reader that stores after this saw the new gen. */
	atomic_fetch_add(&c->gen, 1);
	pthread_mutex_unlock(lock_of(c, s));
}
