// SPDX-License-Identifier: GPL-2.0
/*
 * Test program for dgfs.ko's kfuncs: the packet's first 32 bytes are a chunk
 * id; the verdict says what the module's index answered. Run through
 * BPF_PROG_TEST_RUN by tests/bpf/kfunc_test.c.
 *
 *   XDP_TX      found; last_result is the chunk's size
 *   XDP_DROP    not found; last_result is the -errno
 *   XDP_PASS    loaded without the module (have_kmod false)
 *   XDP_ABORTED packet shorter than an id
 */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

#include <linux/dgfs.h>
#include <dgfs_kfuncs.h>

const volatile bool have_kmod = false;
long long last_result = 0;

SEC("xdp")
int kfunc_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	unsigned char id[DGFS_CHUNK_ID_LEN];

	if (data + DGFS_CHUNK_ID_LEN > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(id, data, DGFS_CHUNK_ID_LEN);

	if (!have_kmod) {
		last_result = -ENOSYS;
		return XDP_PASS;
	}
	last_result = bpf_dgfs_chunk_size(ctx, id, sizeof(id));
	return last_result >= 0 ? XDP_TX : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
