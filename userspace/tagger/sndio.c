// SPDX-License-Identifier: GPL-2.0
/* libsndfile's virtual I/O over the tagger's read-only fd (media.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "media.h"

static sf_count_t sndio_len(void *user)
{
	struct sndio *io = user;

	return io->in->size;
}

static sf_count_t sndio_seek(sf_count_t off, int whence, void *user)
{
	struct sndio *io = user;
	sf_count_t base = whence == SEEK_CUR ? io->pos :
			  whence == SEEK_END ? (sf_count_t)io->in->size : 0;

	if (off > 0 ? base > INT64_MAX - off : base + off < 0)
		return -1;
	io->pos = base + off;
	return io->pos;
}

static sf_count_t sndio_read(void *ptr, sf_count_t count, void *user)
{
	struct sndio *io = user;
	sf_count_t got = 0;

	while (got < count) {
		ssize_t n = pread(io->in->fd, (char *)ptr + got, count - got, io->pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		io->pos += n;
	}
	return got;
}

static sf_count_t sndio_write(const void *ptr, sf_count_t count, void *user)
{
	(void)ptr, (void)count, (void)user;
	return 0;	/* read-only */
}

static sf_count_t sndio_tell(void *user)
{
	struct sndio *io = user;

	return io->pos;
}

SNDFILE *sndio_open(const struct tagger_input *in, struct sndio *io, SF_INFO *info)
{
	static SF_VIRTUAL_IO vio = {
		.get_filelen = sndio_len, .seek = sndio_seek, .read = sndio_read,
		.write = sndio_write, .tell = sndio_tell,
	};

	io->in = in;
	io->pos = 0;
	memset(info, 0, sizeof(*info));	/* format 0: libsndfile finds it */
	return sf_open_virtual(&vio, SFM_READ, info, io);
}
