/* pg_query.c - lib/pg's FIFO of queries (see pg.h): pg_query and pg_batch
 * queue, one runs at a time on the connection (pg.c), its results are read
 * until its end (a single query: libpq's NULL result; a batch: its pipeline
 * sync), then its callback is called and the next one is sent. */
#include "log.h"
#include "pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- finishing ------------------------------------------------------------- */

static void q_free(struct pg_q *q)
{
	PQclear(q->res);
	PQclear(q->err);
	for (int i = 0; i < q->nrows; i++)
		PQclear(q->rows[i]);
	PQclear(q->commit);
	free(q);
}

/* Calls a batch's callback: its results, or all NULL when failed. */
static void q_finish_batch(struct pgconn *pc, struct pg_q *q, int failed)
{
	if (failed) {
		for (int i = 0; i < q->nrows; i++) {
			PQclear(q->rows[i]);
			q->rows[i] = NULL;
		}
		PQclear(q->commit);
		q->commit = NULL;
		pc->stats.failed++;
	} else if (q->err) {
		/* a statement before the rows (PREPARE, BEGIN) failed: the
		 * COMMIT was aborted; the cause is that error */
		PQclear(q->commit);
		q->commit = q->err;
		q->err = NULL;
	} else if (!q->commit) {
		q_finish_batch(pc, q, 1); /* no answer to COMMIT at all */
		return;
	}
	if (!failed && !pg_result_ok(q->commit))
		pc->stats.errors++;
	if (!failed && !pg_result_ok(q->commit) && !q->internal)
		log_debug("%s: batch of %d failed: %s", pc->name, q->nrows,
		          PQresultErrorMessage(pg_batch_cause(
			      q->commit, (const PGresult *const *)q->rows, q->nrows)));
	if (q->bfn)
		q->bfn(pc, q->commit, (const PGresult *const *)q->rows, q->nrows, q->priv);
	q_free(q);
}

/* Calls q's callback with its result (or NULL) and frees it. */
static void q_finish(struct pgconn *pc, struct pg_q *q, int failed)
{
	const PGresult *res = NULL;

	if (q->nrows) {
		q_finish_batch(pc, q, failed);
		return;
	}
	if (!failed) {
		res = q->err ? q->err : q->res;
		if (!res)
			failed = 1; /* libpq gave no result at all: treat as lost */
	}
	if (failed)
		pc->stats.failed++;
	else if (q->err)
		pc->stats.errors++;
	if (q->err && !q->internal)
		log_debug("%s: query failed: %s", pc->name, PQresultErrorMessage(q->err));
	if (q->fn)
		q->fn(pc, failed ? NULL : res, q->priv);
	q_free(q);
}

void pg_fail_all(struct pgconn *pc)
{
	struct pg_q *list = pc->head, *q;

	if (pc->inflight) {
		pc->inflight->next = list;
		list = pc->inflight;
		pc->inflight = NULL;
	}
	pc->head = pc->tail = NULL;
	while ((q = list)) {
		list = q->next;
		q_finish(pc, q, 1);
	}
}

/* ---- queueing -------------------------------------------------------------- */

/* A query in one allocation: room for nrows results, then the nv values and
 * sql copied behind them. NULL on out of memory. */
static struct pg_q *q_new(const char *sql, int nrows, size_t nv, const char *const *values)
{
	size_t sql_len = strlen(sql) + 1, size;
	struct pg_q *q;
	char *p;

	size = sizeof(*q) + (size_t)nrows * sizeof(PGresult *) + nv * sizeof(char *) + sql_len;
	for (size_t i = 0; i < nv; i++)
		if (values[i])
			size += strlen(values[i]) + 1;
	q = calloc(1, size);
	if (!q)
		return NULL;
	q->rows = (PGresult **)(q + 1);
	q->values = (const char **)(q->rows + nrows);
	p = (char *)(q->values + nv);
	memcpy(p, sql, sql_len);
	q->sql = p;
	p += sql_len;
	for (size_t i = 0; i < nv; i++) {
		if (!values[i])
			continue;
		size_t n = strlen(values[i]) + 1;

		memcpy(p, values[i], n);
		q->values[i] = p;
		p += n;
	}
	q->nrows = nrows;
	return q;
}

static void pg_on_kick(uv_timer_t *t)
{
	pg_send_next(t->data);
}

/* Appends q to the FIFO; it is sent from the loop, never from here. */
static void q_enqueue(struct pgconn *pc, struct pg_q *q)
{
	q->queued_ms = uv_now(pc->loop);
	if (pc->tail)
		pc->tail->next = q;
	else
		pc->head = q;
	pc->tail = q;
	pc->stats.queries++;
	if (!pc->inflight)
		uv_timer_start(&pc->kick, pg_on_kick, 0, 0);
}

int pg_query(struct pgconn *pc, const char *sql, int nparams, const char *const *values,
             pg_result_fn fn, void *priv)
{
	struct pg_q *q;

	if (!pc || pc->state != PG_UP || pc->closing || nparams < 0 || (nparams && !values))
		return -1;
	q = q_new(sql, 0, (size_t)nparams, values);
	if (!q)
		return -1;
	q->nparams = nparams;
	q->fn = fn;
	q->priv = priv;
	q_enqueue(pc, q);
	return 0;
}

int pg_batch(struct pgconn *pc, const char *stmt_name, const char *sql, int nparams, int nrows,
             const char *const *values, pg_batch_fn fn, void *priv)
{
	struct pg_q *q;

	if (!pc || pc->state != PG_UP || pc->closing || nparams < 0 || nrows < 1 ||
	    (nparams && !values) || !stmt_name || !*stmt_name ||
	    strlen(stmt_name) >= sizeof(q->stmt))
		return -1;
	q = q_new(sql, nrows, (size_t)nrows * (size_t)nparams, values);
	if (!q)
		return -1;
	snprintf(q->stmt, sizeof(q->stmt), "%s", stmt_name);
	q->nparams = nparams;
	q->bfn = fn;
	q->priv = priv;
	q_enqueue(pc, q);
	pc->stats.batches++;
	pc->stats.batch_rows += (unsigned long long)nrows;
	return 0;
}

/* Queues an internal query at the head of the FIFO (runs next). */
static void pg_push_front(struct pgconn *pc, const char *sql)
{
	struct pg_q *q = q_new(sql, 0, 0, NULL);

	if (!q)
		return;
	q->internal = 1;
	q->queued_ms = uv_now(pc->loop);
	q->next = pc->head;
	pc->head = q;
	if (!pc->tail)
		pc->tail = q;
}

void pg_expire_queued(struct pgconn *pc, uint64_t now)
{
	struct pg_q **pp, *expired = NULL;

	for (pp = &pc->head; *pp;) {
		struct pg_q *q = *pp;

		if (now - q->queued_ms > (uint64_t)pc->query_timeout_ms) {
			*pp = q->next;
			q->next = expired;
			expired = q;
		} else {
			pc->tail = q;
			pp = &q->next;
		}
	}
	if (!pc->head)
		pc->tail = NULL;
	while (expired) {
		struct pg_q *q = expired;

		expired = q->next;
		pc->stats.timeouts++;
		q_finish(pc, q, 1);
	}
}

/* ---- sending ---------------------------------------------------------------- */

static int pg_is_prepared(const struct pgconn *pc, const char *name)
{
	for (int i = 0; i < pc->nprepared; i++)
		if (!strcmp(pc->prepared[i], name))
			return 1;
	return 0;
}

/* Writes a batch's whole pipeline into libpq's buffer; 0 or -1 (lost). */
static int pg_send_batch(struct pgconn *pc, struct pg_q *q)
{
	PGconn *c = pc->conn;

	q->step = 0;
	q->prepare = !pg_is_prepared(pc, q->stmt);
	q->first_row = q->prepare + 1;
	if (PQenterPipelineMode(c) != 1)
		return -1;
	if (q->prepare && !PQsendPrepare(c, q->stmt, q->sql, q->nparams, NULL))
		return -1;
	if (!PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
		return -1;
	for (int i = 0; i < q->nrows; i++)
		if (!PQsendQueryPrepared(c, q->stmt, q->nparams, q->values + (size_t)i * q->nparams,
		                         NULL, NULL, 0))
			return -1;
	if (!PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
		return -1;
	if (PQpipelineSync(c) != 1)
		return -1;
	return 0;
}

void pg_send_next(struct pgconn *pc)
{
	struct pg_q *q;

	if (pc->state != PG_UP || pc->inflight || !pc->head)
		return;
	q = pc->head;
	pc->head = q->next;
	if (!pc->head)
		pc->tail = NULL;
	q->next = NULL;
	pc->inflight = q;
	pc->last_activity_ms = uv_now(pc->loop);
	if (q->nrows ? pg_send_batch(pc, q) < 0
	             : !PQsendQueryParams(pc->conn, q->sql, q->nparams, NULL, q->values, NULL, NULL,
	                                  0)) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return;
	}
	pg_flush(pc);
}

/* ---- reading results -------------------------------------------------------- */

/* The in-flight query has ended: the connection is free for the next. */
static void q_detach(struct pgconn *pc)
{
	pc->inflight = NULL;
	pc->last_activity_ms = uv_now(pc->loop);
}

/* One result (or NULL) of the in-flight batch q. Returns 1 when the batch
 * is over (its sync has come) and was finished, else 0. */
static int pg_batch_result(struct pgconn *pc, struct pg_q *q, PGresult *r)
{
	ExecStatusType st;
	PGresult **slot;
	int row, tx;

	if (!r) {
		q->step++;
		return 0;
	}
	st = PQresultStatus(r);
	if (st == PGRES_PIPELINE_SYNC) {
		PQclear(r);
		q_detach(pc);
		tx = PQtransactionStatus(pc->conn);
		if (PQexitPipelineMode(pc->conn) != 1) {
			/* should not happen: all results were read */
			q_finish(pc, q, 1);
			pg_lost(pc, PQerrorMessage(pc->conn));
			return 1;
		}
		if (tx != PQTRANS_IDLE) {
			/* a statement failed inside BEGIN: the session waits for
			 * ROLLBACK before it takes anything else */
			pc->stats.rollbacks++;
			pg_push_front(pc, "ROLLBACK");
		}
		q_finish(pc, q, 0);
		return 1;
	}
	row = q->step - q->first_row;
	if (q->prepare && q->step == 0 && st == PGRES_COMMAND_OK &&
	    pc->nprepared < (int)(sizeof(pc->prepared) / sizeof(pc->prepared[0])))
		snprintf(pc->prepared[pc->nprepared++], sizeof(pc->prepared[0]), "%s", q->stmt);
	if (row >= 0 && row < q->nrows)
		slot = &q->rows[row];
	else if (row == q->nrows)
		slot = &q->commit;
	else if (st == PGRES_FATAL_ERROR && !q->err)
		slot = &q->err; /* PREPARE or BEGIN failed */
	else
		slot = NULL;
	if (slot && !(*slot && PQresultStatus(*slot) == PGRES_FATAL_ERROR)) {
		PQclear(*slot);
		*slot = r;
	} else {
		PQclear(r);
	}
	return 0;
}

/* One result (or NULL) of the in-flight single query q. Returns 1 when the
 * query is over (its NULL result has come) and was finished, else 0. */
static int pg_single_result(struct pgconn *pc, struct pg_q *q, PGresult *r)
{
	if (!r) {
		q_detach(pc);
		q_finish(pc, q, 0);
		return 1;
	}
	switch (PQresultStatus(r)) {
	case PGRES_FATAL_ERROR:
	case PGRES_BAD_RESPONSE:
	case PGRES_NONFATAL_ERROR:
		if (!q->err) {
			q->err = r;
			r = NULL;
		}
		break;
	default:
		PQclear(q->res);
		q->res = r;
		r = NULL;
		break;
	}
	PQclear(r);
	return 0;
}

int pg_read(struct pgconn *pc)
{
	if (!PQconsumeInput(pc->conn)) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return -1;
	}
	/* drain: every result that is complete, across queries */
	while (pc->state == PG_UP && !PQisBusy(pc->conn)) {
		PGresult *r = PQgetResult(pc->conn);
		struct pg_q *q = pc->inflight;

		if (!q) {
			/* nothing asked: a stray result (should not happen) */
			if (!r)
				break;
			PQclear(r);
			continue;
		}
		if (!(q->nrows ? pg_batch_result(pc, q, r) : pg_single_result(pc, q, r)))
			continue;
		/* q is over and its callback has run */
		if (pc->state != PG_UP)
			return -1;
		pg_send_next(pc);
		if (!pc->inflight)
			break;
	}
	for (PGnotify *n; pc->state == PG_UP && (n = PQnotifies(pc->conn));)
		PQfreemem(n);
	if (pc->state == PG_UP && PQstatus(pc->conn) == CONNECTION_BAD) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return -1;
	}
	return pc->state == PG_UP ? 0 : -1;
}

/* ---- results ---------------------------------------------------------------- */

int pg_result_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int pg_result_unavailable(const PGresult *res)
{
	const char *state;

	if (!res)
		return 1;
	if (pg_result_ok(res))
		return 0;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (!state)
		return 1; /* libpq's own error (e.g. connection): no SQLSTATE */
	return !strncmp(state, "08", 2) || !strncmp(state, "53", 2) || !strncmp(state, "57", 2);
}

const PGresult *pg_batch_cause(const PGresult *commit, const PGresult *const *rows, int nrows)
{
	for (int i = 0; rows && i < nrows; i++)
		if (rows[i] && PQresultStatus(rows[i]) == PGRES_FATAL_ERROR)
			return rows[i];
	return commit;
}

const char *pg_result_err(const PGresult *res)
{
	if (!res)
		return "connection lost";
	if (pg_result_ok(res))
		return "ok";
	return PQresultErrorMessage(res);
}
