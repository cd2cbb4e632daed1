/* hub.h - the websocket hub's core: who is connected (sockets by client_id,
 * viewers), what each socket still has to receive (a bounded queue of shared,
 * reference-counted messages for live traffic, plus a resume cursor walked
 * through the ring of recent matches as the socket drains), what it said
 * (hello, ping, garbage), and liveness (pings, timeouts).
 *
 * No lws, no Redis, no loop: the glue (main.c) turns websocket events into
 * hub_sock_* calls and Redis stream entries into hub_match()/hub_stats(), and
 * the hub asks the glue for a write or a close through struct hub_ops. Times
 * are wall-clock milliseconds passed in by the caller.
 *
 * Rules: a slow or silent socket costs only itself (its queue is bounded; at
 * the bound it is closed with a reason and can resume); nothing is discarded
 * without a counter (hub_counters.dropped, by reason) and a rate-limited log
 * line; `pushed` counts frames handed to the socket for writing, never ones
 * thrown away. A hello is not answered before the ring is loaded
 * (hub_set_ready): it is held and answered then. */
#ifndef RS_COMM_HUB_H
#define RS_COMM_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Headroom in front of every message's bytes, for the websocket frame header
 * (main.c checks it is at least LWS_PRE). */
#define HUB_PRE 32

/* One outgoing text, shared by every socket that sends it. */
enum hub_msg_kind { HUB_MSG_REPLY, HUB_MSG_MATCH, HUB_MSG_STATS };
struct hub_msg {
	unsigned refs;
	enum hub_msg_kind kind; /* HUB_MSG_REPLY unless set */
	struct streamid id;     /* HUB_MSG_MATCH: its stream id (its "cursor") */
	size_t len;
	unsigned char buf[]; /* HUB_PRE bytes of headroom, then len bytes, then NUL */
};

/* A copy of text with one reference (the caller's); NULL on OOM. */
struct hub_msg *hub_msg_new(const char *text, size_t len);
void hub_msg_ref(struct hub_msg *m);
void hub_msg_unref(struct hub_msg *m);
static inline unsigned char *hub_msg_data(struct hub_msg *m)
{
	return m->buf + HUB_PRE;
}

struct hub_ops {
	/* The socket has something to write (a frame or a close). */
	void (*want_write)(void *user);
	/* Close the socket now without writing anything more: a close frame
	 * that could not be written within close_grace_ms. May free the socket
	 * (hub_sock_free) before it returns. */
	void (*kill)(void *user);
};

struct hub_cfg {
	size_t max_rx;             /* largest message a client may send; default 4096 */
	unsigned max_queue_msgs;   /* live messages unsent per socket; default 1024 */
	size_t max_queue_bytes;    /* per socket; default 1 MiB */
	size_t max_total_bytes;    /* all sockets' queues together; default 256 MiB */
	unsigned max_errors;       /* invalid messages before the close; default 10 */
	uint64_t resume_ms;        /* matches kept for resumes; default 60000 */
	unsigned resume_max;       /* at most this many; default 10000 */
	uint64_t ping_ms;          /* ping a socket silent this long; default 20000 */
	uint64_t ping_timeout_ms;  /* no pong by then: closed; default 10000 */
	uint64_t hello_timeout_ms; /* no hello by then: closed; default 30000 */
	uint64_t close_grace_ms;   /* a close not written by then: killed; default 2000 */
	size_t batch_bytes;        /* a batch frame's items stop at this size (one item
				     * larger than it still goes, alone); default 65536 */
	int batch_defer;           /* 1: a batching socket's first queued match asks
				     * for a write at the next hub_flush, not at once */
};

/* Why messages were thrown away (hub_counters.dropped). */
enum hub_drop {
	HUB_DROP_SLOW,    /* queued for a socket closed for being too slow */
	HUB_DROP_MEMORY,  /* queued for a socket closed at the total memory cap */
	HUB_DROP_DEAD,    /* queued for a socket closed for not answering pings */
	HUB_DROP_CLOSING, /* for a socket already closing */
	HUB_DROP_CLOSED,  /* still queued when the connection went away */
	HUB_DROP_OOM,     /* out of memory */
	HUB_DROP_OVERRUN, /* a resume overrun by the ring: closed, to resume again */
	HUB_DROP_N
};
/* "slow", "memory", ... (for metrics labels and logs). */
const char *hub_drop_name(enum hub_drop why);

struct hub_counters {
	unsigned long long sockets, clients, viewers, client_ids; /* gauges */
	unsigned long long held;         /* hellos waiting for the ring (gauge) */
	unsigned long long queued_bytes; /* bytes in all queues (gauge) */
	unsigned long long pushed;       /* match and stats messages written (live and resumed;
					   * a batch counts each of its matches) */
	unsigned long long resumed;      /* of which matches replayed to resuming sockets */
	unsigned long long batches;      /* batch frames written ({"type":"matches"}) */
	unsigned long long batch_builds; /* batch frames built: one that several sockets
					   * write (the same matches queued) is built once */
	unsigned long long replies;      /* welcome, pong and error frames written */
	unsigned long long dropped[HUB_DROP_N]; /* frames thrown away, by reason */
	unsigned long long slow_closes;         /* sockets closed because their queue was full */
	unsigned long long memory_closes;       /* sockets closed at the total memory cap */
	unsigned long long overrun_closes;      /* resuming sockets the ring overtook */
	unsigned long long unrecovered;         /* resumes told recovered:false (a gap) */
	unsigned long long matches, stats, bad_entries; /* from the streams */
	unsigned long long bad_messages;                /* client messages answered with an error */
	unsigned long long closes_policy; /* closed for garbage, size, binary, hello timeout */
	unsigned long long ping_timeouts;
	unsigned long long kills; /* closes that could not be written in time */
	unsigned long long ring;  /* matches kept for resumes (gauge) */
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
/* The ring is loaded: every match after floor (a stream id) is in it or was
 * never made; a resume from before floor is answered recovered:false. Hellos
 * held until now are answered. Call once, after the start-up load. */
void hub_set_ready(struct hub *h, const char *floor);
int hub_ready(const struct hub *h);

/* A match from the stream: validated and rewritten, kept for resumes, and,
 * when deliver is 1, queued to the rider's client's sockets (with the token),
 * the driver's client's sockets and every viewer (without), each socket one
 * copy; a resuming socket gets it from the ring in its turn. id must be
 * greater than the previous one. 0, or -1 when the entry is malformed
 * (logged and counted, nothing sent). */
int hub_match(struct hub *h, const char *id, const char *json, size_t len, const char *rider_client,
              const char *driver_client, int deliver, uint64_t now);
/* A stats message: queued unchanged to every viewer. */
void hub_stats(struct hub *h, const char *json, size_t len);
/* Asks for a write on every batching socket that got matches since the last
 * call (with cfg.batch_defer; the glue calls it every few ms, so the matches
 * of that time go out as one frame). */
void hub_flush(struct hub *h);
/* Pings quiet sockets, closes dead ones and ones that never said hello,
 * kills closes that could not be written, forgets matches older than
 * resume_ms. Call about once a second. */
void hub_tick(struct hub *h, uint64_t now);

/* A new websocket connection; user is handed back in hub_ops calls. The hub
 * owns the socket until hub_sock_free (when the connection is closed). NULL
 * on OOM. */
struct hub_sock *hub_sock_new(struct hub *h, void *user, uint64_t now);
/* The connection is gone: unregisters and frees the socket and its queue
 * (what was still queued is counted as dropped, "closed"). */
void hub_sock_free(struct hub_sock *s);

/* A piece of an incoming message; complete is 1 on its last piece. Returns 0,
 * or a websocket close code: close now, with hub_sock_close_reason(). Any
 * frame counts as a sign of life. */
int hub_sock_rx(struct hub_sock *s, const void *data, size_t len, int binary, int complete,
                uint64_t now);
/* The glue saw a protocol violation the hub cannot (an unmasked frame):
 * close now with code and reason (counted as a policy close). */
void hub_sock_fail(struct hub_sock *s, int code, const char *reason);
/* A pong (or any other sign of life). */
void hub_sock_alive(struct hub_sock *s, uint64_t now);

enum hub_out_kind { HUB_OUT_NONE, HUB_OUT_TEXT, HUB_OUT_PING, HUB_OUT_CLOSE };
struct hub_out {
	enum hub_out_kind kind;
	struct hub_msg *msg; /* HUB_OUT_TEXT: borrowed until hub_sock_sent; a batch
				* frame only until the next hub_sock_next (of any socket):
				* write it at once */
	int close_code;      /* HUB_OUT_CLOSE */
	const char *reason;  /* HUB_OUT_CLOSE */
};
/* What to write next: a close, a ping, the next queued message, or the next
 * missed match of a resume (taken from the ring as the socket drains). For a
 * socket that asked for batches ("batch":true in its hello) the matches at
 * the head of its queue (or, resuming, the next missed ones from the ring)
 * are coalesced into one {"type":"matches","count":n,"cursor":...,"items":[...]}
 * frame of at most batch_bytes of items, in order, each item the very message
 * the socket would have got alone (so a token only in the rider's client's
 * copy). After writing a TEXT or PING, call hub_sock_sent before the next
 * hub_sock_next; calling hub_sock_next again without it gives the same
 * messages again (rebuilt). */
void hub_sock_next(struct hub_sock *s, struct hub_out *out);
void hub_sock_sent(struct hub_sock *s, enum hub_out_kind kind);
/* 1 when hub_sock_next would give something to write (cheap: builds no batch). */
int hub_sock_pending(const struct hub_sock *s);
int hub_sock_batching(const struct hub_sock *s);
/* Reason of the close code hub_sock_rx returned. */
const char *hub_sock_close_reason(const struct hub_sock *s);
/* Live messages queued (not the resume still to walk). */
size_t hub_sock_queued(const struct hub_sock *s);
int hub_sock_resuming(const struct hub_sock *s);

#endif
