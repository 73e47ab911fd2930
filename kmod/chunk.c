// SPDX-License-Identifier: GPL-2.0
/*
 * The chunk index: SHA-256 id -> open file of the chunk, per namespace.
 * Changes hold dgfs_net.lock; lookups are lockless (RCU) and take a
 * reference, so the XDP path can use them from softirq context. A chunk's
 * file is looked up beneath its store and opened with the credentials of
 * the caller that adds it (netlink runs in the caller's context).
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/rhashtable.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <net/netlink.h>

#include "dgfs.h"

/* Exported by 6.1 but declared only in fs/internal.h (later kernels have it
 * in linux/namei.h): the one exported walk that starts at a given directory
 * and honours LOOKUP_BENEATH.
 */
#ifndef vfs_path_lookup
int vfs_path_lookup(struct dentry *dentry, struct vfsmount *mnt,
		    const char *name, unsigned int flags, struct path *path);
#endif

static const struct rhashtable_params chunk_index_params = {
	.key_len = DGFS_CHUNK_ID_LEN,
	.key_offset = offsetof(struct dgfs_chunk, id),
	.head_offset = offsetof(struct dgfs_chunk, node),
	.automatic_shrinking = true,
};

int dgfs_chunk_index_init(struct dgfs_net *dn)
{
	return rhashtable_init(&dn->index, &chunk_index_params);
}

void dgfs_chunk_index_uninit(struct dgfs_net *dn)
{
	/* Empty by now: dgfs_chunk_flush() ran. */
	rhashtable_destroy(&dn->index);
}

static void chunk_free_rcu(struct rcu_head *rcu)
{
	struct dgfs_chunk *chunk = container_of(rcu, struct dgfs_chunk, rcu);

	kfree(chunk->path_name);
	kfree(chunk);
	atomic64_inc(&dgfs_objects_destroyed);
}

void dgfs_chunk_put(struct dgfs_chunk *chunk)
{
	if (!refcount_dec_and_test(&chunk->ref))
		return;
	/* fput() is safe in any context; from softirq it defers the close. */
	fput(chunk->file);
	call_rcu(&chunk->rcu, chunk_free_rcu);
}

static void count_lookup(struct dgfs_net *dn, bool hit)
{
	dgfs_count(dn, DGFS_C_LOOKUPS);
	if (hit)
		dgfs_count(dn, DGFS_C_LOOKUP_HITS);
}

struct dgfs_chunk *dgfs_chunk_get(struct dgfs_net *dn, const u8 *id)
{
	struct dgfs_chunk *chunk;

	rcu_read_lock();
	chunk = rhashtable_lookup(&dn->index, id, chunk_index_params);
	if (chunk && !refcount_inc_not_zero(&chunk->ref))
		chunk = NULL;
	rcu_read_unlock();
	count_lookup(dn, chunk);
	return chunk;
}

struct dgfs_chunk *dgfs_chunk_find_locked(struct dgfs_net *dn, const u8 *id)
{
	lockdep_assert_held(&dn->lock);
	return rhashtable_lookup_fast(&dn->index, id, chunk_index_params);
}

/* Refuse what could name a file outside the store before even looking;
 * LOOKUP_BENEATH below also catches symlinks that leave it.
 */
static int chunk_path_check(const char *path_name,
			    struct netlink_ext_ack *extack)
{
	const char *p = path_name;

	if (!*p) {
		NL_SET_ERR_MSG(extack, "chunk path is empty");
		return -EINVAL;
	}
	if (*p == '/') {
		NL_SET_ERR_MSG(extack, "chunk path must be relative to its store");
		return -EINVAL;
	}
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			NL_SET_ERR_MSG(extack, "chunk path may not contain '..'");
			return -EINVAL;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	return 0;
}

static struct file *chunk_open(struct dgfs_store *store, const char *path_name,
			       struct netlink_ext_ack *extack)
{
	struct path path;
	struct file *file;
	int ret;

	ret = vfs_path_lookup(store->root.dentry, store->root.mnt, path_name,
			      LOOKUP_FOLLOW | LOOKUP_BENEATH |
			      LOOKUP_NO_MAGICLINKS, &path);
	if (ret == -EXDEV) {
		NL_SET_ERR_MSG(extack, "chunk path leaves its store");
		return ERR_PTR(ret);
	}
	if (ret == -ENOENT) {
		NL_SET_ERR_MSG(extack, "chunk file does not exist");
		return ERR_PTR(ret);
	}
	if (ret == -EACCES) {
		NL_SET_ERR_MSG(extack, "a directory on the chunk path is not searchable by the caller");
		return ERR_PTR(ret);
	}
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "cannot resolve chunk path");
		return ERR_PTR(ret);
	}
	if (!d_is_reg(path.dentry)) {
		NL_SET_ERR_MSG(extack, "chunk file is not a regular file");
		file = ERR_PTR(-EINVAL);
		goto out;
	}
	/* dentry_open() checks no permission (only the LSM's): make it the
	 * open(O_RDONLY) the caller could do itself, as may_open() would.
	 * The module serves the file to the network later with no
	 * credentials at all, so nobody may make it serve what they cannot
	 * read.
	 */
	ret = inode_permission(mnt_user_ns(path.mnt), d_inode(path.dentry),
			       MAY_OPEN | MAY_READ);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "chunk file is not readable by the caller");
		file = ERR_PTR(ret);
		goto out;
	}
	file = dentry_open(&path, O_RDONLY | O_LARGEFILE, current_cred());
	if (IS_ERR(file)) {
		NL_SET_ERR_MSG(extack, "cannot open chunk file");
		goto out;
	}
	/* Replies are served from the page cache, read in through the
	 * mapping's read_folio; a filesystem without one (tmpfs on 6.1)
	 * cannot be served this way.
	 */
	if (!file->f_mapping->a_ops->read_folio) {
		NL_SET_ERR_MSG(extack, "chunk file's filesystem cannot be served from the page cache (tmpfs?)");
		fput(file);
		file = ERR_PTR(-EOPNOTSUPP);
	}
out:
	path_put(&path);
	return file;
}

/* Everything one add checks, and its file opened; not in the index yet. */
static struct dgfs_chunk *chunk_prepare(struct dgfs_net *dn, const u8 *id,
					struct dgfs_store *store,
					const char *path_name,
					const u64 *want_size,
					struct netlink_ext_ack *extack)
{
	struct dgfs_chunk *chunk;
	struct file *file;
	u64 size;
	int ret;

	lockdep_assert_held(&dn->lock);

	if (dgfs_chunk_find_locked(dn, id)) {
		NL_SET_ERR_MSG(extack, "a chunk with this id exists");
		return ERR_PTR(-EEXIST);
	}
	ret = chunk_path_check(path_name, extack);
	if (ret < 0)
		return ERR_PTR(ret);
	file = chunk_open(store, path_name, extack);
	if (IS_ERR(file))
		return ERR_CAST(file);

	size = i_size_read(file_inode(file));
	if (!size) {
		NL_SET_ERR_MSG(extack, "chunk file is empty");
		ret = -EINVAL;
		goto err_file;
	}
	/* The wire protocol's size field is 32 bits wide. */
	if (size > U32_MAX) {
		NL_SET_ERR_MSG(extack, "chunk file is 4 GiB or larger; the protocol's limit is 4 GiB - 1");
		ret = -EFBIG;
		goto err_file;
	}
	if (want_size && *want_size != size) {
		NL_SET_ERR_MSG(extack, "size does not match the chunk file's size");
		ret = -EINVAL;
		goto err_file;
	}

	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL_ACCOUNT);
	if (!chunk) {
		ret = -ENOMEM;
		goto err_file;
	}
	chunk->path_name = kstrdup(path_name, GFP_KERNEL_ACCOUNT);
	if (!chunk->path_name) {
		ret = -ENOMEM;
		goto err_chunk;
	}
	memcpy(chunk->id, id, DGFS_CHUNK_ID_LEN);
	refcount_set(&chunk->ref, 1);	/* the index's */
	chunk->size = size;
	chunk->file = file;
	chunk->store = store;
	return chunk;

err_chunk:
	kfree(chunk);
err_file:
	fput(file);
	return ERR_PTR(ret);
}

/* A prepared chunk that never went into the index: nobody else saw it. */
static void chunk_discard(struct dgfs_chunk *chunk)
{
	fput(chunk->file);
	kfree(chunk->path_name);
	kfree(chunk);
}

static int chunk_insert(struct dgfs_net *dn, struct dgfs_chunk *chunk,
			struct netlink_ext_ack *extack)
{
	int ret;

	ret = rhashtable_insert_fast(&dn->index, &chunk->node,
				     chunk_index_params);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "cannot insert into the chunk index");
		return ret;
	}
	list_add_tail(&chunk->list, &dn->chunks);
	chunk->store->nr_chunks++;
	chunk->store->bytes += chunk->size;
	dn->nr_chunks++;
	dn->chunk_bytes += chunk->size;
	atomic64_inc(&dgfs_objects_created);
	return 0;
}

struct dgfs_chunk *dgfs_chunk_add(struct dgfs_net *dn, const u8 *id,
				  struct dgfs_store *store,
				  const char *path_name, const u64 *want_size,
				  struct netlink_ext_ack *extack)
{
	struct dgfs_chunk *chunk;
	int ret;

	chunk = chunk_prepare(dn, id, store, path_name, want_size, extack);
	if (IS_ERR(chunk))
		return chunk;
	ret = chunk_insert(dn, chunk, extack);
	if (ret < 0) {
		chunk_discard(chunk);
		return ERR_PTR(ret);
	}
	dgfs_net_changed(dn);
	return chunk;
}

static int entry_id_cmp(const void *a, const void *b)
{
	const struct dgfs_chunk_entry *x = *(const struct dgfs_chunk_entry **)a;
	const struct dgfs_chunk_entry *y = *(const struct dgfs_chunk_entry **)b;

	return memcmp(x->id, y->id, DGFS_CHUNK_ID_LEN);
}

/* Two entries with one id: the later one is the bad one. Sorted, not
 * compared pairwise: a full message would be half a million memcmp()s.
 */
static int entries_check_distinct(const struct dgfs_chunk_entry *e,
				  unsigned int n,
				  struct netlink_ext_ack *extack)
{
	const struct dgfs_chunk_entry **by_id;
	const struct dgfs_chunk_entry *dup = NULL;
	unsigned int i;

	by_id = kvmalloc_array(n, sizeof(*by_id), GFP_KERNEL_ACCOUNT);
	if (!by_id)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		by_id[i] = &e[i];
	sort(by_id, n, sizeof(*by_id), entry_id_cmp, NULL);
	for (i = 1; i < n; i++) {
		if (memcmp(by_id[i - 1]->id, by_id[i]->id, DGFS_CHUNK_ID_LEN))
			continue;
		if (!dup || max(by_id[i - 1], by_id[i]) < dup)
			dup = max(by_id[i - 1], by_id[i]);
	}
	kvfree(by_id);
	if (dup) {
		NL_SET_ERR_MSG_ATTR(extack, dup->nla,
				    "an earlier entry of this message has the same chunk id");
		return -EEXIST;
	}
	return 0;
}

static void chunk_unlink(struct dgfs_net *dn, struct dgfs_chunk *chunk);

int dgfs_chunk_add_many(struct dgfs_net *dn, struct dgfs_store *store,
			const struct dgfs_chunk_entry *e, unsigned int n,
			struct netlink_ext_ack *extack)
{
	struct dgfs_chunk **chunks;
	unsigned int i, done = 0;
	int ret;

	lockdep_assert_held(&dn->lock);

	ret = entries_check_distinct(e, n, extack);
	if (ret < 0)
		return ret;
	chunks = kvcalloc(n, sizeof(*chunks), GFP_KERNEL_ACCOUNT);
	if (!chunks)
		return -ENOMEM;

	/* Every entry checked and opened first: a refused one leaves the
	 * index as it was, never seen by a lookup.
	 */
	for (i = 0; i < n; i++) {
		chunks[i] = chunk_prepare(dn, e[i].id, store, e[i].path_name,
					  e[i].want_size, extack);
		if (IS_ERR(chunks[i])) {
			ret = PTR_ERR(chunks[i]);
			/* The entry is the bad attribute; the message says why. */
			NL_SET_BAD_ATTR(extack, e[i].nla);
			goto err_prepared;
		}
		cond_resched();
	}
	/* Only memory can fail here (ids are new and distinct): take back
	 * what went in before it.
	 */
	for (done = 0; done < n; done++) {
		ret = chunk_insert(dn, chunks[done], extack);
		if (ret < 0) {
			NL_SET_BAD_ATTR(extack, e[done].nla);
			goto err_inserted;
		}
	}
	dgfs_net_changed(dn);
	kvfree(chunks);
	return 0;

err_inserted:
	for (i = done; i < n; i++)
		chunk_discard(chunks[i]);
	while (done--)
		chunk_unlink(dn, chunks[done]);
	kvfree(chunks);
	return ret;

err_prepared:
	while (i--)
		chunk_discard(chunks[i]);
	kvfree(chunks);
	return ret;
}

static void chunk_unlink(struct dgfs_net *dn, struct dgfs_chunk *chunk)
{
	rhashtable_remove_fast(&dn->index, &chunk->node, chunk_index_params);
	list_del(&chunk->list);
	chunk->store->nr_chunks--;
	chunk->store->bytes -= chunk->size;
	chunk->store = NULL;
	dn->nr_chunks--;
	dn->chunk_bytes -= chunk->size;
	dgfs_net_changed(dn);
	dgfs_chunk_put(chunk);	/* the index's reference */
}

int dgfs_chunk_del(struct dgfs_net *dn, const u8 *id,
		   struct netlink_ext_ack *extack)
{
	struct dgfs_chunk *chunk;

	lockdep_assert_held(&dn->lock);
	chunk = dgfs_chunk_find_locked(dn, id);
	if (!chunk) {
		NL_SET_ERR_MSG(extack, "no chunk with this id");
		return -ENOENT;
	}
	chunk_unlink(dn, chunk);
	return 0;
}

void dgfs_chunk_flush(struct dgfs_net *dn)
{
	struct dgfs_chunk *chunk, *tmp;

	lockdep_assert_held(&dn->lock);
	list_for_each_entry_safe(chunk, tmp, &dn->chunks, list)
		chunk_unlink(dn, chunk);
}
