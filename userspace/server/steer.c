// SPDX-License-Identifier: GPL-2.0
/*
 * --steer cpu: loads bpf/reuseport_steer.bpf.c, puts each worker's socket
 * in its REUSEPORT_SOCKARRAY at the index of the CPU the worker runs on
 * (serve.c pins it there) and attaches the program to the workers'
 * SO_REUSEPORT group (SO_ATTACH_REUSEPORT_EBPF on one socket attaches to
 * the whole group). The group keeps the program, and the program its map,
 * for as long as one of the sockets is open, so the skeleton may be freed
 * once attached. Loading needs CAP_BPF and CAP_NET_ADMIN (dgfsd loads
 * before it drops them); filling the map and attaching need only the fds.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "userd.h"
#include "reuseport_steer.skel.h"

struct reuseport_steer_bpf *userd_steer_load(void)
{
	return reuseport_steer_bpf__open_and_load();
}

void userd_steer_free(struct reuseport_steer_bpf *skel)
{
	reuseport_steer_bpf__destroy(skel);
}

int userd_steer_attach(struct reuseport_steer_bpf *skel, struct userd_worker *const *workers,
		       unsigned int n)
{
	int map_fd = bpf_map__fd(skel->maps.by_cpu);
	int prog_fd = bpf_program__fd(skel->progs.steer_by_cpu);
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t cpu = (uint32_t)userd_worker_cpu(workers[i]);
		uint64_t fd = (uint64_t)userd_worker_fd(workers[i]);

		/* More workers than CPUs: the first on a CPU gets its datagrams,
		 * the rest only what the hash gives them (for CPUs with no
		 * entry: none, or past the map's 1024, E2BIG).
		 */
		if (userd_worker_cpu(workers[i]) < 0 ||
		    bpf_map_update_elem(map_fd, &cpu, &fd, BPF_NOEXIST) == 0)
			continue;
		if (errno != EEXIST && errno != E2BIG)
			return -errno;
	}
	if (setsockopt(userd_worker_fd(workers[0]), SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF,
		       &prog_fd, sizeof(prog_fd)))
		return -errno;
	return 0;
}
