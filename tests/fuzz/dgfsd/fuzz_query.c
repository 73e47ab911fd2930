// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the search language's parser (userspace/tags/query.c)
 * on any bytes. Checked besides the sanitizers: a refused query names a
 * position inside it (or just past its end) and a reason; an accepted one
 * stays inside the bounds (terms, nodes), its terms' positions lie inside
 * the query, and its canonical text parses back to the same tree and
 * prints the same again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tags/query.h"
#include "tags/tag.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_query: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

/* The canonical text can be longer than the query (numbers, quotes). */
#define PRINT_MAX	(16 * QUERY_MAX_LEN)

static void check_node(const struct query_node *n, size_t len, unsigned int depth)
{
	const struct query_node *k;
	unsigned int kids = 0;

	CHECK(depth <= 2 * QUERY_MAX_DEPTH + 2);
	CHECK(n->pos < len);
	switch (n->kind) {
	case QUERY_AND:
	case QUERY_OR:
	case QUERY_NOT:
		for (k = n->child; k; k = k->next) {
			check_node(k, len, depth + 1);
			kids++;
		}
		CHECK(kids == n->nkids && (n->kind == QUERY_NOT ? kids == 1 : kids >= 2));
		break;
	case QUERY_WORD:
	case QUERY_PHRASE:
		CHECK(n->text && *n->text && !n->child);
		break;
	case QUERY_TAG:
		CHECK(n->value && *n->value && strlen(n->value) <= TAG_VALUE_MAX);
		/* fall through */
	case QUERY_HAS:
	case QUERY_CMP:
		CHECK(n->name && *n->name && strlen(n->name) <= TAG_NAME_MAX && !n->child);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[PRINT_MAX], b[PRINT_MAX];
	struct query_error e = { 0 };
	struct query *q, *q2;
	int err, la, lb;

	err = query_parse((const char *)data, size, &q, &e);
	if (err) {
		CHECK(err == -EINVAL && !q);
		CHECK(e.msg && *e.msg && e.pos <= size);
		return 0;
	}
	CHECK(q && q->root && q->nterms >= 1 && q->nterms <= QUERY_MAX_TERMS &&
	      q->nnodes <= QUERY_MAX_NODES);
	check_node(q->root, size, 0);
	la = query_print(q->root, a, sizeof(a));
	CHECK(la > 0);
	err = query_parse(a, (size_t)la, &q2, &e);
	if (err)
		fprintf(stderr, "fuzz_query: %s refused at %zu: %s\n", a, e.pos, e.msg);
	CHECK(!err);
	CHECK(query_equal(q->root, q2->root));
	lb = query_print(q2->root, b, sizeof(b));
	CHECK(lb == la && !memcmp(a, b, (size_t)la));
	query_free(q2);
	query_free(q);
	return 0;
}
