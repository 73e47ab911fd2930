/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfs wire protocol v1 (docs/PROTOCOL.md): encoding and validation of read
 * requests and replies, tokens, and the address and hex helpers that the
 * client, the bench and the userspace server share.
 *
 * The wire structs live in <linux/dgfs.h>; this library never casts a
 * datagram to them but reads and writes each field at its offset, so that
 * nothing depends on alignment or host byte order.
 */
#ifndef DGFS_PROTO_H
#define DGFS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/dgfs.h>

#include "hex.h"

/* The 16 bytes of a client address as the token sees it. */
#define DGFS_ADDR_LEN		16
/* chunk (32) + expiry (4) + client address (16) */
#define DGFS_TOKEN_MSG_LEN	(DGFS_CHUNK_ID_LEN + 4 + DGFS_ADDR_LEN)

/* Reply status codes: X(name, value, one-line meaning). */
#define DGFS_STATUS_TABLE(X)						\
	X(OK,    DGFS_STATUS_OK,    "success")				\
	X(NOENT, DGFS_STATUS_NOENT, "unknown chunk")			\
	X(RANGE, DGFS_STATUS_RANGE, "offset at or past the end of the chunk") \
	X(ACCES, DGFS_STATUS_ACCES, "bad, expired or missing token")	\
	X(AGAIN, DGFS_STATUS_AGAIN, "host overloaded, try again")	\
	X(IO,    DGFS_STATUS_IO,    "read error on the host")

#define DGFS_STATUS_LAST DGFS_STATUS_IO

/* Why a request is malformed: X(name, description). */
#define DGFS_MALFORMED_TABLE(X)						\
	X(SIZE,    "datagram is not 72 bytes")				\
	X(MAGIC,   "bad magic")						\
	X(VERSION, "unknown version")					\
	X(OP,      "unknown op")					\
	X(FLAGS,   "flags not zero")					\
	X(LENGTH,  "length 0 or above the max read size")

enum dgfs_malformed {
	DGFS_WELLFORMED = 0,
#define X(name, desc) DGFS_MALFORMED_##name,
	DGFS_MALFORMED_TABLE(X)
#undef X
	DGFS_MALFORMED_COUNT
};

/* A read request, in host byte order. */
struct dgfs_req {
	uint64_t req_id;
	uint8_t chunk[DGFS_CHUNK_ID_LEN];
	uint64_t offset;
	uint32_t length;
	uint32_t expiry;
	uint8_t token[DGFS_TOKEN_LEN];
};

/* A reply datagram's header, in host byte order. */
struct dgfs_reply_hdr {
	uint16_t status;
	uint64_t req_id;
	uint64_t offset;
	uint32_t total;
	uint32_t size;
};

/* Why a reply datagram is unusable (client side). */
enum dgfs_reply_err {
	DGFS_REPLY_VALID = 0,
	DGFS_REPLY_SHORT,	/* less than a header */
	DGFS_REPLY_MAGIC,
	DGFS_REPLY_VERSION,
	DGFS_REPLY_OP,
	DGFS_REPLY_STATUS,	/* unknown status */
	DGFS_REPLY_PAYLOAD,	/* payload with an error, none with OK */
	DGFS_REPLY_BOUNDS,	/* payload or total past the chunk's size */
};

/* Call once before anything else (libsodium's own initialisation). */
int dgfs_proto_init(void);

const char *dgfs_status_name(unsigned int status);	/* "NOENT"; "?" if unknown */
const char *dgfs_status_desc(unsigned int status);
const char *dgfs_malformed_name(enum dgfs_malformed why);	/* "size" */
const char *dgfs_malformed_desc(enum dgfs_malformed why);

void dgfs_req_encode(const struct dgfs_req *req, uint8_t out[DGFS_READ_REQ_LEN]);
/*
 * Validates a received datagram as a host does: DGFS_WELLFORMED with *req
 * filled in, or the first reason it is malformed (then *req is undefined).
 * @max_read is the host's max read size.
 */
enum dgfs_malformed dgfs_req_decode(const void *buf, size_t len, uint32_t max_read,
				    struct dgfs_req *req);

void dgfs_reply_encode(const struct dgfs_reply_hdr *hdr,
		       uint8_t out[DGFS_READ_REPLY_HDR_LEN]);
/*
 * Validates a reply datagram of @len bytes. On success *hdr is filled in
 * and the payload is the @len - DGFS_READ_REPLY_HDR_LEN bytes after the
 * header. Checks only what the datagram says about itself; whether it
 * answers a request of ours is the reader's business.
 */
enum dgfs_reply_err dgfs_reply_decode(const void *buf, size_t len,
				      struct dgfs_reply_hdr *hdr);

/* The 52 bytes the token covers. */
void dgfs_token_msg(const uint8_t chunk[DGFS_CHUNK_ID_LEN], uint32_t expiry,
		    const uint8_t addr[DGFS_ADDR_LEN], uint8_t msg[DGFS_TOKEN_MSG_LEN]);
void dgfs_token_mint(const uint8_t key[DGFS_AUTH_KEY_LEN],
		     const uint8_t chunk[DGFS_CHUNK_ID_LEN], uint32_t expiry,
		     const uint8_t addr[DGFS_ADDR_LEN], uint8_t token[DGFS_TOKEN_LEN]);
/* Constant-time comparison against the token minted for these values. */
bool dgfs_token_check(const uint8_t key[DGFS_AUTH_KEY_LEN],
		      const uint8_t chunk[DGFS_CHUNK_ID_LEN], uint32_t expiry,
		      const uint8_t addr[DGFS_ADDR_LEN],
		      const uint8_t token[DGFS_TOKEN_LEN]);

/* Now plus @secs (which may be negative) as a token expiry, clamped to 32 bits. */
uint32_t dgfs_expiry_from_now(int64_t secs);

/* IPv4 becomes ::ffff:a.b.c.d, IPv6 is copied; -1 for other families. */
int dgfs_addr_from_sockaddr(const struct sockaddr *sa, uint8_t addr[DGFS_ADDR_LEN]);
bool dgfs_addr_is_v4mapped(const uint8_t addr[DGFS_ADDR_LEN]);
/* Text form of a 16-byte address ("198.18.0.2" for mapped ones). */
const char *dgfs_addr_str(const uint8_t addr[DGFS_ADDR_LEN], char *buf, size_t len);


/* dgfs_size_parse (size.h) without the reason: 0 or -1. */
int dgfs_parse_size(const char *s, uint64_t *out);
/* Optionally signed decimal: 0 or -1. */
int dgfs_parse_int(const char *s, int64_t *out);

#endif /* DGFS_PROTO_H */
