// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs.ko: serves file chunks of a dgfs storage host from the kernel.
 * This file only brings the parts up and down, in order.
 */
#include <linux/module.h>
#include <linux/rcupdate.h>

#include "dgfs.h"

atomic64_t dgfs_objects_created = ATOMIC64_INIT(0);
atomic64_t dgfs_objects_destroyed = ATOMIC64_INIT(0);

static int __init dgfs_mod_init(void)
{
	int ret;

	ret = dgfs_ring_init();
	if (ret < 0)
		goto err_ring;

	ret = dgfs_netns_init();
	if (ret < 0)
		goto err_netns;

	ret = dgfs_genl_init();
	if (ret < 0)
		goto err_genl;

	/* Last: a registered kfunc set cannot be withdrawn; it goes with the
	 * module's BTF when the module is freed.
	 */
	ret = dgfs_kfunc_init();
	if (ret < 0)
		goto err_kfunc;

	pr_info("loaded\n");
	return 0;

err_kfunc:
	dgfs_genl_uninit();
err_genl:
	dgfs_netns_uninit();
err_netns:
	dgfs_ring_uninit();
err_ring:
	return ret;
}

static void __exit dgfs_mod_exit(void)
{
	s64 created, destroyed;

	dgfs_genl_uninit();
	dgfs_netns_uninit();
	dgfs_ring_uninit();
	/* Chunks are freed in RCU callbacks; wait for every one of them. */
	rcu_barrier();

	created = atomic64_read(&dgfs_objects_created);
	destroyed = atomic64_read(&dgfs_objects_destroyed);
	if (created != destroyed)
		pr_err("leak: objects created %lld destroyed %lld\n",
		       created, destroyed);
	else
		pr_info("unloaded, objects created %lld destroyed %lld\n",
			created, destroyed);
}

module_init(dgfs_mod_init);
module_exit(dgfs_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dgfs: kernel chunk server for dgfs storage hosts");
/* No MODULE_ALIAS_GENL_FAMILY: any user's lookup of the family would load
 * the module (and give every namespace its state). Storage hosts load it
 * on purpose (modprobe dgfs, or modules-load.d).
 */
