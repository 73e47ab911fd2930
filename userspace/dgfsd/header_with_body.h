/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A file body's response header leaves in the body's first TCP segment
 * (header_with_body.c), not in a segment of its own.
 */
#ifndef DGFSD_HEADER_WITH_BODY_H
#define DGFSD_HEADER_WITH_BODY_H

#include <stdbool.h>

struct MHD_Connection;
struct MHD_Response;

/* At start, before any connection: off keeps libmicrohttpd's own sending. */
void header_with_body_set(bool on);

/* A connection starts or closes: its socket's state is reset. */
void header_with_body_connection(struct MHD_Connection *c, bool started);

/* @resp, made for @c, sends a file body (sendfile_step.c's http_fd_response()). */
void header_with_body_response(struct MHD_Connection *c, const struct MHD_Response *resp);

/* @resp is queued on @c with its body: armed if it is that file body. */
void header_with_body_arm(struct MHD_Connection *c, const struct MHD_Response *resp);

/* A response on @c is done: a header still held is pushed out. */
void header_with_body_done(struct MHD_Connection *c);

/*
 * sendfile64() on socket @sock: its body's bytes follow the header now.
 * True: call header_with_body_sent() once that sendfile() is done.
 */
bool header_with_body_sendfile(int sock);
void header_with_body_sent(int sock);

#endif
