/* post.c - POST /rating up to the INSERT: the body (lib/validate), the ride
 * in Redis (`ride:<ride_id>`, written by the matcher's claim), the token
 * compared in constant time, the ride's text checked as Postgres would;
 * a ride gone from Redis is rated already (409) or unknown (404). Then
 * commit.c inserts it. Also the replies the other files share. */
#include "app.h"
#include "log.h"
#include "rating.h"
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsvc_op_done(struct post_op *op)
{
	http_req_release(op->req);
	free(op);
}

void rsvc_reply_sbuf(struct http_req *req, int status, struct sbuf *b)
{
	if (b->oom)
		http_reply_error(req, 500, "out of memory", NULL);
	else
		http_reply(req, status, b->p, b->len);
	sbuf_free(b);
}

void rsvc_reply_unavailable(struct rating_svc *s, struct http_req *req, const char *store)
{
	char msg[64];

	s->unavailable++;
	snprintf(msg, sizeof(msg), "service unavailable: %s is down", store);
	http_reply_error(req, 503, msg, NULL);
}

void rsvc_reply_pg_failure(struct rating_svc *s, struct http_req *req, const PGresult *res)
{
	if (pg_result_unavailable(res)) {
		rsvc_reply_unavailable(s, req, "Postgres");
		return;
	}
	s->failed++;
	log_error("postgres: %s", pg_result_err(res));
	http_reply_error(req, 500, "internal error", NULL);
}

void rsvc_reply_duplicate(struct rating_svc *s, struct http_req *req)
{
	s->duplicate++;
	http_reply_error(req, 409, "ride already rated", "ride_id");
}

/* The ride is not (or no longer) in Redis: rated already, or unknown. */
static void on_exists(struct pgconn *pc, const PGresult *res, void *priv)
{
	struct post_op *op = priv;
	struct rating_svc *s = op->s;

	if (!pg_result_ok(res)) {
		rsvc_reply_pg_failure(s, op->req, res);
	} else if (PQntuples(res) > 0) {
		rsvc_reply_duplicate(s, op->req);
	} else {
		s->unknown++;
		http_reply_error(op->req, 404, "unknown ride", "ride_id");
	}
	rsvc_op_done(op);
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

/* Answers op with a 500 for a ride record that cannot be used. */
static void ride_bad(struct post_op *op, const char *why, const char *reply)
{
	op->s->failed++;
	log_error(RS_KEY_RIDE " %s", op->r.ride_id, why);
	http_reply_error(op->req, 500, reply, NULL);
	rsvc_op_done(op);
}

static void on_ride(struct rconn *rc, redisReply *r, void *priv)
{
	struct post_op *op = priv;
	struct rating_svc *s = op->s;
	char token[RSVC_RIDE_TEXT_MAX];
	const char *params[1];

	if (!rreply_ok(r) || r->type != REDIS_REPLY_ARRAY) {
		log_warn("ride lookup failed: %s", rreply_err(r));
		rsvc_reply_unavailable(s, op->req, "Redis");
		rsvc_op_done(op);
		return;
	}
	if (r->elements == 0) {
		params[0] = op->r.ride_id;
		if (pg_query(s->pg, rating_sql_exists, 1, params, on_exists, op) < 0) {
			rsvc_reply_unavailable(s, op->req, "Postgres");
			rsvc_op_done(op);
		}
		return;
	}
	if (hash_get(r, RS_RIDE_TOKEN, token, sizeof(token)) < 0 ||
	    hash_get(r, RS_RIDE_CAR_NUMBER, op->car_number, sizeof(op->car_number)) < 0 ||
	    hash_get(r, RS_RIDE_DRIVER_NAME, op->driver_name, sizeof(op->driver_name)) < 0) {
		ride_bad(op, "is incomplete in Redis", "ride record incomplete");
		return;
	}
	if (!rating_ct_equal(op->r.token, strlen(op->r.token), token, strlen(token))) {
		s->forbidden++;
		http_reply_error(op->req, 403, "rating_token does not match this ride",
		                 "rating_token");
		rsvc_op_done(op);
		return;
	}
	/* what Postgres would refuse (bad UTF-8, too long) is refused here,
	 * before it could share a transaction with other ratings */
	if (!validate_valid_text(op->car_number, strlen(op->car_number), VALIDATE_CAR_NUMBER_MAX) ||
	    !validate_valid_text(op->driver_name, strlen(op->driver_name), VALIDATE_NAME_MAX)) {
		ride_bad(op, "holds an invalid car_number or driver_name", "ride record invalid");
		return;
	}
	rsvc_insert(s, op);
}

void rsvc_handle_post(struct http_req *req, void *app)
{
	struct rating_svc *s = app;
	struct validate_error err = {0};
	struct post_op *op;
	size_t len;
	const char *body = http_req_body(req, &len);

	op = calloc(1, sizeof(*op));
	if (!op) {
		http_reply_error(req, 500, "out of memory", NULL);
		return;
	}
	if (validate_parse_rating(body, len, &op->r, &err) < 0) {
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
		rsvc_reply_unavailable(s, req, "Redis");
		rsvc_op_done(op);
	}
}
