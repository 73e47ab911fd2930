/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Behind a reverse proxy (--trusted-proxy CIDR, docs/DGFSD.md): which
 * address a request comes from. Only a TCP peer inside a trusted network
 * may name another client, in X-Forwarded-For; the client is then the
 * right-most address of that list that is not itself trusted (every proxy
 * appends the address it was reached from, so what lies left of the last
 * untrusted hop was written by the client and is never read). Free of
 * libmicrohttpd so the unit tests can feed it anything.
 *
 * Addresses are DGFS_ADDR_LEN bytes, IPv4 as IPv4-mapped IPv6 (as the
 * fast path's tokens bind them), and so are the networks.
 */
#ifndef DGFSD_PROXY_H
#define DGFSD_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#define PROXY_ADDR_LEN		16
#define PROXY_MAX_TRUSTED	32

struct proxy_cidr {
	uint8_t addr[PROXY_ADDR_LEN];
	unsigned int bits;		/* of the 128; an IPv4 /n is 96 + n */
};

struct proxy_trust {
	struct proxy_cidr nets[PROXY_MAX_TRUSTED];
	unsigned int n;
};

/*
 * "198.18.0.0/15", "2001:db8::/32", or one address (a /32 or /128) into
 * @out: NULL, or why it is refused (bad address, length out of range,
 * bits set past the length).
 */
const char *proxy_cidr_parse(const char *s, struct proxy_cidr *out);

/* Whether @addr lies in one of @t's networks. */
bool proxy_trusted(const struct proxy_trust *t, const uint8_t addr[PROXY_ADDR_LEN]);

enum proxy_result {
	PROXY_PEER,		/* the TCP peer is the client (untrusted, or no header) */
	PROXY_FORWARDED,	/* the client is *out */
	PROXY_MALFORMED,	/* a hop a trusted proxy wrote is no address: ignored */
};

/*
 * The client of a request from TCP peer @peer whose X-Forwarded-For
 * header (all of them joined with ",", or NULL) is @xff. An element is an
 * IPv4 or IPv6 address, bare or as "[v6]", either with ":port". When
 * every hop is trusted, the client is the left-most one.
 */
enum proxy_result proxy_client(const struct proxy_trust *t, const uint8_t peer[PROXY_ADDR_LEN],
			       const char *xff, uint8_t out[PROXY_ADDR_LEN]);

#endif /* DGFSD_PROXY_H */
