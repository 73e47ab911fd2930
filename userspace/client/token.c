// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs token --key HEX32 --addr ADDR [--expiry SECS] CHUNKID
 * Prints "TOKEN EXPIRY": the token in hex and its expiry in Unix seconds,
 * for `dgfs fetch --token TOKEN --expiry EXPIRY` from address ADDR.
 * SECS is at most DGFS_TOKEN_MAX_LIFETIME (a day), which hosts enforce;
 * --beyond-max-lifetime lifts that, for tests of the hosts' own check.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "proto/dgfs_proto.h"

static void token_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs token --key HEX32 --addr ADDR [--expiry SECS] CHUNKID\n"
		"  Mints the token that lets client address ADDR (IPv4 or IPv6) read\n"
		"  chunk CHUNKID until SECS seconds from now (default 3600, at most 86400:\n"
		"  hosts refuse tokens that live longer). Prints \"TOKEN EXPIRY\" (expiry in\n"
		"  Unix seconds).\n"
		"      --beyond-max-lifetime  allow SECS past a day (to test that hosts refuse)\n");
}

int dgfs_cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "addr", required_argument, NULL, 'a' },
		{ "expiry", required_argument, NULL, 'e' },
		{ "beyond-max-lifetime", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t key[DGFS_AUTH_KEY_LEN], chunk[DGFS_CHUNK_ID_LEN], addr[DGFS_ADDR_LEN];
	uint8_t token[DGFS_TOKEN_LEN];
	char hex[2 * DGFS_TOKEN_LEN + 1];
	bool have_key = false, have_addr = false, beyond = false;
	int64_t secs = 3600;
	uint32_t expiry;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (dgfs_hex_decode(optarg, key, sizeof(key))) {
				fprintf(stderr, "dgfs token: --key must be 32 hexadecimal digits\n");
				return DGFS_EXIT_USAGE;
			}
			have_key = true;
			break;
		case 'a': {
			struct in_addr a4;

			if (inet_pton(AF_INET, optarg, &a4) == 1) {
				memset(addr, 0, 10);
				addr[10] = addr[11] = 0xff;
				memcpy(addr + 12, &a4, 4);
			} else if (inet_pton(AF_INET6, optarg, addr) != 1) {
				fprintf(stderr, "dgfs token: --addr must be an IPv4 or IPv6 address\n");
				return DGFS_EXIT_USAGE;
			}
			have_addr = true;
			break;
		}
		case 'e':
			if (dgfs_parse_int(optarg, &secs)) {
				fprintf(stderr, "dgfs token: --expiry must be a number of seconds\n");
				return DGFS_EXIT_USAGE;
			}
			break;
		case 'B':
			beyond = true;
			break;
		case 'h':
			token_usage(stdout);
			return DGFS_EXIT_OK;
		default:
			token_usage(stderr);
			return DGFS_EXIT_USAGE;
		}
	}
	if (!have_key || !have_addr || optind != argc - 1) {
		token_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (secs > DGFS_TOKEN_MAX_LIFETIME && !beyond) {
		fprintf(stderr, "dgfs token: --expiry %lld is more than %d s (a day): hosts refuse "
			"tokens that live longer\n", (long long)secs, DGFS_TOKEN_MAX_LIFETIME);
		return DGFS_EXIT_USAGE;
	}
	if (dgfs_hex_decode(argv[optind], chunk, sizeof(chunk))) {
		fprintf(stderr, "dgfs token: the chunk id must be 64 hexadecimal digits\n");
		return DGFS_EXIT_USAGE;
	}
	expiry = dgfs_expiry_from_now(secs);
	dgfs_token_mint(key, chunk, expiry, addr, token);
	dgfs_hex_encode(token, sizeof(token), hex);
	printf("%s %u\n", hex, expiry);
	return DGFS_EXIT_OK;
}
