// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd's options (docs/DGFSD.md): the command line and the config file
 * (/etc/dgfsd.conf, "option = value" lines) into struct dgfsd_config.
 * Apart from main.c so that the config file's parser can be fuzzed
 * (tests/fuzz/dgfsd/fuzz_config.c) without the rest of dgfsd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "dgfsd.h"
#include "http_filter.h"
#include "proto/size.h"
#include "sendfile_step.h"
#include "server/userd.h"

#define DEFAULT_CONFIG		"/etc/dgfsd.conf"

/* Every option, for the command line and the config file alike. */
enum opt_id {
	O_CONFIG = 'c',
	O_STATE_DIR = 'd',
	O_HTTP_PORT = 'p',
	O_VERBOSE = 'v',
	O_HELP = 'h',
	O_LISTEN = 256,
	O_UDP_PORT,
	O_PUBLIC_HOST,
	O_TOKEN_TTL,
	O_MAX_FILE_SIZE,
	O_MAX_UPLOADS,
	O_MAX_CONNECTIONS,
	O_MAX_READ,
	O_UDP_THREADS,
	O_UDP_STEER,
	O_KMOD,
	O_NO_AUTH,
	O_ORPHAN_TTL,
	O_PUBLIC_READ,
	O_PUBLIC_METRICS,
	O_ACCESS_LOG,
	O_TLS_CERT,
	O_TLS_KEY,
	O_TRUSTED_PROXY,
	O_USER,
	O_MAX_COMMIT_CHUNKS,
	O_MAX_PER_IP,
	O_CLIENT_TIMEOUT,
	O_MAX_BODY_MEMORY,
	O_WEB_DIR,
	O_TAGGER,
	O_TAG_PLUGINS,
	O_TAG_WORKERS,
	O_TAG_TIMEOUT,
	O_TAG_PLUGIN_TIMEOUT,
	O_TAG_MEMORY,
	O_TAG_OUTPUT_MAX,
	O_TAG_MAX_SIZE,
	O_METADATA,
	O_HTTP_THREADS,
	O_HTTP_SENDFILE_STEP,
	O_HTTP_LONE_HEADER,
	O_HOST_ID,
	O_ZONE,
	O_CAPACITY,
	O_HEARTBEAT,
	O_DOWN_AFTER,
	O_CLUSTER_SECRET_FILE,
	O_CLUSTER_CA,
	O_REPLICAS,
	O_WRITE_QUORUM,
	O_REPAIR_INTERVAL,
	O_REPAIR_RATE,
	O_HTTP_FILTER,
	O_HTTP_FILTER_MODE,
	O_SYN_RATE,
	O_SYN_BURST,
	O_AF_XDP,
	O_AF_XDP_MODE,
};

static const struct option long_opts[] = {
	{ "config",		required_argument,	NULL, O_CONFIG },
	{ "state-dir",		required_argument,	NULL, O_STATE_DIR },
	{ "http-port",		required_argument,	NULL, O_HTTP_PORT },
	{ "listen",		required_argument,	NULL, O_LISTEN },
	{ "udp-port",		required_argument,	NULL, O_UDP_PORT },
	{ "public-host",	required_argument,	NULL, O_PUBLIC_HOST },
	{ "token-ttl",		required_argument,	NULL, O_TOKEN_TTL },
	{ "max-file-size",	required_argument,	NULL, O_MAX_FILE_SIZE },
	{ "max-uploads",	required_argument,	NULL, O_MAX_UPLOADS },
	{ "max-connections",	required_argument,	NULL, O_MAX_CONNECTIONS },
	{ "max-read",		required_argument,	NULL, O_MAX_READ },
	{ "udp-threads",	required_argument,	NULL, O_UDP_THREADS },
	{ "udp-steer",		required_argument,	NULL, O_UDP_STEER },
	{ "http-threads",	required_argument,	NULL, O_HTTP_THREADS },
	{ "http-sendfile-step",	required_argument,	NULL, O_HTTP_SENDFILE_STEP },
	{ "http-lone-header",	no_argument,		NULL, O_HTTP_LONE_HEADER },
	{ "kmod",		required_argument,	NULL, O_KMOD },
	{ "no-auth",		no_argument,		NULL, O_NO_AUTH },
	{ "orphan-ttl",		required_argument,	NULL, O_ORPHAN_TTL },
	{ "public-read",	no_argument,		NULL, O_PUBLIC_READ },
	{ "public-metrics",	no_argument,		NULL, O_PUBLIC_METRICS },
	{ "access-log",		required_argument,	NULL, O_ACCESS_LOG },
	{ "tls-cert",		required_argument,	NULL, O_TLS_CERT },
	{ "tls-key",		required_argument,	NULL, O_TLS_KEY },
	{ "trusted-proxy",	required_argument,	NULL, O_TRUSTED_PROXY },
	{ "user",		required_argument,	NULL, O_USER },
	{ "max-commit-chunks",	required_argument,	NULL, O_MAX_COMMIT_CHUNKS },
	{ "max-connections-per-ip", required_argument,	NULL, O_MAX_PER_IP },
	{ "client-timeout",	required_argument,	NULL, O_CLIENT_TIMEOUT },
	{ "max-body-memory",	required_argument,	NULL, O_MAX_BODY_MEMORY },
	{ "web-dir",		required_argument,	NULL, O_WEB_DIR },
	{ "tagger",		required_argument,	NULL, O_TAGGER },
	{ "tag-plugins",	required_argument,	NULL, O_TAG_PLUGINS },
	{ "tag-workers",	required_argument,	NULL, O_TAG_WORKERS },
	{ "tag-timeout",	required_argument,	NULL, O_TAG_TIMEOUT },
	{ "tag-plugin-timeout",	required_argument,	NULL, O_TAG_PLUGIN_TIMEOUT },
	{ "tag-memory",		required_argument,	NULL, O_TAG_MEMORY },
	{ "tag-output-max",	required_argument,	NULL, O_TAG_OUTPUT_MAX },
	{ "tag-max-size",	required_argument,	NULL, O_TAG_MAX_SIZE },
	{ "metadata",		required_argument,	NULL, O_METADATA },
	{ "host-id",		required_argument,	NULL, O_HOST_ID },
	{ "zone",		required_argument,	NULL, O_ZONE },
	{ "capacity",		required_argument,	NULL, O_CAPACITY },
	{ "heartbeat",		required_argument,	NULL, O_HEARTBEAT },
	{ "down-after",		required_argument,	NULL, O_DOWN_AFTER },
	{ "cluster-secret-file", required_argument,	NULL, O_CLUSTER_SECRET_FILE },
	{ "cluster-ca",		required_argument,	NULL, O_CLUSTER_CA },
	{ "replicas",		required_argument,	NULL, O_REPLICAS },
	{ "write-quorum",	required_argument,	NULL, O_WRITE_QUORUM },
	{ "repair-interval",	required_argument,	NULL, O_REPAIR_INTERVAL },
	{ "repair-rate",	required_argument,	NULL, O_REPAIR_RATE },
	{ "af-xdp",		required_argument,	NULL, O_AF_XDP },
	{ "af-xdp-mode",	required_argument,	NULL, O_AF_XDP_MODE },
	{ "http-filter",	required_argument,	NULL, O_HTTP_FILTER },
	{ "http-filter-mode",	required_argument,	NULL, O_HTTP_FILTER_MODE },
	{ "syn-rate",		required_argument,	NULL, O_SYN_RATE },
	{ "syn-burst",		required_argument,	NULL, O_SYN_BURST },
	{ "verbose",		no_argument,		NULL, O_VERBOSE },
	{ "help",		no_argument,		NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfsd [OPTIONS]\n"
		"       dgfsd key add|list|revoke ...   (API keys; dgfsd key help)\n"
		"       dgfsd scrub [-d DIR] [--repair]  (re-hash every chunk)\n"
		"The dgfs storage host's mainserver: HTTP file service, chunk store,\n"
		"metadata, and dgfs.ko's configuration (or the fast path in userspace).\n"
		"Every request but /healthz needs an API key (Authorization: Bearer KEY);\n"
		"the first start writes an admin key to STATE_DIR/admin.key.\n"
		"  -c, --config FILE         config file (default %s if it exists):\n"
		"                            \"option = value\" lines, option names as below\n"
		"  -d, --state-dir DIR       chunks, metadata and keys (default %s)\n"
		"      --metadata URI        the metadata in PostgreSQL (postgresql://...)\n"
		"                            instead of SQLite in DIR/meta.db (\"sqlite\");\n"
		"                            tags, search and the graph need SQLite for now\n"
		"  With PostgreSQL metadata, each dgfsd is a member of the cluster the\n"
		"  database holds (docs/CLUSTER.md):\n"
		"      --host-id ID          this host's name in the cluster: letters, digits,\n"
		"                            '.', '_', '-', at most 63 (default: made once and\n"
		"                            kept in DIR/host.id)\n"
		"      --zone NAME           its failure zone (default \"default\"; same form)\n"
		"      --capacity BYTES      what it offers (default: the state dir's file system)\n"
		"      --heartbeat SECONDS   how often it says it is alive (default 2, 1 .. 60)\n"
		"      --down-after SECONDS  a host silent this long is down (default 10; at\n"
		"                            least twice --heartbeat, at most 3600)\n"
		"      --cluster-secret-file PATH  the secret hosts share (mode 0600 or less,\n"
		"                            at least 32 bytes): turns on replicated writes\n"
		"                            and reads of any file from any host\n"
		"      --cluster-ca FILE     the CA (PEM) the hosts' HTTPS certificates chain\n"
		"                            to: hosts talk HTTPS only, verified against it\n"
		"                            (needs --tls-cert and --cluster-secret-file)\n"
		"      --replicas R          copies of each chunk (default 3, 1 .. 16)\n"
		"      --write-quorum W      copies a file's every chunk needs before it\n"
		"                            commits (default a majority of R; 1 .. R)\n"
		"      --repair-interval SECONDS  how often the owner of background work looks\n"
		"                            for chunks short of copies (default 30, 1 .. 3600)\n"
		"      --repair-rate MB/S    bytes repair copies per second, at most (default\n"
		"                            64, 1 .. 100000)\n"		"  -p, --http-port PORT      HTTP port (default 8080)\n"
		"      --listen ADDR         HTTP address (default: all, IPv4 and IPv6)\n"
		"      --udp-port PORT       fast-path UDP port (default %u)\n"
		"      --public-host HOST    fast-path host put in manifests (default: the\n"
		"                            address the client's HTTP connection reached)\n"
		"      --token-ttl SECONDS   lifetime of manifest tokens (default 3600, at most\n"
		"                            86400: hosts refuse tokens that live longer)\n"
		"      --max-file-size BYTES largest upload (default 1T; K/M/G/T suffixes)\n"
		"      --max-commit-chunks N chunk ids one commit may list (default: as\n"
		"                            many as a --max-file-size file can have)\n"
		"      --max-uploads N       uploads at once (default 64; each buffers <= 4 MiB)\n"
		"      --max-connections N   HTTP connections at once (default 1024)\n"
		"      --max-connections-per-ip N  HTTP connections from one address (default 256)\n"
		"      --client-timeout SECONDS  close a connection silent this long (default 60)\n"
		"      --max-body-memory BYTES   request bodies held at once, all requests\n"
		"                            together (default 1G; 503 past it)\n"
		"      --max-read BYTES      largest fast-path read (default 1M)\n"
		"      --udp-threads N       UDP tier workers when dgfs.ko is absent (default 2)\n"
		"      --udp-steer hash|cpu  which worker gets a datagram: the kernel's hash of\n"
		"                            the 4-tuple (default), or the one pinned to the\n"
		"                            receiving CPU, by a BPF program (faster: docs/\n"
		"                            BENCHMARKS.md; give --udp-threads as many as CPUs)\n"
		"      --af-xdp IFACE        without dgfs.ko: also serve IFACE's requests through\n"
		"                            AF_XDP sockets (copy mode, one per receive queue),\n"
		"                            dgfs's XDP program on IFACE while dgfsd runs\n"
		"      --af-xdp-mode native|skb  how that program attaches (default native)\n"
		"      --http-threads N      HTTP event threads (default: one per CPU); uploads\n"
		"                            and other work that may block get a thread each\n"
		"      --http-sendfile-step BYTES  a file body's bytes a sendfile() call\n"
		"                            (default 2M; 0: libmicrohttpd's own, 128K)\n"
		"      --http-lone-header    send a file body's header in a TCP segment of its\n"
		"                            own, as libmicrohttpd does (for comparison; by\n"
		"                            default it leaves with the body's first bytes)\n"
		"      --kmod auto|off|require  use dgfs.ko (default auto: when loaded)\n"
		"      --no-auth             fast path without tokens (tests only)\n"
		"      --orphan-ttl SECONDS  chunks uploaded with PUT /chunks and not committed\n"
		"                            into a file are removed after this (default 3600)\n"
		"      --public-read         reading (list, download, manifests) needs no key\n"
		"      --public-metrics      /metrics needs no key\n"
		"      --access-log FILE     one line per request to FILE (default stderr;\n"
		"                            \"off\": none); SIGHUP reopens it\n"
		"      --tls-cert FILE       HTTPS: the server's certificate (PEM; its chain may\n"
		"                            follow it), with --tls-key; read once at start\n"
		"      --tls-key FILE        HTTPS: the certificate's private key (PEM, no\n"
		"                            passphrase)\n"
		"      --trusted-proxy CIDR  a reverse proxy's network (repeatable, IPv4 or\n"
		"                            IPv6): its X-Forwarded-For names the client\n"
		"      --user NAME           started as root: run as NAME once the state\n"
		"                            directory (made NAME's) and the TLS key are read,\n"
		"                            keeping only the capabilities dgfs.ko needs\n"
		"      --web-dir DIR         the web UI served at / (default: \"web\" next to\n"
		"                            dgfsd's binary, as make builds it, if it is there)\n"
		"      --tagger PATH         dgfs-tagger (default: next to dgfsd; \"off\": none)\n"
		"      --tag-plugins DIR     every executable in DIR tags each stored file too\n"
		"      --tag-workers N       files tagged at once (default 2; 0: no automatic\n"
		"                            tagging)\n"
		"      --tag-timeout SECONDS dgfs-tagger's wall-clock limit (default 60)\n"
		"      --tag-plugin-timeout SECONDS  each plugin's (default 10)\n"
		"      --tag-memory BYTES    address space of each (default 1G)\n"
		"      --tag-output-max BYTES  dgfs-tagger's output (default 4M)\n"
		"      --tag-max-size BYTES  larger files are not tagged (default 256M)\n"
		"      --http-filter IFACE   an XDP filter on IFACE in front of the HTTP port:\n"
		"                            counts each client's packets and new connections\n"
		"                            and drops SYNs past --syn-rate/--syn-burst\n"
		"      --http-filter-mode native|skb  how it attaches (default native)\n"
		"      --syn-rate N          new connections per second per client address\n"
		"                            (default 100, at most 1000000)\n"
		"      --syn-burst N         of which at once (default 200, at most 1000000)\n"
		"  -v, --verbose             log more\n",
		DEFAULT_CONFIG, DGFSD_DEFAULT_STATE_DIR, DGFS_DEFAULT_PORT);
}

static int __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dgfsd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return -1;
}

static int parse_num(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *why;
	uint64_t n;

	why = dgfs_size_parse(v, &n);
	if (why)
		return bad("bad %s \"%s\": %s", name, v, why);
	if (n < min || n > max)
		return bad("%s must be %llu .. %llu", name, (unsigned long long)min,
			   (unsigned long long)max);
	*out = n;
	return 0;
}

static int copy_str(const char *name, const char *v, char *dst, size_t len)
{
	if (strlen(v) >= len)
		return bad("%s too long", name);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* One option, from either source. @v is NULL for flags. */
static int apply(struct dgfsd_config *cfg, int id, const char *name, const char *v)
{
	uint64_t n;

	switch (id) {
	case O_STATE_DIR:
		return copy_str(name, v, cfg->state_dir, sizeof(cfg->state_dir));
	case O_LISTEN:
		return copy_str(name, v, cfg->listen, sizeof(cfg->listen));
	case O_PUBLIC_HOST:
		return copy_str(name, v, cfg->public_host, sizeof(cfg->public_host));
	case O_HTTP_PORT:
		if (parse_num(name, v, 1, 65535, &n))
			return -1;
		cfg->http_port = (uint16_t)n;
		return 0;
	case O_UDP_PORT:
		if (parse_num(name, v, 1, 65535, &n))
			return -1;
		cfg->udp_port = (uint16_t)n;
		return 0;
	case O_TOKEN_TTL:
		if (parse_num(name, v, 1, UINT32_MAX, &n))
			return -1;
		/* Hosts refuse tokens that live longer: manifests would not work. */
		if (n > DGFS_TOKEN_MAX_LIFETIME)
			return bad("%s %s: at most %u s (a day): dgfs.ko and the userspace tier "
				   "refuse tokens that live longer", name, v,
				   DGFS_TOKEN_MAX_LIFETIME);
		cfg->token_ttl = (uint32_t)n;
		return 0;
	case O_MAX_FILE_SIZE:
		return parse_num(name, v, 0, UINT64_MAX >> 1, &cfg->max_file_size);
	case O_MAX_PER_IP:
		if (parse_num(name, v, 1, 65536, &n))
			return -1;
		cfg->max_per_ip = (unsigned int)n;
		return 0;
	case O_CLIENT_TIMEOUT:
		if (parse_num(name, v, 1, 86400, &n))
			return -1;
		cfg->client_timeout = (unsigned int)n;
		return 0;
	case O_MAX_BODY_MEMORY:
		/* At least one upload's chunk buffer. */
		return parse_num(name, v, DGFSD_MAX_CHUNK, UINT64_MAX >> 1, &cfg->max_body_memory);
	case O_MAX_COMMIT_CHUNKS:
		return parse_num(name, v, 1, UINT32_MAX, &cfg->max_commit_chunks);
	case O_MAX_UPLOADS:
		if (parse_num(name, v, 1, 4096, &n))
			return -1;
		cfg->max_uploads = (unsigned int)n;
		return 0;
	case O_MAX_CONNECTIONS:
		if (parse_num(name, v, 1, 65536, &n))
			return -1;
		cfg->max_connections = (unsigned int)n;
		return 0;
	case O_MAX_READ:
		if (parse_num(name, v, 1, DGFS_MAX_READ_LIMIT, &n))
			return -1;
		cfg->max_read = (uint32_t)n;
		return 0;
	case O_HTTP_SENDFILE_STEP:
		if (parse_num(name, v, 0, 1ull << 30, &cfg->http_sendfile_step))
			return -1;
		if (cfg->http_sendfile_step && cfg->http_sendfile_step <= MHD_SENDFILE_STEP)
			return bad("%s must be 0 or more than %u", name, MHD_SENDFILE_STEP);
		return 0;
	case O_HTTP_LONE_HEADER:
		cfg->http_lone_header = true;
		return 0;
	case O_HTTP_THREADS:
		if (parse_num(name, v, 1, DGFSD_HTTP_THREADS_MAX, &n))
			return -1;
		cfg->http_threads = (unsigned int)n;
		return 0;
	case O_UDP_THREADS:
		if (parse_num(name, v, 1, USERD_MAX_THREADS, &n))
			return -1;
		cfg->udp_threads = (unsigned int)n;
		return 0;
	case O_UDP_STEER:
		if (strcmp(v, "hash") && strcmp(v, "cpu"))
			return bad("--udp-steer is hash or cpu, not \"%s\"", v);
		cfg->udp_steer_cpu = !strcmp(v, "cpu");
		return 0;
	case O_KMOD:
		if (!strcmp(v, "auto"))
			cfg->kmod = DGFSD_KMOD_AUTO;
		else if (!strcmp(v, "off"))
			cfg->kmod = DGFSD_KMOD_OFF;
		else if (!strcmp(v, "require"))
			cfg->kmod = DGFSD_KMOD_REQUIRE;
		else
			return bad("--kmod is auto, off or require, not \"%s\"", v);
		return 0;
	case O_NO_AUTH:
		cfg->auth = false;
		return 0;
	case O_PUBLIC_READ:
		cfg->public_read = true;
		return 0;
	case O_PUBLIC_METRICS:
		cfg->public_metrics = true;
		return 0;
	case O_ACCESS_LOG:
		return copy_str(name, v, cfg->access_log, sizeof(cfg->access_log));
	case O_TLS_CERT:
		return copy_str(name, v, cfg->tls_cert, sizeof(cfg->tls_cert));
	case O_TLS_KEY:
		return copy_str(name, v, cfg->tls_key, sizeof(cfg->tls_key));
	case O_USER:
		return copy_str(name, v, cfg->user, sizeof(cfg->user));
	case O_WEB_DIR:
		return copy_str(name, v, cfg->web_dir, sizeof(cfg->web_dir));
	case O_METADATA:
		if (!strcmp(v, "sqlite")) {
			cfg->metadata[0] = 0;
			return 0;
		}
		/* Not echoed back: a URI may hold a password. */
		if (strncmp(v, "postgresql://", 13) && strncmp(v, "postgres://", 11))
			return bad("%s is \"sqlite\" or a postgresql:// URI", name);
		return copy_str(name, v, cfg->metadata, sizeof(cfg->metadata));
	case O_HOST_ID:
	case O_ZONE: {
		char *dst = id == O_HOST_ID ? cfg->host_id : cfg->zone;

		if (!dgfsd_cluster_name_ok(v))
			return bad("%s \"%s\": 1 to %d letters, digits, '.', '_' or '-'", name, v,
				   DGFSD_CLUSTER_NAME_MAX);
		return copy_str(name, v, dst, DGFSD_CLUSTER_NAME_MAX + 1);
	}
	case O_CAPACITY:
		return parse_num(name, v, 1, UINT64_MAX >> 1, &cfg->capacity);
	case O_HEARTBEAT:
	case O_DOWN_AFTER:
		if (parse_num(name, v, 1, id == O_HEARTBEAT ? 60 : 3600, &n))
			return -1;
		*(id == O_HEARTBEAT ? &cfg->heartbeat : &cfg->down_after) = (unsigned int)n;
		return 0;
	case O_CLUSTER_SECRET_FILE:
		return copy_str(name, v, cfg->cluster_secret_file, sizeof(cfg->cluster_secret_file));
	case O_CLUSTER_CA:
		return copy_str(name, v, cfg->cluster_ca, sizeof(cfg->cluster_ca));
	case O_REPLICAS:
	case O_WRITE_QUORUM:
		if (parse_num(name, v, 1, DGFSD_REPLICAS_MAX, &n))
			return -1;
		*(id == O_REPLICAS ? &cfg->replicas : &cfg->write_quorum) = (unsigned int)n;
		return 0;
	case O_REPAIR_INTERVAL:
	case O_REPAIR_RATE:
		if (parse_num(name, v, 1, id == O_REPAIR_INTERVAL ? 3600 : 100000, &n))
			return -1;
		*(id == O_REPAIR_INTERVAL ? &cfg->repair_interval : &cfg->repair_rate) =
			(unsigned int)n;
		return 0;
	case O_TRUSTED_PROXY: {
		const char *why;

		if (cfg->trusted.n == PROXY_MAX_TRUSTED)
			return bad("at most %d %s networks", PROXY_MAX_TRUSTED, name);
		why = proxy_cidr_parse(v, &cfg->trusted.nets[cfg->trusted.n]);
		if (why)
			return bad("bad %s \"%s\": %s", name, v, why);
		cfg->trusted.n++;
		return 0;
	}
	case O_ORPHAN_TTL:
		if (parse_num(name, v, 1, 30 * 86400, &n))
			return -1;
		cfg->orphan_ttl = (uint32_t)n;
		return 0;
	case O_TAGGER:
		if (!strcmp(v, "off")) {
			cfg->tagger[0] = 0;
			return 0;
		}
		if (v[0] != '/')
			return bad("%s wants an absolute path or \"off\", not \"%s\"", name, v);
		return copy_str(name, v, cfg->tagger, sizeof(cfg->tagger));
	case O_TAG_PLUGINS:
		if (v[0] && v[0] != '/')
			return bad("%s wants an absolute path, not \"%s\"", name, v);
		return copy_str(name, v, cfg->tag_plugins, sizeof(cfg->tag_plugins));
	case O_TAG_WORKERS:
		if (parse_num(name, v, 0, 16, &n))
			return -1;
		cfg->tag_workers = (unsigned int)n;
		return 0;
	case O_TAG_TIMEOUT:
	case O_TAG_PLUGIN_TIMEOUT:
		if (parse_num(name, v, 1, 3600, &n))
			return -1;
		*(id == O_TAG_TIMEOUT ? &cfg->tag_timeout : &cfg->tag_plugin_timeout) =
			(unsigned int)n;
		return 0;
	case O_TAG_MEMORY:
		return parse_num(name, v, 16u << 20, 1ull << 40, &cfg->tag_memory);
	case O_TAG_OUTPUT_MAX:
		return parse_num(name, v, 4096, 1u << 30, &cfg->tag_output_max);
	case O_TAG_MAX_SIZE:
		return parse_num(name, v, 0, UINT64_MAX >> 1, &cfg->tag_max_size);
	case O_HTTP_FILTER:
	case O_AF_XDP:
		/* An interface name as the kernel takes it (dev_valid_name). */
		if (!v[0] || strlen(v) >= sizeof(cfg->http_filter) || !strcmp(v, ".") ||
		    !strcmp(v, "..") || strpbrk(v, "/: \t\n"))
			return bad("%s \"%s\" is not an interface name", name, v);
		return copy_str(name, v, id == O_AF_XDP ? cfg->af_xdp : cfg->http_filter,
				sizeof(cfg->http_filter));
	case O_HTTP_FILTER_MODE:
	case O_AF_XDP_MODE:
		if (strcmp(v, "native") && strcmp(v, "skb"))
			return bad("%s is native or skb, not \"%s\"", name, v);
		*(id == O_AF_XDP_MODE ? &cfg->af_xdp_skb : &cfg->http_filter_skb) =
			!strcmp(v, "skb");
		return 0;
	case O_SYN_RATE:
	case O_SYN_BURST:
		if (parse_num(name, v, 1, id == O_SYN_RATE ? HTTP_FILTER_MAX_RATE :
			      HTTP_FILTER_MAX_BURST, &n))
			return -1;
		*(id == O_SYN_RATE ? &cfg->syn_rate : &cfg->syn_burst) = (uint32_t)n;
		return 0;
	case O_VERBOSE:
		cfg->verbose = true;
		return 0;
	}
	return bad("unknown option %s", name);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* "name = value" lines; '#' starts a comment; flags take "true"/"false". */
int dgfsd_config_read(struct dgfsd_config *cfg, FILE *f, const char *path)
{
	char line[1024];
	unsigned int lineno = 0;
	int ret = 0;

	while (fgets(line, sizeof(line), f)) {
		const struct option *o;
		char *name, *val, *eq;

		lineno++;
		if ((eq = strchr(line, '#')))
			*eq = '\0';
		name = trim(line);
		if (!*name)
			continue;
		eq = strchr(name, '=');
		if (!eq) {
			ret = bad("%s:%u: expected \"option = value\"", path, lineno);
			break;
		}
		*eq = '\0';
		name = trim(name);
		val = trim(eq + 1);
		for (o = long_opts; o->name; o++)
			if (!strcmp(o->name, name))
				break;
		if (!o->name || o->val == O_CONFIG || o->val == O_HELP) {
			ret = bad("%s:%u: unknown option \"%s\"", path, lineno, name);
			break;
		}
		if (o->has_arg == no_argument) {
			if (!strcmp(val, "false"))
				continue;
			if (strcmp(val, "true")) {
				ret = bad("%s:%u: %s takes true or false", path, lineno, name);
				break;
			}
		}
		if (apply(cfg, o->val, o->name, val)) {
			ret = bad("%s:%u: in option \"%s\"", path, lineno, name);
			break;
		}
	}
	return ret;
}

int dgfsd_config_file(struct dgfsd_config *cfg, const char *path)
{
	const char *p = path ? path : DEFAULT_CONFIG;
	FILE *f = fopen(p, "re");
	int ret;

	if (!f) {
		if (!path && errno == ENOENT)
			return 0;
		return bad("cannot read config file %s: %s", p, strerror(errno));
	}
	ret = dgfsd_config_read(cfg, f, p);
	fclose(f);
	return ret;
}

int dgfsd_parse_options(int argc, char **argv, struct dgfsd_config *cfg)
{
	const char *config = NULL;
	int c, idx;

	/* The config file first, wherever --config stands; the command line wins. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:d:p:vh", long_opts, &idx)) != -1)
		if (c == O_CONFIG)
			config = optarg;
	if (dgfsd_config_file(cfg, config))
		return 2;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "c:d:p:vh", long_opts, &idx)) != -1) {
		const char *name = "option";
		const struct option *o;

		if (c == O_CONFIG)
			continue;
		if (c == O_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == '?') {
			usage(stderr);
			return 2;
		}
		for (o = long_opts; o->name; o++)
			if (o->val == c)
				name = o->name;
		if (apply(cfg, c, name, optarg))
			return 2;
	}
	if (optind != argc) {
		bad("unexpected argument \"%s\"", argv[optind]);
		return 2;
	}
	/* One missed heartbeat must not make a host down. */
	if (cfg->down_after < 2 * cfg->heartbeat) {
		bad("--down-after (%u s) must be at least twice --heartbeat (%u s)",
		    cfg->down_after, cfg->heartbeat);
		return 2;
	}
	if (cfg->write_quorum > cfg->replicas) {
		bad("--write-quorum (%u) cannot be more than --replicas (%u)", cfg->write_quorum,
		    cfg->replicas);
		return 2;
	}
	if (!cfg->write_quorum)
		cfg->write_quorum = cfg->replicas / 2 + 1;
	/* The AF_XDP sockets are the userspace tier's; dgfs.ko has its own program. */
	if (cfg->af_xdp[0] && cfg->kmod == DGFSD_KMOD_REQUIRE) {
		bad("--af-xdp serves the fast path from userspace, without dgfs.ko: it does "
		    "not go with --kmod require");
		return 2;
	}
	/* One interface's XDP programs share one dispatcher, attached in one mode. */
	if (cfg->af_xdp[0] && !strcmp(cfg->af_xdp, cfg->http_filter) &&
	    cfg->af_xdp_skb != cfg->http_filter_skb) {
		bad("--af-xdp-mode and --http-filter-mode differ on %s: its XDP programs are "
		    "attached in one mode", cfg->af_xdp);
		return 2;
	}
	if (cfg->cluster_secret_file[0] && !cfg->metadata[0]) {
		bad("--cluster-secret-file needs the metadata in PostgreSQL (--metadata "
		    "postgresql://...): with SQLite there is no cluster");
		return 2;
	}
	/* TLS both ways: a host that wants it of others serves it itself. */
	if (cfg->cluster_ca[0] && (!cfg->cluster_secret_file[0] || !cfg->tls_cert[0])) {
		bad("--cluster-ca needs --cluster-secret-file and --tls-cert: the hosts of a "
		    "cluster then talk HTTPS to each other, both ways");
		return 2;
	}
	if (cfg->cluster_secret_file[0] && dgfsd_cluster_secret_load(cfg, cfg->cluster_secret_file))
		return 2;
	return 0;
}

int dgfsd_cluster_secret_load(struct dgfsd_config *cfg, const char *path)
{
	uint8_t buf[DGFSD_CLUSTER_SECRET_MAX + 2];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return bad("cannot open the cluster secret file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return bad("the cluster secret file %s is not a regular file", path);
	}
	/* A secret others on the machine may read is no secret. */
	if (st.st_mode & 077) {
		close(fd);
		return bad("the cluster secret file %s is open to its group or others (mode "
			   "%04o): chmod 600 it", path, (unsigned int)(st.st_mode & 07777));
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len && buf[len - 1] == '\n')
		len--;
	if (len < DGFSD_CLUSTER_SECRET_MIN || len > DGFSD_CLUSTER_SECRET_MAX) {
		sodium_memzero(buf, sizeof(buf));
		return bad("the cluster secret in %s must be %d to %d bytes long", path,
			   DGFSD_CLUSTER_SECRET_MIN, DGFSD_CLUSTER_SECRET_MAX);
	}
	memcpy(cfg->cluster_secret, buf, len);
	cfg->cluster_secret_len = len;
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

bool dgfsd_cluster_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= DGFSD_CLUSTER_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* dgfs-tagger next to this dgfsd (build/, or the installed bin/), if there is one. */
static void default_tagger(char *buf, size_t size)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	buf[0] = 0;
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	if ((size_t)snprintf(buf, size, "%s/dgfs-tagger", exe) >= size || access(buf, X_OK))
		buf[0] = 0;
}

void dgfsd_config_defaults(struct dgfsd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", DGFSD_DEFAULT_STATE_DIR);
	cfg->http_port = 8080;
	cfg->udp_port = DGFS_DEFAULT_PORT;
	cfg->token_ttl = 3600;
	cfg->max_file_size = 1ull << 40;
	cfg->max_uploads = 64;
	cfg->max_connections = 1024;
	cfg->max_per_ip = 256;
	cfg->syn_rate = 100;
	cfg->syn_burst = 200;
	cfg->client_timeout = 60;
	cfg->max_body_memory = 1ull << 30;
	cfg->max_read = DGFS_DEFAULT_MAX_READ;
	cfg->udp_threads = 2;
	cfg->http_sendfile_step = 2u << 20;	/* libmicrohttpd's with a thread a connection */
	cfg->kmod = DGFSD_KMOD_AUTO;
	cfg->auth = true;
	cfg->orphan_ttl = 3600;
	snprintf(cfg->zone, sizeof(cfg->zone), "default");
	cfg->heartbeat = 2;
	cfg->down_after = 10;
	cfg->replicas = 3;
	cfg->repair_interval = 30;
	cfg->repair_rate = 64;
	cfg->tag_workers = 2;
	cfg->tag_timeout = 60;
	cfg->tag_plugin_timeout = 10;
	cfg->tag_memory = 1ull << 30;
	cfg->tag_output_max = 4u << 20;
	cfg->tag_max_size = 256u << 20;
	default_tagger(cfg->tagger, sizeof(cfg->tagger));
}

