// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs-userd [OPTIONS] DIR: serves the chunks in DIR (files named by the
 * 64 hex digits of their id) over the wire protocol, from userspace.
 *
 * The main thread parses the options, starts the workers (serve.c) and
 * then only waits for signals: SIGUSR1 prints the counters, SIGINT and
 * SIGTERM stop the workers, print the counters and exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "userd.h"
#include "dgfs_xdp_loader.h"

struct options {
	uint16_t port;
	const char *addr;
	const char *key_hex;
	const char *key_file;
	bool no_auth;
	uint64_t max_read;
	uint64_t threads;
	bool verbose;
	bool no_gso;
	enum userd_steer steer;
	const char *af_xdp;		/* interface, or NULL */
	enum xdp_attach_mode af_xdp_mode;
	const char *dir;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs-userd [OPTIONS] DIR\n"
		"Serves the chunks in DIR (files named by the 64 hex digits of their\n"
		"SHA-256) over dgfs's UDP read protocol.\n"
		"  -p, --port PORT        UDP port (default %u)\n"
		"  -a, --addr ADDR        local address to bind (default :: and 0.0.0.0)\n"
		"      --key HEX32        the auth key\n"
		"      --key-file FILE    ... read from FILE (32 hex digits or 16 bytes)\n"
		"      --no-auth          serve without tokens\n"
		"      --max-read BYTES   largest read a request may ask (default 1M, max 16M)\n"
		"      --threads N        workers, each with its own socket (default 1)\n"
		"      --no-gso           one datagram per send, no UDP GSO\n"
		"      --steer MODE       how datagrams reach the workers: hash (a socket\n"
		"                         each, the kernel hashes the 4-tuple; default),\n"
		"                         shared (one socket all read), cpu (a socket each,\n"
		"                         worker i pinned to CPU i, a BPF program picks\n"
		"                         the receiving CPU's)\n"
		"      --af-xdp IFACE     also serve IFACE's requests through AF_XDP sockets\n"
		"                         (copy mode, one per receive queue), dgfs's XDP\n"
		"                         program attached to IFACE while we run\n"
		"      --af-xdp-mode MODE native (default) or skb\n"
		"  -v, --verbose          log refused and malformed requests\n"
		"SIGUSR1 prints the counters; SIGINT/SIGTERM print them and exit.\n",
		DGFS_DEFAULT_PORT);
}

static int __attribute__((format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dgfs-userd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 2;
}

static int read_key_file(const char *path, uint8_t key[DGFS_AUTH_KEY_LEN])
{
	char buf[80];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bad_usage("cannot open key file %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == DGFS_AUTH_KEY_LEN) {
		memcpy(key, buf, DGFS_AUTH_KEY_LEN);
		return 0;
	}
	if (n < 0)
		return bad_usage("cannot read key file %s: %s", path, strerror(errno));
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (dgfs_hex_decode(buf, key, DGFS_AUTH_KEY_LEN))
		return bad_usage("key file %s: want 32 hex digits or 16 bytes", path);
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { O_KEY = 256, O_KEY_FILE, O_NO_AUTH, O_MAX_READ, O_THREADS, O_NO_GSO, O_STEER,
	       O_AF_XDP, O_AF_XDP_MODE };
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "key", required_argument, NULL, O_KEY },
		{ "key-file", required_argument, NULL, O_KEY_FILE },
		{ "no-auth", no_argument, NULL, O_NO_AUTH },
		{ "max-read", required_argument, NULL, O_MAX_READ },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "no-gso", no_argument, NULL, O_NO_GSO },
		{ "steer", required_argument, NULL, O_STEER },
		{ "af-xdp", required_argument, NULL, O_AF_XDP },
		{ "af-xdp-mode", required_argument, NULL, O_AF_XDP_MODE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->port = DGFS_DEFAULT_PORT;
	o->max_read = DGFS_DEFAULT_MAX_READ;
	o->threads = 1;
	o->af_xdp_mode = XDP_MODE_NATIVE;
	while ((c = getopt_long(argc, argv, "p:a:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (dgfs_parse_size(optarg, &v) || !v || v > 65535)
				return bad_usage("bad port \"%s\"", optarg);
			o->port = (uint16_t)v;
			break;
		case 'a':
			o->addr = optarg;
			break;
		case O_KEY:
			o->key_hex = optarg;
			break;
		case O_KEY_FILE:
			o->key_file = optarg;
			break;
		case O_NO_AUTH:
			o->no_auth = true;
			break;
		case O_MAX_READ:
			if (dgfs_parse_size(optarg, &o->max_read) || !o->max_read ||
			    o->max_read > DGFS_MAX_READ_LIMIT)
				return bad_usage("bad --max-read \"%s\" (1 .. 16M)", optarg);
			break;
		case O_THREADS:
			if (dgfs_parse_size(optarg, &o->threads) || !o->threads ||
			    o->threads > USERD_MAX_THREADS)
				return bad_usage("bad --threads \"%s\" (1 .. %d)", optarg,
						 USERD_MAX_THREADS);
			break;
		case O_NO_GSO:
			o->no_gso = true;
			break;
		case O_STEER:
			if (!strcmp(optarg, "hash"))
				o->steer = USERD_STEER_HASH;
			else if (!strcmp(optarg, "shared"))
				o->steer = USERD_STEER_SHARED;
			else if (!strcmp(optarg, "cpu"))
				o->steer = USERD_STEER_CPU;
			else
				return bad_usage("bad --steer \"%s\" (hash, shared or cpu)", optarg);
			break;
		case O_AF_XDP:
			o->af_xdp = optarg;
			break;
		case O_AF_XDP_MODE:
			if (!strcmp(optarg, "native"))
				o->af_xdp_mode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "skb"))
				o->af_xdp_mode = XDP_MODE_SKB;
			else
				return bad_usage("bad --af-xdp-mode \"%s\" (native or skb)", optarg);
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (o->key_hex && o->key_file)
		return bad_usage("--key and --key-file exclude each other");
	o->dir = argv[optind];
	return 0;
}

/* The address to bind: a dual-stack IPv6 socket unless IPv6 is absent. */
static int bind_address(const struct options *o, struct userd_config *cfg)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->bind_addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->bind_addr;
	struct in_addr a4;
	int probe;

	memset(&cfg->bind_addr, 0, sizeof(cfg->bind_addr));
	probe = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		close(probe);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(o->port);
		cfg->bind_len = sizeof(*sin6);
		if (!o->addr)
			return 0;
		if (inet_pton(AF_INET6, o->addr, &sin6->sin6_addr) == 1)
			return 0;
		if (inet_pton(AF_INET, o->addr, &a4) == 1) {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], &a4, 4);
			return 0;
		}
		return bad_usage("--addr \"%s\" is not an IP address", o->addr);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(o->port);
	cfg->bind_len = sizeof(*sin);
	if (o->addr && inet_pton(AF_INET, o->addr, &sin->sin_addr) != 1)
		return bad_usage("--addr \"%s\" is not an IPv4 address (no IPv6 here)", o->addr);
	return 0;
}

static void print_counters(struct userd_worker **workers, unsigned int n,
			   const struct userd_xsk_tier *xsk)
{
	struct userd_counter_sum sum;

	userd_counters_sum(workers, n, &sum);
	userd_xsk_tier_add_counters(xsk, &sum);
	/* One "name value" line each, like `dgfsctl stats`, for scripts. */
	printf("dgfs-userd counters:\n");
#define X(name, desc) printf("%s %llu\n", #name, (unsigned long long)sum.name);
	USERD_COUNTER_TABLE(X)
#undef X
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct userd_worker *workers[USERD_MAX_THREADS] = { 0 };
	pthread_t tids[USERD_MAX_THREADS];
	struct userd_xsk_tier *xsk = NULL;
	char err[512];
	struct userd_config cfg;
	struct options o;
	unsigned int i, started = 0;
	sigset_t sigs;
	int ret, sig;

	ret = parse_options(argc, argv, &o);
	if (ret)
		return ret;
	if (dgfs_proto_init()) {
		fprintf(stderr, "dgfs-userd: cannot initialise libsodium\n");
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.auth = !o.no_auth;
	cfg.max_read = (uint32_t)o.max_read;
	cfg.threads = (unsigned int)o.threads;
	cfg.verbose = o.verbose;
	cfg.gso = !o.no_gso;
	cfg.steer = o.steer;
	atomic_init(&cfg.stop, false);
	if (o.key_hex) {
		if (dgfs_hex_decode(o.key_hex, cfg.key, sizeof(cfg.key)))
			return bad_usage("--key must be 32 hexadecimal digits");
		cfg.key_set = true;
	} else if (o.key_file) {
		if (read_key_file(o.key_file, cfg.key))
			return 2;
		cfg.key_set = true;
	}
	ret = bind_address(&o, &cfg);
	if (ret)
		return ret;
	cfg.dir_fd = open(o.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfg.dir_fd < 0) {
		fprintf(stderr, "dgfs-userd: cannot open directory %s: %s\n", o.dir,
			strerror(errno));
		return 1;
	}

	/* Workers inherit the mask: signals come only to sigwait() below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	ret = 1;
	for (i = 0; i < cfg.threads; i++) {
		workers[i] = userd_worker_create(&cfg, i);
		if (!workers[i]) {
			fprintf(stderr, "dgfs-userd: cannot open UDP port %u: %s\n", o.port,
				strerror(errno));
			goto out;
		}
	}
	if (cfg.steer == USERD_STEER_CPU) {
		struct reuseport_steer_bpf *steer = userd_steer_load();
		int err = steer ? userd_steer_attach(steer, workers, cfg.threads) : -errno;

		userd_steer_free(steer);
		if (err) {
			fprintf(stderr, "dgfs-userd: --steer cpu: cannot %s the BPF program: %s\n",
				steer ? "attach" : "load", strerror(-err));
			goto out;
		}
	}
	for (i = 0; i < cfg.threads; i++) {
		if (pthread_create(&tids[i], NULL, userd_worker_run, workers[i])) {
			fprintf(stderr, "dgfs-userd: cannot start a worker thread\n");
			goto stop;
		}
		started++;
	}
	/*
	 * AF_XDP after the sockets: until a queue's socket is in the map,
	 * the program passes its requests to the stack, where the socket
	 * workers answer them.
	 */
	if (o.af_xdp) {
		xsk = userd_xsk_tier_open(&cfg, o.af_xdp, o.af_xdp_mode == XDP_MODE_SKB, err,
					  sizeof(err));
		if (!xsk) {
			fprintf(stderr, "dgfs-userd: --af-xdp %s: %s\n", o.af_xdp, err);
			goto stop;
		}
		if (userd_xsk_tier_start(xsk, err, sizeof(err))) {
			fprintf(stderr, "dgfs-userd: --af-xdp %s: %s\n", o.af_xdp, err);
			goto stop;
		}
		fprintf(stderr, "dgfs-userd: AF_XDP on %s: %u queue%s, copy mode\n", o.af_xdp,
			userd_xsk_tier_queues(xsk), userd_xsk_tier_queues(xsk) == 1 ? "" : "s");
	}
	fprintf(stderr, "dgfs-userd: serving %s on port %u (%u thread%s, steer %s, auth %s%s, "
		"max read %u%s)\n", o.dir, o.port, cfg.threads, cfg.threads == 1 ? "" : "s",
		(const char *[]){ "hash", "shared", "cpu" }[cfg.steer],
		cfg.auth ? "on" : "off", cfg.auth && !cfg.key_set ? " without a key: every "
		"request is refused" : "", cfg.max_read, cfg.gso ? "" : ", no GSO");

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGUSR1) {
			print_counters(workers, cfg.threads, xsk);
			continue;
		}
		break;
	}
	ret = 0;
stop:
	atomic_store(&cfg.stop, true);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	userd_xsk_tier_join(xsk);
	print_counters(workers, started, xsk);
	if (userd_xsk_tier_close(xsk, err, sizeof(err)))
		fprintf(stderr, "dgfs-userd: --af-xdp: %s\n", err);
	if (!ret)
		fprintf(stderr, "dgfs-userd: stopped\n");
out:
	for (i = 0; i < cfg.threads; i++)
		userd_worker_destroy(workers[i]);
	close(cfg.dir_fd);
	return ret;
}
