/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * dgfs: kernel chunk server. Userspace API.
 *
 * Generic netlink family "dgfs", version 1. All state is per network
 * namespace. Every command that changes state, and the STORE_GET and
 * CHUNK_GET that show store paths and chunk ids, need CAP_NET_ADMIN in the
 * initial user namespace (root of a user namespace of one's own is not
 * enough: docs/SECURITY.md). CONFIG_GET and STATS_GET are open to anyone
 * in the namespace. Store directories and chunk files are looked up and
 * must be searchable / readable with the caller's own credentials.
 *
 * Commands and the attributes they take (-> what they answer):
 *
 * DGFS_CMD_STORE_ADD      DGFS_A_STORE { NAME, PATH }
 * DGFS_CMD_STORE_DEL      DGFS_A_STORE { NAME }            (fails while it
 *                                                           holds chunks)
 * DGFS_CMD_STORE_GET      dump, or DGFS_A_STORE { NAME }
 *                         -> DGFS_A_STORE { NAME, PATH, CHUNKS, BYTES }
 * DGFS_CMD_CHUNK_ADD      DGFS_A_CHUNK { ID, STORE, PATH, [SIZE] }
 *                         PATH is relative to the store and may not leave
 *                         it; SIZE, if given, must equal the file's size.
 *                      or DGFS_A_CHUNKS { STORE, ENTRY { ID, PATH, [SIZE] },
 *                                         ENTRY ... }
 *                         1..DGFS_CHUNKS_MAX chunks of one store, each
 *                         checked as one add is, ids distinct; all are
 *                         added or none. A refused entry is the error's
 *                         bad attribute (NLMSGERR_ATTR_OFFS points into it).
 * DGFS_CMD_CHUNK_DEL      DGFS_A_CHUNK { ID }
 * DGFS_CMD_CHUNK_GET      dump (optionally DGFS_A_CHUNK { STORE } to filter),
 *                         or DGFS_A_CHUNK { ID }
 *                         -> DGFS_A_CHUNK { ID, STORE, PATH, SIZE }
 * DGFS_CMD_CONFIG_SET     DGFS_A_CONFIG { [PORT], [MAX_READ], [AUTH_KEY],
 *                                         [AUTH] }
 * DGFS_CMD_CONFIG_GET     -> DGFS_A_CONFIG { PORT, MAX_READ, AUTH,
 *                                            AUTH_KEY_SET }
 *                         (the key itself is never read back)
 * DGFS_CMD_STATS_GET      -> DGFS_A_STATS { STORES, CHUNKS, CHUNK_BYTES,
 *                                           LOOKUPS, LOOKUP_HITS,
 *                                           OBJ_CREATED, OBJ_DESTROYED,
 *                                           and the fast path's counters }
 *                            DGFS_A_LATENCY { REQUEST, DISK }
 * DGFS_CMD_CLIENTS_GET    dump -> DGFS_A_CLIENT { ADDR, CPU, REQUESTS,
 *                                                 SHARED }
 *                         one per flow of a ring that served any request:
 *                         the clients' requests taken off the rings, for
 *                         a top view (bounded: at most 256 per CPU)
 *
 * Attribute tree:
 *
 *   DGFS_A_STORE: NLA_NESTED
 *       DGFS_STORE_A_NAME:     NLA_NUL_STRING, 1..DGFS_STORE_NAME_MAX-1
 *                              bytes of [A-Za-z0-9_.-], not "." or ".."
 *       DGFS_STORE_A_PATH:     NLA_NUL_STRING, absolute path of a directory
 *       DGFS_STORE_A_CHUNKS:   NLA_U32 (read only)
 *       DGFS_STORE_A_BYTES:    NLA_U64 (read only)
 *   DGFS_A_CHUNK: NLA_NESTED
 *       DGFS_CHUNK_A_ID:       NLA_BINARY, exactly DGFS_CHUNK_ID_LEN bytes
 *       DGFS_CHUNK_A_STORE:    NLA_NUL_STRING, a store's name
 *       DGFS_CHUNK_A_PATH:     NLA_NUL_STRING, relative to the store
 *       DGFS_CHUNK_A_SIZE:     NLA_U64
 *   DGFS_A_CHUNKS: NLA_NESTED (CHUNK_ADD only)
 *       DGFS_CHUNKS_A_STORE:   NLA_NUL_STRING, a store's name
 *       DGFS_CHUNKS_A_ENTRY:   NLA_NESTED, repeated: DGFS_CHUNK_A_ID,
 *                              DGFS_CHUNK_A_PATH, [DGFS_CHUNK_A_SIZE]
 *   DGFS_A_CONFIG: NLA_NESTED
 *       DGFS_CONFIG_A_PORT:         NLA_U16, UDP port of the fast path, != 0
 *       DGFS_CONFIG_A_MAX_READ:     NLA_U32, 1..DGFS_MAX_READ_LIMIT
 *       DGFS_CONFIG_A_AUTH_KEY:     NLA_BINARY, exactly DGFS_AUTH_KEY_LEN
 *       DGFS_CONFIG_A_AUTH:         NLA_U8, 0 or 1
 *       DGFS_CONFIG_A_AUTH_KEY_SET: NLA_U8 (read only)
 *       DGFS_CONFIG_A_BALANCE:      NLA_U8, 0 or 1: serve each client's
 *                                   requests on a CPU chosen by a hash of
 *                                   its address, not the receiving one
 *   DGFS_A_STATS: NLA_NESTED
 *       DGFS_STATS_A_*:        NLA_U64 each (read only; see the enum)
 *   DGFS_A_LATENCY: NLA_NESTED (read only; STATS_GET answers only)
 *       DGFS_LATENCY_A_REQUEST: a histogram: fast-path requests, from the
 *                               kfunc (or the socket) queueing one to its
 *                               reply's last datagram handed to the stack
 *       DGFS_LATENCY_A_DISK:    a histogram: each wait of a slow read for a
 *                               page that was not in the page cache
 *     a histogram: NLA_NESTED
 *       DGFS_HIST_A_BUCKETS:   NLA_BINARY, DGFS_HIST_BUCKETS __u64 counts;
 *                              bucket i < DGFS_HIST_BUCKETS - 1 counts the
 *                              latencies of at most 2^(DGFS_HIST_MIN_SHIFT
 *                              + i) ns (and over the bucket before's
 *                              bound), the last one all longer ones
 *       DGFS_HIST_A_SUM:       NLA_U64, the latencies' sum in ns
 *     (their count is the buckets' sum)
 *   DGFS_A_CLIENT: NLA_NESTED (read only; CLIENTS_GET answers only)
 *       DGFS_CLIENT_A_ADDR:     NLA_BINARY, 16 bytes: IPv6, or IPv4-mapped
 *                               (::ffff:a.b.c.d); the flow's client last
 *                               served
 *       DGFS_CLIENT_A_CPU:      NLA_U32, the CPU whose ring holds the flow
 *       DGFS_CLIENT_A_REQUESTS: NLA_U64, requests the flow served since
 *                               the rings were made (a flow is a keyed
 *                               hash of client addresses: rarely, several
 *                               share one)
 *       DGFS_CLIENT_A_SHARED:   NLA_U8, 1 if the flow served more than one
 *                               address: REQUESTS is theirs together
 *
 * Numbers are in host byte order, as everywhere in netlink. The *_A_PAD
 * attributes only align 64-bit values and carry nothing.
 */
#ifndef _UAPI_LINUX_DGFS_H
#define _UAPI_LINUX_DGFS_H

#include <linux/types.h>

#define DGFS_GENL_NAME		"dgfs"
#define DGFS_GENL_VERSION	1

#define DGFS_CHUNK_ID_LEN	32	/* SHA-256 */
#define DGFS_AUTH_KEY_LEN	16	/* SipHash-2-4 key */
#define DGFS_STORE_NAME_MAX	32	/* with the terminating NUL */
#define DGFS_DEFAULT_PORT	7878
#define DGFS_DEFAULT_MAX_READ	(1U << 20)
#define DGFS_MAX_READ_LIMIT	(16U << 20)
#define DGFS_CHUNKS_MAX		1024	/* entries in one DGFS_A_CHUNKS */
#define DGFS_RING_CAPACITY	1024	/* requests one CPU's ring can hold */

enum dgfs_cmd {
	DGFS_CMD_UNSPEC,
	DGFS_CMD_STORE_ADD,
	DGFS_CMD_STORE_DEL,
	DGFS_CMD_STORE_GET,
	DGFS_CMD_CHUNK_ADD,
	DGFS_CMD_CHUNK_DEL,
	DGFS_CMD_CHUNK_GET,
	DGFS_CMD_CONFIG_SET,
	DGFS_CMD_CONFIG_GET,
	DGFS_CMD_STATS_GET,
	DGFS_CMD_CLIENTS_GET,
	__DGFS_CMD_MAX
};
#define DGFS_CMD_MAX (__DGFS_CMD_MAX - 1)

enum dgfs_attr {
	DGFS_A_UNSPEC,
	DGFS_A_STORE,
	DGFS_A_CHUNK,
	DGFS_A_CONFIG,
	DGFS_A_STATS,
	DGFS_A_CHUNKS,
	DGFS_A_LATENCY,
	DGFS_A_CLIENT,
	__DGFS_A_LAST
};
#define DGFS_A_MAX (__DGFS_A_LAST - 1)

enum dgfs_store_attr {
	DGFS_STORE_A_UNSPEC,
	DGFS_STORE_A_NAME,
	DGFS_STORE_A_PATH,
	DGFS_STORE_A_CHUNKS,
	DGFS_STORE_A_BYTES,
	DGFS_STORE_A_PAD,
	__DGFS_STORE_A_LAST
};
#define DGFS_STORE_A_MAX (__DGFS_STORE_A_LAST - 1)

enum dgfs_chunk_attr {
	DGFS_CHUNK_A_UNSPEC,
	DGFS_CHUNK_A_ID,
	DGFS_CHUNK_A_STORE,
	DGFS_CHUNK_A_PATH,
	DGFS_CHUNK_A_SIZE,
	DGFS_CHUNK_A_PAD,
	__DGFS_CHUNK_A_LAST
};
#define DGFS_CHUNK_A_MAX (__DGFS_CHUNK_A_LAST - 1)

enum dgfs_chunks_attr {
	DGFS_CHUNKS_A_UNSPEC,
	DGFS_CHUNKS_A_STORE,
	DGFS_CHUNKS_A_ENTRY,
	__DGFS_CHUNKS_A_LAST
};
#define DGFS_CHUNKS_A_MAX (__DGFS_CHUNKS_A_LAST - 1)

enum dgfs_config_attr {
	DGFS_CONFIG_A_UNSPEC,
	DGFS_CONFIG_A_PORT,
	DGFS_CONFIG_A_MAX_READ,
	DGFS_CONFIG_A_AUTH_KEY,
	DGFS_CONFIG_A_AUTH,
	DGFS_CONFIG_A_AUTH_KEY_SET,
	DGFS_CONFIG_A_BALANCE,
	__DGFS_CONFIG_A_LAST
};
#define DGFS_CONFIG_A_MAX (__DGFS_CONFIG_A_LAST - 1)

enum dgfs_stats_attr {
	DGFS_STATS_A_UNSPEC,
	DGFS_STATS_A_STORES,		/* stores in this namespace */
	DGFS_STATS_A_CHUNKS,		/* chunks in this namespace */
	DGFS_STATS_A_CHUNK_BYTES,	/* their total size */
	DGFS_STATS_A_LOOKUPS,		/* index lookups (netlink and kfunc) */
	DGFS_STATS_A_LOOKUP_HITS,	/* ... that found a chunk */
	DGFS_STATS_A_OBJ_CREATED,	/* module-wide: stores+chunks created */
	DGFS_STATS_A_OBJ_DESTROYED,	/* module-wide: ... and freed */
	DGFS_STATS_A_PAD,
	/* The fast path, per namespace: */
	DGFS_STATS_A_REQUESTS,		/* read requests taken off the rings */
	DGFS_STATS_A_REPLIES,		/* ... answered with data (status OK) */
	DGFS_STATS_A_DATAGRAMS,		/* reply datagrams sent */
	DGFS_STATS_A_BYTES,		/* chunk bytes sent */
	DGFS_STATS_A_MALFORMED,		/* requests refused as malformed */
	DGFS_STATS_A_RING_FULL,		/* requests dropped: ring full */
	DGFS_STATS_A_TOKEN_REJECTED,	/* bad, expired or missing token */
	DGFS_STATS_A_NOENT,		/* unknown chunk */
	DGFS_STATS_A_RANGE,		/* offset past the end */
	DGFS_STATS_A_IO_ERRORS,		/* read errors */
	DGFS_STATS_A_OVERLOADED,	/* answered AGAIN */
	DGFS_STATS_A_CACHE_MISSES,	/* requests that had to read from disk */
	DGFS_STATS_A_SEND_ERRORS,	/* datagrams that could not be sent */
	DGFS_STATS_A_STACK_REQUESTS,	/* requests that came through the
					 * socket rather than XDP */
	/* Requests refused for their addresses (the reply would go where
	 * the stack never sends one), by reason:
	 */
	DGFS_STATS_A_SRC_UNSPEC,	/* from 0.0.0.0/8 or :: */
	DGFS_STATS_A_SRC_LOOPBACK,	/* from loopback, off the loopback device */
	DGFS_STATS_A_SRC_MULTICAST,	/* from a multicast or broadcast address */
	DGFS_STATS_A_SRC_MAPPED,	/* IPv6 from an IPv4-mapped address */
	DGFS_STATS_A_SRC_LOCAL,		/* from one of our own addresses, off the
					 * loopback device */
	DGFS_STATS_A_BAD_DST,		/* to a broadcast, multicast, unspecified
					 * or (off loopback) loopback address */
	DGFS_STATS_A_RINGS,		/* rings this namespace has: one per
					 * possible CPU once a store was added,
					 * 0 before */
	DGFS_STATS_A_NO_RINGS,		/* requests to the port of a namespace
					 * without rings (never a store): not
					 * ours, XDP passes them on */
	DGFS_STATS_A_SLOW_READS,	/* reads waiting for the disk now (at
					 * most 256 per namespace) */
	DGFS_STATS_A_CLIENT_FULL,	/* requests dropped: their client
					 * already had its share of the ring
					 * queued */
	DGFS_STATS_A_BALANCED,		/* requests queued for another CPU than
					 * the one that received them */
	DGFS_STATS_A_QUEUED,		/* requests waiting for a worker now,
					 * in all rings */
	DGFS_STATS_A_QUEUED_MAX,	/* ... in the fullest ring: of at most
					 * DGFS_RING_CAPACITY, past which
					 * requests are dropped (ring_full) */
	__DGFS_STATS_A_LAST
};
#define DGFS_STATS_A_MAX (__DGFS_STATS_A_LAST - 1)

/* Latency histograms: log2 buckets of nanoseconds, 1.024 us .. 17.2 s. */
#define DGFS_HIST_BUCKETS	26
#define DGFS_HIST_MIN_SHIFT	10

enum dgfs_latency_attr {
	DGFS_LATENCY_A_UNSPEC,
	DGFS_LATENCY_A_REQUEST,
	DGFS_LATENCY_A_DISK,
	__DGFS_LATENCY_A_LAST
};
#define DGFS_LATENCY_A_MAX (__DGFS_LATENCY_A_LAST - 1)

enum dgfs_client_attr {
	DGFS_CLIENT_A_UNSPEC,
	DGFS_CLIENT_A_ADDR,
	DGFS_CLIENT_A_CPU,
	DGFS_CLIENT_A_REQUESTS,
	DGFS_CLIENT_A_SHARED,
	DGFS_CLIENT_A_PAD,
	__DGFS_CLIENT_A_LAST
};
#define DGFS_CLIENT_A_MAX (__DGFS_CLIENT_A_LAST - 1)

enum dgfs_hist_attr {
	DGFS_HIST_A_UNSPEC,
	DGFS_HIST_A_BUCKETS,
	DGFS_HIST_A_SUM,
	DGFS_HIST_A_PAD,
	__DGFS_HIST_A_LAST
};
#define DGFS_HIST_A_MAX (__DGFS_HIST_A_LAST - 1)

/*
 * Wire protocol v1: chunk reads over UDP (docs/PROTOCOL.md). Every integer
 * is big-endian on the wire. A request is exactly one 72-byte datagram; a
 * reply is one or more datagrams, each a 32-byte header and then payload
 * (none when status is not OK). Malformed requests get no reply at all.
 *
 * token = SipHash-2-4(key, chunk[32] || expiry[4, BE] || client address[16])
 * with the client address as IPv6 or IPv4-mapped (::ffff:a.b.c.d), stored
 * as the 8 bytes libsodium's crypto_shorthash_siphash24() writes.
 */
#define DGFS_PROTO_MAGIC	0x44474653	/* "DGFS" */
#define DGFS_PROTO_VERSION	1
#define DGFS_TOKEN_LEN		8
/* The farthest ahead of a host's clock a token's expiry may lie, in
 * seconds: a token travels in clear, and whoever sees one can replay it
 * from its address until it expires. Hosts (dgfs.ko and the userspace
 * servers) allow DGFS_TOKEN_CLOCK_SKEW seconds more for clock skew between
 * whoever mints tokens and themselves; minters refuse longer lifetimes.
 */
#define DGFS_TOKEN_MAX_LIFETIME	86400
#define DGFS_TOKEN_CLOCK_SKEW	300

enum dgfs_proto_op {
	DGFS_OP_READ = 1,
	DGFS_OP_READ_REPLY = 0x81,
};

enum dgfs_proto_status {
	DGFS_STATUS_OK = 0,
	DGFS_STATUS_NOENT = 1,	/* unknown chunk */
	DGFS_STATUS_RANGE = 2,	/* offset at or past the end */
	DGFS_STATUS_ACCES = 3,	/* bad or expired token */
	DGFS_STATUS_AGAIN = 4,	/* overloaded */
	DGFS_STATUS_IO = 5,	/* read error */
};

struct dgfs_read_req {
	__be32 magic;
	__u8 version;
	__u8 op;
	__be16 flags;		/* 0; anything else is malformed */
	__be64 req_id;		/* echoed in every reply datagram */
	__u8 chunk[DGFS_CHUNK_ID_LEN];
	__be64 offset;
	__be32 length;		/* 1 .. max read size */
	__be32 expiry;		/* token expiry, Unix seconds */
	__u8 token[DGFS_TOKEN_LEN];
} __attribute__((packed));

struct dgfs_read_reply {
	__be32 magic;
	__u8 version;
	__u8 op;
	__be16 status;
	__be64 req_id;
	__be64 offset;		/* chunk offset of this datagram's payload */
	__be32 total;		/* bytes the whole reply carries */
	__be32 size;		/* the chunk's full size */
} __attribute__((packed));

#define DGFS_READ_REQ_LEN	72
#define DGFS_READ_REPLY_HDR_LEN	32

#endif /* _UAPI_LINUX_DGFS_H */
