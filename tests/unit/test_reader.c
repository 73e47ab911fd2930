// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the windowed reader (userspace/proto/reader.c), with no
 * network: the send callback collects requests, a fake host in this file
 * answers them as datagrams, and the test decides which datagrams arrive,
 * in which order, how often, and what time it is.
 */

/* expect-checks: 89 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "proto/size.c"
#include "proto/dgfs_proto.c"
#include "proto/reader.c"

#include <stdio.h>
#include <string.h>

#include "check.h"

#define MS		1000000ull
#define MAX_REQS	8192
#define MAX_DGRAMS	20000
#define PAYLOAD		1000	/* the fake host's datagram payload */

/* ---- the fake host ------------------------------------------------------ */

static uint8_t content[300000];
static uint32_t content_size;
static uint8_t content_id[32];

static struct dgfs_req sent[MAX_REQS];
static unsigned int nsent, taken;	/* requests sent; answered so far */
static uint64_t sent_time[MAX_REQS];	/* clock_now when each was sent */
static uint64_t clock_now;		/* set by tests that want sent_time */

struct dgram {
	size_t len;
	uint8_t b[DGFS_READ_REPLY_HDR_LEN + PAYLOAD];
};
static struct dgram dg[MAX_DGRAMS];
static unsigned int ndg;

static int send_cb(void *ctx, const uint8_t *req, size_t len)
{
	(void)ctx;
	if (len != DGFS_READ_REQ_LEN || nsent == MAX_REQS ||
	    dgfs_req_decode(req, len, DGFS_MAX_READ_LIMIT, &sent[nsent]) != DGFS_WELLFORMED)
		return -1;
	sent_time[nsent++] = clock_now;
	return 0;
}

static void host_set(uint32_t size)
{
	uint32_t i, x = 12345;

	content_size = size;
	for (i = 0; i < size; i++) {
		x = x * 1103515245 + 12345;
		content[i] = (uint8_t)(x >> 16);
	}
	crypto_hash_sha256(content_id, content, size);
}

static void put_status(const struct dgfs_req *rq, uint16_t status, uint32_t size)
{
	struct dgfs_reply_hdr h = { .status = status, .req_id = rq->req_id, .size = size };

	dgfs_reply_encode(&h, dg[ndg].b);
	dg[ndg++].len = DGFS_READ_REPLY_HDR_LEN;
}

/* The host's answer to one request, appended to dg[]. */
static void host_answer(const struct dgfs_req *rq)
{
	struct dgfs_reply_hdr h = { .req_id = rq->req_id, .size = content_size };
	uint64_t pos, end;

	if (rq->offset >= content_size) {
		put_status(rq, DGFS_STATUS_RANGE, content_size);
		return;
	}
	h.total = (uint32_t)(rq->length < content_size - rq->offset ? rq->length
							      : content_size - rq->offset);
	end = rq->offset + h.total;
	for (pos = rq->offset; pos < end; pos += PAYLOAD) {
		size_t n = end - pos < PAYLOAD ? end - pos : PAYLOAD;

		h.offset = pos;
		dgfs_reply_encode(&h, dg[ndg].b);
		memcpy(dg[ndg].b + DGFS_READ_REPLY_HDR_LEN, content + pos, n);
		dg[ndg++].len = DGFS_READ_REPLY_HDR_LEN + n;
	}
}

/* Answers every request not answered yet; returns the datagram count. */
static unsigned int host_answer_all(void)
{
	ndg = 0;
	for (; taken < nsent; taken++)
		host_answer(&sent[taken]);
	return ndg;
}

/* ---- helpers --------------------------------------------------------------- */

static struct dgfs_reader_config base_config(void)
{
	struct dgfs_reader_config cfg = {
		.req_size = 8000,
		.window = 4,
		.timeout_ns = 10000 * MS,	/* the budget */
		.min_timeout_ns = 10 * MS,
		.retries = 3,
		.expiry = 1700000000,
		.req_id_seed = 0x1234,
		.send = send_cb,
	};

	memcpy(cfg.chunk, content_id, sizeof(cfg.chunk));
	memset(cfg.token, 0xab, sizeof(cfg.token));
	return cfg;
}

static struct dgfs_reader *reader_new(const struct dgfs_reader_config *cfg, uint64_t now)
{
	struct dgfs_reader *r;

	nsent = taken = 0;
	r = dgfs_reader_create(cfg);
	if (r)
		dgfs_reader_start(r, now);
	return r;
}

/* Feeds dg[] in order, each datagram @copies times. */
static enum dgfs_read_state feed_all(struct dgfs_reader *r, unsigned int n, int copies,
				     uint64_t now)
{
	unsigned int i;
	int c;

	for (i = 0; i < n; i++)
		for (c = 0; c < copies; c++)
			dgfs_reader_feed(r, dg[i].b, dg[i].len, now);
	return dgfs_reader_state(r);
}

/* Runs to the end: answer, feed; at most @rounds rounds. */
static enum dgfs_read_state run(struct dgfs_reader *r, uint64_t *now, int rounds)
{
	while (rounds-- > 0 && dgfs_reader_state(r) == DGFS_READ_RUNNING) {
		unsigned int n = host_answer_all();

		*now += MS;
		feed_all(r, n, 1, *now);
		if (!n) {
			*now += 1000 * MS;
			dgfs_reader_tick(r, *now);
		}
	}
	return dgfs_reader_state(r);
}

static bool data_is(struct dgfs_reader *r, uint64_t off, uint64_t len)
{
	uint64_t got;
	const uint8_t *d = dgfs_reader_data(r, &got);

	return got == len && (!len || (d && !memcmp(d, content + off, len)));
}

/* ---- the tests ------------------------------------------------------------ */

static void test_in_order(void)
{
	struct dgfs_reader_config cfg;
	struct dgfs_reader *r;
	uint64_t now = 1000 * MS;
	unsigned int i, max_out = 0, n;

	host_set(100000);
	cfg = base_config();
	r = reader_new(&cfg, now);
	CHECK("reader: created", r != NULL);
	CHECK("reader: one request until the size is known", nsent == 1);
	CHECK("reader: the first request asks req_size at the offset",
	      sent[0].offset == 0 && sent[0].length == 8000 && sent[0].expiry == 1700000000 &&
	      sent[0].token[0] == 0xab && !memcmp(sent[0].chunk, content_id, 32));
	while (dgfs_reader_state(r) == DGFS_READ_RUNNING) {
		if (nsent - taken > max_out)
			max_out = nsent - taken;
		n = host_answer_all();
		if (!n)
			break;
		feed_all(r, n, 1, now += MS);
	}
	CHECK("reader: in-order read completes", dgfs_reader_state(r) == DGFS_READ_DONE);
	CHECK("reader: whole chunk verified", dgfs_reader_verified(r));
	CHECK("reader: data right", data_is(r, 0, 100000));
	CHECK("reader: never more than the window outstanding", max_out <= 4 && max_out >= 1);
	CHECK("reader: 13 requests of at most 8000 bytes", nsent == 13);
	for (i = 1, n = 1; i < nsent; i++)
		n &= sent[i].length <= 8000 && sent[i].offset == sent[i - 1].offset + 8000;
	CHECK("reader: requests tile the chunk", n);
	for (i = 1, n = 1; i < nsent; i++)
		n &= sent[i].req_id != sent[i - 1].req_id;
	CHECK("reader: every request has its own id", n);
	CHECK("reader: size known", dgfs_reader_chunk_size(r) == 100000);
	dgfs_reader_destroy(r);
}

static void test_out_of_order_and_duplicates(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	uint64_t now = 0;
	unsigned int n, i;

	host_set(100000);
	cfg = base_config();
	cfg.window = 16;
	r = reader_new(&cfg, now);
	while (dgfs_reader_state(r) == DGFS_READ_RUNNING) {
		n = host_answer_all();
		if (!n)
			break;
		/* Backwards, and everything twice. */
		for (i = n; i-- > 0;) {
			dgfs_reader_feed(r, dg[i].b, dg[i].len, now);
			dgfs_reader_feed(r, dg[i].b, dg[i].len, now);
		}
		now += MS;
	}
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: reversed, duplicated datagrams still complete",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 100000));
	CHECK("reader: duplicates ignored but seen (no re-request)",
	      st.rerequests == 0 && st.timeouts == 0);
	dgfs_reader_destroy(r);

	/* Interleaved across requests: shuffle one round's datagrams. */
	host_set(100000);
	r = reader_new(&cfg, now);
	n = host_answer_all();
	feed_all(r, n, 1, now += MS);	/* the size */
	n = host_answer_all();
	for (i = 0; i + 1 < n; i += 2) {
		struct dgram t = dg[i];

		dg[i] = dg[n - 1 - i];
		dg[n - 1 - i] = t;
	}
	feed_all(r, n, 1, now += MS);
	run(r, &now, 20);
	CHECK("reader: datagrams shuffled across requests complete",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 100000));
	dgfs_reader_destroy(r);
}

static void test_overlap(void)
{
	struct dgfs_reader_config cfg;
	struct dgfs_reader_stats st;
	struct dgfs_reply_hdr h;
	struct dgfs_reader *r;
	struct dgram evil;
	uint64_t now = 0;
	unsigned int n;

	/* A datagram over bytes already received, with other bytes: the
	 * first arrival stays (the hash taken on the way covers it).
	 */
	host_set(100000);
	cfg = base_config();
	r = reader_new(&cfg, now);
	n = host_answer_all();
	feed_all(r, 4, 1, now);		/* [0, 4000) of the first request */
	evil = dg[1];
	dgfs_reply_decode(evil.b, evil.len, &h);
	h.offset = 500;
	dgfs_reply_encode(&h, evil.b);
	memset(evil.b + DGFS_READ_REPLY_HDR_LEN, 0xee, PAYLOAD);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	feed_all(r, n, 1, now);
	run(r, &now, 30);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: overlapping datagrams keep the first bytes",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 100000) &&
	      dgfs_reader_verified(r) && st.dup_bytes == 1000 + 4000);
	dgfs_reader_destroy(r);

	/* Overlapping partly: only the new part is taken. Datagrams of
	 * 1000 at 0, 1000, ...; then one of 1000 at 1500 covering 1500..2500
	 * where only 2000..2500 is new, with the right bytes.
	 */
	host_set(20000);
	cfg = base_config();
	r = reader_new(&cfg, now);
	n = host_answer_all();
	feed_all(r, 2, 1, now);		/* [0, 2000) */
	evil = dg[1];
	dgfs_reply_decode(evil.b, evil.len, &h);
	h.offset = 1500;
	dgfs_reply_encode(&h, evil.b);
	memcpy(evil.b + DGFS_READ_REPLY_HDR_LEN, content + 1500, PAYLOAD);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: a partly new datagram counts its new bytes only", st.dup_bytes == 500);
	feed_all(r, n, 1, now);
	run(r, &now, 30);
	CHECK("reader: ... and the read completes", dgfs_reader_state(r) == DGFS_READ_DONE &&
	      data_is(r, 0, 20000) && dgfs_reader_verified(r));
	dgfs_reader_destroy(r);
}

static void test_loss(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	uint64_t now = 0, asked = 0, lost = 0;
	unsigned int n, i, before;
	bool holes_only = true;

	host_set(100000);
	cfg = base_config();
	cfg.window = 16;
	r = reader_new(&cfg, now);
	n = host_answer_all();
	feed_all(r, n, 1, now += MS);
	n = host_answer_all();
	/* Lose every 7th datagram of the rest. */
	for (i = 0; i < n; i++) {
		if (i % 7 == 3)
			lost += dg[i].len - DGFS_READ_REPLY_HDR_LEN;
		else
			dgfs_reader_feed(r, dg[i].b, dg[i].len, now);
	}
	CHECK("reader: with losses it is still running", dgfs_reader_state(r) == DGFS_READ_RUNNING);
	before = nsent;
	dgfs_reader_tick(r, now + 5 * MS);
	CHECK("reader: nothing re-requested before the timeout", nsent == before);
	CHECK("reader: the deadline is within the longest timeout",
	      dgfs_reader_deadline(r) <= now + 200 * MS);
	now += 200 * MS;
	dgfs_reader_tick(r, now);
	CHECK("reader: re-requests after the timeout", nsent > before);
	/* The loss halved the window: the holes go 8 at a time. */
	CHECK("reader: ... at most half the window of them at once", nsent - before == 8);
	run(r, &now, 50);
	for (i = before; i < nsent; i++) {
		asked += sent[i].length;
		/* A hole is exactly one lost datagram here. */
		holes_only &= sent[i].length <= PAYLOAD && sent[i].offset % PAYLOAD == 0;
	}
	CHECK("reader: only the holes are asked for again", holes_only && asked == lost);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: lost datagrams recovered", dgfs_reader_state(r) == DGFS_READ_DONE &&
	      data_is(r, 0, 100000) && dgfs_reader_verified(r));
	CHECK("reader: the re-requests were counted", st.rerequests == nsent - 13 && st.timeouts > 0);
	dgfs_reader_destroy(r);

	/* A lost request: the whole of it comes again. */
	host_set(20000);
	cfg = base_config();
	r = reader_new(&cfg, now);
	taken = nsent;		/* the first request vanishes */
	now += 1000 * MS;	/* RFC 6298's first RTO: nothing measured yet */
	dgfs_reader_tick(r, now);
	CHECK("reader: a lost first request is sent again",
	      nsent == 2 && sent[1].offset == 0 && sent[1].length == 8000 &&
	      sent[1].req_id != sent[0].req_id);
	run(r, &now, 20);
	CHECK("reader: ... and the read completes", dgfs_reader_state(r) == DGFS_READ_DONE &&
	      data_is(r, 0, 20000));
	dgfs_reader_destroy(r);
}

/* Ticks at each deadline until the read ends or @limit ticks; returns when
 * it ended (or the last tick).
 */
static uint64_t tick_through(struct dgfs_reader *r, uint64_t now, int limit)
{
	while (limit-- > 0 && dgfs_reader_state(r) == DGFS_READ_RUNNING) {
		clock_now = now = dgfs_reader_deadline(r);
		dgfs_reader_tick(r, now);
	}
	return now;
}

static void test_timeout(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	uint64_t now = 0, t0, end;
	int i;

	/* A silent host: tries at 0, 1, 3 and 7 s (1 s doubling, no round trip
	 * measured), the next would be at 15 s; the read fails when the budget
	 * of 10 s without a byte is spent, not before.
	 */
	host_set(20000);
	cfg = base_config();
	cfg.retries = 3;
	clock_now = t0 = now;
	r = reader_new(&cfg, t0);
	end = tick_through(r, t0, 20);
	CHECK("reader: a silent host times out", dgfs_reader_state(r) == DGFS_READ_ERR_TIMEOUT);
	CHECK("reader: ... when the budget is spent, not before", end == t0 + 10000 * MS);
	CHECK("reader: ... asking 1 + 3 times, each wait twice the last",
	      nsent == 4 && sent[1].offset == 0 && sent[3].length == 8000 &&
	      sent_time[1] == t0 + 1000 * MS && sent_time[2] == t0 + 3000 * MS &&
	      sent_time[3] == t0 + 7000 * MS);
	CHECK("reader: no deadline once failed", dgfs_reader_deadline(r) == UINT64_MAX);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: ticks on time: no pause of the client's own", st.pause_max_ns == 0);
	dgfs_reader_destroy(r);

	/* A client that wakes 3 s after its deadline (1 s) says so. */
	r = reader_new(&cfg, t0 = now);
	dgfs_reader_tick(r, t0 + 4000 * MS);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: a tick 3 s past the deadline is a pause of 3 s",
	      st.pause_max_ns == 3000 * MS);
	dgfs_reader_destroy(r);

	/* Retries spent before the budget: asks no more, and waits. */
	cfg.retries = 1;
	r = reader_new(&cfg, t0 = now);
	tick_through(r, t0, 2);		/* 1 s: again; 3 s: spent */
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: retries spent: the range is asked for no more",
	      dgfs_reader_state(r) == DGFS_READ_RUNNING && nsent == 2 && st.given_up == 1 &&
	      dgfs_reader_deadline(r) == t0 + 10000 * MS);
	/* ... but its last request's answer is still taken, and ends the wait. */
	host_answer(&sent[1]);
	ndg = 0;
	host_answer(&sent[1]);
	feed_all(r, ndg, 1, now = t0 + 9000 * MS);
	run(r, &now, 20);
	CHECK("reader: ... and a late answer to it still completes the read",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 20000));
	dgfs_reader_destroy(r);

	/* Progress restarts the count: with no retries at all, a host that
	 * loses the second half of every answer still gets there, because
	 * every try brings something.
	 */
	host_set(100000);
	cfg = base_config();
	cfg.retries = 0;
	cfg.window = 8;
	r = reader_new(&cfg, now);
	for (i = 0; i < 200 && dgfs_reader_state(r) == DGFS_READ_RUNNING; i++) {
		for (; taken < nsent && dgfs_reader_state(r) == DGFS_READ_RUNNING; taken++) {
			ndg = 0;
			host_answer(&sent[taken]);
			feed_all(r, (ndg + 1) / 2, 1, now);
		}
		now += 2000 * MS;
		dgfs_reader_tick(r, now);
	}
	CHECK("reader: half of every answer lost, no retries, still complete",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 100000));
	dgfs_reader_destroy(r);
}

/*
 * Reads from one host share when its last new byte came (get's jobs): a
 * read waiting its turn while the host serves another is not silent.
 * Nothing comes for this read; another read's bytes come every second for
 * 12 s, past the 10 s budget. Without the shared time the read fails at
 * 10 s; with it, a budget after the host's last byte.
 */
static void test_host_progress(void)
{
	struct dgfs_reader_config cfg = base_config();
	enum dgfs_read_state at_11s[2];
	_Atomic uint64_t host = 0;
	struct dgfs_reader *r;
	int shared, s;

	host_set(20000);
	for (shared = 0; shared < 2; shared++) {
		atomic_store(&host, 0);
		cfg.host_progress = shared ? &host : NULL;
		r = reader_new(&cfg, 0);
		for (s = 1; s <= 12; s++) {
			atomic_store(&host, s * 1000 * MS);	/* the other read's byte */
			dgfs_reader_tick(r, s * 1000 * MS + 500 * MS);
			if (s == 11)
				at_11s[shared] = dgfs_reader_state(r);
		}
		if (!shared) {
			dgfs_reader_destroy(r);
			continue;
		}
		CHECK("reader: a read waiting its turn lives on while the host serves another",
		      at_11s[1] == DGFS_READ_RUNNING && at_11s[0] == DGFS_READ_ERR_TIMEOUT);
		CHECK("reader: ... its deadline is a budget after the host's last byte",
		      dgfs_reader_deadline(r) <= 22000 * MS);
		dgfs_reader_tick(r, 22000 * MS - 1);
		CHECK("reader: ... and it still waits just before",
		      dgfs_reader_state(r) == DGFS_READ_RUNNING);
		dgfs_reader_tick(r, 22000 * MS);
		CHECK("reader: ... then times out when the host has said nothing for the budget",
		      dgfs_reader_state(r) == DGFS_READ_ERR_TIMEOUT);
		dgfs_reader_destroy(r);
	}
}

static void test_adaptive_timeout(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	uint64_t now = 0, sent_at;
	unsigned int n, before;

	host_set(100000);
	cfg = base_config();
	cfg.window = 2;
	r = reader_new(&cfg, now);
	n = host_answer_all();
	feed_all(r, n, 1, now += MS);	/* the size; not timed */
	n = host_answer_all();
	feed_all(r, n, 1, now += MS);	/* round trips of 1 ms */
	sent_at = now;			/* two more requests out, both lost */
	taken = nsent;
	CHECK("reader: fast replies shorten the timeout to its floor",
	      dgfs_reader_deadline(r) == now + 10 * MS);
	before = nsent;
	now += 10 * MS;
	dgfs_reader_tick(r, now);
	dgfs_reader_get_stats(r, &st);
	/* The first times out; the estimate proved short, so the other,
	 * sent in the same round, now waits twice as long.
	 */
	CHECK("reader: a timeout doubles the RTO of the rest",
	      st.timeouts == 1 && st.rto_ns == 20 * MS &&
	      dgfs_reader_deadline(r) == sent_at + 20 * MS);
	now = sent_at + 20 * MS;
	dgfs_reader_tick(r, now);
	/* Both timed out; the loss leaves a window of one: one re-request. */
	CHECK("reader: ... and re-requests come then", nsent == before + 1);
	CHECK("reader: a fruitless retry waits twice the RTO (once per timeout)",
	      dgfs_reader_deadline(r) == now + 20 * MS);
	/* Its answer is a fresh round trip: the backoff ends (RFC 6298: the RTO
	 * is computed afresh from it), and a new request waits the floor again.
	 */
	n = host_answer_all();
	feed_all(r, n, 1, now += MS);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: a fresh sample ends the backoff",
	      dgfs_reader_state(r) == DGFS_READ_RUNNING && st.rto_ns == 10 * MS &&
	      dgfs_reader_deadline(r) == now + 10 * MS);
	dgfs_reader_destroy(r);
}

/*
 * A host that is slow but alive, served as dgfs.ko's ring serves a queue:
 * one request at a time in turns of @turn datagrams, one datagram every
 * @per ns, and every request asked is answered to its end, given up on or
 * not. A request waits its turn for longer than any fixed short timeout;
 * the read as a whole moves all the time.
 */
struct turns {
	unsigned int q[MAX_REQS];	/* requests being answered: index in sent[] */
	uint64_t pos[MAX_REQS];		/* ... the next byte of each */
	unsigned int n, cur;
};

static void turns_take(struct turns *t)
{
	for (; taken < nsent && t->n < MAX_REQS; taken++) {
		t->q[t->n] = taken;
		t->pos[t->n++] = sent[taken].offset;
	}
}

/* One datagram of the current turn into dg[0]; false when idle. */
static bool turns_next(struct turns *t, unsigned int turn, unsigned int *in_turn)
{
	const struct dgfs_req *rq;
	struct dgfs_reply_hdr h;
	uint64_t end;
	size_t len;

	if (!t->n)
		return false;
	t->cur %= t->n;
	rq = &sent[t->q[t->cur]];
	end = rq->offset + rq->length < content_size ? rq->offset + rq->length : content_size;
	h = (struct dgfs_reply_hdr){ .req_id = rq->req_id, .size = content_size,
				     .total = (uint32_t)(end - rq->offset),
				     .offset = t->pos[t->cur] };
	len = end - h.offset < PAYLOAD ? end - h.offset : PAYLOAD;
	dgfs_reply_encode(&h, dg[0].b);
	memcpy(dg[0].b + DGFS_READ_REPLY_HDR_LEN, content + h.offset, len);
	dg[0].len = DGFS_READ_REPLY_HDR_LEN + len;
	t->pos[t->cur] += len;
	if (t->pos[t->cur] >= end) {		/* done: out of the queue */
		memmove(&t->q[t->cur], &t->q[t->cur + 1], (t->n - t->cur - 1) * sizeof(t->q[0]));
		memmove(&t->pos[t->cur], &t->pos[t->cur + 1],
			(t->n - t->cur - 1) * sizeof(t->pos[0]));
		t->n--;
		*in_turn = 0;
	} else if (++*in_turn == turn) {	/* turn over: the next one */
		t->cur++;
		*in_turn = 0;
	}
	return true;
}

/* Runs the read against the slow host; returns the state, @maxq the
 * longest queue the host had.
 */
static enum dgfs_read_state run_turns(struct dgfs_reader *r, uint64_t *now, unsigned int turn,
				      uint64_t per, unsigned int *maxq)
{
	static struct turns t;
	unsigned int in_turn = 0;

	memset(&t, 0, sizeof(t));
	*maxq = 0;
	while (dgfs_reader_state(r) == DGFS_READ_RUNNING && *now < 3600000 * MS) {
		uint64_t next = *now + per, at = dgfs_reader_deadline(r);

		turns_take(&t);
		if (t.n > *maxq)
			*maxq = t.n;
		if (at <= next) {
			*now = at > *now ? at : *now;
			dgfs_reader_tick(r, *now);
			continue;
		}
		*now = next;
		if (turns_next(&t, turn, &in_turn))
			dgfs_reader_feed(r, dg[0].b, dg[0].len, *now);
	}
	return dgfs_reader_state(r);
}

/* Answers each request whole @delay after it was sent; the state. */
static enum dgfs_read_state run_delayed(struct dgfs_reader *r, uint64_t *now, uint64_t delay)
{
	while (dgfs_reader_state(r) == DGFS_READ_RUNNING && *now < 3600000 * MS) {
		uint64_t at = dgfs_reader_deadline(r);

		if (taken < nsent && sent_time[taken] + delay <= at) {
			clock_now = *now = sent_time[taken] + delay;
			ndg = 0;
			host_answer(&sent[taken++]);
			feed_all(r, ndg, 1, *now);
		} else {
			clock_now = *now = at;
			dgfs_reader_tick(r, *now);
		}
	}
	return dgfs_reader_state(r);
}

static void test_slow_host(void)
{
	struct dgfs_reader_config cfg;
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	uint64_t now = 0;
	unsigned int maxq;

	/* dgfs.ko on the debug kernel, scaled down: 8 requests of 32 KB in
	 * turns of 8 KB at 1 MB/s, so each request gets a turn every 64 ms
	 * and the first datagram of the last one comes after 56 ms. With a
	 * budget of 40 ms no request could be answered within it; the read,
	 * getting a datagram every millisecond, moves all the time.
	 */
	host_set(300000);
	cfg = base_config();
	cfg.req_size = 32000;
	cfg.window = 8;
	cfg.timeout_ns = 40 * MS;
	cfg.min_timeout_ns = 1 * MS;
	cfg.retries = 8;
	r = reader_new(&cfg, now);
	run_turns(r, &now, 8, MS, &maxq);
	dgfs_reader_get_stats(r, &st);
	printf("slow host: %s in %llu ms, %llu requests (%llu again), %llu timeouts, "
	       "%llu late, srtt %llu ms, longest RTO %llu ms, queue up to %u\n",
	       dgfs_reader_state(r) == DGFS_READ_DONE ? "done" : "failed",
	       (unsigned long long)(now / MS), (unsigned long long)st.requests,
	       (unsigned long long)st.rerequests, (unsigned long long)st.timeouts,
	       (unsigned long long)st.late, (unsigned long long)(st.srtt_ns / MS),
	       (unsigned long long)(st.rto_max_ns / MS), maxq);
	CHECK("reader: a host slower per request than the budget, steady per read: done",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 300000) &&
	      dgfs_reader_verified(r));
	/* 10 requests would do; the host is not buried under re-requests. */
	CHECK("reader: ... with few re-requests", st.rerequests <= 10);
	CHECK("reader: ... and a short queue at the host", maxq <= 2 * cfg.window);
	CHECK("reader: ... its RTO grown past the budget", st.rto_ns > 40 * MS);
	dgfs_reader_destroy(r);

	/* Every answer 1.5 s late, past the first RTO (1 s): the first request
	 * is asked again once, then the measured round trips set the RTO.
	 */
	host_set(100000);
	cfg = base_config();
	clock_now = now = 0;
	r = reader_new(&cfg, now);
	run_delayed(r, &now, 1500 * MS);
	dgfs_reader_get_stats(r, &st);
	printf("answers 1.5 s late: %s in %llu ms, %llu requests (%llu again), %llu late, "
	       "srtt %llu ms, RTO %llu ms\n",
	       dgfs_reader_state(r) == DGFS_READ_DONE ? "done" : "failed",
	       (unsigned long long)(now / MS), (unsigned long long)st.requests,
	       (unsigned long long)st.rerequests, (unsigned long long)st.late,
	       (unsigned long long)(st.srtt_ns / MS), (unsigned long long)(st.rto_ns / MS));
	CHECK("reader: every answer later than the first RTO: done",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 100000));
	CHECK("reader: ... asking again only until a round trip was measured",
	      st.rerequests <= 2 && st.srtt_ns == 1500 * MS && st.rto_ns > 1500 * MS);
	dgfs_reader_destroy(r);
	clock_now = 0;
}

/* A request given up on too early: its late answer counts, checked. */
static void test_late_answer(void)
{
	struct dgfs_reader_config cfg;
	struct dgfs_reader_stats st;
	struct dgfs_reply_hdr h;
	struct dgfs_reader *r;
	struct dgram evil;
	uint64_t now = 0;
	unsigned int n, first;

	host_set(16000);			/* two requests */
	cfg = base_config();
	r = reader_new(&cfg, now);
	feed_all(r, host_answer_all(), 1, now += MS);	/* the size; [8000, 16000) out */
	first = nsent - 1;
	now += 2000 * MS;
	dgfs_reader_tick(r, now);		/* given up on: asked again */
	CHECK("reader: a silent request is asked again",
	      nsent == first + 2 && sent[first + 1].offset == 8000);
	/* Now the first answer comes after all, and a forged datagram under
	 * its id for bytes it did not ask for.
	 */
	ndg = 0;
	host_answer(&sent[first]);
	n = ndg;
	evil = dg[0];
	dgfs_reply_decode(evil.b, evil.len, &h);
	h.offset = 3000;			/* before the request's start */
	dgfs_reply_encode(&h, evil.b);
	memset(evil.b + DGFS_READ_REPLY_HDR_LEN, 0xee, PAYLOAD);
	dgfs_reader_feed(r, evil.b, evil.len, now += MS);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: a late answer is checked against its request as any",
	      st.misfit == 1 && st.late == 1 && dgfs_reader_state(r) == DGFS_READ_RUNNING);
	feed_all(r, n, 1, now);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: ... and its bytes count: the read is done without the re-request's",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 16000) &&
	      dgfs_reader_verified(r) && st.late == 1 && st.stray == 0);
	dgfs_reader_destroy(r);

	/* A late answer that fills what a re-request asks: that one is done. */
	host_set(32000);
	cfg = base_config();
	cfg.window = 2;
	r = reader_new(&cfg, now);
	feed_all(r, host_answer_all(), 1, now += MS);	/* [8000, 24000) out */
	first = nsent - 2;
	taken = nsent;
	now += 2000 * MS;
	dgfs_reader_tick(r, now);		/* both given up on; one asked again */
	ndg = 0;
	host_answer(&sent[first]);		/* the late answer of [8000, 16000) */
	host_answer(&sent[first + 1]);		/* ... and of [16000, 24000) */
	feed_all(r, ndg, 1, now += MS);
	run(r, &now, 10);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: a re-request whose bytes came late anyway completes",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 32000) && st.late == 2);
	dgfs_reader_destroy(r);
}

/* A request behind another that is being answered waits its turn. */
static void test_waits_its_turn(void)
{
	struct dgfs_reader_config cfg;
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	uint64_t now = 0;
	unsigned int i, first;

	host_set(24000);
	cfg = base_config();
	cfg.window = 2;
	r = reader_new(&cfg, now);
	feed_all(r, host_answer_all(), 1, now += MS);	/* [8000, 24000) out */
	first = nsent - 2;
	/* The first comes a datagram every 600 ms, past the 1 s RTO twice
	 * over in all; the second, queued behind it, gets nothing meanwhile.
	 */
	ndg = 0;
	host_answer(&sent[first]);
	for (i = 0; i < ndg; i++) {
		now += 600 * MS;
		dgfs_reader_tick(r, now);
		dgfs_reader_feed(r, dg[i].b, dg[i].len, now);
	}
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: a request waiting behind one being answered is not given up on",
	      st.timeouts == 0 && nsent == first + 2);
	taken = first + 1;
	run(r, &now, 10);
	CHECK("reader: ... and is answered in its turn",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 24000));
	dgfs_reader_destroy(r);
}

static void test_stray_and_misfit(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	struct dgfs_reply_hdr h;
	uint64_t now = 0, got;
	unsigned int n;
	struct dgram evil;

	host_set(20000);
	cfg = base_config();
	r = reader_new(&cfg, now);
	n = host_answer_all();

	/* Another read's id: ignored. */
	evil = dg[0];
	dgfs_reply_decode(evil.b, evil.len, &h);
	h.req_id ^= 1ull << 20;
	dgfs_reply_encode(&h, evil.b);
	memset(evil.b + DGFS_READ_REPLY_HDR_LEN, 0xee, PAYLOAD);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	/* A slot index past the window. */
	h.req_id = (sent[0].req_id & ~0xfffull) | 0xfff;
	dgfs_reply_encode(&h, evil.b);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	/* Not a reply at all. */
	dgfs_reader_feed(r, "DGFS", 4, now);
	evil.b[0] = 'X';
	dgfs_reader_feed(r, evil.b, evil.len, now);
	/* A status for someone else must not fail the read either. */
	h = (struct dgfs_reply_hdr){ .status = DGFS_STATUS_NOENT, .req_id = sent[0].req_id + 1 };
	dgfs_reply_encode(&h, evil.b);
	dgfs_reader_feed(r, evil.b, DGFS_READ_REPLY_HDR_LEN, now);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: replies with a foreign req_id are ignored",
	      st.stray == 3 && dgfs_reader_state(r) == DGFS_READ_RUNNING &&
	      dgfs_reader_chunk_size(r) == -1);
	CHECK("reader: garbage is counted invalid", st.invalid == 2);

	feed_all(r, n, 1, now += MS);	/* now the size is known */
	n = host_answer_all();
	/* Payload past the request's total: would spill into the next request. */
	evil = dg[7];			/* the last of the request [8000, 16000) */
	dgfs_reply_decode(evil.b, evil.len, &h);
	h.offset += 500;
	dgfs_reply_encode(&h, evil.b);
	memset(evil.b + DGFS_READ_REPLY_HDR_LEN, 0xee, PAYLOAD);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	/* A wrong total or size. */
	evil = dg[0];
	dgfs_reply_decode(evil.b, evil.len, &h);
	h.total -= 1;
	dgfs_reply_encode(&h, evil.b);
	memset(evil.b + DGFS_READ_REPLY_HDR_LEN, 0xee, PAYLOAD);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	h.total += 1;
	h.size += 1000;
	dgfs_reply_encode(&h, evil.b);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	/* Before the request's start. */
	evil = dg[0];
	dgfs_reply_decode(evil.b, evil.len, &h);
	h.offset -= 1000;
	dgfs_reply_encode(&h, evil.b);
	memset(evil.b + DGFS_READ_REPLY_HDR_LEN, 0xee, PAYLOAD);
	dgfs_reader_feed(r, evil.b, evil.len, now);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: payload beyond the total, wrong total/size, before the start: ignored",
	      st.misfit == 4);
	feed_all(r, n, 1, now += MS);
	run(r, &now, 10);
	CHECK("reader: ... and never written", dgfs_reader_state(r) == DGFS_READ_DONE &&
	      data_is(r, 0, 20000) && dgfs_reader_data(r, &got) && got == 20000);
	dgfs_reader_destroy(r);
}

static void test_verify(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader *r;
	uint64_t now = 0, len;

	host_set(50000);
	cfg = base_config();
	content[33333] ^= 0x40;		/* the host serves a corrupt copy */
	r = reader_new(&cfg, now);
	run(r, &now, 20);
	CHECK("reader: SHA-256 mismatch detected", dgfs_reader_state(r) == DGFS_READ_ERR_VERIFY);
	CHECK("reader: no data handed out on mismatch", dgfs_reader_data(r, &len) == NULL && !len);
	dgfs_reader_destroy(r);

	/* A range cannot be verified, so it is not. */
	cfg.offset = 1234;
	cfg.length = 20000;
	r = reader_new(&cfg, now);
	run(r, &now, 20);
	CHECK("reader: a range is read from its offset", dgfs_reader_state(r) == DGFS_READ_DONE &&
	      data_is(r, 1234, 20000) && !dgfs_reader_verified(r));
	CHECK("reader: the range's first request starts at the offset",
	      sent[0].offset == 1234 && sent[0].length == 8000);
	dgfs_reader_destroy(r);
	content[33333] ^= 0x40;

	/* A length past the end stops at the end. */
	cfg.offset = 45000;
	cfg.length = 1 << 20;
	r = reader_new(&cfg, now);
	run(r, &now, 20);
	CHECK("reader: a length past the end is cut at the end",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 45000, 5000));
	dgfs_reader_destroy(r);

	/* The last byte alone. */
	cfg.offset = 49999;
	cfg.length = 0;
	r = reader_new(&cfg, now);
	run(r, &now, 20);
	CHECK("reader: the last byte", dgfs_reader_state(r) == DGFS_READ_DONE &&
	      data_is(r, 49999, 1));
	dgfs_reader_destroy(r);
}

static void test_status(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader *r;
	uint64_t now = 0;
	static const uint16_t fatal[] = { DGFS_STATUS_NOENT, DGFS_STATUS_ACCES, DGFS_STATUS_IO };
	unsigned int i;
	char name[80];

	host_set(5000);
	for (i = 0; i < 3; i++) {
		cfg = base_config();
		r = reader_new(&cfg, now);
		ndg = 0;
		put_status(&sent[0], fatal[i], 0);
		feed_all(r, ndg, 1, now);
		snprintf(name, sizeof(name), "reader: %s ends the read with that status",
			 dgfs_status_name(fatal[i]));
		CHECK(name, dgfs_reader_state(r) == DGFS_READ_ERR_STATUS &&
		      dgfs_reader_status(r) == fatal[i]);
		dgfs_reader_destroy(r);
	}

	cfg.offset = 5000;
	r = reader_new(&cfg, now);
	run(r, &now, 5);
	CHECK("reader: RANGE at the end, with the size",
	      dgfs_reader_state(r) == DGFS_READ_ERR_STATUS &&
	      dgfs_reader_status(r) == DGFS_STATUS_RANGE && dgfs_reader_chunk_size(r) == 5000);
	dgfs_reader_destroy(r);

	/* AGAIN: wait, ask again; the second time it works. */
	cfg = base_config();
	r = reader_new(&cfg, now);
	ndg = 0;
	put_status(&sent[0], DGFS_STATUS_AGAIN, 5000);
	taken = 1;
	feed_all(r, ndg, 1, now);
	CHECK("reader: AGAIN is not an end", dgfs_reader_state(r) == DGFS_READ_RUNNING &&
	      nsent == 1);
	now += 1000 * MS;
	dgfs_reader_tick(r, now);
	CHECK("reader: AGAIN is retried after the timeout", nsent == 2);
	run(r, &now, 5);
	CHECK("reader: ... and the read completes", dgfs_reader_state(r) == DGFS_READ_DONE &&
	      data_is(r, 0, 5000));
	dgfs_reader_destroy(r);

	/* AGAIN every time: fails with AGAIN, not a timeout. */
	cfg.retries = 2;
	r = reader_new(&cfg, now);
	for (i = 0; i < 10 && dgfs_reader_state(r) == DGFS_READ_RUNNING; i++) {
		ndg = 0;
		put_status(&sent[nsent - 1], DGFS_STATUS_AGAIN, 5000);
		feed_all(r, ndg, 1, now);
		now = dgfs_reader_deadline(r);
		dgfs_reader_tick(r, now);
	}
	CHECK("reader: AGAIN through every retry fails with AGAIN",
	      dgfs_reader_state(r) == DGFS_READ_ERR_STATUS &&
	      dgfs_reader_status(r) == DGFS_STATUS_AGAIN && nsent == 3);
	dgfs_reader_destroy(r);

	/* An empty chunk: RANGE at 0, size 0, is the whole (empty) chunk. */
	host_set(0);
	cfg = base_config();
	r = reader_new(&cfg, now);
	run(r, &now, 5);
	CHECK("reader: an empty chunk reads as empty and verified",
	      dgfs_reader_state(r) == DGFS_READ_DONE && dgfs_reader_verified(r) &&
	      data_is(r, 0, 0));
	dgfs_reader_destroy(r);
}

static void test_limits(void)
{
	struct dgfs_reader_config cfg = base_config();
	struct dgfs_reader *r;
	uint64_t now = 0;

	cfg.window = 0;
	CHECK("reader: window 0 refused", dgfs_reader_create(&cfg) == NULL);
	cfg.window = DGFS_READER_MAX_WINDOW + 1;
	CHECK("reader: window past the maximum refused", dgfs_reader_create(&cfg) == NULL);
	cfg = base_config();
	cfg.send = NULL;
	CHECK("reader: no send callback refused", dgfs_reader_create(&cfg) == NULL);

	host_set(100000);
	cfg = base_config();
	cfg.max_bytes = 50000;
	r = reader_new(&cfg, now);
	run(r, &now, 5);
	CHECK("reader: more than max_bytes refused",
	      dgfs_reader_state(r) == DGFS_READ_ERR_TOO_BIG && dgfs_reader_chunk_size(r) == -1);
	dgfs_reader_destroy(r);
	dgfs_reader_destroy(NULL);

	/* Without max_bytes, a reply that claims a 4 GiB chunk (a spoofer's
	 * word as much as a host's) is not buffered: the default bound. */
	host_set(1000);
	cfg = base_config();
	r = reader_new(&cfg, now);
	ndg = 0;
	{
		struct dgfs_reply_hdr h = { .req_id = sent[0].req_id, .size = UINT32_MAX,
					    .total = 1000, .offset = 0 };

		dgfs_reply_encode(&h, dg[0].b);
		memcpy(dg[0].b + DGFS_READ_REPLY_HDR_LEN, content, 1000);
		dg[0].len = DGFS_READ_REPLY_HDR_LEN + 1000;
	}
	dgfs_reader_feed(r, dg[0].b, dg[0].len, now);
	CHECK("reader: a claimed 4 GiB chunk is refused by the default max_bytes",
	      nsent >= 1 && dgfs_reader_state(r) == DGFS_READ_ERR_TOO_BIG);
	dgfs_reader_destroy(r);
	/* ... and one within it is read. */
	cfg = base_config();
	r = reader_new(&cfg, now);
	run(r, &now, 5);
	CHECK("reader: without max_bytes a 1000-byte chunk is read",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 1000));
	dgfs_reader_destroy(r);

	/* The biggest window: 4096 outstanding, each its own slot. */
	host_set(300000);
	cfg = base_config();
	cfg.window = DGFS_READER_MAX_WINDOW;
	cfg.req_size = 50;
	r = reader_new(&cfg, now);
	run(r, &now, 10);
	CHECK("reader: 6000 requests through a 4096 window",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 300000) && nsent == 6000);
	dgfs_reader_destroy(r);
}

/*
 * A client that cannot take a whole window's answers at once: the host
 * answers each burst of requests at once, and only the first @room
 * datagrams of a burst fit the client's receive buffer; the rest are lost,
 * as on a slow machine reading 256 KiB requests 16 at a time. Requests
 * whose answers were lost time out once the reader has nothing else to do.
 * Returns the state after at most @bursts bursts.
 */
static enum dgfs_read_state run_overflowing(struct dgfs_reader *r, uint64_t *now,
					    unsigned int room, int bursts)
{
	while (bursts-- > 0 && dgfs_reader_state(r) == DGFS_READ_RUNNING) {
		unsigned int n = host_answer_all(), before = nsent;

		*now += MS;
		feed_all(r, n < room ? n : room, 1, *now);
		if (nsent == before) {
			*now += 1000 * MS;
			dgfs_reader_tick(r, *now);
		}
	}
	return dgfs_reader_state(r);
}

static void test_congestion(void)
{
	struct dgfs_reader_config cfg;
	struct dgfs_reader_stats st;
	struct dgfs_reader *r;
	uint64_t now = 0;
	unsigned int i;

	/* 38 requests of 8 datagrams, 16 out at first; room for 3 answers. */
	host_set(300000);
	cfg = base_config();
	cfg.window = 16;
	r = reader_new(&cfg, now);
	run_overflowing(r, &now, 24, 300);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: a client that overflows at 3 answers still reads it all",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 300000) &&
	      dgfs_reader_verified(r));
	CHECK("reader: ... by shrinking the window to what fits",
	      st.cwnd_min >= 1 && st.cwnd_min <= 3);
	/* Each halving costs one round's losses, not one per request. */
	CHECK("reader: ... with fewer re-requests than requests", st.rerequests < 38);
	dgfs_reader_destroy(r);

	/* A burst lost whole halves the window once, however many requests
	 * it held; the re-requests lost too halve it again.
	 */
	host_set(300000);
	cfg = base_config();
	cfg.window = 16;
	cfg.req_size = 1000;
	cfg.timeout_ns = 600000 * MS;
	r = reader_new(&cfg, now);
	feed_all(r, host_answer_all(), 1, now += MS);	/* the size */
	for (i = 0; i < 2; i++) {
		host_answer_all();			/* all lost */
		now += 60000 * MS;			/* past every backoff */
		dgfs_reader_tick(r, now);
	}
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: two bursts lost halve the window twice", st.cwnd == 4 && st.timeouts == 24);
	/* Answers grow it back, about one a round trip. */
	run(r, &now, 6);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: six lossless round trips grow it by about six",
	      st.cwnd >= 9 && st.cwnd <= 11);
	run(r, &now, 400);
	dgfs_reader_get_stats(r, &st);
	CHECK("reader: ... up to the configured window, not past it",
	      dgfs_reader_state(r) == DGFS_READ_DONE && data_is(r, 0, 300000) && st.cwnd == 16);
	dgfs_reader_destroy(r);
}

int main(void)
{
	if (dgfs_proto_init()) {
		printf("FAIL: libsodium init\n");
		return 1;
	}
	test_in_order();
	test_out_of_order_and_duplicates();
	test_overlap();
	test_loss();
	test_timeout();
	test_host_progress();
	test_adaptive_timeout();
	test_slow_host();
	test_late_answer();
	test_waits_its_turn();
	test_congestion();
	test_stray_and_misfit();
	test_verify();
	test_status();
	test_limits();
	return failures ? 1 : 0;
}
