/* hub.h - the websocket hub's core: who is connected (sockets by client_id,
 * viewers), what each socket still has to receive (a bounded queue of shared,
 * reference-counted messages), what it said (hello, ping, garbage), the
 * matches of the last minute for resumes, and liveness (pings, timeouts).
 *
 * No lws, no Redis, no loop: the glue (main.c) turns websocket events into
 * hub_sock_* calls and Redis stream entries into hub_match()/hub_stats(), and
 * the hub asks the glue for a write or a close through struct hub_ops. Times
 * are wall-clock milliseconds passed in by the caller. */
#ifndef COMM_HUB_H
#define COMM_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Headroom in front of every message's bytes, for the websocket frame header
 * (main.c checks it is at least LWS_PRE). */
#define HUB_PRE 32

/* One outgoing text, shared by every socket that sends it. */
struct hub_msg {
	unsigned refs;
	size_t len;
	unsigned char buf[];  /* HUB_PRE bytes of headroom, then len bytes, then NUL */
};

/* A copy of text with one reference (the caller's); NULL on OOM. */
struct hub_msg *hub_msg_new(const char *text, size_t len);
void hub_msg_ref(struct hub_msg *m);
void hub_msg_unref(struct hub_msg *m);
static inline unsigned char *hub_msg_data(struct hub_msg *m) { return m->buf + HUB_PRE; }

struct hub_ops {
	/* The socket has something to write (a frame or a close). */
	void (*want_write)(void *user);
	/* Close the socket without waiting to write anything (dead peer). */
	void (*kill)(void *user);
};

struct hub_cfg {
	size_t max_rx;              /* largest message a client may send; default 4096 */
	unsigned max_queue_msgs;    /* per socket; default 1024 */
	size_t max_queue_bytes;     /* per socket; default 1 MiB */
	unsigned max_errors;        /* invalid messages before the close; default 10 */
	uint64_t resume_ms;         /* matches kept for resumes; default 60000 */
	unsigned resume_max;        /* at most this many; default 10000 */
	uint64_t ping_ms;           /* ping a socket silent this long; default 20000 */
	uint64_t ping_timeout_ms;   /* no pong by then: dead; default 10000 */
	uint64_t hello_timeout_ms;  /* no hello by then: closed; default 30000 */
};

struct hub_counters {
	unsigned long long sockets, clients, viewers, client_ids;   /* gauges */
	unsigned long long pushed;        /* frames queued to sockets (matches, stats, resumes) */
	unsigned long long dropped;       /* frames thrown away when a slow socket was closed */
	unsigned long long slow_closes;   /* sockets closed because their queue was full */
	unsigned long long matches, stats, bad_entries;  /* from the streams */
	unsigned long long resumed;       /* matches replayed to resuming sockets */
	unsigned long long bad_messages;  /* client messages answered with an error */
	unsigned long long closes_policy; /* closed for garbage, size, binary, hello timeout */
	unsigned long long ping_timeouts;
	unsigned long long ring;          /* matches kept for resumes (gauge) */
};

struct hub;
struct hub_sock;

/* cfg fields left 0 take their defaults. NULL on OOM. */
struct hub *hub_new(const struct hub_cfg *cfg, const struct hub_ops *ops);
/* Frees every socket still registered (their users must be gone) and the ring. */
void hub_free(struct hub *h);
const struct hub_counters *hub_counters(const struct hub *h);

/* The cursor a welcome carries: the last matches stream id seen (or the
 * start position). */
const char *hub_cursor(const struct hub *h);
void hub_set_cursor(struct hub *h, const char *id);

/* A match from the stream: validated and rewritten, kept for resumes, and,
 * when deliver is 1, queued to the rider's client's sockets (with the token),
 * the driver's client's sockets and every viewer (without), each socket one
 * copy. id must be greater than the previous one. 0, or -1 when the entry is
 * malformed (logged and counted, nothing sent). */
int hub_match(struct hub *h, const char *id, const char *json, size_t len,
	      const char *rider_client, const char *driver_client, int deliver, uint64_t now);
/* A stats message: queued unchanged to every viewer. */
void hub_stats(struct hub *h, const char *json, size_t len);
/* Pings quiet sockets, drops dead ones and ones that never said hello,
 * forgets matches older than resume_ms. Call about once a second. */
void hub_tick(struct hub *h, uint64_t now);

/* A new websocket connection; user is handed back in hub_ops calls. The hub
 * owns the socket until hub_sock_free (when the connection is closed). NULL
 * on OOM. */
struct hub_sock *hub_sock_new(struct hub *h, void *user, uint64_t now);
/* The connection is gone: unregisters and frees the socket and its queue. */
void hub_sock_free(struct hub_sock *s);

/* A piece of an incoming message; complete is 1 on its last piece. Returns 0,
 * or a websocket close code: close now, with hub_sock_close_reason(). */
int hub_sock_rx(struct hub_sock *s, const void *data, size_t len, int binary, int complete,
		uint64_t now);
/* A pong (or any sign of life). */
void hub_sock_alive(struct hub_sock *s, uint64_t now);

enum hub_out_kind { HUB_OUT_NONE, HUB_OUT_TEXT, HUB_OUT_PING, HUB_OUT_CLOSE };
struct hub_out {
	enum hub_out_kind kind;
	struct hub_msg *msg;   /* HUB_OUT_TEXT: borrowed until hub_sock_sent */
	int close_code;        /* HUB_OUT_CLOSE */
	const char *reason;    /* HUB_OUT_CLOSE */
};
/* What to write next; after writing a TEXT or PING, call hub_sock_sent. */
void hub_sock_next(struct hub_sock *s, struct hub_out *out);
void hub_sock_sent(struct hub_sock *s, enum hub_out_kind kind);
/* Reason of the close code hub_sock_rx returned. */
const char *hub_sock_close_reason(const struct hub_sock *s);
size_t hub_sock_queued(const struct hub_sock *s);
/* The longest queue among open sockets, and the cap (for flow control: the
 * reader pauses the streams while sockets catch up). */
unsigned hub_backlog(const struct hub *h);
unsigned hub_queue_cap(const struct hub *h);

#endif
