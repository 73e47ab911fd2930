/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hexadecimal, for chunk ids, keys and tokens on command lines, in file
 * names and in URLs. No dependencies: dgfsctl, dgfsd, the client, the
 * protocol library and the test drivers all use this one.
 */
#ifndef DGFS_HEX_H
#define DGFS_HEX_H

#include <stddef.h>
#include <stdint.h>

/* 0-15 for a hex digit of either case, -1 for anything else. */
int dgfs_hex_digit(int c);
/* Exactly 2 * @len hex digits, either case: 0, or -1 (out untouched). */
int dgfs_hex_decode(const char *s, uint8_t *out, size_t len);
/* Writes 2 * @len lowercase digits and a NUL to @out. */
void dgfs_hex_encode(const uint8_t *in, size_t len, char *out);

#endif /* DGFS_HEX_H */
