/* rating-svc - riders rate their driver once per ride; drivers' averages.
 *
 *   POST /rating                    {"ride_id","rating","rating_token"}
 *   GET  /rating/driver/{car_number}
 *   GET  /rating/top?limit=N
 *
 * The ride (driver and token) comes from the matcher's `ride:<ride_id>` hash
 * in Redis; ratings live in Postgres (table `ratings`). This file is glue:
 * HTTP in, Redis and Postgres through lib/redis and lib/pg, replies built by
 * the pure core in rating.c. Every POST owns one heap `post_op` (holding its
 * HTTP request) from the Redis lookup to the reply. */
#include "batch.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "pg.h"
#include "rating.h"
#include "redis.h"
#include "schema.h"
#include "svc.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RIDE_TEXT_MAX 128 /* the hash's car_number / driver_name / token */

struct rating_svc {
	uv_loop_t *loop;
	struct rconn *redis;
	struct pgconn *pg;
	struct http_server *http;
	unsigned long long created, duplicate, invalid, forbidden, unknown, unavailable, failed,
	    lookups;
	/* group commit: ratings ready to insert wait here while a batch is in
	 * flight; batch_max 1 is the single-insert path (one INSERT each) */
	int batch_max;
	int batch_inflight;
	struct post_op *pend_head, **pend_tail;
	int pending;
	unsigned long long batches, batch_rows, replays;
};

/* One POST /rating in progress; owns a hold on req. */
struct post_op {
	struct rating_svc *s;
	struct http_req *req;
	struct v_rating r;
	char car_number[RIDE_TEXT_MAX];
	char driver_name[RIDE_TEXT_MAX];
	char rating_s[8];
	struct post_op *next; /* in the pending queue */
};

static void op_done(struct post_op *op)
{
	http_req_release(op->req);
	free(op);
}

static void reply_sbuf(struct http_req *req, int status, struct sbuf *b)
{
	if (b->oom)
		http_reply_error(req, 500, "out of memory", NULL);
	else
		http_reply(req, status, b->p, b->len);
	sbuf_free(b);
}

static void reply_unavailable(struct rating_svc *s, struct http_req *req, const char *store)
{
	char msg[64];

	s->unavailable++;
	snprintf(msg, sizeof(msg), "service unavailable: %s is down", store);
	http_reply_error(req, 503, msg, NULL);
}

/* Answers a failed Postgres query: 503 when the store is unavailable, else 500. */
static void reply_pg_failure(struct rating_svc *s, struct http_req *req, const PGresult *res)
{
	if (pg_result_unavailable(res)) {
		reply_unavailable(s, req, "Postgres");
		return;
	}
	s->failed++;
	log_error("postgres: %s", pg_result_err(res));
	http_reply_error(req, 500, "internal error", NULL);
}

/* ---- POST /rating ----------------------------------------------------------- */

static void on_inserted(struct pgconn *pc, const PGresult *res, void *priv)
{
	struct post_op *op = priv;
	struct rating_svc *s = op->s;
	struct sbuf b = {0};

	if (!pg_result_ok(res)) {
		reply_pg_failure(s, op->req, res);
	} else if (PQntuples(res) == 0) {
		s->duplicate++;
		http_reply_error(op->req, 409, "ride already rated", "ride_id");
	} else {
		/* the statement ran in autocommit and libpq's NULL result (the
		 * server ready again) has come: the row is committed */
		s->created++;
		rating_created_json(&b, op->r.ride_id, op->car_number, op->driver_name,
		                    op->r.rating);
		reply_sbuf(op->req, 201, &b);
	}
	op_done(op);
}

/* The ride is not (or no longer) in Redis: rated already, or unknown. */
static void on_exists(struct pgconn *pc, const PGresult *res, void *priv)
{
	struct post_op *op = priv;
	struct rating_svc *s = op->s;

	if (!pg_result_ok(res)) {
		reply_pg_failure(s, op->req, res);
	} else if (PQntuples(res) > 0) {
		s->duplicate++;
		http_reply_error(op->req, 409, "ride already rated", "ride_id");
	} else {
		s->unknown++;
		http_reply_error(op->req, 404, "unknown ride", "ride_id");
	}
	op_done(op);
}

/* ---- group commit ----------------------------------------------------------- */

/* One batch in flight: its ratings, in arrival order, and their rows. */
struct rating_batch {
	struct rating_svc *s;
	int n, nrows;
	struct post_op **ops;
	int *row_of, *first_of_row;
};

static void batch_kick(struct rating_svc *s);

static void batch_free(struct rating_batch *b)
{
	free(b->ops);
	free(b->row_of);
	free(b->first_of_row);
	free(b);
}

/* Inserts one rating alone in autocommit (the single-insert path, and the
 * replay of a refused batch); answers 503 when that cannot be queued. */
static void insert_one(struct rating_svc *s, struct post_op *op)
{
	const char *params[4] = {op->r.ride_id, op->car_number, op->driver_name, op->rating_s};

	if (pg_query(s->pg, rating_sql_insert, 4, params, on_inserted, op) < 0) {
		reply_unavailable(s, op->req, "Postgres");
		op_done(op);
	}
}

static void batch_answer(struct rating_svc *s, struct post_op *op, int answer,
                         const PGresult *cause)
{
	struct sbuf b = {0};

	switch (answer) {
	case RB_CREATED:
		s->created++;
		rating_created_json(&b, op->r.ride_id, op->car_number, op->driver_name,
		                    op->r.rating);
		reply_sbuf(op->req, 201, &b);
		break;
	case RB_DUPLICATE:
		s->duplicate++;
		http_reply_error(op->req, 409, "ride already rated", "ride_id");
		break;
	case RB_REPLAY:
		s->replays++;
		insert_one(s, op);
		return; /* op lives on in the single insert */
	case RB_FAILED: reply_pg_failure(s, op->req, cause); break;
	default: reply_unavailable(s, op->req, "Postgres"); break;
	}
	op_done(op);
}

/* The batch's transaction is over (or its connection is): every rating of
 * it gets its answer, then the ratings queued meanwhile go as the next. */
static void on_batch(struct pgconn *pc, const PGresult *commit, const PGresult *const *rows,
                     int nrows, void *priv)
{
	struct rating_batch *b = priv;
	struct rating_svc *s = b->s;
	const PGresult *cause = pg_batch_cause(commit, rows, nrows);
	enum rb_outcome outcome;
	int *inserted = calloc((size_t)b->nrows, sizeof(int));
	int *answers = calloc((size_t)b->n, sizeof(int));

	if (pg_result_ok(commit))
		outcome = RB_COMMITTED; /* COMMIT's CommandComplete: durable */
	else if (pg_result_unavailable(cause))
		outcome = RB_UNKNOWN;
	else
		outcome = RB_REFUSED;
	if (outcome == RB_REFUSED) {
		const char *why = pg_result_err(cause);

		log_warn(
		    "postgres: a batch of %d rows was refused (%.*s); its ratings go one by one",
		    b->nrows, (int)strcspn(why, "\n"), why);
	}
	if (!inserted || !answers) {
		/* out of memory: nothing can be told apart; committed rows
		 * answer 503, a retry answers 409 (as after a lost connection) */
		outcome = RB_UNKNOWN;
	}
	for (int r = 0; inserted && r < b->nrows && outcome == RB_COMMITTED; r++)
		inserted[r] = pg_result_ok(rows[r]) && PQntuples(rows[r]) > 0;
	if (answers)
		rb_answers(b->n, b->row_of, b->first_of_row, b->nrows, outcome, inserted, answers);
	for (int i = 0; i < b->n; i++)
		batch_answer(s, b->ops[i], answers ? answers[i] : RB_UNAVAILABLE, cause);
	free(inserted);
	free(answers);
	batch_free(b);
	s->batch_inflight = 0;
	batch_kick(s);
}

/* Sends what is pending as one batch, unless one is in flight. */
static void batch_kick(struct rating_svc *s)
{
	while (!s->batch_inflight && s->pending) {
		struct rating_batch *b = calloc(1, sizeof(*b));
		int n = s->pending < s->batch_max ? s->pending : s->batch_max;
		const char **ids = NULL, **values = NULL;
		int ok = 0;

		if (b) {
			b->s = s;
			b->ops = calloc((size_t)n, sizeof(*b->ops));
			b->row_of = calloc((size_t)n, sizeof(int));
			b->first_of_row = calloc((size_t)n, sizeof(int));
			ids = calloc((size_t)n, sizeof(*ids));
			values = calloc((size_t)n * 4, sizeof(*values));
		}
		/* take n from the queue in any case: on failure they get 503 */
		for (int i = 0; i < n; i++) {
			struct post_op *op = s->pend_head;

			s->pend_head = op->next;
			op->next = NULL;
			if (b && b->ops)
				b->ops[i] = op;
			else
				batch_answer(s, op, RB_UNAVAILABLE, NULL);
		}
		if (!s->pend_head)
			s->pend_tail = &s->pend_head;
		s->pending -= n;
		if (b && b->ops && b->row_of && b->first_of_row && ids && values) {
			b->n = n;
			for (int i = 0; i < n; i++)
				ids[i] = b->ops[i]->r.ride_id;
			b->nrows = rb_plan(ids, n, b->row_of, b->first_of_row);
			for (int r = 0; r < b->nrows; r++) {
				struct post_op *op = b->ops[b->first_of_row[r]];

				values[r * 4 + 0] = op->r.ride_id;
				values[r * 4 + 1] = op->car_number;
				values[r * 4 + 2] = op->driver_name;
				values[r * 4 + 3] = op->rating_s;
			}
			ok = pg_batch(s->pg, "rating_insert", rating_sql_insert, 4, b->nrows,
			              values, on_batch, b) == 0;
		}
		free(ids);
		free(values);
		if (ok) {
			s->batch_inflight = 1;
			s->batches++;
			s->batch_rows += (unsigned long long)b->nrows;
			break;
		}
		if (b && b->ops)
			for (int i = 0; i < n; i++)
				batch_answer(s, b->ops[i], RB_UNAVAILABLE, NULL);
		if (b)
			batch_free(b);
	}
}

/* A checked rating goes to Postgres: alone (--batch-max 1) or with the
 * others that arrive while the current batch is in flight. */
static void insert_rating(struct rating_svc *s, struct post_op *op)
{
	snprintf(op->rating_s, sizeof(op->rating_s), "%d", op->r.rating);
	if (s->batch_max <= 1) {
		insert_one(s, op);
		return;
	}
	if (!pg_up(s->pg)) {
		reply_unavailable(s, op->req, "Postgres");
		op_done(op);
		return;
	}
	*s->pend_tail = op;
	s->pend_tail = &op->next;
	s->pending++;
	batch_kick(s);
}

/* Copies the value of field name from an HGETALL reply; 0 or -1. */
static int hash_get(const redisReply *r, const char *name, char *out, size_t cap)
{
	const redisReply *v = rreply_field(r, name);

	if (!v || v->len >= cap || memchr(v->str, 0, v->len))
		return -1;
	memcpy(out, v->str, v->len);
	out[v->len] = 0;
	return 0;
}

static void on_ride(struct rconn *rc, redisReply *r, void *priv)
{
	struct post_op *op = priv;
	struct rating_svc *s = op->s;
	char token[RIDE_TEXT_MAX];
	const char *params[1];

	if (!rreply_ok(r) || r->type != REDIS_REPLY_ARRAY) {
		log_warn("ride lookup failed: %s", rreply_err(r));
		reply_unavailable(s, op->req, "Redis");
		op_done(op);
		return;
	}
	if (r->elements == 0) {
		params[0] = op->r.ride_id;
		if (pg_query(s->pg, rating_sql_exists, 1, params, on_exists, op) < 0) {
			reply_unavailable(s, op->req, "Postgres");
			op_done(op);
		}
		return;
	}
	if (hash_get(r, RS_RIDE_TOKEN, token, sizeof(token)) < 0 ||
	    hash_get(r, RS_RIDE_CAR_NUMBER, op->car_number, sizeof(op->car_number)) < 0 ||
	    hash_get(r, RS_RIDE_DRIVER_NAME, op->driver_name, sizeof(op->driver_name)) < 0) {
		s->failed++;
		log_error(RS_KEY_RIDE " is incomplete in Redis", op->r.ride_id);
		http_reply_error(op->req, 500, "ride record incomplete", NULL);
		op_done(op);
		return;
	}
	if (!rating_ct_equal(op->r.token, strlen(op->r.token), token, strlen(token))) {
		s->forbidden++;
		http_reply_error(op->req, 403, "rating_token does not match this ride",
		                 "rating_token");
		op_done(op);
		return;
	}
	/* what Postgres would refuse (bad UTF-8, too long) is refused here,
	 * before it could share a transaction with other ratings */
	if (!v_valid_text(op->car_number, strlen(op->car_number), V_CAR_NUMBER_MAX) ||
	    !v_valid_text(op->driver_name, strlen(op->driver_name), V_NAME_MAX)) {
		s->failed++;
		log_error(RS_KEY_RIDE " holds an invalid car_number or driver_name", op->r.ride_id);
		http_reply_error(op->req, 500, "ride record invalid", NULL);
		op_done(op);
		return;
	}
	insert_rating(s, op);
}

static void handle_post(struct http_req *req, void *app)
{
	struct rating_svc *s = app;
	struct v_error err = {0};
	struct post_op *op;
	size_t len;
	const char *body = http_req_body(req, &len);

	op = calloc(1, sizeof(*op));
	if (!op) {
		http_reply_error(req, 500, "out of memory", NULL);
		return;
	}
	if (v_parse_rating(body, len, &op->r, &err) < 0) {
		int forbidden = err.field && !strcmp(err.field, "rating_token");

		if (forbidden)
			s->forbidden++;
		else
			s->invalid++;
		http_reply_error(req, forbidden ? 403 : 400,
		                 err.message ? err.message : "invalid request", err.field);
		free(op);
		return;
	}
	op->s = s;
	op->req = req;
	http_req_hold(req);
	if (rconn_cmd(s->redis, on_ride, op, "HGETALL " RS_KEY_RIDE, op->r.ride_id) < 0) {
		reply_unavailable(s, req, "Redis");
		op_done(op);
	}
}

/* ---- GET /rating/driver/{car_number}, GET /rating/top ---------------------- */

/* Appends the driver object of row i (columns as in rating_sql_driver). */
static void row_json(struct sbuf *b, const PGresult *res, int i)
{
	rating_driver_json(b, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
	                   strtoll(PQgetvalue(res, i, 2), NULL, 10),
	                   strtod(PQgetvalue(res, i, 3), NULL));
}

static void on_driver(struct pgconn *pc, const PGresult *res, void *priv)
{
	struct http_req *req = priv;
	struct rating_svc *s = http_req_app(req);
	struct sbuf b = {0};

	if (!pg_result_ok(res)) {
		reply_pg_failure(s, req, res);
	} else if (PQntuples(res) == 0) {
		http_reply_error(req, 404, "no ratings for this driver", "car_number");
	} else {
		row_json(&b, res, 0);
		reply_sbuf(req, 200, &b);
	}
	http_req_release(req);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes the raw path segment src (to the end of the string) into
 * dst (cap bytes with the NUL); '+' stays '+' (a path, not a form). Returns
 * the length, or -1 on a broken escape, %00 or a result over cap - 1. */
static int car_decode(const char *src, char *dst, size_t cap)
{
	size_t n = 0;

	for (const char *p = src; *p; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			if (!c)
				return -1;
			p += 2;
		}
		if (n + 1 >= cap)
			return -1;
		dst[n++] = (char)c;
	}
	dst[n] = 0;
	return (int)n;
}

static void handle_driver(struct http_req *req, void *app)
{
	static const char prefix[] = "/rating/driver/";
	struct rating_svc *s = app;
	const char *raw = http_req_raw_path(req);
	char car[V_CAR_NUMBER_MAX + 1];
	const char *params[1] = {car};
	int n;

	/* A car number may hold '/', '.', '%' and spaces. lws hands over the
	 * path decoded and normalised ("A%2F%2FB" -> "A/B", "/./" dropped), so
	 * the car number is read from the URI as the client sent it, which
	 * nginx passes in X-Original-URI, and decoded once here. A client on
	 * the service port itself (no such header) gets lws' path. */
	if (raw) {
		if (strncmp(raw, prefix, sizeof(prefix) - 1)) {
			s->invalid++;
			http_reply_error(req, 400, "the path must be /rating/driver/{car_number}",
			                 "car_number");
			return;
		}
		n = car_decode(raw + sizeof(prefix) - 1, car, sizeof(car));
	} else {
		const char *path = http_req_path(req) + sizeof(prefix) - 1;

		n = (int)strlen(path);
		if (n <= V_CAR_NUMBER_MAX)
			memcpy(car, path, (size_t)n + 1);
		else
			n = -1;
	}
	if (n < 1 || !v_valid_text(car, (size_t)n, V_CAR_NUMBER_MAX)) {
		s->invalid++;
		http_reply_error(req, 400, "car_number must be 1-32 bytes of text", "car_number");
		return;
	}
	s->lookups++;
	http_req_hold(req);
	if (pg_query(s->pg, rating_sql_driver, 1, params, on_driver, req) < 0) {
		http_req_release(req);
		reply_unavailable(s, req, "Postgres");
	}
}

static void on_top(struct pgconn *pc, const PGresult *res, void *priv)
{
	struct http_req *req = priv;
	struct rating_svc *s = http_req_app(req);
	struct sbuf b = {0};

	if (!pg_result_ok(res)) {
		reply_pg_failure(s, req, res);
	} else {
		sbuf_append(&b, "[", 1);
		for (int i = 0; i < PQntuples(res); i++) {
			if (i)
				sbuf_append(&b, ",", 1);
			row_json(&b, res, i);
		}
		sbuf_append(&b, "]", 1);
		reply_sbuf(req, 200, &b);
	}
	http_req_release(req);
}

static void handle_top(struct http_req *req, void *app)
{
	struct rating_svc *s = app;
	char val[512], limit_s[8];
	const char *params[1] = {limit_s};
	int limit;

	/* val is as large as the whole query string: -1 means absent */
	if (rating_parse_limit(http_req_query(req, "limit", val, sizeof(val)) < 0 ? NULL : val,
	                       &limit) < 0) {
		s->invalid++;
		http_reply_error(req, 400, "limit must be a whole number 1-100", "limit");
		return;
	}
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	s->lookups++;
	http_req_hold(req);
	if (pg_query(s->pg, rating_sql_top, 1, params, on_top, req) < 0) {
		http_req_release(req);
		reply_unavailable(s, req, "Postgres");
	}
}

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

	/* stores first: their pending callbacks answer 503 while the server
	 * still exists; then the server */
	pg_free(s->pg);
	s->pg = NULL;
	rconn_free(s->redis);
	s->redis = NULL;
	http_server_free(s->http);
	s->http = NULL;
	svc_close();
}

int main(int argc, char **argv)
{
	static struct rating_svc s;
	const char *listen = "127.0.0.1", *redis_addr = NULL, *pg_conninfo = NULL;
	int port = cfg_stack_port(RS_PORT_RATING), timeout_ms = 3000, pg_timeout_ms = 2000,
	    batch_max = 256;
	char redis_host[128] = "127.0.0.1", default_pg[160];
	int redis_port = cfg_stack_port(RS_PORT_REDIS);
	static const struct http_route routes[] = {
	    {"POST", "/rating", 0, handle_post},
	    {"GET", "/rating/top", 0, handle_top},
	    {"GET", "/rating/driver/", 1, handle_driver},
	    {NULL, NULL, 0, NULL},
	};
	/* --pg has no env entry in the table on purpose: --help prints the
	 * current value of each option, and PG_CONNINFO carries a password */
	struct opt opts[] = {
	    {"listen", "LISTEN", OPT_STR, &listen, "address to listen on"},
	    {"port", NULL, OPT_INT, &port, "port to listen on (PORT+30)"},
	    {"redis", "REDIS_ADDR", OPT_STR, &redis_addr,
	     "Redis host:port (default 127.0.0.1:PORT+1)"},
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

	rc = svc_begin(
	    argc, argv, opts,
	    "Rides are rated once, by the rider holding the ride's rating_token:\n"
	    "  POST /rating {\"ride_id\",\"rating\":1-5,\"rating_token\"} -> 201 once committed\n"
	    "  GET /rating/driver/{car_number}, GET /rating/top?limit=1-100 (default 10)\n"
	    "Reads ride:<ride_id> hashes from Redis, stores ratings in Postgres.");
	if (rc >= 0)
		return rc;
	if (!pg_conninfo) {
		const char *env = getenv("PG_CONNINFO");

		snprintf(default_pg, sizeof(default_pg),
		         "host=127.0.0.1 port=%d dbname=ridematch user=postgres connect_timeout=3",
		         cfg_stack_port(RS_PORT_PG));
		pg_conninfo = env && *env ? env : default_pg;
	}
	if (svc_redis_addr(redis_addr, redis_host, sizeof(redis_host), &redis_port) < 0)
		return 2;
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
	    s.loop, &(struct rconn_opts){.host = redis_host, .port = redis_port, .name = "redis"});
	s.pg = pg_new(s.loop, &(struct pg_opts){.conninfo = pg_conninfo,
	                                        .name = "postgres",
	                                        .query_timeout_ms = pg_timeout_ms});
	s.http = http_server_new(s.loop, &(struct http_server_opts){.name = "rating",
	                                                            .host = listen,
	                                                            .port = port,
	                                                            .routes = routes,
	                                                            .app = &s,
	                                                            .timeout_ms = timeout_ms,
	                                                            .healthy = rating_healthy,
	                                                            .metrics = rating_metrics});
	return svc_run(s.loop, s.redis && s.pg && s.http);
}
