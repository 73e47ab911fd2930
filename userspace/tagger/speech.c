// SPDX-License-Identifier: GPL-2.0
/*
 * Speech in audio, transcribed offline by pocketsphinx with Debian's US
 * English model; the words go to tagger_text() and the file gets the bare
 * tag `speech`. libsndfile decodes (WAV, AIFF, FLAC, Ogg Vorbis and Opus,
 * MP3), libsamplerate brings the audio to the model's 16 kHz mono, and at
 * most SPEECH_MAX_SECONDS of it are decoded. Synthetic and noisy speech
 * come out with many words wrong: the words are for search, not reading.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pocketsphinx.h>
#include <samplerate.h>
#include <sphinxbase/err.h>
#include <taglib/tag_c.h>

#include "media.h"

#ifndef SPEECH_MODEL_DIR
#define SPEECH_MODEL_DIR	"/usr/share/pocketsphinx/model/en-us"
#endif
#define SPEECH_MAX_SECONDS	60	/* of audio decoded; the rest is not listened to */
#define SPEECH_PRIME_SECONDS	20	/* the first pass (speech_decode) */
#define SPEECH_RATE		16000	/* the model's sample rate */
#define SPEECH_MIN_RATE		4000	/* below: not speech worth decoding */
#define SPEECH_MAX_RATE		768000
#define SPEECH_MAX_CHANNELS	16
#define SPEECH_CHUNK		4096	/* frames read at a time */
#define SPEECH_MIN_POSTERIOR	0.05	/* words less likely than this are dropped */

static ps_decoder_t *speech;	/* loaded by tag_speech_init, before seccomp */

/* Containers libsndfile decodes (libmagic has not run yet at init). */
static bool is_audio(const struct tagger_input *in)
{
	switch (media_audio_kind(in)) {
	case TagLib_File_MPEG: case TagLib_File_FLAC: case TagLib_File_OggVorbis:
	case MEDIA_SNDFILE:
		return true;
	default:
		return false;
	}
}

int tag_speech_init(const struct tagger_input *in)
{
	cmd_ln_t *config;

	if (!is_audio(in) || in->no_speech || speech)
		return 0;
	err_set_logfp(NULL);	/* pocketsphinx logs every step otherwise */
	config = cmd_ln_init(NULL, ps_args(), TRUE,
			     "-hmm", SPEECH_MODEL_DIR "/en-us",
			     "-lm", SPEECH_MODEL_DIR "/en-us.lm.bin",
			     "-dict", SPEECH_MODEL_DIR "/cmudict-en-us.dict",
			     "-samprate", "16000",
			     NULL);
	if (config)
		speech = ps_init(config);
	cmd_ln_free_r(config);	/* the decoder keeps its own reference */
	if (!speech) {
		fprintf(stderr, "dgfs-tagger: cannot load the speech model in %s\n", SPEECH_MODEL_DIR);
		return -ENOENT;
	}
	return 0;
}

struct speech_text {
	char *buf;
	size_t len, cap;
	unsigned words;
};

static int speech_text_add(struct speech_text *t, const char *w)
{
	size_t n = strcspn(w, "(");	/* "word(2)": the second pronunciation */

	if (!n || w[0] == '<' || w[0] == '[')
		return 0;		/* <s>, </s>, <sil>, [NOISE] */
	if (t->len + n + 2 > t->cap) {
		size_t cap = (t->len + n + 2) * 2;
		char *b = realloc(t->buf, cap);

		if (!b)
			return -ENOMEM;
		t->buf = b;
		t->cap = cap;
	}
	if (t->len)
		t->buf[t->len++] = ' ';
	memcpy(t->buf + t->len, w, n);
	t->len += n;
	t->buf[t->len] = '\0';
	t->words++;
	return 0;
}

/* Ends the utterance and keeps its words that the lattice finds likely. */
static int speech_end_utt(struct speech_text *t)
{
	logmath_t *lmath = ps_get_logmath(speech);
	int32 score, ascr, lscr, lback;
	ps_seg_t *seg;
	int err = 0;

	ps_end_utt(speech);
	if (!ps_get_hyp(speech, &score))
		return 0;
	ps_get_prob(speech);	/* computes the posteriors the segments report */
	for (seg = ps_seg_iter(speech); seg; seg = ps_seg_next(seg)) {
		double p = logmath_exp(lmath, ps_seg_prob(seg, &ascr, &lscr, &lback));

		if (!err && p >= SPEECH_MIN_POSTERIOR)
			err = speech_text_add(t, ps_seg_word(seg));
	}
	return err;
}

/* 16 kHz mono samples, at most SPEECH_MAX_SECONDS of them. */
struct speech_pcm {
	int16 *s;
	long n;
};

static int speech_pcm_add(struct speech_pcm *p, const float *f, long n)
{
	if (n > (long)SPEECH_MAX_SECONDS * SPEECH_RATE - p->n)
		n = (long)SPEECH_MAX_SECONDS * SPEECH_RATE - p->n;
	src_float_to_short_array(f, p->s + p->n, n);
	p->n += n;
	return 0;
}

/* Decodes the file with libsndfile, down-mixed and resampled to 16 kHz. */
static int speech_read(const struct tagger_input *in, struct speech_pcm *p)
{
	static float frames[SPEECH_CHUNK * SPEECH_MAX_CHANNELS], mono[SPEECH_CHUNK];
	static float out[SPEECH_CHUNK * (SPEECH_RATE / SPEECH_MIN_RATE) + 16];
	sf_count_t left, got;
	SRC_STATE *src;
	struct sndio io;
	SF_INFO info;
	SNDFILE *sf;
	int err = 0, ch, c;

	sf = sndio_open(in, &io, &info);
	if (!sf)
		return 0;	/* a format libsndfile does not decode */
	ch = info.channels;
	if (ch < 1 || ch > SPEECH_MAX_CHANNELS ||
	    info.samplerate < SPEECH_MIN_RATE || info.samplerate > SPEECH_MAX_RATE) {
		sf_close(sf);
		return 0;
	}
	src = src_new(SRC_SINC_FASTEST, 1, &c);
	p->s = malloc(sizeof(*p->s) * SPEECH_MAX_SECONDS * SPEECH_RATE);
	if (!src || !p->s) {
		if (src)
			src_delete(src);
		sf_close(sf);
		return -ENOMEM;
	}
	left = (sf_count_t)SPEECH_MAX_SECONDS * info.samplerate;
	do {
		SRC_DATA d = { .data_in = mono, .data_out = out,
			       .output_frames = sizeof(out) / sizeof(out[0]),
			       .src_ratio = (double)SPEECH_RATE / info.samplerate };
		sf_count_t i;

		got = sf_readf_float(sf, frames, left < SPEECH_CHUNK ? left : SPEECH_CHUNK);
		if (got < 0)
			got = 0;
		left -= got;
		for (i = 0; i < got; i++) {	/* the mean of the channels */
			float sum = 0;

			for (c = 0; c < ch; c++)
				sum += frames[i * ch + c];
			mono[i] = isfinite(sum) ? sum / ch : 0;
		}
		d.input_frames = got;
		d.end_of_input = !got || !left;
		/* out holds a chunk's worth; loop for what the converter keeps back. */
		do {
			if (src_process(src, &d)) {
				err = -EINVAL;
				break;
			}
			err = speech_pcm_add(p, out, d.output_frames_gen);
			d.data_in += d.input_frames_used;
			d.input_frames -= d.input_frames_used;
		} while (!err && (d.input_frames > 0 || (d.end_of_input && d.output_frames_gen)));
	} while (!err && got > 0 && left > 0);
	src_delete(src);
	sf_close(sf);
	return err;
}

/*
 * Two passes. The model normalises cepstra by a running mean that starts
 * from the training data's; on a short recording it never settles and
 * most words come out wrong. The first pass, on at most
 * SPEECH_PRIME_SECONDS, only brings that mean to this recording's.
 */
static int speech_decode(const struct speech_pcm *p, struct speech_text *t)
{
	long i, prime = p->n < SPEECH_PRIME_SECONDS * SPEECH_RATE ? p->n :
			SPEECH_PRIME_SECONDS * SPEECH_RATE;
	bool in_utt = false;
	int err = 0;

	ps_start_utt(speech);
	ps_process_raw(speech, p->s, prime, FALSE, FALSE);
	ps_end_utt(speech);

	ps_start_utt(speech);
	for (i = 0; !err && i < p->n; i += SPEECH_CHUNK) {
		long k = p->n - i < SPEECH_CHUNK ? p->n - i : SPEECH_CHUNK;

		ps_process_raw(speech, p->s + i, k, FALSE, FALSE);
		if (ps_get_in_speech(speech)) {
			in_utt = true;
		} else if (in_utt) {	/* one utterance per stretch of speech */
			in_utt = false;
			err = speech_end_utt(t);
			ps_start_utt(speech);
		}
	}
	if (!err)
		return speech_end_utt(t);
	ps_end_utt(speech);
	return err;
}

int tag_speech(const struct tagger_input *in, struct tagger_out *o)
{
	struct speech_text t = { 0 };
	struct speech_pcm p = { 0 };
	int err;

	if (!speech || in->no_speech)
		return 0;
	err = speech_read(in, &p);
	if (!err && p.n)
		err = speech_decode(&p, &t);
	free(p.s);
	if (!err && t.words) {
		err = tagger_text(o, t.buf, t.len);
		err = err ?: tagger_lang_hint(o, "en");
		err = err ?: tagger_tag(o, "speech", NULL);
	}
	free(t.buf);
	return err;
}
