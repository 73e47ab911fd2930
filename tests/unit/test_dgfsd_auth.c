// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfsd's access control (userspace/dgfsd/auth.c) on a real
 * meta.db in a temporary directory: keys made, stored hashed, parsed and
 * checked (every way a Bearer header is refused, revocation), prefixes
 * (normalised, segment-bounded, listings clamped), presigned URLs (every
 * field tampered, expiry, lifetime bound), and the first start's admin
 * key and presign secret (modes, kept across starts, made again when
 * admin.key could not be written). The keys and the first start run
 * again with the metadata in PostgreSQL (a server the test starts,
 * pg_server.h). One line per check, PASS or FAIL.
 */

/* expect-checks: 117 (tests/run-all.sh: a run that prints fewer fails) */
#include "proto/hex.c"
#include "dgfsd/httputil.c"
#include "meta_sources.h"
#include "dgfsd/state.c"
#include "dgfsd/auth.c"

#include <ftw.h>
#include <sys/stat.h>

#include "check.h"
#include "pg_server.h"

static char tmpdir[64];

/* ids[0] counts the keys walked; their ids follow. */
static int count_key(const struct meta_key *k, void *arg)
{
	int64_t *ids = arg;

	ids[ids[0] < 8 ? ++ids[0] : 0] = k->id;
	return 0;
}

static bool bearer_refused(struct meta *m, const char *hdr, const char *want_why)
{
	struct meta_key k;
	const char *why = NULL;

	return auth_check_bearer(m, hdr, &k, &why) == -EACCES && why &&
	       (!want_why || !strcmp(why, want_why));
}

static bool bearer_ok(struct meta *m, const char *key, int64_t id, enum meta_scope scope)
{
	char hdr[AUTH_KEY_TEXT_MAX + 16];
	struct meta_key k;
	const char *why;

	snprintf(hdr, sizeof(hdr), "Bearer %s", key);
	return !auth_check_bearer(m, hdr, &k, &why) && k.id == id && k.scope == scope;
}

static void test_keys(struct meta *m)
{
	char admin[AUTH_KEY_TEXT_MAX], reader[AUTH_KEY_TEXT_MAX], hdr[256], bad[256];
	uint8_t secret[AUTH_SECRET_LEN], hash[META_KEY_HASH_LEN];
	int64_t aid = 0, rid = 0, id;
	struct meta_key k;

	CHECK("key: an admin key is made",
	      !auth_key_create(m, META_SCOPE_ADMIN, "", "root", false, admin, &aid) && aid > 0);
	CHECK("key: its text is dgfs_<id>_<64 hex digits>",
	      !strncmp(admin, "dgfs_", 5) && strlen(admin) == 5 + strlen("1") + 1 + 64);
	CHECK("key: an admin key with a prefix is refused",
	      auth_key_create(m, META_SCOPE_ADMIN, "a/", "", false, bad, &id) == -EINVAL);
	CHECK("key: a key without a scope is refused",
	      auth_key_create(m, META_SCOPE_NONE, "", "", false, bad, &id) == -EINVAL);
	CHECK("key: a read key limited to a/b/ is made",
	      !auth_key_create(m, META_SCOPE_READ, "a/b/", NULL, false, reader, &rid) &&
	      rid == aid + 1);
	CHECK("key: parse gives the id and secret back",
	      !auth_key_parse(reader, &id, secret) && id == rid);
	dgfs_sha256(hash, secret, sizeof(secret));
	CHECK("key: meta.db holds the secret's SHA-256, not the secret",
	      !meta_key_get(m, rid, &k) && !memcmp(k.hash, hash, sizeof(hash)) &&
	      memcmp(k.hash, secret, sizeof(secret)) && !strcmp(k.prefix, "a/b/"));
	CHECK("key: two keys have different secrets", strcmp(admin + 7, reader + 7));

	CHECK("bearer: the admin key is accepted", bearer_ok(m, admin, aid, META_SCOPE_ADMIN));
	CHECK("bearer: the read key is accepted", bearer_ok(m, reader, rid, META_SCOPE_READ));
	snprintf(hdr, sizeof(hdr), "bearer   %s", reader);
	CHECK("bearer: the scheme is case-insensitive, spaces after it skipped",
	      !auth_check_bearer(m, hdr, &k, &(const char *){ NULL }) && k.id == rid);
	snprintf(bad, sizeof(bad), "Bearer %s", reader);
	/* One hex digit of the secret changed to another value: flipping a
	 * bit could make 'a' a '`' (not hex: refused as malformed, another
	 * message) one run in eight.
	 */
	{
		char *c = &bad[strlen(bad) - 1];

		*c = *c == '0' ? '1' : '0';
	}
	CHECK("bearer: a wrong secret is refused", bearer_refused(m, bad, "invalid API key"));
	snprintf(bad, sizeof(bad), "Bearer dgfs_%lld_%s", (long long)aid, reader + 7);
	CHECK("bearer: one key's secret under another's id is refused",
	      bearer_refused(m, bad, "invalid API key"));
	snprintf(bad, sizeof(bad), "Bearer dgfs_999_%s", reader + 7);
	CHECK("bearer: an unknown id is refused", bearer_refused(m, bad, "invalid API key"));
	CHECK("bearer: no header", bearer_refused(m, NULL, NULL));
	snprintf(bad, sizeof(bad), "Basic %s", reader);
	CHECK("bearer: another scheme", bearer_refused(m, bad, NULL));
	CHECK("bearer: an empty key", bearer_refused(m, "Bearer ", "malformed API key"));
	snprintf(bad, sizeof(bad), "Bearer %s ", reader);
	CHECK("bearer: a trailing space", bearer_refused(m, bad, "malformed API key"));
	snprintf(bad, sizeof(bad), "Bearer %.*s", (int)strlen(reader) - 1, reader);
	CHECK("bearer: a short secret", bearer_refused(m, bad, "malformed API key"));
	snprintf(bad, sizeof(bad), "Bearer %sa", reader);
	CHECK("bearer: a long secret", bearer_refused(m, bad, "malformed API key"));
	snprintf(bad, sizeof(bad), "Bearer dgfs_0%s", reader + 5);
	CHECK("bearer: an id with a leading zero", bearer_refused(m, bad, "malformed API key"));
	snprintf(bad, sizeof(bad), "Bearer DGFS_%s", reader + 5);
	CHECK("bearer: another tag", bearer_refused(m, bad, "malformed API key"));
	snprintf(bad, sizeof(bad), "Bearer dgfs_99999999999999999999_%s", reader + 7);
	CHECK("bearer: an id past int64", bearer_refused(m, bad, "malformed API key"));

	CHECK("revoke: the read key", !meta_key_revoke(m, rid, 1));
	snprintf(hdr, sizeof(hdr), "Bearer %s", reader);
	CHECK("bearer: a revoked key is refused, saying so",
	      bearer_refused(m, hdr, "API key revoked"));
	CHECK("bearer: the admin key still works", bearer_ok(m, admin, aid, META_SCOPE_ADMIN));
}

static bool norm_is(const char *in, const char *want)
{
	char out[META_PATH_MAX + 1];

	return !auth_prefix_normalize(in, out, sizeof(out)) && !strcmp(out, want);
}

static bool norm_refused(const char *in)
{
	char out[META_PATH_MAX + 1];

	return auth_prefix_normalize(in, out, sizeof(out)) != NULL;
}

static bool list_is(const char *prefix, const char *want, const char *got)
{
	char out[META_PATH_MAX + 1];

	if (!got)
		return auth_list_prefix(prefix, want, out, sizeof(out)) == -EACCES;
	return !auth_list_prefix(prefix, want, out, sizeof(out)) && !strcmp(out, got);
}

static void test_prefixes(void)
{
	char longp[META_PATH_MAX + 2];

	CHECK("prefix: \"a\" is stored \"a/\"", norm_is("a", "a/"));
	CHECK("prefix: \"a/b/\" stays", norm_is("a/b/", "a/b/"));
	CHECK("prefix: \"a/b//\" loses its trailing slashes", norm_is("a/b//", "a/b/"));
	CHECK("prefix: \"%2e%2e\" is a name here, not encoded", norm_is("%2e%2e", "%2e%2e/"));
	CHECK("prefix: empty refused", norm_refused(""));
	CHECK("prefix: \"/\" refused", norm_refused("/"));
	CHECK("prefix: a leading slash refused", norm_refused("/a"));
	CHECK("prefix: \"..\" refused", norm_refused("a/../b"));
	CHECK("prefix: \".\" refused", norm_refused("./a"));
	CHECK("prefix: an empty segment refused", norm_refused("a//b"));
	CHECK("prefix: a control character refused", norm_refused("a\nb"));
	CHECK("prefix: bad UTF-8 refused", norm_refused("a\xff"));
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	CHECK("prefix: too long refused", norm_refused(longp));

	CHECK("allowed: everything without a prefix", auth_path_allowed("", "x/y"));
	CHECK("allowed: a/x under a/", auth_path_allowed("a/", "a/x"));
	CHECK("allowed: a/b/c under a/", auth_path_allowed("a/", "a/b/c"));
	CHECK("allowed: not ab/x under a/ (segment bound)", !auth_path_allowed("a/", "ab/x"));
	CHECK("allowed: not the file a itself under a/", !auth_path_allowed("a/", "a"));
	CHECK("allowed: not b under a/", !auth_path_allowed("a/", "b"));

	CHECK("list: no key prefix lists what was asked", list_is("", "x", "x"));
	CHECK("list: everything, by an a/b/ key, is a/b/", list_is("a/b/", "", "a/b/"));
	CHECK("list: \"a\" by an a/b/ key is a/b/", list_is("a/b/", "a", "a/b/"));
	CHECK("list: \"a/b\" by an a/b/ key is a/b/", list_is("a/b/", "a/b", "a/b/"));
	CHECK("list: \"a/b/c\" by an a/b/ key stays", list_is("a/b/", "a/b/c", "a/b/c"));
	CHECK("list: \"a/bc\" by an a/b/ key is refused", list_is("a/b/", "a/bc", NULL));
	CHECK("list: \"a/c\" by an a/b/ key is refused", list_is("a/b/", "a/c", NULL));
}

static bool presign_ok(const uint8_t *s, const char *method, const char *path,
		       const char *exp, const char *kid, const char *sig, int64_t now)
{
	const char *why;
	int64_t id = 0;

	return !auth_presign_check(s, method, path, exp, kid, sig, now, &id, &why) &&
	       id == strtoll(kid, NULL, 10);
}

static void test_presign(void)
{
	uint8_t s[AUTH_PRESIGN_SECRET_LEN], s2[AUTH_PRESIGN_SECRET_LEN];
	char sig[AUTH_PRESIGN_SIG_HEX + 1], sig2[AUTH_PRESIGN_SIG_HEX + 1], bad[80];
	const char *why = NULL;
	int64_t id;

	memset(s, 0x11, sizeof(s));
	memset(s2, 0x22, sizeof(s2));
	auth_presign_sign(s, "GET", "a/b.bin", 5000, 7, sig);
	CHECK("presign: a signature is 64 hex digits", strlen(sig) == 64);
	CHECK("presign: it checks", presign_ok(s, "GET", "a/b.bin", "5000", "7", sig, 4000));
	CHECK("presign: HEAD goes with a GET's signature",
	      presign_ok(s, "HEAD", "a/b.bin", "5000", "7", sig, 4000));
	CHECK("presign: another method is refused",
	      !presign_ok(s, "PUT", "a/b.bin", "5000", "7", sig, 4000));
	CHECK("presign: another path is refused",
	      !presign_ok(s, "GET", "a/b.bim", "5000", "7", sig, 4000));
	CHECK("presign: a longer path is refused",
	      !presign_ok(s, "GET", "a/b.bin/x", "5000", "7", sig, 4000));
	CHECK("presign: another expiry is refused",
	      !presign_ok(s, "GET", "a/b.bin", "5001", "7", sig, 4000));
	CHECK("presign: another key id is refused",
	      !presign_ok(s, "GET", "a/b.bin", "5000", "8", sig, 4000));
	CHECK("presign: another secret is refused",
	      !presign_ok(s2, "GET", "a/b.bin", "5000", "7", sig, 4000));
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[10] = bad[10] == '0' ? '1' : '0';
	CHECK("presign: a changed signature is refused",
	      !presign_ok(s, "GET", "a/b.bin", "5000", "7", bad, 4000));
	CHECK("presign: a short signature is refused",
	      !presign_ok(s, "GET", "a/b.bin", "5000", "7", "abcd", 4000));
	CHECK("presign: no signature is refused",
	      auth_presign_check(s, "GET", "a/b.bin", "5000", "7", NULL, 4000, &id, &why) ==
	      -EACCES);
	CHECK("presign: no expiry is refused",
	      auth_presign_check(s, "GET", "a/b.bin", NULL, "7", sig, 4000, &id, &why) == -EACCES);
	CHECK("presign: a signed URL still works at its expiry second",
	      presign_ok(s, "GET", "a/b.bin", "5000", "7", sig, 5000));
	CHECK("presign: one second later it has expired",
	      auth_presign_check(s, "GET", "a/b.bin", "5000", "7", sig, 5001, &id, &why) ==
	      -EACCES && !strcmp(why, "presigned URL expired"));
	auth_presign_sign(s, "GET", "a/b.bin", 5000 + AUTH_PRESIGN_TTL_MAX + 1, 7, sig2);
	snprintf(bad, sizeof(bad), "%d", 5000 + AUTH_PRESIGN_TTL_MAX + 1);
	CHECK("presign: a URL valid for longer than the bound is refused",
	      !presign_ok(s, "GET", "a/b.bin", bad, "7", sig2, 5000));
	CHECK("presign: ... and accepted within it",
	      presign_ok(s, "GET", "a/b.bin", bad, "7", sig2, 5001));
	CHECK("presign: an expiry with a sign is refused",
	      !presign_ok(s, "GET", "a/b.bin", "+5000", "7", sig, 4000));
}

static bool file_is(const char *name, const char *want, mode_t mode)
{
	char path[128], buf[256] = "";
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !stat(path, &st) && (st.st_mode & 0777) == mode && (!want || !strcmp(buf, want));
}

static void read_line(const char *name, char *buf, size_t len)
{
	char path[128];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		fclose(f);
	}
}

/* The first start's keys, with the metadata @spec names (a fresh one). */
static void test_setup(const char *spec)
{
	uint8_t secret[AUTH_PRESIGN_SECRET_LEN], again[AUTH_PRESIGN_SECRET_LEN];
	char key1[256], key2[256], pre1[256], pre2[256];
	struct meta *m = NULL;
	int64_t ids[9] = { 0 };

	/* admin.key cannot be written: a directory stands in its way. */
	snprintf(key1, sizeof(key1), "%s/admin.key", tmpdir);
	unlink(key1);
	snprintf(pre1, sizeof(pre1), "%s/presign.key", tmpdir);
	unlink(pre1);
	mkdir(key1, 0700);
	if (meta_open(spec, &m)) {
		CHECK("setup: open meta.db", false);
		return;
	}
	CHECK("setup: fails when admin.key cannot be written", auth_setup(tmpdir, m, secret));
	CHECK("setup: ... and keeps no key nobody knows",
	      !meta_key_list(m, count_key, ids) && ids[0] == 0);
	rmdir(key1);
	CHECK("setup: the next start makes the admin key", !auth_setup(tmpdir, m, secret));
	read_line("admin.key", key1, sizeof(key1));
	CHECK("setup: admin.key is mode 0600, one line, the key alone",
	      file_is("admin.key", NULL, 0600) && strlen(key1) == strlen("dgfs_2_") + 64 + 1 &&
	      key1[strlen(key1) - 1] == '\n');
	key1[strlen(key1) - 1] = '\0';
	CHECK("setup: the admin key works, with scope admin", bearer_ok(m, key1, 2,
									 META_SCOPE_ADMIN));
	CHECK("setup: presign.key is mode 0600", file_is("presign.key", NULL, 0600));
	read_line("presign.key", pre1, sizeof(pre1));
	CHECK("setup: a second start makes no key and keeps both files",
	      !auth_setup(tmpdir, m, again) && !memcmp(secret, again, sizeof(again)));
	read_line("admin.key", key2, sizeof(key2));
	read_line("presign.key", pre2, sizeof(pre2));
	key2[strcspn(key2, "\n")] = '\0';
	CHECK("setup: ... admin.key and presign.key unchanged",
	      !strcmp(key1, key2) && !strcmp(pre1, pre2));
	ids[0] = 0;
	CHECK("setup: ... and meta.db holds one key",
	      !meta_key_list(m, count_key, ids) && ids[0] == 1);
	meta_close(m);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * The keys and the first start again, with the metadata in PostgreSQL (a
 * server of the test's own, a schema each): a server that does not start
 * is a failure.
 */
static void test_on_pg(void)
{
	struct pg_server pgs;
	struct meta *m = NULL;
	char spec[256];
	PGconn *c;

	check_prefix = "pg: ";
	CHECK("a PostgreSQL server of our own starts", !pg_server_start(&pgs));
	if (pgs.started) {
		c = PQconnectdb(pgs.uri_base);
		PQclear(PQexec(c, "CREATE SCHEMA keys; CREATE SCHEMA setup"));
		PQfinish(c);
		snprintf(spec, sizeof(spec), "%s&options=-csearch_path%%3Dkeys", pgs.uri_base);
		if (meta_open(spec, &m)) {
			CHECK("open the keys schema", false);
		} else {
			test_keys(m);
			meta_close(m);
		}
		snprintf(spec, sizeof(spec), "%s&options=-csearch_path%%3Dsetup", pgs.uri_base);
		test_setup(spec);
	}
	CHECK("the server stops and its directory goes", !pg_server_stop(&pgs));
	check_prefix = "";
}

int main(void)
{
	struct meta *m = NULL;
	char path[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_auth.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(path, sizeof(path), "%s/keys.db", tmpdir);
	if (meta_open(path, &m)) {
		CHECK("open keys.db", false);
		return 1;
	}
	test_keys(m);
	meta_close(m);
	test_prefixes();
	test_presign();
	snprintf(path, sizeof(path), "%s/meta.db", tmpdir);
	test_setup(path);
	test_on_pg();
	CHECK("cleanup: temporary directory removed",
	      !nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS));
	return failures ? 1 : 0;
}
