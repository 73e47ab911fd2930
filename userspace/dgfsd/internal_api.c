// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster's internal API (docs/CLUSTER.md, "The internal API"):
 * PUT, GET and DELETE /internal/chunks/{id} between the hosts of a cluster, signed
 * with the cluster secret (peer.h), never with an API key. http.c checks
 * the signature before these run (internal_api_allowed).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "cluster.h"
#include "http.h"
#include "peer.h"
#include "proto/sha256.h"
#include "repair.h"

bool internal_api_allowed(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
			  const char *url, enum MHD_Result *ret)
{
	unsigned int status;
	const char *why;

	if (!d->cluster || !d->cfg.cluster_secret_len) {
		*ret = http_send_error(c, r, 403, "this host takes no cluster requests: it has "
				       "no --cluster-secret-file");
		return false;
	}
	status = peer_check(d->cfg.cluster_secret, d->cfg.cluster_secret_len, r->method, url,
			    http_header(c, PEER_DATE_HEADER),
			    http_header(c, MHD_HTTP_HEADER_AUTHORIZATION), (int64_t)time(NULL),
			    &why);
	if (status) {
		*ret = http_send_error(c, r, status, "%s", why);
		return false;
	}
	return true;
}

/* The body is in: checked against its id, then stored and recorded. */
static enum MHD_Result put_finish(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	uint8_t got[DGFS_SHA256_BYTES];
	const char *why;
	bool created;
	int ret;

	if (!r->body_len)
		return http_send_error(c, r, 400, "empty chunk");
	/* A peer, hostile or broken, cannot plant bytes under another id. */
	dgfs_sha256(got, r->body, r->body_len);
	if (memcmp(got, r->id, sizeof(got)))
		return http_send_error(c, r, 400, "the bytes' SHA-256 is not the chunk id");
	ret = chunkstore_put(d->cs, r->id, r->body, (uint32_t)r->body_len, &created);
	if (ret) {
		unsigned int status = dgfsd_errno_status(ret, &why);

		return http_send_error(c, r, status, "%s", why);
	}
	/*
	 * Recorded before the sender counts the copy. Unpinned without
	 * doom: the sender's file commits it, or the collector takes it
	 * after --orphan-ttl (and forgets the copy then).
	 */
	ret = cluster_copy_add(d->cluster, r->id);
	chunkstore_unpin(d->cs, r->id, false);
	if (ret)
		return http_send_error(c, r, 503, "cannot record the copy in the database");
	return http_send_json(c, r, created ? 201 : 200, json_pack("{s:b}", "created", created));
}

enum MHD_Result internal_chunk_put(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	(void)d;
	(void)c;
	r->finish = put_finish;
	r->body_max = DGFSD_MAX_CHUNK;	/* a larger body: 413 */
	return MHD_YES;
}

/* This host's own copy only: the asker tries the next replica on a 404. */
enum MHD_Result internal_chunk_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	int fd = chunkstore_open_chunk(d->cs, r->id);

	if (fd < 0)
		return http_send_error(c, r, 404, "no copy of this chunk here");
	return chunk_send_fd(c, r, fd);
}

/*
 * A trim: this host's copy dropped only if it finds it surplus itself
 * (repair_trim_here), so a replayed or hostile request can drop nothing
 * the cluster needs.
 */
enum MHD_Result internal_chunk_delete(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r)
{
	const char *why = "";
	unsigned int status = repair_trim_here(d, r->id, &why);

	if (status != 200)
		return http_send_error(c, r, status, "%s", why);
	return http_send_json(c, r, 200, json_pack("{s:b}", "dropped", 1));
}
