// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfs get's manifest parser (userspace/client/manifest.c):
 * single-host manifests as before, replica lists (docs/PROTOCOL.md,
 * "Replicas in a manifest"), and the hostile ones: no replicas, a
 * million, indices out of range, duplicates, bad hosts and ports,
 * lists on some chunks only. Each is refused with its reason, or taken
 * for what it says, and never read past its bounds (ASan).
 */

/* expect-checks: 45 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "client/manifest.c"

#include <stdio.h>
#include <string.h>

#include "check.h"

#define ID_A "aa00000000000000000000000000000000000000000000000000000000000000"
#define ID_B "bb00000000000000000000000000000000000000000000000000000000000000"
#define ETAG "cc00000000000000000000000000000000000000000000000000000000000000"

static const struct manifest_opts fast = { .fast = true };
static char why[256];

/* A two-chunk file (100 + 50 bytes) with @fastpath (JSON text) and the chunks' @extra_a/@extra_b. */
static json_t *make(const char *fastpath, const char *extra_a, const char *extra_b)
{
	char text[4096];
	json_error_t err;

	snprintf(text, sizeof(text),
		 "{\"size\": 150, \"etag\": \"" ETAG "\", \"fastpath\": %s, \"chunks\": ["
		 "{\"id\": \"" ID_A "\", \"offset\": 0, \"size\": 100, \"token\": \"0102030405060708\"%s},"
		 "{\"id\": \"" ID_B "\", \"offset\": 100, \"size\": 50, \"token\": \"0000000000000000\"%s}]}",
		 fastpath, extra_a, extra_b);
	return json_loads(text, 0, &err);
}

/* Parses and frees; 0 or -1 as manifest_parse(), *m kept when @keep. */
static int parse(json_t *j, const struct manifest_opts *o, struct manifest *keep)
{
	struct manifest m;
	int ret;

	why[0] = '\0';
	if (keep)	/* freed by the caller whatever the outcome */
		memset(keep, 0, sizeof(*keep));
	ret = manifest_parse(j, o, &m, why, sizeof(why));
	json_decref(j);
	if (keep && !ret)
		*keep = m;
	else
		manifest_free(&m);
	return ret;
}

#define HOSTS3 "{\"host\": \"198.18.0.1\", \"port\": 9100, \"hosts\": [" \
	"{\"id\": \"h1\", \"host\": \"198.18.0.1\", \"port\": 9100}," \
	"{\"id\": \"h2\", \"host\": \"198.18.0.2\", \"port\": 9100}," \
	"{\"id\": \"h3\", \"host\": \"2001:db8::3\", \"port\": 9101}]}"

static void single_host(void)
{
	struct manifest m;

	CHECK("a single host's manifest parses",
	      !parse(make("{\"host\": \"198.18.0.1\", \"port\": 7878, \"expiry\": 5, \"max_read\": 65536}",
			  "", ""), &fast, &m));
	CHECK("... one host, every chunk's only replica, not lists",
	      m.fast && !m.lists && m.nhosts == 1 && m.chunks[0].nrep == 1 &&
	      m.chunks[1].nrep == 1 && m.reps[m.chunks[1].rep] == 0 &&
	      !strcmp(m.hosts[0].host, "198.18.0.1") && m.hosts[0].port == 7878);
	CHECK("... offsets, sizes, token, expiry, max_read as given",
	      m.chunks[1].offset == 100 && m.chunks[1].size == 50 && m.chunks[0].token[7] == 8 &&
	      m.expiry == 5 && m.max_read == 65536 && m.size == 150 && m.etag[0] == 0xcc);
	manifest_free(&m);
	CHECK("no fastpath: parses, no fast path",
	      !parse(make("null", "", ""), &fast, &m) && !m.fast && m.n == 2);
	manifest_free(&m);
	CHECK("fastpath.port 0 or none: the protocol's port",
	      !parse(make("{\"host\": \"h\"}", "", ""), &fast, &m) &&
	      m.hosts[0].port == DGFS_DEFAULT_PORT);
	manifest_free(&m);
	CHECK("--http-only: the fast path is not even read",
	      !parse(make("{\"host\": \"h\", \"port\": \"x\"}", "", ""),
		     &(struct manifest_opts){ .fast = false }, &m) && !m.fast);
	manifest_free(&m);
}

static void lists(void)
{
	struct manifest m;

	CHECK("replica lists parse",
	      !parse(make(HOSTS3, ", \"replicas\": [1, 0, 2]", ", \"replicas\": [2]"), &fast, &m));
	CHECK("... three hosts with ids, addresses and ports",
	      m.lists && m.nhosts == 3 && !strcmp(m.hosts[2].id, "h3") &&
	      !strcmp(m.hosts[2].host, "2001:db8::3") && m.hosts[2].port == 9101);
	CHECK("... each chunk's replicas in the manifest's order",
	      m.chunks[0].nrep == 3 && m.reps[m.chunks[0].rep] == 1 &&
	      m.reps[m.chunks[0].rep + 1] == 0 && m.reps[m.chunks[0].rep + 2] == 2 &&
	      m.chunks[1].nrep == 1 && m.reps[m.chunks[1].rep] == 2);
	manifest_free(&m);
	CHECK("a chunk with no replica parses (no host holds it now: HTTP, or an error "
	      "with --no-fallback)",
	      !parse(make(HOSTS3, ", \"replicas\": []", ", \"replicas\": [0]"), &fast, &m) &&
	      m.chunks[0].nrep == 0 && m.chunks[1].nrep == 1);
	manifest_free(&m);
	CHECK("--fast-host sets the lists aside: that one host for every chunk",
	      !parse(make(HOSTS3, ", \"replicas\": [1, 0]", ", \"replicas\": [2]"),
		     &(struct manifest_opts){ .fast = true, .fast_host = "127.0.0.1",
					      .fast_port = 5555 }, &m) &&
	      !m.lists && m.nhosts == 1 && !strcmp(m.hosts[0].host, "127.0.0.1") &&
	      m.hosts[0].port == 5555 && m.chunks[0].nrep == 1);
	manifest_free(&m);
	CHECK("... but a hostile list is refused all the same",
	      parse(make(HOSTS3, ", \"replicas\": [7]", ", \"replicas\": [2]"),
		    &(struct manifest_opts){ .fast = true, .fast_host = "127.0.0.1" }, NULL));
	CHECK("16 replicas of a chunk parse",
	      !parse(make("{\"hosts\": [{\"host\": \"a\", \"port\": 1}, {\"host\": \"b\", \"port\": 1},"
			  "{\"host\": \"c\", \"port\": 1}, {\"host\": \"d\", \"port\": 1},"
			  "{\"host\": \"e\", \"port\": 1}, {\"host\": \"f\", \"port\": 1},"
			  "{\"host\": \"g\", \"port\": 1}, {\"host\": \"h\", \"port\": 1},"
			  "{\"host\": \"i\", \"port\": 1}, {\"host\": \"j\", \"port\": 1},"
			  "{\"host\": \"k\", \"port\": 1}, {\"host\": \"l\", \"port\": 1},"
			  "{\"host\": \"m\", \"port\": 1}, {\"host\": \"n\", \"port\": 1},"
			  "{\"host\": \"o\", \"port\": 1}, {\"host\": \"p\", \"port\": 1}]}",
			  ", \"replicas\": [15,14,13,12,11,10,9,8,7,6,5,4,3,2,1,0]",
			  ", \"replicas\": [0]"), &fast, &m) && m.chunks[0].nrep == 16 &&
	      m.reps[m.chunks[0].rep + 15] == 0);
	manifest_free(&m);
}

/* A chunk listing @n replicas, all index 0: refused by the count, before anything. */
static int many_replicas(size_t n)
{
	json_t *j = make(HOSTS3, ", \"replicas\": []", ", \"replicas\": [0]");
	json_t *list = json_object_get(json_array_get(json_object_get(j, "chunks"), 0), "replicas");
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(list, json_integer((json_int_t)(i % 3)));
	return parse(j, &fast, NULL);
}

/* fastpath.hosts of @n distinct entries; chunk 0 lists the last. */
static int many_hosts(size_t n)
{
	json_t *j = make("{\"hosts\": []}", ", \"replicas\": [0]", ", \"replicas\": [0]");
	json_t *hosts = json_object_get(json_object_get(j, "fastpath"), "hosts");
	char name[32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "host%zu", i);
		json_array_append_new(hosts, json_pack("{s:s,s:i}", "host", name, "port", 9100));
	}
	return parse(j, &fast, NULL);
}

static void hostile(void)
{
	struct manifest m;

	CHECK("17 replicas of a chunk: refused", many_replicas(17) &&
	      strstr(why, "chunk 0 with 17 replicas (at most 16)"));
	CHECK("10^6 replicas of a chunk: refused by the count",
	      many_replicas(1000000) && strstr(why, "with 1000000 replicas"));
	CHECK("4096 fastpath.hosts parse", !many_hosts(4096));
	CHECK("4097: refused", many_hosts(4097) && strstr(why, "4097 fastpath.hosts (at most 4096)"));
	CHECK("an empty fastpath.hosts with empty lists: parses, no chunk has a host",
	      !parse(make("{\"host\": \"a\", \"hosts\": []}", ", \"replicas\": []",
			  ", \"replicas\": []"), &fast, &m) &&
	      m.fast && m.lists && !m.nhosts && !m.chunks[0].nrep && !m.chunks[1].nrep);
	manifest_free(&m);
	CHECK("... but a list pointing into it: refused",
	      parse(make("{\"hosts\": []}", ", \"replicas\": [0]", ", \"replicas\": []"), &fast,
		    NULL) && strstr(why, "not one of the 0"));
	CHECK("an empty file with an empty fastpath.hosts: parses",
	      !parse(json_loads("{\"size\": 0, \"etag\": \"" ETAG "\", \"chunks\": [], "
				"\"fastpath\": {\"hosts\": []}}", 0, NULL), &fast, &m) && m.n == 0);
	manifest_free(&m);
	CHECK("fastpath.hosts not a list: refused",
	      parse(make("{\"hosts\": {}}", ", \"replicas\": []", ", \"replicas\": []"), &fast,
		    NULL) && strstr(why, "not a list"));
	CHECK("a replica index past the hosts: refused",
	      parse(make(HOSTS3, ", \"replicas\": [3]", ", \"replicas\": [0]"), &fast, NULL) &&
	      strstr(why, "chunk 0 lists a replica that is not one of the 3"));
	CHECK("a negative replica index: refused",
	      parse(make(HOSTS3, ", \"replicas\": [-1]", ", \"replicas\": [0]"), &fast, NULL));
	CHECK("a replica index that is a string: refused",
	      parse(make(HOSTS3, ", \"replicas\": [\"0\"]", ", \"replicas\": [0]"), &fast, NULL));
	CHECK("a replica index of 2^64: refused (not JSON jansson takes, or too big)",
	      parse(make(HOSTS3, ", \"replicas\": [18446744073709551616]", ", \"replicas\": [0]"),
		    &fast, NULL));
	CHECK("a chunk listing one host twice: refused",
	      parse(make(HOSTS3, ", \"replicas\": [1, 2, 1]", ", \"replicas\": [0]"), &fast,
		    NULL) && strstr(why, "chunk 0 lists host 1 twice"));
	CHECK("one host and port twice in fastpath.hosts: refused",
	      parse(make("{\"hosts\": [{\"host\": \"a\", \"port\": 1}, {\"host\": \"a\", \"port\": 1}]}",
			 ", \"replicas\": [0]", ", \"replicas\": [1]"), &fast, NULL) &&
	      strstr(why, "lists a port 1 twice"));
	CHECK("one id twice in fastpath.hosts: refused",
	      parse(make("{\"hosts\": [{\"id\": \"x\", \"host\": \"a\", \"port\": 1},"
			 "{\"id\": \"x\", \"host\": \"b\", \"port\": 1}]}",
			 ", \"replicas\": [0]", ", \"replicas\": [1]"), &fast, NULL) &&
	      strstr(why, "the id x twice"));
	CHECK("the same host on another port is another host: parses",
	      !parse(make("{\"hosts\": [{\"host\": \"a\", \"port\": 1}, {\"host\": \"a\", \"port\": 2}]}",
			  ", \"replicas\": [0, 1]", ", \"replicas\": [1]"), &fast, NULL));
	CHECK("a host with a space: refused",
	      parse(make("{\"hosts\": [{\"host\": \"a b\", \"port\": 1}]}", ", \"replicas\": [0]",
			 ", \"replicas\": [0]"), &fast, NULL) &&
	      strstr(why, "fastpath.hosts[0] without a valid host"));
	CHECK("a host that is a URL: refused",
	      parse(make("{\"hosts\": [{\"host\": \"http://a/\", \"port\": 1}]}",
			 ", \"replicas\": [0]", ", \"replicas\": [0]"), &fast, NULL));
	CHECK("an empty host: refused",
	      parse(make("{\"hosts\": [{\"host\": \"\", \"port\": 1}]}", ", \"replicas\": [0]",
			 ", \"replicas\": [0]"), &fast, NULL));
	CHECK("a host of 256 bytes: refused", ({
		char fp[600];

		snprintf(fp, sizeof(fp), "{\"hosts\": [{\"host\": \"%0256d\", \"port\": 1}]}", 0);
		parse(make(fp, ", \"replicas\": [0]", ", \"replicas\": [0]"), &fast, NULL);
	}));
	CHECK("a host without a port: refused",
	      parse(make("{\"hosts\": [{\"host\": \"a\"}]}", ", \"replicas\": [0]",
			 ", \"replicas\": [0]"), &fast, NULL) && strstr(why, "valid port"));
	CHECK("port 0: refused",
	      parse(make("{\"hosts\": [{\"host\": \"a\", \"port\": 0}]}", ", \"replicas\": [0]",
			 ", \"replicas\": [0]"), &fast, NULL));
	CHECK("port 65536: refused",
	      parse(make("{\"hosts\": [{\"host\": \"a\", \"port\": 65536}]}", ", \"replicas\": [0]",
			 ", \"replicas\": [0]"), &fast, NULL));
	CHECK("a host entry that is not an object: refused",
	      parse(make("{\"hosts\": [\"198.18.0.1\"]}", ", \"replicas\": [0]",
			 ", \"replicas\": [0]"), &fast, NULL));
	CHECK("a bad host id: refused",
	      parse(make("{\"hosts\": [{\"id\": \"a/b\", \"host\": \"a\", \"port\": 1}]}",
			 ", \"replicas\": [0]", ", \"replicas\": [0]"), &fast, NULL) &&
	      strstr(why, "bad id"));
	CHECK("hosts but a chunk without its list: refused",
	      parse(make(HOSTS3, ", \"replicas\": [0]", ""), &fast, NULL) &&
	      strstr(why, "chunk 1 without a \"replicas\" list"));
	CHECK("a chunk's list that is not a list: refused",
	      parse(make(HOSTS3, ", \"replicas\": 0", ", \"replicas\": [0]"), &fast, NULL));
	CHECK("lists without fastpath.hosts: refused",
	      parse(make("{\"host\": \"a\", \"port\": 1}", ", \"replicas\": [0]", ""), &fast,
		    NULL) && strstr(why, "no fastpath.hosts"));
	CHECK("a token that is not 16 hex digits: refused",
	      parse(json_loads("{\"size\": 1, \"etag\": \"" ETAG "\", \"chunks\": [{\"id\": \"" ID_A
			       "\", \"offset\": 0, \"size\": 1, \"token\": \"00\"}]}", 0, NULL),
		    &fast, NULL) && strstr(why, "token"));
	CHECK("chunk sizes that do not add up: refused",
	      parse(json_loads("{\"size\": 2, \"etag\": \"" ETAG "\", \"chunks\": [{\"id\": \"" ID_A
			       "\", \"offset\": 0, \"size\": 1}]}", 0, NULL), &fast, NULL) &&
	      strstr(why, "do not add up"));
	CHECK("not an object: refused", parse(json_loads("[1]", 0, NULL), &fast, NULL) &&
	      strstr(why, "not JSON"));
	CHECK("NULL (no JSON at all): refused", parse(NULL, &fast, NULL));
}

int main(void)
{
	single_host();
	lists();
	hostile();
	return failures ? 1 : 0;
}
