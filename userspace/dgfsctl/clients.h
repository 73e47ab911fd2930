/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsctl: the module's clients, by the requests its rings served (DGFS_A_CLIENT). */
#ifndef DGFSCTL_CLIENTS_H
#define DGFSCTL_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netlink/msg.h>

struct client_info {
	uint8_t addr[16];	/* IPv6, or IPv4-mapped */
	uint64_t requests;
	uint64_t rate;		/* top: requests since the last read */
	bool shared;		/* counted with other clients of its flow */
};

struct client_list {
	struct client_info *items;
	size_t n, cap;
};

/* dgfs_req.parse of a DGFS_CMD_CLIENTS_GET dump, into a struct client_list. */
int clients_parse_reply(struct nl_msg *msg, void *arg);
/* dgfs_req.reset: frees and empties the list. */
void client_list_reset(void *arg);
/* One entry per address (the flows of one client on several CPUs added
 * up), most requests first, ties by address.
 */
void client_list_merge(struct client_list *l);
/* Each entry's rate: its requests less those of the same address in
 * @before (all of them if it was not there, or counted fewer).
 */
void client_list_rates(struct client_list *l, const struct client_list *before);
/* The address as text: a.b.c.d for IPv4-mapped, else IPv6. */
const char *client_addr_str(const uint8_t addr[16], char *buf, size_t len);

#endif /* DGFSCTL_CLIENTS_H */
