/* comm.h - comm-svc's glue, shared by its files (private; the logic is the
 * hub's, hub.h):
 *   main.c  flags, wiring, the two timers, /healthz and /metrics, stop
 *   ws.c    (ws_)   lws websocket events -> hub_sock_*, the recv() wrapper
 *                   feeding wsguard (unmasked client frames)
 *   feed.c  (feed_) the Redis streams -> hub_match/hub_stats: the start-up
 *                   load of the resume ring, then XREAD BLOCK in a loop */
#ifndef RS_COMM_COMM_H
#define RS_COMM_COMM_H

#include "http.h"
#include "hub.h"
#include "lhist.h"
#include "rconn.h"
#include "streamid.h"

#include <uv.h>

/* Where a match's time goes in comm-svc (/metrics comm_stage_ms, the last
 * 10-20 s; comm-svc/README.md "Latency by stage"), wall-clock ms of the
 * match's stream id (the claim's XADD in Redis) to: */
enum comm_stage {
	COMM_STAGE_FEED,  /* its XREAD reply read */
	COMM_STAGE_WRITE, /* a frame holding it handed to lws (each socket's) */
	COMM_STAGE_N
};
#define COMM_STAGE_HALF_MS 10000

struct comm {
	uv_loop_t *loop;
	struct hub *hub;
	struct http_server *http;
	struct rconn *reader, *cmd;
	uv_timer_t tick, flush;
	int loaded, loading, reading;
	char last_matches[STREAMID_STR_MAX], last_stats[STREAMID_STR_MAX],
	    load_floor[STREAMID_STR_MAX];
	int block_ms, resume_ms, resume_max;
	unsigned long long read_errors;
	struct lhist_win stage[COMM_STAGE_N];
};

/* ---------------------------------------------------------------- main.c */
/* A match with stream id ms id_ms reached stage st now. */
void comm_stage(struct comm *c, enum comm_stage st, uint64_t id_ms);

/* ---------------------------------------------------------------- ws.c */
/* The websocket protocol (lws callbacks; the app of its http_server is the
 * struct comm). */
extern const struct lws_protocols ws_protocol;
/* hub_ops: a write wanted; a close that could not be written, cut. */
void ws_want_write(void *user);
void ws_kill(void *user);
/* Frees the per-descriptor frame guards (at exit). */
void ws_guards_free(void);

/* ---------------------------------------------------------------- feed.c */
/* Starts the load of the resume ring, once, when Redis is up. */
void feed_load(struct comm *c);
/* Starts the next XREAD when the ring is loaded and none is in flight. */
void feed_read(struct comm *c);
/* rconn_opts.on_state of both connections. */
void feed_on_redis_state(struct rconn *rc, int up, void *priv);

#endif
