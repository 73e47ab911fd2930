/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsd: the storage host's userspace mainserver (docs/DGFSD.md).
 *
 *   main.c        options and config file, start-up, signals
 *   state.c       the state directory's secrets: auth.key, presign.key, admin.key
 *   chunkstore.c  chunk files: crash-safe writes, pins, removal, dgfs.ko index
 *   upload.c      PUT /files and POST ?commit: FastCDC, dedup, commit
 *   http.c        the HTTP service (libmicrohttpd): the routing table, each
 *                 route's scope, authentication, responses, the access log's data
 *   files.c       /files/: downloads, manifests, listings, uploads, commits
 *   chunks.c      /chunks/: chunk reads, chunk uploads, dedup queries
 *   keys_api.c    the admin API (/keys) and presigning (/presign)
 *   auth.c        API keys, scopes and prefixes, presigned URLs (no libmicrohttpd)
 *   keys_cli.c    `dgfsd key add|list|revoke`
 *   scrub.c       `dgfsd scrub`: every chunk re-hashed, bad ones removed
 *   accesslog.c   one line per request, reopened on SIGHUP
 *   tls.c         HTTPS: the certificate and key, read and checked at start
 *   proxy.c       --trusted-proxy: the client named in X-Forwarded-For
 *   privs.c       --user: a private state directory, the user change, capabilities
 *   metrics.c     counters and the Prometheus page
 *   httputil.c    paths, Range, dates (no libmicrohttpd: unit-tested alone)
 *   meta.c        SQLite metadata (files, chunks, keys)
 *   meta_tags.c   tags, terms, implications and the tag job queue in it
 *   tags.c        automatic tagging: the workers running dgfs-tagger and plugins
 *   tags_parse.c  what the taggers print, parsed
 *   tags_api.c    GET/POST /files/{path}?tags, /tags/implies
 *   sandbox.c     a helper run contained: rlimits, timeout, output cap
 *   kmod.c        netlink to dgfs.ko
 *   cluster.c     membership on PostgreSQL: hosts, heartbeats, the owner lock,
 *                 the live hosts, chunk_copies (docs/CLUSTER.md)
 *   placement.c   a chunk's owners: weighted rendezvous hashing
 *   repl.c        replicated writes, chunks fetched from replicas for reads
 *   peer.c        the internal API's client (libcurl) and its signature
 *   internal_api.c  /internal/chunks/ between hosts
 * The UDP tier (no dgfs.ko) runs userspace/server's workers in-process.
 */
#ifndef DGFSD_H
#define DGFSD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "cdc/fastcdc.h"
#include "dgfsd/auth.h"
#include "dgfsd/kmod.h"
#include "dgfsd/meta.h"
#include "dgfsd/proxy.h"
#include "proto/dgfs_proto.h"

#define DGFSD_STORE_NAME	"dgfsd"
#define DGFSD_MAX_CHUNK		FASTCDC_MAX_SIZE
#define DGFSD_HTTP_THREADS_MAX	64
#define DGFSD_MISSING_MAX	100000
#define DGFSD_TMP_PREFIX	".tmp-"

enum dgfsd_kmod_mode {
	DGFSD_KMOD_AUTO,	/* use dgfs.ko when loaded, else the UDP tier */
	DGFSD_KMOD_OFF,		/* never touch dgfs.ko */
	DGFSD_KMOD_REQUIRE,	/* refuse to start without it */
};

/* A host id or zone: 1 to this many of [A-Za-z0-9._-]. */
#define DGFSD_CLUSTER_NAME_MAX	63
/* The cluster secret: at least 32 bytes (256 bits if random), at most this. */
#define DGFSD_CLUSTER_SECRET_MIN	32
#define DGFSD_CLUSTER_SECRET_MAX	1024
#define DGFSD_REPLICAS_MAX	16

struct dgfsd_config {
	char state_dir[512];
	char metadata[1024];		/* a postgresql:// URI; "" = STATE/meta.db */
	char listen[64];		/* HTTP address; "" = all (dual stack) */
	uint16_t http_port;
	uint16_t udp_port;
	char public_host[256];		/* fast-path host in manifests; "" = auto */
	uint32_t token_ttl;
	uint32_t orphan_ttl;		/* uncommitted chunks live this long */
	uint64_t max_file_size;
	uint64_t max_commit_chunks;	/* a commit's list; 0: what max_file_size allows */
	unsigned int max_uploads;
	unsigned int max_connections;
	unsigned int max_per_ip;	/* HTTP connections from one address */
	unsigned int client_timeout;	/* seconds a connection may stay silent */
	uint64_t max_body_memory;	/* request bodies held at once, all requests */
	uint32_t max_read;
	unsigned int udp_threads;
	bool udp_steer_cpu;		/* --udp-steer cpu (userd.h's USERD_STEER_CPU) */
	/* The UDP tier's AF_XDP sockets (server/xsk.c): "" = none. */
	char af_xdp[16];		/* the interface (IFNAMSIZ) */
	bool af_xdp_skb;		/* generic XDP instead of the driver's */
	unsigned int http_threads;	/* libmicrohttpd's event threads; 0: a CPU each */
	uint64_t http_sendfile_step;	/* bytes a sendfile() call (sendfile_step.h) */
	bool http_lone_header;		/* header_with_body.h off */
	enum dgfsd_kmod_mode kmod;
	bool auth;			/* fast-path tokens (--no-auth: off) */
	bool public_read;		/* reading needs no key */
	bool public_metrics;		/* /metrics needs no key */
	char access_log[512];		/* "" or "-": stderr; "off": none */
	char tls_cert[512];		/* HTTPS when set (with tls_key) */
	char tls_key[512];
	struct proxy_trust trusted;	/* --trusted-proxy: may name the client */
	char user[64];			/* --user: run as this user; "" = as started */
	char web_dir[512];		/* the web UI's files; "" = next to the binary */
	/* Automatic tagging (tags.c, docs/TAGS.md). */
	char tagger[512];		/* dgfs-tagger; "" = none ("off") */
	char tag_plugins[512];		/* "" = no plugins */
	unsigned int tag_workers;	/* 0: no automatic tagging */
	unsigned int tag_timeout;	/* seconds, dgfs-tagger */
	unsigned int tag_plugin_timeout;	/* seconds, each plugin */
	uint64_t tag_memory;		/* address space of each, bytes */
	uint64_t tag_output_max;	/* dgfs-tagger's stdout, bytes */
	uint64_t tag_max_size;		/* larger files are not tagged */
	/* Cluster membership, with PostgreSQL metadata (cluster.c). */
	char host_id[DGFSD_CLUSTER_NAME_MAX + 1];	/* "" = STATE/host.id */
	char zone[DGFSD_CLUSTER_NAME_MAX + 1];
	uint64_t capacity;		/* bytes; 0 = the state dir's file system */
	unsigned int heartbeat;		/* seconds between heartbeats */
	unsigned int down_after;	/* seconds of silence that make a host down */
	/*
	 * Replication (docs/CLUSTER.md): with PostgreSQL metadata and a
	 * cluster secret, each chunk goes to its @replicas placement owners
	 * and a file commits once every chunk has @write_quorum copies.
	 */
	char cluster_secret_file[512];	/* "" = no replication */
	char cluster_ca[512];		/* "" = peers' HTTPS checked against the system's CAs */
	char *cluster_ca_pem;		/* its PEM text, read at start (tls.c); NULL: none */
	size_t cluster_ca_len;
	uint8_t cluster_secret[DGFSD_CLUSTER_SECRET_MAX];	/* read at start, never logged */
	size_t cluster_secret_len;
	unsigned int replicas;
	unsigned int write_quorum;	/* 0 = a majority of @replicas */
	unsigned int repair_interval;	/* seconds between repair passes (repair.c) */
	unsigned int repair_rate;	/* MB/s that repair copies, at most */
	/* The HTTP filter at the NIC (httpfilter.c): "" = none. */
	char http_filter[16];		/* the interface (IFNAMSIZ) */
	bool http_filter_skb;		/* generic XDP instead of the driver's */
	uint32_t syn_rate;		/* new connections per second per client */
	uint32_t syn_burst;		/* at once, from a full bucket */
	bool verbose;
};

/* ---- config.c: the options ---- */

#define DGFSD_DEFAULT_STATE_DIR	"/var/lib/dgfsd"

void dgfsd_config_defaults(struct dgfsd_config *cfg);
/*
 * The config file @path over @cfg: NULL reads /etc/dgfsd.conf if it
 * exists. 0, or -1 after saying what is wrong.
 */
int dgfsd_config_file(struct dgfsd_config *cfg, const char *path);
/* The same from an open file; @path names it in messages. */
int dgfsd_config_read(struct dgfsd_config *cfg, FILE *f, const char *path);
/* The config file (--config), then the command line over it: 0, or an exit status. */
int dgfsd_parse_options(int argc, char **argv, struct dgfsd_config *cfg);
/* Whether @s is a valid host id or zone name. */
bool dgfsd_cluster_name_ok(const char *s);
/*
 * The cluster secret from @path into cfg->cluster_secret: refused (-1,
 * said, the secret never printed) when the file is missing, not a regular
 * file, open to its group or others, shorter than DGFSD_CLUSTER_SECRET_MIN
 * bytes or longer than DGFSD_CLUSTER_SECRET_MAX. One trailing newline is
 * not part of it.
 */
int dgfsd_cluster_secret_load(struct dgfsd_config *cfg, const char *path);

/* ---- chunkstore.c ---- */

struct chunkstore;

struct chunkstore_stats {
	_Atomic uint64_t written;	/* chunks written */
	_Atomic uint64_t written_bytes;
	_Atomic uint64_t deduped;	/* chunks found already stored */
	_Atomic uint64_t removed;
	_Atomic uint64_t kmod_errors;	/* failed registrations / removals */
};

int chunkstore_open(const char *dir, struct meta *meta, struct kmod *kmod,
		    struct chunkstore **out);
void chunkstore_close(struct chunkstore *cs);
/*
 * @fn is called (store lock held) for every chunk file the store removes:
 * the cluster forgets this host's copy. Before any request.
 */
typedef void (*chunkstore_removed_fn)(void *arg, const uint8_t id[DGFS_CHUNK_ID_LEN]);
void chunkstore_on_remove(struct chunkstore *cs, chunkstore_removed_fn fn, void *arg);
/* dgfs.ko's index follows the store from now on (before any request). */
void chunkstore_set_kmod(struct chunkstore *cs, struct kmod *kmod);
int chunkstore_dir_fd(const struct chunkstore *cs);
const char *chunkstore_dir(const struct chunkstore *cs);
struct chunkstore_stats *chunkstore_stats(struct chunkstore *cs);

/*
 * Makes sure chunk @id (whose content is @data, already hashed by the
 * caller) is stored, and pins it: it is not removed until unpinned, even
 * if a delete frees it meanwhile. *created says whether this call wrote
 * it. 0, -ENOSPC, -EDQUOT or -errno.
 */
int chunkstore_put(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
		   const void *data, uint32_t len, bool *created);
/*
 * Pins a chunk that is already stored (a commit from a chunk list, a
 * tag scan): 0 with *size (may be NULL), or -ENOENT.
 */
int chunkstore_pin_existing(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			    uint32_t *size);
/*
 * A download's pin on a chunk it is about to stream: the chunk stays until
 * chunkstore_read_unpin(). Never waits for the store lock (event threads
 * call it). 0, or -ENOENT when @need_file and the chunk's file is gone (a
 * delete or an overwrite just freed it: read the metadata again), -ENOMEM.
 * Without @need_file (a cluster, where other hosts hold chunks) the pin is
 * taken either way.
 */
int chunkstore_read_pin(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			bool need_file);
void chunkstore_read_unpin(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN]);
/*
 * The same for a commit: the chunk's file must be there, whole (its size
 * the metadata's), else -ENOENT and the client is asked for it (repair).
 */
int chunkstore_pin_file(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			uint32_t *size);
/*
 * Drops a pin. @discard: the pinning operation failed and wrote the chunk
 * itself, so the chunk goes once unpinned unless a file references it.
 */
void chunkstore_unpin(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN], bool discard);
/* Whether the chunk is stored (referenced, pinned, or a file present). */
bool chunkstore_has(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN]);
/*
 * The same for a client about to rely on it (POST /chunks/missing): an
 * uncommitted chunk found so gets a new --orphan-ttl, as a dedup hit in
 * chunkstore_put() or chunkstore_pin_existing() does.
 */
bool chunkstore_wanted(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN]);
/* Opens a chunk file read-only: fd or -errno. */
int chunkstore_open_chunk(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN]);
/*
 * This host's copy of a chunk that files may still reference, dropped
 * because other hosts hold it (repair.c: a draining host's copy, or a
 * surplus one): unless it is pinned (a read or write here now: -EBUSY) or
 * absent (-ENOENT), @forget(@arg) runs under the store lock with no read
 * able to pin the chunk, and only if it returns 0 (the database no longer
 * records this copy) does the file go. 0, those, or @forget's -errno (the
 * copy stays).
 */
int chunkstore_drop(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
		    int (*forget)(void *arg), void *arg);
/*
 * A chunk file's fd for a short read (pread only), often from a cache of
 * open files that the store empties of every file it removes or replaces;
 * fd or -errno. Give it back with chunkstore_read_fd_done(), never close().
 */
int chunkstore_read_fd(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN]);
void chunkstore_read_fd_done(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN], int fd);

/*
 * A write's conditions (If-Match, If-None-Match; "" when absent), checked
 * against the file's ETag under the store lock, so that no other write
 * comes between the check and the write.
 */
struct dgfsd_precond {
	char if_match[1024];
	char if_none_match[1024];
};

/*
 * Commits a file (meta_file_put) and removes what it freed. Holds the
 * store lock. -ECANCELED: @pre (may be NULL) does not hold.
 */
int chunkstore_commit(struct chunkstore *cs, const struct meta_file *f,
		      const struct dgfsd_precond *pre, bool *replaced);
/* Deletes a file and removes what it freed. 0, -ENOENT, -ECANCELED (@pre), -errno. */
int chunkstore_delete_file(struct chunkstore *cs, const char *path,
			   const struct dgfsd_precond *pre);
/* Whether @pre holds for @path now: 0, -ECANCELED, or -EIO. */
int chunkstore_precond(struct chunkstore *cs, const char *path, const struct dgfsd_precond *pre);

/*
 * A record that this host holds chunk @id (@size bytes; 0: not known)
 * whose file is absent or of another size: @forget(@arg) runs under the
 * store lock, so no write here can record the chunk meanwhile. 1 (the
 * record forgotten, *why "missing" or "the wrong size"), 0 (kept: the
 * file is there, or a write here has it pinned now), or @forget's -errno.
 * Never touches the file.
 */
int chunkstore_forget_lost(struct chunkstore *cs, const uint8_t id[DGFS_CHUNK_ID_LEN],
			   uint32_t size, const char **why, int (*forget)(void *arg), void *arg);

/*
 * Which chunks this host is meant to hold, for the start-up check of
 * missing files: in a cluster its own chunk_copies records, not every
 * chunk of the shared metadata. Checks each (logging one line for each
 * lost one) and returns how many were missing or of the wrong size.
 */
typedef unsigned long (*chunkstore_held_check)(void *arg);

/*
 * Start-up reconciliation (no requests are served yet): removes temp
 * files and chunk files no file references, reports the chunks this host
 * should hold whose file is missing (@held(@arg); NULL: every referenced
 * chunk, checked here), and makes dgfs.ko's index equal the referenced
 * chunks. Prints what it did.
 */
int chunkstore_reconcile(struct chunkstore *cs, chunkstore_held_check held, void *arg);

/*
 * dgfs.ko came back empty (reloaded while dgfsd ran): index every chunk
 * file again, requests being served meanwhile. Prints what it did; 0, or
 * -errno if some could not be added.
 */
int chunkstore_kmod_resync(struct chunkstore *cs);

/*
 * Removes chunk files that no file references and nobody pins, last
 * changed (written, or found by a dedup hit) at least @min_age seconds
 * ago: chunks uploaded with PUT /chunks and never committed. Returns how
 * many, or -errno.
 */
int chunkstore_collect(struct chunkstore *cs, unsigned int min_age);

/* ---- upload.c ---- */

struct dgfsd;
struct upload;

/* A streaming upload of f->path (@pre: its conditions, or NULL). NULL with errno. */
struct upload *upload_start(struct dgfsd *d, const char *path, const char *content_type,
			    const struct dgfsd_precond *pre);
/* Feeds body bytes: 0, or an HTTP status to fail with (the rest is ignored). */
unsigned int upload_feed(struct upload *u, const void *data, size_t len);
/*
 * The body is complete: stores the last chunk and commits. Returns the
 * HTTP status (201, 200, or an error) and fills @f with the file.
 */
unsigned int upload_finish(struct upload *u, struct meta_file *f, uint32_t *new_chunks,
			   uint64_t *new_bytes, const char **why);
/* Frees the upload; an unfinished one is abandoned (its new chunks go). */
void upload_free(struct upload *u);

/*
 * POST ?commit: a file from stored chunks. Returns the HTTP status; with
 * 409, *missing lists what the host lacks.
 */
unsigned int upload_commit_list(struct dgfsd *d, const char *path, const char *content_type,
				const struct dgfsd_precond *pre,
				const uint8_t (*ids)[DGFS_CHUNK_ID_LEN], size_t n,
				struct meta_file *f, struct meta_idlist *missing, bool *replaced,
				const char **why);

/* The HTTP status (507, 503, 500) and its reason for a store or metadata error. */
unsigned int dgfsd_errno_status(int err, const char **why);

/* libmagic's guess at a MIME type from the first bytes. */
void dgfsd_guess_type(const void *data, size_t len, char *out, size_t outlen);

/* ---- httpfilter.c: the XDP filter in front of the HTTP port ---- */

/*
 * @fn(@arg, why, whylen) in a child process, for calls into libxdp (it
 * leaks fds in a long-lived process, see main.c's follow_xdp()): its
 * return value (0 or -errno), and what it wrote to why in err.
 */
int dgfsd_call_in_child(int (*fn)(void *arg, char *why, size_t whylen), void *arg,
			char *err, size_t errlen);
/* --http-filter's interface exists: 0, or -1 after saying so. */
int http_filter_check_iface(const struct dgfsd_config *cfg);
/* Attach it (before privileges go): 0, or -1 after saying why. */
int http_filter_start(struct dgfsd *d);
/* Take it off again, if we attached it; a failure is only warned about. */
void http_filter_stop(struct dgfsd *d);

/* ---- metrics.c ---- */

void metrics_record(const char *method, unsigned int status, uint64_t duration_ns);
/* The Prometheus page (malloc'd, NUL-terminated). */
char *metrics_render(struct dgfsd *d, size_t *len);

/* ---- privs.c ---- */

/* --user NAME's ids; refused for root, an unknown user, or when not root. 0 or -1 (said). */
int privs_lookup(const char *name, uid_t *uid, gid_t *gid);
/*
 * The state directory, chunks/ and the files in both: made private
 * (directories 0700, files 0600 at most) and, unless @uid is -1, owned by
 * @uid:@gid. Symlinks are left alone. 0, or -1 (said) when the ownership
 * could not be given; without @uid a mode that cannot be fixed is a warning.
 */
int privs_state(const char *state_dir, uid_t uid, gid_t gid);
/*
 * Becomes @uid:@gid with no supplementary group, keeping only the
 * capabilities in the mask @keep (1 << CAP_x), effective and permitted,
 * the others dropped from the bounding set too; no_new_privs. Before any
 * thread starts. 0, or -1 (said).
 */
int privs_drop(uid_t uid, gid_t gid, uint64_t keep);
/*
 * Started as a user other than root with capabilities (systemd's
 * AmbientCapabilities=): keeps only those in @keep, ambient ones cleared.
 * Before any thread starts. 0, or -1 (said).
 */
int privs_trim(uint64_t keep);

/* ---- tls.c ---- */

/* The PEM text of --tls-cert and --tls-key, for libmicrohttpd. */
struct dgfsd_tls {
	char *cert_pem;			/* NULL: plain HTTP */
	size_t cert_len;
	char *key_pem;
	size_t key_len;
};

/*
 * Reads cfg->tls_cert and cfg->tls_key (both or neither) and checks that
 * they hold a certificate and its private key: 0 (@tls empty when neither
 * is set), or -1 after saying what is wrong.
 */
int tls_load(const struct dgfsd_config *cfg, struct dgfsd_tls *tls);
void tls_free(struct dgfsd_tls *tls);		/* wipes the key; an empty one is fine */
/*
 * Reads --cluster-ca into cfg->cluster_ca_pem and checks that it holds
 * only PEM certificates, at least one: 0 (nothing to do without it), or
 * -1 after saying what is wrong. Freed by tls_cluster_ca_free().
 */
int tls_cluster_ca_load(struct dgfsd_config *cfg);
void tls_cluster_ca_free(struct dgfsd_config *cfg);

/* ---- http.c ---- */

int http_start(struct dgfsd *d);
void http_stop(struct dgfsd *d);

/* ---- web.c: the web UI's directory (d->web_fd; -1 when there is none) ---- */

/* 0 (also with no web UI to serve), or -errno when --web-dir cannot be opened. */
int web_open(struct dgfsd *d);
void web_close(struct dgfsd *d);

/* ---- the daemon ---- */

struct userd_config;
struct userd_worker;

struct dgfsd {
	struct dgfsd_config cfg;
	struct meta *meta;
	/*
	 * A second connection to meta.db for the per-request key lookup: in
	 * WAL mode it reads without waiting for a commit's fsync on the first.
	 */
	struct meta *keys;
	uint8_t presign_secret[AUTH_PRESIGN_SECRET_LEN];
	struct accesslog *alog;
	struct kmod *kmod;		/* NULL: no dgfs.ko, the UDP tier serves */
	struct chunkstore *cs;
	uint8_t key[DGFS_AUTH_KEY_LEN];
	struct MHD_Daemon *mhd;
	struct dgfsd_tls tls;
	int web_fd;			/* the web UI's directory, or -1 */
	/* The UDP tier. */
	struct userd_config *ucfg;
	struct userd_worker **workers;
	pthread_t *worker_tids;
	unsigned int nworkers;
	struct reuseport_steer_bpf *udp_steer;	/* --udp-steer cpu, loaded until attached */
	struct userd_xsk_tier *xsk;	/* --af-xdp: opened before the drop, started with the tier */
	atomic_uint uploads;
	_Atomic uint64_t body_memory;	/* held against cfg.max_body_memory */
	/* The collector of uncommitted chunks. */
	pthread_t collector;
	bool collector_started;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	struct tagging *tagging;	/* NULL: no automatic tagging */
	struct cluster *cluster;	/* NULL: SQLite metadata, no cluster */
	struct repair *repair;		/* NULL: no replication (repair.c) */
	bool kmod_lost;			/* said that dgfs.ko cannot be reached */
	bool kmod_refill;		/* its set-up after a reload failed: again */
	bool xdp_followed;		/* XDP program loaded again at start, before the drop */
	bool http_filter_attached;	/* by us, at start: taken off at stop */
};

/* How often dgfsd looks whether dgfs.ko was reloaded under it. */
#define DGFSD_KMOD_WATCH_SECONDS 2

/* ---- state.c ---- */

/*
 * The host's auth key: 32 hex digits in auth.key (mode 0600), made from
 * libsodium's randomness on first start.
 */
int state_load_key(const char *state_dir, uint8_t key[DGFS_AUTH_KEY_LEN], bool *created);
/* @len (<= 64) random bytes kept as hex in STATE/@name, made if missing. 0 or -1 (said). */
int state_secret(const char *state_dir, const char *name, uint8_t *secret, size_t len,
		 bool *created);
/* @text into STATE/@name, mode 0600, atomically (temp file, fsync, rename). 0 or -1 (said). */
int state_write_private(const char *state_dir, const char *name, const char *text);

/* ---- keys_cli.c ---- */

/*
 * dgfsd key add|list|revoke ...: argv[0] is "key". The state directory is
 * -d's, else the config file's (-c, or dgfsd's default one). The exit code.
 */
int keys_cli_main(int argc, char **argv);
/* dgfsd drain (drain_cli.c). */
int drain_cli_main(int argc, char **argv);

/* ---- scrub.c ---- */

/* dgfsd scrub [-d DIR] [--repair]: argv[0] is "scrub". The exit code. */
int scrub_main(int argc, char **argv, const char *default_state_dir);

/* ---- accesslog.c ---- */

struct accesslog;

struct accesslog_entry {
	const char *client;		/* address, or "-" */
	int64_t key_id;			/* 0: none */
	bool presigned;
	const char *method;
	const char *path;		/* as the request line had it, without the query */
	unsigned int status;		/* 0: cut off before an answer */
	int64_t bytes;			/* response body; -1: not all sent */
	uint64_t duration_ns;
};

/* @path NULL, "" or "-": stderr; "off": no log. NULL with errno. */
struct accesslog *accesslog_open(const char *path);
/* SIGHUP: the file again (after a rotation); 0 or -errno. */
int accesslog_reopen(struct accesslog *l);
void accesslog_write(struct accesslog *l, const struct accesslog_entry *e);
void accesslog_close(struct accesslog *l);		/* NULL is fine */

#endif /* DGFSD_H */
