/* SPDX-License-Identifier: GPL-2.0 */
/* The tagger's own cage: rlimits and a seccomp filter (contain.c). */
#ifndef DGFS_TAGGER_CONTAIN_H
#define DGFS_TAGGER_CONTAIN_H

#include <stddef.h>

#define TAGGER_CPU_SECONDS	60		/* RLIMIT_CPU */
#define TAGGER_ADDRESS_SPACE	(2ull << 30)	/* RLIMIT_AS, bytes */

/* Applies the limits (max_output: the most a file written may hold, for
 * stdout as a file), then the filter; from here on no file opens, no exec,
 * no network. 0 or -errno. */
int tagger_contain(size_t max_output);

/* Hidden test hook (--selftest-seccomp): tries what the filter forbids.
 * Returns only if the filter let something through. */
void tagger_contain_selftest(void);

#endif /* DGFS_TAGGER_CONTAIN_H */
