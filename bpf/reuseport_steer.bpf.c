// SPDX-License-Identifier: GPL-2.0
/*
 * reuseport_steer: which of the userspace UDP tier's worker sockets gets a
 * datagram (dgfs-userd --steer cpu; userspace/server/steer.c loads it).
 *
 * The workers' sockets share one port with SO_REUSEPORT. Without a program
 * the kernel picks one by a hash of the 4-tuple; this one picks the socket
 * of the worker that runs on the CPU receiving the datagram, so a request
 * is read and answered on the CPU whose softirq took it in, with the
 * packet still in that CPU's cache and no wake-up sent to another CPU.
 * The loader fills `by_cpu` (index: a CPU; value: the socket of the worker
 * pinned to it). A CPU with no worker, or beyond the map, has no entry:
 * the select fails and the kernel's hash picks, as without the program.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 1024);	/* CPUs */
	__type(key, __u32);
	__type(value, __u64);		/* a socket's fd when userspace writes it */
} by_cpu SEC(".maps");

SEC("sk_reuseport")
int steer_by_cpu(struct sk_reuseport_md *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();

	bpf_sk_select_reuseport(ctx, &by_cpu, &cpu, 0);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
