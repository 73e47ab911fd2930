// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd's generic netlink client for dgfs.ko (see kmod.h).
 *
 * One socket behind a mutex. Every request is sent, then the socket is read
 * until the request's final NLMSG_ERROR (an ack, for a "do") or NLMSG_DONE
 * (a dump) has come, so a later request never finds leftovers of this one.
 * Replies are walked and parsed here rather than through libnl's callbacks:
 * the parsers take a plain struct nlmsghdr, check every length themselves
 * and can be fed hand-built messages by the unit tests.
 *
 * Results are collected under the mutex and handed to the caller's callback
 * only once the request is complete and the mutex released: a torn dump is
 * retried from scratch without the callback ever seeing a duplicate, and a
 * callback may call back into this client.
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "kmod.h"
#include "dgfs_stats_names.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Attempts at a dump that keeps coming back with NLM_F_DUMP_INTR. */
#define KMOD_DUMP_ATTEMPTS	5
/* Room for the largest request: a chunk with a PATH_MAX path and its store. */
#define KMOD_MSG_SIZE		(PATH_MAX + 1024)
/* The kernel's extack messages are short literals; longer ones are cut. */
#define KMOD_EXT_LEN		256

struct kmod {
	pthread_mutex_t lock;
	/* NULL after a socket-level failure: the next call starts afresh. */
	struct nl_sock *sock;
	int family;
};

/* The counters of DGFS_A_STATS, named as dgfsctl prints them. */
struct kmod_stat {
	const char *name;
	int attr;
};

static const struct kmod_stat kmod_stats[] = {
#define X(name, attr) { #name, DGFS_STATS_A_##attr },
	DGFS_STATS_NAMES(X)
#undef X
};

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define KMOD_NSTATS ARRAY_SIZE(kmod_stats)

/* A counter added to the uapi needs a name here (and in dgfsctl). */
_Static_assert(KMOD_NSTATS == DGFS_STATS_A_MAX - 1,
	       "kmod_stats[] must name every DGFS_STATS_A_* but UNSPEC and PAD");

/*
 * Tests only (they #include this file; NULL in dgfsd): called with the lock
 * held after each datagram of an answer still incomplete, with the
 * request's sequence number, so that a test can change the index between
 * the parts of a dump and see it retried.
 */
static void (*kmod_recv_hook)(uint32_t seq);

/* ---- logging and errors ------------------------------------------------ */

static void kmod_log(const char *what, int err, const char *ext)
{
	fprintf(stderr, "dgfsd: kmod: %s: %s%s%s\n", what, strerror(-err),
		ext && ext[0] ? ": " : "", ext ? ext : "");
}

/* libnl reports socket failures as NLE_* codes; callers want errnos. */
static int kmod_nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_PERM:
		return -EPERM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_MSGSIZE:
	case NLE_MSG_TRUNC:
		return -EMSGSIZE;
	case NLE_BAD_SOCK:
		return -EBADF;
	default:
		return -EIO;
	}
}

/* ---- parsing what the kernel sends ------------------------------------- */

/*
 * The error number of an NLMSG_ERROR or NLMSG_DONE message (0 or a negative
 * errno) and, in ext, the kernel's extack message ("" if none). The message
 * must be nlh->nlmsg_len bytes long; everything inside is bounds-checked.
 */
static int kmod_parse_status(const struct nlmsghdr *nlh, char *ext, size_t extlen)
{
	const unsigned char *base = (const unsigned char *)nlh;
	const struct nlattr *a;
	size_t len = nlh->nlmsg_len, off;
	int error, rem;

	ext[0] = '\0';
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr e;

		if (len < NLMSG_HDRLEN + sizeof(e))
			return -EBADMSG;
		memcpy(&e, base + NLMSG_HDRLEN, sizeof(e));
		error = e.error;
		off = NLMSG_HDRLEN + sizeof(e);
		/*
		 * We ask for capped acks, but an old kernel echoes the whole
		 * request; its header is already part of struct nlmsgerr.
		 */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
			if (e.msg.nlmsg_len < NLMSG_HDRLEN ||
			    e.msg.nlmsg_len - NLMSG_HDRLEN > len - off)
				return -EBADMSG;
			off += e.msg.nlmsg_len - NLMSG_HDRLEN;
		}
	} else if (nlh->nlmsg_type == NLMSG_DONE) {
		/* A dump's end carries the dump's own error. */
		if (len < NLMSG_HDRLEN + sizeof(error))
			return -EBADMSG;
		memcpy(&error, base + NLMSG_HDRLEN, sizeof(error));
		off = NLMSG_HDRLEN + sizeof(error);
	} else {
		return -EBADMSG;
	}
	/* The kernel sends negative errnos; anything else is garbage. */
	if (error > 0 || error < -4095)
		return -EBADMSG;

	off = NLMSG_ALIGN(off);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= len)
		return error;
	rem = (int)(len - off);
	for (a = (const struct nlattr *)(base + off); nla_ok(a, rem); a = nla_next(a, &rem)) {
		const char *s = nla_data(a);
		size_t n = (size_t)nla_len(a);

		if (nla_type(a) != NLMSGERR_ATTR_MSG)
			continue;
		/* Only a NUL-terminated string is taken; cut to fit. */
		if (n == 0 || strnlen(s, n) == n)
			break;
		n = strnlen(s, n);
		if (n >= extlen)
			n = extlen - 1;
		memcpy(ext, s, n);
		ext[n] = '\0';
		break;
	}
	return error;
}

/*
 * Index the attributes in [data, data + len) by type into tb[0..maxtype].
 * Types above maxtype are skipped (a newer kernel may add some), as are
 * @pad's alignment fillers; a repeated type, or bytes that do not form a
 * whole attribute, make the lot malformed.
 */
static int kmod_attrs(const void *data, int len, const struct nlattr **tb, int maxtype, int pad)
{
	const struct nlattr *a;
	int rem = len;

	memset(tb, 0, sizeof(*tb) * (size_t)(maxtype + 1));
	for (a = data; nla_ok(a, rem); a = nla_next(a, &rem)) {
		int type = nla_type(a);

		if (type == 0 || type == pad || type > maxtype)
			continue;
		if (tb[type])
			return -EBADMSG;
		tb[type] = a;
	}
	return rem > 0 ? -EBADMSG : 0;
}

/*
 * Of a reply to @cmd, the top-level attribute @type's nested attributes,
 * indexed into tb. The nest must be there; what it holds is the caller's.
 */
static int kmod_reply_attrs(const struct nlmsghdr *nlh, uint8_t cmd, int type,
			    const struct nlattr **tb, int maxtype, int pad)
{
	const unsigned char *base = (const unsigned char *)nlh;
	const struct nlattr *top[DGFS_A_MAX + 1];
	struct genlmsghdr g;
	int hdr = NLMSG_HDRLEN + GENL_HDRLEN;

	if (nlh->nlmsg_len < (uint32_t)hdr)
		return -EBADMSG;
	memcpy(&g, base + NLMSG_HDRLEN, sizeof(g));
	if (g.cmd != cmd ||
	    kmod_attrs(base + hdr, (int)nlh->nlmsg_len - hdr, top, DGFS_A_MAX, -1) ||
	    !top[type])
		return -EBADMSG;
	return kmod_attrs(nla_data(top[type]), nla_len(top[type]), tb, maxtype, pad);
}

/* A fixed-size value: present and exactly @len bytes, or false. */
static bool kmod_get(const struct nlattr *a, void *v, size_t len)
{
	if (!a || (size_t)nla_len(a) != len)
		return false;
	memcpy(v, nla_data(a), len);
	return true;
}

/* A flag sent as a u8: present, one byte, 0 or 1. */
static bool kmod_get_bool(const struct nlattr *a, bool *v)
{
	uint8_t u;

	if (!kmod_get(a, &u, sizeof(u)) || u > 1)
		return false;
	*v = u;
	return true;
}

/*
 * A string: present, non-empty, NUL-terminated exactly at its end (as
 * nla_put_string() makes it) and shorter than @max with the NUL. NULL if not.
 */
static const char *kmod_get_str(const struct nlattr *a, size_t max)
{
	const char *s;
	size_t len;

	if (!a)
		return NULL;
	s = nla_data(a);
	len = (size_t)nla_len(a);
	if (len < 2 || len > max || strnlen(s, len) != len - 1)
		return NULL;
	return s;
}

/* One store, as DGFS_CMD_STORE_GET answers; the strings point into nlh. */
struct kmod_store_info {
	const char *name;
	const char *path;
	uint32_t chunks;
	uint64_t bytes;
};

static int kmod_parse_store(const struct nlmsghdr *nlh, struct kmod_store_info *s)
{
	const struct nlattr *tb[DGFS_STORE_A_MAX + 1];

	if (kmod_reply_attrs(nlh, DGFS_CMD_STORE_GET, DGFS_A_STORE, tb, DGFS_STORE_A_MAX,
			     DGFS_STORE_A_PAD))
		return -EBADMSG;
	s->name = kmod_get_str(tb[DGFS_STORE_A_NAME], DGFS_STORE_NAME_MAX);
	s->path = kmod_get_str(tb[DGFS_STORE_A_PATH], PATH_MAX);
	if (!s->name || !s->path ||
	    !kmod_get(tb[DGFS_STORE_A_CHUNKS], &s->chunks, sizeof(s->chunks)) ||
	    !kmod_get(tb[DGFS_STORE_A_BYTES], &s->bytes, sizeof(s->bytes)))
		return -EBADMSG;
	return 0;
}

/* One chunk, as DGFS_CMD_CHUNK_GET answers; the store name points into nlh. */
struct kmod_chunk_info {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	const char *store;
	uint64_t size;
};

static int kmod_parse_chunk(const struct nlmsghdr *nlh, struct kmod_chunk_info *c)
{
	const struct nlattr *tb[DGFS_CHUNK_A_MAX + 1];

	if (kmod_reply_attrs(nlh, DGFS_CMD_CHUNK_GET, DGFS_A_CHUNK, tb, DGFS_CHUNK_A_MAX,
			     DGFS_CHUNK_A_PAD))
		return -EBADMSG;
	c->store = kmod_get_str(tb[DGFS_CHUNK_A_STORE], DGFS_STORE_NAME_MAX);
	if (!c->store || !kmod_get_str(tb[DGFS_CHUNK_A_PATH], PATH_MAX) ||
	    !kmod_get(tb[DGFS_CHUNK_A_ID], c->id, DGFS_CHUNK_ID_LEN) ||
	    !kmod_get(tb[DGFS_CHUNK_A_SIZE], &c->size, sizeof(c->size)))
		return -EBADMSG;
	return 0;
}

static int kmod_parse_config(const struct nlmsghdr *nlh, struct kmod_config *cfg)
{
	const struct nlattr *tb[DGFS_CONFIG_A_MAX + 1];

	if (kmod_reply_attrs(nlh, DGFS_CMD_CONFIG_GET, DGFS_A_CONFIG, tb, DGFS_CONFIG_A_MAX, -1) ||
	    !kmod_get(tb[DGFS_CONFIG_A_PORT], &cfg->port, sizeof(cfg->port)) ||
	    !kmod_get(tb[DGFS_CONFIG_A_MAX_READ], &cfg->max_read, sizeof(cfg->max_read)) ||
	    !kmod_get_bool(tb[DGFS_CONFIG_A_AUTH], &cfg->auth) ||
	    !kmod_get_bool(tb[DGFS_CONFIG_A_AUTH_KEY_SET], &cfg->key_set))
		return -EBADMSG;
	return 0;
}

/*
 * The counters in kmod_stats[] order; have[i] says whether the kernel sent
 * counter i (one it does not know yet is simply not reported).
 */
static int kmod_parse_stats(const struct nlmsghdr *nlh, uint64_t val[KMOD_NSTATS],
			    bool have[KMOD_NSTATS])
{
	const struct nlattr *tb[DGFS_STATS_A_MAX + 1];
	size_t i;

	if (kmod_reply_attrs(nlh, DGFS_CMD_STATS_GET, DGFS_A_STATS, tb, DGFS_STATS_A_MAX,
			     DGFS_STATS_A_PAD))
		return -EBADMSG;
	for (i = 0; i < KMOD_NSTATS; i++) {
		const struct nlattr *a = tb[kmod_stats[i].attr];

		have[i] = a != NULL;
		if (a && !kmod_get(a, &val[i], sizeof(val[i])))
			return -EBADMSG;
	}
	return 0;
}

/* One histogram of DGFS_A_LATENCY: its buckets exactly, and its sum. */
static int kmod_parse_hist(const struct nlattr *nest, struct lat_hist *h)
{
	const struct nlattr *tb[DGFS_HIST_A_MAX + 1];

	if (!nest || kmod_attrs(nla_data(nest), nla_len(nest), tb, DGFS_HIST_A_MAX,
				DGFS_HIST_A_PAD) ||
	    !kmod_get(tb[DGFS_HIST_A_BUCKETS], h->b, sizeof(h->b)) ||
	    !kmod_get(tb[DGFS_HIST_A_SUM], &h->sum_ns, sizeof(h->sum_ns)))
		return -EBADMSG;
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

struct kmod_req {
	/* Called for each of the family's messages; 0 or a negative errno. */
	int (*parse)(const struct nlmsghdr *nlh, void *arg);
	void *arg;
	/* Results: */
	int perr;		/* first failure of parse(), or a stray message */
	bool intr;		/* a message had NLM_F_DUMP_INTR */
	char ext[KMOD_EXT_LEN];	/* the kernel's extack message, or "" */
};

/*
 * Walk one datagram of the answer to request @seq. Returns 1 while more is
 * to come, else the request's final status (0 or a negative errno).
 * Messages of another sequence number are the tail of an abandoned request
 * and are skipped; parse failures go to req->perr, and the walk goes on to
 * the end so that the socket is left clean.
 */
static int kmod_walk(int family, uint32_t seq, const void *buf, int len, struct kmod_req *req)
{
	const struct nlmsghdr *nlh;
	int rem = len;

	for (nlh = buf; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
		int err;

		if (nlh->nlmsg_seq != seq)
			continue;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			req->intr = true;
		if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE)
			return kmod_parse_status(nlh, req->ext, sizeof(req->ext));
		if (nlh->nlmsg_type == NLMSG_NOOP)
			continue;
		if (nlh->nlmsg_type != family || !req->parse)
			err = -EBADMSG;
		else if (req->perr)
			continue;
		else
			err = req->parse(nlh, req->arg);
		if (err && !req->perr)
			req->perr = err;
	}
	/* Bytes left over: a message cut short. */
	if (rem > 0 && !req->perr)
		req->perr = -EBADMSG;
	return 1;
}

static void kmod_disconnect(struct kmod *k)
{
	nl_socket_free(k->sock);	/* NULL is fine */
	k->sock = NULL;
	k->family = 0;
}

/* A socket, the family resolved; ext gets a hint when it fails. */
static int kmod_connect(struct kmod *k, char *ext, size_t extlen)
{
	int one = 1, err;

	k->sock = nl_socket_alloc();
	if (!k->sock)
		return -ENOMEM;
	err = genl_connect(k->sock);
	if (err < 0) {
		snprintf(ext, extlen, "connecting to generic netlink");
		goto fail;
	}
	err = genl_ctrl_resolve(k->sock, DGFS_GENL_NAME);
	if (err == -NLE_OBJ_NOTFOUND) {
		snprintf(ext, extlen, "no generic netlink family \"%s\" (dgfs.ko not loaded?)",
			 DGFS_GENL_NAME);
		goto fail;
	}
	if (err < 0) {
		snprintf(ext, extlen, "resolving generic netlink family \"%s\"", DGFS_GENL_NAME);
		goto fail;
	}
	k->family = err;

	/*
	 * From here on the socket is ours alone: our own NLM_F_ACK, our own
	 * sequence checks, replies of any size (MSG_PEEK), the kernel's error
	 * messages (EXT_ACK) and no echo of the request in them (CAP_ACK).
	 * A kernel without the two options still works, with less to say.
	 */
	nl_socket_disable_auto_ack(k->sock);
	nl_socket_enable_msg_peek(k->sock);
	setsockopt(nl_socket_get_fd(k->sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(k->sock), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;

fail:
	kmod_disconnect(k);
	return kmod_nl_errno(err);
}

/*
 * A request for @cmd, a "do" with NLM_F_ACK or a dump. The family is filled
 * in on sending, as it may change with a new socket; NULL if out of memory.
 */
static struct nl_msg *kmod_msg(uint8_t cmd, bool dump)
{
	struct nl_msg *msg = nlmsg_alloc_size(KMOD_MSG_SIZE);

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 0, 0,
				dump ? NLM_F_DUMP : NLM_F_ACK, cmd, DGFS_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/* The strict policies want NLA_F_NESTED on every nest. */
static struct nlattr *kmod_nest(struct nl_msg *msg, int type)
{
	return nla_nest_start(msg, type | NLA_F_NESTED);
}

/* Send @msg and read its whole answer. Called with k->lock held. */
static int kmod_transact(struct kmod *k, struct nl_msg *msg, struct kmod_req *req)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int status = 1, err;

	req->perr = 0;
	req->intr = false;
	req->ext[0] = '\0';
	if (!k->sock) {
		err = kmod_connect(k, req->ext, sizeof(req->ext));
		if (err)
			return err;
	}

	/* A new sequence number for every attempt, so retries are told apart. */
	nlh->nlmsg_type = (uint16_t)k->family;
	nlh->nlmsg_seq = NL_AUTO_SEQ;
	nlh->nlmsg_pid = NL_AUTO_PORT;
	err = nl_send_auto(k->sock, msg);
	if (err < 0) {
		kmod_disconnect(k);
		return kmod_nl_errno(err);
	}

	while (status > 0) {
		struct sockaddr_nl peer = { 0 };
		unsigned char *buf = NULL;
		int n = nl_recv(k->sock, &peer, &buf, NULL);

		if (n <= 0) {
			/*
			 * The socket failed, not the request: whatever is still
			 * queued on it is unusable, start over next time.
			 */
			free(buf);
			kmod_disconnect(k);
			return n < 0 ? kmod_nl_errno(n) : -EIO;
		}
		/* Only the kernel (port 0) answers requests. */
		if (peer.nl_pid == 0)
			status = kmod_walk(k->family, nlh->nlmsg_seq, buf, n, req);
		free(buf);
		if (status > 0 && kmod_recv_hook)
			kmod_recv_hook(nlh->nlmsg_seq);
	}
	return status < 0 ? status : req->perr;
}

/* ---- the API ------------------------------------------------------------ */

int kmod_open(struct kmod **out)
{
	char ext[KMOD_EXT_LEN] = "";
	struct kmod *k;
	int err;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (!k) {
		kmod_log("opening", -ENOMEM, NULL);
		return -ENOMEM;
	}
	err = pthread_mutex_init(&k->lock, NULL);
	if (err) {
		free(k);
		kmod_log("opening", -err, NULL);
		return -err;
	}
	err = kmod_connect(k, ext, sizeof(ext));
	if (err) {
		kmod_log("opening", err, ext);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return err;
	}
	*out = k;
	return 0;
}

void kmod_close(struct kmod *k)
{
	if (!k)
		return;
	kmod_disconnect(k);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* Lengths the kernel would refuse anyway, refused before building anything. */
static int kmod_check_str(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0)
		return -EINVAL;
	return n < max ? 0 : -ENAMETOOLONG;
}

static struct nl_msg *kmod_store_msg(uint8_t cmd, const char *name, const char *path)
{
	struct nl_msg *msg = kmod_msg(cmd, false);
	struct nlattr *nest;

	if (!msg)
		return NULL;
	nest = kmod_nest(msg, DGFS_A_STORE);
	if (!nest || nla_put_string(msg, DGFS_STORE_A_NAME, name) < 0 ||
	    (path && nla_put_string(msg, DGFS_STORE_A_PATH, path) < 0) ||
	    nla_nest_end(msg, nest) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* One "do" request with no reply but the ack; the message is consumed. */
static int kmod_do(struct kmod *k, struct nl_msg *msg, struct kmod_req *req)
{
	int err;

	if (!msg)
		return -ENOMEM;
	err = kmod_transact(k, msg, req);
	nlmsg_free(msg);
	return err;
}

struct kmod_store_get {
	const char *name;
	char path[PATH_MAX];
	bool got;
};

static int kmod_store_get_parse(const struct nlmsghdr *nlh, void *arg)
{
	struct kmod_store_get *g = arg;
	struct kmod_store_info s;

	/* One store, the one asked for. */
	if (g->got || kmod_parse_store(nlh, &s) || strcmp(s.name, g->name))
		return -EBADMSG;
	strcpy(g->path, s.path);	/* shorter than PATH_MAX: checked */
	g->got = true;
	return 0;
}

int kmod_store_ensure(struct kmod *k, const char *name, const char *path)
{
	struct kmod_store_get g = { .name = name };
	struct kmod_req add = { 0 }, get = { .parse = kmod_store_get_parse, .arg = &g };
	char what[PATH_MAX + 64];
	int err, gerr;

	snprintf(what, sizeof(what), "adding store \"%s\" at %s", name, path);
	err = kmod_check_str(name, DGFS_STORE_NAME_MAX) ?: kmod_check_str(path, PATH_MAX);
	if (err) {
		kmod_log(what, err, "name or path empty or too long");
		return err;
	}

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, kmod_store_msg(DGFS_CMD_STORE_ADD, name, path), &add);
	if (err != -EEXIST) {
		pthread_mutex_unlock(&k->lock);
		if (err)
			kmod_log(what, err, add.ext);
		return err;
	}
	/*
	 * The name or the directory is taken. Ours already, if a store of
	 * this name has this very path (as given: the kernel keeps it so).
	 */
	gerr = kmod_do(k, kmod_store_msg(DGFS_CMD_STORE_GET, name, NULL), &get);
	if (!gerr && !g.got)
		gerr = -EBADMSG;
	pthread_mutex_unlock(&k->lock);

	if (!gerr && !strcmp(g.path, path))
		return 0;
	if (!gerr) {
		size_t n = strlen(add.ext);

		snprintf(add.ext + n, sizeof(add.ext) - n, "%s(its path is %s)",
			 n ? " " : "", g.path);
	} else if (gerr != -ENOENT) {
		/* Not the name, then: another store has the directory. */
		snprintf(what, sizeof(what), "getting store \"%s\"", name);
		kmod_log(what, gerr, get.ext);
		return gerr;
	}
	kmod_log(what, err, add.ext);
	return err;
}

int kmod_store_check(struct kmod *k, const char *name, const char *path)
{
	struct kmod_store_get g = { .name = name };
	struct kmod_req get = { .parse = kmod_store_get_parse, .arg = &g };
	int err;

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, kmod_store_msg(DGFS_CMD_STORE_GET, name, NULL), &get);
	/* No socket left: the connect (the family's lookup) failed. */
	if (err && !k->sock)
		err = -ENODEV;
	pthread_mutex_unlock(&k->lock);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	return g.got && !strcmp(g.path, path);
}

void kmod_reset(struct kmod *k)
{
	pthread_mutex_lock(&k->lock);
	kmod_disconnect(k);
	pthread_mutex_unlock(&k->lock);
}

static void kmod_chunk_what(char *buf, size_t len, const char *verb,
			    const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	int n = snprintf(buf, len, "%s chunk ", verb);
	size_t i, at = n > 0 ? (size_t)n : 0;

	for (i = 0; i < DGFS_CHUNK_ID_LEN && at + 2 < len; i++) {
		buf[at++] = hex[id[i] >> 4];
		buf[at++] = hex[id[i] & 15];
	}
	if (at < len)
		buf[at] = '\0';
}

int kmod_chunk_add(struct kmod *k, const uint8_t id[DGFS_CHUNK_ID_LEN], const char *store,
		   const char *relpath, uint64_t size)
{
	struct kmod_req req = { 0 };
	struct nl_msg *msg = NULL;
	struct nlattr *nest;
	char what[128];
	int err;

	kmod_chunk_what(what, sizeof(what), "adding", id);
	err = kmod_check_str(store, DGFS_STORE_NAME_MAX) ?: kmod_check_str(relpath, PATH_MAX);
	if (err) {
		kmod_log(what, err, "store or path empty or too long");
		return err;
	}
	msg = kmod_msg(DGFS_CMD_CHUNK_ADD, false);
	nest = msg ? kmod_nest(msg, DGFS_A_CHUNK) : NULL;
	if (!nest || nla_put(msg, DGFS_CHUNK_A_ID, DGFS_CHUNK_ID_LEN, id) < 0 ||
	    nla_put_string(msg, DGFS_CHUNK_A_STORE, store) < 0 ||
	    nla_put_string(msg, DGFS_CHUNK_A_PATH, relpath) < 0 ||
	    nla_put_u64(msg, DGFS_CHUNK_A_SIZE, size) < 0 ||
	    nla_nest_end(msg, nest) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, msg, &req);
	pthread_mutex_unlock(&k->lock);
	if (err)
		kmod_log(what, err, req.ext);
	return err;
}

/* What KMOD_ADD_MANY_MAX entries of a 64-digit name take, with room to
 * spare; under the 64 KiB libnl's socket buffer lets one message be.
 */
#define KMOD_ADD_MANY_MSG_SIZE	(48 * 1024)

int kmod_chunk_add_many(struct kmod *k, const char *store,
			const struct kmod_chunk_new *v, size_t n)
{
	struct kmod_req req = { 0 };
	struct nlattr *list, *nest;
	struct nl_msg *msg;
	size_t i;
	int err;

	if (!n || n > KMOD_ADD_MANY_MAX || kmod_check_str(store, DGFS_STORE_NAME_MAX))
		return -EINVAL;
	msg = nlmsg_alloc_size(KMOD_ADD_MANY_MSG_SIZE);
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 0, 0, NLM_F_ACK,
				 DGFS_CMD_CHUNK_ADD, DGFS_GENL_VERSION))
		goto err_msg;
	list = kmod_nest(msg, DGFS_A_CHUNKS);
	if (!list || nla_put_string(msg, DGFS_CHUNKS_A_STORE, store) < 0)
		goto err_msg;
	for (i = 0; i < n; i++) {
		if (kmod_check_str(v[i].relpath, PATH_MAX))
			goto err_msg;
		nest = kmod_nest(msg, DGFS_CHUNKS_A_ENTRY);
		if (!nest || nla_put(msg, DGFS_CHUNK_A_ID, DGFS_CHUNK_ID_LEN, v[i].id) < 0 ||
		    nla_put_string(msg, DGFS_CHUNK_A_PATH, v[i].relpath) < 0 ||
		    nla_put_u64(msg, DGFS_CHUNK_A_SIZE, v[i].size) < 0 ||
		    nla_nest_end(msg, nest) < 0)
			goto err_msg;
	}
	if (nla_nest_end(msg, list) < 0)
		goto err_msg;

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, msg, &req);
	pthread_mutex_unlock(&k->lock);
	/* An old module's strict policy knows no DGFS_A_CHUNKS. */
	if (err == -EINVAL && !strcmp(req.ext, "Unknown attribute type"))
		err = -EOPNOTSUPP;
	return err;

err_msg:
	nlmsg_free(msg);
	return -EINVAL;
}

int kmod_chunk_del(struct kmod *k, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	struct nl_msg *msg = kmod_msg(DGFS_CMD_CHUNK_DEL, false);
	struct kmod_req req = { 0 };
	struct nlattr *nest;
	char what[128];
	int err;

	nest = msg ? kmod_nest(msg, DGFS_A_CHUNK) : NULL;
	if (!nest || nla_put(msg, DGFS_CHUNK_A_ID, DGFS_CHUNK_ID_LEN, id) < 0 ||
	    nla_nest_end(msg, nest) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, msg, &req);
	pthread_mutex_unlock(&k->lock);
	if (err) {
		kmod_chunk_what(what, sizeof(what), "deleting", id);
		kmod_log(what, err, req.ext);
	}
	return err;
}

struct kmod_chunk_ent {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	uint64_t size;
};

struct kmod_chunk_list {
	const char *store;	/* the filter, or NULL */
	struct kmod_chunk_ent *v;
	size_t n, cap;
};

static int kmod_chunk_list_parse(const struct nlmsghdr *nlh, void *arg)
{
	struct kmod_chunk_list *l = arg;
	struct kmod_chunk_info c;

	/* A chunk of another store than asked for is no answer to the dump. */
	if (kmod_parse_chunk(nlh, &c) || (l->store && strcmp(c.store, l->store)))
		return -EBADMSG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct kmod_chunk_ent *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n].id, c.id, DGFS_CHUNK_ID_LEN);
	l->v[l->n].size = c.size;
	l->n++;
	return 0;
}

static struct nl_msg *kmod_chunk_dump_msg(const char *store)
{
	struct nl_msg *msg = kmod_msg(DGFS_CMD_CHUNK_GET, true);
	struct nlattr *nest;

	if (!msg || !store)
		return msg;
	nest = kmod_nest(msg, DGFS_A_CHUNK);
	if (!nest || nla_put_string(msg, DGFS_CHUNK_A_STORE, store) < 0 ||
	    nla_nest_end(msg, nest) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int kmod_chunk_foreach(struct kmod *k, const char *store,
		       int (*cb)(const uint8_t id[DGFS_CHUNK_ID_LEN], uint64_t size, void *arg),
		       void *arg)
{
	struct kmod_chunk_list l = { .store = store };
	struct kmod_req req = { .parse = kmod_chunk_list_parse, .arg = &l };
	char what[64];
	int attempt, err = 0;
	size_t i;

	if (store)
		snprintf(what, sizeof(what), "dumping the chunks of store \"%.*s\"",
			 DGFS_STORE_NAME_MAX, store);
	else
		snprintf(what, sizeof(what), "dumping the chunks");
	if (store && kmod_check_str(store, DGFS_STORE_NAME_MAX)) {
		err = kmod_check_str(store, DGFS_STORE_NAME_MAX);
		kmod_log(what, err, "store name empty or too long");
		return err;
	}

	pthread_mutex_lock(&k->lock);
	for (attempt = 1; attempt <= KMOD_DUMP_ATTEMPTS; attempt++) {
		struct nl_msg *msg = kmod_chunk_dump_msg(store);

		l.n = 0;
		err = msg ? kmod_transact(k, msg, &req) : -ENOMEM;
		nlmsg_free(msg);
		/*
		 * NLM_F_DUMP_INTR: the index changed between two parts of
		 * the dump, which may have missed or repeated chunks.
		 */
		if (err || !req.intr)
			break;
	}
	pthread_mutex_unlock(&k->lock);
	if (!err && req.intr) {
		err = -EAGAIN;
		snprintf(req.ext, sizeof(req.ext),
			 "interrupted by concurrent changes %d times in a row", KMOD_DUMP_ATTEMPTS);
	}
	if (err) {
		kmod_log(what, err, req.ext);
		free(l.v);
		return err;
	}

	for (i = 0; i < l.n && !err; i++)
		err = cb(l.v[i].id, l.v[i].size, arg);
	free(l.v);
	return err;
}

int kmod_config_set(struct kmod *k, const uint8_t key[DGFS_AUTH_KEY_LEN], uint16_t port,
		    uint32_t max_read)
{
	struct kmod_req req = { 0 };
	struct nl_msg *msg;
	struct nlattr *nest;
	int err;

	/* Nothing to change is no error (the kernel would call it one). */
	if (!key && !port && !max_read)
		return 0;

	msg = kmod_msg(DGFS_CMD_CONFIG_SET, false);
	nest = msg ? kmod_nest(msg, DGFS_A_CONFIG) : NULL;
	if (!nest || (port && nla_put_u16(msg, DGFS_CONFIG_A_PORT, port) < 0) ||
	    (max_read && nla_put_u32(msg, DGFS_CONFIG_A_MAX_READ, max_read) < 0) ||
	    (key && nla_put(msg, DGFS_CONFIG_A_AUTH_KEY, DGFS_AUTH_KEY_LEN, key) < 0) ||
	    nla_nest_end(msg, nest) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}

	pthread_mutex_lock(&k->lock);
	err = msg ? kmod_transact(k, msg, &req) : -ENOMEM;
	pthread_mutex_unlock(&k->lock);
	/* The key must not linger in freed memory. */
	if (msg)
		explicit_bzero(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
	nlmsg_free(msg);
	if (err)
		kmod_log("setting the configuration", err, req.ext);
	return err;
}

struct kmod_config_get {
	struct kmod_config cfg;
	bool got;
};

static int kmod_config_get_parse(const struct nlmsghdr *nlh, void *arg)
{
	struct kmod_config_get *g = arg;

	if (g->got || kmod_parse_config(nlh, &g->cfg))
		return -EBADMSG;
	g->got = true;
	return 0;
}

int kmod_config_get(struct kmod *k, struct kmod_config *cfg)
{
	struct kmod_config_get g = { .got = false };
	struct kmod_req req = { .parse = kmod_config_get_parse, .arg = &g };
	int err;

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, kmod_msg(DGFS_CMD_CONFIG_GET, false), &req);
	pthread_mutex_unlock(&k->lock);
	if (!err && !g.got)
		err = -EBADMSG;		/* acked, but no configuration */
	if (err) {
		kmod_log("getting the configuration", err, req.ext);
		return err;
	}
	*cfg = g.cfg;
	return 0;
}

struct kmod_stats_get {
	uint64_t val[KMOD_NSTATS];
	bool have[KMOD_NSTATS];
	bool got;
};

static int kmod_stats_get_parse(const struct nlmsghdr *nlh, void *arg)
{
	struct kmod_stats_get *g = arg;

	if (g->got || kmod_parse_stats(nlh, g->val, g->have))
		return -EBADMSG;
	g->got = true;
	return 0;
}

int kmod_stats_foreach(struct kmod *k, void (*cb)(const char *name, uint64_t value, void *arg),
		       void *arg)
{
	struct kmod_stats_get g = { .got = false };
	struct kmod_req req = { .parse = kmod_stats_get_parse, .arg = &g };
	size_t i;
	int err;

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, kmod_msg(DGFS_CMD_STATS_GET, false), &req);
	pthread_mutex_unlock(&k->lock);
	if (!err && !g.got)
		err = -EBADMSG;
	if (err) {
		kmod_log("getting the statistics", err, req.ext);
		return err;
	}
	for (i = 0; i < KMOD_NSTATS; i++)
		if (g.have[i])
			cb(kmod_stats[i].name, g.val[i], arg);
	return 0;
}

struct kmod_latency_get {
	struct lat_hist *request, *disk;
	bool got, none;
};

static int kmod_latency_parse(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[DGFS_LATENCY_A_MAX + 1];
	struct kmod_latency_get *g = arg;

	if (g->got || g->none)
		return -EBADMSG;
	if (kmod_reply_attrs(nlh, DGFS_CMD_STATS_GET, DGFS_A_LATENCY, tb, DGFS_LATENCY_A_MAX,
			     -1)) {
		/* A reply to stats get, from a module that keeps none. */
		g->none = !kmod_reply_attrs(nlh, DGFS_CMD_STATS_GET, DGFS_A_STATS, tb, 0, -1);
		return g->none ? 0 : -EBADMSG;
	}
	if (kmod_parse_hist(tb[DGFS_LATENCY_A_REQUEST], g->request) ||
	    kmod_parse_hist(tb[DGFS_LATENCY_A_DISK], g->disk))
		return -EBADMSG;
	g->got = true;
	return 0;
}

int kmod_latency(struct kmod *k, struct lat_hist *request, struct lat_hist *disk)
{
	struct kmod_latency_get g = { .request = request, .disk = disk };
	struct kmod_req req = { .parse = kmod_latency_parse, .arg = &g };
	int err;

	pthread_mutex_lock(&k->lock);
	err = kmod_do(k, kmod_msg(DGFS_CMD_STATS_GET, false), &req);
	pthread_mutex_unlock(&k->lock);
	if (!err && g.none)
		return -EOPNOTSUPP;
	if (!err && !g.got)
		err = -EBADMSG;
	if (err)
		kmod_log("getting the latencies", err, req.ext);
	return err;
}
