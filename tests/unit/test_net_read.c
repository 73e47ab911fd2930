// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the reader's socket loop (userspace/proto/net.c): a reader
 * that falls behind its socket must read what the socket holds before it
 * calls a request timed out. A datagram socket pair stands in for the
 * network (no traffic anywhere); the fake host answers each request into
 * the reader's socket at once, then keeps the reader away from it for
 * longer than the longest time-out, as a descheduled or busy client is.
 *
 * Then a fake host in a thread of its own, on the other end of a socket
 * pair, that is slow but alive as dgfs.ko's ring is on a slow machine: it
 * answers every request it gets (given up on or not) in turns, a few
 * datagrams of one request, then of the next, at a steady pace, so a
 * request waits for its turn far longer than the read's budget while the
 * read as a whole moves all the time. And a host that never answers.
 */

/* expect-checks: 15 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "proto/size.c"
#include "proto/dgfs_proto.c"
#include "proto/reader.c"
#include "proto/net.c"

#include <pthread.h>
#include <stdatomic.h>
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

/* ---- a slow host in a thread ----------------------------------------------- */

#define SLOW_SIZE	(256 * 1000)	/* 8 requests of 32 datagrams */
#define SLOW_REQ	32000
#define SLOW_WINDOW	8
#define TURN		16		/* datagrams per turn */
#define PACE_NS		(5 * MS)	/* one datagram every 5 ms: a turn 80 ms */
#define BUDGET_NS	(300 * MS)	/* a request waits ~560 ms for its turn */
#define MAX_QUEUE	256

static uint8_t slow_content[SLOW_SIZE];
static uint8_t slow_id[32];

struct slow_host {
	int fd;
	bool answer;			/* false: a host that never answers */
	atomic_bool stop;
	unsigned int received, max_queue;
	struct { uint64_t req_id, start, pos, end; } q[MAX_QUEUE];
	unsigned int n, cur, in_turn;
};

/* One datagram of the current request's turn (blocking: a full socket
 * holds the host up, as a slow link would, and loses nothing).
 */
static void slow_send_one(struct slow_host *h)
{
	struct dgfs_reply_hdr rh;
	uint8_t b[DGFS_READ_REPLY_HDR_LEN + PAYLOAD];
	unsigned int c = h->cur % h->n;
	size_t len;

	memset(&rh, 0, sizeof(rh));
	rh.req_id = h->q[c].req_id;
	rh.size = SLOW_SIZE;
	rh.offset = h->q[c].pos;
	rh.total = (uint32_t)(h->q[c].end - h->q[c].start);
	len = h->q[c].end - rh.offset < PAYLOAD ? h->q[c].end - rh.offset : PAYLOAD;
	dgfs_reply_encode(&rh, b);
	memcpy(b + DGFS_READ_REPLY_HDR_LEN, slow_content + rh.offset, len);
	send(h->fd, b, DGFS_READ_REPLY_HDR_LEN + len, 0);
	h->q[c].pos += len;
	if (h->q[c].pos >= h->q[c].end) {	/* answered whole: out of the queue */
		memmove(&h->q[c], &h->q[c + 1], (h->n - c - 1) * sizeof(h->q[0]));
		h->n--;
		h->cur = c;
		h->in_turn = 0;
	} else if (++h->in_turn == TURN) {	/* turn over: the next request's */
		h->cur = c + 1;
		h->in_turn = 0;
	} else {
		h->cur = c;
	}
}

static void *slow_host_main(void *arg)
{
	struct slow_host *h = arg;
	uint64_t next = dgfs_now_ns();

	while (!atomic_load(&h->stop)) {
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
		uint64_t now = dgfs_now_ns();
		uint8_t wire[256];
		ssize_t n;

		/* Take every request waiting; then the next datagram when due. */
		poll(&pfd, 1, h->n && next > now ? (int)((next - now) / MS) + 1 : 10);
		while ((n = recv(h->fd, wire, sizeof(wire), MSG_DONTWAIT)) > 0) {
			struct dgfs_req rq;

			if (dgfs_req_decode(wire, (size_t)n, DGFS_MAX_READ_LIMIT, &rq) !=
			    DGFS_WELLFORMED || !h->answer || h->n == MAX_QUEUE)
				continue;
			h->received++;
			h->q[h->n].req_id = rq.req_id;
			h->q[h->n].start = h->q[h->n].pos = rq.offset;
			h->q[h->n].end = rq.offset + rq.length < SLOW_SIZE ?
					 rq.offset + rq.length : SLOW_SIZE;
			if (++h->n > h->max_queue)
				h->max_queue = h->n;
		}
		if (!h->n) {
			next = dgfs_now_ns();
			continue;
		}
		if (dgfs_now_ns() < next)
			continue;
		next += PACE_NS;
		slow_send_one(h);
	}
	return NULL;
}

/*
 * Reads the slow chunk from @h with the budget BUDGET_NS; returns the
 * state, the reader's stats and the time it took.
 */
static int slow_read(struct slow_host *h, struct dgfs_reader_stats *st, uint64_t *took)
{
	struct dgfs_reader_config cfg = {
		.req_size = SLOW_REQ,
		.window = SLOW_WINDOW,
		.timeout_ns = BUDGET_NS,
		.min_timeout_ns = 10 * MS,
		.retries = 8,
		.expiry = 1700000000,
		.send = dgfs_net_send,
	};
	struct dgfs_reader *r;
	unsigned int refused;
	pthread_t th;
	int sv[2], state = -1;
	uint64_t t0;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return -1;
	h->fd = sv[1];
	atomic_store(&h->stop, false);
	memcpy(cfg.chunk, slow_id, sizeof(cfg.chunk));
	randombytes_buf(&cfg.req_id_seed, sizeof(cfg.req_id_seed));
	cfg.send_ctx = &sv[0];
	r = dgfs_reader_create(&cfg);
	if (r && !pthread_create(&th, NULL, slow_host_main, h)) {
		t0 = dgfs_now_ns();
		state = dgfs_net_read(sv[0], r, &refused);
		*took = dgfs_now_ns() - t0;
		dgfs_reader_get_stats(r, st);
		if (state == DGFS_READ_DONE) {
			uint64_t len;
			const uint8_t *d = dgfs_reader_data(r, &len);

			if (len != SLOW_SIZE || memcmp(d, slow_content, SLOW_SIZE) ||
			    !dgfs_reader_verified(r))
				state = -2;
		}
		atomic_store(&h->stop, true);
		close(sv[0]);		/* a host blocked in send() gets an error */
		pthread_join(th, NULL);
	}
	dgfs_reader_destroy(r);
	close(sv[1]);
	return state;
}

static void test_slow_host(void)
{
	static struct slow_host h;
	struct dgfs_reader_stats st;
	uint64_t took = 0;
	int state;

	memset(&h, 0, sizeof(h));
	h.answer = true;
	state = slow_read(&h, &st, &took);
	printf("slow host: %s (%d) in %llu ms; %llu requests (%llu again), %llu timeouts, "
	       "%llu late, srtt %llu ms, RTO %llu ms, the host's queue up to %u\n",
	       state == DGFS_READ_DONE ? "done" : "failed", state, (unsigned long long)(took / MS),
	       (unsigned long long)st.requests, (unsigned long long)st.rerequests,
	       (unsigned long long)st.timeouts, (unsigned long long)st.late,
	       (unsigned long long)(st.srtt_ns / MS), (unsigned long long)(st.rto_ns / MS),
	       h.max_queue);
	CHECK("net_read: a host slower per request than the budget, steady per read: "
	      "the chunk, verified", state == DGFS_READ_DONE);
	/* 8 requests would do: a window's worth again at most. */
	CHECK("net_read: ... with at most a window of re-requests",
	      st.rerequests <= SLOW_WINDOW && h.received == st.requests);
	CHECK("net_read: ... so the host's queue stays within two windows",
	      h.max_queue <= 2 * SLOW_WINDOW);
	CHECK("net_read: ... its RTO grown past the budget", st.rto_ns > BUDGET_NS);
}

static void test_silent_host(void)
{
	static struct slow_host h;
	struct dgfs_reader_stats st;
	uint64_t took = 0;
	int state;

	memset(&h, 0, sizeof(h));
	h.answer = false;
	state = slow_read(&h, &st, &took);
	printf("silent host: gave up after %llu ms, %llu requests\n",
	       (unsigned long long)(took / MS), (unsigned long long)st.requests);
	CHECK("net_read: a host that never answers: timed out",
	      state == DGFS_READ_ERR_TIMEOUT && st.datagrams == 0);
	/* The documented bound: the budget, then the read ends (with room for
	 * a loaded machine's scheduling).
	 */
	CHECK("net_read: ... not before the budget", took >= BUDGET_NS);
	CHECK("net_read: ... nor long after it", took < 2 * BUDGET_NS + 500 * MS);
	/* A quarter of the budget, doubling: asked at 0, 1/4 and 3/4 of it. */
	CHECK("net_read: ... asking at most three times", st.requests <= 3);
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
	for (i = 0; i < SLOW_SIZE; i++)
		slow_content[i] = (uint8_t)(i * 13 + 5);
	crypto_hash_sha256(slow_id, slow_content, SLOW_SIZE);

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

	test_slow_host();
	test_silent_host();
	return failures ? 1 : 0;
}
