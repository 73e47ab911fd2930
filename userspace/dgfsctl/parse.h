/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsctl: parsing of command-line values, keyword lists and batch lines.
 *
 * Nothing here talks to the kernel or prints: every parser returns NULL on
 * success or a short, static reason ("not a number", ...) that the caller
 * puts into its one-line usage error.
 */
#ifndef DGFSCTL_PARSE_H
#define DGFSCTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/dgfs.h>

const char *parse_hex(const char *s, uint8_t *out, size_t len);
const char *parse_chunk_id(const char *s, uint8_t id[DGFS_CHUNK_ID_LEN]);
const char *parse_auth_key(const char *s, uint8_t key[DGFS_AUTH_KEY_LEN]);
const char *parse_size(const char *s, uint64_t *out);
const char *parse_port(const char *s, uint16_t *out);
const char *parse_max_read(const char *s, uint32_t *out);
const char *parse_on_off(const char *s, bool *out);
const char *parse_store_name(const char *s);
const char *parse_path(const char *s);
/* The value of "key": HEX32, "random" or "-" (checked, not resolved). */
const char *parse_key_source(const char *s);

/*
 * A keyword table: "NAME value" pairs in any order, each at most once.
 * parse() stores the value into dst; it is NULL for keywords whose value
 * is kept as the raw string (then dst is a const char **).
 */
struct keyword {
	const char *name;
	const char *(*parse)(const char *arg, void *dst);
	void *dst;
	bool required;
	bool seen;		/* set by parse_keywords() */
};

#define KEYWORD(n, p, d)	 { .name = (n), .parse = (p), .dst = (d) }
#define KEYWORD_REQUIRED(n, p, d) { .name = (n), .parse = (p), .dst = (d), \
				    .required = true }
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *kw_store_name(const char *arg, void *dst);	/* const char ** */
const char *kw_path(const char *arg, void *dst);	/* const char ** */
const char *kw_string(const char *arg, void *dst);	/* const char ** */
const char *kw_size(const char *arg, void *dst);	/* uint64_t * */
const char *kw_port(const char *arg, void *dst);	/* uint16_t * */
const char *kw_max_read(const char *arg, void *dst);	/* uint32_t * */
const char *kw_on_off(const char *arg, void *dst);	/* bool * */
const char *kw_key_source(const char *arg, void *dst);	/* const char ** */

/*
 * Parses argv[0..argc) against the table. On failure returns -1 and writes
 * a one-line description of the problem (without a trailing newline) to
 * err; the values of keywords parsed so far are then unspecified.
 */
int parse_keywords(int argc, char **argv, struct keyword *kw, size_t nkw,
		   char *err, size_t errlen);

/*
 * Splits one line of a batch file into words, in place (the words point
 * into line). Words are separated by blanks; 'single quotes' keep
 * everything literally, "double quotes" understand \" and \\, a backslash
 * outside quotes escapes the next character, and a word starting with #
 * starts a comment that runs to the end of the line.
 *
 * Returns the number of words (0 for a blank or comment line) and sets
 * *argvp to a NULL-terminated array that the caller frees with free(), or
 * -1 with *reason set if the line is malformed (unterminated quote, ...).
 */
int split_line(char *line, char ***argvp, const char **reason);

#endif /* DGFSCTL_PARSE_H */
