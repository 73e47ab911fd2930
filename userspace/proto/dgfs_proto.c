// SPDX-License-Identifier: GPL-2.0
/* dgfs wire protocol v1: requests, replies, tokens and small helpers. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "size.h"
#include "dgfs_proto.h"

/* The wire offsets of every field (docs/PROTOCOL.md). */
enum {
	REQ_MAGIC = 0, REQ_VERSION = 4, REQ_OP = 5, REQ_FLAGS = 6,
	REQ_ID = 8, REQ_CHUNK = 16, REQ_OFFSET = 48, REQ_LENGTH = 56,
	REQ_EXPIRY = 60, REQ_TOKEN = 64,
};
enum {
	REP_MAGIC = 0, REP_VERSION = 4, REP_OP = 5, REP_STATUS = 6,
	REP_ID = 8, REP_OFFSET = 16, REP_TOTAL = 24, REP_SIZE = 28,
};

_Static_assert(sizeof(struct dgfs_read_req) == DGFS_READ_REQ_LEN, "request size");
_Static_assert(sizeof(struct dgfs_read_reply) == DGFS_READ_REPLY_HDR_LEN, "reply size");
_Static_assert(offsetof(struct dgfs_read_req, token) == REQ_TOKEN, "token offset");
_Static_assert(offsetof(struct dgfs_read_req, expiry) == REQ_EXPIRY, "expiry offset");
_Static_assert(offsetof(struct dgfs_read_reply, size) == REP_SIZE, "size offset");
_Static_assert(crypto_shorthash_siphash24_KEYBYTES == DGFS_AUTH_KEY_LEN, "key size");
_Static_assert(crypto_shorthash_siphash24_BYTES == DGFS_TOKEN_LEN, "token size");

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

int dgfs_proto_init(void)
{
	/* 1 means "already initialised", which is fine too. */
	return sodium_init() < 0 ? -1 : 0;
}

struct status_info {
	const char *name;
	const char *desc;
};

static const struct status_info status_info[] = {
#define X(name, value, desc) [value] = { #name, desc },
	DGFS_STATUS_TABLE(X)
#undef X
};

const char *dgfs_status_name(unsigned int status)
{
	return status <= DGFS_STATUS_LAST ? status_info[status].name : "?";
}

const char *dgfs_status_desc(unsigned int status)
{
	return status <= DGFS_STATUS_LAST ? status_info[status].desc : "unknown status";
}

static const struct {
	const char *name;
	const char *desc;
} malformed_info[DGFS_MALFORMED_COUNT] = {
	[DGFS_WELLFORMED] = { "none", "well-formed" },
#define X(name, desc) [DGFS_MALFORMED_##name] = { #name, desc },
	DGFS_MALFORMED_TABLE(X)
#undef X
};

const char *dgfs_malformed_name(enum dgfs_malformed why)
{
	return (unsigned int)why < DGFS_MALFORMED_COUNT ? malformed_info[why].name : "?";
}

const char *dgfs_malformed_desc(enum dgfs_malformed why)
{
	return (unsigned int)why < DGFS_MALFORMED_COUNT ? malformed_info[why].desc : "?";
}

void dgfs_req_encode(const struct dgfs_req *req, uint8_t out[DGFS_READ_REQ_LEN])
{
	put32(out + REQ_MAGIC, DGFS_PROTO_MAGIC);
	out[REQ_VERSION] = DGFS_PROTO_VERSION;
	out[REQ_OP] = DGFS_OP_READ;
	put16(out + REQ_FLAGS, 0);
	put64(out + REQ_ID, req->req_id);
	memcpy(out + REQ_CHUNK, req->chunk, DGFS_CHUNK_ID_LEN);
	put64(out + REQ_OFFSET, req->offset);
	put32(out + REQ_LENGTH, req->length);
	put32(out + REQ_EXPIRY, req->expiry);
	memcpy(out + REQ_TOKEN, req->token, DGFS_TOKEN_LEN);
}

enum dgfs_malformed dgfs_req_decode(const void *buf, size_t len, uint32_t max_read,
				    struct dgfs_req *req)
{
	const uint8_t *p = buf;

	if (len != DGFS_READ_REQ_LEN)
		return DGFS_MALFORMED_SIZE;
	if (get32(p + REQ_MAGIC) != DGFS_PROTO_MAGIC)
		return DGFS_MALFORMED_MAGIC;
	if (p[REQ_VERSION] != DGFS_PROTO_VERSION)
		return DGFS_MALFORMED_VERSION;
	if (p[REQ_OP] != DGFS_OP_READ)
		return DGFS_MALFORMED_OP;
	if (get16(p + REQ_FLAGS) != 0)
		return DGFS_MALFORMED_FLAGS;
	req->length = get32(p + REQ_LENGTH);
	if (req->length == 0 || req->length > max_read)
		return DGFS_MALFORMED_LENGTH;
	req->req_id = get64(p + REQ_ID);
	memcpy(req->chunk, p + REQ_CHUNK, DGFS_CHUNK_ID_LEN);
	req->offset = get64(p + REQ_OFFSET);
	req->expiry = get32(p + REQ_EXPIRY);
	memcpy(req->token, p + REQ_TOKEN, DGFS_TOKEN_LEN);
	return DGFS_WELLFORMED;
}

void dgfs_reply_encode(const struct dgfs_reply_hdr *hdr,
		       uint8_t out[DGFS_READ_REPLY_HDR_LEN])
{
	put32(out + REP_MAGIC, DGFS_PROTO_MAGIC);
	out[REP_VERSION] = DGFS_PROTO_VERSION;
	out[REP_OP] = DGFS_OP_READ_REPLY;
	put16(out + REP_STATUS, hdr->status);
	put64(out + REP_ID, hdr->req_id);
	put64(out + REP_OFFSET, hdr->offset);
	put32(out + REP_TOTAL, hdr->total);
	put32(out + REP_SIZE, hdr->size);
}

enum dgfs_reply_err dgfs_reply_decode(const void *buf, size_t len,
				      struct dgfs_reply_hdr *hdr)
{
	const uint8_t *p = buf;
	size_t payload;

	if (len < DGFS_READ_REPLY_HDR_LEN)
		return DGFS_REPLY_SHORT;
	if (get32(p + REP_MAGIC) != DGFS_PROTO_MAGIC)
		return DGFS_REPLY_MAGIC;
	if (p[REP_VERSION] != DGFS_PROTO_VERSION)
		return DGFS_REPLY_VERSION;
	if (p[REP_OP] != DGFS_OP_READ_REPLY)
		return DGFS_REPLY_OP;
	hdr->status = get16(p + REP_STATUS);
	if (hdr->status > DGFS_STATUS_LAST)
		return DGFS_REPLY_STATUS;
	hdr->req_id = get64(p + REP_ID);
	hdr->offset = get64(p + REP_OFFSET);
	hdr->total = get32(p + REP_TOTAL);
	hdr->size = get32(p + REP_SIZE);
	payload = len - DGFS_READ_REPLY_HDR_LEN;
	if ((hdr->status == DGFS_STATUS_OK) != (payload > 0))
		return DGFS_REPLY_PAYLOAD;
	if (hdr->status == DGFS_STATUS_OK &&
	    (payload > hdr->total || hdr->total > hdr->size ||
	     hdr->offset > hdr->size || payload > hdr->size - hdr->offset))
		return DGFS_REPLY_BOUNDS;
	return DGFS_REPLY_VALID;
}

void dgfs_token_msg(const uint8_t chunk[DGFS_CHUNK_ID_LEN], uint32_t expiry,
		    const uint8_t addr[DGFS_ADDR_LEN], uint8_t msg[DGFS_TOKEN_MSG_LEN])
{
	memcpy(msg, chunk, DGFS_CHUNK_ID_LEN);
	put32(msg + DGFS_CHUNK_ID_LEN, expiry);
	memcpy(msg + DGFS_CHUNK_ID_LEN + 4, addr, DGFS_ADDR_LEN);
}

void dgfs_token_mint(const uint8_t key[DGFS_AUTH_KEY_LEN],
		     const uint8_t chunk[DGFS_CHUNK_ID_LEN], uint32_t expiry,
		     const uint8_t addr[DGFS_ADDR_LEN], uint8_t token[DGFS_TOKEN_LEN])
{
	uint8_t msg[DGFS_TOKEN_MSG_LEN];

	dgfs_token_msg(chunk, expiry, addr, msg);
	crypto_shorthash_siphash24(token, msg, sizeof(msg), key);
}

bool dgfs_token_check(const uint8_t key[DGFS_AUTH_KEY_LEN],
		      const uint8_t chunk[DGFS_CHUNK_ID_LEN], uint32_t expiry,
		      const uint8_t addr[DGFS_ADDR_LEN],
		      const uint8_t token[DGFS_TOKEN_LEN])
{
	uint8_t want[DGFS_TOKEN_LEN];

	dgfs_token_mint(key, chunk, expiry, addr, want);
	return sodium_memcmp(want, token, DGFS_TOKEN_LEN) == 0;
}

uint32_t dgfs_expiry_from_now(int64_t secs)
{
	int64_t t = (int64_t)time(NULL);

	if (secs > (int64_t)UINT32_MAX)
		return UINT32_MAX;
	if (secs < -(int64_t)UINT32_MAX)
		return 0;
	t += secs;
	return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int dgfs_addr_from_sockaddr(const struct sockaddr *sa, uint8_t addr[DGFS_ADDR_LEN])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memset(addr, 0, 10);
		addr[10] = 0xff;
		addr[11] = 0xff;
		memcpy(addr + 12, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, DGFS_ADDR_LEN);
		return 0;
	}
	return -1;
}

bool dgfs_addr_is_v4mapped(const uint8_t addr[DGFS_ADDR_LEN])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(addr, prefix, sizeof(prefix));
}

const char *dgfs_addr_str(const uint8_t addr[DGFS_ADDR_LEN], char *buf, size_t len)
{
	const char *s;

	if (dgfs_addr_is_v4mapped(addr))
		s = inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len);
	else
		s = inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
	if (!s && len)
		snprintf(buf, len, "?");
	return buf;
}

int dgfs_parse_size(const char *s, uint64_t *out)
{
	return dgfs_size_parse(s, out) ? -1 : 0;
}

int dgfs_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}
