/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl: stores (DGFS_A_STORE). */
#ifndef DGFSCTL_STORE_H
#define DGFSCTL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <netlink/msg.h>

struct store_info {
	char *name;
	char *path;
	uint32_t chunks;
	uint64_t bytes;
};

struct store_list {
	struct store_info *items;
	size_t n, cap;
};

/* dgfs_req.parse/.reset with a struct store_list as arg. */
int store_parse_reply(struct nl_msg *msg, void *arg);
void store_list_reset(void *arg);
void store_list_sort(struct store_list *list);

void store_print(const struct store_info *s);
/* A JSON array (even of one or none) or one line per store. */
void store_list_print(const struct store_list *list);

#endif /* DGFSCTL_STORE_H */
