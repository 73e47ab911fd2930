// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs fetch [OPTIONS] HOST CHUNKID: reads a chunk, or a range of it, from
 * a host over the fast path and writes it to a file or stdout. A whole
 * chunk is checked against its id before a byte is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "proto/dgfs_proto.h"
#include "proto/net.h"
#include "proto/reader.h"

#define DEFAULT_WINDOW		16
#define DEFAULT_REQ_SIZE	(256u << 10)
#define DEFAULT_TIMEOUT_MS	5000	/* without a new byte: a silent host's cost */
#define DEFAULT_MIN_TIMEOUT_MS	20
#define DEFAULT_RETRIES		8
#define DEFAULT_VALIDITY	3600

struct fetch_args {
	uint16_t port;
	bool have_key, have_token, have_expiry, verbose;
	uint8_t key[DGFS_AUTH_KEY_LEN];
	uint8_t token[DGFS_TOKEN_LEN];
	int64_t expiry;
	uint64_t offset, length;
	uint64_t req_size;
	uint64_t window, timeout_ms, retries, max_size;
	const char *out;
	const char *host;
	uint8_t chunk[DGFS_CHUNK_ID_LEN];
};

static void fetch_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs fetch [OPTIONS] HOST CHUNKID\n"
		"  -p, --port PORT       UDP port (default %u)\n"
		"      --key HEX32       mint the token with this key\n"
		"      --expiry SECS     with --key: token valid for SECS from now (default %d;\n"
		"                        negative for an expired one); with --token: the\n"
		"                        token's expiry in Unix seconds\n"
		"      --token HEX16     use this token (with --expiry)\n"
		"      --offset N        first byte (default 0)\n"
		"      --length N        bytes (default: to the end of the chunk)\n"
		"      --window N        requests outstanding (default %d)\n"
		"      --req-size N      bytes per request, <= the host's max read (default %u)\n"
		"      --timeout MS      give up after MS without a new byte (default %d);\n"
		"                        re-requests wait as the measured round trip says\n"
		"      --retries N       fruitless re-requests of a range, after which it is\n"
		"                        only waited for (default %d)\n"
		"      --max-size N      largest chunk to read, held in memory until its\n"
		"                        SHA-256 is checked (default %lluM)\n"
		"  -o, --output FILE     write here (default stdout)\n"
		"  -v, --verbose         transfer statistics on stderr\n"
		"Sizes take K, M, G, T suffixes. Exit codes: 0 ok, 1 SHA-256 mismatch, 2 usage,\n"
		"3 ACCES, 4 NOENT, 5 RANGE, 6 AGAIN, 7 IO, 8 timed out, 9 local error.\n",
		DGFS_DEFAULT_PORT, DEFAULT_VALIDITY, DEFAULT_WINDOW, DEFAULT_REQ_SIZE,
		DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES, DGFS_READER_DEFAULT_MAX_BYTES >> 20);
}

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dgfs fetch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return DGFS_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct fetch_args *a)
{
	enum { O_KEY = 256, O_EXPIRY, O_TOKEN, O_OFFSET, O_LENGTH, O_WINDOW,
	       O_REQ_SIZE, O_TIMEOUT, O_RETRIES, O_MAX_SIZE };
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, O_KEY },
		{ "expiry", required_argument, NULL, O_EXPIRY },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "offset", required_argument, NULL, O_OFFSET },
		{ "length", required_argument, NULL, O_LENGTH },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "req-size", required_argument, NULL, O_REQ_SIZE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ "max-size", required_argument, NULL, O_MAX_SIZE },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	a->port = DGFS_DEFAULT_PORT;
	a->req_size = DEFAULT_REQ_SIZE;
	a->window = DEFAULT_WINDOW;
	a->timeout_ms = DEFAULT_TIMEOUT_MS;
	a->retries = DEFAULT_RETRIES;
	a->max_size = DGFS_READER_DEFAULT_MAX_BYTES;
	while ((c = getopt_long(argc, argv, "p:o:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (dgfs_parse_size(optarg, &v) || !v || v > 65535)
				return usage_error("bad port \"%s\"", optarg);
			a->port = (uint16_t)v;
			break;
		case O_KEY:
			if (dgfs_hex_decode(optarg, a->key, sizeof(a->key)))
				return usage_error("--key must be 32 hexadecimal digits");
			a->have_key = true;
			break;
		case O_EXPIRY:
			if (dgfs_parse_int(optarg, &a->expiry))
				return usage_error("bad --expiry \"%s\"", optarg);
			a->have_expiry = true;
			break;
		case O_TOKEN:
			if (dgfs_hex_decode(optarg, a->token, sizeof(a->token)))
				return usage_error("--token must be 16 hexadecimal digits");
			a->have_token = true;
			break;
		case O_OFFSET:
			if (dgfs_parse_size(optarg, &a->offset))
				return usage_error("bad --offset \"%s\"", optarg);
			break;
		case O_LENGTH:
			if (dgfs_parse_size(optarg, &a->length) || !a->length)
				return usage_error("bad --length \"%s\" (1 or more)", optarg);
			break;
		case O_WINDOW:
			if (dgfs_parse_size(optarg, &a->window) || !a->window ||
			    a->window > DGFS_READER_MAX_WINDOW)
				return usage_error("bad --window \"%s\" (1 .. 4096)", optarg);
			break;
		case O_REQ_SIZE:
			if (dgfs_parse_size(optarg, &a->req_size) || !a->req_size ||
			    a->req_size > DGFS_MAX_READ_LIMIT)
				return usage_error("bad --req-size \"%s\" (1 .. 16M)", optarg);
			break;
		case O_TIMEOUT:
			if (dgfs_parse_size(optarg, &a->timeout_ms) || !a->timeout_ms ||
			    a->timeout_ms > 3600000)
				return usage_error("bad --timeout \"%s\" (milliseconds)", optarg);
			break;
		case O_MAX_SIZE:
			/* The protocol's sizes are 32 bits. */
			if (dgfs_parse_size(optarg, &a->max_size) || !a->max_size ||
			    a->max_size > UINT32_MAX)
				return usage_error("--max-size must be 1 .. 4G-1");
			break;
		case O_RETRIES:
			if (dgfs_parse_size(optarg, &a->retries) || a->retries > 1000)
				return usage_error("bad --retries \"%s\" (0 .. 1000)", optarg);
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			fetch_usage(stdout);
			return -1;
		default:
			fetch_usage(stderr);
			return DGFS_EXIT_USAGE;
		}
	}
	if (optind != argc - 2) {
		fetch_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (a->have_key && a->have_token)
		return usage_error("--key and --token exclude each other");
	if (a->have_token && !a->have_expiry)
		return usage_error("--token needs --expiry (Unix seconds)");
	if (a->have_token && (a->expiry < 0 || a->expiry > (int64_t)UINT32_MAX))
		return usage_error("--expiry with --token is Unix seconds");
	a->host = argv[optind];
	if (dgfs_hex_decode(argv[optind + 1], a->chunk, sizeof(a->chunk)))
		return usage_error("the chunk id must be 64 hexadecimal digits, not \"%s\"",
				   argv[optind + 1]);
	return 0;
}

static int write_all(int fd, const uint8_t *p, uint64_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int write_output(const struct fetch_args *a, const uint8_t *data, uint64_t len)
{
	int fd = STDOUT_FILENO;

	if (a->out) {
		fd = open(a->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "dgfs: cannot open %s: %s\n", a->out, strerror(errno));
			return DGFS_EXIT_LOCAL;
		}
	}
	if (write_all(fd, data, len) || (a->out && close(fd))) {
		fprintf(stderr, "dgfs: cannot write %s: %s\n", a->out ? a->out : "stdout",
			strerror(errno));
		if (a->out)
			close(fd);
		return DGFS_EXIT_LOCAL;
	}
	return DGFS_EXIT_OK;
}

/* One line on stderr for every way a read can fail; the exit code. */
static int report_failure(const struct fetch_args *a, const struct dgfs_reader *r,
			  int state, const uint8_t local[DGFS_ADDR_LEN], const char *id,
			  unsigned int refused)
{
	int64_t size = dgfs_reader_chunk_size(r);
	char addr[64];

	switch (state) {
	case DGFS_READ_ERR_STATUS:
		break;
	case DGFS_READ_ERR_TIMEOUT: {
		struct dgfs_reader_stats st;
		char text[READER_STATS_TEXT_LEN];

		dgfs_reader_get_stats(r, &st);
		reader_stats_text(&st, text, sizeof(text));
		if (!st.datagrams && refused)
			fprintf(stderr, "dgfs: timed out: %s says nothing listens on UDP port %u "
				"(ICMP port unreachable)\n", a->host, a->port);
		else if (!st.datagrams)
			fprintf(stderr, "dgfs: timed out: no reply at all from %s port %u (is a "
				"server there, and is --req-size %llu within its max read?)\n",
				a->host, a->port, (unsigned long long)a->req_size);
		else
			fprintf(stderr, "dgfs: timed out: no new byte of chunk %s from %s for "
				"%llu ms (%s)\n", id, a->host, (unsigned long long)a->timeout_ms,
				text);
		return DGFS_EXIT_TIMEOUT;
	}
	case DGFS_READ_ERR_VERIFY:
		fprintf(stderr, "dgfs: SHA-256 mismatch: the bytes received do not hash to chunk "
			"id %s; nothing written\n", id);
		return DGFS_EXIT_VERIFY;
	case DGFS_READ_ERR_TOO_BIG:
		fprintf(stderr, "dgfs: the host says chunk %s is larger than --max-size %llu "
			"bytes; nothing written\n", id, (unsigned long long)a->max_size);
		return DGFS_EXIT_LOCAL;
	case DGFS_READ_ERR_NOMEM:
		fprintf(stderr, "dgfs: out of memory reading chunk %s\n", id);
		return DGFS_EXIT_LOCAL;
	default:
		fprintf(stderr, "dgfs: cannot send to %s: %s\n", a->host, strerror(errno));
		return DGFS_EXIT_LOCAL;
	}
	switch (dgfs_reader_status(r)) {
	case DGFS_STATUS_ACCES:
		fprintf(stderr, "dgfs: ACCES: %s refused the token for chunk %s (bad, expired, "
			"or not minted for client address %s)\n", a->host, id,
			dgfs_addr_str(local, addr, sizeof(addr)));
		return DGFS_EXIT_ACCES;
	case DGFS_STATUS_NOENT:
		fprintf(stderr, "dgfs: NOENT: %s has no chunk %s (unknown chunk)\n", a->host, id);
		return DGFS_EXIT_NOENT;
	case DGFS_STATUS_RANGE:
		fprintf(stderr, "dgfs: RANGE: offset %llu is at or past the end of chunk %s "
			"(size %lld)\n", (unsigned long long)a->offset, id, (long long)size);
		return DGFS_EXIT_RANGE;
	case DGFS_STATUS_AGAIN:
		fprintf(stderr, "dgfs: AGAIN: %s stayed overloaded; try again later\n", a->host);
		return DGFS_EXIT_AGAIN;
	default:
		fprintf(stderr, "dgfs: IO: %s could not read chunk %s (read error on the host)\n",
			a->host, id);
		return DGFS_EXIT_IO;
	}
}

int dgfs_cmd_fetch(int argc, char **argv)
{
	char id[2 * DGFS_CHUNK_ID_LEN + 1], err[256];
	uint8_t local[DGFS_ADDR_LEN];
	struct dgfs_reader_config cfg;
	struct dgfs_reader *r;
	struct sockaddr_storage sa;
	struct fetch_args a;
	socklen_t salen;
	uint64_t start, len;
	const uint8_t *data;
	unsigned int refused;
	int fd, state, ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret < 0 ? DGFS_EXIT_OK : ret;
	dgfs_hex_encode(a.chunk, sizeof(a.chunk), id);

	if (dgfs_net_resolve(a.host, a.port, &sa, &salen, err, sizeof(err))) {
		fprintf(stderr, "dgfs: %s\n", err);
		return DGFS_EXIT_LOCAL;
	}
	fd = dgfs_net_connect((struct sockaddr *)&sa, salen, DGFS_NET_RCVBUF, local);
	if (fd < 0) {
		fprintf(stderr, "dgfs: cannot reach %s: %s\n", a.host, strerror(errno));
		return DGFS_EXIT_LOCAL;
	}

	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.chunk, a.chunk, sizeof(cfg.chunk));
	if (a.have_key) {
		cfg.expiry = dgfs_expiry_from_now(a.have_expiry ? a.expiry : DEFAULT_VALIDITY);
		/* The address the host sees: the one this socket sends from. */
		dgfs_token_mint(a.key, a.chunk, cfg.expiry, local, cfg.token);
	} else if (a.have_token) {
		cfg.expiry = (uint32_t)a.expiry;
		memcpy(cfg.token, a.token, sizeof(cfg.token));
	}
	cfg.offset = a.offset;
	cfg.length = a.length;
	cfg.req_size = (uint32_t)a.req_size;
	cfg.window = (unsigned int)a.window;
	cfg.timeout_ns = a.timeout_ms * 1000000;
	cfg.min_timeout_ns = DEFAULT_MIN_TIMEOUT_MS * 1000000ull;
	cfg.retries = (unsigned int)a.retries;
	cfg.max_bytes = a.max_size;
	randombytes_buf(&cfg.req_id_seed, sizeof(cfg.req_id_seed));
	cfg.send = dgfs_net_send;
	cfg.send_ctx = &fd;
	r = dgfs_reader_create(&cfg);
	if (!r) {
		fprintf(stderr, "dgfs: out of memory\n");
		close(fd);
		return DGFS_EXIT_LOCAL;
	}

	start = dgfs_now_ns();
	state = dgfs_net_read(fd, r, &refused);
	if (state < 0) {
		fprintf(stderr, "dgfs: receiving from %s: %s\n", a.host, strerror(errno));
		ret = DGFS_EXIT_LOCAL;
	} else if (state != DGFS_READ_DONE) {
		ret = report_failure(&a, r, state, local, id, refused);
	} else {
		data = dgfs_reader_data(r, &len);
		ret = write_output(&a, data, len);
	}
	if (a.verbose) {
		struct dgfs_reader_stats st;
		double secs = (double)(dgfs_now_ns() - start) / 1e9;

		dgfs_reader_get_stats(r, &st);
		dgfs_reader_data(r, &len);
		fprintf(stderr, "dgfs: %llu bytes in %.3f s (%.1f MB/s)%s; requests %llu "
			"(re-requests %llu), timeouts %llu, AGAIN %llu, datagrams %llu "
			"(invalid %llu, stray %llu, misfit %llu), duplicate bytes %llu, "
			"srtt %.3f ms, RTO %.3f ms (longest waited out %.3f ms, late replies "
			"%llu), window %u (fewest %u)\n",
			(unsigned long long)len, secs, secs > 0 ? (double)len / secs / 1e6 : 0,
			dgfs_reader_verified(r) ? ", SHA-256 verified" : "",
			(unsigned long long)st.requests, (unsigned long long)st.rerequests,
			(unsigned long long)st.timeouts, (unsigned long long)st.again,
			(unsigned long long)st.datagrams, (unsigned long long)st.invalid,
			(unsigned long long)st.stray, (unsigned long long)st.misfit,
			(unsigned long long)st.dup_bytes, (double)st.srtt_ns / 1e6,
			(double)st.rto_ns / 1e6, (double)st.rto_max_ns / 1e6,
			(unsigned long long)st.late, st.cwnd, st.cwnd_min);
	}
	dgfs_reader_destroy(r);
	close(fd);
	return ret;
}
