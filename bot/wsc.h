/* wsc.h - the bot's one websocket to comm-svc (/communication through
 * nginx): a libwebsockets client on the program's libuv loop (foreign loop,
 * no listening port). Says hello with the client id, hands every complete
 * text message to the caller, and when the connection fails or drops it
 * reconnects with exponential backoff (100 ms doubling to 5 s), sending
 * "resume_after" with the last cursor the caller reported. */
#ifndef BOT_WSC_H
#define BOT_WSC_H

#include <stddef.h>
#include <uv.h>

struct wsc;

struct wsc_ops {
	/* One complete message (any bytes, len <= 1 MiB; longer ones are
	 * dropped and reported as bad). Valid during the call only. */
	void (*message)(void *user, const char *msg, size_t len);
	/* up = 1 when the websocket is established, 0 when it went down. */
	void (*state)(void *user, int up);
	/* A message over the size limit was dropped. */
	void (*dropped)(void *user);
};

/* Creates the lws context on loop and starts connecting. client_id is
 * copied. NULL on failure (logged). */
struct wsc *wsc_new(uv_loop_t *loop, const char *host, int port, const char *path,
		    const char *client_id, const struct wsc_ops *ops, void *user);
/* Remembers the cursor (a safe id, copied) to resume after on reconnect. */
void wsc_set_cursor(struct wsc *w, const char *cursor);
int wsc_connected(const struct wsc *w);
/* Stops reconnecting and destroys the lws context (call from a libuv
 * callback, not an lws one). The loop then drains; free with wsc_free after
 * uv_run returns. */
void wsc_close(struct wsc *w);
void wsc_free(struct wsc *w);

#endif
