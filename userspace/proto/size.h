/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sizes on command lines and in dgfsd's config: decimal digits and an
 * optional binary suffix, K, M, G or T (either case). No dependencies, like
 * hex.h: dgfsctl, dgfsd, the client and the test drivers share this one.
 */
#ifndef DGFS_SIZE_H
#define DGFS_SIZE_H

#include <stdint.h>

/* NULL, with the value in *out; or why @s is not a size (*out untouched). */
const char *dgfs_size_parse(const char *s, uint64_t *out);

#endif /* DGFS_SIZE_H */
