/* intake.c - see intake.h. */
#include "intake.h"

#include "config.h"
#include "http.h"
#include "log.h"
#include "redis.h"
#include "schema.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS[1] the stream; ARGV: kind, json, ttl ms, stream cap. The stream id is
 * the request id; the key is <kind>:<id>. Both or neither are written. */
static struct rscript intake_lua = {
    .src = "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', "
	   "'" RS_F_KIND "', ARGV[1], '" RS_F_JSON "', ARGV[2]) "
	   "redis.call('SET', ARGV[1] .. '" RS_KIND_SEP "' .. id, ARGV[2], 'PX', ARGV[3]) "
	   "return id"};

struct intake {
	const struct intake_kind *kind;
	uv_loop_t *loop;
	struct rconn *redis;
	struct http_server *http;
	int ttl_ms;
	int stream_max;
	char ttl_arg[16], max_arg[16];
	unsigned long long accepted, invalid, unavailable;
};

static void on_stored(struct rconn *rc, redisReply *r, void *priv)
{
	struct http_req *req = priv;
	struct intake *in = http_req_app(req);
	char body[160];
	int n;

	if (!rreply_ok(r) || r->type != REDIS_REPLY_STRING) {
		in->unavailable++;
		log_warn("%s not stored: %s", in->kind->kind, rreply_err(r));
		http_reply_error(req, 503, "service unavailable: Redis is down", NULL);
	} else {
		in->accepted++;
		n = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"expires_in_ms\":%d}", r->str,
		             in->ttl_ms);
		http_reply(req, 202, body, (size_t)n);
	}
	http_req_release(req);
}

static void handle_post(struct http_req *req, void *app)
{
	struct intake *in = app;
	struct v_error err = {0};
	size_t len;
	const char *body = http_req_body(req, &len);
	char *json = NULL;
	const char *argv[5];
	size_t lens[5];

	if (in->kind->parse(body, len, &json, &err) < 0) {
		in->invalid++;
		http_reply_error(req, 400, err.message ? err.message : "invalid request",
		                 err.field);
		return;
	}
	if (!json) {
		http_reply_error(req, 500, "out of memory", NULL);
		return;
	}
	argv[0] = RS_STREAM_REQUESTS;
	lens[0] = strlen(RS_STREAM_REQUESTS);
	argv[1] = in->kind->kind;
	lens[1] = strlen(in->kind->kind);
	argv[2] = json;
	lens[2] = strlen(json);
	argv[3] = in->ttl_arg;
	lens[3] = strlen(in->ttl_arg);
	argv[4] = in->max_arg;
	lens[4] = strlen(in->max_arg);
	http_req_hold(req);
	if (rconn_eval(in->redis, &intake_lua, on_stored, req, 1, 5, argv, lens) < 0) {
		http_req_release(req);
		in->unavailable++;
		http_reply_error(req, 503, "service unavailable: Redis is down", NULL);
	}
	free(json);
}

static int intake_healthy(void *app)
{
	struct intake *in = app;

	return rconn_up(in->redis);
}

static void intake_metrics(struct sbuf *out, void *app)
{
	struct intake *in = app;

	sbuf_printf(
	    out,
	    "# TYPE intake_accepted_total counter\nintake_accepted_total{kind=\"%s\"} %llu\n"
	    "# TYPE intake_invalid_total counter\nintake_invalid_total{kind=\"%s\"} %llu\n"
	    "# TYPE intake_unavailable_total counter\nintake_unavailable_total{kind=\"%s\"} %llu\n"
	    "# TYPE redis_up gauge\nredis_up %d\n",
	    in->kind->kind, in->accepted, in->kind->kind, in->invalid, in->kind->kind,
	    in->unavailable, rconn_up(in->redis));
}

static void intake_stop(void *priv)
{
	struct intake *in = priv;

	/* the store first: its pending callbacks answer requests, which need
	 * the server still there */
	rconn_free(in->redis);
	in->redis = NULL;
	http_server_free(in->http);
	in->http = NULL;
	svc_close();
}

int intake_main(int argc, char **argv, const struct intake_kind *kind)
{
	struct intake in = {
	    .kind = kind, .ttl_ms = RS_REQUEST_TTL_MS, .stream_max = RS_REQUESTS_MAXLEN};
	const char *listen = "127.0.0.1", *redis_addr = NULL;
	int port = cfg_stack_port(kind->port_offset), timeout_ms = 3000;
	char redis_host[128] = "127.0.0.1", summary[256];
	int redis_port = cfg_stack_port(RS_PORT_REDIS);
	struct http_route routes[] = {
	    {"POST", kind->path, 0, handle_post},
	    {NULL, NULL, 0, NULL},
	};
	struct opt opts[] = {
	    {"listen", "LISTEN", OPT_STR, &listen, "address to listen on"},
	    {"port", NULL, OPT_INT, &port, "port to listen on (PORT+offset)"},
	    {"redis", "REDIS_ADDR", OPT_STR, &redis_addr,
	     "Redis host:port (default 127.0.0.1:PORT+1)"},
	    {"ttl-ms", "REQUEST_TTL_MS", OPT_INT, &in.ttl_ms, "how long a request waits in Redis"},
	    {"stream-max", NULL, OPT_INT, &in.stream_max, "approximate cap of the requests stream"},
	    {"timeout-ms", NULL, OPT_INT, &timeout_ms,
	     "answer 503 when Redis has not answered by then"},
	    {NULL, NULL, 0, NULL, NULL},
	};
	int rc;

	snprintf(summary, sizeof(summary),
	         "Accepts POST %s, validates it, caches it in Redis with a TTL and announces it\n"
	         "to the matcher on the `requests` stream. Answers 202 {\"id\",\"expires_in_ms\"}.",
	         kind->path);
	rc = svc_begin(argc, argv, opts, summary);
	if (rc >= 0)
		return rc;
	if (svc_redis_addr(redis_addr, redis_host, sizeof(redis_host), &redis_port) < 0)
		return 2;
	if (in.ttl_ms <= 0 || in.stream_max <= 0) {
		log_error("--ttl-ms and --stream-max must be positive");
		return 2;
	}
	snprintf(in.ttl_arg, sizeof(in.ttl_arg), "%d", in.ttl_ms);
	snprintf(in.max_arg, sizeof(in.max_arg), "%d", in.stream_max);

	in.loop = uv_default_loop();
	svc_init(in.loop, intake_stop, &in);
	in.redis = rconn_new(
	    in.loop, &(struct rconn_opts){.host = redis_host, .port = redis_port, .name = "redis"});
	in.http = http_server_new(in.loop, &(struct http_server_opts){.name = kind->kind,
	                                                              .host = listen,
	                                                              .port = port,
	                                                              .routes = routes,
	                                                              .app = &in,
	                                                              .timeout_ms = timeout_ms,
	                                                              .healthy = intake_healthy,
	                                                              .metrics = intake_metrics});
	return svc_run(in.loop, in.redis && in.http);
}
