/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsctl: one print path for text and JSON, after iproute2's json_print.
 *
 * Every print_*() takes the output type it applies to, the JSON key and a
 * printf format for text output, so a command has a single print function:
 * in JSON mode the key/value goes into the current object or array, in text
 * mode the value is printed with the format. Strings are escaped in both:
 * JSON-escaped in JSON mode, and in text mode blanks, control characters
 * and backslashes become \ooo octal escapes (as in /proc/mounts) so that a
 * line always splits into the same words.
 */
#ifndef DGFSCTL_PRINT_H
#define DGFSCTL_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum output_type {
	PRINT_FP = 1,		/* text mode only */
	PRINT_JSON = 2,		/* JSON mode only */
	PRINT_ANY = 3,		/* both */
};

void print_init(FILE *fp, bool json, bool pretty);
bool print_is_json(void);

/* key is NULL at the top level and inside arrays. */
void open_json_object(const char *key);
void close_json_object(void);
void open_json_array(const char *key);
void close_json_array(void);
/* Ends one command's output: a newline after a complete JSON document. */
void print_end(void);

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *val);
void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned int val);
void print_u64(enum output_type t, const char *key, const char *fmt,
	       uint64_t val);
/* JSON true/false; text "true"/"false" through fmt's %s. */
void print_bool(enum output_type t, const char *key, const char *fmt, bool val);
/* JSON true/false; text "on"/"off" through fmt's %s. */
void print_on_off(enum output_type t, const char *key, const char *fmt, bool val);
/* Lowercase hex of the bytes, a string in JSON. */
void print_hex(enum output_type t, const char *key, const char *fmt,
	       const uint8_t *buf, size_t len);
/* Literal text in text mode (e.g. newlines); nothing in JSON mode. */
void print_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Exposed for the tests. */
void json_write_string(FILE *fp, const char *s);
void text_write_string(FILE *fp, const char *s);

#endif /* DGFSCTL_PRINT_H */
