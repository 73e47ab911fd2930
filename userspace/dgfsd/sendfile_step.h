/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File bodies sent in larger sendfile() steps than libmicrohttpd's
 * (sendfile_step.c, --http-sendfile-step). Every body dgfsd sends from a
 * file descriptor is made by http_fd_response(), never by libmicrohttpd's
 * MHD_create_response_from_fd*() directly: the step is only widened for
 * bodies it knows.
 */
#ifndef DGFSD_SENDFILE_STEP_H
#define DGFSD_SENDFILE_STEP_H

#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
struct MHD_Response;

/* libmicrohttpd's own step in epoll mode (0.9.75: MHD_SENFILE_CHUNK_). */
#define MHD_SENDFILE_STEP	(128u << 10)

/* At start, before any response: the step, or 0 for libmicrohttpd's own. */
void sendfile_step_set(size_t step);

/*
 * Bytes [off, off + len) of the file @fd (taken: closed with the
 * response, or here on failure) as a body for connection @c, sent by
 * sendfile() in steps of the size set, its header with its first bytes
 * (header_with_body.h). NULL when out of memory.
 */
struct MHD_Response *http_fd_response(struct MHD_Connection *c, int fd, uint64_t off,
				      uint64_t len);

#endif
