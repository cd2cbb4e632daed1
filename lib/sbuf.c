/* sbuf.c - see sbuf.h. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sbuf_reserve(struct sbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 256;
	char *p;

	if (b->oom)
		return -1;
	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void sbuf_append(struct sbuf *b, const char *s, size_t n)
{
	if (sbuf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sbuf_reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sbuf_json_strn(struct sbuf *b, const char *s, size_t max)
{
	const char *run = s, *end = s + strnlen(s, max);

	sbuf_append(b, "\"", 1);
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;

		if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
			continue;
		sbuf_append(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			sbuf_append(b, esc, 2);
		} else {
			sbuf_printf(b, "\\u%04x", c);
		}
	}
	sbuf_append(b, run, (size_t)(end - run));
	sbuf_append(b, "\"", 1);
}

void sbuf_json_str(struct sbuf *b, const char *s)
{
	sbuf_json_strn(b, s, SIZE_MAX);
}

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
