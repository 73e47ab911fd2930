// SPDX-License-Identifier: GPL-2.0
/*
 * The manifest's parser (manifest.h). The bounds come first, before
 * anything is allocated for what they bound: a manifest that lists a
 * million replicas of a chunk is refused by its count.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "proto/hex.h"

static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool json_u64(json_t *v, uint64_t max, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* A host name or an IPv4/IPv6 literal as getaddrinfo takes it: no spaces, no URL. */
static bool host_ok(const char *s)
{
	size_t i, len = s ? strlen(s) : 0;

	if (!len || len > MANIFEST_HOST_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(".-_:%", s[i])))
			return false;
	return true;
}

static bool id_ok(const char *s)
{
	size_t i, len = s ? strlen(s) : 0;

	if (!len || len > MANIFEST_ID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
			return false;
	return true;
}

static int parse_chunks(json_t *list, struct manifest *m, char *why, size_t whylen)
{
	uint64_t pos = 0, v;
	json_t *c;
	size_t i;

	if (!json_is_array(list))
		return bad(why, whylen, "no \"chunks\" list");
	m->n = json_array_size(list);
	m->chunks = calloc(m->n ? m->n : 1, sizeof(*m->chunks));
	if (!m->chunks)
		return bad(why, whylen, "more chunks than memory holds");
	json_array_foreach(list, i, c) {
		struct mf_chunk *mc = &m->chunks[i];
		const char *token = json_string_value(json_object_get(c, "token"));
		const char *id = json_string_value(json_object_get(c, "id"));

		if (!id || strlen(id) != 2 * DGFS_CHUNK_ID_LEN ||
		    dgfs_hex_decode(id, mc->id, sizeof(mc->id)))
			return bad(why, whylen, "a chunk without a valid id");
		if (!json_u64(json_object_get(c, "offset"), UINT64_MAX, &mc->offset) ||
		    mc->offset != pos)
			return bad(why, whylen, "chunk offsets that do not follow each other");
		if (!json_u64(json_object_get(c, "size"), MANIFEST_MAX_CHUNK, &v))
			return bad(why, whylen, "a chunk without a valid size");
		mc->size = (uint32_t)v;
		pos += v;
		/* No token: a host with auth off takes zeros. */
		if (token && (strlen(token) != 2 * DGFS_TOKEN_LEN ||
			      dgfs_hex_decode(token, mc->token, sizeof(mc->token))))
			return bad(why, whylen, "a chunk with a token that is not 16 hex digits");
	}
	if (pos != m->size)
		return bad(why, whylen, "chunks whose sizes do not add up to the file's");
	return 0;
}

/* fastpath.hosts: each {"id", "host", "port"}, no (host, port) or id twice. */
static int parse_hosts(json_t *list, struct manifest *m, char *why, size_t whylen)
{
	size_t i, k, n = json_array_size(list);
	uint64_t port;
	json_t *e;

	if (!json_is_array(list))
		return bad(why, whylen, "a fastpath.hosts that is not a list");
	/* None: no chunk has a live replica (or there are no chunks). */
	if (n > MANIFEST_MAX_HOSTS)
		return bad(why, whylen, "%zu fastpath.hosts (at most %d)", n, MANIFEST_MAX_HOSTS);
	m->hosts = calloc(n ? n : 1, sizeof(*m->hosts));
	if (!m->hosts)
		return bad(why, whylen, "more fastpath.hosts than memory holds");
	json_array_foreach(list, i, e) {
		struct mf_host *h = &m->hosts[i];
		const char *host = json_string_value(json_object_get(e, "host"));
		json_t *id = json_object_get(e, "id");

		if (!host_ok(host))
			return bad(why, whylen, "fastpath.hosts[%zu] without a valid host", i);
		if (!json_u64(json_object_get(e, "port"), 65535, &port) || !port)
			return bad(why, whylen, "fastpath.hosts[%zu] without a valid port", i);
		if (id && !id_ok(json_string_value(id)))
			return bad(why, whylen, "fastpath.hosts[%zu] with a bad id", i);
		snprintf(h->host, sizeof(h->host), "%s", host);
		snprintf(h->id, sizeof(h->id), "%s", id ? json_string_value(id) : "");
		h->port = (uint16_t)port;
		for (k = 0; k < i; k++) {
			if (m->hosts[k].port == h->port && !strcmp(m->hosts[k].host, h->host))
				return bad(why, whylen, "fastpath.hosts lists %s port %u twice",
					   h->host, h->port);
			if (h->id[0] && !strcmp(m->hosts[k].id, h->id))
				return bad(why, whylen, "fastpath.hosts lists the id %s twice",
					   h->id);
		}
	}
	m->nhosts = n;
	return 0;
}

/* Each chunk's "replicas": 0 to MANIFEST_MAX_REPLICAS distinct indices into hosts. */
static int parse_replicas(json_t *chunks, struct manifest *m, char *why, size_t whylen)
{
	size_t i, k, r, total = 0;
	uint64_t v;
	json_t *c, *list, *x;

	json_array_foreach(chunks, i, c) {
		list = json_object_get(c, "replicas");
		if (!json_is_array(list))
			return bad(why, whylen, "chunk %zu without a \"replicas\" list (the "
				   "manifest has fastpath.hosts)", i);
		if (json_array_size(list) > MANIFEST_MAX_REPLICAS)
			return bad(why, whylen, "chunk %zu with %zu replicas (at most %d)", i,
				   json_array_size(list), MANIFEST_MAX_REPLICAS);
		total += json_array_size(list);
	}
	m->reps = calloc(total ? total : 1, sizeof(*m->reps));
	if (!m->reps)
		return bad(why, whylen, "more replicas than memory holds");
	json_array_foreach(chunks, i, c) {
		struct mf_chunk *mc = &m->chunks[i];

		list = json_object_get(c, "replicas");
		mc->rep = (uint32_t)m->nreps;
		json_array_foreach(list, r, x) {
			if (!m->nhosts || !json_u64(x, m->nhosts - 1, &v))
				return bad(why, whylen, "chunk %zu lists a replica that is not one "
					   "of the %zu fastpath.hosts", i, m->nhosts);
			for (k = 0; k < r; k++)
				if (m->reps[mc->rep + k] == v)
					return bad(why, whylen, "chunk %zu lists host %llu twice",
						   i, (unsigned long long)v);
			m->reps[m->nreps++] = (uint16_t)v;
		}
		mc->nrep = (uint8_t)json_array_size(list);
	}
	return 0;
}

static int parse_fastpath(json_t *fp, json_t *chunks, const struct manifest_opts *o,
			  struct manifest *m, char *why, size_t whylen)
{
	const char *host = json_string_value(json_object_get(fp, "host"));
	json_t *hosts = json_object_get(fp, "hosts"), *c;
	uint64_t port = 0, expiry = 0, max_read = 0;
	size_t i;

	if (!json_is_object(fp))
		return 0;		/* none offered: fast stays false */
	if (json_object_get(fp, "port") &&
	    !json_u64(json_object_get(fp, "port"), 65535, &port))
		return bad(why, whylen, "a bad fastpath.port");
	if (json_object_get(fp, "expiry") &&
	    !json_u64(json_object_get(fp, "expiry"), UINT32_MAX, &expiry))
		return bad(why, whylen, "a bad fastpath.expiry");
	if (json_object_get(fp, "max_read") &&
	    !json_u64(json_object_get(fp, "max_read"), UINT32_MAX, &max_read))
		return bad(why, whylen, "a bad fastpath.max_read");
	m->expiry = (uint32_t)expiry;
	m->max_read = (uint32_t)max_read;
	/* The lists, checked even when --fast-host sets them aside. */
	if (hosts && (parse_hosts(hosts, m, why, whylen) ||
		      parse_replicas(chunks, m, why, whylen)))
		return -1;
	if (!hosts)
		json_array_foreach(chunks, i, c)
			if (json_object_get(c, "replicas"))
				return bad(why, whylen, "chunk %zu lists replicas, but the "
					   "manifest has no fastpath.hosts", i);
	if (hosts && !o->fast_host && !o->fast_port) {
		m->lists = true;
		m->fast = true;
		return 0;
	}
	/* One host for every chunk: the manifest's, or --fast-host's. */
	free(m->hosts);
	free(m->reps);
	m->hosts = NULL;
	m->reps = NULL;
	m->nhosts = m->nreps = 0;
	if (o->fast_host)
		host = o->fast_host;
	if (!host || !*host)
		return 0;
	m->hosts = calloc(1, sizeof(*m->hosts));
	m->reps = calloc(1, sizeof(*m->reps));
	if (!m->hosts || !m->reps)
		return bad(why, whylen, "out of memory");
	snprintf(m->hosts[0].host, sizeof(m->hosts[0].host), "%s", host);
	/* Port 0 or none: the protocol's own. */
	m->hosts[0].port = o->fast_port ? o->fast_port : port ? (uint16_t)port : DGFS_DEFAULT_PORT;
	m->nhosts = m->nreps = 1;
	for (i = 0; i < m->n; i++) {
		m->chunks[i].rep = 0;
		m->chunks[i].nrep = 1;
	}
	m->fast = true;
	return 0;
}

int manifest_parse(json_t *j, const struct manifest_opts *o, struct manifest *m, char *why,
		   size_t whylen)
{
	const char *etag = json_string_value(json_object_get(j, "etag"));

	memset(m, 0, sizeof(*m));
	if (!json_is_object(j))
		return bad(why, whylen, "not JSON");
	if (!json_u64(json_object_get(j, "size"), INT64_MAX, &m->size))
		return bad(why, whylen, "no valid size");
	if (!etag || strlen(etag) != 2 * DGFS_SHA256_BYTES ||
	    dgfs_hex_decode(etag, m->etag, sizeof(m->etag)))
		return bad(why, whylen, "no valid etag");
	if (parse_chunks(json_object_get(j, "chunks"), m, why, whylen))
		return -1;
	if (o->fast && parse_fastpath(json_object_get(j, "fastpath"), json_object_get(j, "chunks"),
				      o, m, why, whylen))
		return -1;
	return 0;
}

void manifest_free(struct manifest *m)
{
	free(m->chunks);
	free(m->hosts);
	free(m->reps);
	memset(m, 0, sizeof(*m));
}
