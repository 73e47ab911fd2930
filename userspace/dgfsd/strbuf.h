/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A growing string whose caller keeps one error for a whole build: once
 * *err is set (the first failure), every later add does nothing, so a
 * statement built from many pieces is checked once at the end. For the
 * SQL that search.c and search_pg.c write.
 */
#ifndef DGFSD_STRBUF_H
#define DGFSD_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *s;			/* NUL-terminated once anything was added; malloc'd */
	size_t len, cap;
};

/* Appends @n bytes at @add; on failure *@err = -ENOMEM. Nothing when *@err is set. */
void strbuf_add(struct strbuf *b, int *err, const char *add, size_t n);

/*
 * Appends @fmt's text, at most 2047 bytes; *@err = -EINVAL when longer,
 * -ENOMEM as strbuf_add(). Nothing when *@err is set.
 */
void __attribute__((format(printf, 3, 4))) strbuf_printf(struct strbuf *b, int *err,
							  const char *fmt, ...);

#endif /* DGFSD_STRBUF_H */
