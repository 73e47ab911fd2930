// SPDX-License-Identifier: GPL-2.0
/*
 * The windowed reader (reader.h).
 *
 * Bookkeeping: every byte of the wanted range [offset, end) is in exactly
 * one of four places: received (the `have` interval set), asked for by an
 * outstanding request (a slot), waiting to be asked for again (the `todo`
 * queue of holes), or not asked for yet (at or past `next`). Slots cover
 * disjoint ranges, so a datagram's new bytes can be counted against the
 * slot it answers.
 *
 * Congestion: at most `cwnd` requests are outstanding, from cfg.window
 * down to 1. A request that times out (the network, the host's ring or our
 * own receive buffer dropped some of its answer) halves it, once per round
 * of requests; every request answered whole grows it by 1/cwnd, so by one
 * a round (AIMD, as TCP does). A host or a client that cannot keep up with
 * the window then gets a burst it can take, instead of the same burst
 * again, lost again, until the retries run out.
 *
 * Timing, as TCP's retransmission timer (RFC 6298): a request is retired
 * after an RTO without a datagram; the RTO is srtt + 4 * rttvar from the
 * first datagram of each request that was not the chunk's first (every
 * request has an id of its own, so no sample is ambiguous), doubled once
 * per round with a timeout until the next sample and once per fruitless
 * try of its range. A timeout is not a verdict on the read: only the
 * budget, timeout_ns without one new byte, fails it. A host that serves
 * its queue in turns is slow per request but steady per read; with a
 * fixed short timeout every request timed out between its turns, was
 * asked again on top of the one still being served, and the queue grew
 * until a range ran out of retries (docs/TESTING.md, the debug kernel).
 */

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/sha256.h"
#include "reader.h"

#define SLOT_BITS	12
#define RETIRED_MAX	64
/* Doublings of the RTO at most: 2^16 times the floor is past any cap. */
#define BACKOFF_MAX	16
#define SLOT_MASK	((1u << SLOT_BITS) - 1)
_Static_assert(DGFS_READER_MAX_WINDOW == 1u << SLOT_BITS, "slot bits");

struct interval {
	uint64_t start, end;
};

struct hole {
	uint64_t start, end;
	unsigned int attempts;	/* fruitless tries so far */
};

struct slot {
	bool active;
	bool again;		/* the host said AGAIN */
	bool progress;		/* got new bytes */
	bool timed;		/* its round trip is worth measuring */
	bool sampled;		/* ... and was measured */
	bool parked;		/* its range's retries are spent: waits */
	uint64_t req_id;
	uint64_t seq;		/* r->seq when sent */
	uint64_t start;
	uint32_t length;	/* as asked */
	uint64_t expect;	/* bytes it should bring, once the size is known */
	uint64_t sent_at;
	uint64_t last_rx;	/* sent_at, then the last datagram's arrival,
				 * or new bytes for a request sent before */
	unsigned int attempts;
};

struct dgfs_reader {
	struct dgfs_reader_config cfg;
	enum dgfs_read_state state;
	unsigned int status;

	bool size_known;
	uint32_t size;
	uint64_t end;		/* end of the wanted range; UINT64_MAX until known */
	uint64_t next;		/* first byte never asked for */

	uint8_t *buf;		/* end - offset bytes, once known */
	uint64_t have_bytes;
	struct interval *have;
	size_t have_n, have_cap;

	struct hole *todo;
	size_t todo_head, todo_n, todo_cap;	/* live: [head, n) */

	struct slot *slots;
	unsigned int active;
	uint64_t seq;

	unsigned int cwnd;	/* requests allowed out: 1 .. cfg.window */
	unsigned int cwnd_acc;	/* whole answers since cwnd last grew */
	uint64_t recover_seq;	/* a loss halves cwnd only for requests
				 * sent after the last halving */

	bool have_rtt;
	uint64_t srtt, rttvar;
	uint64_t initial_rto, max_rto;
	unsigned int backoff;	/* doublings since the last sample */
	uint64_t last_progress;	/* when the last new byte came */

	/* Requests retired lately: a reply to one says its timeout was too
	 * early, and times its round trip.
	 */
	struct retired {
		uint64_t req_id, sent_at, seq;
		uint64_t start;
		uint32_t length;	/* as asked */
		bool timed;		/* not measured yet, and worth it */
		bool late;		/* an answer came: counted */
	} retired[RETIRED_MAX];
	unsigned int retired_next;

	/* A whole chunk is hashed as its prefix arrives, not all at the end. */
	bool verify;
	uint64_t hashed;		/* bytes of buf hashed so far */
	dgfs_sha256_state sha;
	bool verified;
	struct dgfs_reader_stats stats;
};

/* ---- the set of received byte ranges ------------------------------------ */

/* First interval whose end is >= @pos. */
static size_t have_find(const struct dgfs_reader *r, uint64_t pos)
{
	size_t lo = 0, hi = r->have_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->have[mid].end < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds [s, e); returns how many of its bytes are new, or -1 (no memory). */
static int64_t have_insert(struct dgfs_reader *r, uint64_t s, uint64_t e)
{
	size_t lo = have_find(r, s), hi = lo;
	uint64_t covered = 0, ns = s, ne = e;

	while (hi < r->have_n && r->have[hi].start <= e) {
		const struct interval *iv = &r->have[hi];
		uint64_t a = iv->start > s ? iv->start : s;
		uint64_t b = iv->end < e ? iv->end : e;

		if (b > a)
			covered += b - a;
		if (iv->start < ns)
			ns = iv->start;
		if (iv->end > ne)
			ne = iv->end;
		hi++;
	}
	if (hi == lo) {
		if (r->have_n == r->have_cap) {
			size_t cap = r->have_cap ? 2 * r->have_cap : 16;
			struct interval *n = realloc(r->have, cap * sizeof(*n));

			if (!n)
				return -1;
			r->have = n;
			r->have_cap = cap;
		}
		memmove(&r->have[lo + 1], &r->have[lo], (r->have_n - lo) * sizeof(*r->have));
		r->have_n++;
	} else {
		memmove(&r->have[lo + 1], &r->have[hi], (r->have_n - hi) * sizeof(*r->have));
		r->have_n -= hi - lo - 1;
	}
	r->have[lo].start = ns;
	r->have[lo].end = ne;
	return (int64_t)(e - s - covered);
}

/*
 * Copies into the buffer only the bytes of [s, e) not received yet: what
 * arrived first stays, so a whole chunk's hash, taken as it arrives, is the
 * hash of what is handed out.
 */
static void copy_new(struct dgfs_reader *r, uint64_t s, uint64_t e, const uint8_t *src)
{
	size_t i = have_find(r, s + 1);
	uint64_t cur = s;

	for (; i < r->have_n && r->have[i].start < e && cur < e; i++) {
		if (r->have[i].start > cur)
			memcpy(r->buf + (cur - r->cfg.offset), src + (cur - s),
			       r->have[i].start - cur);
		if (r->have[i].end > cur)
			cur = r->have[i].end;
	}
	if (cur < e)
		memcpy(r->buf + (cur - r->cfg.offset), src + (cur - s), e - cur);
}

/* ---- the queue of holes to ask for again -------------------------------- */

static int todo_push(struct dgfs_reader *r, uint64_t s, uint64_t e, unsigned int attempts)
{
	if (r->todo_n == r->todo_cap) {
		if (r->todo_head > r->todo_cap / 2) {
			memmove(r->todo, &r->todo[r->todo_head],
				(r->todo_n - r->todo_head) * sizeof(*r->todo));
			r->todo_n -= r->todo_head;
			r->todo_head = 0;
		} else {
			size_t cap = r->todo_cap ? 2 * r->todo_cap : 16;
			struct hole *n = realloc(r->todo, cap * sizeof(*n));

			if (!n)
				return -1;
			r->todo = n;
			r->todo_cap = cap;
		}
	}
	r->todo[r->todo_n++] = (struct hole){ s, e, attempts };
	return 0;
}

/* Queues the parts of [s, e) not yet received. */
static int todo_push_holes(struct dgfs_reader *r, uint64_t s, uint64_t e,
			   unsigned int attempts)
{
	size_t i = have_find(r, s + 1);
	uint64_t cur = s;

	for (; i < r->have_n && r->have[i].start < e && cur < e; i++) {
		if (r->have[i].start > cur && todo_push(r, cur, r->have[i].start, attempts))
			return -1;
		if (r->have[i].end > cur)
			cur = r->have[i].end;
	}
	if (cur < e && todo_push(r, cur, e, attempts))
		return -1;
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

static void fail(struct dgfs_reader *r, enum dgfs_read_state why)
{
	if (r->state == DGFS_READ_RUNNING)
		r->state = why;
}

/* The RTO for a request after @doublings: measured, backed off, capped. */
static uint64_t rto(const struct dgfs_reader *r, unsigned int doublings)
{
	uint64_t wait = r->initial_rto;
	unsigned int k;

	if (r->have_rtt) {
		wait = r->srtt + 4 * r->rttvar;
		if (wait < r->cfg.min_timeout_ns)
			wait = r->cfg.min_timeout_ns;
	}
	for (k = 0; k < doublings && wait < r->max_rto; k++)
		wait *= 2;
	return wait < r->max_rto ? wait : r->max_rto;
}

/* Back off on every fruitless try of the range, and while the estimate
 * is one that timeouts proved too short: one doubling per timeout, as
 * both count the same ones for a range asked for alone.
 */
static uint64_t slot_wait(const struct dgfs_reader *r, const struct slot *sl)
{
	unsigned int d = sl->attempts > r->backoff ? sl->attempts : r->backoff;

	return rto(r, d < BACKOFF_MAX ? d : BACKOFF_MAX);
}

static int send_request(struct dgfs_reader *r, uint64_t start, uint32_t length,
			bool hole, unsigned int attempts, uint64_t now)
{
	uint8_t wire[DGFS_READ_REQ_LEN];
	struct dgfs_req req;
	struct slot *sl = NULL;
	unsigned int i;

	for (i = 0; i < r->cfg.window; i++) {
		if (!r->slots[i].active) {
			sl = &r->slots[i];
			break;
		}
	}
	if (!sl)
		return -1;	/* the caller checked the window: cannot happen */
	memset(sl, 0, sizeof(*sl));
	sl->active = true;
	sl->seq = r->seq;
	sl->req_id = (r->cfg.req_id_seed + r->seq++) << SLOT_BITS | i;
	sl->start = start;
	sl->length = length;
	sl->attempts = attempts;
	sl->sent_at = sl->last_rx = now;
	if (r->size_known)
		sl->expect = length < r->size - start ? length : r->size - start;
	/* The first request goes alone; its round trip would say nothing
	 * about those that wait in the host's queue behind a full window.
	 */
	sl->timed = r->size_known;
	r->active++;

	memset(&req, 0, sizeof(req));
	req.req_id = sl->req_id;
	memcpy(req.chunk, r->cfg.chunk, DGFS_CHUNK_ID_LEN);
	req.offset = start;
	req.length = length;
	req.expiry = r->cfg.expiry;
	memcpy(req.token, r->cfg.token, DGFS_TOKEN_LEN);
	dgfs_req_encode(&req, wire);
	r->stats.requests++;
	if (hole)
		r->stats.rerequests++;
	if (r->cfg.send(r->cfg.send_ctx, wire, sizeof(wire)) < 0) {
		fail(r, DGFS_READ_ERR_SEND);
		return -1;
	}
	return 0;
}

/* Keeps the window full: holes first, then new ground. */
static void fill_window(struct dgfs_reader *r, uint64_t now)
{
	while (r->state == DGFS_READ_RUNNING && r->active < r->cwnd) {
		uint64_t start, len;
		unsigned int attempts = 0;
		bool hole = false;

		/* One request at a time until a reply tells the chunk's size. */
		if (!r->size_known && r->active)
			return;
		if (r->todo_head < r->todo_n) {
			struct hole *h = &r->todo[r->todo_head];
			size_t k = have_find(r, h->start + 1);

			/* A late answer may have filled its start, or all of it. */
			if (k < r->have_n && r->have[k].start <= h->start)
				h->start = r->have[k].end < h->end ? r->have[k].end : h->end;
			if (h->start >= h->end) {
				r->todo_head++;
				continue;
			}
			start = h->start;
			len = h->end - h->start;
			attempts = h->attempts;
			hole = true;
			if (len > r->cfg.req_size) {
				len = r->cfg.req_size;
				h->start += len;
			} else {
				r->todo_head++;
			}
		} else if (r->next < r->end) {
			start = r->next;
			len = r->end - r->next;
			if (len > r->cfg.req_size)
				len = r->cfg.req_size;
			r->next += len;
		} else {
			return;
		}
		if (send_request(r, start, (uint32_t)len, hole, attempts, now))
			return;
	}
}

/* ---- the chunk's size, from the first reply ------------------------------ */

static int learn_size(struct dgfs_reader *r, uint32_t size)
{
	uint64_t end = size, i;
	size_t j, k;

	if (r->cfg.length && r->cfg.offset + r->cfg.length < end)
		end = r->cfg.offset + r->cfg.length;
	if (end <= r->cfg.offset)
		return -1;	/* the host would have said RANGE */
	if (end - r->cfg.offset > r->cfg.max_bytes) {
		fail(r, DGFS_READ_ERR_TOO_BIG);
		return -1;
	}
	r->buf = malloc(end - r->cfg.offset);
	if (!r->buf) {
		fail(r, DGFS_READ_ERR_NOMEM);
		return -1;
	}
	r->size_known = true;
	r->size = size;
	r->end = end;
	r->verify = r->cfg.offset == 0 && end == size;
	dgfs_sha256_init(&r->sha);
	if (r->next > end)
		r->next = end;
	for (i = 0; i < r->cfg.window; i++) {
		struct slot *sl = &r->slots[i];

		if (sl->active)
			sl->expect = sl->length < size - sl->start ? sl->length
								 : size - sl->start;
	}
	/* Holes queued before the size was known may reach past the end. */
	for (j = k = r->todo_head; j < r->todo_n; j++) {
		struct hole h = r->todo[j];

		if (h.end > end)
			h.end = end;
		if (h.start < h.end)
			r->todo[k++] = h;
	}
	r->todo_n = k;
	return 0;
}

#define HASH_STEP (64u << 10)

/* Hashes what arrived contiguously from the start, in steps of HASH_STEP
 * (or all of it, @all) so that the last bytes leave little to do.
 */
static void hash_prefix(struct dgfs_reader *r, bool all)
{
	uint64_t upto;

	if (!r->verify || !r->have_n || r->have[0].start != 0)
		return;
	upto = r->have[0].end;
	if (upto > r->hashed && (all || upto - r->hashed >= HASH_STEP)) {
		dgfs_sha256_update(&r->sha, r->buf + r->hashed, upto - r->hashed);
		r->hashed = upto;
	}
}

static void finish(struct dgfs_reader *r)
{
	uint8_t digest[DGFS_SHA256_BYTES];

	if (r->cfg.offset == 0 && r->end == r->size) {
		if (r->size) {
			hash_prefix(r, true);
			dgfs_sha256_final(&r->sha, digest);
		} else {
			dgfs_sha256(digest, NULL, 0);
		}
		if (sodium_memcmp(digest, r->cfg.chunk, sizeof(digest))) {
			fail(r, DGFS_READ_ERR_VERIFY);
			return;
		}
		r->verified = true;
	}
	r->state = DGFS_READ_DONE;
}

static void rtt_sample(struct dgfs_reader *r, uint64_t rtt)
{
	/* RFC 6298's smoothing; a new measurement sets the RTO afresh,
	 * ending the backoff (2.3, after 5.5 doubled it).
	 */
	r->backoff = 0;
	if (!r->have_rtt) {
		r->srtt = rtt;
		r->rttvar = rtt / 2;
		r->have_rtt = true;
		return;
	}
	r->rttvar = (3 * r->rttvar + (r->srtt > rtt ? r->srtt - rtt : rtt - r->srtt)) / 4;
	r->srtt = (7 * r->srtt + rtt) / 8;
}

static void slot_release(struct dgfs_reader *r, struct slot *sl)
{
	sl->active = false;
	r->active--;
}

/* A request given up on: remembered, in case its answer was only late. */
static void slot_retire(struct dgfs_reader *r, struct slot *sl)
{
	r->retired[r->retired_next++ % RETIRED_MAX] = (struct retired){
		.req_id = sl->req_id,
		.sent_at = sl->sent_at,
		.seq = sl->seq,
		.start = sl->start,
		.length = sl->length,
		.timed = sl->timed && !sl->sampled,
	};
	slot_release(r, sl);
}

/*
 * A retired request this datagram answers, or NULL. Its first answer says
 * the timeout came too early, and its round trip is the sample the
 * estimate lacked. Its bytes are taken like any (checked against what it
 * asked): a host does not stop sending an answer because we gave up on it,
 * and throwing it away left a slow host's queue full of answers nobody
 * took, while the read, starved, ran out of budget.
 */
static struct retired *late_reply(struct dgfs_reader *r, uint64_t req_id, uint64_t now)
{
	unsigned int i;

	if (!req_id)
		return NULL;
	for (i = 0; i < RETIRED_MAX; i++) {
		struct retired *t = &r->retired[i];

		if (t->req_id != req_id)
			continue;
		if (!t->late) {
			t->late = true;
			r->stats.late++;
			if (t->timed && now >= t->sent_at)
				rtt_sample(r, now - t->sent_at);
		}
		return t;
	}
	return NULL;
}

/* Whether all of [s, e) has arrived. */
static bool have_all(const struct dgfs_reader *r, uint64_t s, uint64_t e)
{
	size_t i = have_find(r, s + 1);

	return s >= e || (i < r->have_n && r->have[i].start <= s && r->have[i].end >= e);
}


/* A request answered whole: one more a round, up to the configured window. */
static void cwnd_grow(struct dgfs_reader *r)
{
	if (r->cwnd < r->cfg.window && ++r->cwnd_acc >= r->cwnd) {
		r->cwnd++;
		r->cwnd_acc = 0;
	}
}

/* A request whose range has all arrived, from whichever answer: done. */
static void slot_complete(struct dgfs_reader *r, struct slot *sl)
{
	slot_release(r, sl);
	cwnd_grow(r);
}

/* A request timed out: half as many, and twice the RTO, once per round. */
static void cwnd_shrink(struct dgfs_reader *r, const struct slot *sl)
{
	if (sl->seq < r->recover_seq)
		return;		/* sent before the last halving: same loss */
	if (r->backoff < BACKOFF_MAX)
		r->backoff++;
	r->cwnd = r->cwnd > 1 ? r->cwnd / 2 : 1;
	r->cwnd_acc = 0;
	r->recover_seq = r->seq;
	if (r->cwnd < r->stats.cwnd_min)
		r->stats.cwnd_min = r->cwnd;
}

/* ---- the interface ------------------------------------------------------ */

struct dgfs_reader *dgfs_reader_create(const struct dgfs_reader_config *cfg)
{
	struct dgfs_reader *r;

	if (!cfg->send || !cfg->req_size || !cfg->window ||
	    cfg->window > DGFS_READER_MAX_WINDOW || !cfg->timeout_ns ||
	    cfg->timeout_ns > DGFS_READER_MAX_TIMEOUT_NS ||
	    cfg->max_timeout_ns > DGFS_READER_MAX_TIMEOUT_NS ||
	    cfg->srtt_ns > DGFS_READER_MAX_TIMEOUT_NS ||
	    cfg->rttvar_ns > DGFS_READER_MAX_TIMEOUT_NS ||
	    cfg->length > UINT64_MAX - cfg->offset)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->slots = calloc(cfg->window, sizeof(*r->slots));
	if (!r->slots) {
		free(r);
		return NULL;
	}
	r->cfg = *cfg;
	if (r->cfg.min_timeout_ns > r->cfg.timeout_ns)
		r->cfg.min_timeout_ns = r->cfg.timeout_ns;
	if (!r->cfg.max_bytes)
		r->cfg.max_bytes = DGFS_READER_DEFAULT_MAX_BYTES;
	r->end = cfg->length ? cfg->offset + cfg->length : UINT64_MAX;
	r->next = cfg->offset;
	r->cwnd = r->stats.cwnd_min = cfg->window;
	r->max_rto = cfg->max_timeout_ns ? cfg->max_timeout_ns : DGFS_READER_DEFAULT_MAX_RTO_NS;
	if (r->max_rto < r->cfg.min_timeout_ns)
		r->max_rto = r->cfg.min_timeout_ns;
	/* Before a measurement: RFC 6298's 1 s, but room for two re-requests
	 * of a lost first request within a short budget.
	 */
	r->initial_rto = DGFS_READER_INITIAL_RTO_NS;
	if (r->initial_rto > cfg->timeout_ns / 4)
		r->initial_rto = cfg->timeout_ns / 4;
	if (r->initial_rto < r->cfg.min_timeout_ns)
		r->initial_rto = r->cfg.min_timeout_ns;
	if (r->initial_rto > r->max_rto)
		r->initial_rto = r->max_rto;
	if (cfg->srtt_ns) {
		r->have_rtt = true;
		r->srtt = cfg->srtt_ns;
		r->rttvar = cfg->rttvar_ns;
	}
	return r;
}

void dgfs_reader_destroy(struct dgfs_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->have);
	free(r->todo);
	free(r->slots);
	free(r);
}

/* When the last new byte came: of this read, or of the host's others. */
static uint64_t progress_at(const struct dgfs_reader *r)
{
	uint64_t at = r->last_progress, host;

	if (r->cfg.host_progress) {
		host = atomic_load_explicit(r->cfg.host_progress, memory_order_relaxed);
		if (host > at)
			at = host;
	}
	return at;
}

static void note_progress(struct dgfs_reader *r, uint64_t now_ns)
{
	uint64_t old;

	r->last_progress = now_ns;
	if (!r->cfg.host_progress)
		return;
	old = atomic_load_explicit(r->cfg.host_progress, memory_order_relaxed);
	while (old < now_ns &&
	       !atomic_compare_exchange_weak_explicit(r->cfg.host_progress, &old, now_ns,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

enum dgfs_read_state dgfs_reader_start(struct dgfs_reader *r, uint64_t now_ns)
{
	r->last_progress = now_ns;
	fill_window(r, now_ns);
	return r->state;
}

enum dgfs_read_state dgfs_reader_feed(struct dgfs_reader *r, const void *dgram,
				      size_t len, uint64_t now_ns)
{
	const uint8_t *payload = (const uint8_t *)dgram + DGFS_READ_REPLY_HDR_LEN;
	struct retired *ghost = NULL;
	uint64_t plen, pend, start, expect;
	struct dgfs_reply_hdr hdr;
	struct slot *sl = NULL;
	uint32_t length;
	unsigned int i;
	int64_t added;

	if (r->state != DGFS_READ_RUNNING)
		return r->state;
	r->stats.datagrams++;
	if (dgfs_reply_decode(dgram, len, &hdr) != DGFS_REPLY_VALID) {
		r->stats.invalid++;
		return r->state;
	}
	if ((hdr.req_id & SLOT_MASK) >= r->cfg.window ||
	    !r->slots[hdr.req_id & SLOT_MASK].active ||
	    r->slots[hdr.req_id & SLOT_MASK].req_id != hdr.req_id) {
		/* Not outstanding: late, or somebody else's. A late one's
		 * status is not taken: its re-request will be told the same.
		 */
		ghost = late_reply(r, hdr.req_id, now_ns);
		if (!ghost || hdr.status != DGFS_STATUS_OK) {
			r->stats.stray++;
			return r->state;
		}
		start = ghost->start;
		length = ghost->length;
	} else {
		sl = &r->slots[hdr.req_id & SLOT_MASK];
		start = sl->start;
		length = sl->length;
		/* Every request has an id of its own, re-requests too, so
		 * every first answer times a round trip unambiguously (no
		 * Karn problem).
		 */
		if (sl->timed && !sl->sampled && now_ns >= sl->sent_at) {
			sl->sampled = true;
			rtt_sample(r, now_ns - sl->sent_at);
		}
		sl->last_rx = now_ns;
	}

	if (hdr.status != DGFS_STATUS_OK) {
		if (hdr.status == DGFS_STATUS_AGAIN) {
			/* Not now: ask again when the slot times out. */
			r->stats.again++;
			sl->again = true;
			return r->state;
		}
		r->status = hdr.status;
		if (hdr.status == DGFS_STATUS_RANGE && !r->size_known) {
			r->size = hdr.size;
			r->size_known = true;
			/* An empty chunk: nothing to read, but it is whole. */
			if (!hdr.size && !r->cfg.offset && !r->cfg.length) {
				r->end = 0;
				finish(r);
				return r->state;
			}
		}
		fail(r, DGFS_READ_ERR_STATUS);
		return r->state;
	}

	if (!r->size_known) {
		if (learn_size(r, hdr.size)) {
			if (r->state == DGFS_READ_RUNNING)
				r->stats.misfit++;
			return r->state;
		}
	} else if (hdr.size != r->size) {
		r->stats.misfit++;
		return r->state;
	}
	/* The datagram must lie inside what its request asked for. */
	expect = start < r->size ? (length < r->size - start ? length : r->size - start) : 0;
	plen = len - DGFS_READ_REPLY_HDR_LEN;
	pend = hdr.offset + plen;
	if (hdr.total != expect || hdr.offset < start || pend > start + expect) {
		r->stats.misfit++;
		return r->state;
	}
	copy_new(r, hdr.offset, pend, payload);
	added = have_insert(r, hdr.offset, pend);
	if (added < 0) {
		fail(r, DGFS_READ_ERR_NOMEM);
		return r->state;
	}
	r->stats.dup_bytes += plen - (uint64_t)added;
	if (added) {
		uint64_t seq = sl ? sl->seq : ghost->seq;

		note_progress(r, now_ns);
		r->have_bytes += (uint64_t)added;
		if (sl) {
			sl->parked = false;	/* alive after all: its timer runs again */
			sl->progress = true;
		}
		/* The host is busy with what we asked before: the requests
		 * behind it wait their turn, they are not lost. Like TCP's
		 * timer, restarted by every acknowledgement of new data.
		 */
		for (i = 0; i < r->cfg.window; i++)
			if (r->slots[i].active && r->slots[i].seq > seq &&
			    r->slots[i].last_rx < now_ns)
				r->slots[i].last_rx = now_ns;
	}
	if (r->have_bytes == r->end - r->cfg.offset) {
		finish(r);
		return r->state;
	}
	if (sl && have_all(r, sl->start, sl->start + sl->expect)) {
		slot_complete(r, sl);
	} else if (ghost && added) {
		/* A late answer may fill what another request asks for. */
		for (i = 0; i < r->cfg.window; i++) {
			struct slot *o = &r->slots[i];

			if (o->active && o->start < pend && hdr.offset < o->start + o->expect &&
			    have_all(r, o->start, o->start + o->expect))
				slot_complete(r, o);
		}
	}
	hash_prefix(r, false);
	fill_window(r, now_ns);
	return r->state;
}

enum dgfs_read_state dgfs_reader_tick(struct dgfs_reader *r, uint64_t now_ns)
{
	uint64_t due = dgfs_reader_deadline(r), last;
	unsigned int i;

	if (r->state != DGFS_READ_RUNNING)
		return r->state;
	if (now_ns > due && now_ns - due > r->stats.pause_max_ns)
		r->stats.pause_max_ns = now_ns - due;
	last = progress_at(r);
	if (now_ns >= last && now_ns - last >= r->cfg.timeout_ns) {
		/* The budget is spent: nothing new for timeout_ns. */
		for (i = 0; i < r->cfg.window; i++) {
			if (r->slots[i].active && r->slots[i].again) {
				r->status = DGFS_STATUS_AGAIN;
				fail(r, DGFS_READ_ERR_STATUS);
				return r->state;
			}
		}
		fail(r, DGFS_READ_ERR_TIMEOUT);
		return r->state;
	}
	for (i = 0; i < r->cfg.window; i++) {
		struct slot *sl = &r->slots[i];
		unsigned int attempts;
		uint64_t end, wait;

		if (!sl->active || sl->parked || now_ns < sl->last_rx)
			continue;
		wait = slot_wait(r, sl);
		if (now_ns - sl->last_rx < wait)
			continue;
		if (wait > r->stats.rto_max_ns)
			r->stats.rto_max_ns = wait;
		r->stats.timeouts++;
		cwnd_shrink(r, sl);
		/* A try that brought something starts the count afresh. */
		attempts = sl->progress ? 0 : sl->attempts + 1;
		if (attempts > r->cfg.retries) {
			/* Asked often enough: no more requests for this range,
			 * a late answer to this one is still taken until the
			 * budget runs out.
			 */
			sl->parked = true;
			r->stats.given_up++;
			continue;
		}
		end = sl->start + (r->size_known ? sl->expect : sl->length);
		slot_retire(r, sl);
		if (todo_push_holes(r, sl->start, end, attempts)) {
			fail(r, DGFS_READ_ERR_NOMEM);
			return r->state;
		}
	}
	fill_window(r, now_ns);
	return r->state;
}

uint64_t dgfs_reader_deadline(const struct dgfs_reader *r)
{
	uint64_t first = UINT64_MAX;
	unsigned int i;

	if (r->state != DGFS_READ_RUNNING)
		return UINT64_MAX;
	first = progress_at(r);
	first = first > UINT64_MAX - r->cfg.timeout_ns ? UINT64_MAX : first + r->cfg.timeout_ns;
	for (i = 0; i < r->cfg.window; i++) {
		const struct slot *sl = &r->slots[i];
		uint64_t wait, at;

		if (!sl->active || sl->parked)
			continue;
		wait = slot_wait(r, sl);
		at = sl->last_rx > UINT64_MAX - wait ? UINT64_MAX : sl->last_rx + wait;
		if (at < first)
			first = at;
	}
	return first;
}

enum dgfs_read_state dgfs_reader_state(const struct dgfs_reader *r)
{
	return r->state;
}

unsigned int dgfs_reader_status(const struct dgfs_reader *r)
{
	return r->status;
}

int64_t dgfs_reader_chunk_size(const struct dgfs_reader *r)
{
	return r->size_known ? (int64_t)r->size : -1;
}

const uint8_t *dgfs_reader_data(const struct dgfs_reader *r, uint64_t *len)
{
	*len = r->state == DGFS_READ_DONE ? r->end - r->cfg.offset : 0;
	return r->state == DGFS_READ_DONE ? r->buf : NULL;
}

bool dgfs_reader_verified(const struct dgfs_reader *r)
{
	return r->verified;
}

void dgfs_reader_get_stats(const struct dgfs_reader *r, struct dgfs_reader_stats *st)
{
	*st = r->stats;
	st->srtt_ns = r->have_rtt ? r->srtt : 0;
	st->rttvar_ns = r->have_rtt ? r->rttvar : 0;
	st->rto_ns = rto(r, r->backoff < BACKOFF_MAX ? r->backoff : BACKOFF_MAX);
	st->cwnd = r->cwnd;
}
