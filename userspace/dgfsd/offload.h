/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A thread of its own for an HTTP request whose work may block (uploads,
 * commits, deletes...), so that libmicrohttpd's event threads never wait
 * (offload.c). Needs a daemon started with MHD_ALLOW_SUSPEND_RESUME.
 */
#ifndef DGFSD_OFFLOAD_H
#define DGFSD_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct offload;

typedef void (*offload_fn)(void *arg);

/* A thread (stack size @stack) for the requests of connection @c; NULL, errno. */
struct offload *offload_new(struct MHD_Connection *c, size_t stack);

/*
 * From the access handler, on libmicrohttpd's thread: suspends @o's
 * connection and runs fn(arg) on @o's thread, which resumes the
 * connection once it returns. fn may queue the connection's response.
 * Not while offload_busy().
 */
void offload_run(struct offload *o, offload_fn fn, void *arg);

/*
 * Whether a piece of work is under way, or done but its connection not yet
 * resumed: then no more may be handed over. Event thread only.
 */
bool offload_busy(const struct offload *o);

/* Ends the thread (idle: no work handed over) and frees @o. NULL is fine. */
void offload_free(struct offload *o);

/* Pieces of work handed over and not yet done, all connections together. */
unsigned int offload_in_flight_now(void);

#endif
