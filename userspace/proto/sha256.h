/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SHA-256, the chunk id: every byte dgfs stores or moves is hashed at least
 * once (chunking, upload checks, the reader's verification, ETags), so it
 * is the hottest loop in userspace. OpenSSL's implementation uses the CPU's
 * SHA extensions (SHA-NI, ARMv8 SHA2): about 1.4 GB/s here against a few
 * hundred MB/s for libsodium's portable C, which stays for SipHash and
 * randomness.
 *
 * The SHA256_* context API is deprecated in OpenSSL 3 in favour of EVP, but
 * it is still there, needs no allocation (so a state can live on the stack
 * or in a struct and be dropped on any error path, like libsodium's), and
 * runs the same assembly.
 */
#ifndef DGFS_SHA256_H
#define DGFS_SHA256_H

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <stddef.h>
#include <stdint.h>

#define DGFS_SHA256_BYTES 32

typedef SHA256_CTX dgfs_sha256_state;

static inline void dgfs_sha256(uint8_t out[DGFS_SHA256_BYTES], const void *in, size_t len)
{
	SHA256(in, len, out);
}

static inline void dgfs_sha256_init(dgfs_sha256_state *s)
{
	SHA256_Init(s);
}

static inline void dgfs_sha256_update(dgfs_sha256_state *s, const void *in, size_t len)
{
	SHA256_Update(s, in, len);
}

static inline void dgfs_sha256_final(dgfs_sha256_state *s, uint8_t out[DGFS_SHA256_BYTES])
{
	SHA256_Final(out, s);
}

#endif /* DGFS_SHA256_H */
