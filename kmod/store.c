// SPDX-License-Identifier: GPL-2.0
/*
 * Stores: directories that hold chunk files. A chunk's file is named
 * relative to its store and may never resolve outside it. A store's
 * directory is looked up, and must be searchable, with the credentials of
 * the caller that adds it.
 */
#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/netlink.h>

#include "dgfs.h"

struct dgfs_store *dgfs_store_find(struct dgfs_net *dn, const char *name)
{
	struct dgfs_store *store;

	lockdep_assert_held(&dn->lock);
	list_for_each_entry(store, &dn->stores, list)
		if (!strcmp(store->name, name))
			return store;
	return NULL;
}

/* Names appear in paths and CLI output: keep them to a safe alphabet. */
static bool store_name_valid(const char *name)
{
	const char *p;

	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (p = name; *p; p++)
		if (!isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
			return false;
	return true;
}

struct dgfs_store *dgfs_store_add(struct dgfs_net *dn, const char *name,
				  const char *path_name,
				  struct netlink_ext_ack *extack)
{
	struct dgfs_store *store, *other;
	struct path root;
	int ret;

	lockdep_assert_held(&dn->lock);

	if (!store_name_valid(name)) {
		NL_SET_ERR_MSG(extack, "store name may hold only A-Z a-z 0-9 _ - . and may not be . or ..");
		return ERR_PTR(-EINVAL);
	}
	if (dgfs_store_find(dn, name)) {
		NL_SET_ERR_MSG(extack, "a store with this name exists");
		return ERR_PTR(-EEXIST);
	}
	if (path_name[0] != '/') {
		NL_SET_ERR_MSG(extack, "store path must be absolute");
		return ERR_PTR(-EINVAL);
	}

	ret = kern_path(path_name, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &root);
	if (ret == -ENOTDIR) {
		NL_SET_ERR_MSG(extack, "store path is not a directory");
		return ERR_PTR(ret);
	}
	if (ret == -ENOENT) {
		NL_SET_ERR_MSG(extack, "store path does not exist");
		return ERR_PTR(ret);
	}
	if (ret == -EACCES) {
		NL_SET_ERR_MSG(extack, "a directory on the store path is not searchable by the caller");
		return ERR_PTR(ret);
	}
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "cannot resolve store path");
		return ERR_PTR(ret);
	}

	/* Netlink runs in the caller's context: the walk above was already
	 * the caller's; the store's own directory must be searchable too.
	 */
	ret = inode_permission(mnt_user_ns(root.mnt), d_inode(root.dentry),
			       MAY_EXEC);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "store directory is not searchable by the caller");
		goto err_path;
	}

	list_for_each_entry(other, &dn->stores, list) {
		if (path_equal(&other->root, &root)) {
			NL_SET_ERR_MSG(extack, "this directory is already a store");
			ret = -EEXIST;
			goto err_path;
		}
	}

	/* A namespace with a store is a storage host: it gets its rings,
	 * then takes the port (whose socket feeds them).
	 */
	ret = dgfs_net_start(dn);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "cannot allocate the fast path's rings");
		goto err_path;
	}
	ret = dgfs_sockets_open(dn, rcu_dereference_protected(dn->config,
			lockdep_is_held(&dn->lock))->port, extack);
	if (ret < 0)
		goto err_path;

	store = kzalloc(sizeof(*store), GFP_KERNEL);
	if (!store) {
		ret = -ENOMEM;
		goto err_path;
	}
	store->path_name = kstrdup(path_name, GFP_KERNEL);
	if (!store->path_name) {
		ret = -ENOMEM;
		goto err_store;
	}
	strscpy(store->name, name, sizeof(store->name));
	store->root = root;
	list_add_tail(&store->list, &dn->stores);
	dn->nr_stores++;
	dgfs_net_changed(dn);
	atomic64_inc(&dgfs_objects_created);
	return store;

err_store:
	kfree(store);
err_path:
	path_put(&root);
	return ERR_PTR(ret);
}

static void store_destroy(struct dgfs_net *dn, struct dgfs_store *store)
{
	list_del(&store->list);
	dn->nr_stores--;
	dgfs_net_changed(dn);
	path_put(&store->root);
	kfree(store->path_name);
	kfree(store);
	atomic64_inc(&dgfs_objects_destroyed);
}

int dgfs_store_del(struct dgfs_net *dn, const char *name,
		   struct netlink_ext_ack *extack)
{
	struct dgfs_store *store;

	lockdep_assert_held(&dn->lock);
	store = dgfs_store_find(dn, name);
	if (!store) {
		NL_SET_ERR_MSG(extack, "no store with this name");
		return -ENOENT;
	}
	if (store->nr_chunks) {
		NL_SET_ERR_MSG(extack, "store still holds chunks; delete them first");
		return -EBUSY;
	}
	store_destroy(dn, store);
	return 0;
}

/* Namespace teardown, after every chunk is gone. */
void dgfs_store_flush(struct dgfs_net *dn)
{
	struct dgfs_store *store, *tmp;

	lockdep_assert_held(&dn->lock);
	list_for_each_entry_safe(store, tmp, &dn->stores, list) {
		WARN_ON_ONCE(store->nr_chunks);
		store_destroy(dn, store);
	}
}
