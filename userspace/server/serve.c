// SPDX-License-Identifier: GPL-2.0
/*
 * A dgfs-userd worker: one UDP socket (all workers bind the same port with
 * SO_REUSEPORT, so the kernel spreads clients over them; or, by --steer,
 * one socket all read, or a BPF program that picks by CPU), a batch of
 * requests in with recvmmsg, each answered with sendmmsg from the same
 * socket, so replies leave from the service port and, through
 * IP_PKTINFO/IPV6_PKTINFO, from the address the request was sent to.
 *
 * Payload size: the path MTU to the client, taken from the route (a
 * connected probe socket's IP_MTU/IPV6_MTU, which includes what PMTU
 * discovery learned), cached per client address for MTU_TTL_NS. Replies
 * carry DF (IP_PMTUDISC_DO), so a datagram that turns out too big fails
 * with EMSGSIZE rather than being fragmented: the cache entry is dropped
 * and the client asks again for what it missed.
 *
 * Sending: with UDP GSO (UDP_SEGMENT) one sendmsg carries up to
 * GSO_MAX_SEGS datagrams laid out back to back, header and payload each,
 * read from the file with one preadv straight into place; the kernel cuts
 * them apart. Where GSO is refused (EIO/EINVAL: no checksum offload on
 * the route's device), the worker falls back to one datagram per message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "userd.h"

#define RECV_BATCH	64
#define RECV_BUF	128	/* > 72, so oversized requests show as such */
#define SEND_BATCH	64
#define MAX_PAYLOAD	65000	/* like the kernel path: fits any UDP datagram */
#define MIN_PAYLOAD	512
#define MTU_SLOTS	64
#define MTU_TTL_NS	(10 * 1000000000ull)
#define POLL_MS		100	/* how soon a worker notices stop */
#define SOCK_BUF	(4 << 20)
#define GSO_MAX_SEGS	64	/* the kernel's UDP_MAX_SEGMENTS on 6.1 */
#define GSO_MAX_BYTES	65000	/* one GSO send is one (big) UDP datagram */
#define GSO_MSGS	16	/* GSO sends per sendmmsg */
#define GSO_IOVS	(GSO_MSGS * GSO_MAX_SEGS)

struct mtu_entry {
	uint8_t addr[DGFS_ADDR_LEN];
	uint32_t payload;	/* 0: empty */
	uint64_t expires;
};

/* A received request and where it came from and went to. */
struct request {
	struct sockaddr_in6 peer;
	uint8_t client[DGFS_ADDR_LEN];
	uint8_t local[DGFS_ADDR_LEN];	/* its destination address */
	int ifindex;
	bool have_local;
};

struct userd_worker {
	struct userd_config *cfg;
	unsigned int index;
	int fd;
	int cpu;			/* --steer cpu: the CPU it runs on, else -1 */
	struct chunk_cache *chunks;
	struct userd_counters c;
	struct lat_hist_shared latency;	/* requests answered */
	struct mtu_entry mtu[MTU_SLOTS];

	uint8_t rbuf[RECV_BATCH][RECV_BUF];
	uint8_t rctl[RECV_BATCH][128];
	struct sockaddr_in6 rpeer[RECV_BATCH];

	uint8_t *data;			/* SEND_BATCH * MAX_PAYLOAD */
	uint8_t hdr[SEND_BATCH][DGFS_READ_REPLY_HDR_LEN];
	uint8_t sctl[128];
	bool gso;			/* UDP_SEGMENT works here */
	struct iovec gso_iov[GSO_IOVS];
};

_Static_assert((size_t)GSO_MSGS * GSO_MAX_BYTES <= (size_t)SEND_BATCH * MAX_PAYLOAD,
	       "the GSO layout fits the send buffer");

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define COUNT(w, name, n) atomic_fetch_add_explicit(&(w)->c.name, (n), memory_order_relaxed)

/* ---- the socket ---------------------------------------------------------- */

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* The (@n mod how many)-th CPU this process may run on; -1 if unknown. */
static int nth_allowed_cpu(unsigned int n)
{
	cpu_set_t allowed;
	unsigned int k = 0;
	int c;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) || !CPU_COUNT(&allowed))
		return -1;
	n %= (unsigned int)CPU_COUNT(&allowed);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed) && k++ == n)
			return c;
	return -1;
}

struct userd_worker *userd_worker_create(struct userd_config *cfg, unsigned int index)
{
	int family = cfg->bind_addr.ss_family, saved;
	struct userd_worker *w;

	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cfg = cfg;
	w->index = index;
	w->fd = -1;
	w->cpu = cfg->steer == USERD_STEER_CPU ? nth_allowed_cpu(index) : -1;
	w->gso = cfg->gso;
	w->data = malloc((size_t)SEND_BATCH * MAX_PAYLOAD);
	w->chunks = chunk_cache_create(cfg->dir_fd);
	if (!w->data || !w->chunks) {
		errno = ENOMEM;
		goto err;
	}
	if (cfg->steer == USERD_STEER_SHARED && index > 0) {
		/* The one socket: a dup of worker 0's, every worker reading it. */
		w->fd = fcntl(cfg->shared_fd, F_DUPFD_CLOEXEC, 0);
		if (w->fd < 0)
			goto err;
		return w;
	}
	w->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (w->fd < 0)
		goto err;
	if (cfg->steer != USERD_STEER_SHARED && set_int(w->fd, SOL_SOCKET, SO_REUSEPORT, 1))
		goto err;
	/* Shared: the workers wait in recvmmsg, which wakes one of them per
	 * datagram (poll would wake them all); this timeout is how soon one
	 * notices stop.
	 */
	if (cfg->steer == USERD_STEER_SHARED) {
		struct timeval tv = { .tv_usec = POLL_MS * 1000 };

		if (setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
			goto err;
	}
	if (family == AF_INET6 &&
	    (set_int(w->fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) ||
	     set_int(w->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) ||
	     set_int(w->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)))
		goto err;
	/* IPv4 (also v4-mapped on the dual-stack socket). */
	if (set_int(w->fd, IPPROTO_IP, IP_PKTINFO, 1) ||
	    set_int(w->fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO))
		goto err;
	/* Big buffers absorb bursts; root may go past the sysctl limits. */
	if (set_int(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, SOCK_BUF))
		set_int(w->fd, SOL_SOCKET, SO_RCVBUF, SOCK_BUF);
	if (set_int(w->fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCK_BUF))
		set_int(w->fd, SOL_SOCKET, SO_SNDBUF, SOCK_BUF);
	if (bind(w->fd, (struct sockaddr *)&cfg->bind_addr, cfg->bind_len))
		goto err;
	if (cfg->steer == USERD_STEER_SHARED)
		cfg->shared_fd = w->fd;
	return w;
err:
	saved = errno;
	userd_worker_destroy(w);
	errno = saved;
	return NULL;
}

void userd_worker_destroy(struct userd_worker *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	chunk_cache_destroy(w->chunks);
	free(w->data);
	free(w);
}

int userd_worker_fd(const struct userd_worker *w)
{
	return w->fd;
}

int userd_worker_cpu(const struct userd_worker *w)
{
	return w->cpu;
}

const struct userd_counters *userd_worker_counters(const struct userd_worker *w)
{
	return &w->c;
}

/* ---- path MTU ------------------------------------------------------------ */

static uint32_t probe_payload(struct userd_worker *w, const struct request *rq)
{
	bool v4 = dgfs_addr_is_v4mapped(rq->client);
	struct sockaddr_storage sa;
	socklen_t salen, optlen;
	int fd, mtu = 1500;
	uint32_t overhead = v4 ? 20 + 8 : 40 + 8;

	COUNT(w, mtu_probes, 1);
	memset(&sa, 0, sizeof(sa));
	if (v4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&sa;

		sin->sin_family = AF_INET;
		sin->sin_port = rq->peer.sin6_port;
		memcpy(&sin->sin_addr, rq->client + 12, 4);
		salen = sizeof(*sin);
	} else {
		sa.ss_family = AF_INET6;
		memcpy(&sa, &rq->peer, sizeof(rq->peer));
		salen = sizeof(rq->peer);
	}
	fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd >= 0) {
		optlen = sizeof(mtu);
		if (connect(fd, (struct sockaddr *)&sa, salen) ||
		    getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU : IPV6_MTU,
			       &mtu, &optlen))
			mtu = 1500;	/* a conservative guess: Ethernet */
		close(fd);
	}
	if ((uint32_t)mtu < overhead + DGFS_READ_REPLY_HDR_LEN + MIN_PAYLOAD)
		return MIN_PAYLOAD;
	mtu -= (int)(overhead + DGFS_READ_REPLY_HDR_LEN);
	return mtu > MAX_PAYLOAD ? MAX_PAYLOAD : (uint32_t)mtu;
}

static struct mtu_entry *mtu_slot(struct userd_worker *w, const uint8_t *addr)
{
	unsigned int h = 0, i;

	for (i = 0; i < DGFS_ADDR_LEN; i++)
		h = h * 31 + addr[i];
	return &w->mtu[h % MTU_SLOTS];
}

static uint32_t payload_for(struct userd_worker *w, const struct request *rq, uint64_t now)
{
	struct mtu_entry *e = mtu_slot(w, rq->client);

	if (e->payload && now < e->expires && !memcmp(e->addr, rq->client, DGFS_ADDR_LEN))
		return e->payload;
	memcpy(e->addr, rq->client, DGFS_ADDR_LEN);
	e->payload = probe_payload(w, rq);
	e->expires = now + MTU_TTL_NS;
	return e->payload;
}

static void mtu_forget(struct userd_worker *w, const uint8_t *addr)
{
	struct mtu_entry *e = mtu_slot(w, addr);

	if (!memcmp(e->addr, addr, DGFS_ADDR_LEN))
		e->payload = 0;
}

/* ---- replies ------------------------------------------------------------- */

/*
 * Control messages for a reply: the source address (the request's
 * destination) and, if @gso_size, the GSO segment size. All messages of a
 * reply share them.
 */
static void set_control(struct userd_worker *w, const struct request *rq, uint16_t gso_size,
			struct msghdr *mh)
{
	struct cmsghdr *cm;

	memset(w->sctl, 0, sizeof(w->sctl));
	mh->msg_control = w->sctl;
	mh->msg_controllen = sizeof(w->sctl);
	cm = CMSG_FIRSTHDR(mh);
	mh->msg_controllen = 0;
	if (rq->have_local && dgfs_addr_is_v4mapped(rq->local)) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, rq->local + 12, 4);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		mh->msg_controllen += CMSG_SPACE(sizeof(pi));
		cm = (struct cmsghdr *)((uint8_t *)cm + CMSG_SPACE(sizeof(pi)));
	} else if (rq->have_local) {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, rq->local, DGFS_ADDR_LEN);
		pi.ipi6_ifindex = (unsigned int)rq->ifindex;
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		mh->msg_controllen += CMSG_SPACE(sizeof(pi));
		cm = (struct cmsghdr *)((uint8_t *)cm + CMSG_SPACE(sizeof(pi)));
	}
	if (gso_size) {
		cm->cmsg_level = IPPROTO_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(gso_size));
		memcpy(CMSG_DATA(cm), &gso_size, sizeof(gso_size));
		mh->msg_controllen += CMSG_SPACE(sizeof(gso_size));
	}
	if (!mh->msg_controllen)
		mh->msg_control = NULL;
}

static void peer_sockaddr(const struct userd_worker *w, const struct request *rq,
			  struct sockaddr_storage *sa, socklen_t *len)
{
	if (w->cfg->bind_addr.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;

		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = rq->peer.sin6_port;
		memcpy(&sin->sin_addr, rq->client + 12, 4);
		*len = sizeof(*sin);
	} else {
		memcpy(sa, &rq->peer, sizeof(rq->peer));
		*len = sizeof(rq->peer);
	}
}

/*
 * Sends @n datagrams: header i and payload @data + i * @payload (the last
 * may be shorter: @last_len). Returns how many went; a datagram the
 * kernel refuses is lost (and counted), except that EMSGSIZE ends the
 * batch and sets *@stop.
 */
static unsigned int send_batch(struct userd_worker *w, const struct request *rq,
			       unsigned int n, const uint8_t *data, uint32_t payload,
			       uint32_t last_len, bool *stop)
{
	struct mmsghdr msgs[SEND_BATCH];
	struct iovec iov[SEND_BATCH][2];
	struct sockaddr_storage sa;
	socklen_t salen;
	unsigned int i, done = 0, lost = 0;
	int ret;

	*stop = false;
	peer_sockaddr(w, rq, &sa, &salen);
	for (i = 0; i < n; i++) {
		struct msghdr *mh = &msgs[i].msg_hdr;

		memset(&msgs[i], 0, sizeof(msgs[i]));
		iov[i][0].iov_base = w->hdr[i];
		iov[i][0].iov_len = DGFS_READ_REPLY_HDR_LEN;
		iov[i][1].iov_base = (void *)(data + (size_t)i * payload);
		iov[i][1].iov_len = data ? (i == n - 1 ? last_len : payload) : 0;
		mh->msg_name = &sa;
		mh->msg_namelen = salen;
		mh->msg_iov = iov[i];
		mh->msg_iovlen = data ? 2 : 1;
		set_control(w, rq, 0, mh);
	}
	while (done < n) {
		ret = sendmmsg(w->fd, msgs + done, n - done, 0);
		if (ret >= 0) {
			done += (unsigned int)ret;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EMSGSIZE) {
			/* The path shrank: re-learn it; the client asks again. */
			mtu_forget(w, rq->client);
			COUNT(w, send_errors, n - done);
			*stop = true;
			return done - lost;
		}
		/* This datagram is lost, like on the wire; go on. */
		COUNT(w, send_errors, 1);
		lost++;
		done++;
	}
	return n - lost;
}

static void reply_status(struct userd_worker *w, const struct request *rq,
			 const struct dgfs_req *req, uint16_t status, uint64_t size)
{
	struct dgfs_reply_hdr h = {
		.status = status,
		.req_id = req->req_id,
		.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size,
	};

	bool stop;

	dgfs_reply_encode(&h, w->hdr[0]);
	COUNT(w, datagrams, send_batch(w, rq, 1, NULL, 0, 0, &stop));
}

enum gso_result { GSO_SENT, GSO_STOP, GSO_UNSUPPORTED };

/*
 * Sends what it can of [*pos, end) as GSO messages, advancing *pos past
 * what went. GSO_STOP: the reply ends here (error counted and handled).
 */
static enum gso_result send_gso(struct userd_worker *w, const struct request *rq,
				const struct dgfs_req *req, const struct chunk_ref *ch,
				struct dgfs_reply_hdr *h, uint64_t *pos, uint64_t end,
				uint32_t payload, uint64_t now)
{
	uint32_t seg = DGFS_READ_REPLY_HDR_LEN + payload;
	unsigned int per_msg = GSO_MAX_BYTES / seg, nmsg = 0, niov = 0, m, done = 0;
	struct mmsghdr msgs[GSO_MSGS];
	struct iovec iov[GSO_MSGS];
	uint64_t p = *pos, planned;
	struct sockaddr_storage sa;
	unsigned int segs[GSO_MSGS];
	uint64_t bytes[GSO_MSGS];
	socklen_t salen;
	ssize_t got;
	int ret;

	if (per_msg > GSO_MAX_SEGS)
		per_msg = GSO_MAX_SEGS;
	/* Lay out up to GSO_MSGS messages of per_msg datagrams each. */
	for (m = 0; m < GSO_MSGS && p < end; m++) {
		uint8_t *base = w->data + (size_t)m * GSO_MAX_BYTES, *at = base;
		unsigned int k;

		bytes[m] = 0;
		for (k = 0; k < per_msg && p < end; k++) {
			uint32_t n = end - p < payload ? (uint32_t)(end - p) : payload;

			h->offset = p;
			dgfs_reply_encode(h, at);
			w->gso_iov[niov].iov_base = at + DGFS_READ_REPLY_HDR_LEN;
			w->gso_iov[niov++].iov_len = n;
			at += DGFS_READ_REPLY_HDR_LEN + n;
			p += n;
			bytes[m] += n;
		}
		segs[m] = k;
		iov[m].iov_base = base;
		iov[m].iov_len = (size_t)(at - base);
	}
	nmsg = m;
	planned = p - *pos;
	got = preadv(ch->fd, w->gso_iov, (int)niov, (off_t)*pos);
	if (got < 0 || (uint64_t)got != planned) {
		/* Failed, or the file shrank under us: an IO error. */
		COUNT(w, io_errors, 1);
		chunk_cache_drop(w->chunks, req->chunk);
		if (*pos == req->offset)
			reply_status(w, rq, req, DGFS_STATUS_IO, ch->size);
		return GSO_STOP;
	}

	peer_sockaddr(w, rq, &sa, &salen);
	for (m = 0; m < nmsg; m++) {
		struct msghdr *mh = &msgs[m].msg_hdr;

		memset(&msgs[m], 0, sizeof(msgs[m]));
		mh->msg_name = &sa;
		mh->msg_namelen = salen;
		mh->msg_iov = &iov[m];
		mh->msg_iovlen = 1;
		set_control(w, rq, (uint16_t)seg, mh);
	}
	while (done < nmsg) {
		ret = sendmmsg(w->fd, msgs + done, nmsg - done, 0);
		if (ret > 0) {
			for (m = done; m < done + (unsigned int)ret; m++) {
				COUNT(w, datagrams, segs[m]);
				COUNT(w, bytes, bytes[m]);
				*pos += bytes[m];
			}
			done += (unsigned int)ret;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EINVAL) {
			/* Also what a segment larger than the path MTU gets:
			 * if the path shrank, the client asks again; if not,
			 * GSO itself is the trouble.
			 */
			mtu_forget(w, rq->client);
			if (payload_for(w, rq, now) != payload) {
				COUNT(w, send_errors, nmsg - done);
				return GSO_STOP;
			}
			return GSO_UNSUPPORTED;
		}
		if (errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP)
			return GSO_UNSUPPORTED;
		if (errno == EMSGSIZE) {
			mtu_forget(w, rq->client);
			COUNT(w, send_errors, nmsg - done);
			return GSO_STOP;
		}
		/* This message is lost, like on the wire; go on. */
		COUNT(w, send_errors, segs[done]);
		*pos += bytes[done];
		done++;
	}
	return GSO_SENT;
}

/* Sends [offset, offset + total) of the chunk in datagrams that fit the path. */
static void reply_data(struct userd_worker *w, const struct request *rq,
		       const struct dgfs_req *req, const struct chunk_ref *ch,
		       uint32_t total, uint64_t now)
{
	uint32_t payload = payload_for(w, rq, now);
	uint64_t pos = req->offset, end = req->offset + total;
	struct dgfs_reply_hdr h = {
		.status = DGFS_STATUS_OK,
		.req_id = req->req_id,
		.total = total,
		.size = (uint32_t)ch->size,
	};

	while (pos < end) {
		uint64_t want = end - pos;
		unsigned int n, i, sent;
		ssize_t got;
		bool stop;

		/* Worth it from two datagrams per send. */
		if (w->gso && want > payload &&
		    2 * (DGFS_READ_REPLY_HDR_LEN + payload) <= GSO_MAX_BYTES) {
			switch (send_gso(w, rq, req, ch, &h, &pos, end, payload, now)) {
			case GSO_SENT:
				continue;
			case GSO_STOP:
				return;
			case GSO_UNSUPPORTED:
				w->gso = false;
				if (w->cfg->verbose)
					fprintf(stderr, "dgfs-userd: UDP GSO refused here; "
						"sending datagram by datagram\n");
				continue;
			}
		}

		if (want > (uint64_t)SEND_BATCH * payload)
			want = (uint64_t)SEND_BATCH * payload;
		got = pread(ch->fd, w->data, want, (off_t)pos);
		if (got <= 0) {
			COUNT(w, io_errors, 1);
			chunk_cache_drop(w->chunks, req->chunk);
			/* Nothing sent yet: say why. Else the client's
			 * re-request will hear it.
			 */
			if (pos == req->offset)
				reply_status(w, rq, req, DGFS_STATUS_IO, ch->size);
			return;
		}
		n = (unsigned int)(((uint64_t)got + payload - 1) / payload);
		for (i = 0; i < n; i++) {
			h.offset = pos + (uint64_t)i * payload;
			dgfs_reply_encode(&h, w->hdr[i]);
		}
		sent = send_batch(w, rq, n, w->data, payload,
				  (uint32_t)((uint64_t)got - (uint64_t)(n - 1) * payload), &stop);
		COUNT(w, datagrams, sent);
		COUNT(w, bytes, sent == n ? (uint64_t)got : (uint64_t)sent * payload);
		if (stop)
			return;
		pos += (uint64_t)got;
	}
	COUNT(w, replies, 1);
}

/* ---- requests ------------------------------------------------------------ */

/* False for a request that gets no reply at all (malformed). */
static bool serve_one(struct userd_worker *w, const struct request *rq,
		      const uint8_t *buf, size_t len, bool truncated,
		      uint64_t now, uint64_t unix_now)
{
	struct userd_answer a;

	switch (userd_judge(w->cfg, &w->c, w->chunks, rq->client, buf, len, truncated, now,
			    unix_now, &a)) {
	case USERD_DROP:
		return false;
	case USERD_STATUS:
		reply_status(w, rq, &a.req, a.status, a.size);
		return true;
	case USERD_DATA:
		break;
	}
	reply_data(w, rq, &a.req, &a.ch, a.total, now);
	return true;
}

/* Fills in where a request came from and to which of our addresses. */
static void parse_origin(const struct userd_worker *w, unsigned int i, struct msghdr *mh,
			 struct request *rq)
{
	struct cmsghdr *cm;

	memset(rq, 0, sizeof(*rq));
	if (w->cfg->bind_addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&w->rpeer[i];

		rq->peer.sin6_family = AF_INET6;
		rq->peer.sin6_port = sin->sin_port;
		dgfs_addr_from_sockaddr((const struct sockaddr *)sin, rq->client);
		memcpy(&rq->peer.sin6_addr, rq->client, DGFS_ADDR_LEN);
	} else {
		rq->peer = w->rpeer[i];
		memcpy(rq->client, &rq->peer.sin6_addr, DGFS_ADDR_LEN);
	}
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			memset(rq->local, 0, 10);
			rq->local[10] = rq->local[11] = 0xff;
			memcpy(rq->local + 12, &pi.ipi_addr, 4);
			rq->ifindex = pi.ipi_ifindex;
			rq->have_local = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			memcpy(rq->local, &pi.ipi6_addr, DGFS_ADDR_LEN);
			rq->ifindex = (int)pi.ipi6_ifindex;
			rq->have_local = true;
		}
	}
	/* A request to a multicast or broadcast address is answered from
	 * the address the kernel picks, never from that one.
	 */
	if (rq->have_local && (dgfs_addr_is_v4mapped(rq->local) ? rq->local[12] >= 224 ||
			       !memcmp(rq->local + 12, "\xff\xff\xff\xff", 4)
							      : rq->local[0] == 0xff))
		rq->have_local = false;
}

/* --steer cpu: the worker runs on w->cpu alone (a word on stderr if not). */
static void pin_to_cpu(const struct userd_worker *w)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(w->cpu, &one);
	if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one))
		fprintf(stderr, "dgfs-userd: worker %u: cannot run on CPU %d alone; "
			"steering by CPU will miss it\n", w->index, w->cpu);
}

void *userd_worker_run(void *arg)
{
	struct userd_worker *w = arg;
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	bool shared = w->cfg->steer == USERD_STEER_SHARED;
	unsigned int i;
	int n;

	if (w->cpu >= 0)
		pin_to_cpu(w);
	while (!atomic_load_explicit(&w->cfg->stop, memory_order_relaxed)) {
		struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
		uint64_t now, unix_now;

		if (!shared) {
			n = poll(&pfd, 1, POLL_MS);
			if (n <= 0)
				continue;
		}
		for (i = 0; i < RECV_BATCH; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;

			memset(&msgs[i], 0, sizeof(msgs[i]));
			iov[i].iov_base = w->rbuf[i];
			iov[i].iov_len = RECV_BUF;
			mh->msg_name = &w->rpeer[i];
			mh->msg_namelen = sizeof(w->rpeer[i]);
			mh->msg_iov = &iov[i];
			mh->msg_iovlen = 1;
			mh->msg_control = w->rctl[i];
			mh->msg_controllen = sizeof(w->rctl[i]);
		}
		/* Shared: block for the first datagram (SO_RCVTIMEO bounds it),
		 * then take what else is queued.
		 */
		n = recvmmsg(w->fd, msgs, RECV_BATCH, shared ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		now = now_ns();
		unix_now = (uint64_t)time(NULL);
		for (i = 0; i < (unsigned int)n; i++) {
			struct request rq;

			parse_origin(w, i, &msgs[i].msg_hdr, &rq);
			/* From the batch's arrival to this reply's last datagram
			 * sent: the requests before it in the batch included.
			 */
			if (serve_one(w, &rq, w->rbuf[i], msgs[i].msg_len,
				      msgs[i].msg_hdr.msg_flags & MSG_TRUNC, now, unix_now))
				lat_hist_record(&w->latency, now_ns() - now);
		}
	}
	return NULL;
}

void userd_counters_sum(struct userd_worker *const *workers, unsigned int n,
			struct userd_counter_sum *sum)
{
	unsigned int i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < n; i++) {
		const struct userd_counters *c = userd_worker_counters(workers[i]);

#define X(name, desc) sum->name += atomic_load_explicit(&c->name, memory_order_relaxed);
		USERD_COUNTER_TABLE(X)
#undef X
	}
}

void userd_latency_sum(struct userd_worker *const *workers, unsigned int n, struct lat_hist *sum)
{
	struct lat_hist one;
	unsigned int i, b;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < n; i++) {
		lat_hist_load(&workers[i]->latency, &one);
		for (b = 0; b < DGFS_HIST_BUCKETS; b++)
			sum->b[b] += one.b[b];
		sum->sum_ns += one.sum_ns;
	}
}
