// SPDX-License-Identifier: GPL-2.0
/* Sockets for the clients of the wire protocol (net.h). */

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define RECV_BATCH 32
/* Batches read past a due time-out before it is taken anyway: the default
 * receive buffer's worth of full-size datagrams.
 */
#define DRAIN_MAX_BATCHES (DGFS_NET_RCVBUF / 1500 / RECV_BATCH)

uint64_t dgfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int dgfs_net_resolve(const char *host, uint16_t port, struct sockaddr_storage *sa,
		     socklen_t *salen, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_DGRAM,
		.ai_protocol = IPPROTO_UDP,
		.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
	};
	struct addrinfo *res;
	char service[8];
	int ret;

	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(host, service, &hints, &res);
	if (ret == EAI_NONAME || ret == EAI_ADDRFAMILY || ret == EAI_NODATA) {
		/* AI_ADDRCONFIG hides literals of a family with no address
		 * configured but loopback's; try once more without it.
		 */
		hints.ai_flags = AI_NUMERICSERV;
		ret = getaddrinfo(host, service, &hints, &res);
	}
	if (ret) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(ret));
		return -1;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int dgfs_net_connect(const struct sockaddr *sa, socklen_t salen, int rcvbuf,
		     uint8_t local[DGFS_ADDR_LEN])
{
	return dgfs_net_connect_from(sa, salen, NULL, 0, rcvbuf, local);
}

int dgfs_net_connect_from(const struct sockaddr *sa, socklen_t salen,
			  const struct sockaddr *from, socklen_t fromlen, int rcvbuf,
			  uint8_t local[DGFS_ADDR_LEN])
{
	struct sockaddr_storage me;
	socklen_t melen = sizeof(me);
	int fd, size = rcvbuf;

	fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -1;
	/* Past rmem_max if we may (root), else as much as it allows. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if ((from && bind(fd, from, fromlen)) ||
	    connect(fd, sa, salen) || getsockname(fd, (struct sockaddr *)&me, &melen) ||
	    dgfs_addr_from_sockaddr((struct sockaddr *)&me, local)) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int dgfs_net_send(void *ctx, const uint8_t *req, size_t len)
{
	int fd = *(int *)ctx;

	if (send(fd, req, len, 0) >= 0)
		return 0;
	/* Lost like any datagram; the reader asks again. ECONNREFUSED is
	 * an ICMP error for an earlier datagram, not for this one.
	 */
	if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR ||
	    errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
		return 0;
	return -1;
}

/* Up to RECV_BATCH datagrams without waiting: how many, or -1 (errno). */
static int recv_batch(int fd, struct mmsghdr *msgs, struct iovec *iov, uint8_t *bufs)
{
	int i;

	for (i = 0; i < RECV_BATCH; i++) {
		iov[i].iov_base = bufs + (size_t)i * DGFS_NET_MAX_DGRAM;
		iov[i].iov_len = DGFS_NET_MAX_DGRAM;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
}

int dgfs_net_read(int fd, struct dgfs_reader *r, unsigned int *refused)
{
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	unsigned int late = 0;
	uint8_t *bufs;
	int state, i, n;

	*refused = 0;
	bufs = malloc((size_t)RECV_BATCH * DGFS_NET_MAX_DGRAM);
	if (!bufs)
		return -1;
	state = dgfs_reader_start(r, dgfs_now_ns());
	while (state == DGFS_READ_RUNNING) {
		uint64_t now = dgfs_now_ns(), at = dgfs_reader_deadline(r);
		bool due = at <= now;

		if (!due) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int ms = at - now > 1000000000u ? 1000 :
				 (int)((at - now + 999999) / 1000000);

			n = poll(&pfd, 1, ms);
			if (n < 0 && errno != EINTR)
				goto err;
			if (n <= 0)
				continue;
		}
		/*
		 * Read what the socket holds before any request may time out:
		 * a reader that fell behind (descheduled, or busy with the
		 * last batch) would otherwise call datagrams that wait here
		 * lost and ask for them again; on a slow host every request
		 * did, and the answers to the re-requests buried the rest.
		 * A stream that never lets up must not hold the time-outs
		 * off for ever: a receive buffer's worth of batches at most.
		 */
		n = due && late >= DRAIN_MAX_BATCHES ? 0 :
		    recv_batch(fd, msgs, iov, bufs);
		if (n < 0) {
			if (errno == ECONNREFUSED)
				++*refused;
			if (errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED)
				goto err;
			n = 0;
		}
		if (!n) {
			late = 0;
			if (due)
				state = dgfs_reader_tick(r, dgfs_now_ns());
			continue;
		}
		late += due;
		now = dgfs_now_ns();
		for (i = 0; i < n && state == DGFS_READ_RUNNING; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			state = dgfs_reader_feed(r, iov[i].iov_base, msgs[i].msg_len, now);
		}
	}
	free(bufs);
	return state;
err:
	free(bufs);
	return -1;
}
