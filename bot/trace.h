/* trace.h - the bot's record/replay files (--record, --replay): JSON lines.
 * Line 1, the header: {"trace":"rs-bot","version":1,"seed":N,"client_id":"..",
 * then the settings the run was made with}. Every further line is one
 * request the bot sent, in the order sent:
 *   {"t_ms":<ms since the start>,"kind":"rider"|"driver","body":<the body>}
 * where <the body> is the exact bytes of the POST body (the bot's bodies are
 * one-line JSON objects, so they are kept verbatim, not re-encoded, and a
 * replay sends them byte for byte). Pure code: formatting and parsing only. */
#ifndef RS_BOT_TRACE_H
#define RS_BOT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

enum { TRACE_RIDER = 0, TRACE_DRIVER = 1 }; /* = KIND_RIDER, KIND_DRIVER */

#define TRACE_ID_MAX 64

struct trace_hdr {
	uint64_t seed;
	char client_id[TRACE_ID_MAX + 1]; /* the client_id the bodies carry */
	int riders, drivers, interval_ms, rate_riders, rate_drivers, area, duration_s;
	int open_loop, hotspots, connections;
};

struct trace_req {
	uint64_t t_ms;
	int kind;
	const char *body; /* into the loaded buffer */
	size_t len;
};

struct trace {
	struct trace_hdr h;
	struct trace_req *req;
	size_t n, cap;
	char *buf; /* owned: the file's text */
};

/* Append one line (with its newline) to out; check out->oom. */
void trace_format_header(struct sbuf *out, const struct trace_hdr *h);
void trace_format_req(struct sbuf *out, uint64_t t_ms, int kind, const char *body, size_t len);

/* Parse one line (without its newline). 0, or -1 with a message in err. */
int trace_parse_header(const char *line, size_t len, struct trace_hdr *h, char *err, size_t errsz);
int trace_parse_req(const char *line, size_t len, struct trace_req *r, char *err, size_t errsz);

/* Parse a whole file held in buf (len bytes; takes ownership of buf, which
 * must be malloc'd, also on failure). Blank lines are refused too: every
 * line is the header or a request. t_ms must not go down. 0, or -1 with
 * "line N: why" in err. */
int trace_load(struct trace *t, char *buf, size_t len, char *err, size_t errsz);
void trace_free(struct trace *t);

/* The body to send for a recorded one: when it ends in
 * ,"client_id":"<from>"} that id becomes <to>; anything else is copied
 * as it is. Appends to out. */
void trace_rewrite_client(struct sbuf *out, const char *body, size_t len, const char *from,
                          const char *to);

#endif
