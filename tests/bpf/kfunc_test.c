// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_test: load tests/bpf/kfunc_lookup.bpf.c and run it on a chunk id
 * through BPF_PROG_TEST_RUN.
 *
 *   kfunc_test [--kmod] [--threads N --repeat N] HEXID|short
 *
 * One run prints what the module answered: "size N", "missing -E",
 * "nokmod" or "aborted". With --threads/--repeat it hammers the lookup from
 * N threads (each BPF_PROG_TEST_RUN repeating the program N times) and
 * prints "runs N"; used to race lookups against changes to the index.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/dgfs.h>

#include "kfunc_lookup.skel.h"
#include "proto/hex.h"

struct runner {
	pthread_t thread;
	int prog_fd;
	unsigned char pkt[64];
	unsigned int pkt_len;
	unsigned int repeat;
	int err;
	unsigned int retval;
};

static void *run(void *arg)
{
	struct runner *r = arg;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = r->pkt,
		    .data_size_in = r->pkt_len,
		    .repeat = r->repeat);

	r->err = bpf_prog_test_run_opts(r->prog_fd, &opts);
	r->retval = opts.retval;
	return NULL;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kmod", no_argument, NULL, 'k' },
		{ "threads", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' },
		{ 0 }
	};
	unsigned int threads = 1, repeat = 1;
	struct kfunc_lookup_bpf *skel;
	struct runner *runners = NULL;
	struct runner proto = { .pkt_len = DGFS_CHUNK_ID_LEN };
	bool kmod = false;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k': kmod = true; break;
		case 't': threads = strtoul(optarg, NULL, 0); break;
		case 'r': repeat = strtoul(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || !threads || !repeat)
		goto usage;
	if (!strcmp(argv[optind], "short"))
		proto.pkt_len = DGFS_CHUNK_ID_LEN - 1;
	else if (dgfs_hex_decode(argv[optind], proto.pkt, DGFS_CHUNK_ID_LEN))
		goto usage;
	/* XDP test runs want at least an Ethernet header's worth. */
	if (proto.pkt_len < 14)
		proto.pkt_len = 14;
	proto.repeat = repeat;

	libbpf_set_print(silent);
	skel = kfunc_lookup_bpf__open();
	if (!skel) {
		fprintf(stderr, "kfunc_test: cannot open BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->have_kmod = kmod;
	if (kfunc_lookup_bpf__load(skel)) {
		fprintf(stderr, "kfunc_test: cannot load the program%s\n",
			kmod ? " (is dgfs.ko loaded?)" : "");
		goto cleanup;
	}
	proto.prog_fd = bpf_program__fd(skel->progs.kfunc_lookup);

	runners = calloc(threads, sizeof(*runners));
	if (!runners)
		goto cleanup;
	for (unsigned int i = 0; i < threads; i++) {
		runners[i] = proto;
		if (pthread_create(&runners[i].thread, NULL, run, &runners[i])) {
			threads = i;
			goto join;
		}
	}
	ret = 0;
join:
	for (unsigned int i = 0; i < threads; i++) {
		pthread_join(runners[i].thread, NULL);
		if (runners[i].err) {
			fprintf(stderr, "kfunc_test: test run: %s\n", strerror(-runners[i].err));
			ret = 1;
		}
	}
	if (ret)
		goto cleanup;

	if (threads > 1 || repeat > 1) {
		printf("runs %llu\n", (unsigned long long)threads * repeat);
	} else {
		switch (runners[0].retval) {
		case XDP_TX: printf("size %lld\n", skel->bss->last_result); break;
		case XDP_DROP: printf("missing %lld\n", skel->bss->last_result); break;
		case XDP_PASS: printf("nokmod\n"); break;
		case XDP_ABORTED: printf("aborted\n"); break;
		default: printf("verdict %u\n", runners[0].retval); ret = 1;
		}
	}
cleanup:
	free(runners);
	kfunc_lookup_bpf__destroy(skel);
	return ret;
usage:
	fprintf(stderr, "usage: kfunc_test [--kmod] [--threads N --repeat N] HEXID|short\n");
	return 2;
}
