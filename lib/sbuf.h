/* sbuf.h - a growable byte buffer for building replies and JSON text. */
#ifndef RS_LIB_SBUF_H
#define RS_LIB_SBUF_H

#include <stddef.h>

struct sbuf {
	char *p; /* NUL-terminated while oom is 0; owned, free with sbuf_free */
	size_t len, cap;
	int oom; /* set once an append failed; later appends do nothing */
};

void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_append(struct sbuf *b, const char *s, size_t n);
/* Appends s as a JSON string literal, quotes included: the project's one
 * JSON string escaper. '"' and '\\' get a backslash; control bytes (below
 * 0x20) and DEL (0x7f) become \u00XX; every other byte is copied as it is,
 * so the result is JSON text only when s is valid UTF-8 (callers pass text
 * lib/validate.c accepted, or their own). */
void sbuf_json_str(struct sbuf *b, const char *s);
/* The same for at most max bytes of s (fewer when s ends sooner). */
void sbuf_json_strn(struct sbuf *b, const char *s, size_t max);
void sbuf_free(struct sbuf *b);

#endif
