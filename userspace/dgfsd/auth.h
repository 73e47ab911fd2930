/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsd's access control (docs/DGFSD.md, "Access control"), free of
 * libmicrohttpd so the unit tests can drive it: API keys (made, hashed,
 * parsed, looked up), what a key may reach (scope, path prefix), presigned
 * URLs (HMAC-SHA256 with the state directory's presign.key), and the first
 * start's admin key. http.c's routing table applies it to each request.
 *
 * A key reads "dgfs_<id>_<64 hex digits>": the id (public: it names the
 * key in `key list`, the access log and DELETE /keys/{id}) and 256 random
 * bits. meta.db keeps only the secret's SHA-256. A fast hash is enough:
 * slow, salted hashes protect guessable passwords, and 256 random bits
 * cannot be guessed, hashed slowly or not; SHA-256 keeps the per-request
 * check to about a microsecond.
 */
#ifndef DGFSD_AUTH_H
#define DGFSD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"

#define AUTH_KEY_TAG		"dgfs_"
#define AUTH_SECRET_LEN		32
/* "dgfs_" + up to 19 digits + "_" + 64 hex digits + NUL */
#define AUTH_KEY_TEXT_MAX	(5 + 19 + 1 + 2 * AUTH_SECRET_LEN + 1)
#define AUTH_PRESIGN_SECRET_LEN	32
#define AUTH_PRESIGN_SIG_HEX	64
#define AUTH_PRESIGN_TTL	3600		/* default lifetime of a presigned URL */
#define AUTH_PRESIGN_TTL_MAX	(7 * 86400)

/*
 * Makes a key of @scope, limited to @prefix ("" for none; normalised with
 * auth_prefix_normalize first) and called @name, and stores its hash: the
 * key's text into @text (AUTH_KEY_TEXT_MAX bytes), its id into *id. With
 * @first, only if meta.db never held a key (-EEXIST otherwise). An admin
 * key cannot have a prefix (-EINVAL): it manages every key. 0 or -errno.
 */
int auth_key_create(struct meta *m, enum meta_scope scope, const char *prefix,
		    const char *name, bool first, char *text, int64_t *id);

/* Parses a key's text: 0 with its id and secret, or -EINVAL. */
int auth_key_parse(const char *text, int64_t *id, uint8_t secret[AUTH_SECRET_LEN]);

/*
 * An Authorization header's value ("Bearer KEY") against meta.db: 0 with
 * the key in *k, -EACCES with *why (no such key, wrong secret, revoked,
 * malformed), or -EIO when meta.db could not be read. The stored hash is
 * compared in constant time.
 */
int auth_check_bearer(struct meta *m, const char *header, struct meta_key *k,
		      const char **why);

/*
 * A key's --prefix as given ("photos", "photos/", "a/b") into its stored
 * form "photos/", "a/b/" (@out: META_PATH_MAX + 1 bytes). It must be a
 * valid file path (docs/HTTP.md, "Paths"). NULL, or why it is refused.
 */
const char *auth_prefix_normalize(const char *in, char *out, size_t outlen);

/*
 * Whether a key limited to @prefix ("" or "dir/") reaches the file @path
 * (decoded and checked: no "..", no empty segment). Segment-bounded: the
 * prefix "a/" reaches "a/x" but not "ab/x", nor "a" itself.
 */
bool auth_path_allowed(const char *prefix, const char *path);

/*
 * A listing of @want (a listing prefix, decoded and checked) by a key
 * limited to @prefix: what may be listed into @out (@want itself, or the
 * key's prefix when @want is a shorter start of it), or -EACCES when the
 * two do not meet.
 */
int auth_list_prefix(const char *prefix, const char *want, char *out, size_t outlen);

/*
 * A presigned URL's signature: HMAC-SHA256 with @secret over the method
 * (HEAD signs as GET), the decoded file path, the expiry and the minting
 * key's id, as 64 hex digits into @hex (65 bytes).
 */
void auth_presign_sign(const uint8_t secret[AUTH_PRESIGN_SECRET_LEN], const char *method,
		       const char *path, int64_t expires, int64_t key_id, char *hex);

/*
 * Checks a presigned request's query values (expires, keyid, sig; any may
 * be NULL) for @method and @path at time @now: 0 with the key id, or
 * -EACCES with *why (missing, malformed, expired, too far ahead, bad
 * signature). The signature is compared in constant time.
 */
int auth_presign_check(const uint8_t secret[AUTH_PRESIGN_SECRET_LEN], const char *method,
		       const char *path, const char *expires, const char *keyid,
		       const char *sig, int64_t now, int64_t *key_id, const char **why);

/*
 * Start-up: the presign secret (STATE/presign.key, made if missing) and,
 * when meta.db never held a key, a new admin key written to
 * STATE/admin.key (0600, the key alone on one line). Says on stderr what it
 * made. 0 or -1 (reported).
 */
int auth_setup(const char *state_dir, struct meta *m,
	       uint8_t presign_secret[AUTH_PRESIGN_SECRET_LEN]);

#endif /* DGFSD_AUTH_H */
