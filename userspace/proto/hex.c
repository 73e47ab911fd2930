// SPDX-License-Identifier: GPL-2.0
/* See hex.h. */
#include <string.h>

#include "hex.h"

int dgfs_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dgfs_hex_decode(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	if (strlen(s) != 2 * len)
		return -1;
	for (i = 0; i < 2 * len; i++)
		if (dgfs_hex_digit(s[i]) < 0)
			return -1;
	for (i = 0; i < len; i++)
		out[i] = (uint8_t)(dgfs_hex_digit(s[2 * i]) << 4 | dgfs_hex_digit(s[2 * i + 1]));
	return 0;
}

void dgfs_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}
