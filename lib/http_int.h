/* http_int.h - what lib/http.c (the server: lws callbacks, routes,
 * dispatch), lib/http_req.c (a request: its life and what is read of it)
 * and lib/http_reply.c (answering it) share. Private to lib/http*.c. */
#ifndef RS_LIB_HTTP_INT_H
#define RS_LIB_HTTP_INT_H

#include "http.h"

struct http_server {
	struct lws_context *ctx;
	uv_loop_t *loop;
	struct http_server_opts o;
	struct lws_protocols protocols[3];
	struct lws_protocol_vhost_options pvo_default, pvo;
	struct http_stats stats;
};

struct http_req {
	struct http_server *srv;
	struct lws *wsi;      /* NULL once the connection is closed */
	struct http_pss *pss; /* the connection's per-session data, while wsi is set */
	const struct http_route *route;
	const char *method;
	size_t query_len;
	char *body;
	size_t body_len, body_cap;
	long clen; /* the Content-Length, -1 when none */
	int too_big;
	int refs;
	int replied, written, server_done, dispatching, dispatched;
	int close_after;   /* close the connection once the reply is out */
	const char *ctype; /* NULL: application/json */
	int query_too_long;
	int status;
	unsigned char *reply; /* REPLY_HEADROOM bytes (the headers go at its end),
	                       * then the body; reply_buf once a reply is given */
	size_t reply_len;
	unsigned char *reply_buf; /* reply_cap bytes, kept when the request is
	                           * pooled (http_req.c), as body is */
	size_t reply_cap;
	uv_timer_t timer;
	/* the large fields last: http_req_new() zeroes only what comes before them */
	char path[256];
	/* The query as lws decoded it: its '&'-separated fragments ("name=value"),
	 * each NUL-terminated, one after the other (an encoded %26 stays inside
	 * its value). query_len bytes in all. */
	char query[HTTP_QUERY_MAX + 1];
	char raw_path[HTTP_RAW_PATH_MAX + 1]; /* from X-Original-URI, "" if none */
};

struct http_pss {
	struct http_req *req;
	int close_now; /* a reply written outside a callback wants the
	                * connection closed: done from WRITEABLE */
};

/* How deep in lws callbacks of this process the code runs (http.c): a reply
 * is written and lws serviced by hand (http_reply.c) only from outside all
 * of them. */
extern int http_lws_depth;
/* The opaque user data of a connection (lws keeps it per wsi, across
 * transactions, unlike the per-session data) points here once it has carried
 * a transaction (http_reply.c sets it; http.c reads it). */
extern char http_conn_reused;

/* 1 when freed blocks are kept for reuse (http.c: lws' header blocks;
 * http_req.c: requests); 0 under AddressSanitizer, which should see every
 * block freed. */
#if defined(__SANITIZE_ADDRESS__)
#define HTTP_KEEP_FREED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HTTP_KEEP_FREED 0
#endif
#endif
#ifndef HTTP_KEEP_FREED
#define HTTP_KEEP_FREED 1
#endif

/* Room before a reply's body for LWS_PRE and the headers, so that headers
 * and body leave in one write (one send). */
#define REPLY_HDR_MAX  512
#define REPLY_HEADROOM (LWS_PRE + REPLY_HDR_MAX)

/* http_req.c */
/* A request for the headers lws has just parsed on wsi (path uri); its
 * body's deadline is started. NULL when out of memory. */
struct http_req *http_req_new(struct http_server *srv, struct lws *wsi, const char *uri);
/* Drops the server's own reference, once. */
void http_req_done(struct http_req *req);
/* Frees the requests kept for reuse (after the loop has run its last). */
void http_req_pool_drain(void);

/* http_reply.c */
/* Writes the stored reply on req->wsi. Returns -1 when lws wants the
 * connection closed. */
int http_req_write(struct http_req *req);
/* The same from one of lws' callbacks on the request's connection. */
int http_req_write_cb(struct http_pss *pss, struct http_req *req);
/* The request's timer: 408 before dispatch, 503 after. */
void http_req_timeout_cb(uv_timer_t *t);

#endif
