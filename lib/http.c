/* http.c - see http.h. libwebsockets 4.1 on a foreign libuv loop.
 *
 * Life of a request: created at LWS_CALLBACK_HTTP, dispatched to its route
 * when the body is complete (POST) or at once (other methods). Its reply,
 * headers and body in one send, is written directly when the handler
 * answers during dispatch, and also when it answers later (a store
 * replied) from outside lws' callbacks (see reply_now); from
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
#include "http.h"

#include "log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	                       * then the body */
	size_t reply_len;
	uv_timer_t timer;
	/* the large fields last: req_new() zeroes only what comes before them */
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

/* How deep in this server's lws callbacks the code runs: a reply is written
 * and lws serviced by hand (reply_now) only from outside all of them. */
static int lws_depth;

/* Room before a reply's body for LWS_PRE and the headers, so that headers
 * and body leave in one write (one send). */
#define REPLY_HDR_MAX  512
#define REPLY_HEADROOM (LWS_PRE + REPLY_HDR_MAX)

static const struct {
	enum lws_token_indexes tok;
	const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},     {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},     {WSI_TOKEN_DELETE_URI, "DELETE"},
    {WSI_TOKEN_PATCH_URI, "PATCH"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

static void req_closed_cb(uv_handle_t *h)
{
	struct http_req *req = h->data;

	free(req->body);
	free(req->reply);
	free(req);
}

void http_req_hold(struct http_req *req)
{
	req->refs++;
}

void http_req_release(struct http_req *req)
{
	if (--req->refs == 0)
		uv_close((uv_handle_t *)&req->timer, req_closed_cb);
}

/* The server's own reference is dropped once. */
static void req_server_done(struct http_req *req)
{
	if (req->server_done)
		return;
	req->server_done = 1;
	http_req_release(req);
}

void *http_req_app(const struct http_req *req)
{
	return req->srv->o.app;
}
const char *http_req_method(const struct http_req *req)
{
	return req->method;
}
const char *http_req_path(const struct http_req *req)
{
	return req->path;
}
int http_req_replied(const struct http_req *req)
{
	return req->replied;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
	*len = req->body_len;
	return req->body ? req->body : "";
}

int http_req_query(const struct http_req *req, const char *name, char *buf, size_t len)
{
	size_t nlen = strlen(name);
	const char *p = req->query, *end = req->query + req->query_len;

	for (; p < end; p += strlen(p) + 1) {
		size_t seg = strlen(p);

		if (seg > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			size_t vlen = seg - nlen - 1;

			if (vlen >= len)
				return -1;
			memcpy(buf, p + nlen + 1, vlen);
			buf[vlen] = 0;
			return (int)vlen;
		}
	}
	return -1;
}

const char *http_req_raw_path(const struct http_req *req)
{
	return req->raw_path[0] ? req->raw_path : NULL;
}

/* The opaque user data of a connection (lws keeps it per wsi, across
 * transactions, unlike the per-session data) points here once it has carried
 * a transaction. */
static char conn_reused;

/* Writes the stored reply, headers and body in one lws_write (one send; lws
 * keeps what the socket does not take and sends it when writable). Returns
 * -1 when lws wants the connection closed. */
static int req_write(struct http_req *req)
{
	struct lws *wsi = req->wsi;
	unsigned char hdr[REPLY_HDR_MAX], *p = hdr, *end = hdr + sizeof(hdr) - 1;
	int close = 1;

	req->written = 1;
	if (!lws_add_http_common_headers(wsi, (unsigned int)req->status,
	                                 req->ctype ? req->ctype : "application/json",
	                                 (lws_filepos_t)req->reply_len, &p, end) &&
	    !lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                  (const unsigned char *)"no-store", 8, &p, end) &&
	    !lws_finalize_http_header(wsi, &p, end)) {
		size_t hlen = (size_t)(p - hdr), total = hlen + req->reply_len;
		unsigned char *start = req->reply + REPLY_HEADROOM - hlen;

		memcpy(start, hdr, hlen);
		close = lws_write(wsi, start, total, LWS_WRITE_HTTP_FINAL) != (int)total;
	}
	req->wsi = NULL;
	close |= req->close_after;
	req_server_done(req);
	if (close)
		return -1;
	/* the connection has carried a transaction: a request parsed on it from
	 * now on may have been pipelined (see LWS_CALLBACK_HTTP) */
	lws_set_opaque_user_data(wsi, (void *)&conn_reused);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A reply that came later (a store answered), written now rather than from
 * a WRITEABLE callback, which costs a POLLOUT round trip (a loop turn and,
 * with lws' libuv event lib, an epoll_ctl for every uv_poll_start). lws
 * 4.1.6 allows it on HTTP/1 from outside its callbacks: lws_write is a plain
 * send whose remainder lws buffers and flushes on POLLOUT itself, and
 * lws_http_transaction_completed() only resets the connection for its next
 * request. Closing is left to WRITEABLE (only a callback can close).
 * Returns 0 when written, -1 when the reply must go the WRITEABLE way. */
static int reply_now(struct http_req *req)
{
	struct lws *wsi = req->wsi;
	struct http_pss *pss = req->pss;
	struct lws_pollfd pfd;

	if (lws_depth || req->close_after || !pss || lws_wsi_user(wsi) != pss || pss->req != req)
		return -1;
	pss->req = NULL;
	if (req_write(req) < 0) {
		pss->close_now = 1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (lws_partial_buffered(wsi))
		return 0; /* lws waits for POLLOUT to send the rest */
	/* lws_http_transaction_completed() parked the connection until it is
	 * seen writable (LRS_DEFERRING_ACTION, POLLOUT asked for): the reply
	 * has just gone whole, so it is. Telling lws now lets it drop that
	 * POLLOUT in the same loop turn, before libuv polls again. */
	pfd.fd = lws_get_socket_fd(wsi);
	pfd.events = LWS_POLLIN | LWS_POLLOUT;
	pfd.revents = LWS_POLLOUT;
	if (pfd.fd >= 0)
		lws_service_fd(lws_get_context(wsi), &pfd);
	return 0;
}

void http_reply(struct http_req *req, int status, const char *json, size_t len)
{
	struct http_server *srv = req->srv;

	if (req->replied)
		return;
	req->replied = 1;
	uv_timer_stop(&req->timer);
	if (status < 300)
		srv->stats.replies_2xx++;
	else if (status < 500)
		srv->stats.replies_4xx++;
	else
		srv->stats.replies_5xx++;
	if (!req->wsi) {
		req_server_done(req);
		return;
	}
	req->status = status;
	req->reply = malloc(REPLY_HEADROOM + len + 1);
	if (!req->reply) {
		/* cannot answer: drop the connection rather than hang it */
		req->status = 0;
		lws_set_timeout(req->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	memcpy(req->reply + REPLY_HEADROOM, json, len);
	req->reply_len = len;
	if (req->dispatching)
		return; /* req_dispatch writes it */
	if (!req->dispatched || reply_now(req) < 0)
		lws_callback_on_writable(req->wsi);
}

void http_reply_error(struct http_req *req, int status, const char *message, const char *field)
{
	struct sbuf b = {0};

	sbuf_append(&b, "{\"error\":", 9);
	sbuf_json_str(&b, message);
	if (field) {
		sbuf_append(&b, ",\"field\":", 9);
		sbuf_json_str(&b, field);
	}
	sbuf_append(&b, "}", 1);
	if (b.oom)
		http_reply(req, status, "{\"error\":\"out of memory\"}", 25);
	else
		http_reply(req, status, b.p, b.len);
	sbuf_free(&b);
}

/* Before dispatch the timer is the body's deadline (408, then the connection
 * closes: the rest of the body may still be on its way); after it, the
 * store's (503). */
static void req_timeout_cb(uv_timer_t *t)
{
	struct http_req *req = t->data;

	req->srv->stats.timeouts++;
	if (!req->dispatched) {
		log_warn("%s %s: the body did not arrive in time", req->method, req->path);
		req->close_after = 1;
		http_reply_error(req, 408, "request timed out: the body did not arrive in time",
		                 NULL);
		return;
	}
	log_warn("%s %s timed out waiting for a store", req->method, req->path);
	http_reply_error(req, 503, "service unavailable: backing store did not answer", NULL);
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

/* Writes a given reply from one of lws' callbacks on its connection (no
 * reply: out of memory, the connection closes). lws may free the
 * per-session data when a transaction completes, so pss is cleared first.
 * Returns -1 when the connection must close. */
static int req_write_from_cb(struct http_pss *pss, struct http_req *req)
{
	pss->req = NULL;
	if (!req->reply) {
		req->wsi = NULL;
		req_server_done(req);
		return -1;
	}
	return req_write(req);
}

/* Runs the handler (or answers an error); writes a reply given meanwhile.
 * Returns -1 when the connection must close. */
static int req_dispatch(struct http_pss *pss, struct http_req *req)
{
	const struct http_route *r;

	req->dispatching = 1;
	req->dispatched = 1;
	/* the store's deadline starts now that the request is complete */
	uv_timer_start(&req->timer, req_timeout_cb, (uint64_t)req->srv->o.timeout_ms, 0);
	if (req->too_big)
		http_reply_error(req, 413, "body too large", NULL);
	else if ((r = route_find(req)))
		r->fn(req, req->srv->o.app);
	req->dispatching = 0;
	if (req->replied && !req->written && req->wsi)
		return req_write_from_cb(pss, req);
	return 0;
}

/* Answers at once and closes (malformed or huge requests). */
static int req_reject(struct http_pss *pss, struct http_req *req, int status, const char *msg)
{
	pss->req = NULL;
	http_reply_error(req, status, msg, NULL);
	if (req->reply)
		req_write(req);
	else
		req_server_done(req);
	return -1;
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

static struct http_req *req_new(struct http_server *srv, struct lws *wsi, const char *uri)
{
	struct http_req *req = malloc(sizeof(*req));
	int qtotal;

	if (!req)
		return NULL;
	/* path, query and raw_path are written below: zeroing their 2 KiB for
	 * every request would cost more than the rest of this */
	memset(req, 0, offsetof(struct http_req, path));
	req->query[0] = 0;
	req->srv = srv;
	req->wsi = wsi;
	req->refs = 1;
	req->method = "?";
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
			req->method = methods[i].name;
			break;
		}
	snprintf(req->path, sizeof(req->path), "%s", uri ? uri : "/");
	qtotal = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
	if (qtotal > HTTP_QUERY_MAX) {
		/* refused (414) rather than cut short */
		req->query_too_long = 1;
	} else if (qtotal > 0) {
		/* every fragment, also empty ones: they need qtotal + 1 bytes
		 * (lws counts one '&' between two) */
		size_t n = 0;
		int len;

		for (int frag = 0; n < sizeof(req->query) &&
		                   (len = lws_hdr_copy_fragment(
					wsi, req->query + n, (int)(sizeof(req->query) - n),
					WSI_TOKEN_HTTP_URI_ARGS, frag)) >= 0;
		     frag++)
			n += (size_t)len + 1;
		req->query_len = n;
	}
	{
		/* nginx passes the URI as the client sent it (not decoded, not
		 * normalised), for paths that carry data (rating-svc's car numbers) */
		static const char hname[] = "x-original-uri:";
		int rl = lws_hdr_custom_length(wsi, hname, (int)sizeof(hname) - 1);

		if (rl > 0 && rl < (int)sizeof(req->raw_path) &&
		    lws_hdr_custom_copy(wsi, req->raw_path, (int)sizeof(req->raw_path), hname,
		                        (int)sizeof(hname) - 1) > 0) {
			char *q = strchr(req->raw_path, '?');

			if (q)
				*q = 0;
		} else
			req->raw_path[0] = 0;
	}
	uv_timer_init(srv->loop, &req->timer);
	req->timer.data = req;
	/* the body's deadline; dispatch restarts it as the store's */
	uv_timer_start(&req->timer, req_timeout_cb, (uint64_t)srv->o.body_timeout_ms, 0);
	srv->stats.requests++;
	return req;
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
		if (lws_get_opaque_user_data(wsi) == &conn_reused &&
		    lws_service_adjust_timeout(lws_get_context(wsi), 1, 0) == 0) {
			srv->stats.refused++;
			log_warn("%s: pipelined request refused, closing the connection",
			         srv->o.name);
			return -1;
		}
		req = req_new(srv, wsi, in);
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

			if (!req->body && req->clen > 0 && (size_t)req->clen + 1 < cap &&
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
		return req_write_from_cb(pss, req);

	case LWS_CALLBACK_CLOSED_HTTP:
		req = pss ? pss->req : NULL;
		if (req) {
			pss->req = NULL;
			req->wsi = NULL;
			if (req->replied)
				req_server_done(req);
			/* else: the server's reference goes when the reply comes */
		}
		return 0;

	default: break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* The callbacks lws is given: the above, counted in lws_depth. */
typedef int (*lws_cb_fn)(struct lws *, enum lws_callback_reasons, void *, void *, size_t);

static int cb_counted(lws_cb_fn fn, struct lws *wsi, enum lws_callback_reasons reason, void *user,
                      void *in, size_t len)
{
	int r;

	lws_depth++;
	r = fn(wsi, reason, user, in, len);
	lws_depth--;
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
	/* nginx passes at most 16 KiB of headers (large_client_header_buffers
	 * in nginx.conf.in); more than lws' space is refused by lws with a
	 * close, which nginx would report as 502 */
	info.max_http_header_data = 32768;
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
