// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfsctl's netlink side (userspace/dgfsctl/nl.c) and of the
 * commands end to end, without the dgfs module:
 *
 *  - extended-ack parsing on hand-made NLMSG_ERROR/NLMSG_DONE messages;
 *  - the reply parsers on messages built here;
 *  - every command against a fake kernel: a forked child that owns a second
 *    generic netlink socket, to which dgfsctl's socket sends its requests
 *    (nl_socket_set_peer_port). The child checks each request's flags and
 *    attributes and answers with what the scenario wants: multi-part
 *    dumps, NLM_F_DUMP_INTR, errors with and without extack, malformed or
 *    stale replies, 10,000 chunks, a batch of 20,000 lines;
 *  - the real kernel's "nlctrl" family, for a real dump and a real extack.
 *
 * One line per check, PASS or FAIL; non-zero exit if any failed.
 */

/* expect-checks: 65 (tests/run-all.sh: a run that prints fewer fails) */

#include "dgfsctl/cli.c"
#include "dgfsctl/chunk.c"
#include "dgfsctl/clients.c"
#include "dgfsctl/chunk_batch.c"
#include "dgfsctl/config.c"
#include "dgfsctl/nl.c"
#include "proto/hex.c"
#include "proto/size.c"
#include "proto/latency.c"
#include "dgfsctl/parse.c"
#include "dgfsctl/print.c"
#include "dgfsctl/stats.c"
#include "dgfsctl/store.c"
#include "dgfsctl/top.c"
#include "dgfsctl/xdp.c"
#include "xdp/dgfs_xdp_loader.c"

#include <fcntl.h>
#include <linux/genetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define FAKE_FAMILY 0x7abc

/*
 * The CPU time dgfsctl's side (this process; the fake kernel is a child)
 * has used: what the size checks below compare, because other jobs on a
 * busy machine stretch wall-clock time but not this.
 */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- capturing stdout and stderr ---------------------------------------- */

struct capture {
	int saved_out, saved_err;
	FILE *out, *err;
};

static void cap_start(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	c->out = tmpfile();
	c->err = tmpfile();
	c->saved_out = dup(1);
	c->saved_err = dup(2);
	dup2(fileno(c->out), 1);
	dup2(fileno(c->err), 2);
}

static char *slurp(FILE *fp)
{
	long len;
	char *buf;

	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)len + 1);
	if (len > 0 && fread(buf, 1, (size_t)len, fp) != (size_t)len)
		buf[0] = '\0';
	fclose(fp);
	return buf;
}

static void cap_stop(struct capture *c, char **out, char **err)
{
	fflush(stdout);
	fflush(stderr);
	dup2(c->saved_out, 1);
	dup2(c->saved_err, 2);
	close(c->saved_out);
	close(c->saved_err);
	*out = slurp(c->out);
	*err = slurp(c->err);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- dgfs_nlmsg_status on hand-made messages ----------------------------- */

struct rawmsg {
	unsigned char buf[4096] __attribute__((aligned(4)));
	size_t len;
};

static void raw_put(struct rawmsg *m, const void *data, size_t len)
{
	memcpy(m->buf + m->len, data, len);
	m->len += len;
}

static void raw_align(struct rawmsg *m)
{
	while (m->len % 4)
		m->buf[m->len++] = 0;
}

static void raw_attr(struct rawmsg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr nla = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };

	raw_align(m);
	raw_put(m, &nla, sizeof(nla));
	raw_put(m, data, len);
	raw_align(m);
}

static struct nlmsghdr *raw_hdr(struct rawmsg *m)
{
	return (struct nlmsghdr *)m->buf;
}

/* An NLMSG_ERROR; if !capped, 'echo' bytes of request payload follow. */
static void raw_error(struct rawmsg *m, int error, bool capped, size_t echo,
		      bool tlvs)
{
	struct nlmsghdr h = {
		.nlmsg_type = NLMSG_ERROR,
		.nlmsg_flags = (uint16_t)((capped ? NLM_F_CAPPED : 0) |
					  (tlvs ? NLM_F_ACK_TLVS : 0)),
	};
	struct nlmsgerr e = { .error = error };
	unsigned char junk[256];

	memset(junk, 'J', sizeof(junk));
	e.msg.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + echo);
	e.msg.nlmsg_type = FAKE_FAMILY;
	m->len = 0;
	raw_put(m, &h, sizeof(h));
	raw_put(m, &e, sizeof(e));
	if (!capped)
		raw_put(m, junk, echo);
}

static void raw_finish(struct rawmsg *m)
{
	raw_align(m);
	raw_hdr(m)->nlmsg_len = (uint32_t)m->len;
}

static void test_extack_parsing(void)
{
	struct dgfs_extack ext;
	struct rawmsg m;
	uint32_t u = 24, mt = 3;
	char longmsg[400];
	int err;

	raw_error(&m, -EINVAL, true, 0, true);
	raw_attr(&m, NLMSGERR_ATTR_MSG, "bad store name", 15);
	raw_attr(&m, NLMSGERR_ATTR_OFFS, &u, 4);
	raw_attr(&m, NLMSGERR_ATTR_MISS_TYPE, &mt, 4);
	raw_finish(&m);
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: capped error with msg, offs, miss_type",
	      err == -EINVAL && ext.has_msg && !strcmp(ext.msg, "bad store name") &&
	      ext.has_offs && ext.offs == 24 && ext.has_miss_type && ext.miss_type == 3);

	raw_error(&m, -EEXIST, false, 37, true);	/* odd length: aligned */
	raw_attr(&m, NLMSGERR_ATTR_MSG, "exists", 7);
	raw_finish(&m);
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: uncapped error skips the echoed request",
	      err == -EEXIST && ext.has_msg && !strcmp(ext.msg, "exists") && !ext.has_offs);

	raw_error(&m, -ENOENT, true, 0, false);
	raw_attr(&m, NLMSGERR_ATTR_MSG, "ignored", 8);
	raw_finish(&m);
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: TLVs ignored without NLM_F_ACK_TLVS",
	      err == -ENOENT && !ext.has_msg);

	raw_error(&m, -ENOENT, true, 0, true);
	raw_finish(&m);
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: ACK_TLVS but no TLVs", err == -ENOENT && !ext.has_msg);

	raw_error(&m, 0, true, 0, true);
	raw_attr(&m, NLMSGERR_ATTR_MSG, "just a warning", 15);
	raw_finish(&m);
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: ack with a warning", err == 0 && !strcmp(ext.msg, "just a warning"));

	raw_error(&m, -EINVAL, true, 0, true);
	raw_attr(&m, NLMSGERR_ATTR_MSG, "no NUL here", 11);
	raw_finish(&m);
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: message without NUL is bounded",
	      err == -EINVAL && !strcmp(ext.msg, "no NUL here"));

	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	raw_error(&m, -EINVAL, true, 0, true);
	raw_attr(&m, NLMSGERR_ATTR_MSG, longmsg, sizeof(longmsg));
	raw_finish(&m);
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: long message truncated", err == -EINVAL &&
	      strlen(ext.msg) == sizeof(ext.msg) - 1);

	raw_error(&m, -EINVAL, true, 0, true);
	raw_attr(&m, NLMSGERR_ATTR_MSG, "cut", 4);
	raw_finish(&m);
	((struct nlattr *)(m.buf + NLMSG_HDRLEN + sizeof(struct nlmsgerr)))->nla_len = 200;
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: attribute longer than the message ignored",
	      err == -EINVAL && !ext.has_msg);

	raw_error(&m, -EINVAL, false, 8, true);
	raw_attr(&m, NLMSGERR_ATTR_MSG, "x", 2);
	raw_finish(&m);
	((struct nlmsgerr *)(m.buf + NLMSG_HDRLEN))->msg.nlmsg_len = 60000;
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: echoed length past the end reads nothing",
	      err == -EINVAL && !ext.has_msg);

	raw_error(&m, -EINVAL, true, 0, true);
	raw_finish(&m);
	raw_hdr(&m)->nlmsg_len = NLMSG_HDRLEN + 4;
	err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
	CHECK("extack: truncated NLMSG_ERROR is -EBADMSG", err == -EBADMSG);

	{
		struct nlmsghdr h = { .nlmsg_type = NLMSG_DONE,
				      .nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS };
		int e = -EIO;

		m.len = 0;
		raw_put(&m, &h, sizeof(h));
		raw_put(&m, &e, sizeof(e));
		raw_attr(&m, NLMSGERR_ATTR_MSG, "disk on fire", 13);
		raw_finish(&m);
		err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
		CHECK("extack: NLMSG_DONE with error and message",
		      err == -EIO && !strcmp(ext.msg, "disk on fire"));

		e = 0;
		m.len = 0;
		h.nlmsg_flags = NLM_F_MULTI;
		raw_put(&m, &h, sizeof(h));
		raw_put(&m, &e, sizeof(e));
		raw_finish(&m);
		err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
		CHECK("extack: plain NLMSG_DONE is success", err == 0 && !ext.has_msg);

		m.len = 0;
		raw_put(&m, &h, sizeof(h));
		raw_finish(&m);
		err = dgfs_nlmsg_status(raw_hdr(&m), &ext);
		CHECK("extack: NLMSG_DONE without payload is success", err == 0);
	}

	/* Random TLV areas: no crash, no out-of-bounds read (ASan watches). */
	{
		unsigned int seed = 7;
		int i, k;

		for (i = 0; i < 20000; i++) {
			int n = rand_r(&seed) % 64;

			raw_error(&m, -EINVAL, rand_r(&seed) % 2, (size_t)(rand_r(&seed) % 24), true);
			for (k = 0; k < n; k++)
				m.buf[m.len++] = (unsigned char)rand_r(&seed);
			raw_hdr(&m)->nlmsg_len = (uint32_t)m.len;
			/* Exactly nlmsg_len bytes, so ASan sees any overrun. */
			{
				unsigned char *copy = malloc(m.len);

				memcpy(copy, m.buf, m.len);
				dgfs_nlmsg_status((struct nlmsghdr *)copy, &ext);
				free(copy);
			}
		}
		CHECK("extack: 20000 random TLV areas parsed safely", true);
	}
}

/* ---- reply parsers on messages built here -------------------------------- */

static struct nl_msg *reply_msg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, 1, FAKE_FAMILY, 0, 0, cmd, DGFS_GENL_VERSION);
	return msg;
}

static void put_store(struct nl_msg *msg, const char *name, const char *path,
		      uint32_t chunks, uint64_t bytes, bool extra)
{
	struct nlattr *nest = nla_nest_start(msg, DGFS_A_STORE | NLA_F_NESTED);

	if (name)
		nla_put_string(msg, DGFS_STORE_A_NAME, name);
	if (path)
		nla_put_string(msg, DGFS_STORE_A_PATH, path);
	nla_put_u32(msg, DGFS_STORE_A_CHUNKS, chunks);
	nla_put(msg, DGFS_STORE_A_PAD, 0, NULL);
	nla_put_u64(msg, DGFS_STORE_A_BYTES, bytes);
	if (extra) {
		nla_put_u32(msg, DGFS_STORE_A_MAX + 7, 1);	/* from a newer kernel */
		nla_put_string(msg, DGFS_STORE_A_MAX + 8, "future");
	}
	nla_nest_end(msg, nest);
	if (extra)
		nla_put_u32(msg, DGFS_A_MAX + 5, 1);
}

static void put_chunk(struct nl_msg *msg, const uint8_t *id, int idlen,
		      const char *store, const char *path, uint64_t size)
{
	struct nlattr *nest = nla_nest_start(msg, DGFS_A_CHUNK | NLA_F_NESTED);

	nla_put(msg, DGFS_CHUNK_A_ID, idlen, id);
	nla_put_string(msg, DGFS_CHUNK_A_STORE, store);
	nla_put_string(msg, DGFS_CHUNK_A_PATH, path);
	nla_put_u64(msg, DGFS_CHUNK_A_SIZE, size);
	nla_nest_end(msg, nest);
}

static void test_reply_parsers(void)
{
	struct store_list sl = { 0 };
	struct chunk_list cl = { 0 };
	struct config_info ci = { 0 };
	struct stats_info si = { 0 };
	uint8_t id[DGFS_CHUNK_ID_LEN + 1];
	struct nl_msg *msg;
	struct nlattr *nest;
	size_t i;

	msg = reply_msg(DGFS_CMD_STORE_GET);
	put_store(msg, "s1", "/srv/s1", 5, 1ULL << 33, true);
	CHECK("reply: store parsed, unknown attributes ignored",
	      store_parse_reply(msg, &sl) == 0 && sl.n == 1 &&
	      !strcmp(sl.items[0].name, "s1") && !strcmp(sl.items[0].path, "/srv/s1") &&
	      sl.items[0].chunks == 5 && sl.items[0].bytes == 1ULL << 33);
	nlmsg_free(msg);

	msg = reply_msg(DGFS_CMD_STORE_GET);
	put_store(msg, "s1", NULL, 5, 1, false);
	CHECK("reply: store without path is malformed",
	      store_parse_reply(msg, &sl) == -EBADMSG && sl.n == 1);
	nlmsg_free(msg);

	msg = reply_msg(DGFS_CMD_STORE_GET);
	nest = nla_nest_start(msg, DGFS_A_STORE | NLA_F_NESTED);
	nla_put(msg, DGFS_STORE_A_NAME, 2, "ab");	/* no NUL */
	nla_put_string(msg, DGFS_STORE_A_PATH, "/p");
	nla_put_u32(msg, DGFS_STORE_A_CHUNKS, 1);
	nla_put_u64(msg, DGFS_STORE_A_BYTES, 1);
	nla_nest_end(msg, nest);
	CHECK("reply: unterminated name is malformed", store_parse_reply(msg, &sl) == -EBADMSG);
	nlmsg_free(msg);

	msg = reply_msg(DGFS_CMD_STORE_GET);
	nest = nla_nest_start(msg, DGFS_A_STORE | NLA_F_NESTED);
	nla_put_string(msg, DGFS_STORE_A_NAME, "a");
	nla_put_string(msg, DGFS_STORE_A_PATH, "/p");
	nla_put_u16(msg, DGFS_STORE_A_CHUNKS, 1);	/* too short for u32 */
	nla_put_u64(msg, DGFS_STORE_A_BYTES, 1);
	nla_nest_end(msg, nest);
	CHECK("reply: short u32 is malformed", store_parse_reply(msg, &sl) == -EBADMSG);
	nlmsg_free(msg);

	msg = reply_msg(DGFS_CMD_STORE_GET);
	CHECK("reply: message without DGFS_A_STORE is malformed",
	      store_parse_reply(msg, &sl) == -EBADMSG);
	nlmsg_free(msg);
	store_list_reset(&sl);

	for (i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)i;
	msg = reply_msg(DGFS_CMD_CHUNK_GET);
	put_chunk(msg, id, DGFS_CHUNK_ID_LEN, "s", "a/b", 77);
	CHECK("reply: chunk parsed",
	      chunk_parse_reply(msg, &cl) == 0 && cl.n == 1 &&
	      !memcmp(cl.items[0].id, id, DGFS_CHUNK_ID_LEN) &&
	      !strcmp(cl.items[0].store, "s") && !strcmp(cl.items[0].path, "a/b") &&
	      cl.items[0].size == 77);
	nlmsg_free(msg);
	msg = reply_msg(DGFS_CMD_CHUNK_GET);
	put_chunk(msg, id, DGFS_CHUNK_ID_LEN - 1, "s", "a/b", 77);
	CHECK("reply: 31-byte chunk id is malformed", chunk_parse_reply(msg, &cl) == -EBADMSG);
	nlmsg_free(msg);
	msg = reply_msg(DGFS_CMD_CHUNK_GET);
	put_chunk(msg, id, DGFS_CHUNK_ID_LEN + 1, "s", "a/b", 77);
	CHECK("reply: 33-byte chunk id is malformed", chunk_parse_reply(msg, &cl) == -EBADMSG);
	nlmsg_free(msg);
	chunk_list_reset(&cl);

	msg = reply_msg(DGFS_CMD_CONFIG_GET);
	nest = nla_nest_start(msg, DGFS_A_CONFIG | NLA_F_NESTED);
	nla_put_u16(msg, DGFS_CONFIG_A_PORT, 7878);
	nla_put_u32(msg, DGFS_CONFIG_A_MAX_READ, 1 << 20);
	nla_put_u8(msg, DGFS_CONFIG_A_AUTH, 1);
	nla_put_u8(msg, DGFS_CONFIG_A_AUTH_KEY_SET, 0);
	nla_nest_end(msg, nest);
	CHECK("reply: config parsed",
	      config_parse_reply(msg, &ci) == 0 && ci.valid && ci.port == 7878 &&
	      ci.max_read == 1 << 20 && ci.auth && !ci.key_set);
	CHECK("reply: a second config reply is malformed",
	      config_parse_reply(msg, &ci) == -EBADMSG);
	nlmsg_free(msg);

	msg = reply_msg(DGFS_CMD_STATS_GET);
	nest = nla_nest_start(msg, DGFS_A_STATS | NLA_F_NESTED);
	for (i = 0; i < STATS_NFIELDS; i++) {
		nla_put(msg, DGFS_STATS_A_PAD, 0, NULL);
		nla_put_u64(msg, stats_fields[i].attr, 100 + i);
	}
	nla_nest_end(msg, nest);
	CHECK("reply: stats parsed",
	      stats_parse_reply(msg, &si) == 0 && si.valid && si.val[0] == 100 &&
	      si.val[6] == 106);
	nlmsg_free(msg);
	memset(&si, 0, sizeof(si));
	msg = reply_msg(DGFS_CMD_STATS_GET);
	nest = nla_nest_start(msg, DGFS_A_STATS | NLA_F_NESTED);
	nla_put_u64(msg, DGFS_STATS_A_STORES, 1);
	nla_nest_end(msg, nest);
	CHECK("reply: stats missing counters is malformed",
	      stats_parse_reply(msg, &si) == -EBADMSG && !si.valid);
	nlmsg_free(msg);
}

/* ---- the fake kernel ------------------------------------------------------ */

struct fake {
	int fd;
	pid_t pid;
	int done;	/* write end: closed by fake_stop once the client is done */
};

/* What the child got: the request and where to answer. */
struct fk_req {
	unsigned char buf[65536] __attribute__((aligned(4)));
	struct nlmsghdr *nlh;
	uint32_t port;
	struct nlattr *nest[DGFS_CHUNK_A_MAX + DGFS_CONFIG_A_MAX + 8];
	bool nested_flag;
};

/* The batch of messages the child sends in one datagram. */
struct fk_out {
	unsigned char buf[65536] __attribute__((aligned(4)));
	size_t len;
	uint32_t port;
};

static int fk_bad;	/* child-side failures */

#define FK_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fake kernel: check failed: %s (line %d)\n", \
			#cond, __LINE__);				\
		fk_bad++;						\
	}								\
} while (0)

static struct nlmsghdr *fk_recv(int fd, struct fk_req *r)
{
	struct sockaddr_nl src;
	socklen_t sl = sizeof(src);
	ssize_t n = recvfrom(fd, r->buf, sizeof(r->buf), 0,
			     (struct sockaddr *)&src, &sl);

	if (n < (ssize_t)NLMSG_HDRLEN)
		return NULL;
	r->port = src.nl_pid;
	r->nlh = (struct nlmsghdr *)r->buf;
	return r->nlh;
}

static struct genlmsghdr *fk_genl(struct fk_req *r)
{
	return nlmsg_data(r->nlh);
}

/*
 * The request's attributes under top-level type; NULL entries if absent.
 * Returns false if the nest is missing.
 */
static bool fk_nest(struct fk_req *r, int type, int maxtype)
{
	struct nlattr *top[DGFS_A_MAX + 1];

	memset(r->nest, 0, sizeof(r->nest));
	if (genlmsg_parse(r->nlh, 0, top, DGFS_A_MAX, NULL) < 0 || !top[type])
		return false;
	r->nested_flag = (top[type]->nla_type & NLA_F_NESTED) != 0;
	return nla_parse_nested(r->nest, maxtype, top[type], NULL) == 0;
}

static bool fk_has_attrs(struct fk_req *r)
{
	return r->nlh->nlmsg_len > NLMSG_HDRLEN + GENL_HDRLEN;
}

static void fk_flush(int fd, struct fk_out *o)
{
	struct sockaddr_nl dst = { .nl_family = AF_NETLINK, .nl_pid = o->port };

	if (o->len)
		FK_CHECK(sendto(fd, o->buf, o->len, 0, (struct sockaddr *)&dst,
				sizeof(dst)) == (ssize_t)o->len);
	o->len = 0;
}

static void fk_append(int fd, struct fk_out *o, const void *msg, size_t len)
{
	if (o->len + NLMSG_ALIGN(len) > sizeof(o->buf))
		fk_flush(fd, o);
	memcpy(o->buf + o->len, msg, len);
	o->len += NLMSG_ALIGN(len);
}

/* Appends a genl message (and frees it). */
static void fk_append_msg(int fd, struct fk_out *o, struct nl_msg *msg)
{
	fk_append(fd, o, nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
	nlmsg_free(msg);
}

static struct nl_msg *fk_msg(const struct fk_req *r, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, r->nlh->nlmsg_seq, FAKE_FAMILY, 0, flags, cmd,
		    DGFS_GENL_VERSION);
	return msg;
}

/*
 * NLMSG_ERROR (error, 0 = ack) or NLMSG_DONE, as the kernel builds them:
 * errors echo the request unless capped; a message goes into TLVs.
 */
static void fk_status(int fd, struct fk_out *o, const struct fk_req *r,
		      uint16_t type, int error, const char *text, bool capped,
		      uint16_t extra_flags)
{
	struct rawmsg m = { .len = 0 };
	struct nlmsghdr h = {
		.nlmsg_type = type,
		.nlmsg_seq = r->nlh->nlmsg_seq,
		.nlmsg_flags = (uint16_t)(extra_flags | (text ? NLM_F_ACK_TLVS : 0)),
	};

	if (type == NLMSG_DONE) {
		h.nlmsg_flags |= NLM_F_MULTI;
		raw_put(&m, &h, sizeof(h));
		raw_put(&m, &error, sizeof(error));
	} else {
		struct nlmsgerr e = { .error = error, .msg = *r->nlh };
		size_t echo = capped ? 0 : r->nlh->nlmsg_len - NLMSG_HDRLEN;

		if (capped)
			h.nlmsg_flags |= NLM_F_CAPPED;
		if (echo > 1024)
			echo = 0, h.nlmsg_flags |= NLM_F_CAPPED;
		raw_put(&m, &h, sizeof(h));
		raw_put(&m, &e, sizeof(e));
		raw_put(&m, r->buf + NLMSG_HDRLEN, echo);
	}
	if (text)
		raw_attr(&m, NLMSGERR_ATTR_MSG, text, strlen(text) + 1);
	raw_finish(&m);
	fk_append(fd, o, m.buf, m.len);
}

static void fk_ack(int fd, const struct fk_req *r)
{
	static struct fk_out o;

	o.port = r->port;
	fk_status(fd, &o, r, NLMSG_ERROR, 0, NULL, true, 0);
	fk_flush(fd, &o);
}

typedef void (*fake_fn)(int fd, void *arg);

/*
 * Starts a fake kernel running fn in a child and points the client socket
 * at it. Both ends get a receive timeout so that a broken scenario fails
 * instead of hanging; they are long, because a loaded machine (ASan, other
 * jobs) must not fail a scenario that works.
 */
static void fake_start(struct fake *f, struct dgfsctl *ctl, fake_fn fn, void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t sl = sizeof(sa);
	struct timeval tv = { .tv_sec = 60 };
	int bufsize = 1 << 20, done[2];

	f->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	bind(f->fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(f->fd, (struct sockaddr *)&sa, &sl);
	setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = 30 },
		   sizeof(struct timeval));
	setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	if (pipe2(done, O_CLOEXEC)) {
		perror("pipe2");
		exit(1);
	}

	if (!ctl->nl.sock) {
		ctl->nl.sock = nl_socket_alloc();
		nl_connect(ctl->nl.sock, NETLINK_GENERIC);
		dgfs_nl_setup_socket(ctl->nl.sock);
		setsockopt(nl_socket_get_fd(ctl->nl.sock), SOL_SOCKET, SO_RCVTIMEO,
			   &tv, sizeof(tv));
		ctl->nl.family = FAKE_FAMILY;
	}
	nl_socket_set_peer_port(ctl->nl.sock, sa.nl_pid);

	fflush(stdout);
	fflush(stderr);
	f->pid = fork();
	if (f->pid == 0) {
		char c;

		close(done[1]);
		fk_bad = 0;
		fn(f->fd, arg);
		/*
		 * Nothing more may arrive: the client sent what it should. Look
		 * once the client is done (fake_stop closes the pipe then), not
		 * after a fixed wait: netlink queues a request on send, so
		 * whatever it sent is in the socket by then.
		 */
		if (read(done[0], &c, 1) < 0)
			fk_bad++;
		{
			struct fk_req *r = malloc(sizeof(*r));
			ssize_t n = recv(f->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);

			if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				fprintf(stderr, "fake kernel: unexpected extra request\n");
				fk_bad++;
			}
			free(r);
		}
		_exit(fk_bad ? 1 : 0);
	}
	close(done[0]);
	f->done = done[1];
}

/* 0 if the fake kernel saw what it expected. */
static int fake_stop(struct fake *f)
{
	int status = 0;

	close(f->done);
	waitpid(f->pid, &status, 0);
	close(f->fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void ctl_init(struct dgfsctl *ctl, bool json)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->json = json;
	print_init(stdout, json, false);
}

static void ctl_fini(struct dgfsctl *ctl)
{
	dgfs_nl_close(&ctl->nl);
	print_init(stdout, false, false);
}

/* The CPU time the last run_fake() took dgfsctl, the fake kernel's aside. */
static double last_run_seconds;

/* Runs one command line (split like a batch line) against the fake kernel. */
static int run_fake(struct dgfsctl *ctl, fake_fn fn, void *arg, const char *line,
		    char **out, char **err, int *fake_status)
{
	struct capture c;
	struct fake f;
	char *copy = strdup(line), **argv;
	const char *why;
	int argc = split_line(copy, &argv, &why), ret;

	fake_start(&f, ctl, fn, arg);
	cap_start(&c);
	last_run_seconds = cpu_now();
	ret = dgfsctl_run(ctl, argc, argv);
	last_run_seconds = cpu_now() - last_run_seconds;
	cap_stop(&c, out, err);
	*fake_status = fake_stop(&f);
	free(argv);
	free(copy);
	return ret;
}

/* -- scenarios: each is the child's side -- */

static void fk_store_dump(int fd, void *arg)
{
	static struct fk_req r;
	static struct fk_out o;

	(void)arg;
	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(r.nlh->nlmsg_type == FAKE_FAMILY);
	FK_CHECK(r.nlh->nlmsg_flags & NLM_F_REQUEST);
	FK_CHECK((r.nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
	FK_CHECK(!(r.nlh->nlmsg_flags & NLM_F_ACK));
	FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_STORE_GET);
	FK_CHECK(fk_genl(&r)->version == DGFS_GENL_VERSION);
	FK_CHECK(!fk_has_attrs(&r));
	o.port = r.port;

	/* Three stores over two datagrams, then NLMSG_DONE in a third. */
	{
		struct nl_msg *m = fk_msg(&r, DGFS_CMD_STORE_GET, NLM_F_MULTI);

		put_store(m, "zz", "/srv/zz", 2, 8192, false);
		fk_append_msg(fd, &o, m);
		m = fk_msg(&r, DGFS_CMD_STORE_GET, NLM_F_MULTI);
		put_store(m, "aa", "/srv/a a", 0, 0, true);
		fk_append_msg(fd, &o, m);
		fk_flush(fd, &o);
		m = fk_msg(&r, DGFS_CMD_STORE_GET, NLM_F_MULTI);
		put_store(m, "mm", "/srv/mm", 1, 1, false);
		fk_append_msg(fd, &o, m);
		fk_flush(fd, &o);
	}
	fk_status(fd, &o, &r, NLMSG_DONE, 0, NULL, false, 0);
	fk_flush(fd, &o);
}

/* arg: how many attempts come back torn (NLM_F_DUMP_INTR). */
static void fk_store_dump_intr(int fd, void *arg)
{
	int torn = *(int *)arg, attempt;
	static struct fk_req r;
	static struct fk_out o;

	for (attempt = 0; attempt <= torn && attempt < DGFS_DUMP_ATTEMPTS; attempt++) {
		bool intr = attempt < torn;
		struct nl_msg *m;

		if (!fk_recv(fd, &r)) {
			fk_bad++;
			return;
		}
		FK_CHECK(r.nlh->nlmsg_flags & NLM_F_DUMP);
		o.port = r.port;
		m = fk_msg(&r, DGFS_CMD_STORE_GET, NLM_F_MULTI);
		put_store(m, intr ? "torn" : "whole", "/x", 1, 1, false);
		fk_append_msg(fd, &o, m);
		/* As genl_dump_check_consistent() does: flag a later message. */
		m = fk_msg(&r, DGFS_CMD_STORE_GET,
			   NLM_F_MULTI | (intr ? NLM_F_DUMP_INTR : 0));
		put_store(m, intr ? "torn2" : "whole2", "/y", 1, 1, false);
		fk_append_msg(fd, &o, m);
		fk_flush(fd, &o);
		fk_status(fd, &o, &r, NLMSG_DONE, 0, NULL, false,
			  intr ? NLM_F_DUMP_INTR : 0);
		fk_flush(fd, &o);
	}
}

struct fk_error_arg {
	uint8_t cmd;
	int error;
	const char *text;
	bool capped;
	bool in_done;		/* dump: fail in NLMSG_DONE after one object */
};

static void fk_error(int fd, void *arg)
{
	const struct fk_error_arg *a = arg;
	static struct fk_req r;
	static struct fk_out o;

	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(fk_genl(&r)->cmd == a->cmd);
	o.port = r.port;
	if (a->in_done) {
		struct nl_msg *m = fk_msg(&r, a->cmd, NLM_F_MULTI);

		put_store(m, "partial", "/p", 1, 1, false);
		fk_append_msg(fd, &o, m);
		fk_status(fd, &o, &r, NLMSG_DONE, a->error, a->text, false, 0);
	} else {
		fk_status(fd, &o, &r, NLMSG_ERROR, a->error, a->text, a->capped, 0);
	}
	fk_flush(fd, &o);
}

static void fk_store_add_check(int fd, void *arg)
{
	const char *want_path = arg;
	static struct fk_req r;

	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK((r.nlh->nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP)) == NLM_F_ACK);
	FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_STORE_ADD);
	FK_CHECK(fk_nest(&r, DGFS_A_STORE, DGFS_STORE_A_MAX));
	FK_CHECK(r.nested_flag);
	FK_CHECK(r.nest[DGFS_STORE_A_NAME] &&
		 nla_len(r.nest[DGFS_STORE_A_NAME]) == 6 &&
		 !memcmp(nla_data(r.nest[DGFS_STORE_A_NAME]), "store", 6));
	FK_CHECK(r.nest[DGFS_STORE_A_PATH] &&
		 !strcmp(nla_get_string(r.nest[DGFS_STORE_A_PATH]), want_path));
	FK_CHECK(!r.nest[DGFS_STORE_A_CHUNKS] && !r.nest[DGFS_STORE_A_BYTES]);
	fk_ack(fd, &r);
}

static const uint8_t test_id[DGFS_CHUNK_ID_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};
#define TEST_ID_HEX "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"

/* arg: the size expected, or NULL for none. */
static void fk_chunk_add_check(int fd, void *arg)
{
	const uint64_t *size = arg;
	static struct fk_req r;

	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(r.nlh->nlmsg_flags & NLM_F_ACK);
	FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_CHUNK_ADD);
	FK_CHECK(fk_nest(&r, DGFS_A_CHUNK, DGFS_CHUNK_A_MAX) && r.nested_flag);
	FK_CHECK(r.nest[DGFS_CHUNK_A_ID] && nla_len(r.nest[DGFS_CHUNK_A_ID]) == DGFS_CHUNK_ID_LEN &&
		 !memcmp(nla_data(r.nest[DGFS_CHUNK_A_ID]), test_id, DGFS_CHUNK_ID_LEN));
	FK_CHECK(r.nest[DGFS_CHUNK_A_STORE] &&
		 !strcmp(nla_get_string(r.nest[DGFS_CHUNK_A_STORE]), "s1"));
	FK_CHECK(r.nest[DGFS_CHUNK_A_PATH] &&
		 !strcmp(nla_get_string(r.nest[DGFS_CHUNK_A_PATH]), "dir/my file"));
	if (size)
		FK_CHECK(r.nest[DGFS_CHUNK_A_SIZE] && nla_len(r.nest[DGFS_CHUNK_A_SIZE]) == 8 &&
			 nla_get_u64(r.nest[DGFS_CHUNK_A_SIZE]) == *size);
	else
		FK_CHECK(!r.nest[DGFS_CHUNK_A_SIZE]);
	fk_ack(fd, &r);
}

/* chunk show with a store filter: a dump carrying DGFS_A_CHUNK { STORE }. */
static void fk_chunk_dump_filter(int fd, void *arg)
{
	static struct fk_req r;
	static struct fk_out o;
	struct nl_msg *m;

	(void)arg;
	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(r.nlh->nlmsg_flags & NLM_F_DUMP);
	FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_CHUNK_GET);
	FK_CHECK(fk_nest(&r, DGFS_A_CHUNK, DGFS_CHUNK_A_MAX) && r.nested_flag);
	FK_CHECK(r.nest[DGFS_CHUNK_A_STORE] &&
		 !strcmp(nla_get_string(r.nest[DGFS_CHUNK_A_STORE]), "s1"));
	FK_CHECK(!r.nest[DGFS_CHUNK_A_ID]);
	o.port = r.port;
	m = fk_msg(&r, DGFS_CMD_CHUNK_GET, NLM_F_MULTI);
	put_chunk(m, test_id, DGFS_CHUNK_ID_LEN, "s1", "f", 3);
	fk_append_msg(fd, &o, m);
	fk_status(fd, &o, &r, NLMSG_DONE, 0, NULL, false, 0);
	fk_flush(fd, &o);
}

/* chunk show ID: a do with DGFS_A_CHUNK { ID }, one reply, then the ack. */
static void fk_chunk_get(int fd, void *arg)
{
	static struct fk_req r;
	static struct fk_out o;
	struct nl_msg *m;

	(void)arg;
	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK((r.nlh->nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP)) == NLM_F_ACK);
	FK_CHECK(fk_nest(&r, DGFS_A_CHUNK, DGFS_CHUNK_A_MAX));
	FK_CHECK(r.nest[DGFS_CHUNK_A_ID] && !r.nest[DGFS_CHUNK_A_STORE]);
	o.port = r.port;
	m = fk_msg(&r, DGFS_CMD_CHUNK_GET, 0);
	put_chunk(m, test_id, DGFS_CHUNK_ID_LEN, "s1", "f", 3);
	fk_append_msg(fd, &o, m);
	fk_flush(fd, &o);
	fk_status(fd, &o, &r, NLMSG_ERROR, 0, NULL, true, 0);
	fk_flush(fd, &o);
}

/* 10,000 chunks, packed as the kernel packs a dump (many per datagram). */
static void fk_chunk_dump_big(int fd, void *arg)
{
	int n = *(int *)arg, i;
	static struct fk_req r;
	static struct fk_out o;

	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(!fk_has_attrs(&r));
	o.port = r.port;
	for (i = 0; i < n; i++) {
		uint8_t id[DGFS_CHUNK_ID_LEN] = { (uint8_t)(i >> 16), (uint8_t)(i >> 8),
						  (uint8_t)i };
		struct nl_msg *m = fk_msg(&r, DGFS_CMD_CHUNK_GET, NLM_F_MULTI);
		char path[64];

		snprintf(path, sizeof(path), "objects/%06d", i);
		put_chunk(m, id, DGFS_CHUNK_ID_LEN, "big", path, (uint64_t)i * 4096);
		fk_append_msg(fd, &o, m);
		if (o.len > 16000)	/* about a kernel dump skb */
			fk_flush(fd, &o);
	}
	fk_status(fd, &o, &r, NLMSG_DONE, 0, NULL, false, 0);
	fk_flush(fd, &o);
}

/* A malformed store, then the next request (stats) on the same socket. */
static void fk_malformed_then_stats(int fd, void *arg)
{
	static struct fk_req r;
	static struct fk_out o;
	struct nl_msg *m;
	struct nlattr *nest;
	size_t i;

	(void)arg;
	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	o.port = r.port;
	m = fk_msg(&r, DGFS_CMD_STORE_GET, NLM_F_MULTI);
	put_store(m, NULL, "/nameless", 1, 1, false);
	fk_append_msg(fd, &o, m);
	m = fk_msg(&r, DGFS_CMD_STORE_GET, NLM_F_MULTI);
	put_store(m, "ok", "/ok", 1, 1, false);
	fk_append_msg(fd, &o, m);
	fk_flush(fd, &o);
	fk_status(fd, &o, &r, NLMSG_DONE, 0, NULL, false, 0);
	fk_flush(fd, &o);

	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_STATS_GET);
	FK_CHECK(r.nlh->nlmsg_flags & NLM_F_ACK);
	/* A stale reply of an older request first: it must be ignored. */
	r.nlh->nlmsg_seq--;
	m = fk_msg(&r, DGFS_CMD_STATS_GET, 0);
	nest = nla_nest_start(m, DGFS_A_STATS | NLA_F_NESTED);
	for (i = 0; i < STATS_NFIELDS; i++)
		nla_put_u64(m, stats_fields[i].attr, 999);
	nla_nest_end(m, nest);
	fk_append_msg(fd, &o, m);
	fk_flush(fd, &o);
	r.nlh->nlmsg_seq++;
	m = fk_msg(&r, DGFS_CMD_STATS_GET, 0);
	nest = nla_nest_start(m, DGFS_A_STATS | NLA_F_NESTED);
	for (i = 0; i < STATS_NFIELDS; i++) {
		nla_put(m, DGFS_STATS_A_PAD, 0, NULL);
		nla_put_u64(m, stats_fields[i].attr, i + 1);
	}
	nla_nest_end(m, nest);
	fk_append_msg(fd, &o, m);
	fk_status(fd, &o, &r, NLMSG_ERROR, 0, NULL, true, 0);
	fk_flush(fd, &o);
}

/* Answer a CONFIG_GET: port 8080, max_read 2M, auth on, key set. */
static void fk_config_get(int fd, struct fk_req *r, struct fk_out *o)
{
	struct nlattr *nest;
	struct nl_msg *m;

	if (!fk_recv(fd, r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(fk_genl(r)->cmd == DGFS_CMD_CONFIG_GET && !fk_has_attrs(r));
	o->port = r->port;
	m = fk_msg(r, DGFS_CMD_CONFIG_GET, 0);
	nest = nla_nest_start(m, DGFS_A_CONFIG | NLA_F_NESTED);
	nla_put_u16(m, DGFS_CONFIG_A_PORT, 8080);
	nla_put_u32(m, DGFS_CONFIG_A_MAX_READ, 2 << 20);
	nla_put_u8(m, DGFS_CONFIG_A_AUTH, 1);
	nla_put_u8(m, DGFS_CONFIG_A_AUTH_KEY_SET, 1);
	nla_nest_end(m, nest);
	fk_append_msg(fd, o, m);
	fk_status(fd, o, r, NLMSG_ERROR, 0, NULL, true, 0);
	fk_flush(fd, o);
}

static void fk_config(int fd, void *arg)
{
	static struct fk_req r;
	static struct fk_out o;
	const uint8_t *want_key = arg;

	/* config set port 8080 max_read 2M auth on key ... */
	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_CONFIG_SET);
	FK_CHECK(r.nlh->nlmsg_flags & NLM_F_ACK);
	FK_CHECK(fk_nest(&r, DGFS_A_CONFIG, DGFS_CONFIG_A_MAX) && r.nested_flag);
	FK_CHECK(r.nest[DGFS_CONFIG_A_PORT] && nla_len(r.nest[DGFS_CONFIG_A_PORT]) == 2 &&
		 nla_get_u16(r.nest[DGFS_CONFIG_A_PORT]) == 8080);
	FK_CHECK(r.nest[DGFS_CONFIG_A_MAX_READ] && nla_len(r.nest[DGFS_CONFIG_A_MAX_READ]) == 4 &&
		 nla_get_u32(r.nest[DGFS_CONFIG_A_MAX_READ]) == 2 << 20);
	FK_CHECK(r.nest[DGFS_CONFIG_A_AUTH] && nla_len(r.nest[DGFS_CONFIG_A_AUTH]) == 1 &&
		 nla_get_u8(r.nest[DGFS_CONFIG_A_AUTH]) == 1);
	FK_CHECK(r.nest[DGFS_CONFIG_A_AUTH_KEY] &&
		 nla_len(r.nest[DGFS_CONFIG_A_AUTH_KEY]) == DGFS_AUTH_KEY_LEN &&
		 !memcmp(nla_data(r.nest[DGFS_CONFIG_A_AUTH_KEY]), want_key, DGFS_AUTH_KEY_LEN));
	FK_CHECK(!r.nest[DGFS_CONFIG_A_AUTH_KEY_SET]);
	fk_ack(fd, &r);
	/* A new port or max_read: dgfsctl reads the configuration back for
	 * the XDP programs (there are none on this host to reload).
	 */
	fk_config_get(fd, &r, &o);

	/* config set key random: 16 bytes, nothing else. */
	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(fk_nest(&r, DGFS_A_CONFIG, DGFS_CONFIG_A_MAX));
	FK_CHECK(r.nest[DGFS_CONFIG_A_AUTH_KEY] &&
		 nla_len(r.nest[DGFS_CONFIG_A_AUTH_KEY]) == DGFS_AUTH_KEY_LEN &&
		 memcmp(nla_data(r.nest[DGFS_CONFIG_A_AUTH_KEY]), want_key, DGFS_AUTH_KEY_LEN));
	FK_CHECK(!r.nest[DGFS_CONFIG_A_PORT] && !r.nest[DGFS_CONFIG_A_AUTH]);
	/* A successful ack may carry a warning. */
	o.port = r.port;
	fk_status(fd, &o, &r, NLMSG_ERROR, 0, "auth is still off", true, 0);
	fk_flush(fd, &o);

	/* config show */
	fk_config_get(fd, &r, &o);
}

/* config set auth off: acks it (arg NULL) or refuses it with -EPERM. */
static void fk_auth_off(int fd, void *arg)
{
	static struct fk_req r;
	static struct fk_out o;

	if (!fk_recv(fd, &r)) {
		fk_bad++;
		return;
	}
	FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_CONFIG_SET);
	FK_CHECK(fk_nest(&r, DGFS_A_CONFIG, DGFS_CONFIG_A_MAX));
	FK_CHECK(r.nest[DGFS_CONFIG_A_AUTH] && nla_get_u8(r.nest[DGFS_CONFIG_A_AUTH]) == 0);
	o.port = r.port;
	fk_status(fd, &o, &r, NLMSG_ERROR, arg ? -EPERM : 0, NULL, true, 0);
	fk_flush(fd, &o);
}

/*
 * Acks chunk adds, one or a list (DGFS_A_CHUNKS) each, until @expect lines
 * are settled: added, or refused on their own. A request that holds line
 * @fail_at (1-based; its id is fail_at - 1, as write_batch() writes them)
 * is refused whole, with no entry named, as the kernel refuses a list of
 * an unknown store: dgfsctl then sends the lines one by one.
 */
struct fk_acker {
	int fail_at;		/* 1-based, 0 for never */
	int expect;		/* lines that must be settled */
};

/* The chunk adds @r carries (0 if malformed); *hit: line fail_at among them. */
static int fk_chunk_count(struct fk_req *r, int fail_at, bool *hit)
{
	struct nlattr *top[DGFS_A_MAX + 1], *tb[DGFS_CHUNK_A_MAX + 1], *e;
	uint8_t want[DGFS_CHUNK_ID_LEN] = { 0 };
	int n = 0, rem;

	want[DGFS_CHUNK_ID_LEN - 2] = (uint8_t)((fail_at - 1) >> 8);
	want[DGFS_CHUNK_ID_LEN - 1] = (uint8_t)(fail_at - 1);
	*hit = false;
	if (genlmsg_parse(r->nlh, 0, top, DGFS_A_MAX, NULL) < 0)
		return 0;
	if (top[DGFS_A_CHUNK]) {
		if (nla_parse_nested(tb, DGFS_CHUNK_A_MAX, top[DGFS_A_CHUNK], NULL) ||
		    !tb[DGFS_CHUNK_A_ID])
			return 0;
		*hit = fail_at && !memcmp(nla_data(tb[DGFS_CHUNK_A_ID]), want, sizeof(want));
		return 1;
	}
	if (!top[DGFS_A_CHUNKS])
		return 0;
	nla_for_each_nested(e, top[DGFS_A_CHUNKS], rem) {
		if (nla_type(e) != DGFS_CHUNKS_A_ENTRY)
			continue;
		if (nla_parse_nested(tb, DGFS_CHUNK_A_MAX, e, NULL) || !tb[DGFS_CHUNK_A_ID])
			return 0;
		if (fail_at && !memcmp(nla_data(tb[DGFS_CHUNK_A_ID]), want, sizeof(want)))
			*hit = true;
		n++;
	}
	return n;
}

static void fk_ack_all(int fd, void *arg)
{
	const struct fk_acker *a = arg;
	static struct fk_req r;
	static struct fk_out o;
	uint32_t port = 0;
	int settled = 0, requests = 0;

	while (settled < a->expect && fk_recv(fd, &r)) {
		bool hit;
		int n = fk_chunk_count(&r, a->fail_at, &hit);

		if (++requests == 1)
			port = r.port;
		/* One socket for the whole batch. */
		FK_CHECK(r.port == port);
		FK_CHECK(fk_genl(&r)->cmd == DGFS_CMD_CHUNK_ADD);
		FK_CHECK(n > 0);
		o.port = r.port;
		fk_status(fd, &o, &r, NLMSG_ERROR, hit ? -ENOENT : 0,
			  hit ? "no such store" : NULL, true, 0);
		fk_flush(fd, &o);
		if (!hit || n == 1)
			settled += n;
	}
	FK_CHECK(settled == a->expect);
	/* Many lines to a request: far fewer requests than lines. */
	if (!a->fail_at && a->expect >= 1000)
		FK_CHECK(requests <= a->expect / 100);
}

static void test_fake_kernel(void)
{
	struct dgfsctl ctl;
	char *out, *err;
	int ret, fk;

	ctl_init(&ctl, false);
	ret = run_fake(&ctl, fk_store_dump, NULL, "store show", &out, &err, &fk);
	CHECK("fake: store dump over several datagrams",
	      ret == 0 && fk == 0 && !strcmp(err, "") &&
	      !strcmp(out, "store aa path /srv/a\\040a chunks 0 bytes 0\n"
			   "store mm path /srv/mm chunks 1 bytes 1\n"
			   "store zz path /srv/zz chunks 2 bytes 8192\n"));
	free(out);
	free(err);

	ctl.json = true;
	print_init(stdout, true, false);
	ret = run_fake(&ctl, fk_store_dump, NULL, "store show", &out, &err, &fk);
	CHECK("fake: store dump as JSON",
	      ret == 0 && fk == 0 &&
	      !strcmp(out, "[{\"name\":\"aa\",\"path\":\"/srv/a a\",\"chunks\":0,\"bytes\":0},"
			   "{\"name\":\"mm\",\"path\":\"/srv/mm\",\"chunks\":1,\"bytes\":1},"
			   "{\"name\":\"zz\",\"path\":\"/srv/zz\",\"chunks\":2,\"bytes\":8192}]\n"));
	free(out);
	free(err);
	ctl.json = false;
	print_init(stdout, false, false);

	{
		int torn = 1;

		ret = run_fake(&ctl, fk_store_dump_intr, &torn, "store show", &out, &err, &fk);
		CHECK("fake: torn dump retried, only the whole one printed",
		      ret == 0 && fk == 0 && !strcmp(err, "") &&
		      !strcmp(out, "store whole path /x chunks 1 bytes 1\n"
				   "store whole2 path /y chunks 1 bytes 1\n"));
		free(out);
		free(err);

		torn = 3;
		ret = run_fake(&ctl, fk_store_dump_intr, &torn, "store show", &out, &err, &fk);
		CHECK("fake: three torn dumps, the fourth succeeds",
		      ret == 0 && fk == 0 && strstr(out, "whole2") && !strstr(out, "torn"));
		free(out);
		free(err);

		torn = 1000;
		ret = run_fake(&ctl, fk_store_dump_intr, &torn, "store show", &out, &err, &fk);
		CHECK("fake: always torn gives up after a few attempts",
		      ret == 1 && fk == 0 && !strcmp(out, "") &&
		      !strcmp(err, "dgfsctl: dumping stores: interrupted by concurrent "
				   "changes 5 times in a row, giving up\n"));
		free(out);
		free(err);
	}

	{
		struct fk_error_arg a = { DGFS_CMD_STORE_ADD, -EEXIST,
					  "store \"store\" already exists", false, false };
		char *cwd = getcwd(NULL, 0), want[PATH_MAX + 16];

		ret = run_fake(&ctl, fk_error, &a, "store add store path /srv/x", &out, &err, &fk);
		CHECK("fake: kernel error with extack (request echoed)",
		      ret == 1 && fk == 0 && !strcmp(out, "") &&
		      !strcmp(err, "dgfsctl: adding store \"store\": store \"store\" already exists\n"));
		free(out);
		free(err);

		a.capped = true;
		ret = run_fake(&ctl, fk_error, &a, "store add store path /srv/x", &out, &err, &fk);
		CHECK("fake: kernel error with extack (capped)",
		      ret == 1 && fk == 0 &&
		      !strcmp(err, "dgfsctl: adding store \"store\": store \"store\" already exists\n"));
		free(out);
		free(err);

		a.text = NULL;
		ret = run_fake(&ctl, fk_error, &a, "store add store path /srv/x", &out, &err, &fk);
		CHECK("fake: kernel error without extack uses strerror",
		      ret == 1 && fk == 0 &&
		      !strcmp(err, "dgfsctl: adding store \"store\": File exists\n"));
		free(out);
		free(err);

		a.error = -EPERM;
		ret = run_fake(&ctl, fk_error, &a, "store add store path /srv/x", &out, &err, &fk);
		CHECK("fake: EPERM says what is needed",
		      ret == 1 && fk == 0 &&
		      !strcmp(err, "dgfsctl: adding store \"store\": Operation not permitted "
				   "(needs CAP_NET_ADMIN in the initial user namespace)\n"));
		free(out);
		free(err);

		a = (struct fk_error_arg){ DGFS_CMD_STORE_GET, -ENOENT, NULL, true, false };
		ret = run_fake(&ctl, fk_error, &a, "store show nosuch", &out, &err, &fk);
		CHECK("fake: store show NAME of a missing store",
		      ret == 1 && fk == 0 && !strcmp(out, "") &&
		      !strcmp(err, "dgfsctl: getting store \"nosuch\": No such file or directory\n"));
		free(out);
		free(err);

		a = (struct fk_error_arg){ DGFS_CMD_STORE_GET, -EIO, "disk on fire", false, true };
		ret = run_fake(&ctl, fk_error, &a, "store show", &out, &err, &fk);
		CHECK("fake: dump failing in NLMSG_DONE prints nothing of it",
		      ret == 1 && fk == 0 && !strcmp(out, "") &&
		      !strcmp(err, "dgfsctl: dumping stores: disk on fire\n"));
		free(out);
		free(err);

		ret = run_fake(&ctl, fk_store_add_check, "/srv/x", "store add store path /srv/x",
			       &out, &err, &fk);
		CHECK("fake: store add sends NAME and PATH, prints nothing",
		      ret == 0 && fk == 0 && !strcmp(out, "") && !strcmp(err, ""));
		free(out);
		free(err);

		snprintf(want, sizeof(want), "%s/rel/dir", strcmp(cwd, "/") ? cwd : "");
		ret = run_fake(&ctl, fk_store_add_check, want, "store add store path rel/dir",
			       &out, &err, &fk);
		CHECK("fake: store add makes a relative path absolute", ret == 0 && fk == 0);
		free(out);
		free(err);
		free(cwd);
	}

	{
		uint64_t size = 3ULL << 30;

		ret = run_fake(&ctl, fk_chunk_add_check, &size,
			       "chunk add " TEST_ID_HEX " store s1 file 'dir/my file' size 3G",
			       &out, &err, &fk);
		CHECK("fake: chunk add sends ID, STORE, PATH, SIZE",
		      ret == 0 && fk == 0 && !strcmp(out, "") && !strcmp(err, ""));
		free(out);
		free(err);

		ret = run_fake(&ctl, fk_chunk_add_check, NULL,
			       "chunk add " TEST_ID_HEX " file \"dir/my file\" store s1",
			       &out, &err, &fk);
		CHECK("fake: chunk add without size sends no SIZE", ret == 0 && fk == 0);
		free(out);
		free(err);

		ret = run_fake(&ctl, fk_chunk_dump_filter, NULL, "chunk show store s1",
			       &out, &err, &fk);
		CHECK("fake: chunk show store NAME is a filtered dump",
		      ret == 0 && fk == 0 &&
		      !strcmp(out, "chunk 0123456789abcdef0123456789abcdef0123456789abcdef"
				   "0123456789abcdef store s1 path f size 3\n"));
		free(out);
		free(err);

		ret = run_fake(&ctl, fk_chunk_get, NULL, "chunk show " TEST_ID_HEX,
			       &out, &err, &fk);
		CHECK("fake: chunk show ID", ret == 0 && fk == 0 && count_lines(out) == 1 &&
		      strstr(out, " store s1 path f size 3\n"));
		free(out);
		free(err);

		ctl.json = true;
		print_init(stdout, true, false);
		ret = run_fake(&ctl, fk_chunk_get, NULL, "chunk show " TEST_ID_HEX " store s1",
			       &out, &err, &fk);
		CHECK("fake: chunk show ID store NAME (match) is a JSON array of one",
		      ret == 0 && fk == 0 && out[0] == '[' &&
		      !strcmp(out + strlen(out) - 3, "}]\n"));
		free(out);
		free(err);
		ctl.json = false;
		print_init(stdout, false, false);

		ret = run_fake(&ctl, fk_chunk_get, NULL, "chunk show " TEST_ID_HEX " store s2",
			       &out, &err, &fk);
		CHECK("fake: chunk show ID store NAME (mismatch) fails",
		      ret == 1 && fk == 0 && !strcmp(out, "") &&
		      strstr(err, "the chunk is in store \"s1\", not \"s2\""));
		free(out);
		free(err);
	}

	{
		int n = 1200;
		double t, t_small;

		/*
		 * The control: a tenth of the dump, timed the same way in this
		 * run. Ten times the chunks should take about ten times the CPU
		 * time; the bound (30 times) catches quadratic work.
		 */
		ret = run_fake(&ctl, fk_chunk_dump_big, &n, "chunk show", &out, &err, &fk);
		t_small = last_run_seconds;
		CHECK("fake: dump of 1200 chunks (the control), all printed",
		      ret == 0 && fk == 0 && count_lines(out) == 1200 && !strcmp(err, ""));
		free(out);
		free(err);
		n = 12000;
		ret = run_fake(&ctl, fk_chunk_dump_big, &n, "chunk show", &out, &err, &fk);
		t = last_run_seconds;
		CHECK("fake: dump of 12000 chunks, all printed",
		      ret == 0 && fk == 0 && count_lines(out) == 12000 && !strcmp(err, ""));
		CHECK("fake: dump of 12000 chunks sorted by id",
		      !strncmp(out, "chunk 000000", 12) &&
		      strstr(out, "\nchunk 002edf00") && strstr(out, "path objects/011999 "));
		printf("# 12000-chunk dump took %.3f s of CPU, 1200 chunks %.3f s\n", t, t_small);
		CHECK("fake: dump of 12000 chunks in under 30 times the 1200's CPU time + 0.2 s",
		      t < 30 * t_small + 0.2);
		free(out);
		free(err);
	}

	{
		struct capture c;
		struct fake f;
		char *argv1[] = { "store", "show" }, *argv2[] = { "stats" };
		int r1, r2;

		fake_start(&f, &ctl, fk_malformed_then_stats, NULL);
		cap_start(&c);
		r1 = dgfsctl_run(&ctl, 2, argv1);
		r2 = dgfsctl_run(&ctl, 1, argv2);
		cap_stop(&c, &out, &err);
		fk = fake_stop(&f);
		CHECK("fake: malformed reply is an error, nothing printed",
		      r1 == 1 && strstr(err, "dgfsctl: dumping stores: malformed reply from the kernel\n") &&
		      !strstr(out, "store "));
		CHECK("fake: same socket works after it; stale reply ignored",
		      r2 == 0 && fk == 0 &&
		      !strcmp(out, "stores 1\nchunks 2\nchunk_bytes 3\nlookups 4\nlookup_hits 5\n"
				   "obj_created 6\nobj_destroyed 7\nrequests 8\nreplies 9\ndatagrams 10\n"
				   "bytes 11\nmalformed 12\nring_full 13\nclient_full 14\nbalanced 15\n"
				   "rings 16\nqueued 17\nqueued_max 18\nno_rings 19\ntoken_rejected 20\n"
				   "noent 21\nrange 22\nio_errors 23\noverloaded 24\ncache_misses 25\n"
				   "slow_reads 26\nsend_errors 27\nstack_requests 28\nsrc_unspec 29\nsrc_loopback 30\n"
				   "src_multicast 31\nsrc_mapped 32\nsrc_local 33\nbad_dst 34\n"));
		free(out);
		free(err);
	}

	{
		static const uint8_t key[DGFS_AUTH_KEY_LEN] = {
			0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
			0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		};
		struct capture c;
		struct fake f;
		char *a1[] = { "config", "set", "auth", "on", "port", "8080", "max_read", "2M",
			       "key", "00112233445566778899AABBCCDDEEFF" };
		char *a2[] = { "config", "set", "key", "random" };
		char *a3[] = { "config", "show" };
		int r1, r2, r3;

		fake_start(&f, &ctl, fk_config, (void *)key);
		cap_start(&c);
		r1 = dgfsctl_run(&ctl, 10, a1);
		r2 = dgfsctl_run(&ctl, 4, a2);
		r3 = dgfsctl_run(&ctl, 2, a3);
		cap_stop(&c, &out, &err);
		fk = fake_stop(&f);
		CHECK("fake: config set sends each value with its type", r1 == 0 && fk == 0);
		CHECK("fake: config set key random, warning on stderr",
		      r2 == 0 && !strcmp(err, "dgfsctl: setting the configuration: "
					      "warning: auth is still off\n"));
		CHECK("fake: config show",
		      r3 == 0 && !strcmp(out, "config port 8080 max_read 2097152 auth on key set\n"));
		free(out);
		free(err);
	}

	ret = run_fake(&ctl, fk_auth_off, NULL, "config set auth off", &out, &err, &fk);
	CHECK("fake: config set auth off warns that the host is an open reflector",
	      ret == 0 && fk == 0 && !strcmp(out, "") &&
	      !strcmp(err, "dgfsctl: warning: auth off makes this host an open reflector: "
			   "it answers every read without a token, so anyone who reaches the "
			   "port reads every chunk, and requests with a forged source address "
			   "send the replies to someone else\n"));
	free(out);
	free(err);
	ret = run_fake(&ctl, fk_auth_off, "refuse", "config set auth off", &out, &err, &fk);
	CHECK("fake: a refused auth off says only why",
	      ret == 1 && fk == 0 &&
	      !strcmp(err, "dgfsctl: setting the configuration: Operation not permitted "
			   "(needs CAP_NET_ADMIN in the initial user namespace)\n"));
	free(out);
	free(err);
	ctl_fini(&ctl);
}

static void write_batch(const char *path, int lines, bool with_noise)
{
	FILE *fp = fopen(path, "w");
	int i;

	for (i = 0; i < lines; i++) {
		if (with_noise && i % 1000 == 0)
			fprintf(fp, "\n# a comment\n   \t\n");
		fprintf(fp, "chunk add %064x store s1 file 'dir/%d' size %dK\n", i, i, i % 64);
	}
	fclose(fp);
}

static void test_batch(void)
{
	char path[] = "/tmp/dgfsctl-test-batch-XXXXXX";
	struct dgfsctl ctl;
	struct capture c;
	struct fake f;
	char *out, *err;
	int ret, fk, fd = mkstemp(path);

	close(fd);

	{
		struct fk_acker a = { .fail_at = 0, .expect = 2000 };
		double t, t_small;

		/* The control, as for the dump above: a tenth of the lines. */
		write_batch(path, 2000, true);
		ctl_init(&ctl, false);
		fake_start(&f, &ctl, fk_ack_all, &a);
		cap_start(&c);
		t_small = cpu_now();
		ret = run_batch(&ctl, path);
		t_small = cpu_now() - t_small;
		cap_stop(&c, &out, &err);
		fk = fake_stop(&f);
		CHECK("batch: 2000 lines (the control), all acked",
		      ret == 0 && fk == 0 && !strcmp(out, "") && !strcmp(err, ""));
		free(out);
		free(err);
		ctl_fini(&ctl);

		a.expect = 20000;
		write_batch(path, 20000, true);
		ctl_init(&ctl, false);
		fake_start(&f, &ctl, fk_ack_all, &a);
		cap_start(&c);
		t = cpu_now();
		ret = run_batch(&ctl, path);
		t = cpu_now() - t;
		cap_stop(&c, &out, &err);
		fk = fake_stop(&f);
		CHECK("batch: 20000 lines on one socket, all acked",
		      ret == 0 && fk == 0 && !strcmp(out, "") && !strcmp(err, ""));
		printf("# 20000-line batch took %.3f s of CPU, 2000 lines %.3f s\n", t, t_small);
		CHECK("batch: 20000 lines in under 30 times the 2000's CPU time + 0.2 s",
		      t < 30 * t_small + 0.2);
		free(out);
		free(err);
		ctl_fini(&ctl);
	}

	{
		struct fk_acker a = { .fail_at = 3, .expect = 3 };

		write_batch(path, 10, false);
		ctl_init(&ctl, false);
		fake_start(&f, &ctl, fk_ack_all, &a);
		cap_start(&c);
		ret = run_batch(&ctl, path);
		cap_stop(&c, &out, &err);
		fk = fake_stop(&f);
		CHECK("batch: stops at the first failing line",
		      ret == 1 && fk == 0 &&
		      strstr(err, "no such store\n") &&
		      strstr(err, "dgfsctl: ") && strstr(err, ":3: command failed\n") &&
		      count_lines(err) == 2);
		free(out);
		free(err);
		ctl_fini(&ctl);
	}

	{
		struct fk_acker a = { .fail_at = 3, .expect = 10 };

		ctl_init(&ctl, false);
		ctl.force = true;
		fake_start(&f, &ctl, fk_ack_all, &a);
		cap_start(&c);
		ret = run_batch(&ctl, path);
		cap_stop(&c, &out, &err);
		fk = fake_stop(&f);
		CHECK("batch: -f goes on, exit status 1",
		      ret == 1 && fk == 0 && count_lines(err) == 2);
		free(out);
		free(err);
		ctl_fini(&ctl);
	}
	unlink(path);
}

/* ---- the real kernel: generic netlink's own "nlctrl" family -------------- */

static int count_reply(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(*(int *)arg)++;
	return 0;
}

static void reset_count(void *arg)
{
	*(int *)arg = 0;
}

static int fill_bad_family_id(struct nl_msg *msg, const void *arg)
{
	uint8_t one = 1;

	(void)arg;
	/* CTRL_ATTR_FAMILY_ID is a u16: one byte fails the kernel's policy. */
	return nla_put(msg, CTRL_ATTR_FAMILY_ID, 1, &one);
}

static int fill_family_name(struct nl_msg *msg, const void *arg)
{
	return nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, arg);
}

static void test_real_kernel(void)
{
	struct dgfs_nl nl = { 0 };
	struct capture c;
	char *out, *err;
	int count = 0, ret;
	struct dgfs_req dump = {
		.cmd = CTRL_CMD_GETFAMILY, .dump = true, .parse = count_reply,
		.reset = reset_count, .arg = &count, .what = "dumping families",
	};
	struct dgfs_req bad = {
		.cmd = CTRL_CMD_GETFAMILY, .fill = fill_bad_family_id,
		.what = "getting a family",
	};
	struct dgfs_req missing = {
		.cmd = CTRL_CMD_GETFAMILY, .fill = fill_family_name,
		.fill_arg = "dgfs-test-no-such-family", .what = "getting a family",
	};
	struct dgfs_req one = {
		.cmd = CTRL_CMD_GETFAMILY, .fill = fill_family_name, .fill_arg = "nlctrl",
		.parse = count_reply, .arg = &count, .what = "getting nlctrl",
	};

	dgfs_family_name = "nlctrl";
	cap_start(&c);
	ret = dgfs_nl_request(&nl, &dump);
	cap_stop(&c, &out, &err);
	CHECK("kernel: nlctrl dump through dgfs_nl_request", ret == 0 && count >= 1 &&
	      !strcmp(err, ""));
	free(out);
	free(err);

	count = 0;
	ret = dgfs_nl_request(&nl, &one);
	CHECK("kernel: a do with a reply and an ack", ret == 0 && count == 1);

	cap_start(&c);
	ret = dgfs_nl_request(&nl, &bad);
	cap_stop(&c, &out, &err);
	printf("# kernel said: %s", err);
	CHECK("kernel: policy violation reported with the kernel's extack message",
	      ret == -1 && !strncmp(err, "dgfsctl: getting a family: ", 27) &&
	      strstr(err, "Invalid argument") == NULL && count_lines(err) == 1);
	free(out);
	free(err);

	cap_start(&c);
	ret = dgfs_nl_request(&nl, &missing);
	cap_stop(&c, &out, &err);
	CHECK("kernel: ENOENT reported on one line",
	      ret == -1 && !strncmp(err, "dgfsctl: getting a family: ", 27) &&
	      count_lines(err) == 1);
	free(out);
	free(err);

	count = 0;
	ret = dgfs_nl_request(&nl, &one);
	CHECK("kernel: the socket is still good after errors", ret == 0 && count == 1);
	dgfs_nl_close(&nl);

	dgfs_family_name = "dgfs-test-no-such-family";
	cap_start(&c);
	ret = dgfs_nl_request(&nl, &one);
	cap_stop(&c, &out, &err);
	CHECK("kernel: a missing family reads as the module not being loaded",
	      ret == -1 && nl.sock == NULL &&
	      !strcmp(err, "dgfsctl: the dgfs kernel module is not loaded "
			   "(no generic netlink family \"dgfs-test-no-such-family\")\n"));
	free(out);
	free(err);
	dgfs_family_name = DGFS_GENL_NAME;
}

int main(void)
{
	/* `stats` adds the XDP program's counters when their pinned map exists:
	 * not this system's (a dgfs program attached here for real), none.
	 */
	dgfs_xdp_set_pin_dir("/sys/fs/bpf/dgfs-unit-test-none");
	test_extack_parsing();
	test_reply_parsers();
	test_fake_kernel();
	test_batch();
	test_real_kernel();
	return failures ? 1 : 0;
}
