// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the search language's parser (userspace/tags/query.c):
 * each accepted query is checked against its canonical form written out
 * here by hand (parentheses only where the tree needs them), each
 * refused one against the byte position of its error; the bounds (length,
 * depth, terms) at and just past their limits.
 */

/* expect-checks: 82 (tests/run-all.sh: a run that prints fewer fails) */

#include "tags/tag.c"
#include "tags/query.c"

#include "check.h"

static void canon(const char *in, const char *want)
{
	char name[256], buf[8192];
	struct query_error e = { 0 };
	struct query *q, *q2;
	int err;

	snprintf(name, sizeof(name), "parse %s", in);
	err = query_parse(in, strlen(in), &q, &e);
	if (err) {
		printf("FAIL: %s (refused at %zu: %s)\n", name, e.pos, e.msg);
		failures++;
		return;
	}
	query_print(q->root, buf, sizeof(buf));
	if (strcmp(buf, want))
		printf("  got %s\n", buf);
	/* The canonical form must also read back as the same tree. */
	err = query_parse(buf, strlen(buf), &q2, &e);
	CHECK(name, !strcmp(buf, want) && !err && query_equal(q->root, q2->root));
	query_free(q);
	if (!err)
		query_free(q2);
}

static void refused(const char *in, size_t len, size_t pos)
{
	char name[256];
	struct query_error e = { 0 };
	struct query *q = (struct query *)1;
	int err;

	snprintf(name, sizeof(name), "refuse %.60s at %zu", in, pos);
	err = query_parse(in, len, &q, &e);
	if (!err || e.pos != pos)
		printf("  err %d at %zu: %s\n", err, e.pos, e.msg ? e.msg : "");
	CHECK(name, err == -EINVAL && e.pos == pos && e.msg && *e.msg && !q);
	if (!err)
		query_free(q);
}

static const struct query_node *kid(const struct query_node *n, int i)
{
	for (n = n->child; n && i--; n = n->next)
		;
	return n;
}

int main(void)
{
	struct query_error e;
	struct query *q;
	char *big, *want;
	size_t len;
	int i;

	/* Operators and their precedence: AND binds tighter than OR. */
	canon("a", "a");
	canon("a b", "a b");
	canon("a AND b", "a b");
	canon("a OR b", "a OR b");
	canon("a b OR c", "a b OR c");
	canon("(a b) OR (c)", "a b OR c");
	canon("a OR b c", "a OR b c");
	canon("a (b OR c)", "a (b OR c)");
	canon("(a OR b) OR c", "(a OR b) OR c");
	canon("-a", "-a");
	canon("NOT a", "-a");
	canon("- a", "-a");
	canon("--a", "--a");
	canon("-(a b)", "-(a b)");
	canon("NOT(a OR b) c", "-(a OR b) c");
	canon("((a))", "a");
	canon("a or b", "a or b");		/* keywords are upper case */
	canon("e-mail x", "e-mail x");
	canon("a\xe3\x80\x80" "b", "a b");	/* U+3000 ideographic space */
	/* Tags: names normalised (case folded), values kept in case. */
	canon("Type=Image", "type=Image");
	canon("artist=\"Miles Davis\"", "artist=\"Miles Davis\"");
	canon("artist=\" Miles \"", "artist=Miles");
	canon("x=\"a\\\"b\"", "x=\"a\\\"b\"");
	canon("mime=image/jpeg", "mime=image/jpeg");
	canon("gps=*", "gps=*");
	canon("x=\"*\"", "x=\"*\"");		/* a literal star */
	canon("url=a=b", "url=a=b");
	canon("(type=text)", "type=text");
	/* Comparisons and pseudo-tags. */
	canon("year>=2020", "year>=2020");
	canon("year<2020 year>1999", "year<2020 year>1999");
	canon("size>1M", "size>1048576");
	canon("size<=2k", "size<=2048");
	canon("size=1G", "size=1073741824");
	canon("mtime>1700000000", "mtime>1700000000");
	canon("t>-5", "t>-5");
	canon("year>=\"2020\"", "year>=2020");
	/* Phrases and words. */
	canon("\"hello world\"", "\"hello world\"");
	canon("\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad\xe6\x96\x87");
	canon("a\"b c\"", "a \"b c\"");

	/* The tree itself, for one query. */
	if (!query_parse("Cat OR year>=2020 -\"x y\"", 24, &q, &e)) {
		const struct query_node *r = q->root, *and = kid(r, 1);

		CHECK("tree: OR of a word and an AND", r->kind == QUERY_OR && r->nkids == 2 &&
		      kid(r, 0)->kind == QUERY_WORD && !strcmp(kid(r, 0)->text, "Cat") &&
		      !strcmp(kid(r, 0)->name, "cat") && and->kind == QUERY_AND);
		CHECK("tree: comparison and negated phrase",
		      kid(and, 0)->kind == QUERY_CMP && kid(and, 0)->op == QUERY_GE &&
		      kid(and, 0)->num == 2020 && kid(and, 1)->kind == QUERY_NOT &&
		      kid(and, 1)->child->kind == QUERY_PHRASE &&
		      !strcmp(kid(and, 1)->child->text, "x y"));
		CHECK("tree: positions", kid(r, 0)->pos == 0 && kid(and, 0)->pos == 7 &&
		      kid(and, 1)->pos == 18 && q->nterms == 3);
		query_free(q);
	} else {
		CHECK("tree: parsed", 0);
	}
	/* A word that cannot be a tag name is text only. */
	if (!query_parse("a,b", 3, &q, &e)) {
		CHECK("word with , has no tag name", q->root->kind == QUERY_WORD &&
		      !q->root->name);
		query_free(q);
	}

	/* Errors, at the byte where each goes wrong. */
	refused("", 0, 0);
	refused("   ", 3, 3);
	refused("a OR", 4, 2);
	refused("OR a", 4, 0);
	refused("a AND", 5, 2);
	refused("(a b", 4, 0);
	refused("a b)", 4, 3);
	refused("a -", 3, 2);
	refused("\"abc", 4, 0);
	refused("x=\"abc", 6, 2);
	refused("a \"\"", 4, 2);
	refused("=x", 2, 0);
	refused("x=", 2, 2);
	refused("year>=abc", 9, 6);
	refused("size>10X", 8, 7);
	refused("x!=y", 4, 1);
	refused("a*", 2, 1);
	refused("x=ab*", 5, 4);
	refused("a \xff b", 5, 2);
	refused("a \"\xc3\x28\"", 6, 3);
	refused("a\\b \"x\\y\"", 9, 6);
	refused("size>99999999999999999999", 25, 5);
	refused("size>5000000T", 13, 5);
	refused("a\0b", 3, 1);
	refused("x=\"a\tb\"", 7, 2);		/* tag.c refuses control characters */

	/* Bounds: 64 terms pass, 65 do not; depth 32 passes, 33 does not. */
	big = malloc(QUERY_MAX_LEN + 2);
	for (i = 0; i < 64; i++)
		memcpy(big + 2 * i, "a ", 2);
	CHECK("64 terms", !query_parse(big, 127, &q, &e) && q->nterms == 64);
	query_free(q);
	big[127] = ' ';
	big[128] = 'b';
	refused(big, 129, 128);
	memset(big, '(', 32);
	big[32] = 'a';
	memset(big + 33, ')', 32);
	CHECK("32 parentheses deep", !query_parse(big, 65, &q, &e));
	query_free(q);
	memset(big, '(', 33);
	big[33] = 'a';
	memset(big + 34, ')', 33);
	refused(big, 67, 32);
	memset(big, '-', 33);
	big[33] = 'a';
	refused(big, 34, 32);
	/*
	 * At the depth bound the canonical text still parses back: it adds no
	 * parentheses the query did not need (the libFuzzer target found a
	 * top-level AND 32 negations deep printed as one level deeper).
	 */
	memset(big, '-', 32);
	strcpy(big + 32, "a b");
	canon(big, big);
	memset(big, '-', 31);
	strcpy(big + 31, "(a b OR c)");
	canon(big, big);
	/*
	 * The canonical text keeps to the length bound too, or it would not
	 * parse back: U+FB2C (3 bytes) is 3 code points in NFC (6 bytes) and
	 * a non-ASCII value is printed quoted, so a term a=<20 of them> of 62
	 * bytes is 124 written out. 32 terms (2015 bytes) print as 3999 and
	 * read back; the 33rd, at byte 2016, would end at 4124: refused.
	 */
	for (i = 0; i < 33; i++) {
		char *t = big + (i ? 63 * i - 1 : 0);

		memcpy(t, i ? " a=" : "a=", i ? 3 : 2);
		t += i ? 3 : 2;
		for (int k = 0; k < 20; k++, t += 3)
			memcpy(t, "\xef\xac\xac", 3);
	}
	want = malloc(8192);
	for (i = 0, len = 0; i < 32; i++) {
		len += (size_t)sprintf(want + len, "%sa=\"", i ? " " : "");
		for (int k = 0; k < 20; k++, len += 6)
			memcpy(want + len, "\xd7\xa9\xd6\xbc\xd7\x81", 6);
		want[len++] = '"';
	}
	want[len] = 0;
	big[2015] = 0;
	canon(big, want);
	CHECK("canonical text 3999 bytes", len == 3999);
	big[2015] = ' ';
	refused(big, 2078, 2016);
	free(want);
	memset(big, ' ', QUERY_MAX_LEN + 1);
	big[0] = 'a';
	CHECK("4096 bytes", !query_parse(big, QUERY_MAX_LEN, &q, &e));
	query_free(q);
	refused(big, QUERY_MAX_LEN + 1, QUERY_MAX_LEN);
	free(big);

	CHECK("query_value_number", !query_value_number("-42", &(int64_t){ 0 }) &&
	      query_value_number("4a", &(int64_t){ 0 }) && query_value_number("", &(int64_t){ 0 }) &&
	      query_value_number("1234567890123456789", &(int64_t){ 0 }) &&
	      query_value_number("-", &(int64_t){ 0 }));
	CHECK("pseudo-tags", query_is_pseudo("size") && query_is_pseudo("mtime") &&
	      !query_is_pseudo("year"));
	return failures ? 1 : 0;
}
