// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: store add / del / show. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/attr.h>

#include <linux/dgfs.h>

#include "dgfsctl.h"
#include "parse.h"
#include "print.h"
#include "store.h"

static const struct nla_policy store_policy[DGFS_STORE_A_MAX + 1] = {
	[DGFS_STORE_A_NAME]	= { .type = NLA_STRING },
	[DGFS_STORE_A_PATH]	= { .type = NLA_STRING },
	[DGFS_STORE_A_CHUNKS]	= { .type = NLA_U32 },
	[DGFS_STORE_A_BYTES]	= { .type = NLA_U64 },
};

int store_parse_reply(struct nl_msg *msg, void *arg)
{
	struct store_list *list = arg;
	struct nlattr *tb[DGFS_STORE_A_MAX + 1];
	struct store_info *s;

	if (dgfs_reply_nest(msg, DGFS_A_STORE, tb, DGFS_STORE_A_MAX, store_policy) ||
	    !tb[DGFS_STORE_A_NAME] || !tb[DGFS_STORE_A_PATH] ||
	    !tb[DGFS_STORE_A_CHUNKS] || !tb[DGFS_STORE_A_BYTES])
		return -EBADMSG;

	if (list->n == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 16;
		struct store_info *items = realloc(list->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		list->items = items;
		list->cap = cap;
	}
	s = &list->items[list->n];
	s->name = strdup(nla_get_string(tb[DGFS_STORE_A_NAME]));
	s->path = strdup(nla_get_string(tb[DGFS_STORE_A_PATH]));
	if (!s->name || !s->path) {
		free(s->name);
		free(s->path);
		return -ENOMEM;
	}
	s->chunks = nla_get_u32(tb[DGFS_STORE_A_CHUNKS]);
	s->bytes = nla_get_u64(tb[DGFS_STORE_A_BYTES]);
	list->n++;
	return 0;
}

void store_list_reset(void *arg)
{
	struct store_list *list = arg;
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->items[i].name);
		free(list->items[i].path);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static int store_cmp(const void *a, const void *b)
{
	const struct store_info *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void store_list_sort(struct store_list *list)
{
	if (list->n > 1)
		qsort(list->items, list->n, sizeof(*list->items), store_cmp);
}

void store_print(const struct store_info *s)
{
	open_json_object(NULL);
	print_string(PRINT_ANY, "name", "store %s", s->name);
	print_string(PRINT_ANY, "path", " path %s", s->path);
	print_uint(PRINT_ANY, "chunks", " chunks %u", s->chunks);
	print_u64(PRINT_ANY, "bytes", " bytes %" PRIu64, s->bytes);
	close_json_object();
	print_text("\n");
}

void store_list_print(const struct store_list *list)
{
	size_t i;

	open_json_array(NULL);
	for (i = 0; i < list->n; i++)
		store_print(&list->items[i]);
	close_json_array();
	print_end();
}

struct store_args {
	const char *name;
	const char *path;
};

static int store_fill(struct nl_msg *msg, const void *arg)
{
	const struct store_args *a = arg;
	struct nlattr *nest = dgfs_nest_start(msg, DGFS_A_STORE);

	if (!nest ||
	    (a->name && nla_put_string(msg, DGFS_STORE_A_NAME, a->name) < 0) ||
	    (a->path && nla_put_string(msg, DGFS_STORE_A_PATH, a->path) < 0) ||
	    nla_nest_end(msg, nest) < 0)
		return -EMSGSIZE;
	return 0;
}

/*
 * The kernel wants an absolute path; a relative one is taken relative to
 * the current directory, as the user meant it. Returns a malloc'd path.
 */
static char *absolute_path(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&abs, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path) < 0)
		abs = NULL;
	free(cwd);
	return abs;
}

static int store_cmd_add(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			 int argc, char **argv)
{
	struct store_args a = { 0 };
	const char *path = NULL, *why;
	struct keyword kw[] = {
		KEYWORD_REQUIRED("path", kw_path, &path),
	};
	struct dgfs_req req = {
		.cmd = DGFS_CMD_STORE_ADD,
		.fill = store_fill,
		.fill_arg = &a,
	};
	char err[256], what[128];
	char *abs;
	int ret;

	if (argc < 1)
		return cmd_usage_error(cmd, "missing store NAME");
	if ((why = parse_store_name(argv[0])))
		return cmd_usage_error(cmd, "invalid store name \"%s\": %s", argv[0], why);
	if (parse_keywords(argc - 1, argv + 1, kw, ARRAY_SIZE(kw), err, sizeof(err)))
		return cmd_usage_error(cmd, "%s", err);

	abs = absolute_path(path);
	if (!abs) {
		fprintf(stderr, "dgfsctl: making \"%s\" absolute: %s\n", path, strerror(errno));
		return EXIT_ERROR;
	}
	if ((why = parse_path(abs))) {
		free(abs);
		return cmd_usage_error(cmd, "invalid path \"%s\": %s", path, why);
	}
	a.name = argv[0];
	a.path = abs;
	snprintf(what, sizeof(what), "adding store \"%s\"", a.name);
	req.what = what;
	ret = dgfs_nl_request(&ctl->nl, &req) ? EXIT_ERROR : EXIT_OK;
	free(abs);
	return ret;
}

static int store_cmd_del(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			 int argc, char **argv)
{
	struct store_args a = { 0 };
	struct dgfs_req req = {
		.cmd = DGFS_CMD_STORE_DEL,
		.fill = store_fill,
		.fill_arg = &a,
	};
	char what[128];
	const char *why;
	int ret;

	if (argc < 1)
		return cmd_usage_error(cmd, "missing store NAME");
	if ((why = parse_store_name(argv[0])))
		return cmd_usage_error(cmd, "invalid store name \"%s\": %s", argv[0], why);
	if ((ret = cmd_no_more_args(cmd, argc - 1, argv + 1)))
		return ret;

	a.name = argv[0];
	snprintf(what, sizeof(what), "deleting store \"%s\"", a.name);
	req.what = what;
	return dgfs_nl_request(&ctl->nl, &req) ? EXIT_ERROR : EXIT_OK;
}

static int store_cmd_show(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			  int argc, char **argv)
{
	struct store_list list = { 0 };
	struct store_args a = { 0 };
	struct dgfs_req req = {
		.cmd = DGFS_CMD_STORE_GET,
		.parse = store_parse_reply,
		.reset = store_list_reset,
		.arg = &list,
	};
	char what[128];
	const char *why;
	int ret;

	if (argc >= 1) {
		if ((why = parse_store_name(argv[0])))
			return cmd_usage_error(cmd, "invalid store name \"%s\": %s",
					       argv[0], why);
		if ((ret = cmd_no_more_args(cmd, argc - 1, argv + 1)))
			return ret;
		a.name = argv[0];
		req.fill = store_fill;
		req.fill_arg = &a;
		snprintf(what, sizeof(what), "getting store \"%s\"", a.name);
	} else {
		req.dump = true;
		snprintf(what, sizeof(what), "dumping stores");
	}
	req.what = what;

	if (dgfs_nl_request(&ctl->nl, &req)) {
		store_list_reset(&list);
		return EXIT_ERROR;
	}
	store_list_sort(&list);
	store_list_print(&list);
	store_list_reset(&list);
	return EXIT_OK;
}

const struct dgfsctl_cmd store_cmds[] = {
	{ "add", store_cmd_add, "store add NAME path DIR" },
	{ "del", store_cmd_del, "store del NAME" },
	{ "show", store_cmd_show, "store show [NAME]" },
	{ NULL, NULL, NULL },
};
