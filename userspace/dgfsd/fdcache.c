// SPDX-License-Identifier: GPL-2.0
/*
 * Open chunk files for small downloads (fdcache.h). nginx keeps the files
 * it serves open (open_file_cache); a 4 KiB GET here paid an openat() and
 * a close() of its chunk file, a seventh of its CPU (docs/BENCHMARKS.md).
 *
 * A chunk file's bytes never change under its name (the name is their
 * SHA-256), so a cached fd stays right until the file is removed (a
 * delete freed the chunk) or replaced (a repair renamed a new file over a
 * damaged one): the store calls fdcache_forget() after either, and the fd
 * goes, so no removed file is kept open or served. A file removed by
 * another process is noticed on the next hit (still_linked()). An open
 * racing with a forget is not kept (the generation count).
 *
 * Direct-mapped slots under one mutex, held for a look-up only (event
 * threads use it); opens and closes happen outside it. A slot whose fd a
 * reader holds is not reused until handed back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgfsd.h"
#include "fdcache.h"

struct slot {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	int fd;			/* -1: empty */
	unsigned int refs;	/* readers holding fd */
	bool valid;		/* false: forgotten, closed by the last reader */
};

struct fdcache {
	pthread_mutex_t lock;
	uint64_t gen;		/* forgets so far */
	unsigned int nslots;
	struct slot slots[];
};

struct fdcache *fdcache_new(unsigned int slots)
{
	struct fdcache *c;
	unsigned int i;

	if (!slots)
		return NULL;
	c = calloc(1, sizeof(*c) + slots * sizeof(c->slots[0]));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->nslots = slots;
	for (i = 0; i < slots; i++)
		c->slots[i].fd = -1;
	return c;
}

void fdcache_free(struct fdcache *c)
{
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < c->nslots; i++)
		if (c->slots[i].fd >= 0)
			close(c->slots[i].fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct slot *slot_of(struct fdcache *c, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	/* The id is a SHA-256: any of its bytes are uniform. */
	uint32_t h;

	memcpy(&h, id, sizeof(h));
	return &c->slots[h % c->nslots];
}

static int open_chunk(int dir_fd, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	int fd;

	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, name);
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/*
 * Whether the file behind @fd still has a name. The store forgets what it
 * removes itself, but `dgfsd scrub --repair` (another process) or a hand
 * may remove a damaged chunk file behind dgfsd's back: serving on from the
 * cached fd would send the damaged bytes scrub took away. One fstat() per
 * hit, about a hundredth of a small GET's CPU.
 */
static bool still_linked(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_nlink > 0;
}

int fdcache_get(struct fdcache *c, int dir_fd, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct slot *s;
	uint64_t gen;
	int fd, old = -1;

	if (!c)
		return open_chunk(dir_fd, id);
	s = slot_of(c, id);
	pthread_mutex_lock(&c->lock);
	if (s->valid && !memcmp(s->id, id, DGFS_CHUNK_ID_LEN)) {
		s->refs++;
		fd = s->fd;
		pthread_mutex_unlock(&c->lock);
		if (still_linked(fd))
			return fd;
		/* Removed by another process: open what is there now, if any. */
		fdcache_put(c, id, fd);
		fdcache_forget(c, id);
		pthread_mutex_lock(&c->lock);
	}
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);

	fd = open_chunk(dir_fd, id);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&c->lock);
	/* Kept unless a forget came since, or a reader holds the slot's fd. */
	if (gen == c->gen && (s->fd < 0 || (s->valid && !s->refs))) {
		old = s->fd;
		memcpy(s->id, id, DGFS_CHUNK_ID_LEN);
		s->fd = fd;
		s->refs = 1;
		s->valid = true;
		fd = s->fd;
	}
	pthread_mutex_unlock(&c->lock);
	if (old >= 0)
		close(old);
	return fd;
}

void fdcache_put(struct fdcache *c, const uint8_t id[DGFS_CHUNK_ID_LEN], int fd)
{
	struct slot *s;
	int doomed = -1;

	if (!c) {
		close(fd);
		return;
	}
	s = slot_of(c, id);
	pthread_mutex_lock(&c->lock);
	if (s->fd != fd || !s->refs) {
		pthread_mutex_unlock(&c->lock);
		close(fd);		/* not the cache's */
		return;
	}
	if (!--s->refs && !s->valid) {
		doomed = s->fd;
		s->fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
	if (doomed >= 0)
		close(doomed);
}

void fdcache_forget(struct fdcache *c, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct slot *s;
	int doomed = -1;

	if (!c)
		return;
	s = slot_of(c, id);
	pthread_mutex_lock(&c->lock);
	c->gen++;
	if (s->fd >= 0 && s->valid && !memcmp(s->id, id, DGFS_CHUNK_ID_LEN)) {
		s->valid = false;
		if (!s->refs) {
			doomed = s->fd;
			s->fd = -1;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (doomed >= 0)
		close(doomed);
}
