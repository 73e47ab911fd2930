/* SPDX-License-Identifier: GPL-2.0 */
/* The tagger's own cage: rlimits and a seccomp filter (contain.c). */
#ifndef DGFS_TAGGER_CONTAIN_H
#define DGFS_TAGGER_CONTAIN_H

#include <stdbool.h>
#include <stddef.h>

#define TAGGER_CPU_SECONDS	60		/* RLIMIT_CPU */
#define TAGGER_ADDRESS_SPACE	(2ull << 30)	/* RLIMIT_AS, bytes */

/* Applies the limits (max_output: the most a file written may hold, for
 * stdout as a file), then Landlock (only @fd's file may be read; *landlocked
 * says whether the kernel has it) and the filter; from here on no exec, no
 * network, no writes, and read-only opens only. 0 or -errno. */
int tagger_contain(size_t max_output, int fd, bool *landlocked);
/* Then no opens at all (EACCES). 0 or -errno. */
int tagger_contain_no_open(void);

/* Hidden test hook (--selftest-open-phase): between the two, tries to open
 * FILE to read and to write, another file, and a socket (killed). */
void tagger_contain_selftest_open_phase(const char *path);

/* Hidden test hook (--selftest-seccomp): tries what the filter forbids.
 * Returns only if the filter let something through. */
void tagger_contain_selftest(void);

#endif /* DGFS_TAGGER_CONTAIN_H */
