/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl: chunks (DGFS_A_CHUNK). */
#ifndef DGFSCTL_CHUNK_H
#define DGFSCTL_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netlink/msg.h>

#include <linux/dgfs.h>

struct chunk_info {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	char *store;
	char *path;
	uint64_t size;
};

struct chunk_list {
	struct chunk_info *items;
	size_t n, cap;
};

/* dgfs_req.parse/.reset with a struct chunk_list as arg. */
int chunk_parse_reply(struct nl_msg *msg, void *arg);
void chunk_list_reset(void *arg);
void chunk_list_sort(struct chunk_list *list);

void chunk_print(const struct chunk_info *c);
/* A JSON array (even of one or none) or one line per chunk. */
void chunk_list_print(const struct chunk_list *list);

/* A "chunk add" command's arguments; store and path point into argv. */
struct chunk_add_args {
	uint8_t id[DGFS_CHUNK_ID_LEN];
	const char *store;
	const char *path;
	bool has_size;
	uint64_t size;
	char err[256];
};

/* The words after "chunk add": NULL, or why not (for its usage error). */
const char *chunk_add_parse(int argc, char **argv, struct chunk_add_args *a);

struct dgfsctl;
/* One chunk add request; EXIT_OK, or EXIT_ERROR after saying why. */
int chunk_add_one(struct dgfsctl *ctl, const uint8_t id[DGFS_CHUNK_ID_LEN],
		  const char *store, const char *path, bool has_size,
		  uint64_t size);

#endif /* DGFSCTL_CHUNK_H */
