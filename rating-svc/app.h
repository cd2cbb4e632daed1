/* app.h - rating-svc's glue, shared by its files (not a library header):
 * the service's state, one POST /rating in progress, and the replies and
 * routes each file gives the others. Prefix rsvc_.
 *
 *   main.c    flags, wiring, /healthz, /metrics, stop
 *   post.c    POST /rating: body, the ride in Redis, the token, 404/409
 *   commit.c  the INSERT in Postgres: alone, or by group commit (batch.c)
 *   lookup.c  GET /rating/driver/{car_number}, GET /rating/top */
#ifndef RS_RATING_APP_H
#define RS_RATING_APP_H

#include "http.h"
#include "pg.h"
#include "rconn.h"
#include "sbuf.h"
#include "validate.h"

#define RSVC_RIDE_TEXT_MAX 128 /* the hash's car_number / driver_name / token */

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
	struct validate_rating r;
	char car_number[RSVC_RIDE_TEXT_MAX];
	char driver_name[RSVC_RIDE_TEXT_MAX];
	char rating_s[8];
	struct post_op *next; /* in the pending queue */
};

/* post.c */
void rsvc_handle_post(struct http_req *req, void *app);
/* Drops op's hold on its request and frees it (after its reply). */
void rsvc_op_done(struct post_op *op);
/* Replies b's bytes with status (500 if b ran out of memory); frees b. */
void rsvc_reply_sbuf(struct http_req *req, int status, struct sbuf *b);
/* 503 "service unavailable: <store> is down". */
void rsvc_reply_unavailable(struct rating_svc *s, struct http_req *req, const char *store);
/* A failed Postgres query: 503 when the store is unavailable, else 500. */
void rsvc_reply_pg_failure(struct rating_svc *s, struct http_req *req, const PGresult *res);
/* 409 "ride already rated". */
void rsvc_reply_duplicate(struct rating_svc *s, struct http_req *req);

/* commit.c: a checked rating (its ride found, token right) goes to
 * Postgres; op gets its answer (201, 409, 500 or 503) and is freed. */
void rsvc_insert(struct rating_svc *s, struct post_op *op);

/* lookup.c */
void rsvc_handle_driver(struct http_req *req, void *app);
void rsvc_handle_top(struct http_req *req, void *app);

#endif
