/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfs-tagger: tags and words from one file's content (docs/TAGS.md).
 *
 * main.c opens the file, fills a tagger_input, runs every extractor in turn
 * and prints what they collected in a tagger_out as one JSON object. An
 * extractor returns 0, or -errno; the others still run after a failure.
 * Extractors decide for themselves whether the input is theirs (by mime,
 * ext or content) and return 0 without output when it is not.
 */
#ifndef DGFS_TAGGER_H
#define DGFS_TAGGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TAGGER_MAX_TEXT_DEFAULT	(1u << 20)	/* "text" cap, bytes */

struct tagger_input {
	const char *path;	/* FILE as given (or /proc/self/fd/N) */
	int fd;			/* FILE, open read-only; extractors pread() it */
	const char *name;	/* the file's path in dgfs (for ext=) */
	const char *mime;	/* libmagic's MIME type, "" if none */
	const char *charset;	/* libmagic's encoding ("utf-8", "binary"...), "" if none */
	const char *ext;	/* lower-case extension of name, "" if none */
	uint64_t size;		/* bytes in FILE */
	bool no_ocr;		/* --no-ocr */
	bool no_speech;		/* --no-speech */
};

struct tagger_out;	/* collects tags and text (out.c) */

/* A tag, name or name=value (value NULL for a bare tag); duplicates are dropped. */
int tagger_tag(struct tagger_out *o, const char *name, const char *value);
/*
 * Text found in the file, UTF-8 (invalid sequences are replaced). Segmented
 * into words, counted as terms and kept for "text" up to the cap; more
 * text than the cap allows is read but not kept (returns 0 all the same).
 */
int tagger_text(struct tagger_out *o, const char *utf8, size_t len);
/* A language known from elsewhere (OCR's or speech's model): wins over the guess. */
int tagger_lang_hint(struct tagger_out *o, const char *lang);
/* Whether more text is still worth extracting (the cap is not reached). */
bool tagger_text_wanted(const struct tagger_out *o);

/* Extractors (type.c runs first and fills in->mime, ->charset and ->ext). */
int tag_type_init(void);	/* loads libmagic's database */
int tag_type(struct tagger_input *in, struct tagger_out *o);
int tag_text_init(void);	/* libxml2's HTML parser */
int tag_text(const struct tagger_input *in, struct tagger_out *o);
int tag_pdf(const struct tagger_input *in, struct tagger_out *o);

/* In image.c, audio.c, speech.c (built with TAGGER_MEDIA=1; see tagger.mk). */
int tag_image(const struct tagger_input *in, struct tagger_out *o);
int tag_audio(const struct tagger_input *in, struct tagger_out *o);
int tag_speech(const struct tagger_input *in, struct tagger_out *o);

/*
 * Hooks for the seccomp filter (main.c): an extractor whose library must be
 * loaded before the filter (models, data files, dlopen'd plugins) does so
 * in its init, called after FILE is opened and before limits apply.
 * Optional: weak, NULL when the media files are not built in.
 */
int tag_image_init(const struct tagger_input *in);
int tag_audio_init(const struct tagger_input *in);
int tag_speech_init(const struct tagger_input *in);

#endif /* DGFS_TAGGER_H */
