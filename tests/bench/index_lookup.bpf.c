// SPDX-License-Identifier: GPL-2.0
/*
 * The scale benchmark's probe of dgfs.ko's chunk index (tests/bench/
 * index_lookup.c runs it through BPF_PROG_TEST_RUN). Each run looks up a
 * random one of nr_ids ids, the 28-byte prefix followed by the index as a
 * big-endian 32-bit number: random ids, so a big index is not measured from
 * one hot bucket. Without have_kmod the lookup is left out, which gives the
 * cost of everything around it.
 */
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <linux/dgfs.h>
#include <dgfs_kfuncs.h>

#define PREFIX_LEN (DGFS_CHUNK_ID_LEN - 4)

const volatile bool have_kmod = false;
const volatile __u32 nr_ids = 1;
/* Set after load, not in rodata: a const array would be folded into the
 * program as zeros by the compiler.
 */
unsigned char prefix[PREFIX_LEN];

__u64 hits = 0, misses = 0;

SEC("xdp")
int index_lookup(struct xdp_md *ctx)
{
	unsigned char id[DGFS_CHUNK_ID_LEN];
	__be32 n = bpf_htonl(nr_ids ? bpf_get_prandom_u32() % nr_ids : 0);

	__builtin_memcpy(id, prefix, PREFIX_LEN);
	__builtin_memcpy(&id[PREFIX_LEN], &n, sizeof(n));
	if (!have_kmod)
		return XDP_PASS;
	if (bpf_dgfs_chunk_size(ctx, id, sizeof(id)) >= 0)
		hits++;
	else
		misses++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
