// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the client's windowed reader (userspace/proto/reader.c)
 * fed hostile reply datagrams. Anyone who can spoof the host's address can
 * send the client replies, so no datagram may make it write outside its
 * buffer, loop, or report a chunk done with bytes other than the host's.
 *
 * The input is a read's shape followed by a script of events. The fake host
 * serves a chunk whose content follows from the input, its id the real
 * SHA-256, so that whole reads can verify. Events: a raw datagram; a reply
 * to one of the requests the reader sent, its fields either true or taken
 * from the input (so the fuzzer reaches the bookkeeping past the decoder);
 * the clock moving on and a tick.
 *
 * Checked at the end: a read that is done holds exactly its range, and a
 * verified one holds the chunk's true bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reader.h"
#include "proto/sha256.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_reader: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define MAX_CHUNK	8192
#define MAX_SENT	64

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned int take(struct in *in, unsigned int bytes)
{
	unsigned int v = 0;

	while (bytes--) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

struct host {
	uint8_t content[MAX_CHUNK];
	uint32_t size;
	uint32_t req_size;
	struct dgfs_req sent[MAX_SENT];	/* the last requests, a ring */
	unsigned int nsent;
};

static int send_cb(void *ctx, const uint8_t *req, size_t len)
{
	struct host *h = ctx;
	struct dgfs_req r;

	/* The reader must only ever send well-formed requests. */
	CHECK(dgfs_req_decode(req, len, h->req_size, &r) == DGFS_WELLFORMED);
	h->sent[h->nsent++ % MAX_SENT] = r;
	return 0;
}

/* A reply to a request the reader sent, each field true or fuzzed. */
static void reply(struct dgfs_reader *rd, struct host *h, struct in *in, uint64_t now)
{
	uint8_t dgram[DGFS_READ_REPLY_HDR_LEN + MAX_CHUNK];
	unsigned int pick = take(in, 1), lie = take(in, 1);
	const struct dgfs_req *r;
	struct dgfs_reply_hdr hdr;
	uint64_t off, avail;
	size_t plen;

	if (!h->nsent)
		return;
	r = &h->sent[(h->nsent - 1 - pick % (h->nsent < MAX_SENT ? h->nsent : MAX_SENT)) % MAX_SENT];
	memset(&hdr, 0, sizeof(hdr));
	hdr.req_id = r->req_id;
	hdr.size = h->size;
	if (r->offset >= h->size) {
		hdr.status = DGFS_STATUS_RANGE;
		plen = 0;
	} else {
		hdr.status = DGFS_STATUS_OK;
		avail = h->size - r->offset;
		hdr.total = avail < r->length ? (uint32_t)avail : r->length;
		/* Part of the answer: the fuzzer picks which piece. */
		off = take(in, 2) % hdr.total;
		plen = 1 + take(in, 2) % (hdr.total - off);
		hdr.offset = r->offset + off;
	}
	if (lie & 1)
		hdr.status = take(in, 1) % (DGFS_STATUS_LAST + 1);
	/* Off by a little is where bounds checks slip; off by a lot too. */
	if (lie & 2)
		hdr.offset += (int8_t)take(in, 1);
	if (lie & 128)
		hdr.offset = take(in, 4);
	if (lie & 4)
		hdr.total = take(in, 4);
	if (lie & 8)
		hdr.size = take(in, 4);
	if (lie & 16)
		hdr.req_id ^= take(in, 1);
	if (lie & 32) {
		int64_t n = (int64_t)plen + (int8_t)take(in, 1);

		plen = n < 0 ? 0 : n > MAX_CHUNK ? MAX_CHUNK : (size_t)n;
	}
	dgfs_reply_encode(&hdr, dgram);
	if (lie & 64) {
		/* Payload from the input instead of the chunk. */
		for (size_t i = 0; i < plen; i++)
			dgram[DGFS_READ_REPLY_HDR_LEN + i] = (uint8_t)take(in, 1);
	} else {
		for (size_t i = 0; i < plen; i++) {
			uint64_t at = hdr.offset + i;

			dgram[DGFS_READ_REPLY_HDR_LEN + i] = at < h->size ? h->content[at] : 0;
		}
	}
	dgfs_reader_feed(rd, dgram, DGFS_READ_REPLY_HDR_LEN + plen, now);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (dgfs_proto_init())
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct host h;
	struct in in = { data, size };
	struct dgfs_reader_config cfg = { 0 };
	struct dgfs_reader *rd;
	uint64_t now = 1000000000, len;
	unsigned int seed, steps = 0;
	const uint8_t *out;

	memset(&h, 0, sizeof(h));
	h.size = take(&in, 2) % (MAX_CHUNK + 1);
	seed = take(&in, 1);
	for (uint32_t i = 0; i < h.size; i++)
		h.content[i] = (uint8_t)(i * 31 + seed + (i >> 8));
	dgfs_sha256(cfg.chunk, h.content, h.size);
	cfg.offset = take(&in, 2) % (MAX_CHUNK + 64);
	cfg.length = take(&in, 2) % (MAX_CHUNK + 64);	/* 0: to the end */
	cfg.req_size = 1 + take(&in, 2) % 4096;
	cfg.window = 1 + take(&in, 1) % 16;
	cfg.retries = take(&in, 1) % 4;
	cfg.timeout_ns = 1000000 + (uint64_t)take(&in, 1) * 1000000;
	cfg.min_timeout_ns = (uint64_t)take(&in, 1) * 100000;
	/* Bounded as dgfs get bounds it (the manifest's size): without a
	 * bound a spoofed reply may claim a 4 GiB chunk and the reader
	 * mallocs that much, which is the caller's limit to set.
	 */
	cfg.max_bytes = 1 + take(&in, 2);
	cfg.req_id_seed = (uint64_t)take(&in, 4) << 32 | take(&in, 4);
	cfg.send = send_cb;
	cfg.send_ctx = &h;
	h.req_size = cfg.req_size;

	rd = dgfs_reader_create(&cfg);
	CHECK(rd);
	dgfs_reader_start(rd, now);
	while (in.n && dgfs_reader_state(rd) == DGFS_READ_RUNNING && steps++ < 4096) {
		unsigned int op = take(&in, 1);

		switch (op % 4) {
		case 0: {	/* a raw datagram from anyone */
			uint8_t raw[256];
			size_t n = take(&in, 1);

			for (size_t i = 0; i < n; i++)
				raw[i] = (uint8_t)take(&in, 1);
			dgfs_reader_feed(rd, raw, n, now);
			break;
		}
		case 1:
		case 2:
			reply(rd, &h, &in, now);
			break;
		case 3:		/* time passes; the clock may even step back */
			if (op & 0x80)
				now -= take(&in, 1);
			else
				now += (uint64_t)take(&in, 2) * 100000;
			if (now >= dgfs_reader_deadline(rd) || op & 0x40)
				dgfs_reader_tick(rd, now);
			break;
		}
	}
	if (dgfs_reader_state(rd) == DGFS_READ_DONE) {
		uint64_t end = cfg.length ? cfg.offset + cfg.length : h.size;

		out = dgfs_reader_data(rd, &len);
		CHECK(dgfs_reader_chunk_size(rd) >= 0);
		if (dgfs_reader_verified(rd)) {
			/* The SHA-256 matched: these must be the true bytes. */
			CHECK(cfg.offset == 0 && len == h.size);
			CHECK(len == 0 || memcmp(out, h.content, len) == 0);
		} else if (dgfs_reader_chunk_size(rd) == h.size) {
			CHECK(len == (end > h.size ? h.size : end) - cfg.offset);
		}
		CHECK(len == 0 || out);
	}
	dgfs_reader_destroy(rd);
	return 0;
}
