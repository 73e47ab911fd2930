/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs dgfs.ko offers XDP programs: one list for the module, which
 * defines them, and for BPF programs, which call them.
 *
 * BPF programs see them as weak __ksym externs, so one object loads with the
 * module or without it; each call must then sit behind a `const volatile`
 * flag that the loader sets only when the module is there, since on 6.1 a
 * weak kfunc's address cannot be tested at run time.
 */
#ifndef _DGFS_KFUNCS_H
#define _DGFS_KFUNCS_H

#if defined(__bpf__)
#define DGFS_KFUNC extern __attribute__((section(".ksyms"), weak))
#else
#define DGFS_KFUNC
#endif

#include <linux/types.h>
#include <linux/dgfs.h>

struct xdp_md;

/*
 * One request as the XDP program hands it over: where it came from and
 * went to, and its 72 bytes as received. Addresses are IPv6, or IPv4-mapped
 * (::ffff:a.b.c.d) for IPv4; ports in network byte order.
 */
struct dgfs_xdp_req {
	__u8 saddr[16];		/* the client */
	__u8 daddr[16];		/* the address the client sent to */
	__be16 sport;
	__be16 dport;
	__u32 ifindex;		/* the device it arrived on */
	struct dgfs_read_req req;
} __attribute__((packed));

/*
 * Size in bytes of the chunk @id (DGFS_CHUNK_ID_LEN bytes) in the index of
 * the namespace the packet arrived in; -ENOENT if there is no such chunk,
 * -EINVAL if @id__sz is not DGFS_CHUNK_ID_LEN.
 */
DGFS_KFUNC long long bpf_dgfs_chunk_size(struct xdp_md *ctx,
					 const unsigned char *id,
					 unsigned int id__sz);

/*
 * Queue a read request for the module's workers, which check its token,
 * find the chunk and send the reply. @req__sz must be
 * sizeof(struct dgfs_xdp_req). Returns 0 when queued (the program then
 * drops the packet: it is consumed), -ENOSPC when this CPU's ring is full
 * (counted by the module), -EINVAL when the request is malformed (counted),
 * -EADDRNOTAVAIL when it is not addressed to the module's configured port
 * (the program was loaded for another one: pass the packet to the stack)
 * or the namespace has never had a store (no rings: counted).
 */
DGFS_KFUNC int bpf_dgfs_read_submit(struct xdp_md *ctx, const void *req,
				    unsigned int req__sz);

#endif /* _DGFS_KFUNCS_H */
