/* sbuf.h - a growable byte buffer for building replies and JSON text. */
#ifndef RS_SBUF_H
#define RS_SBUF_H

#include <stddef.h>

struct sbuf {
	char *p;      /* NUL-terminated while oom is 0; owned, free with sbuf_free */
	size_t len, cap;
	int oom;      /* set once an append failed; later appends do nothing */
};

void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_append(struct sbuf *b, const char *s, size_t n);
/* Appends s as a JSON string literal, quotes included. */
void sbuf_json_str(struct sbuf *b, const char *s);
void sbuf_free(struct sbuf *b);

#endif
