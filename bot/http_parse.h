/* http_parse.h - an incremental parser of one HTTP/1.x response (status
 * line, Content-Length, Connection, body), for the bot's HTTP client. Pure
 * code, safe on any bytes: every malformed, oversized or unsupported
 * response is an error, never a crash or an unbounded buffer.
 *
 * Supported: "HTTP/1.0" and "HTTP/1.1"; a body delimited by Content-Length,
 * none for 204 and 304, or (without Content-Length) read until the server
 * closes. Unsupported, reported as errors: 1xx responses, Transfer-Encoding
 * other than identity (the stack's nginx always sends Content-Length),
 * bytes after the body (the client does not pipeline). */
#ifndef RS_BOT_HTTP_PARSE_H
#define RS_BOT_HTTP_PARSE_H

#include <stddef.h>

#define HRESP_MAX_HEADER 16384
#define HRESP_MAX_BODY   (1 << 20)

enum { HRESP_ERROR = -1, HRESP_MORE = 0, HRESP_DONE = 1 };

struct hresp {
	char *buf; /* owned: everything received so far */
	size_t len, cap;
	size_t hdr_len;           /* bytes of the head incl. the blank line; 0 until seen */
	int status;               /* valid once hdr_len > 0 */
	long long content_length; /* -1: until close */
	int keep_alive;           /* the connection may carry another request */
	int state;                /* HRESP_MORE, _DONE or _ERROR */
	const char *error;        /* static reason when state is HRESP_ERROR */
};

/* A zeroed struct is ready too. */
void hresp_init(struct hresp *h);
/* Starts over for the next response on the same connection, keeping the
 * buffer. */
void hresp_reset(struct hresp *h);
void hresp_free(struct hresp *h);
/* Feeds received bytes; returns the new state. Once DONE or ERROR, further
 * bytes make it ERROR. */
int hresp_feed(struct hresp *h, const char *data, size_t len);
/* The server closed the connection: DONE when the body was delimited by
 * the close, else ERROR (unless already DONE). */
int hresp_eof(struct hresp *h);
/* The body of a DONE response (not NUL-terminated in general; the parser
 * keeps a NUL after it anyway). */
const char *hresp_body(const struct hresp *h, size_t *len);

/* Splits "http://host[:port][/prefix]" into host (IPv4, a name, or an IPv6
 * literal in brackets, stored without them), port (default 80) and the path
 * prefix without a trailing slash ("" for none). Returns 0, or -1 when the
 * URL is not of that form or a part does not fit its buffer. */
int hurl_parse(const char *url, char *host, size_t hostlen, int *port, char *prefix,
               size_t prefixlen);

#endif
