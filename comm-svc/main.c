/* comm-svc - the websocket hub behind GET /communication. Clients say hello
 * with their client_id (or as viewers); the matcher's pairs arrive on the
 * Redis stream `matches`, its per-tick map on `stats`; this process pushes
 * each match to the rider's and driver's client sockets and every viewer
 * (rating_token only in the rider's client's copy), and stats to viewers.
 *
 * The logic is the hub's (hub.h) and msg.c's; the glue is ws.c (websocket
 * events) and feed.c (the Redis streams), comm.h says which does what. This
 * file: flags, wiring, a 1 s uv timer (hub_tick) and a --batch-ms one
 * (hub_flush), /healthz and /metrics, the stop. */
#include "comm.h"
#include "config.h"
#include "log.h"
#include "schema.h"
#include "svc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void comm_stage(struct comm *c, enum comm_stage st, uint64_t id_ms)
{
	uint64_t now = svc_now_ms();

	lhist_win_add(&c->stage[st], uv_now(c->loop), now > id_ms ? (now - id_ms) * 1000 : 0);
}

static void stage_metrics(struct sbuf *out, struct comm *c)
{
	static const char *const names[COMM_STAGE_N] = {"feed", "write"};
	struct lhist h;

	sbuf_printf(out, "# TYPE comm_stage_ms summary\n");
	for (int i = 0; i < COMM_STAGE_N; i++) {
		lhist_win_get(&c->stage[i], uv_now(c->loop), &h);
		lhist_prom(out, "comm_stage_ms", "stage", names[i], &h);
	}
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
	feed_load(c);
	feed_read(c);
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
	stage_metrics(out, c);
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
	rconn_free(c->reader);
	c->reader = NULL;
	rconn_free(c->cmd);
	c->cmd = NULL;
	svc_stop_http(&c->http);
}

/* A numeric flag of comm-svc's (an OPT_INT) with the range it must be in. */
struct limit {
	const char *name, *env;
	int *var;
	int min, max;
	const char *help;
};

int main(int argc, char **argv)
{
	struct comm c = {.block_ms = 1000, .resume_ms = 60000, .resume_max = 10000};
	struct hub_cfg cfg = {0};
	struct svc_net net;
	int max_message = 4096, queue_max = 1024, queue_bytes = 1024 * 1024, max_errors = 10;
	int queue_total_mb = 256, close_grace_ms = 2000, batch_bytes = 65536, batch_ms = 20;
	int ping_ms = 20000, ping_timeout_ms = 10000, hello_timeout_ms = 30000;
	/* the numeric flags: each with its range, checked after parsing */
	const struct limit limits[] = {
	    {"max-message", NULL, &max_message, 64, 1 << 20,
	     "largest client message in bytes; larger closes with 1009"},
	    {"queue-max", NULL, &queue_max, 1, INT_MAX,
	     "unsent live messages per socket before it is closed as too slow (1008; it may "
	     "resume)"},
	    {"queue-bytes", NULL, &queue_bytes, 1024, INT_MAX,
	     "unsent bytes per socket before it is closed as too slow"},
	    {"queue-total-mb", NULL, &queue_total_mb, 1, 1 << 20,
	     "MiB queued for all sockets together; past it the socket pushed to is closed (1013)"},
	    {"close-grace-ms", NULL, &close_grace_ms, 100, INT_MAX,
	     "a close frame not written by then (peer not reading): the socket is cut"},
	    {"batch-bytes", NULL, &batch_bytes, 1024, INT_MAX,
	     "a batch frame (hello \"batch\":true) carries matches up to this many bytes"},
	    {"batch-ms", "COMM_BATCH_MS", &batch_ms, 0, 1000,
	     "a batching socket's matches wait up to this long to go out as one frame (0: written "
	     "at once)"},
	    {"max-errors", NULL, &max_errors, 1, INT_MAX,
	     "invalid messages before a socket is closed (1008)"},
	    {"resume-ms", "COMM_RESUME_MS", &c.resume_ms, 1, INT_MAX,
	     "how long matches are kept for resumes"},
	    {"resume-max", NULL, &c.resume_max, 1, INT_MAX,
	     "at most this many matches kept for resumes"},
	    {"ping-ms", "COMM_PING_MS", &ping_ms, 100, INT_MAX,
	     "ping a socket that has been quiet this long"},
	    {"ping-timeout-ms", "COMM_PING_TIMEOUT_MS", &ping_timeout_ms, 100, INT_MAX,
	     "close (1008) a socket that has not answered a ping by then"},
	    {"hello-timeout-ms", NULL, &hello_timeout_ms, 100, INT_MAX,
	     "close a socket that has not said hello by then"},
	    {"block-ms", NULL, &c.block_ms, 1, INT_MAX, "XREAD BLOCK timeout"},
	};
	struct opt opts[3 + sizeof(limits) / sizeof(limits[0]) + 1] = {
	    SVC_NET_OPTS(&net, "port to listen on (PORT+40)"),
	};
	const struct http_route routes[] = {{NULL, NULL, 0, NULL}};
	int rc;

	svc_net_init(&net, RS_PORT_COMM);
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		opts[3 + i] = (struct opt){limits[i].name, limits[i].env, OPT_INT, limits[i].var,
		                           limits[i].help};
	rc = svc_begin_net(
	    argc, argv, opts,
	    "Websocket hub for GET /communication: clients say hello with their client_id\n"
	    "(or as viewers); matches from the Redis stream `matches` are pushed to the\n"
	    "rider's and driver's clients and to every viewer (rating_token only to the\n"
	    "rider's client), stats from `stats` to viewers; resumes from a cursor.\n"
	    "Also /healthz (503 while Redis is down) and /metrics on the same port.",
	    &net);
	if (rc >= 0)
		return rc;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (*limits[i].var < limits[i].min || *limits[i].var > limits[i].max) {
			log_error("--%s must be %d to %d (see --help)", limits[i].name,
			          limits[i].min, limits[i].max);
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

	c.loop = uv_default_loop();
	for (int i = 0; i < COMM_STAGE_N; i++)
		lhist_win_init(&c.stage[i], COMM_STAGE_HALF_MS, uv_now(c.loop));
	c.hub = hub_new(&cfg, &(struct hub_ops){ws_want_write, ws_kill});
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
	c.reader = rconn_new(c.loop, &(struct rconn_opts){.host = net.redis_host,
	                                                  .port = net.redis_port,
	                                                  .name = "redis-read",
	                                                  .dead_ms = c.block_ms + 3000,
	                                                  .on_state = feed_on_redis_state,
	                                                  .priv = &c});
	c.cmd = rconn_new(c.loop, &(struct rconn_opts){.host = net.redis_host,
	                                               .port = net.redis_port,
	                                               .name = "redis",
	                                               .on_state = feed_on_redis_state,
	                                               .priv = &c});
	c.http = http_server_new(c.loop, &(struct http_server_opts){.name = "comm-svc",
	                                                            .host = net.listen,
	                                                            .port = net.port,
	                                                            .routes = routes,
	                                                            .app = &c,
	                                                            .healthy = comm_healthy,
	                                                            .metrics = comm_metrics,
	                                                            .ws_protocol = &ws_protocol});
	rc = svc_run(c.loop, c.reader && c.cmd && c.http);
	hub_free(c.hub);
	ws_guards_free();
	return rc;
}
