// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs-bench: a load generator for dgfs hosts (the kernel path or
 * dgfs-userd). Each thread has its own connected UDP socket and a table of
 * outstanding reads; requests go out with sendmmsg, replies come in with
 * recvmmsg (headers only: MSG_TRUNC tells the payload's length without
 * copying it).
 *
 * Closed loop (default): every thread keeps --window reads outstanding and
 * sends a new one as soon as one completes. Open loop (--rate R): requests
 * leave on a fixed schedule, R per second in all, whatever the answers;
 * latency counts from the scheduled time, so a slow host cannot hide its
 * queueing by slowing the load down.
 *
 * --source spreads the threads over several local addresses (round-robin),
 * so that the host sees several clients: its per-client work (flows, the
 * CPU balancing's hash) is then exercised as by many clients. Each thread
 * mints its tokens for its own socket's address.
 *
 * A read completes when its whole reply has arrived. One that has not
 * after --timeout is counted as a timeout and replaced; the bench never
 * asks for missing pieces (that is the reader's job, not a load test's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hist.h"
#include "proto/dgfs_proto.h"
#include "proto/net.h"
#include "proto/reader.h"

#define MAX_THREADS	64
#define MAX_CHUNKS	256
#define OPEN_SLOTS	4096	/* outstanding reads per thread, open loop */
#define SLOT_BITS	12
#define BATCH		64
#define HDR_BUF		64	/* we read headers only */
/* Room for big windows of big reads: what overflows the socket would show
 * up as timeouts of the bench's own making.
 */
#define BENCH_RCVBUF	(64 << 20)

struct chunk {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	uint32_t size;
	uint32_t expiry;
	uint8_t token[DGFS_TOKEN_LEN];	/* the probe's; each thread mints its own */
};

struct options {
	uint16_t port;
	bool have_key, sequential, json;
	uint8_t key[DGFS_AUTH_KEY_LEN];
	uint64_t threads, duration, window, rate, size, timeout_ms, token_ttl;
	const char *host;
	unsigned int nchunks;
	struct chunk chunks[MAX_CHUNKS];
	struct sockaddr_storage sa;
	socklen_t salen;
	unsigned int nsources;		/* --source: thread t sends from t % n */
	struct sockaddr_storage sources[MAX_THREADS];
	socklen_t sources_len[MAX_THREADS];
};

struct slot {
	bool active;
	uint64_t req_id;
	uint64_t offset;
	uint32_t expect;
	uint32_t got;
	uint64_t started;	/* scheduled (open loop) or sent time */
};

struct worker {
	const struct options *o;
	unsigned int index;
	int fd;
	uint64_t rng;
	unsigned int next_chunk;
	uint64_t next_offset;
	struct slot *slots;
	unsigned int nslots, free_hint;
	uint8_t (*tokens)[DGFS_TOKEN_LEN];	/* per chunk, for this socket's address */
	uint64_t seq;

	uint8_t out[BATCH][DGFS_READ_REQ_LEN];
	unsigned int nout;

	/* results */
	struct hist lat;
	uint64_t completed, bytes, timeouts, overruns, invalid, stray, sent;
	uint64_t errors[DGFS_STATUS_LAST + 1];
	int fail_errno;
};

static volatile int stop_now;

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs-bench [OPTIONS] HOST CHUNKID...\n"
		"  -p, --port PORT      UDP port (default %u)\n"
		"      --key HEX32      mint tokens with this key (else tokens are zero)\n"
		"      --threads N      threads, each with its own socket (default 1)\n"
		"      --duration S     seconds to run (default 10)\n"
		"      --window N       reads outstanding per thread, closed loop (default 8)\n"
		"      --rate R         open loop instead: R reads per second in all\n"
		"      --size BYTES     read length (default 4096; <= the host's max read)\n"
		"      --random         random offsets, aligned to --size (default)\n"
		"      --sequential     consecutive offsets, wrapping at the chunk's end\n"
		"      --timeout MS     a read not complete by then is a timeout (default 1000)\n"
		"      --token-ttl S    tokens live S seconds (default the duration + 1 h; at most\n"
		"                       a day: more room for a host whose clock runs ahead)\n"
		"      --source ADDR[,ADDR...]\n"
		"                       send from these local addresses, thread t from the\n"
		"                       (t mod N)th; needs --threads >= N (default: the\n"
		"                       address the route picks)\n"
		"      --json           print the results as one JSON object on stdout\n"
		"Prints req/s, MB/s, p50/p99 latency, errors and timeouts.\n",
		DGFS_DEFAULT_PORT);
}

static int __attribute__((format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dgfs-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 2;
}

/* A comma-separated list of IPv4 or IPv6 literals, added to o->sources. */
static int parse_sources(struct options *o, const char *arg)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *p = arg, *comma;
	size_t len;

	do {
		struct sockaddr_storage *ss = &o->sources[o->nsources];
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (o->nsources == MAX_THREADS)
			return bad_usage("at most %d --source addresses", MAX_THREADS);
		if (!len || len >= sizeof(buf))
			return bad_usage("bad --source \"%s\": a list of IP addresses", arg);
		memcpy(buf, p, len);
		buf[len] = 0;
		memset(ss, 0, sizeof(*ss));
		if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			o->sources_len[o->nsources] = sizeof(*sin);
		} else if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			o->sources_len[o->nsources] = sizeof(*sin6);
		} else {
			return bad_usage("bad --source \"%s\": \"%s\" is not an IP address", arg, buf);
		}
		o->nsources++;
		p = comma + 1;
	} while (comma);
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { O_KEY = 256, O_THREADS, O_DURATION, O_WINDOW, O_RATE, O_SIZE,
	       O_RANDOM, O_SEQUENTIAL, O_TIMEOUT, O_TOKEN_TTL, O_JSON, O_SOURCE };
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, O_KEY },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "rate", required_argument, NULL, O_RATE },
		{ "size", required_argument, NULL, O_SIZE },
		{ "random", no_argument, NULL, O_RANDOM },
		{ "sequential", no_argument, NULL, O_SEQUENTIAL },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "token-ttl", required_argument, NULL, O_TOKEN_TTL },
		{ "json", no_argument, NULL, O_JSON },
		{ "source", required_argument, NULL, O_SOURCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c, i;

	memset(o, 0, sizeof(*o));
	o->port = DGFS_DEFAULT_PORT;
	o->threads = 1;
	o->duration = 10;
	o->window = 8;
	o->size = 4096;
	o->timeout_ms = 1000;
	while ((c = getopt_long(argc, argv, "p:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (dgfs_parse_size(optarg, &v) || !v || v > 65535)
				return bad_usage("bad port \"%s\"", optarg);
			o->port = (uint16_t)v;
			break;
		case O_KEY:
			if (dgfs_hex_decode(optarg, o->key, sizeof(o->key)))
				return bad_usage("--key must be 32 hexadecimal digits");
			o->have_key = true;
			break;
		case O_THREADS:
			if (dgfs_parse_size(optarg, &o->threads) || !o->threads ||
			    o->threads > MAX_THREADS)
				return bad_usage("bad --threads \"%s\" (1 .. %d)", optarg, MAX_THREADS);
			break;
		case O_DURATION:
			if (dgfs_parse_size(optarg, &o->duration) || !o->duration ||
			    o->duration > 3600)
				return bad_usage("bad --duration \"%s\" (1 .. 3600 s)", optarg);
			break;
		case O_WINDOW:
			if (dgfs_parse_size(optarg, &o->window) || !o->window ||
			    o->window > OPEN_SLOTS)
				return bad_usage("bad --window \"%s\" (1 .. %d)", optarg, OPEN_SLOTS);
			break;
		case O_RATE:
			if (dgfs_parse_size(optarg, &o->rate) || !o->rate || o->rate > 100000000)
				return bad_usage("bad --rate \"%s\"", optarg);
			break;
		case O_SIZE:
			if (dgfs_parse_size(optarg, &o->size) || !o->size ||
			    o->size > DGFS_MAX_READ_LIMIT)
				return bad_usage("bad --size \"%s\" (1 .. 16M)", optarg);
			break;
		case O_RANDOM:
			o->sequential = false;
			break;
		case O_SEQUENTIAL:
			o->sequential = true;
			break;
		case O_TIMEOUT:
			if (dgfs_parse_size(optarg, &o->timeout_ms) || !o->timeout_ms ||
			    o->timeout_ms > 60000)
				return bad_usage("bad --timeout \"%s\" (1 .. 60000 ms)", optarg);
			break;
		case O_TOKEN_TTL:
			if (dgfs_parse_size(optarg, &o->token_ttl) || !o->token_ttl ||
			    o->token_ttl > DGFS_TOKEN_MAX_LIFETIME)
				return bad_usage("bad --token-ttl \"%s\" (1 .. %d s)", optarg,
						 DGFS_TOKEN_MAX_LIFETIME);
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_SOURCE:
			if (parse_sources(o, optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	o->host = argv[optind++];
	if (o->nsources > o->threads)
		return bad_usage("%u --source addresses need --threads %u or more (a socket each)",
				 o->nsources, o->nsources);
	if (argc - optind > MAX_CHUNKS)
		return bad_usage("at most %d chunks", MAX_CHUNKS);
	for (i = optind; i < argc; i++)
		if (dgfs_hex_decode(argv[i], o->chunks[o->nchunks++].id, DGFS_CHUNK_ID_LEN))
			return bad_usage("\"%s\" is not a chunk id (64 hex digits)", argv[i]);
	return 0;
}

/* ---- setup: each chunk's size and token ---------------------------------- */

/* One 1-byte read through the reader tells the chunk's size. */
static int probe_chunk(struct options *o, struct chunk *ch, int fd,
		       const uint8_t local[DGFS_ADDR_LEN])
{
	struct dgfs_reader_config cfg = {
		.length = 1,
		.req_size = 1,
		.window = 1,
		.timeout_ns = 2500000000ull,	/* without an answer; asks at 0.625 s
						 * and 1.875 s */
		.min_timeout_ns = 500000000ull,
		.retries = 4,
		.send = dgfs_net_send,
		.send_ctx = &fd,
	};
	char id[2 * DGFS_CHUNK_ID_LEN + 1];
	struct dgfs_reader *r;
	unsigned int refused;
	int state;

	ch->expiry = dgfs_expiry_from_now(o->token_ttl ? (int64_t)o->token_ttl :
					  (int64_t)o->duration + 3600);
	if (o->have_key)
		dgfs_token_mint(o->key, ch->id, ch->expiry, local, ch->token);
	memcpy(cfg.chunk, ch->id, sizeof(cfg.chunk));
	cfg.expiry = ch->expiry;
	memcpy(cfg.token, ch->token, sizeof(cfg.token));
	randombytes_buf(&cfg.req_id_seed, sizeof(cfg.req_id_seed));
	r = dgfs_reader_create(&cfg);
	if (!r)
		return -1;
	state = dgfs_net_read(fd, r, &refused);
	dgfs_hex_encode(ch->id, DGFS_CHUNK_ID_LEN, id);
	if (state == DGFS_READ_DONE) {
		ch->size = (uint32_t)dgfs_reader_chunk_size(r);
		dgfs_reader_destroy(r);
		return 0;
	}
	if (state == DGFS_READ_ERR_STATUS)
		fprintf(stderr, "dgfs-bench: chunk %s: the host answered %s (%s)\n", id,
			dgfs_status_name(dgfs_reader_status(r)),
			dgfs_status_desc(dgfs_reader_status(r)));
	else
		fprintf(stderr, "dgfs-bench: chunk %s: no answer from %s port %u%s\n", id,
			o->host, o->port, refused ? " (ICMP port unreachable)" : "");
	dgfs_reader_destroy(r);
	return -1;
}

/* ---- the workers ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: plenty for picking offsets. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* The next read: which chunk and where. */
static void pick(struct worker *w, unsigned int *ci, uint64_t *offset, uint32_t *len)
{
	const struct options *o = w->o;
	const struct chunk *ch;
	uint64_t positions;

	if (o->sequential) {
		ch = &o->chunks[w->next_chunk];
		if (w->next_offset >= ch->size) {
			w->next_offset = 0;
			w->next_chunk = (w->next_chunk + 1) % o->nchunks;
			ch = &o->chunks[w->next_chunk];
		}
		*offset = w->next_offset;
		w->next_offset += o->size;
	} else {
		ch = &o->chunks[rng_next(&w->rng) % o->nchunks];
		/* Offsets aligned to the read size, each read whole. */
		positions = ch->size > o->size ? (ch->size - o->size) / o->size + 1 : 1;
		*offset = (rng_next(&w->rng) % positions) * o->size;
	}
	*ci = (unsigned int)(ch - o->chunks);
	*len = (uint32_t)(o->size < ch->size - *offset ? o->size : ch->size - *offset);
}

static void flush(struct worker *w)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned int i, done = 0;
	int n;

	for (i = 0; i < w->nout; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		iov[i].iov_base = w->out[i];
		iov[i].iov_len = DGFS_READ_REQ_LEN;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < w->nout) {
		n = sendmmsg(w->fd, msgs + done, w->nout - done, 0);
		if (n > 0) {
			done += (unsigned int)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* Lost; it will time out like any lost datagram. */
		done++;
	}
	w->sent += w->nout;
	w->nout = 0;
}

/* Starts a read in slot @i, timed from @started. */
static void issue(struct worker *w, unsigned int i, uint64_t started)
{
	struct slot *sl = &w->slots[i];
	const struct chunk *ch;
	struct dgfs_req req;
	unsigned int ci;

	if (w->nout == BATCH)
		flush(w);
	memset(&req, 0, sizeof(req));
	pick(w, &ci, &req.offset, &req.length);
	ch = &w->o->chunks[ci];
	req.req_id = (++w->seq << SLOT_BITS) | i;
	memcpy(req.chunk, ch->id, DGFS_CHUNK_ID_LEN);
	req.expiry = ch->expiry;
	memcpy(req.token, w->tokens[ci], DGFS_TOKEN_LEN);
	dgfs_req_encode(&req, w->out[w->nout++]);
	sl->active = true;
	sl->req_id = req.req_id;
	sl->offset = req.offset;
	sl->expect = req.length;
	sl->got = 0;
	sl->started = started;
}

static int free_slot(struct worker *w)
{
	unsigned int i, n = w->nslots;

	for (i = 0; i < n; i++) {
		unsigned int j = (w->free_hint + i) % n;

		if (!w->slots[j].active) {
			w->free_hint = j + 1;
			return (int)j;
		}
	}
	return -1;
}

/* One received datagram of @len bytes, header in @buf. */
static void take_reply(struct worker *w, const uint8_t *buf, size_t len, uint64_t now,
		       bool measuring)
{
	struct dgfs_reply_hdr h;
	struct slot *sl;
	unsigned int i;
	uint64_t plen;

	enum dgfs_reply_err e;

	/* Decode the header alone (the payload was not copied): it then
	 * looks like an OK without payload, which the length below settles.
	 */
	if (len < DGFS_READ_REPLY_HDR_LEN) {
		w->invalid++;
		return;
	}
	e = dgfs_reply_decode(buf, DGFS_READ_REPLY_HDR_LEN, &h);
	if ((e != DGFS_REPLY_VALID && e != DGFS_REPLY_PAYLOAD) ||
	    (len > DGFS_READ_REPLY_HDR_LEN) != (h.status == DGFS_STATUS_OK)) {
		w->invalid++;
		return;
	}
	i = (unsigned int)(h.req_id & ((1u << SLOT_BITS) - 1));
	if (i >= w->nslots || !w->slots[i].active || w->slots[i].req_id != h.req_id) {
		w->stray++;
		return;
	}
	sl = &w->slots[i];
	if (h.status != DGFS_STATUS_OK) {
		if (measuring)
			w->errors[h.status]++;
		sl->active = false;
	} else {
		plen = len - DGFS_READ_REPLY_HDR_LEN;
		if (h.total != sl->expect || h.offset < sl->offset ||
		    h.offset + plen > sl->offset + sl->expect) {
			w->invalid++;
			return;
		}
		sl->got += (uint32_t)plen;
		if (sl->got < sl->expect)
			return;
		sl->active = false;
		if (measuring) {
			w->completed++;
			w->bytes += sl->expect;
			hist_add(&w->lat, now > sl->started ? now - sl->started : 0);
		}
	}
	/* Closed loop: the slot goes straight back to work. */
	if (!w->o->rate && measuring)
		issue(w, i, now);
}

static void expire(struct worker *w, uint64_t now, bool measuring)
{
	uint64_t limit = w->o->timeout_ms * 1000000ull;
	unsigned int i;

	for (i = 0; i < w->nslots; i++) {
		struct slot *sl = &w->slots[i];

		if (!sl->active || now - sl->started < limit)
			continue;
		sl->active = false;
		if (measuring)
			w->timeouts++;
		if (!w->o->rate && measuring)
			issue(w, i, now);
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct options *o = w->o;
	uint8_t bufs[BATCH][HDR_BUF];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t start = dgfs_now_ns(), end = start + o->duration * 1000000000ull;
	uint64_t interval = 0, next_send = start, next_expire = start;
	uint64_t expire_every = o->timeout_ms * 1000000ull / 4 + 1;
	unsigned int i;
	int n;

	if (o->rate)
		interval = (uint64_t)(1e9 * (double)o->threads / (double)o->rate);
	else
		for (i = 0; i < w->nslots; i++)
			issue(w, i, start);
	flush(w);

	for (;;) {
		uint64_t now = dgfs_now_ns(), wake;
		struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
		int ms;

		if (now >= end || stop_now)
			break;
		/* Open loop: everything due by now leaves now. */
		while (o->rate && next_send <= now) {
			int s = free_slot(w);

			if (s < 0)
				w->overruns++;
			else
				issue(w, (unsigned int)s, next_send);
			next_send += interval;
		}
		if (now >= next_expire) {
			expire(w, now, true);
			next_expire = now + expire_every;
		}
		if (w->nout)
			flush(w);

		wake = end < next_expire ? end : next_expire;
		if (o->rate && next_send < wake)
			wake = next_send;
		ms = wake > now ? (int)((wake - now) / 1000000) : 0;
		n = poll(&pfd, 1, ms);
		if (n <= 0)
			continue;
		for (i = 0; i < BATCH; i++) {
			memset(&msgs[i], 0, sizeof(msgs[i]));
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = HDR_BUF;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		/* MSG_TRUNC: msg_len is the datagram's real length. */
		n = recvmmsg(w->fd, msgs, BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED) {
				w->fail_errno = errno;
				break;
			}
			continue;
		}
		now = dgfs_now_ns();
		for (i = 0; i < (unsigned int)n; i++)
			take_reply(w, bufs[i], msgs[i].msg_len, now, now < end);
		if (w->nout)
			flush(w);
	}
	return NULL;
}

/* ---- results -------------------------------------------------------------- */

static void report(const struct options *o, struct worker *ws, double secs)
{
	uint64_t completed = 0, bytes = 0, timeouts = 0, overruns = 0, invalid = 0;
	uint64_t stray = 0, sent = 0, errors = 0, by_status[DGFS_STATUS_LAST + 1] = { 0 };
	static struct hist lat;
	double rps, mbps, p50, p99, max;
	unsigned int t, s;
	FILE *f = o->json ? stderr : stdout;

	for (t = 0; t < o->threads; t++) {
		struct worker *w = &ws[t];

		completed += w->completed;
		bytes += w->bytes;
		timeouts += w->timeouts;
		overruns += w->overruns;
		invalid += w->invalid;
		stray += w->stray;
		sent += w->sent;
		for (s = 0; s <= DGFS_STATUS_LAST; s++) {
			by_status[s] += w->errors[s];
			errors += w->errors[s];
		}
		hist_merge(&lat, &w->lat);
	}
	rps = (double)completed / secs;
	mbps = (double)bytes / secs / 1e6;
	p50 = (double)hist_quantile(&lat, 0.50) / 1e3;
	p99 = (double)hist_quantile(&lat, 0.99) / 1e3;
	max = (double)lat.max / 1e3;
	fprintf(f, "dgfs-bench: %.0f req/s, %.2f MB/s, p50 %.1f us, p99 %.1f us, max %.1f us; "
		"%llu reads of %llu bytes in %.2f s, %s, %llu thread%s, %s %llu; "
		"errors %llu, timeouts %llu%s\n",
		rps, mbps, p50, p99, max, (unsigned long long)completed,
		(unsigned long long)o->size, secs, o->sequential ? "sequential" : "random",
		(unsigned long long)o->threads, o->threads == 1 ? "" : "s",
		o->rate ? "rate" : "window",
		(unsigned long long)(o->rate ? o->rate : o->window),
		(unsigned long long)errors, (unsigned long long)timeouts,
		overruns ? " (and overruns: the rate outran the outstanding-read table)" : "");
	for (s = 1; s <= DGFS_STATUS_LAST; s++)
		if (by_status[s])
			fprintf(f, "dgfs-bench: %llu answered %s (%s)\n",
				(unsigned long long)by_status[s], dgfs_status_name(s),
				dgfs_status_desc(s));
	fflush(f);
	if (!o->json)
		return;
	printf("{\"req_per_s\": %.1f, \"mb_per_s\": %.3f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
	       "\"max_us\": %.1f, \"completed\": %llu, \"bytes\": %llu, \"seconds\": %.3f, "
	       "\"size\": %llu, \"mode\": \"%s\", \"threads\": %llu, \"window\": %llu, "
	       "\"rate\": %llu, \"sent\": %llu, \"errors\": %llu, \"timeouts\": %llu, "
	       "\"overruns\": %llu, \"invalid\": %llu, \"stray\": %llu, \"sources\": %u",
	       rps, mbps, p50, p99, max, (unsigned long long)completed,
	       (unsigned long long)bytes, secs, (unsigned long long)o->size,
	       o->sequential ? "sequential" : "random", (unsigned long long)o->threads,
	       (unsigned long long)(o->rate ? 0 : o->window), (unsigned long long)o->rate,
	       (unsigned long long)sent, (unsigned long long)errors,
	       (unsigned long long)timeouts, (unsigned long long)overruns,
	       (unsigned long long)invalid, (unsigned long long)stray, o->nsources);
	for (s = 1; s <= DGFS_STATUS_LAST; s++)
		printf(", \"status_%s\": %llu", dgfs_status_name(s),
		       (unsigned long long)by_status[s]);
	printf("}\n");
	fflush(stdout);
}

static const char *source_name(const struct options *o, unsigned int i)
{
	static char name[INET6_ADDRSTRLEN];
	const struct sockaddr_storage *ss = &o->sources[i];
	const void *a = ss->ss_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	return inet_ntop(ss->ss_family, a, name, sizeof(name)) ? name : "?";
}

/* Thread @t's socket, from its --source address if any; -1, said why. */
static int connect_from(const struct options *o, unsigned int t, int rcvbuf,
			uint8_t local[DGFS_ADDR_LEN])
{
	unsigned int i = o->nsources ? t % o->nsources : 0;
	int fd;

	fd = dgfs_net_connect_from((const struct sockaddr *)&o->sa, o->salen,
				   o->nsources ? (const struct sockaddr *)&o->sources[i] : NULL,
				   o->nsources ? o->sources_len[i] : 0, rcvbuf, local);
	if (fd >= 0)
		return fd;
	if (o->nsources)
		fprintf(stderr, "dgfs-bench: cannot reach %s from %s: %s\n", o->host,
			source_name(o, i), strerror(errno));
	else
		fprintf(stderr, "dgfs-bench: cannot reach %s: %s\n", o->host, strerror(errno));
	return -1;
}

int main(int argc, char **argv)
{
	static struct options o;
	struct worker *ws;
	pthread_t tids[MAX_THREADS];
	uint8_t local[DGFS_ADDR_LEN], mine[DGFS_ADDR_LEN];
	unsigned int t, c, s, started = 0;
	char err[256];
	int fd, ret = 1;

	ret = parse_options(argc, argv, &o);
	if (ret)
		return ret;
	ret = 1;
	if (dgfs_proto_init()) {
		fprintf(stderr, "dgfs-bench: cannot initialise libsodium\n");
		return 1;
	}
	if (dgfs_net_resolve(o.host, o.port, &o.sa, &o.salen, err, sizeof(err))) {
		fprintf(stderr, "dgfs-bench: %s\n", err);
		return 1;
	}
	for (s = 0; s < o.nsources; s++) {
		if (o.sources[s].ss_family != o.sa.ss_family) {
			fprintf(stderr, "dgfs-bench: --source %s is not an %s address, as %s is\n",
				source_name(&o, s),
				o.sa.ss_family == AF_INET ? "IPv4" : "IPv6", o.host);
			return 1;
		}
	}
	/* The probe sends from the first source, as thread 0 does. */
	fd = connect_from(&o, 0, DGFS_NET_RCVBUF, local);
	if (fd < 0)
		return 1;
	for (c = 0; c < o.nchunks; c++) {
		if (probe_chunk(&o, &o.chunks[c], fd, local)) {
			close(fd);
			return 1;
		}
	}
	close(fd);

	ws = calloc(o.threads, sizeof(*ws));
	if (!ws)
		return 1;
	for (t = 0; t < o.threads; t++) {
		struct worker *w = &ws[t];

		w->o = &o;
		w->index = t;
		w->nslots = o.rate ? OPEN_SLOTS : (unsigned int)o.window;
		w->slots = calloc(w->nslots, sizeof(*w->slots));
		randombytes_buf(&w->rng, sizeof(w->rng));
		w->rng |= 1;
		w->next_chunk = t % o.nchunks;
		w->tokens = calloc(o.nchunks, sizeof(*w->tokens));
		if (!w->slots || !w->tokens) {
			fprintf(stderr, "dgfs-bench: cannot set up thread %u: %s\n", t,
				strerror(errno));
			goto out;
		}
		w->fd = connect_from(&o, t, BENCH_RCVBUF, mine);
		if (w->fd < 0)
			goto out;
		/* A token names the address it is sent from: this socket's. */
		for (c = 0; c < o.nchunks; c++) {
			if (o.have_key)
				dgfs_token_mint(o.key, o.chunks[c].id, o.chunks[c].expiry, mine,
						w->tokens[c]);
			else
				memcpy(w->tokens[c], o.chunks[c].token, DGFS_TOKEN_LEN);
		}
	}
	for (t = 0; t < o.threads; t++) {
		if (pthread_create(&tids[t], NULL, worker_run, &ws[t])) {
			fprintf(stderr, "dgfs-bench: cannot start thread %u\n", t);
			stop_now = 1;
			break;
		}
		started++;
	}
	for (t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (started == o.threads) {
		for (t = 0; t < o.threads; t++)
			if (ws[t].fail_errno)
				fprintf(stderr, "dgfs-bench: thread %u: %s\n", t,
					strerror(ws[t].fail_errno));
		/* Each thread counted exactly --duration seconds. */
		report(&o, ws, (double)o.duration);
		ret = 0;
	}
out:
	for (t = 0; t < o.threads; t++) {
		if (ws[t].fd > 0)
			close(ws[t].fd);
		free(ws[t].slots);
		free(ws[t].tokens);
	}
	free(ws);
	return ret;
}
