// SPDX-License-Identifier: GPL-2.0
/*
 * Audio and video metadata through TagLib's C binding: artist, album,
 * genre, year and a duration bucket (docs/TAGS.md). TagLib's C binding
 * (1.13) opens files by name only, parses as it opens, and picks the parser
 * from the name's extension: FILE (often /proc/self/fd/N) has none, so the
 * type comes from the content's signature. Opening by name is refused once
 * the process is contained, so TagLib parses in tag_audio_init, before
 * seccomp (dgfsd's own rlimits and timeout still hold it); tag_audio only
 * reads what it found. Formats the binding has no type for (WAV, AIFF,
 * Opus) get their duration from libsndfile, contained.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <taglib/tag_c.h>

#include "media.h"

#define AUDIO_MAX_VALUE	200	/* bytes of an artist, album or genre kept */

/*
 * What the first bytes say. Extractor inits run before libmagic has looked
 * (libmagic parses too, so it runs contained), hence this small table of
 * signatures of its own.
 */
static int sniff_mpeg_sync(const unsigned char *h)
{
	/* An MPEG audio frame header: 11 sync bits, a layer, a bitrate, a rate. */
	return h[0] == 0xff && (h[1] & 0xe0) == 0xe0 && (h[1] & 0x06) &&
	       (h[2] & 0xf0) != 0xf0 && (h[2] & 0x0c) != 0x0c;
}

int media_audio_kind(const struct tagger_input *in)
{
	unsigned char h[40];
	ssize_t n = pread(in->fd, h, sizeof(h), 0);

	if (n < 12)
		return MEDIA_NONE;
	if (!memcmp(h, "ID3", 3) || sniff_mpeg_sync(h))
		return TagLib_File_MPEG;
	if (!memcmp(h, "fLaC", 4))
		return TagLib_File_FLAC;
	if (!memcmp(h, "OggS", 4) && n >= 36) {
		if (!memcmp(h + 28, "\x01vorbis", 7))
			return TagLib_File_OggVorbis;
		if (!memcmp(h + 28, "\x7f" "FLAC", 5))
			return TagLib_File_OggFlac;
		if (!memcmp(h + 28, "Speex   ", 8))
			return TagLib_File_Speex;
		if (!memcmp(h + 28, "OpusHead", 8))
			return MEDIA_SNDFILE;
		return MEDIA_NONE;
	}
	if ((!memcmp(h, "RIFF", 4) || !memcmp(h, "RF64", 4)) && !memcmp(h + 8, "WAVE", 4))
		return MEDIA_SNDFILE;
	if (!memcmp(h, "FORM", 4) && (!memcmp(h + 8, "AIFF", 4) || !memcmp(h + 8, "AIFC", 4)))
		return MEDIA_SNDFILE;
	if (!memcmp(h + 4, "ftyp", 4))
		return TagLib_File_MP4;
	if (!memcmp(h, "\x30\x26\xb2\x75\x8e\x66\xcf\x11", 8))
		return TagLib_File_ASF;
	if (!memcmp(h, "MPCK", 4) || !memcmp(h, "MP+", 3))
		return TagLib_File_MPC;
	if (!memcmp(h, "wvpk", 4))
		return TagLib_File_WavPack;
	if (!memcmp(h, "TTA1", 4))
		return TagLib_File_TrueAudio;
	return MEDIA_NONE;
}

/* A text field as a tag value: trimmed, capped at a UTF-8 boundary. */
static int audio_field(struct tagger_out *o, const char *name, char *s)
{
	size_t n, start = 0;
	int err = 0;

	if (!s)
		return 0;
	n = strlen(s);
	while (start < n && (unsigned char)s[start] <= ' ')
		start++;
	if (n - start > AUDIO_MAX_VALUE) {
		n = start + AUDIO_MAX_VALUE;
		while (n > start && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	while (n > start && (unsigned char)s[n - 1] <= ' ')
		n--;
	s[n] = '\0';
	if (n > start)
		err = tagger_tag(o, name, s + start);
	taglib_free(s);
	return err;
}

/* The bucket of docs/TAGS.md: <1m, 1-5m, 5-20m, >20m. */
static const char *duration_bucket(long long seconds)
{
	return seconds < 60 ? "<1m" : seconds < 5 * 60 ? "1-5m" :
	       seconds < 20 * 60 ? "5-20m" : ">20m";
}

static int audio_sndfile(const struct tagger_input *in, struct tagger_out *o)
{
	struct sndio io;
	SF_INFO info;
	SNDFILE *sf = sndio_open(in, &io, &info);
	int err = 0;

	if (!sf)
		return 0;	/* not audio libsndfile reads after all */
	if (info.samplerate > 0 && info.frames >= 0)
		err = tagger_tag(o, "duration", duration_bucket(info.frames / info.samplerate));
	sf_close(sf);
	return err;
}

static TagLib_File *audio_file;	/* opened and parsed by tag_audio_init */

int tag_audio_init(const struct tagger_input *in)
{
	int type = media_audio_kind(in);

	if (type < 0 || audio_file)
		return 0;
	taglib_set_strings_unicode(1);
	taglib_set_string_management_enabled(0);	/* freed one by one */
	audio_file = taglib_file_new_type(in->path, type);
	if (audio_file && !taglib_file_is_valid(audio_file)) {
		taglib_file_free(audio_file);
		audio_file = NULL;
	}
	if (!audio_file) {
		fprintf(stderr, "dgfs-tagger: TagLib cannot read %s\n", in->name);
		return -EINVAL;
	}
	return 0;
}

int tag_audio(const struct tagger_input *in, struct tagger_out *o)
{
	const TagLib_AudioProperties *props;
	TagLib_Tag *t;
	unsigned year;
	int err = 0;

	if (!audio_file)
		return media_audio_kind(in) == MEDIA_SNDFILE ? audio_sndfile(in, o) : 0;
	t = taglib_file_tag(audio_file);
	if (t) {
		err = audio_field(o, "artist", taglib_tag_artist(t));
		err = err ?: audio_field(o, "album", taglib_tag_album(t));
		err = err ?: audio_field(o, "genre", taglib_tag_genre(t));
		year = taglib_tag_year(t);
		if (!err && year >= 1000 && year <= 2999) {
			char s[8];

			snprintf(s, sizeof(s), "%u", year);
			err = tagger_tag(o, "year", s);
		}
	}
	props = taglib_file_audioproperties(audio_file);
	if (!err && props)
		err = tagger_tag(o, "duration", duration_bucket(taglib_audioproperties_length(props)));
	taglib_file_free(audio_file);
	audio_file = NULL;
	return err;
}
