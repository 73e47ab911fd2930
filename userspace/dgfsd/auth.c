// SPDX-License-Identifier: GPL-2.0
/* dgfsd's access control: see auth.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "dgfsd.h"
#include "httputil.h"
#include "proto/hex.h"
#include "proto/sha256.h"

/* Strictly decimal digits, 1 .. INT64_MAX, no leading zero, ending at @end. */
static int parse_id(const char *s, const char *end, int64_t *out)
{
	uint64_t v = 0;

	if (s == end || *s == '0' || end - s > 19)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > INT64_MAX)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

int auth_key_parse(const char *text, int64_t *id, uint8_t secret[AUTH_SECRET_LEN])
{
	const char *p, *us;
	size_t tag = strlen(AUTH_KEY_TAG);

	if (!text || strncmp(text, AUTH_KEY_TAG, tag))
		return -EINVAL;
	p = text + tag;
	us = strchr(p, '_');
	if (!us || parse_id(p, us, id))
		return -EINVAL;
	if (strlen(us + 1) != 2 * AUTH_SECRET_LEN || dgfs_hex_decode(us + 1, secret, AUTH_SECRET_LEN))
		return -EINVAL;
	return 0;
}

int auth_key_create(struct meta *m, enum meta_scope scope, const char *prefix,
		    const char *name, bool first, char *text, int64_t *id)
{
	uint8_t secret[AUTH_SECRET_LEN];
	char hex[2 * AUTH_SECRET_LEN + 1];
	struct meta_key *k;
	int ret;

	if (!prefix)
		prefix = "";
	if (!name)
		name = "";
	if (scope < META_SCOPE_READ || scope > META_SCOPE_ADMIN ||
	    (scope == META_SCOPE_ADMIN && *prefix) || strlen(prefix) > META_PATH_MAX ||
	    strlen(name) > META_KEY_NAME_MAX)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	randombytes_buf(secret, sizeof(secret));
	dgfs_sha256(k->hash, secret, sizeof(secret));
	k->scope = scope;
	memcpy(k->prefix, prefix, strlen(prefix) + 1);
	memcpy(k->name, name, strlen(name) + 1);
	k->created = time(NULL);
	ret = meta_key_add(m, k, first);
	if (!ret) {
		dgfs_hex_encode(secret, sizeof(secret), hex);
		snprintf(text, AUTH_KEY_TEXT_MAX, AUTH_KEY_TAG "%" PRId64 "_%s", k->id, hex);
		*id = k->id;
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(hex, sizeof(hex));
	free(k);
	return ret;
}

int auth_check_bearer(struct meta *m, const char *header, struct meta_key *k,
		      const char **why)
{
	uint8_t secret[AUTH_SECRET_LEN], hash[META_KEY_HASH_LEN];
	int64_t id;
	int ret;

	/* RFC 9110: the scheme is case-insensitive, then one or more spaces. */
	if (!header || strncasecmp(header, "Bearer ", 7)) {
		*why = "expected \"Authorization: Bearer KEY\"";
		return -EACCES;
	}
	header += 7;
	while (*header == ' ')
		header++;
	if (auth_key_parse(header, &id, secret)) {
		*why = "malformed API key";
		return -EACCES;
	}
	dgfs_sha256(hash, secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	ret = meta_key_get(m, id, k);
	if (ret == -ENOENT) {
		*why = "invalid API key";
		return -EACCES;
	}
	if (ret) {
		*why = "cannot read the keys";
		return -EIO;
	}
	if (sodium_memcmp(hash, k->hash, sizeof(hash))) {
		*why = "invalid API key";
		return -EACCES;
	}
	/* Only the key's holder (the secret matched) learns it was revoked. */
	if (k->revoked) {
		*why = "API key revoked";
		return -EACCES;
	}
	return 0;
}

const char *auth_prefix_normalize(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);
	const char *why;

	while (n && in[n - 1] == '/')
		n--;
	if (!n)
		return "an empty prefix (a key for everything has none)";
	why = dgfsd_path_check(in, n, false);
	if (why)
		return why;
	if (n + 2 > outlen || n + 1 > META_PATH_MAX)
		return "path too long";
	memcpy(out, in, n);
	out[n] = '/';
	out[n + 1] = '\0';
	return NULL;
}

bool auth_path_allowed(const char *prefix, const char *path)
{
	return !strncmp(path, prefix, strlen(prefix));
}

int auth_list_prefix(const char *prefix, const char *want, char *out, size_t outlen)
{
	size_t plen = strlen(prefix), wlen = strlen(want);
	const char *pick;

	if (!strncmp(want, prefix, plen))
		pick = want;		/* within the key's reach already */
	else if (wlen < plen && !strncmp(prefix, want, wlen))
		pick = prefix;		/* broader: narrowed to what the key reaches */
	else
		return -EACCES;
	if (strlen(pick) + 1 > outlen)
		return -EACCES;
	memcpy(out, pick, strlen(pick) + 1);
	return 0;
}

void auth_presign_sign(const uint8_t secret[AUTH_PRESIGN_SECRET_LEN], const char *method,
		       const char *path, int64_t expires, int64_t key_id, char *hex)
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	char nums[64];

	/*
	 * Newline-separated: no field can hold one (a method is a token, a
	 * path has no control characters), so two different requests never
	 * sign the same bytes.
	 */
	if (!strcmp(method, "HEAD"))
		method = "GET";
	snprintf(nums, sizeof(nums), "\n%" PRId64 "\n%" PRId64, expires, key_id);
	crypto_auth_hmacsha256_init(&st, secret, AUTH_PRESIGN_SECRET_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)"dgfs-presign-1\n", 15);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)method, strlen(method));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)path, strlen(path));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)nums, strlen(nums));
	crypto_auth_hmacsha256_final(&st, mac);
	dgfs_hex_encode(mac, sizeof(mac), hex);
}

int auth_presign_check(const uint8_t secret[AUTH_PRESIGN_SECRET_LEN], const char *method,
		       const char *path, const char *expires, const char *keyid,
		       const char *sig, int64_t now, int64_t *key_id, const char **why)
{
	char want[AUTH_PRESIGN_SIG_HEX + 1];
	uint8_t a[AUTH_PRESIGN_SIG_HEX / 2], b[AUTH_PRESIGN_SIG_HEX / 2];
	int64_t exp, id;

	if (!expires || !keyid || !sig) {
		*why = "a presigned URL has expires, keyid and sig";
		return -EACCES;
	}
	if (parse_id(expires, expires + strlen(expires), &exp) ||
	    parse_id(keyid, keyid + strlen(keyid), &id) ||
	    strlen(sig) != AUTH_PRESIGN_SIG_HEX || dgfs_hex_decode(sig, b, sizeof(b))) {
		*why = "malformed presigned URL";
		return -EACCES;
	}
	auth_presign_sign(secret, method, path, exp, id, want);
	dgfs_hex_decode(want, a, sizeof(a));
	if (sodium_memcmp(a, b, sizeof(a))) {
		*why = "bad signature (for another method, path or expiry?)";
		return -EACCES;
	}
	if (now > exp) {
		*why = "presigned URL expired";
		return -EACCES;
	}
	/* dgfsd never signs further ahead; such a URL would outlive its bound. */
	if (exp - now > AUTH_PRESIGN_TTL_MAX) {
		*why = "presigned URL valid for too long";
		return -EACCES;
	}
	*key_id = id;
	return 0;
}

int auth_setup(const char *state_dir, struct meta *m,
	       uint8_t presign_secret[AUTH_PRESIGN_SECRET_LEN])
{
	char text[AUTH_KEY_TEXT_MAX + 1];
	bool created;
	int64_t id;
	int ret;

	if (state_secret(state_dir, "presign.key", presign_secret, AUTH_PRESIGN_SECRET_LEN,
			 &created))
		return -1;
	if (created)
		fprintf(stderr, "dgfsd: made the presigned URLs' secret in %s/presign.key\n",
			state_dir);
	ret = auth_key_create(m, META_SCOPE_ADMIN, "", "admin (first start)", true, text, &id);
	if (ret == -EEXIST)
		return 0;
	if (ret) {
		fprintf(stderr, "dgfsd: cannot make the first admin key: %s\n", strerror(-ret));
		return -1;
	}
	strcat(text, "\n");
	ret = state_write_private(state_dir, "admin.key", text);
	sodium_memzero(text, sizeof(text));
	if (ret) {
		/* Nobody can know this key: drop it, so the next start makes one again. */
		meta_key_delete(m, id);
		return -1;
	}
	fprintf(stderr, "dgfsd: made admin key %" PRId64 " in %s/admin.key (mode 0600); "
		"send it as \"Authorization: Bearer KEY\"\n", id, state_dir);
	return 0;
}
