// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of --trusted-proxy (userspace/dgfsd/proxy.c): networks as
 * given on the command line, and the client an X-Forwarded-For names,
 * whatever a client or a proxy wrote into it.
 * One line per check, PASS or FAIL; non-zero exit if any failed.
 */
/* expect-checks: 36 (tests/run-all.sh: a run that prints fewer fails) */

#include "dgfsd/proxy.c"

#include <stdio.h>
#include <string.h>

#include "check.h"

static struct proxy_trust trust;

static void addr(const char *s, uint8_t out[PROXY_ADDR_LEN])
{
	struct proxy_cidr c;

	memset(out, 0xee, PROXY_ADDR_LEN);
	if (!proxy_cidr_parse(s, &c))
		memcpy(out, c.addr, PROXY_ADDR_LEN);
}

static bool trust_add(const char *s)
{
	return !proxy_cidr_parse(s, &trust.nets[trust.n]) && ++trust.n;
}

/* The client of a request from @peer with @xff: @want, or "peer" / "malformed". */
static bool client_is(const char *peer, const char *xff, const char *want)
{
	uint8_t p[PROXY_ADDR_LEN], got[PROXY_ADDR_LEN], w[PROXY_ADDR_LEN];
	enum proxy_result r;

	addr(peer, p);
	memset(got, 0, sizeof(got));
	r = proxy_client(&trust, p, xff, got);
	if (!strcmp(want, "peer"))
		return r == PROXY_PEER;
	if (!strcmp(want, "malformed"))
		return r == PROXY_MALFORMED;
	addr(want, w);
	return r == PROXY_FORWARDED && !memcmp(got, w, sizeof(w));
}

int main(void)
{
	struct proxy_cidr c;

	CHECK("cidr: 198.18.0.0/15", !proxy_cidr_parse("198.18.0.0/15", &c) && c.bits == 96 + 15);
	CHECK("cidr: 2001:db8::/32", !proxy_cidr_parse("2001:db8::/32", &c) && c.bits == 32);
	CHECK("cidr: an IPv4 address alone is a /32",
	      !proxy_cidr_parse("127.0.0.1", &c) && c.bits == 128);
	CHECK("cidr: an IPv6 address alone is a /128", !proxy_cidr_parse("::1", &c) && c.bits == 128);
	CHECK("cidr: 0.0.0.0/0", !proxy_cidr_parse("0.0.0.0/0", &c) && c.bits == 96);
	CHECK("cidr: host bits set refused", proxy_cidr_parse("198.18.0.1/15", &c) != NULL);
	CHECK("cidr: v6 host bits set refused", proxy_cidr_parse("2001:db8::1/32", &c) != NULL);
	CHECK("cidr: /33 refused for IPv4", proxy_cidr_parse("10.0.0.0/33", &c) != NULL);
	CHECK("cidr: /129 refused for IPv6", proxy_cidr_parse("::/129", &c) != NULL);
	CHECK("cidr: an empty length refused", proxy_cidr_parse("10.0.0.0/", &c) != NULL);
	CHECK("cidr: a signed length refused", proxy_cidr_parse("10.0.0.0/+8", &c) != NULL);
	CHECK("cidr: a name refused", proxy_cidr_parse("proxy.example", &c) != NULL);
	CHECK("cidr: empty refused", proxy_cidr_parse("", &c) != NULL);
	CHECK("cidr: trailing junk refused", proxy_cidr_parse("10.0.0.0/8x", &c) != NULL);

	CHECK("trust 127.0.0.1, ::1, 198.18.100.0/24", trust_add("127.0.0.1") && trust_add("::1") &&
	      trust_add("198.18.100.0/24"));
	CHECK("no header: the peer", client_is("127.0.0.1", NULL, "peer"));
	CHECK("an untrusted peer's header is ignored",
	      client_is("127.0.0.2", "198.18.5.5", "peer"));
	CHECK("an untrusted peer next to a trusted network is not in it",
	      client_is("198.18.101.1", "198.18.5.5", "peer"));
	CHECK("a trusted peer names the client", client_is("127.0.0.1", "198.18.5.5", "198.18.5.5"));
	CHECK("IPv6: a trusted peer names the client",
	      client_is("::1", "2001:db8::5", "2001:db8::5"));
	CHECK("the right-most untrusted hop, past a trusted one",
	      client_is("127.0.0.1", "198.18.66.66, 198.18.5.5, 198.18.100.9", "198.18.5.5"));
	CHECK("what the client wrote left of it is never read",
	      client_is("127.0.0.1", "garbage, ,,198.18.5.5", "198.18.5.5"));
	CHECK("a malformed hop a trusted proxy wrote",
	      client_is("127.0.0.1", "198.18.5.5, not-an-ip", "malformed"));
	CHECK("an empty header", client_is("127.0.0.1", "", "malformed"));
	CHECK("a trailing comma", client_is("127.0.0.1", "198.18.5.5,", "malformed"));
	CHECK("all hops trusted: the left-most",
	      client_is("127.0.0.1", "198.18.100.1, 198.18.100.2", "198.18.100.1"));
	CHECK("spaces and tabs around hops",
	      client_is("127.0.0.1", " \t198.18.5.5\t , 198.18.100.3 ", "198.18.5.5"));
	CHECK("v4:port", client_is("127.0.0.1", "198.18.5.5:4711", "198.18.5.5"));
	CHECK("[v6]:port", client_is("127.0.0.1", "[2001:db8::5]:4711", "2001:db8::5"));
	CHECK("[v6]", client_is("127.0.0.1", "[2001:db8::5]", "2001:db8::5"));
	CHECK("[v4] refused", client_is("127.0.0.1", "[198.18.5.5]", "malformed"));
	CHECK("a port of 6 digits refused", client_is("127.0.0.1", "198.18.5.5:123456", "malformed"));
	CHECK("v4: with no port refused", client_is("127.0.0.1", "198.18.5.5:", "malformed"));
	CHECK("IPv4-mapped IPv6 is the IPv4 client",
	      client_is("127.0.0.1", "::ffff:198.18.5.5", "198.18.5.5"));
	CHECK("a hop as long as a header refused",
	      client_is("127.0.0.1", "1111111111111111111111111111111111111111111111111111111111",
			"malformed"));
	CHECK("the peer via its IPv4-mapped form is trusted",
	      client_is("::ffff:127.0.0.1", "198.18.5.5", "198.18.5.5"));
	return failures ? 1 : 0;
}
