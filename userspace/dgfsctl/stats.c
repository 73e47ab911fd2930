// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: stats show. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <netlink/attr.h>

#include <linux/dgfs.h>

#include "dgfs_xdp_loader.h"
#include "dgfsctl.h"
#include "print.h"
#include "dgfs_hist.h"
#include "dgfs_stats_names.h"
#include "stats.h"

/* By their DGFS_LATENCY_A_* attribute, less one. */
const char *const stats_latency_names[STATS_NLATENCY] = {
	"request_latency",
	"disk_latency",
};

const struct stats_field stats_fields[STATS_NFIELDS] = {
#define X(name, attr) { #name, DGFS_STATS_A_##attr },
	DGFS_STATS_NAMES(X)
#undef X
};

static const struct nla_policy stats_policy[DGFS_STATS_A_MAX + 1] = {
	[DGFS_STATS_A_STORES]		= { .type = NLA_U64 },
	[DGFS_STATS_A_CHUNKS]		= { .type = NLA_U64 },
	[DGFS_STATS_A_CHUNK_BYTES]	= { .type = NLA_U64 },
	[DGFS_STATS_A_LOOKUPS]		= { .type = NLA_U64 },
	[DGFS_STATS_A_LOOKUP_HITS]	= { .type = NLA_U64 },
	[DGFS_STATS_A_OBJ_CREATED]	= { .type = NLA_U64 },
	[DGFS_STATS_A_OBJ_DESTROYED]	= { .type = NLA_U64 },
	[DGFS_STATS_A_REQUESTS]	= { .type = NLA_U64 },
	[DGFS_STATS_A_REPLIES]		= { .type = NLA_U64 },
	[DGFS_STATS_A_DATAGRAMS]	= { .type = NLA_U64 },
	[DGFS_STATS_A_BYTES]		= { .type = NLA_U64 },
	[DGFS_STATS_A_MALFORMED]	= { .type = NLA_U64 },
	[DGFS_STATS_A_RING_FULL]	= { .type = NLA_U64 },
	[DGFS_STATS_A_TOKEN_REJECTED]	= { .type = NLA_U64 },
	[DGFS_STATS_A_NOENT]		= { .type = NLA_U64 },
	[DGFS_STATS_A_RANGE]		= { .type = NLA_U64 },
	[DGFS_STATS_A_IO_ERRORS]	= { .type = NLA_U64 },
	[DGFS_STATS_A_OVERLOADED]	= { .type = NLA_U64 },
	[DGFS_STATS_A_CACHE_MISSES]	= { .type = NLA_U64 },
	[DGFS_STATS_A_SEND_ERRORS]	= { .type = NLA_U64 },
	[DGFS_STATS_A_STACK_REQUESTS]	= { .type = NLA_U64 },
	[DGFS_STATS_A_SRC_UNSPEC]	= { .type = NLA_U64 },
	[DGFS_STATS_A_SRC_LOOPBACK]	= { .type = NLA_U64 },
	[DGFS_STATS_A_SRC_MULTICAST]	= { .type = NLA_U64 },
	[DGFS_STATS_A_SRC_MAPPED]	= { .type = NLA_U64 },
	[DGFS_STATS_A_SRC_LOCAL]	= { .type = NLA_U64 },
	[DGFS_STATS_A_BAD_DST]		= { .type = NLA_U64 },
	[DGFS_STATS_A_RINGS]		= { .type = NLA_U64 },
	[DGFS_STATS_A_NO_RINGS]		= { .type = NLA_U64 },
	[DGFS_STATS_A_SLOW_READS]	= { .type = NLA_U64 },
	[DGFS_STATS_A_CLIENT_FULL]	= { .type = NLA_U64 },
	[DGFS_STATS_A_BALANCED]		= { .type = NLA_U64 },
	[DGFS_STATS_A_QUEUED]		= { .type = NLA_U64 },
	[DGFS_STATS_A_QUEUED_MAX]	= { .type = NLA_U64 },
};

static const struct nla_policy latency_policy[DGFS_LATENCY_A_MAX + 1] = {
	[DGFS_LATENCY_A_REQUEST]	= { .type = NLA_NESTED },
	[DGFS_LATENCY_A_DISK]		= { .type = NLA_NESTED },
};

static const struct nla_policy hist_policy[DGFS_HIST_A_MAX + 1] = {
	[DGFS_HIST_A_BUCKETS]	= { .type = NLA_UNSPEC,
				    .minlen = DGFS_HIST_BUCKETS * sizeof(uint64_t) },
	[DGFS_HIST_A_SUM]	= { .type = NLA_U64 },
};

/* One histogram: exactly DGFS_HIST_BUCKETS buckets and a sum, or -EBADMSG. */
static int hist_parse(struct nlattr *nest, struct lat_hist *h)
{
	struct nlattr *tb[DGFS_HIST_A_MAX + 1];

	if (!nest || nla_parse_nested(tb, DGFS_HIST_A_MAX, nest, hist_policy) < 0 ||
	    !tb[DGFS_HIST_A_BUCKETS] || !tb[DGFS_HIST_A_SUM] ||
	    nla_len(tb[DGFS_HIST_A_BUCKETS]) != (int)sizeof(h->b))
		return -EBADMSG;
	memcpy(h->b, nla_data(tb[DGFS_HIST_A_BUCKETS]), sizeof(h->b));
	h->sum_ns = nla_get_u64(tb[DGFS_HIST_A_SUM]);
	return 0;
}

/* DGFS_A_LATENCY, when there: a module without it has no histograms. */
static int latency_parse(struct nl_msg *msg, struct stats_info *s)
{
	struct nlattr *tb[DGFS_LATENCY_A_MAX + 1];
	int i;

	if (dgfs_reply_nest(msg, DGFS_A_LATENCY, tb, DGFS_LATENCY_A_MAX, latency_policy))
		return 0;
	for (i = 0; i < STATS_NLATENCY; i++)
		if (hist_parse(tb[DGFS_LATENCY_A_REQUEST + i], &s->latency[i]))
			return -EBADMSG;
	s->have_latency = true;
	return 0;
}

int stats_parse_reply(struct nl_msg *msg, void *arg)
{
	struct stats_info *s = arg;
	struct nlattr *tb[DGFS_STATS_A_MAX + 1];
	size_t i;

	if (s->valid ||
	    dgfs_reply_nest(msg, DGFS_A_STATS, tb, DGFS_STATS_A_MAX, stats_policy))
		return -EBADMSG;
	for (i = 0; i < STATS_NFIELDS; i++) {
		if (!tb[stats_fields[i].attr])
			return -EBADMSG;
		s->val[i] = nla_get_u64(tb[stats_fields[i].attr]);
	}
	if (latency_parse(msg, s))
		return -EBADMSG;
	s->valid = true;
	return 0;
}

static void latency_print(const char *name, const struct lat_hist *h)
{
	static const struct {
		const char *key;
		double q;
	} pct[] = { { "p50_ns", 0.5 }, { "p90_ns", 0.9 }, { "p99_ns", 0.99 } };
	unsigned int b;

	print_text("%s ", name);
	open_json_object(name);
	print_u64(PRINT_ANY, "count", "count %" PRIu64, lat_hist_count(h));
	print_u64(PRINT_ANY, "sum_ns", " sum_ns %" PRIu64, h->sum_ns);
	for (b = 0; b < sizeof(pct) / sizeof(pct[0]); b++) {
		char fmt[32];

		snprintf(fmt, sizeof(fmt), " %s %%" PRIu64, pct[b].key);
		print_u64(PRINT_ANY, pct[b].key, fmt,
			  (uint64_t)(lat_hist_quantile(h, pct[b].q) + 0.5));
	}
	print_text("\n");
	open_json_array("le_ns");
	for (b = 0; b < DGFS_HIST_BUCKETS - 1; b++)
		print_u64(PRINT_JSON, NULL, NULL, dgfs_hist_bound_ns(b));
	close_json_array();
	open_json_array("buckets");
	for (b = 0; b < DGFS_HIST_BUCKETS; b++)
		print_u64(PRINT_JSON, NULL, NULL, h->b[b]);
	close_json_array();
	close_json_object();
}

void stats_print(const struct stats_info *s)
{
	size_t i;

	open_json_object(NULL);
	for (i = 0; i < STATS_NFIELDS; i++) {
		print_text("%s ", stats_fields[i].name);
		print_u64(PRINT_ANY, stats_fields[i].name, "%" PRIu64 "\n", s->val[i]);
	}
	for (i = 0; s->have_xdp && i < DGFS_XDP_NR_COUNTERS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "xdp_%s", dgfs_xdp_counter_name(i));
		print_text("%s ", name);
		print_u64(PRINT_ANY, name, "%" PRIu64 "\n", s->xdp[i]);
	}
	for (i = 0; s->have_latency && i < STATS_NLATENCY; i++)
		latency_print(stats_latency_names[i], &s->latency[i]);
	close_json_object();
	print_end();
}

static int stats_cmd_show(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			  int argc, char **argv)
{
	struct stats_info s = { 0 };
	struct dgfs_req req = {
		.cmd = DGFS_CMD_STATS_GET,
		.parse = stats_parse_reply,
		.arg = &s,
		.what = "getting the statistics",
	};
	int ret;

	if ((ret = cmd_no_more_args(cmd, argc, argv)))
		return ret;
	if (dgfs_nl_request(&ctl->nl, &req))
		return EXIT_ERROR;
	if (!s.valid) {
		fprintf(stderr, "dgfsctl: %s: the kernel sent no statistics\n", req.what);
		return EXIT_ERROR;
	}
	/* No XDP program ever attached is no error: there is just nothing
	 * to add.
	 */
	s.have_xdp = !dgfs_xdp_counters(s.xdp, NULL, 0);
	stats_print(&s);
	return EXIT_OK;
}

const struct dgfsctl_cmd stats_cmds[] = {
	{ "show", stats_cmd_show, "stats [show]" },
	{ NULL, NULL, NULL },
};
