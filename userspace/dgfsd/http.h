/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside dgfsd's HTTP service: a request's state, and what the endpoint
 * files (files.c, chunks.c, keys_api.c) share with http.c to answer.
 * The routing table in http.c names each route's handler and the scope it
 * needs; a handler runs only after the caller was identified and allowed.
 */
#ifndef DGFSD_HTTP_H
#define DGFSD_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "bodies.h"
#include "dgfsd.h"
#include "httputil.h"
#include "offload.h"
#include "sendfile_step.h"

struct request;

/*
 * A route's handler, called once the headers are in: it answers, or sets
 * r->finish (and r->body_max) to answer once the body is in.
 */
typedef enum MHD_Result (*http_handler)(struct dgfsd *d, struct MHD_Connection *c,
					struct request *r);

struct request {
	uint64_t start_ns;
	char method[16];
	char url[1024];			/* for the access log, cut if longer */
	char client[64];		/* the peer's address, for the access log */
	unsigned int status;		/* 0 until answered */
	int64_t bytes;			/* the answer's body size */
	/* Who asked: a key, a presigned URL's key, or nobody (id 0). */
	struct meta_key who;
	bool presigned;
	bool arg_parsed;
	bool routed;			/* begin() has run */
	bool no_store;			/* the answer carries a key or a signature */
	/* The URL's argument, by route: a file path, a chunk id, a key id. */
	char path[DGFSD_PATH_MAX + 1];
	uint8_t id[DGFS_CHUNK_ID_LEN];
	int64_t key_id;
	/* A body that follows: fed to an upload, or kept whole for finish. */
	http_handler finish;
	struct upload *up;		/* PUT /files: the body streams into it */
	uint8_t *body;
	size_t body_len, body_cap, body_max;
	bool body_too_big;
	bool body_no_memory;		/* the global body budget is spent: 503 */
	bool json_body;			/* parsed as JSON: its allowance is paid too */
	uint64_t budget_held;		/* of d->body_memory, given back at the end */
	bool zstd;
	/*
	 * Work that may block runs on a thread of the request's own
	 * (offload.h), not on libmicrohttpd's event thread: each call's work
	 * is handed over with a copy of its piece of body.
	 */
	bool offloaded;			/* this request's work goes to off */
	bool off_final;			/* the final call's work was handed over */
	struct offload *off;
	struct dgfsd *off_d;
	struct MHD_Connection *off_c;
	const char *off_url, *off_method;	/* libmicrohttpd's, for the request's life */
	char *off_data;
	size_t off_len, off_cap;
	bool off_failed;		/* a piece of work returned MHD_NO: close */
	bool off_begin;			/* the work handed over is begin() */
	bool off_recall;		/* the first call's repeat is yet to come */
};

/* Bodies kept whole (JSON requests): /chunks/missing's 100000 ids fit. */
#define HTTP_JSON_BODY_MAX	(8u << 20)

/*
 * Takes @n bytes of the budget for request bodies (--max-body-memory, all
 * requests together) for @r, until it completes: false when spent.
 */
bool http_budget_take(struct dgfsd *d, struct request *r, uint64_t n);

/* Queues @resp (@size body bytes, for the access log) and drops our reference. */
/*
 * offload_run() for work handed over from outside the access handler (a
 * response's content reader): false, nothing handed over, once dgfsd is
 * stopping (http_stop waits for the work handed over before it).
 */
bool http_hand_over(struct offload *o, offload_fn fn, void *arg);

enum MHD_Result http_queue(struct MHD_Connection *c, struct request *r, unsigned int status,
			   struct MHD_Response *resp, uint64_t size);
struct MHD_Response *http_empty_response(void);
enum MHD_Result http_method_not_allowed(struct MHD_Connection *c, struct request *r,
					const char *allow);
/* 501: tags, search and the graph need a backend that has them (meta_has_tags). */
enum MHD_Result http_no_sql(struct MHD_Connection *c, struct request *r);
enum MHD_Result http_send_json(struct MHD_Connection *c, struct request *r, unsigned int status,
			       json_t *j);
enum MHD_Result __attribute__((format(printf, 4, 5)))
http_send_error(struct MHD_Connection *c, struct request *r, unsigned int status,
		const char *fmt, ...);
enum MHD_Result http_send_empty(struct MHD_Connection *c, struct request *r,
				unsigned int status);
/* Whether the query has @key (with or without a value). */
bool http_has_arg(struct MHD_Connection *c, const char *key);
const char *http_header(struct MHD_Connection *c, const char *name);
/*
 * The client's address: the TCP peer's, or with --trusted-proxy the one a
 * trusted proxy names in X-Forwarded-For. 0, or -1 if unknown.
 */
int http_client_addr(struct MHD_Connection *c, uint8_t addr[DGFS_ADDR_LEN]);
/* "https" when the client used TLS (ours, or a trusted proxy's), else "http". */
const char *http_scheme(struct dgfsd *d, struct MHD_Connection *c);
/* The address the client reached us at (the fast path's host by default). */
void http_local_host(struct MHD_Connection *c, char *buf, size_t len);

/* files.c: /files/ */
enum MHD_Result files_list(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result files_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result files_put(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result files_delete(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result files_commit(struct dgfsd *d, struct MHD_Connection *c, struct request *r);

/* chunks.c: /chunks/ */
enum MHD_Result chunks_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result chunks_put(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result chunks_missing(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
/* 200 with the whole chunk file open on @fd (taken), sent with sendfile(). */
enum MHD_Result chunk_send_fd(struct MHD_Connection *c, struct request *r, int fd);
/* chunks_parse_ids(), chunks_id_array(): bodies.h */

/* keys_api.c */
enum MHD_Result keys_api_list(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
/* cluster_api.c */
enum MHD_Result cluster_api_hosts(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result cluster_api_repair(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result cluster_api_drain(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result keys_api_add(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result keys_api_revoke(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result keys_api_presign(struct dgfsd *d, struct MHD_Connection *c, struct request *r);

/* internal_api.c: /internal/ between the hosts of a cluster */
/* Whether the request carries the cluster's signature; else an answer is queued in *ret. */
bool internal_api_allowed(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
			  const char *url, enum MHD_Result *ret);
enum MHD_Result internal_chunk_put(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result internal_chunk_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result internal_chunk_delete(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r);

/* web.c: the web UI's page (/) and assets (/assets/NAME) */
enum MHD_Result web_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
/* search_api.c: /search */
enum MHD_Result search_api_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result search_api_post(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
/* Query argument @key percent-decoded into *out (free it): 0, -ENOENT, -EINVAL, -ENOMEM. */
int search_arg(struct MHD_Connection *c, const char *key, char **out);

/* graph.c: /graph, /files/{path}?related */
enum MHD_Result graph_api_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result graph_api_related(struct dgfsd *d, struct MHD_Connection *c, struct request *r);

#endif /* DGFSD_HTTP_H */
