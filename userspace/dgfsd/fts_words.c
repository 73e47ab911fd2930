// SPDX-License-Identifier: GPL-2.0
/* Lexemes for PostgreSQL's full-text search, cut by ICU (fts_words.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "dgfsd/fts_words.h"
#include "dgfsd/word_break.h"

/* Whether @c belongs in a lexeme (unicode61's token characters). */
static bool fts_token_char(UChar32 c)
{
	uint32_t mask = U_GC_L_MASK | U_GC_N_MASK | U_GC_M_MASK | U_GC_CO_MASK;

	return (U_GET_GC_MASK(c) & mask) != 0;
}

struct fts_tok {
	char *buf;			/* FTS_LEXEME_MAX + 1 bytes */
	size_t n;
	bool too_long;
	bool latin;			/* the last letter was Latin: its marks go */
};

static void fts_tok_add(struct fts_tok *t, UChar32 c)
{
	UBool err = false;
	int32_t at = (int32_t)t->n;

	if (t->too_long)
		return;
	U8_APPEND((uint8_t *)t->buf, at, FTS_LEXEME_MAX, c, err);
	if (err)
		t->too_long = true;
	else
		t->n = (size_t)at;
}

static int fts_tok_end(struct fts_tok *t, int (*cb)(const char *w, size_t n, void *arg),
		       void *arg)
{
	int err = 0;

	if (t->n && !t->too_long) {
		t->buf[t->n] = 0;
		err = cb(t->buf, t->n, arg);
	}
	t->n = 0;
	t->too_long = false;
	t->latin = false;
	return err;
}

/* One code point of a word: lower case, and a Latin letter without its diacritics. */
static void fts_char(struct fts_tok *t, const UNormalizer2 *nfd, UChar32 c)
{
	UChar in[2], out[16];
	UErrorCode ec = U_ZERO_ERROR;
	int32_t n = 0, len, i;
	UChar32 d;

	if (U_GET_GC_MASK(c) & U_GC_M_MASK) {
		if (!t->latin)
			fts_tok_add(t, c);
		return;
	}
	t->latin = uscript_getScript(c, &ec) == USCRIPT_LATIN && U_SUCCESS(ec);
	if (!t->latin) {
		fts_tok_add(t, u_tolower(c));
		return;
	}
	U16_APPEND_UNSAFE(in, n, c);
	ec = U_ZERO_ERROR;
	len = unorm2_normalize(nfd, in, n, out, 16, &ec);
	if (U_FAILURE(ec)) {
		fts_tok_add(t, u_tolower(c));
		return;
	}
	for (i = 0; i < len;) {
		U16_NEXT(out, i, len, d);
		if (!(U_GET_GC_MASK(d) & U_GC_M_MASK))
			fts_tok_add(t, u_tolower(d));
	}
}

struct fts_words_ctx {
	struct fts_tok t;		/* t.buf made at the first word */
	const UNormalizer2 *nfd;
	int (*cb)(const char *w, size_t n, void *arg);
	void *arg;
};

/* One of ICU's words: its lexemes, each to the caller's callback. */
static int fts_word(const UChar *w, int32_t n, void *arg)
{
	struct fts_words_ctx *x = arg;
	int32_t i;
	UChar32 c;
	int err = 0;

	if (!x->t.buf && !(x->t.buf = malloc(FTS_LEXEME_MAX + 1)))
		return -ENOMEM;
	for (i = 0; !err && i < n;) {
		U16_NEXT(w, i, n, c);
		if (fts_token_char(c))
			fts_char(&x->t, x->nfd, c);
		else
			err = fts_tok_end(&x->t, x->cb, x->arg);
	}
	return err ? err : fts_tok_end(&x->t, x->cb, x->arg);
}

int fts_words(const char *s, size_t len, int (*cb)(const char *w, size_t n, void *arg),
	      void *arg)
{
	struct fts_words_ctx x = { .cb = cb, .arg = arg };
	UErrorCode ec = U_ZERO_ERROR;
	int err;

	if (len > INT32_MAX)
		return -EINVAL;
	x.nfd = unorm2_getNFDInstance(&ec);
	if (U_FAILURE(ec))
		return -ENOMEM;
	err = word_break(s, (int32_t)len, fts_word, &x);
	free(x.t.buf);
	return err;
}

/* A growing literal. */
struct fts_lit {
	char *s;
	size_t len, cap, max;
	unsigned int pos;		/* tsvector: the next position; tsquery: lexemes so far */
	bool vector, full, oom;
};

/* Appends @n bytes; false when the literal would pass its bound (or memory ran out). */
static bool fts_lit_add(struct fts_lit *l, const char *p, size_t n)
{
	if (l->len + n + 1 > l->max)
		return false;
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		char *ns;

		while (cap < l->len + n + 1)
			cap *= 2;
		ns = realloc(l->s, cap);
		if (!ns) {
			l->oom = true;
			return false;
		}
		l->s = ns;
		l->cap = cap;
	}
	memcpy(l->s + l->len, p, n);
	l->len += n;
	l->s[l->len] = 0;
	return true;
}

/*
 * 'lexeme' with ' doubled and \ escaped (a lexeme has neither, being
 * letters, numbers and marks; escaped all the same).
 */
static int fts_lit_word(const char *w, size_t n, void *arg)
{
	struct fts_lit *l = arg;
	char tail[24];
	size_t i, at = l->len;
	bool ok;

	if (l->full)
		return 0;
	ok = !l->pos || fts_lit_add(l, l->vector ? " " : " <-> ", l->vector ? 1 : 5);
	ok = ok && fts_lit_add(l, "'", 1);
	for (i = 0; ok && i < n; i++) {
		if (w[i] == '\'' || w[i] == '\\')
			ok = fts_lit_add(l, w[i] == '\'' ? "'" : "\\", 1);
		ok = ok && fts_lit_add(l, &w[i], 1);
	}
	if (l->vector)
		snprintf(tail, sizeof(tail), "':%u",
			 l->pos + 1 < FTS_POS_MAX ? l->pos + 1 : FTS_POS_MAX);
	else
		snprintf(tail, sizeof(tail), "'");
	ok = ok && fts_lit_add(l, tail, strlen(tail));
	if (!ok) {
		/* Past the bound: the words so far, whole. */
		l->len = at;
		if (l->s)
			l->s[at] = 0;
		l->full = true;
		return l->oom ? -ENOMEM : l->vector ? 0 : -E2BIG;
	}
	l->pos++;
	return 0;
}

int fts_tsvector(const char *s, size_t len, char **out)
{
	struct fts_lit l = { .max = FTS_TSVECTOR_MAX, .vector = true };
	int err;

	*out = NULL;
	err = fts_words(s, len, fts_lit_word, &l);
	if (!err && !l.s && !fts_lit_add(&l, "", 0))
		err = -ENOMEM;
	if (err) {
		free(l.s);
		return err;
	}
	*out = l.s;
	return 0;
}

int fts_tsquery_phrase(const char *s, char **out)
{
	struct fts_lit l = { .max = 1u << 20 };
	int err;

	*out = NULL;
	err = fts_words(s, strlen(s), fts_lit_word, &l);
	if (err == -E2BIG)
		err = -ENOMEM;
	if (err || !l.pos) {
		free(l.s);
		return err;
	}
	*out = l.s;
	return 0;
}
