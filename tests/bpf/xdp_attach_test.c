// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_attach_test: drive userspace/xdp's loader from the shell tests, one
 * call per run (dgfsctl's `xdp` commands are the real interface).
 *
 *   xdp_attach_test [-v] [-p PIN_DIR] attach IFACE native|skb [kmod] [port N] [max_read N]
 *   xdp_attach_test [-v] [-p PIN_DIR] detach IFACE
 *   xdp_attach_test [-v] [-p PIN_DIR] status IFACE
 *   xdp_attach_test [-v] [-p PIN_DIR] counters
 *
 * status prints "attached A mode M prog_id N others N" and, when known,
 * " have_kmod K port P max_read R"; counters prints "NAME VALUE" lines.
 * Errors go to stderr; exit 1 on failure, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/dgfs.h>

#include "dgfs_xdp_loader.h"

static const char *mode_name(enum xdp_attach_mode mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE: return "native";
	case XDP_MODE_SKB: return "skb";
	case XDP_MODE_HW: return "hw";
	default: return "none";
	}
}

static int usage(void)
{
	fprintf(stderr,
		"usage: xdp_attach_test [-v] [-p PIN_DIR] attach IFACE native|skb [kmod] [port N] [max_read N]\n"
		"       xdp_attach_test [-v] [-p PIN_DIR] detach|status IFACE\n"
		"       xdp_attach_test [-v] [-p PIN_DIR] counters\n");
	return 2;
}

static int number(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	return errno || *end || !*s || *v > max ? -1 : 0;
}

static int attach(int argc, char **argv, char *err, size_t errlen)
{
	unsigned long port = DGFS_DEFAULT_PORT, max_read = DGFS_DEFAULT_MAX_READ;
	enum xdp_attach_mode mode;
	bool kmod = false;

	if (argc < 2)
		return -EINVAL;
	if (!strcmp(argv[1], "native"))
		mode = XDP_MODE_NATIVE;
	else if (!strcmp(argv[1], "skb"))
		mode = XDP_MODE_SKB;
	else
		return -EINVAL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "kmod")) {
			kmod = true;
		} else if (!strcmp(argv[i], "port") && i + 1 < argc) {
			if (number(argv[++i], UINT16_MAX, &port))
				return -EINVAL;
		} else if (!strcmp(argv[i], "max_read") && i + 1 < argc) {
			if (number(argv[++i], UINT32_MAX, &max_read))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return dgfs_xdp_attach(argv[0], mode, kmod, port, max_read, err, errlen) ? 1 : 0;
}

int main(int argc, char **argv)
{
	char err[512] = "";
	const char *cmd;
	int opt, ret;

	while ((opt = getopt(argc, argv, "vp:")) != -1) {
		switch (opt) {
		case 'v': dgfs_xdp_set_verbose(true); break;
		case 'p': dgfs_xdp_set_pin_dir(optarg); break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;

	if (!strcmp(cmd, "attach")) {
		ret = attach(argc, argv, err, sizeof(err));
		if (ret == -EINVAL)
			return usage();
	} else if (!strcmp(cmd, "detach") && argc == 1) {
		ret = dgfs_xdp_detach(argv[0], err, sizeof(err)) ? 1 : 0;
	} else if (!strcmp(cmd, "status") && argc == 1) {
		struct dgfs_xdp_status st;

		ret = dgfs_xdp_status(argv[0], &st, err, sizeof(err)) ? 1 : 0;
		if (!ret) {
			printf("attached %d mode %s prog_id %u others %u", st.attached,
			       mode_name(st.mode), st.prog_id, st.others);
			if (st.config_known)
				printf(" have_kmod %d port %u max_read %u", st.have_kmod, st.port,
				       st.max_read);
			putchar('\n');
		}
	} else if (!strcmp(cmd, "counters") && argc == 0) {
		uint64_t c[DGFS_XDP_NR_COUNTERS];

		ret = dgfs_xdp_counters(c, err, sizeof(err)) ? 1 : 0;
		for (int i = 0; !ret && i < DGFS_XDP_NR_COUNTERS; i++)
			printf("%s %llu\n", dgfs_xdp_counter_name(i), (unsigned long long)c[i]);
	} else {
		return usage();
	}
	if (ret)
		fprintf(stderr, "xdp_attach_test: %s\n", err);
	return ret;
}
