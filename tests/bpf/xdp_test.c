// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_test: run bpf/dgfs_xdp.bpf.c through BPF_PROG_TEST_RUN on frames
 * built here, one per case, and check the verdict, the counters (exactly
 * the expected ones move, by one) and, for passed frames, that the bytes
 * come out as they went in. Prints PASS:/FAIL: lines; exits 1 on failure.
 *
 *   xdp_test                 every case, program loaded without the module
 *   xdp_test --bench N       ns per packet over N runs, for a valid request
 *                            and for traffic that is not ours
 *   xdp_test --kmod          load with have_kmod and run what reaches the
 *                            module (in the VM; without dgfs.ko, as on the
 *                            host, it fails to load: exit 1)
 *
 * Frames arrive on a device of a network namespace of the test's own
 * (unshare), dgaddr0 (198.18.0.2/24, 2001:db8:2::2/64: the frames' destination),
 * or on loopback where a case says so; --dev IFNAME uses IFNAME in the
 * caller's namespace instead, which must have those addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/dgfs.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include "dgfs_xdp.h"
#include "dgfs_xdp.skel.h"
#include "result.h"

/* The device frames arrive on (BPF_PROG_TEST_RUN's ingress_ifindex). */
static unsigned int test_ifindex;
#define LO_IFINDEX 1


/* ---- frames ------------------------------------------------------------ */

struct frame_spec {
	unsigned int vlans;	/* tags: 0, 1 or 2 */
	uint16_t tpid;		/* of the (outer) tag; 0: 802.1Q */
	uint16_t ethertype;	/* 0: IPv4 or IPv6 as ipv6 says */
	bool ipv6;
	uint8_t l4proto;	/* 0: UDP */
	/* IPv4 */
	uint8_t ihl;		/* 0: 5; more adds NOP options */
	uint16_t frag_off;	/* host order: flags and offset as on the wire */
	/* IPv6: extension headers between the fixed header and UDP */
	uint8_t ext[8];
	unsigned int nr_ext;
	uint16_t frag6_off;	/* host order, for an IPPROTO_FRAGMENT in ext[] */
	uint16_t dport;		/* 0: DGFS_DEFAULT_PORT */
	size_t payload;		/* UDP payload bytes; 0: a request's 72 */
	/* addresses, for the family ipv6 says; NULL: the client's and ours */
	const char *src, *dst;
};

struct frame {
	unsigned char b[2048];
	size_t len;
	/* where things are, for the cases that break them afterwards */
	size_t l3, udp, req;
};

static void put16(unsigned char *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

/* A frame as @s says, carrying a valid request (or @s->payload bytes of
 * one), all lengths consistent.
 */
static void build(struct frame *f, const struct frame_spec *s)
{
	size_t payload = s->payload ? s->payload : DGFS_READ_REQ_LEN;
	uint8_t l4proto = s->l4proto ? s->l4proto : IPPROTO_UDP;
	uint16_t ethertype = s->ethertype ? s->ethertype : s->ipv6 ? ETH_P_IPV6 : ETH_P_IP;
	struct dgfs_read_req req = {
		.magic = htonl(DGFS_PROTO_MAGIC),
		.version = DGFS_PROTO_VERSION,
		.op = DGFS_OP_READ,
		.req_id = 0x0102030405060708ULL,
		.offset = 0,
		.length = htonl(4096),
		.expiry = htonl(2000000000),
	};
	unsigned char *p = f->b;
	size_t udp_len, l3_payload;

	memset(f, 0, sizeof(*f));
	if (payload > sizeof(f->b) - 200) {
		fprintf(stderr, "xdp_test: a %zu-byte payload does not fit\n", payload);
		exit(1);
	}
	memcpy(p, "\x02\x00\x00\x00\x00\x01", 6);	/* destination */
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x02", 6);	/* source */
	p += 12;
	for (unsigned int i = 0; i < s->vlans; i++) {
		put16(p, i == 0 && s->tpid ? s->tpid : ETH_P_8021Q);
		put16(p + 2, 100 + i);		/* VLAN id */
		p += 4;
	}
	put16(p, ethertype);
	p += 2;
	f->l3 = p - f->b;

	udp_len = sizeof(struct udphdr) + payload;
	if (s->ipv6) {
		struct ipv6hdr *ip6 = (void *)p;
		uint8_t *next = &ip6->nexthdr;

		ip6->version = 6;
		ip6->hop_limit = 64;
		if (inet_pton(AF_INET6, s->src ? s->src : "2001:db8:2::1", &ip6->saddr) != 1 ||
		    inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8:2::2", &ip6->daddr) != 1)
			goto bad_addr;
		p += sizeof(*ip6);
		for (unsigned int i = 0; i < s->nr_ext; i++) {
			*next = s->ext[i];
			next = p;
			if (s->ext[i] == IPPROTO_FRAGMENT) {
				put16(p + 2, s->frag6_off);
				memcpy(p + 4, "\x00\x00\x12\x34", 4);
			} else {
				p[1] = 0;	/* 8 bytes: next header, length, 6 of PadN */
				p[2] = 1;
				p[3] = 4;
			}
			p += 8;
		}
		*next = l4proto;
		l3_payload = (p - f->b) - f->l3 - sizeof(*ip6) + udp_len;
		put16((unsigned char *)&ip6->payload_len, l3_payload);
	} else {
		struct iphdr *iph = (void *)p;
		unsigned int ihl = s->ihl ? s->ihl : 5;

		iph->version = 4;
		iph->ihl = ihl;
		iph->ttl = 64;
		iph->protocol = l4proto;
		iph->frag_off = htons(s->frag_off);
		if (inet_pton(AF_INET, s->src ? s->src : "198.18.0.1", &iph->saddr) != 1 ||
		    inet_pton(AF_INET, s->dst ? s->dst : "198.18.0.2", &iph->daddr) != 1)
			goto bad_addr;
		memset(p + sizeof(*iph), 1, ihl * 4 - sizeof(*iph));	/* NOP options */
		put16((unsigned char *)&iph->tot_len, ihl * 4 + udp_len);
		p += ihl * 4;
	}
	f->udp = p - f->b;
	put16(p, 40000);
	put16(p + 2, s->dport ? s->dport : DGFS_DEFAULT_PORT);
	put16(p + 4, udp_len);
	p += sizeof(struct udphdr);
	f->req = p - f->b;
	memcpy(p, &req, payload < sizeof(req) ? payload : sizeof(req));
	if (payload > sizeof(req))
		memset(p + sizeof(req), 0xab, payload - sizeof(req));
	p += payload;
	f->len = p - f->b;
	return;
bad_addr:
	fprintf(stderr, "xdp_test: bad address %s or %s\n", s->src, s->dst);
	exit(1);
}

static struct dgfs_read_req *req_of(struct frame *f)
{
	return (void *)(f->b + f->req);
}

static struct iphdr *ip_of(struct frame *f)
{
	return (void *)(f->b + f->l3);
}

static struct ipv6hdr *ip6_of(struct frame *f)
{
	return (void *)(f->b + f->l3);
}

static struct udphdr *udp_of(struct frame *f)
{
	return (void *)(f->b + f->udp);
}

/* ---- running ----------------------------------------------------------- */

struct prog {
	struct dgfs_xdp_bpf *skel;
	int prog_fd, map_fd, ncpus;
};

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN && getenv("DGFS_XDP_VERBOSE") ? vfprintf(stderr, fmt, ap) : 0;
}

/* Load in the AF_XDP mode (to_xsk), as dgfs-userd --af-xdp does. */
static bool load_to_xsk;

static int prog_load(struct prog *p, bool have_kmod, uint16_t port, uint32_t max_read)
{
	memset(p, 0, sizeof(*p));
	p->skel = dgfs_xdp_bpf__open();
	if (!p->skel)
		return -errno;
	p->skel->rodata->have_kmod = have_kmod;
	p->skel->rodata->port = port;
	p->skel->rodata->max_read = max_read;
	p->skel->rodata->to_xsk = load_to_xsk;
	/* Never the system's pinned counters: a map of our own. */
	bpf_map__set_pin_path(p->skel->maps.xdp_counters, NULL);
	if (dgfs_xdp_bpf__load(p->skel)) {
		int ret = -errno;

		dgfs_xdp_bpf__destroy(p->skel);
		p->skel = NULL;
		return ret ? ret : -EINVAL;
	}
	p->prog_fd = bpf_program__fd(p->skel->progs.dgfs_xdp);
	p->map_fd = bpf_map__fd(p->skel->maps.xdp_counters);
	p->ncpus = libbpf_num_possible_cpus();
	return 0;
}

static void prog_unload(struct prog *p)
{
	dgfs_xdp_bpf__destroy(p->skel);
}

static int read_counters(const struct prog *p, uint64_t *sum)
{
	struct dgfs_xdp_counters *v = calloc(p->ncpus, sizeof(*v));
	uint32_t zero = 0;
	int ret = -ENOMEM;

	if (!v)
		return ret;
	memset(sum, 0, sizeof(uint64_t) * DGFS_XDP_NR_COUNTERS);
	ret = bpf_map_lookup_elem(p->map_fd, &zero, v) ? -errno : 0;
	for (int cpu = 0; !ret && cpu < p->ncpus; cpu++)
		for (int i = 0; i < DGFS_XDP_NR_COUNTERS; i++)
			sum[i] += v[cpu].c[i];
	free(v);
	return ret;
}

static const char *verdict_name(unsigned int v)
{
	switch (v) {
	case XDP_ABORTED: return "ABORTED";
	case XDP_DROP: return "DROP";
	case XDP_PASS: return "PASS";
	case XDP_TX: return "TX";
	case XDP_REDIRECT: return "REDIRECT";
	default: return "?";
	}
}

/*
 * Run @f once; want verdict @verdict, counter @c1 (and @c2 unless -1) up
 * by one and nothing else moved; for XDP_PASS, the frame unchanged.
 */
static void expect_on(const struct prog *p, unsigned int ifindex, const char *name,
		      struct frame *f, unsigned int verdict, int c1, int c2)
{
	unsigned char out[sizeof(f->b)];
	uint64_t before[DGFS_XDP_NR_COUNTERS], after[DGFS_XDP_NR_COUNTERS];
	struct xdp_md ctx = { .data_end = f->len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = f->b,
		    .data_size_in = f->len,
		    .data_out = out,
		    .data_size_out = sizeof(out),
		    .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	char why[256] = "";
	size_t n = 0;

	if (read_counters(p, before) || bpf_prog_test_run_opts(p->prog_fd, &opts) ||
	    read_counters(p, after)) {
		result(false, "%s (test run: %s)", name, strerror(errno));
		return;
	}
	if (opts.retval != verdict)
		n += snprintf(why + n, sizeof(why) - n, " verdict %s, want %s;",
			      verdict_name(opts.retval), verdict_name(verdict));
	for (int i = 0; i < DGFS_XDP_NR_COUNTERS && n < sizeof(why) - 64; i++) {
		uint64_t want = before[i] + (i == c1 || i == c2);

		if (after[i] != want)
			n += snprintf(why + n, sizeof(why) - n, " %s moved by %lld, want %d;",
				      dgfs_xdp_counter_name(i), (long long)(after[i] - before[i]),
				      i == c1 || i == c2);
	}
	if (verdict == XDP_PASS &&
	    (opts.data_size_out != f->len || memcmp(out, f->b, f->len)))
		n += snprintf(why + n, sizeof(why) - n, " frame changed;");
	if (n)
		why[n - 1] = '\0';
	result(!n, "%s -> %s, %s%s%s%s%s%s", name, verdict_name(verdict),
	       dgfs_xdp_counter_name(c1), c2 >= 0 ? "+" : "",
	       c2 >= 0 ? dgfs_xdp_counter_name(c2) : "", n ? " (got:" : "", why, n ? ")" : "");
}

/* On the test's device. */
static void expect(const struct prog *p, const char *name, struct frame *f,
		   unsigned int verdict, int c1, int c2)
{
	expect_on(p, test_ifindex, name, f, verdict, c1, c2);
}

static void expect_drop(const struct prog *p, const char *name, struct frame *f, int reason)
{
	expect(p, name, f, XDP_DROP, reason, -1);
}

static void expect_other(const struct prog *p, const char *name, struct frame *f)
{
	expect(p, name, f, XDP_PASS, DGFS_XDP_OTHER, -1);
}

/* Without the module a valid request is counted and passed. */
static void expect_valid(const struct prog *p, const char *name, struct frame *f)
{
	expect(p, name, f, XDP_PASS, DGFS_XDP_REQUESTS_VALID, DGFS_XDP_NO_KMOD);
}

/* ---- the cases ----------------------------------------------------------- */

static void valid_requests(const struct prog *p)
{
	struct frame f;

	build(&f, &(struct frame_spec){ 0 });
	expect_valid(p, "valid request over IPv4", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	expect_valid(p, "valid request over IPv6", &f);
	build(&f, &(struct frame_spec){ .vlans = 1 });
	expect_valid(p, "valid request over IPv4, 802.1Q tag", &f);
	build(&f, &(struct frame_spec){ .vlans = 1, .ipv6 = true });
	expect_valid(p, "valid request over IPv6, 802.1Q tag", &f);
	build(&f, &(struct frame_spec){ .vlans = 1, .tpid = ETH_P_8021AD });
	expect_valid(p, "valid request over IPv4, 802.1ad tag", &f);

	/* Ethernet pads short frames: bytes past the IP packet are not ours. */
	build(&f, &(struct frame_spec){ 0 });
	memset(f.b + f.len, 0, 20);
	f.len += 20;
	expect_valid(p, "valid request with link padding after it", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	f.len += 6;
	expect_valid(p, "valid IPv6 request with link padding after it", &f);

	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->length = htonl(DGFS_DEFAULT_MAX_READ);
	expect_valid(p, "length = max_read is valid", &f);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->length = htonl(1);
	expect_valid(p, "length 1 is valid", &f);
	build(&f, &(struct frame_spec){ 0 });
	memset(req_of(&f)->token, 0, DGFS_TOKEN_LEN);
	req_of(&f)->expiry = 0;
	expect_valid(p, "token and expiry are the module's to check", &f);
}

static void runts(const struct prog *p)
{
	struct frame f;

	/* BPF_PROG_TEST_RUN takes nothing shorter than an Ethernet header. */
	build(&f, &(struct frame_spec){ 0 });
	f.len = ETH_HLEN;
	expect_drop(p, "runt: Ethernet header only, EtherType IPv4", &f, DGFS_XDP_RUNT);
	build(&f, &(struct frame_spec){ .vlans = 1 });
	f.len = ETH_HLEN + 2;
	expect_drop(p, "runt: truncated 802.1Q tag", &f, DGFS_XDP_RUNT);
	build(&f, &(struct frame_spec){ 0 });
	f.len = f.l3 + 19;
	expect_drop(p, "runt: truncated IPv4 header", &f, DGFS_XDP_RUNT);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	f.len = f.l3 + 39;
	expect_drop(p, "runt: truncated IPv6 header", &f, DGFS_XDP_RUNT);
	build(&f, &(struct frame_spec){ 0 });
	f.len = f.udp + 7;
	expect_drop(p, "runt: truncated UDP header (IPv4)", &f, DGFS_XDP_RUNT);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	f.len = f.udp + 4;
	expect_drop(p, "runt: truncated UDP header (IPv6)", &f, DGFS_XDP_RUNT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_HOPOPTS } });
	f.len = f.l3 + 40 + 5;
	expect_drop(p, "runt: truncated IPv6 hop-by-hop header", &f, DGFS_XDP_RUNT);
}

static void bad_ip(const struct prog *p)
{
	struct frame f;

	build(&f, &(struct frame_spec){ 0 });
	ip_of(&f)->version = 6;
	expect_drop(p, "bad_ip: EtherType IPv4, version 6", &f, DGFS_XDP_BAD_IP);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	ip6_of(&f)->version = 4;
	expect_drop(p, "bad_ip: EtherType IPv6, version 4", &f, DGFS_XDP_BAD_IP);
	build(&f, &(struct frame_spec){ 0 });
	ip_of(&f)->ihl = 4;
	expect_drop(p, "bad_ip: IPv4 ihl 4", &f, DGFS_XDP_BAD_IP);
	build(&f, &(struct frame_spec){ 0 });
	ip_of(&f)->tot_len = htons(ntohs(ip_of(&f)->tot_len) + 1);
	expect_drop(p, "bad_ip: IPv4 total length past the frame", &f, DGFS_XDP_BAD_IP);
	build(&f, &(struct frame_spec){ 0 });
	ip_of(&f)->tot_len = htons(19);
	expect_drop(p, "bad_ip: IPv4 total length under its header", &f, DGFS_XDP_BAD_IP);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	ip6_of(&f)->payload_len = htons(ntohs(ip6_of(&f)->payload_len) + 1);
	expect_drop(p, "bad_ip: IPv6 payload length past the frame", &f, DGFS_XDP_BAD_IP);

	/* Broken lengths are judged only for our port. */
	build(&f, &(struct frame_spec){ .dport = 53 });
	ip_of(&f)->tot_len = htons(ntohs(ip_of(&f)->tot_len) + 100);
	expect_other(p, "IPv4 with a bad total length to another port passes", &f);
}

static void bad_lengths(const struct prog *p)
{
	struct frame f;

	build(&f, &(struct frame_spec){ 0 });
	udp_of(&f)->len = htons(7);
	expect_drop(p, "bad_udp_len: UDP length 7 (IPv4)", &f, DGFS_XDP_BAD_UDP_LEN);
	build(&f, &(struct frame_spec){ 0 });
	udp_of(&f)->len = htons(ntohs(udp_of(&f)->len) - 1);
	expect_drop(p, "bad_udp_len: UDP length < IP payload (IPv4)", &f, DGFS_XDP_BAD_UDP_LEN);
	build(&f, &(struct frame_spec){ 0 });
	udp_of(&f)->len = htons(ntohs(udp_of(&f)->len) + 1);
	expect_drop(p, "bad_udp_len: UDP length > IP payload (IPv4)", &f, DGFS_XDP_BAD_UDP_LEN);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	udp_of(&f)->len = htons(ntohs(udp_of(&f)->len) + 8);
	expect_drop(p, "bad_udp_len: UDP length > IP payload (IPv6)", &f, DGFS_XDP_BAD_UDP_LEN);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	udp_of(&f)->len = htons(0);
	expect_drop(p, "bad_udp_len: UDP length 0 (IPv6)", &f, DGFS_XDP_BAD_UDP_LEN);
	/* An IPv4 packet ending inside the UDP header the frame's padding holds. */
	build(&f, &(struct frame_spec){ 0 });
	ip_of(&f)->tot_len = htons(24);
	expect_drop(p, "bad_udp_len: IPv4 payload shorter than a UDP header", &f,
		    DGFS_XDP_BAD_UDP_LEN);

	build(&f, &(struct frame_spec){ .payload = DGFS_READ_REQ_LEN - 1 });
	expect_drop(p, "bad_size: 71-byte request", &f, DGFS_XDP_BAD_SIZE);
	build(&f, &(struct frame_spec){ .payload = DGFS_READ_REQ_LEN + 1 });
	expect_drop(p, "bad_size: 73-byte request", &f, DGFS_XDP_BAD_SIZE);
	build(&f, &(struct frame_spec){ .ipv6 = true, .payload = 1 });
	expect_drop(p, "bad_size: 1-byte request over IPv6", &f, DGFS_XDP_BAD_SIZE);
	build(&f, &(struct frame_spec){ .ipv6 = true, .payload = 1000 });
	expect_drop(p, "bad_size: 1000-byte request over IPv6", &f, DGFS_XDP_BAD_SIZE);
}

static void bad_requests(const struct prog *p)
{
	struct frame f;

	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->magic = htonl(DGFS_PROTO_MAGIC + 1);
	expect_drop(p, "bad_magic", &f, DGFS_XDP_BAD_MAGIC);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	req_of(&f)->magic = 0;
	expect_drop(p, "bad_magic over IPv6", &f, DGFS_XDP_BAD_MAGIC);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->version = DGFS_PROTO_VERSION + 1;
	expect_drop(p, "bad_version", &f, DGFS_XDP_BAD_VERSION);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->op = DGFS_OP_READ_REPLY;
	expect_drop(p, "bad_op (a reply)", &f, DGFS_XDP_BAD_OP);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->op = 0;
	expect_drop(p, "bad_op 0", &f, DGFS_XDP_BAD_OP);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->flags = htons(1);
	expect_drop(p, "bad_flags 0x0001", &f, DGFS_XDP_BAD_FLAGS);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->flags = htons(0x8000);
	expect_drop(p, "bad_flags 0x8000", &f, DGFS_XDP_BAD_FLAGS);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->length = 0;
	expect_drop(p, "bad_length 0", &f, DGFS_XDP_BAD_LENGTH);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->length = htonl(DGFS_DEFAULT_MAX_READ + 1);
	expect_drop(p, "bad_length max_read + 1", &f, DGFS_XDP_BAD_LENGTH);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	req_of(&f)->length = htonl(0xffffffff);
	expect_drop(p, "bad_length 2^32-1 over IPv6", &f, DGFS_XDP_BAD_LENGTH);
}

static void headers_we_refuse(const struct prog *p)
{
	struct frame f;

	build(&f, &(struct frame_spec){ .ihl = 6 });
	expect_drop(p, "ip_options: IPv4 ihl 6", &f, DGFS_XDP_IP_OPTIONS);
	build(&f, &(struct frame_spec){ .ihl = 15 });
	expect_drop(p, "ip_options: IPv4 ihl 15", &f, DGFS_XDP_IP_OPTIONS);
	build(&f, &(struct frame_spec){ .ihl = 6, .dport = 53 });
	expect_other(p, "IPv4 options to another port pass", &f);

	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_HOPOPTS } });
	expect_drop(p, "ipv6_ext: hop-by-hop before UDP", &f, DGFS_XDP_IPV6_EXT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_DSTOPTS } });
	expect_drop(p, "ipv6_ext: destination options before UDP", &f, DGFS_XDP_IPV6_EXT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 3,
					.ext = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS } });
	expect_drop(p, "ipv6_ext: hop-by-hop, routing, destination options", &f,
		    DGFS_XDP_IPV6_EXT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 6,
					.ext = { [0 ... 5] = IPPROTO_DSTOPTS } });
	expect_drop(p, "ipv6_ext: six extension headers", &f, DGFS_XDP_IPV6_EXT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 7,
					.ext = { [0 ... 6] = IPPROTO_DSTOPTS } });
	expect_other(p, "seven IPv6 extension headers: left to the stack", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_DSTOPTS },
					.dport = 53 });
	expect_other(p, "IPv6 extension headers to another port pass", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_HOPOPTS },
					.l4proto = IPPROTO_TCP });
	expect_other(p, "IPv6 hop-by-hop then TCP passes", &f);
}

static void fragments(const struct prog *p)
{
	struct frame f;

	build(&f, &(struct frame_spec){ .frag_off = 0x2000 });
	expect_drop(p, "fragment: IPv4 first fragment (MF) to our port", &f, DGFS_XDP_FRAGMENT);
	build(&f, &(struct frame_spec){ .frag_off = 0x2000 | 0x4000 });
	expect_drop(p, "fragment: IPv4 MF with DF set too", &f, DGFS_XDP_FRAGMENT);
	build(&f, &(struct frame_spec){ .frag_off = 0x4000 });
	expect_valid(p, "IPv4 DF alone is fine", &f);
	build(&f, &(struct frame_spec){ .frag_off = 0x2000, .dport = 53 });
	expect_other(p, "IPv4 first fragment to another port passes", &f);
	build(&f, &(struct frame_spec){ .frag_off = 0x0010 });
	expect(p, "IPv4 last non-initial UDP fragment", &f, XDP_PASS,
	       DGFS_XDP_NONFIRST_FRAGMENT, -1);
	build(&f, &(struct frame_spec){ .frag_off = 0x2000 | 0x0100 });
	expect(p, "IPv4 middle non-initial UDP fragment", &f, XDP_PASS,
	       DGFS_XDP_NONFIRST_FRAGMENT, -1);
	build(&f, &(struct frame_spec){ .frag_off = 0x0010, .l4proto = IPPROTO_TCP });
	expect_other(p, "IPv4 non-initial TCP fragment passes as other", &f);

	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_FRAGMENT },
					.frag6_off = 0x0001 });
	expect_drop(p, "fragment: IPv6 first fragment to our port", &f, DGFS_XDP_FRAGMENT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_FRAGMENT },
					.frag6_off = 0 });
	expect_drop(p, "fragment: IPv6 atomic fragment to our port", &f, DGFS_XDP_FRAGMENT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 2,
					.ext = { IPPROTO_HOPOPTS, IPPROTO_FRAGMENT },
					.frag6_off = 0x0001 });
	expect_drop(p, "fragment: IPv6 hop-by-hop then first fragment", &f, DGFS_XDP_FRAGMENT);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_FRAGMENT },
					.frag6_off = 0x0100 });
	expect(p, "IPv6 non-initial UDP fragment", &f, XDP_PASS, DGFS_XDP_NONFIRST_FRAGMENT, -1);
	build(&f, &(struct frame_spec){ .ipv6 = true, .nr_ext = 1, .ext = { IPPROTO_FRAGMENT },
					.frag6_off = 0x0001, .dport = 53 });
	expect_other(p, "IPv6 first fragment to another port passes", &f);
}

static void not_ours(const struct prog *p)
{
	struct frame f;

	build(&f, &(struct frame_spec){ .dport = DGFS_DEFAULT_PORT + 1 });
	expect_other(p, "UDP to another port (IPv4)", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true, .dport = 53 });
	expect_other(p, "UDP to another port (IPv6)", &f);
	build(&f, &(struct frame_spec){ .dport = 53 });
	put16(f.b + f.udp, DGFS_DEFAULT_PORT);
	expect_other(p, "UDP from our port to another port", &f);
	build(&f, &(struct frame_spec){ .l4proto = IPPROTO_TCP });
	expect_other(p, "TCP to our port number", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true, .l4proto = IPPROTO_ICMPV6 });
	expect_other(p, "ICMPv6", &f);
	build(&f, &(struct frame_spec){ .ethertype = ETH_P_ARP, .payload = 10 });
	f.len = ETH_HLEN + 28;
	expect_other(p, "ARP", &f);
	build(&f, &(struct frame_spec){ .ethertype = 0x88cc });
	f.len = ETH_HLEN;
	expect_other(p, "an LLDP header alone", &f);
	build(&f, &(struct frame_spec){ .vlans = 2 });
	expect_other(p, "a request behind two 802.1Q tags (not parsed)", &f);
	build(&f, &(struct frame_spec){ .vlans = 2, .tpid = ETH_P_8021AD });
	expect_other(p, "a request behind 802.1ad + 802.1Q tags (not parsed)", &f);
	build(&f, &(struct frame_spec){ .vlans = 1, .dport = 53 });
	expect_other(p, "UDP to another port behind a tag", &f);
	build(&f, &(struct frame_spec){ .vlans = 1, .ethertype = ETH_P_ARP });
	expect_other(p, "ARP behind a tag", &f);
}

/*
 * Addresses the stack would never answer: a reply goes to the source,
 * from the destination. Judged by their bits alone here; the module
 * checks what needs a routing lookup (with_kmod()).
 */
static void addresses(const struct prog *p)
{
	static const struct {
		const char *name, *src, *dst;
		bool ipv6;
		int reason;
	} cases[] = {
		{ "source 0.0.0.0", "0.0.0.0", NULL, false, DGFS_XDP_SRC_UNSPEC },
		{ "source 0.1.2.3 (this network)", "0.1.2.3", NULL, false, DGFS_XDP_SRC_UNSPEC },
		{ "source 127.0.0.1 off loopback", "127.0.0.1", NULL, false, DGFS_XDP_SRC_LOOPBACK },
		{ "source 127.9.9.9 off loopback", "127.9.9.9", NULL, false, DGFS_XDP_SRC_LOOPBACK },
		{ "source 224.0.0.1 (multicast)", "224.0.0.1", NULL, false, DGFS_XDP_SRC_MULTICAST },
		{ "source 239.255.255.255", "239.255.255.255", NULL, false, DGFS_XDP_SRC_MULTICAST },
		{ "source 255.255.255.255", "255.255.255.255", NULL, false, DGFS_XDP_SRC_MULTICAST },
		{ "destination 255.255.255.255", NULL, "255.255.255.255", false, DGFS_XDP_BAD_DST },
		{ "destination 224.0.0.1", NULL, "224.0.0.1", false, DGFS_XDP_BAD_DST },
		{ "destination 0.0.0.0", NULL, "0.0.0.0", false, DGFS_XDP_BAD_DST },
		{ "destination 127.0.0.1 off loopback", NULL, "127.0.0.1", false, DGFS_XDP_BAD_DST },
		{ "destination judged before the source", "0.0.0.0", "224.0.0.1", false,
		  DGFS_XDP_BAD_DST },
		{ "source ::", "::", NULL, true, DGFS_XDP_SRC_UNSPEC },
		{ "source ::1 off loopback", "::1", NULL, true, DGFS_XDP_SRC_LOOPBACK },
		{ "source ff02::1 (multicast)", "ff02::1", NULL, true, DGFS_XDP_SRC_MULTICAST },
		{ "source ff0e::1234", "ff0e::1234", NULL, true, DGFS_XDP_SRC_MULTICAST },
		{ "source ::ffff:198.18.0.1 (IPv4-mapped)", "::ffff:198.18.0.1", NULL, true,
		  DGFS_XDP_SRC_MAPPED },
		{ "source ::ffff:127.0.0.1", "::ffff:127.0.0.1", NULL, true, DGFS_XDP_SRC_MAPPED },
		{ "destination ff02::1", NULL, "ff02::1", true, DGFS_XDP_BAD_DST },
		{ "destination ::", NULL, "::", true, DGFS_XDP_BAD_DST },
		{ "destination ::1 off loopback", NULL, "::1", true, DGFS_XDP_BAD_DST },
		{ "destination ::ffff:198.18.0.2", NULL, "::ffff:198.18.0.2", true,
		  DGFS_XDP_BAD_DST },
	};
	char name[128];
	struct frame f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build(&f, &(struct frame_spec){ .ipv6 = cases[i].ipv6, .src = cases[i].src,
						.dst = cases[i].dst });
		snprintf(name, sizeof(name), "%s: %s", dgfs_xdp_counter_name(cases[i].reason),
			 cases[i].name);
		expect_drop(p, name, &f, cases[i].reason);
	}

	/* Checked before the request's own fields, after the port. */
	build(&f, &(struct frame_spec){ .src = "0.0.0.0" });
	req_of(&f)->magic = 0;
	expect_drop(p, "src_unspec: a bad source before a bad magic", &f, DGFS_XDP_SRC_UNSPEC);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "ff02::1", .nr_ext = 1,
					.ext = { IPPROTO_DSTOPTS } });
	expect_drop(p, "src_multicast: before IPv6 extension headers", &f, DGFS_XDP_SRC_MULTICAST);
	build(&f, &(struct frame_spec){ .src = "0.0.0.0", .dport = 53 });
	expect_other(p, "a bad source to another port passes", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true, .dst = "ff02::1", .dport = 53 });
	expect_other(p, "a multicast destination, another port: passes", &f);

	/* On loopback, loopback is where this host's clients come from. */
	build(&f, &(struct frame_spec){ .src = "127.0.0.1", .dst = "127.0.0.1" });
	expect_on(p, LO_IFINDEX, "127.0.0.1 to 127.0.0.1 on loopback is a request", &f,
		  XDP_PASS, DGFS_XDP_REQUESTS_VALID, DGFS_XDP_NO_KMOD);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "::1", .dst = "::1" });
	expect_on(p, LO_IFINDEX, "::1 to ::1 on loopback is a request", &f, XDP_PASS,
		  DGFS_XDP_REQUESTS_VALID, DGFS_XDP_NO_KMOD);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "::ffff:127.0.0.1", .dst = "::1" });
	expect_on(p, LO_IFINDEX, "src_mapped: IPv4-mapped even on loopback", &f, XDP_DROP,
		  DGFS_XDP_SRC_MAPPED, -1);
	build(&f, &(struct frame_spec){ .src = "224.0.0.1", .dst = "127.0.0.1" });
	expect_on(p, LO_IFINDEX, "src_multicast: even on loopback", &f, XDP_DROP,
		  DGFS_XDP_SRC_MULTICAST, -1);

	/* What is left for the module: unicast addresses. */
	build(&f, &(struct frame_spec){ .src = "198.18.0.2", .dst = "198.18.0.2" });
	expect_valid(p, "our own address as the source is the module's to judge", &f);
	build(&f, &(struct frame_spec){ .src = "198.18.0.255" });
	expect_valid(p, "a subnet's broadcast source is the module's to judge", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "fe80::1", .dst = "fe80::2" });
	expect_valid(p, "link-local IPv6 is fine", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "::198.18.0.1" });
	expect_valid(p, "IPv4-compatible (not mapped) IPv6 is the module's to judge", &f);
}

/* Rodata: port and max_read are the loader's. */
static void config(void)
{
	struct prog p;
	struct frame f;
	int ret;

	ret = prog_load(&p, false, 9000, 4096);
	result(!ret, "loads with port 9000, max_read 4096");
	if (ret)
		return;
	build(&f, &(struct frame_spec){ .dport = 9000 });
	expect_valid(&p, "port 9000: a request to 9000 is ours", &f);
	build(&f, &(struct frame_spec){ .dport = 9000 });
	req_of(&f)->magic = 0;
	expect_drop(&p, "port 9000: garbage to 9000 is dropped", &f, DGFS_XDP_BAD_MAGIC);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->magic = 0;
	expect_other(&p, "port 9000: garbage to 7878 is not ours", &f);
	build(&f, &(struct frame_spec){ .dport = 9000 });
	req_of(&f)->length = htonl(4096);
	expect_valid(&p, "max_read 4096: length 4096 is valid", &f);
	build(&f, &(struct frame_spec){ .dport = 9000, .ipv6 = true });
	req_of(&f)->length = htonl(4097);
	expect_drop(&p, "max_read 4096: length 4097 is refused", &f, DGFS_XDP_BAD_LENGTH);
	prog_unload(&p);
}

/*
 * The AF_XDP mode: a valid request goes to the AF_XDP socket of its
 * receive queue; with none there (the map is empty here) to the stack, as
 * without the mode. What is dropped or passed otherwise does not change.
 * (A request redirected to a socket: tests/net/test_afxdp.sh.)
 */
static void xsk_mode(void)
{
	struct prog p;
	struct frame f;
	int ret;

	load_to_xsk = true;
	ret = prog_load(&p, false, DGFS_DEFAULT_PORT, DGFS_DEFAULT_MAX_READ);
	load_to_xsk = false;
	result(!ret, "loads in the AF_XDP mode (to_xsk)");
	if (ret)
		return;
	build(&f, &(struct frame_spec){ 0 });
	expect_valid(&p, "to_xsk, no socket for the queue: a valid request goes to the stack", &f);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	expect_valid(&p, "... and over IPv6", &f);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->magic = 0;
	expect_drop(&p, "to_xsk: garbage to the port is still dropped", &f, DGFS_XDP_BAD_MAGIC);
	build(&f, &(struct frame_spec){ .dport = 9000 });
	expect_other(&p, "to_xsk: UDP to another port passes", &f);
	prog_unload(&p);
}

/*
 * With the module (in the VM): valid requests go to bpf_dgfs_read_submit()
 * and are dropped here, whatever it answers. The program is loaded with a
 * larger max_read than the module's default, so that a request only the
 * module refuses shows kmod_rejected.
 */
static int with_kmod(void)
{
	unsigned int n = 5000;
	uint64_t before[DGFS_XDP_NR_COUNTERS], after[DGFS_XDP_NR_COUNTERS];
	struct prog p;
	struct frame f;
	int ret;

	ret = prog_load(&p, true, DGFS_DEFAULT_PORT, DGFS_MAX_READ_LIMIT);
	if (ret) {
		fprintf(stderr, "xdp_test: cannot load with have_kmod (is dgfs.ko loaded?): %s\n",
			strerror(-ret));
		return 1;
	}
	result(true, "dgfs_xdp loads with have_kmod");
	build(&f, &(struct frame_spec){ 0 });
	expect(&p, "kmod: valid request over IPv4", &f, XDP_DROP, DGFS_XDP_REQUESTS_VALID,
	       DGFS_XDP_SUBMITTED);
	build(&f, &(struct frame_spec){ .ipv6 = true, .vlans = 1 });
	expect(&p, "kmod: valid request over IPv6, tagged", &f, XDP_DROP,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_SUBMITTED);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->length = htonl(DGFS_DEFAULT_MAX_READ + 1);
	expect(&p, "kmod: a length only the module refuses", &f, XDP_DROP,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_KMOD_REJECTED);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->op = 7;
	expect_drop(&p, "kmod: malformed requests never reach the module", &f, DGFS_XDP_BAD_OP);
	build(&f, &(struct frame_spec){ .dport = 53 });
	expect_other(&p, "kmod: other traffic passes untouched", &f);

	/* What the module finds in its routing tables. */
	build(&f, &(struct frame_spec){ .dst = "198.18.0.77" });
	expect(&p, "kmod: to an address that is not ours: passed (not_local)", &f, XDP_PASS,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_NOT_LOCAL);
	build(&f, &(struct frame_spec){ .ipv6 = true, .dst = "2001:db8:2::77" });
	expect(&p, "kmod: IPv6 to an address that is not ours: passed (not_local)", &f, XDP_PASS,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_NOT_LOCAL);
	build(&f, &(struct frame_spec){ .ipv6 = true, .dst = "fe80::77" });
	expect(&p, "kmod: IPv6 to a link-local address that is not ours: passed", &f, XDP_PASS,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_NOT_LOCAL);
	build(&f, &(struct frame_spec){ .dst = "198.18.0.255" });
	expect(&p, "kmod: to our subnet's broadcast address: refused", &f, XDP_DROP,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_KMOD_REJECTED);
	build(&f, &(struct frame_spec){ .src = "198.18.0.255" });
	expect(&p, "kmod: from our subnet's broadcast address: refused", &f, XDP_DROP,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_KMOD_REJECTED);
	build(&f, &(struct frame_spec){ .src = "198.18.0.2" });
	expect(&p, "kmod: from our own address, off loopback: refused", &f, XDP_DROP,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_KMOD_REJECTED);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "2001:db8:2::2" });
	expect(&p, "kmod: IPv6 from our own address, off loopback: refused", &f, XDP_DROP,
	       DGFS_XDP_REQUESTS_VALID, DGFS_XDP_KMOD_REJECTED);
	build(&f, &(struct frame_spec){ .src = "198.18.0.2" });
	expect_on(&p, LO_IFINDEX, "kmod: from our own address on loopback: a request", &f,
		  XDP_DROP, DGFS_XDP_REQUESTS_VALID, DGFS_XDP_SUBMITTED);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "::1", .dst = "2001:db8:2::2" });
	expect_on(&p, LO_IFINDEX, "kmod: from ::1 on loopback: a request", &f,
		  XDP_DROP, DGFS_XDP_REQUESTS_VALID, DGFS_XDP_SUBMITTED);

	/* A burst on one CPU: each lands in the ring or is counted as full. */
	build(&f, &(struct frame_spec){ 0 });
	struct xdp_md ctx = { .data_end = f.len, .ingress_ifindex = test_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.b, .data_size_in = f.len, .repeat = n,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	if (read_counters(&p, before) || bpf_prog_test_run_opts(p.prog_fd, &opts) ||
	    read_counters(&p, after)) {
		result(false, "kmod: burst of %u (%s)", n, strerror(errno));
	} else {
		uint64_t sub = after[DGFS_XDP_SUBMITTED] - before[DGFS_XDP_SUBMITTED];
		uint64_t full = after[DGFS_XDP_RING_FULL] - before[DGFS_XDP_RING_FULL];

		result(sub + full == n && after[DGFS_XDP_REQUESTS_VALID] - before[DGFS_XDP_REQUESTS_VALID] == n,
		       "kmod: burst of %u: every one submitted (%llu) or ring_full (%llu)", n,
		       (unsigned long long)sub, (unsigned long long)full);
	}
	prog_unload(&p);
	return failed;
}

/* ---- benchmark ----------------------------------------------------------- */

static void bench_one(const struct prog *p, const char *name, struct frame *f, unsigned int n)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = f->b,
		    .data_size_in = f->len,
		    .repeat = n);

	if (bpf_prog_test_run_opts(p->prog_fd, &opts)) {
		printf("bench %-34s error %s\n", name, strerror(errno));
		failed = 1;
		return;
	}
	printf("bench %-34s %4u ns/packet (%s)\n", name, opts.duration,
	       verdict_name(opts.retval));
}

static void bench(unsigned int n)
{
	struct prog p;
	struct frame f;

	if (prog_load(&p, false, DGFS_DEFAULT_PORT, DGFS_DEFAULT_MAX_READ)) {
		printf("bench: cannot load\n");
		failed = 1;
		return;
	}
	build(&f, &(struct frame_spec){ 0 });
	bench_one(&p, "valid request IPv4", &f, n);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	bench_one(&p, "valid request IPv6", &f, n);
	build(&f, &(struct frame_spec){ 0 });
	req_of(&f)->magic = 0;
	bench_one(&p, "bad magic IPv4 (dropped)", &f, n);
	build(&f, &(struct frame_spec){ .dport = 53 });
	bench_one(&p, "UDP to another port IPv4", &f, n);
	build(&f, &(struct frame_spec){ .l4proto = IPPROTO_TCP, .payload = 1400 });
	bench_one(&p, "TCP 1400 bytes IPv4", &f, n);
	build(&f, &(struct frame_spec){ .ipv6 = true, .l4proto = IPPROTO_TCP });
	bench_one(&p, "TCP IPv6", &f, n);
	build(&f, &(struct frame_spec){ .ethertype = ETH_P_ARP });
	bench_one(&p, "ARP", &f, n);
	prog_unload(&p);
}

/* The frames' device: @name, in our namespace. */
static int use_device(const char *name)
{
	test_ifindex = if_nametoindex(name);
	if (!test_ifindex) {
		result(false, "no device %s", name);
		return -1;
	}
	return 0;
}

/*
 * A namespace of our own with a veth whose end dgaddr0 has the frames'
 * destination addresses, so that the module (with --kmod) finds them
 * local; loopback up, for the cases that come in on it. With --kmod, a
 * store there too: the module makes a namespace's rings at its first
 * store, and takes no request before ($DGFSCTL, default build/dgfsctl).
 */
static int private_device(bool kmod)
{
	int ret;

	if (unshare(CLONE_NEWNET)) {
		result(false, "a network namespace of the test's own (%s)", strerror(errno));
		return -1;
	}
	ret = system("modprobe -q veth 2>/dev/null; "
		     "ip link add dgaddr0 type veth peer name dgaddr1 && "
		     "ip addr add 198.18.0.2/24 dev dgaddr0 && "
		     "ip addr add 2001:db8:2::2/64 dev dgaddr0 nodad && "
		     "ip link set dgaddr0 up && ip link set dgaddr1 up && ip link set lo up");
	if (ret) {
		result(false, "veth dgaddr0 in the test's namespace (ip exited %d)", ret);
		return -1;
	}
	if (kmod) {
		const char *ctl = getenv("DGFSCTL");
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s store add xdp-test path /", ctl ? ctl : "build/dgfsctl");
		ret = system(cmd);
		if (ret) {
			result(false, "a store in the test's namespace (%s exited %d)", cmd, ret);
			return -1;
		}
	}
	return use_device("dgaddr0");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bench", required_argument, NULL, 'b' },
		{ "kmod", no_argument, NULL, 'k' },
		{ "dev", required_argument, NULL, 'd' },
		{ 0 }
	};
	unsigned int bench_runs = 0;
	const char *dev = NULL;
	bool kmod = false;
	struct prog p;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': bench_runs = strtoul(optarg, NULL, 0); break;
		case 'k': kmod = true; break;
		case 'd': dev = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(silent);
	if (!bench_runs && (dev ? use_device(dev) : private_device(kmod)))
		return 1;

	if (kmod)
		return with_kmod();
	if (bench_runs) {
		bench(bench_runs);
		return failed;
	}

	ret = prog_load(&p, false, DGFS_DEFAULT_PORT, DGFS_DEFAULT_MAX_READ);
	result(!ret, "dgfs_xdp loads without dgfs.ko (have_kmod false)%s%s",
	       ret ? ": " : "", ret ? strerror(-ret) : "");
	if (ret)
		return 1;
	valid_requests(&p);
	runts(&p);
	bad_ip(&p);
	bad_lengths(&p);
	bad_requests(&p);
	headers_we_refuse(&p);
	fragments(&p);
	not_ours(&p);
	addresses(&p);
	prog_unload(&p);
	config();
	xsk_mode();
	return failed;
usage:
	fprintf(stderr, "usage: xdp_test [--bench N | [--kmod] [--dev IFNAME]]\n");
	return 2;
}
