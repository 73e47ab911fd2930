// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs-tagger [--max-text BYTES] [--no-ocr] [--no-speech] FILE NAME
 *
 * Tags and words from FILE's content, as one JSON object on stdout
 * (docs/TAGS.md). Order matters: open FILE and load every library's data,
 * then contain the process (contain.c), then parse. TagLib, which opens
 * FILE by name, parses between the two steps of containment.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "contain.h"
#include "out.h"
#include "tagger.h"

/* The media extractors are linked in when their files are built (tagger.mk). */
#pragma weak tag_image
#pragma weak tag_audio
#pragma weak tag_speech
#pragma weak tag_image_init
#pragma weak tag_audio_init
#pragma weak tag_speech_init

#define MAX_TEXT_LIMIT	(64ull << 20)	/* the most --max-text may ask for */
/* The JSON's bound: text (escaped: at most twice), terms, tags. */
#define TAGGER_MAX_OUTPUT(max_text) \
	(2 * (max_text) + TAGGER_MAX_TERMS * (2 * WORDS_MAX_LEN * 3 + 32) + \
	 TAGGER_MAX_TAGS * (4 * TAGGER_MAX_TAG_BYTES + 32) + 4096)

static void usage(void)
{
	fprintf(stderr, "usage: dgfs-tagger [--max-text BYTES] [--no-ocr] [--no-speech] FILE NAME\n");
}

struct extractor {
	const char *name;
	bool opens_by_name;	/* init opens FILE by name: run it under Landlock */
	int (*init)(const struct tagger_input *in);
	int (*run)(const struct tagger_input *in, struct tagger_out *o);
};

static void report(const char *what, int err)
{
	if (err)
		fprintf(stderr, "dgfs-tagger: %s: %s\n", what, strerror(-err));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-text", required_argument, NULL, 't' },
		{ "no-ocr", no_argument, NULL, 'o' },
		{ "no-speech", no_argument, NULL, 's' },
		/* Test hook (tests/tagger/): after containment, try a forbidden syscall. */
		{ "selftest-seccomp", no_argument, NULL, 'S' },
		{ "selftest-open-phase", no_argument, NULL, 'P' },
		{ 0 }
	};
	const struct extractor media[] = {
		{ "image", false, tag_image_init, tag_image },
		{ "audio", true, tag_audio_init, tag_audio },
		{ "speech", false, tag_speech_init, tag_speech },
	};
	struct tagger_input in = { .mime = "", .charset = "", .ext = "" };
	unsigned long long max_text = TAGGER_MAX_TEXT_DEFAULT;
	bool selftest = false, selftest_open = false, landlocked;
	struct tagger_out *o;
	struct words *words;
	struct stat st;
	char *end;
	int c, err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			errno = 0;
			max_text = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || !max_text || max_text > MAX_TEXT_LIMIT) {
				fprintf(stderr, "dgfs-tagger: --max-text wants 1 to %llu bytes\n",
					MAX_TEXT_LIMIT);
				return 2;
			}
			break;
		case 'o': in.no_ocr = true; break;
		case 's': in.no_speech = true; break;
		case 'S': selftest = true; break;
		case 'P': selftest_open = true; break;
		default: usage(); return 2;
		}
	}
	if (argc - optind != 2) {
		usage();
		return 2;
	}
	in.path = argv[optind];
	in.name = argv[optind + 1];
	in.fd = open(in.path, O_RDONLY | O_CLOEXEC);
	if (in.fd < 0 || fstat(in.fd, &st)) {
		fprintf(stderr, "dgfs-tagger: %s: %s\n", in.path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "dgfs-tagger: %s: not a regular file\n", in.path);
		return 1;
	}
	in.size = st.st_size;

	/* Everything that reads files of its own, before the filter forbids it. */
	err = tag_type_init();
	if (err) {
		report("libmagic", err);
		return 1;
	}
	tag_text_init();
	words = words_new();
	o = words ? tagger_out_new(max_text, words) : NULL;
	if (!o) {
		fprintf(stderr, "dgfs-tagger: ICU's word breaking: out of memory or no data\n");
		words_free(words);
		return 1;
	}
	for (size_t i = 0; i < sizeof(media) / sizeof(media[0]); i++)
		if (media[i].init && !media[i].opens_by_name)
			report(media[i].name, media[i].init(&in));

	err = tagger_contain(TAGGER_MAX_OUTPUT(max_text), in.fd, &landlocked);
	if (err) {
		report("containment", err);
		tagger_out_free(o);
		return 1;
	}
	if (selftest_open) {
		tagger_contain_selftest_open_phase(in.path);
		return 1;	/* the filter let the socket through */
	}
	/* Without Landlock a read-only open could reach any file: TagLib does not run. */
	for (size_t i = 0; i < sizeof(media) / sizeof(media[0]); i++) {
		if (!media[i].init || !media[i].opens_by_name)
			continue;
		if (landlocked)
			report(media[i].name, media[i].init(&in));
		else
			fprintf(stderr, "dgfs-tagger: %s: skipped, the kernel has no Landlock\n",
				media[i].name);
	}
	err = tagger_contain_no_open();
	if (err) {
		report("seccomp", err);
		tagger_out_free(o);
		return 1;
	}
	if (selftest) {
		tagger_contain_selftest();
		return 1;	/* the filter let something through */
	}

	/* An extractor that fails costs only its own tags. */
	report("type", tag_type(&in, o));
	report("text", tag_text(&in, o));
	report("pdf", tag_pdf(&in, o));
	for (size_t i = 0; i < sizeof(media) / sizeof(media[0]); i++)
		if (media[i].run)
			report(media[i].name, media[i].run(&in, o));

	err = tagger_out_print(o, stdout);
	report("output", err);
	tagger_out_free(o);
	return err ? 1 : 0;
}
