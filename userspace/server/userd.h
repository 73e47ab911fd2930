/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfs-userd: the userspace server of the wire protocol. main.c reads the
 * options and handles signals, serve.c runs one worker per thread (its own
 * SO_REUSEPORT socket, or one socket all share: --steer; recvmmsg in,
 * sendmmsg out), steer.c loads the BPF program of --steer cpu, xsk.c runs
 * one AF_XDP worker per receive queue of the --af-xdp interface, check.c
 * judges a request for both kinds, store.c finds the chunk files. dgfsd
 * runs the same workers in-process when dgfs.ko is absent, and the AF_XDP
 * tier with its own --af-xdp.
 */
#ifndef DGFS_USERD_H
#define DGFS_USERD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/dgfs_proto.h"
#include "proto/latency.h"

#define USERD_MAX_THREADS	64

/* How datagrams to the port are spread over the workers (--steer). */
enum userd_steer {
	USERD_STEER_HASH,	/* a socket each, SO_REUSEPORT: the kernel hashes the 4-tuple */
	USERD_STEER_SHARED,	/* one socket, every worker reads it */
	USERD_STEER_CPU,	/* a socket each, each worker on a CPU of its own: a BPF
				 * program picks the receiving CPU's worker */
};

struct userd_config {
	struct sockaddr_storage bind_addr;
	socklen_t bind_len;
	bool auth;
	bool key_set;
	uint8_t key[DGFS_AUTH_KEY_LEN];
	uint32_t max_read;
	unsigned int threads;
	bool verbose;
	bool gso;			/* try UDP GSO (UDP_SEGMENT) */
	int dir_fd;			/* the chunk directory */
	enum userd_steer steer;
	int shared_fd;			/* USERD_STEER_SHARED: worker 0's socket */
	atomic_bool stop;
};

/*
 * Counters: X(name, meaning). Each worker has its own set and is its only
 * writer; the main thread sums them for printing.
 */
#define USERD_COUNTER_TABLE(X)						\
	X(requests,       "well-formed requests")			\
	X(replies,        "requests answered with data")		\
	X(datagrams,      "reply datagrams sent")			\
	X(bytes,          "chunk bytes sent")				\
	X(malformed,      "requests dropped as malformed (all reasons)")\
	X(malformed_size,    "... not 72 bytes")				\
	X(malformed_magic,   "... bad magic")				\
	X(malformed_version, "... unknown version")			\
	X(malformed_op,      "... unknown op")				\
	X(malformed_flags,   "... flags not zero")			\
	X(malformed_length,  "... length 0 or above max read")		\
	X(token_rejected, "requests answered ACCES (all reasons)")	\
	X(token_no_key,   "... no key set")				\
	X(token_expired,  "... expiry in the past")			\
	X(token_too_long, "... expiry more than a day ahead")		\
	X(token_bad,      "... token does not match")			\
	X(noent,          "unknown chunks (NOENT)")			\
	X(range,          "offsets past the end (RANGE)")		\
	X(io_errors,      "read errors (IO)")				\
	X(send_errors,    "datagrams that could not be sent")		\
	X(mtu_probes,     "path MTU look-ups")				\
	X(xsk_not_local,  "AF_XDP: frames to a MAC or IP not the interface's")\
	X(xsk_bad_frames, "AF_XDP: frames not a request's shape")

struct userd_counters {
#define X(name, desc) _Atomic uint64_t name;
	USERD_COUNTER_TABLE(X)
#undef X
};

/* ---- store.c: chunk files by id, with a small per-worker fd cache ---- */

struct chunk_cache;

struct chunk_ref {
	int fd;
	uint64_t size;
};

struct chunk_cache *chunk_cache_create(int dir_fd);
void chunk_cache_destroy(struct chunk_cache *cc);	/* NULL is fine */
/* 0 with *ref filled (the fd stays the cache's), or -ENOENT / -errno. */
int chunk_cache_get(struct chunk_cache *cc, const uint8_t id[DGFS_CHUNK_ID_LEN],
		    uint64_t now_ns, struct chunk_ref *ref);
/* Forget a chunk whose reads fail, so the next request opens it afresh. */
void chunk_cache_drop(struct chunk_cache *cc, const uint8_t id[DGFS_CHUNK_ID_LEN]);

/* ---- check.c: what a request gets, whichever way it came in ---- */

enum userd_verdict {
	USERD_DROP,	/* malformed: no reply at all */
	USERD_STATUS,	/* a reply with answer->status and ->size, no data */
	USERD_DATA,	/* answer->total bytes of answer->ch from req.offset */
};

struct userd_answer {
	struct dgfs_req req;
	uint16_t status;
	uint64_t size;
	struct chunk_ref ch;
	uint32_t total;
};

/*
 * Decodes the datagram (@truncated: it was longer than @len), checks the
 * token for @client, looks the chunk up and checks the range; counts in
 * @c as the verdict says and logs refusals when verbose.
 */
enum userd_verdict userd_judge(const struct userd_config *cfg, struct userd_counters *c,
			       struct chunk_cache *chunks, const uint8_t client[DGFS_ADDR_LEN],
			       const uint8_t *buf, size_t len, bool truncated, uint64_t now,
			       uint64_t unix_now, struct userd_answer *answer);
void userd_log_refusal(const struct userd_config *cfg, const uint8_t client[DGFS_ADDR_LEN],
		       const char *what);

/* ---- serve.c: the workers ---- */

struct userd_worker;

/*
 * Opens the worker's socket (bound, SO_REUSEPORT): NULL with errno. With
 * USERD_STEER_SHARED, worker 0 opens the one socket (SO_REUSEPORT off) and
 * the others read a dup of it: create them in index order.
 */
struct userd_worker *userd_worker_create(struct userd_config *cfg, unsigned int index);
int userd_worker_fd(const struct userd_worker *w);
/* USERD_STEER_CPU: the CPU the worker will run on alone (worker i on the
 * i-th CPU the process may use, wrapping); else -1.
 */
int userd_worker_cpu(const struct userd_worker *w);
void userd_worker_destroy(struct userd_worker *w);	/* NULL is fine */
/* pthread start routine: serves until cfg->stop. */
void *userd_worker_run(void *arg);
const struct userd_counters *userd_worker_counters(const struct userd_worker *w);

/* ---- steer.c: USERD_STEER_CPU ---- */

struct reuseport_steer_bpf;

/* Loads the program (CAP_BPF and CAP_NET_ADMIN): NULL with errno. */
struct reuseport_steer_bpf *userd_steer_load(void);
/* After all @n workers are created: the program steers their group.
 * 0 or -errno (the workers then go on with the kernel's hash).
 */
int userd_steer_attach(struct reuseport_steer_bpf *skel, struct userd_worker *const *workers,
		       unsigned int n);
void userd_steer_free(struct reuseport_steer_bpf *skel);	/* NULL is fine */

/* The workers' counters added up (each worker is its counters' only writer). */
struct userd_counter_sum {
#define X(name, desc) uint64_t name;
	USERD_COUNTER_TABLE(X)
#undef X
};
void userd_counters_sum(struct userd_worker *const *workers, unsigned int n,
			struct userd_counter_sum *sum);
/* The workers' latency histograms added up: each answered request, from
 * the recvmmsg() that took it in to its reply sent.
 */
void userd_latency_sum(struct userd_worker *const *workers, unsigned int n,
		       struct lat_hist *sum);

/* ---- xsk.c: the AF_XDP tier, a worker per receive queue of one interface ---- */

struct userd_xsk_tier;

/*
 * Attaches dgfs's XDP program in its AF_XDP mode (dgfs_xdp_attach_xsk(),
 * native or, with @skb_mode, generic XDP) to @ifname for cfg's port and
 * max read, and opens an AF_XDP socket (copy mode: every driver has it)
 * on each of its receive queues, entered in the program's XSKMAP: from
 * here on the interface's requests wait in those sockets until
 * userd_xsk_tier_start(). All that needs privileges is done here: libxdp
 * (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) and the sockets (CAP_NET_RAW;
 * 16 MiB of UMEM each, locked: CAP_IPC_LOCK or RLIMIT_MEMLOCK room); the
 * threads need none. NULL on failure, with nothing left attached and what
 * went wrong in @err.
 */
struct userd_xsk_tier *userd_xsk_tier_open(struct userd_config *cfg, const char *ifname,
					   bool skb_mode, char *err, size_t errlen);
/* A thread per socket, serving the chunks in cfg->dir_fd (set by now)
 * until cfg->stop. 0, or -errno with @err (then close the tier).
 */
int userd_xsk_tier_start(struct userd_xsk_tier *t, char *err, size_t errlen);
unsigned int userd_xsk_tier_queues(const struct userd_xsk_tier *t);	/* 0 for NULL */
/* Adds the workers' counters and latencies to *sum / *lat (NULL: none). */
void userd_xsk_tier_add_counters(const struct userd_xsk_tier *t, struct userd_counter_sum *sum);
void userd_xsk_tier_add_latency(const struct userd_xsk_tier *t, struct lat_hist *lat);
/* With cfg->stop set by the caller: the threads joined (their counters final). */
void userd_xsk_tier_join(struct userd_xsk_tier *t);
/*
 * With cfg->stop set by the caller: the threads joined, the sockets closed
 * and the program detached. 0, or -errno with @err when it could not be
 * detached (no privileges left): the program then stays on the interface
 * and, its map empty, passes every request to the stack. NULL is fine.
 */
int userd_xsk_tier_close(struct userd_xsk_tier *t, char *err, size_t errlen);

#endif /* DGFS_USERD_H */
