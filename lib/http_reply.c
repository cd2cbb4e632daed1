/* http_reply.c - answering a request of lib/http.c: headers and body in one
 * send, written at once when the handler answers during dispatch or, later,
 * from outside lws' callbacks; from LWS_CALLBACK_HTTP_WRITEABLE otherwise
 * (http.c). JSON errors, and the request's deadlines (408, 503). */
#include "http_int.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char http_conn_reused;

/* Writes the stored reply, headers and body in one lws_write (one send; lws
 * keeps what the socket does not take and sends it when writable). Returns
 * -1 when lws wants the connection closed. */
int http_req_write(struct http_req *req)
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
	http_req_done(req);
	if (close)
		return -1;
	/* the connection has carried a transaction: a request parsed on it from
	 * now on may have been pipelined (see LWS_CALLBACK_HTTP) */
	lws_set_opaque_user_data(wsi, (void *)&http_conn_reused);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A reply that came later (a store answered), written now rather than from
 * a WRITEABLE callback, which costs a POLLOUT round trip (a loop turn and,
 * with lws' libuv event lib, an epoll_ctl for every uv_poll_start). lws
 * 4.1.6 allows it on HTTP/1 from outside its callbacks: lws_write is a plain
 * send whose remainder lws buffers and flushes on POLLOUT itself, and
 * lws_http_transaction_completed() only resets the connection for its next
 * request. Closing is left to WRITEABLE (only a callback can close).
 * Returns 0 when written, -1 when the reply must go the WRITEABLE way.
 *
 * lws' libuv event lib calls uv_poll_start for every POLLIN/POLLOUT change
 * it makes, changed or not: three around a reply (POLLOUT on in
 * lws_http_transaction_completed, off twice when it is seen) and one when
 * the next request's headers take a header table. libuv 1.44 answered each
 * with an EPOLL_CTL_DEL and an ADD (~6 epoll_ctl a request); lib/uvpoll now
 * drops the unchanged ones and applies the rest once before the loop polls,
 * so the POLLOUT turned on and off here within one loop turn never reaches
 * epoll. */
static int reply_now(struct http_req *req)
{
	struct lws *wsi = req->wsi;
	struct http_pss *pss = req->pss;
	struct lws_pollfd pfd;

	if (http_lws_depth || req->close_after || !pss || lws_wsi_user(wsi) != pss ||
	    pss->req != req)
		return -1;
	pss->req = NULL;
	if (http_req_write(req) < 0) {
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
		http_req_done(req);
		return;
	}
	req->status = status;
	if (REPLY_HEADROOM + len + 1 > req->reply_cap) {
		free(req->reply_buf);
		req->reply_buf = malloc(REPLY_HEADROOM + len + 1);
		req->reply_cap = req->reply_buf ? REPLY_HEADROOM + len + 1 : 0;
	}
	req->reply = req->reply_buf;
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

/* Writes a given reply from one of lws' callbacks on its connection (no
 * reply: out of memory, the connection closes). lws may free the
 * per-session data when a transaction completes, so pss is cleared first.
 * Returns -1 when the connection must close. */
int http_req_write_cb(struct http_pss *pss, struct http_req *req)
{
	pss->req = NULL;
	if (!req->reply) {
		req->wsi = NULL;
		http_req_done(req);
		return -1;
	}
	return http_req_write(req);
}

/* Before dispatch the timer is the body's deadline (408, then the connection
 * closes: the rest of the body may still be on its way); after it, the
 * store's (503). */
void http_req_timeout_cb(uv_timer_t *t)
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
