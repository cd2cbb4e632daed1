/* http.h - the HTTP (and optional websocket) server every service runs:
 * libwebsockets on the program's libuv loop, a route table, bodies capped,
 * JSON replies, and replies that may come later (after Redis or Postgres).
 *
 * A handler receives a request and must answer it exactly once with
 * http_reply() or http_reply_error(), now or later. If it does not within
 * timeout_ms the server answers 503 itself. Handlers that answer later keep
 * the request alive with http_req_hold() and drop it with http_req_release()
 * in their completion callback; a request whose connection has gone may still
 * be answered (the reply is then discarded). /healthz and /metrics are built
 * in. */
#ifndef RS_LIB_HTTP_H
#define RS_LIB_HTTP_H

#include <libwebsockets.h>
#include <stddef.h>
#include <uv.h>

#include "sbuf.h"

#define HTTP_QUERY_MAX    1024 /* longer query strings are refused (414) */
#define HTTP_RAW_PATH_MAX 768

struct http_server;
struct http_req;

typedef void (*http_handler_fn)(struct http_req *req, void *app);

struct http_route {
	const char *method; /* "GET", "POST" */
	const char *path;   /* exact path, or a prefix when prefix = 1 */
	int prefix;
	http_handler_fn fn;
};

struct http_server_opts {
	const char *name;                /* for logs */
	const char *host;                /* listen address, default 127.0.0.1 */
	int port;                        /* < 0: no listening socket (adopt sockets) */
	const struct http_route *routes; /* ends with a NULL method */
	void *app;                       /* passed to handlers and hooks */
	size_t max_body;                 /* default 4096; larger bodies get 413 */
	int timeout_ms;                  /* default 3000 from a complete request; then 503 */
	int body_timeout_ms;             /* default 5000 for a body to arrive; then 408, closed */
	int (*healthy)(void *app);       /* /healthz: 200 when it returns 1, else 503 */
	void (*metrics)(struct sbuf *out, void *app); /* /metrics, Prometheus text */
	/* Optional websocket protocol, served on any path as the default (also
	 * to clients that name no subprotocol). Its user data is per connection. */
	const struct lws_protocols *ws_protocol;
};

/* Creates the lws context on loop and starts listening. NULL on failure
 * (logged). */
struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_opts *opts);
/* Starts destroying the context: call from a libuv callback, not from an
 * lws one. Call http_servers_finish() once uv_run() has returned. */
void http_server_free(struct http_server *srv);
void http_servers_finish(void);
struct lws_context *http_server_context(struct http_server *srv);
/* The app pointer of the server that owns wsi (for websocket callbacks). */
void *http_server_app(struct lws *wsi);

/* The app pointer given in the server's options. */
void *http_req_app(const struct http_req *req);
const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req); /* without the query */
/* The body (not NUL-terminated) and its length; empty for GET. */
const char *http_req_body(const struct http_req *req, size_t *len);
/* Copies query parameter name (as lws decoded it: %XX and '+') into buf;
 * returns its length, or -1 when absent or longer than len - 1. A query over
 * HTTP_QUERY_MAX bytes never reaches a handler (414). */
int http_req_query(const struct http_req *req, const char *name, char *buf, size_t len);
/* The request's path as the client sent it, not percent-decoded nor
 * normalised: the X-Original-URI header nginx adds (nginx.conf.in), without
 * its query. NULL when there is none (a client talking to the service port
 * directly) or it is over HTTP_RAW_PATH_MAX bytes. Untrusted bytes. */
const char *http_req_raw_path(const struct http_req *req);

/* Answers with status and a JSON body (copied). Later calls do nothing. */
void http_reply(struct http_req *req, int status, const char *json, size_t len);
/* Answers {"error": message[, "field": field]}. */
void http_reply_error(struct http_req *req, int status, const char *message, const char *field);
int http_req_replied(const struct http_req *req);
void http_req_hold(struct http_req *req);
void http_req_release(struct http_req *req);

/* Counters the server keeps, for /metrics. */
struct http_stats {
	unsigned long long requests, replies_2xx, replies_4xx, replies_5xx, timeouts;
	unsigned long long refused; /* connections closed: pipelining, upgrades */
};
const struct http_stats *http_server_stats(const struct http_server *srv);

#endif
