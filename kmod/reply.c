// SPDX-License-Identifier: GPL-2.0
/*
 * The service sockets and the reply datagrams.
 *
 * Each namespace with a store has two kernel UDP sockets (IPv4 and IPv6)
 * bound to the service port. Replies are built by hand, as WireGuard and
 * the UDP tunnels build theirs, then routed, given UDP and IP headers (DF
 * set) and handed to ip{,6}_local_out(), whose verdict says whether they
 * count as sent. The sockets give the replies their source port,
 * account their memory (sndbuf) and, through the encapsulation hook, take
 * requests that reach the stack rather than XDP (a client on this host, or
 * a NIC without the XDP program): those go to the same rings.
 *
 * A datagram is a 32-byte header and the chunk's page-cache pages attached
 * as fragments. Building, routing and sending an skb per 1.4 KB datagram
 * costs more than the datagram's bytes, so consecutive datagrams of a reply
 * share one UDP GSO skb whose payload is header, pages, header, pages...:
 * the first header in the skb's head, the others in small page fragments
 * of their own, each attached as a fragment ahead of its pages. With
 * gso_size = header + max_payload, cutting the payload into gso_size pieces
 * gives back exactly the datagrams, each starting with its header; the
 * device does it, or the stack in software (skb_segment(), which takes
 * references on the same pages: still no copy).
 *
 * Each datagram takes a fragment for its header and one or two for its
 * pages, so MAX_SKB_FRAGS (17) would stop an skb at 5 to 7 datagrams. The
 * skb goes on in its frag_list, whose members carry fragments only, up to
 * 64 KB (44 datagrams at MTU 1500). The skb and each member hold the same
 * number of datagrams (the last member may hold fewer): a device that can
 * cut UDP GSO skbs but cannot take a frag_list gets the skb split at the
 * members (skb_segment()'s GSO partial path) into skbs it can cut, rather
 * than every datagram cut in software. veth and loopback take the whole.
 */
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ip6_fib.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/ipv6_stubs.h>
#include <net/route.h>
#include <net/ip6_checksum.h>
#include <net/udp_tunnel.h>

#include "dgfs.h"
#include "reply.h"
#include <dgfs_kfuncs.h>

/* Room for any link layer, IPv6 and UDP in front of our header. */
#define REPLY_HEADROOM (MAX_HEADER + sizeof(struct ipv6hdr) + sizeof(struct udphdr))
/* A datagram's payload in pages: leave a fragment for a misaligned start. */
#define REPLY_MAX_PAYLOAD min_t(u32, (MAX_SKB_FRAGS - 1) * PAGE_SIZE, 65000)
/* The IP and UDP length fields are 16 bits: an skb's whole payload, with
 * the largest IP header and UDP's, must fit them.
 */
#define REPLY_GSO_MAX_LEN (65535 - sizeof(struct ipv6hdr) - sizeof(struct udphdr))
/* How long a worker waits for socket memory before dropping a datagram. */
#define REPLY_WMEM_WAIT msecs_to_jiffies(200)
#define REPLY_SNDBUF (4 << 20)

/* ---- requests that came through the stack ------------------------------ */

static void map_v4(u8 *to, __be32 addr)
{
	ipv6_addr_set_v4mapped(addr, (struct in6_addr *)to);
}

/* Softirq context, like XDP. 0 = consumed (always: this port is ours). */
static int dgfs_sock_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct dgfs_net *dn = rcu_dereference_sk_user_data(sk);
	struct dgfs_xdp_req r;
	struct udphdr *uh;

	if (!dn)
		goto drop;
	if (skb->len != sizeof(struct udphdr) + DGFS_READ_REQ_LEN ||
	    skb_copy_bits(skb, sizeof(struct udphdr), &r.req, sizeof(r.req))) {
		dgfs_count(dn, DGFS_C_MALFORMED);
		goto drop;
	}
	uh = udp_hdr(skb);
	r.sport = uh->source;
	r.dport = uh->dest;
	r.ifindex = skb->dev->ifindex;
	if (skb->protocol == htons(ETH_P_IP)) {
		map_v4(r.saddr, ip_hdr(skb)->saddr);
		map_v4(r.daddr, ip_hdr(skb)->daddr);
	} else {
		memcpy(r.saddr, &ipv6_hdr(skb)->saddr, 16);
		memcpy(r.daddr, &ipv6_hdr(skb)->daddr, 16);
	}
	dgfs_count(dn, DGFS_C_STACK_REQUESTS);
	/* The same checks as for XDP's requests, addresses included: the
	 * stack hands us broadcasts and multicasts too. A destination that
	 * is not ours (a transparent proxy's) is not answered either.
	 */
	if (dgfs_ring_submit(dn, skb->dev, &r) == -EXDEV)
		dgfs_count(dn, DGFS_C_BAD_DST);
drop:
	kfree_skb(skb);
	return 0;
}

/* ---- the sockets -------------------------------------------------------- */

/*
 * A service socket is shared by the namespace (one reference, while it
 * is the current one) and by the replies being sent through it (one
 * each, taken under RCU). Replies hold no lock while they send, nor
 * while they wait for send buffer space: a port move swaps the pointers,
 * unhooks the old sockets from the packet path and drops the namespace's
 * references; the last reply to finish closes each.
 */
struct dgfs_sock {
	struct socket *sock;
	refcount_t ref;
};

static struct dgfs_sock *dgfs_sock_open(struct dgfs_net *dn, int family,
					u16 port, int *err)
{
	struct udp_tunnel_sock_cfg tcfg = {
		.sk_user_data = dn,
		.encap_type = 1,
		.encap_rcv = dgfs_sock_rcv,
	};
	struct udp_port_cfg cfg = {
		.family = family,
		.local_udp_port = htons(port),
		.use_udp_checksums = true,
		.use_udp6_tx_checksums = true,
		.use_udp6_rx_checksums = true,
		.ipv6_v6only = true,
	};
	struct dgfs_sock *ds;
	struct sock *sk;

	ds = kmalloc(sizeof(*ds), GFP_KERNEL);
	if (!ds) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = udp_sock_create(dn->net, &cfg, &ds->sock);
	if (*err < 0) {
		kfree(ds);
		return NULL;
	}
	refcount_set(&ds->ref, 1);
	sk = ds->sock->sk;
	lock_sock(sk);
	sk->sk_userlocks |= SOCK_SNDBUF_LOCK;
	WRITE_ONCE(sk->sk_sndbuf, REPLY_SNDBUF);
	release_sock(sk);
	setup_udp_tunnel_sock(dn->net, ds->sock, &tcfg);
	return ds;
}

/* Requests that still reach it are dropped (dgfs_sock_rcv()) from the
 * next RCU grace period on.
 */
static void dgfs_sock_unhook(struct dgfs_sock *ds)
{
	if (ds)
		rcu_assign_sk_user_data(ds->sock->sk, NULL);
}

/* Process context: closing may sleep. */
static void dgfs_sock_put(struct dgfs_sock *ds)
{
	if (!ds || !refcount_dec_and_test(&ds->ref))
		return;
	kernel_sock_shutdown(ds->sock, SHUT_RDWR);
	sock_release(ds->sock);
	kfree(ds);
}

/* A reference to the namespace's current socket of a family, or NULL. */
static struct dgfs_sock *dgfs_sock_get(struct dgfs_net *dn, bool v4)
{
	struct dgfs_sock *ds;

	rcu_read_lock();
	ds = v4 ? rcu_dereference(dn->sock4) : rcu_dereference(dn->sock6);
	/* Not refcount_inc_not_zero(): the namespace drops its reference
	 * only a grace period after the socket stopped being current.
	 */
	if (ds)
		refcount_inc(&ds->ref);
	rcu_read_unlock();
	return ds;
}

/* Under dgfs_net.lock: a port move, while the namespace serves. */
static void sockets_replace(struct dgfs_net *dn, struct dgfs_sock *s4,
			    struct dgfs_sock *s6)
{
	struct dgfs_sock *old4, *old6;

	old4 = rcu_replace_pointer(dn->sock4, s4, true);
	old6 = rcu_replace_pointer(dn->sock6, s6, true);
	dgfs_sock_unhook(old4);
	dgfs_sock_unhook(old6);
	/* Now no request comes through the old sockets any more, and every
	 * reply that found one holds its own reference.
	 */
	synchronize_rcu();
	dgfs_sock_put(old4);
	dgfs_sock_put(old6);
}

/* Under dgfs_net.lock. (Re)binds the service port; on failure the old
 * sockets, if any, stay as they were.
 */
int dgfs_sockets_open(struct dgfs_net *dn, u16 port,
		      struct netlink_ext_ack *extack)
{
	struct dgfs_sock *s4, *s6;
	int ret;

	lockdep_assert_held(&dn->lock);
	if (rcu_access_pointer(dn->sock4) && dn->sock_port == port)
		return 0;

	s4 = dgfs_sock_open(dn, AF_INET, port, &ret);
	if (ret == -EADDRINUSE) {
		NL_SET_ERR_MSG(extack, "the fast-path UDP port is in use in this namespace");
		return ret;
	}
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "cannot open the fast-path UDP socket");
		return ret;
	}
	/* A kernel without IPv6 still serves IPv4; any other failure keeps
	 * the sockets there are, IPv6's included.
	 */
	s6 = dgfs_sock_open(dn, AF_INET6, port, &ret);
	if (ret < 0 && ret != -EAFNOSUPPORT) {
		if (ret == -EADDRINUSE)
			NL_SET_ERR_MSG(extack, "the fast-path UDP port is in use in this namespace (IPv6)");
		else
			NL_SET_ERR_MSG(extack, "cannot open the fast-path UDP socket (IPv6)");
		/* Hooked, though never current: requests may have come. */
		dgfs_sock_unhook(s4);
		synchronize_rcu();
		dgfs_sock_put(s4);
		return ret;
	}

	sockets_replace(dn, s4, s6);
	dn->sock_port = port;
	return 0;
}

/*
 * Namespace exit, in two halves, so that no namespace waits a grace period
 * of its own: rmmod or a batch of dying namespaces waited one per
 * namespace, one after the other, and under a flood on the debug kernel
 * one took over two minutes. The core waits a single one for the whole batch between every
 * pre_exit and exit (cleanup_net(), unregister_pernet_subsys() and a failed
 * register alike).
 *
 * pre_exit: the sockets stop being current and are unhooked, as in a port
 * move; the namespace keeps its references until exit. Workers that look
 * for a socket from here on find none (no reply, as at any teardown), and
 * requests still reaching the sockets are dropped (dgfs_sock_rcv()).
 */
void dgfs_sockets_unhook(struct dgfs_net *dn)
{
	dn->closing4 = rcu_replace_pointer(dn->sock4, NULL, true);
	dn->closing6 = rcu_replace_pointer(dn->sock6, NULL, true);
	dgfs_sock_unhook(dn->closing4);
	dgfs_sock_unhook(dn->closing6);
}

/*
 * exit, after the core's grace period and once the namespace's workers are
 * stopped: no grace period here. A worker that found a socket under RCU
 * (dgfs_sock_get()) before pre_exit holds its own reference by now, and
 * every reply has dropped it since; the hook's readers (softirq) that took
 * dn from sk_user_data before pre_exit are done too. So the namespace's
 * reference is the last: the sockets close now.
 */
void dgfs_sockets_close(struct dgfs_net *dn)
{
	dgfs_sock_put(dn->closing4);
	dgfs_sock_put(dn->closing6);
	dn->closing4 = dn->closing6 = NULL;
}

/* ---- replies ------------------------------------------------------------ */

static int route4(struct dgfs_reply *rp)
{
	const struct dgfs_xdp_req *r = rp->r;
	struct rtable *rt;

	memset(&rp->fl4, 0, sizeof(rp->fl4));
	rp->fl4.daddr = ((const struct in6_addr *)r->saddr)->s6_addr32[3];
	rp->fl4.saddr = ((const struct in6_addr *)r->daddr)->s6_addr32[3];
	rp->fl4.flowi4_proto = IPPROTO_UDP;
	rp->fl4.fl4_sport = r->dport;
	rp->fl4.fl4_dport = r->sport;
	/* From the address the client wrote to, which dgfs_ring_submit()
	 * found to be ours; if it has gone since, no reply.
	 */
	rt = ip_route_output_flow(rp->dn->net, &rp->fl4, rp->sk);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	rp->dst = &rt->dst;
	return 0;
}

static int route6(struct dgfs_reply *rp)
{
	const struct dgfs_xdp_req *r = rp->r;
	struct dst_entry *dst;

	memset(&rp->fl6, 0, sizeof(rp->fl6));
	memcpy(&rp->fl6.daddr, r->saddr, 16);
	memcpy(&rp->fl6.saddr, r->daddr, 16);
	rp->fl6.flowi6_proto = IPPROTO_UDP;
	rp->fl6.fl6_sport = r->dport;
	rp->fl6.fl6_dport = r->sport;
	/* Link-local peers are only reachable where they came from. */
	if (ipv6_addr_type(&rp->fl6.daddr) & IPV6_ADDR_LINKLOCAL)
		rp->fl6.flowi6_oif = r->ifindex;
	dst = ipv6_stub->ipv6_dst_lookup_flow(rp->dn->net, rp->sk, &rp->fl6,
					      NULL);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	rp->dst = dst;
	return 0;
}

/*
 * A worker answers the same few clients over and over: it keeps their
 * routes, as a connected socket keeps its own (sk_dst_cache), and checks
 * one with dst_check() before each use, which fails once the routing
 * tables have changed, a PMTU exception has appeared (IPv4 marks the old
 * routes obsolete), or the route's fib6 node has (IPv6's cookie). Keeping
 * a route does not pin its device: when it goes, the route is moved to
 * the blackhole device, and the check fails.
 */
static struct dgfs_route *route_slot(struct dgfs_routes *routes,
				     const struct dgfs_xdp_req *r)
{
	return &routes->slot[jhash(r, DGFS_ROUTE_KEY_LEN, 0) %
			     DGFS_ROUTE_SLOTS];
}

static bool route_cached(struct dgfs_reply *rp, struct dgfs_route *rt)
{
	struct dst_entry *dst = rt->dst;

	if (!dst || memcmp(rt->key, rp->r, DGFS_ROUTE_KEY_LEN))
		return false;
	if (!dst_check(dst, rt->cookie)) {
		dst_release(dst);
		rt->dst = NULL;
		return false;
	}
	rp->dst = dst_clone(dst);
	if (rp->v4)
		rp->fl4 = rt->fl4;
	else
		rp->fl6 = rt->fl6;
	return true;
}

static void route_keep(struct dgfs_reply *rp, struct dgfs_route *rt)
{
	struct dst_entry *dst = rp->dst;

	dst_release(rt->dst);
	rt->dst = NULL;
	/* An IPsec bundle is left to the next lookup: its check differs. */
	if (dst_xfrm(dst))
		return;
	memcpy(rt->key, rp->r, DGFS_ROUTE_KEY_LEN);
	if (rp->v4) {
		rt->cookie = 0;
		rt->fl4 = rp->fl4;
	} else {
		rt->cookie = rt6_get_cookie((struct rt6_info *)dst);
		rt->fl6 = rp->fl6;
	}
	rt->dst = dst_clone(dst);
}

void dgfs_routes_flush(struct dgfs_routes *routes)
{
	unsigned int i;

	for (i = 0; i < DGFS_ROUTE_SLOTS; i++) {
		dst_release(routes->slot[i].dst);
		routes->slot[i].dst = NULL;
	}
}

struct dgfs_sock *dgfs_reply_sock_hold(const struct dgfs_reply *rp)
{
	refcount_inc(&rp->ds->ref);
	return rp->ds;
}

void dgfs_reply_sock_put(struct dgfs_sock *ds)
{
	dgfs_sock_put(ds);
}

int dgfs_reply_begin(struct dgfs_net *dn, const struct dgfs_xdp_req *r,
		     struct dgfs_routes *routes, struct dgfs_sock *ds,
		     struct dgfs_reply *rp)
{
	struct dgfs_route *rt = routes ? route_slot(routes, r) : NULL;
	unsigned int frags;
	int ret;

	rp->dn = dn;
	rp->r = r;
	rp->dst = NULL;
	rp->skb = NULL;
	rp->hdrs = NULL;
	rp->v4 = ipv6_addr_v4mapped((const struct in6_addr *)r->saddr);

	if (ds) {
		refcount_inc(&ds->ref);
		rp->ds = ds;
	} else {
		rp->ds = dgfs_sock_get(dn, rp->v4);
	}
	if (!rp->ds) {
		ret = -ENOTCONN;
		goto err;
	}
	rp->sk = rp->ds->sock->sk;
	if (!rt || !route_cached(rp, rt)) {
		ret = rp->v4 ? route4(rp) : route6(rp);
		if (ret < 0)
			goto err;
		if (rt)
			route_keep(rp, rt);
	}
	rp->max_payload = dst_mtu(rp->dst) - sizeof(struct udphdr) -
			  DGFS_READ_REPLY_HDR_LEN -
			  (rp->v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
	rp->max_payload = clamp_t(u32, rp->max_payload, 512, REPLY_MAX_PAYLOAD);
	/* A datagram takes a fragment for its header and one for each page
	 * it touches: so many of them surely fit a piece.
	 */
	frags = 1 + DIV_ROUND_UP(rp->max_payload + PAGE_SIZE - 1, PAGE_SIZE);
	rp->per_piece = max(1U, MAX_SKB_FRAGS / frags);
	rp->pieces = frags <= MAX_SKB_FRAGS;
	return 0;
err:
	dgfs_sock_put(rp->ds);
	dgfs_count(dn, DGFS_C_SEND_ERRORS);
	net_dbg_ratelimited("dgfs: cannot answer %pI6c: %d\n", r->saddr, ret);
	return ret;
}

/* Skbs of a turn: two full ones are ~128 KB at any MTU. */
#define REPLY_SLICE_SKBS 2

u32 dgfs_reply_slice(const struct dgfs_reply *rp)
{
	u32 gso_size = DGFS_READ_REPLY_HDR_LEN + rp->max_payload;
	u32 segs = clamp_t(u32, REPLY_GSO_MAX_LEN / gso_size, 1, UDP_MAX_SEGMENTS);

	return REPLY_SLICE_SKBS * segs * rp->max_payload;
}

void dgfs_reply_end(struct dgfs_reply *rp)
{
	dgfs_reply_flush(rp);
	dst_release(rp->dst);
	dgfs_sock_put(rp->ds);
}

static void reply_header(const struct dgfs_reply *rp,
			 struct dgfs_read_reply *hdr, u16 status, u64 offset,
			 u32 total, u64 size)
{
	hdr->magic = cpu_to_be32(DGFS_PROTO_MAGIC);
	hdr->version = DGFS_PROTO_VERSION;
	hdr->op = DGFS_OP_READ_REPLY;
	hdr->status = cpu_to_be16(status);
	hdr->req_id = rp->r->req.req_id;
	hdr->offset = cpu_to_be64(offset);
	hdr->total = cpu_to_be32(total);
	hdr->size = cpu_to_be32(size);	/* < 4 GiB: checked at chunk add */
}

/* An skb holding one datagram's header. */
static struct sk_buff *reply_alloc(const struct dgfs_reply *rp, u16 status,
				   u64 offset, u32 total, u64 size)
{
	struct sk_buff *skb;

	skb = alloc_skb(REPLY_HEADROOM + DGFS_READ_REPLY_HDR_LEN, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, REPLY_HEADROOM);
	skb_set_inner_network_header(skb, 0);
	reply_header(rp, skb_put(skb, DGFS_READ_REPLY_HDR_LEN), status, offset,
		     total, size);
	return skb;
}

static bool reply_has_room(struct sock *sk)
{
	return sk_wmem_alloc_get(sk) <= READ_ONCE(sk->sk_sndbuf);
}

/* Pushes the UDP header in front of the reply's payload. */
static struct udphdr *reply_push_udp(struct dgfs_reply *rp, struct sk_buff *skb,
				     __be16 sport, __be16 dport)
{
	struct udphdr *uh;

	__skb_push(skb, sizeof(*uh));
	skb_reset_transport_header(skb);
	uh = udp_hdr(skb);
	uh->source = sport;
	uh->dest = dport;
	uh->len = htons(skb->len);
	return uh;
}

/*
 * The IP layer's verdict on @skb (consumed): for net_xmit_eval(), 0 or
 * NET_XMIT_CN when it went, else the error of a drop
 * (a qdisc's, netfilter's, an unreachable neighbour's). The UDP tunnels'
 * xmit helpers would do the same but tell nothing. DF is set: a reply is
 * sized to the route's MTU, and a smaller one further on must come back
 * as ICMP (it updates the route, see route_cached()), not as fragments.
 * Only a locked MTU ("mtu lock" routes) forgoes path MTU discovery.
 */
static int reply_output4(struct dgfs_reply *rp, struct sk_buff *skb)
{
	struct net *net = rp->dn->net;
	struct iphdr *iph;

	reply_push_udp(rp, skb, rp->fl4.fl4_sport, rp->fl4.fl4_dport);
	udp_set_csum(false, skb, rp->fl4.saddr, rp->fl4.daddr, skb->len);
	memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
	skb_dst_set(skb, dst_clone(rp->dst));

	skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph = ip_hdr(skb);
	iph->version = 4;
	iph->ihl = sizeof(*iph) >> 2;
	iph->tos = 0;
	iph->frag_off = ip_mtu_locked(rp->dst) ? 0 : htons(IP_DF);
	iph->ttl = ip4_dst_hoplimit(rp->dst);
	iph->protocol = IPPROTO_UDP;
	iph->saddr = rp->fl4.saddr;
	iph->daddr = rp->fl4.daddr;
	__ip_select_ident(net, iph, skb_shinfo(skb)->gso_segs ?: 1);
	/* ip_local_out() fills in the length and the header checksum. */
	return ip_local_out(net, rp->sk, skb);
}

static int reply_output6(struct dgfs_reply *rp, struct sk_buff *skb)
{
	struct ipv6hdr *ip6h;

	reply_push_udp(rp, skb, rp->fl6.fl6_sport, rp->fl6.fl6_dport);
	udp6_set_csum(false, skb, &rp->fl6.saddr, &rp->fl6.daddr, skb->len);
	memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
	skb_dst_set(skb, dst_clone(rp->dst));

	__skb_push(skb, sizeof(*ip6h));
	skb_reset_network_header(skb);
	ip6h = ipv6_hdr(skb);
	ip6_flow_hdr(ip6h, 0, 0);
	ip6h->nexthdr = IPPROTO_UDP;
	ip6h->hop_limit = ip6_dst_hoplimit(rp->dst);
	ip6h->saddr = rp->fl6.saddr;
	ip6h->daddr = rp->fl6.daddr;
	/* ip6_local_out() fills in the payload length. */
	return ip6_local_out(rp->dn->net, rp->sk, skb);
}

/* Sends and consumes @skb, which carries @segs datagrams. */
static void reply_xmit(struct dgfs_reply *rp, struct sk_buff *skb,
		       unsigned int segs)
{
	struct sock *sk = rp->sk;
	int ret;

	/*
	 * Back-pressure: a worker, never the packet path, waits for room.
	 * Interruptibly, since that is the only sleep the socket's write
	 * space callback wakes (once half the send buffer is free); a worker
	 * gets no signals, but a timeout or a signal drops the datagrams.
	 */
	if (!reply_has_room(sk) &&
	    wait_event_interruptible_timeout(*sk_sleep(sk), reply_has_room(sk),
					     REPLY_WMEM_WAIT) <= 0) {
		kfree_skb(skb);
		dgfs_count_add(rp->dn, DGFS_C_SEND_ERRORS, segs);
		return;
	}
	skb_set_owner_w(skb, sk);
	ret = rp->v4 ? reply_output4(rp, skb) : reply_output6(rp, skb);
	/* What the stack dropped was not sent: the client asks again. */
	dgfs_count_add(rp->dn, net_xmit_eval(ret) ? DGFS_C_SEND_ERRORS :
						    DGFS_C_DATAGRAMS, segs);
}

/* Can the skb being filled take one more datagram, of @len bytes? Every
 * datagram of a GSO skb but the last must be gso_size long, and so must
 * be every piece but the last.
 */
static bool reply_room(const struct dgfs_reply *rp, u32 len)
{
	return rp->last_len == rp->max_payload &&
	       rp->segs < UDP_MAX_SEGMENTS &&
	       rp->skb->len + DGFS_READ_REPLY_HDR_LEN + len <= REPLY_GSO_MAX_LEN &&
	       (rp->piece_segs < rp->per_piece || rp->pieces);
}

static void reply_drop_hdrs(struct dgfs_reply *rp)
{
	/* The allocation's reference: each header's fragment has its own. */
	if (rp->hdrs)
		skb_free_frag(rp->hdrs);
	rp->hdrs = NULL;
}

static void *reply_alloc_hdrs(const struct dgfs_reply *rp)
{
	return netdev_alloc_frag(rp->per_piece * DGFS_READ_REPLY_HDR_LEN);
}

/* Starts the skb's next piece: a member of its frag_list, with memory for
 * its headers. A member without fragments would be invalid, so nothing
 * is linked unless both can be had.
 */
static bool reply_new_piece(struct dgfs_reply *rp)
{
	struct sk_buff *member;
	void *hdrs;

	hdrs = reply_alloc_hdrs(rp);
	if (!hdrs)
		return false;
	member = alloc_skb(0, GFP_KERNEL);
	if (!member) {
		skb_free_frag(hdrs);
		return false;
	}
	if (rp->piece == rp->skb)
		skb_shinfo(rp->skb)->frag_list = member;
	else
		rp->piece->next = member;
	rp->skb->truesize += member->truesize;
	rp->piece = member;
	rp->piece_segs = 0;
	reply_drop_hdrs(rp);
	rp->hdrs = hdrs;
	rp->nr_hdrs = 0;
	return true;
}

/* Attaches @len bytes of @page at @off to the current piece (a reference,
 * no copy); the skb's own length counts its frag_list's too.
 */
static void reply_add_frag(struct dgfs_reply *rp, struct page *page,
			   unsigned int off, unsigned int len)
{
	struct sk_buff *piece = rp->piece;

	get_page(page);
	skb_fill_page_desc(piece, skb_shinfo(piece)->nr_frags, page, off, len);
	piece->len += len;
	piece->data_len += len;
	piece->truesize += len;
	if (piece != rp->skb) {
		rp->skb->len += len;
		rp->skb->data_len += len;
		rp->skb->truesize += len;
	}
}

int dgfs_reply_datagram(struct dgfs_reply *rp, u64 offset, u32 len,
			u32 total, u64 size)
{
	struct dgfs_read_reply *hdr;

	if (rp->skb && !reply_room(rp, len))
		dgfs_reply_flush(rp);
	rp->last_len = 0;
	/* Without memory for a piece or its headers, the datagram starts an
	 * skb of its own, which needs neither.
	 */
	if (rp->skb && rp->piece_segs == rp->per_piece && !reply_new_piece(rp))
		dgfs_reply_flush(rp);
	/* The skb's own piece: its second datagram needs the memory. */
	if (rp->skb && !rp->hdrs) {
		rp->hdrs = reply_alloc_hdrs(rp);
		rp->nr_hdrs = 0;
		if (!rp->hdrs)
			dgfs_reply_flush(rp);
	}
	if (!rp->skb) {
		rp->skb = reply_alloc(rp, DGFS_STATUS_OK, offset, total, size);
		rp->piece = rp->skb;
		rp->segs = 1;
		rp->piece_segs = 1;
		return rp->skb ? 0 : -ENOMEM;
	}

	hdr = rp->hdrs + rp->nr_hdrs++ * DGFS_READ_REPLY_HDR_LEN;
	reply_header(rp, hdr, DGFS_STATUS_OK, offset, total, size);
	/* Headers are 32-byte aligned: none straddles a page. */
	reply_add_frag(rp, virt_to_page(hdr), offset_in_page(hdr),
		       DGFS_READ_REPLY_HDR_LEN);
	rp->segs++;
	rp->piece_segs++;
	return 0;
}

void dgfs_reply_add_page(struct dgfs_reply *rp, struct page *page,
			 unsigned int off, unsigned int len)
{
	reply_add_frag(rp, page, off, len);
	rp->last_len += len;
	/* The pages belong to the page cache: whoever would write into
	 * them (checksumming in place, say) must copy first.
	 */
	skb_shinfo(rp->piece)->flags |= SKBFL_SHARED_FRAG;
	skb_shinfo(rp->skb)->flags |= SKBFL_SHARED_FRAG;
}

void dgfs_reply_flush(struct dgfs_reply *rp)
{
	struct sk_buff *skb = rp->skb;
	unsigned int segs = rp->segs;

	if (!skb)
		return;
	rp->skb = NULL;
	reply_drop_hdrs(rp);
	if (segs > 1) {
		/*
		 * A UDP GSO skb, as a UDP_SEGMENT sendmsg() makes: the device,
		 * or the stack before it if the device cannot, cuts the
		 * payload into gso_size pieces (the last may be shorter),
		 * each one datagram with its own header, and sets each one's
		 * UDP length and checksum. The checksum must start at the UDP
		 * header, which reply_output{4,6}() will push in front of
		 * the data; they leave the pseudo-header sum in it for GSO.
		 */
		skb_shinfo(skb)->gso_type = SKB_GSO_UDP_L4;
		skb_shinfo(skb)->gso_size = DGFS_READ_REPLY_HDR_LEN +
					    rp->max_payload;
		skb_shinfo(skb)->gso_segs = segs;
		skb->ip_summed = CHECKSUM_PARTIAL;
		skb->csum_start = skb_headroom(skb) - sizeof(struct udphdr);
		skb->csum_offset = offsetof(struct udphdr, check);
	}
	reply_xmit(rp, skb, segs);
}

void dgfs_reply_status(struct dgfs_reply *rp, u16 status, u64 size)
{
	struct sk_buff *skb;

	dgfs_reply_flush(rp);
	skb = reply_alloc(rp, status, 0, 0, size);
	if (skb)
		reply_xmit(rp, skb, 1);
	else
		dgfs_count(rp->dn, DGFS_C_SEND_ERRORS);
}
