// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsctl: xdp attach / detach / show. The program and its loader live in
 * bpf/ and userspace/xdp/; this is only the command line, plus telling the
 * program what the module is configured with.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/dgfs.h>

#include "config.h"
#include "dgfsctl.h"
#include "dgfs_xdp_loader.h"
#include "parse.h"
#include "print.h"

static const char *kw_xdp_mode(const char *arg, void *dst)
{
	enum xdp_attach_mode *mode = dst;

	if (!strcmp(arg, "native"))
		*mode = XDP_MODE_NATIVE;
	else if (!strcmp(arg, "skb"))
		*mode = XDP_MODE_SKB;
	else
		return "must be native or skb";
	return NULL;
}

static int xdp_cmd_attach(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			  int argc, char **argv)
{
	enum xdp_attach_mode mode = XDP_MODE_NATIVE;
	struct keyword kw[] = { KEYWORD("mode", kw_xdp_mode, &mode) };
	struct config_info c;
	char err[256];

	if (argc < 1)
		return cmd_usage_error(cmd, "missing IFACE");
	if (parse_keywords(argc - 1, argv + 1, kw, ARRAY_SIZE(kw), err, sizeof(err)))
		return cmd_usage_error(cmd, "%s", err);
	/* The program must agree with the module on the port and the largest
	 * read; without the module it passes requests on to the stack.
	 */
	if (config_get(ctl, &c))
		return EXIT_ERROR;
	dgfs_xdp_set_verbose(ctl->verbose);
	if (dgfs_xdp_attach(argv[0], mode, true, c.port, c.max_read, err, sizeof(err))) {
		fprintf(stderr, "dgfsctl: attaching XDP to %s: %s\n", argv[0], err);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

static int xdp_cmd_detach(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			  int argc, char **argv)
{
	char err[256];

	if (argc != 1)
		return cmd_usage_error(cmd, argc ? "too many arguments" : "missing IFACE");
	dgfs_xdp_set_verbose(ctl->verbose);
	if (dgfs_xdp_detach(argv[0], err, sizeof(err))) {
		fprintf(stderr, "dgfsctl: detaching XDP from %s: %s\n", argv[0], err);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

static int xdp_cmd_show(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
			int argc, char **argv)
{
	struct dgfs_xdp_status st;
	char err[256];

	if (argc != 1)
		return cmd_usage_error(cmd, argc ? "too many arguments" : "missing IFACE");
	dgfs_xdp_set_verbose(ctl->verbose);
	if (dgfs_xdp_status(argv[0], &st, err, sizeof(err))) {
		fprintf(stderr, "dgfsctl: XDP status of %s: %s\n", argv[0], err);
		return EXIT_ERROR;
	}
	open_json_object(NULL);
	print_string(PRINT_ANY, "iface", "xdp %s", argv[0]);
	print_bool(PRINT_JSON, "attached", NULL, st.attached);
	print_string(PRINT_FP, NULL, " %s", st.attached ? "attached" : "detached");
	if (st.attached) {
		print_string(PRINT_ANY, "mode", " mode %s",
			     st.mode == XDP_MODE_SKB ? "skb" : "native");
		print_uint(PRINT_ANY, "prog_id", " prog_id %u", st.prog_id);
		if (st.config_known) {
			print_uint(PRINT_ANY, "port", " port %u", st.port);
			print_uint(PRINT_ANY, "max_read", " max_read %u", st.max_read);
			print_on_off(PRINT_ANY, "kmod", " kmod %s", st.have_kmod);
		}
	}
	print_uint(PRINT_ANY, "others", " others %u", st.others);
	close_json_object();
	print_text("\n");
	print_end();
	return EXIT_OK;
}

/*
 * The program takes the port and the largest read when it is loaded (they
 * are constants to the verifier), so after a `config set` of either it
 * must be loaded again where it runs. Without that the module would refuse
 * what the program still catches on the old port (which the program then
 * passes to the stack), and the new port's requests would take the stack
 * path.
 */
int xdp_follow_config(struct dgfsctl *ctl)
{
	struct config_info c;
	char err[512];

	if (config_get(ctl, &c))
		return EXIT_ERROR;
	dgfs_xdp_set_verbose(ctl->verbose);
	if (dgfs_xdp_follow(c.port, c.max_read, err, sizeof(err))) {
		fprintf(stderr, "dgfsctl: the configuration is set, but the XDP program kept "
			"the old port and max_read on %s\n", err);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

const struct dgfsctl_cmd xdp_cmds[] = {
	{ "attach", xdp_cmd_attach, "xdp attach IFACE [mode native|skb]" },
	{ "detach", xdp_cmd_detach, "xdp detach IFACE" },
	{ "show", xdp_cmd_show, "xdp show IFACE" },
	{ NULL, NULL, NULL },
};
