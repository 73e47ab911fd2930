/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading dgfs's XDP program (bpf/dgfs_xdp.bpf.c) onto interfaces and
 * reading its counters, for dgfsctl and the tests.
 *
 * The program goes into libxdp's dispatcher, so it shares an interface with
 * other XDP programs (`xdp-loader status IFACE` lists them all). Its
 * counters map is pinned in bpffs, one per network namespace
 * (DGFS_XDP_PIN_DIR/netns-INODE-COOKIE), shared by every dgfs program on
 * the namespace's interfaces and kept when they go, so another process in
 * the namespace can read it and a re-attach keeps counting.
 *
 * Every function returns 0 or a negative errno and, on failure, writes one
 * line saying what went wrong to err (errlen bytes, may be 0). libbpf's and
 * libxdp's own messages are silenced unless dgfs_xdp_set_verbose(true).
 * Needs CAP_BPF and CAP_NET_ADMIN (root), and not thread-safe.
 */
#ifndef _DGFS_XDP_LOADER_H
#define _DGFS_XDP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "dgfs_xdp.h"

/*
 * Attach the program to @ifname in @mode (XDP_MODE_NATIVE or XDP_MODE_SKB).
 * @have_kmod: dgfs.ko is loaded (its genl family resolves); the program
 * then calls it and holds a reference on it while attached. Without it,
 * valid requests are passed to the stack. @port (host order, != 0) and
 * @max_read (1 .. DGFS_MAX_READ_LIMIT) as in the module's configuration.
 * A dgfs program already on @ifname is replaced (the new one goes in before
 * the old one goes out: no request slips past in between).
 */
int dgfs_xdp_attach(const char *ifname, enum xdp_attach_mode mode, bool have_kmod,
		    uint16_t port, uint32_t max_read, char *err, size_t errlen);

/*
 * dgfs_xdp_attach() without the module, for dgfs-userd's AF_XDP workers:
 * valid requests are redirected to the AF_XDP socket that *@xsks_fd (an
 * XSKMAP, key: receive queue, a new fd the caller closes) holds for the
 * queue they came in on, or passed to the stack when it holds none.
 */
int dgfs_xdp_attach_xsk(const char *ifname, enum xdp_attach_mode mode, uint16_t port,
			uint32_t max_read, int *xsks_fd, char *err, size_t errlen);

/*
 * The program takes @port and @max_read when it is loaded: after the
 * module's configuration changed, load it again, with the new values and
 * in the mode it has, on every interface of this namespace where it runs
 * with other ones (dgfs_xdp_attach(), no gap). Tries every interface; 0, or
 * the first failure's errno with err naming that interface.
 */
int dgfs_xdp_follow(uint16_t port, uint32_t max_read, char *err, size_t errlen);

/* Remove dgfs's program from @ifname; other XDP programs stay. -ENOENT if
 * it was not there.
 */
int dgfs_xdp_detach(const char *ifname, char *err, size_t errlen);

struct dgfs_xdp_status {
	bool attached;			/* dgfs's program is on the interface */
	enum xdp_attach_mode mode;	/* how the interface's XDP is attached */
	uint32_t prog_id;		/* dgfs's program */
	unsigned int others;		/* other XDP programs on the interface */
	/* The attached program's configuration, read back from it. */
	bool config_known;
	bool have_kmod;
	uint16_t port;
	uint32_t max_read;
};

/* What is attached to @ifname; st->attached false if not dgfs. */
int dgfs_xdp_status(const char *ifname, struct dgfs_xdp_status *st, char *err, size_t errlen);

/*
 * The counters (indexed by enum dgfs_xdp_counter), summed over CPUs, from
 * the calling namespace's pinned map: every dgfs program attached in it
 * since the map was created counts there. -ENOENT if no program was ever
 * attached in this namespace.
 */
int dgfs_xdp_counters(uint64_t counters[DGFS_XDP_NR_COUNTERS], char *err, size_t errlen);

/* Let libbpf and libxdp print their messages (to stderr). */
void dgfs_xdp_set_verbose(bool verbose);

/* Pin the counters under @dir (a directory in a bpffs) instead of
 * DGFS_XDP_PIN_DIR; for tests that must not share the system's counters.
 * The string must stay valid.
 */
void dgfs_xdp_set_pin_dir(const char *dir);

/*
 * For dgfs's other XDP programs' loaders (http_filter_loader.c), which
 * follow this one's conventions: libbpf's and libxdp's chatter kept for
 * err between quiet_begin and quiet_end (which also points libxdp at the
 * bpffs in use), the same "WHAT: why (warning)" messages, and pins per
 * network namespace under @top (a bpffs directory): @dir is
 * TOP/netns-INODE-COOKIE on the bpffs we use, made with @create (and the
 * bpffs mounted if need be).
 */
struct dgfs_xdp_quiet {
	libbpf_print_fn_t libbpf;
	libxdp_print_fn_t libxdp;
};
void dgfs_xdp_quiet_begin(struct dgfs_xdp_quiet *q);
void dgfs_xdp_quiet_end(const struct dgfs_xdp_quiet *q);
__attribute__((format(printf, 4, 5)))
int dgfs_xdp_fail(char *err, size_t errlen, int ret, const char *fmt, ...);
int dgfs_xdp_netns_dir(const char *top, bool create, char *dir, size_t dirlen, char *err,
		       size_t errlen);

#endif /* _DGFS_XDP_LOADER_H */
