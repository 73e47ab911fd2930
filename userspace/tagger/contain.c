// SPDX-License-Identifier: GPL-2.0
/*
 * Containment: dgfs-tagger parses hostile bytes with big libraries, so
 * once FILE is open and the libraries have loaded their data it drops what
 * parsing does not need. Any syscall not listed kills the process; opening
 * a file fails with EACCES instead (libraries probe for configuration and
 * must go on without it); mappings cannot be executable.
 *
 * Two steps, because TagLib's C binding opens FILE by name: first a
 * Landlock ruleset under which FILE is the only file that may be read (no
 * writes, no other reads), and a filter that lets read-only opens through
 * to it; TagLib parses there. Then a second filter, stacked on the first,
 * refuses every open.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include "contain.h"

static int set_limit(int resource, rlim_t value)
{
	struct rlimit rl = { value, value };

	return setrlimit(resource, &rl) ? -errno : 0;
}

static int apply_rlimits(size_t max_output)
{
	int err;

	err = set_limit(RLIMIT_CPU, TAGGER_CPU_SECONDS);
	err = err ?: set_limit(RLIMIT_AS, TAGGER_ADDRESS_SPACE);
	/* Not 0: stdout may be a file, and gets the JSON. */
	err = err ?: set_limit(RLIMIT_FSIZE, max_output);
	err = err ?: set_limit(RLIMIT_CORE, 0);
	return err;
}

/* What parsing, allocating, threads (Tesseract's) and printing need. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(close), SCMP_SYS(dup), SCMP_SYS(fcntl),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(getrlimit), SCMP_SYS(prlimit64), SCMP_SYS(sysinfo), SCMP_SYS(uname),
	SCMP_SYS(getrusage),	/* pocketsphinx times each utterance */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(eventfd2),
};

/* Tried by libraries, refused with an errno they handle. */
static const struct { int nr; int err; } refused[] = {
	{ SCMP_SYS(open), EACCES }, { SCMP_SYS(access), EACCES },
	{ SCMP_SYS(faccessat), EACCES }, { SCMP_SYS(faccessat2), EACCES },
	{ SCMP_SYS(readlink), EACCES }, { SCMP_SYS(readlinkat), EACCES },
	{ SCMP_SYS(ioctl), ENOTTY }, { SCMP_SYS(clone3), ENOSYS },	/* glibc falls back to clone */
};

/*
 * An open with any of these may change or create a file. (glibc's
 * __O_TMPFILE has O_DIRECTORY in it: opendir() must stay allowed.)
 */
#define OPEN_TMPFILE_BIT (__O_TMPFILE & ~O_DIRECTORY)
#define OPEN_WRITE_FLAGS (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | OPEN_TMPFILE_BIT)
static const struct { scmp_datum_t mask, value; } open_write[] = {
	{ O_ACCMODE, O_WRONLY }, { O_ACCMODE, O_RDWR }, { O_CREAT, O_CREAT },
	{ O_TRUNC, O_TRUNC }, { O_APPEND, O_APPEND }, { OPEN_TMPFILE_BIT, OPEN_TMPFILE_BIT },
};

static int build_filter(scmp_filter_ctx ctx)
{
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; !err && i < sizeof(refused) / sizeof(refused[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(refused[i].err), refused[i].nr, 0);
	/* Memory, never code: the program and its libraries are mapped already. */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/*
	 * Read-only opens pass (Landlock lets FILE alone through, for
	 * TagLib) until tagger_contain_no_open() stacks a filter refusing
	 * them; opens to write or create are refused here already.
	 */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0));
	for (size_t i = 0; !err && i < sizeof(open_write) / sizeof(open_write[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, open_write[i].mask,
					       open_write[i].value));
	/* More filters (tagger_contain_no_open): they can only take away. */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1,
				      SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER));
	/* Threads, not processes. */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* abort() signals itself. */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	return err;
}

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif

/*
 * Every file access the kernel's Landlock ABI knows is handled (denied),
 * but reading @fd's file. A memfd (what dgfsd passes) is on an internal
 * mount Landlock does not restrict and cannot name in a rule: then the
 * ruleset just denies all else. 0, or -errno (-EOPNOTSUPP: no Landlock).
 */
static int apply_landlock(int fd)
{
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1,	/* ABI 1 */
	};
	struct landlock_path_beneath_attr file = {
		.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE,
		.parent_fd = fd,
	};
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int rfd, err = 0;

	if (abi < 1)
		return -EOPNOTSUPP;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	rfd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd < 0)
		return -errno;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &file, 0) &&
	    errno != EBADFD)
		err = -errno;
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = -errno;
	if (!err && syscall(SYS_landlock_restrict_self, rfd, 0))
		err = -errno;
	close(rfd);
	return err;
}

int tagger_contain(size_t max_output, int fd, bool *landlocked)
{
	scmp_filter_ctx ctx;
	int err = apply_rlimits(max_output);

	if (err)
		return err;
	err = apply_landlock(fd);
	*landlocked = !err;
	if (err && err != -EOPNOTSUPP)
		return err;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	err = build_filter(ctx);
	err = err ?: seccomp_load(ctx);	/* sets no_new_privs first */
	seccomp_release(ctx);
	return err;
}

int tagger_contain_no_open(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err;

	if (!ctx)
		return -ENOMEM;
	/* Stacked: the first filter still holds for everything else. */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);	/* set already; prctl is refused */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

void tagger_contain_selftest_open_phase(const char *path)
{
	int fd;

	fd = open(path, O_RDONLY);
	fprintf(stderr, "selftest: open FILE: %s\n", fd < 0 ? strerror(errno) : "allowed");
	fd = open(path, O_RDWR);
	fprintf(stderr, "selftest: open FILE to write: %s\n", fd < 0 ? strerror(errno) : "allowed");
	fd = open("/etc/passwd", O_RDONLY);
	fprintf(stderr, "selftest: open /etc/passwd: %s\n", fd < 0 ? strerror(errno) : "allowed");
	fd = socket(AF_INET, SOCK_STREAM, 0);	/* killed here */
	fprintf(stderr, "selftest: socket: %s\n", fd < 0 ? strerror(errno) : "allowed");
}

void tagger_contain_selftest(void)
{
	static char *const argv[] = { "/bin/true", NULL };
	struct rlimit cpu, as, fsize;
	int fd;

	getrlimit(RLIMIT_CPU, &cpu);
	getrlimit(RLIMIT_AS, &as);
	getrlimit(RLIMIT_FSIZE, &fsize);
	fprintf(stderr, "selftest: limits: cpu %llu as %llu fsize %llu\n",
		(unsigned long long)cpu.rlim_max, (unsigned long long)as.rlim_max,
		(unsigned long long)fsize.rlim_max);
	fd = open("/etc/passwd", O_RDONLY);
	fprintf(stderr, "selftest: open: %s\n", fd < 0 ? strerror(errno) : "allowed");
	fd = socket(AF_INET, SOCK_STREAM, 0);	/* killed here */
	fprintf(stderr, "selftest: socket: %s\n", fd < 0 ? strerror(errno) : "allowed");
	execv(argv[0], argv);
	fprintf(stderr, "selftest: exec: %s\n", strerror(errno));
}
