/* wsc.c - see wsc.h. The struct wsc owns the lws context, the reconnect
 * timer, the liveness timer and the buffer that gathers message fragments. */
#include "wsc.h"

#include "backoff.h"
#include "log.h"
#include "sbuf.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WSC_MAX_MSG       (1 << 20)
#define WSC_TICK_MS       250   /* the liveness timer */
#define WSC_PING_PREFIX   "bot" /* + 5 digits: an 8-byte PING payload */
#define WSC_KILL_AFTER_MS 2000  /* a liveness close not done by then is forced */

struct wsc {
	uv_loop_t *loop;
	struct lws_context *ctx;
	struct lws *wsi;
	struct lws_protocols protocols[2];
	uv_timer_t retry, live;
	char host[256], hostport[300], path[256];
	char client_id[65];
	char cursor[97];
	struct wsc_ops ops;
	struct wsc_opts o;
	struct backoff bo;
	void *user;
	int up, hello_sent, closing;
	int timers_open;
	struct sbuf rx;
	int rx_drop;  /* the current message is over the limit */
	int failures; /* connect failures in a row */
	int port;
	/* the current connection */
	uint64_t up_ms, alive_ms, ping_ms, dead_close_ms;
	uint64_t messages;
	unsigned ping_seq;
	int ping_due, dead_close; /* a PING / a liveness close waits for writable */
	int peer_code;            /* close code the peer sent, 0: none */
	char peer_reason[124];
};

static void schedule_retry(struct wsc *w, const char *what);

static uint64_t now_ms(struct wsc *w)
{
	return uv_hrtime() / 1000000;
}

static int write_hello(struct wsc *w, struct lws *wsi)
{
	struct sbuf b = {0};
	unsigned char *buf;
	int rc;

	sbuf_append(&b, "{\"type\":\"hello\",\"client_id\":", 28);
	sbuf_json_str(&b, w->client_id);
	if (w->cursor[0]) {
		sbuf_append(&b, ",\"resume_after\":", 16);
		sbuf_json_str(&b, w->cursor);
	}
	sbuf_append(&b, "}", 1);
	if (b.oom) {
		sbuf_free(&b);
		return -1;
	}
	buf = malloc(LWS_PRE + b.len);
	if (!buf) {
		sbuf_free(&b);
		return -1;
	}
	memcpy(buf + LWS_PRE, b.p, b.len);
	rc = lws_write(wsi, buf + LWS_PRE, b.len, LWS_WRITE_TEXT);
	free(buf);
	if (rc < (int)b.len) {
		sbuf_free(&b);
		return -1;
	}
	log_debug("websocket: sent %s", b.p);
	sbuf_free(&b);
	w->hello_sent = 1;
	return 0;
}

static int write_ping(struct wsc *w, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 16];
	int n;

	n = snprintf((char *)buf + LWS_PRE, 16, WSC_PING_PREFIX "%05u", w->ping_seq++ % 100000);
	w->ping_due = 0;
	return lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < n ? -1 : 0;
}

/* one line per ended connection, then the report and the retry */
static void ended(struct wsc *w)
{
	int code = w->dead_close  ? WSC_CLOSE_LIVENESS
	           : w->peer_code ? w->peer_code
	                          : WSC_CLOSE_ABNORMAL;
	uint64_t t = now_ms(w);
	char what[400];

	if (w->dead_close)
		snprintf(what, sizeof(what), "closed by us: no pong nor message for %llu ms",
		         (unsigned long long)(t - w->alive_ms));
	else if (w->peer_code)
		snprintf(what, sizeof(what), "closed by the server: code %d \"%s\"", w->peer_code,
		         w->peer_reason);
	else
		snprintf(what, sizeof(what), "lost: no close frame (1006)");
	snprintf(what + strlen(what), sizeof(what) - strlen(what),
	         " after %.1f s up, %llu messages", (double)(t - w->up_ms) / 1e3,
	         (unsigned long long)w->messages);
	if (backoff_down(&w->bo, w->alive_ms))
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
		         " (it was healthy: backoff reset)");
	if (w->ops.closed)
		w->ops.closed(w->user, code, w->dead_close ? "" : w->peer_reason);
	if (w->ops.state)
		w->ops.state(w->user, 0);
	schedule_retry(w, what);
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	struct wsc *w = ctx ? lws_context_user(ctx) : NULL;

	if (!w)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		w->wsi = wsi;
		w->up = 1;
		w->hello_sent = 0;
		w->failures = 0;
		w->rx.len = 0;
		w->rx_drop = 0;
		w->up_ms = w->alive_ms = w->ping_ms = now_ms(w);
		w->messages = 0;
		w->ping_due = w->dead_close = 0;
		w->peer_code = 0;
		w->peer_reason[0] = 0;
		backoff_up(&w->bo, w->up_ms);
		log_info("websocket connected to ws://%s%s%s", w->hostport, w->path,
		         w->cursor[0] ? " (resuming)" : "");
		if (w->ops.state)
			w->ops.state(w->user, 1);
		lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (w->dead_close) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY,
			                 (unsigned char *)"no pong", 7);
			return -1;
		}
		if (!w->hello_sent) {
			if (write_hello(w, wsi) < 0)
				return -1;
			if (w->ping_due)
				lws_callback_on_writable(wsi);
			return 0;
		}
		if (w->ping_due && write_ping(w, wsi) < 0)
			return -1;
		return 0;

	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		if (len >= 3 && !memcmp(in, WSC_PING_PREFIX, 3))
			w->alive_ms = now_ms(w);
		return 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
		const unsigned char *p = in;

		if (len >= 2) {
			size_t n = len - 2 < sizeof(w->peer_reason) - 1
			               ? len - 2
			               : sizeof(w->peer_reason) - 1;

			w->peer_code = (p[0] << 8) | p[1];
			for (size_t i = 0; i < n; i++) /* printable only: it goes into a log line */
				w->peer_reason[i] =
				    p[2 + i] >= 0x20 && p[2 + i] < 0x7f ? (char)p[2 + i] : '?';
			w->peer_reason[n] = 0;
		} else {
			w->peer_code = 1005; /* a close frame without a code */
		}
		return 0;
	}

	case LWS_CALLBACK_CLIENT_RECEIVE:
		w->alive_ms = now_ms(w);
		if (!w->rx_drop) {
			if (w->rx.len + len > WSC_MAX_MSG) {
				w->rx_drop = 1;
				w->rx.len = 0;
			} else {
				sbuf_append(&w->rx, in, len);
			}
		}
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			w->messages++;
			if (w->rx_drop) {
				if (w->ops.dropped)
					w->ops.dropped(w->user);
			} else if (!w->rx.oom && w->ops.message) {
				w->ops.message(w->user, w->rx.len ? w->rx.p : "", w->rx.len);
			}
			w->rx.len = 0;
			w->rx_drop = 0;
			if (w->rx.oom) {
				sbuf_free(&w->rx);
				memset(&w->rx, 0, sizeof(w->rx));
			}
		}
		return 0;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		char what[400];

		w->wsi = NULL;
		snprintf(what, sizeof(what),
		         "cannot connect to ws://%.100s%.100s: %.100s (attempt %d)", w->hostport,
		         w->path, in ? (const char *)in : "error", ++w->failures);
		schedule_retry(w, what);
		return 0;
	}

	case LWS_CALLBACK_CLIENT_CLOSED:
		w->wsi = NULL;
		if (w->up) {
			w->up = 0;
			if (!w->closing) {
				ended(w);
				return 0;
			}
			if (w->ops.state)
				w->ops.state(w->user, 0);
		}
		schedule_retry(w, NULL);
		return 0;

	default: break;
	}
	return 0;
}

static void connect_now(struct wsc *w)
{
	struct lws_client_connect_info ci;

	if (w->closing || w->wsi)
		return;
	memset(&ci, 0, sizeof(ci));
	ci.context = w->ctx;
	ci.address = w->host;
	ci.port = w->port;
	ci.path = w->path;
	ci.host = w->hostport;
	ci.origin = w->hostport;
	ci.local_protocol_name = w->protocols[0].name;
	ci.pwsi = &w->wsi;
	if (!lws_client_connect_via_info(&ci)) {
		w->wsi = NULL;
		schedule_retry(w, "cannot start a connection");
	}
}

static void on_retry(uv_timer_t *t)
{
	connect_now(t->data);
}

/* what: the event that led here, logged on one line with the delay (NULL:
 * not logged) */
static void schedule_retry(struct wsc *w, const char *what)
{
	uint32_t d;

	if (w->closing || !w->timers_open)
		return;
	if (uv_is_active((uv_handle_t *)&w->retry))
		return;
	d = backoff_next(&w->bo);
	if (what)
		log_warn("websocket: %s; reconnecting in %u ms", what, d);
	uv_timer_start(&w->retry, on_retry, d, 0);
}

static void on_live(uv_timer_t *t)
{
	struct wsc *w = t->data;
	uint64_t now = now_ms(w);

	if (!w->up || !w->wsi || w->closing)
		return;
	if (w->dead_close) {
		/* the close frame could not be written (a stuck socket): drop it now */
		if (now - w->dead_close_ms >= WSC_KILL_AFTER_MS)
			lws_set_timeout(w->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
		return;
	}
	if (now - w->alive_ms >= (uint64_t)w->o.dead_ms) {
		w->dead_close = 1;
		w->dead_close_ms = now;
		lws_callback_on_writable(w->wsi);
		return;
	}
	if (now - w->ping_ms >= (uint64_t)w->o.ping_ms) {
		w->ping_ms = now;
		w->ping_due = 1;
		lws_callback_on_writable(w->wsi);
	}
}

struct wsc *wsc_new(uv_loop_t *loop, const char *host, int port, const char *path,
                    const char *client_id, const struct wsc_ops *ops, const struct wsc_opts *opts,
                    void *user)
{
	struct wsc *w = calloc(1, sizeof(*w));
	struct lws_context_creation_info info;
	void *foreign_loops[1] = {loop};

	if (!w)
		return NULL;
	if (strlen(host) >= sizeof(w->host) || strlen(path) >= sizeof(w->path) ||
	    strlen(client_id) >= sizeof(w->client_id)) {
		free(w);
		return NULL;
	}
	w->loop = loop;
	strcpy(w->host, host);
	strcpy(w->path, path);
	strcpy(w->client_id, client_id);
	snprintf(w->hostport, sizeof(w->hostport), "%s:%d", host, port);
	w->port = port;
	w->ops = *ops;
	w->user = user;
	if (opts)
		w->o = *opts;
	if (w->o.ping_ms <= 0)
		w->o.ping_ms = 5000;
	if (w->o.dead_ms <= 0)
		w->o.dead_ms = 15000;
	if (w->o.backoff_min_ms <= 0)
		w->o.backoff_min_ms = 200;
	if (w->o.backoff_max_ms <= 0)
		w->o.backoff_max_ms = 10000;
	if (w->o.healthy_ms <= 0)
		w->o.healthy_ms = 10000;
	backoff_init(&w->bo, (uint32_t)w->o.backoff_min_ms, (uint32_t)w->o.backoff_max_ms,
	             (uint32_t)w->o.healthy_ms, w->o.seed);
	w->protocols[0] = (struct lws_protocols){"bot-ws", cb_ws, 0, 65536, 0, NULL, 0};

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = w->protocols;
	info.options = LWS_SERVER_OPTION_LIBUV;
	info.foreign_loops = foreign_loops;
	info.user = w;
	/* lws clears w->ctx when its two-step destroy on a foreign loop is done */
	info.pcontext = &w->ctx;
	info.timeout_secs = 10;
	w->ctx = lws_create_context(&info);
	if (!w->ctx) {
		log_error("websocket: cannot create the lws context");
		free(w);
		return NULL;
	}
	uv_timer_init(loop, &w->retry);
	uv_timer_init(loop, &w->live);
	w->retry.data = w;
	w->live.data = w;
	w->timers_open = 1;
	uv_timer_start(&w->live, on_live, WSC_TICK_MS, WSC_TICK_MS);
	connect_now(w);
	return w;
}

void wsc_set_cursor(struct wsc *w, const char *cursor)
{
	size_t n = strlen(cursor);

	if (n < sizeof(w->cursor))
		memcpy(w->cursor, cursor, n + 1);
}

int wsc_connected(const struct wsc *w)
{
	return w->up;
}

void wsc_close(struct wsc *w)
{
	if (w->closing)
		return;
	w->closing = 1;
	if (w->timers_open) {
		uv_timer_stop(&w->retry);
		uv_timer_stop(&w->live);
		uv_close((uv_handle_t *)&w->retry, NULL);
		uv_close((uv_handle_t *)&w->live, NULL);
		w->timers_open = 0;
	}
	/* first step: lws closes its handles on the loop; wsc_free finishes */
	lws_context_destroy(w->ctx);
}

void wsc_free(struct wsc *w)
{
	if (!w)
		return;
	if (w->ctx)
		lws_context_destroy(w->ctx);
	sbuf_free(&w->rx);
	free(w);
}
