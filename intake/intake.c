/* intake.c - see intake.h. */
#include "intake.h"

#include "config.h"
#include "gather.h"
#include "http.h"
#include "log.h"
#include "rconn.h"
#include "schema.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS[1] the stream; ARGV: ttl ms, stream cap, kind, then one canonical
 * JSON per request. For each: the stream id is the request id, the key is
 * <kind>:<id>, and both or neither are written. Returns the ids in order. */
static struct rconn_script intake_lua = {
    .src = "local ids = {} "
	   "for i = 4, #ARGV do "
	   "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', "
	   "'" RS_F_KIND "', ARGV[3], '" RS_F_JSON "', ARGV[i]) "
	   "redis.call('SET', ARGV[3] .. '" RS_KIND_SEP "' .. id, ARGV[i], 'PX', ARGV[1]) "
	   "ids[#ids + 1] = id "
	   "end "
	   "return ids"};

/* Requests accepted in one loop turn go to Redis together, in one script
 * call (gather.h): one command for Redis to parse and one Lua call instead
 * of one per request. A sent call's requests, until its reply: */
struct intake_batch {
	struct intake *in;
	int n;
	struct http_req *req[GATHER_MAX];
};

struct intake {
	const struct intake_kind *kind;
	uv_loop_t *loop;
	struct rconn *redis;
	struct http_server *http;
	int ttl_ms;
	int stream_max;
	char ttl_arg[16], max_arg[16];
	unsigned long long accepted, invalid, unavailable, batches;
	struct gather batch; /* this turn's requests (held) and their JSON */
	uv_check_t flush;    /* sends the batch after the loop turn's I/O */
};

static void reply_unavailable(struct intake *in, struct http_req *req)
{
	in->unavailable++;
	http_reply_error(req, 503, "service unavailable: Redis is down", NULL);
}

/* Appends n bytes of s at body + *at. */
static void put(char *body, size_t *at, const char *s, size_t n)
{
	memcpy(body + *at, s, n);
	*at += n;
}

/* A request's stored id (under 64 bytes): 202
 * {"id":"<id>","expires_in_ms":<ttl>}, put together without printf. */
static void reply_stored(struct intake *in, struct http_req *req, const redisReply *id)
{
	static const char head[] = "{\"id\":\"", mid[] = "\",\"expires_in_ms\":";
	char body[sizeof(head) + 64 + sizeof(mid) + sizeof(in->ttl_arg) + 1];
	size_t n = 0;

	in->accepted++;
	put(body, &n, head, sizeof(head) - 1);
	put(body, &n, id->str, strnlen(id->str, id->len));
	put(body, &n, mid, sizeof(mid) - 1);
	put(body, &n, in->ttl_arg, strlen(in->ttl_arg));
	put(body, &n, "}", 1);
	http_reply(req, 202, body, n);
}

static void on_stored(struct rconn *rc, redisReply *r, void *priv)
{
	struct intake_batch *b = priv;
	struct intake *in = b->in;
	int ok = rreply_ok(r) && r->type == REDIS_REPLY_ARRAY;

	(void)rc;
	if (!ok)
		log_warn("%d %s requests not stored: %s", b->n, in->kind->kind, rreply_err(r));
	for (int i = 0; i < b->n; i++) {
		const redisReply *id = ok && (size_t)i < r->elements ? r->element[i] : NULL;

		if (id && id->type == REDIS_REPLY_STRING && id->len < 64)
			reply_stored(in, b->req[i], id);
		else
			reply_unavailable(in, b->req[i]);
		http_req_release(b->req[i]);
	}
	free(b);
}

/* One script call for the gathered requests; 503 for all if it cannot be
 * sent. */
static void intake_send(struct intake *in)
{
	const char *fixed[GATHER_FIXED] = {RS_STREAM_REQUESTS, in->ttl_arg, in->max_arg,
	                                   in->kind->kind};
	const char *argv[GATHER_ARGC_MAX];
	size_t lens[GATHER_ARGC_MAX];
	struct gather *g = &in->batch;
	struct intake_batch *b = malloc(sizeof(*b));
	int argc = gather_args(g, fixed, argv, lens);

	if (b) {
		b->in = in;
		b->n = g->n;
		for (int i = 0; i < g->n; i++)
			b->req[i] = g->req[i];
		in->batches++;
	}
	if (!b || rconn_eval(in->redis, &intake_lua, on_stored, b, 1, argc, argv, lens) < 0) {
		for (int i = 0; i < g->n; i++) {
			reply_unavailable(in, g->req[i]);
			http_req_release(g->req[i]);
		}
		free(b);
	}
	for (int i = 0; i < g->n; i++)
		free(g->json[i]);
	g->n = 0;
}

/* After the loop turn's I/O (uv_check): requests arrive from lws callbacks,
 * which run in the I/O, idle and timer phases, all before this one. */
static void intake_flush(uv_check_t *h)
{
	struct intake *in = h->data;

	uv_check_stop(h);
	if (in->batch.n)
		intake_send(in);
}

static void handle_post(struct http_req *req, void *app)
{
	struct intake *in = app;
	struct validate_error err = {0};
	size_t len;
	const char *body = http_req_body(req, &len);
	char *json = NULL;

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
	if (!rconn_up(in->redis)) {
		free(json);
		reply_unavailable(in, req);
		return;
	}
	http_req_hold(req);
	/* a full batch is sent at once, so there is always room here */
	if (gather_add(&in->batch, req, json) == GATHER_MAX)
		intake_send(in);
	else
		uv_check_start(&in->flush, intake_flush); /* a no-op when started */
}

static int intake_healthy(void *app)
{
	struct intake *in = app;

	return rconn_up(in->redis);
}

static void intake_metrics(struct sbuf *out, void *app)
{
	struct intake *in = app;
	const struct {
		const char *name;
		unsigned long long v;
	} counters[] = {
	    {"intake_accepted_total", in->accepted},
	    {"intake_invalid_total", in->invalid},
	    {"intake_unavailable_total", in->unavailable},
	    {"intake_batches_total", in->batches},
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		sbuf_printf(out, "# TYPE %s counter\n%s{kind=\"%s\"} %llu\n", counters[i].name,
		            counters[i].name, in->kind->kind, counters[i].v);
	sbuf_printf(out, "# TYPE redis_up gauge\nredis_up %d\n", rconn_up(in->redis));
}

static void intake_stop(void *priv)
{
	struct intake *in = priv;

	/* the batch being gathered, then the store: their callbacks answer
	 * requests, which need the server still there */
	uv_check_stop(&in->flush);
	if (in->batch.n)
		intake_send(in);
	uv_close((uv_handle_t *)&in->flush, NULL);
	rconn_free(in->redis);
	in->redis = NULL;
	svc_stop_http(&in->http);
}

int intake_main(int argc, char **argv, const struct intake_kind *kind)
{
	struct intake in = {
	    .kind = kind, .ttl_ms = RS_REQUEST_TTL_MS, .stream_max = RS_REQUESTS_MAXLEN};
	struct svc_net net;
	int timeout_ms = 3000;
	char summary[256];
	struct http_route routes[] = {
	    {"POST", kind->path, 0, handle_post},
	    {NULL, NULL, 0, NULL},
	};
	struct opt opts[] = {
	    SVC_NET_OPTS(&net, "port to listen on (PORT+offset)"),
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
	svc_net_init(&net, kind->port_offset);
	rc = svc_begin_net(argc, argv, opts, summary, &net);
	if (rc >= 0)
		return rc;
	if (in.ttl_ms <= 0 || in.stream_max <= 0) {
		log_error("--ttl-ms and --stream-max must be positive");
		return 2;
	}
	snprintf(in.ttl_arg, sizeof(in.ttl_arg), "%d", in.ttl_ms);
	snprintf(in.max_arg, sizeof(in.max_arg), "%d", in.stream_max);

	in.loop = uv_default_loop();
	uv_check_init(in.loop, &in.flush);
	in.flush.data = &in;
	svc_init(in.loop, intake_stop, &in);
	in.redis = rconn_new(
	    in.loop,
	    &(struct rconn_opts){.host = net.redis_host, .port = net.redis_port, .name = "redis"});
	in.http = http_server_new(in.loop, &(struct http_server_opts){.name = kind->kind,
	                                                              .host = net.listen,
	                                                              .port = net.port,
	                                                              .routes = routes,
	                                                              .app = &in,
	                                                              .timeout_ms = timeout_ms,
	                                                              .healthy = intake_healthy,
	                                                              .metrics = intake_metrics});
	return svc_run(in.loop, in.redis && in.http);
}
