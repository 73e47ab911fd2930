/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl: the namespace's configuration (DGFS_A_CONFIG). */
#ifndef DGFSCTL_CONFIG_H
#define DGFSCTL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/msg.h>

struct config_info {
	bool valid;		/* a reply was parsed */
	uint16_t port;
	uint32_t max_read;
	bool auth;
	bool key_set;
	bool balance;
};

struct dgfsctl;

/* The namespace's configuration into @c: EXIT_OK, or EXIT_ERROR after
 * saying why on stderr.
 */
int config_get(struct dgfsctl *ctl, struct config_info *c);
/* dgfs_req.parse with a struct config_info as arg. */
int config_parse_reply(struct nl_msg *msg, void *arg);
/* One JSON object or one line. */
void config_print(const struct config_info *c);

#endif /* DGFSCTL_CONFIG_H */
