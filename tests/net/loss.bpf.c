// SPDX-License-Identifier: GPL-2.0
/*
 * A lossy link for tests/net/ on kernels without sch_netem: attached with
 * tc (clsact, direct action) to a veth, it drops each UDP datagram with
 * probability LOSS_PERCENT/100, like `netem loss`. Built by the test
 * script itself with clang, so the rest of the build never needs it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#ifndef LOSS_PERCENT
#define LOSS_PERCENT 10
#endif

static __u32 (*bpf_get_prandom_u32)(void) = (void *)BPF_FUNC_get_prandom_u32;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) =
	(void *)BPF_FUNC_skb_load_bytes;

__attribute__((section("tc"), used))
int udp_loss(struct __sk_buff *skb)
{
	__u8 proto;

	/* Only UDP: neighbour discovery and ARP pass untouched. */
	if (skb->protocol == __constant_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1))
			return TC_ACT_OK;
	} else if (skb->protocol == __constant_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, &proto, 1))
			return TC_ACT_OK;
	} else {
		return TC_ACT_OK;
	}
	if (proto != IPPROTO_UDP)
		return TC_ACT_OK;
	return bpf_get_prandom_u32() % 100 < LOSS_PERCENT ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
