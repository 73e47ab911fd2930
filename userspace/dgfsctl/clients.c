// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: stats clients (DGFS_CMD_CLIENTS_GET), also read by top. */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>

#include <linux/dgfs.h>

#include "clients.h"
#include "dgfsctl.h"
#include "print.h"

static const struct nla_policy client_policy[DGFS_CLIENT_A_MAX + 1] = {
	[DGFS_CLIENT_A_ADDR]	 = { .type = NLA_UNSPEC, .minlen = 16, .maxlen = 16 },
	[DGFS_CLIENT_A_CPU]	 = { .type = NLA_U32 },
	[DGFS_CLIENT_A_REQUESTS] = { .type = NLA_U64 },
	[DGFS_CLIENT_A_SHARED]	 = { .type = NLA_U8 },
};

int clients_parse_reply(struct nl_msg *msg, void *arg)
{
	struct client_list *l = arg;
	struct nlattr *tb[DGFS_CLIENT_A_MAX + 1];
	struct client_info *c;

	if (dgfs_reply_nest(msg, DGFS_A_CLIENT, tb, DGFS_CLIENT_A_MAX, client_policy) ||
	    !tb[DGFS_CLIENT_A_ADDR] || nla_len(tb[DGFS_CLIENT_A_ADDR]) != 16 ||
	    !tb[DGFS_CLIENT_A_REQUESTS])
		return -EBADMSG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct client_info *items = realloc(l->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		l->items = items;
		l->cap = cap;
	}
	c = &l->items[l->n++];
	memset(c, 0, sizeof(*c));
	memcpy(c->addr, nla_data(tb[DGFS_CLIENT_A_ADDR]), 16);
	c->requests = nla_get_u64(tb[DGFS_CLIENT_A_REQUESTS]);
	c->shared = tb[DGFS_CLIENT_A_SHARED] && nla_get_u8(tb[DGFS_CLIENT_A_SHARED]);
	return 0;
}

void client_list_reset(void *arg)
{
	struct client_list *l = arg;

	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int by_addr(const void *a, const void *b)
{
	return memcmp(((const struct client_info *)a)->addr,
		      ((const struct client_info *)b)->addr, 16);
}

/* Busiest first: by rate, then by requests, then by address. */
static int by_load(const void *a, const void *b)
{
	const struct client_info *x = a, *y = b;

	if (x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	if (x->requests != y->requests)
		return x->requests < y->requests ? 1 : -1;
	return memcmp(x->addr, y->addr, 16);
}

void client_list_merge(struct client_list *l)
{
	size_t i, n = 0;

	if (!l->n)
		return;
	qsort(l->items, l->n, sizeof(*l->items), by_addr);
	for (i = 1; i < l->n; i++) {
		struct client_info *last = &l->items[n];

		if (!memcmp(last->addr, l->items[i].addr, 16)) {
			last->requests += l->items[i].requests;
			last->shared |= l->items[i].shared;
		} else {
			l->items[++n] = l->items[i];
		}
	}
	l->n = n + 1;
	qsort(l->items, l->n, sizeof(*l->items), by_load);
}

void client_list_rates(struct client_list *l, const struct client_list *before)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		struct client_info *c = &l->items[i];

		c->rate = c->requests;
		for (j = 0; j < before->n; j++)
			if (!memcmp(before->items[j].addr, c->addr, 16)) {
				if (before->items[j].requests <= c->requests)
					c->rate = c->requests - before->items[j].requests;
				break;
			}
	}
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), by_load);
}

const char *client_addr_str(const uint8_t addr[16], char *buf, size_t len)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(addr, mapped, sizeof(mapped)))
		inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
	return buf;
}

static int clients_cmd_show(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			    int argc, char **argv)
{
	struct client_list l = { 0 };
	struct dgfs_req req = {
		.cmd = DGFS_CMD_CLIENTS_GET,
		.dump = true,
		.parse = clients_parse_reply,
		.reset = client_list_reset,
		.arg = &l,
		.what = "dumping the clients",
	};
	char addr[INET6_ADDRSTRLEN];
	size_t i;
	int ret;

	if ((ret = cmd_no_more_args(cmd, argc, argv)))
		return ret;
	if (dgfs_nl_request(&ctl->nl, &req))
		return EXIT_ERROR;
	client_list_merge(&l);
	open_json_array(NULL);
	for (i = 0; i < l.n; i++) {
		open_json_object(NULL);
		print_string(PRINT_ANY, "addr", "client %s",
			     client_addr_str(l.items[i].addr, addr, sizeof(addr)));
		print_u64(PRINT_ANY, "requests", " requests %" PRIu64, l.items[i].requests);
		print_bool(PRINT_JSON, "shared", NULL, l.items[i].shared);
		if (l.items[i].shared)
			print_text(" shared");
		close_json_object();
		print_text("\n");
	}
	close_json_array();
	print_end();
	client_list_reset(&l);
	return EXIT_OK;
}

const struct dgfsctl_cmd clients_cmds[] = {
	{ "show", clients_cmd_show, "clients [show]" },
	{ NULL, NULL, NULL },
};
