/* pg.c - see pg.h: the connection (libpq 15 in non-blocking mode on a libuv
 * loop). The FIFO of queries is pg_query.c; their shared state pg_int.h.
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
#include "log.h"
#include "pg_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void pg_lost(struct pgconn *pc, const char *why)
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

int pg_flush(struct pgconn *pc)
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

static void pg_on_timer(uv_timer_t *t)
{
	struct pgconn *pc = t->data;
	uint64_t now = uv_now(pc->loop);

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
	pg_expire_queued(pc, now);
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
