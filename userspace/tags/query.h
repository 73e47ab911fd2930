/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The search language (docs/SEARCH.md): text in, a syntax tree out. Pure
 * code, no I/O; tag names and values in it are normalised by tag.c, so a
 * query names a tag exactly as the store spells it.
 *
 *   query   := or
 *   or      := and ("OR" and)*
 *   and     := unary (["AND"] unary)*          juxtaposition is AND
 *   unary   := ("-" | "NOT") unary | primary
 *   primary := "(" or ")" | "\"phrase\"" | term
 *   term    := word                             a bare tag or a word of the text
 *            | name "=" "*"                     any tag of that name
 *            | name ("=" | "<" | "<=" | ">" | ">=") value
 *   value   := bare run | "\"quoted\""          numbers may end in K, M, G, T
 *
 * Keywords are upper case (OR, AND, NOT); "or" is a word. A quoted string
 * takes \" and \\ escapes. Pseudo-tags name a file's own columns: size
 * (bytes) and mtime (Unix seconds), compared as numbers.
 *
 * Bounds: QUERY_MAX_LEN bytes (of the query and of its canonical text,
 * query_print()), QUERY_MAX_DEPTH nested parentheses or negations,
 * QUERY_MAX_TERMS terms. An error gives the byte offset where
 * the query went wrong and a short English reason.
 */
#ifndef DGFS_TAGS_QUERY_H
#define DGFS_TAGS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUERY_MAX_LEN		4096
#define QUERY_MAX_DEPTH		32
#define QUERY_MAX_TERMS		64
/* Every node is a term, an AND/OR (at most one per term) or a NOT (bounded by depth). */
#define QUERY_MAX_NODES		(2 * QUERY_MAX_TERMS + QUERY_MAX_TERMS * QUERY_MAX_DEPTH)

enum query_kind {
	QUERY_AND,
	QUERY_OR,
	QUERY_NOT,
	QUERY_WORD,	/* text: as typed; name: as a bare tag (NULL if it cannot be one) */
	QUERY_PHRASE,	/* text: the quoted words, searched in the text only */
	QUERY_TAG,	/* name=value, compared as strings */
	QUERY_HAS,	/* name=*: any value, or the bare tag */
	QUERY_CMP,	/* name op num: a numeric value (or a pseudo-tag) */
};

enum query_op { QUERY_EQ, QUERY_LT, QUERY_LE, QUERY_GT, QUERY_GE };

struct query_node {
	enum query_kind kind;
	enum query_op op;		/* QUERY_CMP */
	int64_t num;			/* QUERY_CMP */
	size_t pos;			/* where it starts in the query */
	char *text;			/* QUERY_WORD, QUERY_PHRASE */
	char *name;			/* QUERY_WORD (or NULL), QUERY_TAG, _HAS, _CMP */
	char *value;			/* QUERY_TAG */
	/* QUERY_AND, _OR: two or more; QUERY_NOT: one. */
	struct query_node *child, *next;
	unsigned int nkids;
};

struct query {
	struct query_node *root;
	unsigned int nnodes, nterms;
	struct query_node nodes[QUERY_MAX_NODES];
};

struct query_error {
	size_t pos;			/* byte offset in the query */
	const char *msg;		/* static storage */
};

/*
 * Parses @len bytes at @s: 0 with *out set (query_free() it), -EINVAL
 * with @err filled, or -ENOMEM.
 */
int query_parse(const char *s, size_t len, struct query **out, struct query_error *err);
void query_free(struct query *q);			/* NULL is fine */

/*
 * The canonical text of a (sub)tree, which parses back to the same tree:
 * NOT as "-", AND as " ", parentheses only where the tree needs them. Its
 * length, or -ENOSPC.
 */
int query_print(const struct query_node *n, char *buf, size_t size);

/* Whether two trees are the same (positions aside). */
bool query_equal(const struct query_node *a, const struct query_node *b);

/* Whether @name is a pseudo-tag, one of the file's own numeric columns. */
bool query_is_pseudo(const char *name);

/*
 * A tag value as a number, as comparisons read one: an optional '-' and
 * 1..18 decimal digits, nothing else. 0 with *out, or -EINVAL.
 */
int query_value_number(const char *v, int64_t *out);

#endif /* DGFS_TAGS_QUERY_H */
