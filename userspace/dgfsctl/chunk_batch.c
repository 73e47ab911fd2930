// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsctl: batch mode's chunk adds. Consecutive "chunk add" lines of one
 * store go to the kernel as one DGFS_A_CHUNKS message: a round trip per
 * line was most of a line's cost. The kernel adds all of a message or
 * none, and names the entry it refused; each failing line is then reported
 * (and ends the batch without -f) exactly as a lone "chunk add" would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>

#include <linux/dgfs.h>

#include "chunk.h"
#include "chunk_batch.h"
#include "dgfsctl.h"

/* What libnl's socket buffer takes in one message (nl_connect() sets 32 KiB,
 * which the kernel doubles), with room to spare.
 */
#define CHUNK_BATCH_MSG_SIZE	(64 * 1024)
#define CHUNK_BATCH_MSG_BUDGET	(60 * 1000)

struct chunk_batch_entry {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	char *path;
	bool has_size;
	uint64_t size;
	unsigned long lineno;
	uint32_t off, end;	/* its nest's bytes in the last message */
};

struct chunk_batch {
	char store[DGFS_STORE_NAME_MAX];
	struct chunk_batch_entry e[DGFS_CHUNKS_MAX];
	unsigned int n;
	size_t bytes;		/* the entries' attributes, as sent */
};

/* One entry's attributes: the nest, ID, PATH with its NUL, SIZE. */
static size_t entry_bytes(const char *path, bool has_size)
{
	return NLA_HDRLEN + nla_total_size(DGFS_CHUNK_ID_LEN) +
	       nla_total_size(strlen(path) + 1) +
	       (has_size ? nla_total_size(sizeof(uint64_t)) : 0);
}

struct chunk_batch *chunk_batch_new(void)
{
	return calloc(1, sizeof(struct chunk_batch));
}

static void batch_forget(struct chunk_batch *b, unsigned int from)
{
	unsigned int i;

	for (i = from; i < b->n; i++)
		free(b->e[i].path);
	b->n = from;
	if (!from)
		b->bytes = 0;
}

void chunk_batch_free(struct chunk_batch *b)
{
	if (!b)
		return;
	batch_forget(b, 0);
	free(b);
}

bool chunk_batch_fits(const struct chunk_batch *b, const struct chunk_add_args *a)
{
	if (!b->n)
		return true;
	return b->n < DGFS_CHUNKS_MAX && !strcmp(b->store, a->store) &&
	       b->bytes + entry_bytes(a->path, a->has_size) <= CHUNK_BATCH_MSG_BUDGET;
}

int chunk_batch_queue(struct chunk_batch *b, const struct chunk_add_args *a,
		      unsigned long lineno)
{
	struct chunk_batch_entry *e = &b->e[b->n];

	if (!chunk_batch_fits(b, a))
		return -ENOSPC;
	e->path = strdup(a->path);
	if (!e->path)
		return -ENOMEM;
	memcpy(e->id, a->id, DGFS_CHUNK_ID_LEN);
	e->has_size = a->has_size;
	e->size = a->size;
	e->lineno = lineno;
	if (!b->n)
		snprintf(b->store, sizeof(b->store), "%s", a->store);
	b->bytes += entry_bytes(a->path, a->has_size);
	b->n++;
	return 0;
}

struct batch_fill {
	struct chunk_batch *b;
	unsigned int lo, hi;
};

static int batch_fill(struct nl_msg *msg, const void *arg)
{
	const struct batch_fill *f = arg;
	struct chunk_batch *b = f->b;
	struct nlattr *list = dgfs_nest_start(msg, DGFS_A_CHUNKS);
	unsigned int i;

	if (!list || nla_put_string(msg, DGFS_CHUNKS_A_STORE, b->store) < 0)
		return -EMSGSIZE;
	for (i = f->lo; i < f->hi; i++) {
		struct chunk_batch_entry *e = &b->e[i];
		struct nlattr *nest = dgfs_nest_start(msg, DGFS_CHUNKS_A_ENTRY);

		if (!nest ||
		    nla_put(msg, DGFS_CHUNK_A_ID, DGFS_CHUNK_ID_LEN, e->id) < 0 ||
		    nla_put_string(msg, DGFS_CHUNK_A_PATH, e->path) < 0 ||
		    (e->has_size && nla_put_u64(msg, DGFS_CHUNK_A_SIZE, e->size) < 0) ||
		    nla_nest_end(msg, nest) < 0)
			return -EMSGSIZE;
		e->off = (uint32_t)((char *)nest - (char *)nlmsg_hdr(msg));
		e->end = e->off + nest->nla_len;
	}
	return nla_nest_end(msg, list) < 0 ? -EMSGSIZE : 0;
}

/* The entry of [lo, hi) the kernel's error points into, or -1. */
static int bad_entry(const struct chunk_batch *b, unsigned int lo,
		     unsigned int hi, const struct dgfs_req_error *err)
{
	unsigned int i;

	if (!err->error || !err->ext.has_offs)
		return -1;
	for (i = lo; i < hi; i++)
		if (err->ext.offs >= b->e[i].off && err->ext.offs < b->e[i].end)
			return (int)i;
	return -1;
}

/* As run_batch() ends a failing line; -1 when that ends the batch. */
static int line_failed(const struct chunk_batch *b, const struct dgfsctl *ctl,
		       const char *name, unsigned int i, int *status)
{
	fprintf(stderr, "dgfsctl: %s:%lu: command failed\n", name, b->e[i].lineno);
	*status = EXIT_ERROR;
	return ctl->force ? 0 : -1;
}

/* A line sent on its own, which says why if it fails. */
static int line_alone(struct chunk_batch *b, struct dgfsctl *ctl,
		      const char *name, unsigned int i, int *status)
{
	const struct chunk_batch_entry *e = &b->e[i];

	if (chunk_add_one(ctl, e->id, b->store, e->path, e->has_size, e->size) ==
	    EXIT_OK)
		return 0;
	return line_failed(b, ctl, name, i, status);
}

/* Adds entries [lo, hi); -1 when a failure ends the batch. */
static int batch_send(struct chunk_batch *b, struct dgfsctl *ctl,
		      const char *name, unsigned int lo, unsigned int hi,
		      int *status)
{
	while (lo < hi) {
		struct batch_fill f = { .b = b, .lo = lo, .hi = hi };
		struct dgfs_req_error err;
		struct dgfs_req req = {
			.cmd = DGFS_CMD_CHUNK_ADD,
			.msg_size = CHUNK_BATCH_MSG_SIZE,
			.fill = batch_fill,
			.fill_arg = &f,
			.error = &err,
			.what = "adding chunks",
		};
		int bad;

		if (!dgfs_nl_request(&ctl->nl, &req))
			return 0;
		if (!err.error) {
			/* Not the kernel's answer (no module, a socket error),
			 * and already said: the first line failed, as it would
			 * have alone.
			 */
			if (line_failed(b, ctl, name, lo, status))
				return -1;
			lo++;
			continue;
		}
		bad = bad_entry(b, lo, hi, &err);
		if (bad < 0) {
			/* Nothing names a line (no such store, no
			 * permission, an old module): each says for itself.
			 */
			for (; lo < hi; lo++)
				if (line_alone(b, ctl, name, lo, status))
					return -1;
			return 0;
		}
		/* The lines before it were fine, and come first. */
		if (batch_send(b, ctl, name, lo, (unsigned int)bad, status) ||
		    line_alone(b, ctl, name, (unsigned int)bad, status))
			return -1;
		lo = (unsigned int)bad + 1;
	}
	return 0;
}

int chunk_batch_flush(struct chunk_batch *b, struct dgfsctl *ctl,
		      const char *name, int *status)
{
	int ret = 0;

	if (b->n)
		ret = batch_send(b, ctl, name, 0, b->n, status);
	fflush(stdout);
	batch_forget(b, 0);
	return ret;
}
