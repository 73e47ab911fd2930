/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running an untrusted helper (dgfs-tagger, a tag plugin) out of dgfsd's
 * process, contained: its own process group, rlimits (CPU seconds,
 * address space, open files, file size, no core), a wall-clock timeout
 * and a cap on what it may print, each of which ends it with SIGKILL.
 * A runner process between dgfsd and the helper is a child subreaper: when
 * the helper ends (or is ended), every process it left behind is killed
 * and reaped, even one that left its session (setsid) or process group.
 * It inherits dgfsd's user (--user) and no_new_privs; its
 * environment is a fixed minimal one; stdin is /dev/null; the file to
 * look at is its fd 3 (argv names it /proc/self/fd/3).
 */
#ifndef DGFSD_SANDBOX_H
#define DGFSD_SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sandbox_limits {
	unsigned int timeout_ms;	/* wall clock */
	unsigned int cpu_seconds;	/* RLIMIT_CPU */
	uint64_t address_space;		/* RLIMIT_AS, bytes */
	uint64_t file_size;		/* RLIMIT_FSIZE, bytes (0: may write nothing) */
	unsigned int open_files;	/* RLIMIT_NOFILE */
	size_t output_max;		/* stdout bytes kept; more kills it */
	/*
	 * Hard limits above the soft ones above (0: the same), for a helper
	 * that sets its own limits (dgfs-tagger): it may raise them up to these.
	 */
	unsigned int cpu_hard;
	uint64_t address_space_hard, file_size_hard;
	const _Atomic bool *cancel;	/* set (may be NULL): killed within 200 ms */
};

struct sandbox_result {
	char *out;			/* stdout, NUL-terminated (malloc'd; may be NULL) */
	size_t out_len;
	bool timed_out;
	bool output_over;		/* printed more than output_max */
	bool cancelled;			/* killed because lim->cancel was set */
	int exit_code;			/* -1 if it did not exit */
	int signal;			/* the signal that ended it, or 0 */
	char err[256];			/* the start of its stderr, NUL-terminated */
	unsigned int took_ms;
};

/*
 * Runs @argv[0] (an absolute path) with @argv, @file_fd as its fd 3.
 * 0 once it ran (its outcome in @res: it succeeded if exit_code is 0 and
 * neither timed_out nor output_over), or -errno if it could not be
 * started. sandbox_result_free() in both cases.
 */
int sandbox_run(char *const argv[], int file_fd, const struct sandbox_limits *lim,
		struct sandbox_result *res);
void sandbox_result_free(struct sandbox_result *res);
/* One short phrase for a run that failed ("timed out after 10 s", ...) into @buf. */
const char *sandbox_failure(const struct sandbox_result *res, const struct sandbox_limits *lim,
			    char *buf, size_t size);

#endif /* DGFSD_SANDBOX_H */
