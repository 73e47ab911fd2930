// SPDX-License-Identifier: GPL-2.0
/*
 * Answering one read request, in process context (a ring's worker).
 *
 * The token is checked first, then the chunk is looked up (taking a
 * reference), then its bytes go out as datagrams whose payload is the page
 * cache's own pages. The worker never waits for a disk: at the first page
 * that is not in the page cache it hands the rest of the request to the IO
 * workqueue, so a slow disk holds up only the requests for its chunks.
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

static struct workqueue_struct *dgfs_io_wq;

struct dgfs_slow_read {
	struct work_struct work;
	struct dgfs_net *dn;
	struct dgfs_chunk *chunk;	/* a reference */
	struct dgfs_xdp_req r;
	u64 pos;			/* what stays to be sent: pos .. end */
	u64 end;
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
 * The page at @pos of @file, from the folio in *@cur when it holds it.
 * Without @may_block only what is in the page cache and up to date is
 * taken: NULL with -EAGAIN means "go slow". The page stays valid while
 * *@cur holds its folio.
 */
static struct page *page_at(struct file *file, u64 pos, bool may_block,
			    struct folio **cur, int *err)
{
	pgoff_t index = pos >> PAGE_SHIFT;
	struct folio *folio = *cur;

	if (folio && index >= folio->index &&
	    index < folio->index + folio_nr_pages(folio))
		return folio_page(folio, index - folio->index);
	if (folio)
		folio_put(folio);
	*cur = NULL;

	folio = filemap_get_folio(file->f_mapping, index);
	if (folio && !folio_test_uptodate(folio)) {
		folio_put(folio);
		folio = NULL;
	}
	if (!folio) {
		if (!may_block) {
			*err = -EAGAIN;
			return NULL;
		}
		folio = read_mapping_folio(file->f_mapping, index, file);
		if (IS_ERR(folio)) {
			*err = PTR_ERR(folio);
			return NULL;
		}
	}
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

			page = page_at(chunk->file, *pos, may_block, &cur, &ret);
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
	struct dgfs_reply rp;
	u64 start = slow->pos;
	int ret;

	ret = dgfs_reply_begin(dn, &slow->r, NULL, &rp);
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
	dgfs_chunk_put(slow->chunk);
	atomic_dec(&dn->slow_reads);
	kfree(slow);
}

/* Hand [pos, end) to the IO workqueue; false if that is full. */
static bool go_slow(struct dgfs_net *dn, const struct dgfs_xdp_req *r,
		    struct dgfs_chunk *chunk, u64 pos, u64 end)
{
	struct dgfs_slow_read *slow;

	if (atomic_inc_return(&dn->slow_reads) > DGFS_MAX_SLOW_READS)
		goto full;
	slow = kmalloc(sizeof(*slow), GFP_KERNEL);
	if (!slow)
		goto full;
	INIT_WORK(&slow->work, slow_read_work);
	slow->dn = dn;
	slow->chunk = chunk;
	refcount_inc(&chunk->ref);	/* we hold one already */
	slow->r = *r;
	slow->pos = pos;
	slow->end = end;
	queue_work(dgfs_io_wq, &slow->work);
	return true;
full:
	atomic_dec(&dn->slow_reads);
	return false;
}

void dgfs_serve(struct dgfs_net *dn, const struct dgfs_xdp_req *r,
		struct dgfs_routes *routes)
{
	u64 offset = be64_to_cpu(r->req.offset), pos, end;
	struct dgfs_chunk *chunk;
	struct dgfs_reply rp;
	bool auth_ok;
	u32 total;
	int ret;

	dgfs_count(dn, DGFS_C_REQUESTS);
	if (dgfs_reply_begin(dn, r, routes, &rp))
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

	total = min_t(u64, be32_to_cpu(r->req.length), chunk->size - offset);
	pos = offset;
	end = offset + total;
	ret = send_range(&rp, chunk, &pos, end, total, false);
	dgfs_count_add(dn, DGFS_C_BYTES, pos - offset);
	if (ret == -EAGAIN) {
		dgfs_count(dn, DGFS_C_CACHE_MISSES);
		if (!go_slow(dn, r, chunk, pos, end)) {
			dgfs_count(dn, DGFS_C_OVERLOADED);
			if (pos == offset)
				dgfs_reply_status(&rp, DGFS_STATUS_AGAIN,
						  chunk->size);
		}
	} else if (!ret) {
		dgfs_count(dn, DGFS_C_REPLIES);
	}
put:
	dgfs_chunk_put(chunk);
out:
	dgfs_reply_end(&rp);
}

int __init dgfs_serve_init(void)
{
	/* Not bound to a CPU: a slow disk read may take its time anywhere. */
	dgfs_io_wq = alloc_workqueue("dgfs_io", WQ_UNBOUND, 0);
	return dgfs_io_wq ? 0 : -ENOMEM;
}

void dgfs_serve_uninit(void)
{
	destroy_workqueue(dgfs_io_wq);
}

/* Wait for every slow read in flight (of any namespace). */
void dgfs_serve_flush(void)
{
	flush_workqueue(dgfs_io_wq);
}
