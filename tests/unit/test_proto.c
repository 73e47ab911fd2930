// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the wire protocol library (userspace/proto/dgfs_proto.c):
 * request and reply encoding, every way a request or reply is malformed,
 * SipHash-2-4 tokens against vectors computed independently, address
 * mapping and the small parsers; and the bench's latency histogram.
 * One line per check, PASS or FAIL; the exit status is non-zero if any
 * check failed.
 */

/* expect-checks: 78 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "proto/size.c"
#include "proto/dgfs_proto.c"
#include "bench/hist.c"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static const uint8_t key00_0f[16] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

static void sample_req(struct dgfs_req *req)
{
	unsigned int i;

	memset(req, 0, sizeof(*req));
	req->req_id = 0x0102030405060708ull;
	for (i = 0; i < DGFS_CHUNK_ID_LEN; i++)
		req->chunk[i] = (uint8_t)(0xa0 + i);
	req->offset = 0x1122334455667788ull;
	req->length = 4096;
	req->expiry = 0x65000000;
	for (i = 0; i < DGFS_TOKEN_LEN; i++)
		req->token[i] = (uint8_t)(0xf0 + i);
}

static void test_request(void)
{
	uint8_t wire[DGFS_READ_REQ_LEN], bad[DGFS_READ_REQ_LEN + 8];
	struct dgfs_req req, out;
	struct dgfs_read_req view;

	sample_req(&req);
	dgfs_req_encode(&req, wire);
	CHECK("request: magic bytes are \"DGFS\"", !memcmp(wire, "DGFS", 4));
	CHECK("request: version 1, op READ, flags 0",
	      wire[4] == 1 && wire[5] == 1 && wire[6] == 0 && wire[7] == 0);
	CHECK("request: req_id big-endian at 8",
	      wire[8] == 0x01 && wire[15] == 0x08);
	CHECK("request: offset big-endian at 48", wire[48] == 0x11 && wire[55] == 0x88);
	CHECK("request: length big-endian at 56",
	      wire[56] == 0 && wire[57] == 0 && wire[58] == 0x10 && wire[59] == 0);
	CHECK("request: expiry big-endian at 60", wire[60] == 0x65 && wire[63] == 0);
	CHECK("request: token as is at 64", wire[64] == 0xf0 && wire[71] == 0xf7);
	/* The uapi struct must agree with the offsets the library uses. */
	memcpy(&view, wire, sizeof(view));
	CHECK("request: uapi struct reads the same fields",
	      ntohl(view.magic) == DGFS_PROTO_MAGIC && view.op == DGFS_OP_READ &&
	      ntohl(view.length) == 4096 && ntohl(view.expiry) == 0x65000000 &&
	      !memcmp(view.chunk, req.chunk, DGFS_CHUNK_ID_LEN));

	CHECK("request: round trip",
	      dgfs_req_decode(wire, sizeof(wire), DGFS_DEFAULT_MAX_READ, &out) == DGFS_WELLFORMED &&
	      out.req_id == req.req_id && out.offset == req.offset &&
	      out.length == req.length && out.expiry == req.expiry &&
	      !memcmp(out.chunk, req.chunk, DGFS_CHUNK_ID_LEN) &&
	      !memcmp(out.token, req.token, DGFS_TOKEN_LEN));

	/* Every malformed variant, each alone. */
	CHECK("malformed: empty datagram",
	      dgfs_req_decode(wire, 0, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_SIZE);
	CHECK("malformed: 71 bytes",
	      dgfs_req_decode(wire, 71, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_SIZE);
	memcpy(bad, wire, sizeof(wire));
	bad[72] = 0;
	CHECK("malformed: 73 bytes",
	      dgfs_req_decode(bad, 73, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_SIZE);
	memcpy(bad, wire, sizeof(wire));
	bad[3] = 'T';
	CHECK("malformed: magic",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_MAGIC);
	memcpy(bad, wire, sizeof(wire));
	bad[4] = 2;
	CHECK("malformed: version 2",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_VERSION);
	memcpy(bad, wire, sizeof(wire));
	bad[4] = 0;
	CHECK("malformed: version 0",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_VERSION);
	memcpy(bad, wire, sizeof(wire));
	bad[5] = DGFS_OP_READ_REPLY;
	CHECK("malformed: op is a reply's (no reflection)",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_OP);
	memcpy(bad, wire, sizeof(wire));
	bad[5] = 0;
	CHECK("malformed: op 0",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_OP);
	memcpy(bad, wire, sizeof(wire));
	bad[7] = 1;
	CHECK("malformed: flags 1",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_FLAGS);
	memcpy(bad, wire, sizeof(wire));
	bad[6] = 0x80;
	CHECK("malformed: flags 0x8000",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_FLAGS);

	req.length = 0;
	dgfs_req_encode(&req, bad);
	CHECK("malformed: length 0",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_LENGTH);
	req.length = DGFS_DEFAULT_MAX_READ + 1;
	dgfs_req_encode(&req, bad);
	CHECK("malformed: length max read + 1",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_LENGTH);
	req.length = DGFS_DEFAULT_MAX_READ;
	dgfs_req_encode(&req, bad);
	CHECK("wellformed: length exactly max read",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_WELLFORMED &&
	      out.length == DGFS_DEFAULT_MAX_READ);
	req.length = 1;
	dgfs_req_encode(&req, bad);
	CHECK("wellformed: length 1",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_WELLFORMED);
	req.length = UINT32_MAX;
	dgfs_req_encode(&req, bad);
	CHECK("malformed: length 2^32-1 against the 16 MiB limit",
	      dgfs_req_decode(bad, 72, DGFS_MAX_READ_LIMIT, &out) == DGFS_MALFORMED_LENGTH);
	/* Checks go in wire order: a datagram wrong twice names the first. */
	memcpy(bad, wire, sizeof(wire));
	bad[0] = 0;
	bad[7] = 1;
	CHECK("malformed: the first reason wins",
	      dgfs_req_decode(bad, 72, DGFS_DEFAULT_MAX_READ, &out) == DGFS_MALFORMED_MAGIC);
	CHECK("malformed: reasons have names",
	      !strcmp(dgfs_malformed_name(DGFS_MALFORMED_FLAGS), "FLAGS") &&
	      !strcmp(dgfs_malformed_name(DGFS_MALFORMED_SIZE), "SIZE"));
}

static void test_reply(void)
{
	uint8_t wire[DGFS_READ_REPLY_HDR_LEN + 100];
	struct dgfs_reply_hdr h = {
		.status = DGFS_STATUS_OK, .req_id = 0xdeadbeefcafef00dull,
		.offset = 4096, .total = 100, .size = 8192,
	}, out;
	struct dgfs_read_reply view;

	memset(wire, 0x5a, sizeof(wire));
	dgfs_reply_encode(&h, wire);
	CHECK("reply: magic, version, op 0x81",
	      !memcmp(wire, "DGFS", 4) && wire[4] == 1 && wire[5] == 0x81);
	memcpy(&view, wire, sizeof(view));
	CHECK("reply: uapi struct reads the same fields",
	      ntohs(view.status) == 0 && ntohl(view.total) == 100 && ntohl(view.size) == 8192);
	CHECK("reply: round trip with payload",
	      dgfs_reply_decode(wire, sizeof(wire), &out) == DGFS_REPLY_VALID &&
	      out.status == h.status && out.req_id == h.req_id && out.offset == h.offset &&
	      out.total == h.total && out.size == h.size);
	CHECK("reply: OK without payload is invalid",
	      dgfs_reply_decode(wire, DGFS_READ_REPLY_HDR_LEN, &out) == DGFS_REPLY_PAYLOAD);
	CHECK("reply: shorter than a header",
	      dgfs_reply_decode(wire, 31, &out) == DGFS_REPLY_SHORT);
	h.total = 50;
	dgfs_reply_encode(&h, wire);
	CHECK("reply: payload longer than total is invalid",
	      dgfs_reply_decode(wire, sizeof(wire), &out) == DGFS_REPLY_BOUNDS);
	h.total = 100;
	h.offset = 8150;
	dgfs_reply_encode(&h, wire);
	CHECK("reply: payload past the chunk's size is invalid",
	      dgfs_reply_decode(wire, sizeof(wire), &out) == DGFS_REPLY_BOUNDS);
	h.offset = 4096;
	h.size = 99;
	h.total = 100;
	dgfs_reply_encode(&h, wire);
	CHECK("reply: total past the size is invalid",
	      dgfs_reply_decode(wire, sizeof(wire), &out) == DGFS_REPLY_BOUNDS);

	h = (struct dgfs_reply_hdr){ .status = DGFS_STATUS_NOENT, .req_id = 7 };
	dgfs_reply_encode(&h, wire);
	CHECK("reply: a status alone is valid",
	      dgfs_reply_decode(wire, DGFS_READ_REPLY_HDR_LEN, &out) == DGFS_REPLY_VALID &&
	      out.status == DGFS_STATUS_NOENT && out.req_id == 7);
	CHECK("reply: a status with payload is invalid",
	      dgfs_reply_decode(wire, DGFS_READ_REPLY_HDR_LEN + 1, &out) == DGFS_REPLY_PAYLOAD);
	h.status = 6;
	dgfs_reply_encode(&h, wire);
	CHECK("reply: unknown status 6",
	      dgfs_reply_decode(wire, DGFS_READ_REPLY_HDR_LEN, &out) == DGFS_REPLY_STATUS);
	h.status = DGFS_STATUS_IO;
	dgfs_reply_encode(&h, wire);
	wire[5] = DGFS_OP_READ;
	CHECK("reply: a request's op is no reply",
	      dgfs_reply_decode(wire, DGFS_READ_REPLY_HDR_LEN, &out) == DGFS_REPLY_OP);
	dgfs_reply_encode(&h, wire);
	wire[4] = 9;
	CHECK("reply: wrong version",
	      dgfs_reply_decode(wire, DGFS_READ_REPLY_HDR_LEN, &out) == DGFS_REPLY_VERSION);
	dgfs_reply_encode(&h, wire);
	wire[0] = 'X';
	CHECK("reply: wrong magic",
	      dgfs_reply_decode(wire, DGFS_READ_REPLY_HDR_LEN, &out) == DGFS_REPLY_MAGIC);
	CHECK("status names", !strcmp(dgfs_status_name(DGFS_STATUS_ACCES), "ACCES") &&
	      !strcmp(dgfs_status_name(DGFS_STATUS_RANGE), "RANGE") &&
	      !strcmp(dgfs_status_name(99), "?"));
}

/*
 * SipHash-2-4 with key 00..0f over messages 00..n-1: the reference
 * vectors of the SipHash paper (empty: 0x726fdb47dd0e0e31; 15 bytes:
 * 0xa129ca6149be45e5), as 64-bit numbers; libsodium stores them
 * little-endian. The others were computed by a separate implementation
 * written from the paper (Python) that reproduces those two.
 */
static void test_siphash_vectors(void)
{
	static const struct {
		size_t n;
		uint64_t want;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ull }, { 1, 0x74f839c593dc67fdull },
		{ 2, 0x0d6c8009d9a94f5aull }, { 3, 0x85676696d7fb7e2dull },
		{ 7, 0xab0200f58b01d137ull }, { 8, 0x93f5f5799a932462ull },
		{ 15, 0xa129ca6149be45e5ull }, { 63, 0x958a324ceb064572ull },
	};
	uint8_t msg[64], out[8];
	size_t i, j;
	char name[64];

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t got = 0;

		crypto_shorthash_siphash24(out, msg, v[i].n, key00_0f);
		for (j = 0; j < 8; j++)
			got |= (uint64_t)out[j] << (8 * j);
		snprintf(name, sizeof(name), "siphash-2-4 vector, %zu-byte message", v[i].n);
		CHECK(name, got == v[i].want);
	}
}

static void test_token(void)
{
	/* chunk = SHA-256("dgfs"), expiry 1700000000, key 00..0f. */
	static const char chunk_hex[] =
		"5e1f9b619129143a3a4f45d68179df99e93bdbf18cb8b98a59dd201bf64bef34";
	static const char msg_v4_hex[] =
		"5e1f9b619129143a3a4f45d68179df99e93bdbf18cb8b98a59dd201bf64bef34"
		"6553f100" "00000000000000000000ffffc6120002";
	uint8_t chunk[32], addr[16], msg[DGFS_TOKEN_MSG_LEN], want_msg[DGFS_TOKEN_MSG_LEN];
	uint8_t token[8], digest[32];
	char hex[17];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	crypto_hash_sha256(digest, (const uint8_t *)"dgfs", 4);
	CHECK("token: the example chunk id is SHA-256(\"dgfs\")",
	      !dgfs_hex_decode(chunk_hex, chunk, 32) && !memcmp(digest, chunk, 32));
	inet_pton(AF_INET, "198.18.0.2", &sin.sin_addr);
	CHECK("addr: IPv4 maps to ::ffff:a.b.c.d",
	      !dgfs_addr_from_sockaddr((struct sockaddr *)&sin, addr) &&
	      dgfs_addr_is_v4mapped(addr) && addr[12] == 198 && addr[15] == 2);
	dgfs_token_msg(chunk, 1700000000, addr, msg);
	CHECK("token: the 52 bytes covered",
	      !dgfs_hex_decode(msg_v4_hex, want_msg, sizeof(want_msg)) &&
	      !memcmp(msg, want_msg, sizeof(msg)));
	dgfs_token_mint(key00_0f, chunk, 1700000000, addr, token);
	dgfs_hex_encode(token, 8, hex);
	CHECK("token: IPv4 client vector (db58d570e0896e58)", !strcmp(hex, "db58d570e0896e58"));
	CHECK("token: check accepts it", dgfs_token_check(key00_0f, chunk, 1700000000, addr, token));
	CHECK("token: another expiry fails",
	      !dgfs_token_check(key00_0f, chunk, 1700000001, addr, token));
	addr[15] = 3;
	CHECK("token: another address fails",
	      !dgfs_token_check(key00_0f, chunk, 1700000000, addr, token));
	addr[15] = 2;
	chunk[31] ^= 1;
	CHECK("token: another chunk fails",
	      !dgfs_token_check(key00_0f, chunk, 1700000000, addr, token));
	chunk[31] ^= 1;
	token[7] ^= 0x80;
	CHECK("token: a flipped bit fails",
	      !dgfs_token_check(key00_0f, chunk, 1700000000, addr, token));

	inet_pton(AF_INET6, "2001:2::2", &sin6.sin6_addr);
	CHECK("addr: IPv6 copied, not mapped",
	      !dgfs_addr_from_sockaddr((struct sockaddr *)&sin6, addr) &&
	      !dgfs_addr_is_v4mapped(addr) && addr[0] == 0x20 && addr[15] == 2);
	dgfs_token_mint(key00_0f, chunk, 1700000000, addr, token);
	dgfs_hex_encode(token, 8, hex);
	CHECK("token: IPv6 client vector (8ab6fc864abfb52f)", !strcmp(hex, "8ab6fc864abfb52f"));
	{
		char buf[64];

		CHECK("addr: text of an IPv6 address",
		      !strcmp(dgfs_addr_str(addr, buf, sizeof(buf)), "2001:2::2"));
		dgfs_addr_from_sockaddr((struct sockaddr *)&sin, addr);
		CHECK("addr: text of a mapped address is dotted IPv4",
		      !strcmp(dgfs_addr_str(addr, buf, sizeof(buf)), "198.18.0.2"));
	}
	sin.sin_family = AF_UNIX;
	CHECK("addr: other families refused",
	      dgfs_addr_from_sockaddr((struct sockaddr *)&sin, addr) == -1);
}

static void test_helpers(void)
{
	uint8_t b[4] = { 9, 9, 9, 9 };
	uint64_t v;
	int64_t i;
	char hex[9];

	CHECK("hex: decodes either case", !dgfs_hex_decode("0aFf10c3", b, 4) &&
	      b[0] == 0x0a && b[1] == 0xff && b[2] == 0x10 && b[3] == 0xc3);
	CHECK("hex: wrong length refused", dgfs_hex_decode("0aff10", b, 4) == -1);
	CHECK("hex: non-hex refused, output untouched",
	      dgfs_hex_decode("0aff10cg", b, 4) == -1 && b[0] == 0x0a);
	dgfs_hex_encode(b, 4, hex);
	CHECK("hex: encodes lowercase", !strcmp(hex, "0aff10c3"));
	CHECK("size: plain", !dgfs_parse_size("4096", &v) && v == 4096);
	CHECK("size: K M G", !dgfs_parse_size("4K", &v) && v == 4096 &&
	      !dgfs_parse_size("16M", &v) && v == 16u << 20 &&
	      !dgfs_parse_size("1g", &v) && v == 1u << 30);
	CHECK("size: junk refused", dgfs_parse_size("4KB", &v) && dgfs_parse_size("", &v) &&
	      dgfs_parse_size("-1", &v) && dgfs_parse_size("99999999999999999999", &v));
	CHECK("int: negative", !dgfs_parse_int("-10", &i) && i == -10);
	CHECK("int: junk refused", dgfs_parse_int("10s", &i) && dgfs_parse_int("", &i));
}

static void test_hist(void)
{
	static struct hist h, other;
	uint64_t v, p50, p99;

	CHECK("hist: empty is 0", hist_quantile(&h, 0.5) == 0);
	for (v = 1; v <= 100000; v++)
		hist_add(&h, v);
	p50 = hist_quantile(&h, 0.5);
	p99 = hist_quantile(&h, 0.99);
	CHECK("hist: p50 of 1..100000 within 2%", p50 > 49000 && p50 < 51000);
	CHECK("hist: p99 of 1..100000 within 2%", p99 > 97000 && p99 < 101000);
	CHECK("hist: small values are exact", bucket_of(77) == 77 && bucket_of(127) == 127);
	CHECK("hist: buckets are contiguous and ordered",
	      bucket_of(128) == 128 && bucket_of(129) == 128 && bucket_of(130) == 129 &&
	      bucket_of(UINT64_MAX) < HIST_BUCKETS);
	hist_add(&other, 5000000);
	hist_merge(&h, &other);
	CHECK("hist: merge adds counts and max", h.count == 100001 && h.max == 5000000 &&
	      hist_quantile(&h, 1.0) <= 5000000 && hist_quantile(&h, 1.0) > 4900000);
}

int main(void)
{
	if (dgfs_proto_init()) {
		printf("FAIL: libsodium init\n");
		return 1;
	}
	test_request();
	test_reply();
	test_siphash_vectors();
	test_token();
	test_helpers();
	test_hist();
	return failures ? 1 : 0;
}
