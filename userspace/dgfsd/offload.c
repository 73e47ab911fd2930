// SPDX-License-Identifier: GPL-2.0
/*
 * Work that may block, off libmicrohttpd's event threads (offload.h).
 *
 * dgfsd's HTTP service runs on a few event threads (epoll), each serving
 * many connections: a download never waits on the disk or on a writer.
 * An upload, a commit, a delete does (fsync, SQLite transactions, hashing
 * a whole file), and on an event thread it would stall every other client
 * of that thread. So such a request gets a thread of its own, as every
 * connection had before: each piece of work (a piece of the body, the
 * final answer) is handed to it while the connection is suspended, and
 * the thread resumes the connection when the piece is done. libmicrohttpd
 * lets a suspended connection's response be queued from any thread.
 *
 * The one rule that keeps a connection from hanging: every suspend is
 * followed by exactly one resume, from this thread, after the work is
 * done; the event thread never waits for the work.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "offload.h"

struct offload {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct MHD_Connection *c;
	offload_fn fn;			/* the work handed over, NULL when none */
	void *arg;
	bool quit;
	atomic_bool busy;		/* from the hand-over until the work is done */
};

/* Pieces of work handed over and not yet resumed, all requests together. */
static atomic_uint offload_in_flight;

static void *offload_main(void *arg)
{
	struct offload *o = arg;

	pthread_mutex_lock(&o->lock);
	for (;;) {
		offload_fn fn;
		void *fn_arg;

		while (!o->fn && !o->quit)
			pthread_cond_wait(&o->cond, &o->lock);
		if (!o->fn)
			break;
		fn = o->fn;
		fn_arg = o->arg;
		o->fn = NULL;
		pthread_mutex_unlock(&o->lock);
		fn(fn_arg);
		/*
		 * Not busy, then resume: once libmicrohttpd runs the resumed
		 * connection, its next call finds the thread free. A call in
		 * between (a chunked body's next piece, on the event thread)
		 * finds the connection still suspended and waits (offload_run).
		 */
		atomic_store(&o->busy, false);
		MHD_resume_connection(o->c);
		atomic_fetch_sub(&offload_in_flight, 1);
		pthread_mutex_lock(&o->lock);
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

struct offload *offload_new(struct MHD_Connection *c, size_t stack)
{
	struct offload *o = calloc(1, sizeof(*o));
	pthread_attr_t attr;
	int err;

	if (!o)
		return NULL;
	o->c = c;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack);
	err = pthread_create(&o->thread, &attr, offload_main, o);
	pthread_attr_destroy(&attr);
	if (err) {
		pthread_cond_destroy(&o->cond);
		pthread_mutex_destroy(&o->lock);
		free(o);
		errno = err;
		return NULL;
	}
	return o;
}

bool offload_busy(const struct offload *o)
{
	const union MHD_ConnectionInfo *ci;

	if (atomic_load(&o->busy))
		return true;
	/* Done, but its resume not yet run by libmicrohttpd: suspended still. */
	ci = MHD_get_connection_info(o->c, MHD_CONNECTION_INFO_CONNECTION_SUSPENDED);
	return ci && ci->suspended == MHD_YES;
}

void offload_run(struct offload *o, offload_fn fn, void *arg)
{
	atomic_store(&o->busy, true);
	atomic_fetch_add(&offload_in_flight, 1);
	MHD_suspend_connection(o->c);
	pthread_mutex_lock(&o->lock);
	o->fn = fn;
	o->arg = arg;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

void offload_free(struct offload *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->quit = true;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	pthread_join(o->thread, NULL);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

unsigned int offload_in_flight_now(void)
{
	return atomic_load(&offload_in_flight);
}
