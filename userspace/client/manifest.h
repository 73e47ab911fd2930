/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A file's manifest as dgfs get reads it (GET /files/{path}?manifest;
 * docs/HTTP.md, docs/PROTOCOL.md "Replicas in a manifest"): its chunks,
 * and for each the fast-path hosts to try, in order. Everything in it is
 * the server's word: whatever does not follow the format, or passes the
 * bounds below, is refused with a reason, never trusted.
 */
#ifndef DGFS_CLIENT_MANIFEST_H
#define DGFS_CLIENT_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto/dgfs_proto.h"
#include "proto/sha256.h"

/* A chunk larger than this is nonsense (FastCDC cuts at 4 MiB). */
#define MANIFEST_MAX_CHUNK	(64u << 20)
/* dgfsd keeps at most 16 copies of a chunk (--replicas). */
#define MANIFEST_MAX_REPLICAS	16
/* Fast-path hosts one manifest may name. */
#define MANIFEST_MAX_HOSTS	4096
#define MANIFEST_HOST_LEN	255	/* a DNS name's longest */
#define MANIFEST_ID_LEN		63	/* dgfsd's host ids */

struct mf_host {
	char id[MANIFEST_ID_LEN + 1];	/* the host's cluster id; "" if not given */
	char host[MANIFEST_HOST_LEN + 1];
	uint16_t port;
};

struct mf_chunk {
	uint64_t offset;
	uint32_t size;
	uint32_t rep;			/* its replicas: reps[rep .. rep + nrep) */
	uint8_t nrep;
	uint8_t id[DGFS_CHUNK_ID_LEN];
	uint8_t token[DGFS_TOKEN_LEN];
};

struct manifest {
	uint64_t size;
	uint8_t etag[DGFS_SHA256_BYTES];
	struct mf_chunk *chunks;
	size_t n;
	/* The fast path: none offered (or not wanted) when !fast. */
	bool fast;
	bool lists;			/* the chunks listed their replicas */
	uint32_t expiry;
	uint32_t max_read;		/* 0: not given */
	struct mf_host *hosts;
	size_t nhosts;
	uint16_t *reps;			/* indices into hosts */
	size_t nreps;
};

struct manifest_opts {
	bool fast;			/* parse the fast path (not --http-only) */
	const char *fast_host;		/* --fast-host: this one host for every chunk */
	uint16_t fast_port;		/* --fast-port (0: none) */
};

/*
 * Parses @j into @m (zeroed first). 0, or -1 with the reason in @why ("a
 * chunk without a valid id", "chunk 3 lists host 7 twice"...), @m then
 * to be freed all the same. Without replica lists, or with --fast-host
 * or --fast-port, every chunk has the one host fastpath.host (port).
 */
int manifest_parse(json_t *j, const struct manifest_opts *o, struct manifest *m, char *why,
		   size_t whylen);
void manifest_free(struct manifest *m);

#endif /* DGFS_CLIENT_MANIFEST_H */
