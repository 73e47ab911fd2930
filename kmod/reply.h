/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reply datagrams: each is a 32-byte header and the chunk's bytes as page
 * fragments that reference the page cache (never copied). Consecutive
 * datagrams of a reply travel as one GSO skb, up to 64 KB, cut into
 * datagrams on the way out (see reply.c).
 */
#ifndef _DGFS_REPLY_H
#define _DGFS_REPLY_H

#include <net/flow.h>

#include "dgfs.h"
#include <dgfs_kfuncs.h>

/* A ring's worker keeps the routes to its recent clients, one per slot,
 * keyed by the request's addresses, ports and device.
 */
#define DGFS_ROUTE_SLOTS 16
#define DGFS_ROUTE_KEY_LEN offsetof(struct dgfs_xdp_req, req)

struct dgfs_route {
	struct dst_entry *dst;	/* a reference, or NULL */
	u32 cookie;		/* for dst_check() */
	u8 key[DGFS_ROUTE_KEY_LEN];
	union {
		struct flowi4 fl4;
		struct flowi6 fl6;
	};
};

struct dgfs_routes {
	struct dgfs_route slot[DGFS_ROUTE_SLOTS];
};

/* Drops every route kept: when the worker is stopped for good. */
void dgfs_routes_flush(struct dgfs_routes *routes);

/* One reply's route and socket, for all of its datagrams, and the skb
 * being filled with them.
 */
struct dgfs_reply {
	struct dgfs_net *dn;
	const struct dgfs_xdp_req *r;
	struct dgfs_sock *ds;	/* a reference */
	struct sock *sk;	/* ds's */
	struct dst_entry *dst;
	bool v4;
	union {
		struct flowi4 fl4;
		struct flowi6 fl6;
	};
	u32 max_payload;	/* chunk bytes that fit one datagram */

	/*
	 * The skb being filled. Its datagrams come in pieces of per_piece
	 * (the last piece may have fewer): the skb's own, then each member
	 * of its frag_list. A piece's headers are in @hdrs, a page fragment
	 * of their own, except the skb's first, in its head.
	 */
	struct sk_buff *skb;
	struct sk_buff *piece;	/* skb, or its frag_list's last member */
	void *hdrs;
	unsigned int nr_hdrs;
	unsigned int segs;	/* datagrams in skb */
	unsigned int piece_segs;	/* datagrams in piece */
	unsigned int per_piece;
	bool pieces;		/* false: a datagram fills a piece */
	u32 last_len;		/* chunk bytes in the last datagram so far */
};

/* 0, or -errno (counted) when there is no socket or route: then the
 * request goes unanswered, as if lost. @routes: the caller's kept routes,
 * or NULL (then each reply looks its route up).
 */
int dgfs_reply_begin(struct dgfs_net *dn, const struct dgfs_xdp_req *r,
		     struct dgfs_routes *routes, struct dgfs_sock *ds,
		     struct dgfs_reply *rp);
/*
 * A reply sent in turns keeps the socket its first datagrams left from
 * (@ds of dgfs_reply_begin() for the next turns): its client hears the
 * whole reply from the port it asked, even across a port move. Process
 * context for the put: the last one closes a replaced socket.
 */
struct dgfs_sock *dgfs_reply_sock_hold(const struct dgfs_reply *rp);
void dgfs_reply_sock_put(struct dgfs_sock *ds);
/* Sends what is still queued. */
void dgfs_reply_end(struct dgfs_reply *rp);
/* Chunk bytes of one turn of a reply (see serve.c): a few full skbs. */
u32 dgfs_reply_slice(const struct dgfs_reply *rp);

/*
 * An OK reply is a run of datagrams: dgfs_reply_datagram() starts one that
 * will carry @len chunk bytes from @offset (0 or -ENOMEM), and
 * dgfs_reply_add_page() adds them; fewer than @len make a short datagram.
 * Datagrams are queued, many to an skb, and sent when the skb can take no
 * more or on dgfs_reply_flush(). A datagram that cannot go is counted and
 * lost, like any other: the client asks again.
 */
int dgfs_reply_datagram(struct dgfs_reply *rp, u64 offset, u32 len,
			u32 total, u64 size);
void dgfs_reply_add_page(struct dgfs_reply *rp, struct page *page,
			 unsigned int off, unsigned int len);
void dgfs_reply_flush(struct dgfs_reply *rp);

/* A reply of one header-only datagram (any status but OK). */
void dgfs_reply_status(struct dgfs_reply *rp, u16 status, u64 size);

#endif /* _DGFS_REPLY_H */
