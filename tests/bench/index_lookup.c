// SPDX-License-Identifier: GPL-2.0
/*
 * index_lookup: time dgfs.ko's chunk index from an XDP program, for the
 * scale benchmark (tests/bench/guest.sh). Loads index_lookup.bpf.c and runs
 * it through BPF_PROG_TEST_RUN, which reports the mean time of a run.
 *
 *   index_lookup [--kmod] [--repeat N] COUNT PREFIX
 *
 * PREFIX is 56 hex digits: the ids looked up are PREFIX followed by 8 hex
 * digits of a random index below COUNT (register them with dgfsctl first).
 * Prints "ns_per_run X hits H misses M"; without --kmod the program skips
 * the lookup (the cost around it; hits and misses stay 0).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/dgfs.h>

#include "index_lookup.skel.h"
#include "proto/hex.h"

#define PREFIX_LEN (DGFS_CHUNK_ID_LEN - 4)

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kmod", no_argument, NULL, 'k' },
		{ "repeat", required_argument, NULL, 'r' },
		{ 0 }
	};
	/* XDP test runs want at least an Ethernet header's worth. */
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt));
	unsigned char prefix[PREFIX_LEN];
	struct index_lookup_bpf *skel;
	unsigned long count, repeat = 1000000;
	bool kmod = false;
	char *end;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			kmod = true;
			break;
		case 'r':
			repeat = strtoul(optarg, &end, 0);
			if (*end || !repeat || repeat > 100000000)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 2)
		goto usage;
	count = strtoul(argv[optind], &end, 0);
	if (*end || !count || count > 0xffffffffUL)
		goto usage;
	if (dgfs_hex_decode(argv[optind + 1], prefix, sizeof(prefix)))
		goto usage;

	libbpf_set_print(silent);
	skel = index_lookup_bpf__open();
	if (!skel) {
		fprintf(stderr, "index_lookup: cannot open BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->have_kmod = kmod;
	skel->rodata->nr_ids = (__u32)count;
	if (index_lookup_bpf__load(skel)) {
		fprintf(stderr, "index_lookup: cannot load the program%s\n",
			kmod ? " (is dgfs.ko loaded?)" : "");
		goto cleanup;
	}
	memcpy(skel->bss->prefix, prefix, sizeof(prefix));
	opts.repeat = (__u32)repeat;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.index_lookup), &opts)) {
		fprintf(stderr, "index_lookup: test run: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("ns_per_run %u hits %llu misses %llu\n", opts.duration,
	       (unsigned long long)skel->bss->hits, (unsigned long long)skel->bss->misses);
	ret = 0;
cleanup:
	index_lookup_bpf__destroy(skel);
	return ret;
usage:
	fprintf(stderr, "usage: index_lookup [--kmod] [--repeat N] COUNT PREFIX(56 hex digits)\n");
	return 2;
}
