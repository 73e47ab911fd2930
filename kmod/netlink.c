// SPDX-License-Identifier: GPL-2.0
/*
 * The "dgfs" generic netlink family: how operators and dgfsd configure the
 * module. The attribute tree is drawn in include/uapi/linux/dgfs.h.
 */
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/stringify.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "dgfs.h"

static const struct nla_policy store_policy[DGFS_STORE_A_MAX + 1] = {
	[DGFS_STORE_A_NAME] = { .type = NLA_NUL_STRING,
				.len = DGFS_STORE_NAME_MAX - 1 },
	[DGFS_STORE_A_PATH] = { .type = NLA_NUL_STRING, .len = PATH_MAX - 1 },
	[DGFS_STORE_A_CHUNKS] = { .type = NLA_REJECT,
				  .reject_message = "chunks is read only" },
	[DGFS_STORE_A_BYTES] = { .type = NLA_REJECT,
				 .reject_message = "bytes is read only" },
};

static const struct nla_policy chunk_policy[DGFS_CHUNK_A_MAX + 1] = {
	[DGFS_CHUNK_A_ID] = NLA_POLICY_EXACT_LEN(DGFS_CHUNK_ID_LEN),
	[DGFS_CHUNK_A_STORE] = { .type = NLA_NUL_STRING,
				 .len = DGFS_STORE_NAME_MAX - 1 },
	[DGFS_CHUNK_A_PATH] = { .type = NLA_NUL_STRING, .len = PATH_MAX - 1 },
	[DGFS_CHUNK_A_SIZE] = { .type = NLA_U64 },
};

static const struct nla_policy chunks_policy[DGFS_CHUNKS_A_MAX + 1] = {
	[DGFS_CHUNKS_A_STORE] = { .type = NLA_NUL_STRING,
				  .len = DGFS_STORE_NAME_MAX - 1 },
	[DGFS_CHUNKS_A_ENTRY] = NLA_POLICY_NESTED(chunk_policy),
};

/* Too wide for NLA_POLICY_RANGE's 16-bit bounds. */
static struct netlink_range_validation max_read_range = {
	.min = 1,
	.max = DGFS_MAX_READ_LIMIT,
};

static const struct nla_policy config_policy[DGFS_CONFIG_A_MAX + 1] = {
	[DGFS_CONFIG_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[DGFS_CONFIG_A_MAX_READ] = NLA_POLICY_FULL_RANGE(NLA_U32,
							 &max_read_range),
	[DGFS_CONFIG_A_AUTH_KEY] = NLA_POLICY_EXACT_LEN(DGFS_AUTH_KEY_LEN),
	[DGFS_CONFIG_A_AUTH] = NLA_POLICY_MAX(NLA_U8, 1),
	[DGFS_CONFIG_A_BALANCE] = NLA_POLICY_MAX(NLA_U8, 1),
	[DGFS_CONFIG_A_AUTH_KEY_SET] = { .type = NLA_REJECT,
					 .reject_message = "auth_key_set is read only" },
};

static const struct nla_policy dgfs_policy[DGFS_A_MAX + 1] = {
	[DGFS_A_STORE] = NLA_POLICY_NESTED(store_policy),
	[DGFS_A_CHUNK] = NLA_POLICY_NESTED(chunk_policy),
	[DGFS_A_CONFIG] = NLA_POLICY_NESTED(config_policy),
	[DGFS_A_STATS] = { .type = NLA_REJECT,
			   .reject_message = "stats are read only" },
	[DGFS_A_CHUNKS] = NLA_POLICY_NESTED(chunks_policy),
	[DGFS_A_LATENCY] = { .type = NLA_REJECT,
			     .reject_message = "latencies are read only" },
	[DGFS_A_CLIENT] = { .type = NLA_REJECT,
			    .reject_message = "clients are read only" },
};

static struct genl_family dgfs_genl_family;

/* A missing attribute: point at it and say which. */
#define DGFS_REQUIRE(extack, nest, tb, type, msg) ({			\
	bool __missing = NL_REQ_ATTR_CHECK(extack, nest, tb, type);	\
	if (__missing)							\
		NL_SET_ERR_MSG(extack, msg);				\
	__missing;							\
})

/* Parse the one nest a command is about into tb[]; it must be there. */
static int parse_nest(struct genl_info *info, int type,
		      const struct nla_policy *policy, int maxtype,
		      struct nlattr **tb)
{
	if (!info->attrs[type]) {
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, type);
		NL_SET_ERR_MSG(info->extack, "missing the command's object attribute");
		return -EINVAL;
	}
	return nla_parse_nested(tb, maxtype, info->attrs[type], policy,
				info->extack);
}

static struct dgfs_net *info_dgfs_net(struct genl_info *info)
{
	return dgfs_net(genl_info_net(info));
}

/* The answer to a "get": a message with its genl header in place. */
static struct sk_buff *reply_new(struct genl_info *info, u8 cmd, void **hdr)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put_reply(msg, info, &dgfs_genl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* ---- stores ---------------------------------------------------------- */

static int store_fill(struct sk_buff *skb, const struct dgfs_store *store)
{
	struct nlattr *nest = nla_nest_start(skb, DGFS_A_STORE);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(skb, DGFS_STORE_A_NAME, store->name) ||
	    nla_put_string(skb, DGFS_STORE_A_PATH, store->path_name) ||
	    nla_put_u32(skb, DGFS_STORE_A_CHUNKS, store->nr_chunks) ||
	    nla_put_u64_64bit(skb, DGFS_STORE_A_BYTES, store->bytes,
			      DGFS_STORE_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int dgfs_nl_store_add(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[DGFS_STORE_A_MAX + 1];
	struct dgfs_net *dn = info_dgfs_net(info);
	struct dgfs_store *store;
	struct nlattr *nest = info->attrs[DGFS_A_STORE];
	int ret;

	ret = parse_nest(info, DGFS_A_STORE, store_policy, DGFS_STORE_A_MAX, tb);
	if (ret < 0)
		return ret;
	if (DGFS_REQUIRE(info->extack, nest, tb, DGFS_STORE_A_NAME,
			 "missing store name") ||
	    DGFS_REQUIRE(info->extack, nest, tb, DGFS_STORE_A_PATH,
			 "missing store path"))
		return -EINVAL;

	mutex_lock(&dn->lock);
	store = dgfs_store_add(dn, nla_data(tb[DGFS_STORE_A_NAME]),
			       nla_data(tb[DGFS_STORE_A_PATH]), info->extack);
	mutex_unlock(&dn->lock);
	return PTR_ERR_OR_ZERO(store);
}

static int dgfs_nl_store_del(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[DGFS_STORE_A_MAX + 1];
	struct dgfs_net *dn = info_dgfs_net(info);
	int ret;

	ret = parse_nest(info, DGFS_A_STORE, store_policy, DGFS_STORE_A_MAX, tb);
	if (ret < 0)
		return ret;
	if (DGFS_REQUIRE(info->extack, info->attrs[DGFS_A_STORE], tb,
			 DGFS_STORE_A_NAME, "missing store name"))
		return -EINVAL;

	mutex_lock(&dn->lock);
	ret = dgfs_store_del(dn, nla_data(tb[DGFS_STORE_A_NAME]), info->extack);
	mutex_unlock(&dn->lock);
	return ret;
}

static int dgfs_nl_store_get(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[DGFS_STORE_A_MAX + 1];
	struct dgfs_net *dn = info_dgfs_net(info);
	struct dgfs_store *store;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	ret = parse_nest(info, DGFS_A_STORE, store_policy, DGFS_STORE_A_MAX, tb);
	if (ret < 0)
		return ret;
	if (DGFS_REQUIRE(info->extack, info->attrs[DGFS_A_STORE], tb,
			 DGFS_STORE_A_NAME, "missing store name"))
		return -EINVAL;

	msg = reply_new(info, DGFS_CMD_STORE_GET, &hdr);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&dn->lock);
	store = dgfs_store_find(dn, nla_data(tb[DGFS_STORE_A_NAME]));
	if (store)
		ret = store_fill(msg, store);
	mutex_unlock(&dn->lock);
	if (!store) {
		NL_SET_ERR_MSG(info->extack, "no store with this name");
		ret = -ENOENT;
	}
	if (ret < 0)
		goto err;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

/*
 * Dumps walk a list under the mutex and keep their place as a count in
 * cb->args[0]; cb->seq carries the generation the dump started from, so a
 * change between two parts marks the dump NLM_F_DUMP_INTR and the reader
 * starts over rather than trusting a torn view.
 */
static void *dump_hdr(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq, &dgfs_genl_family,
				NLM_F_MULTI, cmd);

	if (hdr)
		genl_dump_check_consistent(cb, hdr);
	return hdr;
}

static int dgfs_nl_store_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dgfs_net *dn = dgfs_net(sock_net(skb->sk));
	struct dgfs_store *store;
	long idx = 0, start = cb->args[0];
	int ret = 0;

	mutex_lock(&dn->lock);
	cb->seq = dn->generation;
	list_for_each_entry(store, &dn->stores, list) {
		void *hdr;

		if (idx++ < start)
			continue;
		hdr = dump_hdr(skb, cb, DGFS_CMD_STORE_GET);
		if (!hdr || store_fill(skb, store) < 0) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			idx--;
			/* Not even one fits in an empty message: never will. */
			if (!skb->len)
				ret = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&dn->lock);
	cb->args[0] = idx;
	return ret ?: skb->len;
}

/* ---- chunks ---------------------------------------------------------- */

static int chunk_fill(struct sk_buff *skb, const struct dgfs_chunk *chunk)
{
	struct nlattr *nest = nla_nest_start(skb, DGFS_A_CHUNK);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put(skb, DGFS_CHUNK_A_ID, DGFS_CHUNK_ID_LEN, chunk->id) ||
	    nla_put_string(skb, DGFS_CHUNK_A_STORE, chunk->store->name) ||
	    nla_put_string(skb, DGFS_CHUNK_A_PATH, chunk->path_name) ||
	    nla_put_u64_64bit(skb, DGFS_CHUNK_A_SIZE, chunk->size,
			      DGFS_CHUNK_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* The entries of a DGFS_A_CHUNKS (validated by the policy already) into
 * @e, which has room for @n. The store is the list's: an entry that names
 * one is refused rather than silently overruled.
 */
static int chunks_parse_entries(const struct nlattr *list,
				struct dgfs_chunk_entry *e, unsigned int n,
				struct netlink_ext_ack *extack)
{
	struct nlattr *tb[DGFS_CHUNK_A_MAX + 1];
	const struct nlattr *nla;
	unsigned int i = 0;
	int rem, ret;

	nla_for_each_nested(nla, list, rem) {
		if (nla_type(nla) != DGFS_CHUNKS_A_ENTRY)
			continue;
		if (i >= n)	/* counted just before: cannot be */
			return -EINVAL;
		ret = nla_parse_nested(tb, DGFS_CHUNK_A_MAX, nla, chunk_policy,
				       extack);
		if (ret < 0)
			return ret;
		if (DGFS_REQUIRE(extack, nla, tb, DGFS_CHUNK_A_ID,
				 "missing chunk id") ||
		    DGFS_REQUIRE(extack, nla, tb, DGFS_CHUNK_A_PATH,
				 "missing chunk path"))
			return -EINVAL;
		if (tb[DGFS_CHUNK_A_STORE]) {
			NL_SET_ERR_MSG_ATTR(extack, tb[DGFS_CHUNK_A_STORE],
					    "an entry takes the list's store, not its own");
			return -EINVAL;
		}
		e[i].id = nla_data(tb[DGFS_CHUNK_A_ID]);
		e[i].path_name = nla_data(tb[DGFS_CHUNK_A_PATH]);
		if (tb[DGFS_CHUNK_A_SIZE]) {
			e[i].size = nla_get_u64(tb[DGFS_CHUNK_A_SIZE]);
			e[i].want_size = &e[i].size;
		}
		e[i].nla = nla;
		i++;
	}
	return 0;
}

/* DGFS_A_CHUNKS: up to DGFS_CHUNKS_MAX chunks of one store, all or none. */
static int chunk_add_many(struct genl_info *info)
{
	struct nlattr *tb[DGFS_CHUNKS_A_MAX + 1];
	struct nlattr *list = info->attrs[DGFS_A_CHUNKS];
	struct dgfs_net *dn = info_dgfs_net(info);
	struct dgfs_chunk_entry *entries;
	struct dgfs_store *store;
	const struct nlattr *nla;
	unsigned int n = 0, stores = 0;
	int rem, ret;

	ret = nla_parse_nested(tb, DGFS_CHUNKS_A_MAX, list, chunks_policy,
			       info->extack);
	if (ret < 0)
		return ret;
	nla_for_each_nested(nla, list, rem) {
		if (nla_type(nla) == DGFS_CHUNKS_A_ENTRY)
			n++;
		else if (nla_type(nla) == DGFS_CHUNKS_A_STORE)
			stores++;
	}
	if (DGFS_REQUIRE(info->extack, list, tb, DGFS_CHUNKS_A_STORE,
			 "missing chunk store"))
		return -EINVAL;
	if (stores > 1) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[DGFS_CHUNKS_A_STORE],
				    "the store is given more than once");
		return -EINVAL;
	}
	if (!n) {
		NL_SET_ERR_MSG_ATTR(info->extack, list, "no chunk entries");
		return -EINVAL;
	}
	/* Bounds the memory and the time the namespace's lock is held. */
	if (n > DGFS_CHUNKS_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, list,
				    "more than " __stringify(DGFS_CHUNKS_MAX) " chunk entries in one message");
		return -E2BIG;
	}

	entries = kvcalloc(n, sizeof(*entries), GFP_KERNEL_ACCOUNT);
	if (!entries)
		return -ENOMEM;
	ret = chunks_parse_entries(list, entries, n, info->extack);
	if (ret < 0)
		goto out;

	mutex_lock(&dn->lock);
	store = dgfs_store_find(dn, nla_data(tb[DGFS_CHUNKS_A_STORE]));
	if (!store) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[DGFS_CHUNKS_A_STORE],
				    "no store with this name");
		ret = -ENOENT;
	} else {
		ret = dgfs_chunk_add_many(dn, store, entries, n, info->extack);
	}
	mutex_unlock(&dn->lock);
out:
	kvfree(entries);
	return ret;
}

static int dgfs_nl_chunk_add(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[DGFS_CHUNK_A_MAX + 1];
	struct nlattr *nest = info->attrs[DGFS_A_CHUNK];
	struct dgfs_net *dn = info_dgfs_net(info);
	struct dgfs_store *store;
	struct dgfs_chunk *chunk;
	u64 size, *want_size = NULL;
	int ret;

	if (info->attrs[DGFS_A_CHUNKS]) {
		if (nest) {
			NL_SET_ERR_MSG_ATTR(info->extack, nest,
					    "one chunk or a list of chunks, not both");
			return -EINVAL;
		}
		return chunk_add_many(info);
	}
	ret = parse_nest(info, DGFS_A_CHUNK, chunk_policy, DGFS_CHUNK_A_MAX, tb);
	if (ret < 0)
		return ret;
	if (DGFS_REQUIRE(info->extack, nest, tb, DGFS_CHUNK_A_ID,
			 "missing chunk id") ||
	    DGFS_REQUIRE(info->extack, nest, tb, DGFS_CHUNK_A_STORE,
			 "missing chunk store") ||
	    DGFS_REQUIRE(info->extack, nest, tb, DGFS_CHUNK_A_PATH,
			 "missing chunk path"))
		return -EINVAL;
	if (tb[DGFS_CHUNK_A_SIZE]) {
		size = nla_get_u64(tb[DGFS_CHUNK_A_SIZE]);
		want_size = &size;
	}

	mutex_lock(&dn->lock);
	store = dgfs_store_find(dn, nla_data(tb[DGFS_CHUNK_A_STORE]));
	if (!store) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[DGFS_CHUNK_A_STORE],
				    "no store with this name");
		chunk = ERR_PTR(-ENOENT);
	} else {
		chunk = dgfs_chunk_add(dn, nla_data(tb[DGFS_CHUNK_A_ID]), store,
				       nla_data(tb[DGFS_CHUNK_A_PATH]),
				       want_size, info->extack);
	}
	mutex_unlock(&dn->lock);
	return PTR_ERR_OR_ZERO(chunk);
}

static int dgfs_nl_chunk_del(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[DGFS_CHUNK_A_MAX + 1];
	struct dgfs_net *dn = info_dgfs_net(info);
	int ret;

	ret = parse_nest(info, DGFS_A_CHUNK, chunk_policy, DGFS_CHUNK_A_MAX, tb);
	if (ret < 0)
		return ret;
	if (DGFS_REQUIRE(info->extack, info->attrs[DGFS_A_CHUNK], tb,
			 DGFS_CHUNK_A_ID, "missing chunk id"))
		return -EINVAL;

	mutex_lock(&dn->lock);
	ret = dgfs_chunk_del(dn, nla_data(tb[DGFS_CHUNK_A_ID]), info->extack);
	mutex_unlock(&dn->lock);
	return ret;
}

static int dgfs_nl_chunk_get(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[DGFS_CHUNK_A_MAX + 1];
	struct dgfs_net *dn = info_dgfs_net(info);
	struct dgfs_chunk *chunk;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	ret = parse_nest(info, DGFS_A_CHUNK, chunk_policy, DGFS_CHUNK_A_MAX, tb);
	if (ret < 0)
		return ret;
	if (DGFS_REQUIRE(info->extack, info->attrs[DGFS_A_CHUNK], tb,
			 DGFS_CHUNK_A_ID, "missing chunk id"))
		return -EINVAL;

	msg = reply_new(info, DGFS_CMD_CHUNK_GET, &hdr);
	if (!msg)
		return -ENOMEM;

	/* The same lookup the fast path makes (and counts), plus the lock
	 * so that the chunk's store cannot go while it is printed.
	 */
	mutex_lock(&dn->lock);
	chunk = dgfs_chunk_get(dn, nla_data(tb[DGFS_CHUNK_A_ID]));
	if (chunk) {
		ret = chunk_fill(msg, chunk);
		dgfs_chunk_put(chunk);
	} else {
		NL_SET_ERR_MSG(info->extack, "no chunk with this id");
		ret = -ENOENT;
	}
	mutex_unlock(&dn->lock);
	if (ret < 0)
		goto err;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

/* cb->args[0]: entries done; cb->args[1]: 1 when filtering by store, which
 * then is found again by name on every part (it may have gone meanwhile).
 */
static int dgfs_nl_chunk_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct dgfs_net *dn = dgfs_net(sock_net(skb->sk));
	struct nlattr *tb[DGFS_CHUNK_A_MAX + 1] = {};
	struct dgfs_store *only = NULL;
	struct dgfs_chunk *chunk;
	long idx = 0, start = cb->args[0];
	int ret = 0;

	if (info->attrs[DGFS_A_CHUNK]) {
		ret = nla_parse_nested(tb, DGFS_CHUNK_A_MAX,
				       info->attrs[DGFS_A_CHUNK], chunk_policy,
				       cb->extack);
		if (ret < 0)
			return ret;
	}

	mutex_lock(&dn->lock);
	cb->seq = dn->generation;
	if (tb[DGFS_CHUNK_A_STORE]) {
		only = dgfs_store_find(dn, nla_data(tb[DGFS_CHUNK_A_STORE]));
		if (!only) {
			NL_SET_ERR_MSG(cb->extack, "no store with this name");
			ret = -ENOENT;
			goto out;
		}
	}
	list_for_each_entry(chunk, &dn->chunks, list) {
		void *hdr;

		if (only && chunk->store != only)
			continue;
		if (idx++ < start)
			continue;
		hdr = dump_hdr(skb, cb, DGFS_CMD_CHUNK_GET);
		if (!hdr || chunk_fill(skb, chunk) < 0) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			idx--;
			if (!skb->len)
				ret = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	cb->args[0] = idx;
out:
	mutex_unlock(&dn->lock);
	return ret ?: skb->len;
}

/* ---- config ---------------------------------------------------------- */

static int dgfs_nl_config_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[DGFS_CONFIG_A_MAX + 1];
	struct dgfs_net *dn = info_dgfs_net(info);
	struct dgfs_config *old, *new;
	int ret;

	ret = parse_nest(info, DGFS_A_CONFIG, config_policy,
			 DGFS_CONFIG_A_MAX, tb);
	if (ret < 0)
		return ret;
	if (!tb[DGFS_CONFIG_A_PORT] && !tb[DGFS_CONFIG_A_MAX_READ] &&
	    !tb[DGFS_CONFIG_A_AUTH_KEY] && !tb[DGFS_CONFIG_A_AUTH] &&
	    !tb[DGFS_CONFIG_A_BALANCE]) {
		NL_SET_ERR_MSG(info->extack, "nothing to set");
		return -EINVAL;
	}

	/* All of it or nothing: readers see either the old or the new. */
	new = kmalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	mutex_lock(&dn->lock);
	old = rcu_dereference_protected(dn->config, lockdep_is_held(&dn->lock));
	*new = *old;
	if (tb[DGFS_CONFIG_A_PORT])
		new->port = nla_get_u16(tb[DGFS_CONFIG_A_PORT]);
	if (tb[DGFS_CONFIG_A_MAX_READ])
		new->max_read = nla_get_u32(tb[DGFS_CONFIG_A_MAX_READ]);
	if (tb[DGFS_CONFIG_A_AUTH])
		new->auth = nla_get_u8(tb[DGFS_CONFIG_A_AUTH]);
	if (tb[DGFS_CONFIG_A_BALANCE])
		new->balance = nla_get_u8(tb[DGFS_CONFIG_A_BALANCE]);
	if (tb[DGFS_CONFIG_A_AUTH_KEY]) {
		memcpy(new->key, nla_data(tb[DGFS_CONFIG_A_AUTH_KEY]),
		       DGFS_AUTH_KEY_LEN);
		new->key_set = true;
	}
	/* A storage host moves its sockets to the new port first: if the
	 * port is taken, nothing changes.
	 */
	if (rcu_access_pointer(dn->sock4) && new->port != old->port) {
		int ret = dgfs_sockets_open(dn, new->port, info->extack);

		if (ret < 0) {
			mutex_unlock(&dn->lock);
			kfree_sensitive(new);
			return ret;
		}
	}
	rcu_assign_pointer(dn->config, new);
	dgfs_net_changed(dn);
	/* Once per change, loud: without tokens the host answers anyone,
	 * also requests with forged sources (docs/SECURITY.md).
	 */
	if (old->auth && !new->auth)
		pr_warn("netns %u: auth off: every chunk is readable by anyone who reaches port %u, and forged requests make this host an open reflector\n",
			dn->net->ns.inum, new->port);
	mutex_unlock(&dn->lock);
	/* Rare and never on a fast path: simply wait out the readers. */
	synchronize_rcu();
	kfree_sensitive(old);
	return 0;
}

static int dgfs_nl_config_get(struct sk_buff *skb, struct genl_info *info)
{
	struct dgfs_net *dn = info_dgfs_net(info);
	const struct dgfs_config *config;
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;

	msg = reply_new(info, DGFS_CMD_CONFIG_GET, &hdr);
	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, DGFS_A_CONFIG);
	if (!nest)
		goto err;

	rcu_read_lock();
	config = rcu_dereference(dn->config);
	/* The key itself never leaves the kernel. */
	if (nla_put_u16(msg, DGFS_CONFIG_A_PORT, config->port) ||
	    nla_put_u32(msg, DGFS_CONFIG_A_MAX_READ, config->max_read) ||
	    nla_put_u8(msg, DGFS_CONFIG_A_AUTH, config->auth) ||
	    nla_put_u8(msg, DGFS_CONFIG_A_AUTH_KEY_SET, config->key_set) ||
	    nla_put_u8(msg, DGFS_CONFIG_A_BALANCE, config->balance)) {
		rcu_read_unlock();
		goto err;
	}
	rcu_read_unlock();
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* ---- stats ----------------------------------------------------------- */

/* Each per-CPU counter and the attribute it is reported as. */
static const u16 counter_attr[DGFS_C_MAX] = {
	[DGFS_C_LOOKUPS] = DGFS_STATS_A_LOOKUPS,
	[DGFS_C_LOOKUP_HITS] = DGFS_STATS_A_LOOKUP_HITS,
	[DGFS_C_REQUESTS] = DGFS_STATS_A_REQUESTS,
	[DGFS_C_REPLIES] = DGFS_STATS_A_REPLIES,
	[DGFS_C_DATAGRAMS] = DGFS_STATS_A_DATAGRAMS,
	[DGFS_C_BYTES] = DGFS_STATS_A_BYTES,
	[DGFS_C_MALFORMED] = DGFS_STATS_A_MALFORMED,
	[DGFS_C_RING_FULL] = DGFS_STATS_A_RING_FULL,
	[DGFS_C_TOKEN_REJECTED] = DGFS_STATS_A_TOKEN_REJECTED,
	[DGFS_C_NOENT] = DGFS_STATS_A_NOENT,
	[DGFS_C_RANGE] = DGFS_STATS_A_RANGE,
	[DGFS_C_IO_ERRORS] = DGFS_STATS_A_IO_ERRORS,
	[DGFS_C_OVERLOADED] = DGFS_STATS_A_OVERLOADED,
	[DGFS_C_CACHE_MISSES] = DGFS_STATS_A_CACHE_MISSES,
	[DGFS_C_SEND_ERRORS] = DGFS_STATS_A_SEND_ERRORS,
	[DGFS_C_STACK_REQUESTS] = DGFS_STATS_A_STACK_REQUESTS,
	[DGFS_C_SRC_UNSPEC] = DGFS_STATS_A_SRC_UNSPEC,
	[DGFS_C_SRC_LOOPBACK] = DGFS_STATS_A_SRC_LOOPBACK,
	[DGFS_C_SRC_MULTICAST] = DGFS_STATS_A_SRC_MULTICAST,
	[DGFS_C_SRC_MAPPED] = DGFS_STATS_A_SRC_MAPPED,
	[DGFS_C_SRC_LOCAL] = DGFS_STATS_A_SRC_LOCAL,
	[DGFS_C_BAD_DST] = DGFS_STATS_A_BAD_DST,
	[DGFS_C_NO_RINGS] = DGFS_STATS_A_NO_RINGS,
	[DGFS_C_CLIENT_FULL] = DGFS_STATS_A_CLIENT_FULL,
	[DGFS_C_BALANCED] = DGFS_STATS_A_BALANCED,
};

/* The histograms, each with its attribute in DGFS_A_LATENCY. */
static const u16 hist_attr[DGFS_H_MAX] = {
	[DGFS_H_REQUEST] = DGFS_LATENCY_A_REQUEST,
	[DGFS_H_DISK] = DGFS_LATENCY_A_DISK,
};

static int latency_fill(struct sk_buff *msg, struct dgfs_net *dn)
{
	struct nlattr *nest, *hist;
	u64 buckets[DGFS_HIST_BUCKETS], sum;
	int h;

	nest = nla_nest_start(msg, DGFS_A_LATENCY);
	if (!nest)
		return -EMSGSIZE;
	for (h = 0; h < DGFS_H_MAX; h++) {
		dgfs_latency_sum(dn, h, buckets, &sum);
		hist = nla_nest_start(msg, hist_attr[h]);
		if (!hist ||
		    nla_put(msg, DGFS_HIST_A_BUCKETS, sizeof(buckets), buckets) ||
		    nla_put_u64_64bit(msg, DGFS_HIST_A_SUM, sum, DGFS_HIST_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(msg, hist);
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int dgfs_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct dgfs_net *dn = info_dgfs_net(info);
	u64 stores, chunks, bytes, rings, queued, queued_max;
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;
	int c;

	mutex_lock(&dn->lock);
	stores = dn->nr_stores;
	chunks = dn->nr_chunks;
	bytes = dn->chunk_bytes;
	rings = dn->rings ? num_possible_cpus() : 0;
	mutex_unlock(&dn->lock);
	dgfs_rings_queued(dn, &queued, &queued_max);

	msg = reply_new(info, DGFS_CMD_STATS_GET, &hdr);
	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, DGFS_A_STATS);
	if (!nest)
		goto err;
	if (nla_put_u64_64bit(msg, DGFS_STATS_A_STORES, stores, DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_CHUNKS, chunks, DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_CHUNK_BYTES, bytes,
			      DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_OBJ_CREATED,
			      atomic64_read(&dgfs_objects_created),
			      DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_OBJ_DESTROYED,
			      atomic64_read(&dgfs_objects_destroyed),
			      DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_RINGS, rings, DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_SLOW_READS,
			      atomic_read(&dn->slow_reads), DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_QUEUED, queued, DGFS_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, DGFS_STATS_A_QUEUED_MAX, queued_max,
			      DGFS_STATS_A_PAD))
		goto err;
	for (c = 0; c < DGFS_C_MAX; c++)
		if (nla_put_u64_64bit(msg, counter_attr[c],
				      dgfs_counter_sum(dn, c), DGFS_STATS_A_PAD))
			goto err;
	nla_nest_end(msg, nest);
	if (latency_fill(msg, dn))
		goto err;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* ---- clients --------------------------------------------------------- */

static int client_fill(struct sk_buff *skb, const struct dgfs_client_stat *st)
{
	struct nlattr *nest = nla_nest_start(skb, DGFS_A_CLIENT);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put(skb, DGFS_CLIENT_A_ADDR, sizeof(st->addr), st->addr) ||
	    nla_put_u32(skb, DGFS_CLIENT_A_CPU, st->cpu) ||
	    nla_put_u64_64bit(skb, DGFS_CLIENT_A_REQUESTS, st->requests,
			      DGFS_CLIENT_A_PAD) ||
	    nla_put_u8(skb, DGFS_CLIENT_A_SHARED, st->shared)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Every flow of every ring that served a request: at most DGFS_FLOWS (256)
 * per CPU, read without a lock (ring.c), so a dump is a snapshot of no
 * one instant, as the counters are.
 */
static int dgfs_nl_clients_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dgfs_net *dn = dgfs_net(sock_net(skb->sk));
	unsigned long pos = cb->args[0], at;
	struct dgfs_client_stat st;
	int ret = 0;

	for (at = pos; dgfs_rings_client(dn, &pos, &st); at = pos) {
		void *hdr = dump_hdr(skb, cb, DGFS_CMD_CLIENTS_GET);

		if (!hdr || client_fill(skb, &st) < 0) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			pos = at;	/* this one again, in the next part */
			if (!skb->len)
				ret = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	cb->args[0] = pos;
	return ret ?: skb->len;
}

/*
 * The module opens files with its callers' credentials but then serves them
 * to the network with none, so every change needs CAP_NET_ADMIN in the
 * initial user namespace (GENL_ADMIN_PERM): root of a user namespace made
 * by anyone (unshare -Urn) is not enough. Store paths and chunk ids are
 * shown to the same callers only: an id is all a reader needs when auth is
 * off, and names content the host holds. Config (never the key) and stats
 * are for anyone in the namespace. docs/SECURITY.md has the reasoning.
 */
static const struct genl_small_ops dgfs_genl_ops[] = {
	{
		.cmd = DGFS_CMD_STORE_ADD,
		.doit = dgfs_nl_store_add,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DGFS_CMD_STORE_DEL,
		.doit = dgfs_nl_store_del,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DGFS_CMD_STORE_GET,
		.doit = dgfs_nl_store_get,
		.dumpit = dgfs_nl_store_dump,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DGFS_CMD_CHUNK_ADD,
		.doit = dgfs_nl_chunk_add,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DGFS_CMD_CHUNK_DEL,
		.doit = dgfs_nl_chunk_del,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DGFS_CMD_CHUNK_GET,
		.doit = dgfs_nl_chunk_get,
		.dumpit = dgfs_nl_chunk_dump,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DGFS_CMD_CONFIG_SET,
		.doit = dgfs_nl_config_set,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DGFS_CMD_CONFIG_GET,
		.doit = dgfs_nl_config_get,
	}, {
		.cmd = DGFS_CMD_STATS_GET,
		.doit = dgfs_nl_stats_get,
	}, {
		/* Who reads from this host: the operator's to know. */
		.cmd = DGFS_CMD_CLIENTS_GET,
		.dumpit = dgfs_nl_clients_dump,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family dgfs_genl_family __ro_after_init = {
	.name = DGFS_GENL_NAME,
	.version = DGFS_GENL_VERSION,
	.maxattr = DGFS_A_MAX,
	.policy = dgfs_policy,
	.netnsok = true,
	/* A new family: strict validation for every command. */
	.resv_start_op = DGFS_CMD_STATS_GET + 1,
	.small_ops = dgfs_genl_ops,
	.n_small_ops = ARRAY_SIZE(dgfs_genl_ops),
	.module = THIS_MODULE,
};

int __init dgfs_genl_init(void)
{
	return genl_register_family(&dgfs_genl_family);
}

void dgfs_genl_uninit(void)
{
	genl_unregister_family(&dgfs_genl_family);
}
