// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the reader's socket loop (userspace/proto/net.c): a reader
 * that falls behind its socket must read what the socket holds before it
 * calls a request timed out. A datagram socket pair stands in for the
 * network (no traffic anywhere); the fake host answers each request into
 * the reader's socket at once, then keeps the reader away from it for
 * longer than the longest time-out, as a descheduled or busy client is.
 */

/* expect-checks: 7 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "proto/size.c"
#include "proto/dgfs_proto.c"
#include "proto/reader.c"
#include "proto/net.c"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "check.h"

#define MS		1000000ull
#define SIZE		8000	/* one request's worth */
#define PAYLOAD		1000	/* 8 datagrams: under a socket pair's queue limit */

static uint8_t content[SIZE];
static uint8_t content_id[32];
static int host_fd;		/* the fake host's end of the pair */
static unsigned int answered, lost_answers;
static uint64_t away_ns;	/* how long the reader is kept away after a send */

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000u, .tv_nsec = ns % 1000000000u };

	while (nanosleep(&ts, &ts))
		;
}

/* The reader's send callback: the host's whole answer, then time away. */
static int host_send(void *ctx, const uint8_t *wire, size_t len)
{
	struct dgfs_req rq;
	struct dgfs_reply_hdr h;
	uint8_t b[DGFS_READ_REPLY_HDR_LEN + PAYLOAD];
	uint64_t pos, end;

	(void)ctx;
	if (dgfs_req_decode(wire, len, DGFS_MAX_READ_LIMIT, &rq) != DGFS_WELLFORMED)
		return -1;
	memset(&h, 0, sizeof(h));
	h.req_id = rq.req_id;
	h.size = SIZE;
	h.total = rq.offset < SIZE ? (uint32_t)(rq.length < SIZE - rq.offset ?
						rq.length : SIZE - rq.offset) : 0;
	end = rq.offset + h.total;
	for (pos = rq.offset; pos < end; pos += PAYLOAD) {
		size_t n = end - pos < PAYLOAD ? end - pos : PAYLOAD;

		h.offset = pos;
		dgfs_reply_encode(&h, b);
		memcpy(b + DGFS_READ_REPLY_HDR_LEN, content + pos, n);
		/* A full queue loses the datagram, as a full buffer would. */
		if (send(host_fd, b, DGFS_READ_REPLY_HDR_LEN + n, MSG_DONTWAIT) < 0)
			lost_answers++;
	}
	answered++;
	sleep_ns(away_ns);
	return 0;
}

static int read_once(uint64_t away, struct dgfs_reader_stats *st, int *state)
{
	struct dgfs_reader_config cfg = {
		.req_size = SIZE,
		.window = 1,
		.timeout_ns = 50 * MS,
		.min_timeout_ns = 10 * MS,
		.retries = 3,
		.expiry = 1700000000,
		.req_id_seed = 0x99,
		.send = host_send,
	};
	struct dgfs_reader *r;
	unsigned int refused;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return -1;
	host_fd = sv[1];
	answered = lost_answers = 0;
	away_ns = away;
	memcpy(cfg.chunk, content_id, sizeof(cfg.chunk));
	r = dgfs_reader_create(&cfg);
	if (!r)
		return -1;
	*state = dgfs_net_read(sv[0], r, &refused);
	dgfs_reader_get_stats(r, st);
	dgfs_reader_destroy(r);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

int main(void)
{
	struct dgfs_reader_stats st;
	unsigned int i;
	int state = -1;

	if (sodium_init() < 0)
		return 1;
	for (i = 0; i < SIZE; i++)
		content[i] = (uint8_t)(i * 7 + 3);
	crypto_hash_sha256(content_id, content, SIZE);

	/* Control: a reader that is never kept away. */
	CHECK("net_read: a prompt reader reads the chunk",
	      !read_once(0, &st, &state) && state == DGFS_READ_DONE);
	CHECK("net_read: ... with one request and no time-out",
	      st.requests == 1 && st.timeouts == 0 && lost_answers == 0);

	/* Kept away three times the longest time-out after its request: the
	 * answer waits whole in its socket when it comes back.
	 */
	CHECK("net_read: a reader kept away past its time-out reads the chunk",
	      !read_once(150 * MS, &st, &state) && state == DGFS_READ_DONE);
	CHECK("net_read: ... from what waited in its socket, asking once",
	      st.requests == 1 && st.rerequests == 0 && answered == 1);
	CHECK("net_read: ... calling no request timed out", st.timeouts == 0);
	CHECK("net_read: ... with every datagram of the answer read once",
	      st.datagrams == SIZE / PAYLOAD && st.stray == 0 && st.dup_bytes == 0);
	CHECK("net_read: ... and no answer lost on the way", lost_answers == 0);
	return failures ? 1 : 0;
}
