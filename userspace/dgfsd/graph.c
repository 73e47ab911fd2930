// SPDX-License-Identifier: GPL-2.0
/*
 * The file graph (docs/SEARCH.md, "Graph"):
 *   GET /graph?file=PATH|tag=TAG[&depth=N][&limit=M]
 *       {"nodes": [{"id", "kind": "file"|"tag", "label"}],
 *        "edges": [{"source", "target", "weight"}]}
 *   GET /files/{path}?related[&limit=N]   {"files": [{"path", "score"}]}
 *
 * The graph is a breadth-first walk from one node: a file leads to its
 * tags (the rarest first), a tag to its files, up to @depth steps and
 * @limit nodes. A file-tag edge weighs the tag's rarity, idf = ln(N / df)
 * (N files, df of them with the tag); tags in the graph that share files
 * are joined by edges weighing how many files they share.
 *
 * Related files ("more like this") share tags with the file, each shared
 * tag adding its idf: a rare tag in common says more than a common one.
 * A key limited to a prefix sees only files under it, and N and df are
 * counted there too, so nothing about other files leaks through weights.
 * Implications are not followed here (a file's own tags only).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "dgfsd/search.h"
#include "dgfsd/pgq.h"
#include "http.h"
#include "tags/tag.h"

#define GRAPH_DEPTH_MAX		3
#define GRAPH_NODES_MAX		1000
#define GRAPH_NODES_DEFAULT	200
#define GRAPH_FANOUT		50	/* neighbours taken from one node */
#define GRAPH_COOCCUR_TAGS	64	/* tags (the rarest) given tag-tag edges */
#define RELATED_TAGS		32	/* the file's rarest tags compared */

struct gnode {
	bool is_tag;
	int64_t id;			/* files.id or tags.id */
	unsigned int depth;
	double idf;			/* tags */
	char *label;
};

struct graph {
	const char *prefix;		/* "" for all */
	size_t plen;
	unsigned int depth, limit;
	bool start_tag;
	const char *start_path;
	struct tag start;
	struct gnode *nodes;
	unsigned int n;
	json_t *edges;
	uint64_t *seen;			/* edges made, as open-addressed pair keys + 1 */
	size_t seen_cap;
	double nfiles;
	int err;			/* -ENOENT: no such start */
};

/* "substr(path, 1, ?N) = ?P" when a prefix applies, else "1". */
static void bind_prefix(sqlite3_stmt *st, int at, const struct graph *g)
{
	sqlite3_bind_int64(st, at, (sqlite3_int64)g->plen);
	sqlite3_bind_blob(st, at + 1, g->prefix, (int)g->plen, SQLITE_STATIC);
}

#define PREFIX_OK(col, n, p) "(?" #n " = 0 OR substr(" col ", 1, ?" #n ") = ?" #p ")"

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		fprintf(stderr, "dgfsd: graph: prepare: %s\n", sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

static int node_find(const struct graph *g, bool is_tag, int64_t id)
{
	unsigned int i;

	for (i = 0; i < g->n; i++)
		if (g->nodes[i].is_tag == is_tag && g->nodes[i].id == id)
			return (int)i;
	return -1;
}

static int node_add(struct graph *g, bool is_tag, int64_t id, unsigned int depth,
		    const char *label, int len, double idf)
{
	struct gnode *n;

	if (node_find(g, is_tag, id) >= 0)
		return 0;
	if (g->n >= g->limit)
		return -ENOSPC;
	n = &g->nodes[g->n];
	n->label = malloc((size_t)len + 1);
	if (!n->label)
		return -ENOMEM;
	memcpy(n->label, label, (size_t)len);
	n->label[len] = 0;
	n->is_tag = is_tag;
	n->id = id;
	n->depth = depth;
	n->idf = idf;
	g->n++;
	return 1;
}

static const char *node_key(const struct gnode *n, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%s", n->is_tag ? "tag" : "file", n->label);
	return buf;
}

/* Whether the edge between nodes @a and @b is new (and now recorded). */
static bool edge_new(struct graph *g, const struct gnode *a, const struct gnode *b)
{
	uint64_t i = (uint64_t)(a - g->nodes), j = (uint64_t)(b - g->nodes);
	uint64_t key = (i < j ? i * g->limit + j : j * g->limit + i) + 1;
	size_t h = (size_t)(key * 0x9e3779b97f4a7c15ull) & (g->seen_cap - 1);

	while (g->seen[h]) {
		if (g->seen[h] == key)
			return false;
		h = (h + 1) & (g->seen_cap - 1);
	}
	g->seen[h] = key;
	return true;
}

static int edge_add(struct graph *g, const struct gnode *a, const struct gnode *b, double w)
{
	char ka[META_PATH_MAX + 8], kb[META_PATH_MAX + 8];

	if (!edge_new(g, a, b))
		return 0;
	return json_array_append_new(g->edges, json_pack("{s:s,s:s,s:f}", "source",
				     node_key(a, ka, sizeof(ka)), "target",
				     node_key(b, kb, sizeof(kb)), "weight", w)) ? -ENOMEM : 0;
}

/* A tag's label: its canonical "name" or "name=value". */
static int tag_label(sqlite3_stmt *st, int col, char *buf, size_t size)
{
	const char *name = (const char *)sqlite3_column_text(st, col);
	const char *value = (const char *)sqlite3_column_text(st, col + 1);

	return snprintf(buf, size, "%s%s%s", name ? name : "", value && *value ? "=" : "",
			value ? value : "");
}

/* The neighbours of node @i, added (and joined by edges) while room is left. */
static int expand(sqlite3 *db, struct graph *g, unsigned int i, sqlite3_stmt *tags_of,
		  sqlite3_stmt *files_of)
{
	struct gnode self = g->nodes[i];
	sqlite3_stmt *st = self.is_tag ? files_of : tags_of;
	char label[TAG_STR_MAX + 1];
	int rc, err = 0, j, len;

	(void)db;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, self.id);
	bind_prefix(st, 2, g);
	sqlite3_bind_double(st, 4, g->nfiles);
	sqlite3_bind_int(st, 5, GRAPH_FANOUT);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		double idf = self.is_tag ? self.idf : sqlite3_column_double(st, 3);

		if (self.is_tag) {
			const void *p = sqlite3_column_blob(st, 1);

			len = sqlite3_column_bytes(st, 1);
			if (!p || len <= 0 || len > META_PATH_MAX)
				continue;
			err = node_add(g, false, id, self.depth + 1, p, len, 0);
		} else {
			len = tag_label(st, 1, label, sizeof(label));
			if (len < 0 || (size_t)len >= sizeof(label))
				continue;
			err = node_add(g, true, id, self.depth + 1, label, len, idf);
		}
		if (err == -ENOSPC)
			break;
		if (err < 0)
			return err;
		err = 0;
		j = node_find(g, !self.is_tag, id);
		err = edge_add(g, &g->nodes[i], &g->nodes[j], idf);
	}
	sqlite3_reset(st);
	return err == -ENOSPC ? 0 : err;
}

/* Tag-tag edges among the graph's rarest tags: files they share, under the prefix. */
static int cooccur(sqlite3 *db, struct graph *g)
{
	unsigned int idx[GRAPH_COOCCUR_TAGS], nt = 0, i, k;
	sqlite3_stmt *st;
	int err, rc;

	for (i = 0; i < g->n && nt < GRAPH_COOCCUR_TAGS; i++)
		if (g->nodes[i].is_tag)
			idx[nt++] = i;
	if (nt < 2)
		return 0;
	err = prep(db, "SELECT count(*) FROM file_tags a JOIN file_tags b ON b.file_id = a.file_id "
		   "AND b.tag_id = ?6 JOIN files f ON f.id = a.file_id WHERE a.tag_id = ?1 AND "
		   PREFIX_OK("f.path", 2, 3), &st);
	if (err)
		return err;
	for (i = 0; !err && i < nt; i++)
		for (k = i + 1; !err && k < nt; k++) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, g->nodes[idx[i]].id);
			bind_prefix(st, 2, g);
			sqlite3_bind_int64(st, 6, g->nodes[idx[k]].id);
			rc = sqlite3_step(st);
			if (rc != SQLITE_ROW) {
				err = -EIO;
				break;
			}
			if (sqlite3_column_int64(st, 0) > 0)
				err = edge_add(g, &g->nodes[idx[i]], &g->nodes[idx[k]],
					       (double)sqlite3_column_int64(st, 0));
		}
	sqlite3_finalize(st);
	return err;
}

/* N: the files the caller may see. */
static int count_files(sqlite3 *db, const char *prefix, size_t plen, double *n)
{
	sqlite3_stmt *st;
	int err = prep(db, "SELECT count(*) FROM files WHERE ?1 = 0 OR substr(path, 1, ?1) = ?2",
		       &st);

	if (err)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)plen);
	sqlite3_bind_blob(st, 2, prefix, (int)plen, SQLITE_STATIC);
	*n = sqlite3_step(st) == SQLITE_ROW ? (double)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
}

/*
 * A tag's df under the prefix, as a subquery on tag column @t; ln(N/df)
 * with N bound as ?4. Files outside the prefix are not counted.
 */
#define IDF(t) "ln(?4 / max(1, (SELECT count(*) FROM file_tags x JOIN files xf ON " \
	"xf.id = x.file_id WHERE x.tag_id = " t " AND " PREFIX_OK("xf.path", 2, 3) ")))"

static int run_graph(sqlite3 *db, void *arg)
{
	struct graph *g = arg;
	sqlite3_stmt *st = NULL, *tags_of = NULL, *files_of = NULL;
	char label[TAG_STR_MAX + 1];
	unsigned int i;
	int err, rc, len;

	err = count_files(db, g->prefix, g->plen, &g->nfiles);
	if (err)
		return err;
	if (g->start_tag) {
		err = prep(db, "SELECT id, name, value, " IDF("tags.id") " FROM tags "
			   "WHERE name = ?1 AND value = ?5", &st);
		if (err)
			return err;
		sqlite3_bind_text(st, 1, g->start.name, -1, SQLITE_STATIC);
		bind_prefix(st, 2, g);
		sqlite3_bind_double(st, 4, g->nfiles);
		sqlite3_bind_text(st, 5, g->start.value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			len = tag_label(st, 1, label, sizeof(label));
			err = node_add(g, true, sqlite3_column_int64(st, 0), 0, label, len,
				       sqlite3_column_double(st, 3));
		} else {
			err = rc == SQLITE_DONE ? -ENOENT : -EIO;
		}
	} else {
		err = prep(db, "SELECT id FROM files WHERE path = ?1", &st);
		if (err)
			return err;
		sqlite3_bind_blob(st, 1, g->start_path, (int)strlen(g->start_path), SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = node_add(g, false, sqlite3_column_int64(st, 0), 0, g->start_path,
				       (int)strlen(g->start_path), 0);
		else
			err = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	if (err < 0)
		return err;
	/* A file's tags, the rarest first; a tag's files (under the prefix), by path. */
	err = prep(db, "SELECT * FROM (SELECT t.id, t.name, t.value, " IDF("t.id") " AS idf "
		   "FROM file_tags ft JOIN tags t ON t.id = ft.tag_id WHERE ft.file_id = ?1) "
		   "ORDER BY idf DESC, name, value LIMIT ?5", &tags_of);
	if (!err)
		err = prep(db, "SELECT f.id, f.path FROM file_tags ft JOIN files f ON "
			   "f.id = ft.file_id WHERE ft.tag_id = ?1 AND " PREFIX_OK("f.path", 2, 3)
			   " ORDER BY f.path LIMIT ?5", &files_of);
	/* Breadth first: nodes are appended in order of depth. */
	for (i = 0; !err && i < g->n; i++)
		if (g->nodes[i].depth < g->depth)
			err = expand(db, g, i, tags_of, files_of);
	if (!err)
		err = cooccur(db, g);
	sqlite3_finalize(tags_of);
	sqlite3_finalize(files_of);
	return err;
}


/*
 * ---- the same walk on PostgreSQL (meta_run_pg) ----
 * The same statements in that dialect; every one takes the prefix as
 * $2 (its length) and $3 (its bytes) and N as $4, as above.
 */

#define PG_PREFIX_OK(col) "($2::integer = 0 OR substr(" col ", 1, $2::integer) = $3::bytea)"
/* ln(N/df), 0 when N is 0 (SQLite's ln(0) is NULL, read as 0; PostgreSQL's is an error). */
#define PG_IDF(t) "coalesce(CASE WHEN $4::float8 > 0 THEN ln($4::float8 / greatest(1, " \
	"(SELECT count(*) FROM file_tags x JOIN files xf ON xf.id = x.file_id WHERE x.tag_id = " \
	t " AND " PG_PREFIX_OK("xf.path") "))) END, 0)::float8"

/* $1 = @first (a bigint, or bytes when @first_bytes), $2 $3 the prefix, $4 N, then @more. */
static void pg_graph_params(struct pgq *p, int64_t first, const char *bytes, size_t blen,
			    const char *prefix, size_t plen, double n, char *nbuf, size_t nsize)
{
	p->n = 0;
	if (bytes)
		pgq_bytes(p, bytes, blen);
	else
		pgq_int(p, first);
	pgq_int(p, (int64_t)plen);
	pgq_bytes(p, prefix, plen);
	snprintf(nbuf, nsize, "%.17g", n);
	pgq_text(p, nbuf);
}

static int pg_count_files(PGconn *c, const char *prefix, size_t plen, double *n)
{
	struct pgq p;
	char nb[32];
	int64_t v = 0;
	int err;

	pg_graph_params(&p, 0, NULL, 0, prefix, plen, 0, nb, sizeof(nb));
	err = pgq_one_int(c, "SELECT count(*) FROM files WHERE $1::bigint = 0 AND $4::float8 = 0 "
			  "AND " PG_PREFIX_OK("path"), &p, "graph: files", &v);
	*n = (double)v;
	return err;
}

static int pg_tag_label(const PGresult *res, int row, int col, char *buf, size_t size)
{
	int nl = 0, vl = 0;
	const char *name = pgq_col_bytes(res, row, col, &nl);
	const char *value = pgq_col_bytes(res, row, col + 1, &vl);

	if (!name || !value)
		return -1;
	return snprintf(buf, size, "%.*s%s%.*s", nl, name, vl ? "=" : "", vl, value);
}

static int pg_expand(PGconn *c, struct graph *g, unsigned int i)
{
	struct gnode self = g->nodes[i];
	char label[TAG_STR_MAX + 1], nb[32];
	struct pgq p;
	PGresult *res;
	int64_t id;
	double idf;
	int row, err = 0, j, len;

	pg_graph_params(&p, self.id, NULL, 0, g->prefix, g->plen, g->nfiles, nb, sizeof(nb));
	pgq_int(&p, GRAPH_FANOUT);
	/* A file's tags, the rarest first; a tag's files (under the prefix), by path. */
	res = self.is_tag ?
	      pgq_exec(c, "SELECT f.id, f.path FROM file_tags ft JOIN files f ON f.id = ft.file_id "
		       "WHERE ft.tag_id = $1::bigint AND $4::float8 >= 0 AND " PG_PREFIX_OK("f.path")
		       " ORDER BY f.path LIMIT $5::bigint", &p, "graph: files of", &err) :
	      pgq_exec(c, "SELECT * FROM (SELECT t.id, t.name, t.value, " PG_IDF("t.id") " AS idf "
		       "FROM file_tags ft JOIN tags t ON t.id = ft.tag_id WHERE ft.file_id = $1::bigint) s "
		       "ORDER BY idf DESC, name COLLATE \"C\", value COLLATE \"C\" LIMIT $5::bigint",
		       &p, "graph: tags of", &err);
	if (!res)
		return err;
	for (row = 0; !err && row < PQntuples(res); row++) {
		if (pgq_col_int(res, row, 0, &id))
			continue;
		idf = self.idf;
		if (self.is_tag) {
			const char *path = pgq_col_bytes(res, row, 1, &len);

			if (!path || len <= 0 || len > META_PATH_MAX)
				continue;
			err = node_add(g, false, id, self.depth + 1, path, len, 0);
		} else {
			len = pg_tag_label(res, row, 1, label, sizeof(label));
			if (len < 0 || (size_t)len >= sizeof(label) || pgq_col_double(res, row, 3, &idf))
				continue;
			err = node_add(g, true, id, self.depth + 1, label, len, idf);
		}
		if (err == -ENOSPC)
			break;
		if (err < 0)
			break;
		j = node_find(g, !self.is_tag, id);
		err = edge_add(g, &g->nodes[i], &g->nodes[j], idf);
	}
	PQclear(res);
	return err == -ENOSPC ? 0 : err;
}

static int pg_cooccur(PGconn *c, struct graph *g)
{
	unsigned int idx[GRAPH_COOCCUR_TAGS], nt = 0, i, k;
	char nb[32];
	struct pgq p;
	int64_t n;
	int err = 0;

	for (i = 0; i < g->n && nt < GRAPH_COOCCUR_TAGS; i++)
		if (g->nodes[i].is_tag)
			idx[nt++] = i;
	for (i = 0; !err && nt >= 2 && i < nt; i++)
		for (k = i + 1; !err && k < nt; k++) {
			pg_graph_params(&p, g->nodes[idx[i]].id, NULL, 0, g->prefix, g->plen, 0, nb,
					sizeof(nb));
			pgq_int(&p, g->nodes[idx[k]].id);
			err = pgq_one_int(c, "SELECT count(*) FROM file_tags a JOIN file_tags b ON "
					  "b.file_id = a.file_id AND b.tag_id = $5::bigint JOIN files f "
					  "ON f.id = a.file_id WHERE a.tag_id = $1::bigint AND "
					  "$4::float8 = 0 AND " PG_PREFIX_OK("f.path"), &p,
					  "graph: shared files", &n);
			if (!err && n > 0)
				err = edge_add(g, &g->nodes[idx[i]], &g->nodes[idx[k]], (double)n);
		}
	return err;
}

static int pg_run_graph(PGconn *c, void *arg)
{
	struct graph *g = arg;
	char label[TAG_STR_MAX + 1], nb[32];
	struct pgq p;
	PGresult *res;
	unsigned int i;
	int64_t id;
	double idf;
	int err, len;

	err = pg_count_files(c, g->prefix, g->plen, &g->nfiles);
	if (err)
		return err;
	if (g->start_tag) {
		pg_graph_params(&p, 0, g->start.name, strlen(g->start.name), g->prefix, g->plen,
				g->nfiles, nb, sizeof(nb));
		pgq_text(&p, g->start.value);
		res = pgq_exec(c, "SELECT id, name, value, " PG_IDF("tags.id") " FROM tags "
			       "WHERE name = convert_from($1::bytea, 'UTF8') AND value = $5::text",
			       &p, "graph: start", &err);
		if (!res)
			return err;
		err = -ENOENT;
		if (PQntuples(res) && !pgq_col_int(res, 0, 0, &id) &&
		    !pgq_col_double(res, 0, 3, &idf)) {
			len = pg_tag_label(res, 0, 1, label, sizeof(label));
			err = len < 0 || (size_t)len >= sizeof(label) ? -EIO :
			      node_add(g, true, id, 0, label, len, idf);
		}
		PQclear(res);
	} else {
		p.n = 0;
		pgq_bytes(&p, g->start_path, strlen(g->start_path));
		err = pgq_one_int(c, "SELECT id FROM files WHERE path = $1::bytea", &p,
				  "graph: start", &id);
		if (!err)
			err = node_add(g, false, id, 0, g->start_path, (int)strlen(g->start_path), 0);
	}
	if (err < 0)
		return err;
	/* Breadth first: nodes are appended in order of depth. */
	for (i = 0, err = 0; !err && i < g->n; i++)
		if (g->nodes[i].depth < g->depth)
			err = pg_expand(c, g, i);
	return err ?: pg_cooccur(c, g);
}

static json_t *graph_nodes_json(const struct graph *g)
{
	char key[META_PATH_MAX + 8];
	json_t *arr = json_array();
	unsigned int i;

	for (i = 0; arr && i < g->n; i++)
		if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "id",
					  node_key(&g->nodes[i], key, sizeof(key)), "kind",
					  g->nodes[i].is_tag ? "tag" : "file", "label",
					  g->nodes[i].label))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static unsigned long arg_number(struct MHD_Connection *c, const char *key, unsigned long dflt,
				unsigned long min, unsigned long max, bool *bad)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	unsigned long x;
	char *end;

	if (!v)
		return dflt;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || !*v || *v == '-' || x < min || x > max)
		*bad = true;
	return x;
}

enum MHD_Result graph_api_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char *file = NULL, *tag = NULL;
	char path[DGFSD_PATH_MAX + 1];
	struct graph g = { .prefix = r->who.prefix, .plen = strlen(r->who.prefix) };
	const char *why;
	enum MHD_Result ret;
	bool bad = false;
	unsigned int i;
	json_t *nodes;
	int err;

	g.depth = (unsigned int)arg_number(c, "depth", 1, 0, GRAPH_DEPTH_MAX, &bad);
	if (bad)
		return http_send_error(c, r, 400, "bad depth (0 .. %d)", GRAPH_DEPTH_MAX);
	g.limit = (unsigned int)arg_number(c, "limit", GRAPH_NODES_DEFAULT, 1, GRAPH_NODES_MAX,
					   &bad);
	if (bad)
		return http_send_error(c, r, 400, "bad limit (1 .. %d)", GRAPH_NODES_MAX);
	err = search_arg(c, "file", &file);
	if (err != -ENOENT && err) {
		ret = http_send_error(c, r, 400, "bad file: a bad %%-escape or a NUL");
		goto out;
	}
	err = search_arg(c, "tag", &tag);
	if (err != -ENOENT && err) {
		ret = http_send_error(c, r, 400, "bad tag: a bad %%-escape or a NUL");
		goto out;
	}
	if (!file == !tag) {
		ret = http_send_error(c, r, 400, "give one of file=PATH or tag=TAG");
		goto out;
	}
	if (file) {
		/* MHD decoded the query already: the path checks of a URL path, on it as is. */
		why = strlen(file) > DGFSD_PATH_MAX ? "too long" : dgfsd_path_check(file, strlen(file), false);
		if (why) {
			ret = http_send_error(c, r, 400, "bad file: %s", why);
			goto out;
		}
		if (!auth_path_allowed(r->who.prefix, file)) {
			ret = http_send_error(c, r, 403, "this key reaches only %s", r->who.prefix);
			goto out;
		}
		snprintf(path, sizeof(path), "%s", file);
		g.start_path = path;
	} else if (tag_parse(tag, strlen(tag), &g.start, &why)) {
		ret = http_send_error(c, r, 400, "bad tag: %s", why);
		goto out;
	}
	g.start_tag = !file;
	g.nodes = calloc(g.limit, sizeof(*g.nodes));
	g.edges = json_array();
	/* Room for every edge the walk and cooccur() can make, at most half full. */
	for (g.seen_cap = 1024; g.seen_cap < 2 * ((size_t)g.limit * GRAPH_FANOUT +
		     GRAPH_COOCCUR_TAGS * GRAPH_COOCCUR_TAGS); g.seen_cap *= 2)
		;
	g.seen = calloc(g.seen_cap, sizeof(*g.seen));
	if (!g.nodes || !g.edges || !g.seen) {
		ret = http_send_error(c, r, 503, "out of memory");
		goto out;
	}
	err = meta_has_pg(d->meta) ? meta_run_pg(d->meta, false, pg_run_graph, &g) :
	      meta_run(d->meta, false, run_graph, &g);
	if (err == -ENOENT) {
		ret = http_send_error(c, r, 404, file ? "no such file" : "no such tag");
		goto out;
	}
	nodes = err ? NULL : graph_nodes_json(&g);
	if (!nodes) {
		ret = http_send_error(c, r, 500, "cannot make the graph");
		goto out;
	}
	ret = http_send_json(c, r, 200, json_pack("{s:o,s:O}", "nodes", nodes, "edges", g.edges));
out:
	for (i = 0; g.nodes && i < g.n; i++)
		free(g.nodes[i].label);
	free(g.nodes);
	free(g.seen);
	json_decref(g.edges);
	free(file);
	free(tag);
	return ret;
}

/* ---- related files ---- */

struct related {
	const char *path, *prefix;
	size_t plen;
	unsigned int limit;
	json_t *files;
};

static int run_related(sqlite3 *db, void *arg)
{
	struct related *rl = arg;
	sqlite3_stmt *st;
	double n;
	int err, rc;

	err = count_files(db, rl->prefix, rl->plen, &n);
	if (err)
		return err;
	/*
	 * The file's rarest tags, each weighing its idf (tags on half the
	 * files or more weigh nothing and are left out), summed per file that
	 * shares them.
	 */
	err = prep(db, "WITH me(id) AS (SELECT id FROM files WHERE path = ?1), "
		   "w(tag_id, w) AS (SELECT * FROM (SELECT ft.tag_id, " IDF("ft.tag_id") " AS w "
		   "FROM file_tags ft WHERE ft.file_id = (SELECT id FROM me)) WHERE w > ln(2) "
		   "ORDER BY w DESC LIMIT ?5) "
		   "SELECT f.path, sum(w.w) AS score FROM w JOIN file_tags o ON o.tag_id = w.tag_id "
		   "JOIN files f ON f.id = o.file_id WHERE o.file_id != (SELECT id FROM me) AND "
		   PREFIX_OK("f.path", 2, 3) " GROUP BY o.file_id ORDER BY score DESC, f.path "
		   "LIMIT ?6", &st);
	if (err)
		return err;
	sqlite3_bind_blob(st, 1, rl->path, (int)strlen(rl->path), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)rl->plen);
	sqlite3_bind_blob(st, 3, rl->prefix, (int)rl->plen, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, n);
	sqlite3_bind_int(st, 5, RELATED_TAGS);
	sqlite3_bind_int(st, 6, (int)rl->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);
		json_t *f;

		if (!p || len <= 0 || len > META_PATH_MAX)
			continue;
		f = json_pack("{s:s%,s:f}", "path", (const char *)p, (size_t)len, "score",
			      sqlite3_column_double(st, 1));
		if (f && json_array_append_new(rl->files, f)) {
			err = -ENOMEM;
			break;
		}
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "dgfsd: related: %s\n", sqlite3_errmsg(db));
		err = -EIO;
	}
	sqlite3_finalize(st);
	return err;
}


/* run_related() on PostgreSQL. */
static int pg_run_related(PGconn *c, void *arg)
{
	struct related *rl = arg;
	char nb[32];
	struct pgq p;
	PGresult *res;
	double n, score;
	int i, len, err;

	err = pg_count_files(c, rl->prefix, rl->plen, &n);
	if (err)
		return err;
	pg_graph_params(&p, 0, rl->path, strlen(rl->path), rl->prefix, rl->plen, n, nb, sizeof(nb));
	pgq_int(&p, RELATED_TAGS);
	pgq_int(&p, rl->limit);
	res = pgq_exec(c, "WITH me(id) AS (SELECT id FROM files WHERE path = $1::bytea), "
		       "w(tag_id, w) AS (SELECT * FROM (SELECT ft.tag_id, " PG_IDF("ft.tag_id")
		       " AS w FROM file_tags ft WHERE ft.file_id = (SELECT id FROM me)) s "
		       "WHERE w > ln(2) ORDER BY w DESC LIMIT $5::bigint) "
		       "SELECT f.path, sum(w.w)::float8 AS score FROM w JOIN file_tags o ON "
		       "o.tag_id = w.tag_id JOIN files f ON f.id = o.file_id WHERE o.file_id != "
		       "(SELECT id FROM me) AND " PG_PREFIX_OK("f.path") " GROUP BY o.file_id, "
		       "f.path ORDER BY score DESC, f.path LIMIT $6::bigint", &p, "related", &err);
	if (!res)
		return err;
	for (i = 0; !err && i < PQntuples(res); i++) {
		const char *path = pgq_col_bytes(res, i, 0, &len);
		json_t *f;

		if (!path || len <= 0 || len > META_PATH_MAX || pgq_col_double(res, i, 1, &score))
			continue;
		f = json_pack("{s:s%,s:f}", "path", path, (size_t)len, "score", score);
		if (f && json_array_append_new(rl->files, f))
			err = -ENOMEM;
	}
	PQclear(res);
	return err;
}

enum MHD_Result graph_api_related(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	struct related rl = { .path = r->path, .prefix = r->who.prefix,
			      .plen = strlen(r->who.prefix) };
	struct meta_file f;
	bool bad = false;
	int err;

	rl.limit = (unsigned int)arg_number(c, "limit", 20, 1, SEARCH_LIMIT_MAX, &bad);
	if (bad)
		return http_send_error(c, r, 400, "bad limit (1 .. %d)", SEARCH_LIMIT_MAX);
	if (meta_file_get(d->meta, r->path, &f, false))
		return http_send_error(c, r, 404, "no such file");
	rl.files = json_array();
	if (!rl.files)
		return http_send_error(c, r, 503, "out of memory");
	err = meta_has_pg(d->meta) ? meta_run_pg(d->meta, false, pg_run_related, &rl) :
	      meta_run(d->meta, false, run_related, &rl);
	if (err) {
		json_decref(rl.files);
		return http_send_error(c, r, 500, "cannot find related files");
	}
	return http_send_json(c, r, 200, json_pack("{s:s,s:o}", "path", r->path, "files",
						   rl.files));
}
