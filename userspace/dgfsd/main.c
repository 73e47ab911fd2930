// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd [OPTIONS]: the storage host's mainserver (docs/DGFSD.md).
 *
 * Start-up, in order: options (a config file, then the command line over
 * it), the TLS certificate and key if given, the state directory (made
 * private, and --user's), dgfs.ko's socket if it is loaded, the change to
 * --user (before any thread), the state (auth.key, meta.db, presign.key
 * and the first admin key made on first start), the access log, dgfs.ko's
 * set-up (store, key, port), reconciliation of the store, SQLite and the
 * module's index, the fast path's UDP tier when dgfs.ko is absent, and
 * last the HTTP service. Then the main thread only waits for signals:
 * SIGINT/SIGTERM stop, SIGHUP reopens the access log.
 *
 * `dgfsd key ...` manages API keys instead (keys_cli.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <linux/capability.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster.h"
#include "own_copies.h"
#include "repair.h"
#include "peer.h"
#include "repl.h"
#include "dgfsd.h"
#include "tags.h"
#include "dgfs_xdp_loader.h"
#include "server/userd.h"


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

static int make_dir(const char *path)
{
	/* Private: chunks, keys and metadata are nobody else's business. */
	if (mkdir(path, 0700) && errno != EEXIST)
		return bad("cannot create %s: %s", path, strerror(errno));
	return 0;
}

/*
 * --user: what dgfsd keeps of root. CAP_NET_ADMIN configures dgfs.ko over
 * netlink (every upload's chunk add, a reload's new set-up); without
 * dgfs.ko it is not needed. Not CAP_BPF: the XDP program is loaded again
 * (follow_xdp) before the drop, and later it could not be anyway, since
 * finding the attached program by id takes CAP_SYS_ADMIN.
 * CAP_NET_BIND_SERVICE only binds a port below 1024.
 */
static uint64_t needed_caps(const struct dgfsd *d)
{
	uint64_t keep = 0;

	if (d->kmod)
		keep |= 1ull << CAP_NET_ADMIN;
	if (d->cfg.http_port < 1024 || (!d->kmod && d->cfg.udp_port < 1024))
		keep |= 1ull << CAP_NET_BIND_SERVICE;
	return keep;
}

static int drop_privileges(struct dgfsd *d, uid_t uid, gid_t gid)
{
	uint64_t keep = needed_caps(d);

	if (privs_drop(uid, gid, keep))
		return -1;
	fprintf(stderr, "dgfsd: running as %s (uid %u), keeping %s%s%s\n", d->cfg.user,
		(unsigned int)uid, keep ? "" : "no capability",
		(keep & (1ull << CAP_NET_ADMIN)) ? "CAP_NET_ADMIN (dgfs.ko) " : "",
		(keep & (1ull << CAP_NET_BIND_SERVICE)) ? "CAP_NET_BIND_SERVICE (a port below 1024)" :
		"");
	return 0;
}

/*
 * dgfs_xdp_follow(), run in a child process (dgfsd_call_in_child). libxdp
 * 1.3 (Debian 12's) leaks the program fd of every xdp_program__from_id()
 * and multiprog lookup (xdp-tools issue #343, fixed in later releases): in
 * a daemon those fds would keep every program it ever looked at loaded,
 * and with them a reference on dgfs.ko, which then cannot be unloaded. A
 * child's fds go when it exits. (The child only calls into libxdp and
 * libbpf; glibc makes malloc safe to use after fork() in a threaded
 * process.)
 */
static int xdp_follow(void *arg, char *why, size_t whylen)
{
	const struct dgfsd *d = arg;

	return dgfs_xdp_follow(d->cfg.udp_port, d->cfg.max_read, why, whylen);
}

/*
 * An XDP program attached before holds the port and max read it was loaded
 * with: load it again with ours. Not fatal: until then the module's
 * sockets take our port's requests through the stack. Without
 * CAP_SYS_ADMIN (after --user, or under a unit that gives only
 * CAP_NET_ADMIN) the attached programs cannot be looked at: say so.
 */
static void follow_xdp(struct dgfsd *d)
{
	char err[512];
	int ret = dgfsd_call_in_child(xdp_follow, d, err, sizeof(err));

	if (ret)
		fprintf(stderr, "dgfsd: warning: the XDP program kept the old port and max read "
			"on %s%s\n", err, ret == -EPERM ? " (run `dgfsctl xdp attach IFNAME` as "
			"root to load it again for this port)" : "");
}

/* Our store, the key, the port and the max read into dgfs.ko. */
static int configure_kmod(struct dgfsd *d)
{
	int ret;

	ret = kmod_store_ensure(d->kmod, DGFSD_STORE_NAME, chunkstore_dir(d->cs));
	if (!ret)
		ret = kmod_config_set(d->kmod, d->cfg.auth ? d->key : NULL, d->cfg.udp_port,
				      d->cfg.max_read);
	if (ret)
		return ret;
	if (!d->xdp_followed)
		follow_xdp(d);
	d->xdp_followed = false;	/* a reloaded module's, from here on */
	return 0;
}

/* dgfs.ko's netlink socket, if it is there (see --kmod). */
static int open_kmod(struct dgfsd *d)
{
	int ret = kmod_open(&d->kmod);

	if (ret == -ENOENT) {
		d->kmod = NULL;
		if (d->cfg.kmod == DGFSD_KMOD_REQUIRE)
			return bad("dgfs.ko is not loaded (--kmod require)");
		return 0;
	}
	if (ret)
		return bad("cannot talk to dgfs.ko: %s", strerror(-ret));
	return 0;
}

/* dgfs.ko, if open_kmod found it, configured. */
static int setup_kmod(struct dgfsd *d)
{
	int ret;

	if (!d->kmod)
		return 0;
	ret = configure_kmod(d);
	if (ret)
		return bad("cannot configure dgfs.ko: %s", strerror(-ret));
	return 0;
}

/* The UDP tier's configuration, but for the key (read after the drop). */
static int udp_tier_config(struct dgfsd *d)
{
	struct userd_config *u;
	struct sockaddr_in6 *s6;

	if (d->ucfg)
		return 0;
	u = calloc(1, sizeof(*u));
	if (!u)
		return bad("out of memory");
	d->ucfg = u;
	s6 = (struct sockaddr_in6 *)&u->bind_addr;
	s6->sin6_family = AF_INET6;	/* dual stack: IPv4 clients too */
	s6->sin6_port = htons(d->cfg.udp_port);
	u->bind_len = sizeof(*s6);
	u->auth = d->cfg.auth;
	u->max_read = d->cfg.max_read;
	u->threads = d->cfg.udp_threads;
	u->verbose = d->cfg.verbose;
	u->gso = true;
	u->dir_fd = -1;
	atomic_init(&u->stop, false);
	return 0;
}

/*
 * --af-xdp: dgfs's XDP program on the interface and the AF_XDP sockets,
 * while dgfsd still has the privileges that takes (userd.h); they are
 * served once start_udp_tier() starts their threads. Only for the
 * userspace tier: dgfs.ko's program would be pushed aside. In-process,
 * unlike follow_xdp(): the sockets need the program's map, and what
 * libxdp 1.3 leaks on the way (the fds of programs it looked at) holds no
 * module, only the programs this attach replaced.
 */
static int open_af_xdp(struct dgfsd *d)
{
	char err[512];
	unsigned int n;

	if (d->kmod)
		return bad("--af-xdp %s: dgfs.ko is loaded and serves the fast path itself; "
			   "--af-xdp is for the userspace tier (--kmod off to use it)",
			   d->cfg.af_xdp);
	if (udp_tier_config(d))
		return -1;
	d->xsk = userd_xsk_tier_open(d->ucfg, d->cfg.af_xdp, d->cfg.af_xdp_skb, err,
				     sizeof(err));
	if (!d->xsk)
		return bad("--af-xdp %s: %s", d->cfg.af_xdp, err);
	n = userd_xsk_tier_queues(d->xsk);
	fprintf(stderr, "dgfsd: AF_XDP on %s (%s): %u queue%s, copy mode\n", d->cfg.af_xdp,
		d->cfg.af_xdp_skb ? "skb" : "native", n, n == 1 ? "" : "s");
	return 0;
}

static int start_udp_tier(struct dgfsd *d)
{
	struct userd_config *u;
	char err[512];
	unsigned int i;

	if (udp_tier_config(d))
		return -1;
	u = d->ucfg;
	d->workers = calloc(d->cfg.udp_threads, sizeof(*d->workers));
	d->worker_tids = calloc(d->cfg.udp_threads, sizeof(*d->worker_tids));
	if (!d->workers || !d->worker_tids)
		return bad("out of memory");
	u->key_set = true;
	memcpy(u->key, d->key, sizeof(u->key));
	u->steer = d->udp_steer ? USERD_STEER_CPU : USERD_STEER_HASH;
	u->dir_fd = chunkstore_dir_fd(d->cs);
	for (i = 0; i < d->cfg.udp_threads; i++) {
		struct userd_worker *w = userd_worker_create(u, i);

		if (!w)
			return bad("cannot open UDP port %u: %s", d->cfg.udp_port, strerror(errno));
		d->workers[i] = w;
		if (pthread_create(&d->worker_tids[i], NULL, userd_worker_run, w)) {
			userd_worker_destroy(w);
			d->workers[i] = NULL;
			return bad("cannot start a UDP worker");
		}
		d->nworkers++;
	}
	if (d->udp_steer) {
		int err = userd_steer_attach(d->udp_steer, d->workers, d->nworkers);

		userd_steer_free(d->udp_steer);
		d->udp_steer = NULL;
		if (err)
			return bad("--udp-steer cpu: cannot attach the BPF program: %s", strerror(-err));
	}
	if (d->xsk && userd_xsk_tier_start(d->xsk, err, sizeof(err)))
		return bad("--af-xdp %s: %s", d->cfg.af_xdp, err);
	return 0;
}

/*
 * dgfs.ko may be unloaded and loaded again (an upgrade) while dgfsd runs:
 * the new one has no store, no key and an empty index, and may have its
 * family under another id. Each look asks for our store; when it is not
 * there, the socket starts over (the id is resolved again) and asks once
 * more: still absent means a new module, configured and refilled here
 * (and again at the next look if that failed part way); unreachable means
 * no module for now (the clients fall back to HTTP), said once.
 */
static void kmod_watch(struct dgfsd *d)
{
	const char *dir = chunkstore_dir(d->cs);
	int ret;

	ret = kmod_store_check(d->kmod, DGFSD_STORE_NAME, dir);
	if (ret == 1 && !d->kmod_refill)
		return;
	if (ret != 1) {
		kmod_reset(d->kmod);
		ret = kmod_store_check(d->kmod, DGFSD_STORE_NAME, dir);
	}
	if (ret < 0) {
		if (!d->kmod_lost)
			fprintf(stderr, "dgfsd: dgfs.ko cannot be reached (%s): the fast path is "
				"down until it is back\n", strerror(-ret));
		d->kmod_lost = true;
		return;
	}
	d->kmod_lost = false;
	if (ret == 1 && !d->kmod_refill)
		return;
	/* A new module, or one whose set-up failed part way last time. */
	if (!d->kmod_refill)
		fprintf(stderr, "dgfsd: dgfs.ko is without our store (reloaded?): "
			"configuring it again\n");
	ret = configure_kmod(d);
	if (!ret)
		ret = chunkstore_kmod_resync(d->cs);
	if (ret)
		fprintf(stderr, "dgfsd: dgfs.ko not fully set up again (%s): next try in %u s\n",
			strerror(-ret), DGFSD_KMOD_WATCH_SECONDS);
	d->kmod_refill = ret != 0;
}

/*
 * Chunks a client uploaded for a commit that never came: looked for every
 * ttl/4 (at most a minute), removed once they are ttl old. With dgfs.ko,
 * also a look at the module every DGFSD_KMOD_WATCH_SECONDS.
 */
static void *collector_run(void *arg)
{
	struct dgfsd *d = arg;
	unsigned int every = d->cfg.orphan_ttl / 4, tick;
	struct timespec now, until, next_collect;
	int n;

	if (!every)
		every = 1;
	if (every > 60)
		every = 60;
	tick = d->kmod && every > DGFSD_KMOD_WATCH_SECONDS ? DGFSD_KMOD_WATCH_SECONDS : every;
	clock_gettime(CLOCK_REALTIME, &next_collect);
	next_collect.tv_sec += every;
	pthread_mutex_lock(&d->stop_lock);
	while (!d->stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += tick;
		pthread_cond_timedwait(&d->stop_cond, &d->stop_lock, &until);
		if (d->stopping)
			break;
		pthread_mutex_unlock(&d->stop_lock);
		if (d->kmod)
			kmod_watch(d);
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec >= next_collect.tv_sec) {
			next_collect.tv_sec = now.tv_sec + every;
			n = chunkstore_collect(d->cs, d->cfg.orphan_ttl);
			if (n > 0)
				fprintf(stderr, "dgfsd: removed %d uncommitted chunk%s older than "
					"%u s\n", n, n == 1 ? "" : "s", d->cfg.orphan_ttl);
		}
		pthread_mutex_lock(&d->stop_lock);
	}
	pthread_mutex_unlock(&d->stop_lock);
	return NULL;
}

static void stop_collector(struct dgfsd *d)
{
	if (!d->collector_started)
		return;
	pthread_mutex_lock(&d->stop_lock);
	d->stopping = true;
	pthread_cond_signal(&d->stop_cond);
	pthread_mutex_unlock(&d->stop_lock);
	pthread_join(d->collector, NULL);
	d->collector_started = false;
}

/*
 * The workers stopped, and with --af-xdp the program taken off the
 * interface; run as --user, dgfsd no longer may: it says so, and the
 * program stays, passing every request to the stack (its sockets are gone),
 * until the next start replaces it or `xdp-loader unload` removes it.
 */
static void stop_udp_tier(struct dgfsd *d)
{
	char err[512];
	unsigned int i;

	if (d->ucfg)
		atomic_store(&d->ucfg->stop, true);
	for (i = 0; i < d->nworkers; i++) {
		pthread_join(d->worker_tids[i], NULL);
		userd_worker_destroy(d->workers[i]);
	}
	d->nworkers = 0;
	if (userd_xsk_tier_close(d->xsk, err, sizeof(err)))
		fprintf(stderr, "dgfsd: warning: dgfs's XDP program stays on %s: %s\n",
			d->cfg.af_xdp, err);
	d->xsk = NULL;
	free(d->workers);
	free(d->worker_tids);
	free(d->ucfg);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX + 32];
	const char *meta_spec;
	struct dgfsd d;
	struct rlimit rl;
	mode_t old_umask;
	uid_t uid = 0;
	gid_t gid = 0;
	sigset_t sigs;
	bool created;
	int ret, sig;

	if (argc > 1 && !strcmp(argv[1], "key"))
		return keys_cli_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "drain"))
		return drain_cli_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "scrub"))
		return scrub_main(argc - 1, argv + 1, DGFSD_DEFAULT_STATE_DIR);
	memset(&d, 0, sizeof(d));
	d.web_fd = -1;
	dgfsd_config_defaults(&d.cfg);
	ret = dgfsd_parse_options(argc, argv, &d.cfg);
	if (ret)
		return ret;
	if (http_filter_check_iface(&d.cfg))
		return 2;	/* a bad setting, as the parser's */
	if (d.cfg.af_xdp[0] && !if_nametoindex(d.cfg.af_xdp))
		return bad("--af-xdp %s: no such interface", d.cfg.af_xdp), 2;
	if (dgfs_proto_init())
		return bad("cannot initialise libsodium"), 1;
	/* libcurl (the cluster's internal requests) before any thread. */
	if (peer_init())
		return bad("cannot initialise libcurl"), 1;
	/* Every request thread blocks these; only sigwait() below sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A download holds a chunk file open; many at once need many fds. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	ret = 1;
	/* First: a bad certificate or key stops dgfsd before it changes anything. */
	if (d.cfg.user[0] && privs_lookup(d.cfg.user, &uid, &gid))
		return 1;
	if (tls_load(&d.cfg, &d.tls))
		return 1;
	if (tls_cluster_ca_load(&d.cfg)) {
		tls_free(&d.tls);
		return 1;
	}
	if (web_open(&d))
		goto out;
	/* Needs root: before the privileges go. */
	if (http_filter_start(&d))
		goto out;
	/* The state is private (meta.db, and SQLite's WAL which takes its mode). */
	old_umask = umask(077);
	snprintf(path, sizeof(path), "%s/chunks", d.cfg.state_dir);
	if (make_dir(d.cfg.state_dir) || make_dir(path) ||
	    privs_state(d.cfg.state_dir, d.cfg.user[0] ? uid : (uid_t)-1,
			d.cfg.user[0] ? gid : (gid_t)-1))
		goto out;
	if (d.cfg.kmod != DGFSD_KMOD_OFF && open_kmod(&d))
		goto out;
	/* Before any capability goes: see follow_xdp() and needed_caps(). */
	if (d.kmod) {
		follow_xdp(&d);
		d.xdp_followed = true;
	}
	/* The UDP tier's steering program: loading needs CAP_BPF, so now. */
	if (!d.kmod && d.cfg.udp_steer_cpu) {
		d.udp_steer = userd_steer_load();
		if (!d.udp_steer) {
			bad("--udp-steer cpu: cannot load the BPF program: %s", strerror(errno));
			goto out;
		}
	}
	/* --af-xdp: attaching and the sockets need root too. */
	if (d.cfg.af_xdp[0] && open_af_xdp(&d))
		goto out;
	/* No thread runs yet: each one made from here on inherits what is kept. */
	if (d.cfg.user[0] ? drop_privileges(&d, uid, gid) : geteuid() && privs_trim(needed_caps(&d)))
		goto out;
	if (state_load_key(d.cfg.state_dir, d.key, &created))
		goto out;
	if (created)
		fprintf(stderr, "dgfsd: made a new auth key in %s/auth.key\n", d.cfg.state_dir);
	/* One key for the whole cluster: a manifest's tokens work on every replica. */
	if (d.cfg.cluster_secret_len)
		peer_fastpath_key(d.cfg.cluster_secret, d.cfg.cluster_secret_len, d.key);
	/* A URI is not repeated in messages: it may hold a password. */
	snprintf(path, sizeof(path), "%s/meta.db", d.cfg.state_dir);
	meta_spec = d.cfg.metadata[0] ? d.cfg.metadata : path;
	if (meta_open(meta_spec, &d.meta) || meta_open(meta_spec, &d.keys)) {
		bad("cannot open the metadata %s", d.cfg.metadata[0] ? "in PostgreSQL" : path);
		goto out;
	}
	if (auth_setup(d.cfg.state_dir, d.keys, d.presign_secret))
		goto out;
	if (cluster_start(&d, &d.cluster)) {
		bad("cannot join the cluster");
		goto out;
	}
	if (d.cluster && !d.cfg.cluster_secret_len)
		fprintf(stderr, "dgfsd: cluster: no --cluster-secret-file: chunks stay on the host "
			"that receives them (no replication, no reads from other hosts)\n");
	else if (d.cluster)
		fprintf(stderr, "dgfsd: cluster: %u replicas of each chunk, files commit with %u\n",
			d.cfg.replicas, d.cfg.write_quorum);
	umask(old_umask);
	d.alog = accesslog_open(d.cfg.access_log);
	if (!d.alog) {
		bad("cannot open the access log %s: %s", d.cfg.access_log, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/chunks", d.cfg.state_dir);
	if (chunkstore_open(path, d.meta, NULL, &d.cs)) {
		bad("cannot open the chunk store %s: %s", path, strerror(errno));
		goto out;
	}
	if (repl_on(&d))
		chunkstore_on_remove(d.cs, repl_removed, &d);
	if (setup_kmod(&d))
		goto out;
	chunkstore_set_kmod(d.cs, d.kmod);
	/* In a cluster, only the chunks this host's records say it holds. */
	if (chunkstore_reconcile(d.cs, d.cluster ? own_copies_at_start : NULL, &d))
		goto out;
	if (!d.kmod && start_udp_tier(&d))
		goto out;
	if (tagging_start(&d, &d.tagging)) {
		bad("cannot start the tagging workers");
		goto out;
	}
	pthread_mutex_init(&d.stop_lock, NULL);
	pthread_cond_init(&d.stop_cond, NULL);
	if (pthread_create(&d.collector, NULL, collector_run, &d)) {
		bad("cannot start the collector thread");
		goto out;
	}
	d.collector_started = true;
	if (repair_start(&d, &d.repair)) {
		bad("cannot start repair");
		goto out;
	}
	if (http_start(&d))
		goto out;
	fprintf(stderr, "dgfsd: serving %s: %s on %s%s%u, fast path on UDP %u by %s\n",
		d.cfg.state_dir, d.tls.cert_pem ? "HTTPS" : "HTTP",
		d.cfg.listen[0] ? d.cfg.listen : "port ",
		d.cfg.listen[0] ? ":" : "", d.cfg.http_port, d.cfg.udp_port,
		d.kmod ? "dgfs.ko" : "dgfsd (userspace tier)");
	fprintf(stderr, "dgfsd: access: API keys (Authorization: Bearer KEY) for all but /healthz%s%s"
		"; first admin key in %s/admin.key\n",
		d.cfg.public_read ? "; reading open to all (--public-read)" : "",
		d.cfg.public_metrics ? "; /metrics open to all (--public-metrics)" : "",
		d.cfg.state_dir);

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig != SIGHUP)
			break;
		ret = accesslog_reopen(d.alog);
		if (ret)
			bad("cannot reopen the access log %s: %s (still writing the old one)",
			    d.cfg.access_log, strerror(-ret));
	}
	fprintf(stderr, "dgfsd: stopping\n");
	ret = 0;
out:
	http_stop(&d);
	http_filter_stop(&d);
	repair_stop(d.repair);
	cluster_stop(d.cluster);
	tagging_stop(d.tagging);
	stop_collector(&d);
	stop_udp_tier(&d);
	userd_steer_free(d.udp_steer);	/* loaded, never attached */
	chunkstore_close(d.cs);
	kmod_close(d.kmod);
	accesslog_close(d.alog);
	tls_free(&d.tls);
	tls_cluster_ca_free(&d.cfg);
	web_close(&d);
	sodium_memzero(d.presign_secret, sizeof(d.presign_secret));
	sodium_memzero(d.cfg.cluster_secret, sizeof(d.cfg.cluster_secret));
	meta_close(d.keys);
	meta_close(d.meta);
	peer_cleanup();
	return ret;
}
