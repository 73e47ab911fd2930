// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_test: load tests/bpf/kfunc_lookup.bpf.c and run it on a chunk id
 * through BPF_PROG_TEST_RUN.
 *
 *   kfunc_test [--kmod] [--threads N --repeat N] [--attach IFNAME]
 *              [--until FILE [--progress FILE]] HEXID|short
 *
 * One run prints what the module answered: "size N", "missing -E",
 * "nokmod" or "aborted". With --threads/--repeat it hammers the lookup from
 * N threads (each BPF_PROG_TEST_RUN repeating the program N times) and
 * prints "runs N"; used to race lookups against changes to the index.
 * --until: each thread runs again until FILE exists (one run at least),
 * writing the number of runs done so far to the --progress file after each;
 * then it prints "rounds N runs M".
 *
 * --attach: the program is also attached to IFNAME (a bpf_link, native XDP
 * if the device has it) while the process runs. On 6.1 a test run with
 * repeat > 1 puts its program into the XDP dispatcher and takes it out
 * again (bpf_prog_change_xdp() in net/bpf/test_run.c), re-patching the
 * dispatcher's code (text_poke_bp()) under every CPU running through it;
 * a program the dispatcher holds already, because a device runs it, only
 * gains and loses a user (bpf_dispatcher_add_prog()), and nothing is
 * re-patched.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	const char *until;		/* or NULL: one run */
	const char *progress;		/* or NULL */
	unsigned int index;
	int err;
	unsigned int retval;
};

/* Runs done by all threads, for --progress. */
static unsigned long long rounds_done;

/* The count replaces the file whole (a reader never sees half a number). */
static int write_progress(const struct runner *r, unsigned long long n)
{
	char tmp[4096], num[32];
	int fd, len, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%u", r->progress, r->index) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(num, sizeof(num), "%llu\n", n);
	ok = write(fd, num, len) == len;
	if (close(fd) || !ok)
		return -EIO;
	return rename(tmp, r->progress) ? -errno : 0;
}

static void *run(void *arg)
{
	struct runner *r = arg;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = r->pkt,
		    .data_size_in = r->pkt_len,
		    .repeat = r->repeat);
	unsigned long long n;

	do {
		r->err = bpf_prog_test_run_opts(r->prog_fd, &opts);
		if (r->err)
			return NULL;
		r->retval = opts.retval;
		if (!r->until)
			return NULL;
		n = __atomic_add_fetch(&rounds_done, 1, __ATOMIC_RELAXED);
		if (r->progress && (r->err = write_progress(r, n)))
			return NULL;
	} while (access(r->until, F_OK));
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
		{ "attach", required_argument, NULL, 'a' },
		{ "until", required_argument, NULL, 'u' },
		{ "progress", required_argument, NULL, 'p' },
		{ 0 }
	};
	unsigned int threads = 1, repeat = 1, ifindex = 0;
	const char *attach = NULL;
	struct bpf_link *link = NULL;
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
		case 'a': attach = optarg; break;
		case 'u': proto.until = optarg; break;
		case 'p': proto.progress = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || !threads || !repeat ||
	    (proto.progress && !proto.until))
		goto usage;
	if (attach && !(ifindex = if_nametoindex(attach))) {
		fprintf(stderr, "kfunc_test: no device %s: %s\n", attach, strerror(errno));
		return 1;
	}
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
	if (attach) {
		link = bpf_program__attach_xdp(skel->progs.kfunc_lookup, ifindex);
		if (!link) {
			fprintf(stderr, "kfunc_test: cannot attach to %s: %s\n",
				attach, strerror(errno));
			goto cleanup;
		}
	}

	runners = calloc(threads, sizeof(*runners));
	if (!runners)
		goto cleanup;
	for (unsigned int i = 0; i < threads; i++) {
		runners[i] = proto;
		runners[i].index = i;
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

	if (proto.until) {
		printf("rounds %llu runs %llu\n", rounds_done, rounds_done * repeat);
	} else if (threads > 1 || repeat > 1) {
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
	bpf_link__destroy(link);
	kfunc_lookup_bpf__destroy(skel);
	return ret;
usage:
	fprintf(stderr, "usage: kfunc_test [--kmod] [--threads N --repeat N] [--attach IFNAME]\n"
			"                  [--until FILE [--progress FILE]] HEXID|short\n");
	return 2;
}
