// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs-tagger's words.c and out.c: ICU segmentation, stop words, stems,
 * the language guess, the text cap and the bounds on hostile words.
 * expect-checks: 40
 */
#include <stdlib.h>
#include <string.h>
#include <unicode/ustring.h>

#include "check.h"
#include "tagger/words.c"
#include "tagger/out.c"
#include "tagger/stopwords.c"	/* generated into $(BUILD)/tagger */

/* out.c's tagger_text() into a fresh tagger_out; the caller frees it. */
static struct tagger_out *text_of(const char *s, size_t max_text)
{
	struct tagger_out *o = tagger_out_new(max_text, words_new());

	if (o && tagger_text(o, s, strlen(s)))
		CHECK("tagger_text succeeds", 0);
	return o;
}

struct term_seen {
	const char *want;
	uint64_t count;
	size_t n;
};

static int see_term(void *ctx, const char *term, uint64_t count)
{
	struct term_seen *s = ctx;

	if (!strcmp(term, s->want))
		s->count = count;
	s->n++;
	return 0;
}

static uint64_t term_count(struct tagger_out *o, const char *lang, const char *term, size_t *n)
{
	struct term_seen s = { .want = term };

	words_terms(o->words, lang, TAGGER_MAX_TERMS, see_term, &s);
	if (n)
		*n = s.n;
	return s.count;
}

int main(void)
{
	struct tagger_out *o;
	size_t n;
	char *big, *clean;

	o = text_of("中华人民共和国成立了", 1 << 20);
	CHECK("chinese: 中华人民共和国 is three words", o && !strcmp(o->text, "中华 人民 共和国 成立 了"));
	CHECK("chinese: guessed zh", !strcmp(words_guess_lang(o->words) ?: "", "zh"));
	CHECK("chinese: stop word 了 dropped", term_count(o, "zh", "了", NULL) == 0);
	CHECK("chinese: 人民 is a term", term_count(o, "zh", "人民", NULL) == 1);
	tagger_out_free(o);

	o = text_of("The runner was running; he runs and the others ran after him.", 1 << 20);
	CHECK("english: guessed en", !strcmp(words_guess_lang(o->words) ?: "", "en"));
	CHECK("english: running and runs stem to run", term_count(o, "en", "run", NULL) == 2);
	CHECK("english: 'the' is no term", term_count(o, "en", "the", NULL) == 0);
	CHECK("english: punctuation is no word", !strchr(o->text, ';') && !strchr(o->text, '.'));
	tagger_out_free(o);

	CHECK("stop list: en has 'the'", words_is_stop("en", "the"));
	CHECK("stop list: en lacks 'river'", !words_is_stop("en", "river"));
	CHECK("stop list: de has 'und'", words_is_stop("de", "und"));
	CHECK("stop list: unknown language has none", !words_is_stop("xx", "the"));
	for (size_t i = 0; i < stopword_list_count; i++) {
		const struct stopword_list *l = &stopword_lists[i];
		int sorted = 1;

		for (size_t j = 1; j < l->count; j++)
			sorted &= strcmp(l->words[j - 1], l->words[j]) < 0;
		CHECK("stop lists sorted for bsearch", sorted);
	}

	o = text_of("12345 67890", 1 << 20);
	CHECK("numbers: in the text", !strcmp(o->text, "12345 67890"));
	CHECK("numbers: no language from them", words_guess_lang(o->words) == NULL);
	term_count(o, NULL, "", &n);
	CHECK("numbers: no terms", n == 0);
	tagger_out_free(o);

	/* The cap: whole words only, and no more text once a word did not fit. */
	o = text_of("alpha beta gamma delta", 12);
	CHECK("cap: whole words that fit", !strcmp(o->text, "alpha beta"));
	CHECK("cap: no more text wanted", !tagger_text_wanted(o));
	tagger_text(o, "x", 1);
	CHECK("cap: later text ignored", !strcmp(o->text, "alpha beta"));
	tagger_out_free(o);

	/* A 1 MB "word" and invalid UTF-8: no word, no crash. */
	big = malloc(1 << 20);
	memset(big, 'q', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	o = text_of(big, 1 << 20);
	CHECK("a 1 MB run of letters is no word", o->text_len == 0);
	tagger_out_free(o);
	o = text_of("\xff\xfe\xc0\x80 ok", 1 << 20);
	CHECK("invalid UTF-8: the valid word stays", !strcmp(o->text, "ok"));
	tagger_out_free(o);

	/* Distinct words beyond WORDS_MAX_DISTINCT are not counted. */
	o = tagger_out_new(64 << 20, words_new());
	for (unsigned i = 0; i < WORDS_MAX_DISTINCT + 1000; i++) {
		char w[32];

		snprintf(w, sizeof(w), "w%ux ", i);
		tagger_text(o, w, strlen(w));
	}
	CHECK("distinct words bounded", o->words->counted.used == WORDS_MAX_DISTINCT);
	term_count(o, NULL, "", &n);
	CHECK("terms bounded by TAGGER_MAX_TERMS", n == TAGGER_MAX_TERMS);
	tagger_out_free(o);

	/* Tags: deduplicated, cleaned, bounded. */
	o = tagger_out_new(16, words_new());
	tagger_tag(o, "type", "text");
	tagger_tag(o, "type", "text");
	tagger_tag(o, "gps", NULL);
	tagger_tag(o, "gps", NULL);
	CHECK("tags deduplicated", o->ntags == 2);
	tagger_tag(o, "exif-make", "Ca\xffnon\n");
	CHECK("tag value cleaned to UTF-8", !strcmp(o->tags[2].value, "Ca\xef\xbf\xbdnon "));
	for (int i = 0; i < 2 * TAGGER_MAX_TAGS; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		tagger_tag(o, "n", v);
	}
	CHECK("tags bounded", o->ntags == TAGGER_MAX_TAGS);
	tagger_out_free(o);

	clean = utf8_clean("ab\xe4\xb8\xad", 5, 4);
	CHECK("utf8_clean cuts before a character, not in it", !strcmp(clean, "ab"));
	free(clean);
	free(big);
	return failures ? 1 : 0;
}
