/* http_parse.c - see http_parse.h. The head is parsed once the blank line
 * has arrived; the body is the bytes after it. */
#include "http_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hresp_init(struct hresp *h)
{
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
}

void hresp_reset(struct hresp *h)
{
	char *buf = h->buf;
	size_t cap = h->cap;

	hresp_init(h);
	h->buf = buf;
	h->cap = cap;
}

void hresp_free(struct hresp *h)
{
	free(h->buf);
	hresp_init(h);
}

static int fail(struct hresp *h, const char *why)
{
	h->state = HRESP_ERROR;
	h->error = why;
	return HRESP_ERROR;
}

/* Does the comma-separated header value v[0..n) contain token tok? */
static int has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && !strncasecmp(v + s, tok, tl))
			return 1;
	}
	return 0;
}

static int parse_head(struct hresp *h)
{
	const char *p = h->buf, *end = h->buf + h->hdr_len - 2; /* at the final CRLF */
	const char *eol;
	int minor;

	/* status line: HTTP/1.x SP ddd [SP reason] CRLF */
	eol = memchr(p, '\r', (size_t)(end - p) + 1);
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9' || (eol - p > 12 && p[12] != ' '))
		return fail(h, "bad status line");
	minor = p[7] - '0';
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	h->keep_alive = minor == 1;
	if (h->status < 200)
		return fail(h, "1xx responses are not supported");
	p = eol + 2;
	while (p < end) {
		const char *colon, *v, *ve;
		size_t nl;

		eol = memchr(p, '\r', (size_t)(end - p) + 1);
		if (!eol || eol[1] != '\n')
			return fail(h, "bad header line");
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return fail(h, "bad header line");
		for (const char *q = p; q < colon; q++)
			if (*q <= ' ' || *q >= 127)
				return fail(h, "bad header name");
		nl = (size_t)(colon - p);
		v = colon + 1;
		ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (nl == 14 && !strncasecmp(p, "content-length", 14)) {
			long long n = 0;

			if (v == ve)
				return fail(h, "bad Content-Length");
			for (const char *q = v; q < ve; q++) {
				if (*q < '0' || *q > '9')
					return fail(h, "bad Content-Length");
				n = n * 10 + (*q - '0');
				if (n > HRESP_MAX_BODY)
					return fail(h, "body too large");
			}
			if (h->content_length >= 0 && h->content_length != n)
				return fail(h, "conflicting Content-Length");
			h->content_length = n;
		} else if (nl == 10 && !strncasecmp(p, "connection", 10)) {
			if (has_token(v, (size_t)(ve - v), "close"))
				h->keep_alive = 0;
			else if (has_token(v, (size_t)(ve - v), "keep-alive"))
				h->keep_alive = 1;
		} else if (nl == 17 && !strncasecmp(p, "transfer-encoding", 17)) {
			if (!((size_t)(ve - v) == 8 && !strncasecmp(v, "identity", 8)))
				return fail(h, "Transfer-Encoding is not supported");
		}
		p = eol + 2;
	}
	if (h->status == 204 || h->status == 304)
		h->content_length = 0;
	if (h->content_length < 0)
		h->keep_alive = 0;
	return HRESP_MORE;
}

static int check_body(struct hresp *h)
{
	size_t have = h->len - h->hdr_len;

	if (h->content_length < 0) {
		if (have > HRESP_MAX_BODY)
			return fail(h, "body too large");
		return HRESP_MORE;
	}
	if (have > (size_t)h->content_length)
		return fail(h, "bytes after the body");
	if (have == (size_t)h->content_length)
		h->state = HRESP_DONE;
	return h->state;
}

int hresp_feed(struct hresp *h, const char *data, size_t len)
{
	size_t from;

	if (h->state != HRESP_MORE)
		return len ? fail(h, "bytes after the response") : h->state;
	if (!len)
		return h->state;
	if (h->len + len + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 1024;
		char *p;

		if (h->len + len > HRESP_MAX_HEADER + HRESP_MAX_BODY)
			return fail(h, "response too large");
		while (cap < h->len + len + 1)
			cap *= 2;
		p = realloc(h->buf, cap);
		if (!p)
			return fail(h, "out of memory");
		h->buf = p;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, data, len);
	from = h->len;
	h->len += len;
	h->buf[h->len] = 0;
	if (!h->hdr_len) {
		/* look for CRLFCRLF, starting a little before the new bytes */
		size_t i = from >= 3 ? from - 3 : 0;
		const char *hit = NULL;

		for (; i + 4 <= h->len; i++)
			if (h->buf[i] == '\r' && !memcmp(h->buf + i, "\r\n\r\n", 4)) {
				hit = h->buf + i;
				break;
			}
		if (!hit) {
			if (h->len > HRESP_MAX_HEADER)
				return fail(h, "head too large");
			return HRESP_MORE;
		}
		h->hdr_len = (size_t)(hit - h->buf) + 4;
		if (h->hdr_len > HRESP_MAX_HEADER)
			return fail(h, "head too large");
		if (parse_head(h) == HRESP_ERROR)
			return HRESP_ERROR;
	}
	return check_body(h);
}

int hresp_eof(struct hresp *h)
{
	if (h->state != HRESP_MORE)
		return h->state;
	if (h->hdr_len && h->content_length < 0) {
		h->state = HRESP_DONE;
		return HRESP_DONE;
	}
	return fail(h, h->hdr_len ? "connection closed in the body"
	                          : "connection closed before a response");
}

const char *hresp_body(const struct hresp *h, size_t *len)
{
	if (h->state != HRESP_DONE) {
		*len = 0;
		return "";
	}
	*len = h->len - h->hdr_len;
	return h->buf + h->hdr_len;
}

int hurl_parse(const char *url, char *host, size_t hostlen, int *port, char *prefix,
               size_t prefixlen)
{
	const char *h, *he, *p;
	long v = 80;

	if (strncasecmp(url, "http://", 7))
		return -1;
	h = url + 7;
	if (*h == '[') {
		he = strchr(h, ']');
		if (!he)
			return -1;
		h++;
		p = he + 1;
	} else {
		he = h + strcspn(h, ":/?#");
		p = he;
	}
	if (he == h || (size_t)(he - h) >= hostlen)
		return -1;
	if (*p == ':') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		v = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p++ - '0');
			if (v > 65535)
				return -1;
		}
		if (v == 0)
			return -1;
	}
	if (*p && *p != '/')
		return -1;
	if (strpbrk(p, "?# \t\r\n"))
		return -1;
	{
		size_t n = strlen(p);

		while (n && p[n - 1] == '/')
			n--;
		if (n >= prefixlen)
			return -1;
		memcpy(prefix, p, n);
		prefix[n] = 0;
	}
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = 0;
	*port = (int)v;
	return 0;
}
