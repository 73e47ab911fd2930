// SPDX-License-Identifier: GPL-2.0
/*
 * What a request gets, decided once for both ways in: the socket workers
 * (serve.c) and the AF_XDP workers (xsk.c). Validation, the token, the
 * chunk look-up and the range are checked here and counted in the
 * worker's counters, so a request is judged the same whichever way it
 * came.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "userd.h"

#define COUNT(c, name, n) atomic_fetch_add_explicit(&(c)->name, (n), memory_order_relaxed)

static void count_malformed(struct userd_counters *c, enum dgfs_malformed why)
{
	COUNT(c, malformed, 1);
	switch (why) {
	case DGFS_MALFORMED_SIZE: COUNT(c, malformed_size, 1); break;
	case DGFS_MALFORMED_MAGIC: COUNT(c, malformed_magic, 1); break;
	case DGFS_MALFORMED_VERSION: COUNT(c, malformed_version, 1); break;
	case DGFS_MALFORMED_OP: COUNT(c, malformed_op, 1); break;
	case DGFS_MALFORMED_FLAGS: COUNT(c, malformed_flags, 1); break;
	case DGFS_MALFORMED_LENGTH: COUNT(c, malformed_length, 1); break;
	default: break;
	}
}

void userd_log_refusal(const struct userd_config *cfg, const uint8_t client[DGFS_ADDR_LEN],
		       const char *what)
{
	char addr[INET6_ADDRSTRLEN];

	if (cfg->verbose)
		fprintf(stderr, "dgfs-userd: %s: %s\n",
			dgfs_addr_str(client, addr, sizeof(addr)), what);
}

enum userd_verdict userd_judge(const struct userd_config *cfg, struct userd_counters *c,
			       struct chunk_cache *chunks, const uint8_t client[DGFS_ADDR_LEN],
			       const uint8_t *buf, size_t len, bool truncated, uint64_t now,
			       uint64_t unix_now, struct userd_answer *a)
{
	enum dgfs_malformed why;
	int ret;

	memset(a, 0, sizeof(*a));
	why = truncated ? DGFS_MALFORMED_SIZE : dgfs_req_decode(buf, len, cfg->max_read, &a->req);
	if (why != DGFS_WELLFORMED) {
		/* No reply at all: the host is no reflector. */
		count_malformed(c, why);
		userd_log_refusal(cfg, client, dgfs_malformed_desc(why));
		return USERD_DROP;
	}
	COUNT(c, requests, 1);
	if (cfg->auth) {
		const char *bad = NULL;

		if (!cfg->key_set) {
			COUNT(c, token_no_key, 1);
			bad = "ACCES: no key set";
		} else if ((uint64_t)a->req.expiry < unix_now) {
			COUNT(c, token_expired, 1);
			bad = "ACCES: token expired";
		} else if ((uint64_t)a->req.expiry > unix_now + DGFS_TOKEN_MAX_LIFETIME +
						      DGFS_TOKEN_CLOCK_SKEW) {
			/* As dgfs.ko: a captured token stops working within a day. */
			COUNT(c, token_too_long, 1);
			bad = "ACCES: token lives longer than a day";
		} else if (!dgfs_token_check(cfg->key, a->req.chunk, a->req.expiry, client,
					     a->req.token)) {
			COUNT(c, token_bad, 1);
			bad = "ACCES: bad token";
		}
		if (bad) {
			COUNT(c, token_rejected, 1);
			userd_log_refusal(cfg, client, bad);
			a->status = DGFS_STATUS_ACCES;
			return USERD_STATUS;
		}
	}
	ret = chunk_cache_get(chunks, a->req.chunk, now, &a->ch);
	if (ret == -ENOENT) {
		COUNT(c, noent, 1);
		userd_log_refusal(cfg, client, "NOENT");
		a->status = DGFS_STATUS_NOENT;
		return USERD_STATUS;
	}
	/* A file the 32-bit size field cannot describe is not servable. */
	if (ret || a->ch.size > UINT32_MAX) {
		COUNT(c, io_errors, 1);
		userd_log_refusal(cfg, client, ret ? strerror(-ret)
						   : "IO: chunk file larger than 4 GiB");
		a->status = DGFS_STATUS_IO;
		a->size = ret ? 0 : a->ch.size;
		return USERD_STATUS;
	}
	if (a->req.offset >= a->ch.size) {
		COUNT(c, range, 1);
		userd_log_refusal(cfg, client, "RANGE");
		a->status = DGFS_STATUS_RANGE;
		a->size = a->ch.size;
		return USERD_STATUS;
	}
	a->total = (uint32_t)(a->req.length < a->ch.size - a->req.offset
			      ? a->req.length : a->ch.size - a->req.offset);
	return USERD_DATA;
}
