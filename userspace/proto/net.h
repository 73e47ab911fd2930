/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sockets for the clients of the wire protocol (dgfs, dgfs-bench): name
 * resolution, a connected UDP socket and the local address the token must
 * name, and the loop that runs a windowed reader on a socket.
 */
#ifndef DGFS_NET_H
#define DGFS_NET_H

#include <stdint.h>
#include <sys/socket.h>

#include "dgfs_proto.h"
#include "reader.h"

/* Receive buffer for a reader: its window of replies must fit in it. */
#define DGFS_NET_RCVBUF		(8 << 20)
/* Largest datagram a host sends: its header and 65000 bytes of payload. */
#define DGFS_NET_MAX_DGRAM	(DGFS_READ_REPLY_HDR_LEN + 65000)

uint64_t dgfs_now_ns(void);		/* CLOCK_MONOTONIC */

/*
 * HOST (IPv4 or IPv6 literal, or a name) and PORT to an address: 0, or -1
 * with a message in @err.
 */
int dgfs_net_resolve(const char *host, uint16_t port, struct sockaddr_storage *sa,
		     socklen_t *salen, char *err, size_t errlen);

/*
 * A UDP socket connected to @sa, with a receive buffer of @rcvbuf bytes
 * (or as much as the sysctl limit allows, when not root). The kernel picks
 * the local address for the route; it is written to @local as the token
 * sees it (IPv4 mapped). -1 with errno on failure.
 */
int dgfs_net_connect(const struct sockaddr *sa, socklen_t salen, int rcvbuf,
		     uint8_t local[DGFS_ADDR_LEN]);

/*
 * The same, sending from @from (port 0: any), which must be an address of
 * this host in @sa's family: a client with several addresses picks which
 * one the host sees (dgfs-bench --source). @from NULL: as above.
 */
int dgfs_net_connect_from(const struct sockaddr *sa, socklen_t salen,
			  const struct sockaddr *from, socklen_t fromlen, int rcvbuf,
			  uint8_t local[DGFS_ADDR_LEN]);

/* The reader's send callback for a connected socket (ctx: int *fd). */
int dgfs_net_send(void *ctx, const uint8_t *req, size_t len);

/*
 * Runs @r on connected socket @fd until it is done or failed; returns the
 * final state. -1 only on a socket error (errno set). *@refused counts
 * ICMP "port unreachable" reports (ECONNREFUSED), for a better message.
 */
int dgfs_net_read(int fd, struct dgfs_reader *r, unsigned int *refused);

#endif /* DGFS_NET_H */
