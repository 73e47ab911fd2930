// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs_xdp_loader: attach, detach and inspect dgfs's XDP program through
 * libxdp, and read its pinned counters. See dgfs_xdp_loader.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/dgfs.h>
#include <linux/magic.h>
#include <xdp/libxdp.h>

#include "dgfs_xdp_loader.h"
#include "dgfs_xdp.skel.h"

#define BPFFS_ROOT	"/sys/fs/bpf"
/* Programs on one interface we look at; a dispatcher holds at most 10. */
#define MAX_PROGS	16

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE	71
#endif

static bool verbose;
static const char *pin_dir = DGFS_XDP_PIN_DIR;

void dgfs_xdp_set_verbose(bool on)
{
	verbose = on;
}

void dgfs_xdp_set_pin_dir(const char *dir)
{
	pin_dir = dir ? dir : DGFS_XDP_PIN_DIR;
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* False also when we cannot tell (pid 1 hidden from us). */
static bool in_initial_mount_ns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/mnt", &self) || stat("/proc/1/ns/mnt", &init))
		return false;
	return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

/*
 * `ip netns exec` runs us in a mount namespace of our own with a fresh
 * /sys, where /sys/fs/bpf is empty. Pins made on a bpffs mounted there
 * would vanish with us (and libxdp's dispatcher links with them), so use
 * the system's bpffs, pid 1's, through /proc/1/root instead.
 */
#define PID1_ROOT	"/proc/1/root"

static bool use_pid1_bpffs(void)
{
	return !on_bpffs(BPFFS_ROOT) && on_bpffs(PID1_ROOT BPFFS_ROOT);
}

/* Point libxdp, which keeps its dispatchers' state on the bpffs, at the
 * one we use; before its first call (it remembers), unless the caller
 * chose another place.
 */
static void point_libxdp_at_bpffs(void)
{
	if (use_pid1_bpffs())
		setenv(XDP_BPFFS_ENVVAR, PID1_ROOT BPFFS_ROOT, 0);
}

/*
 * libbpf and libxdp talk on stderr by default. Unless verbose, keep quiet
 * for the length of one call, remembering the warning that best says why
 * a call failed, for err: the verifier's last word, else the first warning
 * about our program, else the first warning at all. (libxdp warns about
 * things it then works around, such as a kernel without freplace.)
 */
static char why_buf[200];
static int why_rank;

static void keep_why(int rank, const char *text, size_t len)
{
	if (rank <= why_rank)
		return;
	why_rank = rank;
	snprintf(why_buf, sizeof(why_buf), "%.*s", (int)len, text);
}

static void note_warning(const char *fmt, va_list ap)
{
	const char *log, *end, *line;
	char *msg;

	/* A verifier log can be megabytes: no fixed buffer. */
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	log = strstr(msg, "-- BEGIN PROG LOAD LOG --\n");
	end = log ? strstr(log, "-- END PROG LOAD LOG --") : NULL;
	if (log && end) {
		/* the last line that is not the verifier's statistics */
		log += strlen("-- BEGIN PROG LOAD LOG --\n");
		for (line = end; line > log; ) {
			const char *start = line - 1;

			while (start > log && start[-1] != '\n')
				start--;
			if (line - start > 1 && strncmp(start, "processed ", 10) &&
			    strncmp(start, "verification time", 17)) {
				keep_why(3, start, line - start - 1);
				goto out;
			}
			line = start;
		}
	}
	msg[strcspn(msg, "\n")] = '\0';
	keep_why(strstr(msg, DGFS_XDP_PROG_NAME) ? 2 : 1, msg, strlen(msg));
out:
	free(msg);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (verbose)
		return vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_WARN)
		note_warning(fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (verbose)
		return vfprintf(stderr, fmt, ap);
	if (level == LIBXDP_WARN)
		note_warning(fmt, ap);
	return 0;
}

struct quiet {
	libbpf_print_fn_t libbpf;
	libxdp_print_fn_t libxdp;
};

/* Every call that uses libxdp starts here. */
static void quiet_begin(struct quiet *q)
{
	point_libxdp_at_bpffs();
	why_rank = 0;
	why_buf[0] = '\0';
	q->libbpf = libbpf_set_print(libbpf_print);
	q->libxdp = libxdp_set_print(libxdp_print);
}

static void quiet_end(const struct quiet *q)
{
	libbpf_set_print(q->libbpf);
	libxdp_set_print(q->libxdp);
}

/* Say what failed in err ("WHAT: strerror (warning)"); return @ret. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	char why[128];
	size_t n;
	va_list ap;

	if (!errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* libxdp_strerror knows libxdp's own codes and every errno. */
	if (libxdp_strerror(ret, why, sizeof(why)))
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	n = strlen(err);
	snprintf(err + n, errlen - n, ": %s%s%s%s", why, why_buf[0] ? " (" : "", why_buf,
		 why_buf[0] ? ")" : "");
	return ret;
}

static int interface_index(const char *ifname, char *err, size_t errlen)
{
	unsigned int ifindex = ifname ? if_nametoindex(ifname) : 0;

	if (!ifindex)
		return fail(err, errlen, -ENODEV, "no interface \"%s\"", ifname ? ifname : "");
	return (int)ifindex;
}

/* @path, on the bpffs we use. */
static void bpffs_path(char *buf, size_t len, const char *path, const char *name)
{
	bool redirect = use_pid1_bpffs() && !strncmp(path, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1);

	snprintf(buf, len, "%s%s%s%s", redirect ? PID1_ROOT : "", path, name ? "/" : "",
		 name ? name : "");
}

/*
 * The counters are per network namespace: each has its own map, pinned in
 * pin_dir/netns-INODE-COOKIE. The inode names the namespace among the
 * living ones (/proc/PID/ns/net) but is reused once it is gone; the
 * cookie never is, so a namespace never inherits a dead one's counters.
 */
struct netns_id {
	uint64_t ino;
	uint64_t cookie;	/* 0 if the kernel cannot tell (before 5.14) */
};

static int netns_self(struct netns_id *id)
{
	socklen_t len = sizeof(id->cookie);
	struct stat st;
	int fd;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	id->ino = st.st_ino;
	id->cookie = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &id->cookie, &len))
		id->cookie = 0;
	close(fd);
	return 0;
}

#define NETNS_DIR_FMT	"netns-%" PRIu64 "-%" PRIu64

/* This namespace's pin directory, on the bpffs we use. */
static int netns_pin_dir(char *buf, size_t len, struct netns_id *id)
{
	char name[64];
	int ret = netns_self(id);

	if (ret)
		return ret;
	bpffs_path(buf, len, pin_dir, NULL);
	snprintf(name, sizeof(name), "/" NETNS_DIR_FMT, id->ino, id->cookie);
	if (strlen(buf) + strlen(name) >= len)
		return -ENAMETOOLONG;
	strcat(buf, name);
	return 0;
}

/* libxdp keeps its dispatchers' state under /sys/fs/bpf, and we pin the
 * counters there: mount it if nobody has. @dir: this namespace's pin
 * directory, made if need be.
 */
static int prepare_bpffs(char *dir, size_t dirlen, char *err, size_t errlen)
{
	struct netns_id id;
	int ret;

	if (!use_pid1_bpffs() && !on_bpffs(BPFFS_ROOT)) {
		/* A bpffs mounted in a private mount namespace dies with it. */
		if (!in_initial_mount_ns())
			return fail(err, errlen, -ENOTSUP,
				    "no bpffs on " BPFFS_ROOT " in this mount namespace, and it is "
				    "not the system's (under `ip netns exec`? use `nsenter "
				    "--net=/run/netns/NAME`)");
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700"))
			return fail(err, errlen, -errno, "cannot mount bpffs on " BPFFS_ROOT);
	}
	bpffs_path(dir, dirlen, pin_dir, NULL);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return fail(err, errlen, -errno, "cannot create %s", dir);
	if (!on_bpffs(dir))
		return fail(err, errlen, -ENOTSUP, "%s is not on a bpffs", dir);
	ret = netns_pin_dir(dir, dirlen, &id);
	if (ret)
		return fail(err, errlen, ret, "cannot tell this network namespace");
	if (mkdir(dir, 0700) && errno != EEXIST)
		return fail(err, errlen, -errno, "cannot create %s", dir);
	return 0;
}

/* Remove a pin directory and what it holds (the maps live on while
 * programs use them).
 */
static void unpin_dir(const char *path)
{
	char file[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    snprintf(file, sizeof(file), "%s/%s", path, e->d_name) < (int)sizeof(file))
			unlink(file);
	closedir(d);
	if (verbose)
		fprintf(stderr, "dgfs_xdp: unpinning %s\n", path);
	rmdir(path);
}

static bool in_list(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Appends @x to the growing array *@v of *@n; false when out of memory. */
static bool push(uint64_t **v, size_t *n, uint64_t x)
{
	uint64_t *nv;

	if (in_list(*v, *n, x))
		return true;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return false;
	nv[(*n)++] = x;
	*v = nv;
	return true;
}

/* The inodes of the network namespaces we can see alive: those of every
 * process, and those kept by `ip netns add`.
 */
static int live_netns(uint64_t **inos, size_t *n)
{
	static const char *const dirs[] = { "/proc", "/run/netns", "/var/run/netns" };
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d = opendir(dirs[i]);
		bool proc = !i;

		if (!d) {
			if (proc)
				return -errno;
			continue;
		}
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || (proc && (e->d_name[0] < '0' || e->d_name[0] > '9')))
				continue;
			snprintf(path, sizeof(path), "%s/%s%s", dirs[i], e->d_name,
				 proc ? "/ns/net" : "");
			if (!stat(path, &st) && !push(inos, n, st.st_ino)) {
				closedir(d);
				return -ENOMEM;
			}
		}
		closedir(d);
	}
	return 0;
}

/* The ids of the maps that loaded programs use. */
static int maps_in_use(uint64_t **ids, size_t *n)
{
	__u32 id = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		__u32 map_ids[MAX_PROGS], nr;
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;	/* gone meanwhile */
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			continue;
		}
		nr = info.nr_map_ids < MAX_PROGS ? info.nr_map_ids : MAX_PROGS;
		memset(&info, 0, sizeof(info));
		info.nr_map_ids = nr;
		info.map_ids = (__u64)(unsigned long)map_ids;
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			for (__u32 i = 0; i < nr && i < info.nr_map_ids; i++)
				if (!push(ids, n, map_ids[i])) {
					close(fd);
					return -ENOMEM;
				}
		close(fd);
	}
	return errno == ENOENT ? 0 : -errno;
}

static uint64_t pinned_map_id(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	uint64_t id = 0;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, DGFS_XDP_MAP_NAME) >= (int)sizeof(path))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		id = info.id;
	close(fd);
	return id;
}

/*
 * Pins of namespaces that are gone, so that they do not pile up: a
 * directory of another namespace is removed when its inode is ours now
 * (so that one is dead), or when no namespace we can see has its inode
 * and no loaded program uses its map. (A namespace that lives on without
 * processes, outside /run/netns, and has no program loses its counters.)
 * Best effort: nothing here fails an attach.
 */
static void unpin_dead_netns(const struct netns_id *self)
{
	uint64_t *inos = NULL, *maps = NULL;
	size_t nr_inos = 0, nr_maps = 0;
	bool scanned = false;
	char top[PATH_MAX], dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	bpffs_path(top, sizeof(top), pin_dir, NULL);
	d = opendir(top);
	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t ino, cookie;
		int end = 0;

		if (sscanf(e->d_name, NETNS_DIR_FMT "%n", &ino, &cookie, &end) != 2 ||
		    e->d_name[end] || (ino == self->ino && cookie == self->cookie))
			continue;
		if (snprintf(dir, sizeof(dir), "%s/%s", top, e->d_name) >= (int)sizeof(dir))
			continue;
		if (ino == self->ino) {
			unpin_dir(dir);
			continue;
		}
		if (!scanned) {
			scanned = true;
			if (live_netns(&inos, &nr_inos) || maps_in_use(&maps, &nr_maps))
				break;	/* cannot tell: keep everything */
		}
		if (!in_list(inos, nr_inos, ino) && !in_list(maps, nr_maps, pinned_map_id(dir)))
			unpin_dir(dir);
	}
	closedir(d);
	free(inos);
	free(maps);
}

/*
 * A counters map pinned by another version of the program, with another
 * layout, would make the load fail: unpin it (programs still using it keep
 * it) and start from zero. Also the one map all namespaces shared before
 * each had its own, in pin_dir itself.
 */
static void unpin_incompatible_counters(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	bpffs_path(path, sizeof(path), pin_dir, DGFS_XDP_MAP_NAME);
	if (!unlink(path) && verbose)
		fprintf(stderr, "dgfs_xdp: unpinned %s, shared by every namespace\n", path);

	if (snprintf(path, sizeof(path), "%s/%s", dir, DGFS_XDP_MAP_NAME) >= (int)sizeof(path))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.key_size != sizeof(__u32) ||
	     info.value_size != sizeof(struct dgfs_xdp_counters) || info.max_entries != 1)) {
		if (verbose)
			fprintf(stderr, "dgfs_xdp: unpinning %s: another layout\n", path);
		unlink(path);
	}
	close(fd);
}

/* The XDP programs on one interface: dgfs's and how many others. */
struct xdp_progs {
	enum xdp_attach_mode mode;
	bool legacy;		/* one program, no dispatcher */
	unsigned int nr_dgfs;
	uint32_t dgfs_ids[MAX_PROGS];
	unsigned int others;
};

static void note_prog(struct xdp_progs *found, struct xdp_program *prog)
{
	const char *name = xdp_program__name(prog);

	if (name && !strcmp(name, DGFS_XDP_PROG_NAME) && found->nr_dgfs < MAX_PROGS)
		found->dgfs_ids[found->nr_dgfs++] = xdp_program__id(prog);
	else
		found->others++;
}

static int find_progs(int ifindex, struct xdp_progs *found)
{
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	int ret;

	memset(found, 0, sizeof(*found));
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	ret = libxdp_get_error(mp);
	if (ret == -ENOENT || (!ret && !mp))
		return 0;	/* nothing attached */
	if (ret)
		return ret;

	found->mode = xdp_multiprog__attach_mode(mp);
	found->legacy = xdp_multiprog__is_legacy(mp);
	if (found->legacy) {
		prog = xdp_multiprog__main_prog(mp);
		if (prog)
			note_prog(found, prog);
	} else {
		for (prog = xdp_multiprog__next_prog(NULL, mp); prog;
		     prog = xdp_multiprog__next_prog(prog, mp))
			note_prog(found, prog);
	}
	if (xdp_multiprog__hw_prog(mp))
		found->others++;
	xdp_multiprog__close(mp);
	return 0;
}

static int detach_id(int ifindex, uint32_t id, enum xdp_attach_mode mode)
{
	struct xdp_program *prog = xdp_program__from_id(id);
	int ret = libxdp_get_error(prog);

	if (ret)
		return ret;
	ret = xdp_program__detach(prog, ifindex, mode, 0);
	xdp_program__close(prog);
	return ret;
}

/* Detach the dgfs programs find_progs() found. */
static int detach_ids(int ifindex, const struct xdp_progs *found, char *err, size_t errlen,
		      const char *ifname)
{
	for (unsigned int i = 0; i < found->nr_dgfs; i++) {
		int ret = detach_id(ifindex, found->dgfs_ids[i], found->mode);

		if (ret)
			return fail(err, errlen, ret, "cannot detach dgfs's XDP program %u from %s",
				    found->dgfs_ids[i], ifname);
	}
	return 0;
}

/* Put back what detach_ids() took away, if the programs still exist. */
static int reattach_ids(int ifindex, const struct xdp_progs *found)
{
	int ret = 0;

	for (unsigned int i = 0; i < found->nr_dgfs; i++) {
		struct xdp_program *prog = xdp_program__from_id(found->dgfs_ids[i]);
		int err = libxdp_get_error(prog);

		if (!err) {
			err = xdp_program__attach(prog, ifindex, found->mode, 0);
			xdp_program__close(prog);
		}
		ret = ret ?: err;
	}
	return ret;
}

static const char *mode_name(enum xdp_attach_mode mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE: return "native";
	case XDP_MODE_SKB: return "skb";
	case XDP_MODE_HW: return "hw";
	default: return "unspec";
	}
}

/* Load (and so verify) the program as an attach would, then drop it. */
static int verify_load(bool have_kmod, uint16_t port, uint32_t max_read)
{
	struct dgfs_xdp_bpf *skel = dgfs_xdp_bpf__open();
	int ret;

	if (!skel)
		return -errno;
	skel->rodata->have_kmod = have_kmod;
	skel->rodata->port = port;
	skel->rodata->max_read = max_read;
	bpf_map__set_pin_path(skel->maps.xdp_counters, NULL);
	ret = dgfs_xdp_bpf__load(skel) ? -errno : 0;
	dgfs_xdp_bpf__destroy(skel);
	return ret;
}

/* dgfs_xdp_attach(), and with @xsks_fd the AF_XDP mode (dgfs_xdp_attach_xsk()). */
static int attach(const char *ifname, enum xdp_attach_mode mode, bool have_kmod,
		  uint16_t port, uint32_t max_read, int *xsks_fd, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	DECLARE_LIBXDP_OPTS(xdp_program_opts, prog_opts);
	struct xdp_program *prog = NULL;
	struct dgfs_xdp_bpf *skel = NULL;
	char dir[PATH_MAX];
	struct xdp_progs old;
	struct quiet q;
	int ifindex, ret;

	if (mode != XDP_MODE_NATIVE && mode != XDP_MODE_SKB)
		return fail(err, errlen, -EINVAL, "XDP mode must be native or skb");
	if (!port)
		return fail(err, errlen, -EINVAL, "port 0");
	if (!max_read || max_read > DGFS_MAX_READ_LIMIT)
		return fail(err, errlen, -EINVAL, "max_read %u not in 1..%u", max_read,
			    DGFS_MAX_READ_LIMIT);
	ifindex = interface_index(ifname, err, errlen);
	if (ifindex < 0)
		return ifindex;

	quiet_begin(&q);
	ret = prepare_bpffs(dir, sizeof(dir), err, errlen);
	if (ret)
		goto out;
	unpin_incompatible_counters(dir);
	{
		struct netns_id self;

		if (!netns_self(&self))
			unpin_dead_netns(&self);
	}

	open_opts.pin_root_path = dir;
	skel = dgfs_xdp_bpf__open_opts(&open_opts);
	if (!skel) {
		ret = fail(err, errlen, -errno, "cannot open the dgfs XDP object");
		goto out;
	}
	skel->rodata->have_kmod = have_kmod;
	skel->rodata->port = port;
	skel->rodata->max_read = max_read;
	skel->rodata->to_xsk = xsks_fd != NULL;

	/* libxdp loads the object itself, as an extension of its dispatcher. */
	prog_opts.obj = skel->obj;
	prog_opts.prog_name = DGFS_XDP_PROG_NAME;
	prog = xdp_program__create(&prog_opts);
	ret = libxdp_get_error(prog);
	if (ret) {
		prog = NULL;
		fail(err, errlen, ret, "cannot prepare the dgfs XDP program");
		goto out;
	}

	ret = find_progs(ifindex, &old);
	if (ret) {
		fail(err, errlen, ret, "cannot list the XDP programs on %s", ifname);
		goto out;
	}
	/*
	 * Replacing our own program. In a dispatcher, the new one goes in
	 * first, then the old one out: no gap. Without one (legacy: a kernel
	 * without freplace, or a program attached by other means) or across
	 * modes, the old one must go first, and requests reach the stack for
	 * the moment in between.
	 */
	if (old.nr_dgfs && !old.others && (old.legacy || old.mode != mode)) {
		/* Not for a program that will not load: try it first. */
		ret = verify_load(have_kmod, port, max_read);
		if (ret) {
			fail(err, errlen, ret, "dgfs's XDP program does not load%s",
			     have_kmod ? " (is dgfs.ko loaded?)" : "");
			goto out;
		}
		ret = detach_ids(ifindex, &old, err, errlen, ifname);
		if (ret)
			goto out;
		ret = xdp_program__attach(prog, ifindex, mode, 0);
		if (ret) {
			bool restored = !reattach_ids(ifindex, &old);

			fail(err, errlen, ret, "cannot attach to %s in %s mode%s (the old dgfs program "
			     "is %s)", ifname, mode_name(mode), have_kmod ? ", is dgfs.ko loaded?" : "",
			     restored ? "back" : "gone");
		}
		goto out;
	}
	ret = xdp_program__attach(prog, ifindex, mode, 0);
	if (ret) {
		if (old.nr_dgfs + old.others && old.mode != mode)
			fail(err, errlen, ret, "cannot attach to %s in %s mode (%s has XDP in %s mode)",
			     ifname, mode_name(mode), ifname, mode_name(old.mode));
		else
			fail(err, errlen, ret, "cannot attach to %s in %s mode%s", ifname,
			     mode_name(mode), have_kmod ? " (is dgfs.ko loaded?)" : "");
		goto out;
	}
	ret = detach_ids(ifindex, &old, err, errlen, ifname);
out:
	/* The map outlives the skeleton: the attached program holds it. */
	if (!ret && xsks_fd) {
		*xsks_fd = fcntl(bpf_map__fd(skel->maps.xsks), F_DUPFD_CLOEXEC, 0);
		if (*xsks_fd < 0)
			ret = fail(err, errlen, -errno, "cannot keep the AF_XDP socket map");
	}
	if (prog)
		xdp_program__close(prog);
	dgfs_xdp_bpf__destroy(skel);
	quiet_end(&q);
	return ret;
}

int dgfs_xdp_attach(const char *ifname, enum xdp_attach_mode mode, bool have_kmod,
		    uint16_t port, uint32_t max_read, char *err, size_t errlen)
{
	return attach(ifname, mode, have_kmod, port, max_read, NULL, err, errlen);
}

int dgfs_xdp_attach_xsk(const char *ifname, enum xdp_attach_mode mode, uint16_t port,
			uint32_t max_read, int *xsks_fd, char *err, size_t errlen)
{
	return attach(ifname, mode, false, port, max_read, xsks_fd, err, errlen);
}

int dgfs_xdp_follow(uint16_t port, uint32_t max_read, char *err, size_t errlen)
{
	struct if_nameindex *ifs, *i;
	char why[256];
	int ret = 0;

	ifs = if_nameindex();
	if (!ifs)
		return fail(err, errlen, -errno, "cannot list the interfaces");
	for (i = ifs; i->if_index; i++) {
		struct dgfs_xdp_status st;
		int r;

		/* An interface that went away meanwhile has no program to fix;
		 * one whose programs we may not see (EPERM: looking a program
		 * up by id takes CAP_SYS_ADMIN) is said, not passed over.
		 */
		r = dgfs_xdp_status(i->if_name, &st, why, sizeof(why));
		if (r == -ENODEV || (!r && (!st.attached || (st.config_known && st.port == port &&
							      st.max_read == max_read))))
			continue;
		if (!r)
			r = dgfs_xdp_attach(i->if_name, st.mode, true, port, max_read, why,
					    sizeof(why));
		if (r && !ret) {
			ret = r;
			if (errlen)
				snprintf(err, errlen, "%s: %s", i->if_name, why);
		}
	}
	if_freenameindex(ifs);
	return ret;
}

int dgfs_xdp_detach(const char *ifname, char *err, size_t errlen)
{
	struct xdp_progs found;
	struct quiet q;
	int ifindex, ret;

	ifindex = interface_index(ifname, err, errlen);
	if (ifindex < 0)
		return ifindex;
	quiet_begin(&q);
	ret = find_progs(ifindex, &found);
	if (ret) {
		fail(err, errlen, ret, "cannot list the XDP programs on %s", ifname);
		goto out;
	}
	if (!found.nr_dgfs) {
		ret = fail(err, errlen, -ENOENT, "no dgfs XDP program on %s", ifname);
		goto out;
	}
	ret = detach_ids(ifindex, &found, err, errlen, ifname);
out:
	quiet_end(&q);
	return ret;
}

/* The program's rodata, read back through its BTF: what it was loaded with. */
static void read_config(uint32_t prog_id, struct dgfs_xdp_status *st)
{
	__u32 map_ids[MAX_PROGS];
	struct bpf_prog_info pinfo = {
		.nr_map_ids = MAX_PROGS,
		.map_ids = (__u64)(unsigned long)map_ids,
	};
	__u32 len = sizeof(pinfo);
	int pfd, found = 0;

	pfd = bpf_prog_get_fd_by_id(prog_id);
	if (pfd < 0)
		return;
	if (bpf_obj_get_info_by_fd(pfd, &pinfo, &len))
		goto out;
	for (__u32 i = 0; i < pinfo.nr_map_ids && i < MAX_PROGS; i++) {
		struct bpf_map_info minfo = {};
		const struct btf_var_secinfo *vsi;
		const struct btf_type *sec;
		struct btf *btf = NULL;
		__u32 mlen = sizeof(minfo), zero = 0;
		unsigned char *val = NULL;
		int mfd;

		mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(mfd, &minfo, &mlen) || !strstr(minfo.name, ".rodata") ||
		    !minfo.btf_id || !minfo.btf_value_type_id)
			goto next;
		btf = btf__load_from_kernel_by_id(minfo.btf_id);
		val = calloc(1, minfo.value_size);
		if (!btf || !val || bpf_map_lookup_elem(mfd, &zero, val))
			goto next;
		sec = btf__type_by_id(btf, minfo.btf_value_type_id);
		if (!sec || !btf_is_datasec(sec))
			goto next;
		vsi = btf_var_secinfos(sec);
		for (int v = 0; v < btf_vlen(sec); v++, vsi++) {
			const struct btf_type *var = btf__type_by_id(btf, vsi->type);
			const char *name = var ? btf__name_by_offset(btf, var->name_off) : NULL;
			const unsigned char *at = val + vsi->offset;

			if (!name || vsi->offset + vsi->size > minfo.value_size)
				continue;
			if (!strcmp(name, "have_kmod") && vsi->size == 1) {
				st->have_kmod = *at;
				found |= 1;
			} else if (!strcmp(name, "port") && vsi->size == 2) {
				memcpy(&st->port, at, 2);
				found |= 2;
			} else if (!strcmp(name, "max_read") && vsi->size == 4) {
				memcpy(&st->max_read, at, 4);
				found |= 4;
			}
		}
next:
		free(val);
		btf__free(btf);
		close(mfd);
	}
	st->config_known = found == 7;
out:
	close(pfd);
}

int dgfs_xdp_status(const char *ifname, struct dgfs_xdp_status *st, char *err, size_t errlen)
{
	struct xdp_progs found;
	struct quiet q;
	int ifindex, ret;

	memset(st, 0, sizeof(*st));
	ifindex = interface_index(ifname, err, errlen);
	if (ifindex < 0)
		return ifindex;
	quiet_begin(&q);
	ret = find_progs(ifindex, &found);
	if (ret) {
		fail(err, errlen, ret, "cannot list the XDP programs on %s", ifname);
		goto out;
	}
	st->mode = found.mode;
	st->others = found.others;
	st->attached = found.nr_dgfs > 0;
	if (st->attached) {
		st->prog_id = found.dgfs_ids[0];
		read_config(st->prog_id, st);
	}
out:
	quiet_end(&q);
	return ret;
}

int dgfs_xdp_counters(uint64_t counters[DGFS_XDP_NR_COUNTERS], char *err, size_t errlen)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0, nr;
	char path[PATH_MAX];
	uint64_t *vals = NULL;
	struct netns_id id;
	int fd, ncpus, ret;

	memset(counters, 0, DGFS_XDP_NR_COUNTERS * sizeof(counters[0]));
	ret = netns_pin_dir(path, sizeof(path) - sizeof(DGFS_XDP_MAP_NAME) - 1, &id);
	if (ret)
		return fail(err, errlen, ret, "cannot tell this network namespace");
	strcat(path, "/" DGFS_XDP_MAP_NAME);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT && !on_bpffs(BPFFS_ROOT) && !use_pid1_bpffs())
			return fail(err, errlen, -ENOENT,
				    "no bpffs on " BPFFS_ROOT " here, so no XDP counters (under `ip "
				    "netns exec`? use `nsenter --net=/run/netns/NAME`)");
		if (errno == ENOENT)
			return fail(err, errlen, -ENOENT,
				    "no XDP counters: the program was never attached in this network "
				    "namespace (no %s)", path);
		return fail(err, errlen, -errno, "cannot open %s", path);
	}
	ret = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (ret) {
		ret = fail(err, errlen, -errno, "cannot inspect %s", path);
		goto out;
	}
	if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.value_size % 8) {
		ret = fail(err, errlen, -EPROTO, "%s is not dgfs's counters map", path);
		goto out;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		ret = fail(err, errlen, ncpus ? ncpus : -EINVAL, "cannot count the CPUs");
		goto out;
	}
	vals = calloc(ncpus, info.value_size);
	if (!vals) {
		ret = fail(err, errlen, -ENOMEM, "reading %s", path);
		goto out;
	}
	if (bpf_map_lookup_elem(fd, &zero, vals)) {
		ret = fail(err, errlen, -errno, "cannot read %s", path);
		goto out;
	}
	/* A map from an older layout has fewer counters; the rest stay 0. */
	nr = info.value_size / 8;
	for (int cpu = 0; cpu < ncpus; cpu++)
		for (__u32 i = 0; i < nr && i < DGFS_XDP_NR_COUNTERS; i++)
			counters[i] += vals[(size_t)cpu * nr + i];
	ret = 0;
out:
	free(vals);
	close(fd);
	return ret;
}

/* ---- shared with dgfs's other XDP programs (http_filter_loader.c) ---- */

void dgfs_xdp_quiet_begin(struct dgfs_xdp_quiet *q)
{
	struct quiet saved;

	quiet_begin(&saved);
	q->libbpf = saved.libbpf;
	q->libxdp = saved.libxdp;
}

void dgfs_xdp_quiet_end(const struct dgfs_xdp_quiet *q)
{
	struct quiet saved = { .libbpf = q->libbpf, .libxdp = q->libxdp };

	quiet_end(&saved);
}

int dgfs_xdp_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fail(err, errlen, ret, "%s", what);
}

int dgfs_xdp_netns_dir(const char *top, bool create, char *dir, size_t dirlen, char *err,
		       size_t errlen)
{
	const char *saved = pin_dir;
	struct netns_id id;
	int ret;

	pin_dir = top;
	if (create) {
		ret = prepare_bpffs(dir, dirlen, err, errlen);
	} else {
		ret = netns_pin_dir(dir, dirlen, &id);
		if (ret)
			fail(err, errlen, ret, "cannot tell this network namespace");
	}
	pin_dir = saved;
	return ret;
}
