/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unit tests' one assertion: CHECK(name, cond) prints "PASS: name" or
 * "FAIL: name (file:line)" (tests/run-all.sh counts those lines) and
 * counts failures; main() returns failures ? 1 : 0.
 */
#ifndef DGFS_TEST_CHECK_H
#define DGFS_TEST_CHECK_H

#include <stdio.h>

static int failures;
/* Put before every name: a test running its checks twice says which round. */
static const char *check_prefix = "";

#define CHECK(name, cond) do {						\
	if (cond) {							\
		printf("PASS: %s%s\n", check_prefix, name);		\
	} else {							\
		printf("FAIL: %s%s (%s:%d)\n", check_prefix, name,	\
		       __FILE__, __LINE__);				\
		failures++;						\
	}								\
} while (0)

#endif /* DGFS_TEST_CHECK_H */
