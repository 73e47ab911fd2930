// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the wire protocol's decoders (userspace/proto/dgfs_proto.c),
 * which every host (dgfs-userd, dgfsd's UDP tier) and every client run on
 * datagrams from anyone.
 *
 * The input is one datagram. Besides the sanitizers, it checks what the
 * decoders promise: a request accepted is one the encoder writes back
 * byte for byte, with a length in 1..max_read; a reply accepted re-encodes
 * to the same header and its payload lies inside the chunk it claims.
 * The same bytes, cut at the first NUL, go through the size and integer
 * parsers of the command-line tools.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dgfs_proto.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_proto: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static void fuzz_request(const uint8_t *data, size_t size)
{
	uint8_t out[DGFS_READ_REQ_LEN];
	struct dgfs_req req;
	/* The host's max read varies with its config: take it from the input. */
	uint32_t max_read = size >= 4 ? (uint32_t)data[size - 1] << 12 | data[size - 2] : 4096;
	enum dgfs_malformed why;

	why = dgfs_req_decode(data, size, max_read, &req);
	CHECK(why < DGFS_MALFORMED_COUNT);
	CHECK(dgfs_malformed_name(why) && dgfs_malformed_desc(why));
	if (why != DGFS_WELLFORMED) {
		CHECK(why != DGFS_MALFORMED_SIZE || size != DGFS_READ_REQ_LEN);
		return;
	}
	CHECK(size == DGFS_READ_REQ_LEN);
	CHECK(req.length >= 1 && req.length <= max_read);
	dgfs_req_encode(&req, out);
	CHECK(memcmp(out, data, DGFS_READ_REQ_LEN) == 0);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
	uint8_t out[DGFS_READ_REPLY_HDR_LEN];
	struct dgfs_reply_hdr hdr;
	enum dgfs_reply_err err;
	uint64_t payload;

	err = dgfs_reply_decode(data, size, &hdr);
	if (err != DGFS_REPLY_VALID) {
		CHECK(err <= DGFS_REPLY_BOUNDS);
		CHECK(err != DGFS_REPLY_SHORT || size < DGFS_READ_REPLY_HDR_LEN);
		return;
	}
	CHECK(size >= DGFS_READ_REPLY_HDR_LEN);
	CHECK(hdr.status <= DGFS_STATUS_LAST);
	CHECK(strcmp(dgfs_status_name(hdr.status), "?") != 0);
	payload = size - DGFS_READ_REPLY_HDR_LEN;
	if (hdr.status == DGFS_STATUS_OK) {
		CHECK(payload > 0);
		CHECK(payload <= hdr.total && hdr.total <= hdr.size);
		CHECK(hdr.offset + payload <= hdr.size);
	} else {
		CHECK(payload == 0);
	}
	dgfs_reply_encode(&hdr, out);
	CHECK(memcmp(out, data, DGFS_READ_REPLY_HDR_LEN) == 0);
}

static void fuzz_numbers(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t u;
	int64_t i;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (dgfs_parse_size(s, &u) == 0) {
		/* Digits, then at most one suffix letter. */
		size_t n = strspn(s, "0123456789");

		CHECK(n > 0 && strlen(s) <= n + 1);
		CHECK(s[n] || u == strtoull(s, NULL, 10));
	}
	if (dgfs_parse_int(s, &i) == 0)
		CHECK(i == strtoll(s, NULL, 10));
	free(s);
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
	fuzz_request(data, size);
	fuzz_reply(data, size);
	fuzz_numbers(data, size);
	return 0;
}
