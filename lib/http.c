/* http.c - see http.h. libwebsockets 4.1 on a foreign libuv loop: the
 * server, its lws callbacks, routes and dispatch. A request's life and
 * fields are http_req.c, answering it http_reply.c (shared: http_int.h).
 *
 * Life of a request: created at LWS_CALLBACK_HTTP, dispatched to its route
 * when the body is complete (POST) or at once (other methods). Its reply,
 * headers and body in one send, is written directly when the handler
 * answers during dispatch, and also when it answers later (a store
 * replied) from outside lws' callbacks (http_reply.c); from
 * LWS_CALLBACK_HTTP_WRITEABLE otherwise. The request is reference counted:
 * the server holds one reference until the reply is written or the
 * connection is gone and a reply has been given; handlers waiting on a
 * store hold another.
 * One timer per request: the body's deadline (408, then close) until
 * dispatch, the store's (503) from then on.
 *
 * What lws 4.1.6 does with hostile input, and what is done about it here:
 * callbacks may come without per-session data (a connection closed before
 * a request); a request parsed from bytes lws buffered behind an earlier
 * one (pipelining) is refused, because lws would feed its own header bytes
 * back as its body and then spin (see LWS_CALLBACK_HTTP); lws would switch
 * to h2c when asked, so upgrades are confirmed here (websocket only, where
 * there is a websocket protocol); the query is taken whole or refused (414).
 * The issue-15 cases are in tests/integration/test_hostile_http.py and
 * fuzz/fuzz_http_server.c. */
#include "http_int.h"

#include "log.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int http_lws_depth;

/* The header space lws gives each request: nginx passes at most 16 KiB of
 * headers (large_client_header_buffers in nginx.conf.in); more than this is
 * refused by lws with a close, which nginx would report as 502. */
#define HEADER_DATA 32768

/* lws allocates through this (lws_set_allocator). Its own allocator is
 * realloc() and free() behind a debug log call that costs even with the
 * level off; and lws takes a HEADER_DATA block for every request's headers
 * and frees it when the request is done: a block that size is above
 * malloc's caches, so each went through malloc's bins (and consolidated
 * them). Freed blocks of that size are kept here for the next ones (the
 * loop's thread only); http_servers_finish() frees them. */
#define HDR_CACHE_MAX (64 * HTTP_KEEP_FREED)
static void *hdr_cache[HDR_CACHE_MAX + 1];
static int hdr_cached;

static void *lws_alloc(void *ptr, size_t size, const char *reason)
{
	(void)reason;
	if (size) {
		if (!ptr && size == HEADER_DATA && hdr_cached)
			return hdr_cache[--hdr_cached];
		return realloc(ptr, size);
	}
	if (!ptr)
		return NULL;
	if (hdr_cached < HDR_CACHE_MAX) {
		size_t usable = malloc_usable_size(ptr);

		/* a block malloc gave for HEADER_DATA bytes, whatever it held */
		if (usable >= HEADER_DATA && usable < HEADER_DATA + 64) {
			hdr_cache[hdr_cached++] = ptr;
			return NULL;
		}
	}
	free(ptr);
	return NULL;
}

static long content_length(struct lws *wsi)
{
	char buf[24];
	char *end;
	long v;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return -1;
	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return -2;
	v = strtol(buf, &end, 10);
	if (end == buf || *end || v < 0)
		return -2;
	return v;
}

static void builtin_healthz(struct http_req *req, void *app)
{
	struct http_server *srv = req->srv;
	int ok = !srv->o.healthy || srv->o.healthy(app);

	if (ok)
		http_reply(req, 200, "{\"status\":\"ok\"}", 15);
	else
		http_reply(req, 503, "{\"status\":\"degraded\",\"error\":\"backing store down\"}",
		           51);
}

static void builtin_metrics(struct http_req *req, void *app)
{
	struct http_server *srv = req->srv;
	struct sbuf b = {0};
	const struct http_stats *s = &srv->stats;

	sbuf_printf(
	    &b,
	    "# TYPE http_requests_total counter\nhttp_requests_total %llu\n"
	    "# TYPE http_replies_total counter\n"
	    "http_replies_total{class=\"2xx\"} %llu\nhttp_replies_total{class=\"4xx\"} %llu\n"
	    "http_replies_total{class=\"5xx\"} %llu\n"
	    "# TYPE http_timeouts_total counter\nhttp_timeouts_total %llu\n"
	    "# TYPE http_refused_total counter\nhttp_refused_total %llu\n",
	    s->requests, s->replies_2xx, s->replies_4xx, s->replies_5xx, s->timeouts, s->refused);
	if (srv->o.metrics)
		srv->o.metrics(&b, app);
	if (b.oom) {
		http_reply_error(req, 500, "out of memory", NULL);
	} else {
		req->ctype = "text/plain; version=0.0.4";
		http_reply(req, 200, b.p, b.len);
	}
	sbuf_free(&b);
}

static const struct http_route builtin_routes[] = {
    {"GET", "/healthz", 0, builtin_healthz},
    {"GET", "/metrics", 0, builtin_metrics},
    {NULL, NULL, 0, NULL},
};

static int path_matches(const struct http_route *r, const char *path)
{
	if (r->prefix)
		return !strncmp(path, r->path, strlen(r->path));
	return !strcmp(path, r->path);
}

/* Finds the route; on a miss answers 404 or 405 itself. */
static const struct http_route *route_find(struct http_req *req)
{
	const struct http_route *tables[2] = {builtin_routes, req->srv->o.routes};
	int path_known = 0;

	for (int t = 0; t < 2; t++)
		for (const struct http_route *r = tables[t]; r && r->method; r++) {
			if (!path_matches(r, req->path))
				continue;
			path_known = 1;
			if (!strcmp(r->method, req->method))
				return r;
		}
	if (path_known)
		http_reply_error(req, 405, "method not allowed", NULL);
	else
		http_reply_error(req, 404, "no such path", NULL);
	return NULL;
}

/* Runs the handler (or answers an error); writes a reply given meanwhile.
 * Returns -1 when the connection must close. */
static int req_dispatch(struct http_pss *pss, struct http_req *req)
{
	const struct http_route *r;

	req->dispatching = 1;
	req->dispatched = 1;
	/* the store's deadline starts now that the request is complete */
	uv_timer_start(&req->timer, http_req_timeout_cb, (uint64_t)req->srv->o.timeout_ms, 0);
	if (req->too_big)
		http_reply_error(req, 413, "body too large", NULL);
	else if ((r = route_find(req)))
		r->fn(req, req->srv->o.app);
	req->dispatching = 0;
	if (req->replied && !req->written && req->wsi)
		return http_req_write_cb(pss, req);
	return 0;
}

/* Answers at once and closes (malformed or huge requests). */
static int req_reject(struct http_pss *pss, struct http_req *req, int status, const char *msg)
{
	pss->req = NULL;
	http_reply_error(req, status, msg, NULL);
	if (req->reply)
		http_req_write(req);
	else
		http_req_done(req);
	return -1;
}

/* Answers a refused upgrade (h2c, or websocket where there is none) with a
 * JSON 400 written at once; the caller then closes. No per-session data is
 * needed (there may be none yet). */
static void refuse_upgrade(struct lws *wsi)
{
	static const char body[] = "{\"error\":\"upgrade not supported here\"}";
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
					  *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(wsi, 400, "application/json", sizeof(body) - 1, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
	                                 5, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return;
	memcpy(start, body, sizeof(body) - 1);
	lws_write(wsi, start, sizeof(body) - 1, LWS_WRITE_HTTP_FINAL);
}

/* lws 4.1 switches to h2c (101) by itself when asked: only a websocket
 * upgrade is allowed, and only where the server has a websocket protocol.
 * Returns 0 to go on, -1 after answering 400 (lws then closes). */
static int confirm_upgrade(struct http_server *srv, struct lws *wsi, const void *in)
{
	if (srv && srv->o.ws_protocol && in && !strcasecmp((const char *)in, "websocket"))
		return 0;
	log_warn("%s: refused an upgrade to '%.32s'", srv ? srv->o.name : "http",
	         in ? (const char *)in : "");
	if (srv)
		srv->stats.refused++;
	refuse_upgrade(wsi);
	return -1;
}

/* The websocket protocol is the vhost's default, so lws binds incoming
 * connections to it and asks it (not cb_http) to confirm upgrades: this
 * wrapper decides that, and hands every other callback to the service's. */
static int cb_ws_wrap_in(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
	struct http_server *srv = lws_context_user(lws_get_context(wsi));

	if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
		return confirm_upgrade(srv, wsi, in);
	if (!srv || !srv->o.ws_protocol)
		return -1;
	return srv->o.ws_protocol->callback(wsi, reason, user, in, len);
}

/* Every callback may come without per-session data: lws calls CLOSED_HTTP
 * (and others) with user == NULL for a connection that closed before a
 * request was parsed (a bare connect-and-close, a request lws refused). */
static int cb_http_in(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
	struct http_pss *pss = user;
	struct http_server *srv = lws_context_user(lws_get_context(wsi));
	struct http_req *req;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: return confirm_upgrade(srv, wsi, in);

	case LWS_CALLBACK_HTTP: {
		long clen;

		if (!pss || !srv)
			return -1;
		if (pss->req) /* a previous request still pending on this connection */
			return -1;
		/* Pipelining. A request parsed from bytes lws had already read
		 * while an earlier request on this connection was in progress
		 * comes from the connection's rx buffer (buflist). For a request
		 * with a body, lws 4.1.6 then re-reads that buffer from its start
		 * as the body (lws_http_action's h2 buflist loop) and spins for
		 * good once the reply is written (LRS_DEFERRING_ACTION consumes
		 * nothing). So such a request is refused: the connection closes
		 * after the earlier replies. lws_service_adjust_timeout() returns 0
		 * exactly when some connection has buffered rx ready; the first
		 * request of a connection never comes from the buffer. */
		if (lws_get_opaque_user_data(wsi) == &http_conn_reused &&
		    lws_service_adjust_timeout(lws_get_context(wsi), 1, 0) == 0) {
			srv->stats.refused++;
			log_warn("%s: pipelined request refused, closing the connection",
			         srv->o.name);
			return -1;
		}
		req = http_req_new(srv, wsi, in);
		if (!req)
			return -1;
		pss->req = req;
		req->pss = pss;
		if (req->query_too_long)
			return req_reject(pss, req, 414, "query string too long");
		clen = content_length(wsi);
		req->clen = clen;
		if (clen == -2 ||
		    (clen == -1 && !strcmp(req->method, "POST") &&
		     lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)) {
			return req_reject(pss, req, 400, "a body needs a valid Content-Length");
		}
		if (clen > 0) {
			if ((size_t)clen > srv->o.max_body) {
				req->too_big = 1;
				if (clen > 1024 * 1024) {
					/* not worth draining: answer and close */
					return req_reject(pss, req, 413, "body too large");
				}
			}
			return 0; /* the body follows */
		}
		return req_dispatch(pss, req);
	}

	case LWS_CALLBACK_HTTP_BODY:
		req = pss ? pss->req : NULL;
		if (!req || req->too_big || req->replied)
			return 0;
		if (req->body_len + len > req->srv->o.max_body) {
			req->too_big = 1;
			return 0;
		}
		if (req->body_len + len + 1 > req->body_cap) {
			/* the announced Content-Length first (a small block, not
			 * the cap), the cap if more comes */
			size_t cap = req->srv->o.max_body + 1;
			char *nb;

			if (!req->body_len && req->clen > 0 && (size_t)req->clen + 1 < cap &&
			    len <= (size_t)req->clen)
				cap = (size_t)req->clen + 1;
			nb = realloc(req->body, cap);
			if (!nb)
				return -1;
			req->body = nb;
			req->body_cap = cap;
		}
		memcpy(req->body + req->body_len, in, len);
		req->body_len += len;
		req->body[req->body_len] = 0;
		return 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		req = pss ? pss->req : NULL;
		if (!req)
			return -1;
		if (req->dispatched) {
			/* lws calls this again (consuming nothing) when more bytes
			 * arrive while the request waits on a store, and once more
			 * per lws event until the reply: the client pipelined.
			 * Refused: the pending reply is written, then the connection
			 * closes (the extra bytes are never parsed). */
			if (!req->close_after) {
				srv->stats.refused++;
				log_warn("%s: request pipelined behind a pending one, closing "
				         "the connection after its reply",
				         srv->o.name);
			}
			req->close_after = 1;
			return 0;
		}
		if (req->replied) /* timed out (408) while the body came */
			return -1;
		return req_dispatch(pss, req);

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (pss && pss->close_now)
			return -1;
		req = pss ? pss->req : NULL;
		if (!req || !req->replied || req->written)
			return 0;
		return http_req_write_cb(pss, req);

	case LWS_CALLBACK_CLOSED_HTTP:
		req = pss ? pss->req : NULL;
		if (req) {
			pss->req = NULL;
			req->wsi = NULL;
			if (req->replied)
				http_req_done(req);
			/* else: the server's reference goes when the reply comes */
		}
		return 0;

	default: break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* The callbacks lws is given: the above, counted in http_lws_depth. */
typedef int (*lws_cb_fn)(struct lws *, enum lws_callback_reasons, void *, void *, size_t);

static int cb_counted(lws_cb_fn fn, struct lws *wsi, enum lws_callback_reasons reason, void *user,
                      void *in, size_t len)
{
	int r;

	http_lws_depth++;
	r = fn(wsi, reason, user, in, len);
	http_lws_depth--;
	return r;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
	return cb_counted(cb_http_in, wsi, reason, user, in, len);
}

static int cb_ws_wrap(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
	return cb_counted(cb_ws_wrap_in, wsi, reason, user, in, len);
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws: %.*s", (int)n, line);
}

/* lws on a foreign loop destroys its context in two steps: the first call
 * closes its handles on the loop, a second one after the loop has run frees
 * the rest (lws clears srv->ctx through info.pcontext when it is done). So a
 * freed server waits on this list until http_servers_finish(). */
static struct http_server *finishing[8];
static int n_finishing;

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->ctx)
		lws_context_destroy(srv->ctx);
	if (srv->ctx && n_finishing < (int)(sizeof(finishing) / sizeof(finishing[0]))) {
		finishing[n_finishing++] = srv;
		return;
	}
	if (!srv->ctx)
		free(srv);
}

void http_servers_finish(void)
{
	for (int i = 0; i < n_finishing; i++) {
		if (finishing[i]->ctx)
			lws_context_destroy(finishing[i]->ctx);
		free(finishing[i]);
	}
	n_finishing = 0;
	while (hdr_cached > 0)
		free(hdr_cache[--hdr_cached]);
	http_req_pool_drain();
}

struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_opts *opts)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct lws_context_creation_info info;
	void *foreign_loops[1] = {loop};

	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->o = *opts;
	if (!srv->o.max_body)
		srv->o.max_body = 4096;
	if (srv->o.timeout_ms <= 0)
		srv->o.timeout_ms = 3000;
	if (srv->o.body_timeout_ms <= 0)
		srv->o.body_timeout_ms = 5000;
	if (!srv->o.host || !*srv->o.host)
		srv->o.host = "127.0.0.1";
	if (!srv->o.name)
		srv->o.name = "http";

	srv->protocols[0] =
	    (struct lws_protocols){"http", cb_http, sizeof(struct http_pss), 0, 0, NULL, 0};
	if (opts->ws_protocol) {
		srv->protocols[1] = *opts->ws_protocol;
		srv->protocols[1].callback = cb_ws_wrap;
		srv->pvo_default = (struct lws_protocol_vhost_options){NULL, NULL, "default", "1"};
		srv->pvo = (struct lws_protocol_vhost_options){NULL, &srv->pvo_default,
		                                               opts->ws_protocol->name, ""};
	}

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	lws_set_allocator(lws_alloc);
	memset(&info, 0, sizeof(info));
	/* a negative port: a server vhost without a listening socket, into
	 * which sockets are adopted (fuzz/fuzz_http_server.c) */
	info.port = srv->o.port < 0 ? CONTEXT_PORT_NO_LISTEN_SERVER : srv->o.port;
	info.iface = srv->o.host;
	info.protocols = srv->protocols;
	info.pvo = opts->ws_protocol ? &srv->pvo : NULL;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6 |
	               LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME;
	info.foreign_loops = foreign_loops;
	info.user = srv;
	info.pcontext = &srv->ctx;
	info.keepalive_timeout = 60;
	info.timeout_secs = 30;
	info.max_http_header_data = HEADER_DATA;
	info.vhost_name = srv->o.name;
	srv->ctx = lws_create_context(&info);
	/* lws 4.1 returns a context even when its vhost could not listen.
	 * Destroying that half-made context unloads the libuv event plugin while
	 * its handles are still closing (a crash), so it is left as it is: the
	 * caller exits anyway. */
	if (srv->ctx && !lws_get_vhost_by_name(srv->ctx, srv->o.name)) {
		log_error("%s: cannot listen on %s:%d", srv->o.name, srv->o.host, srv->o.port);
		return NULL;
	}
	if (!srv->ctx) {
		log_error("%s: cannot listen on %s:%d", srv->o.name, srv->o.host, srv->o.port);
		free(srv);
		return NULL;
	}
	if (srv->o.port >= 0)
		log_info("%s: listening on http://%s:%d", srv->o.name, srv->o.host, srv->o.port);
	return srv;
}

struct lws_context *http_server_context(struct http_server *srv)
{
	return srv->ctx;
}

void *http_server_app(struct lws *wsi)
{
	struct http_server *srv = lws_context_user(lws_get_context(wsi));

	return srv ? srv->o.app : NULL;
}

const struct http_stats *http_server_stats(const struct http_server *srv)
{
	return &srv->stats;
}
