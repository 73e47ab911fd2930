// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster's internal requests, client side (libcurl) and the
 * signature both sides share (peer.h says why a signature).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "peer.h"
#include "proto/sha256.h"

void peer_sign(const uint8_t *secret, size_t secret_len, const char *method, const char *path,
	       int64_t date, char out[PEER_SIG_HEX + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char when[24];

	snprintf(when, sizeof(when), "%" PRId64, date);
	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)method, strlen(method));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)path, strlen(path));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)when, strlen(when));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, PEER_SIG_HEX + 1, mac, sizeof(mac));
}

void peer_fastpath_key(const uint8_t *secret, size_t secret_len, uint8_t key[DGFS_AUTH_KEY_LEN])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)PEER_FASTPATH_KEY_LABEL,
				      strlen(PEER_FASTPATH_KEY_LABEL));
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(key, mac, DGFS_AUTH_KEY_LEN);
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

unsigned int peer_check(const uint8_t *secret, size_t secret_len, const char *method,
			const char *path, const char *date, const char *auth, int64_t now,
			const char **why)
{
	char want[PEER_SIG_HEX + 1];
	const char *sig;
	char *end;
	long long when;

	if (!auth) {
		*why = "the internal API needs the cluster's signature";
		return 401;
	}
	if (strncmp(auth, PEER_AUTH_SCHEME, strlen(PEER_AUTH_SCHEME))) {
		*why = "the internal API takes the cluster's signature, not an API key";
		return 401;
	}
	sig = auth + strlen(PEER_AUTH_SCHEME);
	errno = 0;
	when = date ? strtoll(date, &end, 10) : 0;
	if (!date || errno || *end || !*date) {
		*why = "the internal API needs " PEER_DATE_HEADER;
		return 403;
	}
	if (when < now - PEER_AUTH_SKEW || when > now + PEER_AUTH_SKEW) {
		*why = "the request's date is too far from this host's clock";
		return 403;
	}
	peer_sign(secret, secret_len, method, path, when, want);
	/* Constant time: how much of a guess was right must not show. */
	if (strlen(sig) != PEER_SIG_HEX || sodium_memcmp(sig, want, PEER_SIG_HEX)) {
		*why = "wrong cluster signature";
		return 403;
	}
	return 0;
}

int peer_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void peer_cleanup(void)
{
	curl_global_cleanup();
}

struct sink {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static size_t sink_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (!s->buf)
		return len;		/* an answer we do not keep */
	if (len > s->cap - s->len) {
		s->overflow = true;
		return 0;		/* stops the transfer */
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return len;
}

/*
 * Whether a message about host @id may be said again: once a minute per
 * host, for the last few hosts a message was about (a bad host must not
 * flood the log, nor hide another).
 */
struct said {
	pthread_mutex_t lock;
	struct {
		char id[DGFSD_CLUSTER_NAME_MAX + 1];
		int64_t when;
	} host[16];
};

static bool say_again(struct said *s, const char *id)
{
	int64_t now = (int64_t)time(NULL);
	unsigned int i, at = 0;
	bool say;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < 16; i++) {
		if (!strcmp(s->host[i].id, id)) {
			at = i;
			break;
		}
		if (s->host[i].when < s->host[at].when)
			at = i;		/* the oldest, to be reused */
	}
	say = i == 16 || now - s->host[at].when >= 60;
	if (say) {
		snprintf(s->host[at].id, sizeof(s->host[at].id), "%s", id);
		s->host[at].when = now;
	}
	pthread_mutex_unlock(&s->lock);
	return say;
}

/*
 * Whether a request to @h may go, and how: HTTPS to a host that serves it;
 * plain HTTP to one that does not, unless this host has --cluster-ca
 * (then the cluster talks TLS only, and such a host is refused, so that no
 * signature or chunk crosses in the clear).
 */
static bool scheme_ok(const struct dgfsd_config *cfg, const struct cluster_member *h)
{
	static struct said said = { .lock = PTHREAD_MUTEX_INITIALIZER };

	if (h->tls || !cfg->cluster_ca_pem)
		return true;
	if (say_again(&said, h->id))
		fprintf(stderr, "dgfsd: host %s serves plain HTTP: not called, since "
			"--cluster-ca wants TLS between hosts\n", h->id);
	return false;
}

/* A TLS failure (a certificate that does not chain or name the host) is said. */
static void say_tls_failure(const struct cluster_member *h, CURLcode rc, const char *why)
{
	static struct said said = { .lock = PTHREAD_MUTEX_INITIALIZER };

	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		if (say_again(&said, h->id))
			fprintf(stderr, "dgfsd: host %s: TLS failed, not called: %s\n", h->id,
				*why ? why : curl_easy_strerror(rc));
		break;
	default:
		break;
	}
}

/* One signed request; the HTTP status, or -errno when none came. */
static long request(const struct dgfsd_config *cfg, const char *method,
		    const struct cluster_member *h, const uint8_t id[DGFS_CHUNK_ID_LEN],
		    const void *body, uint32_t body_len, struct sink *sink, long timeout_ms)
{
	char path[96], url[512], sig[PEER_SIG_HEX + 1], hdr_date[64], hdr_auth[128];
	char hex[2 * DGFS_CHUNK_ID_LEN + 1], why[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *l;
	int64_t now = (int64_t)time(NULL);
	long status = 0;
	CURLcode rc;
	CURL *curl;

	if (!scheme_ok(cfg, h))
		return -EPROTO;
	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, hex);
	snprintf(path, sizeof(path), "/internal/chunks/%s", hex);
	/* An IPv6 literal goes in brackets. */
	snprintf(url, sizeof(url), strchr(h->addr, ':') ? "%s://[%s]:%u%s" : "%s://%s:%u%s",
		 h->tls ? "https" : "http", h->addr, h->http_port, path);
	peer_sign(cfg->cluster_secret, cfg->cluster_secret_len, method, path, now, sig);
	snprintf(hdr_date, sizeof(hdr_date), PEER_DATE_HEADER ": %" PRId64, now);
	snprintf(hdr_auth, sizeof(hdr_auth), "Authorization: " PEER_AUTH_SCHEME "%s", sig);
	curl = curl_easy_init();
	if (!curl)
		return -ENOMEM;
	l = curl_slist_append(hdrs, hdr_date);
	if (l)
		hdrs = l;
	l = l ? curl_slist_append(hdrs, hdr_auth) : NULL;
	if (l)
		hdrs = l;
	if (l && body)
		l = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
	if (l && body)
		l = curl_slist_append(hdrs, "Expect:");	/* no 100-continue wait */
	if (!l) {
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(curl);
		return -ENOMEM;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, why);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)PEER_CONNECT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, h->tls ? "https" : "http");
	if (h->tls) {
		/* The peer's certificate must chain to the CA and name its address. */
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
		if (cfg->cluster_ca_pem) {
			struct curl_blob ca = {
				.data = cfg->cluster_ca_pem,
				.len = cfg->cluster_ca_len,
				.flags = CURL_BLOB_NOCOPY,
			};

			curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
		}
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
	if (strcmp(method, "GET"))
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	if (rc == CURLE_WRITE_ERROR && sink->overflow)
		return -EMSGSIZE;
	if (rc != CURLE_OK) {
		say_tls_failure(h, rc, why);
		return -EHOSTUNREACH;
	}
	return status;
}

int peer_put_chunk(const struct dgfsd_config *cfg, const struct cluster_member *to,
		   const uint8_t id[DGFS_CHUNK_ID_LEN], const void *data, uint32_t len)
{
	struct sink none = { 0 };
	long status = request(cfg, "PUT", to, id, data, len, &none, PEER_REQUEST_MS);

	if (status < 0)
		return (int)status;
	return status == 200 || status == 201 ? 0 : -EIO;
}

long peer_get_chunk(const struct dgfsd_config *cfg, const struct cluster_member *from,
		    const uint8_t id[DGFS_CHUNK_ID_LEN], uint8_t *buf, size_t cap)
{
	struct sink s = { .buf = buf, .cap = cap };
	uint8_t got[DGFS_SHA256_BYTES];
	long status = request(cfg, "GET", from, id, NULL, 0, &s, PEER_REQUEST_MS);

	if (status < 0)
		return status;
	if (status == 404)
		return -ENOENT;
	if (status != 200)
		return -EIO;
	/* A peer's bytes are served only if they are the chunk's. */
	dgfs_sha256(got, buf, s.len);
	if (memcmp(got, id, sizeof(got)))
		return -EBADMSG;
	return (long)s.len;
}

long peer_trim_chunk(const struct dgfsd_config *cfg, const struct cluster_member *at,
		     const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct sink none = { 0 };

	/* The holder asks each owner for the chunk before it answers. */
	return request(cfg, "DELETE", at, id, NULL, 0, &none,
		       (long)PEER_REQUEST_MS * (cfg->replicas + 1));
}
