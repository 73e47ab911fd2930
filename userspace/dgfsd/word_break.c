// SPDX-License-Identifier: GPL-2.0
/* A UTF-8 text's words by ICU's word breaking (word_break.h). */
#include <errno.h>
#include <stdlib.h>

#include <unicode/ubrk.h>
#include <unicode/ustring.h>

#include "dgfsd/word_break.h"

int word_break(const char *s, int32_t len, int (*cb)(const UChar *w, int32_t n, void *arg),
	       void *arg)
{
	UErrorCode ec = U_ZERO_ERROR;
	UBreakIterator *brk = NULL;
	int32_t n, start, end;
	UChar *u;
	int err = 0;

	u_strFromUTF8(NULL, 0, &n, s, len, &ec);
	if (ec != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(ec))
		return -EINVAL;
	u = malloc(((size_t)n + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	ec = U_ZERO_ERROR;
	u_strFromUTF8(u, n + 1, &n, s, len, &ec);
	if (U_FAILURE(ec)) {
		err = -EINVAL;
		goto out;
	}
	brk = ubrk_open(UBRK_WORD, "", u, n, &ec);
	if (U_FAILURE(ec)) {
		err = -ENOMEM;
		goto out;
	}
	start = ubrk_first(brk);
	for (end = ubrk_next(brk); !err && end != UBRK_DONE; start = end, end = ubrk_next(brk)) {
		if (ubrk_getRuleStatus(brk) < UBRK_WORD_NUMBER)
			continue;	/* spaces and punctuation */
		err = cb(u + start, end - start, arg);
	}
out:
	ubrk_close(brk);
	free(u);
	return err;
}
