// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of chunk placement (userspace/dgfsd/placement.c): weighted
 * rendezvous hashing, distinct zones first. Chunk ids are SHA-256 of a
 * counter, as real ids are hashes of content.
 */

/* expect-checks: 11 (tests/run-all.sh: a run that prints fewer fails) */

#include "dgfsd/placement.c"

#include <stdio.h>
#include <string.h>

#include "check.h"

#define CHUNKS	20000

static uint8_t ids[CHUNKS][PLACEMENT_ID_LEN];

static void make_ids(void)
{
	uint32_t i;

	for (i = 0; i < CHUNKS; i++)
		crypto_hash_sha256(ids[i], (const uint8_t *)&i, sizeof(i));
}

/* Owners of chunk @c as a string of host ids, "a,b,c". */
static void owners_str(const uint8_t *c, const struct placement_host *h, size_t n, size_t r,
		       char *s, size_t size)
{
	size_t out[16], got = placement_owners(c, h, n, r, out), i;

	s[0] = 0;
	for (i = 0; i < got; i++) {
		strncat(s, h[out[i]].id, size - strlen(s) - 2);
		strcat(s, ",");
	}
}

/* Whether the owners of every chunk span min(r, zones) zones and are distinct hosts. */
static bool spread(const struct placement_host *h, size_t n, size_t r, size_t zones)
{
	size_t out[16], i, k, j;

	for (i = 0; i < CHUNKS; i++) {
		size_t got = placement_owners(ids[i], h, n, r, out), nz = 0;

		if (got != (r < n ? r : n))
			return false;
		for (k = 0; k < got; k++) {
			bool new_zone = true;

			for (j = 0; j < k; j++) {
				if (out[j] == out[k])
					return false;
				new_zone &= strcmp(h[out[j]].zone, h[out[k]].zone) != 0;
			}
			nz += new_zone;
		}
		if (nz != (r < zones ? r : zones))
			return false;
	}
	return true;
}

int main(void)
{
	struct placement_host five[] = {
		{ "h1", "z1", 100 }, { "h2", "z1", 100 }, { "h3", "z2", 100 },
		{ "h4", "z2", 100 }, { "h5", "z3", 100 },
	};
	struct placement_host rev[5], four[4], six[6], two_zones[5], weighted[3];
	size_t count[6] = { 0 }, out[16], i, k, moved = 0, bad = 0, owned_by_gone = 0;
	char a[128], b[128];
	bool ok;

	if (sodium_init() < 0)
		return 1;
	make_ids();

	for (i = 0; i < 5; i++)
		rev[i] = five[4 - i];
	for (ok = true, i = 0; i < CHUNKS; i++) {
		owners_str(ids[i], five, 5, 3, a, sizeof(a));
		owners_str(ids[i], rev, 5, 3, b, sizeof(b));
		ok &= !strcmp(a, b);
	}
	CHECK("the owners do not depend on the order of the host list", ok);

	CHECK("5 hosts in 3 zones, R=3: three distinct hosts in three zones for every chunk",
	      spread(five, 5, 3, 3));
	memcpy(two_zones, five, sizeof(five));
	two_zones[4].zone = "z1";
	CHECK("5 hosts in 2 zones, R=3: three distinct hosts, both zones, for every chunk",
	      spread(two_zones, 5, 3, 2));

	for (i = 0; i < CHUNKS; i++)
		for (k = placement_owners(ids[i], five, 5, 3, out); k--;)
			count[out[k]]++;
	/* Zones of 2, 2 and 1 host: the lone host of z3 is in every chunk's set. */
	for (ok = true, i = 0; i < 4; i++)
		ok &= count[i] > CHUNKS / 2 * 95 / 100 && count[i] < CHUNKS / 2 * 105 / 100;
	CHECK("R=3 over zones of 2, 2, 1 hosts: each host of z1 and z2 has 1/2 of the chunks (+-5%)",
	      ok);
	CHECK("... and the lone host of z3 has every chunk", count[4] == CHUNKS);

	/* One zone each: plain weighted rendezvous. Weights 1:2:3, R=1. */
	weighted[0] = (struct placement_host){ "w1", "a", 1 };
	weighted[1] = (struct placement_host){ "w2", "b", 2 };
	weighted[2] = (struct placement_host){ "w3", "c", 3 };
	memset(count, 0, sizeof(count));
	for (i = 0; i < CHUNKS; i++) {
		placement_owners(ids[i], weighted, 3, 1, out);
		count[out[0]]++;
	}
	for (ok = true, i = 0; i < 3; i++) {
		double want = CHUNKS * (double)(i + 1) / 6;

		ok &= count[i] > want * 0.95 && count[i] < want * 1.05;
	}
	CHECK("weights 1:2:3, R=1: shares of 1/6, 2/6, 3/6 (+-5%)", ok);

	/* h5 leaves (z3 goes with it). */
	memcpy(four, five, sizeof(four));
	for (i = 0; i < CHUNKS; i++) {
		owners_str(ids[i], five, 5, 3, a, sizeof(a));
		owners_str(ids[i], four, 4, 3, b, sizeof(b));
		if (strstr(a, "h5,"))
			owned_by_gone++;
		else
			bad += strcmp(a, b) != 0;
	}
	CHECK("a host leaves: chunks it did not own keep their owners", bad == 0 && owned_by_gone);

	/* h6 joins in a zone of its own. */
	memcpy(six, five, sizeof(five));
	six[5] = (struct placement_host){ "h6", "z4", 100 };
	for (bad = 0, i = 0; i < CHUNKS; i++) {
		owners_str(ids[i], five, 5, 3, a, sizeof(a));
		owners_str(ids[i], six, 6, 3, b, sizeof(b));
		if (strcmp(a, b)) {
			moved++;
			bad += !strstr(b, "h6,");
		}
	}
	CHECK("a host joins: only chunks it takes a copy of change owners", bad == 0);
	/* Among 4 zones of weights 200, 200, 100, 100, it takes about a share. */
	CHECK("... and it takes some, not all", moved > CHUNKS / 10 && moved < CHUNKS * 9 / 10);

	five[2].weight = 0;
	for (ok = true, i = 0; i < CHUNKS; i++) {
		k = placement_owners(ids[i], five, 5, 3, out);
		ok &= k == 3 && out[0] != 2 && out[1] != 2 && out[2] != 2;
	}
	CHECK("a host of weight 0 owns nothing", ok);
	CHECK("R above the hosts with weight: all of them, no more",
	      placement_owners(ids[0], five, 5, 9, out) == 4 &&
	      placement_owners(ids[0], five, 5, 0, out) == 0 &&
	      placement_owners(ids[0], five, 0, 3, out) == 0);
	return failures ? 1 : 0;
}
