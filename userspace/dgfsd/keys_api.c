// SPDX-License-Identifier: GPL-2.0
/*
 * The admin API for keys (GET /keys, POST /keys, DELETE /keys/{id}) and
 * presigning (POST /presign), docs/HTTP.md. http.c's routing table lets
 * only admin keys without a prefix reach /keys, and any key reach
 * /presign, which signs only what that key may do itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "http.h"

#define KEYS_BODY_MAX	(64u << 10)

static json_t *key_json(const struct meta_key *k)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:I,s:o}", "id", (json_int_t)k->id,
			 "scope", meta_scope_name(k->scope), "prefix", k->prefix,
			 "name", k->name, "created", (json_int_t)k->created,
			 "revoked", k->revoked ? json_integer(k->revoked) : json_null());
}

static int list_one(const struct meta_key *k, void *arg)
{
	return json_array_append_new(arg, key_json(k)) ? -ENOMEM : 0;
}

enum MHD_Result keys_api_list(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	json_t *keys = json_array();

	if (!keys || meta_key_list(d->keys, list_one, keys)) {
		json_decref(keys);
		return http_send_error(c, r, 500, "cannot list the keys");
	}
	return http_send_json(c, r, 200, json_pack("{s:o}", "keys", keys));
}

static enum MHD_Result add_key(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char prefix[META_PATH_MAX + 1] = "", text[AUTH_KEY_TEXT_MAX];
	const char *scope_s, *prefix_s, *name, *why;
	enum meta_scope scope;
	enum MHD_Result ret;
	int64_t id;
	json_t *j = dgfsd_body_object(r->body, r->body_len);
	int err;

	/* The strings point into j: every answer is made before it goes. */
	if (!j || dgfsd_json_opt_string(j, "scope", &scope_s) ||
	    dgfsd_json_opt_string(j, "prefix", &prefix_s) ||
	    dgfsd_json_opt_string(j, "name", &name) || meta_scope_parse(scope_s, &scope)) {
		ret = http_send_error(c, r, 400, "expected {\"scope\": \"read\"|\"write\"|"
				      "\"admin\", \"prefix\": P (optional), \"name\": N (optional)}");
		goto out;
	}
	if (prefix_s && (why = auth_prefix_normalize(prefix_s, prefix, sizeof(prefix)))) {
		ret = http_send_error(c, r, 400, "bad prefix: %s", why);
		goto out;
	}
	if (scope == META_SCOPE_ADMIN && prefix[0]) {
		ret = http_send_error(c, r, 400, "an admin key manages every key: no prefix");
		goto out;
	}
	if (name && (strlen(name) > META_KEY_NAME_MAX || strpbrk(name, "\r\n"))) {
		ret = http_send_error(c, r, 400, "bad name (at most %d bytes, one line)",
				      META_KEY_NAME_MAX);
		goto out;
	}
	err = auth_key_create(d->keys, scope, prefix, name, false, text, &id);
	if (err) {
		ret = http_send_error(c, r, 500, "cannot add the key: %s", strerror(-err));
		goto out;
	}
	fprintf(stderr, "dgfsd: key %" PRId64 " (%s%s%s) added by key %" PRId64 "\n", id,
		meta_scope_name(scope), prefix[0] ? ", prefix " : "", prefix, r->who.id);
	ret = http_send_json(c, r, 201, json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id,
						  "key", text, "scope", meta_scope_name(scope),
						  "prefix", prefix, "name", name ? name : ""));
	sodium_memzero(text, sizeof(text));
out:
	json_decref(j);
	return ret;
}

enum MHD_Result keys_api_add(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	(void)d;
	(void)c;
	r->no_store = true;	/* the new key */
	r->finish = add_key;
	r->body_max = KEYS_BODY_MAX;
	r->json_body = true;
	return MHD_YES;
}

enum MHD_Result keys_api_revoke(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	int err = meta_key_revoke(d->keys, r->key_id, (int64_t)time(NULL));

	if (err == -ENOENT)
		return http_send_error(c, r, 404, "no such key");
	if (err == -EALREADY)
		return http_send_error(c, r, 409, "key %" PRId64 " is revoked already", r->key_id);
	if (err)
		return http_send_error(c, r, 500, "cannot revoke: %s", strerror(-err));
	fprintf(stderr, "dgfsd: key %" PRId64 " revoked by key %" PRId64 "\n", r->key_id,
		r->who.id);
	return http_send_empty(c, r, 204);
}

/* "/files/" + @path, every byte outside RFC 3986's unreserved set and '/' as %XX. */
static char *file_url(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen("/files/") + 3 * strlen(path) + 1), *o;

	if (!out)
		return NULL;
	o = out + sprintf(out, "/files/");
	for (; *path; path++) {
		unsigned char ch = (unsigned char)*path;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~/", ch)) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

/*
 * "SCHEME://HOST" as the client reached us: https when dgfsd serves TLS
 * (or a trusted proxy says X-Forwarded-Proto: https),
 * and the request's Host header when it is a plain host[:port] (it is the
 * caller's own answer, kept from every cache by no-store), else our
 * address and port. malloc'd, or NULL.
 */
static char *origin(struct dgfsd *d, struct MHD_Connection *c)
{
	const char *host = http_header(c, MHD_HTTP_HEADER_HOST), *scheme;
	char local[INET6_ADDRSTRLEN + 2], *out;

	scheme = http_scheme(d, c);
	if (host && *host && strlen(host) <= 255 &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
	    strlen(host)) {
		if (asprintf(&out, "%s://%s", scheme, host) < 0)
			return NULL;
		return out;
	}
	http_local_host(c, local, sizeof(local));
	if (asprintf(&out, strchr(local, ':') ? "%s://[%s]:%u" : "%s://%s:%u", scheme, local,
		     d->cfg.http_port) < 0)
		return NULL;
	return out;
}

static enum MHD_Result presign(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char sig[AUTH_PRESIGN_SIG_HEX + 1], *path_url = NULL, *url = NULL, *base = NULL;
	const char *method = NULL, *path = NULL, *why;
	json_int_t ttl = AUTH_PRESIGN_TTL;
	enum meta_scope need;
	int64_t expires;
	json_t *j = dgfsd_body_object(r->body, r->body_len), *jt;
	enum MHD_Result ret;

	/* method and path point into j: every answer is made before it goes. */
	if (!j || dgfsd_json_opt_string(j, "method", &method) ||
	    dgfsd_json_opt_string(j, "path", &path) || !path) {
		ret = http_send_error(c, r, 400, "expected {\"path\": P, \"method\": \"GET\"|"
				      "\"PUT\"|\"DELETE\" (optional), \"expires_in\": "
				      "SECONDS (optional)}");
		goto out;
	}
	if (!method)
		method = "GET";
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
		need = META_SCOPE_READ;
	} else if (!strcmp(method, "PUT") || !strcmp(method, "DELETE")) {
		need = META_SCOPE_WRITE;
	} else {
		ret = http_send_error(c, r, 400, "a presigned URL is for GET, HEAD, PUT or DELETE");
		goto out;
	}
	jt = json_object_get(j, "expires_in");
	if (jt)
		ttl = json_is_integer(jt) ? json_integer_value(jt) : 0;
	if (ttl < 1 || ttl > AUTH_PRESIGN_TTL_MAX) {
		ret = http_send_error(c, r, 400, "expires_in is 1 .. %d seconds",
				      AUTH_PRESIGN_TTL_MAX);
		goto out;
	}
	why = dgfsd_path_check(path, strlen(path), false);
	if (why) {
		ret = http_send_error(c, r, 400, "bad path: %s", why);
		goto out;
	}
	/* No more than the signing key may do itself, now or when the URL is used. */
	if (r->who.scope < need || !auth_path_allowed(r->who.prefix, path)) {
		ret = http_send_error(c, r, 403, "this key may not %s that path", method);
		goto out;
	}
	expires = (int64_t)time(NULL) + ttl;
	auth_presign_sign(d->presign_secret, method, path, expires, r->who.id, sig);
	path_url = file_url(path);
	base = origin(d, c);
	if (!path_url || !base ||
	    asprintf(&url, "%s?expires=%" PRId64 "&keyid=%" PRId64 "&sig=%s",
		     path_url, expires, r->who.id, sig) < 0) {
		url = NULL;
		ret = http_send_error(c, r, 503, "out of memory");
		goto out;
	}
	ret = http_send_json(c, r, 200, json_pack("{s:s,s:s+,s:s,s:I}", "url", url,
						  "href", base, url, "method", method,
						  "expires", (json_int_t)expires));
out:
	free(base);
	free(path_url);
	free(url);
	json_decref(j);
	return ret;
}

enum MHD_Result keys_api_presign(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	(void)d;
	(void)c;
	/* A presigned URL stands for one request; it cannot sign more. */
	r->no_store = true;	/* the URL is as good as a key until it expires */
	r->finish = presign;
	r->body_max = KEYS_BODY_MAX;
	r->json_body = true;
	return MHD_YES;
}
