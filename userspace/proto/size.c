// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>

#include "size.h"

const char *dgfs_size_parse(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	unsigned int shift = 0, i;
	uint64_t val = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return *p ? "not a number" : "empty";
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (val > (UINT64_MAX - digit) / 10)
			return "too large";
		val = val * 10 + digit;
	}
	if (*p) {
		for (i = 0; suffixes[i] && (*p & ~0x20) != suffixes[i]; i++)
			;
		if (!suffixes[i] || p[1])
			return "not a number (suffixes: K, M, G, T)";
		shift = 10 * (i + 1);
	}
	if (val > UINT64_MAX >> shift)
		return "too large";
	*out = val << shift;
	return NULL;
}
