/* pg.h - one PostgreSQL connection on the libuv loop that never blocks it and
 * reconnects by itself.
 *
 * libpq runs in its non-blocking mode: PQconnectStart/PQconnectPoll driven by
 * a uv_poll on PQsocket (re-read after every step), PQsendQueryParams +
 * PQflush (watching writable while output is pending), PQconsumeInput +
 * PQgetResult while !PQisBusy. Queries wait in a FIFO and run one at a time;
 * a query is finished at libpq's NULL result, i.e. once the server said it is
 * ready for the next one (for a statement in autocommit: after its commit).
 *
 * Only parameterised queries exist here: the SQL is a fixed text with $1..$n,
 * every value travels separately (text format). There is no way to splice a
 * value into the SQL through this API.
 *
 * While the connection is down pg_query() refuses at once (the caller answers
 * 503). A lost connection, a failed connect, a connect that takes longer than
 * connect_timeout_ms or a query that takes longer than query_timeout_ms drops
 * the connection, calls every pending callback with NULL, and a new connection
 * is tried after 100 ms, doubling up to 1000 ms, until one succeeds. An idle
 * connection is checked with "SELECT 1" every ping_ms, so a server that went
 * away is noticed even without traffic.
 *
 * pg_batch() runs many rows of one statement as ONE transaction in libpq's
 * pipeline mode (group commit): PQenterPipelineMode, BEGIN, the statement
 * once per row (PQsendQueryPrepared; prepared on first use per connection),
 * COMMIT, PQpipelineSync, all in one write; the answer is read up to the
 * sync. It takes its turn in the same FIFO as pg_query(). A statement that
 * fails aborts the rest of the pipeline (PGRES_PIPELINE_ABORTED) and the
 * transaction; the session is then rolled back (an internal ROLLBACK runs
 * before anything else), so the next query starts clean.
 *
 * The conninfo should name the host by address (host=127.0.0.1 or hostaddr=):
 * a host name is resolved by libpq with a blocking getaddrinfo(). */
#ifndef RS_LIB_PG_H
#define RS_LIB_PG_H

#include <libpq-fe.h>
#include <uv.h>

struct pgconn;

/* Called exactly once per accepted query. res is NULL when the connection was
 * lost, the query timed out or pg_free() ran before it finished; otherwise it
 * is the query's result: its error result if the server reported one, else
 * its last result. res is owned by pg and valid only during the call. The
 * callback may call pg_query() but not pg_free(). */
typedef void (*pg_result_fn)(struct pgconn *pc, const PGresult *res, void *priv);
/* Called with up = 1 after each successful connect, up = 0 once per loss. */
typedef void (*pg_state_fn)(struct pgconn *pc, int up, void *priv);

/* The answer to a pg_batch(). commit is the COMMIT's result: the rows are
 * committed exactly when pg_result_ok(commit). commit is NULL when the
 * connection was lost or the batch timed out before its answer (outcome
 * unknown to the client: either all rows are committed or none). rows[i] is
 * row i's result (NULL then; PGRES_PIPELINE_ABORTED for rows after a failed
 * one). All owned by pg, valid only during the call. Same rules as
 * pg_result_fn otherwise. */
typedef void (*pg_batch_fn)(struct pgconn *pc, const PGresult *commit, const PGresult *const *rows,
                            int nrows, void *priv);

struct pg_opts {
	const char *conninfo;   /* libpq conninfo (copied); never logged */
	const char *name;       /* for logs, default "postgres" */
	int connect_timeout_ms; /* default 3000 */
	int query_timeout_ms;   /* default 2000: from queueing to the result */
	int ping_ms;            /* idle check, default 2000 */
	pg_state_fn on_state;
	void *priv; /* passed to on_state */
};

struct pg_stats {
	unsigned long long queries;    /* accepted by pg_query */
	unsigned long long errors;     /* finished with an error result */
	unsigned long long failed;     /* finished with NULL (lost, timeout) */
	unsigned long long timeouts;   /* of which timed out */
	unsigned long long connects;   /* successful connects */
	unsigned long long losses;     /* connections lost or failed attempts */
	unsigned long long batches;    /* pg_batch calls accepted (also in queries) */
	unsigned long long batch_rows; /* rows in them */
	unsigned long long rollbacks;  /* sessions rolled back after a failed batch */
};

/* Starts connecting; NULL only on out of memory or an empty conninfo. */
struct pgconn *pg_new(uv_loop_t *loop, const struct pg_opts *opts);
/* 1 while connected and usable. */
int pg_up(const struct pgconn *pc);
/* Queues sql with nparams text values ($1..$n; a NULL value is SQL NULL).
 * sql and values are copied. Returns 0 when queued: fn (may be NULL) is then
 * called exactly once, never from within pg_query itself. Returns -1 when the
 * connection is down or memory is short: fn is not called. */
int pg_query(struct pgconn *pc, const char *sql, int nparams, const char *const *values,
             pg_result_fn fn, void *priv);
/* Queues one transaction of nrows rows of the statement sql (nparams text
 * values each; values holds nrows * nparams pointers, row after row).
 * stmt_name names the prepared statement (at most 31 bytes; a name always
 * goes with the same sql). Everything is copied. Returns 0 when queued: fn
 * is then called exactly once, never from within pg_batch; -1 (fn not
 * called) when the connection is down, memory is short or the arguments are
 * wrong (nrows < 1). */
int pg_batch(struct pgconn *pc, const char *stmt_name, const char *sql, int nparams, int nrows,
             const char *const *values, pg_batch_fn fn, void *priv);
/* Calls every pending callback with NULL, closes the connection; the struct
 * is freed once its handles have closed on the loop. */
void pg_free(struct pgconn *pc);
const struct pg_stats *pg_get_stats(const struct pgconn *pc);

/* Helpers for results. */
/* 1 for PGRES_COMMAND_OK / PGRES_TUPLES_OK. */
int pg_result_ok(const PGresult *res);
/* 1 when the failure is the store's availability rather than the query:
 * NULL, or SQLSTATE class 08 (connection), 53 (resources), 57 (operator
 * intervention, e.g. shutting down). */
int pg_result_unavailable(const PGresult *res);
/* Why a batch was not committed: the first row's own error result (not a
 * PIPELINE_ABORTED one), else commit (NULL when the connection was lost). */
const PGresult *pg_batch_cause(const PGresult *commit, const PGresult *const *rows, int nrows);
/* A message for logs: "connection lost" for NULL. */
const char *pg_result_err(const PGresult *res);

#endif
