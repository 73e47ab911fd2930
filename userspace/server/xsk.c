// SPDX-License-Identifier: GPL-2.0
/*
 * The AF_XDP tier of dgfs-userd and dgfsd (--af-xdp IFACE): dgfs's XDP
 * program attached to one interface, and per receive queue of it a worker
 * with one AF_XDP socket, in copy mode (every driver has it; veth and
 * virtio on 6.1 have no zero-copy). dgfs's XDP program, loaded with to_xsk
 * (dgfs_xdp_attach_xsk()), has already parsed the frame and dropped every
 * malformed or badly addressed request as it does for the module
 * (docs/XDP.md); what reaches this socket is a valid-looking request.
 *
 * Here: the frame's headers are re-read (never trusted blindly: the shape
 * the program lets through, nothing else), the destination is checked to
 * be ours (what the stack's routing does for the socket workers: the
 * program sees bits, not routes), the request is judged by check.c exactly
 * as the socket workers judge theirs, and the reply's Ethernet, IP and UDP
 * headers are written in front of the payload in UMEM frames, the payload
 * read from the chunk file with one preadv straight into the frames.
 *
 * UMEM: NUM_FRAMES frames of FRAME_SIZE; the first RX_FRAMES circulate
 * through the fill and RX rings, the others are the reply pool (a stack
 * of free frames, refilled from the completion ring).
 *
 * Rings: a descriptor is written only into a slot the ring granted
 * (xsk_ring_prod__reserve()), never on the assumption that there is room.
 * The kernel tells how far it has read the TX ring only now and then:
 * 6.1's copy mode moves the ring's consumer index only when it has sent
 * every descriptor it saw at its last look (xskq_cons_peek_desc() ->
 * xskq_cons_get_entries() in net/xdp/xsk_queue.h; from 6.17 on, at the end
 * of every sendto(): "net: xsk: update tx queue consumer immediately after
 * transmission"). It looks at up to the whole pool at once and sends 32
 * per sendto(), so the ring can look full while the frames of it are back
 * in the pool already. The TX and fill rings are therefore twice the
 * frames they carry (what the kernel saw at its last look, at most all of
 * them, plus what was posted since, at most all of them again), and a full
 * ring is waited for with sendto() kicks, not written over.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include "userd.h"
#include "dgfs_xdp_loader.h"

#define NUM_FRAMES	4096
#define FRAME_SIZE	XSK_UMEM__DEFAULT_FRAME_SIZE
#define RX_FRAMES	2048
#define TX_FRAMES	(NUM_FRAMES - RX_FRAMES)
#define RX_RING_SIZE	RX_FRAMES
#define FILL_RING_SIZE	(2 * RX_FRAMES)	/* see "Rings" above */
#define TX_RING_SIZE	(2 * TX_FRAMES)
#define COMP_RING_SIZE	TX_FRAMES	/* a completion per frame sent */
#define RX_BATCH	64
#define DGRAM_BATCH	64	/* datagrams per preadv */
#define POLL_MS		100	/* how soon a worker notices stop */
#define REFRESH_NS	1000000000ull	/* interface facts re-read at most this often */
#define MAX_ADDRS	32
#define KICK_TRIES	4096	/* sendto() kicks before a reply gives up waiting */

_Static_assert(RX_RING_SIZE >= RX_FRAMES && COMP_RING_SIZE >= TX_FRAMES &&
	       FILL_RING_SIZE >= 2 * RX_FRAMES && TX_RING_SIZE >= 2 * TX_FRAMES,
	       "rings hold every frame, those the kernel reads lazily twice over");

#define COUNT(x, name, n) atomic_fetch_add_explicit(&(x)->c.name, (n), memory_order_relaxed)

/* Where a request frame's parts are. */
struct frame {
	const uint8_t *l2;
	unsigned int l2len;		/* Ethernet header and its VLAN tag if any */
	bool v6;
	uint8_t src[DGFS_ADDR_LEN];	/* IPv4 mapped, as tokens see it */
	uint8_t dst[DGFS_ADDR_LEN];
	uint8_t ports[4];		/* source, destination: as on the wire */
	const uint8_t *payload;
	size_t len;
};

struct userd_xsk {
	struct userd_config *cfg;
	uint16_t port;			/* the service port, host order */
	char ifname[IF_NAMESIZE];
	unsigned int queue;
	void *area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	int fd;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint64_t pool[TX_FRAMES];	/* free reply frames */
	unsigned int npool;
	uint64_t refill[RX_FRAMES];	/* request frames the fill ring had no room for yet */
	unsigned int nrefill;
	struct chunk_cache *chunks;
	struct userd_counters c;
	struct lat_hist_shared latency;
	pthread_t tid;
	bool started;

	/* The interface and the namespace's addresses, re-read when a
	 * request names one we do not know (at most every REFRESH_NS).
	 */
	uint8_t mac[ETH_ALEN];
	uint32_t mtu;
	uint8_t addrs[MAX_ADDRS][DGFS_ADDR_LEN];
	unsigned int naddrs;
	uint64_t refreshed;

	uint64_t frames[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* ---- the interface ------------------------------------------------------- */

/* @ifname's receive queues (ethtool's channels; 1 if it does not say), 0 if
 * there is no such interface.
 */
static unsigned int xsk_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	unsigned int n = 0;
	int fd;

	/* ethtool's channels, not /sys/class/net: sysfs shows the
	 * namespace it was mounted in, not necessarily ours.
	 */
	if (!if_nametoindex(ifname))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		n = ch.rx_count + ch.combined_count;
	close(fd);
	return n ? n : 1;	/* a driver that does not say has one */
}

/* MAC, MTU and every address of the namespace but loopback ones: a
 * request to any of them is ours, as the stack (weak host) takes it.
 */
static void refresh(struct userd_xsk *x, uint64_t now)
{
	struct ifaddrs *ifa, *i;
	struct ifreq ifr;
	int fd;

	x->refreshed = now;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", x->ifname);
		if (!ioctl(fd, SIOCGIFHWADDR, &ifr))
			memcpy(x->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
		if (!ioctl(fd, SIOCGIFMTU, &ifr) && ifr.ifr_mtu > 0)
			x->mtu = (uint32_t)ifr.ifr_mtu;
		close(fd);
	}
	if (getifaddrs(&ifa))
		return;
	x->naddrs = 0;
	for (i = ifa; i && x->naddrs < MAX_ADDRS; i = i->ifa_next) {
		uint8_t a[DGFS_ADDR_LEN];

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) ||
		    dgfs_addr_from_sockaddr(i->ifa_addr, a))
			continue;
		memcpy(x->addrs[x->naddrs++], a, DGFS_ADDR_LEN);
	}
	freeifaddrs(ifa);
}

static bool is_ours(struct userd_xsk *x, const struct frame *f, uint64_t now)
{
	unsigned int i;

	for (int pass = 0; pass < 2; pass++) {
		if (!memcmp(f->l2, x->mac, ETH_ALEN))
			for (i = 0; i < x->naddrs; i++)
				if (!memcmp(x->addrs[i], f->dst, DGFS_ADDR_LEN))
					return true;
		if (pass || now - x->refreshed < REFRESH_NS)
			break;
		refresh(x, now);
	}
	return false;
}

/* ---- frames in ----------------------------------------------------------- */

/*
 * The shape dgfs_xdp passes on: Ethernet with at most one VLAN tag, IPv4
 * without options or fragments, or IPv6 without extension headers, UDP
 * to our port with lengths that agree. False for anything else.
 */
static bool parse_frame(const uint8_t *p, size_t n, uint16_t port, struct frame *f)
{
	const uint8_t *ip, *udp;
	uint16_t proto, ulen;

	if (n < ETH_HLEN)
		return false;
	f->l2 = p;
	f->l2len = ETH_HLEN;
	proto = get16(p + 12);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		if (n < ETH_HLEN + 4)
			return false;
		proto = get16(p + 16);
		f->l2len += 4;
	}
	ip = p + f->l2len;
	n -= f->l2len;
	if (proto == ETH_P_IP) {
		uint16_t tot;

		if (n < 20 || ip[0] != 0x45 || ip[9] != IPPROTO_UDP ||
		    (get16(ip + 6) & 0x3fff))	/* MF or an offset */
			return false;
		tot = get16(ip + 2);
		if (tot < 28 || tot > n)
			return false;
		f->v6 = false;
		memset(f->src, 0, 10);
		f->src[10] = f->src[11] = 0xff;
		memcpy(f->dst, f->src, 12);
		memcpy(f->src + 12, ip + 12, 4);
		memcpy(f->dst + 12, ip + 16, 4);
		udp = ip + 20;
		ulen = tot - 20;
	} else if (proto == ETH_P_IPV6) {
		if (n < 48 || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_UDP)
			return false;
		ulen = get16(ip + 4);
		if (ulen < 8 || 40u + ulen > n)
			return false;
		f->v6 = true;
		memcpy(f->src, ip + 8, DGFS_ADDR_LEN);
		memcpy(f->dst, ip + 24, DGFS_ADDR_LEN);
		udp = ip + 40;
	} else {
		return false;
	}
	if (get16(udp + 4) != ulen || get16(udp + 2) != port)
		return false;
	memcpy(f->ports, udp, 4);
	f->payload = udp + 8;
	f->len = ulen - 8u;
	return true;
}

/* ---- frames out ---------------------------------------------------------- */

/* The ones' complement sum of @n bytes starting at an even offset of
 * what is summed, 8 bytes at a time (RFC 1071: any byte order works).
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint64_t v;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		sum += v;
		sum += sum < v;
	}
	if (n) {
		v = 0;
		memcpy(&v, p, n);
		sum += v;
		sum += sum < v;
	}
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static unsigned int l3_len(const struct frame *f)
{
	return f->v6 ? 40 : 20;
}

/* Bytes of headers before a reply's dgfs header. */
static unsigned int hdr_len(const struct frame *f)
{
	return f->l2len + l3_len(f) + 8;
}

/*
 * The headers of a reply to @f whose UDP payload (dgfs header and data,
 * already in place after them) is @ulen bytes: the request's own layer 2
 * with the MACs swapped, addresses and ports swapped, DF set (as the
 * socket workers send), checksums computed (there is no offload here).
 */
static void finish_frame(const struct frame *f, uint8_t *out, unsigned int ulen)
{
	uint8_t *ip = out + f->l2len, *udp = ip + l3_len(f);
	uint8_t pseudo[40];
	uint64_t sum;
	uint16_t c;

	memcpy(out, f->l2 + ETH_ALEN, ETH_ALEN);
	memcpy(out + ETH_ALEN, f->l2, ETH_ALEN);
	memcpy(out + 2 * ETH_ALEN, f->l2 + 2 * ETH_ALEN, f->l2len - 2 * ETH_ALEN);
	ulen += 8;
	if (f->v6) {
		memset(ip, 0, 8);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)ulen);
		ip[6] = IPPROTO_UDP;
		ip[7] = 64;
		memcpy(ip + 8, f->dst, DGFS_ADDR_LEN);
		memcpy(ip + 24, f->src, DGFS_ADDR_LEN);
		sum = csum_add(0, ip + 8, 32);
	} else {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + ulen));
		put16(ip + 6, 0x4000);		/* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, f->dst + 12, 4);
		memcpy(ip + 16, f->src + 12, 4);
		c = csum_fold(csum_add(0, ip, 20));
		memcpy(ip + 10, &c, 2);
		sum = csum_add(0, ip + 12, 8);
	}
	/* The pseudo header's length and protocol (its addresses: above). */
	memset(pseudo, 0, 8);
	put16(pseudo + 2, (uint16_t)ulen);
	pseudo[7] = IPPROTO_UDP;
	sum = csum_add(sum, pseudo, 8);
	udp[0] = f->ports[2];
	udp[1] = f->ports[3];
	udp[2] = f->ports[0];
	udp[3] = f->ports[1];
	put16(udp + 4, (uint16_t)ulen);
	udp[6] = udp[7] = 0;
	c = csum_fold(csum_add(sum, udp, ulen));
	if (!c)
		c = 0xffff;	/* 0 means "none" in UDP */
	memcpy(udp + 6, &c, 2);
}

/* Frames the kernel has sent back to the pool. */
static void reap(struct userd_xsk *x)
{
	uint32_t idx, n, i;

	n = xsk_ring_cons__peek(&x->comp, COMP_RING_SIZE, &idx);
	for (i = 0; i < n && x->npool < TX_FRAMES; i++)	/* the bound: never past the pool */
		x->pool[x->npool++] = *xsk_ring_cons__comp_addr(&x->comp, idx + i);
	xsk_ring_cons__release(&x->comp, n);
}

/* Copy mode sends only inside a syscall, a few dozen frames per call. */
static void kick(struct userd_xsk *x)
{
	if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN &&
	    errno != EBUSY && errno != ENOBUFS && errno != EINTR)
		COUNT(x, send_errors, 1);
	reap(x);
}

/* Everything queued handed to the kernel, or as much as KICK_TRIES allow. */
static void flush(struct userd_xsk *x)
{
	for (int i = 0; i < KICK_TRIES && xsk_prod_nb_free(&x->tx, TX_RING_SIZE) < TX_RING_SIZE; i++)
		kick(x);
	reap(x);
}

/* @n free frames into x->frames, kicking until they come back. */
static bool take_frames(struct userd_xsk *x, unsigned int n)
{
	for (int i = 0; x->npool < n; i++) {
		if (i == KICK_TRIES)
			return false;
		kick(x);
	}
	for (unsigned int i = 0; i < n; i++)
		x->frames[i] = x->pool[--x->npool];
	return true;
}

static void put_back(struct userd_xsk *x, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		x->pool[x->npool++] = x->frames[i];
}

/*
 * Queues x->frames[0..n) for sending, frame i @len[i] bytes long. False,
 * the frames back in the pool and counted as send errors, if the ring
 * still looks full after KICK_TRIES kicks (it should never, see "Rings").
 */
static bool submit(struct userd_xsk *x, unsigned int n, const uint32_t *len)
{
	uint32_t idx = 0;

	for (int i = 0; xsk_ring_prod__reserve(&x->tx, n, &idx) != n; i++) {
		if (i == KICK_TRIES) {
			put_back(x, n);
			COUNT(x, send_errors, n);
			return false;
		}
		kick(x);
	}
	for (unsigned int i = 0; i < n; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + i);

		d->addr = x->frames[i];
		d->len = len[i];
	}
	xsk_ring_prod__submit(&x->tx, n);
	return true;
}

static uint8_t *frame_data(struct userd_xsk *x, uint64_t addr)
{
	return xsk_umem__get_data(x->area, addr);
}

static void reply_status(struct userd_xsk *x, const struct frame *f, const struct dgfs_req *req,
			 uint16_t status, uint64_t size)
{
	struct dgfs_reply_hdr h = {
		.status = status,
		.req_id = req->req_id,
		.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size,
	};
	uint32_t len = hdr_len(f) + DGFS_READ_REPLY_HDR_LEN;
	uint8_t *out;

	if (!take_frames(x, 1)) {
		COUNT(x, send_errors, 1);
		return;
	}
	out = frame_data(x, x->frames[0]);
	dgfs_reply_encode(&h, out + hdr_len(f));
	finish_frame(f, out, DGFS_READ_REPLY_HDR_LEN);
	if (submit(x, 1, &len))
		COUNT(x, datagrams, 1);
}

/* Data bytes per datagram: the whole frame within the MTU (copy mode's
 * transmit refuses longer ones) and within a UMEM frame.
 */
static uint32_t payload_for(const struct userd_xsk *x, const struct frame *f)
{
	uint32_t room = x->mtu < FRAME_SIZE ? x->mtu : FRAME_SIZE;
	uint32_t hdrs = hdr_len(f) + DGFS_READ_REPLY_HDR_LEN;

	return room > hdrs + 512 ? room - hdrs : 512;
}

static void reply_data(struct userd_xsk *x, const struct frame *f, const struct userd_answer *a)
{
	uint32_t payload = payload_for(x, f), len[DGRAM_BATCH];
	uint64_t pos = a->req.offset, end = a->req.offset + a->total;
	struct dgfs_reply_hdr h = {
		.status = DGFS_STATUS_OK,
		.req_id = a->req.req_id,
		.total = a->total,
		.size = (uint32_t)a->ch.size,
	};
	unsigned int hl = hdr_len(f);

	if (hl + DGFS_READ_REPLY_HDR_LEN + payload > FRAME_SIZE) {
		COUNT(x, send_errors, 1);	/* an MTU below 576: nothing fits */
		return;
	}
	while (pos < end) {
		uint64_t p = pos, planned;
		unsigned int n, i;
		ssize_t got;

		n = (unsigned int)((end - pos + payload - 1) / payload);
		if (n > DGRAM_BATCH)
			n = DGRAM_BATCH;
		if (!take_frames(x, n)) {
			/* The link does not drain: the client asks again. */
			COUNT(x, send_errors, n);
			return;
		}
		for (i = 0; i < n; i++) {
			uint8_t *out = frame_data(x, x->frames[i]);
			uint32_t k = end - p < payload ? (uint32_t)(end - p) : payload;

			h.offset = p;
			dgfs_reply_encode(&h, out + hl);
			x->iov[i].iov_base = out + hl + DGFS_READ_REPLY_HDR_LEN;
			x->iov[i].iov_len = k;
			len[i] = hl + DGFS_READ_REPLY_HDR_LEN + k;
			p += k;
		}
		planned = p - pos;
		got = preadv(a->ch.fd, x->iov, (int)n, (off_t)pos);
		if (got < 0 || (uint64_t)got != planned) {
			/* Failed, or the file shrank under us: an IO error. */
			put_back(x, n);
			COUNT(x, io_errors, 1);
			chunk_cache_drop(x->chunks, a->req.chunk);
			if (pos == a->req.offset)
				reply_status(x, f, &a->req, DGFS_STATUS_IO, a->ch.size);
			return;
		}
		for (i = 0; i < n; i++)
			finish_frame(f, frame_data(x, x->frames[i]),
				     len[i] - hl);
		if (!submit(x, n, len))
			return;		/* the client asks again */
		COUNT(x, datagrams, n);
		COUNT(x, bytes, planned);
		pos = p;
	}
	COUNT(x, replies, 1);
}

/* False for a frame that gets no reply at all. */
static bool serve_frame(struct userd_xsk *x, const uint8_t *p, size_t n, uint64_t now,
			uint64_t unix_now)
{
	struct userd_answer a;
	struct frame f;

	if (!parse_frame(p, n, x->port, &f)) {
		COUNT(x, xsk_bad_frames, 1);
		return false;
	}
	if (!is_ours(x, &f, now)) {
		COUNT(x, xsk_not_local, 1);
		userd_log_refusal(x->cfg, f.src, "not to an address of ours");
		return false;
	}
	switch (userd_judge(x->cfg, &x->c, x->chunks, f.src, f.payload, f.len, false, now,
			    unix_now, &a)) {
	case USERD_DROP:
		return false;
	case USERD_STATUS:
		reply_status(x, &f, &a.req, a.status, a.size);
		return true;
	case USERD_DATA:
		break;
	}
	reply_data(x, &f, &a);
	return true;
}

/* ---- the socket ---------------------------------------------------------- */

static void xsk_destroy(struct userd_xsk *x);

/*
 * An AF_XDP socket on @ifname's receive queue @queue, entered into
 * @xsks_map_fd, the XSKMAP of dgfs's XDP program. NULL with errno. Its
 * chunk cache comes at start (userd_xsk_tier_start(): dgfsd opens its chunk
 * directory only after it dropped the privileges this needs).
 */
static struct userd_xsk *xsk_create(struct userd_config *cfg, const char *ifname,
				    unsigned int queue, int xsks_map_fd)
{
	struct xsk_umem_config ucfg = {
		.fill_size = FILL_RING_SIZE,
		.comp_size = COMP_RING_SIZE,
		.frame_size = FRAME_SIZE,
		.frame_headroom = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = RX_RING_SIZE,
		.tx_size = TX_RING_SIZE,
		/* dgfs's own program is attached already: not libxdp's. */
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	struct userd_xsk *x;
	uint32_t idx, i;
	int ret;

	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->cfg = cfg;
	/* sin_port and sin6_port sit at the same offset */
	x->port = ntohs(((const struct sockaddr_in *)&cfg->bind_addr)->sin_port);
	x->queue = queue;
	x->fd = -1;
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	x->mtu = 1500;
	x->area = mmap(NULL, (size_t)NUM_FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		ret = -ENOMEM;
		goto err;
	}
	ret = xsk_umem__create(&x->umem, x->area, (uint64_t)NUM_FRAMES * FRAME_SIZE, &x->fill,
			       &x->comp, &ucfg);
	if (ret)
		goto err;
	ret = xsk_socket__create(&x->xsk, ifname, queue, x->umem, &x->rx, &x->tx, &scfg);
	if (ret)
		goto err;
	x->fd = xsk_socket__fd(x->xsk);
	/*
	 * Copy mode sends each frame as an skb charged to this socket's
	 * send buffer. Let it hold every frame of the pool, so that the
	 * pool, not the buffer, is what limits a burst (a full buffer is
	 * harmless: the kernel keeps the descriptor and sendto() says
	 * EAGAIN; the stall once blamed on it on 6.1 was the TX ring
	 * written over, see "Rings" at the top).
	 */
	{
		int sndbuf = TX_FRAMES * 2 * FRAME_SIZE;

		if (setsockopt(x->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
			setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	}
	/* Receive frames first into the fill ring, the rest to the pool. */
	if (xsk_ring_prod__reserve(&x->fill, RX_FRAMES, &idx) != RX_FRAMES) {
		ret = -ENOSPC;
		goto err;
	}
	for (i = 0; i < RX_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * FRAME_SIZE;
	xsk_ring_prod__submit(&x->fill, RX_FRAMES);
	for (i = RX_FRAMES; i < NUM_FRAMES; i++)
		x->pool[x->npool++] = (uint64_t)i * FRAME_SIZE;
	refresh(x, now_ns());
	/* Last: from here on requests on this queue come to us. */
	ret = xsk_socket__update_xskmap(x->xsk, xsks_map_fd);
	if (ret)
		goto err;
	return x;
err:
	xsk_destroy(x);
	errno = ret < 0 ? -ret : ret;
	return NULL;
}

static void xsk_destroy(struct userd_xsk *x)
{
	if (!x)
		return;
	if (x->xsk)
		xsk_socket__delete(x->xsk);	/* also leaves the map */
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, (size_t)NUM_FRAMES * FRAME_SIZE);
	chunk_cache_destroy(x->chunks);
	free(x);
}

/* Request frames back to the fill ring, as many as it has room for; the
 * others wait in x->refill for the next round (see "Rings": they should not).
 */
static void refill(struct userd_xsk *x)
{
	uint32_t idx = 0, n = xsk_prod_nb_free(&x->fill, x->nrefill);

	if (n > x->nrefill)
		n = x->nrefill;
	if (!n || xsk_ring_prod__reserve(&x->fill, n, &idx) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = x->refill[--x->nrefill];
	xsk_ring_prod__submit(&x->fill, n);
}

static void *xsk_run(void *arg)
{
	struct userd_xsk *x = arg;

	while (!atomic_load_explicit(&x->cfg->stop, memory_order_relaxed)) {
		struct pollfd pfd = { .fd = x->fd, .events = POLLIN };
		uint64_t now, unix_now;
		uint32_t idx = 0, n, i;

		if (x->nrefill)
			refill(x);
		n = xsk_ring_cons__peek(&x->rx, RX_BATCH, &idx);
		if (!n) {
			if (poll(&pfd, 1, POLL_MS) <= 0)
				continue;
			n = xsk_ring_cons__peek(&x->rx, RX_BATCH, &idx);
			if (!n)
				continue;
		}
		now = now_ns();
		unix_now = (uint64_t)time(NULL);
		for (i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
			uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);

			/* From the batch's arrival to this reply queued. */
			if (serve_frame(x, frame_data(x, addr), d->len, now, unix_now))
				lat_hist_record(&x->latency, now_ns() - now);
		}
		/* The request frames go back to the fill ring as they were. */
		for (i = 0; i < n; i++)
			x->refill[x->nrefill++] =
				xsk_umem__extract_addr(xsk_ring_cons__rx_desc(&x->rx, idx + i)->addr);
		xsk_ring_cons__release(&x->rx, n);
		refill(x);
		flush(x);
	}
	return NULL;
}

static void xsk_add_counters(const struct userd_xsk *x, struct userd_counter_sum *sum)
{
#define X(name, desc) sum->name += atomic_load_explicit(&x->c.name, memory_order_relaxed);
	USERD_COUNTER_TABLE(X)
#undef X
}

static void xsk_add_latency(const struct userd_xsk *x, struct lat_hist *lat)
{
	struct lat_hist one;
	unsigned int b;

	lat_hist_load(&x->latency, &one);
	for (b = 0; b < DGFS_HIST_BUCKETS; b++)
		lat->b[b] += one.b[b];
	lat->sum_ns += one.sum_ns;
}

/* ---- the tier: the program and a worker per queue ------------------------ */

struct userd_xsk_tier {
	struct userd_config *cfg;
	char ifname[IF_NAMESIZE];
	int xsks_fd;			/* the program's XSKMAP; -1: not attached */
	unsigned int n;
	struct userd_xsk *xsks[DGFS_XSK_MAX_QUEUES];
};

struct userd_xsk_tier *userd_xsk_tier_open(struct userd_config *cfg, const char *ifname,
					   bool skb_mode, char *err, size_t errlen)
{
	struct userd_xsk_tier *t;
	char why[256];
	uint16_t port = ntohs(((const struct sockaddr_in *)&cfg->bind_addr)->sin_port);
	unsigned int n = xsk_queues(ifname), i;

	if (!n) {
		snprintf(err, errlen, "no such interface");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->cfg = cfg;
	t->xsks_fd = -1;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	if (dgfs_xdp_attach_xsk(ifname, skb_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE, port,
				cfg->max_read, &t->xsks_fd, err, errlen)) {
		t->xsks_fd = -1;
		free(t);
		return NULL;
	}
	/* Counted again: virtio_net adds queue pairs for XDP when it has them. */
	n = xsk_queues(ifname) ?: n;
	if (n > DGFS_XSK_MAX_QUEUES)
		n = DGFS_XSK_MAX_QUEUES;
	for (i = 0; i < n; i++) {
		t->xsks[i] = xsk_create(cfg, ifname, i, t->xsks_fd);
		if (!t->xsks[i]) {
			snprintf(why, sizeof(why), "cannot open an AF_XDP socket on %s queue %u: %s",
				 ifname, i, strerror(errno));
			userd_xsk_tier_close(t, err, errlen);	/* detached: nothing stays */
			snprintf(err, errlen, "%s", why);
			return NULL;
		}
		t->n++;
	}
	return t;
}

int userd_xsk_tier_start(struct userd_xsk_tier *t, char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; i < t->n; i++) {
		struct userd_xsk *x = t->xsks[i];

		x->chunks = chunk_cache_create(t->cfg->dir_fd);
		if (!x->chunks)
			return snprintf(err, errlen, "out of memory"), -ENOMEM;
		if (pthread_create(&x->tid, NULL, xsk_run, x))
			return snprintf(err, errlen, "cannot start an AF_XDP thread"), -EAGAIN;
		x->started = true;
	}
	return 0;
}

unsigned int userd_xsk_tier_queues(const struct userd_xsk_tier *t)
{
	return t ? t->n : 0;
}

void userd_xsk_tier_add_counters(const struct userd_xsk_tier *t, struct userd_counter_sum *sum)
{
	for (unsigned int i = 0; t && i < t->n; i++)
		xsk_add_counters(t->xsks[i], sum);
}

void userd_xsk_tier_add_latency(const struct userd_xsk_tier *t, struct lat_hist *lat)
{
	for (unsigned int i = 0; t && i < t->n; i++)
		xsk_add_latency(t->xsks[i], lat);
}

void userd_xsk_tier_join(struct userd_xsk_tier *t)
{
	for (unsigned int i = 0; t && i < t->n; i++) {
		if (t->xsks[i]->started)
			pthread_join(t->xsks[i]->tid, NULL);
		t->xsks[i]->started = false;
	}
}

int userd_xsk_tier_close(struct userd_xsk_tier *t, char *err, size_t errlen)
{
	unsigned int i;
	int ret = 0;

	if (!t)
		return 0;
	userd_xsk_tier_join(t);
	for (i = 0; i < t->n; i++)
		xsk_destroy(t->xsks[i]);
	if (t->xsks_fd >= 0) {
		close(t->xsks_fd);
		ret = dgfs_xdp_detach(t->ifname, err, errlen);
	}
	free(t);
	return ret;
}
