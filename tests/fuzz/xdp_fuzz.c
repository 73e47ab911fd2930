// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_fuzz: random and mutated frames through bpf/dgfs_xdp.bpf.c with
 * BPF_PROG_TEST_RUN, each judged against a reference classifier written
 * here from docs/XDP.md (byte offsets, no shared code with the program).
 *
 * Every frame must get the verdict the reference predicts; a passed frame
 * must come out byte for byte as it went in; and, per batch, the program's
 * counters must move exactly as the reference's predictions add up: one
 * counter per frame, plus an outcome for each valid request. A malformed
 * request that the program took for a valid one would show as one
 * requests_valid too many. On a mismatch the batch is replayed frame by
 * frame to name the first frame that differs, printed in hex.
 *
 *   xdp_fuzz [--frames N] [--seconds S] [--seed N] [--kmod] [--dev IFNAME]
 *            [--port P] [--max-read N]
 *
 * Without --dev it runs in a network namespace of its own, on a veth end
 * dgaddr0 holding 198.18.0.2/24 and 2001:db8:2::2/64 (some frames are addressed
 * there), and on loopback. --kmod loads the program with have_kmod: valid
 * requests reach dgfs.ko (in the VM), whose answer the reference cannot
 * know; it checks that valid requests, and only they, reach the module's
 * outcomes (submitted, ring_full, kmod_rejected: dropped; not_local:
 * passed). Prints PASS:/FAIL: lines and a "# ... frames/s" line; exit 1 on
 * failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/dgfs.h>

#include "dgfs_xdp.h"
#include "dgfs_xdp.skel.h"
#include "../bpf/result.h"

#define MAX_FRAME	1600
#define BATCH		4096
#define LO_IFINDEX	1



/* ---- randomness (splitmix64: small, seedable, reproducible) ----------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* true with probability @pct percent */
static bool chance(unsigned int pct)
{
	return below(100) < pct;
}

/* ---- the reference ----------------------------------------------------- */

struct config {
	uint16_t port;
	uint32_t max_read;
};

static unsigned int be16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* docs/XDP.md, "Addresses": NR_COUNTERS when nothing is wrong. */
static int ref_addrs4(const uint8_t *ip, bool lo)
{
	const uint8_t *s = ip + 12, *d = ip + 16;
	bool d_bcast = be32(d) == 0xffffffff, s_bcast = be32(s) == 0xffffffff;

	if (d[0] == 0 || (d[0] & 0xf0) == 0xe0 || d_bcast || (d[0] == 127 && !lo))
		return DGFS_XDP_BAD_DST;
	if (s[0] == 0)
		return DGFS_XDP_SRC_UNSPEC;
	if ((s[0] & 0xf0) == 0xe0 || s_bcast)
		return DGFS_XDP_SRC_MULTICAST;
	if (s[0] == 127 && !lo)
		return DGFS_XDP_SRC_LOOPBACK;
	return DGFS_XDP_NR_COUNTERS;
}

static bool in6_low(const uint8_t *a, uint8_t last)
{
	return all_zero(a, 15) && a[15] == last;
}

static bool in6_mapped(const uint8_t *a)
{
	return all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff;
}

static int ref_addrs6(const uint8_t *ip, bool lo)
{
	const uint8_t *s = ip + 8, *d = ip + 24;

	if (d[0] == 0xff || in6_low(d, 0) || (in6_low(d, 1) && !lo) || in6_mapped(d))
		return DGFS_XDP_BAD_DST;
	if (in6_low(s, 0))
		return DGFS_XDP_SRC_UNSPEC;
	if (s[0] == 0xff)
		return DGFS_XDP_SRC_MULTICAST;
	if (in6_low(s, 1) && !lo)
		return DGFS_XDP_SRC_LOOPBACK;
	if (in6_mapped(s))
		return DGFS_XDP_SRC_MAPPED;
	return DGFS_XDP_NR_COUNTERS;
}

/* The 72 bytes of a request, in docs/XDP.md's order of checks. */
static int ref_request(const uint8_t *r, const struct config *cfg)
{
	uint32_t length = be32(r + 56);

	if (be32(r) != DGFS_PROTO_MAGIC)
		return DGFS_XDP_BAD_MAGIC;
	if (r[4] != DGFS_PROTO_VERSION)
		return DGFS_XDP_BAD_VERSION;
	if (r[5] != DGFS_OP_READ)
		return DGFS_XDP_BAD_OP;
	if (be16(r + 6))
		return DGFS_XDP_BAD_FLAGS;
	if (!length || length > cfg->max_read)
		return DGFS_XDP_BAD_LENGTH;
	return DGFS_XDP_REQUESTS_VALID;
}

static int ref_ipv4(const uint8_t *f, size_t len, size_t off, bool lo, const struct config *cfg)
{
	const uint8_t *ip = f + off;
	unsigned int ihl, frag, tot, u;
	int a;

	if (len < off + 20)
		return DGFS_XDP_RUNT;
	ihl = ip[0] & 15;
	if (ip[0] >> 4 != 4 || ihl < 5)
		return DGFS_XDP_BAD_IP;
	if (ip[9] != 17)
		return DGFS_XDP_OTHER;
	frag = be16(ip + 6);
	if (frag & 0x1fff)
		return DGFS_XDP_NONFIRST_FRAGMENT;
	u = off + ihl * 4;
	if (len < u + 8)
		return DGFS_XDP_RUNT;
	if (be16(f + u + 2) != cfg->port)
		return DGFS_XDP_OTHER;
	a = ref_addrs4(ip, lo);
	if (a != DGFS_XDP_NR_COUNTERS)
		return a;
	if (ihl != 5)
		return DGFS_XDP_IP_OPTIONS;
	if (frag & 0x2000)
		return DGFS_XDP_FRAGMENT;
	tot = be16(ip + 2);
	if (tot < 20 || off + tot > len)
		return DGFS_XDP_BAD_IP;
	if (be16(f + u + 4) != tot - 20 || tot - 20 < 8)
		return DGFS_XDP_BAD_UDP_LEN;
	if (tot - 20 != 8 + DGFS_READ_REQ_LEN)
		return DGFS_XDP_BAD_SIZE;
	return ref_request(f + u + 8, cfg);
}

static int ref_ipv6(const uint8_t *f, size_t len, size_t off, bool lo, const struct config *cfg)
{
	const uint8_t *ip = f + off;
	bool ext = false, frag = false;
	unsigned int nh, plen;
	size_t o = off + 40;
	int a;

	if (len < off + 40)
		return DGFS_XDP_RUNT;
	if (ip[0] >> 4 != 6)
		return DGFS_XDP_BAD_IP;
	nh = ip[6];
	for (int i = 0; i < 6 && nh != 17; i++) {
		const uint8_t *h = f + o;

		if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
			return DGFS_XDP_OTHER;
		if (len < o + 8)
			return DGFS_XDP_RUNT;
		if (nh == 44) {
			if (be16(h + 2) & 0xfff8)
				return h[0] == 17 ? DGFS_XDP_NONFIRST_FRAGMENT : DGFS_XDP_OTHER;
			frag = true;
			o += 8;
		} else {
			ext = true;
			o += (h[1] + 1) * 8;
		}
		nh = h[0];
	}
	if (nh != 17)
		return DGFS_XDP_OTHER;
	if (len < o + 8)
		return DGFS_XDP_RUNT;
	if (be16(f + o + 2) != cfg->port)
		return DGFS_XDP_OTHER;
	a = ref_addrs6(ip, lo);
	if (a != DGFS_XDP_NR_COUNTERS)
		return a;
	if (frag)
		return DGFS_XDP_FRAGMENT;
	if (ext)
		return DGFS_XDP_IPV6_EXT;
	plen = be16(ip + 4);
	if (off + 40 + plen > len)
		return DGFS_XDP_BAD_IP;
	if (be16(f + o + 4) != plen || plen < 8)
		return DGFS_XDP_BAD_UDP_LEN;
	if (plen != 8 + DGFS_READ_REQ_LEN)
		return DGFS_XDP_BAD_SIZE;
	return ref_request(f + o + 8, cfg);
}

/* The counter a frame moves (for a valid request: requests_valid). */
static int reference(const uint8_t *f, size_t len, bool lo, const struct config *cfg)
{
	unsigned int proto;
	size_t off = 14;

	if (len < 14)
		return DGFS_XDP_RUNT;
	proto = be16(f + 12);
	if (proto == 0x8100 || proto == 0x88a8) {
		if (len < 18)
			return DGFS_XDP_RUNT;
		proto = be16(f + 16);
		off = 18;
		if (proto == 0x8100 || proto == 0x88a8)
			return DGFS_XDP_OTHER;
	}
	if (proto == 0x0800)
		return ref_ipv4(f, len, off, lo, cfg);
	if (proto == 0x86dd)
		return ref_ipv6(f, len, off, lo, cfg);
	return DGFS_XDP_OTHER;
}

/* ---- frames -------------------------------------------------------------- */

struct frame {
	uint8_t b[MAX_FRAME];
	size_t len;
	bool lo;		/* arrives on loopback */
	bool mutated;
};

static const char *const pool4[] = {
	"198.18.0.1", "198.18.0.2", "198.18.0.2", "198.18.0.255", "198.18.0.77", "0.0.0.0",
	"0.1.2.3", "127.0.0.1", "127.9.9.9", "224.0.0.1", "239.255.255.255", "255.255.255.255",
	"10.0.0.1", NULL,	/* NULL: random */
};
static const char *const pool6[] = {
	"2001:db8:2::1", "2001:db8:2::2", "2001:db8:2::2", "2001:db8:2::77", "::", "::1", "ff02::1",
	"ff0e::1234", "::ffff:198.18.0.2", "::ffff:127.0.0.1", "::198.18.0.1", "fe80::1",
	"2001:db8::5", NULL,
};

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void rand_bytes(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = rnd();
}

/* An address from the pool, else @usual. */
static void pick_addr(uint8_t *to, bool v6, const char *usual)
{
	const char *const *pool = v6 ? pool6 : pool4;
	size_t n = v6 ? sizeof(pool6) / sizeof(pool6[0]) : sizeof(pool4) / sizeof(pool4[0]);
	const char *a = chance(40) ? pool[below(n)] : usual;

	if (!a)
		rand_bytes(to, v6 ? 16 : 4);
	else
		inet_pton(v6 ? AF_INET6 : AF_INET, a, to);
}

static const uint32_t interesting32[] = {
	0, 1, 7, 8, 19, 20, 40, 72, 80, 100, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x10000, 0x7fffffff, 0x80000000, 0xffffffff, DGFS_PROTO_MAGIC, DGFS_DEFAULT_MAX_READ,
	DGFS_DEFAULT_MAX_READ + 1,
};

static uint32_t interesting(void)
{
	return interesting32[below(sizeof(interesting32) / sizeof(interesting32[0]))];
}

/* A frame built field by field, mostly a request to our port, with
 * random choices at every header; lengths consistent unless a choice says
 * otherwise.
 */
static void gen_structured(struct frame *f, const struct config *cfg)
{
	bool v6 = chance(45);
	size_t payload = chance(85) ? DGFS_READ_REQ_LEN : below(200);
	uint8_t *p = f->b, *l3, *udp;
	unsigned int vlans = chance(75) ? 0 : chance(70) ? 1 : 2;
	size_t udp_len;

	rand_bytes(p, 12);			/* MAC addresses */
	p += 12;
	for (unsigned int i = 0; i < vlans; i++) {
		put16(p, chance(50) ? 0x8100 : 0x88a8);
		put16(p + 2, below(4096));
		p += 4;
	}
	put16(p, chance(97) ? (v6 ? 0x86dd : 0x0800) : chance(50) ? (v6 ? 0x0800 : 0x86dd) :
	      below(0x10000));
	p += 2;
	l3 = p;
	udp_len = 8 + payload;
	if (v6) {
		unsigned int nr_ext = chance(80) ? 0 : 1 + below(8);
		uint8_t *next = p + 6;	/* where the next header's type goes */

		put32(p, 6u << 28 | below(1 << 20));
		if (chance(2))
			p[0] = rnd();
		p[7] = 64;
		pick_addr(p + 8, true, "2001:db8:2::1");
		pick_addr(p + 24, true, "2001:db8:2::2");
		p += 40;
		for (unsigned int i = 0; i < nr_ext; i++) {
			static const uint8_t types[] = { 0, 43, 60, 44, 44, 51, 50, 6 };
			uint8_t t = types[below(sizeof(types))];
			size_t size = t == 44 ? 8 : 8 * (1 + (chance(85) ? 0 : below(4)));

			if (p + size + 8 + payload > f->b + MAX_FRAME - 64)
				break;
			*next = t;
			memset(p, 0, size);
			if (t == 44) {
				put16(p + 2, chance(60) ? below(2) : below(0x10000));
				put32(p + 4, rnd());
			} else {
				p[1] = size / 8 - 1;
				rand_bytes(p + 2, size - 2);
			}
			next = p;
			p += size;
		}
		*next = chance(95) ? 17 : rnd();
		put16(l3 + 4, (p - l3) - 40 + udp_len);
	} else {
		unsigned int ihl = chance(90) ? 5 : 5 + below(11);
		unsigned int frag = chance(80) ? (chance(50) ? 0x4000 : 0) :
				    chance(50) ? 0x2000 : below(0x10000);

		p[0] = 0x40 | ihl;
		if (chance(2))
			p[0] = rnd();
		p[1] = 0;
		put16(p + 4, rnd());
		put16(p + 6, frag);
		p[8] = 64;
		p[9] = chance(95) ? 17 : rnd();
		pick_addr(p + 12, false, "198.18.0.1");
		pick_addr(p + 16, false, "198.18.0.2");
		rand_bytes(p + 20, ihl * 4 - 20);
		put16(p + 2, ihl * 4 + udp_len);
		p += ihl * 4;
	}
	udp = p;
	put16(udp, rnd());
	put16(udp + 2, chance(85) ? cfg->port : chance(50) ? cfg->port + 1u : below(0x10000));
	put16(udp + 4, udp_len);
	put16(udp + 6, rnd());
	p += 8;

	/* the request: valid, then perhaps one field wrong */
	memset(p, 0, payload);
	if (payload >= DGFS_READ_REQ_LEN) {
		put32(p, DGFS_PROTO_MAGIC);
		p[4] = DGFS_PROTO_VERSION;
		p[5] = DGFS_OP_READ;
		rand_bytes(p + 8, 48);				/* req_id, chunk, offset */
		put32(p + 56, 1 + below(cfg->max_read));
		rand_bytes(p + 60, 12);				/* expiry, token */
		if (chance(30)) {
			switch (below(5)) {
			case 0: put32(p, interesting()); break;
			case 1: p[4] = interesting(); break;
			case 2: p[5] = interesting(); break;
			case 3: put16(p + 6, interesting()); break;
			case 4: put32(p + 56, interesting()); break;
			}
		}
		rand_bytes(p + DGFS_READ_REQ_LEN, payload - DGFS_READ_REQ_LEN);
	} else {
		rand_bytes(p, payload);
	}
	p += payload;
	f->len = p - f->b;
	/* Ethernet padding, sometimes */
	if (chance(10)) {
		size_t pad = below(40);

		rand_bytes(p, pad);
		f->len += pad;
	}
}

/* Random bytes behind a random or plausible EtherType. */
static void gen_random(struct frame *f)
{
	static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806 };

	f->len = 14 + below(chance(90) ? 200 : MAX_FRAME - 14);
	rand_bytes(f->b, f->len);
	if (chance(80))
		put16(f->b + 12, types[below(sizeof(types) / sizeof(types[0]))]);
}

/* Damage a frame a little: bits, bytes, 16-bit fields, its length. */
static void mutate(struct frame *f)
{
	unsigned int n = 1 + below(4);

	for (unsigned int i = 0; i < n; i++) {
		size_t at = below(f->len);

		switch (below(7)) {
		case 0:
			f->b[at] ^= 1 << below(8);
			break;
		case 1:
			f->b[at] = interesting();
			break;
		case 2:
			if (at + 1 < f->len)
				put16(f->b + at, interesting());
			break;
		case 3:
			if (at + 3 < f->len)
				put32(f->b + at, interesting());
			break;
		case 4:		/* cut short, not under an Ethernet header */
			f->len = 14 + below(f->len - 13);
			break;
		case 5: {	/* longer */
			size_t more = 1 + below(64);

			if (f->len + more <= MAX_FRAME) {
				rand_bytes(f->b + f->len, more);
				f->len += more;
			}
			break;
		}
		case 6: {	/* bytes in or out somewhere */
			size_t k = 1 + below(8);

			if (chance(50) && f->len + k <= MAX_FRAME) {
				memmove(f->b + at + k, f->b + at, f->len - at);
				rand_bytes(f->b + at, k);
				f->len += k;
			} else if (at + k <= f->len && f->len - k >= 14) {
				memmove(f->b + at, f->b + at + k, f->len - at - k);
				f->len -= k;
			}
			break;
		}
		}
	}
	f->mutated = true;
}

static void gen(struct frame *f, const struct config *cfg)
{
	f->mutated = false;
	f->lo = chance(10);
	if (chance(8)) {
		gen_random(f);
		return;
	}
	gen_structured(f, cfg);
	if (chance(50))
		mutate(f);
}

/* ---- running -------------------------------------------------------------- */

struct prog {
	struct dgfs_xdp_bpf *skel;
	int prog_fd, map_fd, ncpus;
	bool kmod;
	unsigned int ifindex;
};

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN && getenv("DGFS_XDP_VERBOSE") ? vfprintf(stderr, fmt, ap) : 0;
}

static int prog_load(struct prog *p, bool kmod, const struct config *cfg)
{
	p->skel = dgfs_xdp_bpf__open();
	if (!p->skel)
		return -errno;
	p->kmod = kmod;
	p->skel->rodata->have_kmod = kmod;
	p->skel->rodata->port = cfg->port;
	p->skel->rodata->max_read = cfg->max_read;
	bpf_map__set_pin_path(p->skel->maps.xdp_counters, NULL);
	if (dgfs_xdp_bpf__load(p->skel)) {
		int ret = -errno;

		dgfs_xdp_bpf__destroy(p->skel);
		return ret ? ret : -EINVAL;
	}
	p->prog_fd = bpf_program__fd(p->skel->progs.dgfs_xdp);
	p->map_fd = bpf_map__fd(p->skel->maps.xdp_counters);
	p->ncpus = libbpf_num_possible_cpus();
	return 0;
}

static int read_counters(const struct prog *p, uint64_t *sum)
{
	struct dgfs_xdp_counters *v = calloc(p->ncpus, sizeof(*v));
	uint32_t zero = 0;
	int ret;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(uint64_t) * DGFS_XDP_NR_COUNTERS);
	ret = bpf_map_lookup_elem(p->map_fd, &zero, v) ? -errno : 0;
	for (int cpu = 0; !ret && cpu < p->ncpus; cpu++)
		for (int i = 0; i < DGFS_XDP_NR_COUNTERS; i++)
			sum[i] += v[cpu].c[i];
	free(v);
	return ret;
}

/* One run: 0 and the verdict, or -errno. */
static int run(const struct prog *p, const struct frame *f, unsigned int *verdict, bool *same)
{
	uint8_t out[MAX_FRAME + 256];
	struct xdp_md ctx = {
		.data_end = f->len,
		.ingress_ifindex = f->lo ? LO_IFINDEX : p->ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = f->b,
		    .data_size_in = f->len,
		    .data_out = out,
		    .data_size_out = sizeof(out),
		    .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	if (bpf_prog_test_run_opts(p->prog_fd, &opts))
		return -errno;
	*verdict = opts.retval;
	*same = opts.data_size_out == f->len && !memcmp(out, f->b, f->len);
	return 0;
}

static void dump_frame(const struct frame *f)
{
	printf("  frame (%zu bytes, on %s):", f->len, f->lo ? "lo" : "the device");
	for (size_t i = 0; i < f->len; i++)
		printf("%s%02x", i % 32 ? "" : "\n    ", f->b[i]);
	putchar('\n');
}

static bool is_outcome(int i)
{
	return i == DGFS_XDP_SUBMITTED || i == DGFS_XDP_RING_FULL || i == DGFS_XDP_KMOD_REJECTED ||
	       i == DGFS_XDP_NOT_LOCAL;
}

/*
 * A batch's counters against the predictions: every counter but the
 * module's outcomes exactly; with the module, the outcomes add up to the
 * valid requests, dropped ones to the drops among them.
 */
static bool batch_ok(const struct prog *p, const uint64_t *want, uint64_t valid_dropped,
		     const uint64_t *before, const uint64_t *after, char *why, size_t len)
{
	uint64_t d[DGFS_XDP_NR_COUNTERS], outcomes = 0;
	size_t n = 0;

	why[0] = '\0';
	for (int i = 0; i < DGFS_XDP_NR_COUNTERS; i++) {
		d[i] = after[i] - before[i];
		if (p->kmod && is_outcome(i)) {
			outcomes += d[i];
			continue;
		}
		if (d[i] != want[i] && n < len)
			n += snprintf(why + n, len - n, " %s %" PRIu64 " (want %" PRIu64 ")",
				      dgfs_xdp_counter_name(i), d[i], want[i]);
	}
	if (p->kmod) {
		uint64_t dropped = d[DGFS_XDP_SUBMITTED] + d[DGFS_XDP_RING_FULL] +
				   d[DGFS_XDP_KMOD_REJECTED];

		if ((outcomes != want[DGFS_XDP_REQUESTS_VALID] || dropped != valid_dropped) &&
		    n < len)
			n += snprintf(why + n, len - n,
				      " outcomes %" PRIu64 " for %" PRIu64 " valid, %" PRIu64
				      " dropped (want %" PRIu64 ")", outcomes,
				      want[DGFS_XDP_REQUESTS_VALID], dropped, valid_dropped);
	}
	return !n;
}

/* Replay a batch one frame at a time to name the first that moves the
 * counters other than predicted.
 */
static void bisect(const struct prog *p, const struct frame *frames, size_t nr,
		   const struct config *cfg)
{
	uint64_t before[DGFS_XDP_NR_COUNTERS], after[DGFS_XDP_NR_COUNTERS];

	for (size_t i = 0; i < nr; i++) {
		uint64_t want[DGFS_XDP_NR_COUNTERS] = { 0 };
		int c = reference(frames[i].b, frames[i].len, frames[i].lo, cfg);
		unsigned int verdict;
		bool same;
		char why[512];

		want[c]++;
		if (c == DGFS_XDP_REQUESTS_VALID && !p->kmod)
			want[DGFS_XDP_NO_KMOD]++;
		if (read_counters(p, before) || run(p, &frames[i], &verdict, &same) ||
		    read_counters(p, after))
			return;
		if (!batch_ok(p, want, c == DGFS_XDP_REQUESTS_VALID && verdict == XDP_DROP,
			      before, after, why, sizeof(why))) {
			printf("  the reference says %s; the counters moved:%s\n",
			       dgfs_xdp_counter_name(c), why);
			dump_frame(&frames[i]);
			return;
		}
	}
	printf("  (replayed one by one, every frame counted as predicted)\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fuzz(struct prog *p, const struct config *cfg, uint64_t frames, double seconds)
{
	static struct frame batch[BATCH];
	uint64_t before[DGFS_XDP_NR_COUNTERS], after[DGFS_XDP_NR_COUNTERS];
	uint64_t total = 0, mutated = 0, valid = 0, passed = 0, seen[DGFS_XDP_NR_COUNTERS] = { 0 };
	uint64_t bad_verdict = 0, changed = 0, bad_batches = 0;
	uint64_t first[DGFS_XDP_NR_COUNTERS], last[DGFS_XDP_NR_COUNTERS];
	double start = now(), t;
	int shown = 0;

	if (read_counters(p, first)) {
		result(false, "reading the counters: %s", strerror(errno));
		return 1;
	}

	while (total < frames && (seconds <= 0 || now() - start < seconds)) {
		uint64_t want[DGFS_XDP_NR_COUNTERS] = { 0 }, valid_dropped = 0;
		size_t nr = 0;
		char why[512];

		if (read_counters(p, before)) {
			result(false, "reading the counters: %s", strerror(errno));
			return 1;
		}
		for (; nr < BATCH && total < frames; nr++, total++) {
			struct frame *f = &batch[nr];
			unsigned int verdict, want_verdict;
			bool same;
			int c, ret;

			gen(f, cfg);
			c = reference(f->b, f->len, f->lo, cfg);
			ret = run(p, f, &verdict, &same);
			if (ret) {
				result(false, "BPF_PROG_TEST_RUN: %s", strerror(-ret));
				dump_frame(f);
				return 1;
			}
			want[c]++;
			seen[c]++;
			mutated += f->mutated;
			if (c == DGFS_XDP_REQUESTS_VALID) {
				valid++;
				if (!p->kmod)
					want[DGFS_XDP_NO_KMOD]++;
				else if (verdict == XDP_DROP)
					valid_dropped++;
			}
			/* A valid request's verdict is the module's to decide. */
			want_verdict = (DGFS_XDP_DROP_MASK >> c) & 1 ? XDP_DROP : XDP_PASS;
			if (verdict != want_verdict &&
			    !(p->kmod && c == DGFS_XDP_REQUESTS_VALID && verdict == XDP_DROP)) {
				if (shown++ < 5) {
					printf("  verdict %u, the reference says %s\n", verdict,
					       dgfs_xdp_counter_name(c));
					dump_frame(f);
				}
				bad_verdict++;
			}
			if (verdict == XDP_PASS) {
				passed++;
				if (!same) {
					if (shown++ < 5) {
						printf("  passed frame changed\n");
						dump_frame(f);
					}
					changed++;
				}
			}
		}
		if (read_counters(p, after)) {
			result(false, "reading the counters: %s", strerror(errno));
			return 1;
		}
		if (!batch_ok(p, want, valid_dropped, before, after, why, sizeof(why))) {
			if (bad_batches++ < 3) {
				printf("  a batch of %zu counted otherwise:%s\n", nr, why);
				bisect(p, batch, nr, cfg);
			}
		}
	}
	t = now() - start;
	printf("# xdp_fuzz: %" PRIu64 " frames (%" PRIu64 " mutated, %" PRIu64
	       " valid requests, %" PRIu64 " passed) in %.1f s: %.0f frames/s\n",
	       total, mutated, valid, passed, t, total / (t > 0 ? t : 1));
	/* What the program counted, for a caller that compares the module's. */
	if (!read_counters(p, last)) {
		printf("# counted:");
		for (int i = 0; i < DGFS_XDP_NR_COUNTERS; i++)
			printf(" %s %" PRIu64, dgfs_xdp_counter_name(i), last[i] - first[i]);
		putchar('\n');
	}
	printf("# by the reference:");
	for (int i = 0; i < DGFS_XDP_NR_COUNTERS; i++)
		if (seen[i])
			printf(" %s %" PRIu64, dgfs_xdp_counter_name(i), seen[i]);
	putchar('\n');
	result(!bad_verdict, "%" PRIu64 " frames: every verdict as the reference predicts (%" PRIu64
	       " differ)", total, bad_verdict);
	result(!changed, "every passed frame came out unchanged (%" PRIu64 " of %" PRIu64 " changed)",
	       changed, passed);
	result(!bad_batches, "the counters moved as predicted, one per frame plus an outcome per "
	       "valid request (%" PRIu64 " batches of %d differ)", bad_batches, BATCH);
	/* Every drop reason and pass kind came up: the generator reaches them. */
	for (int i = 0; i < DGFS_XDP_NR_COUNTERS; i++) {
		bool reachable = !is_outcome(i) && i != DGFS_XDP_NO_KMOD;

		if (reachable && total >= 100000 && !seen[i])
			result(false, "the generator never made a frame for %s",
			       dgfs_xdp_counter_name(i));
	}
	return failed;
}

/* ---- the device ---------------------------------------------------------- */

static int private_device(struct prog *p)
{
	int ret;

	if (unshare(CLONE_NEWNET)) {
		result(false, "a network namespace of our own (%s)", strerror(errno));
		return -1;
	}
	ret = system("modprobe -q veth 2>/dev/null; "
		     "ip link add dgaddr0 type veth peer name dgaddr1 && "
		     "ip addr add 198.18.0.2/24 dev dgaddr0 && "
		     "ip addr add 2001:db8:2::2/64 dev dgaddr0 nodad && "
		     "ip link set dgaddr0 up && ip link set dgaddr1 up && ip link set lo up");
	if (ret) {
		result(false, "veth dgaddr0 in our namespace (ip exited %d)", ret);
		return -1;
	}
	p->ifindex = if_nametoindex("dgaddr0");
	return p->ifindex ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "frames", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "kmod", no_argument, NULL, 'k' },
		{ "dev", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "max-read", required_argument, NULL, 'm' },
		{ 0 }
	};
	struct config cfg = { .port = DGFS_DEFAULT_PORT, .max_read = DGFS_DEFAULT_MAX_READ };
	uint64_t frames = 1000000, seed = 0;
	struct prog p = { 0 };
	const char *dev = NULL;
	double seconds = 0;
	bool kmod = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': frames = strtoull(optarg, NULL, 0); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'k': kmod = true; break;
		case 'd': dev = optarg; break;
		case 'p': cfg.port = strtoul(optarg, NULL, 0); break;
		case 'm': cfg.max_read = strtoul(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (optind != argc || !cfg.port || !cfg.max_read)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(silent);
	if (!seed)
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	rng_state = seed;
	printf("# xdp_fuzz: seed %" PRIu64 " (--seed to replay), port %u, max_read %u%s\n", seed,
	       cfg.port, cfg.max_read, kmod ? ", with dgfs.ko" : "");

	if (dev) {
		p.ifindex = if_nametoindex(dev);
		if (!p.ifindex) {
			result(false, "no device %s", dev);
			return 1;
		}
	} else if (private_device(&p)) {
		return 1;
	}
	ret = prog_load(&p, kmod, &cfg);
	if (ret) {
		result(false, "dgfs_xdp loads%s: %s", kmod ? " with have_kmod (is dgfs.ko loaded?)" : "",
		       strerror(-ret));
		return 1;
	}
	ret = fuzz(&p, &cfg, frames, seconds);
	dgfs_xdp_bpf__destroy(p.skel);
	return ret;
usage:
	fprintf(stderr, "usage: xdp_fuzz [--frames N] [--seconds S] [--seed N] [--kmod] [--dev IFNAME]\n"
		"                [--port P] [--max-read N]\n");
	return 2;
}
