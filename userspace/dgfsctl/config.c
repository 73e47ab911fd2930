// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: config set / show. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <netlink/attr.h>

#include <linux/dgfs.h>

#include "config.h"
#include "dgfsctl.h"
#include "parse.h"
#include "print.h"

static const struct nla_policy config_policy[DGFS_CONFIG_A_MAX + 1] = {
	[DGFS_CONFIG_A_PORT]		= { .type = NLA_U16 },
	[DGFS_CONFIG_A_MAX_READ]	= { .type = NLA_U32 },
	[DGFS_CONFIG_A_AUTH]		= { .type = NLA_U8 },
	[DGFS_CONFIG_A_AUTH_KEY_SET]	= { .type = NLA_U8 },
	[DGFS_CONFIG_A_BALANCE]		= { .type = NLA_U8 },
};

int config_parse_reply(struct nl_msg *msg, void *arg)
{
	struct config_info *c = arg;
	struct nlattr *tb[DGFS_CONFIG_A_MAX + 1];

	if (dgfs_reply_nest(msg, DGFS_A_CONFIG, tb, DGFS_CONFIG_A_MAX, config_policy) ||
	    !tb[DGFS_CONFIG_A_PORT] || !tb[DGFS_CONFIG_A_MAX_READ] ||
	    !tb[DGFS_CONFIG_A_AUTH] || !tb[DGFS_CONFIG_A_AUTH_KEY_SET] ||
	    c->valid)
		return -EBADMSG;
	c->port = nla_get_u16(tb[DGFS_CONFIG_A_PORT]);
	c->max_read = nla_get_u32(tb[DGFS_CONFIG_A_MAX_READ]);
	c->auth = nla_get_u8(tb[DGFS_CONFIG_A_AUTH]) != 0;
	c->key_set = nla_get_u8(tb[DGFS_CONFIG_A_AUTH_KEY_SET]) != 0;
	/* A module from before balancing does not send it: off. */
	c->balance = tb[DGFS_CONFIG_A_BALANCE] && nla_get_u8(tb[DGFS_CONFIG_A_BALANCE]);
	c->valid = true;
	return 0;
}

void config_print(const struct config_info *c)
{
	open_json_object(NULL);
	print_uint(PRINT_ANY, "port", "config port %u", c->port);
	print_uint(PRINT_ANY, "max_read", " max_read %u", c->max_read);
	print_on_off(PRINT_ANY, "auth", " auth %s", c->auth);
	print_bool(PRINT_JSON, "key_set", NULL, c->key_set);
	print_string(PRINT_FP, NULL, " key %s", c->key_set ? "set" : "unset");
	/* Shown when on (off is the default), like ip's flags. */
	print_bool(PRINT_JSON, "balance", NULL, c->balance);
	if (c->balance)
		print_string(PRINT_FP, NULL, " balance %s", "on");
	close_json_object();
	print_text("\n");
	print_end();
}

/* Said every time auth is set off, not only when it was on: whoever types
 * it should know what it means (docs/SECURITY.md).
 */
#define AUTH_OFF_WARNING \
	"dgfsctl: warning: auth off makes this host an open reflector: it answers " \
	"every read without a token, so anyone who reaches the port reads every " \
	"chunk, and requests with a forged source address send the replies to " \
	"someone else\n"

struct config_args {
	bool has_port, has_max_read, has_auth, has_key, has_balance;
	uint16_t port;
	uint32_t max_read;
	bool auth, balance;
	uint8_t key[DGFS_AUTH_KEY_LEN];
};

static int config_fill(struct nl_msg *msg, const void *arg)
{
	const struct config_args *a = arg;
	struct nlattr *nest = dgfs_nest_start(msg, DGFS_A_CONFIG);

	if (!nest ||
	    (a->has_port && nla_put_u16(msg, DGFS_CONFIG_A_PORT, a->port) < 0) ||
	    (a->has_max_read && nla_put_u32(msg, DGFS_CONFIG_A_MAX_READ, a->max_read) < 0) ||
	    (a->has_key && nla_put(msg, DGFS_CONFIG_A_AUTH_KEY, DGFS_AUTH_KEY_LEN, a->key) < 0) ||
	    (a->has_auth && nla_put_u8(msg, DGFS_CONFIG_A_AUTH, a->auth) < 0) ||
	    (a->has_balance && nla_put_u8(msg, DGFS_CONFIG_A_BALANCE, a->balance) < 0) ||
	    nla_nest_end(msg, nest) < 0)
		return -EMSGSIZE;
	return 0;
}

/* "key -": one line of 32 hex digits on standard input. */
static int config_key_from_stdin(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
				 uint8_t key[DGFS_AUTH_KEY_LEN])
{
	char *line = NULL, *s, *end;
	size_t cap = 0;
	ssize_t len;
	const char *why;

	if (ctl->stdin_is_batch)
		return cmd_usage_error(cmd, "key -: standard input is the batch file");
	len = getline(&line, &cap, stdin);
	if (len < 0) {
		int err = errno;

		free(line);
		if (ferror(stdin)) {
			fprintf(stderr, "dgfsctl: reading the key from standard input: %s\n",
				strerror(err));
			return EXIT_ERROR;
		}
		return cmd_usage_error(cmd, "key -: no key on standard input");
	}
	for (s = line; *s == ' ' || *s == '\t'; s++)
		;
	end = line + len;
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' ||
			   end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	why = (size_t)(end - s) == strlen(s) ? parse_auth_key(s, key) :
		"contains a NUL byte";
	explicit_bzero(line, cap);
	free(line);
	if (why)
		return cmd_usage_error(cmd, "invalid key on standard input: %s", why);
	return EXIT_OK;
}

static int config_cmd_set(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			  int argc, char **argv)
{
	struct config_args a = { 0 };
	const char *key = NULL;
	struct keyword kw[] = {
		KEYWORD("port", kw_port, &a.port),
		KEYWORD("max_read", kw_max_read, &a.max_read),
		KEYWORD("auth", kw_on_off, &a.auth),
		KEYWORD("key", kw_key_source, &key),
		KEYWORD("balance", kw_on_off, &a.balance),
	};
	struct dgfs_req req = {
		.cmd = DGFS_CMD_CONFIG_SET,
		.fill = config_fill,
		.fill_arg = &a,
		.what = "setting the configuration",
	};
	char err[256];
	int ret;

	if (argc == 0)
		return cmd_usage_error(cmd, "nothing to set");
	if (parse_keywords(argc, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)))
		return cmd_usage_error(cmd, "%s", err);
	a.has_port = kw[0].seen;
	a.has_max_read = kw[1].seen;
	a.has_auth = kw[2].seen;
	a.has_key = kw[3].seen;
	a.has_balance = kw[4].seen;

	if (key && !strcmp(key, "-")) {
		if ((ret = config_key_from_stdin(ctl, cmd, a.key)))
			return ret;
	} else if (key && !strcmp(key, "random")) {
		if (getrandom(a.key, sizeof(a.key), 0) != (ssize_t)sizeof(a.key)) {
			fprintf(stderr, "dgfsctl: getting a random key: %s\n", strerror(errno));
			return EXIT_ERROR;
		}
	} else if (key) {
		parse_auth_key(key, a.key);	/* checked by kw_key_source */
	}

	ret = dgfs_nl_request(&ctl->nl, &req) ? EXIT_ERROR : EXIT_OK;
	explicit_bzero(a.key, sizeof(a.key));
	if (ret == EXIT_OK && a.has_auth && !a.auth)
		fputs(AUTH_OFF_WARNING, stderr);
	if (ret == EXIT_OK && (a.has_port || a.has_max_read))
		ret = xdp_follow_config(ctl);
	return ret;
}

int config_get(struct dgfsctl *ctl, struct config_info *c)
{
	struct dgfs_req req = {
		.cmd = DGFS_CMD_CONFIG_GET,
		.parse = config_parse_reply,
		.arg = c,
		.what = "getting the configuration",
	};

	memset(c, 0, sizeof(*c));
	if (dgfs_nl_request(&ctl->nl, &req))
		return EXIT_ERROR;
	if (!c->valid) {
		fprintf(stderr, "dgfsctl: %s: the kernel sent no configuration\n", req.what);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

static int config_cmd_show(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			   int argc, char **argv)
{
	struct config_info c;
	int ret;

	if ((ret = cmd_no_more_args(cmd, argc, argv)) || (ret = config_get(ctl, &c)))
		return ret;
	config_print(&c);
	return EXIT_OK;
}

const struct dgfsctl_cmd config_cmds[] = {
	{ "set", config_cmd_set,
	  "config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
	{ "show", config_cmd_show, "config show" },
	{ NULL, NULL, NULL },
};
