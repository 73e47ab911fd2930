// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: the generic netlink side. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <linux/dgfs.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/*
 * Big enough for every request dgfsctl builds: paths are checked against
 * PATH_MAX before they get here.
 */
#define DGFS_REQ_MSG_SIZE 16384

const char *dgfs_family_name = DGFS_GENL_NAME;

static void extack_tlvs(const unsigned char *p, size_t len,
			struct dgfs_extack *ext)
{
	while (len >= NLA_HDRLEN) {
		const struct nlattr *nla = (const struct nlattr *)p;
		size_t attr_len = nla->nla_len, step;
		const unsigned char *data = p + NLA_HDRLEN;
		size_t dlen;

		if (attr_len < NLA_HDRLEN || attr_len > len)
			break;
		dlen = attr_len - NLA_HDRLEN;
		switch (nla->nla_type & NLA_TYPE_MASK) {
		case NLMSGERR_ATTR_MSG: {
			size_t n = strnlen((const char *)data, dlen);

			if (n >= sizeof(ext->msg))
				n = sizeof(ext->msg) - 1;
			memcpy(ext->msg, data, n);
			ext->msg[n] = '\0';
			/* Kernel messages have no trailing newline, but be sure. */
			while (n > 0 && ext->msg[n - 1] == '\n')
				ext->msg[--n] = '\0';
			ext->has_msg = n > 0;
			break;
		}
		case NLMSGERR_ATTR_OFFS:
			if (dlen >= sizeof(uint32_t)) {
				memcpy(&ext->offs, data, sizeof(uint32_t));
				ext->has_offs = true;
			}
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			if (dlen >= sizeof(uint32_t)) {
				memcpy(&ext->miss_type, data, sizeof(uint32_t));
				ext->has_miss_type = true;
			}
			break;
		}
		step = NLA_ALIGN(attr_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
}

int dgfs_nlmsg_status(const struct nlmsghdr *nlh, struct dgfs_extack *ext)
{
	const unsigned char *base = (const unsigned char *)nlh;
	size_t len = nlh->nlmsg_len, off;
	int error;

	memset(ext, 0, sizeof(*ext));

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *err;

		if (len < NLMSG_HDRLEN + sizeof(*err))
			return -EBADMSG;
		err = (const struct nlmsgerr *)(base + NLMSG_HDRLEN);
		error = err->error;
		off = sizeof(*err);
		/*
		 * Unless the ack was capped, the original request follows
		 * (its header is already part of struct nlmsgerr).
		 */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
			if (err->msg.nlmsg_len < NLMSG_HDRLEN)
				return error;
			off += err->msg.nlmsg_len - NLMSG_HDRLEN;
		}
	} else if (nlh->nlmsg_type == NLMSG_DONE) {
		/* A dump's end carries its final error, if the kernel sent one. */
		if (len < NLMSG_HDRLEN + sizeof(int))
			return 0;
		memcpy(&error, base + NLMSG_HDRLEN, sizeof(int));
		off = sizeof(int);
	} else {
		return 0;
	}

	if (error > 0)		/* not an errno the kernel would send */
		error = -error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return error;
	off = NLMSG_HDRLEN + NLMSG_ALIGN(off);
	if (off < len)
		extack_tlvs(base + off, len - off, ext);
	return error;
}

struct nlattr *dgfs_nest_start(struct nl_msg *msg, int type)
{
	return nla_nest_start(msg, type | NLA_F_NESTED);
}

int dgfs_reply_nest(struct nl_msg *msg, int type, struct nlattr **tb,
		    int maxtype, const struct nla_policy *policy)
{
	static const struct nla_policy top[DGFS_A_MAX + 1] = {
		[DGFS_A_STORE]	= { .type = NLA_NESTED },
		[DGFS_A_CHUNK]	= { .type = NLA_NESTED },
		[DGFS_A_CONFIG]	= { .type = NLA_NESTED },
		[DGFS_A_STATS]	= { .type = NLA_NESTED },
	};
	struct nlattr *ttb[DGFS_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, ttb, DGFS_A_MAX, top) < 0 ||
	    !ttb[type] ||
	    nla_parse_nested(tb, maxtype, ttb[type], policy) < 0)
		return -EBADMSG;
	return 0;
}

void dgfs_nl_close(struct dgfs_nl *nl)
{
	nl_socket_free(nl->sock);	/* NULL is fine */
	nl->sock = NULL;
	nl->family = 0;
}

void dgfs_nl_setup_socket(struct nl_sock *sock)
{
	int one = 1;

	/*
	 * Our own flags (NLM_F_ACK or NLM_F_DUMP) and our own sequence check;
	 * extended acks for the kernel's error messages, capped so that an
	 * error does not echo the whole request back; replies of any size.
	 * Old kernels without the options still work, with less to say.
	 */
	nl_socket_disable_auto_ack(sock);
	nl_socket_enable_msg_peek(sock);
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
}

static int dgfs_nl_connect(struct dgfs_nl *nl)
{
	int family, err;

	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		fprintf(stderr, "dgfsctl: out of memory\n");
		return -1;
	}
	err = genl_connect(nl->sock);
	if (err < 0) {
		fprintf(stderr, "dgfsctl: connecting to generic netlink: %s\n",
			nl_geterror(err));
		goto fail;
	}

	family = genl_ctrl_resolve(nl->sock, dgfs_family_name);
	if (family == -NLE_OBJ_NOTFOUND) {
		fprintf(stderr, "dgfsctl: the dgfs kernel module is not loaded "
			"(no generic netlink family \"%s\")\n", dgfs_family_name);
		goto fail;
	}
	if (family < 0) {
		fprintf(stderr, "dgfsctl: resolving generic netlink family \"%s\": %s\n",
			dgfs_family_name, nl_geterror(family));
		goto fail;
	}
	nl->family = family;
	if (nl->verbose)
		fprintf(stderr, "dgfsctl: generic netlink family \"%s\" is %d\n",
			dgfs_family_name, family);

	dgfs_nl_setup_socket(nl->sock);
	return 0;

fail:
	dgfs_nl_close(nl);
	return -1;
}

struct req_state {
	const struct dgfs_req *req;
	uint32_t seq;
	int status;		/* 1 while waiting, then 0 or -errno */
	int parse_err;		/* first error of req->parse() */
	bool intr;		/* a message had NLM_F_DUMP_INTR */
	struct dgfs_extack ext;
};

/* Replaces libnl's check: stale replies of an abandoned request are dropped. */
static int seq_check_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;

	return nlmsg_hdr(msg)->nlmsg_seq == st->seq ? NL_OK : NL_SKIP;
}

static int dump_intr_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;

	(void)msg;
	st->intr = true;
	return NL_OK;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;
	int err;

	/* After a bad reply keep reading, to leave the socket clean. */
	if (st->parse_err || !st->req->parse)
		return NL_SKIP;
	err = st->req->parse(msg, st->req->arg);
	if (err < 0)
		st->parse_err = err;
	return NL_OK;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;

	st->status = dgfs_nlmsg_status(nlmsg_hdr(msg), &st->ext);
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;

	/* A successful ack may still carry a warning. */
	dgfs_nlmsg_status(nlmsg_hdr(msg), &st->ext);
	st->status = 0;
	return NL_STOP;
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	const struct nlmsghdr *nlh =
		(const struct nlmsghdr *)((const char *)err - NLMSG_HDRLEN);
	struct req_state *st = arg;

	(void)nla;
	st->status = dgfs_nlmsg_status(nlh, &st->ext);
	if (st->status == 0)
		st->status = err->error < 0 ? err->error : -EPROTO;
	return NL_STOP;
}

static void report_kernel_error(const struct dgfs_nl *nl, const char *what,
				int error, const struct dgfs_extack *ext)
{
	if (ext->has_msg)
		fprintf(stderr, "dgfsctl: %s: %s\n", what, ext->msg);
	else if (error == -EPERM)
		fprintf(stderr, "dgfsctl: %s: %s (needs CAP_NET_ADMIN in the initial user namespace)\n",
			what, strerror(EPERM));
	else
		fprintf(stderr, "dgfsctl: %s: %s\n", what, strerror(-error));

	if (nl->verbose && ext->has_msg)
		fprintf(stderr, "dgfsctl: (error %d: %s)\n", -error, strerror(-error));
	if (nl->verbose && ext->has_miss_type)
		fprintf(stderr, "dgfsctl: (missing attribute type %u)\n", ext->miss_type);
	if (nl->verbose && ext->has_offs)
		fprintf(stderr, "dgfsctl: (bad attribute at offset %u of the request)\n",
			ext->offs);
}

/* One attempt: 0 done (st says how), -1 failed and reported. */
static int request_once(struct dgfs_nl *nl, const struct dgfs_req *req,
			struct req_state *st)
{
	struct nl_msg *msg = NULL;
	struct nl_cb *cb = NULL;
	int ret = -1, err;

	memset(st, 0, sizeof(*st));
	st->req = req;
	st->status = 1;

	if (!nl->sock && dgfs_nl_connect(nl))
		return -1;

	msg = nlmsg_alloc_size(req->msg_size > DGFS_REQ_MSG_SIZE ?
			       req->msg_size : DGFS_REQ_MSG_SIZE);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb) {
		fprintf(stderr, "dgfsctl: out of memory\n");
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 req->dump ? NLM_F_DUMP : NLM_F_ACK, req->cmd,
			 DGFS_GENL_VERSION)) {
		fprintf(stderr, "dgfsctl: %s: cannot build the request\n", req->what);
		goto out;
	}
	err = req->fill ? req->fill(msg, req->fill_arg) : 0;
	if (err < 0) {
		fprintf(stderr, "dgfsctl: %s: cannot build the request: %s\n",
			req->what, strerror(-err));
		goto out;
	}

	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_check_cb, st);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, dump_intr_cb, st);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, st);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, st);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, st);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, st);

	err = nl_send_auto(nl->sock, msg);
	if (err < 0) {
		fprintf(stderr, "dgfsctl: %s: sending the request: %s\n",
			req->what, nl_geterror(err));
		dgfs_nl_close(nl);
		goto out;
	}
	st->seq = nlmsg_hdr(msg)->nlmsg_seq;

	while (st->status > 0) {
		err = nl_recvmsgs(nl->sock, cb);
		if (err < 0 && st->status > 0) {
			/*
			 * The socket, not the kernel's answer, failed: start
			 * over with a new one next time.
			 */
			fprintf(stderr, "dgfsctl: %s: receiving the reply: %s\n",
				req->what, nl_geterror(err));
			dgfs_nl_close(nl);
			goto out;
		}
	}

	if (st->status < 0) {
		if (req->error) {
			req->error->error = st->status;
			req->error->ext = st->ext;
		} else {
			report_kernel_error(nl, req->what, st->status, &st->ext);
		}
		goto out;
	}
	if (st->parse_err == -ENOMEM) {
		fprintf(stderr, "dgfsctl: %s: out of memory\n", req->what);
		goto out;
	}
	if (st->parse_err) {
		fprintf(stderr, "dgfsctl: %s: malformed reply from the kernel\n",
			req->what);
		goto out;
	}
	if (st->ext.has_msg)
		fprintf(stderr, "dgfsctl: %s: warning: %s\n", req->what, st->ext.msg);
	ret = 0;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return ret;
}

int dgfs_nl_request(struct dgfs_nl *nl, const struct dgfs_req *req)
{
	struct req_state st;
	int attempt;

	if (req->error)
		memset(req->error, 0, sizeof(*req->error));
	for (attempt = 1; ; attempt++) {
		if (request_once(nl, req, &st))
			return -1;
		if (!st.intr)
			return 0;
		/*
		 * The kernel's view changed under the dump (NLM_F_DUMP_INTR):
		 * what we have may miss or repeat objects. Start over.
		 */
		if (attempt >= DGFS_DUMP_ATTEMPTS) {
			fprintf(stderr, "dgfsctl: %s: interrupted by concurrent "
				"changes %d times in a row, giving up\n",
				req->what, attempt);
			return -1;
		}
		if (nl->verbose)
			fprintf(stderr, "dgfsctl: %s: interrupted by a concurrent "
				"change, retrying\n", req->what);
		if (req->reset)
			req->reset(req->arg);
	}
}
