// SPDX-License-Identifier: GPL-2.0
/*
 * http_filter: dgfsd's HTTP port, guarded at the NIC.
 *
 * Counts, per client address, the TCP segments to the HTTP port (rodata
 * `http_port`) and the new connections among them (SYN without ACK), and
 * drops a client's SYNs past its token bucket (`interval_ns` per token,
 * `tolerance_ns` of burst) before the stack makes a request socket for
 * them. Everything else passes untouched: other ports and protocols,
 * established connections, and frames whose headers this program does not
 * walk (truncated, IPv4 fragments after the first, more IPv6 extension
 * headers than IPV6_EXT_MAX, AH/ESP): the stack judges those.
 * bpf/http_filter.h has the maps; docs/DGFSD.md, "The HTTP filter".
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "http_filter.h"

/* Set by the loader before load. */
const volatile __u16 http_port = 8080;			/* host order */
const volatile __u64 interval_ns = 1000000000ULL / 100;	/* 1 s / --syn-rate */
const volatile __u64 tolerance_ns = 199 * (1000000000ULL / 100); /* (burst - 1) * interval */
/* Tests only: time is fake_now_ns, which they set, not the clock. */
const volatile bool fake_clock = false;
__u64 fake_now_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_filter_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} http_filter_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HTTP_FILTER_MAX_CLIENTS);
	__type(key, struct http_filter_key);
	__type(value, struct http_filter_client);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} http_filter_clients SEC(".maps");

#define IPV6_EXT_MAX	6
#define IP_OFFSET_MASK	0x1fff
#define IP6_OFFSET_MASK	0xfff8
/* CPUs racing on one client's bucket: tries before the SYN is let through. */
#define CAS_TRIES	4

/* The TCP header of a segment to our port, and its sender; or why not. */
static __always_inline enum http_filter_counter
parse(void *data, void *data_end, struct tcphdr **tcpp, struct http_filter_key *key)
{
	struct ethhdr *eth = data;
	struct tcphdr *tcp;
	unsigned int off;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return HTTP_FILTER_UNPARSED;
	proto = eth->h_proto;
	off = sizeof(*eth);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		__be16 *tag = (void *)(eth + 1);

		if ((void *)(tag + 2) > data_end)
			return HTTP_FILTER_UNPARSED;
		proto = tag[1];
		off += 4;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + off;
		__u32 *k = (__u32 *)key->addr;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return HTTP_FILTER_UNPARSED;
		if (iph->protocol != IPPROTO_TCP)
			return HTTP_FILTER_OTHER;
		/* No TCP header in it: the first fragment was judged. */
		if (iph->frag_off & bpf_htons(IP_OFFSET_MASK))
			return HTTP_FILTER_UNPARSED;
		k[0] = 0;
		k[1] = 0;
		k[2] = bpf_htonl(0xffff);
		k[3] = iph->saddr;
		off += iph->ihl * 4;	/* options skipped */
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		__u8 nexthdr;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return HTTP_FILTER_UNPARSED;
		nexthdr = ip6->nexthdr;
		off += sizeof(*ip6);
		for (int i = 0; i < IPV6_EXT_MAX && nexthdr != IPPROTO_TCP; i++) {
			__u8 *h = data + off;

			if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
			    nexthdr != IPPROTO_DSTOPTS && nexthdr != IPPROTO_FRAGMENT)
				return nexthdr == IPPROTO_AH || nexthdr == IPPROTO_ESP ?
					HTTP_FILTER_UNPARSED : HTTP_FILTER_OTHER;
			if ((void *)(h + 8) > data_end)
				return HTTP_FILTER_UNPARSED;
			if (nexthdr == IPPROTO_FRAGMENT) {
				if (*(__be16 *)(h + 2) & bpf_htons(IP6_OFFSET_MASK))
					return HTTP_FILTER_UNPARSED;
				off += 8;
			} else {
				off += (h[1] + 1) * 8;
			}
			nexthdr = h[0];
		}
		if (nexthdr != IPPROTO_TCP)
			return HTTP_FILTER_UNPARSED;	/* a longer chain */
		__builtin_memcpy(key->addr, &ip6->saddr, sizeof(key->addr));
	} else {
		return HTTP_FILTER_OTHER;
	}
	/* The verifier wants the offset bounded before it moves a pointer. */
	if (off > 1024)
		return HTTP_FILTER_UNPARSED;
	tcp = data + off;
	if ((void *)(tcp + 1) > data_end)
		return HTTP_FILTER_UNPARSED;
	if (tcp->dest != bpf_htons(http_port))
		return HTTP_FILTER_OTHER;
	*tcpp = tcp;
	return HTTP_FILTER_PACKETS;
}

/*
 * The client's bucket as GCRA: a SYN at `now` conforms if the bucket's
 * theoretical arrival time is at most tolerance_ns ahead of now, and then
 * moves it one interval on; `burst` SYNs conform at once from a full
 * bucket, and one more every interval_ns.
 */
static __always_inline bool syn_conforms(struct http_filter_client *cl)
{
	__u64 now = fake_clock ? fake_now_ns : bpf_ktime_get_ns();

	for (int i = 0; i < CAS_TRIES; i++) {
		__u64 tat = cl->tat_ns, from = tat > now ? tat : now;

		if (from - now > tolerance_ns)
			return false;
		if (__sync_val_compare_and_swap(&cl->tat_ns, tat, from + interval_ns) == tat)
			return true;
	}
	/* Another CPU kept moving it: let this one through rather than spin. */
	return true;
}

static __always_inline struct http_filter_client *client(const struct http_filter_key *key)
{
	struct http_filter_client *cl = bpf_map_lookup_elem(&http_filter_clients, key);
	struct http_filter_client fresh = {};

	if (cl)
		return cl;
	/* EEXIST: another CPU made it meanwhile; the lookup finds it. */
	bpf_map_update_elem(&http_filter_clients, key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&http_filter_clients, key);
}

SEC("xdp")
int http_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct http_filter_counters *cnt;
	struct http_filter_client *cl;
	struct http_filter_key key;
	struct tcphdr *tcp = NULL;
	enum http_filter_counter c;
	__u32 zero = 0;
	bool syn;

	cnt = bpf_map_lookup_elem(&http_filter_counters, &zero);
	if (!cnt)
		return XDP_PASS;
	c = parse(data, data_end, &tcp, &key);
	if (c != HTTP_FILTER_PACKETS || !tcp) {
		cnt->c[c < HTTP_FILTER_NR_COUNTERS ? c : HTTP_FILTER_UNPARSED]++;
		return XDP_PASS;
	}
	cnt->c[HTTP_FILTER_PACKETS]++;
	syn = tcp->syn && !tcp->ack;
	if (syn)
		cnt->c[HTTP_FILTER_SYN]++;
	cl = client(&key);
	if (!cl) {
		cnt->c[HTTP_FILTER_UNTRACKED]++;
		return XDP_PASS;
	}
	__sync_fetch_and_add(&cl->packets, 1);
	if (!syn)
		return XDP_PASS;
	__sync_fetch_and_add(&cl->syn, 1);
	if (syn_conforms(cl))
		return XDP_PASS;
	__sync_fetch_and_add(&cl->syn_dropped, 1);
	cnt->c[HTTP_FILTER_SYN_DROPPED]++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
