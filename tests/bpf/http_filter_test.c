// SPDX-License-Identifier: GPL-2.0
/*
 * http_filter_test: run bpf/http_filter.bpf.c through BPF_PROG_TEST_RUN on
 * TCP frames built here, with the program's clock under the test's control
 * (rodata fake_clock, bss fake_now_ns), and check each verdict, the global
 * counters (exactly the expected ones move) and the client's entry in the
 * LRU map. Prints PASS:/FAIL: lines; exits 1 on failure.
 *
 *   http_filter_test             every case
 *   http_filter_test --fuzz N [--seed S]
 *                                N mutated and truncated frames against a
 *                                reference classifier written from the docs
 *   http_filter_test --bench N   ns per packet over N (<= 10^6) runs,
 *                                best of 3, against a program that only
 *                                returns XDP_PASS (same frame, same run)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include "http_filter.h"
#include "http_filter.skel.h"
#include "result.h"

#define PORT		8080
#define RATE		10			/* SYNs per second */
#define BURST		5
#define INTERVAL_NS	(1000000000ULL / RATE)
#define T0		(1000ULL * 1000000000ULL)	/* fake time at the start */



/* ---- frames ------------------------------------------------------------ */

struct frame_spec {
	bool ipv6;
	bool vlan;
	const char *src;	/* NULL: 198.18.0.2 / 2001:db8:2::1 */
	uint16_t dport;		/* 0: PORT */
	uint8_t flags;		/* TCP flags byte; 0: SYN */
	uint8_t l4proto;	/* 0: TCP */
	uint8_t ihl;		/* IPv4; 0: 5, more adds NOP options */
	uint16_t frag_off;	/* IPv4, host order */
	uint8_t ext[4];		/* IPv6 extension headers before TCP */
	unsigned int nr_ext;
	uint16_t frag6_off;	/* for an IPPROTO_FRAGMENT in ext[] */
	size_t payload;
};

struct frame {
	unsigned char b[2048];
	size_t len;
	size_t l4end;		/* the end of the TCP header */
};

#define TCP_SYN	0x02
#define TCP_ACK	0x10
#define TCP_PSH	0x08

static void put16(unsigned char *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static void build(struct frame *f, const struct frame_spec *s)
{
	uint8_t l4proto = s->l4proto ? s->l4proto : IPPROTO_TCP;
	unsigned char *p = f->b, *l3;
	size_t l4len = sizeof(struct tcphdr) + s->payload;
	struct tcphdr *tcp;

	memset(f, 0, sizeof(*f));
	memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	p += 12;
	if (s->vlan) {
		put16(p, ETH_P_8021Q);
		put16(p + 2, 100);
		p += 4;
	}
	put16(p, s->ipv6 ? ETH_P_IPV6 : ETH_P_IP);
	p += 2;
	l3 = p;
	if (s->ipv6) {
		struct ipv6hdr *ip6 = (void *)p;
		uint8_t *next = &ip6->nexthdr;

		ip6->version = 6;
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, s->src ? s->src : "2001:db8:2::1", &ip6->saddr);
		inet_pton(AF_INET6, "2001:db8:2::2", &ip6->daddr);
		p += sizeof(*ip6);
		for (unsigned int i = 0; i < s->nr_ext; i++) {
			*next = s->ext[i];
			next = p;
			if (s->ext[i] == IPPROTO_FRAGMENT)
				put16(p + 2, s->frag6_off);
			else
				p[1] = 0;	/* 8 bytes */
			p += 8;
		}
		*next = l4proto;
		put16((unsigned char *)&ip6->payload_len, p - l3 - sizeof(*ip6) + l4len);
	} else {
		struct iphdr *iph = (void *)p;
		uint8_t ihl = s->ihl ? s->ihl : 5;

		iph->version = 4;
		iph->ihl = ihl;
		iph->ttl = 64;
		iph->protocol = l4proto;
		iph->frag_off = htons(s->frag_off);
		inet_pton(AF_INET, s->src ? s->src : "198.18.0.2", &iph->saddr);
		inet_pton(AF_INET, "198.18.0.1", &iph->daddr);
		memset(p + sizeof(*iph), 1, ihl * 4 - sizeof(*iph));	/* NOP options */
		iph->tot_len = htons(ihl * 4 + l4len);
		p += ihl * 4;
	}
	tcp = (void *)p;
	tcp->source = htons(40000);
	tcp->dest = htons(s->dport ? s->dport : PORT);
	tcp->seq = htonl(1);
	tcp->doff = 5;
	((uint8_t *)tcp)[13] = s->flags ? s->flags : TCP_SYN;
	tcp->window = htons(65535);
	p += sizeof(*tcp);
	f->l4end = p - f->b;
	memset(p, 'x', s->payload);
	f->len = p - f->b + s->payload;
}

/* ---- the program --------------------------------------------------------- */

static struct http_filter_bpf *skel;

static int load(uint16_t port, uint32_t rate, uint32_t burst, bool fake)
{
	uint64_t interval = 1000000000ULL / rate;

	skel = http_filter_bpf__open();
	if (!skel)
		return -1;
	skel->rodata->http_port = port;
	skel->rodata->interval_ns = interval;
	skel->rodata->tolerance_ns = (burst - 1) * interval;
	skel->rodata->fake_clock = fake;
	/* The test's own maps: nothing pinned, nothing shared. */
	bpf_map__set_pin_path(skel->maps.http_filter_counters, NULL);
	bpf_map__set_pin_path(skel->maps.http_filter_clients, NULL);
	if (http_filter_bpf__load(skel)) {
		http_filter_bpf__destroy(skel);
		skel = NULL;
		return -1;
	}
	skel->bss->fake_now_ns = T0;
	return 0;
}

static int read_counters(uint64_t out[HTTP_FILTER_NR_COUNTERS])
{
	int ncpu = libbpf_num_possible_cpus();
	struct http_filter_counters *v = calloc(ncpu, sizeof(*v));
	uint32_t key = 0;

	if (!v || bpf_map__lookup_elem(skel->maps.http_filter_counters, &key, sizeof(key), v,
				       ncpu * sizeof(*v), 0)) {
		free(v);
		return -1;
	}
	memset(out, 0, HTTP_FILTER_NR_COUNTERS * sizeof(*out));
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < HTTP_FILTER_NR_COUNTERS; i++)
			out[i] += v[c].c[i];
	free(v);
	return 0;
}

/* The client's entry; false if it has none. */
static bool client_of(const char *src, struct http_filter_client *cl)
{
	struct http_filter_key key = {};

	if (strchr(src, ':')) {
		inet_pton(AF_INET6, src, key.addr);
	} else {
		key.addr[10] = key.addr[11] = 0xff;
		inet_pton(AF_INET, src, key.addr + 12);
	}
	return !bpf_map__lookup_elem(skel->maps.http_filter_clients, &key, sizeof(key), cl,
				     sizeof(*cl), 0);
}

static unsigned int nr_clients(void)
{
	struct http_filter_key k, next;
	unsigned int n = 0;
	void *prev = NULL;

	while (!bpf_map__get_next_key(skel->maps.http_filter_clients, prev, &next, sizeof(next))) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static const char *verdict_name(unsigned int v)
{
	return v == XDP_PASS ? "PASS" : v == XDP_DROP ? "DROP" : v == XDP_ABORTED ? "ABORTED" : "?";
}

/* Run one frame; -1 if the test run itself failed. */
static int run(struct frame *f, size_t len, unsigned char *out, uint32_t *outlen)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = len,
		    .data_out = out, .data_size_out = out ? sizeof(f->b) : 0, .repeat = 1);
	int fd = bpf_program__fd(skel->progs.http_filter);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1;
	if (outlen)
		*outlen = opts.data_size_out;
	return opts.retval;
}

/*
 * @f through the program: verdict @verdict, the global counters in the
 * bit mask @moved moved by exactly 1 and no other, a passed frame unchanged.
 */
static void expect(const char *name, struct frame *f, unsigned int verdict, unsigned int moved)
{
	uint64_t before[HTTP_FILTER_NR_COUNTERS], after[HTTP_FILTER_NR_COUNTERS];
	unsigned char out[sizeof(f->b)];
	char why[256] = "";
	uint32_t outlen = 0;
	size_t n = 0;
	int v;

	if (read_counters(before) || (v = run(f, f->len, out, &outlen)) < 0 ||
	    read_counters(after)) {
		result(false, "%s (test run: %s)", name, strerror(errno));
		return;
	}
	if ((unsigned int)v != verdict)
		n += snprintf(why + n, sizeof(why) - n, " verdict %s;", verdict_name(v));
	for (int i = 0; i < HTTP_FILTER_NR_COUNTERS && n < sizeof(why) - 64; i++) {
		uint64_t want = before[i] + ((moved >> i) & 1);

		if (after[i] != want)
			n += snprintf(why + n, sizeof(why) - n, " %s moved by %lld;",
				      http_filter_counter_name(i), (long long)(after[i] - before[i]));
	}
	if (v == XDP_PASS && (outlen != f->len || memcmp(out, f->b, f->len)))
		n += snprintf(why + n, sizeof(why) - n, " frame changed;");
	if (n)
		why[n - 1] = '\0';
	result(!n, "%s -> %s%s%s%s", name, verdict_name(verdict), n ? " (got:" : "", why,
	       n ? ")" : "");
}

/* The client @src's entry holds these numbers. */
static void expect_client(const char *name, const char *src, uint64_t packets, uint64_t syn,
			  uint64_t dropped)
{
	struct http_filter_client cl;

	if (!client_of(src, &cl)) {
		result(false, "%s (no entry for %s)", name, src);
		return;
	}
	result(cl.packets == packets && cl.syn == syn && cl.syn_dropped == dropped,
	       "%s: %s packets %llu syn %llu dropped %llu (want %llu %llu %llu)", name, src,
	       (unsigned long long)cl.packets, (unsigned long long)cl.syn,
	       (unsigned long long)cl.syn_dropped, (unsigned long long)packets,
	       (unsigned long long)syn, (unsigned long long)dropped);
}

/* The counters a frame must move, as bits for expect(). */
#define P	(1u << HTTP_FILTER_PACKETS)
#define S	(1u << HTTP_FILTER_SYN)
#define D	(1u << HTTP_FILTER_SYN_DROPPED)
#define U	(1u << HTTP_FILTER_UNPARSED)
#define O	(1u << HTTP_FILTER_OTHER)

/* ---- the cases ------------------------------------------------------------- */

/* The token bucket of one client, IPv4 or IPv6 (@spec's family). */
static void bucket_cases(const char *fam, const struct frame_spec *spec, const char *src)
{
	struct frame_spec s = *spec;
	struct frame f;
	char name[128];
	unsigned int i;

	s.src = src;
	build(&f, &s);
	skel->bss->fake_now_ns = T0;
	/* A fresh client has a full bucket: BURST SYNs in one instant pass. */
	for (i = 1; i <= BURST; i++) {
		snprintf(name, sizeof(name), "%s: SYN %u of a burst of %u at one instant", fam, i,
			 BURST);
		expect(name, &f, XDP_PASS, P | S);
	}
	snprintf(name, sizeof(name), "%s: SYN %u at the same instant (past the burst)", fam,
		 BURST + 1);
	expect(name, &f, XDP_DROP, P | S | D);
	expect(name, &f, XDP_DROP, P | S | D);
	/* Drops take no token: still empty just before one interval. */
	skel->bss->fake_now_ns = T0 + INTERVAL_NS - 1;
	snprintf(name, sizeof(name), "%s: a SYN 1 ns before one token is back", fam);
	expect(name, &f, XDP_DROP, P | S | D);
	/* Not a SYN: passes whatever the bucket holds, and costs no token. */
	s.flags = TCP_SYN | TCP_ACK;
	build(&f, &s);
	snprintf(name, sizeof(name), "%s: SYN+ACK of an exhausted client", fam);
	expect(name, &f, XDP_PASS, P);
	s.flags = TCP_ACK | TCP_PSH;
	s.payload = 100;
	build(&f, &s);
	snprintf(name, sizeof(name), "%s: data of an exhausted client", fam);
	expect(name, &f, XDP_PASS, P);
	s.flags = TCP_ACK;
	s.payload = 0;
	build(&f, &s);
	snprintf(name, sizeof(name), "%s: ACK of an exhausted client", fam);
	expect(name, &f, XDP_PASS, P);
	/* One interval on: one token back, one SYN passes, the next not. */
	s.flags = 0;
	build(&f, &s);
	skel->bss->fake_now_ns = T0 + INTERVAL_NS;
	snprintf(name, sizeof(name), "%s: a SYN once one token is back", fam);
	expect(name, &f, XDP_PASS, P | S);
	snprintf(name, sizeof(name), "%s: the SYN after it", fam);
	expect(name, &f, XDP_DROP, P | S | D);
	/* Idle for long: full again, and no fuller than BURST. */
	skel->bss->fake_now_ns = T0 + 100 * INTERVAL_NS;
	for (i = 1; i <= BURST; i++) {
		snprintf(name, sizeof(name), "%s: after a long pause, SYN %u of %u", fam, i, BURST);
		expect(name, &f, XDP_PASS, P | S);
	}
	snprintf(name, sizeof(name), "%s: after a long pause, SYN %u", fam, BURST + 1);
	expect(name, &f, XDP_DROP, P | S | D);
	/* Every SYN counted: 2*BURST+1 passed + 5 dropped, 3 others. */
	snprintf(name, sizeof(name), "%s client entry", fam);
	expect_client(name, src, 2 * BURST + 1 + 5 + 3, 2 * BURST + 1 + 5, 5);
}

static void parse_cases(void)
{
	struct frame f;
	char name[128];

	/* A fresh client 198.18.0.7 with its bucket emptied by a VLAN-tagged burst. */
	skel->bss->fake_now_ns = T0;
	build(&f, &(struct frame_spec){ .vlan = true, .src = "198.18.0.7" });
	for (int i = 1; i <= BURST; i++) {
		snprintf(name, sizeof(name), "VLAN-tagged SYN %d of %d", i, BURST);
		expect(name, &f, XDP_PASS, P | S);
	}
	expect("VLAN-tagged SYN past the burst", &f, XDP_DROP, P | S | D);
	/* The same client's headers in other shapes are the same client. */
	build(&f, &(struct frame_spec){ .src = "198.18.0.7", .ihl = 8 });
	expect("IPv4 with options (ihl 8): its SYN limited too", &f, XDP_DROP, P | S | D);
	build(&f, &(struct frame_spec){ .src = "198.18.0.7", .ihl = 15 });
	expect("IPv4 with 40 bytes of options: its SYN limited too", &f, XDP_DROP, P | S | D);
	build(&f, &(struct frame_spec){ .src = "198.18.0.7", .frag_off = 0x2000 });
	expect("IPv4 first fragment (MF) with a SYN: limited", &f, XDP_DROP, P | S | D);
	build(&f, &(struct frame_spec){ .src = "198.18.0.7", .frag_off = 0x0010 });
	expect("IPv4 later fragment (no TCP header): passes unparsed", &f, XDP_PASS,
	       U);
	expect_client("VLAN/options/fragments client entry", "198.18.0.7", BURST + 4,
		      BURST + 4, 4);

	/* Other ports, protocols, EtherTypes: untouched, no client made. */
	build(&f, &(struct frame_spec){ .src = "198.18.0.8", .dport = 80 });
	expect("SYN to another port", &f, XDP_PASS, O);
	build(&f, &(struct frame_spec){ .src = "198.18.0.8", .dport = 80, .ipv6 = true });
	expect("IPv6 SYN to another port", &f, XDP_PASS, O);
	build(&f, &(struct frame_spec){ .src = "198.18.0.8", .l4proto = IPPROTO_UDP });
	expect("UDP to the HTTP port number", &f, XDP_PASS, O);
	build(&f, &(struct frame_spec){ .src = "198.18.0.8" });
	put16(f.b + 12, ETH_P_ARP);
	expect("ARP", &f, XDP_PASS, O);
	build(&f, &(struct frame_spec){ .src = "198.18.0.8" });
	f.b[14] = 0x65;		/* version 6 in an IPv4 EtherType */
	expect("IPv4 EtherType, version 6", &f, XDP_PASS, U);
	build(&f, &(struct frame_spec){ .src = "198.18.0.8" });
	f.b[14] = 0x44;		/* ihl 4 */
	expect("IPv4 ihl 4", &f, XDP_PASS, U);
	{
		struct http_filter_client cl;

		result(!client_of("198.18.0.8", &cl), "no entry for a client of other ports");
	}

	/* IPv6 extension headers: walked (hop-by-hop, routing, dest, fragment 0). */
	skel->bss->fake_now_ns = T0;
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "2001:db8:2::7", .nr_ext = 4,
		.ext = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS } });
	for (int i = 1; i <= BURST; i++) {
		snprintf(name, sizeof(name), "IPv6 SYN behind 4 extension headers, %d of %d", i,
			 BURST);
		expect(name, &f, XDP_PASS, P | S);
	}
	expect("IPv6 SYN behind 4 extension headers, past the burst", &f, XDP_DROP, P | S | D);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "2001:db8:2::7", .nr_ext = 1,
		.ext = { IPPROTO_FRAGMENT }, .frag6_off = 8 });
	expect("IPv6 later fragment: passes unparsed", &f, XDP_PASS, U);
	build(&f, &(struct frame_spec){ .ipv6 = true, .src = "2001:db8:2::7", .nr_ext = 1,
		.ext = { IPPROTO_AH } });
	expect("IPv6 AH: passes unparsed", &f, XDP_PASS, U);
	/* 7 hop-by-hop headers: longer than the walk, passed to the stack. */
	{
		struct frame_spec s = { .ipv6 = true, .src = "2001:db8:2::7", .nr_ext = 4,
			.ext = { IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
				 IPPROTO_DSTOPTS } };

		build(&f, &s);
		expect("IPv6 4 dest-options headers: walked, SYN limited", &f, XDP_DROP, P | S | D);
	}
	{
		/* 7 extension headers, built by hand: past IPV6_EXT_MAX (6). */
		struct frame_spec s = { .ipv6 = true, .src = "2001:db8:2::7" };
		unsigned char *l3, *p;

		build(&f, &s);
		l3 = f.b + 14;
		memmove(l3 + 40 + 56, l3 + 40, 20);
		l3[6] = IPPROTO_DSTOPTS;
		for (p = l3 + 40; p < l3 + 40 + 56; p += 8) {
			memset(p, 0, 8);
			p[0] = p + 8 < l3 + 40 + 56 ? IPPROTO_DSTOPTS : IPPROTO_TCP;
		}
		put16(l3 + 4, 56 + 20);
		f.len += 56;
		expect("IPv6 7 extension headers: passes unparsed", &f, XDP_PASS,
		       U);
	}
	expect_client("IPv6 extension headers client entry", "2001:db8:2::7", BURST + 2, BURST + 2,
		      2);
}

/*
 * Every prefix of a frame: shorter than its TCP header, it passes as
 * unparsed (or the kernel refuses a frame under 14 bytes); with the whole
 * header, it is the SYN it is.
 */
static void truncation_cases(const char *what, const struct frame_spec *spec)
{
	unsigned int bad = 0, refused = 0, runs = 0;
	uint64_t before[HTTP_FILTER_NR_COUNTERS], after[HTTP_FILTER_NR_COUNTERS];
	uint64_t unparsed = 0;
	struct frame f;

	build(&f, spec);
	if (read_counters(before))
		return result(false, "%s: counters", what);
	for (size_t len = 0; len < f.l4end; len++) {
		int v = run(&f, len, NULL, NULL);

		if (v < 0) {
			/* BPF_PROG_TEST_RUN takes no frame under an Ethernet header. */
			if (errno == EINVAL && len < ETH_HLEN)
				refused++;
			else
				bad++;
			continue;
		}
		runs++;
		unparsed++;
		if (v != XDP_PASS)
			bad++;
	}
	if (read_counters(after))
		return result(false, "%s: counters", what);
	for (int i = 0; i < HTTP_FILTER_NR_COUNTERS; i++)
		if (after[i] - before[i] != (i == HTTP_FILTER_UNPARSED ? unparsed : 0))
			bad++;
	result(!bad && refused == ETH_HLEN && runs == f.l4end - ETH_HLEN,
	       "%s truncated at every length 0..%zu: all passed as unparsed (%u runs, %u "
	       "refused under 14 bytes, %u wrong)", what, f.l4end - 1, runs, refused, bad);
	expect("  ...and the whole header is a SYN", &f, XDP_PASS, P | S);
}

static void cases(void)
{
	if (load(PORT, RATE, BURST, true)) {
		result(false, "http_filter loads (%s)", strerror(errno));
		return;
	}
	result(true, "http_filter loads and passes the verifier");
	bucket_cases("IPv4", &(struct frame_spec){ 0 }, "198.18.0.2");
	bucket_cases("IPv6", &(struct frame_spec){ .ipv6 = true }, "2001:db8:2::1");
	/* Another client is not held back by an exhausted one. */
	{
		struct frame f;

		build(&f, &(struct frame_spec){ .src = "198.18.0.3" });
		expect("a SYN of another client while 198.18.0.2 is exhausted", &f, XDP_PASS, P | S);
	}
	parse_cases();
	truncation_cases("IPv4 SYN with options, VLAN-tagged",
			 &(struct frame_spec){ .vlan = true, .ihl = 6, .src = "198.18.0.20" });
	truncation_cases("IPv6 SYN behind hop-by-hop and fragment headers",
			 &(struct frame_spec){ .ipv6 = true, .src = "2001:db8:2::20", .nr_ext = 2,
					       .ext = { IPPROTO_HOPOPTS, IPPROTO_FRAGMENT } });
	/* 198.18.0.2, 2001:db8:2::1, 198.18.0.3, .7, 2001:db8:2::7, .20, 2001:db8:2::20 */
	result(nr_clients() == 7, "the LRU map holds the 7 clients seen, not those of other "
	       "ports (%u)", nr_clients());
	http_filter_bpf__destroy(skel);
	skel = NULL;

	/* The real clock: a burst at once is limited the same way. */
	if (load(PORT, 1, 3, false)) {
		result(false, "http_filter loads with the real clock (%s)", strerror(errno));
		return;
	}
	{
		struct frame f;
		int v[5];

		build(&f, &(struct frame_spec){ 0 });
		for (int i = 0; i < 5; i++)
			v[i] = run(&f, f.len, NULL, NULL);
		result(v[0] == XDP_PASS && v[1] == XDP_PASS && v[2] == XDP_PASS &&
		       v[3] == XDP_DROP && v[4] == XDP_DROP,
		       "real clock, rate 1/s burst 3: 5 SYNs at once pass 3, drop 2 (%s %s %s %s %s)",
		       verdict_name(v[0]), verdict_name(v[1]), verdict_name(v[2]),
		       verdict_name(v[3]), verdict_name(v[4]));
	}
	http_filter_bpf__destroy(skel);
	skel = NULL;
}

/* ---- fuzzing against a reference classifier --------------------------------- */

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * What docs/DGFSD.md says the filter makes of a frame, written from the
 * text, not from the program: the counters it moves (as expect()'s bits).
 */
static unsigned int reference(const unsigned char *b, size_t len)
{
	size_t off = 14;
	uint16_t proto = be16(b + 12);
	uint8_t nh;

	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		if (len < 18)
			return U;
		proto = be16(b + 16);
		off = 18;
	}
	if (proto == ETH_P_IP) {
		if (off + 20 > len || b[off] >> 4 != 4 || (b[off] & 15) < 5)
			return U;
		if (b[off + 9] != IPPROTO_TCP)
			return O;
		if (be16(b + off + 6) & 0x1fff)
			return U;		/* a later fragment */
		off += (b[off] & 15) * 4;
	} else if (proto == ETH_P_IPV6) {
		if (off + 40 > len || b[off] >> 4 != 6)
			return U;
		nh = b[off + 6];
		off += 40;
		for (int i = 0; i < 6 && nh != IPPROTO_TCP; i++) {
			size_t h = off;

			if (nh == IPPROTO_AH || nh == IPPROTO_ESP)
				return U;
			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT)
				return O;
			if (h + 8 > len)
				return U;
			if (nh == IPPROTO_FRAGMENT) {
				if (be16(b + h + 2) & 0xfff8)
					return U;
				off += 8;
			} else {
				off += (b[h + 1] + 1) * 8;
			}
			nh = b[h];
		}
		if (nh != IPPROTO_TCP)
			return U;
	} else {
		return O;
	}
	if (off > 1024 || off + 20 > len)
		return U;
	if (be16(b + off + 2) != PORT)
		return O;
	return (b[off + 13] & (TCP_SYN | TCP_ACK)) == TCP_SYN ? P | S : P;
}

/*
 * @n frames, each a seed (the shapes the cases use) cut at a random
 * length and with random bytes of its headers changed, through the program
 * with a bucket no SYN empties: each must pass unchanged and move exactly
 * the counters reference() names. Prints one PASS/FAIL line.
 */
static void fuzz(unsigned int n, unsigned int seed)
{
	static const struct frame_spec seeds[] = {
		{ 0 }, { .vlan = true }, { .ihl = 9 }, { .frag_off = 0x2000 },
		{ .flags = TCP_ACK }, { .ipv6 = true },
		{ .ipv6 = true, .nr_ext = 3,
		  .ext = { IPPROTO_HOPOPTS, IPPROTO_FRAGMENT, IPPROTO_ROUTING } },
		{ .ipv6 = true, .vlan = true, .nr_ext = 1, .ext = { IPPROTO_DSTOPTS } },
		{ .l4proto = IPPROTO_UDP }, { .dport = 80 },
	};
	uint64_t before[HTTP_FILTER_NR_COUNTERS], after[HTTP_FILTER_NR_COUNTERS];
	unsigned int bad = 0, seen[HTTP_FILTER_NR_COUNTERS] = { 0 };
	unsigned char out[2048];
	struct frame f;

	if (load(PORT, HTTP_FILTER_MAX_RATE, HTTP_FILTER_MAX_BURST, true)) {
		result(false, "fuzz: http_filter loads (%s)", strerror(errno));
		return;
	}
	srandom(seed);
	for (unsigned int i = 0; i < n && bad < 5; i++) {
		unsigned int want, moved = 0, flips;
		uint32_t outlen = 0;
		size_t len;
		int v;

		build(&f, &seeds[random() % (sizeof(seeds) / sizeof(seeds[0]))]);
		/* Whole, or cut anywhere from 14 bytes on. */
		len = random() % 2 ? f.len : ETH_HLEN + random() % (f.len - ETH_HLEN + 1);
		for (flips = random() % 4; flips; flips--) {
			size_t at = random() % f.l4end;

			f.b[at] = random() % 4 ? (unsigned char)random() : f.b[at] ^ 1;
		}
		want = reference(f.b, len);
		if (read_counters(before) || (v = run(&f, len, out, &outlen)) < 0 ||
		    read_counters(after)) {
			result(false, "fuzz: test run %u: %s", i, strerror(errno));
			break;
		}
		for (int c = 0; c < HTTP_FILTER_NR_COUNTERS; c++) {
			if (after[c] - before[c] > 1)
				moved |= 1u << 31;
			else if (after[c] != before[c])
				moved |= 1u << c;
		}
		if (v != XDP_PASS || moved != want || outlen != len || memcmp(out, f.b, len)) {
			printf("fuzz: frame %u (seed %u, %zu bytes): verdict %s, counters %#x, "
			       "want PASS %#x\n", i, seed, len, verdict_name(v), moved, want);
			bad++;
		}
		for (int c = 0; c < HTTP_FILTER_NR_COUNTERS; c++)
			seen[c] += (want >> c) & 1;
	}
	result(!bad && seen[HTTP_FILTER_OTHER] && seen[HTTP_FILTER_UNPARSED] &&
	       seen[HTTP_FILTER_SYN] && seen[HTTP_FILTER_PACKETS] > seen[HTTP_FILTER_SYN],
	       "fuzz: %u mutated frames (seed %u) as the reference classifies them: %u other, "
	       "%u unparsed, %u packets (%u SYN)", n, seed, seen[HTTP_FILTER_OTHER],
	       seen[HTTP_FILTER_UNPARSED], seen[HTTP_FILTER_PACKETS], seen[HTTP_FILTER_SYN]);
	http_filter_bpf__destroy(skel);
	skel = NULL;
}

/* ---- benchmark ------------------------------------------------------------- */

/* ns per packet of @fd on @f over @n runs (BPF_PROG_TEST_RUN's average). */
static int bench_run(int fd, struct frame *f, unsigned int n, uint32_t *ns, uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .repeat = n);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1;
	*ns = opts.duration;
	*verdict = opts.retval;
	return 0;
}

/* Before each run, time moves on far enough to fill every bucket. */
static bool bench_refill = true;

static void bench_one(int base_fd, const char *name, struct frame *f, unsigned int n,
		      unsigned int want)
{
	int fd = bpf_program__fd(skel->progs.http_filter);
	uint32_t ns, base_ns, v, bv;

	/* Best of 3 each, alternated, against the same run's baseline. */
	uint32_t best = ~0u, best_base = ~0u;

	for (int i = 0; i < 3; i++) {
		if (bench_refill)
			skel->bss->fake_now_ns += 1000000ULL * 1000000000ULL;
		if (bench_run(base_fd, f, n, &base_ns, &bv) || bench_run(fd, f, n, &ns, &v)) {
			printf("bench %-36s error %s\n", name, strerror(errno));
			failed = 1;
			return;
		}
		best = ns < best ? ns : best;
		best_base = base_ns < best_base ? base_ns : best_base;
	}
	printf("bench %-36s %4u ns/packet (%s)  no filter %4u ns  +%d ns\n", name, best,
	       verdict_name(v), best_base, (int)best - (int)best_base);
	if (v != want) {
		printf("bench %s: the last run's verdict was %s, not %s\n", name, verdict_name(v),
		       verdict_name(want));
		failed = 1;
	}
}

static void bench(unsigned int n)
{
	/* The baseline: a program that only returns XDP_PASS. */
	const struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct frame f;
	int base_fd;

	base_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xdp_nop", "GPL", pass, 2, NULL);
	/* Every SYN passes: a bucket of 10^6, filled before each run. */
	if (base_fd < 0 || load(PORT, HTTP_FILTER_MAX_RATE, HTTP_FILTER_MAX_BURST, true)) {
		printf("bench: cannot load\n");
		failed = 1;
		return;
	}
	build(&f, &(struct frame_spec){ .flags = TCP_ACK | TCP_PSH, .payload = 1400 });
	bench_one(base_fd, "HTTP data IPv4 (passed)", &f, n, XDP_PASS);
	build(&f, &(struct frame_spec){ 0 });
	bench_one(base_fd, "SYN IPv4 (passed)", &f, n, XDP_PASS);
	build(&f, &(struct frame_spec){ .ipv6 = true });
	bench_one(base_fd, "SYN IPv6 (passed)", &f, n, XDP_PASS);
	/* Past the burst: every run drops. */
	bench_refill = false;
	skel->bss->fake_now_ns = 0;
	bench_one(base_fd, "SYN IPv6 past the burst (dropped)", &f, n, XDP_DROP);
	bench_refill = true;
	build(&f, &(struct frame_spec){ .dport = 22, .flags = TCP_ACK, .payload = 1400 });
	bench_one(base_fd, "TCP to another port IPv4", &f, n, XDP_PASS);
	build(&f, &(struct frame_spec){ .l4proto = IPPROTO_UDP, .dport = 7878 });
	bench_one(base_fd, "UDP IPv4", &f, n, XDP_PASS);
	http_filter_bpf__destroy(skel);
	close(base_fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bench", required_argument, NULL, 'b' },
		{ "fuzz", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ 0 }
	};
	unsigned int bench_runs = 0, fuzz_runs = 0, seed = 1;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			bench_runs = strtoul(optarg, NULL, 0);
			/* The SYN cases pass while a bucket of 10^6 lasts. */
			if (!bench_runs || bench_runs > HTTP_FILTER_MAX_BURST)
				goto usage;
			break;
		case 'f':
			fuzz_runs = strtoul(optarg, NULL, 0);
			if (!fuzz_runs)
				goto usage;
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || (bench_runs && fuzz_runs))
		goto usage;
	if (bench_runs)
		bench(bench_runs);
	else if (fuzz_runs)
		fuzz(fuzz_runs, seed);
	else
		cases();
	return failed;
usage:
	fprintf(stderr, "usage: http_filter_test [--bench N | --fuzz N [--seed S]]\n"
		"  --bench: N 1 .. 1000000\n");
	return 2;
}
