/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Requests between the dgfsds of a cluster (peer.c, docs/CLUSTER.md, "The
 * internal API"): chunks sent to their owners and fetched from replicas,
 * signed with the cluster secret.
 *
 * A request carries X-Dgfs-Date (Unix seconds) and
 * "Authorization: DGFS-Cluster HEX", HEX being HMAC-SHA256 under the
 * secret of "METHOD\nPATH\nDATE". A signature rather than the secret
 * itself: hosts that serve plain HTTP talk it to each other too, and a
 * signature seen on the wire opens nothing but the same method on the
 * same chunk for PEER_AUTH_SKEW seconds, which for a content-addressed
 * chunk changes nothing (and a DELETE, a trim, is done only if the
 * receiver finds its copy surplus itself, whoever asks). A host that serves HTTPS (--tls-cert) says so in
 * the hosts table and is called over HTTPS, its certificate verified
 * (--cluster-ca, or the system's CAs); with --cluster-ca a host talks to
 * HTTPS hosts only. The receiver compares in constant time (libsodium's
 * verify).
 */
#ifndef DGFSD_PEER_H
#define DGFSD_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "dgfsd.h"

#define PEER_AUTH_SKEW		300	/* seconds a signed request stays good, either way */
#define PEER_SIG_HEX		64
#define PEER_DATE_HEADER	"X-Dgfs-Date"
#define PEER_AUTH_SCHEME	"DGFS-Cluster "
/* An owner or replica that does not answer in time is passed over. */
#define PEER_CONNECT_MS		1000
#define PEER_REQUEST_MS		5000

/* The signature of @method @path at @date, hex, NUL-terminated. */
void peer_sign(const uint8_t *secret, size_t secret_len, const char *method, const char *path,
	       int64_t date, char out[PEER_SIG_HEX + 1]);

/*
 * Checks a request's X-Dgfs-Date (@date) and Authorization (@auth)
 * headers at time @now: 0, 401 (no signature at all, or an API key), or
 * 403 (a wrong or stale one), with *why.
 */
unsigned int peer_check(const uint8_t *secret, size_t secret_len, const char *method,
			const char *path, const char *date, const char *auth, int64_t now,
			const char **why);

/*
 * The fast path's auth key of a cluster: the first DGFS_AUTH_KEY_LEN
 * bytes of HMAC-SHA256 under the secret of PEER_FASTPATH_KEY_LABEL. Every
 * host with the secret has the same key, so a token one host mints in a
 * manifest is good on every replica. A label no request signature signs
 * (those begin with a method and a newline).
 */
#define PEER_FASTPATH_KEY_LABEL	"dgfs fast-path auth key v1"
void peer_fastpath_key(const uint8_t *secret, size_t secret_len, uint8_t key[DGFS_AUTH_KEY_LEN]);

/* libcurl's global state: once, before any thread. 0 or -1. */
int peer_init(void);
void peer_cleanup(void);

/*
 * PUT /internal/chunks/ID to host @to (over HTTPS when it serves it): 0
 * once the peer said it holds the chunk durably (200 or 201), else -errno
 * (-EHOSTUNREACH: no answer in time, or its certificate failed; -EIO: it
 * refused; -EPROTO: it serves plain HTTP and --cluster-ca wants TLS).
 */
int peer_put_chunk(const struct dgfsd_config *cfg, const struct cluster_member *to,
		   const uint8_t id[DGFS_CHUNK_ID_LEN], const void *data, uint32_t len);

/*
 * GET /internal/chunks/ID from the peer into @buf (@cap bytes): its
 * length once its SHA-256 is @id, else -errno (-ENOENT: the peer lacks
 * it; -EBADMSG: wrong bytes; -EHOSTUNREACH, -EIO, -EPROTO as for a PUT).
 */
long peer_get_chunk(const struct dgfsd_config *cfg, const struct cluster_member *from,
		    const uint8_t id[DGFS_CHUNK_ID_LEN], uint8_t *buf, size_t cap);

/*
 * DELETE /internal/chunks/ID on host @at: asks it to drop its copy as
 * surplus, which it does only once it found the copy surplus itself
 * (repair_trim_here()). 200 once dropped, the status of its refusal (404:
 * it has none; 409: not surplus, or kept for now; 503), or -errno as for a
 * PUT.
 */
long peer_trim_chunk(const struct dgfsd_config *cfg, const struct cluster_member *at,
		     const uint8_t id[DGFS_CHUNK_ID_LEN]);

#endif /* DGFSD_PEER_H */
