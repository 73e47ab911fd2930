// SPDX-License-Identifier: GPL-2.0
/* Trusted proxies and X-Forwarded-For: see proxy.h. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

/* An address as text (no length, no port) into the 16-byte form. */
static bool parse_addr(const char *s, uint8_t out[PROXY_ADDR_LEN], bool *v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, s, out) == 1;
}

const char *proxy_cidr_parse(const char *s, struct proxy_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	unsigned int i, max;
	char *end;
	bool v4;

	if (!alen || alen >= sizeof(buf))
		return "not an IPv4 or IPv6 address";
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (!parse_addr(buf, out->addr, &v4))
		return "not an IPv4 or IPv6 address";
	max = v4 ? 32 : 128;
	len = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return "the length after / is not a number";
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > max)
			return v4 ? "an IPv4 length is 0 .. 32" : "an IPv6 length is 0 .. 128";
	}
	out->bits = (unsigned int)len + (v4 ? 96 : 0);
	/* 198.18.0.1/15 is most likely a typo for a host or for 198.18.0.0/15. */
	for (i = out->bits; i < 128; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return "bits are set past the length (the network's own address is meant)";
	return NULL;
}

static bool in_cidr(const struct proxy_cidr *c, const uint8_t addr[PROXY_ADDR_LEN])
{
	unsigned int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(c->addr, addr, full))
		return false;
	return !rest || !((c->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

bool proxy_trusted(const struct proxy_trust *t, const uint8_t addr[PROXY_ADDR_LEN])
{
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (in_cidr(&t->nets[i], addr))
			return true;
	return false;
}

static bool is_port(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n >= 1 && n <= 5 && !s[n];
}

/* One X-Forwarded-For element (not NUL-terminated: @len bytes) as an address. */
static bool parse_hop(const char *s, size_t len, uint8_t out[PROXY_ADDR_LEN])
{
	char buf[INET6_ADDRSTRLEN + 8], *colon, *close;
	bool v4;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (!len || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		close = strchr(buf, ']');
		if (!close || (close[1] && (close[1] != ':' || !is_port(close + 2))))
			return false;
		*close = '\0';
		return parse_addr(buf + 1, out, &v4) && !v4;
	}
	colon = strchr(buf, ':');
	if (colon && !strchr(colon + 1, ':')) {
		/* One colon: "v4:port" (a bare IPv6 address has at least two). */
		if (!is_port(colon + 1))
			return false;
		*colon = '\0';
		return parse_addr(buf, out, &v4) && v4;
	}
	return parse_addr(buf, out, &v4);
}

enum proxy_result proxy_client(const struct proxy_trust *t, const uint8_t peer[PROXY_ADDR_LEN],
			       const char *xff, uint8_t out[PROXY_ADDR_LEN])
{
	uint8_t hop[PROXY_ADDR_LEN];
	const char *end, *start;

	if (!xff || !proxy_trusted(t, peer))
		return PROXY_PEER;
	/* Right to left: each element was appended by the hop before it. */
	end = xff + strlen(xff);
	for (;;) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		if (!parse_hop(start, (size_t)(end - start), hop))
			return PROXY_MALFORMED;
		memcpy(out, hop, PROXY_ADDR_LEN);
		if (!proxy_trusted(t, hop) || start == xff)
			break;
		end = start - 1;	/* the comma */
	}
	return PROXY_FORWARDED;
}
