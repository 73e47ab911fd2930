// SPDX-License-Identifier: GPL-2.0
/*
 * Chunk files: DIR/<64 hex digits of the id>, a regular file holding the
 * chunk's bytes (the layout dgfsd's store will have).
 *
 * Each worker keeps the files it served recently open, as the kernel path
 * does, in a small direct-mapped cache (ids are SHA-256, so any 8 of their
 * bits spread evenly). An entry older than REVALIDATE_NS is checked
 * against the directory again (one fstatat) before use, so a chunk
 * removed or replaced stops being served within that time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "userd.h"

#define CACHE_SLOTS	256
#define REVALIDATE_NS	1000000000ull

struct cache_entry {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	int fd;			/* -1: empty */
	uint64_t size;
	dev_t dev;
	ino_t ino;
	uint64_t checked_at;
};

struct chunk_cache {
	int dir_fd;
	struct cache_entry e[CACHE_SLOTS];
};

struct chunk_cache *chunk_cache_create(int dir_fd)
{
	struct chunk_cache *cc = calloc(1, sizeof(*cc));
	unsigned int i;

	if (!cc)
		return NULL;
	cc->dir_fd = dir_fd;
	for (i = 0; i < CACHE_SLOTS; i++)
		cc->e[i].fd = -1;
	return cc;
}

static void entry_clear(struct cache_entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
}

void chunk_cache_destroy(struct chunk_cache *cc)
{
	unsigned int i;

	if (!cc)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		entry_clear(&cc->e[i]);
	free(cc);
}

static struct cache_entry *slot_of(struct chunk_cache *cc, const uint8_t *id)
{
	return &cc->e[id[0]];
}

int chunk_cache_get(struct chunk_cache *cc, const uint8_t id[DGFS_CHUNK_ID_LEN],
		    uint64_t now_ns, struct chunk_ref *ref)
{
	struct cache_entry *e = slot_of(cc, id);
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	struct stat st;
	int fd;

	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, name);
	if (e->fd >= 0 && !memcmp(e->id, id, DGFS_CHUNK_ID_LEN)) {
		if (now_ns - e->checked_at < REVALIDATE_NS)
			goto hit;
		if (!fstatat(cc->dir_fd, name, &st, 0) && S_ISREG(st.st_mode) &&
		    st.st_dev == e->dev && st.st_ino == e->ino) {
			e->size = (uint64_t)st.st_size;
			e->checked_at = now_ns;
			goto hit;
		}
	}
	entry_clear(e);
	/* O_NONBLOCK: a FIFO by that name must not hang the worker. */
	fd = openat(cc->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	memcpy(e->id, id, DGFS_CHUNK_ID_LEN);
	e->fd = fd;
	e->size = (uint64_t)st.st_size;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->checked_at = now_ns;
hit:
	ref->fd = e->fd;
	ref->size = e->size;
	return 0;
}

void chunk_cache_drop(struct chunk_cache *cc, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct cache_entry *e = slot_of(cc, id);

	if (e->fd >= 0 && !memcmp(e->id, id, DGFS_CHUNK_ID_LEN))
		entry_clear(e);
}
