// SPDX-License-Identifier: GPL-2.0
/*
 * --user NAME: dgfsd started as root becomes NAME, keeping only the
 * capabilities it needs (docs/DGFSD.md, "Privileges"): CAP_NET_ADMIN to
 * configure dgfs.ko over netlink, only when dgfs.ko is in use (the XDP
 * program is loaded again before, see main.c), and CAP_NET_BIND_SERVICE
 * only for a port below 1024. Everything else goes from the effective, permitted,
 * inheritable and bounding sets, and no_new_privs is set, so no exec can
 * win anything back. It must run before dgfsd starts a thread: a thread's
 * capabilities are its own (capset() changes only the caller's), and
 * every thread made afterwards inherits them.
 *
 * The state directory is made NAME's first (privs_state): dgfsd writes
 * chunks, meta.db and its WAL there as NAME. With or without --user, a
 * state directory or file that others may read is made private at start
 * (one an older dgfsd made 0755/0644).
 *
 * libcap is not needed for this: capset() and prctl() are the kernel's
 * interface, and the sets are 64-bit masks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dgfsd.h"

int privs_lookup(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		fprintf(stderr, "dgfsd: --user %s: %s\n", name,
			errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (!pw->pw_uid) {
		fprintf(stderr, "dgfsd: --user %s is root: name an unprivileged user\n", name);
		return -1;
	}
	if (geteuid()) {
		fprintf(stderr, "dgfsd: --user needs dgfsd started as root\n");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* @fd (a file or directory of the state) owned by @uid, and private: 0, or -1. */
static int own_one(int dfd, const char *name, uid_t uid, gid_t gid, mode_t mode,
		   unsigned int *fixed)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -1;
	/* Only what dgfsd makes there; a symlink is never followed or changed. */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	if (uid != (uid_t)-1 && (st.st_uid != uid || st.st_gid != gid) &&
	    fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW))
		return -1;
	if ((st.st_mode & 07777) & ~mode) {
		if (fchmodat(dfd, name, (st.st_mode & 07777) & mode, 0))
			return -1;
		(*fixed)++;
	}
	return 0;
}

/* Every entry of directory @dfd: directories 0700 at most, files 0600 at most. */
static int own_dir(int dfd, uid_t uid, gid_t gid, unsigned int *fixed)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	if (fd < 0)
		return -1;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (own_one(dfd, de->d_name, uid, gid,
			    de->d_type == DT_DIR ? 0700 : 0600, fixed)) {
			fprintf(stderr, "dgfsd: cannot make %s private%s: %s\n", de->d_name,
				uid != (uid_t)-1 ? " to the --user" : "", strerror(errno));
			ret = -1;
			break;
		}
	}
	closedir(dir);
	return ret;
}

int privs_state(const char *state_dir, uid_t uid, gid_t gid)
{
	unsigned int fixed = 0;
	int sfd, cfd, ret;

	sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return fprintf(stderr, "dgfsd: %s: %s\n", state_dir, strerror(errno)), -1;
	ret = own_one(sfd, ".", uid, gid, 0700, &fixed) || own_dir(sfd, uid, gid, &fixed);
	cfd = ret ? -1 : openat(sfd, "chunks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!ret && (cfd < 0 || own_dir(cfd, uid, gid, &fixed)))
		ret = -1;
	if (cfd >= 0)
		close(cfd);
	close(sfd);
	if (ret && uid != (uid_t)-1)
		return fprintf(stderr, "dgfsd: cannot give %s to the --user\n", state_dir), -1;
	if (ret)
		fprintf(stderr, "dgfsd: warning: %s is not all private to its user\n", state_dir);
	if (fixed)
		fprintf(stderr, "dgfsd: made %u file%s in %s private to its user (0600/0700)\n",
			fixed, fixed == 1 ? "" : "s", state_dir);
	return 0;
}

int privs_trim(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t had;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return fprintf(stderr, "dgfsd: cannot read capabilities: %s\n", strerror(errno)), -1;
	had = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	if (!(had & ~keep))
		return 0;
	keep &= had;
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	data[0].inheritable = data[1].inheritable = 0;
	/* Ambient capabilities (systemd's AmbientCapabilities=) go with them. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data))
		return fprintf(stderr, "dgfsd: cannot drop capabilities: %s\n", strerror(errno)), -1;
	fprintf(stderr, "dgfsd: dropped the capabilities it does not need (kept 0x%llx)\n",
		(unsigned long long)keep);
	return 0;
}

int privs_drop(uid_t uid, gid_t gid, uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uid_t r, e, s;
	int cap;

	/* The bounding set first: dropping from it needs CAP_SETPCAP, which goes below. */
	for (cap = 0; cap <= 63; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0)
			continue;	/* not known to this kernel, or gone already */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return fprintf(stderr, "dgfsd: cannot drop capability %d: %s\n", cap,
				       strerror(errno)), -1;
	}
	if (setgroups(0, NULL) || setresgid(gid, gid, gid))
		return fprintf(stderr, "dgfsd: cannot change group: %s\n", strerror(errno)), -1;
	/* Keep the permitted set across the change of uid, then cut it to @keep. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setresuid(uid, uid, uid))
		return fprintf(stderr, "dgfsd: cannot change user: %s\n", strerror(errno)), -1;
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return fprintf(stderr, "dgfsd: cannot set capabilities: %s\n", strerror(errno)), -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fprintf(stderr, "dgfsd: cannot set no_new_privs: %s\n", strerror(errno)), -1;
	/* No way back: root again must fail. */
	if (getresuid(&r, &e, &s) || r != uid || e != uid || s != uid || !setuid(0))
		return fprintf(stderr, "dgfsd: the user change did not hold\n"), -1;
#ifdef __SANITIZE_ADDRESS__
	/*
	 * The sanitizer build only: LeakSanitizer stops the threads with
	 * ptrace at exit, which a process made undumpable by the uid change
	 * refuses. The real build stays undumpable: no core or ptrace by
	 * others of the same user shows the keys in its memory.
	 */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 0;
}
