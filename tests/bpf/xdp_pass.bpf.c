// SPDX-License-Identifier: GPL-2.0
/*
 * A second XDP program for the tests to put next to dgfs's on an
 * interface (tests/bpf/test_xdp.sh, tests/vm/test_xdp_attach.sh): it counts
 * what it sees and passes everything.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 seen = 0;

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&seen, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
