/* rating-svc - riders rate their driver once per ride; drivers' averages.
 *
 *   POST /rating                    {"ride_id","rating","rating_token"}
 *   GET  /rating/driver/{car_number}
 *   GET  /rating/top?limit=N
 *
 * The ride (driver and token) comes from the matcher's `ride:<ride_id>` hash
 * in Redis; ratings live in Postgres (table `ratings`). This file is the
 * wiring: flags, the stores and the HTTP server on one loop, /healthz,
 * /metrics and stop. The routes are post.c (POST /rating), commit.c (its
 * INSERT, group commit) and lookup.c (the GETs); app.h is what they share.
 * Every POST owns one heap `post_op` (holding its HTTP request) from the
 * Redis lookup to the reply. */
#include "app.h"
#include "config.h"
#include "log.h"
#include "schema.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- health, metrics, life ------------------------------------------------- */

static int rating_healthy(void *app)
{
	struct rating_svc *s = app;

	return pg_up(s->pg) && rconn_up(s->redis);
}

static void rating_metrics(struct sbuf *out, void *app)
{
	struct rating_svc *s = app;
	const struct pg_stats *ps = pg_get_stats(s->pg);

	sbuf_printf(
	    out,
	    "# TYPE ratings_created_total counter\nratings_created_total %llu\n"
	    "# TYPE ratings_rejected_total counter\n"
	    "ratings_rejected_total{reason=\"invalid\"} %llu\n"
	    "ratings_rejected_total{reason=\"forbidden\"} %llu\n"
	    "ratings_rejected_total{reason=\"unknown_ride\"} %llu\n"
	    "ratings_rejected_total{reason=\"already_rated\"} %llu\n"
	    "# TYPE rating_unavailable_total counter\nrating_unavailable_total %llu\n"
	    "# TYPE rating_internal_errors_total counter\nrating_internal_errors_total %llu\n"
	    "# TYPE rating_lookups_total counter\nrating_lookups_total %llu\n"
	    "# TYPE pg_queries_total counter\npg_queries_total %llu\n"
	    "# TYPE pg_query_failures_total counter\n"
	    "pg_query_failures_total{kind=\"error\"} %llu\n"
	    "pg_query_failures_total{kind=\"lost\"} %llu\n"
	    "pg_query_failures_total{kind=\"timeout\"} %llu\n"
	    "# TYPE pg_connects_total counter\npg_connects_total %llu\n"
	    "# TYPE pg_up gauge\npg_up %d\n"
	    "# TYPE redis_up gauge\nredis_up %d\n",
	    s->created, s->invalid, s->forbidden, s->unknown, s->duplicate, s->unavailable,
	    s->failed, s->lookups, ps->queries, ps->errors, ps->failed, ps->timeouts, ps->connects,
	    pg_up(s->pg), rconn_up(s->redis));
	sbuf_printf(out,
	            "# TYPE rating_batch_max gauge\nrating_batch_max %d\n"
	            "# TYPE rating_batches_total counter\nrating_batches_total %llu\n"
	            "# TYPE rating_batch_rows_total counter\nrating_batch_rows_total %llu\n"
	            "# TYPE rating_batch_replays_total counter\nrating_batch_replays_total %llu\n"
	            "# TYPE rating_batch_pending gauge\nrating_batch_pending %d\n"
	            "# TYPE pg_rollbacks_total counter\npg_rollbacks_total %llu\n",
	            s->batch_max, s->batches, s->batch_rows, s->replays, s->pending, ps->rollbacks);
}

static void rating_stop(void *priv)
{
	struct rating_svc *s = priv;

	pg_free(s->pg); /* the stores first: see svc_stop_http */
	s->pg = NULL;
	rconn_free(s->redis);
	s->redis = NULL;
	svc_stop_http(&s->http);
}

int main(int argc, char **argv)
{
	static struct rating_svc s;
	struct svc_net net;
	const char *pg_conninfo = NULL;
	int timeout_ms = 3000, pg_timeout_ms = 2000, batch_max = 256;
	char default_pg[160];
	static const struct http_route routes[] = {
	    {"POST", "/rating", 0, rsvc_handle_post},
	    {"GET", "/rating/top", 0, rsvc_handle_top},
	    {"GET", "/rating/driver/", 1, rsvc_handle_driver},
	    {NULL, NULL, 0, NULL},
	};
	/* --pg has no env entry in the table on purpose: --help prints the
	 * current value of each option, and PG_CONNINFO carries a password */
	struct opt opts[] = {
	    SVC_NET_OPTS(&net, "port to listen on (PORT+30)"),
	    {"pg", NULL, OPT_STR, &pg_conninfo,
	     "libpq conninfo; env PG_CONNINFO (default host=127.0.0.1 port=PORT+2 dbname=ridematch "
	     "user=postgres)"},
	    {"timeout-ms", NULL, OPT_INT, &timeout_ms,
	     "answer 503 when the stores have not answered by then"},
	    {"pg-timeout-ms", NULL, OPT_INT, &pg_timeout_ms,
	     "drop a Postgres query (and connection) after this"},
	    {"batch-max", "RATING_BATCH_MAX", OPT_INT, &batch_max,
	     "group commit: at most this many ratings per transaction (1-1024; 1 = one INSERT "
	     "each)"},
	    {NULL, NULL, 0, NULL, NULL},
	};
	int rc;

	svc_net_init(&net, RS_PORT_RATING);
	rc = svc_begin_net(
	    argc, argv, opts,
	    "Rides are rated once, by the rider holding the ride's rating_token:\n"
	    "  POST /rating {\"ride_id\",\"rating\":1-5,\"rating_token\"} -> 201 once committed\n"
	    "  GET /rating/driver/{car_number}, GET /rating/top?limit=1-100 (default 10)\n"
	    "Reads ride:<ride_id> hashes from Redis, stores ratings in Postgres.",
	    &net);
	if (rc >= 0)
		return rc;
	if (!pg_conninfo) {
		const char *env = getenv("PG_CONNINFO");

		snprintf(default_pg, sizeof(default_pg),
		         "host=127.0.0.1 port=%d dbname=ridematch user=postgres connect_timeout=3",
		         cfg_stack_port(RS_PORT_PG));
		pg_conninfo = env && *env ? env : default_pg;
	}
	if (timeout_ms <= 0 || pg_timeout_ms <= 0) {
		log_error("--timeout-ms and --pg-timeout-ms must be positive");
		return 2;
	}
	if (batch_max < 1 || batch_max > 1024) {
		log_error("--batch-max must be 1-1024");
		return 2;
	}

	s.batch_max = batch_max;
	s.pend_tail = &s.pend_head;
	s.loop = uv_default_loop();
	svc_init(s.loop, rating_stop, &s);
	s.redis = rconn_new(
	    s.loop,
	    &(struct rconn_opts){.host = net.redis_host, .port = net.redis_port, .name = "redis"});
	s.pg = pg_new(s.loop, &(struct pg_opts){.conninfo = pg_conninfo,
	                                        .name = "postgres",
	                                        .query_timeout_ms = pg_timeout_ms});
	s.http = http_server_new(s.loop, &(struct http_server_opts){.name = "rating",
	                                                            .host = net.listen,
	                                                            .port = net.port,
	                                                            .routes = routes,
	                                                            .app = &s,
	                                                            .timeout_ms = timeout_ms,
	                                                            .healthy = rating_healthy,
	                                                            .metrics = rating_metrics});
	return svc_run(s.loop, s.redis && s.pg && s.http);
}
