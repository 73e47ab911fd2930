// SPDX-License-Identifier: GPL-2.0
/*
 * Chunk files, named by the 64 hex digits of their id, flat in one
 * directory (the same layout dgfs-userd serves and dgfs.ko's store holds).
 *
 * Writes are crash-safe: the bytes go to a temp file (".tmp-" prefix, so no
 * reader ever asks for it), which is fsync'ed and renamed to its name, and
 * then the directory is fsync'ed, so after a crash a chunk file is either
 * whole or absent. Temp files left by a crash are removed at start.
 *
 * One mutex (the store lock) orders every decision about a chunk's life:
 * whether it is stored, pins, the metadata's reference counts (commits and
 * deletes run meta under it) and removal. A chunk is removed only when no
 * file references it and nobody pins it; an upload pins each chunk from
 * the moment it finds or writes it until it commits or gives up, so a
 * delete racing with an upload that deduplicates against the same chunk
 * cannot remove it under the upload.
 *
 * File IO (writing a chunk, up to 4 MiB with fsync) is done outside the
 * lock; the chunk is pinned first, so a second upload of the same chunk
 * meanwhile finds the pin and waits for the writer to finish (pin->writing).
 *
 * Downloads pin the chunks of a range they stream too, but on an HTTP
 * event thread, which must never wait for the store lock (a commit holds
 * it through its SQLite transaction). Their pins (read pins) have a lock
 * of their own, held for a table look-up only. A removal, under the store
 * lock, skips a read-pinned chunk and marks it doomed; the last read unpin
 * of a doomed chunk hands it to the reaper thread, which decides again
 * under the store lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dgfsd.h"
#include "fdcache.h"
#include "httputil.h"

#define PIN_BUCKETS 1024
/* Chunk files kept open for small downloads (fdcache.h). */
#define CHUNK_FD_CACHE 256

struct pin {
	struct pin *next;
	uint8_t id[DGFS_CHUNK_ID_LEN];
	unsigned int count;
	bool writing;		/* its writer has not finished yet */
	bool doomed;		/* remove when the last pin goes, if unreferenced */
};

/* A download's pin (read pin); also the reaper's queue node once doomed. */
struct rpin {
	struct rpin *next;
	uint8_t id[DGFS_CHUNK_ID_LEN];
	unsigned int count;
	bool doomed;		/* a removal skipped it: reap at the last unpin */
};

struct chunkstore {
	int dir_fd;
	char dir[PATH_MAX];
	struct meta *meta;
	struct kmod *kmod;
	pthread_mutex_t lock;
	pthread_cond_t written;	/* a pin's writing went false */
	struct pin *pins[PIN_BUCKETS];
	struct chunkstore_stats stats;
	chunkstore_removed_fn removed;	/* told of every chunk file removed */
	void *removed_arg;
	/* Read pins, the id being removed now, the reaper's queue: under rlock. */
	pthread_mutex_t rlock;
	struct rpin *rpins[PIN_BUCKETS];
	uint8_t removing[DGFS_CHUNK_ID_LEN];
	bool removing_set;
	struct rpin *reap;
	bool reaper_quit;
	pthread_cond_t reap_cond;
	pthread_t reaper;
	bool reaper_on;
	struct fdcache *fdc;	/* open chunk files for small downloads */
};

void chunkstore_on_remove(struct chunkstore *cs, chunkstore_removed_fn fn, void *arg)
{
	cs->removed = fn;
	cs->removed_arg = arg;
}

static void tell_removed(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	if (cs->removed)
		cs->removed(cs->removed_arg, id);
}

static unsigned int pin_hash(const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	/* The id is a SHA-256: its bytes are already uniform. */
	return ((unsigned int)id[0] << 8 | id[1]) % PIN_BUCKETS;
}

static struct pin *pin_find(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct pin *p;

	for (p = cs->pins[pin_hash(id)]; p; p = p->next)
		if (!memcmp(p->id, id, DGFS_CHUNK_ID_LEN))
			return p;
	return NULL;
}

static struct pin *pin_get(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct pin *p = pin_find(cs, id);
	unsigned int h;

	if (p) {
		p->count++;
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->id, id, DGFS_CHUNK_ID_LEN);
	p->count = 1;
	h = pin_hash(id);
	p->next = cs->pins[h];
	cs->pins[h] = p;
	return p;
}

static void pin_free(struct chunkstore *cs, struct pin *victim)
{
	struct pin **pp;

	for (pp = &cs->pins[pin_hash(victim->id)]; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			free(victim);
			return;
		}
	}
}

static void chunk_name(const uint8_t id[DGFS_CHUNK_ID_LEN], char name[2 * DGFS_CHUNK_ID_LEN + 1])
{
	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, name);
}

static bool file_present(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			 uint32_t *size)
{
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	struct stat st;

	chunk_name(id, name);
	if (fstatat(cs->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
		return false;
	if (size)
		*size = (uint32_t)st.st_size;
	return true;
}

/*
 * A chunk no file references was just asked for (a dedup hit): its age
 * starts over, so the collector leaves it to the upload that counts on
 * it. Referenced chunks are not touched (no collector looks at them, and
 * a download's dedup hit should not write). Store lock held.
 */
static void refresh_orphan(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	char name[2 * DGFS_CHUNK_ID_LEN + 1];

	chunk_name(id, name);
	utimensat(cs->dir_fd, name, NULL, AT_SYMLINK_NOFOLLOW);
}

/*
 * Whether no file references the chunk, for sure: a metadata error is not
 * "unreferenced", or a busy database could cost a referenced chunk.
 */
static bool unreferenced(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	return meta_chunk_get(cs->meta, id, NULL) == -ENOENT;
}

/*
 * The file of a chunk no read pin can take now (cs->removing is @id), and
 * its dgfs.ko entry, removed; the removal told (@tell) and cs->removing
 * cleared. Store lock held.
 */
static void unlink_claimed(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN], bool tell)
{
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	int ret;

	chunk_name(id, name);
	/* The index first: the fast path must not serve a file that is going. */
	if (cs->kmod) {
		ret = kmod_chunk_del(cs->kmod, id);
		if (ret && ret != -ENOENT)
			atomic_fetch_add(&cs->stats.kmod_errors, 1);
	}
	if (unlinkat(cs->dir_fd, name, 0) && errno != ENOENT) {
		fprintf(stderr, "dgfsd: cannot remove chunk %s: %s\n", name, strerror(errno));
	} else {
		fdcache_forget(cs->fdc, id);	/* no removed file kept open */
		atomic_fetch_add(&cs->stats.removed, 1);
		if (tell)
			tell_removed(cs, id);
	}
	pthread_mutex_lock(&cs->rlock);
	cs->removing_set = false;
	pthread_mutex_unlock(&cs->rlock);
}

/* Removes a chunk's file and its dgfs.ko entry. Store lock held. */
static void remove_chunk(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct rpin *rp;

	/*
	 * A download streams it: it goes when the download is done (the
	 * reaper). Otherwise no read pin can be taken while it goes.
	 */
	pthread_mutex_lock(&cs->rlock);
	for (rp = cs->rpins[pin_hash(id)]; rp; rp = rp->next)
		if (!memcmp(rp->id, id, DGFS_CHUNK_ID_LEN))
			break;
	if (rp) {
		rp->doomed = true;
		pthread_mutex_unlock(&cs->rlock);
		return;
	}
	memcpy(cs->removing, id, DGFS_CHUNK_ID_LEN);
	cs->removing_set = true;
	pthread_mutex_unlock(&cs->rlock);
	unlink_claimed(cs, id, true);
}

/*
 * Removes the chunks whose last read pin went while a removal wanted them
 * gone, unless meanwhile a file references them again or someone pins them.
 */
static void *reaper_main(void *arg)
{
	struct chunkstore *cs = arg;
	struct rpin *rp;
	struct pin *p;

	pthread_mutex_lock(&cs->rlock);
	for (;;) {
		while (!cs->reap && !cs->reaper_quit)
			pthread_cond_wait(&cs->reap_cond, &cs->rlock);
		rp = cs->reap;
		if (!rp)
			break;
		cs->reap = rp->next;
		pthread_mutex_unlock(&cs->rlock);
		pthread_mutex_lock(&cs->lock);
		p = pin_find(cs, rp->id);
		if (p)
			p->doomed = true;	/* as release_freed() does */
		else if (unreferenced(cs, rp->id))
			remove_chunk(cs, rp->id);
		pthread_mutex_unlock(&cs->lock);
		free(rp);
		pthread_mutex_lock(&cs->rlock);
	}
	pthread_mutex_unlock(&cs->rlock);
	return NULL;
}

int chunkstore_read_pin(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN], bool need_file)
{
	unsigned int h = pin_hash(id);
	struct rpin *rp;

	pthread_mutex_lock(&cs->rlock);
	if (cs->removing_set && !memcmp(cs->removing, id, DGFS_CHUNK_ID_LEN)) {
		pthread_mutex_unlock(&cs->rlock);
		return -ENOENT;
	}
	for (rp = cs->rpins[h]; rp; rp = rp->next)
		if (!memcmp(rp->id, id, DGFS_CHUNK_ID_LEN))
			break;
	if (!rp) {
		rp = calloc(1, sizeof(*rp));
		if (!rp) {
			pthread_mutex_unlock(&cs->rlock);
			return -ENOMEM;
		}
		memcpy(rp->id, id, DGFS_CHUNK_ID_LEN);
		rp->next = cs->rpins[h];
		cs->rpins[h] = rp;
	}
	rp->count++;
	pthread_mutex_unlock(&cs->rlock);
	/* Removed before the pin: gone for good (a removal after it skips it). */
	if (need_file && !file_present(cs, id, NULL)) {
		chunkstore_read_unpin(cs, id);
		return -ENOENT;
	}
	return 0;
}

void chunkstore_read_unpin(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct rpin **pp, *rp;

	pthread_mutex_lock(&cs->rlock);
	for (pp = &cs->rpins[pin_hash(id)]; (rp = *pp); pp = &rp->next)
		if (!memcmp(rp->id, id, DGFS_CHUNK_ID_LEN))
			break;
	if (rp && !--rp->count) {
		*pp = rp->next;
		if (rp->doomed) {
			rp->next = cs->reap;
			cs->reap = rp;
			pthread_cond_signal(&cs->reap_cond);
		} else {
			free(rp);
		}
	}
	pthread_mutex_unlock(&cs->rlock);
}

int chunkstore_open(const char *dir, struct meta *meta, struct kmod *kmod,
		    struct chunkstore **out)
{
	struct chunkstore *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return -ENOMEM;
	if (!realpath(dir, cs->dir)) {
		int ret = -errno;

		free(cs);
		return ret;
	}
	cs->dir_fd = open(cs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cs->dir_fd < 0) {
		int ret = -errno;

		free(cs);
		return ret;
	}
	cs->meta = meta;
	cs->kmod = kmod;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->written, NULL);
	pthread_mutex_init(&cs->rlock, NULL);
	pthread_cond_init(&cs->reap_cond, NULL);
	cs->fdc = fdcache_new(CHUNK_FD_CACHE);
	if (pthread_create(&cs->reaper, NULL, reaper_main, cs) == 0)
		cs->reaper_on = true;
	else
		fprintf(stderr, "dgfsd: no chunk reaper thread: chunks a download held "
			"go at the next collection\n");
	*out = cs;
	return 0;
}

void chunkstore_close(struct chunkstore *cs)
{
	unsigned int i;

	if (!cs)
		return;
	/* Downloads are over (HTTP stopped): the reaper finishes its queue. */
	if (cs->reaper_on) {
		pthread_mutex_lock(&cs->rlock);
		cs->reaper_quit = true;
		pthread_cond_signal(&cs->reap_cond);
		pthread_mutex_unlock(&cs->rlock);
		pthread_join(cs->reaper, NULL);
	}
	for (i = 0; i < PIN_BUCKETS; i++) {
		while (cs->rpins[i]) {
			struct rpin *rp = cs->rpins[i];

			cs->rpins[i] = rp->next;
			free(rp);
		}
		while (cs->pins[i]) {
			struct pin *p = cs->pins[i];

			cs->pins[i] = p->next;
			free(p);
		}
	}
	close(cs->dir_fd);
	fdcache_free(cs->fdc);
	while (cs->reap) {
		struct rpin *rp = cs->reap;

		cs->reap = rp->next;
		free(rp);
	}
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->written);
	pthread_mutex_destroy(&cs->rlock);
	pthread_cond_destroy(&cs->reap_cond);
	free(cs);
}

void chunkstore_set_kmod(struct chunkstore *cs, struct kmod *kmod)
{
	cs->kmod = kmod;
}

int chunkstore_dir_fd(const struct chunkstore *cs)
{
	return cs->dir_fd;
}

const char *chunkstore_dir(const struct chunkstore *cs)
{
	return cs->dir;
}

struct chunkstore_stats *chunkstore_stats(struct chunkstore *cs)
{
	return &cs->stats;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Temp file, fsync, rename, directory fsync. No lock held. */
static int write_chunk_file(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			    const void *data, uint32_t len)
{
	char name[2 * DGFS_CHUNK_ID_LEN + 1], tmp[sizeof(DGFSD_TMP_PREFIX) + 80];
	static _Atomic uint64_t seq;
	int fd, ret;

	chunk_name(id, name);
	snprintf(tmp, sizeof(tmp), DGFSD_TMP_PREFIX "%d-%llu", (int)getpid(),
		 (unsigned long long)atomic_fetch_add(&seq, 1));
	fd = openat(cs->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, data, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(cs->dir_fd, tmp, cs->dir_fd, name))
		ret = -errno;
	if (ret) {
		unlinkat(cs->dir_fd, tmp, 0);
		return ret;
	}
	/* A repair: the file it replaced must not be served from an open fd. */
	fdcache_forget(cs->fdc, id);
	/* The rename is durable only once the directory is. */
	if (fsync(cs->dir_fd))
		return -errno;
	return 0;
}

static void register_chunk(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			   uint32_t len)
{
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	int ret;

	if (!cs->kmod)
		return;
	chunk_name(id, name);
	ret = kmod_chunk_add(cs->kmod, id, DGFSD_STORE_NAME, name, len);
	if (ret && ret != -EEXIST) {
		atomic_fetch_add(&cs->stats.kmod_errors, 1);
		fprintf(stderr, "dgfsd: chunk %s is not on the kernel fast path: %s\n", name,
			strerror(-ret));
	}
}

int chunkstore_put(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
		   const void *data, uint32_t len, bool *created)
{
	uint32_t have;
	struct pin *p;
	bool repair;
	int ret;

	*created = false;
	pthread_mutex_lock(&cs->lock);
	p = pin_get(cs, id);
	if (!p) {
		pthread_mutex_unlock(&cs->lock);
		return -ENOMEM;
	}
	/* Someone else writes it right now: wait for the outcome. */
	while (p->writing)
		pthread_cond_wait(&cs->written, &cs->lock);
	/*
	 * Found: a doom on it stays. If our file commits, it references the
	 * chunk and the last unpin keeps it; if not, it goes as it would have.
	 * Only a file of the right size counts: a referenced chunk whose file
	 * went missing (or was cut short) is written again from these bytes,
	 * which the caller checked against the id (repair).
	 */
	if (file_present(cs, id, &have) && have == len) {
		if (!meta_chunk_known(cs->meta, id, NULL))
			refresh_orphan(cs, id);
		pthread_mutex_unlock(&cs->lock);
		atomic_fetch_add(&cs->stats.deduped, 1);
		return 0;
	}
	repair = meta_chunk_known(cs->meta, id, NULL);
	p->writing = true;
	pthread_mutex_unlock(&cs->lock);

	ret = write_chunk_file(cs, id, data, len);
	/*
	 * dgfs.ko holds the file it was given open: after a repair it would
	 * go on serving the old (lost or damaged) inode. Its entry is made
	 * again on the new file (a fast-path read in between gets NOENT and
	 * the client falls back to HTTP).
	 */
	if (!ret && repair && cs->kmod)
		kmod_chunk_del(cs->kmod, id);
	if (!ret)
		register_chunk(cs, id, len);

	pthread_mutex_lock(&cs->lock);
	p->writing = false;
	pthread_cond_broadcast(&cs->written);
	pthread_mutex_unlock(&cs->lock);
	if (ret) {
		chunkstore_unpin(cs, id, false);
		return ret;
	}
	*created = true;
	atomic_fetch_add(&cs->stats.written, 1);
	atomic_fetch_add(&cs->stats.written_bytes, len);
	return 0;
}

static int pin_existing(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			uint32_t *size, bool need_file)
{
	uint32_t have, want;
	struct pin *p;
	int ret = 0;

	pthread_mutex_lock(&cs->lock);
	p = pin_find(cs, id);
	while (p && p->writing) {
		pthread_cond_wait(&cs->written, &cs->lock);
		p = pin_find(cs, id);
	}
	if (need_file) {
		/* A file of the size the metadata says, if it says one. */
		if (!file_present(cs, id, &have) ||
		    (meta_chunk_known(cs->meta, id, &want) && want != have))
			ret = -ENOENT;
		else if (!meta_chunk_known(cs->meta, id, NULL))
			refresh_orphan(cs, id);	/* a commit that may yet fail (409) */
		if (!ret && size)
			*size = have;
	} else if (!meta_chunk_known(cs->meta, id, size) && !file_present(cs, id, size)) {
		ret = -ENOENT;
	}
	if (!ret && !pin_get(cs, id))
		ret = -ENOMEM;
	pthread_mutex_unlock(&cs->lock);
	return ret;
}

int chunkstore_pin_existing(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			    uint32_t *size)
{
	return pin_existing(cs, id, size, false);
}

int chunkstore_pin_file(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			uint32_t *size)
{
	return pin_existing(cs, id, size, true);
}

void chunkstore_unpin(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN], bool discard)
{
	struct pin *p;

	pthread_mutex_lock(&cs->lock);
	p = pin_find(cs, id);
	if (p) {
		if (discard)
			p->doomed = true;
		if (!--p->count) {
			if (p->doomed && unreferenced(cs, id))
				remove_chunk(cs, id);
			pin_free(cs, p);
		}
	}
	pthread_mutex_unlock(&cs->lock);
}

bool chunkstore_has(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	bool has;

	pthread_mutex_lock(&cs->lock);
	has = pin_find(cs, id) || meta_chunk_known(cs->meta, id, NULL) ||
	      file_present(cs, id, NULL);
	pthread_mutex_unlock(&cs->lock);
	return has;
}

bool chunkstore_wanted(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	uint32_t size, want;
	bool has = true;
	struct pin *p;

	/*
	 * The file decides, not the metadata: a referenced chunk whose file
	 * is gone is missing, so the client sends it and the store repairs.
	 * One being written now (pinned) is there.
	 */
	pthread_mutex_lock(&cs->lock);
	p = pin_find(cs, id);
	if (p && p->writing)
		;
	else if (!file_present(cs, id, &size) ||
		 (meta_chunk_known(cs->meta, id, &want) && want != size))
		has = false;
	else if (!p && !meta_chunk_known(cs->meta, id, NULL))
		refresh_orphan(cs, id);
	pthread_mutex_unlock(&cs->lock);
	return has;
}

int chunkstore_open_chunk(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	int fd;

	chunk_name(id, name);
	fd = openat(cs->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int chunkstore_drop(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
		    int (*forget)(void *arg), void *arg)
{
	struct rpin *rp;
	int ret = 0;

	/* A pin is a reader or writer here now: its copy stays for this pass. */
	pthread_mutex_lock(&cs->lock);
	if (pin_find(cs, id)) {
		ret = -EBUSY;
		goto out;
	}
	if (!file_present(cs, id, NULL)) {
		ret = -ENOENT;
		goto out;
	}
	/* No read may pin it from here on, as in remove_chunk(). */
	pthread_mutex_lock(&cs->rlock);
	for (rp = cs->rpins[pin_hash(id)]; rp; rp = rp->next)
		if (!memcmp(rp->id, id, DGFS_CHUNK_ID_LEN))
			break;
	if (!rp) {
		memcpy(cs->removing, id, DGFS_CHUNK_ID_LEN);
		cs->removing_set = true;
	}
	pthread_mutex_unlock(&cs->rlock);
	if (rp) {
		ret = -EBUSY;	/* a download streams it */
		goto out;
	}
	/*
	 * The record first: once it is gone no new reader is sent here, and
	 * a crash before the unlink leaves bytes nobody counts on, never a
	 * record of bytes that are not there.
	 */
	ret = forget(arg);
	if (ret) {
		pthread_mutex_lock(&cs->rlock);
		cs->removing_set = false;
		pthread_mutex_unlock(&cs->rlock);
	} else {
		unlink_claimed(cs, id, false);
	}
out:
	pthread_mutex_unlock(&cs->lock);
	return ret;
}

int chunkstore_forget_lost(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			   uint32_t size, const char **why, int (*forget)(void *arg), void *arg)
{
	uint32_t have;
	int ret = 0;

	/*
	 * Under the store lock: a write takes its pin under it and records
	 * its copy before it unpins, so with no pin and no file here no
	 * record can be on its way that this would wrongly forget.
	 */
	pthread_mutex_lock(&cs->lock);
	if (pin_find(cs, id))
		goto out;
	if (!file_present(cs, id, &have))
		*why = "missing";
	else if (size && have != size)
		*why = "the wrong size";
	else
		goto out;
	ret = forget(arg);
	if (!ret)
		ret = 1;
out:
	pthread_mutex_unlock(&cs->lock);
	return ret;
}

int chunkstore_read_fd(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	return fdcache_get(cs->fdc, cs->dir_fd, id);
}

void chunkstore_read_fd_done(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN], int fd)
{
	fdcache_put(cs->fdc, id, fd);
}

/* Removes freed chunks, or dooms them if pinned. Store lock held. */
static void release_freed(struct chunkstore *cs, const struct meta_idlist *freed)
{
	size_t i;

	for (i = 0; i < freed->n; i++) {
		struct pin *p = pin_find(cs, freed->ids[i]);

		if (p)
			p->doomed = true;
		else
			remove_chunk(cs, freed->ids[i]);
	}
}

/* Whether @pre holds for @path now. Store lock held. */
static int precond_holds(struct chunkstore *cs, const char *path, const struct dgfsd_precond *pre)
{
	struct meta_file cur;
	bool ok;
	int ret;

	if (!pre || (!pre->if_match[0] && !pre->if_none_match[0]))
		return 0;
	ret = meta_file_get(cs->meta, path, &cur, false);
	if (ret && ret != -ENOENT)
		return -EIO;
	ok = dgfsd_write_precond_ok(pre->if_match[0] ? pre->if_match : NULL,
				    pre->if_none_match[0] ? pre->if_none_match : NULL,
				    ret ? NULL : cur.etag);
	if (!ret)
		meta_file_release(&cur);
	return ok ? 0 : -ECANCELED;
}

int chunkstore_precond(struct chunkstore *cs, const char *path, const struct dgfsd_precond *pre)
{
	int ret;

	pthread_mutex_lock(&cs->lock);
	ret = precond_holds(cs, path, pre);
	pthread_mutex_unlock(&cs->lock);
	return ret;
}

/*
 * Tests only: a commit of the file $DGFSD_TEST_LOCK_HOLD_PATH holds the
 * store lock $DGFSD_TEST_LOCK_HOLD_MS milliseconds more (at most 30 s),
 * standing for a transaction on a slow disk, so that a test can show who
 * waits for the lock meanwhile (tests/dgfsd/test_conditional.sh).
 */
static void test_lock_hold(const char *path)
{
	const char *p = getenv("DGFSD_TEST_LOCK_HOLD_PATH");
	const char *v = getenv("DGFSD_TEST_LOCK_HOLD_MS");
	unsigned long ms = v ? strtoul(v, NULL, 10) : 0;

	if (p && ms && !strcmp(p, path))
		usleep((useconds_t)(ms < 30000 ? ms : 30000) * 1000);
}

int chunkstore_commit(struct chunkstore *cs, const struct meta_file *f,
		      const struct dgfsd_precond *pre, bool *replaced)
{
	struct meta_idlist freed = { 0 };
	int ret;

	pthread_mutex_lock(&cs->lock);
	test_lock_hold(f->path);
	ret = precond_holds(cs, f->path, pre);
	if (!ret)
		ret = meta_file_put(cs->meta, f, &freed, replaced);
	if (!ret)
		release_freed(cs, &freed);
	pthread_mutex_unlock(&cs->lock);
	meta_idlist_free(&freed);
	return ret;
}

int chunkstore_delete_file(struct chunkstore *cs, const char *path,
			   const struct dgfsd_precond *pre)
{
	struct meta_idlist freed = { 0 };
	int ret;

	pthread_mutex_lock(&cs->lock);
	ret = precond_holds(cs, path, pre);
	if (!ret)
		ret = meta_file_delete(cs->meta, path, &freed);
	if (!ret)
		release_freed(cs, &freed);
	pthread_mutex_unlock(&cs->lock);
	meta_idlist_free(&freed);
	return ret;
}

/* The store's directory, for a scan of its own. Not dup(): that would
 * share (and leave at the end) dir_fd's offset. NULL with errno set.
 */
static DIR *scan_open(struct chunkstore *cs)
{
	int fd = openat(cs->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir;

	if (fd < 0)
		return NULL;
	dir = fdopendir(fd);
	if (!dir) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return dir;
}

/* ---- collecting chunks nobody committed ---- */

int chunkstore_collect(struct chunkstore *cs, unsigned int min_age)
{
	struct dirent *de;
	time_t now = time(NULL);
	int removed = 0;
	DIR *dir;

	dir = scan_open(cs);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		uint8_t id[DGFS_CHUNK_ID_LEN];
		struct stat st;

		if (dgfs_hex_decode(de->d_name, id, sizeof(id)))
			continue;
		/*
		 * Decided and done under the store lock: a commit or a pin
		 * that comes first keeps the chunk, one that comes after
		 * finds it gone (a commit then answers 409 and the client
		 * uploads it again).
		 */
		pthread_mutex_lock(&cs->lock);
		if (!pin_find(cs, id) && unreferenced(cs, id) &&
		    !fstatat(cs->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
		    st.st_mtime + (time_t)min_age <= now) {
			remove_chunk(cs, id);
			removed++;
		}
		pthread_mutex_unlock(&cs->lock);
	}
	closedir(dir);
	return removed;
}

/* ---- start-up reconciliation ---- */

struct reconcile {
	struct chunkstore *cs;
	unsigned long missing, kmod_added, kmod_removed, kmod_requests;
	/* The ids dgfs.ko holds already (sorted), which need no add. */
	uint8_t (*indexed)[DGFS_CHUNK_ID_LEN];
	size_t nr_indexed, cap_indexed;
	/* Adds waiting to go to dgfs.ko, many to a request. */
	struct kmod_chunk_new *adds;
	char (*names)[2 * DGFS_CHUNK_ID_LEN + 1];
	size_t nr_adds;
};

static int note_missing(const uint8_t id[META_ID_LEN], uint32_t size, void *arg)
{
	struct reconcile *r = arg;
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	uint32_t have;

	if (file_present(r->cs, id, &have) && have == size)
		return 0;
	chunk_name(id, name);
	fprintf(stderr, "dgfsd: reconcile: chunk %s (%u bytes) is %s\n", name, size,
		file_present(r->cs, id, NULL) ? "the wrong size" : "missing");
	r->missing++;
	return 0;
}

static int kmod_drop_unknown(const uint8_t id[DGFS_CHUNK_ID_LEN], uint64_t size, void *arg)
{
	struct reconcile *r = arg;
	uint32_t want;

	if (meta_chunk_known(r->cs->meta, id, &want) && want == size) {
		/* Remembered so as not to add it again (best effort). */
		if (r->nr_indexed == r->cap_indexed) {
			size_t cap = r->cap_indexed ? 2 * r->cap_indexed : 1024;
			void *v = realloc(r->indexed, cap * sizeof(*r->indexed));

			if (!v)
				return 0;
			r->indexed = v;
			r->cap_indexed = cap;
		}
		memcpy(r->indexed[r->nr_indexed++], id, DGFS_CHUNK_ID_LEN);
		return 0;
	}
	if (!kmod_chunk_del(r->cs->kmod, id))
		r->kmod_removed++;
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, DGFS_CHUNK_ID_LEN);
}

static void kmod_add_one(struct reconcile *r, const uint8_t id[DGFS_CHUNK_ID_LEN],
			 const char *name, uint32_t size)
{
	int ret = kmod_chunk_add(r->cs->kmod, id, DGFSD_STORE_NAME, name, size);

	r->kmod_requests++;
	if (!ret)
		r->kmod_added++;
	else if (ret != -EEXIST)
		atomic_fetch_add(&r->cs->stats.kmod_errors, 1);
}

/*
 * The waiting adds in one request. If dgfs.ko refuses it (a file gone
 * meanwhile, an old module), one by one: each failure is logged and
 * counted as it always was.
 */
static void kmod_add_flush(struct reconcile *r)
{
	size_t i;

	if (!r->nr_adds)
		return;
	r->kmod_requests++;
	if (!kmod_chunk_add_many(r->cs->kmod, DGFSD_STORE_NAME, r->adds, r->nr_adds))
		r->kmod_added += r->nr_adds;
	else
		for (i = 0; i < r->nr_adds; i++)
			kmod_add_one(r, r->adds[i].id, r->names[i], (uint32_t)r->adds[i].size);
	r->nr_adds = 0;
}

static int kmod_add_known(const uint8_t id[META_ID_LEN], uint32_t size, void *arg)
{
	struct reconcile *r = arg;
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	struct kmod_chunk_new *c;

	if (!file_present(r->cs, id, NULL))
		return 0;
	if (r->nr_indexed && bsearch(id, r->indexed, r->nr_indexed, sizeof(*r->indexed), id_cmp))
		return 0;
	chunk_name(id, name);
	if (!r->adds) {
		kmod_add_one(r, id, name, size);
		return 0;
	}
	c = &r->adds[r->nr_adds];
	memcpy(c->id, id, DGFS_CHUNK_ID_LEN);
	memcpy(r->names[r->nr_adds], name, sizeof(name));
	c->relpath = r->names[r->nr_adds];
	c->size = size;
	if (++r->nr_adds == KMOD_ADD_MANY_MAX)
		kmod_add_flush(r);
	return 0;
}

int chunkstore_reconcile(struct chunkstore *cs, chunkstore_held_check held, void *arg)
{
	struct reconcile r = { .cs = cs };
	unsigned long tmps = 0, orphans = 0, strays = 0;
	struct dirent *de;
	DIR *dir;

	dir = scan_open(cs);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		uint8_t id[DGFS_CHUNK_ID_LEN];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strncmp(de->d_name, DGFSD_TMP_PREFIX, strlen(DGFSD_TMP_PREFIX))) {
			/* An upload that crashed before its rename. */
			if (!unlinkat(cs->dir_fd, de->d_name, 0))
				tmps++;
			continue;
		}
		if (dgfs_hex_decode(de->d_name, id, sizeof(id))) {
			strays++;	/* not ours: left alone */
			continue;
		}
		if (unreferenced(cs, id)) {
			/* Written, never committed (or freed before a crash). */
			if (!unlinkat(cs->dir_fd, de->d_name, 0)) {
				orphans++;
				tell_removed(cs, id);
			}
		}
	}
	closedir(dir);
	if (tmps || orphans)
		fsync(cs->dir_fd);
	/* In a cluster the metadata lists every host's chunks: only ours are checked. */
	if (held)
		r.missing = held(arg);
	else
		meta_chunk_foreach(cs->meta, note_missing, &r);
	if (cs->kmod) {
		kmod_chunk_foreach(cs->kmod, DGFSD_STORE_NAME, kmod_drop_unknown, &r);
		if (r.nr_indexed)
			qsort(r.indexed, r.nr_indexed, sizeof(*r.indexed), id_cmp);
		/* Without the memory, one request per chunk as before. */
		r.adds = calloc(KMOD_ADD_MANY_MAX, sizeof(*r.adds));
		r.names = calloc(KMOD_ADD_MANY_MAX, sizeof(*r.names));
		if (!r.adds || !r.names) {
			free(r.adds);
			r.adds = NULL;
		}
		meta_chunk_foreach(cs->meta, kmod_add_known, &r);
		kmod_add_flush(&r);
		free(r.adds);
		free(r.names);
		free(r.indexed);
	}
	fprintf(stderr, "dgfsd: reconcile: removed %lu temp file%s and %lu unreferenced chunk%s; "
		"%lu chunk%s missing; dgfs.ko index: %lu added in %lu request%s, %lu removed%s\n",
		tmps, tmps == 1 ? "" : "s", orphans, orphans == 1 ? "" : "s",
		r.missing, r.missing == 1 ? "" : "s", r.kmod_added, r.kmod_requests,
		r.kmod_requests == 1 ? "" : "s", r.kmod_removed,
		strays ? " (other files in the store left alone)" : "");
	return 0;
}

/* ---- a reloaded dgfs.ko ---- */

int chunkstore_kmod_resync(struct chunkstore *cs)
{
	unsigned long added = 0, failed = 0;
	struct dirent *de;
	DIR *dir;

	if (!cs->kmod)
		return 0;
	dir = scan_open(cs);
	if (!dir)
		return -errno;
	/*
	 * Every chunk file, committed or still waiting for its commit: the
	 * new module's index is empty. Under the store lock, one chunk at a
	 * time, so that a chunk being removed (remove_chunk(), which drops
	 * the entry first) is either added before it goes or not at all.
	 */
	while ((de = readdir(dir))) {
		uint8_t id[DGFS_CHUNK_ID_LEN];
		uint32_t size;
		int ret;

		if (dgfs_hex_decode(de->d_name, id, sizeof(id)))
			continue;
		pthread_mutex_lock(&cs->lock);
		ret = file_present(cs, id, &size) ?
		      kmod_chunk_add(cs->kmod, id, DGFSD_STORE_NAME, de->d_name, size) : -ENOENT;
		pthread_mutex_unlock(&cs->lock);
		if (!ret)
			added++;
		else if (ret != -EEXIST && ret != -ENOENT)
			failed++;
	}
	closedir(dir);
	if (failed)
		atomic_fetch_add(&cs->stats.kmod_errors, failed);
	fprintf(stderr, "dgfsd: dgfs.ko index refilled: %lu chunk%s added, %lu failed\n",
		added, added == 1 ? "" : "s", failed);
	return failed ? -EIO : 0;
}
