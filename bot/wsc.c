/* wsc.c - see wsc.h. The struct wsc owns the lws context, the reconnect
 * timer and the buffer that gathers message fragments. */
#include "wsc.h"

#include "log.h"
#include "sbuf.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WSC_MAX_MSG   (1 << 20)
#define WSC_BACKOFF_MIN 100
#define WSC_BACKOFF_MAX 5000

struct wsc {
	uv_loop_t *loop;
	struct lws_context *ctx;
	struct lws *wsi;
	struct lws_protocols protocols[2];
	uv_timer_t retry;
	char host[256], hostport[300], path[256];
	char client_id[65];
	char cursor[97];
	struct wsc_ops ops;
	void *user;
	int backoff_ms;
	int up, hello_sent, closing;
	int timer_open;
	struct sbuf rx;
	int rx_drop;     /* the current message is over the limit */
	int failures;    /* connect failures since the last success (logged once) */
	int port;
};

static void schedule_retry(struct wsc *w);

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
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
		w->backoff_ms = WSC_BACKOFF_MIN;
		w->failures = 0;
		w->rx.len = 0;
		w->rx_drop = 0;
		log_info("websocket connected to ws://%s%s", w->hostport, w->path);
		if (w->ops.state)
			w->ops.state(w->user, 1);
		lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		struct sbuf b = { 0 };
		unsigned char *buf;
		int rc;

		if (w->hello_sent)
			return 0;
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

	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!w->rx_drop) {
			if (w->rx.len + len > WSC_MAX_MSG) {
				w->rx_drop = 1;
				w->rx.len = 0;
			} else {
				sbuf_append(&w->rx, in, len);
			}
		}
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
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

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!w->failures++)
			log_warn("websocket: cannot connect to ws://%s%s: %s (retrying quietly)",
				 w->hostport, w->path, in ? (const char *)in : "error");
		else
			log_debug("websocket: cannot connect: %s", in ? (const char *)in : "error");
		w->wsi = NULL;
		schedule_retry(w);
		return 0;

	case LWS_CALLBACK_CLIENT_CLOSED:
		w->wsi = NULL;
		if (w->up) {
			w->up = 0;
			if (!w->closing)
				log_warn("websocket: connection closed");
			if (w->ops.state)
				w->ops.state(w->user, 0);
		}
		schedule_retry(w);
		return 0;

	default:
		break;
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
		schedule_retry(w);
	}
}

static void on_retry(uv_timer_t *t)
{
	connect_now(t->data);
}

static void schedule_retry(struct wsc *w)
{
	if (w->closing || !w->timer_open)
		return;
	if (uv_is_active((uv_handle_t *)&w->retry))
		return;
	uv_timer_start(&w->retry, on_retry, (uint64_t)w->backoff_ms, 0);
	w->backoff_ms *= 2;
	if (w->backoff_ms > WSC_BACKOFF_MAX)
		w->backoff_ms = WSC_BACKOFF_MAX;
}

struct wsc *wsc_new(uv_loop_t *loop, const char *host, int port, const char *path,
		    const char *client_id, const struct wsc_ops *ops, void *user)
{
	struct wsc *w = calloc(1, sizeof(*w));
	struct lws_context_creation_info info;
	void *foreign_loops[1] = { loop };

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
	w->backoff_ms = WSC_BACKOFF_MIN;
	w->protocols[0] = (struct lws_protocols){ "bot-ws", cb_ws, 0, 65536, 0, NULL, 0 };

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
	w->retry.data = w;
	w->timer_open = 1;
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
	if (w->timer_open) {
		uv_timer_stop(&w->retry);
		uv_close((uv_handle_t *)&w->retry, NULL);
		w->timer_open = 0;
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
