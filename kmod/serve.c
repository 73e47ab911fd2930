// SPDX-License-Identifier: GPL-2.0
/*
 * Answering one read request, in process context (a ring's worker).
 *
 * The token is checked first, then the chunk is looked up (taking a
 * reference), then its bytes go out as datagrams whose payload is the page
 * cache's own pages. The worker never waits for a disk: at the first page
 * that is not in the page cache it hands the rest of the request to its
 * namespace's IO workqueue, so a slow disk holds up only the requests for
 * its chunks, and one namespace's slow disk no other namespace.
 *
 * Nor does a big read hold up the small ones behind it: a reply goes out
 * in slices of a few skbs, and a worker takes turns between the next new
 * request and the next slice of the replies still going (its streams).
 */
#include <linux/pagemap.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include <asm/unaligned.h>

#include "dgfs.h"
#include "reply.h"
#include <dgfs_kfuncs.h>

/* Bounds the memory and threads that slow reads can take per namespace. */
#define DGFS_MAX_SLOW_READS 256
/* Replies still going per worker. A request that finds them all taken
 * gets one slice and no more (counted overloaded): the client asks for
 * the rest, and the small reads behind it still wait for no more than
 * this many slices.
 */
#define DGFS_MAX_STREAMS 64

/* A reply being sent in turns: what stays to be sent is pos .. end. */
struct dgfs_stream {
	struct list_head list;		/* in dgfs_streams.list */
	struct dgfs_xdp_req r;
	struct dgfs_chunk *chunk;	/* a reference */
	struct dgfs_sock *ds;		/* a reference: the reply's socket */
	u64 pos;
	u64 end;
	u32 total;			/* the reply's length, in its headers */
	u64 queued;			/* for DGFS_H_REQUEST */
};

struct dgfs_slow_read {
	struct work_struct work;
	struct dgfs_net *dn;
	struct net *net;		/* a reference: dn lives while we do */
	struct dgfs_chunk *chunk;	/* a reference */
	struct dgfs_xdp_req r;
	u64 pos;			/* what stays to be sent: pos .. end */
	u64 end;
	u64 queued;			/* for DGFS_H_REQUEST */
};

/*
 * token = SipHash-2-4(key, chunk || expiry (BE) || client address), the
 * same function as libsodium's crypto_shorthash_siphash24, whose key is two
 * little-endian words and whose output is stored little-endian. A token
 * whose expiry lies further ahead than DGFS_TOKEN_MAX_LIFETIME is refused
 * however well it is signed: a captured one stops working within a day.
 */
static bool token_valid(const struct dgfs_config *config,
			const struct dgfs_xdp_req *r)
{
	u64 expiry = be32_to_cpu(r->req.expiry);
	u64 now = ktime_get_real_seconds();
	u8 msg[DGFS_CHUNK_ID_LEN + 4 + 16];
	siphash_key_t key;

	if (!config->key_set)
		return false;
	if (expiry < now ||
	    expiry > now + DGFS_TOKEN_MAX_LIFETIME + DGFS_TOKEN_CLOCK_SKEW)
		return false;
	memcpy(msg, r->req.chunk, DGFS_CHUNK_ID_LEN);
	memcpy(msg + DGFS_CHUNK_ID_LEN, &r->req.expiry, 4);
	memcpy(msg + DGFS_CHUNK_ID_LEN + 4, r->saddr, 16);
	key.key[0] = get_unaligned_le64(config->key);
	key.key[1] = get_unaligned_le64(config->key + 8);
	return siphash(msg, sizeof(msg), &key) ==
	       get_unaligned_le64(r->req.token);
}

/*
 * The page at @pos of @file, from the folio in *@cur when it holds it;
 * the read goes on to @end. Without @may_block only what is in the page
 * cache and up to date is taken: NULL with -EAGAIN means "go slow". The
 * page stays valid while *@cur holds its folio.
 */
static struct page *page_at(struct dgfs_net *dn, struct file *file, u64 pos,
			    u64 end, bool may_block, struct folio **cur,
			    int *err)
{
	pgoff_t index = pos >> PAGE_SHIFT;
	unsigned long want = DIV_ROUND_UP(end, PAGE_SIZE) - index;
	struct folio *folio = *cur;
	u64 wait;

	if (folio && index >= folio->index &&
	    index < folio->index + folio_nr_pages(folio))
		return folio_page(folio, index - folio->index);
	if (folio)
		folio_put(folio);
	*cur = NULL;

	/* Accessed: a chunk read over and over is what the page cache should
	 * keep, as it keeps the pages read() touches.
	 */
	folio = __filemap_get_folio(file->f_mapping, index, FGP_ACCESSED, 0);
	if (folio && !folio_test_uptodate(folio)) {
		folio_put(folio);
		folio = NULL;
	}
	if (!folio) {
		if (!may_block) {
			*err = -EAGAIN;
			return NULL;
		}
		/*
		 * As read() does: a miss reads ahead what the request still
		 * wants, as the file's readahead state sizes it, and a page
		 * marked for it starts the next window before it is needed.
		 * Then wait for this page (or read it, if readahead did not):
		 * that wait is the disk's latency (DGFS_H_DISK).
		 */
		wait = dgfs_latency_stamp();
		page_cache_sync_readahead(file->f_mapping, &file->f_ra, file,
					  index, want);
		folio = read_mapping_folio(file->f_mapping, index, file);
		dgfs_latency_record(dn, DGFS_H_DISK, wait);
		if (IS_ERR(folio)) {
			*err = PTR_ERR(folio);
			return NULL;
		}
	}
	if (may_block && folio_test_readahead(folio))
		page_cache_async_readahead(file->f_mapping, &file->f_ra, file,
					   folio, index, want);
	*cur = folio;
	return folio_page(folio, index - folio->index);
}

/*
 * Send chunk bytes [*pos, end) of a reply carrying @total bytes in all.
 * Returns 0 when all went, -EAGAIN with *pos at the first uncached byte
 * (only without @may_block), or another -errno.
 */
static int send_range(struct dgfs_reply *rp, struct dgfs_chunk *chunk,
		      u64 *pos, u64 end, u32 total, bool may_block)
{
	struct folio *cur = NULL;
	int ret = 0;

	while (*pos < end && !ret) {
		u32 len = min_t(u64, end - *pos, rp->max_payload);
		u64 stop = *pos + len;
		bool started = false;

		while (*pos < stop) {
			unsigned int off = offset_in_page(*pos);
			unsigned int n = min_t(u64, stop - *pos, PAGE_SIZE - off);
			struct page *page;

			page = page_at(rp->dn, chunk->file, *pos, end, may_block,
				       &cur, &ret);
			if (!page)
				break;
			/* No header before there is a byte to carry. */
			if (!started) {
				ret = dgfs_reply_datagram(rp, *pos, len, total,
							  chunk->size);
				if (ret)
					break;
				started = true;
			}
			dgfs_reply_add_page(rp, page, off, n);
			*pos += n;
		}
	}
	/* Whatever made it into the last datagram goes too: a shorter
	 * datagram is fine, clients take any size at any offset.
	 */
	dgfs_reply_flush(rp);
	if (cur)
		folio_put(cur);
	return ret;
}

static void slow_read_work(struct work_struct *work)
{
	struct dgfs_slow_read *slow = container_of(work, struct dgfs_slow_read, work);
	struct dgfs_net *dn = slow->dn;
	struct net *net = slow->net;
	struct dgfs_reply rp;
	u64 start = slow->pos;
	int ret;

	ret = dgfs_reply_begin(dn, &slow->r, NULL, NULL, &rp);
	if (!ret) {
		ret = send_range(&rp, slow->chunk, &slow->pos, slow->end,
				 slow->end - be64_to_cpu(slow->r.req.offset),
				 true);
		if (ret)
			dgfs_count(dn, DGFS_C_IO_ERRORS);
		/* Nothing sent at all: the client hears why. */
		if (ret && slow->pos == be64_to_cpu(slow->r.req.offset))
			dgfs_reply_status(&rp, DGFS_STATUS_IO, slow->chunk->size);
		dgfs_reply_end(&rp);
	}
	dgfs_count_add(dn, DGFS_C_BYTES, slow->pos - start);
	if (!ret)
		dgfs_count(dn, DGFS_C_REPLIES);
	/* The request's end, wherever it began to be answered. */
	dgfs_latency_record(dn, DGFS_H_REQUEST, slow->queued);
	dgfs_chunk_put(slow->chunk);
	atomic_dec(&dn->slow_reads);
	kfree(slow);
	/* Last: the namespace may go now, and dn with it. */
	put_net(net);
}

/*
 * Hand [pos, end) to the namespace's IO workqueue; false if it has
 * DGFS_MAX_SLOW_READS in flight already. A slow read holds a reference on
 * its namespace: one deleted while its reads wait for a disk stays until
 * they are done, and its exit (in the one thread that tears down every
 * namespace) never waits for a disk. A dying namespace, whose last
 * reference is gone, starts no more.
 */
static bool go_slow(struct dgfs_net *dn, const struct dgfs_xdp_req *r,
		    u64 queued, struct dgfs_chunk *chunk, u64 pos, u64 end)
{
	struct dgfs_slow_read *slow;

	if (!atomic_add_unless(&dn->slow_reads, 1, DGFS_MAX_SLOW_READS))
		return false;
	slow = kmalloc(sizeof(*slow), GFP_KERNEL);
	if (!slow)
		goto full;
	slow->net = maybe_get_net(dn->net);
	if (!slow->net) {
		kfree(slow);
		goto full;
	}
	INIT_WORK(&slow->work, slow_read_work);
	slow->dn = dn;
	slow->chunk = chunk;
	refcount_inc(&chunk->ref);	/* we hold one already */
	slow->r = *r;
	slow->pos = pos;
	slow->end = end;
	slow->queued = queued;
	queue_work(dn->io_wq, &slow->work);
	return true;
full:
	atomic_dec(&dn->slow_reads);
	return false;
}

/* What became of a reply after a turn (send_slice()). */
enum dgfs_slice {
	DGFS_SLICE_DONE,	/* all sent, or given up */
	DGFS_SLICE_MORE,	/* more to send: the caller keeps the stream */
	DGFS_SLICE_SLOW,	/* the IO workqueue sends the rest */
};

/*
 * One turn of a reply: at most one slice (dgfs_reply_slice()). Hands the
 * rest to the IO workqueue at the first uncached page. With more to send,
 * the caller keeps @st (and its chunk reference).
 */
static enum dgfs_slice send_slice(struct dgfs_net *dn, struct dgfs_reply *rp,
				  struct dgfs_stream *st)
{
	u64 offset = be64_to_cpu(st->r.req.offset), start = st->pos;
	u64 stop = min(st->end, st->pos + dgfs_reply_slice(rp));
	int ret;

	ret = send_range(rp, st->chunk, &st->pos, stop, st->total, false);
	dgfs_count_add(dn, DGFS_C_BYTES, st->pos - start);
	if (ret == -EAGAIN) {
		dgfs_count(dn, DGFS_C_CACHE_MISSES);
		if (go_slow(dn, &st->r, st->queued, st->chunk, st->pos, st->end))
			return DGFS_SLICE_SLOW;
		dgfs_count(dn, DGFS_C_OVERLOADED);
		if (st->pos == offset)
			dgfs_reply_status(rp, DGFS_STATUS_AGAIN, st->chunk->size);
		return DGFS_SLICE_DONE;
	}
	if (ret)
		return DGFS_SLICE_DONE;
	if (st->pos < st->end)
		return DGFS_SLICE_MORE;
	dgfs_count(dn, DGFS_C_REPLIES);
	return DGFS_SLICE_DONE;
}

/* Keeps a copy of @st for its next turn; false if there is no room. */
static bool stream_keep(struct dgfs_streams *streams,
			const struct dgfs_stream *st)
{
	struct dgfs_stream *kept;

	if (streams->nr >= DGFS_MAX_STREAMS)
		return false;
	kept = kmalloc(sizeof(*kept), GFP_KERNEL);
	if (!kept)
		return false;
	*kept = *st;
	list_add_tail(&kept->list, &streams->list);
	streams->nr++;
	return true;
}

static void stream_free(struct dgfs_streams *streams, struct dgfs_stream *st)
{
	list_del(&st->list);
	streams->nr--;
	dgfs_chunk_put(st->chunk);
	dgfs_reply_sock_put(st->ds);
	kfree(st);
}

/*
 * Every request that gets a reply is recorded in DGFS_H_REQUEST once, when
 * the module is done with it: its last datagram sent, here, at the end of
 * its stream or of its slow read; or given up (overloaded, a route lost).
 * One that cannot be answered at all (no socket or route) is not.
 */
void dgfs_serve(struct dgfs_net *dn, const struct dgfs_xdp_req *r, u64 queued,
		struct dgfs_routes *routes, struct dgfs_streams *streams)
{
	u64 offset = be64_to_cpu(r->req.offset);
	struct dgfs_stream st;
	struct dgfs_chunk *chunk;
	struct dgfs_reply rp;
	bool auth_ok, done = true;

	dgfs_count(dn, DGFS_C_REQUESTS);
	if (dgfs_reply_begin(dn, r, routes, NULL, &rp))
		return;

	rcu_read_lock();
	{
		const struct dgfs_config *config = rcu_dereference(dn->config);

		auth_ok = !config->auth || token_valid(config, r);
	}
	rcu_read_unlock();
	if (!auth_ok) {
		dgfs_count(dn, DGFS_C_TOKEN_REJECTED);
		dgfs_reply_status(&rp, DGFS_STATUS_ACCES, 0);
		goto out;
	}

	chunk = dgfs_chunk_get(dn, r->req.chunk);
	if (!chunk) {
		dgfs_count(dn, DGFS_C_NOENT);
		dgfs_reply_status(&rp, DGFS_STATUS_NOENT, 0);
		goto out;
	}
	if (offset >= chunk->size) {
		dgfs_count(dn, DGFS_C_RANGE);
		dgfs_reply_status(&rp, DGFS_STATUS_RANGE, chunk->size);
		goto put;
	}

	st.r = *r;
	st.chunk = chunk;
	st.total = min_t(u64, be32_to_cpu(r->req.length), chunk->size - offset);
	st.pos = offset;
	st.end = offset + st.total;
	st.queued = queued;
	switch (send_slice(dn, &rp, &st)) {
	case DGFS_SLICE_MORE:
		st.ds = dgfs_reply_sock_hold(&rp);
		if (stream_keep(streams, &st)) {
			/* The stream has the references now. */
			done = false;
			goto out;
		}
		dgfs_reply_sock_put(st.ds);
		dgfs_count(dn, DGFS_C_OVERLOADED);
		break;
	case DGFS_SLICE_SLOW:
		done = false;
		break;
	case DGFS_SLICE_DONE:
		break;
	}
put:
	dgfs_chunk_put(chunk);
out:
	dgfs_reply_end(&rp);
	if (done)
		dgfs_latency_record(dn, DGFS_H_REQUEST, queued);
}

bool dgfs_streams_resume(struct dgfs_net *dn, struct dgfs_routes *routes,
			 struct dgfs_streams *streams)
{
	enum dgfs_slice next = DGFS_SLICE_DONE;
	struct dgfs_stream *st;
	struct dgfs_reply rp;

	st = list_first_entry_or_null(&streams->list, struct dgfs_stream, list);
	if (!st)
		return false;
	if (!dgfs_reply_begin(dn, &st->r, routes, st->ds, &rp)) {
		next = send_slice(dn, &rp, st);
		dgfs_reply_end(&rp);
	}
	if (next == DGFS_SLICE_MORE) {
		list_move_tail(&st->list, &streams->list);
		return true;
	}
	if (next == DGFS_SLICE_DONE)
		dgfs_latency_record(dn, DGFS_H_REQUEST, st->queued);
	stream_free(streams, st);
	return true;
}

void dgfs_streams_flush(struct dgfs_streams *streams)
{
	struct dgfs_stream *st, *tmp;

	list_for_each_entry_safe(st, tmp, &streams->list, list)
		stream_free(streams, st);
}

/*
 * Under dgfs_net.lock, at the first store add. A workqueue per namespace:
 * its max_active is the namespace's own, so reads stuck on one namespace's
 * disk never hold back another's. Unbound workqueues of the same
 * attributes share one pool of workers, so it costs a small structure and
 * no thread of its own.
 */
int dgfs_serve_net_init(struct dgfs_net *dn)
{
	lockdep_assert_held(&dn->lock);
	if (dn->io_wq)
		return 0;
	dn->io_wq = alloc_workqueue("dgfs_io_%u", WQ_UNBOUND,
				    DGFS_MAX_SLOW_READS, dn->net->ns.inum);
	return dn->io_wq ? 0 : -ENOMEM;
}

/*
 * Namespace exit. Slow reads hold the namespace, so when it goes by itself
 * none is left; at rmmod, exit runs on namespaces still in use, and this
 * waits for their slow reads: this namespace's only.
 */
void dgfs_serve_net_uninit(struct dgfs_net *dn)
{
	if (!dn->io_wq)
		return;
	destroy_workqueue(dn->io_wq);
	dn->io_wq = NULL;
	WARN_ON_ONCE(atomic_read(&dn->slow_reads));
}
