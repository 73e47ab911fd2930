// SPDX-License-Identifier: GPL-2.0
/*
 * File bodies in steps of --http-sendfile-step (default 2 MiB) instead of
 * libmicrohttpd's 128 KiB (docs/BENCHMARKS.md, issue 13).
 *
 * In epoll mode libmicrohttpd (0.9.75, and its master of 2025) sends a
 * file body at most 128 KiB a sendfile() call, a constant of its build
 * (2 MiB only with a thread per connection), and has no option for it. On
 * the hosts this project runs on a call's fixed cost is high (the push at
 * its end, an exit on a PVM guest): a 1 MiB download took 8 calls where
 * nginx takes 1, and 1.3-1.7x nginx's CPU per GB.
 *
 * So this file defines sendfile64(), which libmicrohttpd calls (the
 * executable's definition comes first in the dynamic linker's lookup),
 * and widens a call of exactly libmicrohttpd's step to the set step when
 * the body it belongs to goes on that far. That is safe because:
 * - libmicrohttpd adds what the call returns to its count of the body's
 *   bytes sent and stops at the body's size: the bytes on the wire and its
 *   count stay the same (mhd_send.c MHD_send_sendfile_, connection.c);
 * - a call is widened only up to the end of the body it sends, known from
 *   http_fd_response(), which records it by descriptor (and the file's
 *   identity, checked, against a descriptor reused without it): never a
 *   byte past the body, so keep-alive, Range and HEAD stay as they were;
 * - a call of any other size, or for a descriptor not recorded, goes to
 *   the kernel as it is, so a libmicrohttpd with another step only loses
 *   the gain;
 * - a wider call never sends the body's last byte: libmicrohttpd's own
 *   last call does, with the push (TCP_CORK off) it makes for it, so its
 *   view of the socket's options stays true;
 * - the socket is non-blocking, so a wider call still never waits: a slow
 *   client takes what its buffer holds, and the timeouts stay theirs.
 * libmicrohttpd binds sendfile64 (its build has large-file support);
 * dgfsd's own sendfile() calls (tags.c) bind libc's sendfile and are not
 * touched. An entry is written before its response is queued and read
 * while libmicrohttpd sends it, after the queueing's own synchronisation.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <microhttpd.h>

#include "header_with_body.h"
#include "sendfile_step.h"

/* Descriptors above this are sent in libmicrohttpd's steps. */
#define BODY_FDS	65536

/* The body being sent from descriptor fd: its file and where it ends. */
struct body {
	dev_t dev;
	ino_t ino;
	uint64_t end;		/* 0: none recorded */
};

static struct body bodies[BODY_FDS];
static size_t sendfile_step = 2u << 20;

void sendfile_step_set(size_t step)
{
	sendfile_step = step;
}

struct MHD_Response *http_fd_response(struct MHD_Connection *c, int fd, uint64_t off,
				      uint64_t len)
{
	struct MHD_Response *resp;
	struct stat st;

	/*
	 * Recorded (or forgotten) before libmicrohttpd can send: the
	 * descriptor's number is this body's until the response closes it.
	 * Only a body longer than a step can be sent in wider ones.
	 */
	if (fd >= 0 && fd < BODY_FDS) {
		bodies[fd].end = 0;
		if (sendfile_step > MHD_SENDFILE_STEP && len > MHD_SENDFILE_STEP &&
		    !fstat(fd, &st)) {
			bodies[fd].dev = st.st_dev;
			bodies[fd].ino = st.st_ino;
			bodies[fd].end = off + len;
		}
	}
	resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
	if (!resp)
		close(fd);
	else if (len)	/* no body, nothing for the header to ride with */
		header_with_body_response(c, resp);
	return resp;
}

static ssize_t sys_sendfile(int out, int in, off64_t *off, size_t count)
{
	return syscall(SYS_sendfile, out, in, off, count);
}

/* libmicrohttpd's sendfile() call, in the step set. */
static ssize_t step_sendfile(int out, int in, off64_t *off, size_t count)
{
	const struct body *b;
	struct stat st;
	uint64_t left;

	/* libmicrohttpd's step with more of the body after it, and no other. */
	if (count != MHD_SENDFILE_STEP || !off || *off < 0 || in < 0 || in >= BODY_FDS)
		return sys_sendfile(out, in, off, count);
	b = &bodies[in];
	if (b->end <= (uint64_t)*off + count || fstat(in, &st) || st.st_dev != b->dev ||
	    st.st_ino != b->ino)
		return sys_sendfile(out, in, off, count);
	/* All but the last byte at most: that goes in libmicrohttpd's last call. */
	left = b->end - (uint64_t)*off - 1;
	return sys_sendfile(out, in, off, left < sendfile_step ? (size_t)left : sendfile_step);
}

ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	bool uncork = header_with_body_sendfile(out);	/* the body follows its header */
	ssize_t n = step_sendfile(out, in, off, count);
	int err = errno;

	if (uncork) {
		header_with_body_sent(out);
		errno = err;
	}
	return n;
}
