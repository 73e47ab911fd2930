// SPDX-License-Identifier: GPL-2.0
/* A growing string with one error for a whole build (strbuf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/strbuf.h"

void strbuf_add(struct strbuf *b, int *err, const char *add, size_t n)
{
	char *ns;

	if (*err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;

		while (nc < b->len + n + 1)
			nc *= 2;
		ns = realloc(b->s, nc);
		if (!ns) {
			*err = -ENOMEM;
			return;
		}
		b->s = ns;
		b->cap = nc;
	}
	memcpy(b->s + b->len, add, n);
	b->len += n;
	b->s[b->len] = 0;
}

void strbuf_printf(struct strbuf *b, int *err, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		*err = *err ? *err : -EINVAL;
		return;
	}
	strbuf_add(b, err, tmp, (size_t)n);
}
