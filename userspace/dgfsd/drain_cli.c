// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd drain: a host of the cluster drained from the shell
 * (docs/CLUSTER.md, "Draining a host"), through any host's
 * POST /cluster/drain with an admin key ($DGFS_API_KEY).
 *
 *   dgfsd drain [--server URL] [--undo | --status] HOST_ID
 *
 * Prints the host's state; --status exits 0 once the host is drained
 * (nothing depends on it: it may be stopped), 1 while it is not yet.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "dgfsd.h"

#define DRAIN_ANSWER_MAX	(1u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfsd drain [--server URL] [--undo | --status] HOST_ID\n"
		"Marks HOST_ID of the cluster draining: placement passes it over and repair\n"
		"moves its copies to other hosts. --undo: no longer draining. --status: only\n"
		"says how far it is; exit 0 once it is drained (it may then be stopped), 1 if\n"
		"not yet. Asks the dgfsd at URL (default http://127.0.0.1:8080) with the admin\n"
		"key in $DGFS_API_KEY.\n");
}

struct answer {
	char *buf;
	size_t len;
};

static size_t take(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	char *p;

	if (a->len + len > DRAIN_ANSWER_MAX)
		return 0;
	p = realloc(a->buf, a->len + len + 1);
	if (!p)
		return 0;
	memcpy(p + a->len, data, len);
	a->buf = p;
	a->len += len;
	a->buf[a->len] = 0;
	return len;
}

/* One request; the status, or -1 when none came (said on stderr). */
static long call(const char *url, const char *key, const char *body, struct answer *a)
{
	struct curl_slist *hdrs = NULL, *h;
	char auth[512];
	long status = -1;
	CURLcode rc;
	CURL *curl = curl_easy_init();

	if (!curl)
		return -1;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	h = curl_slist_append(NULL, auth);
	hdrs = h;
	if (h && body)
		h = curl_slist_append(hdrs, "Content-Type: application/json");
	if (!h) {
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(curl);
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "dgfsd drain: %s: %s\n", url, curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return status;
}

/* The host's object in an answer (POST's, or one of GET /cluster/hosts'). */
static json_t *find_host(json_t *j, const char *id)
{
	json_t *hosts = json_object_get(j, "hosts"), *h;
	size_t i;

	if (!hosts)
		return json_is_string(json_object_get(j, "id")) ? j : NULL;
	json_array_foreach(hosts, i, h)
		if (json_is_string(json_object_get(h, "id")) &&
		    !strcmp(json_string_value(json_object_get(h, "id")), id))
			return h;
	return NULL;
}

int drain_cli_main(int argc, char **argv)
{
	enum { O_SERVER = 256, O_UNDO, O_STATUS };
	static const struct option opts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "undo", no_argument, NULL, O_UNDO },
		{ "status", no_argument, NULL, O_STATUS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = "http://127.0.0.1:8080", *key = getenv("DGFS_API_KEY"), *id;
	bool undo = false, status_only = false, drained;
	struct answer a = { NULL, 0 };
	char url[1024], *body = NULL;
	json_t *j, *h;
	long status;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SERVER:
			server = optarg;
			break;
		case O_UNDO:
			undo = true;
			break;
		case O_STATUS:
			status_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || (undo && status_only) || !dgfsd_cluster_name_ok(argv[optind])) {
		usage(stderr);
		return 2;
	}
	id = argv[optind];
	if (!key || !*key) {
		fprintf(stderr, "dgfsd drain: set DGFS_API_KEY to an admin key\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	snprintf(url, sizeof(url), "%s/cluster/%s", server, status_only ? "hosts" : "drain");
	if (!status_only) {
		j = json_pack("{s:s,s:b}", "host", id, "drain", !undo);
		body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (!body) {
			curl_global_cleanup();
			return 1;
		}
	}
	status = call(url, key, body, &a);
	free(body);
	curl_global_cleanup();
	j = a.buf ? json_loads(a.buf, 0, NULL) : NULL;
	if (status != 200) {
		const char *why = json_string_value(json_object_get(j, "error"));

		if (status > 0)
			fprintf(stderr, "dgfsd drain: %s answered %ld%s%s\n", server, status,
				why ? ": " : "", why ? why : "");
		json_decref(j);
		free(a.buf);
		return 1;
	}
	h = j ? find_host(j, id) : NULL;
	if (!h) {
		fprintf(stderr, "dgfsd drain: no host %s in the cluster\n", id);
		json_decref(j);
		free(a.buf);
		return 1;
	}
	drained = json_is_true(json_object_get(h, "drained"));
	printf("host %s: %s, %lld copies of referenced chunks left%s\n", id,
	       json_is_true(json_object_get(h, "draining")) ? "draining" : "not draining",
	       (long long)json_integer_value(json_object_get(h, "copies")),
	       drained ? ": drained, it may be stopped" : "");
	rc = status_only && !drained ? 1 : 0;
	json_decref(j);
	free(a.buf);
	return rc;
}
