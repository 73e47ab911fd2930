/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PASS/FAIL lines for the BPF test programs (xdp_test, http_filter_test,
 * xdp_fuzz): one line a check, and `failed` for their exit status.
 */
#ifndef DGFS_TESTS_BPF_RESULT_H
#define DGFS_TESTS_BPF_RESULT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int failed;

__attribute__((format(printf, 2, 3)))
static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "PASS: " : "FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failed = 1;
}

#endif
