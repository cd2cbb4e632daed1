/* wsc.h - the bot's one websocket to comm-svc (/communication through
 * nginx): a libwebsockets client on the program's libuv loop (foreign loop,
 * no listening port). Says hello with the client id, hands every complete
 * text message to the caller, and keeps the connection honest:
 *  - liveness: every ping_ms it sends a websocket PING with an 8-byte
 *    payload (lws 4.1.6 never reports an empty PONG, STACK-NOTES.md) and
 *    counts any PONG or message as a sign of life; silence for dead_ms closes
 *    the connection (close code 1001, reported as WSC_CLOSE_LIVENESS);
 *  - when the connection fails or ends it reconnects with exponential
 *    backoff and jitter (backoff.h: the base resets only after a connection
 *    was alive for healthy_ms), sending "resume_after" with the last cursor
 *    the caller reported;
 *  - every close is logged on one line: who closed, code, reason, how long
 *    it was up, the next delay. */
#ifndef RS_BOT_WSC_H
#define RS_BOT_WSC_H

#include <stddef.h>
#include <uv.h>

struct wsc;

/* closed(): the connection ended without a close frame from the peer */
#define WSC_CLOSE_ABNORMAL 1006
/* closed(): we closed it because it was silent for dead_ms */
#define WSC_CLOSE_LIVENESS 0

struct wsc_ops {
	/* One complete message (any bytes, len <= 1 MiB; longer ones are
	 * dropped and reported as bad). Valid during the call only. */
	void (*message)(void *user, const char *msg, size_t len);
	/* up = 1 when the websocket is established, 0 when it went down. */
	void (*state)(void *user, int up);
	/* A message over the size limit was dropped. */
	void (*dropped)(void *user);
	/* An established connection ended (called before state(0)): code is
	 * the peer's close code, WSC_CLOSE_ABNORMAL when none came,
	 * WSC_CLOSE_LIVENESS when we closed it for silence; reason is the peer's
	 * reason text ("" when none; valid during the call). May be NULL. */
	void (*closed)(void *user, int code, const char *reason);
};

struct wsc_opts {
	int ping_ms;             /* a PING this often while up (default 5000) */
	int dead_ms;             /* no PONG nor message this long: close (default 15000) */
	int backoff_min_ms;      /* first reconnect delay's base (default 200) */
	int backoff_max_ms;      /* cap of the base (default 10000) */
	int healthy_ms;          /* alive this long resets the backoff (default 10000) */
	unsigned long long seed; /* jitter seed */
};

/* Creates the lws context on loop and starts connecting. client_id is
 * copied. opts may be NULL (defaults); zero fields take their default. NULL
 * on failure (logged). */
struct wsc *wsc_new(uv_loop_t *loop, const char *host, int port, const char *path,
                    const char *client_id, const struct wsc_ops *ops, const struct wsc_opts *opts,
                    void *user);
/* Remembers the cursor (a safe id, copied) to resume after on reconnect. */
void wsc_set_cursor(struct wsc *w, const char *cursor);
int wsc_connected(const struct wsc *w);
/* Stops reconnecting and destroys the lws context (call from a libuv
 * callback, not an lws one). The loop then drains; free with wsc_free after
 * uv_run returns. */
void wsc_close(struct wsc *w);
void wsc_free(struct wsc *w);

#endif
