/* matcher - pairs waiting riders and drivers closest pair first, once per
 * tick of a libuv timer, and hands each pair to comm-svc through Redis.
 * See README.md in this directory and docs/INTERNALS.md.
 *
 * This file: flags, wiring, /healthz and /metrics, the loop-lag gauge, stop.
 * feed.c reads `requests` into the pools, tick.c pairs them, claim.c claims
 * the pairs, lease.c holds the lease and Redis' clock. */
#include "config.h"
#include "log.h"
#include "matcher.h"
#include "sbuf.h"
#include "schema.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void on_cmd_state(struct rconn *rc, int up, void *priv)
{
	if (up)
		lease_on_connect(priv);
}

/* The loop thread's CPU time so far, in ms. */
static double thread_cpu_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A 10 ms timer that notes how late it runs: the longest stall of the loop
 * (e.g. by a big tick), reported in /metrics, with the CPU time the loop
 * thread used in that interval: the rest of a stall is time the thread
 * waited for a core (a busy machine), not work of the loop. */
static void on_lag_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;
	uint64_t now = uv_hrtime();
	double cpu = thread_cpu_ms();

	if (m->lag_last_ns) {
		double late = (double)(now - m->lag_last_ns) / 1e6 - 10.0;

		if (late > m->lag_max_ms) {
			m->lag_max_ms = late;
			m->lag_max_cpu_ms = cpu - m->lag_last_cpu_ms;
		}
	}
	m->lag_last_ns = now;
	m->lag_last_cpu_ms = cpu;
}

static int matcher_healthy(void *app)
{
	struct matcher *m = app;

	return rconn_up(m->cmd) && rconn_up(m->feed);
}

/* The quality figures: since the start (counters) and over the last 10 s
 * (gauges, the same as the `stats` message's "quality"). */
static void quality_metrics(struct sbuf *out, struct matcher *m)
{
	struct quality_figures w;
	const struct quality *q = &m->stats.q;
	static const char *const side[2] = {"rider", "driver"};

	quality_window(q, lease_now_ms(m), 10000, &w);
	sbuf_printf(
	    out,
	    "# TYPE matcher_policy_min_total gauge\nmatcher_policy_min_total %d\n"
	    "# TYPE matcher_min_total_ticks_total counter\nmatcher_min_total_ticks_total %llu\n"
	    "# TYPE matcher_min_total_fallback_total counter\nmatcher_min_total_fallback_total "
	    "%llu\n",
	    m->min_total, (unsigned long long)m->min_total_ticks,
	    (unsigned long long)m->min_total_fallbacks);
	sbuf_printf(
	    out,
	    "# TYPE matcher_pickup_distance_sum counter\nmatcher_pickup_distance_sum %.6f\n"
	    "# TYPE matcher_pickup_distance_count counter\nmatcher_pickup_distance_count %llu\n"
	    "# TYPE matcher_expired_by_kind_total counter\n"
	    "matcher_expired_by_kind_total{kind=\"rider\"} %llu\n"
	    "matcher_expired_by_kind_total{kind=\"driver\"} %llu\n"
	    "# TYPE matcher_pickup_distance_10s gauge\n"
	    "matcher_pickup_distance_10s{stat=\"mean\"} %.6g\n"
	    "matcher_pickup_distance_10s{stat=\"p95\"} %.6g\n"
	    "# TYPE matcher_pairs_10s gauge\nmatcher_pairs_10s %zu\n",
	    q->distance_sum, (unsigned long long)q->matched, (unsigned long long)q->r_expired,
	    (unsigned long long)q->d_expired, w.pickup_mean, w.pickup_p95, w.pairs);
	sbuf_printf(out, "# TYPE matcher_matched_share_10s gauge\n");
	for (int i = 0; i < 2; i++) {
		double v = i ? w.d_share : w.r_share;

		if (v >= 0)
			sbuf_printf(out, "matcher_matched_share_10s{kind=\"%s\"} %.4f\n", side[i],
			            v);
	}
	sbuf_printf(out, "# TYPE matcher_wait_ms_10s gauge\n");
	for (int i = 0; i < 2; i++)
		sbuf_printf(out,
		            "matcher_wait_ms_10s{kind=\"%s\",quantile=\"0.5\"} %.0f\n"
		            "matcher_wait_ms_10s{kind=\"%s\",quantile=\"0.99\"} %.0f\n",
		            side[i], i ? w.d_wait_p50 : w.r_wait_p50, side[i],
		            i ? w.d_wait_p99 : w.r_wait_p99);
}

static const char *const stage_names[STAGE_N] = {"feed", "tick", "tick_out", "to_claim", "claim"};

void matcher_stage(struct matcher *m, enum matcher_stage st, uint64_t us)
{
	lhist_win_add(&m->stage[st], uv_now(m->loop), us);
}

static void stage_metrics(struct sbuf *out, struct matcher *m)
{
	struct lhist h;

	sbuf_printf(out, "# TYPE matcher_stage_ms summary\n");
	for (int i = 0; i < STAGE_N; i++) {
		lhist_win_get(&m->stage[i], uv_now(m->loop), &h);
		lhist_prom(out, "matcher_stage_ms", "stage", stage_names[i], &h);
	}
}

static void matcher_metrics(struct sbuf *out, void *app)
{
	struct matcher *m = app;
	const struct stats_totals *t = &m->stats.t;

	sbuf_printf(out,
	            "# TYPE matcher_active gauge\nmatcher_active %d\n"
	            "# TYPE matcher_waiting gauge\nmatcher_waiting{kind=\"rider\"} %zu\n"
	            "matcher_waiting{kind=\"driver\"} %zu\n"
	            "# TYPE matcher_requests_total counter\nmatcher_requests_total %llu\n"
	            "# TYPE matcher_matched_total counter\nmatcher_matched_total %llu\n"
	            "# TYPE matcher_expired_total counter\nmatcher_expired_total %llu\n"
	            "# TYPE matcher_claims_failed_total counter\nmatcher_claims_failed_total %llu\n"
	            "# TYPE matcher_tick_duration_ms gauge\nmatcher_tick_duration_ms %.3f\n"
	            "# TYPE matcher_ticks_busy_total counter\nmatcher_ticks_busy_total %llu\n"
	            "# TYPE matcher_loop_lag_max_ms gauge\nmatcher_loop_lag_max_ms %.1f\n"
	            "# TYPE matcher_loop_lag_max_cpu_ms gauge\nmatcher_loop_lag_max_cpu_ms %.1f\n",
	            m->active, m->riders.live, m->drivers.live, (unsigned long long)t->requests,
	            (unsigned long long)t->matched, (unsigned long long)t->expired,
	            (unsigned long long)t->claim_failed, m->stats.tick_duration_ms,
	            (unsigned long long)m->ticks_busy, m->lag_max_ms, m->lag_max_cpu_ms);
	quality_metrics(out, m);
	stage_metrics(out, m);
}

static void matcher_stop(void *priv)
{
	struct matcher *m = priv;

	m->stopping = 1;
	tick_stop(m);
	lease_stop(m);
	claim_stop(m);
	uv_timer_stop(&m->lag);
	uv_close((uv_handle_t *)&m->lag, NULL);
	http_server_free(m->http);
	m->http = NULL;
	rconn_free(m->feed);
	rconn_free(m->cmd);
	svc_close();
}

int main(int argc, char **argv)
{
	static struct matcher m;
	const char *listen = "127.0.0.1", *redis_addr = NULL, *instance = NULL;
	int port = cfg_stack_port(RS_PORT_MATCHER), redis_port = cfg_stack_port(RS_PORT_REDIS), rc,
	    no_incremental = 0;
	const char *policy = "closest";
	char redis_host[128] = "127.0.0.1", host[64];
	struct opt opts[] = {
	    {"listen", "LISTEN", OPT_STR, &listen, "address for /healthz and /metrics"},
	    {"port", NULL, OPT_INT, &port, "port for /healthz and /metrics (PORT+50)"},
	    {"redis", "REDIS_ADDR", OPT_STR, &redis_addr,
	     "Redis host:port (default 127.0.0.1:PORT+1)"},
	    {"tick-ms", "TICK_MS", OPT_INT, &m.tick_ms, "pair every this many ms (1..60000)"},
	    {"ttl-ms", "REQUEST_TTL_MS", OPT_INT, &m.ttl_ms,
	     "a request's life; must match the intake's"},
	    {"lease-ms", NULL, OPT_INT, &m.lease_ms, "lease time; a standby takes over within it"},
	    {"no-lease", NULL, OPT_FLAG, &m.no_lease, "pair without holding the lease (tests)"},
	    {"instance", NULL, OPT_STR, &instance, "name in the lease (default host:pid)"},
	    {"max-points", NULL, OPT_INT, &m.max_points,
	     "waiting positions per side sent to viewers"},
	    {"inline-max", NULL, OPT_INT, &m.inline_max,
	     "pair on the loop up to this many requests, else on a worker"},
	    {"ride-ttl-s", NULL, OPT_INT, &m.ride_ttl_s, "how long a ride can be rated"},
	    {"claim-batch", NULL, OPT_INT, &m.claim_batch, "claims issued per loop iteration"},
	    {"stats-min-ms", NULL, OPT_INT, &m.stats_min_ms, "stats messages N ms apart at least"},
	    {"no-incremental", NULL, OPT_FLAG, &no_incremental,
	     "pair the whole pool from scratch every tick"},
	    {"policy", "MATCHER_POLICY", OPT_STR, &policy,
	     "closest (closest pair first, the default) or min-total (least total distance)"},
	    {"min-total-max", NULL, OPT_INT, &m.min_total_max,
	     "min-total: up to this many waiting on the larger side, else closest pair first"},
	    {NULL, NULL, 0, NULL, NULL},
	};

	m.tick_ms = 1000;
	m.ttl_ms = RS_REQUEST_TTL_MS;
	m.lease_ms = 2000;
	m.max_points = 2000;
	m.inline_max = 4000;
	m.ride_ttl_s = RS_RIDE_TTL_S;
	m.stats_min_ms = 100;
	m.claim_batch = 200;
	m.min_total_max = 1000;
	rc =
	    svc_begin(argc, argv, opts,
	              "Pairs waiting riders and drivers closest pair first every tick (k-d tree),\n"
	              "claims each pair atomically in Redis and hands it to comm-svc.");
	if (rc >= 0)
		return rc;
	if (m.tick_ms < 1 || m.tick_ms > 60000 || m.ttl_ms < 1 || m.lease_ms < 300 ||
	    m.max_points < 0 || m.ride_ttl_s < 1 || m.claim_batch < 1) {
		log_error("a value is out of range (see --help)");
		return 2;
	}
	if (!strcmp(policy, "min-total")) {
		m.min_total = 1;
	} else if (strcmp(policy, "closest") != 0) {
		log_error("--policy: closest or min-total, not %s", policy);
		return 2;
	}
	if (m.min_total_max < 0) {
		log_error("--min-total-max: at least 0");
		return 2;
	}
	/* the incremental index is closest pair first's: min-total pairs the
	 * whole pool every tick */
	m.incremental = !no_incremental && !m.min_total;
	if (m.min_total)
		log_info("policy min-total: exact least total distance per tick up to %d waiting "
		         "on the larger side",
		         m.min_total_max);
	if (svc_redis_addr(redis_addr, redis_host, sizeof(redis_host), &redis_port) < 0)
		return 2;
	if (!instance) {
		gethostname(host, sizeof(host));
		host[sizeof(host) - 1] = 0;
		snprintf(m.instance, sizeof(m.instance), "%s:%d", host, (int)getpid());
	} else {
		snprintf(m.instance, sizeof(m.instance), "%s", instance);
	}

	m.pctx = pairing_ctx_new();
	if (!m.pctx) {
		log_error("out of memory");
		return 1;
	}
	m.loop = uv_default_loop();
	for (int i = 0; i < STAGE_N; i++)
		lhist_win_init(&m.stage[i], STAGE_HALF_MS, uv_now(m.loop));
	m.start_ms = svc_now_ms();
	/* replay the last TTL's worth of requests (see replay.h) */
	snprintf(m.last_id, sizeof(m.last_id), "%llu-0",
	         (unsigned long long)(m.start_ms - (uint64_t)m.ttl_ms - 1000));
	svc_init(m.loop, matcher_stop, &m);
	m.cmd = rconn_new(m.loop, &(struct rconn_opts){.host = redis_host,
	                                               .port = redis_port,
	                                               .name = "redis",
	                                               .on_state = on_cmd_state,
	                                               .priv = &m});
	m.feed = rconn_new(m.loop, &(struct rconn_opts){.host = redis_host,
	                                                .port = redis_port,
	                                                .name = "redis-feed",
	                                                .dead_ms = 4000,
	                                                .on_state = feed_on_state,
	                                                .priv = &m});
	m.http = http_server_new(m.loop, &(struct http_server_opts){.name = "matcher",
	                                                            .host = listen,
	                                                            .port = port,
	                                                            .app = &m,
	                                                            .healthy = matcher_healthy,
	                                                            .metrics = matcher_metrics});
	tick_init(&m);
	lease_init(&m);
	claim_init(&m);
	uv_timer_init(m.loop, &m.lag);
	m.lag.data = &m;
	if (m.cmd && m.feed && m.http) {
		tick_start(&m);
		lease_start(&m);
		uv_timer_start(&m.lag, on_lag_timer, 10, 10);
		log_info("matcher %s: tick %d ms, ttl %d ms%s", m.instance, m.tick_ms, m.ttl_ms,
		         m.no_lease ? ", no lease" : "");
	}
	rc = svc_run(m.loop, m.cmd && m.feed && m.http);
	pool_free(&m.riders);
	pool_free(&m.drivers);
	snap_free(&m.snap);
	tick_free(&m);
	pairing_ctx_free(m.pctx);
	return rc;
}
