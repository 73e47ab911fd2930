// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfsd's netlink client (userspace/dgfsd/kmod.c), without
 * the dgfs module (tests/vm/test_kmod_client.sh has it against the real
 * one):
 *
 *  - kmod_open() says -ENOENT, as the host kernel never has the family;
 *  - the status parser (NLMSG_ERROR / NLMSG_DONE, extack) and the reply
 *    parsers on messages built here with libnl: good ones, and each way one
 *    can be mis-sized, cut short, duplicated or off the point. Cut-short
 *    messages are copied to buffers of their exact size so that ASan sees
 *    any read past the end;
 *  - the datagram walk: sequence numbers, NLM_F_DUMP_INTR, stray messages;
 *  - the requests built, and the counter names against the uapi enum and
 *    dgfsctl's table.
 *
 * One line per check, PASS or FAIL; the exit status is non-zero if any
 * check failed.
 */

/* expect-checks: 89 (tests/run-all.sh: a run that prints fewer fails) */

#include "dgfsd/kmod.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define FAMILY	0x42
#define SEQ	777

static const uint8_t id_a[DGFS_CHUNK_ID_LEN] = { 0xab, 1, 2, 3, [31] = 0xcd };

/* ---- building replies ---------------------------------------------------- */

static struct nl_msg *reply_start(uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc_size(16384);

	if (!msg || !genlmsg_put(msg, 0, SEQ, FAMILY, 0, flags, cmd, DGFS_GENL_VERSION))
		abort();
	return msg;
}

/* A malloc'd copy of exactly @len bytes of @nlh, with nlmsg_len = @len. */
static struct nlmsghdr *exact_copy(const struct nlmsghdr *nlh, size_t len)
{
	struct nlmsghdr *c = malloc(len);

	if (!c)
		abort();
	memcpy(c, nlh, len);
	c->nlmsg_len = (uint32_t)len;
	return c;
}

/* What a store reply may be, to break one thing at a time. */
struct store_spec {
	const char *name;
	const char *path;
	int name_len;		/* bytes of name to send, NUL included; 0: all */
	int chunks_len;		/* 4 is right */
	int bytes_len;		/* 8 is right */
	bool no_path;
	bool dup_name;
	bool extra;		/* an unknown attribute and a pad: to be ignored */
	uint8_t cmd;
};

static struct nl_msg *store_reply(const struct store_spec *s)
{
	struct nl_msg *msg = reply_start(s->cmd ? s->cmd : DGFS_CMD_STORE_GET, 0);
	uint64_t big = 0x0102030405060708ull;
	struct nlattr *nest = nla_nest_start(msg, DGFS_A_STORE | NLA_F_NESTED);
	int name_len = s->name_len ? s->name_len : (int)strlen(s->name) + 1;

	nla_put(msg, DGFS_STORE_A_NAME, name_len, s->name);
	if (s->dup_name)
		nla_put_string(msg, DGFS_STORE_A_NAME, s->name);
	if (!s->no_path)
		nla_put_string(msg, DGFS_STORE_A_PATH, s->path);
	nla_put(msg, DGFS_STORE_A_CHUNKS, s->chunks_len, &big);
	if (s->extra) {
		nla_put(msg, DGFS_STORE_A_PAD, 0, NULL);
		nla_put_u32(msg, DGFS_STORE_A_MAX + 7, 1);
	}
	nla_put(msg, DGFS_STORE_A_BYTES, s->bytes_len, &big);
	nla_nest_end(msg, nest);
	return msg;
}

/* The name parsed last, as the message it pointed into is gone. */
static size_t parsed_name_len;

static int store_parse(const struct store_spec *s, struct kmod_store_info *out)
{
	struct nl_msg *msg = store_reply(s);
	int err = kmod_parse_store(nlmsg_hdr(msg), out);

	parsed_name_len = err ? 0 : strlen(out->name);
	nlmsg_free(msg);
	return err;
}

static void test_store_parser(void)
{
	struct store_spec good = { .name = "s1", .path = "/mnt/s1", .chunks_len = 4,
				   .bytes_len = 8 };
	struct store_spec s;
	struct kmod_store_info info;
	struct nl_msg *msg;
	struct nlmsghdr *nlh;
	char long_name[DGFS_STORE_NAME_MAX + 1];
	size_t len, cut;
	bool all_cut_refused = true;
	int err;

	msg = store_reply(&good);
	err = kmod_parse_store(nlmsg_hdr(msg), &info);
	CHECK("store reply: parsed",
	      err == 0 && !strcmp(info.name, "s1") && !strcmp(info.path, "/mnt/s1") &&
	      info.chunks == 0x05060708u && info.bytes == 0x0102030405060708ull);

	/* Every shorter length, from one byte off to the bare headers. */
	nlh = nlmsg_hdr(msg);
	len = nlh->nlmsg_len;
	for (cut = NLMSG_HDRLEN + GENL_HDRLEN; cut < len; cut++) {
		struct nlmsghdr *c = exact_copy(nlh, cut);

		if (kmod_parse_store(c, &info) != -EBADMSG)
			all_cut_refused = false;
		free(c);
	}
	CHECK("store reply: every truncation refused", all_cut_refused);
	{
		struct nlmsghdr *c = exact_copy(nlh, NLMSG_HDRLEN + 2);

		CHECK("store reply: no room for the genl header", kmod_parse_store(c, &info) < 0);
		free(c);
	}
	{
		/* The nest claims 4 bytes more than it holds: the last attribute overruns. */
		struct nlmsghdr *c = exact_copy(nlh, len);
		struct nlattr *nest = (struct nlattr *)((char *)c + NLMSG_HDRLEN + GENL_HDRLEN);

		nest->nla_len += 4;
		CHECK("store reply: nest longer than the message", kmod_parse_store(c, &info) < 0);
		nest->nla_len -= 8;
		CHECK("store reply: nest cutting its last attribute",
		      kmod_parse_store(c, &info) < 0);
		free(c);
	}
	{
		/* Whole attributes, then bytes that are none (zeroes: nla_len 0). */
		struct nlmsghdr *c = exact_copy(nlh, len + 4);
		struct nlattr *nest = (struct nlattr *)((char *)c + NLMSG_HDRLEN + GENL_HDRLEN);

		CHECK("store reply: stray bytes after the nest refused",
		      kmod_parse_store(c, &info) == -EBADMSG);
		nest->nla_len += 4;
		CHECK("store reply: stray bytes inside the nest refused",
		      kmod_parse_store(c, &info) == -EBADMSG);
		free(c);
	}
	nlmsg_free(msg);

	s = good;
	s.extra = true;
	CHECK("store reply: unknown attribute and pad ignored", store_parse(&s, &info) == 0);
	s = good;
	s.chunks_len = 8;
	CHECK("store reply: chunks as 8 bytes refused", store_parse(&s, &info) == -EBADMSG);
	s = good;
	s.chunks_len = 2;
	CHECK("store reply: chunks as 2 bytes refused", store_parse(&s, &info) == -EBADMSG);
	s = good;
	s.bytes_len = 4;
	CHECK("store reply: bytes as 4 bytes refused", store_parse(&s, &info) == -EBADMSG);
	s = good;
	s.no_path = true;
	CHECK("store reply: missing path refused", store_parse(&s, &info) == -EBADMSG);
	s = good;
	s.name_len = 2;		/* "s1" without its NUL */
	CHECK("store reply: name without NUL refused", store_parse(&s, &info) == -EBADMSG);
	s = good;
	s.name = "s1\0x";
	s.name_len = 5;		/* a NUL inside */
	CHECK("store reply: name with an inner NUL refused", store_parse(&s, &info) == -EBADMSG);
	s = good;
	s.name = "";
	CHECK("store reply: empty name refused", store_parse(&s, &info) == -EBADMSG);
	memset(long_name, 'n', DGFS_STORE_NAME_MAX);
	long_name[DGFS_STORE_NAME_MAX] = '\0';
	s = good;
	s.name = long_name;
	CHECK("store reply: name of DGFS_STORE_NAME_MAX chars refused",
	      store_parse(&s, &info) == -EBADMSG);
	long_name[DGFS_STORE_NAME_MAX - 1] = '\0';
	CHECK("store reply: name of DGFS_STORE_NAME_MAX - 1 chars taken",
	      store_parse(&s, &info) == 0 && parsed_name_len == DGFS_STORE_NAME_MAX - 1);
	s = good;
	s.dup_name = true;
	CHECK("store reply: repeated attribute refused", store_parse(&s, &info) == -EBADMSG);
	s = good;
	s.cmd = DGFS_CMD_CHUNK_GET;
	CHECK("store reply: answer to another command refused",
	      store_parse(&s, &info) == -EBADMSG);

	msg = reply_start(DGFS_CMD_STORE_GET, 0);
	CHECK("store reply: no DGFS_A_STORE refused",
	      kmod_parse_store(nlmsg_hdr(msg), &info) == -EBADMSG);
	nlmsg_free(msg);
}

/* ---- chunks ----------------------------------------------------------------- */

struct chunk_spec {
	int id_len;		/* 32 is right */
	int size_len;		/* 8 is right */
	const char *store;	/* NULL: left out */
	bool no_path;
};

static struct nl_msg *chunk_reply(const struct chunk_spec *s, int flags)
{
	struct nl_msg *msg = reply_start(DGFS_CMD_CHUNK_GET, flags);
	uint8_t id[DGFS_CHUNK_ID_LEN + 8] = { 0 };
	uint64_t size[2] = { 4096, 0 };	/* room for a mis-sized one */
	struct nlattr *nest = nla_nest_start(msg, DGFS_A_CHUNK | NLA_F_NESTED);

	memcpy(id, id_a, sizeof(id_a));
	nla_put(msg, DGFS_CHUNK_A_ID, s->id_len, id);
	if (s->store)
		nla_put_string(msg, DGFS_CHUNK_A_STORE, s->store);
	if (!s->no_path)
		nla_put_string(msg, DGFS_CHUNK_A_PATH, "ab/c1");
	nla_put(msg, DGFS_CHUNK_A_PAD, 0, NULL);
	nla_put(msg, DGFS_CHUNK_A_SIZE, s->size_len, size);
	nla_nest_end(msg, nest);
	return msg;
}

static int chunk_parse(const struct chunk_spec *s)
{
	struct nl_msg *msg = chunk_reply(s, 0);
	struct kmod_chunk_info c;
	int err = kmod_parse_chunk(nlmsg_hdr(msg), &c);

	nlmsg_free(msg);
	return err;
}

static void test_chunk_parser(void)
{
	struct chunk_spec good = { .id_len = 32, .size_len = 8, .store = "s1" };
	struct chunk_spec s;
	struct kmod_chunk_info c;
	struct kmod_chunk_list l = { .store = "s1" };
	struct nl_msg *msg = chunk_reply(&good, 0);
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	bool all_cut_refused = true;
	size_t cut;

	CHECK("chunk reply: parsed",
	      kmod_parse_chunk(nlh, &c) == 0 && !memcmp(c.id, id_a, DGFS_CHUNK_ID_LEN) &&
	      c.size == 4096 && !strcmp(c.store, "s1"));
	for (cut = NLMSG_HDRLEN + GENL_HDRLEN; cut < nlh->nlmsg_len; cut++) {
		struct nlmsghdr *t = exact_copy(nlh, cut);

		if (kmod_parse_chunk(t, &c) != -EBADMSG)
			all_cut_refused = false;
		free(t);
	}
	CHECK("chunk reply: every truncation refused", all_cut_refused);

	CHECK("chunk list: a chunk of the store asked for is kept",
	      kmod_chunk_list_parse(nlh, &l) == 0 && l.n == 1 && l.v[0].size == 4096);
	l.store = "s2";
	CHECK("chunk list: a chunk of another store refused",
	      kmod_chunk_list_parse(nlh, &l) == -EBADMSG && l.n == 1);
	l.store = NULL;
	CHECK("chunk list: unfiltered takes any store", kmod_chunk_list_parse(nlh, &l) == 0 &&
	      l.n == 2);
	free(l.v);
	nlmsg_free(msg);

	s = good;
	s.id_len = 31;
	CHECK("chunk reply: id of 31 bytes refused", chunk_parse(&s) == -EBADMSG);
	s.id_len = 33;
	CHECK("chunk reply: id of 33 bytes refused", chunk_parse(&s) == -EBADMSG);
	s = good;
	s.size_len = 4;
	CHECK("chunk reply: size as 4 bytes refused", chunk_parse(&s) == -EBADMSG);
	s.size_len = 12;
	CHECK("chunk reply: size as 12 bytes refused", chunk_parse(&s) == -EBADMSG);
	s = good;
	s.store = NULL;
	CHECK("chunk reply: missing store refused", chunk_parse(&s) == -EBADMSG);
	s = good;
	s.no_path = true;
	CHECK("chunk reply: missing path refused", chunk_parse(&s) == -EBADMSG);
}

/* ---- config and stats --------------------------------------------------- */

struct config_spec {
	int port_len;		/* 2 is right */
	int max_read_len;	/* 4 is right */
	uint8_t auth;
	bool no_key_set;
};

static int config_parse(const struct config_spec *s, struct kmod_config *cfg)
{
	struct nl_msg *msg = reply_start(DGFS_CMD_CONFIG_GET, 0);
	uint32_t v32 = 1048576;
	uint16_t port = 7878;
	uint8_t pbuf[8] = { 0 };
	struct nlattr *nest = nla_nest_start(msg, DGFS_A_CONFIG | NLA_F_NESTED);
	int err;

	memcpy(pbuf, &port, sizeof(port));
	nla_put(msg, DGFS_CONFIG_A_PORT, s->port_len, pbuf);
	nla_put(msg, DGFS_CONFIG_A_MAX_READ, s->max_read_len, &v32);
	nla_put_u8(msg, DGFS_CONFIG_A_AUTH, s->auth);
	if (!s->no_key_set)
		nla_put_u8(msg, DGFS_CONFIG_A_AUTH_KEY_SET, 0);
	nla_nest_end(msg, nest);
	err = kmod_parse_config(nlmsg_hdr(msg), cfg);
	nlmsg_free(msg);
	return err;
}

static void test_config_parser(void)
{
	struct config_spec good = { .port_len = 2, .max_read_len = 4, .auth = 1 }, s;
	struct kmod_config cfg;

	CHECK("config reply: parsed",
	      config_parse(&good, &cfg) == 0 && cfg.port == 7878 && cfg.max_read == 1048576 &&
	      cfg.auth && !cfg.key_set);
	s = good;
	s.port_len = 4;
	CHECK("config reply: port as 4 bytes refused", config_parse(&s, &cfg) == -EBADMSG);
	s = good;
	s.max_read_len = 2;
	CHECK("config reply: max_read as 2 bytes refused", config_parse(&s, &cfg) == -EBADMSG);
	s = good;
	s.auth = 2;
	CHECK("config reply: auth 2 refused", config_parse(&s, &cfg) == -EBADMSG);
	s = good;
	s.no_key_set = true;
	CHECK("config reply: missing auth_key_set refused", config_parse(&s, &cfg) == -EBADMSG);
}

/* A stats reply as the kernel makes it: each counter = attr * 1000, pads between. */
static struct nl_msg *stats_reply(int bad_attr, int bad_len, int left_out)
{
	struct nl_msg *msg = reply_start(DGFS_CMD_STATS_GET, 0);
	struct nlattr *nest = nla_nest_start(msg, DGFS_A_STATS | NLA_F_NESTED);
	int attr;

	for (attr = 1; attr <= DGFS_STATS_A_MAX; attr++) {
		uint64_t v[2] = { (uint64_t)attr * 1000, 0 };

		if (attr == DGFS_STATS_A_PAD || attr == left_out)
			continue;
		nla_put(msg, DGFS_STATS_A_PAD, 0, NULL);
		nla_put(msg, attr, attr == bad_attr ? bad_len : 8, v);
	}
	nla_nest_end(msg, nest);
	return msg;
}

static void test_stats_parser(void)
{
	uint64_t val[KMOD_NSTATS];
	bool have[KMOD_NSTATS], right = true, all_have = true;
	struct nl_msg *msg = stats_reply(0, 0, 0);
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	bool all_cut_refused = true;
	size_t i, cut;

	CHECK("stats reply: parsed", kmod_parse_stats(nlh, val, have) == 0);
	for (i = 0; i < KMOD_NSTATS; i++) {
		all_have &= have[i];
		right &= val[i] == (uint64_t)kmod_stats[i].attr * 1000;
	}
	CHECK("stats reply: every counter there", all_have);
	CHECK("stats reply: each value under its own name", right);
	for (cut = NLMSG_HDRLEN + GENL_HDRLEN; cut < nlh->nlmsg_len; cut++) {
		struct nlmsghdr *t = exact_copy(nlh, cut);

		if (kmod_parse_stats(t, val, have) != -EBADMSG)
			all_cut_refused = false;
		free(t);
	}
	CHECK("stats reply: every truncation refused", all_cut_refused);
	nlmsg_free(msg);

	msg = stats_reply(DGFS_STATS_A_RING_FULL, 4, 0);
	CHECK("stats reply: a counter as 4 bytes refused",
	      kmod_parse_stats(nlmsg_hdr(msg), val, have) == -EBADMSG);
	nlmsg_free(msg);
	msg = stats_reply(DGFS_STATS_A_STORES, 16, 0);
	CHECK("stats reply: a counter as 16 bytes refused",
	      kmod_parse_stats(nlmsg_hdr(msg), val, have) == -EBADMSG);
	nlmsg_free(msg);
	msg = stats_reply(0, 0, DGFS_STATS_A_NOENT);
	all_have = kmod_parse_stats(nlmsg_hdr(msg), val, have) == 0;
	for (i = 0; i < KMOD_NSTATS; i++)
		all_have &= have[i] == (kmod_stats[i].attr != DGFS_STATS_A_NOENT);
	CHECK("stats reply: a counter left out is just not reported", all_have);
	nlmsg_free(msg);
}

/* A stats reply with DGFS_A_LATENCY: request bucket i holds i + 1, disk
 * buckets 7 each; @nbuckets of the request's sent, its sum left out if
 * @no_sum.
 */
static struct nl_msg *latency_reply(int nbuckets, bool no_sum)
{
	struct nl_msg *msg = stats_reply(0, 0, 0);
	struct nlattr *nest = nla_nest_start(msg, DGFS_A_LATENCY | NLA_F_NESTED), *h;
	uint64_t b[DGFS_HIST_BUCKETS + 1];
	int i;

	for (i = 0; i <= DGFS_HIST_BUCKETS; i++)
		b[i] = (uint64_t)i + 1;
	h = nla_nest_start(msg, DGFS_LATENCY_A_REQUEST | NLA_F_NESTED);
	nla_put(msg, DGFS_HIST_A_BUCKETS, nbuckets * 8, b);
	if (!no_sum)
		nla_put_u64(msg, DGFS_HIST_A_SUM, 12345);
	nla_nest_end(msg, h);
	for (i = 0; i < DGFS_HIST_BUCKETS; i++)
		b[i] = 7;
	h = nla_nest_start(msg, DGFS_LATENCY_A_DISK | NLA_F_NESTED);
	nla_put(msg, DGFS_HIST_A_PAD, 0, NULL);
	nla_put(msg, DGFS_HIST_A_BUCKETS, DGFS_HIST_BUCKETS * 8, b);
	nla_put_u64(msg, DGFS_HIST_A_SUM, 99);
	nla_nest_end(msg, h);
	nla_nest_end(msg, nest);
	return msg;
}

static int latency_parse(struct nl_msg *msg, struct lat_hist *r, struct lat_hist *d, bool *none)
{
	struct kmod_latency_get g = { .request = r, .disk = d };
	int ret = kmod_latency_parse(nlmsg_hdr(msg), &g);

	*none = g.none;
	nlmsg_free(msg);
	return ret ? ret : g.got || g.none ? 0 : -EBADMSG;
}

static void test_latency_parser(void)
{
	struct nl_msg *msg = latency_reply(DGFS_HIST_BUCKETS, false);
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct lat_hist r, d;
	bool none, right = true, all_cut_refused = true;
	size_t cut;
	int i;

	struct nl_msg *stats = stats_reply(0, 0, 0);
	size_t stats_end = nlmsg_hdr(stats)->nlmsg_len;

	nlmsg_free(stats);
	for (cut = NLMSG_HDRLEN + GENL_HDRLEN; cut < nlh->nlmsg_len; cut++) {
		struct nlmsghdr *t = exact_copy(nlh, cut);
		struct kmod_latency_get g = { .request = &r, .disk = &d };
		int ret = kmod_latency_parse(t, &g);

		/* Cut right after the counters, it is a whole reply of a
		 * module without histograms; anywhere else, a broken one.
		 */
		if (cut == stats_end ? ret || !g.none : ret != -EBADMSG)
			all_cut_refused = false;
		free(t);
	}
	CHECK("latency reply: parsed", latency_parse(msg, &r, &d, &none) == 0 && !none);
	for (i = 0; i < DGFS_HIST_BUCKETS; i++)
		right &= r.b[i] == (uint64_t)i + 1 && d.b[i] == 7;
	CHECK("latency reply: both histograms' buckets, each in its place", right);
	CHECK("latency reply: both sums", r.sum_ns == 12345 && d.sum_ns == 99);
	CHECK("latency reply: every truncation refused (but right after the counters)",
	      all_cut_refused);
	CHECK("latency reply: 25 buckets refused",
	      latency_parse(latency_reply(DGFS_HIST_BUCKETS - 1, false), &r, &d, &none) == -EBADMSG);
	CHECK("latency reply: 27 buckets refused",
	      latency_parse(latency_reply(DGFS_HIST_BUCKETS + 1, false), &r, &d, &none) == -EBADMSG);
	CHECK("latency reply: no sum refused",
	      latency_parse(latency_reply(DGFS_HIST_BUCKETS, true), &r, &d, &none) == -EBADMSG);
	CHECK("latency reply: a module without histograms (stats only) is not an error",
	      latency_parse(stats_reply(0, 0, 0), &r, &d, &none) == 0 && none);
}

/* ---- status messages ---------------------------------------------------- */

/*
 * An NLMSG_ERROR for a request: @echo bytes of its payload echoed unless
 * capped, then an extack message of @msg_len bytes (0: none).
 */
static struct nl_msg *error_msg(int error, bool capped, int echo, const char *ext, int ext_len)
{
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_ERROR, 0);
	struct nlmsgerr e = { .error = error };
	char payload[64] = { 0 };

	e.msg.nlmsg_len = NLMSG_HDRLEN + (capped ? 0 : echo);
	e.msg.nlmsg_seq = SEQ;
	nlmsg_hdr(msg)->nlmsg_seq = SEQ;
	nlmsg_append(msg, &e, sizeof(e), NLMSG_ALIGNTO);
	if (!capped && echo)
		nlmsg_append(msg, payload, (size_t)echo, NLMSG_ALIGNTO);
	if (capped)
		nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_CAPPED;
	if (ext_len) {
		nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK_TLVS;
		nla_put_u32(msg, NLMSGERR_ATTR_OFFS, 20);
		nla_put(msg, NLMSGERR_ATTR_MSG, ext_len, ext);
	}
	return msg;
}

static struct nl_msg *done_msg(int error, const char *ext)
{
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI);

	nlmsg_hdr(msg)->nlmsg_seq = SEQ;
	nlmsg_append(msg, &error, sizeof(error), NLMSG_ALIGNTO);
	if (ext) {
		nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK_TLVS;
		nla_put_string(msg, NLMSGERR_ATTR_MSG, ext);
	}
	return msg;
}

static void test_status(void)
{
	static const char text[] = "no chunk with this id";
	char ext[KMOD_EXT_LEN], small[8];
	char long_text[600];
	struct nl_msg *msg;
	struct nlmsghdr *t;
	int err;

	msg = error_msg(0, true, 0, NULL, 0);
	CHECK("status: ack is 0", kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext)) == 0 &&
	      !ext[0]);
	nlmsg_free(msg);

	msg = error_msg(-ENOENT, true, 0, text, sizeof(text));
	err = kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext));
	CHECK("status: error with extack message", err == -ENOENT && !strcmp(ext, text));
	CHECK("status: extack message cut to the buffer",
	      kmod_parse_status(nlmsg_hdr(msg), small, sizeof(small)) == -ENOENT &&
	      !strcmp(small, "no chun"));
	nlmsg_free(msg);

	msg = error_msg(-EINVAL, false, 24, text, sizeof(text));
	err = kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext));
	CHECK("status: uncapped error skips the echoed request", err == -EINVAL &&
	      !strcmp(ext, text));
	t = exact_copy(nlmsg_hdr(msg), NLMSG_HDRLEN + sizeof(struct nlmsgerr) + 8);
	CHECK("status: echoed request longer than the message refused",
	      kmod_parse_status(t, ext, sizeof(ext)) == -EBADMSG);
	free(t);
	nlmsg_free(msg);

	msg = error_msg(-EEXIST, true, 0, text, (int)strlen(text));
	err = kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext));
	CHECK("status: extack message without NUL ignored", err == -EEXIST && !ext[0]);
	nlmsg_free(msg);

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	msg = error_msg(-EINVAL, true, 0, long_text, sizeof(long_text));
	err = kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext));
	CHECK("status: long extack message cut to KMOD_EXT_LEN - 1",
	      err == -EINVAL && strlen(ext) == KMOD_EXT_LEN - 1);
	nlmsg_free(msg);

	msg = error_msg(-ENOENT, true, 0, text, sizeof(text));
	t = exact_copy(nlmsg_hdr(msg), NLMSG_HDRLEN + sizeof(struct nlmsgerr) - 1);
	CHECK("status: truncated nlmsgerr refused",
	      kmod_parse_status(t, ext, sizeof(ext)) == -EBADMSG);
	free(t);
	t = exact_copy(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len - 3);
	err = kmod_parse_status(t, ext, sizeof(ext));
	CHECK("status: cut extack TLV: error kept, message dropped", err == -ENOENT && !ext[0]);
	free(t);
	nlmsg_free(msg);

	msg = error_msg(EPERM, true, 0, NULL, 0);
	CHECK("status: positive error refused",
	      kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext)) == -EBADMSG);
	nlmsg_free(msg);

	msg = done_msg(0, NULL);
	CHECK("status: DONE 0", kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext)) == 0);
	nlmsg_free(msg);
	msg = done_msg(-ENOENT, "no store with this name");
	err = kmod_parse_status(nlmsg_hdr(msg), ext, sizeof(ext));
	CHECK("status: DONE with error and extack", err == -ENOENT &&
	      !strcmp(ext, "no store with this name"));
	t = exact_copy(nlmsg_hdr(msg), NLMSG_HDRLEN + 2);
	CHECK("status: DONE without its error refused",
	      kmod_parse_status(t, ext, sizeof(ext)) == -EBADMSG);
	free(t);
	nlmsg_free(msg);
}

/* ---- the datagram walk -------------------------------------------------- */

struct datagram {
	unsigned char buf[16384];
	int len;
};

static void dg_add(struct datagram *d, struct nl_msg *msg, uint32_t seq, int family)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	nlh->nlmsg_seq = seq;
	if (family)
		nlh->nlmsg_type = (uint16_t)family;
	memcpy(d->buf + d->len, nlh, nlh->nlmsg_len);
	d->len += (int)NLMSG_ALIGN(nlh->nlmsg_len);
	nlmsg_free(msg);
}

static void test_walk(void)
{
	struct chunk_spec good = { .id_len = 32, .size_len = 8, .store = "s1" };
	struct chunk_spec bad = { .id_len = 31, .size_len = 8, .store = "s1" };
	struct kmod_chunk_list l = { .store = "s1" };
	struct kmod_req req = { .parse = kmod_chunk_list_parse, .arg = &l };
	struct datagram *d = calloc(1, sizeof(*d));
	unsigned char *cut;
	int status;

	/* Two chunks, a stale one of an older request, then the end. */
	dg_add(d, chunk_reply(&good, NLM_F_MULTI), SEQ, 0);
	dg_add(d, chunk_reply(&bad, NLM_F_MULTI), SEQ - 1, 0);
	dg_add(d, chunk_reply(&good, NLM_F_MULTI), SEQ, 0);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len, &req);
	CHECK("walk: more to come before DONE", status == 1 && l.n == 2 && !req.perr &&
	      !req.intr);
	d->len = 0;
	dg_add(d, done_msg(0, NULL), SEQ, 0);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len, &req);
	CHECK("walk: DONE ends the dump", status == 0 && l.n == 2 && !req.perr);

	l.n = 0;
	memset(&req, 0, sizeof(req));
	req.parse = kmod_chunk_list_parse;
	req.arg = &l;
	d->len = 0;
	dg_add(d, chunk_reply(&good, NLM_F_MULTI | NLM_F_DUMP_INTR), SEQ, 0);
	dg_add(d, done_msg(0, NULL), SEQ, 0);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len, &req);
	CHECK("walk: NLM_F_DUMP_INTR noticed", status == 0 && req.intr && l.n == 1);

	memset(&req, 0, sizeof(req));
	req.parse = kmod_chunk_list_parse;
	req.arg = &l;
	d->len = 0;
	dg_add(d, chunk_reply(&bad, NLM_F_MULTI), SEQ, 0);
	dg_add(d, chunk_reply(&good, NLM_F_MULTI), SEQ, 0);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len, &req);
	CHECK("walk: a malformed message fails the dump, read to its end",
	      status == 1 && req.perr == -EBADMSG);

	memset(&req, 0, sizeof(req));
	req.parse = kmod_chunk_list_parse;
	req.arg = &l;
	d->len = 0;
	dg_add(d, chunk_reply(&good, NLM_F_MULTI), SEQ, FAMILY + 1);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len, &req);
	CHECK("walk: a message of another family refused", status == 1 &&
	      req.perr == -EBADMSG);

	memset(&req, 0, sizeof(req));
	d->len = 0;
	dg_add(d, chunk_reply(&good, 0), SEQ, 0);
	dg_add(d, error_msg(0, true, 0, NULL, 0), SEQ, 0);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len, &req);
	CHECK("walk: data where only an ack was expected refused", status == 0 &&
	      req.perr == -EBADMSG);

	memset(&req, 0, sizeof(req));
	req.parse = kmod_chunk_list_parse;
	req.arg = &l;
	d->len = 0;
	dg_add(d, chunk_reply(&good, NLM_F_MULTI), SEQ, 0);
	cut = malloc((size_t)d->len - 5);
	memcpy(cut, d->buf, (size_t)d->len - 5);
	status = kmod_walk(FAMILY, SEQ, cut, d->len - 5, &req);
	CHECK("walk: a message cut short refused", status == 1 && req.perr == -EBADMSG);
	free(cut);

	memset(&req, 0, sizeof(req));
	req.parse = kmod_chunk_list_parse;
	req.arg = &l;
	d->len = 0;
	dg_add(d, chunk_reply(&good, NLM_F_MULTI), SEQ, 0);
	memset(d->buf + d->len, 0, 8);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len + 8, &req);
	CHECK("walk: stray bytes after the last message refused", status == 1 &&
	      req.perr == -EBADMSG);

	memset(&req, 0, sizeof(req));
	d->len = 0;
	dg_add(d, error_msg(-EPERM, true, 0, "nope", 5), SEQ, 0);
	status = kmod_walk(FAMILY, SEQ, d->buf, d->len, &req);
	CHECK("walk: an error ends the request with its message", status == -EPERM &&
	      !strcmp(req.ext, "nope"));

	free(l.v);
	free(d);
}

/* ---- requests ----------------------------------------------------------- */

static void test_requests(void)
{
	struct nl_msg *msg;
	struct nlmsghdr *nlh;
	struct nlattr *top;
	struct genlmsghdr *g;
	char what[128];

	msg = kmod_store_msg(DGFS_CMD_STORE_ADD, "s1", "/mnt/s1");
	nlh = nlmsg_hdr(msg);
	g = nlmsg_data(nlh);
	top = genlmsg_attrdata(g, 0);
	CHECK("request: store add is a do with NLM_F_ACK",
	      (nlh->nlmsg_flags & NLM_F_ACK) && !(nlh->nlmsg_flags & NLM_F_DUMP) &&
	      g->cmd == DGFS_CMD_STORE_ADD && g->version == DGFS_GENL_VERSION);
	CHECK("request: nest has NLA_F_NESTED",
	      top->nla_type == (DGFS_A_STORE | NLA_F_NESTED));
	nlmsg_free(msg);

	msg = kmod_chunk_dump_msg("s1");
	nlh = nlmsg_hdr(msg);
	g = nlmsg_data(nlh);
	top = genlmsg_attrdata(g, 0);
	CHECK("request: chunk dump with a filter",
	      (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && !(nlh->nlmsg_flags & NLM_F_ACK) &&
	      top->nla_type == (DGFS_A_CHUNK | NLA_F_NESTED));
	nlmsg_free(msg);
	msg = kmod_chunk_dump_msg(NULL);
	CHECK("request: chunk dump without a filter has no attributes",
	      genlmsg_attrlen(nlmsg_data(nlmsg_hdr(msg)), 0) == 0);
	nlmsg_free(msg);

	kmod_chunk_what(what, sizeof(what), "adding", id_a);
	CHECK("request: chunk id printed whole",
	      strlen(what) == strlen("adding chunk ") + 2 * DGFS_CHUNK_ID_LEN &&
	      !strncmp(what + 13, "ab010203", 8) && !strcmp(what + 13 + 62, "cd"));
	kmod_chunk_what(what, 20, "adding", id_a);
	CHECK("request: chunk id cut to a small buffer", strlen(what) < 20);

	CHECK("request: store name of 31 chars fits",
	      kmod_check_str("0123456789012345678901234567890", DGFS_STORE_NAME_MAX) == 0);
	CHECK("request: store name of 32 chars refused",
	      kmod_check_str("01234567890123456789012345678901", DGFS_STORE_NAME_MAX) ==
	      -ENAMETOOLONG);
	CHECK("request: empty name refused", kmod_check_str("", DGFS_STORE_NAME_MAX) == -EINVAL);
}

/* ---- counter names ------------------------------------------------------- */

#define ATTR(x) { #x, DGFS_STATS_A_##x }
static const struct { const char *name; int attr; } uapi_attrs[] = {
	ATTR(STORES), ATTR(CHUNKS), ATTR(CHUNK_BYTES), ATTR(LOOKUPS), ATTR(LOOKUP_HITS),
	ATTR(OBJ_CREATED), ATTR(OBJ_DESTROYED), ATTR(REQUESTS), ATTR(REPLIES),
	ATTR(DATAGRAMS), ATTR(BYTES), ATTR(MALFORMED), ATTR(RING_FULL), ATTR(TOKEN_REJECTED),
	ATTR(NOENT), ATTR(RANGE), ATTR(IO_ERRORS), ATTR(OVERLOADED), ATTR(CACHE_MISSES),
	ATTR(SEND_ERRORS), ATTR(STACK_REQUESTS), ATTR(SRC_UNSPEC), ATTR(SRC_LOOPBACK),
	ATTR(SRC_MULTICAST), ATTR(SRC_MAPPED), ATTR(SRC_LOCAL), ATTR(BAD_DST),
	ATTR(RINGS), ATTR(NO_RINGS), ATTR(SLOW_READS), ATTR(CLIENT_FULL), ATTR(BALANCED),
	ATTR(QUEUED), ATTR(QUEUED_MAX),
};

static void test_names(void)
{
	bool once = true, unique = true;
	size_t i, j;
	int attr;

	CHECK("names: one per DGFS_STATS_A_* but UNSPEC and PAD",
	      KMOD_NSTATS == DGFS_STATS_A_MAX - 1);
	CHECK("names: the test's own enum list is complete",
	      ARRAY_SIZE(uapi_attrs) == KMOD_NSTATS);
	for (attr = 1; attr <= DGFS_STATS_A_MAX; attr++) {
		int n = 0;

		for (i = 0; i < KMOD_NSTATS; i++)
			n += kmod_stats[i].attr == attr;
		if (n != (attr == DGFS_STATS_A_PAD ? 0 : 1))
			once = false;
	}
	CHECK("names: every counter attribute named exactly once", once);
	for (i = 0; i < KMOD_NSTATS; i++)
		for (j = i + 1; j < KMOD_NSTATS; j++)
			if (!strcmp(kmod_stats[i].name, kmod_stats[j].name))
				unique = false;
	CHECK("names: no two counters share a name", unique);
}

/* ---- no module ----------------------------------------------------------- */

static void test_open(void)
{
	struct kmod *k = (struct kmod *)&k;	/* must be reset */
	int err = kmod_open(&k);

	CHECK("open: -ENOENT without the dgfs family", err == -ENOENT);
	CHECK("open: *out is NULL on failure", k == NULL);
	kmod_close(NULL);
	CHECK("close: NULL is fine", true);
}

int main(void)
{
	test_open();
	test_status();
	test_store_parser();
	test_chunk_parser();
	test_config_parser();
	test_stats_parser();
	test_latency_parser();
	test_walk();
	test_requests();
	test_names();
	return failures ? 1 : 0;
}
