// SPDX-License-Identifier: GPL-2.0
/*
 * Containment: dgfs-tagger parses hostile bytes with big libraries, so
 * once FILE is open and the libraries have loaded their data it drops what
 * parsing does not need. Any syscall not listed kills the process; opening
 * a file fails with EACCES instead (libraries probe for configuration and
 * must go on without it); mappings cannot be executable.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
	{ SCMP_SYS(open), EACCES }, { SCMP_SYS(openat), EACCES }, { SCMP_SYS(access), EACCES },
	{ SCMP_SYS(faccessat), EACCES }, { SCMP_SYS(faccessat2), EACCES },
	{ SCMP_SYS(readlink), EACCES }, { SCMP_SYS(readlinkat), EACCES },
	{ SCMP_SYS(ioctl), ENOTTY }, { SCMP_SYS(clone3), ENOSYS },	/* glibc falls back to clone */
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
	/* Threads, not processes. */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* abort() signals itself. */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	return err;
}

int tagger_contain(size_t max_output)
{
	scmp_filter_ctx ctx;
	int err = apply_rlimits(max_output);

	if (err)
		return err;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	err = build_filter(ctx);
	err = err ?: seccomp_load(ctx);	/* sets no_new_privs first */
	seccomp_release(ctx);
	return err;
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
