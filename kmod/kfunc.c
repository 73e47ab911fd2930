// SPDX-License-Identifier: GPL-2.0
/*
 * kfuncs: what XDP programs may call in the module. Declared for both sides
 * in include/dgfs_kfuncs.h.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/netdevice.h>
#include <net/xdp.h>

#include "dgfs.h"
#include <dgfs_kfuncs.h>

/* The device a packet arrived on (for BPF_PROG_TEST_RUN, the one the
 * caller named, else the caller's loopback).
 */
static const struct net_device *xdp_dev(const struct xdp_md *ctx)
{
	return ((const struct xdp_buff *)ctx)->rxq->dev;
}

/* The namespace whose index a packet is looked up in: its device's. A
 * request for an address of another namespace (a macvlan or VLAN child
 * moved there) is told apart by dgfs_ring_submit().
 */
static struct dgfs_net *xdp_dgfs_net(const struct xdp_md *ctx)
{
	return dgfs_net(dev_net(xdp_dev(ctx)));
}

s64 bpf_dgfs_chunk_size(struct xdp_md *ctx, const u8 *id, u32 id__sz)
{
	struct dgfs_chunk *chunk;
	s64 size;

	if (id__sz != DGFS_CHUNK_ID_LEN)
		return -EINVAL;
	chunk = dgfs_chunk_get(xdp_dgfs_net(ctx), id);
	if (!chunk)
		return -ENOENT;
	size = chunk->size;
	dgfs_chunk_put(chunk);
	return size;
}

int bpf_dgfs_read_submit(struct xdp_md *ctx, const void *req, u32 req__sz)
{
	if (req__sz != sizeof(struct dgfs_xdp_req))
		return -EINVAL;
	return dgfs_ring_submit(xdp_dgfs_net(ctx), xdp_dev(ctx), req);
}

BTF_SET8_START(dgfs_xdp_kfunc_ids)
BTF_ID_FLAGS(func, bpf_dgfs_chunk_size)
BTF_ID_FLAGS(func, bpf_dgfs_read_submit)
BTF_SET8_END(dgfs_xdp_kfunc_ids)

static const struct btf_kfunc_id_set dgfs_xdp_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &dgfs_xdp_kfunc_ids,
};

int __init dgfs_kfunc_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &dgfs_xdp_kfunc_set);
}
