// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsctl: the operator's command-line tool for dgfs. main() lives alone
 * here so that the unit tests can include every other file.
 */

#include "dgfsctl.h"

int main(int argc, char **argv)
{
	return dgfsctl_main(argc, argv);
}
