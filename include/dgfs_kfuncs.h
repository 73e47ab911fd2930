/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs dgfs.ko offers XDP programs: one list for the module, which
 * defines them, and for BPF programs, which call them.
 *
 * BPF programs see them as weak __ksym externs, so one object loads with the
 * module or without it; each call must then sit behind a `const volatile`
 * flag that the loader sets only when the module is there, since on 6.1 a
 * weak kfunc's address cannot be tested at run time.
 */
#ifndef _DGFS_KFUNCS_H
#define _DGFS_KFUNCS_H

#if defined(__bpf__)
#define DGFS_KFUNC extern __attribute__((section(".ksyms"), weak))
#else
#define DGFS_KFUNC
#endif

struct xdp_md;

/*
 * Size in bytes of the chunk @id (DGFS_CHUNK_ID_LEN bytes) in the index of
 * the namespace the packet arrived in; -ENOENT if there is no such chunk,
 * -EINVAL if @id__sz is not DGFS_CHUNK_ID_LEN.
 */
DGFS_KFUNC long long bpf_dgfs_chunk_size(struct xdp_md *ctx,
					 const unsigned char *id,
					 unsigned int id__sz);

#endif /* _DGFS_KFUNCS_H */
