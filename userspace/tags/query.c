// SPDX-License-Identifier: GPL-2.0
/*
 * The search language's parser (query.h): recursive descent straight over
 * the bytes, one function per rule of the grammar. The input is checked as
 * UTF-8 as it is read, so a position always points at a byte the user
 * typed; white space is Unicode's (an ideographic space separates terms
 * too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "query.h"
#include "tag.h"

struct parser {
	const char *s;
	size_t len, pos;
	unsigned int depth;
	struct query *q;
	struct query_error *err;
	int fail;			/* -EINVAL or -ENOMEM once failed */
};

static const char *const pseudo_names[] = { "size", "mtime" };

bool query_is_pseudo(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(pseudo_names) / sizeof(pseudo_names[0]); i++)
		if (!strcmp(name, pseudo_names[i]))
			return true;
	return false;
}

int query_value_number(const char *v, int64_t *out)
{
	const char *d = v && *v == '-' ? v + 1 : v;
	size_t n = d ? strspn(d, "0123456789") : 0;
	int64_t x = 0;
	size_t i;

	if (!n || n > 18 || d[n])
		return -EINVAL;
	for (i = 0; i < n; i++)
		x = x * 10 + (d[i] - '0');
	*out = d != v ? -x : x;
	return 0;
}

static int fail_at(struct parser *p, size_t pos, const char *msg)
{
	if (!p->fail) {
		p->fail = -EINVAL;
		p->err->pos = pos;
		p->err->msg = msg;
	}
	return p->fail;
}

static int fail_nomem(struct parser *p)
{
	if (!p->fail) {
		p->fail = -ENOMEM;
		p->err->pos = p->pos;
		p->err->msg = "out of memory";
	}
	return p->fail;
}

/* The code point at @pos and its length in *n; -1 for invalid UTF-8. */
static UChar32 peek_cp(const struct parser *p, size_t pos, size_t *n)
{
	int32_t i = (int32_t)pos;
	UChar32 c;

	U8_NEXT((const uint8_t *)p->s, i, (int32_t)p->len, c);
	*n = (size_t)i - pos;
	return c;
}

static bool at_end(const struct parser *p)
{
	return p->pos >= p->len;
}

/* Skips white space; fails on invalid UTF-8 there. */
static int skip_space(struct parser *p)
{
	size_t n;
	UChar32 c;

	while (!at_end(p)) {
		c = peek_cp(p, p->pos, &n);
		if (c < 0)
			return fail_at(p, p->pos, "invalid UTF-8");
		if (!u_isUWhiteSpace(c))
			break;
		p->pos += n;
	}
	return 0;
}

/* Whether the byte ends a bare run: white space is checked separately. */
static bool is_delim(char ch)
{
	return ch == '(' || ch == ')' || ch == '"';
}

static bool is_op_char(char ch)
{
	return ch == '=' || ch == '<' || ch == '>' || ch == '!';
}

/*
 * The end of a bare run from @pos: up to white space or ( ) ", and with
 * @stop_at_op also before an operator character. -1 on invalid UTF-8
 * (failed at its position).
 */
static ssize_t run_end(struct parser *p, size_t pos, bool stop_at_op)
{
	size_t n;
	UChar32 c;

	while (pos < p->len) {
		char ch = p->s[pos];

		if (is_delim(ch) || (stop_at_op && is_op_char(ch)))
			break;
		c = peek_cp(p, pos, &n);
		if (c < 0) {
			fail_at(p, pos, "invalid UTF-8");
			return -1;
		}
		if (u_isUWhiteSpace(c) || c == 0)
			break;
		pos += n;
	}
	return (ssize_t)pos;
}

static struct query_node *new_node(struct parser *p, enum query_kind kind, size_t pos)
{
	struct query_node *n;

	if (p->q->nnodes >= QUERY_MAX_NODES) {
		fail_at(p, pos, "the query is too complex");
		return NULL;
	}
	n = &p->q->nodes[p->q->nnodes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	if (kind >= QUERY_WORD && ++p->q->nterms > QUERY_MAX_TERMS) {
		fail_at(p, pos, "more than 64 terms");
		return NULL;
	}
	return n;
}

static char *dup_bytes(struct parser *p, const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d) {
		fail_nomem(p);
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

/*
 * A quoted string at p->pos (on its '"'): unescaped into a new string, its
 * length in *out_len. NULL on error (failed).
 */
static char *quoted(struct parser *p, size_t *out_len)
{
	size_t start = p->pos, i, o = 0;
	char *d;

	d = malloc(p->len - start + 1);
	if (!d) {
		fail_nomem(p);
		return NULL;
	}
	for (i = start + 1; i < p->len; i++) {
		char ch = p->s[i];

		if (ch == '"')
			break;
		if (ch == '\\') {
			if (i + 1 < p->len && (p->s[i + 1] == '"' || p->s[i + 1] == '\\')) {
				d[o++] = p->s[++i];
				continue;
			}
			free(d);
			fail_at(p, i, "a backslash in quotes escapes only \" or \\");
			return NULL;
		}
		if ((unsigned char)ch >= 0x80) {
			size_t n;

			if (peek_cp(p, i, &n) < 0) {
				free(d);
				fail_at(p, i, "invalid UTF-8");
				return NULL;
			}
			memcpy(d + o, p->s + i, n);
			o += n;
			i += n - 1;
			continue;
		}
		if (ch == 0) {
			free(d);
			fail_at(p, i, "a NUL byte");
			return NULL;
		}
		d[o++] = ch;
	}
	if (i >= p->len) {
		free(d);
		fail_at(p, start, "a quote is not closed");
		return NULL;
	}
	d[o] = 0;
	p->pos = i + 1;
	*out_len = o;
	return d;
}

/* An integer with an optional binary suffix (K, M, G, T): 0 or failed. */
static int parse_number(struct parser *p, const char *v, size_t pos, int64_t *out)
{
	const char *d = *v == '-' ? v + 1 : v;
	size_t n = strspn(d, "0123456789"), i;
	unsigned int shift = 0;
	uint64_t x = 0;

	if (!n)
		return fail_at(p, pos, "a comparison needs a number");
	if (d[n]) {
		const char *sfx = strchr("KMGT", d[n] & ~0x20);

		if (!sfx || !(d[n] & ~0x20) || d[n + 1])
			return fail_at(p, pos + (size_t)(d - v) + n,
				       "a number ends in K, M, G or T or nothing");
		shift = 10 * (unsigned int)(sfx - "KMGT" + 1);
	}
	for (i = 0; i < n; i++) {
		if (x > (UINT64_C(1) << 62) / 10)
			return fail_at(p, pos, "a number too large");
		x = x * 10 + (uint64_t)(d[i] - '0');
	}
	if (x > (UINT64_C(1) << 62) >> shift)
		return fail_at(p, pos, "a number too large");
	x <<= shift;
	*out = d != v ? -(int64_t)x : (int64_t)x;
	return 0;
}

/* name op value, with p->pos on the operator; @name normalised already. */
static struct query_node *comparison(struct parser *p, size_t start, char *name)
{
	static const struct { const char *s; enum query_op op; } ops[] = {
		{ "<=", QUERY_LE }, { ">=", QUERY_GE }, { "<", QUERY_LT }, { ">", QUERY_GT },
		{ "=", QUERY_EQ },
	};
	size_t i, vpos, vlen;
	enum query_op op = QUERY_EQ;
	struct query_node *n;
	bool was_quoted = false;
	const char *why;
	char *raw, *val;
	ssize_t end;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (p->len - p->pos >= strlen(ops[i].s) &&
		    !memcmp(p->s + p->pos, ops[i].s, strlen(ops[i].s)))
			break;
	if (i == sizeof(ops) / sizeof(ops[0])) {
		fail_at(p, p->pos, "! is no operator: write -name=value for not equal");
		goto out_name;
	}
	op = ops[i].op;
	p->pos += strlen(ops[i].s);
	vpos = p->pos;
	if (!at_end(p) && p->s[p->pos] == '"') {
		raw = quoted(p, &vlen);
		was_quoted = true;
	} else {
		end = run_end(p, p->pos, false);
		if (end < 0)
			goto out_name;
		if ((size_t)end == p->pos) {
			fail_at(p, p->pos, "a value after the operator");
			goto out_name;
		}
		raw = dup_bytes(p, p->s + p->pos, (size_t)end - p->pos);
		vlen = (size_t)end - p->pos;
		p->pos = (size_t)end;
	}
	if (!raw)
		goto out_name;
	if (op == QUERY_EQ && !was_quoted && !strcmp(raw, "*")) {
		free(raw);
		n = new_node(p, QUERY_HAS, start);
		if (n)
			n->name = name;
		else
			free(name);
		return n;
	}
	if (!was_quoted && strchr(raw, '*')) {
		fail_at(p, vpos + (size_t)(strchr(raw, '*') - raw),
			"* stands only for a whole value (name=*); quote a value holding one");
		goto out_raw;
	}
	if (op != QUERY_EQ || query_is_pseudo(name)) {
		int64_t num = 0;

		if (memchr(raw, 0, vlen) || parse_number(p, raw, vpos + was_quoted, &num))
			goto out_raw;
		free(raw);
		n = new_node(p, QUERY_CMP, start);
		if (!n)
			goto out_name;
		n->name = name;
		n->op = op;
		n->num = num;
		return n;
	}
	val = malloc(TAG_VALUE_MAX + 1);
	if (!val) {
		fail_nomem(p);
		goto out_raw;
	}
	if (tag_norm_value(raw, vlen, val, TAG_VALUE_MAX + 1, &why)) {
		free(val);
		fail_at(p, vpos, why);
		goto out_raw;
	}
	free(raw);
	n = new_node(p, QUERY_TAG, start);
	if (!n) {
		free(val);
		goto out_name;
	}
	n->name = name;
	n->value = val;
	return n;

out_raw:
	free(raw);
out_name:
	free(name);
	return NULL;
}

/* A bare run: a word, or a name followed by an operator. */
static struct query_node *term(struct parser *p)
{
	size_t start = p->pos, len;
	struct query_node *n;
	const char *why;
	char *name, *star;
	ssize_t end;

	end = run_end(p, start, true);
	if (end < 0)
		return NULL;
	len = (size_t)end - start;
	if (end < (ssize_t)p->len && is_op_char(p->s[end])) {
		if (!len) {
			fail_at(p, start, "a tag name before the operator");
			return NULL;
		}
		name = malloc(TAG_NAME_MAX + 1);
		if (!name) {
			fail_nomem(p);
			return NULL;
		}
		if (tag_norm_name(p->s + start, len, name, TAG_NAME_MAX + 1, &why)) {
			free(name);
			fail_at(p, start, why);
			return NULL;
		}
		p->pos = (size_t)end;
		return comparison(p, start, name);
	}
	if (!len) {
		fail_at(p, start, "a term");
		return NULL;
	}
	star = memchr(p->s + start, '*', len);
	if (star) {
		fail_at(p, (size_t)(star - p->s), "* stands only for a whole value (name=*)");
		return NULL;
	}
	n = new_node(p, QUERY_WORD, start);
	if (!n)
		return NULL;
	n->text = dup_bytes(p, p->s + start, len);
	if (!n->text)
		return NULL;
	/* A word that cannot be a tag name is searched in the text only. */
	n->name = malloc(TAG_NAME_MAX + 1);
	if (!n->name) {
		fail_nomem(p);
		return NULL;
	}
	if (tag_norm_name(n->text, len, n->name, TAG_NAME_MAX + 1, NULL)) {
		free(n->name);
		n->name = NULL;
	}
	p->pos = (size_t)end;
	return n;
}

/* Whether the bare run at p->pos is exactly the keyword @kw. */
static bool at_keyword(struct parser *p, const char *kw)
{
	size_t k = strlen(kw);
	ssize_t end;

	if (p->len - p->pos < k || memcmp(p->s + p->pos, kw, k))
		return false;
	end = run_end(p, p->pos, true);
	return end == (ssize_t)(p->pos + k) &&
	       !(end < (ssize_t)p->len && is_op_char(p->s[end]));
}

static struct query_node *parse_or(struct parser *p);

static int enter(struct parser *p, size_t pos)
{
	if (++p->depth > QUERY_MAX_DEPTH)
		return fail_at(p, pos, "nested deeper than 32");
	return 0;
}

static struct query_node *primary(struct parser *p)
{
	size_t start = p->pos, len;
	struct query_node *n;
	char *text;

	if (skip_space(p))
		return NULL;
	if (at_end(p)) {
		fail_at(p, p->pos, "a term at the end");
		return NULL;
	}
	switch (p->s[p->pos]) {
	case '(':
		if (enter(p, start))
			return NULL;
		p->pos++;
		n = parse_or(p);
		if (!n || skip_space(p))
			return NULL;
		if (at_end(p) || p->s[p->pos] != ')') {
			fail_at(p, at_end(p) ? start : p->pos,
				at_end(p) ? "a parenthesis is not closed" : "expected )");
			return NULL;
		}
		p->pos++;
		p->depth--;
		return n;
	case ')':
		fail_at(p, p->pos, "a ) without its (");
		return NULL;
	case '"':
		text = quoted(p, &len);
		if (!text)
			return NULL;
		if (!len || memchr(text, 0, len)) {
			free(text);
			fail_at(p, start, "an empty phrase");
			return NULL;
		}
		n = new_node(p, QUERY_PHRASE, start);
		if (!n) {
			free(text);
			return NULL;
		}
		n->text = text;
		return n;
	default:
		if (at_keyword(p, "AND") || at_keyword(p, "OR")) {
			fail_at(p, p->pos, "a term before AND or OR");
			return NULL;
		}
		return term(p);
	}
}

static struct query_node *unary(struct parser *p)
{
	size_t start;
	struct query_node *n, *kid;
	bool neg;

	if (skip_space(p))
		return NULL;
	start = p->pos;
	neg = !at_end(p) && p->s[p->pos] == '-';
	if (neg)
		p->pos++;
	else if (at_keyword(p, "NOT"))
		p->pos += 3, neg = true;
	if (!neg)
		return primary(p);
	if (enter(p, start))
		return NULL;
	if (skip_space(p))
		return NULL;
	if (at_end(p) || p->s[p->pos] == ')' || at_keyword(p, "OR") || at_keyword(p, "AND")) {
		fail_at(p, start, "a term after the negation");
		return NULL;
	}
	kid = unary(p);
	if (!kid)
		return NULL;
	p->depth--;
	n = new_node(p, QUERY_NOT, start);
	if (!n)
		return NULL;
	n->child = kid;
	n->nkids = 1;
	return n;
}

/* Joins @kid to list node @list, making @list from @first when NULL. */
static struct query_node *join(struct parser *p, enum query_kind kind, struct query_node *list,
			       struct query_node **last, struct query_node *first,
			       struct query_node *kid)
{
	if (!list) {
		list = new_node(p, kind, first->pos);
		if (!list)
			return NULL;
		list->child = first;
		list->nkids = 1;
		*last = first;
	}
	(*last)->next = kid;
	*last = kid;
	list->nkids++;
	return list;
}

/* Whether what follows ends an AND list: the end, a ), or OR. */
static bool and_ends(struct parser *p)
{
	return at_end(p) || p->s[p->pos] == ')' || at_keyword(p, "OR");
}

static struct query_node *parse_and(struct parser *p)
{
	struct query_node *first, *list = NULL, *last = NULL, *kid;
	size_t kw;

	first = unary(p);
	for (;;) {
		if (!first || skip_space(p))
			return NULL;
		if (and_ends(p))
			return list ? list : first;
		kw = p->pos;
		if (at_keyword(p, "AND")) {
			p->pos += 3;
			if (skip_space(p))
				return NULL;
			if (and_ends(p)) {
				fail_at(p, kw, "a term after AND");
				return NULL;
			}
		}
		kid = unary(p);
		if (!kid)
			return NULL;
		list = join(p, QUERY_AND, list, &last, first, kid);
		if (!list)
			return NULL;
	}
}

static struct query_node *parse_or(struct parser *p)
{
	struct query_node *first, *list = NULL, *last = NULL, *kid;
	size_t kw;

	if (skip_space(p))
		return NULL;
	if (!at_end(p) && at_keyword(p, "OR")) {
		fail_at(p, p->pos, "a term before OR");
		return NULL;
	}
	first = parse_and(p);
	for (;;) {
		if (!first || skip_space(p))
			return NULL;
		if (!at_keyword(p, "OR"))
			return list ? list : first;
		kw = p->pos;
		p->pos += 2;
		if (skip_space(p))
			return NULL;
		if (at_end(p) || p->s[p->pos] == ')' || at_keyword(p, "OR")) {
			fail_at(p, kw, "a term after OR");
			return NULL;
		}
		kid = parse_and(p);
		if (!kid)
			return NULL;
		list = join(p, QUERY_OR, list, &last, first, kid);
		if (!list)
			return NULL;
	}
}

static const struct query_node *canonical_past(const struct query_node *root, size_t limit);

void query_free(struct query *q)
{
	unsigned int i;

	if (!q)
		return;
	for (i = 0; i < q->nnodes; i++) {
		free(q->nodes[i].text);
		free(q->nodes[i].name);
		free(q->nodes[i].value);
	}
	free(q);
}

int query_parse(const char *s, size_t len, struct query **out, struct query_error *err)
{
	struct query_error dummy;
	struct parser p = { .s = s, .len = len, .err = err ? err : &dummy };
	const struct query_node *over;
	struct query_node *root;

	*out = NULL;
	if (!s && len)
		return fail_at(&p, 0, "no query");
	if (len > QUERY_MAX_LEN)
		return fail_at(&p, QUERY_MAX_LEN, "longer than 4096 bytes");
	p.q = calloc(1, sizeof(*p.q));
	if (!p.q)
		return fail_nomem(&p);
	if (skip_space(&p))
		goto fail;
	if (at_end(&p)) {
		fail_at(&p, p.pos, "an empty query");
		goto fail;
	}
	root = parse_or(&p);
	if (root && !skip_space(&p) && !at_end(&p))
		fail_at(&p, p.pos, p.s[p.pos] == ')' ? "a ) without its (" : "expected the end");
	if (!root || p.fail)
		goto fail;
	/*
	 * The canonical text must parse back, so it too keeps to the length
	 * bound: normalising (NFC can decompose), quoting a value and writing
	 * 1T out in digits can make it longer than the query typed.
	 */
	over = canonical_past(root, QUERY_MAX_LEN);
	if (over) {
		fail_at(&p, over->pos, "longer than 4096 bytes once written out canonically");
		goto fail;
	}
	p.q->root = root;
	*out = p.q;
	return 0;
fail:
	query_free(p.q);
	return p.fail ? p.fail : -EINVAL;
}

/* ---- printing ---- */

struct out {
	char *buf;
	size_t size, len;
	size_t limit;			/* what @over watches for */
	const struct query_node *over;	/* the first node whose text ends past @limit */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n < o->size)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_quoted(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			put(o, "\\", 1);
		put(o, s, 1);
	}
	put(o, "\"", 1);
}

/* Whether a value can be printed bare and read back as the same value. */
static bool value_is_bare(const char *v)
{
	const unsigned char *u = (const unsigned char *)v;

	if (!*u || !strcmp(v, "*") || strchr(v, '*'))
		return false;
	for (; *u; u++)
		if (*u <= ' ' || *u >= 0x80 || is_delim((char)*u))
			return false;
	return true;
}

/*
 * @up is the kind of @n's parent, or -1 at the top. A list is put in
 * parentheses only where the query it came from needed them too: not at
 * the top, not an AND inside an OR (AND binds tighter). So the text nests
 * no deeper than the query did and always parses back under the depth
 * bound.
 */
static void print_node(struct out *o, const struct query_node *n, int up)
{
	static const char *const opname[] = { "=", "<", "<=", ">", ">=" };
	const struct query_node *k;
	bool parens;
	char num[32];

	switch (n->kind) {
	case QUERY_AND:
	case QUERY_OR:
		parens = up >= 0 && !(n->kind == QUERY_AND && up == QUERY_OR);
		if (parens)
			put(o, "(", 1);
		for (k = n->child; k; k = k->next) {
			print_node(o, k, (int)n->kind);
			if (k->next)
				puts_(o, n->kind == QUERY_AND ? " " : " OR ");
		}
		if (parens)
			put(o, ")", 1);
		break;
	case QUERY_NOT:
		put(o, "-", 1);
		print_node(o, n->child, (int)n->kind);
		break;
	case QUERY_WORD:
		puts_(o, n->text);
		break;
	case QUERY_PHRASE:
		put_quoted(o, n->text);
		break;
	case QUERY_TAG:
		puts_(o, n->name);
		put(o, "=", 1);
		if (value_is_bare(n->value))
			puts_(o, n->value);
		else
			put_quoted(o, n->value);
		break;
	case QUERY_HAS:
		puts_(o, n->name);
		puts_(o, "=*");
		break;
	case QUERY_CMP:
		puts_(o, n->name);
		puts_(o, opname[n->op]);
		snprintf(num, sizeof(num), "%lld", (long long)n->num);
		puts_(o, num);
		break;
	}
	if (!o->over && o->len > o->limit)
		o->over = n;
}

/* The node of @root's canonical text whose text ends past @limit bytes, or NULL. */
static const struct query_node *canonical_past(const struct query_node *root, size_t limit)
{
	struct out o = { .limit = limit };	/* no buffer: only counts */

	print_node(&o, root, -1);
	return o.over;
}

int query_print(const struct query_node *n, char *buf, size_t size)
{
	struct out o = { .buf = buf, .size = size, .limit = SIZE_MAX };

	if (!n || !buf || !size)
		return -EINVAL;
	print_node(&o, n, -1);
	if (o.len >= size) {
		buf[0] = 0;
		return -ENOSPC;
	}
	buf[o.len] = 0;
	return (int)o.len;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool query_equal(const struct query_node *a, const struct query_node *b)
{
	const struct query_node *x, *y;

	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->nkids != b->nkids || !str_eq(a->text, b->text) ||
	    !str_eq(a->name, b->name) || !str_eq(a->value, b->value))
		return false;
	if (a->kind == QUERY_CMP && (a->op != b->op || a->num != b->num))
		return false;
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
		if (!query_equal(x, y))
			return false;
	return !x && !y;
}
