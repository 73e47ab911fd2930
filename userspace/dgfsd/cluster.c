// SPDX-License-Identifier: GPL-2.0
/*
 * Cluster membership on PostgreSQL (docs/CLUSTER.md).
 *
 * Each dgfsd keeps one connection of its own for membership, apart from
 * the metadata's: a heartbeat must not wait behind a long commit, and the
 * owner lock lives as long as this session does.
 *
 * - Liveness: the hosts row's heartbeat, set to the database's now() every
 *   --heartbeat seconds; a host is down once now() - heartbeat passes
 *   --down-after. Only the database's clock is read, so hosts' clocks may
 *   disagree.
 * - Identity: a row belongs to the session that registered it (session =
 *   its backend pid). Every heartbeat names that session, so a dgfsd whose
 *   id another one took over stops counting as alive at once.
 * - Ownership of background work: the session-level advisory lock
 *   PG_OWNER_LOCK. It goes when the owner's session ends, which covers a
 *   crash; an owner that is alive to PostgreSQL but silent (stopped, cut
 *   off) is fenced by the others: once its heartbeat is older than
 *   --down-after they terminate its session, which releases the lock and
 *   makes its next statement fail, so it learns it is no longer owner
 *   before it can commit anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "cluster.h"
#include "meta/pg_schema.h"
#include "pgq.h"

struct cluster {
	PGconn *conn;			/* under lock */
	pthread_mutex_t lock;
	bool registered;		/* this session owns our hosts row */
	bool said_down;			/* logged that the database is unreachable */
	bool said_in_use;		/* logged that a live dgfsd has our id */
	atomic_bool owner;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;	/* CLOCK_MONOTONIC */
	bool stopping;
	/* What this host registers. */
	char id[DGFSD_CLUSTER_NAME_MAX + 1];
	char addr[256];
	char zone[DGFSD_CLUSTER_NAME_MAX + 1];
	char http_port[8], udp_port[8], capacity[24], down_after[12];
	const char *tls;	/* "true": it serves HTTPS (hosts.tls) */
	unsigned int heartbeat;
	/* The live hosts as of the last heartbeat (placement's input). */
	pthread_mutex_t members_lock;
	struct cluster_member *members;
	size_t nmembers;
	/*
	 * Where chunk copies are (chunk_copies): a connection of its own, so
	 * that uploads recording copies never delay a heartbeat.
	 */
	PGconn *copies;
	pthread_mutex_t copies_lock;
	char uri[1024];
};

static void say(const struct cluster *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "dgfsd: cluster: host %s: ", c->id);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

/* The connection broke (or was terminated): whatever it held is gone. */
static void lost(struct cluster *c)
{
	if (PQstatus(c->conn) != CONNECTION_BAD)
		return;
	c->registered = false;
	if (atomic_exchange(&c->owner, false))
		say(c, "%s", "lost the connection: no longer the owner of background work");
}

/*
 * Runs @sql with text parameters. Returns the result when its status is
 * @want, else NULL after logging (and noting a broken connection).
 */
static PGresult *run(struct cluster *c, const char *sql, int n, const char *const *params,
		     ExecStatusType want, const char *what)
{
	PGresult *res = PQexecParams(c->conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) == want)
		return res;
	meta_pg_err(c->conn, res, what);
	PQclear(res);
	lost(c);
	return NULL;
}

static int run_cmd(struct cluster *c, const char *sql, int n, const char *const *params,
		   const char *what)
{
	PGresult *res = run(c, sql, n, params, PGRES_COMMAND_OK, what);

	PQclear(res);
	return res ? 0 : -EIO;
}

/*
 * The hosts row becomes this session's. A live host with the same id (its
 * session there, its heartbeat fresh) keeps it: -EADDRINUSE. One whose
 * session is there but silent is fenced first.
 */
static int register_host(struct cluster *c)
{
	const char *p[8] = { c->id, c->down_after };
	PGresult *res;
	int err;

	if (run_cmd(c, "BEGIN", 0, NULL, "register"))
		return -EIO;
	/* Two dgfsds starting with one id: the second sees the first's row. */
	res = run(c, "SELECT pg_advisory_xact_lock(" PG_HOSTS_LOCK ")", 0, NULL, PGRES_TUPLES_OK,
		  "register lock");
	PQclear(res);
	err = res ? 0 : -EIO;
	if (!err) {
		res = run(c,
			  "SELECT now() - h.heartbeat <= make_interval(secs => $2::int),\n"
			  "	h.session\n"
			  "FROM hosts h JOIN pg_stat_activity a ON a.pid = h.session\n"
			  "WHERE h.id = $1 AND h.session <> pg_backend_pid()",
			  2, p, PGRES_TUPLES_OK, "register");
		if (!res) {
			err = -EIO;
		} else if (PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t")) {
			/* Once per change: a dgfsd pushed out tries again at every heartbeat. */
			if (!c->said_in_use)
				fprintf(stderr, "dgfsd: cluster: host id %s is in use by a live dgfsd "
					"(heartbeat within %s s); give this one another --host-id\n",
					c->id, c->down_after);
			c->said_in_use = true;
			err = -EADDRINUSE;
		} else if (PQntuples(res) == 1) {
			const char *q[1] = { PQgetvalue(res, 0, 1) };
			PGresult *t;

			say(c, "%s", "taking over the id from a silent session of it");
			t = run(c, "SELECT pg_terminate_backend($1::int)", 1, q, PGRES_TUPLES_OK,
				"fence");
			err = t ? 0 : -EIO;
			PQclear(t);
		}
		PQclear(res);
	}
	if (!err) {
		p[0] = c->id;
		p[1] = c->addr;
		p[2] = c->http_port;
		p[3] = c->udp_port;
		p[4] = c->zone;
		p[5] = c->capacity;
		p[6] = c->tls;
		err = run_cmd(c,
			      "INSERT INTO hosts (id, addr, http_port, udp_port, zone, capacity,\n"
			      "	tls, started, heartbeat, session)\n"
			      "VALUES ($1, $2, $3::int, $4::int, $5, $6::bigint, $7::boolean, now(),\n"
			      "	now(), pg_backend_pid())\n"
			      "ON CONFLICT (id) DO UPDATE SET addr = EXCLUDED.addr,\n"
			      "	http_port = EXCLUDED.http_port, udp_port = EXCLUDED.udp_port,\n"
			      "	zone = EXCLUDED.zone, capacity = EXCLUDED.capacity, tls = EXCLUDED.tls,\n"
			      "	started = now(), heartbeat = now(), session = pg_backend_pid()",
			      7, p, "register");
	}
	if (!err)
		err = run_cmd(c, "COMMIT", 0, NULL, "register");
	if (err) {
		if (PQstatus(c->conn) == CONNECTION_OK)
			PQclear(PQexec(c->conn, "ROLLBACK"));
		return err;
	}
	if (c->said_in_use)
		say(c, "%s", "the host id is free again: registered");
	c->said_in_use = false;
	c->registered = true;
	return 0;
}

/*
 * One heartbeat: back on the database if the connection broke, the row
 * refreshed, and the owner lock tried for unless held. Under c->lock.
 */
static void refresh_members(struct cluster *c);

static void beat(struct cluster *c)
{
	const char *p[2] = { c->id, c->down_after };
	PGresult *res;

	if (!pgq_alive(c->conn)) {
		lost(c);
		PQreset(c->conn);
		if (PQstatus(c->conn) != CONNECTION_OK) {
			if (!c->said_down)
				say(c, "%s", "cannot reach the database; trying again");
			c->said_down = true;
			return;
		}
		if (c->said_down)
			say(c, "%s", "reached the database again");
		c->said_down = false;
	}
	if (!c->registered) {
		if (register_host(c))
			return;
	}
	res = run(c, "UPDATE hosts SET heartbeat = now() WHERE id = $1 AND session = pg_backend_pid()",
		  1, p, PGRES_COMMAND_OK, "heartbeat");
	if (!res)
		return;
	if (strcmp(PQcmdTuples(res), "1")) {
		/* Another dgfsd registered our id while we were silent. */
		say(c, "%s", "another dgfsd took this host id over; registering again");
		c->registered = false;
		PQclear(res);
		return;
	}
	PQclear(res);
	refresh_members(c);
	if (atomic_load(&c->owner))
		return;
	/* An owner silent past --down-after is fenced, so the lock can move. */
	res = run(c,
		  "SELECT pg_terminate_backend(h.session)\n"
		  "FROM hosts h JOIN pg_locks l ON l.pid = h.session\n"
		  "WHERE l.locktype = 'advisory' AND l.classid = " PG_LOCK_CLASS_SQL "\n"
		  "	AND l.objid = " PG_OWNER_LOCK_OBJID_SQL " AND l.objsubid = 1 AND l.granted\n"
		  "	AND now() - h.heartbeat > make_interval(secs => $2::int)\n"
		  "	AND h.id <> $1",
		  2, p, PGRES_TUPLES_OK, "fence the owner");
	if (res && PQntuples(res))
		say(c, "%s", "fenced the silent owner of background work");
	PQclear(res);
	if (!res)
		return;
	res = run(c, "SELECT pg_try_advisory_lock(" PG_OWNER_LOCK ")", 0, NULL, PGRES_TUPLES_OK,
		  "owner lock");
	if (res && !strcmp(PQgetvalue(res, 0, 0), "t")) {
		atomic_store(&c->owner, true);
		say(c, "%s", "owns the cluster's background work");
	}
	PQclear(res);
}

/* The live hosts into the members cache (under c->lock). */
static void refresh_members(struct cluster *c)
{
	const char *p[1] = { c->down_after };
	struct cluster_member *m;
	PGresult *res;
	int i, n;

	res = run(c,
		  "SELECT id, addr, http_port, zone, capacity, draining, tls, udp_port\n"
		  "FROM hosts\n"
		  "WHERE session IS NOT NULL AND now() - heartbeat <= make_interval(secs => $1::int)\n"
		  "ORDER BY id",
		  1, p, PGRES_TUPLES_OK, "live hosts");
	if (!res)
		return;		/* the last list stays */
	n = PQntuples(res);
	m = calloc(n ? (size_t)n : 1, sizeof(*m));
	if (!m) {
		PQclear(res);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(m[i].id, sizeof(m[i].id), "%s", PQgetvalue(res, i, 0));
		snprintf(m[i].addr, sizeof(m[i].addr), "%s", PQgetvalue(res, i, 1));
		m[i].http_port = (uint16_t)atoi(PQgetvalue(res, i, 2));
		snprintf(m[i].zone, sizeof(m[i].zone), "%s", PQgetvalue(res, i, 3));
		m[i].capacity = strtoull(PQgetvalue(res, i, 4), NULL, 10);
		m[i].draining = !strcmp(PQgetvalue(res, i, 5), "t");
		m[i].tls = !strcmp(PQgetvalue(res, i, 6), "t");
		m[i].udp_port = (uint16_t)atoi(PQgetvalue(res, i, 7));
	}
	PQclear(res);
	pthread_mutex_lock(&c->members_lock);
	free(c->members);
	c->members = m;
	c->nmembers = (size_t)n;
	pthread_mutex_unlock(&c->members_lock);
}

int cluster_members(struct cluster *c, struct cluster_member **out, size_t *n)
{
	pthread_mutex_lock(&c->members_lock);
	*n = c->nmembers;
	*out = malloc((c->nmembers ? c->nmembers : 1) * sizeof(**out));
	if (*out && c->nmembers)
		memcpy(*out, c->members, c->nmembers * sizeof(**out));
	pthread_mutex_unlock(&c->members_lock);
	return *out ? 0 : -ENOMEM;
}

/* The copies connection, back if it broke. Under copies_lock. */
static int copies_conn(struct cluster *c)
{
	if (!c->copies)
		c->copies = PQconnectdb(c->uri);
	else if (!pgq_alive(c->copies))
		PQreset(c->copies);
	if (PQstatus(c->copies) != CONNECTION_OK) {
		meta_pg_err(c->copies, NULL, "copies connection");
		return -EIO;
	}
	return 0;
}

static int copies_cmd(struct cluster *c, const char *sql, const uint8_t id[DGFS_CHUNK_ID_LEN],
		      const char *what)
{
	char hex[2 + 2 * DGFS_CHUNK_ID_LEN + 1] = "\\x";
	const char *p[2] = { hex, c->id };
	PGresult *res;
	int err;

	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, hex + 2);
	pthread_mutex_lock(&c->copies_lock);
	err = copies_conn(c);
	if (!err) {
		res = PQexecParams(c->copies, sql, 2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			err = meta_pg_err(c->copies, res, what);
		PQclear(res);
	}
	pthread_mutex_unlock(&c->copies_lock);
	return err;
}

int cluster_copy_add(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	return copies_cmd(c, "INSERT INTO chunk_copies (chunk_id, host_id) VALUES ($1::bytea, $2)\n"
			  "ON CONFLICT DO NOTHING", id, "record a copy");
}

int cluster_copy_del(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	return copies_cmd(c, "DELETE FROM chunk_copies WHERE chunk_id = $1::bytea AND host_id = $2",
			  id, "forget a copy");
}

int cluster_copy_drop(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN],
		      const char *const *owners, size_t k)
{
	char hex[2 + 2 * DGFS_CHUNK_ID_LEN + 1] = "\\x";
	char list[2 + DGFSD_REPLICAS_MAX * (DGFSD_CLUSTER_NAME_MAX + 3) + 1], *w = list;
	const char *p[3] = { hex, c->id, list };
	PGresult *res;
	size_t i;
	int err;

	if (!k || k > DGFSD_REPLICAS_MAX)
		return -EINVAL;
	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, hex + 2);
	/* Host ids are letters, digits, '.', '_', '-' (dgfsd_cluster_name_ok): quoted as is. */
	*w++ = '{';
	for (i = 0; i < k; i++)
		w += sprintf(w, "%s\"%s\"", i ? "," : "", owners[i]);
	*w++ = '}';
	*w = '\0';
	pthread_mutex_lock(&c->copies_lock);
	err = copies_conn(c);
	if (!err) {
		/*
		 * The owners' rows are locked before this host's goes: a host
		 * forgetting one of them meanwhile waits, then finds this row
		 * gone (or PostgreSQL ends one of the two for a deadlock).
		 */
		res = PQexecParams(c->copies,
				   "WITH o AS MATERIALIZED (SELECT host_id FROM chunk_copies\n"
				   "	WHERE chunk_id = $1::bytea AND host_id = ANY($3::text[]) FOR SHARE),\n"
				   "d AS (DELETE FROM chunk_copies WHERE chunk_id = $1::bytea AND host_id = $2\n"
				   "	AND (SELECT count(*) FROM o) = cardinality($3::text[]) RETURNING 1)\n"
				   "SELECT (SELECT count(*) FROM o) = cardinality($3::text[]),\n"
				   "	(SELECT count(*) FROM d)",
				   3, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			err = meta_pg_err(c->copies, res, "forget a copy its owners hold");
		else if (strcmp(PQgetvalue(res, 0, 0), "t"))
			err = -ESTALE;
		PQclear(res);
	}
	pthread_mutex_unlock(&c->copies_lock);
	return err;
}

int cluster_copy_hosts(struct cluster *c, const uint8_t id[DGFS_CHUNK_ID_LEN],
		       char (*ids)[DGFSD_CLUSTER_NAME_MAX + 1], size_t max, size_t *n)
{
	char hex[2 + 2 * DGFS_CHUNK_ID_LEN + 1] = "\\x";
	const char *p[1] = { hex };
	PGresult *res;
	int err, i;

	*n = 0;
	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, hex + 2);
	pthread_mutex_lock(&c->copies_lock);
	err = copies_conn(c);
	if (!err) {
		res = PQexecParams(c->copies,
				   "SELECT host_id FROM chunk_copies WHERE chunk_id = $1::bytea", 1,
				   NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			err = meta_pg_err(c->copies, res, "list copies");
		else
			for (i = 0; i < PQntuples(res) && *n < max; i++)
				snprintf(ids[(*n)++], DGFSD_CLUSTER_NAME_MAX + 1, "%s",
					 PQgetvalue(res, i, 0));
		PQclear(res);
	}
	pthread_mutex_unlock(&c->copies_lock);
	return err;
}

int cluster_copies_of(struct cluster *c, const uint8_t (*ids)[DGFS_CHUNK_ID_LEN], size_t n,
		      cluster_copy_cb cb, void *arg)
{
	/* "{hex,hex,...}": plain hex needs no quoting in an array literal. */
	char *list = malloc(2 + CLUSTER_COPIES_BATCH * (2 * DGFS_CHUNK_ID_LEN + 1) + 1);
	const char *p[1] = { list };
	size_t at, k, i;
	PGresult *res;
	int err = 0, row;

	if (!list)
		return -ENOMEM;
	for (at = 0; at < n && !err; at += k) {
		char *w = list;

		k = n - at < CLUSTER_COPIES_BATCH ? n - at : CLUSTER_COPIES_BATCH;
		*w++ = '{';
		for (i = 0; i < k; i++) {
			if (i)
				*w++ = ',';
			dgfs_hex_encode(ids[at + i], DGFS_CHUNK_ID_LEN, w);
			w += 2 * DGFS_CHUNK_ID_LEN;
		}
		*w++ = '}';
		*w = '\0';
		pthread_mutex_lock(&c->copies_lock);
		err = copies_conn(c);
		res = err ? NULL :
		      PQexecParams(c->copies,
				   "SELECT u.i - 1, k.host_id\n"
				   "FROM unnest($1::text[]) WITH ORDINALITY AS u(hex, i)\n"
				   "JOIN chunk_copies k ON k.chunk_id = decode(u.hex, 'hex')",
				   1, NULL, p, NULL, NULL, 0);
		if (!err && PQresultStatus(res) != PGRES_TUPLES_OK)
			err = meta_pg_err(c->copies, res, "list copies");
		pthread_mutex_unlock(&c->copies_lock);
		for (row = 0; !err && row < PQntuples(res); row++) {
			size_t idx = (size_t)strtoull(PQgetvalue(res, row, 0), NULL, 10);

			if (idx < k)
				err = cb(at + idx, PQgetvalue(res, row, 1), arg);
		}
		PQclear(res);
	}
	free(list);
	return err;
}

static void *heartbeat_run(void *arg)
{
	struct cluster *c = arg;
	struct timespec at;

	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&c->stop_lock);
	while (!c->stopping) {
		at.tv_sec += c->heartbeat;
		while (!c->stopping && pthread_cond_timedwait(&c->stop_cond, &c->stop_lock, &at) != ETIMEDOUT)
			;
		if (c->stopping)
			break;
		pthread_mutex_unlock(&c->stop_lock);
		pthread_mutex_lock(&c->lock);
		beat(c);
		pthread_mutex_unlock(&c->lock);
		/* A slow beat does not make the next ones come in a burst. */
		clock_gettime(CLOCK_MONOTONIC, &at);
		pthread_mutex_lock(&c->stop_lock);
	}
	pthread_mutex_unlock(&c->stop_lock);
	return NULL;
}

/* STATE/host.id, made once with a random id: a host keeps its id over restarts. */
static int load_host_id(const char *state_dir, char *id, size_t size)
{
	char path[600], buf[DGFSD_CLUSTER_NAME_MAX + 2];
	unsigned char rnd[6];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/host.id", state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		if (n < 0)
			n = 0;
		buf[n] = 0;
		if (!dgfsd_cluster_name_ok(buf)) {
			fprintf(stderr, "dgfsd: cluster: %s does not hold a host id "
				"(1 to %d letters, digits, '.', '_', '-')\n", path,
				DGFSD_CLUSTER_NAME_MAX);
			return -EINVAL;
		}
		memcpy(id, buf, (size_t)n + 1);	/* valid: n <= DGFSD_CLUSTER_NAME_MAX < size */
		return 0;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "dgfsd: cluster: cannot read %s: %s\n", path, strerror(errno));
		return -errno;
	}
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(id, size, "h-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		 rnd[5]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || dprintf(fd, "%s\n", id) < 0 || fsync(fd)) {
		fprintf(stderr, "dgfsd: cluster: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static void cluster_free(struct cluster *c)
{
	PQfinish(c->conn);
	PQfinish(c->copies);
	free(c->members);
	pthread_mutex_destroy(&c->members_lock);
	pthread_mutex_destroy(&c->copies_lock);
	sodium_memzero(c->uri, sizeof(c->uri));
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->stop_lock);
	pthread_cond_destroy(&c->stop_cond);
	free(c);
}

int cluster_start(struct dgfsd *d, struct cluster **out)
{
	const struct dgfsd_config *cfg = &d->cfg;
	pthread_condattr_t ca;
	struct statvfs vfs;
	struct cluster *c;
	uint64_t capacity = cfg->capacity;
	int err;

	*out = NULL;
	if (!cfg->metadata[0])
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->stop_lock, NULL);
	pthread_mutex_init(&c->members_lock, NULL);
	pthread_mutex_init(&c->copies_lock, NULL);
	snprintf(c->uri, sizeof(c->uri), "%s", cfg->metadata);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	c->heartbeat = cfg->heartbeat;
	snprintf(c->zone, sizeof(c->zone), "%s", cfg->zone);
	if (cfg->host_id[0])
		snprintf(c->id, sizeof(c->id), "%s", cfg->host_id);
	else if ((err = load_host_id(cfg->state_dir, c->id, sizeof(c->id))))
		goto fail;
	if (cfg->public_host[0])
		snprintf(c->addr, sizeof(c->addr), "%s", cfg->public_host);
	else if (gethostname(c->addr, sizeof(c->addr) - 1))
		snprintf(c->addr, sizeof(c->addr), "localhost");
	if (!capacity && !statvfs(cfg->state_dir, &vfs))
		capacity = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	snprintf(c->http_port, sizeof(c->http_port), "%u", cfg->http_port);
	snprintf(c->udp_port, sizeof(c->udp_port), "%u", cfg->udp_port);
	snprintf(c->capacity, sizeof(c->capacity), "%" PRIu64, capacity);
	c->tls = cfg->tls_cert[0] ? "true" : "false";
	snprintf(c->down_after, sizeof(c->down_after), "%u", cfg->down_after);

	/* The URI is not repeated in messages: it may hold a password. */
	c->conn = PQconnectdb(cfg->metadata);
	if (PQstatus(c->conn) != CONNECTION_OK) {
		err = meta_pg_err(c->conn, NULL, "cluster connection");
		goto fail;
	}
	pthread_mutex_lock(&c->lock);
	err = register_host(c);
	if (!err)
		beat(c);	/* the owner lock, if free, at once */
	pthread_mutex_unlock(&c->lock);
	if (err)
		goto fail;
	if (pthread_create(&c->thread, NULL, heartbeat_run, c)) {
		err = -EAGAIN;
		goto fail;
	}
	c->thread_started = true;
	fprintf(stderr, "dgfsd: cluster: registered as host %s (zone %s, %s:%s), heartbeat every "
		"%u s, down after %u s\n", c->id, c->zone, c->addr, c->http_port, cfg->heartbeat,
		cfg->down_after);
	*out = c;
	return 0;
fail:
	cluster_free(c);
	return err;
}

void cluster_stop(struct cluster *c)
{
	const char *p[1];

	if (!c)
		return;
	pthread_mutex_lock(&c->stop_lock);
	c->stopping = true;
	pthread_cond_signal(&c->stop_cond);
	pthread_mutex_unlock(&c->stop_lock);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	/* Down at once for the others, rather than after --down-after. */
	p[0] = c->id;
	if (c->registered && PQstatus(c->conn) == CONNECTION_OK)
		run_cmd(c, "UPDATE hosts SET session = NULL WHERE id = $1 AND session = pg_backend_pid()",
			1, p, "leave");
	cluster_free(c);	/* the session ends: the owner lock goes with it */
}

const char *cluster_host_id(const struct cluster *c)
{
	return c->id;
}

bool cluster_is_owner(struct cluster *c)
{
	return atomic_load(&c->owner);
}

static void copy_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

int cluster_hosts(struct cluster *c, cluster_host_cb cb, void *arg)
{
	const char *p[1] = { c->down_after };
	struct cluster_host h;
	PGresult *res;
	int i, err = 0;

	pthread_mutex_lock(&c->lock);
	if (!pgq_alive(c->conn)) {
		lost(c);
		PQreset(c->conn);
	}
	res = run(c,
		  "SELECT h.id, h.addr, h.http_port, h.udp_port, h.zone, h.capacity,\n"
		  "	h.session IS NOT NULL AND now() - h.heartbeat <= make_interval(secs => $1::int),\n"
		  "	h.session IS NULL,\n"
		  "	EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = h.session\n"
		  "		AND l.locktype = 'advisory' AND l.classid = " PG_LOCK_CLASS_SQL "\n"
		  "		AND l.objid = " PG_OWNER_LOCK_OBJID_SQL " AND l.objsubid = 1\n"
		  "		AND l.granted),\n"
		  "	floor(extract(epoch FROM now() - h.heartbeat) * 1000)::bigint,\n"
		  "	h.draining,\n"
		  /* Counted for a draining host only: a scrape must stay cheap. */
		  "	CASE WHEN h.draining THEN (SELECT count(*) FROM chunk_copies k\n"
		  "		JOIN chunks ch ON ch.id = k.chunk_id\n"
		  "		WHERE k.host_id = h.id AND ch.refs > 0) ELSE 0 END,\n"
		  "	h.tls\n"
		  "FROM hosts h ORDER BY h.id",
		  1, p, PGRES_TUPLES_OK, "list hosts");
	pthread_mutex_unlock(&c->lock);
	if (!res)
		return -EIO;
	for (i = 0; i < PQntuples(res) && !err; i++) {
		memset(&h, 0, sizeof(h));
		copy_field(h.id, sizeof(h.id), PQgetvalue(res, i, 0));
		copy_field(h.addr, sizeof(h.addr), PQgetvalue(res, i, 1));
		h.http_port = (uint16_t)atoi(PQgetvalue(res, i, 2));
		h.udp_port = (uint16_t)atoi(PQgetvalue(res, i, 3));
		copy_field(h.zone, sizeof(h.zone), PQgetvalue(res, i, 4));
		h.capacity = strtoull(PQgetvalue(res, i, 5), NULL, 10);
		h.up = !strcmp(PQgetvalue(res, i, 6), "t");
		h.stopped = !strcmp(PQgetvalue(res, i, 7), "t");
		h.owner = !strcmp(PQgetvalue(res, i, 8), "t");
		h.silent_ms = strtoll(PQgetvalue(res, i, 9), NULL, 10);
		h.draining = !strcmp(PQgetvalue(res, i, 10), "t");
		h.copies = strtoll(PQgetvalue(res, i, 11), NULL, 10);
		h.tls = !strcmp(PQgetvalue(res, i, 12), "t");
		err = cb(&h, arg);
	}
	PQclear(res);
	return err;
}

int cluster_set_draining(struct cluster *c, const char *id, bool on)
{
	const char *p[2] = { id, on ? "true" : "false" };
	PGresult *res;
	int err;

	pthread_mutex_lock(&c->copies_lock);
	err = copies_conn(c);
	if (!err) {
		res = PQexecParams(c->copies,
				   "UPDATE hosts SET draining = $2::boolean WHERE id = $1", 2, NULL,
				   p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			err = meta_pg_err(c->copies, res, "drain a host");
		else if (strcmp(PQcmdTuples(res), "1"))
			err = -ENOENT;
		PQclear(res);
	}
	pthread_mutex_unlock(&c->copies_lock);
	return err;
}

/*
 * One page of chunk rows after @after (NULL: from the start), at most
 * @max, by @sql whose $1 is @first, $2 the chunk id to start after and $3
 * the limit, its column 0 a chunk id: @row is given each row whose id
 * decodes and returns whether it took it; *n counts those.
 */
static int chunk_page(struct cluster *c, const char *sql, const char *first,
		      const uint8_t *after, size_t max, const char *what,
		      bool (*row)(PGresult *res, int i, const uint8_t *id, size_t n, void *arg),
		      void *arg, size_t *n)
{
	char hex[2 + 2 * DGFS_CHUNK_ID_LEN + 1] = "\\x", lim[24];
	const char *p[3] = { first, hex, lim };
	uint8_t id[DGFS_CHUNK_ID_LEN];
	PGresult *res;
	int err, i;

	*n = 0;
	if (after)
		dgfs_hex_encode(after, DGFS_CHUNK_ID_LEN, hex + 2);
	snprintf(lim, sizeof(lim), "%zu", max);
	pthread_mutex_lock(&c->copies_lock);
	err = copies_conn(c);
	if (!err) {
		res = PQexecParams(c->copies, sql, 3, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			err = meta_pg_err(c->copies, res, what);
		} else {
			for (i = 0; i < PQntuples(res) && *n < max; i++) {
				const char *idv = PQgetvalue(res, i, 0);

				/* bytea in hex output: "\x" and 64 digits. */
				if (strlen(idv) == 2 + 2 * DGFS_CHUNK_ID_LEN &&
				    !dgfs_hex_decode(idv + 2, id, DGFS_CHUNK_ID_LEN) &&
				    row(res, i, id, *n, arg))
					(*n)++;
			}
		}
		PQclear(res);
	}
	pthread_mutex_unlock(&c->copies_lock);
	return err;
}

static bool own_copy_row(PGresult *res, int i, const uint8_t *id, size_t n, void *arg)
{
	struct cluster_own_copy *out = arg;

	memcpy(out[n].id, id, DGFS_CHUNK_ID_LEN);
	out[n].size = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
	return true;
}

int cluster_own_copies(struct cluster *c, const uint8_t *after, struct cluster_own_copy *out,
		       size_t max, size_t *n)
{
	/* A record with no chunks row yet (a copy made before its file commits): size 0. */
	return chunk_page(c, "SELECT k.chunk_id, coalesce(c.size, 0)\n"
			  "FROM chunk_copies k LEFT JOIN chunks c ON c.id = k.chunk_id\n"
			  "WHERE k.host_id = $1 AND k.chunk_id > $2::bytea\n"
			  "ORDER BY k.chunk_id LIMIT $3::int",
			  c->id, after, max, "list this host's copies", own_copy_row, out, n);
}

/* "h1 h2 h3" into @ch's hosts. */
static void split_hosts(struct cluster_chunk *ch, const char *list)
{
	const char *p = list;

	ch->nhosts = 0;
	while (*p && ch->nhosts < CLUSTER_COPIES_MAX) {
		size_t len = strcspn(p, " ");

		if (len && len <= DGFSD_CLUSTER_NAME_MAX) {
			memcpy(ch->hosts[ch->nhosts], p, len);
			ch->hosts[ch->nhosts++][len] = 0;
		}
		p += len;
		p += strspn(p, " ");
	}
}

static bool chunk_row(PGresult *res, int i, const uint8_t *id, size_t n, void *arg)
{
	struct cluster_chunk *ch = (struct cluster_chunk *)arg + n;

	memcpy(ch->id, id, DGFS_CHUNK_ID_LEN);
	ch->size = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
	split_hosts(ch, PQgetvalue(res, i, 2));
	return true;
}

int cluster_chunks(struct cluster *c, const uint8_t *after, const char *holder,
		   struct cluster_chunk *out, size_t max, size_t *n)
{
	/* Host ids hold no spaces (dgfsd_cluster_name_ok): a space separates them. */
	return chunk_page(c, "SELECT c.id, c.size, coalesce(string_agg(k.host_id, ' '), '')\n"
			  "FROM chunks c LEFT JOIN chunk_copies k ON k.chunk_id = c.id\n"
			  "WHERE c.refs > 0 AND c.id > $2::bytea\n"
			  "	AND ($1 = '' OR EXISTS (SELECT 1 FROM chunk_copies m\n"
			  "		WHERE m.chunk_id = c.id AND m.host_id = $1))\n"
			  "GROUP BY c.id, c.size ORDER BY c.id LIMIT $3::int",
			  holder ? holder : "", after, max, "list chunks and copies", chunk_row, out, n);
}
