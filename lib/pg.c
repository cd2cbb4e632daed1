/* pg.c - see pg.h. libpq 15 in non-blocking mode on a libuv loop.
 *
 * States: DOWN (waiting to reconnect), CONNECTING (PQconnectPoll steps, each
 * waiting for the socket to be readable or writable as libpq asks), UP
 * (readable always watched, so a server that closes the connection is seen at
 * once; writable watched while PQflush has output pending).
 *
 * The uv_poll watch lives in its own allocation: when libpq moves to another
 * socket (it may during connect) or the connection is dropped, the old watch
 * is stopped and closed before libpq closes the descriptor, and freed by its
 * close callback later. One repeating timer does the housekeeping (reconnect,
 * timeouts, idle ping); a one-shot timer starts queued queries, so pg_query
 * never runs a callback re-entrantly. */
#include "pg.h"

#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pg_state { PG_DOWN, PG_CONNECTING, PG_UP };

struct pg_watch {
	uv_poll_t h;
	struct pgconn *pc; /* NULL once detached (closing) */
	int fd, events;
};

struct pg_q {
	struct pg_q *next;
	pg_result_fn fn;
	void *priv;
	uint64_t queued_ms;
	int nparams;
	int internal;        /* the idle ping */
	const char *sql;     /* points into this allocation */
	const char **values; /* points into this allocation */
	PGresult *res, *err; /* collected until libpq's NULL result */
	/* a pg_batch (nrows > 0): the pipeline is [PREPARE] BEGIN rows COMMIT
	 * SYNC; step counts the NULL results read so far, i.e. the statement
	 * whose results come next; row i is step first_row + i */
	int nrows, step, first_row, prepare;
	pg_batch_fn bfn;
	char stmt[32];
	PGresult **rows; /* nrows, points into this allocation */
	PGresult *commit;
};

struct pgconn {
	uv_loop_t *loop;
	PGconn *conn;
	struct pg_watch *watch;
	uv_timer_t timer; /* 100 ms housekeeping */
	uv_timer_t kick;  /* 0 ms: send the next query */
	int handles_open;
	char *conninfo;
	char name[32];
	int connect_timeout_ms, query_timeout_ms, ping_ms;
	pg_state_fn on_state;
	void *priv;
	enum pg_state state;
	int closing;
	int flushing; /* PQflush returned 1: watch writable */
	int backoff_ms;
	int failures_logged;
	uint64_t next_connect_ms, connect_start_ms, last_activity_ms;
	struct pg_q *inflight;
	struct pg_q *head, *tail;
	struct pg_stats stats;
	char prepared[8][32]; /* statements prepared on this connection */
	int nprepared;
};

static void pg_on_poll(uv_poll_t *h, int status, int events);

/* ---- the socket watch ---------------------------------------------------- */

static void watch_closed(uv_handle_t *h)
{
	free(h->data);
}

static void pg_unwatch(struct pgconn *pc)
{
	struct pg_watch *w = pc->watch;

	if (!w)
		return;
	pc->watch = NULL;
	w->pc = NULL;
	uv_poll_stop(&w->h);
	uv_close((uv_handle_t *)&w->h, watch_closed);
}

/* Watches libpq's current socket for events. Returns -1 when it cannot. */
static int pg_watch(struct pgconn *pc, int events)
{
	int fd = PQsocket(pc->conn);
	struct pg_watch *w = pc->watch;

	if (fd < 0)
		return -1;
	if (w && w->fd != fd)
		pg_unwatch(pc);
	if (!pc->watch) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;
		if (uv_poll_init_socket(pc->loop, &w->h, fd) != 0) {
			free(w);
			return -1;
		}
		w->h.data = w;
		w->pc = pc;
		w->fd = fd;
		pc->watch = w;
	}
	w = pc->watch;
	if (w->events != events || !uv_is_active((uv_handle_t *)&w->h)) {
		w->events = events;
		if (uv_poll_start(&w->h, events, pg_on_poll) != 0)
			return -1;
	}
	return 0;
}

/* ---- queries ------------------------------------------------------------- */

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

/* Detaches every pending query and fails them (state already changed, so
 * callbacks that call pg_query are refused). */
static void pg_fail_all(struct pgconn *pc)
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

/* ---- connection life ----------------------------------------------------- */

/* libpq's messages span lines; logs want one: newlines and tabs become
 * spaces, runs of spaces one, trailing ones dropped. */
static void pg_oneline(char *out, size_t cap, const char *in)
{
	size_t n = 0;

	for (; *in && n + 1 < cap; in++) {
		char c = (*in == '\n' || *in == '\t' || *in == '\r') ? ' ' : *in;

		if (c == ' ' && (n == 0 || out[n - 1] == ' '))
			continue;
		out[n++] = c;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

/* Server notices (and the FATAL a server sends when it shuts down) go to
 * the log instead of libpq's default, raw stderr. */
static void pg_notice(void *arg, const char *message)
{
	struct pgconn *pc = arg;
	char msg[256];

	pg_oneline(msg, sizeof(msg), message);
	log_info("%s: %s", pc->name, msg);
}

static void pg_lost(struct pgconn *pc, const char *why)
{
	int was_up = pc->state == PG_UP;
	char msg[256];

	/* the message may live in the PGconn about to be freed */
	pg_oneline(msg, sizeof(msg), why && *why ? why : "connection lost");
	pg_unwatch(pc); /* before PQfinish closes the descriptor */
	if (pc->conn) {
		PQfinish(pc->conn);
		pc->conn = NULL;
	}
	pc->state = PG_DOWN;
	pc->flushing = 0;
	pc->stats.losses++;
	pc->next_connect_ms = uv_now(pc->loop) + (uint64_t)pc->backoff_ms;
	if (pc->backoff_ms < 1000)
		pc->backoff_ms = pc->backoff_ms * 2 > 1000 ? 1000 : pc->backoff_ms * 2;
	if (was_up) {
		log_warn("%s lost: %s", pc->name, msg);
	} else if (!pc->failures_logged++) {
		log_warn("%s unavailable: %s (retrying)", pc->name, msg);
	}
	if (!pc->closing)
		pg_fail_all(pc);
	if (was_up && pc->on_state && !pc->closing)
		pc->on_state(pc, 0, pc->priv);
}

static void pg_connected(struct pgconn *pc)
{
	if (PQsetnonblocking(pc->conn, 1) != 0) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return;
	}
	if (pg_watch(pc, UV_READABLE) < 0) {
		pg_lost(pc, "cannot watch the socket");
		return;
	}
	pc->state = PG_UP;
	pc->nprepared = 0; /* a new session knows no prepared statement */
	pc->backoff_ms = 100;
	pc->failures_logged = 0;
	pc->last_activity_ms = uv_now(pc->loop);
	pc->stats.connects++;
	log_info("%s connected", pc->name);
	if (pc->on_state)
		pc->on_state(pc, 1, pc->priv);
}

/* One PQconnectPoll step; then wait for what libpq asked for. */
static void pg_connect_step(struct pgconn *pc)
{
	switch (PQconnectPoll(pc->conn)) {
	case PGRES_POLLING_READING:
		if (pg_watch(pc, UV_READABLE) < 0)
			pg_lost(pc, "cannot watch the socket");
		break;
	case PGRES_POLLING_WRITING:
		if (pg_watch(pc, UV_WRITABLE) < 0)
			pg_lost(pc, "cannot watch the socket");
		break;
	case PGRES_POLLING_OK: pg_connected(pc); break;
	default: /* PGRES_POLLING_FAILED */ pg_lost(pc, PQerrorMessage(pc->conn)); break;
	}
}

static void pg_connect(struct pgconn *pc)
{
	pc->conn = PQconnectStart(pc->conninfo);
	pc->connect_start_ms = uv_now(pc->loop);
	if (!pc->conn) {
		pg_lost(pc, "out of memory");
		return;
	}
	if (PQstatus(pc->conn) == CONNECTION_BAD) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return;
	}
	PQsetNoticeProcessor(pc->conn, pg_notice, pc);
	pc->state = PG_CONNECTING;
	/* libpq's rule: behave as if PQconnectPoll had returned WRITING */
	if (pg_watch(pc, UV_WRITABLE) < 0)
		pg_lost(pc, "cannot watch the socket");
}

/* ---- I/O when up ----------------------------------------------------------- */

/* Flushes pending output; watches writable while some remains. */
static int pg_flush(struct pgconn *pc)
{
	int r = PQflush(pc->conn);

	if (r < 0) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return -1;
	}
	pc->flushing = r == 1;
	if (pg_watch(pc, pc->flushing ? UV_READABLE | UV_WRITABLE : UV_READABLE) < 0) {
		pg_lost(pc, "cannot watch the socket");
		return -1;
	}
	return 0;
}

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

static void pg_send_next(struct pgconn *pc)
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

/* Queues an internal query at the head of the FIFO (runs next). */
static void pg_push_front(struct pgconn *pc, const char *sql)
{
	struct pg_q *q = calloc(1, sizeof(*q) + strlen(sql) + 1);

	if (!q)
		return;
	q->sql = memcpy(q + 1, sql, strlen(sql) + 1);
	q->internal = 1;
	q->queued_ms = uv_now(pc->loop);
	q->next = pc->head;
	pc->head = q;
	if (!pc->tail)
		pc->tail = q;
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
		pc->inflight = NULL;
		pc->last_activity_ms = uv_now(pc->loop);
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

/* Reads what has arrived and finishes the in-flight query at its NULL result.
 * Returns -1 when the connection was lost. */
static int pg_read(struct pgconn *pc)
{
	if (!PQconsumeInput(pc->conn)) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return -1;
	}
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
		if (q->nrows) {
			if (!pg_batch_result(pc, q, r))
				continue;
			if (pc->state != PG_UP)
				return -1;
			pg_send_next(pc);
			if (!pc->inflight)
				break;
			continue;
		}
		if (!r) {
			pc->inflight = NULL;
			pc->last_activity_ms = uv_now(pc->loop);
			q_finish(pc, q, 0);
			if (pc->state != PG_UP)
				return -1;
			pg_send_next(pc);
			if (!pc->inflight)
				break;
			continue;
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
	}
	for (PGnotify *n; pc->state == PG_UP && (n = PQnotifies(pc->conn));)
		PQfreemem(n);
	if (pc->state == PG_UP && PQstatus(pc->conn) == CONNECTION_BAD) {
		pg_lost(pc, PQerrorMessage(pc->conn));
		return -1;
	}
	return pc->state == PG_UP ? 0 : -1;
}

static void pg_on_poll(uv_poll_t *h, int status, int events)
{
	struct pg_watch *w = h->data;
	struct pgconn *pc = w->pc;

	if (!pc)
		return;
	if (status < 0)
		events = w->events; /* let libpq find the error itself */
	if (pc->state == PG_CONNECTING) {
		pg_connect_step(pc);
		return;
	}
	if (pc->state != PG_UP)
		return;
	if ((events & UV_WRITABLE) && pc->flushing && pg_flush(pc) < 0)
		return;
	if (events & UV_READABLE) {
		if (pg_read(pc) < 0)
			return;
		/* libpq: after reading, retry a flush that was blocked */
		if (pc->flushing)
			pg_flush(pc);
	}
}

/* ---- timers ---------------------------------------------------------------- */

static void pg_on_kick(uv_timer_t *t)
{
	pg_send_next(t->data);
}

static void pg_on_timer(uv_timer_t *t)
{
	struct pgconn *pc = t->data;
	uint64_t now = uv_now(pc->loop);
	struct pg_q **pp, *expired = NULL;

	if (pc->closing)
		return;
	switch (pc->state) {
	case PG_DOWN:
		if (now >= pc->next_connect_ms)
			pg_connect(pc);
		return;
	case PG_CONNECTING:
		if (now - pc->connect_start_ms > (uint64_t)pc->connect_timeout_ms)
			pg_lost(pc, "connect timed out");
		return;
	case PG_UP: break;
	}
	if (pc->inflight && now - pc->inflight->queued_ms > (uint64_t)pc->query_timeout_ms) {
		/* the server is hung or slow: the connection's state is unknown */
		pc->stats.timeouts++;
		pg_lost(pc, "query timed out");
		return;
	}
	/* queued too long behind others: give up on those alone */
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
	if (pc->state == PG_UP && !pc->inflight && !pc->head &&
	    now - pc->last_activity_ms >= (uint64_t)pc->ping_ms) {
		pc->last_activity_ms = now;
		if (pg_query(pc, "SELECT 1", 0, NULL, NULL, NULL) == 0 && pc->tail)
			pc->tail->internal = 1;
	}
}

/* ---- public ---------------------------------------------------------------- */

struct pgconn *pg_new(uv_loop_t *loop, const struct pg_opts *o)
{
	struct pgconn *pc;

	if (!o->conninfo)
		return NULL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	pc->conninfo = strdup(o->conninfo);
	if (!pc->conninfo) {
		free(pc);
		return NULL;
	}
	pc->loop = loop;
	snprintf(pc->name, sizeof(pc->name), "%s", o->name ? o->name : "postgres");
	pc->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 3000;
	pc->query_timeout_ms = o->query_timeout_ms > 0 ? o->query_timeout_ms : 2000;
	pc->ping_ms = o->ping_ms > 0 ? o->ping_ms : 2000;
	pc->on_state = o->on_state;
	pc->priv = o->priv;
	pc->backoff_ms = 100;
	pc->state = PG_DOWN;
	uv_timer_init(loop, &pc->timer);
	uv_timer_init(loop, &pc->kick);
	pc->timer.data = pc;
	pc->kick.data = pc;
	pc->handles_open = 2;
	uv_timer_start(&pc->timer, pg_on_timer, 100, 100);
	pg_connect(pc);
	return pc;
}

int pg_up(const struct pgconn *pc)
{
	return pc && pc->state == PG_UP;
}

int pg_query(struct pgconn *pc, const char *sql, int nparams, const char *const *values,
             pg_result_fn fn, void *priv)
{
	size_t size, sql_len;
	struct pg_q *q;
	char *p;

	if (!pc || pc->state != PG_UP || pc->closing || nparams < 0 || (nparams && !values))
		return -1;
	sql_len = strlen(sql) + 1;
	size = sizeof(*q) + (size_t)nparams * sizeof(char *) + sql_len;
	for (int i = 0; i < nparams; i++)
		if (values[i])
			size += strlen(values[i]) + 1;
	q = calloc(1, size);
	if (!q)
		return -1;
	q->values = (const char **)(q + 1);
	p = (char *)(q->values + nparams);
	memcpy(p, sql, sql_len);
	q->sql = p;
	p += sql_len;
	for (int i = 0; i < nparams; i++) {
		if (!values[i])
			continue;
		size_t n = strlen(values[i]) + 1;

		memcpy(p, values[i], n);
		q->values[i] = p;
		p += n;
	}
	q->nparams = nparams;
	q->fn = fn;
	q->priv = priv;
	q->queued_ms = uv_now(pc->loop);
	if (pc->tail)
		pc->tail->next = q;
	else
		pc->head = q;
	pc->tail = q;
	pc->stats.queries++;
	if (!pc->inflight)
		uv_timer_start(&pc->kick, pg_on_kick, 0, 0);
	return 0;
}

int pg_batch(struct pgconn *pc, const char *stmt_name, const char *sql, int nparams, int nrows,
             const char *const *values, pg_batch_fn fn, void *priv)
{
	size_t size, sql_len, nv;
	struct pg_q *q;
	char *p;

	if (!pc || pc->state != PG_UP || pc->closing || nparams < 0 || nrows < 1 ||
	    (nparams && !values) || !stmt_name || !*stmt_name ||
	    strlen(stmt_name) >= sizeof(q->stmt))
		return -1;
	nv = (size_t)nrows * (size_t)nparams;
	sql_len = strlen(sql) + 1;
	size = sizeof(*q) + (size_t)nrows * sizeof(PGresult *) + nv * sizeof(char *) + sql_len;
	for (size_t i = 0; i < nv; i++)
		if (values[i])
			size += strlen(values[i]) + 1;
	q = calloc(1, size);
	if (!q)
		return -1;
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
	snprintf(q->stmt, sizeof(q->stmt), "%s", stmt_name);
	q->nparams = nparams;
	q->nrows = nrows;
	q->bfn = fn;
	q->priv = priv;
	q->queued_ms = uv_now(pc->loop);
	if (pc->tail)
		pc->tail->next = q;
	else
		pc->head = q;
	pc->tail = q;
	pc->stats.queries++;
	pc->stats.batches++;
	pc->stats.batch_rows += (unsigned long long)nrows;
	if (!pc->inflight)
		uv_timer_start(&pc->kick, pg_on_kick, 0, 0);
	return 0;
}

static void pg_handle_closed(uv_handle_t *h)
{
	struct pgconn *pc = h->data;

	if (--pc->handles_open == 0) {
		free(pc->conninfo);
		free(pc);
	}
}

void pg_free(struct pgconn *pc)
{
	if (!pc || pc->closing)
		return;
	pc->closing = 1;
	pc->state = PG_DOWN;
	pg_fail_all(pc);
	pg_unwatch(pc);
	if (pc->conn) {
		PQfinish(pc->conn);
		pc->conn = NULL;
	}
	uv_timer_stop(&pc->timer);
	uv_timer_stop(&pc->kick);
	uv_close((uv_handle_t *)&pc->timer, pg_handle_closed);
	uv_close((uv_handle_t *)&pc->kick, pg_handle_closed);
}

const struct pg_stats *pg_get_stats(const struct pgconn *pc)
{
	return &pc->stats;
}

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
