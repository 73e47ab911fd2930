// SPDX-License-Identifier: GPL-2.0
/*
 * Repair, rebalancing and draining (repair.h, docs/CLUSTER.md).
 *
 * One thread on every replicating host wakes every --repair-interval:
 *
 * - On the owner of the cluster's background work (cluster.c's advisory
 *   lock), it walks every chunk that files reference, a page at a time in
 *   id order, with the hosts chunk_copies says hold it. A chunk's owners
 *   are computed as uploads compute them (placement over the live hosts,
 *   a draining one weighing 0); each owner without a copy gets one: the
 *   bytes from a live holder (the internal GET, or this host's own file),
 *   their SHA-256 checked against the id, then the internal PUT (the
 *   receiver checks the hash again and records its copy before it
 *   answers). So one pass heals a lost copy (a host died: the owners over
 *   the hosts left differ), a host that joined (it owns some chunks now)
 *   and a draining host (it owns nothing).
 * - Trims, on the owner too: once a chunk's R owners all hold it, a copy
 *   on a live host that is none of them (surplus: a host joined and took
 *   the chunk over) is dropped by asking its holder (DELETE
 *   /internal/chunks/ID). Only while the cluster is whole: every host
 *   up, none draining (docs/CLUSTER.md says why). The holder decides
 *   itself (repair_trim_here): none of the R owners over its own view of
 *   the live hosts, each owner giving the chunk's bytes, and each owner's
 *   record locked while its own goes, record first, then the file.
 * - On a draining host, it removes each copy of its own whose owners all
 *   record one now (the same locked check), so it holds nothing once it is
 *   done.
 * - On every host, first, a slice of its own chunk_copies records is
 *   checked against its chunk files (own_copies.c): a record of a file
 *   that is gone is removed, so the owner finds that chunk short.
 *
 * One copy or trim at a time, at most --repair-rate MB/s (a trim counts
 * the R copies its holder reads): repair must not take the bandwidth that
 * reads need.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "own_copies.h"
#include "peer.h"
#include "placement.h"
#include "proto/sha256.h"
#include "repair.h"
#include "repl.h"

/* Chunks read from the database at once. */
#define REPAIR_PAGE	256
/* This host's own records checked against its files in each pass (own_copies.c). */
#define REPAIR_OWN_SLICE	4096

struct repair {
	struct dgfsd *d;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC */
	bool stopping;
	uint8_t *buf;			/* one chunk, DGFSD_MAX_CHUNK bytes */
	struct cluster_chunk *page;	/* REPAIR_PAGE */
	/* The rate limit: bytes copied since the pass began. */
	int64_t pass_start_ms;
	uint64_t pass_bytes;
	/* Where the last pass's check of this host's own records left off. */
	struct own_copies_cursor own;
};

static struct repair_stats stats;

const struct repair_stats *repair_stats(void)
{
	return &stats;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits @ms unless repair is stopping; whether it is. */
static bool nap(struct repair *r, int64_t ms)
{
	struct timespec at;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &at);
	at.tv_sec += ms / 1000;
	at.tv_nsec += (ms % 1000) * 1000000;
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stopping && pthread_cond_timedwait(&r->cond, &r->lock, &at) != ETIMEDOUT)
		;
	stop = r->stopping;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

static bool stopping(struct repair *r)
{
	bool stop;

	pthread_mutex_lock(&r->lock);
	stop = r->stopping;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/* After a copy of @len bytes: waits until the pass is back under --repair-rate. */
static void pace(struct repair *r, uint32_t len)
{
	int64_t due;

	r->pass_bytes += len;
	/* MB/s = bytes per ms / 1000. */
	due = r->pass_start_ms +
	      (int64_t)(r->pass_bytes / ((uint64_t)r->d->cfg.repair_rate * 1000));
	if (due > now_ms())
		nap(r, due - now_ms());
}

/* The index of host @id among the live ones, or -1. */
static long member_index(const struct cluster_member *m, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(m[i].id, id))
			return (long)i;
	return -1;
}

static bool holds(const struct cluster_chunk *ch, const char *id)
{
	size_t i;

	for (i = 0; i < ch->nhosts; i++)
		if (!strcmp(ch->hosts[i], id))
			return true;
	return false;
}

/* This host's own file of @ch into r->buf, checked: its length or -errno. */
static long read_local(struct repair *r, const struct cluster_chunk *ch)
{
	uint8_t got[DGFS_SHA256_BYTES];
	int fd = chunkstore_open_chunk(r->d->cs, ch->id);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	do {
		n = read(fd, r->buf + len, DGFSD_MAX_CHUNK - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 && len < DGFSD_MAX_CHUNK) || (n < 0 && errno == EINTR));
	close(fd);
	if (n < 0)
		return -EIO;
	dgfs_sha256(got, r->buf, len);
	return memcmp(got, ch->id, sizeof(got)) ? -EBADMSG : (long)len;
}

/*
 * @ch's bytes into r->buf from a live host that holds it, their SHA-256
 * checked: the length, or -errno (the last holder's answer).
 */
static long fetch(struct repair *r, const struct cluster_chunk *ch,
		  const struct cluster_member *m, size_t n, const char *self)
{
	char hex[2 * DGFS_CHUNK_ID_LEN + 1];
	long got = -ENOENT;
	size_t i;

	for (i = 0; i < ch->nhosts; i++) {
		long at = member_index(m, n, ch->hosts[i]);

		if (at < 0)
			continue;	/* down: its copy is out of reach */
		if (!strcmp(ch->hosts[i], self))
			got = read_local(r, ch);
		else
			got = peer_get_chunk(&r->d->cfg, &m[at], ch->id, r->buf,
					     DGFSD_MAX_CHUNK);
		if (got == -EBADMSG) {
			atomic_fetch_add(&stats.refused, 1);
			dgfs_hex_encode(ch->id, DGFS_CHUNK_ID_LEN, hex);
			fprintf(stderr, "dgfsd: repair: host %s gave bytes that are not chunk %s: "
				"not copied\n", ch->hosts[i], hex);
		}
		if (got >= 0 && (uint64_t)got != ch->size)
			got = -EIO;
		if (got >= 0)
			return got;
	}
	return got;
}

/* r->buf (@len bytes, checked) as @ch's copy on owner @o: 0 or -errno. */
static int put(struct repair *r, const struct cluster_chunk *ch, const struct cluster_member *o,
	       uint32_t len, const char *self)
{
	bool created;
	int ret;

	if (strcmp(o->id, self))
		return peer_put_chunk(&r->d->cfg, o, ch->id, r->buf, len);
	ret = chunkstore_put(r->d->cs, ch->id, r->buf, len, &created);
	if (ret)
		return ret;
	ret = cluster_copy_add(r->d->cluster, ch->id);
	chunkstore_unpin(r->d->cs, ch->id, false);
	return ret;
}

/* chunkstore_drop()'s check: this host's record goes only if each owner has one. */
struct drop_guard {
	struct cluster *c;
	const uint8_t *id;
	const char *owners[DGFSD_REPLICAS_MAX];
	size_t k;
};

static int forget_copy(void *arg)
{
	struct drop_guard *g = arg;

	return cluster_copy_drop(g->c, g->id, g->owners, g->k);
}

unsigned int repair_trim_here(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN],
			      const char **why)
{
	const char *self = cluster_host_id(d->cluster);
	struct drop_guard g = { .c = d->cluster, .id = id };
	struct cluster_member *m = NULL;
	struct placement_host *h = NULL;
	size_t n = 0, owners[DGFSD_REPLICAS_MAX], k, i;
	char hex[2 * DGFS_CHUNK_ID_LEN + 1];
	unsigned int status = 200;
	uint8_t *buf = NULL;
	long got;
	int fd;

	if (cluster_members(d->cluster, &m, &n) || !(h = repl_placement_input(m, n, false)) ||
	    !(buf = malloc(DGFSD_MAX_CHUNK))) {
		*why = "out of memory";
		status = 503;
		goto out;
	}
	/* The owners by this host's own view, whoever asked. */
	k = placement_owners(id, h, n, d->cfg.replicas, owners);
	if (k < d->cfg.replicas) {
		*why = "fewer live hosts own the chunk than --replicas: no copy is surplus";
		status = 409;
		goto out;
	}
	for (i = 0; i < k; i++) {
		if (!strcmp(m[owners[i]].id, self)) {
			*why = "this host is one of the chunk's owners: its copy is not surplus";
			status = 409;
			goto out;
		}
		g.owners[i] = m[owners[i]].id;
	}
	g.k = k;
	fd = chunkstore_open_chunk(d->cs, id);
	if (fd < 0) {
		*why = "no copy of this chunk here";
		status = 404;
		goto out;
	}
	close(fd);
	/* A record is not bytes: each owner must give the chunk's own, now. */
	for (i = 0; i < k; i++) {
		got = peer_get_chunk(&d->cfg, &m[owners[i]], id, buf, DGFSD_MAX_CHUNK);
		if (got < 0) {
			dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, hex);
			fprintf(stderr, "dgfsd: trim: kept chunk %s: its owner %s did not give its "
				"bytes (%s)\n", hex, m[owners[i]].id, strerror((int)-got));
			*why = "an owner of the chunk did not give its bytes: this copy is kept";
			status = 409;
			goto out;
		}
	}
	switch (chunkstore_drop(d->cs, id, forget_copy, &g)) {
	case 0:
		break;
	case -EBUSY:
		*why = "a read or write here uses the chunk now: kept for now";
		status = 409;
		break;
	case -ENOENT:
		*why = "no copy of this chunk here";
		status = 404;
		break;
	case -ESTALE:
		*why = "the database records no copy on some owner: this copy is kept";
		status = 409;
		break;
	case -EAGAIN:	/* PostgreSQL ended it: another host dropped a copy of it at once */
		*why = "another copy of the chunk went at the same time: this one is kept for now";
		status = 409;
		break;
	default:
		*why = "cannot reach the database";
		status = 503;
		break;
	}
out:
	free(buf);
	free(h);
	free(m);
	return status;
}

/* Asks the holder @at of a surplus copy of @ch to drop it (this host: here). */
static void trim(struct repair *r, const struct cluster_chunk *ch, const struct cluster_member *at,
		 const char *self)
{
	const char *why;
	long status;

	if (!strcmp(at->id, self))
		status = repair_trim_here(r->d, ch->id, &why);
	else
		status = peer_trim_chunk(&r->d->cfg, at, ch->id);
	atomic_fetch_add(status == 200 ? &stats.trimmed : &stats.trim_failed, 1);
	/* The holder read the chunk from each of its owners. */
	pace(r, ch->size * r->d->cfg.replicas);
}

static bool is_owner(const size_t *owners, size_t k, long at)
{
	size_t j;

	for (j = 0; j < k; j++)
		if ((long)owners[j] == at)
			return true;
	return false;
}

/* Every referenced chunk onto its owners; the gauges set if the walk ended. */
static void owner_pass(struct repair *r, const struct cluster_member *m, size_t n,
		       const struct placement_host *h, const char *self, bool trims)
{
	struct dgfsd *d = r->d;
	unsigned long long short_chunks = 0, misplaced = 0, lost = 0, surplus = 0;
	uint8_t cursor[DGFS_CHUNK_ID_LEN];
	const uint8_t *after = NULL;
	size_t got, i, j, k, owners[DGFSD_REPLICAS_MAX];

	for (;;) {
		if (cluster_chunks(d->cluster, after, NULL, r->page, REPAIR_PAGE, &got))
			return;
		for (i = 0; i < got; i++) {
			const struct cluster_chunk *ch = &r->page[i];
			size_t live = 0, good = 0, held = 0;
			bool missing = false, extra = false;
			long len = -1;

			if (stopping(r) || !cluster_is_owner(d->cluster))
				return;
			for (j = 0; j < ch->nhosts; j++) {
				long at = member_index(m, n, ch->hosts[j]);

				if (at >= 0) {
					live++;
					good += !m[at].draining;
				}
			}
			k = placement_owners(ch->id, h, n, d->cfg.replicas, owners);
			for (j = 0; j < k; j++)
				missing |= !holds(ch, m[owners[j]].id);
			short_chunks += good < k;
			misplaced += missing;
			if (!live) {
				lost++;
				continue;
			}
			for (j = 0; j < k; j++) {
				const struct cluster_member *o = &m[owners[j]];

				if (holds(ch, o->id)) {
					held++;
					continue;
				}
				if (len < 0 && (len = fetch(r, ch, m, n, self)) < 0) {
					atomic_fetch_add(&stats.failed, 1);
					break;
				}
				if (put(r, ch, o, (uint32_t)len, self)) {
					atomic_fetch_add(&stats.failed, 1);
					continue;
				}
				held++;
				atomic_fetch_add(&stats.copied, 1);
				atomic_fetch_add(&stats.bytes, (unsigned long long)len);
				pace(r, (uint32_t)len);
			}
			/* Copies on live hosts that own it not: dropped once all R owners hold it. */
			for (j = 0; j < ch->nhosts; j++) {
				long at = member_index(m, n, ch->hosts[j]);

				if (at < 0 || is_owner(owners, k, at))
					continue;
				extra = true;
				if (trims && k == d->cfg.replicas && held == k)
					trim(r, ch, &m[at], self);
			}
			surplus += extra;
		}
		if (got < REPAIR_PAGE)
			break;
		memcpy(cursor, r->page[got - 1].id, sizeof(cursor));
		after = cursor;
	}
	atomic_store(&stats.short_chunks, short_chunks);
	atomic_store(&stats.misplaced, misplaced);
	atomic_store(&stats.lost, lost);
	atomic_store(&stats.surplus, surplus);
	atomic_store(&stats.last_pass, (long long)time(NULL));
	atomic_fetch_add(&stats.passes, 1);
}

/* A draining host: each copy of its own that all its owners hold now, removed. */
static void drain_pass(struct repair *r, const struct cluster_member *m, size_t n,
		       const struct placement_host *h, const char *self)
{
	struct dgfsd *d = r->d;
	uint8_t cursor[DGFS_CHUNK_ID_LEN];
	const uint8_t *after = NULL;
	size_t got, i, j, k, owners[DGFSD_REPLICAS_MAX];

	for (;;) {
		if (cluster_chunks(d->cluster, after, self, r->page, REPAIR_PAGE, &got))
			return;
		for (i = 0; i < got && !stopping(r); i++) {
			const struct cluster_chunk *ch = &r->page[i];
			struct drop_guard g = { .c = d->cluster, .id = ch->id };
			bool all = true;
			int ret;

			k = placement_owners(ch->id, h, n, d->cfg.replicas, owners);
			for (j = 0; j < k; j++) {
				all &= holds(ch, m[owners[j]].id);
				g.owners[j] = m[owners[j]].id;
			}
			g.k = k;
			/* No host to take it (all draining): it stays. */
			if (!k || !all)
				continue;
			/* Their records checked again, locked, as this one goes (trims race). */
			ret = chunkstore_drop(d->cs, ch->id, forget_copy, &g);
			if (!ret)
				atomic_fetch_add(&stats.handed_off, 1);
			else if (ret == -ENOENT)	/* recorded, but its file is gone */
				cluster_copy_del(d->cluster, ch->id);
		}
		if (got < REPAIR_PAGE || stopping(r))
			break;
		memcpy(cursor, r->page[got - 1].id, sizeof(cursor));
		after = cursor;
	}
}

/* cluster_hosts()'s callback: *arg false once a host is down or draining. */
static int whole_host(const struct cluster_host *ch, void *arg)
{
	bool *whole = arg;

	if (!ch->up || ch->draining)
		*whole = false;
	return 0;
}

static void pass(struct repair *r)
{
	const char *self = cluster_host_id(r->d->cluster);
	struct cluster_member *m = NULL;
	struct placement_host *h = NULL;
	bool owner = cluster_is_owner(r->d->cluster), draining;
	size_t n = 0;
	long at;

	/* Every host, owner or not: a record of a copy whose file is gone goes first. */
	own_copies_check(r->d, &r->own, REPAIR_OWN_SLICE, NULL);
	if (cluster_members(r->d->cluster, &m, &n) || !(h = repl_placement_input(m, n, false)))
		goto out;
	at = member_index(m, n, self);
	draining = at >= 0 && m[at].draining;
	r->pass_start_ms = now_ms();
	r->pass_bytes = 0;
	if (owner) {
		/* Trims only while every host is up and none drains (docs/CLUSTER.md). */
		bool whole = true;

		if (cluster_hosts(r->d->cluster, whole_host, &whole))
			whole = false;
		owner_pass(r, m, n, h, self, whole);
	} else {
		/* The gauges are the owner's: a host that lost the lock shows none. */
		atomic_store(&stats.short_chunks, 0);
		atomic_store(&stats.misplaced, 0);
		atomic_store(&stats.lost, 0);
		atomic_store(&stats.surplus, 0);
	}
	if (draining)
		drain_pass(r, m, n, h, self);
out:
	free(h);
	free(m);
}

static void *repair_run(void *arg)
{
	struct repair *r = arg;

	while (!nap(r, (int64_t)r->d->cfg.repair_interval * 1000))
		pass(r);
	return NULL;
}

static void repair_free(struct repair *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->page);
	free(r->buf);
	free(r);
}

int repair_start(struct dgfsd *d, struct repair **out)
{
	pthread_condattr_t ca;
	struct repair *r;

	*out = NULL;
	if (!repl_on(d))
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->d = d;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	r->buf = malloc(DGFSD_MAX_CHUNK);
	r->page = calloc(REPAIR_PAGE, sizeof(*r->page));
	if (!r->buf || !r->page || pthread_create(&r->thread, NULL, repair_run, r)) {
		repair_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void repair_stop(struct repair *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	repair_free(r);
}
