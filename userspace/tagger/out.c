// SPDX-License-Identifier: GPL-2.0
/*
 * tagger_out: the tags (deduplicated, bounded), the words (segmented,
 * counted, kept as text up to --max-text) and the JSON printed at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "out.h"

struct tag {
	char *name;
	char *value;	/* NULL: a bare tag */
};

struct tagger_out {
	struct tag tags[TAGGER_MAX_TAGS];
	size_t ntags;
	char lang_hint[16];
	struct words *words;
	char *text;		/* words joined by spaces, NUL-terminated */
	size_t text_len, max_text;
	bool text_full;		/* a word did not fit: no more text is taken */
};

char *utf8_clean(const char *s, size_t len, size_t max)
{
	char *out = malloc(max + 1);
	size_t n = 0;
	int32_t i = 0;

	if (!out)
		return NULL;
	while ((size_t)i < len && len - i <= INT32_MAX) {
		UChar32 c;
		uint8_t buf[U8_MAX_LENGTH];
		int32_t blen = 0;
		UBool bad = 0;

		U8_NEXT((const uint8_t *)s, i, (int32_t)len, c);
		if (c < 0)
			c = 0xfffd;
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
			c = ' ';
		U8_APPEND(buf, blen, U8_MAX_LENGTH, c, bad);
		if (bad || n + blen > max)
			break;
		memcpy(out + n, buf, blen);
		n += blen;
	}
	out[n] = '\0';
	return out;
}

struct tagger_out *tagger_out_new(size_t max_text, struct words *words)
{
	struct tagger_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->text = malloc(max_text + 1);
	if (!o->text) {
		free(o);
		return NULL;
	}
	o->text[0] = '\0';
	o->max_text = max_text;
	o->words = words;
	return o;
}

void tagger_out_free(struct tagger_out *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->ntags; i++) {
		free(o->tags[i].name);
		free(o->tags[i].value);
	}
	words_free(o->words);
	free(o->text);
	free(o);
}

static bool same_value(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int tagger_tag(struct tagger_out *o, const char *name, const char *value)
{
	struct tag t;

	if (!name || !*name)
		return -EINVAL;
	if (o->ntags == TAGGER_MAX_TAGS)
		return -ENOSPC;
	t.name = utf8_clean(name, strlen(name), TAGGER_MAX_TAG_BYTES);
	t.value = value ? utf8_clean(value, strlen(value), TAGGER_MAX_TAG_BYTES) : NULL;
	if (!t.name || (value && !t.value)) {
		free(t.name);
		free(t.value);
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->ntags; i++) {
		if (!strcmp(o->tags[i].name, t.name) && same_value(o->tags[i].value, t.value)) {
			free(t.name);
			free(t.value);
			return 0;
		}
	}
	o->tags[o->ntags++] = t;
	return 0;
}

int tagger_lang_hint(struct tagger_out *o, const char *lang)
{
	if (!lang || !*lang || strlen(lang) >= sizeof(o->lang_hint))
		return -EINVAL;
	strcpy(o->lang_hint, lang);
	return 0;
}

bool tagger_text_wanted(const struct tagger_out *o)
{
	return !o->text_full;
}

/* words_segment's callback: one word into the text and the counts. */
static int take_word(void *ctx, const UChar *word, int32_t len, enum word_kind kind)
{
	struct tagger_out *o = ctx;
	char utf8[WORDS_MAX_LEN * 3 + 1];
	UErrorCode uerr = U_ZERO_ERROR;
	int32_t n;
	size_t need;

	/* Markdown's _emphasis_ (ICU counts '_' as part of a word). */
	while (len && word[0] == '_') {
		word++;
		len--;
	}
	while (len && word[len - 1] == '_')
		len--;
	/* Longer runs are base64, hashes or noise, not words. */
	if (!len || len > WORDS_MAX_LEN)
		return 0;
	u_strToUTF8WithSub(utf8, sizeof(utf8), &n, word, len, 0xfffd, NULL, &uerr);
	if (U_FAILURE(uerr))
		return 0;
	need = n + (o->text_len ? 1 : 0);
	if (need > o->max_text - o->text_len) {
		o->text_full = true;
		return 1;
	}
	if (o->text_len)
		o->text[o->text_len++] = ' ';
	memcpy(o->text + o->text_len, utf8, n);
	o->text_len += n;
	o->text[o->text_len] = '\0';
	if (kind == WORD_LETTERS)
		return words_count(o->words, word, len);
	return 0;
}

int tagger_text(struct tagger_out *o, const char *utf8, size_t len)
{
	UErrorCode uerr = U_ZERO_ERROR;
	UChar *u16;
	int32_t n;
	int err;

	if (o->text_full || !len)
		return 0;
	if (len > INT32_MAX / 2)
		return -E2BIG;
	/* UTF-16 never has more units than UTF-8 has bytes. */
	u16 = malloc(len * sizeof(*u16));
	if (!u16)
		return -ENOMEM;
	u_strFromUTF8WithSub(u16, (int32_t)len, &n, utf8, (int32_t)len, 0xfffd, NULL, &uerr);
	if (U_FAILURE(uerr)) {
		free(u16);
		return -EINVAL;
	}
	err = words_segment(o->words, u16, n, take_word, o);
	free(u16);
	return err;
}

static int add_term(void *ctx, const char *term, uint64_t count)
{
	return json_object_set_new(ctx, term, json_integer((json_int_t)count)) ? -ENOMEM : 0;
}

int tagger_out_print(struct tagger_out *o, FILE *f)
{
	const char *lang = o->lang_hint[0] ? o->lang_hint : words_guess_lang(o->words);
	json_t *root = json_object(), *tags = json_array(), *terms = json_object();
	int err = -ENOMEM;

	if (!root || !tags || !terms)
		goto out;
	if (lang)
		tagger_tag(o, "lang", lang);
	for (size_t i = 0; i < o->ntags; i++) {
		json_t *t = json_pack("{s:s, s:o}", "name", o->tags[i].name, "value",
				      o->tags[i].value ? json_string(o->tags[i].value) : json_null());

		if (!t || json_array_append_new(tags, t))
			goto out;
	}
	err = words_terms(o->words, lang, TAGGER_MAX_TERMS, add_term, terms);
	if (err)
		goto out;
	err = -ENOMEM;
	if (json_object_set(root, "tags", tags) ||
	    json_object_set_new(root, "lang", lang ? json_string(lang) : json_null()) ||
	    json_object_set(root, "terms", terms) ||
	    json_object_set_new(root, "text", json_stringn(o->text, o->text_len)))
		goto out;
	err = json_dumpf(root, f, JSON_COMPACT) || fputc('\n', f) == EOF || fflush(f) ? -EIO : 0;
out:
	json_decref(terms);
	json_decref(tags);
	json_decref(root);
	return err;
}
