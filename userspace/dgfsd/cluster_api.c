// SPDX-License-Identifier: GPL-2.0
/*
 * GET /cluster/hosts (docs/HTTP.md): the cluster's members as the
 * database sees them. Admin keys only: it is the cluster's topology.
 */
#include <errno.h>

#include <jansson.h>

#include "cluster.h"
#include "http.h"

static int host_json(const struct cluster_host *h, void *arg)
{
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:s,s:I,s:b,s:b,s:b,s:I}", "id", h->id,
			      "addr", h->addr, "http_port", h->http_port, "udp_port",
			      h->udp_port, "zone", h->zone, "capacity", (json_int_t)h->capacity,
			      "up", h->up, "stopped", h->stopped, "owner", h->owner,
			      "silent_ms", (json_int_t)h->silent_ms);

	return json_array_append_new(arg, o) ? -ENOMEM : 0;
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
