/* comm-svc - the websocket hub behind GET /communication. Clients say hello
 * with their client_id (or as viewers); the matcher's pairs arrive on the
 * Redis stream `matches`, its per-tick map on `stats`; this process pushes
 * each match to the rider's and driver's client sockets and every viewer
 * (rating_token only in the rider's client's copy), and stats to viewers.
 *
 * This file is the glue: lws websocket events -> hub_sock_*, Redis stream
 * entries -> hub_match/hub_stats, one uv timer -> hub_tick. The logic is in
 * hub.c and msg.c. Redis: one connection loops on XREAD BLOCK over both
 * streams, a second one loads the last minute of matches at start-up; hellos
 * are held until that load is done (hub_set_ready). Reading the streams never
 * waits on a socket: each socket's queue is bounded by the hub, which closes
 * a socket that cannot keep up (it resumes later). */
#include "config.h"
#include "http.h"
#include "hub.h"
#include "log.h"
#include "redis.h"
#include "schema.h"
#include "svc.h"
#include "wsguard.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

_Static_assert(HUB_PRE >= LWS_PRE, "hub headroom too small for lws");

#define WRITES_PER_CALLBACK 32
#define READ_BATCH          256 /* XREAD COUNT */

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
};

struct comm_pss {
	struct hub_sock *sock;
};

/* ---------------------------------------------------------------- unmasked frames */

/* lws 4.1.6 accepts unmasked client frames without a word (wsguard.h). The
 * bytes it reads pass through this program's recv(), which lws calls through
 * the dynamic linker (the executable's definition comes first); each
 * descriptor's bytes go to its wsguard, and a violation closes the socket
 * with 1002 through the hub. Only lws calls recv() in this process (hiredis
 * and libuv use read()). */
#define GUARD_FDS 65536
struct guard {
	struct wsg g;
	struct lws *wsi; /* while a websocket */
};
static struct guard *guards[GUARD_FDS];

static struct guard *guard_of(int fd)
{
	if (fd < 0 || fd >= GUARD_FDS)
		return NULL;
	if (!guards[fd])
		guards[fd] = calloc(1, sizeof(struct guard));
	return guards[fd];
}

static void guard_violation(struct guard *gd, const char *why)
{
	struct comm_pss *pss = gd->wsi ? lws_wsi_user(gd->wsi) : NULL;

	if (pss && pss->sock) {
		log_info("closing a websocket (1002): %s", why);
		hub_sock_fail(pss->sock, 1002, why);
	}
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	static ssize_t (*real_recv)(int, void *, size_t, int);
	struct guard *gd;
	ssize_t n;

	if (!real_recv) {
		*(void **)&real_recv = dlsym(RTLD_NEXT, "recv");
		if (!real_recv)
			abort();
	}
	n = real_recv(fd, buf, len, flags);
	if (flags & MSG_PEEK)
		return n;
	if (n > 0 && (gd = guard_of(fd)) && wsg_feed(&gd->g, buf, (size_t)n))
		guard_violation(gd, "frames from a client must be masked");
	else if (n == 0 && (gd = guard_of(fd)) && !gd->wsi)
		wsg_reset(&gd->g); /* the peer closed: the next connection on fd starts afresh */
	return n;
}

static void guards_free(void)
{
	for (int i = 0; i < GUARD_FDS; i++) {
		free(guards[i]);
		guards[i] = NULL;
	}
}

/* ---------------------------------------------------------------- websocket */

static void op_want_write(void *user)
{
	lws_callback_on_writable(user);
}

/* A close frame that could not be written (the peer does not read): lws'
 * timeout path closes the socket without writing more. On a foreign libuv
 * loop an expired lws timeout is only acted on at lws' next service, so
 * lws_cancel_service() makes one happen now. The wsi is freed later, never
 * inside this call (hub_tick relies on it). */
static void op_kill(void *user)
{
	struct lws *wsi = user;

	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	lws_cancel_service(lws_get_context(wsi));
}

static int close_with(struct lws *wsi, int code, const char *reason)
{
	lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason,
	                 reason ? strlen(reason) : 0);
	return -1;
}

/* From WRITEABLE, lws 4.1 drops the close frame that lws_close_reason()
 * prepares when the callback returns -1 (from RECEIVE it sends it), so the
 * frame is written here: opcode 4 is lws' internal LWS_WRITE_CLOSE, which the
 * 4.1 header keeps out of the public enum. */
#define COMM_WRITE_CLOSE ((enum lws_write_protocol)4)
static int close_from_writeable(struct lws *wsi, int code, const char *reason)
{
	unsigned char buf[LWS_PRE + 125];
	size_t n = reason ? strlen(reason) : 0;

	if (n > 123)
		n = 123;
	buf[LWS_PRE] = (unsigned char)(code >> 8);
	buf[LWS_PRE + 1] = (unsigned char)code;
	if (n)
		memcpy(buf + LWS_PRE + 2, reason, n);
	lws_write(wsi, buf + LWS_PRE, n + 2, COMM_WRITE_CLOSE);
	return -1;
}

static int ws_writeable(struct lws *wsi, struct hub_sock *s)
{
	struct hub_out out;

	for (int i = 0; i < WRITES_PER_CALLBACK; i++) {
		hub_sock_next(s, &out);
		if (out.kind == HUB_OUT_NONE)
			return 0;
		if (out.kind == HUB_OUT_CLOSE) {
			/* lws drops the close frame when other frames went out in the
			 * same callback: close in a callback of its own */
			if (i > 0)
				break;
			return close_from_writeable(wsi, out.close_code, out.reason);
		}
		if (out.kind == HUB_OUT_PING) {
			/* with a payload: lws 4.1 never reports an empty pong */
			unsigned char buf[LWS_PRE + 32];
			int n = snprintf((char *)buf + LWS_PRE, 32, "%llu",
			                 (unsigned long long)svc_now_ms());

			if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < n)
				return -1;
		} else if (lws_write(wsi, hub_msg_data(out.msg), out.msg->len, LWS_WRITE_TEXT) <
		           (int)out.msg->len) {
			return -1;
		}
		hub_sock_sent(s, out.kind);
		if (lws_send_pipe_choked(wsi))
			break;
	}
	if (hub_sock_pending(s))
		lws_callback_on_writable(wsi);
	return 0;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
	struct comm_pss *pss = user;
	struct comm *c;
	int code;

	switch (reason) {
	/* upgrades other than websocket (h2c) are refused by lib/http.c before
	 * this callback sees them (counted in http_refused_total) */
	case LWS_CALLBACK_ESTABLISHED:
		c = http_server_app(wsi);
		if (!c)
			return -1;
		pss->sock = hub_sock_new(c->hub, wsi, svc_now_ms());
		if (!pss->sock)
			return -1;
		{
			struct guard *gd = guard_of(lws_get_socket_fd(wsi));

			if (gd) {
				gd->wsi = wsi;
				if (wsg_start_ws(&gd->g))
					guard_violation(gd, "frames from a client must be masked");
			}
		}
		return 0;

	case LWS_CALLBACK_RECEIVE:
		if (!pss->sock)
			return -1;
		code = hub_sock_rx(pss->sock, in, len, lws_frame_is_binary(wsi),
		                   lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi),
		                   svc_now_ms());
		if (code) {
			log_info("closing a websocket (%d): %s", code,
			         hub_sock_close_reason(pss->sock));
			return close_with(wsi, code, hub_sock_close_reason(pss->sock));
		}
		return 0;

	case LWS_CALLBACK_RECEIVE_PONG:
		/* lws passes only pongs with a payload (ours always have one) */
		if (pss->sock)
			hub_sock_alive(pss->sock, svc_now_ms());
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->sock)
			return -1;
		return ws_writeable(wsi, pss->sock);

	case LWS_CALLBACK_CLOSED: {
		struct guard *gd = guard_of(lws_get_socket_fd(wsi));

		if (gd) {
			gd->wsi = NULL;
			wsg_reset(&gd->g);
		}
		hub_sock_free(pss->sock);
		pss->sock = NULL;
		return 0;
	}

	default: return 0;
	}
}

static const struct lws_protocols ws_protocol = {
    "communication", cb_ws, sizeof(struct comm_pss), 4096, 0, NULL, 0};

/* ---------------------------------------------------------------- Redis */

static int entry_ok(const redisReply *e)
{
	return e && e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
	       e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < STREAMID_STR_MAX;
}

static void take_match(struct comm *c, const redisReply *e, int deliver)
{
	const redisReply *json = rreply_field(e->element[1], RS_F_JSON);
	const redisReply *rcl = rreply_field(e->element[1], RS_F_RIDER_CLIENT);
	const redisReply *dcl = rreply_field(e->element[1], RS_F_DRIVER_CLIENT);

	if (!json) {
		log_warn("matches entry %s has no json field", e->element[0]->str);
		return;
	}
	hub_match(c->hub, e->element[0]->str, json->str, json->len, rcl ? rcl->str : "",
	          dcl ? dcl->str : "", deliver, svc_now_ms());
}

static void take_stats(struct comm *c, const redisReply *e)
{
	const redisReply *json = rreply_field(e->element[1], RS_F_JSON);
	const redisReply *f = e->element[1];

	if (!json && f && f->type == REDIS_REPLY_ARRAY && f->elements >= 2 &&
	    f->element[1]->type == REDIS_REPLY_STRING)
		json = f->element[1]; /* a single unnamed field */
	if (json)
		hub_stats(c->hub, json->str, json->len);
}

static void start_read(struct comm *c);

static void on_read_entry(const char *stream, const redisReply *e, void *priv)
{
	struct comm *c = priv;

	if (!entry_ok(e))
		return;
	if (!strcmp(stream, RS_STREAM_MATCHES)) {
		snprintf(c->last_matches, sizeof(c->last_matches), "%s", e->element[0]->str);
		take_match(c, e, 1);
	} else {
		snprintf(c->last_stats, sizeof(c->last_stats), "%s", e->element[0]->str);
		take_stats(c, e);
	}
}

static void on_read(struct rconn *rc, redisReply *r, void *priv)
{
	struct comm *c = priv;

	c->reading = 0;
	if (!r)
		return; /* connection lost: on_state restarts the loop */
	if (r->type == REDIS_REPLY_ERROR) {
		if (!c->read_errors++)
			log_error("XREAD failed: %s (retrying every second)", r->str);
		return; /* the tick retries */
	}
	rreply_xread_each(r, on_read_entry, c);
	/* never waits on a socket: the hub bounds each one's queue */
	start_read(c);
}

static void start_read(struct comm *c)
{
	if (!c->loaded || c->reading || !c->reader || !rconn_up(c->reader))
		return;
	if (rconn_cmd(c->reader, on_read, c,
	              "XREAD COUNT %d BLOCK %d STREAMS " RS_STREAM_MATCHES " " RS_STREAM_STATS
	              " %s %s",
	              READ_BATCH, c->block_ms, c->last_matches, c->last_stats) == 0)
		c->reading = 1;
}

/* XREVRANGE matches + <now - resume_ms> COUNT resume_max: newest first. */
static void on_load(struct rconn *rc, redisReply *r, void *priv)
{
	struct comm *c = priv;

	c->loading = 0;
	if (!rreply_ok(r) || r->type != REDIS_REPLY_ARRAY) {
		log_warn("loading recent matches failed: %s (retrying)", rreply_err(r));
		return;
	}
	for (size_t i = r->elements; i-- > 0;) {
		const redisReply *e = r->element[i];

		if (!entry_ok(e))
			continue;
		snprintf(c->last_matches, sizeof(c->last_matches), "%s", e->element[0]->str);
		take_match(c, e, 0);
	}
	hub_set_cursor(c->hub, c->last_matches);
	c->loaded = 1;
	/* every match after the floor is now in the ring: from the start of
	 * the window, or from the oldest one loaded when the count capped it */
	if (r->elements >= (size_t)c->resume_max && entry_ok(r->element[r->elements - 1]))
		hub_set_ready(c->hub, r->element[r->elements - 1]->element[0]->str);
	else
		hub_set_ready(c->hub, c->load_floor);
	log_info("%zu recent matches loaded for resumes; reading matches after %s", r->elements,
	         c->last_matches);
	start_read(c);
}

static void start_load(struct comm *c)
{
	unsigned long long since;

	if (c->loaded || c->loading || !c->cmd || !rconn_up(c->cmd))
		return;
	since = svc_now_ms() - (unsigned long long)c->resume_ms;
	/* no entry yet: XREAD from this point on misses nothing */
	snprintf(c->last_matches, sizeof(c->last_matches), "%llu-0", since);
	snprintf(c->load_floor, sizeof(c->load_floor), "%llu-0", since);
	if (rconn_cmd(c->cmd, on_load, c, "XREVRANGE " RS_STREAM_MATCHES " + %llu-0 COUNT %d",
	              since, c->resume_max) == 0)
		c->loading = 1;
}

static void on_redis_state(struct rconn *rc, int up, void *priv)
{
	struct comm *c = priv;

	if (!up)
		return;
	start_load(c);
	start_read(c);
}

static void on_flush(uv_timer_t *t)
{
	struct comm *c = t->data;

	hub_flush(c->hub);
}

static void on_tick(uv_timer_t *t)
{
	struct comm *c = t->data;

	hub_tick(c->hub, svc_now_ms());
	start_load(c);
	start_read(c);
}

/* ---------------------------------------------------------------- HTTP */

static int comm_healthy(void *app)
{
	struct comm *c = app;

	return c->loaded && rconn_up(c->reader) && rconn_up(c->cmd);
}

static void comm_metrics(struct sbuf *out, void *app)
{
	struct comm *c = app;
	const struct hub_counters *k = hub_counters(c->hub);

	sbuf_printf(out,
	            "# TYPE comm_sockets gauge\ncomm_sockets %llu\n"
	            "# TYPE comm_clients gauge\ncomm_clients %llu\n"
	            "# TYPE comm_client_ids gauge\ncomm_client_ids %llu\n"
	            "# TYPE comm_viewers gauge\ncomm_viewers %llu\n"
	            "# TYPE comm_held_hellos gauge\ncomm_held_hellos %llu\n"
	            "# TYPE comm_queued_bytes gauge\ncomm_queued_bytes %llu\n"
	            "# TYPE comm_pushed_total counter\ncomm_pushed_total %llu\n"
	            "# TYPE comm_resumed_total counter\ncomm_resumed_total %llu\n"
	            "# TYPE comm_batches_total counter\ncomm_batches_total %llu\n"
	            "# TYPE comm_batch_builds_total counter\ncomm_batch_builds_total %llu\n"
	            "# TYPE comm_replies_total counter\ncomm_replies_total %llu\n",
	            k->sockets, k->clients, k->client_ids, k->viewers, k->held, k->queued_bytes,
	            k->pushed, k->resumed, k->batches, k->batch_builds, k->replies);
	sbuf_printf(out, "# TYPE comm_dropped_total counter\n");
	for (int i = 0; i < HUB_DROP_N; i++)
		sbuf_printf(out, "comm_dropped_total{reason=\"%s\"} %llu\n",
		            hub_drop_name((enum hub_drop)i), k->dropped[i]);
	sbuf_printf(
	    out,
	    "# TYPE comm_slow_closes_total counter\ncomm_slow_closes_total %llu\n"
	    "# TYPE comm_memory_closes_total counter\ncomm_memory_closes_total %llu\n"
	    "# TYPE comm_overrun_closes_total counter\ncomm_overrun_closes_total %llu\n"
	    "# TYPE comm_unrecovered_resumes_total counter\ncomm_unrecovered_resumes_total %llu\n"
	    "# TYPE comm_matches_total counter\ncomm_matches_total %llu\n"
	    "# TYPE comm_stats_total counter\ncomm_stats_total %llu\n"
	    "# TYPE comm_bad_entries_total counter\ncomm_bad_entries_total %llu\n"
	    "# TYPE comm_bad_messages_total counter\ncomm_bad_messages_total %llu\n"
	    "# TYPE comm_policy_closes_total counter\ncomm_policy_closes_total %llu\n"
	    "# TYPE comm_ping_timeouts_total counter\ncomm_ping_timeouts_total %llu\n"
	    "# TYPE comm_kills_total counter\ncomm_kills_total %llu\n"
	    "# TYPE comm_resume_ring gauge\ncomm_resume_ring %llu\n"
	    "# TYPE comm_ready gauge\ncomm_ready %d\n"
	    "# TYPE redis_up gauge\nredis_up %d\n",
	    k->slow_closes, k->memory_closes, k->overrun_closes, k->unrecovered, k->matches,
	    k->stats, k->bad_entries, k->bad_messages, k->closes_policy, k->ping_timeouts, k->kills,
	    k->ring, hub_ready(c->hub), rconn_up(c->reader) && rconn_up(c->cmd));
}

static void on_tick_closed(uv_handle_t *h)
{
	(void)h;
}

static void comm_stop(void *priv)
{
	struct comm *c = priv;

	uv_timer_stop(&c->tick);
	if (!uv_is_closing((uv_handle_t *)&c->tick))
		uv_close((uv_handle_t *)&c->tick, on_tick_closed);
	uv_timer_stop(&c->flush);
	if (!uv_is_closing((uv_handle_t *)&c->flush))
		uv_close((uv_handle_t *)&c->flush, on_tick_closed);
	http_server_free(c->http);
	c->http = NULL;
	rconn_free(c->reader);
	c->reader = NULL;
	rconn_free(c->cmd);
	c->cmd = NULL;
	svc_close();
}

int main(int argc, char **argv)
{
	struct comm c = {.block_ms = 1000, .resume_ms = 60000, .resume_max = 10000};
	struct hub_cfg cfg = {0};
	const char *listen = "127.0.0.1", *redis_addr = NULL;
	int port = cfg_stack_port(RS_PORT_COMM), redis_port = cfg_stack_port(RS_PORT_REDIS);
	int max_message = 4096, queue_max = 1024, queue_bytes = 1024 * 1024, max_errors = 10;
	int queue_total_mb = 256, close_grace_ms = 2000, batch_bytes = 65536, batch_ms = 20;
	int ping_ms = 20000, ping_timeout_ms = 10000, hello_timeout_ms = 30000;
	char redis_host[128];
	struct opt opts[] = {
	    {"listen", "LISTEN", OPT_STR, &listen, "address to listen on"},
	    {"port", NULL, OPT_INT, &port, "port to listen on (PORT+40)"},
	    {"redis", "REDIS_ADDR", OPT_STR, &redis_addr,
	     "Redis host:port (default 127.0.0.1:PORT+1)"},
	    {"max-message", NULL, OPT_INT, &max_message,
	     "largest client message in bytes; larger closes with 1009"},
	    {"queue-max", NULL, OPT_INT, &queue_max,
	     "unsent live messages per socket before it is closed as too slow (1008; it may "
	     "resume)"},
	    {"queue-bytes", NULL, OPT_INT, &queue_bytes,
	     "unsent bytes per socket before it is closed as too slow"},
	    {"queue-total-mb", NULL, OPT_INT, &queue_total_mb,
	     "MiB queued for all sockets together; past it the socket pushed to is closed (1013)"},
	    {"close-grace-ms", NULL, OPT_INT, &close_grace_ms,
	     "a close frame not written by then (peer not reading): the socket is cut"},
	    {"batch-bytes", NULL, OPT_INT, &batch_bytes,
	     "a batch frame (hello \"batch\":true) carries matches up to this many bytes"},
	    {"batch-ms", "COMM_BATCH_MS", OPT_INT, &batch_ms,
	     "a batching socket's matches wait up to this long to go out as one frame (0: written "
	     "at once)"},
	    {"max-errors", NULL, OPT_INT, &max_errors,
	     "invalid messages before a socket is closed (1008)"},
	    {"resume-ms", "COMM_RESUME_MS", OPT_INT, &c.resume_ms,
	     "how long matches are kept for resumes"},
	    {"resume-max", NULL, OPT_INT, &c.resume_max,
	     "at most this many matches kept for resumes"},
	    {"ping-ms", "COMM_PING_MS", OPT_INT, &ping_ms,
	     "ping a socket that has been quiet this long"},
	    {"ping-timeout-ms", "COMM_PING_TIMEOUT_MS", OPT_INT, &ping_timeout_ms,
	     "close (1008) a socket that has not answered a ping by then"},
	    {"hello-timeout-ms", NULL, OPT_INT, &hello_timeout_ms,
	     "close a socket that has not said hello by then"},
	    {"block-ms", NULL, OPT_INT, &c.block_ms, "XREAD BLOCK timeout"},
	    {NULL, NULL, 0, NULL, NULL},
	};
	const struct http_route routes[] = {{NULL, NULL, 0, NULL}};
	int rc;

	log_init("comm-svc");
	rc = opt_parse(
	    argc, argv, opts,
	    "Websocket hub for GET /communication: clients say hello with their client_id\n"
	    "(or as viewers); matches from the Redis stream `matches` are pushed to the\n"
	    "rider's and driver's clients and to every viewer (rating_token only to the\n"
	    "rider's client), stats from `stats` to viewers; resumes from a cursor.\n"
	    "Also /healthz (503 while Redis is down) and /metrics on the same port.");
	if (rc)
		return rc > 0 ? 0 : 2;
	if (svc_redis_addr(redis_addr, redis_host, sizeof(redis_host), &redis_port) < 0)
		return 2;
	if (max_message < 64 || queue_max < 1 || queue_bytes < 1024 || max_errors < 1 ||
	    c.resume_ms < 1 || c.resume_max < 1 || ping_ms < 100 || ping_timeout_ms < 100 ||
	    hello_timeout_ms < 100 || c.block_ms < 1 || queue_total_mb < 1 ||
	    close_grace_ms < 100 || batch_bytes < 1024 || batch_ms < 0 || batch_ms > 1000) {
		log_error("a limit is out of range (see --help)");
		return 2;
	}
	cfg.max_rx = (size_t)max_message;
	cfg.max_queue_msgs = (unsigned)queue_max;
	cfg.max_queue_bytes = (size_t)queue_bytes;
	cfg.max_errors = (unsigned)max_errors;
	cfg.resume_ms = (uint64_t)c.resume_ms;
	cfg.resume_max = (unsigned)c.resume_max;
	cfg.ping_ms = (uint64_t)ping_ms;
	cfg.ping_timeout_ms = (uint64_t)ping_timeout_ms;
	cfg.hello_timeout_ms = (uint64_t)hello_timeout_ms;
	cfg.max_total_bytes = (size_t)queue_total_mb * 1024 * 1024;
	cfg.close_grace_ms = (uint64_t)close_grace_ms;
	cfg.batch_bytes = (size_t)batch_bytes;
	cfg.batch_defer = batch_ms > 0;
	snprintf(c.last_stats, sizeof(c.last_stats), "$");

	c.loop = uv_default_loop();
	c.hub = hub_new(&cfg, &(struct hub_ops){op_want_write, op_kill});
	if (!c.hub) {
		log_error("out of memory");
		return 1;
	}
	svc_init(c.loop, comm_stop, &c);
	uv_timer_init(c.loop, &c.tick);
	c.tick.data = &c;
	uv_timer_start(&c.tick, on_tick, 1000, 1000);
	uv_timer_init(c.loop, &c.flush);
	c.flush.data = &c;
	if (batch_ms > 0)
		uv_timer_start(&c.flush, on_flush, (uint64_t)batch_ms, (uint64_t)batch_ms);
	c.reader = rconn_new(c.loop, &(struct rconn_opts){.host = redis_host,
	                                                  .port = redis_port,
	                                                  .name = "redis-read",
	                                                  .dead_ms = c.block_ms + 3000,
	                                                  .on_state = on_redis_state,
	                                                  .priv = &c});
	c.cmd = rconn_new(c.loop, &(struct rconn_opts){.host = redis_host,
	                                               .port = redis_port,
	                                               .name = "redis",
	                                               .on_state = on_redis_state,
	                                               .priv = &c});
	c.http = http_server_new(c.loop, &(struct http_server_opts){.name = "comm-svc",
	                                                            .host = listen,
	                                                            .port = port,
	                                                            .routes = routes,
	                                                            .app = &c,
	                                                            .healthy = comm_healthy,
	                                                            .metrics = comm_metrics,
	                                                            .ws_protocol = &ws_protocol});
	if (!c.reader || !c.cmd || !c.http) {
		comm_stop(&c);
		uv_run(c.loop, UV_RUN_DEFAULT);
		http_servers_finish();
		hub_free(c.hub);
		return 1;
	}
	uv_run(c.loop, UV_RUN_DEFAULT);
	http_servers_finish();
	hub_free(c.hub);
	guards_free();
	uv_loop_close(c.loop);
	log_info("stopped");
	return 0;
}
