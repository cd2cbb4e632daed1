/* pg_int.h - lib/pg's private state, shared by its two files: pg.c (the
 * connection: connect, watch, loss and reconnect, timers) and pg_query.c (the
 * FIFO of queries and batches: sending, reading results, finishing them).
 * Not for users of lib/pg: they see pg.h only. */
#ifndef RS_LIB_PG_INT_H
#define RS_LIB_PG_INT_H

#include "pg.h"

#include <stdint.h>

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

/* pg.c: the connection */
/* Drops the connection (why is logged), fails every pending query, and
 * schedules a reconnect. */
void pg_lost(struct pgconn *pc, const char *why);
/* Flushes pending output; watches writable while some remains. 0, or -1
 * when the connection was lost. */
int pg_flush(struct pgconn *pc);

/* pg_query.c: the FIFO */
/* Detaches every pending query and fails them (state already changed, so
 * callbacks that call pg_query are refused). */
void pg_fail_all(struct pgconn *pc);
/* Sends the head of the FIFO when the connection is up and idle. */
void pg_send_next(struct pgconn *pc);
/* Reads what has arrived, finishing the in-flight query at its end and
 * sending the next. Returns -1 when the connection was lost. */
int pg_read(struct pgconn *pc);
/* Fails the queries queued longer than query_timeout_ms (not the one in
 * flight: the caller drops the connection for that). */
void pg_expire_queued(struct pgconn *pc, uint64_t now);

#endif
