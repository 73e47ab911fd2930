// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: dgfs get's manifest parser (userspace/client/
 * manifest.c) on any bytes, as JSON. Checked besides the sanitizers: a
 * refused manifest says why; an accepted one stays inside its bounds:
 * every chunk's replicas lie inside the list of them, each names one of
 * the hosts (at most MANIFEST_MAX_HOSTS), at most MANIFEST_MAX_REPLICAS
 * of them and none twice, and the chunks follow each other up to the
 * file's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/manifest.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_manifest: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static void check(json_t *j, const struct manifest_opts *o)
{
	struct manifest m;
	char why[256] = "";
	uint64_t pos = 0;
	size_t i, r, k;

	if (manifest_parse(j, o, &m, why, sizeof(why))) {
		CHECK(why[0]);
		manifest_free(&m);
		return;
	}
	CHECK(m.nhosts <= MANIFEST_MAX_HOSTS);
	CHECK(!m.fast || m.lists || m.nhosts == 1);
	for (i = 0; i < m.n; i++) {
		const struct mf_chunk *c = &m.chunks[i];

		CHECK(c->offset == pos && c->size <= MANIFEST_MAX_CHUNK);
		pos += c->size;
		if (!m.fast)
			continue;
		CHECK(c->nrep <= MANIFEST_MAX_REPLICAS);
		CHECK((size_t)c->rep + c->nrep <= m.nreps);
		for (r = 0; r < c->nrep; r++) {
			CHECK(m.reps[c->rep + r] < m.nhosts);
			for (k = 0; k < r; k++)
				CHECK(m.reps[c->rep + k] != m.reps[c->rep + r]);
		}
	}
	CHECK(pos == m.size);
	for (i = 0; i < m.nhosts; i++)
		CHECK(m.hosts[i].host[0] && strlen(m.hosts[i].host) <= MANIFEST_HOST_LEN);
	manifest_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

	check(j, &(struct manifest_opts){ .fast = true });
	check(j, &(struct manifest_opts){ .fast = true, .fast_host = "127.0.0.1", .fast_port = 7 });
	check(j, &(struct manifest_opts){ .fast = false });
	json_decref(j);
	return 0;
}
