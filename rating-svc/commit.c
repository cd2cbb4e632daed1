/* commit.c - a checked rating into Postgres (lib/pg). --batch-max 1: one
 * autocommit INSERT each. Otherwise group commit: ratings queue while a
 * batch is in flight, then all queued (up to --batch-max) go as one
 * transaction in one pipeline (pg_batch); each rating's answer comes from
 * the pure rules of batch.c: 201 only once the COMMIT has been answered.
 * README.md, "Group commit: what 201 promises". */
#include "app.h"
#include "batch.h"
#include "log.h"
#include "rating.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 201: the rating's row is committed. */
static void reply_created(struct rating_svc *s, struct post_op *op)
{
	struct sbuf b = {0};

	s->created++;
	rating_created_json(&b, op->r.ride_id, op->car_number, op->driver_name, op->r.rating);
	rsvc_reply_sbuf(op->req, 201, &b);
}

static void on_inserted(struct pgconn *pc, const PGresult *res, void *priv)
{
	struct post_op *op = priv;
	struct rating_svc *s = op->s;

	if (!pg_result_ok(res)) {
		rsvc_reply_pg_failure(s, op->req, res);
	} else if (PQntuples(res) == 0) {
		rsvc_reply_duplicate(s, op->req);
	} else {
		/* the statement ran in autocommit and libpq's NULL result (the
		 * server ready again) has come: the row is committed */
		reply_created(s, op);
	}
	rsvc_op_done(op);
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
		rsvc_reply_unavailable(s, op->req, "Postgres");
		rsvc_op_done(op);
	}
}

static void batch_answer(struct rating_svc *s, struct post_op *op, int answer,
                         const PGresult *cause)
{
	switch (answer) {
	case RB_CREATED: reply_created(s, op); break;
	case RB_DUPLICATE: rsvc_reply_duplicate(s, op->req); break;
	case RB_REPLAY:
		s->replays++;
		insert_one(s, op);
		return; /* op lives on in the single insert */
	case RB_FAILED: rsvc_reply_pg_failure(s, op->req, cause); break;
	default: rsvc_reply_unavailable(s, op->req, "Postgres"); break;
	}
	rsvc_op_done(op);
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

/* Alone (--batch-max 1) or with the others that arrive while the current
 * batch is in flight. */
void rsvc_insert(struct rating_svc *s, struct post_op *op)
{
	snprintf(op->rating_s, sizeof(op->rating_s), "%d", op->r.rating);
	if (s->batch_max <= 1) {
		insert_one(s, op);
		return;
	}
	if (!pg_up(s->pg)) {
		rsvc_reply_unavailable(s, op->req, "Postgres");
		rsvc_op_done(op);
		return;
	}
	*s->pend_tail = op;
	s->pend_tail = &op->next;
	s->pending++;
	batch_kick(s);
}
