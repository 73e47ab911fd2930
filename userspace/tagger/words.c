// SPDX-License-Identifier: GPL-2.0
/*
 * Words: ICU segments, we count; language by script, then by stop words;
 * terms by libstemmer. See words.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libstemmer.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "stopwords.h"
#include "words.h"

struct word_entry {
	char *key;		/* lower-case UTF-8; NULL: free slot */
	uint64_t count;
	UScriptCode script;	/* of its first letter */
};

/* Open addressing, linear probing; cap a power of two, at most half full. */
struct word_table {
	struct word_entry *slots;
	size_t cap, used;
};

struct words {
	UBreakIterator *brk;
	struct word_table counted;
	uint64_t script_words[USCRIPT_CODE_LIMIT];
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void table_free(struct word_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].key);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct word_entry *table_find(struct word_table *t, const char *key)
{
	size_t i = hash_str(key) & (t->cap - 1);

	while (t->slots[i].key && strcmp(t->slots[i].key, key))
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

static int table_grow(struct word_table *t)
{
	struct word_table bigger = { .cap = t->cap ? t->cap * 2 : 1024 };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key)
			*table_find(&bigger, t->slots[i].key) = t->slots[i];
	bigger.used = t->used;
	free(t->slots);
	*t = bigger;
	return 0;
}

/*
 * Adds count to key's entry. A new key beyond WORDS_MAX_DISTINCT is
 * dropped (returns 0): memory stays bounded on text made of random words.
 */
static int table_add(struct word_table *t, const char *key, uint64_t count, UScriptCode script)
{
	struct word_entry *e;
	int err;

	if (t->used * 2 >= t->cap) {
		if (t->used >= WORDS_MAX_DISTINCT)
			goto existing_only;
		err = table_grow(t);
		if (err)
			return err;
	}
	e = table_find(t, key);
	if (!e->key) {
		if (t->used >= WORDS_MAX_DISTINCT)
			return 0;
		e->key = strdup(key);
		if (!e->key)
			return -ENOMEM;
		e->script = script;
		t->used++;
	}
	e->count += count;
	return 0;
existing_only:
	e = table_find(t, key);
	if (e->key)
		e->count += count;
	return 0;
}

struct words *words_new(void)
{
	UErrorCode uerr = U_ZERO_ERROR;
	struct words *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	/* The root locale's rules use ICU's CJK and Thai dictionaries. */
	w->brk = ubrk_open(UBRK_WORD, "", NULL, 0, &uerr);
	if (U_FAILURE(uerr)) {
		free(w);
		return NULL;
	}
	return w;
}

void words_free(struct words *w)
{
	if (!w)
		return;
	ubrk_close(w->brk);
	table_free(&w->counted);
	free(w);
}

int words_segment(struct words *w, const UChar *text, int32_t len, word_emit_fn emit, void *ctx)
{
	UErrorCode uerr = U_ZERO_ERROR;
	int32_t start, end;
	int ret = 0;

	ubrk_setText(w->brk, text, len, &uerr);
	if (U_FAILURE(uerr))
		return -EINVAL;
	start = ubrk_first(w->brk);
	for (end = ubrk_next(w->brk); end != UBRK_DONE; start = end, end = ubrk_next(w->brk)) {
		int32_t status = ubrk_getRuleStatus(w->brk);

		/* UBRK_WORD_NONE: spaces and punctuation. */
		if (status >= UBRK_WORD_NUMBER && status < UBRK_WORD_NUMBER_LIMIT)
			ret = emit(ctx, text + start, end - start, WORD_NUMBER);
		else if (status >= UBRK_WORD_LETTER)
			ret = emit(ctx, text + start, end - start, WORD_LETTERS);
		if (ret)
			break;
	}
	/* The iterator must not keep pointing into the caller's buffer. */
	ubrk_setText(w->brk, NULL, 0, &uerr);
	return ret < 0 ? ret : 0;
}

int words_count(struct words *w, const UChar *word, int32_t len)
{
	UChar lower[WORDS_MAX_LEN];
	char utf8[WORDS_MAX_LEN + 1];
	UErrorCode uerr = U_ZERO_ERROR;
	UScriptCode script;
	int32_t n, i = 0;
	UChar32 c;

	if (len <= 0 || len > WORDS_MAX_LEN)
		return 0;
	/* Lower case, not case folding: the stop lists and stemmers expect it (ß stays ß). */
	n = u_strToLower(lower, WORDS_MAX_LEN, word, len, "", &uerr);
	if (U_FAILURE(uerr) || uerr == U_STRING_NOT_TERMINATED_WARNING)
		return 0;
	uerr = U_ZERO_ERROR;
	u_strToUTF8WithSub(utf8, sizeof(utf8), NULL, lower, n, 0xfffd, NULL, &uerr);
	if (U_FAILURE(uerr) || uerr == U_STRING_NOT_TERMINATED_WARNING)
		return 0;
	U16_NEXT(lower, i, n, c);
	uerr = U_ZERO_ERROR;
	script = uscript_getScript(c, &uerr);
	if (U_FAILURE(uerr) || script < 0 || script >= USCRIPT_CODE_LIMIT)
		script = USCRIPT_UNKNOWN;
	w->script_words[script]++;
	return table_add(&w->counted, utf8, 1, script);
}

static int cmp_str(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static const struct stopword_list *stop_list(const char *lang)
{
	for (size_t i = 0; lang && i < stopword_list_count; i++)
		if (!strcmp(stopword_lists[i].lang, lang))
			return &stopword_lists[i];
	return NULL;
}

static int list_has(const struct stopword_list *l, const char *word)
{
	return l && bsearch(word, l->words, l->count, sizeof(*l->words), cmp_str);
}

int words_is_stop(const char *lang, const char *word)
{
	return list_has(stop_list(lang), word);
}

/*
 * Within Latin or Cyrillic script, the language whose stop words make up
 * most of the words: they are a third or more of any real text, and at
 * least a tenth is asked for (fewer is too little to tell).
 */
static const char *guess_by_stop_words(const struct words *w, UScriptCode script, uint64_t words)
{
	uint64_t hits[stopword_list_count], best = 0;
	const char *lang = NULL;

	memset(hits, 0, sizeof(hits));
	for (size_t i = 0; i < w->counted.cap; i++) {
		const struct word_entry *e = &w->counted.slots[i];

		if (!e->key || e->script != script)
			continue;
		for (size_t l = 0; l < stopword_list_count; l++)
			if (list_has(&stopword_lists[l], e->key))
				hits[l] += e->count;
	}
	for (size_t l = 0; l < stopword_list_count; l++) {
		if (hits[l] > best) {
			best = hits[l];
			lang = stopword_lists[l].lang;
		}
	}
	if (best < 2 || best * 10 < words)
		return NULL;
	return lang;
}

const char *words_guess_lang(const struct words *w)
{
	static const struct { UScriptCode script; const char *lang; } by_script[] = {
		{ USCRIPT_HANGUL, "ko" }, { USCRIPT_GREEK, "el" }, { USCRIPT_ARABIC, "ar" },
		{ USCRIPT_ARMENIAN, "hy" }, { USCRIPT_DEVANAGARI, "hi" }, { USCRIPT_TAMIL, "ta" },
		{ USCRIPT_THAI, "th" }, { USCRIPT_HEBREW, "he" }, { USCRIPT_GEORGIAN, "ka" },
	};
	const uint64_t *n = w->script_words;
	uint64_t kana = n[USCRIPT_HIRAGANA] + n[USCRIPT_KATAKANA];
	uint64_t cjk = n[USCRIPT_HAN] + kana;
	UScriptCode top = USCRIPT_UNKNOWN;
	uint64_t top_n = 0;

	for (int s = 0; s < USCRIPT_CODE_LIMIT; s++) {
		uint64_t c = s == USCRIPT_HAN ? cjk :
			s == USCRIPT_HIRAGANA || s == USCRIPT_KATAKANA ? 0 : n[s];

		if (s != USCRIPT_COMMON && s != USCRIPT_INHERITED && s != USCRIPT_UNKNOWN && c > top_n) {
			top = s;
			top_n = c;
		}
	}
	if (!top_n)
		return NULL;
	/* Japanese writes its grammar in kana; Chinese has none. */
	if (top == USCRIPT_HAN)
		return kana * 10 >= cjk ? "ja" : "zh";
	if (top == USCRIPT_LATIN || top == USCRIPT_CYRILLIC)
		return guess_by_stop_words(w, top, top_n);
	for (size_t i = 0; i < sizeof(by_script) / sizeof(by_script[0]); i++)
		if (by_script[i].script == top)
			return by_script[i].lang;
	return NULL;
}

static int cmp_term(const void *a, const void *b)
{
	const struct word_entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

int words_terms(struct words *w, const char *lang, size_t max_terms, term_emit_fn emit, void *ctx)
{
	const struct stopword_list *stops = stop_list(lang);
	struct sb_stemmer *stemmer = lang ? sb_stemmer_new(lang, "UTF_8") : NULL;
	struct word_table terms = { 0 };
	struct word_entry *sorted = NULL;
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < w->counted.cap && !err; i++) {
		const struct word_entry *e = &w->counted.slots[i];
		const char *term;

		/* One ASCII letter is no term; one Han character may be. */
		if (!e->key || strlen(e->key) < 2 || list_has(stops, e->key))
			continue;
		term = e->key;
		if (stemmer) {
			term = (const char *)sb_stemmer_stem(stemmer, (const sb_symbol *)e->key,
							     strlen(e->key));
			if (!term) {
				err = -ENOMEM;
				break;
			}
		}
		err = table_add(&terms, term, e->count, e->script);
	}
	if (err)
		goto out;
	sorted = malloc((terms.used ? terms.used : 1) * sizeof(*sorted));
	if (!sorted) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < terms.cap; i++)
		if (terms.slots[i].key)
			sorted[n++] = terms.slots[i];
	qsort(sorted, n, sizeof(*sorted), cmp_term);
	for (size_t i = 0; i < n && i < max_terms && !err; i++)
		err = emit(ctx, sorted[i].key, sorted[i].count);
out:
	free(sorted);
	table_free(&terms);
	if (stemmer)
		sb_stemmer_delete(stemmer);
	return err;
}
