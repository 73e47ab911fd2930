/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The windowed reader: reads one byte range of one chunk over the wire
 * protocol, whatever the network loses, duplicates or reorders.
 *
 * It splits the range into requests of at most req_size bytes and keeps up
 * to `window` of them outstanding. Reply datagrams are placed by their
 * offset. A request that has brought nothing for a retransmission timeout
 * (RTO) is retired and only the holes it left are asked for again. The RTO
 * comes from measured round trips (RFC 6298: srtt + 4 * rttvar, at least
 * min_timeout_ns; before any measurement 1 s, or a quarter of timeout_ns if
 * that is less), doubles for every fruitless re-request of a range, or
 * once per round in which requests timed out until the next measurement
 * (whichever counts more), and never exceeds max_timeout_ns.
 * New bytes for a request restart the timers of those sent after it (they
 * wait behind it), and an answer to a request already retired still counts.
 * A range re-requested `retries` times in a row without a byte is asked for
 * no more: its last request stays out, waiting. The read fails only when no
 * new byte of it has arrived for timeout_ns (the budget), so a slow host
 * that keeps sending is waited for however long each request takes, and
 * a silent one costs timeout_ns. Timeouts halve how many requests may be
 * out (at least one), answers grow it back (reader.c). A whole chunk
 * (offset 0 to its end) is checked against its id, the SHA-256 of its
 * content.
 *
 * No sockets and no clock here: the caller sends through a callback, feeds
 * every received datagram to dgfs_reader_feed() and calls
 * dgfs_reader_tick() when dgfs_reader_deadline() has passed, passing the
 * time each time. So it runs the same under unit tests as on the network
 * (userspace/proto/net.c drives it on a socket).
 */
#ifndef DGFS_READER_H
#define DGFS_READER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgfs_proto.h"

#define DGFS_READER_MAX_WINDOW	4096
#define DGFS_READER_MAX_TIMEOUT_NS	(3600ull * 1000000000)
/* RFC 6298's first RTO, before any round trip was measured (2.1)... */
#define DGFS_READER_INITIAL_RTO_NS	1000000000ull
/* ... and its cap when max_timeout_ns is 0 (2.5: at least 60 s). */
#define DGFS_READER_DEFAULT_MAX_RTO_NS	(60ull * 1000000000)
/* max_bytes 0: a reply's chunk size is only the peer's (or a spoofer's)
 * word, and the whole chunk is buffered; 16 times dgfsd's largest chunk. */
#define DGFS_READER_DEFAULT_MAX_BYTES	(64ull << 20)

/* Sends one 72-byte request: 0, or -1 to fail the read (a datagram that
 * the network may still lose is not a failure: return 0).
 */
typedef int (*dgfs_reader_send_fn)(void *ctx, const uint8_t *req, size_t len);

struct dgfs_reader_config {
	uint8_t chunk[DGFS_CHUNK_ID_LEN];
	uint64_t offset;
	uint64_t length;		/* 0: up to the end of the chunk */
	uint32_t req_size;		/* per request; <= the host's max read */
	unsigned int window;		/* 1 .. DGFS_READER_MAX_WINDOW */
	uint64_t timeout_ns;		/* the budget: fail after this long
					 * without a new byte */
	uint64_t min_timeout_ns;	/* shortest RTO, however fast the replies */
	uint64_t max_timeout_ns;	/* longest RTO; 0: 60 s */
	unsigned int retries;		/* fruitless re-requests of a range */
	uint64_t srtt_ns, rttvar_ns;	/* an earlier read's estimate for the
					 * same host (stats); 0: none */
	uint64_t max_bytes;		/* refuse to buffer more than this;
					 * 0: DGFS_READER_DEFAULT_MAX_BYTES */
	uint32_t expiry;
	uint8_t token[DGFS_TOKEN_LEN];
	uint64_t req_id_seed;		/* random, so ids differ per read */
	/*
	 * Shared by the reads one command makes from one host (threads
	 * included): when the last new byte of any of them came. A read
	 * waiting its turn while the host serves the others is not silent,
	 * so its budget counts from there. NULL: this read's bytes only.
	 */
	_Atomic uint64_t *host_progress;
	dgfs_reader_send_fn send;
	void *send_ctx;
};

enum dgfs_read_state {
	DGFS_READ_RUNNING = 0,
	DGFS_READ_DONE,
	DGFS_READ_ERR_STATUS,		/* the host said no: see status */
	DGFS_READ_ERR_TIMEOUT,		/* no new byte for timeout_ns */
	DGFS_READ_ERR_VERIFY,		/* the chunk's SHA-256 differs from its id */
	DGFS_READ_ERR_TOO_BIG,		/* more than max_bytes */
	DGFS_READ_ERR_NOMEM,
	DGFS_READ_ERR_SEND,
};

struct dgfs_reader_stats {
	uint64_t requests;		/* requests sent, first or again */
	uint64_t rerequests;		/* ... of which for holes after a timeout */
	uint64_t timeouts;		/* requests retired without all their bytes */
	uint64_t again;			/* AGAIN answers (retried after a timeout) */
	uint64_t datagrams;		/* reply datagrams fed */
	uint64_t invalid;		/* ... not a valid reply at all */
	uint64_t stray;			/* ... for no request outstanding */
	uint64_t misfit;		/* ... not fitting their request */
	uint64_t dup_bytes;		/* payload bytes received twice */
	uint64_t srtt_ns;		/* smoothed round-trip time, 0 if none */
	uint64_t rttvar_ns;		/* ... and its variation */
	uint64_t rto_ns;		/* the RTO now, backoff included */
	uint64_t rto_max_ns;		/* the longest a request waited out */
	uint64_t late;			/* replies to requests already retired
					 * (their timeout came too early) */
	uint64_t given_up;		/* ranges asked for no more (retries) */
	uint64_t pause_max_ns;		/* the longest a tick came past the
					 * reader's deadline: the client's own
					 * pauses (descheduled, stopped) */
	unsigned int cwnd;		/* requests it may have out now */
	unsigned int cwnd_min;		/* ... the fewest so far */
};

struct dgfs_reader;

/* NULL on a bad config or no memory. Sends nothing yet. */
struct dgfs_reader *dgfs_reader_create(const struct dgfs_reader_config *cfg);
void dgfs_reader_destroy(struct dgfs_reader *r);	/* NULL is fine */

/* Sends the first request. Returns the state. */
enum dgfs_read_state dgfs_reader_start(struct dgfs_reader *r, uint64_t now_ns);
/* One received datagram (any datagram). Returns the state. */
enum dgfs_read_state dgfs_reader_feed(struct dgfs_reader *r, const void *dgram,
				      size_t len, uint64_t now_ns);
/* Re-requests what timed out. Returns the state. */
enum dgfs_read_state dgfs_reader_tick(struct dgfs_reader *r, uint64_t now_ns);
/* When dgfs_reader_tick() next has work; UINT64_MAX if never. */
uint64_t dgfs_reader_deadline(const struct dgfs_reader *r);

enum dgfs_read_state dgfs_reader_state(const struct dgfs_reader *r);
/* With DGFS_READ_ERR_STATUS: the status; and the chunk size if known. */
unsigned int dgfs_reader_status(const struct dgfs_reader *r);
/* The chunk's size once a reply told it; -1 before. */
int64_t dgfs_reader_chunk_size(const struct dgfs_reader *r);
/* When done: the bytes read (NULL for none) and whether the SHA-256 was checked. */
const uint8_t *dgfs_reader_data(const struct dgfs_reader *r, uint64_t *len);
bool dgfs_reader_verified(const struct dgfs_reader *r);
void dgfs_reader_get_stats(const struct dgfs_reader *r, struct dgfs_reader_stats *st);

#endif /* DGFS_READER_H */
