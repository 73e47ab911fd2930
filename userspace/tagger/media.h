/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the audio extractors (audio.c, speech.c): what kind of audio
 * the content is (audio.c), and libsndfile reading the input through pread(), so that no extractor moves the
 * file offset of the others and nothing opens a path under seccomp.
 */
#ifndef DGFS_TAGGER_MEDIA_H
#define DGFS_TAGGER_MEDIA_H

#include <sndfile.h>

#include "tagger.h"

/* The container by its signature: a TagLib_File_Type, or one of these. */
enum { MEDIA_NONE = -1, MEDIA_SNDFILE = -2 /* libsndfile only: WAV, AIFF, Opus */ };
int media_audio_kind(const struct tagger_input *in);

struct sndio {
	const struct tagger_input *in;
	sf_count_t pos;
};

/* Opens in's content for reading; io must outlive the SNDFILE. NULL if libsndfile cannot read it. */
SNDFILE *sndio_open(const struct tagger_input *in, struct sndio *io, SF_INFO *info);

#endif /* DGFS_TAGGER_MEDIA_H */
