// SPDX-License-Identifier: GPL-2.0
/* tags_parse.h: the taggers' output, with jansson and the tag model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodies.h"
#include "tags_parse.h"

static int tags_append(struct tag **v, size_t *n, const struct tag *t)
{
	/* Grows by powers of two from 16: a new block when n is 16, 32, ... */
	if (*n >= 16 && (*n & (*n - 1)) == 0) {
		void *p = reallocarray(*v, 2 * *n, sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
	} else if (*n == 0) {
		*v = calloc(16, sizeof(**v));
		if (!*v)
			return -ENOMEM;
	}
	(*v)[(*n)++] = *t;
	return 0;
}

static bool tags_have_name(const struct tag *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return true;
	return false;
}

static bool tags_have(const struct tag *v, size_t n, const struct tag *t)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, t->name) && !strcmp(v[i].value, t->value))
			return true;
	return false;
}

int tagger_output_parse(const char *buf, size_t len, struct tagger_output *o, const char **why)
{
	json_t *tags, *terms, *text, *lang, *e, *v;
	const char *key;
	bool too_big;
	struct tag t;
	size_t i;
	int err = 0;

	memset(o, 0, sizeof(*o));
	if (why)
		*why = NULL;
	/* Bounded like a request body's parse: hostile output cannot make
	 * dgfsd build 80 times its size in JSON values. */
	o->root = dgfsd_json_parse(buf, len, JSON_REJECT_DUPLICATES, dgfsd_json_allowance(len),
				   &too_big);
	if (!o->root || !json_is_object(o->root)) {
		if (why)
			*why = o->root ? "not a JSON object" : too_big ? "too complex" : "not JSON";
		tagger_output_free(o);
		return -EINVAL;
	}
	tags = json_object_get(o->root, "tags");
	json_array_foreach(tags, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *jv = json_object_get(e, "value");
		const char *value = json_string_value(jv);

		if (o->ntags >= META_TAGS_AUTO_MAX || !name || (jv && !json_is_null(jv) && !value) ||
		    tag_make(name, value, &t, NULL) || tags_have(o->tags, o->ntags, &t)) {
			o->skipped++;
			continue;
		}
		err = tags_append(&o->tags, &o->ntags, &t);
		if (err)
			goto fail;
	}
	lang = json_object_get(o->root, "lang");
	if (json_is_string(lang) && !tags_have_name(o->tags, o->ntags, "lang") &&
	    o->ntags < META_TAGS_AUTO_MAX) {
		if (tag_make("lang", json_string_value(lang), &t, NULL)) {
			o->skipped++;
		} else {
			err = tags_append(&o->tags, &o->ntags, &t);
			if (err)
				goto fail;
		}
	}
	terms = json_object_get(o->root, "terms");
	if (json_is_object(terms)) {
		size_t cap = json_object_size(terms);

		if (cap > META_TERMS_MAX)
			cap = META_TERMS_MAX;
		o->terms = calloc(cap ? cap : 1, sizeof(*o->terms));
		if (!o->terms) {
			err = -ENOMEM;
			goto fail;
		}
		json_object_foreach(terms, key, v) {
			size_t klen = strlen(key);

			if (o->nterms >= cap || !json_is_integer(v) || json_integer_value(v) <= 0 ||
			    !klen || klen > META_TERM_MAX) {
				o->skipped++;
				continue;
			}
			o->terms[o->nterms].term = key;
			o->terms[o->nterms].count = json_integer_value(v);
			o->nterms++;
		}
	}
	text = json_object_get(o->root, "text");
	if (json_is_string(text)) {
		o->text = json_string_value(text);
		o->text_len = json_string_length(text);
		/* A NUL inside would cut the text short in SQLite: keep what precedes it. */
		if (memchr(o->text, 0, o->text_len))
			o->text_len = strlen(o->text);
		if (o->text_len > META_TEXT_MAX) {
			/* Cut at a character boundary (jansson's strings are UTF-8). */
			o->text_len = META_TEXT_MAX;
			while (o->text_len && ((unsigned char)o->text[o->text_len] & 0xc0) == 0x80)
				o->text_len--;
		}
	}
	return 0;
fail:
	tagger_output_free(o);
	return err;
}

void tagger_output_free(struct tagger_output *o)
{
	if (!o)
		return;
	free(o->tags);
	free(o->terms);
	json_decref(o->root);
	memset(o, 0, sizeof(*o));
}

int plugin_output_parse(const char *buf, size_t len, struct tag **tags, size_t *n,
			unsigned int *skipped)
{
	const char *p = buf, *end = buf + len, *nl;
	unsigned int kept = 0;
	struct tag t;
	int err;

	while (p < end) {
		size_t l, blank = 0;

		nl = memchr(p, '\n', end - p);
		l = (nl ? nl : end) - p;
		if (l && p[l - 1] == '\r')
			l--;
		/* Within the line only: @buf need not end in a NUL. */
		while (blank < l && (p[blank] == ' ' || p[blank] == '\t'))
			blank++;
		if (blank < l) {
			if (kept >= TAGS_PLUGIN_MAX || *n >= META_TAGS_AUTO_MAX ||
			    tag_parse(p, l, &t, NULL)) {
				(*skipped)++;
			} else if (!tags_have(*tags, *n, &t)) {
				err = tags_append(tags, n, &t);
				if (err)
					return err;
				kept++;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}
