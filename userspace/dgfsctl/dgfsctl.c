// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsctl: the operator's command-line tool for dgfs. main() lives alone
 * here so that the unit tests can include every other file.
 */

#include <stdlib.h>
#include <string.h>

#include "dgfsctl.h"

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	char **top;

	/* Installed as dgfs-top too: then it is `dgfsctl top ARGS`. */
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "dgfs-top"))
		return dgfsctl_main(argc, argv);
	top = calloc((size_t)argc + 2, sizeof(*top));
	if (!top)
		return EXIT_ERROR;
	top[0] = argv[0];
	top[1] = "top";
	memcpy(top + 2, argv + 1, (size_t)(argc - 1) * sizeof(*top));
	return dgfsctl_main(argc + 1, top);
}
