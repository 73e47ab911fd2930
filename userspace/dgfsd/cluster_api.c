// SPDX-License-Identifier: GPL-2.0
/*
 * GET /cluster/hosts (docs/HTTP.md): the cluster's members as the
 * database sees them; GET /cluster/repair: repair's progress, the
 * counters /metrics has (repair.c's, read here, not counted again);
 * POST /cluster/drain: a host drained, or no longer (docs/CLUSTER.md,
 * "Draining a host"). Admin keys only: it is the cluster's topology.
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "cluster.h"
#include "http.h"
#include "repair.h"
#include "repl.h"

static json_t *host_object(const struct cluster_host *h)
{
	/* Drained: nothing depends on it any more, it may be stopped. */
	return json_pack("{s:s,s:s,s:i,s:i,s:s,s:I,s:b,s:b,s:b,s:I,s:b,s:I,s:b,s:b}", "id", h->id,
			 "addr", h->addr, "http_port", h->http_port, "udp_port", h->udp_port,
			 "zone", h->zone, "capacity", (json_int_t)h->capacity, "up", h->up,
			 "stopped", h->stopped, "owner", h->owner,
			 "silent_ms", (json_int_t)h->silent_ms, "draining", h->draining,
			 "copies", (json_int_t)h->copies, "drained", h->draining && !h->copies,
			 "tls", h->tls);
}

static int host_json(const struct cluster_host *h, void *arg)
{
	return json_array_append_new(arg, host_object(h)) ? -ENOMEM : 0;
}

struct one_host {
	const char *id;
	json_t *found;
};

static int host_one(const struct cluster_host *h, void *arg)
{
	struct one_host *o = arg;

	if (!strcmp(h->id, o->id) && !o->found)
		o->found = host_object(h);
	return 0;
}

static enum MHD_Result drain(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	json_t *j = dgfsd_body_object(r->body, r->body_len), *on;
	struct one_host one = { NULL, NULL };
	enum MHD_Result ret;
	const char *id;
	int err;

	/* id points into j: every answer is made before it goes. */
	on = j ? json_object_get(j, "drain") : NULL;
	if (!j || dgfsd_json_opt_string(j, "host", &id) || !id || (on && !json_is_boolean(on)) ||
	    json_object_size(j) != 1u + !!on) {
		ret = http_send_error(c, r, 400, "expected {\"host\": ID, \"drain\": true|false "
				      "(optional, default true)}");
		goto out;
	}
	err = cluster_set_draining(d->cluster, id, !on || json_is_true(on));
	if (err == -ENOENT) {
		ret = http_send_error(c, r, 404, "no host %s in the cluster", id);
		goto out;
	}
	if (err) {
		ret = http_send_error(c, r, 503, "cannot reach the database");
		goto out;
	}
	fprintf(stderr, "dgfsd: cluster: host %s %s by key %lld\n", id,
		!on || json_is_true(on) ? "set draining" : "no longer draining",
		(long long)r->who.id);
	one.id = id;
	if (cluster_hosts(d->cluster, host_one, &one) || !one.found) {
		json_decref(one.found);
		ret = http_send_error(c, r, 503, "cannot read the cluster's hosts");
		goto out;
	}
	ret = http_send_json(c, r, 200, one.found);
out:
	json_decref(j);
	return ret;
}

enum MHD_Result cluster_api_drain(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	(void)c;
	if (!d->cluster || !d->cfg.cluster_secret_len)
		return http_send_error(c, r, 501, "draining needs a cluster with replication "
				       "(PostgreSQL metadata and --cluster-secret-file)");
	r->finish = drain;
	r->body_max = 4096;
	r->json_body = true;
	return MHD_YES;
}

enum MHD_Result cluster_api_hosts(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	json_t *hosts;

	if (!d->cluster)
		return http_send_error(c, r, 501, "cluster membership needs dgfsd's metadata in "
				       "PostgreSQL (--metadata postgresql://...)");
	hosts = json_array();
	if (!hosts || cluster_hosts(d->cluster, host_json, hosts)) {
		json_decref(hosts);
		return http_send_error(c, r, 503, "cannot read the cluster's hosts");
	}
	return http_send_json(c, r, 200, json_pack("{s:s,s:o}", "self",
						   cluster_host_id(d->cluster), "hosts", hosts));
}

/* Repair's figures as /metrics gives them (metrics.c), for the web UI. */
static json_t *repair_object(struct dgfsd *d)
{
	const struct repair_stats *rs = repair_stats();
	long long last = atomic_load(&rs->last_pass);

	return json_pack("{s:i,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I},s:I,s:I,s:I,s:o}",
			 "interval", (int)d->cfg.repair_interval,
			 "chunks", "short", (json_int_t)atomic_load(&rs->short_chunks),
			 "misplaced", (json_int_t)atomic_load(&rs->misplaced),
			 "lost", (json_int_t)atomic_load(&rs->lost),
			 "surplus", (json_int_t)atomic_load(&rs->surplus),
			 "copies", "copied", (json_int_t)atomic_load(&rs->copied),
			 "failed", (json_int_t)atomic_load(&rs->failed),
			 "refused", (json_int_t)atomic_load(&rs->refused),
			 "trims", "trimmed", (json_int_t)atomic_load(&rs->trimmed),
			 "failed", (json_int_t)atomic_load(&rs->trim_failed),
			 "bytes", (json_int_t)atomic_load(&rs->bytes),
			 "handed_off", (json_int_t)atomic_load(&rs->handed_off),
			 "passes", (json_int_t)atomic_load(&rs->passes),
			 "last_pass", last ? json_integer(last) : json_null());
}

enum MHD_Result cluster_api_repair(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	/* A single host: no cluster, so nothing to repair (not an error). */
	if (!d->cluster)
		return http_send_json(c, r, 200, json_pack("{s:b}", "cluster", 0));
	/* No replication: no repair thread, no figures (/metrics has none either). */
	return http_send_json(c, r, 200, json_pack("{s:b,s:s,s:b,s:o}", "cluster", 1,
						   "self", cluster_host_id(d->cluster),
						   "owner", cluster_is_owner(d->cluster),
						   "repair", repl_on(d) ? repair_object(d) :
						   json_null()));
}
