/* tick.c - the tick: once per --tick-ms, expire what is past its TTL, publish
 * the stats, take a snapshot of the waiting pool (snap.c), pair it closest
 * pair first (pairing.c) on the loop when small, on the libuv thread pool
 * when large, then hand the pairs to claim.c. Glue only. */
#include "log.h"
#include "matcher.h"
#include "sbuf.h"

#include <time.h>

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void run_pairing(struct matcher *m)
{
	struct snap *s = &m->snap;
	double t0 = mono_ms();

	s->npairs = s->nr && s->nd ? mc_match_ctx(m->mc, s->rpts, s->nr, s->dpts, s->nd, s->pairs) : 0;
	m->work_ms = mono_ms() - t0;
}

static void publish_stats(struct matcher *m)
{
	struct sbuf b = { 0 };
	uint64_t now = matcher_now_ms(m);

	if (now - m->last_stats_ms < (uint64_t)m->stats_min_ms)
		return;
	m->last_stats_ms = now;
	stats_json(&m->stats, &b, now, m->tick_ms, &m->riders, &m->drivers, (size_t)m->max_points);
	if (!b.oom)
		rconn_cmd(m->cmd, NULL, NULL, "XADD stats MAXLEN ~ 64 * json %b", b.p, b.len);
	sbuf_free(&b);
}

static void after_pairing(struct matcher *m)
{
	struct snap *s = &m->snap;

	if (s->npairs < 0) {
		log_error("pairing ran out of memory (%zu riders, %zu drivers)", s->nr, s->nd);
		s->npairs = 0;
	}
	m->stats.tick_duration_ms = m->work_ms;
	if (m->work_ms > 10)
		log_info("tick: paired %zu riders x %zu drivers in %.1f ms", s->nr, s->nd, m->work_ms);
	m->pairs_made += (uint64_t)s->npairs;
	m->next_claim = 0;
	m->busy = 1;
	claim_some(m);
}

static void work_cb(uv_work_t *w)
{
	run_pairing(w->data);
}

static void after_work_cb(uv_work_t *w, int status)
{
	struct matcher *m = w->data;

	m->busy = 0;
	if (m->stopping || status)
		return;
	after_pairing(m);
}

static void on_tick(uv_timer_t *t)
{
	struct matcher *m = t->data;
	uint64_t now;

	if (m->busy || m->stopping)
		return;
	now = matcher_now_ms(m);
	m->stats.t.expired += pool_expire(&m->riders, now, (uint64_t)m->ttl_ms) +
			      pool_expire(&m->drivers, now, (uint64_t)m->ttl_ms);
	pool_compact(&m->riders);
	pool_compact(&m->drivers);
	if (!m->active || !rconn_up(m->cmd))
		return;
	/* what viewers see: the pool as this tick is about to pair it, after
	 * the previous tick's claims have settled */
	publish_stats(m);
	if (snap_take(&m->snap, &m->riders, &m->drivers) < 0) {
		log_error("out of memory taking the tick's snapshot");
		return;
	}
	if (m->snap.nr + m->snap.nd <= (size_t)m->inline_max) {
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
	uv_timer_init(m->loop, &m->tick);
	m->tick.data = m;
}

void tick_start(struct matcher *m)
{
	uv_timer_start(&m->tick, on_tick, (uint64_t)m->tick_ms, (uint64_t)m->tick_ms);
}

void tick_stop(struct matcher *m)
{
	uv_timer_stop(&m->tick);
	uv_close((uv_handle_t *)&m->tick, NULL);
}
