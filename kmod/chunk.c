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
#include <linux/slab.h>
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

struct dgfs_chunk *dgfs_chunk_add(struct dgfs_net *dn, const u8 *id,
				  struct dgfs_store *store,
				  const char *path_name, const u64 *want_size,
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

	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk) {
		ret = -ENOMEM;
		goto err_file;
	}
	chunk->path_name = kstrdup(path_name, GFP_KERNEL);
	if (!chunk->path_name) {
		ret = -ENOMEM;
		goto err_chunk;
	}
	memcpy(chunk->id, id, DGFS_CHUNK_ID_LEN);
	refcount_set(&chunk->ref, 1);	/* the index's */
	chunk->size = size;
	chunk->file = file;
	chunk->store = store;

	ret = rhashtable_insert_fast(&dn->index, &chunk->node,
				     chunk_index_params);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "cannot insert into the chunk index");
		goto err_path;
	}
	list_add_tail(&chunk->list, &dn->chunks);
	store->nr_chunks++;
	store->bytes += size;
	dn->nr_chunks++;
	dn->chunk_bytes += size;
	dgfs_net_changed(dn);
	atomic64_inc(&dgfs_objects_created);
	return chunk;

err_path:
	kfree(chunk->path_name);
err_chunk:
	kfree(chunk);
err_file:
	fput(file);
	return ERR_PTR(ret);
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
