// SPDX-License-Identifier: GPL-2.0
/*
 * sockmap_redirect: the usual sockmap acceleration of local TCP, for
 * tests/bench/bench_sockmap.sh only (issue 15, item 6: measured against
 * plain TCP; not part of dgfsd).
 *
 * add_established (sock_ops, attached to a cgroup): each IPv4 TCP socket
 * of the cgroup that becomes established, either end, goes into `socks`
 * under its own 4-tuple. redirect_to_peer (sk_msg, attached to `socks`):
 * what such a socket sends is put straight on the receive queue of the
 * socket at the other end, when that one is in `socks` too (both ends on
 * this host, in the cgroup), skipping TCP/IP and the loopback device;
 * otherwise it goes out as usual. `stats` counts what the sk_msg program
 * saw, so the bench can tell whether a sendfile() body went through it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2

struct sock_key {
	__u32 local_ip4;	/* network order, as the contexts give them */
	__u32 remote_ip4;
	__u32 local_port;	/* host order */
	__u32 remote_port;	/* host order */
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_key);
	__type(value, __u64);
} socks SEC(".maps");

struct redirect_stats {
	__u64 msgs;		/* sk_msg runs */
	__u64 bytes;		/* their bytes */
	__u64 redirected;	/* runs whose peer was found */
	__u64 redirected_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct redirect_stats);
} stats SEC(".maps");

SEC("sockops")
int add_established(struct bpf_sock_ops *skops)
{
	struct sock_key key;

	if (skops->family != AF_INET)
		return 1;
	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	key.local_ip4 = skops->local_ip4;
	key.remote_ip4 = skops->remote_ip4;
	key.local_port = skops->local_port;
	/* remote_port holds the port in network order in its upper half. */
	key.remote_port = bpf_ntohl(skops->remote_port);
	bpf_sock_hash_update(skops, &socks, &key, BPF_ANY);
	return 1;
}

SEC("sk_msg")
int redirect_to_peer(struct sk_msg_md *msg)
{
	struct sock_key peer;
	struct redirect_stats *st;
	__u32 zero = 0;
	long found;

	if (msg->family != AF_INET)
		return SK_PASS;
	/* The other end's own key: its local is our remote and back. */
	peer.local_ip4 = msg->remote_ip4;
	peer.remote_ip4 = msg->local_ip4;
	peer.local_port = bpf_ntohl(msg->remote_port);
	peer.remote_port = msg->local_port;
	/* SK_PASS with the redirect set up when the peer is in `socks`;
	 * SK_DROP, nothing set up, when not: then SK_PASS sends as usual.
	 */
	found = bpf_msg_redirect_hash(msg, &socks, &peer, BPF_F_INGRESS);
	st = bpf_map_lookup_elem(&stats, &zero);
	if (st) {
		__sync_fetch_and_add(&st->msgs, 1);
		__sync_fetch_and_add(&st->bytes, msg->size);
		if (found == SK_PASS) {
			__sync_fetch_and_add(&st->redirected, 1);
			__sync_fetch_and_add(&st->redirected_bytes, msg->size);
		}
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
