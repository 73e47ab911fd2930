/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reply datagrams: a 32-byte header in the skb's head and the chunk's
 * bytes as page fragments that reference the page cache (never copied).
 */
#ifndef _DGFS_REPLY_H
#define _DGFS_REPLY_H

#include <net/flow.h>

#include "dgfs.h"

struct dgfs_xdp_req;

/* One reply's route and socket, for all of its datagrams. */
struct dgfs_reply {
	struct dgfs_net *dn;
	const struct dgfs_xdp_req *r;
	struct sock *sk;
	struct dst_entry *dst;
	bool v4;
	union {
		struct flowi4 fl4;
		struct flowi6 fl6;
	};
	u32 max_payload;	/* chunk bytes that fit one datagram */
};

/* 0, or -errno (counted) when there is no socket or route: then the
 * request goes unanswered, as if lost.
 */
int dgfs_reply_begin(struct dgfs_net *dn, const struct dgfs_xdp_req *r,
		     struct dgfs_reply *rp);
void dgfs_reply_end(struct dgfs_reply *rp);
struct sk_buff *dgfs_reply_alloc(struct dgfs_reply *rp, u16 status,
				 u64 offset, u32 total, u64 size);
void dgfs_reply_add_page(struct sk_buff *skb, struct page *page,
			 unsigned int off, unsigned int len);
/* Sends and consumes @skb; a datagram that cannot go is counted and lost,
 * like any other: the client asks again.
 */
void dgfs_reply_xmit(struct dgfs_reply *rp, struct sk_buff *skb);
void dgfs_reply_status(struct dgfs_reply *rp, u16 status, u64 size);

#endif /* _DGFS_REPLY_H */
