/* tick.c - the tick: once per --tick-ms (on a grid), expire what is past its
 * TTL, pair the waiting pool closest pair first, hand the pairs to claim.c,
 * and once their claims are written publish the stats. Glue only.
 *
 * Two ways to pair, with the same result (tests/unit/test_matcher_incr.c):
 *  - incremental (incr.c), when few requests are new since the last
 *    pairing (at most --inline-max, and at most a third of all waiting:
 *    incr_cold_cheaper; a burst over a small pool pairs cold): on the loop, at a cost that grows
 *    with them, not with the pool; the index is kept between ticks.
 *  - cold: a snapshot of the whole waiting pool (snap.c) paired by
 *    pairing_match (pairing.c), on the loop when small, on the libuv thread
 *    pool when large (a start, a standby taking over, --no-incremental).
 * With --policy min-total every tick is cold and pairs by mt_match
 * (mintotal.c) up to --min-total-max waiting on the larger side, else
 * closest pair first (logged and counted). */
#include "log.h"
#include "matcher.h"
#include "mintotal.h"
#include "sbuf.h"
#include "schema.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The index broke (out of memory): pair cold from now on. It is freed at
 * the next tick that is not busy (this tick's claims may still read its
 * pairs). */
static void index_off(struct matcher *m)
{
	if (!m->ix_on)
		return;
	log_error("out of memory in the pairing index: pairing every tick from scratch");
	m->ix_on = 0;
	m->ndrain = m->drain_head = 0;
}

void tick_enter(struct matcher *m, int is_rider, const struct pool_entry *e)
{
	if (m->ix_on && incr_add(m->ix, is_rider, e->loc.x, e->loc.y, e->ord) < 0)
		index_off(m);
}

void tick_leave(struct matcher *m, int is_rider, const struct pool_entry *e)
{
	if (m->ix_on)
		(void)incr_remove(m->ix, is_rider, e->loc.x, e->loc.y, e->ord);
}

/* Expiry can end thousands of requests at once (a backlog that arrived
 * together); each costs a tree removal, so they leave the index in slices,
 * DRAIN_SLICE per loop iteration, and no incremental pairing runs until all
 * have left (the cold path needs no index). */
#define DRAIN_SLICE 2048

static void drain_some(struct matcher *m, size_t max)
{
	size_t end = m->drain_head + max < m->ndrain ? m->drain_head + max : m->ndrain;

	for (; m->drain_head < end; m->drain_head++) {
		struct drained *d = &m->drain[m->drain_head];

		if (m->ix_on)
			(void)incr_remove(m->ix, d->is_rider, d->x, d->y, d->ord);
	}
	if (m->drain_head == m->ndrain)
		m->drain_head = m->ndrain = 0;
}

static void on_drain(uv_async_t *a)
{
	struct matcher *m = a->data;

	if (m->stopping)
		return;
	drain_some(m, DRAIN_SLICE);
	if (m->ndrain)
		uv_async_send(&m->drain_next);
}

static void expired(struct matcher *m, int is_rider, const struct pool_entry *e)
{
	if (!m->ix_on)
		return;
	if (m->ndrain == m->cap_drain) {
		size_t cap = m->cap_drain ? 2 * m->cap_drain : 1024;
		struct drained *d = realloc(m->drain, cap * sizeof(*d));

		if (!d) {
			index_off(m);
			return;
		}
		m->drain = d;
		m->cap_drain = cap;
	}
	m->drain[m->ndrain++] = (struct drained){e->loc.x, e->loc.y, e->ord, is_rider};
	if (m->ndrain == 1)
		uv_async_send(&m->drain_next);
}

static void rider_gone(void *arg, const struct pool_entry *e)
{
	expired(arg, 1, e);
}

static void driver_gone(void *arg, const struct pool_entry *e)
{
	expired(arg, 0, e);
}

/* min-total pairs up to this many waiting (larger side) on the loop, else
 * on a worker: about 1 ms for 150 x 150 (matcher/README.md) */
#define MIN_TOTAL_INLINE 150

static size_t larger(const struct snap *s)
{
	return s->nr > s->nd ? s->nr : s->nd;
}

/* May run on a worker thread: touches only the snapshot and these fields. */
static void run_pairing(struct matcher *m)
{
	struct snap *s = &m->snap;
	double t0 = mono_ms();

	m->fell_back = m->min_total && larger(s) > (size_t)m->min_total_max && s->nr && s->nd;
	if (m->min_total && !m->fell_back)
		s->npairs = mt_match(s->rpts, s->nr, s->dpts, s->nd, s->pairs);
	else
		s->npairs = s->nr && s->nd ? pairing_match_ctx(m->pctx, s->rpts, s->nr, s->dpts,
		                                               s->nd, s->pairs)
		                           : 0;
	m->work_ms = mono_ms() - t0;
}

static void publish_stats(struct matcher *m)
{
	struct sbuf b = {0};
	uint64_t now = lease_now_ms(m);

	if (now - m->last_stats_ms < (uint64_t)m->stats_min_ms)
		return;
	m->last_stats_ms = now;
	stats_json(&m->stats, &b, now, m->tick_ms, &m->riders, &m->drivers, (size_t)m->max_points);
	if (!b.oom)
		rconn_cmd(m->cmd, NULL, NULL,
		          "XADD " RS_STREAM_STATS
		          " MAXLEN ~ " RS_STR(RS_STATS_MAXLEN) " * " RS_F_JSON " %b",
		          b.p, b.len);
	sbuf_free(&b);
}

static void after_pairing(struct matcher *m)
{
	struct snap *s = &m->snap;

	if (s->npairs < 0) {
		log_error("pairing ran out of memory (%zu riders, %zu drivers)", s->nr, s->nd);
		s->npairs = 0;
		if (m->ix_on && !m->pairs_incr)
			incr_all_new(m->ix); /* the next tick is cold again */
	}
	m->stats.tick_duration_ms = m->work_ms;
	if (m->min_total && s->nr && s->nd) {
		m->min_total_ticks++;
		if (m->fell_back) {
			m->min_total_fallbacks++;
			log_warn("policy min-total: %zu riders x %zu drivers is over "
			         "--min-total-max %d: "
			         "paired closest pair first this tick",
			         s->nr, s->nd, m->min_total_max);
		}
	}
	if (m->work_ms > 10 && m->pairs_incr)
		log_info(
		    "tick: paired %zu new requests (%zu riders, %zu drivers waiting) in %.1f ms",
		    m->nnew, m->riders.live, m->drivers.live, m->work_ms);
	else if (m->work_ms > 10)
		log_info("tick: paired %zu riders x %zu drivers in %.1f ms", s->nr, s->nd,
		         m->work_ms);
	m->pairs_made += (uint64_t)(m->pairs_incr ? m->nipairs : s->npairs);
	claim_start(m);
}

/* A cold pairing of a big pool keeps a core busy for tens of ms (up to
 * seconds): on a machine with few cores it must not take the loop's. The
 * worker thread runs it at a lower priority (nice +10; a thread's nice is
 * its own on Linux, and the matcher queues no other work on the pool, so
 * leaving it lowered harms nothing). SCHED_IDLE instead was tried
 * (bench/loop_stall.py, 100k pool, 3 alternated pairs on a quiet box): the
 * loop's longest lag grew from 6.8/11.4/8.2 ms to 13.7/20.3/12.2 ms, and
 * its own CPU with it: a starved worker pairs later, and the loop then
 * settles a bigger tick at once. */
#define WORKER_NICE 10

static void work_cb(uv_work_t *w)
{
	static _Thread_local int niced;

	if (!niced) {
		niced = 1;
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE);
	}
	run_pairing(w->data);
}

static void after_work_cb(uv_work_t *w, int status)
{
	struct matcher *m = w->data;

	m->busy = 0;
	if (m->stopping)
		return;
	if (status) {
		if (m->ix_on)
			incr_all_new(m->ix); /* not paired: the next tick is cold again */
		return;
	}
	after_pairing(m);
}

static void on_pair(uv_async_t *a);
static void on_tick(uv_timer_t *t);

/* Ticks keep to a grid, start + k * tick_ms (the next point after now), not
 * to libuv's repeat, which starts the next period when the callback runs:
 * there each tick's lateness (the loop busy, the process waiting for a core)
 * added to all that followed, and a request's wait for the next tick grew
 * with it (tick 10 ms on a loaded box: 10.1-10.2 ms apart on average, p99
 * 11-12 ms; matcher_stage_ms{stage="tick"}). */
static void tick_arm(struct matcher *m)
{
	uint64_t now;

	uv_update_time(m->loop);
	now = uv_now(m->loop);
	if (m->tick_due_ms <= now) /* the next point after now (points missed are skipped) */
		m->tick_due_ms +=
		    ((now - m->tick_due_ms) / (uint64_t)m->tick_ms + 1) * (uint64_t)m->tick_ms;
	uv_timer_start(&m->tick, on_tick, m->tick_due_ms - now, 0);
}

static void on_tick(uv_timer_t *t)
{
	struct matcher *m = t->data;
	uint64_t now;

	if (!m->stopping)
		tick_arm(m);
	{
		uint64_t ns = uv_hrtime();

		if (m->last_tick_ns)
			matcher_stage(m, STAGE_TICK, (ns - m->last_tick_ns) / 1000);
		m->last_tick_ns = ns;
	}
	if (m->busy && !m->stopping)
		m->ticks_busy++;
	if (m->busy || m->stopping)
		return;
	if (!m->ix_on && m->ix) {
		incr_free(m->ix);
		m->ix = NULL;
	}
	now = lease_now_ms(m);
	{
		size_t er = pool_expire(&m->riders, now, (uint64_t)m->ttl_ms, rider_gone, m);
		size_t ed = pool_expire(&m->drivers, now, (uint64_t)m->ttl_ms, driver_gone, m);

		m->stats.t.expired += er + ed;
		quality_expired(&m->stats.q, now, 1, er);
		quality_expired(&m->stats.q, now, 0, ed);
	}
	pool_compact(&m->riders);
	pool_compact(&m->drivers);
	if (!m->active || !rconn_up(m->cmd))
		return;
	/* the pairing, then the stats, in callbacks of their own: the expiry,
	 * the pairing and the stats each cost a few ms with a big pool, and the
	 * loop serves the I/O that is ready in between (busy: no other tick
	 * starts meanwhile) */
	m->busy = 1;
	uv_async_send(&m->pair_next);
}

/* The end of a tick: its stats (see matcher.h for why last). */
static void on_stats(uv_prepare_t *p)
{
	struct matcher *m = p->data;

	uv_prepare_stop(p);
	m->busy = 0;
	if (m->stopping || !m->active || !rconn_up(m->cmd))
		return;
	/* what viewers see: the pool as this tick paired it (the requests it
	 * claimed count until their claims settle), after the previous tick's
	 * claims have settled */
	publish_stats(m);
}

void tick_done(struct matcher *m)
{
	matcher_stage(m, STAGE_TICK_OUT, (uv_hrtime() - m->last_tick_ns) / 1000);
	uv_prepare_start(&m->stats_next, on_stats);
}

/* The second part of a tick: pair, incrementally or cold, then claim. */
static void on_pair(uv_async_t *a)
{
	struct matcher *m = a->data;

	m->busy = 0;
	if (m->stopping || !m->active || !rconn_up(m->cmd))
		return;
	m->pairs_incr = 0;
	if (m->ix_on && m->ndrain - m->drain_head <= DRAIN_SLICE)
		drain_some(m, DRAIN_SLICE);
	if (m->ix_on && !m->ndrain && incr_new_count(m->ix) <= (size_t)m->inline_max &&
	    !incr_cold_cheaper(incr_new_count(m->ix), m->riders.live + m->drivers.live)) {
		double t0 = mono_ms();

		m->nnew = incr_new_count(m->ix);
		m->nipairs = incr_pair(m->ix, &m->ipairs);
		m->work_ms = mono_ms() - t0;
		if (m->nipairs >= 0) {
			m->pairs_incr = 1;
			m->snap.nr = m->snap.nd = 0;
			m->snap.npairs = 0;
			after_pairing(m);
			return;
		}
		/* out of memory, nothing changed: the cold way below */
	}
	if (snap_take(&m->snap, &m->riders, &m->drivers) < 0) {
		log_error("out of memory taking the tick's snapshot");
		return;
	}
	/* the snapshot covers every new request; its pairs leave the index as
	 * their claims go out (claim.c) */
	if (m->ix_on)
		incr_forget_new(m->ix);
	if (m->min_total && larger(&m->snap) <= (size_t)m->min_total_max
	        ? larger(&m->snap) <= MIN_TOTAL_INLINE
	        : m->snap.nr + m->snap.nd <= (size_t)m->inline_max) {
		run_pairing(m);
		after_pairing(m);
		return;
	}
	/* large: pair on the thread pool; the pool is not compacted or expired
	 * meanwhile (busy), so the snapshot's indices stay valid */
	m->busy = 1;
	m->work.data = m;
	if (uv_queue_work(m->loop, &m->work, work_cb, after_work_cb) != 0) {
		m->busy = 0;
		run_pairing(m);
		after_pairing(m);
	}
}

void tick_init(struct matcher *m)
{
	uv_async_init(m->loop, &m->drain_next, on_drain);
	m->drain_next.data = m;
	uv_prepare_init(m->loop, &m->stats_next);
	m->stats_next.data = m;
	uv_async_init(m->loop, &m->pair_next, on_pair);
	m->pair_next.data = m;
	if (m->incremental) {
		m->ix = incr_new((size_t)(m->inline_max > 0 ? m->inline_max : 0) + 1);
		m->ix_on = m->ix != NULL;
		if (!m->ix)
			log_error("out of memory: pairing every tick from scratch");
	}
	uv_timer_init(m->loop, &m->tick);
	m->tick.data = m;
}

void tick_start(struct matcher *m)
{
	uv_update_time(m->loop);
	m->tick_due_ms = uv_now(m->loop);
	tick_arm(m);
}

void tick_stop(struct matcher *m)
{
	uv_timer_stop(&m->tick);
	uv_close((uv_handle_t *)&m->tick, NULL);
	uv_prepare_stop(&m->stats_next);
	uv_close((uv_handle_t *)&m->stats_next, NULL);
	uv_close((uv_handle_t *)&m->pair_next, NULL);
	uv_close((uv_handle_t *)&m->drain_next, NULL);
}

void tick_free(struct matcher *m)
{
	incr_free(m->ix);
	m->ix = NULL;
	m->ix_on = 0;
	free(m->drain);
	m->drain = NULL;
}
