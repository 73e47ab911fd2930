// SPDX-License-Identifier: GPL-2.0
/*
 * Weighted rendezvous hashing (highest random weight). Each host's score
 * for a chunk is -weight / ln(u), u in (0, 1) from a keyed hash of the
 * chunk id and the host id: the best score wins, each host wins a share of
 * chunks proportional to its weight, and adding or removing a host changes
 * only the chunks whose ranking it enters or leaves. Nothing is stored:
 * every host computes the same owners from the same member list.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "placement.h"

/* SipHash's key: fixed, so that every host and every release agree. */
static const uint8_t placement_key[crypto_shorthash_KEYBYTES] = "dgfs placement 1";

static double score(const uint8_t chunk[PLACEMENT_ID_LEN], const struct placement_host *h)
{
	size_t idlen = strlen(h->id);
	uint8_t buf[PLACEMENT_ID_LEN + 256], out[crypto_shorthash_BYTES];
	uint64_t v;
	double u;

	if (!h->weight)
		return -1;
	if (idlen > sizeof(buf) - PLACEMENT_ID_LEN)
		idlen = sizeof(buf) - PLACEMENT_ID_LEN;
	memcpy(buf, chunk, PLACEMENT_ID_LEN);
	memcpy(buf + PLACEMENT_ID_LEN, h->id, idlen);
	crypto_shorthash(out, buf, PLACEMENT_ID_LEN + idlen, placement_key);
	memcpy(&v, out, sizeof(v));
	/* 53 bits, strictly inside (0, 1): ln(u) < 0 and finite. */
	u = ((double)(v >> 11) + 0.5) / 9007199254740992.0;
	return -(double)h->weight / log(u);
}

/* Better first; equal scores (never in practice) by host id, so every host agrees. */
static bool better(double sa, const struct placement_host *a, double sb,
		   const struct placement_host *b)
{
	if (sa != sb)
		return sa > sb;
	return strcmp(a->id, b->id) < 0;
}

size_t placement_owners(const uint8_t chunk[PLACEMENT_ID_LEN], const struct placement_host *hosts,
			size_t n, size_t r, size_t *out)
{
	double *sc = malloc(n * sizeof(*sc) + 1);
	bool *taken = calloc(n + 1, sizeof(*taken));
	size_t got = 0, i, pass;

	if (!sc || !taken) {
		free(sc);
		free(taken);
		return 0;
	}
	for (i = 0; i < n; i++)
		sc[i] = score(chunk, &hosts[i]);
	/*
	 * Pass 0 takes the best host of a zone not yet used; pass 1 the best
	 * of the rest. Selection, not a sort: r is small (3).
	 */
	for (pass = 0; pass < 2; pass++) {
		while (got < r) {
			size_t best = n, k;

			for (i = 0; i < n; i++) {
				bool zone_used = false;

				if (taken[i] || sc[i] < 0)
					continue;
				for (k = 0; pass == 0 && k < got; k++)
					zone_used |= !strcmp(hosts[out[k]].zone, hosts[i].zone);
				if (zone_used)
					continue;
				if (best == n || better(sc[i], &hosts[i], sc[best], &hosts[best]))
					best = i;
			}
			if (best == n)
				break;
			taken[best] = true;
			out[got++] = best;
		}
	}
	free(sc);
	free(taken);
	return got;
}
