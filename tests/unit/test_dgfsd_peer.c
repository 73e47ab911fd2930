// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the cluster's request signature (userspace/dgfsd/peer.c):
 * what peer_sign() makes, peer_check() takes, and everything else it
 * refuses with 401 or 403; and the fast-path key every host of a cluster
 * derives from the secret (peer_fastpath_key()).
 */

/* expect-checks: 13 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "dgfsd/peer.c"

#include "check.h"

static const uint8_t secret[] = "0123456789abcdef0123456789abcdef-the-cluster";
static const uint8_t other[] = "0123456789abcdef0123456789abcdef-another-one";
#define SLEN (sizeof(secret) - 1)
#define PATH "/internal/chunks/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static unsigned int try(const char *method, const char *path, const char *date,
			const char *auth, int64_t now)
{
	const char *why = NULL;
	unsigned int st = peer_check(secret, SLEN, method, path, date, auth, now, &why);

	return st && !why ? 999 : st;	/* a refusal always says why */
}

int main(void)
{
	char sig[PEER_SIG_HEX + 1], auth[128], bad[128], hex[2 * DGFS_AUTH_KEY_LEN + 1];
	uint8_t key[DGFS_AUTH_KEY_LEN], key2[DGFS_AUTH_KEY_LEN];
	int64_t now = 1800000000;

	if (sodium_init() < 0)
		return 1;
	peer_sign(secret, SLEN, "PUT", PATH, now, sig);
	snprintf(auth, sizeof(auth), PEER_AUTH_SCHEME "%s", sig);
	CHECK("a signature is 64 hex digits", strlen(sig) == 64 && strspn(sig, "0123456789abcdef") == 64);
	CHECK("its own request passes", try("PUT", PATH, "1800000000", auth, now) == 0);
	CHECK("... also 299 s either way", try("PUT", PATH, "1800000000", auth, now + 299) == 0 &&
	      try("PUT", PATH, "1800000000", auth, now - 299) == 0);
	CHECK("no Authorization: 401", try("PUT", PATH, "1800000000", NULL, now) == 401);
	CHECK("an API key (Bearer): 401",
	      try("PUT", PATH, "1800000000", "Bearer dgfs_1_00", now) == 401);
	CHECK("no date, or not a number: 403", try("PUT", PATH, NULL, auth, now) == 403 &&
	      try("PUT", PATH, "18e8", auth, now) == 403 && try("PUT", PATH, "", auth, now) == 403);
	CHECK("a date 301 s off: 403", try("PUT", PATH, "1800000000", auth, now + 301) == 403 &&
	      try("PUT", PATH, "1800000000", auth, now - 301) == 403);
	CHECK("another method or path: 403", try("GET", PATH, "1800000000", auth, now) == 403 &&
	      try("PUT", "/internal/chunks/ff", "1800000000", auth, now) == 403);
	CHECK("the signature of another date: 403", try("PUT", PATH, "1800000001", auth, now) == 403);
	peer_sign(other, sizeof(other) - 1, "PUT", PATH, now, sig);
	snprintf(bad, sizeof(bad), PEER_AUTH_SCHEME "%s", sig);
	CHECK("another secret's signature: 403", try("PUT", PATH, "1800000000", bad, now) == 403);
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(auth) - 1, auth);
	CHECK("a cut or lengthened signature: 403",
	      try("PUT", PATH, "1800000000", bad, now) == 403 &&
	      (strcat(strcpy(bad, auth), "0"), try("PUT", PATH, "1800000000", bad, now) == 403));

	/* Python's hmac.new(secret, b"dgfs fast-path auth key v1", sha256), cut to 16 bytes. */
	peer_fastpath_key(secret, SLEN, key);
	dgfs_hex_encode(key, sizeof(key), hex);
	CHECK("the fast-path key is HMAC-SHA256(secret, label)'s first 16 bytes",
	      !strcmp(hex, "8aeec86bb06dfbc7cc3eb81411fcface"));
	peer_fastpath_key(other, sizeof(other) - 1, key2);
	dgfs_hex_encode(key2, sizeof(key2), hex);
	CHECK("... another secret's is another key",
	      !strcmp(hex, "800b00b15a76bb0db0f4688660e78be8") && memcmp(key, key2, sizeof(key)));
	return failures ? 1 : 0;
}
