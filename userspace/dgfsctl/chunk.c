// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: chunk add / del / show. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>

#include <linux/dgfs.h>

#include "chunk.h"
#include "dgfsctl.h"
#include "parse.h"
#include "print.h"

static const struct nla_policy chunk_policy[DGFS_CHUNK_A_MAX + 1] = {
	[DGFS_CHUNK_A_ID]	= { .type = NLA_UNSPEC, .minlen = DGFS_CHUNK_ID_LEN,
				    .maxlen = DGFS_CHUNK_ID_LEN },
	[DGFS_CHUNK_A_STORE]	= { .type = NLA_STRING },
	[DGFS_CHUNK_A_PATH]	= { .type = NLA_STRING },
	[DGFS_CHUNK_A_SIZE]	= { .type = NLA_U64 },
};

int chunk_parse_reply(struct nl_msg *msg, void *arg)
{
	struct chunk_list *list = arg;
	struct nlattr *tb[DGFS_CHUNK_A_MAX + 1];
	struct chunk_info *c;

	if (dgfs_reply_nest(msg, DGFS_A_CHUNK, tb, DGFS_CHUNK_A_MAX, chunk_policy) ||
	    !tb[DGFS_CHUNK_A_ID] || !tb[DGFS_CHUNK_A_STORE] ||
	    !tb[DGFS_CHUNK_A_PATH] || !tb[DGFS_CHUNK_A_SIZE])
		return -EBADMSG;

	if (list->n == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 64;
		struct chunk_info *items = realloc(list->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		list->items = items;
		list->cap = cap;
	}
	c = &list->items[list->n];
	memcpy(c->id, nla_data(tb[DGFS_CHUNK_A_ID]), DGFS_CHUNK_ID_LEN);
	c->store = strdup(nla_get_string(tb[DGFS_CHUNK_A_STORE]));
	c->path = strdup(nla_get_string(tb[DGFS_CHUNK_A_PATH]));
	if (!c->store || !c->path) {
		free(c->store);
		free(c->path);
		return -ENOMEM;
	}
	c->size = nla_get_u64(tb[DGFS_CHUNK_A_SIZE]);
	list->n++;
	return 0;
}

void chunk_list_reset(void *arg)
{
	struct chunk_list *list = arg;
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->items[i].store);
		free(list->items[i].path);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static int chunk_cmp(const void *a, const void *b)
{
	const struct chunk_info *x = a, *y = b;

	return memcmp(x->id, y->id, DGFS_CHUNK_ID_LEN);
}

void chunk_list_sort(struct chunk_list *list)
{
	if (list->n > 1)
		qsort(list->items, list->n, sizeof(*list->items), chunk_cmp);
}

void chunk_print(const struct chunk_info *c)
{
	open_json_object(NULL);
	print_hex(PRINT_ANY, "id", "chunk %s", c->id, DGFS_CHUNK_ID_LEN);
	print_string(PRINT_ANY, "store", " store %s", c->store);
	print_string(PRINT_ANY, "path", " path %s", c->path);
	print_u64(PRINT_ANY, "size", " size %" PRIu64, c->size);
	close_json_object();
	print_text("\n");
}

void chunk_list_print(const struct chunk_list *list)
{
	size_t i;

	open_json_array(NULL);
	for (i = 0; i < list->n; i++)
		chunk_print(&list->items[i]);
	close_json_array();
	print_end();
}

struct chunk_args {
	const uint8_t *id;
	const char *store;
	const char *path;
	bool has_size;
	uint64_t size;
};

static int chunk_fill(struct nl_msg *msg, const void *arg)
{
	const struct chunk_args *a = arg;
	struct nlattr *nest = dgfs_nest_start(msg, DGFS_A_CHUNK);

	if (!nest ||
	    (a->id && nla_put(msg, DGFS_CHUNK_A_ID, DGFS_CHUNK_ID_LEN, a->id) < 0) ||
	    (a->store && nla_put_string(msg, DGFS_CHUNK_A_STORE, a->store) < 0) ||
	    (a->path && nla_put_string(msg, DGFS_CHUNK_A_PATH, a->path) < 0) ||
	    (a->has_size && nla_put_u64(msg, DGFS_CHUNK_A_SIZE, a->size) < 0) ||
	    nla_nest_end(msg, nest) < 0)
		return -EMSGSIZE;
	return 0;
}

static void chunk_what(char *buf, size_t len, const char *verb,
		       const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	int n = snprintf(buf, len, "%s chunk ", verb);
	size_t i;

	for (i = 0; i < DGFS_CHUNK_ID_LEN && n > 0 && (size_t)n + 3 <= len; i++)
		n += snprintf(buf + n, len - (size_t)n, "%02x", id[i]);
}

int chunk_add_one(struct dgfsctl *ctl, const uint8_t id[DGFS_CHUNK_ID_LEN],
		  const char *store, const char *path, bool has_size,
		  uint64_t size)
{
	struct chunk_args a = {
		.id = id, .store = store, .path = path,
		.has_size = has_size, .size = size,
	};
	struct dgfs_req req = {
		.cmd = DGFS_CMD_CHUNK_ADD,
		.fill = chunk_fill,
		.fill_arg = &a,
	};
	char what[128];

	chunk_what(what, sizeof(what), "adding", id);
	req.what = what;
	return dgfs_nl_request(&ctl->nl, &req) ? EXIT_ERROR : EXIT_OK;
}

const char *chunk_add_parse(int argc, char **argv, struct chunk_add_args *a)
{
	struct keyword kw[] = {
		KEYWORD_REQUIRED("store", kw_store_name, &a->store),
		KEYWORD_REQUIRED("file", kw_path, &a->path),
		KEYWORD("size", kw_size, &a->size),
	};
	const char *why;

	if (argc < 1)
		return "missing chunk ID";
	if ((why = parse_chunk_id(argv[0], a->id))) {
		snprintf(a->err, sizeof(a->err), "invalid chunk ID \"%s\": %s",
			 argv[0], why);
		return a->err;
	}
	if (parse_keywords(argc - 1, argv + 1, kw, ARRAY_SIZE(kw), a->err,
			   sizeof(a->err)))
		return a->err;
	a->has_size = kw[2].seen;
	return NULL;
}

static int chunk_cmd_add(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			 int argc, char **argv)
{
	struct chunk_add_args a = { 0 };
	const char *why = chunk_add_parse(argc, argv, &a);

	if (why)
		return cmd_usage_error(cmd, "%s", why);
	return chunk_add_one(ctl, a.id, a.store, a.path, a.has_size, a.size);
}

static int chunk_cmd_del(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			 int argc, char **argv)
{
	uint8_t id[DGFS_CHUNK_ID_LEN];
	struct chunk_args a = { .id = id };
	struct dgfs_req req = {
		.cmd = DGFS_CMD_CHUNK_DEL,
		.fill = chunk_fill,
		.fill_arg = &a,
	};
	char what[128];
	const char *why;
	int ret;

	if (argc < 1)
		return cmd_usage_error(cmd, "missing chunk ID");
	if ((why = parse_chunk_id(argv[0], id)))
		return cmd_usage_error(cmd, "invalid chunk ID \"%s\": %s", argv[0], why);
	if ((ret = cmd_no_more_args(cmd, argc - 1, argv + 1)))
		return ret;

	chunk_what(what, sizeof(what), "deleting", id);
	req.what = what;
	return dgfs_nl_request(&ctl->nl, &req) ? EXIT_ERROR : EXIT_OK;
}

static int chunk_cmd_show(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			  int argc, char **argv)
{
	uint8_t id[DGFS_CHUNK_ID_LEN];
	struct chunk_list list = { 0 };
	struct chunk_args a = { 0 };
	const char *store = NULL, *why;
	struct keyword kw[] = {
		KEYWORD("store", kw_store_name, &store),
	};
	struct dgfs_req req = {
		.cmd = DGFS_CMD_CHUNK_GET,
		.fill_arg = &a,
		.parse = chunk_parse_reply,
		.reset = chunk_list_reset,
		.arg = &list,
	};
	char err[256], what[160];

	/* An optional ID first: it cannot be mistaken for the keyword. */
	if (argc >= 1 && strcmp(argv[0], "store")) {
		if ((why = parse_chunk_id(argv[0], id)))
			return cmd_usage_error(cmd, "invalid chunk ID \"%s\": %s",
					       argv[0], why);
		a.id = id;
		argc--;
		argv++;
	}
	if (parse_keywords(argc, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)))
		return cmd_usage_error(cmd, "%s", err);

	if (a.id) {
		chunk_what(what, sizeof(what), "getting", id);
	} else {
		/* The dump's filter; a GET by ID is filtered here, below. */
		a.store = store;
		req.dump = true;
		if (store)
			snprintf(what, sizeof(what), "dumping chunks of store \"%s\"", store);
		else
			snprintf(what, sizeof(what), "dumping chunks");
	}
	req.what = what;
	if (a.id || a.store)
		req.fill = chunk_fill;

	if (dgfs_nl_request(&ctl->nl, &req)) {
		chunk_list_reset(&list);
		return EXIT_ERROR;
	}
	if (a.id && store && list.n == 1 && strcmp(list.items[0].store, store)) {
		fprintf(stderr, "dgfsctl: %s: the chunk is in store \"%s\", not \"%s\"\n",
			what, list.items[0].store, store);
		chunk_list_reset(&list);
		return EXIT_ERROR;
	}
	chunk_list_sort(&list);
	chunk_list_print(&list);
	chunk_list_reset(&list);
	return EXIT_OK;
}

const struct dgfsctl_cmd chunk_cmds[] = {
	{ "add", chunk_cmd_add, "chunk add ID store NAME file RELPATH [size BYTES]" },
	{ "del", chunk_cmd_del, "chunk del ID" },
	{ "show", chunk_cmd_show, "chunk show [ID] [store NAME]" },
	{ NULL, NULL, NULL },
};
