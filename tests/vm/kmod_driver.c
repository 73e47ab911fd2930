// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: dgfsd's netlink client (userspace/dgfsd/kmod.c) from the
 * command line, for tests/vm/test_kmod_client.sh to drive against the real
 * dgfs.ko and compare with dgfsctl.
 *
 *   kmod_driver store-ensure NAME PATH
 *   kmod_driver chunk-add HEXID STORE RELPATH SIZE
 *   kmod_driver chunk-del HEXID
 *   kmod_driver chunks [STORE]            "hexid size" lines
 *   kmod_driver chunks-head STORE N       the first N, then the callback stops
 *   kmod_driver chunks-del-all STORE      deletes from inside the callback
 *   kmod_driver chunks-race STORE N HEXID CSTORE RELPATH SIZE
 *                                         a dump whose first N attempts see
 *                                         HEXID added to CSTORE and deleted
 *                                         again between their parts; prints
 *                                         "attempts A chunks C"
 *   kmod_driver config-set HEXKEY|- PORT MAXREAD    (0: leave as is)
 *   kmod_driver config-get                "port N max_read N auth 0|1 key_set 0|1"
 *   kmod_driver stats                     "name value" lines
 *   kmod_driver latency                   "NAME sum_ns S buckets B0 B1 ..."
 *                                         for request and disk
 *   kmod_driver parallel THREADS ITERS    one client, many threads
 *
 * Exit status 0; 1 with "kmod_driver: CMD: ERRNAME" on stderr when a call
 * fails (kmod.c has logged why just before); 2 for a usage error.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/kmod.c"
#include "proto/hex.c"

static int usage(void)
{
	fprintf(stderr,
		"usage: kmod_driver store-ensure NAME PATH\n"
		"       kmod_driver chunk-add HEXID STORE RELPATH SIZE\n"
		"       kmod_driver chunk-del HEXID\n"
		"       kmod_driver chunks [STORE]\n"
		"       kmod_driver chunks-head STORE N\n"
		"       kmod_driver chunks-del-all STORE\n"
		"       kmod_driver chunks-race STORE N HEXID CSTORE RELPATH SIZE\n"
		"       kmod_driver config-set HEXKEY|- PORT MAXREAD\n"
		"       kmod_driver config-get\n"
		"       kmod_driver stats\n"
		"       kmod_driver latency\n"
		"       kmod_driver parallel THREADS ITERS\n");
	return 2;
}

static bool parse_hex(const char *s, uint8_t *out, size_t len)
{
	return !dgfs_hex_decode(s, out, len);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && !*end && !errno && *v <= max;
}

static void print_id(FILE *f, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	size_t i;

	for (i = 0; i < DGFS_CHUNK_ID_LEN; i++)
		fprintf(f, "%02x", id[i]);
}

static int print_chunk(const uint8_t id[DGFS_CHUNK_ID_LEN], uint64_t size, void *arg)
{
	(void)arg;
	print_id(stdout, id);
	printf(" %" PRIu64 "\n", size);
	return 0;
}

/* chunks-head: the callback's non-zero value must come back as is. */
#define HEAD_STOP 77

static int print_head(const uint8_t id[DGFS_CHUNK_ID_LEN], uint64_t size, void *arg)
{
	uint64_t *left = arg;

	if (!*left)
		return HEAD_STOP;
	print_chunk(id, size, NULL);
	--*left;
	return 0;
}

struct del_all {
	struct kmod *k;
	int deleted;
};

/* Calls back into the client: the foreach must not hold its lock here. */
static int del_chunk(const uint8_t id[DGFS_CHUNK_ID_LEN], uint64_t size, void *arg)
{
	struct del_all *d = arg;
	int err = kmod_chunk_del(d->k, id);

	(void)size;
	if (err)
		return err;
	d->deleted++;
	return 0;
}

static int count_chunk(const uint8_t id[DGFS_CHUNK_ID_LEN], uint64_t size, void *arg)
{
	(void)id;
	(void)size;
	++*(size_t *)arg;
	return 0;
}

/*
 * chunks-race: a second client changes the index from kmod_recv_hook, i.e.
 * between two datagrams of the dump, which makes the kernel flag the
 * dump's later parts NLM_F_DUMP_INTR. Every request has its own sequence
 * number, so a new one is the dump's next attempt.
 */
static struct {
	struct kmod *k2;
	uint8_t id[DGFS_CHUNK_ID_LEN];
	const char *store, *relpath;
	uint64_t size;
	uint64_t spoil;		/* attempts to disturb */
	uint64_t attempts;
	uint32_t seq;
	int err;
} race;

static void race_hook(uint32_t seq)
{
	if (seq != race.seq) {
		race.seq = seq;
		race.attempts++;
	}
	/*
	 * Every datagram of a disturbed attempt: the kernel prepares the
	 * next part while one is read, so a single change could come too
	 * late for a short dump.
	 */
	if (race.attempts > race.spoil || race.err)
		return;
	race.err = kmod_chunk_add(race.k2, race.id, race.store, race.relpath, race.size) ?:
		kmod_chunk_del(race.k2, race.id);
}

static int run_race(struct kmod *k, char **argv)
{
	size_t chunks = 0;
	int err;

	if (!parse_u64(argv[2], 100, &race.spoil) || !parse_hex(argv[3], race.id, sizeof(race.id)) ||
	    !parse_u64(argv[6], UINT64_MAX, &race.size))
		return usage();
	race.store = argv[4];
	race.relpath = argv[5];
	err = kmod_open(&race.k2);
	if (err)
		return err;
	kmod_recv_hook = race_hook;
	err = kmod_chunk_foreach(k, argv[1], count_chunk, &chunks);
	kmod_recv_hook = NULL;
	kmod_close(race.k2);
	if (race.err)
		return race.err;
	printf("attempts %" PRIu64 " chunks %zu\n", race.attempts, chunks);
	return err;
}

static void print_stat(const char *name, uint64_t value, void *arg)
{
	(void)arg;
	printf("%s %" PRIu64 "\n", name, value);
}

static void count_stat(const char *name, uint64_t value, void *arg)
{
	(void)name;
	(void)value;
	++*(int *)arg;
}

struct worker {
	pthread_t thread;
	struct kmod *k;
	unsigned long iters;
	int err;
};

/* Each iteration: a "do" with a reply, a dump and a stats get, all checked. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned long i;

	for (i = 0; i < w->iters && !w->err; i++) {
		struct kmod_config cfg;
		size_t chunks = 0;
		int stats = 0;

		w->err = kmod_config_get(w->k, &cfg) ?:
			kmod_chunk_foreach(w->k, NULL, count_chunk, &chunks) ?:
			kmod_stats_foreach(w->k, count_stat, &stats);
		if (!w->err && stats != (int)KMOD_NSTATS)
			w->err = -EBADMSG;
	}
	return NULL;
}

static int run_parallel(struct kmod *k, const char *threads_s, const char *iters_s)
{
	uint64_t threads, iters, t;
	struct worker *w;
	int err = 0;

	if (!parse_u64(threads_s, 64, &threads) || !threads || !parse_u64(iters_s, 1000000, &iters))
		return usage();
	w = calloc(threads, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (t = 0; t < threads; t++) {
		w[t].k = k;
		w[t].iters = iters;
		if (pthread_create(&w[t].thread, NULL, worker_run, &w[t])) {
			threads = t;
			err = -EAGAIN;
			break;
		}
	}
	for (t = 0; t < threads; t++) {
		pthread_join(w[t].thread, NULL);
		if (!err)
			err = w[t].err;
	}
	free(w);
	if (!err)
		printf("%" PRIu64 " threads x %" PRIu64 " iterations ok\n", threads, iters);
	return err;
}

/* 0 or a negative errno; 2 (positive) for a usage error. */
static int run(struct kmod *k, int argc, char **argv)
{
	const char *cmd = argv[0];
	uint8_t id[DGFS_CHUNK_ID_LEN], key[DGFS_AUTH_KEY_LEN];
	uint64_t v, port, max_read;

	if (!strcmp(cmd, "store-ensure") && argc == 3)
		return kmod_store_ensure(k, argv[1], argv[2]);
	if (!strcmp(cmd, "chunk-add") && argc == 5) {
		if (!parse_hex(argv[1], id, sizeof(id)) || !parse_u64(argv[4], UINT64_MAX, &v))
			return usage();
		return kmod_chunk_add(k, id, argv[2], argv[3], v);
	}
	if (!strcmp(cmd, "chunk-del") && argc == 2) {
		if (!parse_hex(argv[1], id, sizeof(id)))
			return usage();
		return kmod_chunk_del(k, id);
	}
	if (!strcmp(cmd, "chunks") && (argc == 1 || argc == 2))
		return kmod_chunk_foreach(k, argc == 2 ? argv[1] : NULL, print_chunk, NULL);
	if (!strcmp(cmd, "chunks-head") && argc == 3) {
		int ret;

		if (!parse_u64(argv[2], UINT64_MAX, &v))
			return usage();
		ret = kmod_chunk_foreach(k, argv[1], print_head, &v);
		/* Stopped (HEAD_STOP), or ran out of chunks first (0). */
		if (ret > 0 && ret != HEAD_STOP)
			return -EPROTO;
		return ret == HEAD_STOP ? 0 : ret;
	}
	if (!strcmp(cmd, "chunks-del-all") && argc == 2) {
		struct del_all d = { .k = k };
		int ret = kmod_chunk_foreach(k, argv[1], del_chunk, &d);

		if (!ret)
			printf("deleted %d\n", d.deleted);
		return ret;
	}
	if (!strcmp(cmd, "chunks-race") && argc == 7)
		return run_race(k, argv);
	if (!strcmp(cmd, "config-set") && argc == 4) {
		bool has_key = strcmp(argv[1], "-") != 0;

		if ((has_key && !parse_hex(argv[1], key, sizeof(key))) ||
		    !parse_u64(argv[2], UINT16_MAX, &port) ||
		    !parse_u64(argv[3], UINT32_MAX, &max_read))
			return usage();
		return kmod_config_set(k, has_key ? key : NULL, (uint16_t)port, (uint32_t)max_read);
	}
	if (!strcmp(cmd, "config-get") && argc == 1) {
		struct kmod_config cfg;
		int err = kmod_config_get(k, &cfg);

		if (!err)
			printf("port %u max_read %u auth %d key_set %d\n", cfg.port, cfg.max_read,
			       cfg.auth, cfg.key_set);
		return err;
	}
	if (!strcmp(cmd, "stats") && argc == 1)
		return kmod_stats_foreach(k, print_stat, NULL);
	if (!strcmp(cmd, "latency") && argc == 1) {
		struct lat_hist h[2];
		int err = kmod_latency(k, &h[0], &h[1]);

		for (int i = 0; !err && i < 2; i++) {
			printf("%s sum_ns %" PRIu64 " buckets", i ? "disk" : "request", h[i].sum_ns);
			for (int b = 0; b < DGFS_HIST_BUCKETS; b++)
				printf(" %" PRIu64, h[i].b[b]);
			printf("\n");
		}
		return err;
	}
	if (!strcmp(cmd, "parallel") && argc == 3)
		return run_parallel(k, argv[1], argv[2]);
	return usage();
}

int main(int argc, char **argv)
{
	struct kmod *k;
	int err;

	if (argc < 2)
		return usage();
	err = kmod_open(&k);
	if (!err) {
		err = run(k, argc - 1, argv + 1);
		kmod_close(k);
	}
	if (err > 0)
		return err;
	if (fflush(stdout) && !err)
		err = -errno;
	if (err < 0) {
		const char *name = strerrorname_np(-err);

		fprintf(stderr, "kmod_driver: %s: %s\n", argv[1], name ? name : "unknown error");
		return 1;
	}
	return 0;
}
