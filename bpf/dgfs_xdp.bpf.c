// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs_xdp: take chunk-read requests off the NIC and hand them to dgfs.ko.
 *
 * A UDP datagram to the service port (rodata `port`) is ours. A valid
 * request goes to the module through bpf_dgfs_read_submit() and is dropped
 * here: the module answers it. A malformed one, or one from or to an
 * address the stack would never answer, is dropped and counted by reason.
 * Everything else passes untouched, and also a valid request when the
 * module is absent (have_kmod false), so that a userspace server bound to
 * the port can answer it, or when the module finds its destination is not
 * this namespace's. docs/XDP.md has the whole contract.
 *
 * This is the per-packet path of every frame on the interface: one map
 * lookup, no loops but the bounded IPv6 extension header walk, and nothing
 * copied unless the datagram is ours.
 */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <stdbool.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <linux/dgfs.h>
#include <dgfs_kfuncs.h>
#include "dgfs_xdp.h"

/* Set by the loader before load. */
const volatile bool have_kmod = false;
const volatile __u16 port = DGFS_DEFAULT_PORT;		/* host order */
const volatile __u32 max_read = DGFS_DEFAULT_MAX_READ;
/* Without the module: hand valid requests to dgfs-userd's AF_XDP socket
 * of the receive queue (userspace/server/xsk.c) instead of the stack.
 */
const volatile bool to_xsk = false;

/* The AF_XDP sockets by receive queue; only used when to_xsk. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, DGFS_XSK_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dgfs_xdp_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_counters SEC(".maps");

/* IPv6 extension headers walked to find the UDP header: hop-by-hop,
 * routing, destination options and fragment, in any order. A chain longer
 * than this is passed to the stack.
 */
#define IPV6_EXT_MAX	6

#define IP_MF_BIT	0x2000
#define IP_OFFSET_MASK	0x1fff
#define IP6_OFFSET_MASK	0xfff8

#define REQ_UDP_LEN	(sizeof(struct udphdr) + sizeof(struct dgfs_read_req))

/*
 * struct dgfs_xdp_req is packed, so clang reads and writes it one byte at
 * a time. The words below give it the alignment it has anyway (the request
 * starts at byte 40), so that it is built and checked a word at a time; the
 * BPF stack only takes aligned accesses.
 */
union req_buf {
	struct dgfs_xdp_req r;
	__u64 w[sizeof(struct dgfs_xdp_req) / 8];
	__u32 d[sizeof(struct dgfs_xdp_req) / 4];
	__u16 h[sizeof(struct dgfs_xdp_req) / 2];
	__u8 b[sizeof(struct dgfs_xdp_req)];
};

#define XREQ_OFF(f)	offsetof(struct dgfs_xdp_req, f)
#define REQ_OFF(f)	(XREQ_OFF(req) + offsetof(struct dgfs_read_req, f))

_Static_assert(sizeof(struct dgfs_read_req) == DGFS_READ_REQ_LEN, "request size");
_Static_assert(sizeof(struct dgfs_xdp_req) % 8 == 0, "dgfs_xdp_req in words");
_Static_assert(XREQ_OFF(req) % 8 == 0 && DGFS_READ_REQ_LEN % 8 == 0, "request in words");
_Static_assert(XREQ_OFF(saddr) == 0 && XREQ_OFF(daddr) == 16, "addresses in words");
_Static_assert(XREQ_OFF(dport) == XREQ_OFF(sport) + 2 && XREQ_OFF(sport) % 4 == 0,
	       "ports as in the UDP header");
_Static_assert(XREQ_OFF(ifindex) % 4 == 0, "ifindex a word");
_Static_assert(REQ_OFF(magic) % 4 == 0 && REQ_OFF(flags) % 2 == 0 &&
	       REQ_OFF(length) % 4 == 0, "checked fields aligned");

/*
 * A 16-bit length from the wire, for pointer arithmetic. The 6.1 verifier
 * forgets the bounds of a byte swap's result and then refuses to add it to
 * a packet pointer; the mask restores them (the empty asm keeps clang from
 * dropping the mask as redundant).
 */
static __always_inline __u32 ntohs_bounded(__be16 v)
{
	__u32 h = bpf_ntohs(v);

	asm volatile("" : "+r"(h));
	return h & 0xffff;
}

/* Where the frame's headers are, filled in as the parser finds them. */
struct parsed {
	unsigned int l3off;	/* a scalar, for the IPv6 walk's bounds */
	void *l3;
	struct udphdr *udp;
	bool ipv6;
	bool lo;		/* it arrived on the loopback device */
};

/* The loopback device's ifindex in every namespace. */
#define LOOPBACK_IFINDEX	1
/* An address check found nothing wrong. */
#define ADDRS_OK		DGFS_XDP_NR_COUNTERS

/*
 * Addresses the stack would never answer, by their bits alone: a reply
 * goes back to the source, from the destination. The module checks them
 * again, and what needs a routing lookup (our own addresses, a subnet's
 * broadcast address, whether the destination is ours at all).
 */
static __always_inline enum dgfs_xdp_counter addrs4(__be32 saddr, __be32 daddr, bool lo)
{
	__u32 s = bpf_ntohl(saddr), d = bpf_ntohl(daddr);

	/* 0.0.0.0/8, multicast, 255.255.255.255; loopback from outside */
	if (!(d >> 24) || (d >> 28) == 0xe || d == 0xffffffff || ((d >> 24) == 127 && !lo))
		return DGFS_XDP_BAD_DST;
	if (!(s >> 24))
		return DGFS_XDP_SRC_UNSPEC;
	if ((s >> 28) == 0xe || s == 0xffffffff)
		return DGFS_XDP_SRC_MULTICAST;
	if ((s >> 24) == 127 && !lo)
		return DGFS_XDP_SRC_LOOPBACK;
	return ADDRS_OK;
}

/* The unspecified address (::) or, when @one, the loopback one (::1). */
static __always_inline bool in6_is_low(const __be32 *a, bool one)
{
	return !(a[0] | a[1] | a[2]) && a[3] == (one ? bpf_htonl(1) : 0);
}

static __always_inline bool in6_is_mapped(const __be32 *a)
{
	return !(a[0] | a[1]) && a[2] == bpf_htonl(0xffff);
}

static __always_inline enum dgfs_xdp_counter addrs6(const struct ipv6hdr *ip6, bool lo)
{
	const __be32 *s = ip6->saddr.in6_u.u6_addr32, *d = ip6->daddr.in6_u.u6_addr32;

	if (ip6->daddr.in6_u.u6_addr8[0] == 0xff || in6_is_low(d, false) ||
	    (in6_is_low(d, true) && !lo) || in6_is_mapped(d))
		return DGFS_XDP_BAD_DST;
	if (in6_is_low(s, false))
		return DGFS_XDP_SRC_UNSPEC;
	if (ip6->saddr.in6_u.u6_addr8[0] == 0xff)
		return DGFS_XDP_SRC_MULTICAST;
	if (in6_is_low(s, true) && !lo)
		return DGFS_XDP_SRC_LOOPBACK;
	/* The reply would leave over IPv4 (the stack drops these). */
	if (in6_is_mapped(s))
		return DGFS_XDP_SRC_MAPPED;
	return ADDRS_OK;
}

/* Copy the request out of the packet and check it. The packet pointer is
 * only 2-byte aligned: fine for the 8-byte loads on x86 and arm64, whose
 * verifier allows unaligned packet access (strict-alignment targets would
 * refuse the program).
 */
static __always_inline enum dgfs_xdp_counter
check_request(const void *payload, union req_buf *buf)
{
	const __u64 *src = payload;
	__u32 length;

	for (int i = 0; i < DGFS_READ_REQ_LEN / 8; i++)
		buf->w[XREQ_OFF(req) / 8 + i] = src[i];

	if (buf->d[REQ_OFF(magic) / 4] != bpf_htonl(DGFS_PROTO_MAGIC))
		return DGFS_XDP_BAD_MAGIC;
	if (buf->b[REQ_OFF(version)] != DGFS_PROTO_VERSION)
		return DGFS_XDP_BAD_VERSION;
	if (buf->b[REQ_OFF(op)] != DGFS_OP_READ)
		return DGFS_XDP_BAD_OP;
	if (buf->h[REQ_OFF(flags) / 2])
		return DGFS_XDP_BAD_FLAGS;
	length = bpf_ntohl(buf->d[REQ_OFF(length) / 4]);
	if (!length || length > max_read)
		return DGFS_XDP_BAD_LENGTH;
	return DGFS_XDP_REQUESTS_VALID;
}

static __always_inline enum dgfs_xdp_counter
parse_ipv4(void *data, void *data_end, struct parsed *p, union req_buf *buf)
{
	struct iphdr *iph = p->l3;
	enum dgfs_xdp_counter c;
	struct udphdr *udp;
	unsigned int hlen, tot;

	if ((void *)(iph + 1) > data_end)
		return DGFS_XDP_RUNT;
	if (iph->version != 4 || iph->ihl < 5)
		return DGFS_XDP_BAD_IP;
	if (iph->protocol != IPPROTO_UDP)
		return DGFS_XDP_OTHER;
	/* No UDP header, so no port: the first fragment decides (below). */
	if (iph->frag_off & bpf_htons(IP_OFFSET_MASK))
		return DGFS_XDP_NONFIRST_FRAGMENT;
	hlen = iph->ihl * 4;
	udp = (void *)iph + hlen;
	if ((void *)(udp + 1) > data_end)
		return DGFS_XDP_RUNT;
	if (udp->dest != bpf_htons(port))
		return DGFS_XDP_OTHER;

	/* Ours from here on. */
	c = addrs4(iph->saddr, iph->daddr, p->lo);
	if (c != ADDRS_OK)
		return c;
	if (hlen != sizeof(*iph))
		return DGFS_XDP_IP_OPTIONS;
	if (iph->frag_off & bpf_htons(IP_MF_BIT))
		return DGFS_XDP_FRAGMENT;
	tot = ntohs_bounded(iph->tot_len);
	if (tot < sizeof(*iph) || (void *)iph + tot > data_end)
		return DGFS_XDP_BAD_IP;
	if (bpf_ntohs(udp->len) != tot - sizeof(*iph) || tot - sizeof(*iph) < sizeof(*udp))
		return DGFS_XDP_BAD_UDP_LEN;
	if (bpf_ntohs(udp->len) != REQ_UDP_LEN)
		return DGFS_XDP_BAD_SIZE;
	if ((void *)(udp + 1) + DGFS_READ_REQ_LEN > data_end)
		return DGFS_XDP_RUNT;	/* cannot be, after tot; for the verifier */
	p->udp = udp;
	return check_request(udp + 1, buf);
}

static __always_inline enum dgfs_xdp_counter
parse_ipv6(void *data, void *data_end, struct parsed *p, union req_buf *buf)
{
	struct ipv6hdr *ip6 = p->l3;
	bool ext = false, frag = false;
	enum dgfs_xdp_counter c;
	struct udphdr *udp;
	unsigned int off, plen;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > data_end)
		return DGFS_XDP_RUNT;
	if (ip6->version != 6)
		return DGFS_XDP_BAD_IP;

	nexthdr = ip6->nexthdr;
	off = p->l3off + sizeof(*ip6);
	for (int i = 0; i < IPV6_EXT_MAX && nexthdr != IPPROTO_UDP; i++) {
		__u8 *h = data + off;

		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
		    nexthdr != IPPROTO_DSTOPTS && nexthdr != IPPROTO_FRAGMENT)
			return DGFS_XDP_OTHER;
		/* Every one of them is at least 8 bytes. */
		if ((void *)(h + 8) > data_end)
			return DGFS_XDP_RUNT;
		if (nexthdr == IPPROTO_FRAGMENT) {
			if (*(__be16 *)(h + 2) & bpf_htons(IP6_OFFSET_MASK))
				return h[0] == IPPROTO_UDP ? DGFS_XDP_NONFIRST_FRAGMENT
							   : DGFS_XDP_OTHER;
			frag = true;
			off += 8;
		} else {
			ext = true;
			off += (h[1] + 1) * 8;
		}
		nexthdr = h[0];
	}
	if (nexthdr != IPPROTO_UDP)
		return DGFS_XDP_OTHER;	/* a longer chain: leave it to the stack */
	udp = data + off;
	if ((void *)(udp + 1) > data_end)
		return DGFS_XDP_RUNT;
	if (udp->dest != bpf_htons(port))
		return DGFS_XDP_OTHER;

	/* Ours from here on. */
	c = addrs6(ip6, p->lo);
	if (c != ADDRS_OK)
		return c;
	if (frag)
		return DGFS_XDP_FRAGMENT;
	if (ext)
		return DGFS_XDP_IPV6_EXT;
	plen = ntohs_bounded(ip6->payload_len);
	if ((void *)(ip6 + 1) + plen > data_end)
		return DGFS_XDP_BAD_IP;
	if (bpf_ntohs(udp->len) != plen || plen < sizeof(*udp))
		return DGFS_XDP_BAD_UDP_LEN;
	if (plen != REQ_UDP_LEN)
		return DGFS_XDP_BAD_SIZE;
	if ((void *)(udp + 1) + DGFS_READ_REQ_LEN > data_end)
		return DGFS_XDP_RUNT;	/* cannot be, after plen; for the verifier */
	p->udp = udp;
	p->ipv6 = true;
	return check_request(udp + 1, buf);
}

/* What the frame is to us: a counter, DGFS_XDP_REQUESTS_VALID if it is a
 * valid request (whose 72 bytes are then in buf).
 */
static __always_inline enum dgfs_xdp_counter
classify(struct xdp_md *ctx, struct parsed *p, union req_buf *buf)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return DGFS_XDP_RUNT;
	p->lo = ctx->ingress_ifindex == LOOPBACK_IFINDEX;
	proto = eth->h_proto;
	p->l3off = sizeof(*eth);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		/* The tag's TCI, then the inner EtherType. */
		__be16 *tag = (void *)(eth + 1);

		if ((void *)(tag + 2) > data_end)
			return DGFS_XDP_RUNT;
		proto = tag[1];
		p->l3off += 4;
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
			return DGFS_XDP_OTHER;	/* QinQ: not parsed */
	}
	p->l3 = data + p->l3off;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, p, buf);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, p, buf);
	return DGFS_XDP_OTHER;
}

/* Where the request came from and went to, in the form the module takes:
 * IPv4 addresses IPv4-mapped, ports as on the wire.
 */
static __always_inline void fill_origin(struct xdp_md *ctx, const struct parsed *p,
					union req_buf *buf)
{
	if (p->ipv6) {
		const struct ipv6hdr *ip6 = p->l3;

		for (int i = 0; i < 4; i++) {
			buf->d[XREQ_OFF(saddr) / 4 + i] = ip6->saddr.in6_u.u6_addr32[i];
			buf->d[XREQ_OFF(daddr) / 4 + i] = ip6->daddr.in6_u.u6_addr32[i];
		}
	} else {
		const struct iphdr *iph = p->l3;

		buf->w[XREQ_OFF(saddr) / 8] = 0;
		buf->w[XREQ_OFF(daddr) / 8] = 0;
		buf->d[XREQ_OFF(saddr) / 4 + 2] = bpf_htonl(0xffff);
		buf->d[XREQ_OFF(daddr) / 4 + 2] = bpf_htonl(0xffff);
		buf->d[XREQ_OFF(saddr) / 4 + 3] = iph->saddr;
		buf->d[XREQ_OFF(daddr) / 4 + 3] = iph->daddr;
	}
	/* source then destination port, exactly as in the UDP header */
	buf->d[XREQ_OFF(sport) / 4] = *(const __u32 *)p->udp;
	buf->d[XREQ_OFF(ifindex) / 4] = ctx->ingress_ifindex;
}

SEC("xdp")
int dgfs_xdp(struct xdp_md *ctx)
{
	struct parsed p = {};
	union req_buf buf;
	struct dgfs_xdp_counters *cnt;
	enum dgfs_xdp_counter c;
	__u32 key = 0;
	int ret;

	cnt = bpf_map_lookup_elem(&xdp_counters, &key);
	c = classify(ctx, &p, &buf);
	if (c != DGFS_XDP_REQUESTS_VALID) {
		if (cnt && c < DGFS_XDP_NR_COUNTERS)
			cnt->c[c]++;
		return (DGFS_XDP_DROP_MASK >> c) & 1 ? XDP_DROP : XDP_PASS;
	}

	if (cnt)
		cnt->c[DGFS_XDP_REQUESTS_VALID]++;
	if (!have_kmod) {
		/* Nobody here to take it: let a userspace server have it. */
		if (cnt)
			cnt->c[DGFS_XDP_NO_KMOD]++;
		/* A queue without a socket (not bound yet): the stack. */
		if (to_xsk)
			return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
		return XDP_PASS;
	}
	fill_origin(ctx, &p, &buf);
	ret = bpf_dgfs_read_submit(ctx, &buf.r, sizeof(buf.r));
	if (ret == -EADDRNOTAVAIL) {
		/* The module moved to another port since this program was
		 * loaded: this one is somebody else's now.
		 */
		if (cnt)
			cnt->c[DGFS_XDP_OTHER]++;
		return XDP_PASS;
	}
	if (ret == -EXDEV) {
		/* Not to an address of this device's namespace: another
		 * host's (promiscuous mode, a bridge) or a child device's in
		 * another namespace (macvlan, VLAN), which answers itself.
		 */
		if (cnt)
			cnt->c[DGFS_XDP_NOT_LOCAL]++;
		return XDP_PASS;
	}
	if (cnt) {
		if (!ret)
			cnt->c[DGFS_XDP_SUBMITTED]++;
		else if (ret == -ENOSPC)
			cnt->c[DGFS_XDP_RING_FULL]++;
		else
			cnt->c[DGFS_XDP_KMOD_REJECTED]++;
	}
	/* Consumed: the module answers it, or counted why it will not. */
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
