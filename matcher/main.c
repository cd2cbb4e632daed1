/* matcher - pairs waiting riders and drivers closest pair first, once per
 * tick of a libuv timer, and hands each pair to comm-svc through Redis.
 *
 * Feed: XREAD BLOCK on the `requests` stream (on start it replays the last
 * TTL's worth, keeping only requests whose key still exists) into two pools.
 * Tick: expire what is past its TTL, pair the rest with mc_match_ctx (on the
 * libuv thread pool when the pool is large, so the loop never stalls), and
 * claim each pair with one Lua script that checks both keys, deletes them,
 * records the ride for rating-svc and appends the match to `matches`.
 * Lease: only the holder of `matcher:lease` pairs; a standby keeps its pool
 * warm and takes over when the lease lapses. See docs/INTERNALS.md. */
#include "config.h"
#include "http.h"
#include "log.h"
#include "pairing.h"
#include "pool.h"
#include "redis.h"
#include "ride.h"
#include "sbuf.h"
#include "stats.h"
#include "svc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* KEYS: rider key, driver key, ride key, matches stream.
 * ARGV: token, car_number, driver_name, driver_id, rider_id, match json,
 *       rider_client, driver_client, ride ttl (s), matches cap. */
static struct rscript claim_lua = { .src =
	"local r = redis.call('EXISTS', KEYS[1]) "
	"local d = redis.call('EXISTS', KEYS[2]) "
	"if r == 0 or d == 0 then return {r, d} end "
	"redis.call('DEL', KEYS[1], KEYS[2]) "
	"redis.call('HSET', KEYS[3], 'token', ARGV[1], 'car_number', ARGV[2], 'driver_name', ARGV[3], "
	"'driver_id', ARGV[4], 'rider_id', ARGV[5]) "
	"redis.call('EXPIRE', KEYS[3], ARGV[9]) "
	"local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[10], '*', 'json', ARGV[6], "
	"'rider_client', ARGV[7], 'driver_client', ARGV[8]) "
	"return {1, 1, id}" };

/* KEYS: lease key. ARGV: me, lease ms. */
static const char renew_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

struct matcher {
	uv_loop_t *loop;
	struct rconn *cmd, *feed;
	struct http_server *http;
	uv_timer_t tick, lease, clock, claims, lag;
	uint64_t lag_last_ns;
	double lag_max_ms;        /* longest the loop was late for a 10 ms timer */
	struct pool riders, drivers;
	struct stats stats;

	/* configuration */
	int tick_ms, ttl_ms, lease_ms, no_lease, max_points, inline_max, ride_ttl_s, stats_min_ms;
	char instance[96];

	/* state */
	int active, stopping, busy;
	uint64_t lease_ok_ms;
	int64_t clock_offset_ms; /* Redis' clock minus ours */
	char last_id[48];
	uint64_t start_ms;
	int feed_pending;
	unsigned replay_pending;
	uint64_t last_stats_ms;
	uint64_t pairs_made, claims_lost;

	/* one tick's pairing input and output (reused) */
	uv_work_t work;
	struct mc_ctx *mc;          /* pairing buffers kept between ticks */
	struct mc_point *rpts, *dpts;
	uint32_t *rmap, *dmap;
	struct mc_pair *pairs;
	size_t cap_rp, cap_rm, cap_dp, cap_dm, cap_pairs, nr, nd;
	long npairs, next_claim;
	int claim_batch;
	double work_ms;
};

static uint64_t now_ms(struct matcher *m)
{
	return (uint64_t)((int64_t)svc_now_ms() + m->clock_offset_ms);
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ feed */

static void feed_next(struct matcher *m);
static void on_claims_timer(uv_timer_t *t);

/* Reads the location from a canonical request JSON. */
static int request_location(const char *json, struct mc_point *loc)
{
	json_t *doc = json_loads(json, 0, NULL), *l;
	int rc = -1;

	l = json_object_get(doc, "location");
	if (json_is_number(json_object_get(l, "x")) && json_is_number(json_object_get(l, "y"))) {
		loc->x = json_number_value(json_object_get(l, "x"));
		loc->y = json_number_value(json_object_get(l, "y"));
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

static void ingest(struct matcher *m, int is_rider, uint64_t ms, uint64_t seq, const char *json)
{
	struct mc_point loc;
	char *copy;

	if (request_location(json, &loc) < 0) {
		log_warn("request %llu-%llu: unreadable JSON, skipped", (unsigned long long)ms,
			 (unsigned long long)seq);
		return;
	}
	copy = strdup(json);
	if (!copy || pool_add(is_rider ? &m->riders : &m->drivers, ms, seq, loc, copy) < 0) {
		log_error("out of memory adding a request");
		return;
	}
	m->stats.t.requests++;
}

struct replay_check {
	struct matcher *m;
	int is_rider;
	uint64_t ms, seq;
	char json[];
};

static void on_replay_exists(struct rconn *rc, redisReply *r, void *priv)
{
	struct replay_check *c = priv;
	struct matcher *m = c->m;

	m->replay_pending--;
	/* unknown (connection lost): keep it, a failed claim will drop it */
	if (!m->stopping && (!r || r->type != REDIS_REPLY_INTEGER || r->integer == 1))
		ingest(m, c->is_rider, c->ms, c->seq, c->json);
	free(c);
}

static void feed_entry(struct matcher *m, redisReply *entry)
{
	const char *kind = NULL, *json = NULL;
	uint64_t ms, seq;
	redisReply *f;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
	    entry->element[0]->type != REDIS_REPLY_STRING)
		return;
	snprintf(m->last_id, sizeof(m->last_id), "%s", entry->element[0]->str);
	if (pool_parse_id(entry->element[0]->str, &ms, &seq) < 0)
		return;
	f = entry->element[1];
	if (f->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		if (f->element[i]->type != REDIS_REPLY_STRING || f->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (!strcmp(f->element[i]->str, "kind"))
			kind = f->element[i + 1]->str;
		else if (!strcmp(f->element[i]->str, "json"))
			json = f->element[i + 1]->str;
	}
	if (!kind || !json || (strcmp(kind, "rider") && strcmp(kind, "driver")))
		return;
	if (ms < m->start_ms || m->replay_pending) {
		/* from before we started: only if its key still exists (in order) */
		size_t len = strlen(json);
		struct replay_check *c = malloc(sizeof(*c) + len + 1);
		char key[64];

		if (!c)
			return;
		*c = (struct replay_check){ m, kind[0] == 'r', ms, seq };
		memcpy(c->json, json, len + 1);
		snprintf(key, sizeof(key), "%s:%s", kind, entry->element[0]->str);
		if (rconn_cmd(m->cmd, on_replay_exists, c, "EXISTS %s", key) == 0) {
			m->replay_pending++;
			return;
		}
		free(c);
	}
	ingest(m, kind[0] == 'r', ms, seq, json);
}

static void on_feed(struct rconn *rc, redisReply *r, void *priv)
{
	struct matcher *m = priv;

	m->feed_pending = 0;
	if (m->stopping || !r)
		return; /* lost: on_feed_state restarts the feed on reconnect */
	if (r->type == REDIS_REPLY_ERROR) {
		log_error("XREAD failed: %s", r->str);
	} else if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t s = 0; s < r->elements; s++) {
			redisReply *stream = r->element[s];

			if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2)
				continue;
			for (size_t e = 0; e < stream->element[1]->elements; e++)
				feed_entry(m, stream->element[1]->element[e]);
		}
	}
	feed_next(m);
}

static void feed_next(struct matcher *m)
{
	if (m->stopping || m->feed_pending || !rconn_up(m->feed))
		return;
	if (rconn_cmd(m->feed, on_feed, m, "XREAD COUNT 500 BLOCK 1000 STREAMS requests %s",
		      m->last_id) == 0)
		m->feed_pending = 1;
}

static void on_feed_state(struct rconn *rc, int up, void *priv)
{
	if (up)
		feed_next(priv);
}

/* ------------------------------------------------------------ claims */

struct claim {
	struct matcher *m;
	uint64_t rms, rseq, dms, dseq;
	double distance;
	struct ride_info info;
};

static void claim_settle(struct pool *p, uint64_t ms, uint64_t seq, int exists)
{
	struct pool_entry *e = pool_find(p, ms, seq);

	if (!e || e->state == POOL_GONE)
		return;
	if (exists)
		e->state = POOL_WAITING;
	else
		pool_remove(p, e);
}

static void on_claim(struct rconn *rc, redisReply *r, void *priv)
{
	struct claim *c = priv;
	struct matcher *m = c->m;

	if (m->stopping) {
		free(c);
		return;
	}
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		struct pool_entry *e = pool_find(&m->riders, c->rms, c->rseq);
		uint64_t now = now_ms(m);

		m->stats.t.matched++;
		stats_latency(&m->stats, now, (uint32_t)(now > c->rms ? now - c->rms : 0));
		log_info("pair %s rider=%llu-%llu driver=%llu-%llu car=%s distance=%.3f fare=%.2f BDT",
			 c->info.ride_id, (unsigned long long)c->rms, (unsigned long long)c->rseq,
			 (unsigned long long)c->dms, (unsigned long long)c->dseq, c->info.car_number,
			 c->distance, mc_fare_taka(c->distance));
		if (e)
			pool_remove(&m->riders, e);
		if ((e = pool_find(&m->drivers, c->dms, c->dseq)))
			pool_remove(&m->drivers, e);
	} else if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		/* one of them expired or was claimed elsewhere */
		m->stats.t.claim_failed++;
		claim_settle(&m->riders, c->rms, c->rseq, r->element[0]->integer == 1);
		claim_settle(&m->drivers, c->dms, c->dseq, r->element[1]->integer == 1);
	} else {
		/* unknown outcome: let both wait; if it did succeed, the keys are
		 * gone and the next claim of either fails and drops it */
		log_warn("claim %s: %s", c->info.ride_id, rreply_err(r));
		m->claims_lost++;
		claim_settle(&m->riders, c->rms, c->rseq, 1);
		claim_settle(&m->drivers, c->dms, c->dseq, 1);
	}
	free(c);
}

static void claim_pair(struct matcher *m, struct pool_entry *re, struct pool_entry *de, double distance)
{
	char rid[48], did[48], rkey[64], dkey[64], ridekey[96], token[33], ttl[16], cap[16] = "100000";
	struct claim *c = calloc(1, sizeof(*c));
	char *json;
	uint64_t now = now_ms(m);

	if (!c || ride_token(token) < 0) {
		free(c);
		log_error("cannot claim: out of memory or no randomness");
		return;
	}
	pool_format_id(re->ms, re->seq, rid, sizeof(rid));
	pool_format_id(de->ms, de->seq, did, sizeof(did));
	json = ride_match_json(rid, re->json, did, de->json, distance, now, token, &c->info);
	if (!json) {
		log_error("cannot build the match message for %s/%s", rid, did);
		free(c);
		return;
	}
	c->m = m;
	c->rms = re->ms;
	c->rseq = re->seq;
	c->dms = de->ms;
	c->dseq = de->seq;
	c->distance = distance;
	snprintf(rkey, sizeof(rkey), "rider:%s", rid);
	snprintf(dkey, sizeof(dkey), "driver:%s", did);
	snprintf(ridekey, sizeof(ridekey), "ride:%s", c->info.ride_id);
	snprintf(ttl, sizeof(ttl), "%d", m->ride_ttl_s);
	{
		const char *argv[] = { rkey, dkey, ridekey, "matches", token, c->info.car_number,
				       c->info.driver_name, did, rid, json, c->info.rider_client,
				       c->info.driver_client, ttl, cap };
		size_t lens[sizeof(argv) / sizeof(argv[0])];

		for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
			lens[i] = strlen(argv[i]);
		if (rconn_eval(m->cmd, &claim_lua, on_claim, c, 4, (int)(sizeof(argv) / sizeof(argv[0])),
			       argv, lens) == 0) {
			re->state = POOL_CLAIMING;
			de->state = POOL_CLAIMING;
		} else {
			free(c); /* Redis down: both keep waiting */
		}
	}
	free(json);
}

/* ------------------------------------------------------------ tick */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *n;

	if (need <= *cap)
		return 0;
	n = realloc(*p, need * size);
	if (!n)
		return -1;
	*p = n;
	*cap = need;
	return 0;
}

static int snapshot(struct matcher *m)
{
	size_t need_r = m->riders.live, need_d = m->drivers.live;

	if (grow((void **)&m->rpts, &m->cap_rp, need_r, sizeof(*m->rpts)) < 0 ||
	    grow((void **)&m->rmap, &m->cap_rm, need_r, sizeof(*m->rmap)) < 0 ||
	    grow((void **)&m->dpts, &m->cap_dp, need_d, sizeof(*m->dpts)) < 0 ||
	    grow((void **)&m->dmap, &m->cap_dm, need_d, sizeof(*m->dmap)) < 0)
		return -1;
	m->nr = m->nd = 0;
	for (size_t i = m->riders.head; i < m->riders.n; i++)
		if (m->riders.v[i].state == POOL_WAITING) {
			m->rpts[m->nr] = m->riders.v[i].loc;
			m->rmap[m->nr++] = (uint32_t)i;
		}
	for (size_t i = m->drivers.head; i < m->drivers.n; i++)
		if (m->drivers.v[i].state == POOL_WAITING) {
			m->dpts[m->nd] = m->drivers.v[i].loc;
			m->dmap[m->nd++] = (uint32_t)i;
		}
	m->npairs = 0;
	if (grow((void **)&m->pairs, &m->cap_pairs, m->nr < m->nd ? m->nr : m->nd, sizeof(*m->pairs)) < 0)
		return -1;
	return 0;
}

static void run_pairing(struct matcher *m)
{
	double t0 = mono_ms();

	m->npairs = m->nr && m->nd ? mc_match_ctx(m->mc, m->rpts, m->nr, m->dpts, m->nd, m->pairs) : 0;
	m->work_ms = mono_ms() - t0;
}

static void publish_stats(struct matcher *m)
{
	struct sbuf b = { 0 };
	uint64_t now = now_ms(m);

	if (now - m->last_stats_ms < (uint64_t)m->stats_min_ms)
		return;
	m->last_stats_ms = now;
	stats_json(&m->stats, &b, now, m->tick_ms, &m->riders, &m->drivers, (size_t)m->max_points);
	if (!b.oom)
		rconn_cmd(m->cmd, NULL, NULL, "XADD stats MAXLEN ~ 64 * json %b", b.p, b.len);
	sbuf_free(&b);
}

/* Claims are issued at most claim_batch per loop iteration so that a tick
 * with a huge pool never holds the loop for long; the tick stays busy (no
 * expiry, no compaction, so the snapshot's indices stay valid) until all are
 * out. */
static void claim_some(struct matcher *m)
{
	long end = m->next_claim + m->claim_batch;

	/* flow control: while Redis has many claims unanswered, wait for it
	 * rather than pile commands into hiredis' output buffer (which it
	 * shifts on every partial write: a huge one stalls the loop) */
	if (rconn_up(m->cmd) && rconn_pending(m->cmd) > (unsigned)(4 * m->claim_batch)) {
		uv_timer_start(&m->claims, on_claims_timer, 1, 0);
		return;
	}

	if (end > m->npairs)
		end = m->npairs;
	for (; m->next_claim < end; m->next_claim++) {
		const struct mc_pair *p = &m->pairs[m->next_claim];
		struct pool_entry *re = &m->riders.v[m->rmap[p->rider]];
		struct pool_entry *de = &m->drivers.v[m->dmap[p->driver]];

		if (re->state == POOL_WAITING && de->state == POOL_WAITING)
			claim_pair(m, re, de, p->distance);
	}
	if (m->next_claim < m->npairs && !m->stopping) {
		uv_timer_start(&m->claims, on_claims_timer, 0, 0);
		return;
	}
	m->busy = 0;
}

static void on_claims_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;

	if (!m->stopping)
		claim_some(m);
}

static void after_pairing(struct matcher *m)
{
	if (m->npairs < 0) {
		log_error("pairing ran out of memory (%zu riders, %zu drivers)", m->nr, m->nd);
		m->npairs = 0;
	}
	m->stats.tick_duration_ms = m->work_ms;
	if (m->work_ms > 10)
		log_info("tick: paired %zu riders x %zu drivers in %.1f ms", m->nr, m->nd, m->work_ms);
	m->pairs_made += (uint64_t)m->npairs;
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
	now = now_ms(m);
	m->stats.t.expired += pool_expire(&m->riders, now, (uint64_t)m->ttl_ms) +
			      pool_expire(&m->drivers, now, (uint64_t)m->ttl_ms);
	pool_compact(&m->riders);
	pool_compact(&m->drivers);
	if (!m->active || !rconn_up(m->cmd))
		return;
	/* what viewers see: the pool as this tick is about to pair it, after
	 * the previous tick's claims have settled */
	publish_stats(m);
	if (snapshot(m) < 0) {
		log_error("out of memory taking the tick's snapshot");
		return;
	}
	if (m->nr + m->nd <= (size_t)m->inline_max) {
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

/* ------------------------------------------------------------ lease, clock */

static void set_active(struct matcher *m, int active, const char *why)
{
	if (m->active == active)
		return;
	m->active = active;
	log_info("%s (%s)", active ? "active: pairing" : "standby: not pairing", why);
}

static void on_lease(struct rconn *rc, redisReply *r, void *priv)
{
	struct matcher *m = priv;

	if (m->stopping)
		return;
	if (r && ((r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) ||
		  (r->type == REDIS_REPLY_INTEGER && r->integer == 1))) {
		m->lease_ok_ms = uv_now(m->loop);
		set_active(m, 1, "holding matcher:lease");
	} else if (r && r->type != REDIS_REPLY_ERROR) {
		set_active(m, 0, "matcher:lease held by another");
	}
}

static void on_lease_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;
	char ms[16];

	if (m->no_lease) {
		set_active(m, rconn_up(m->cmd), "--no-lease");
		return;
	}
	/* a lease we could not renew in time is lost */
	if (m->active && uv_now(m->loop) - m->lease_ok_ms > (uint64_t)m->lease_ms)
		set_active(m, 0, "lease not renewed in time");
	snprintf(ms, sizeof(ms), "%d", m->lease_ms);
	if (m->active)
		rconn_cmd(m->cmd, on_lease, m, "EVAL %s 1 matcher:lease %s %s", renew_lua, m->instance, ms);
	else
		rconn_cmd(m->cmd, on_lease, m, "SET matcher:lease %s NX PX %s", m->instance, ms);
}

static void on_time(struct rconn *rc, redisReply *r, void *priv)
{
	struct matcher *m = priv;

	if (m->stopping || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return;
	{
		int64_t redis_ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;

		m->clock_offset_ms = redis_ms - (int64_t)svc_now_ms();
	}
}

static void on_clock_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;

	rconn_cmd(m->cmd, on_time, m, "TIME");
}

static void on_cmd_state(struct rconn *rc, int up, void *priv)
{
	struct matcher *m = priv;

	if (up) {
		on_clock_timer(&m->clock);
		on_lease_timer(&m->lease);
	}
}

/* ------------------------------------------------------------ service */

/* A 10 ms timer that notes how late it runs: the longest stall of the loop
 * (e.g. by a big tick), reported in /metrics. */
static void on_lag_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;
	uint64_t now = uv_hrtime();

	if (m->lag_last_ns) {
		double late = (double)(now - m->lag_last_ns) / 1e6 - 10.0;

		if (late > m->lag_max_ms)
			m->lag_max_ms = late;
	}
	m->lag_last_ns = now;
}

static int matcher_healthy(void *app)
{
	struct matcher *m = app;

	return rconn_up(m->cmd) && rconn_up(m->feed);
}

static void matcher_metrics(struct sbuf *out, void *app)
{
	struct matcher *m = app;

	sbuf_printf(out,
		    "# TYPE matcher_active gauge\nmatcher_active %d\n"
		    "# TYPE matcher_waiting gauge\nmatcher_waiting{kind=\"rider\"} %zu\n"
		    "matcher_waiting{kind=\"driver\"} %zu\n"
		    "# TYPE matcher_requests_total counter\nmatcher_requests_total %llu\n"
		    "# TYPE matcher_matched_total counter\nmatcher_matched_total %llu\n"
		    "# TYPE matcher_expired_total counter\nmatcher_expired_total %llu\n"
		    "# TYPE matcher_claims_failed_total counter\nmatcher_claims_failed_total %llu\n"
		    "# TYPE matcher_tick_duration_ms gauge\nmatcher_tick_duration_ms %.3f\n"
		    "# TYPE matcher_loop_lag_max_ms gauge\nmatcher_loop_lag_max_ms %.1f\n",
		    m->active, m->riders.live, m->drivers.live,
		    (unsigned long long)m->stats.t.requests, (unsigned long long)m->stats.t.matched,
		    (unsigned long long)m->stats.t.expired, (unsigned long long)m->stats.t.claim_failed,
		    m->stats.tick_duration_ms, m->lag_max_ms);
}

static void matcher_stop(void *priv)
{
	struct matcher *m = priv;

	m->stopping = 1;
	uv_timer_stop(&m->tick);
	uv_timer_stop(&m->lease);
	uv_timer_stop(&m->clock);
	uv_timer_stop(&m->claims);
	uv_close((uv_handle_t *)&m->claims, NULL);
	uv_timer_stop(&m->lag);
	uv_close((uv_handle_t *)&m->lag, NULL);
	uv_close((uv_handle_t *)&m->tick, NULL);
	uv_close((uv_handle_t *)&m->lease, NULL);
	uv_close((uv_handle_t *)&m->clock, NULL);
	http_server_free(m->http);
	m->http = NULL;
	rconn_free(m->feed);
	rconn_free(m->cmd);
	svc_close();
}

int main(int argc, char **argv)
{
	static struct matcher m;
	const char *listen = "127.0.0.1", *redis_addr = NULL, *instance = NULL;
	int port = cfg_stack_port(50), redis_port = cfg_stack_port(1), rc;
	char redis_host[128] = "127.0.0.1", host[64];
	struct opt opts[] = {
		{ "listen", "LISTEN", OPT_STR, &listen, "address for /healthz and /metrics" },
		{ "port", NULL, OPT_INT, &port, "port for /healthz and /metrics (PORT+50)" },
		{ "redis", "REDIS_ADDR", OPT_STR, &redis_addr, "Redis host:port (default 127.0.0.1:PORT+1)" },
		{ "tick-ms", "TICK_MS", OPT_INT, &m.tick_ms, "pair every this many ms (1..60000)" },
		{ "ttl-ms", "REQUEST_TTL_MS", OPT_INT, &m.ttl_ms, "a request's life; must match the intake's" },
		{ "lease-ms", NULL, OPT_INT, &m.lease_ms, "lease time; a standby takes over within it" },
		{ "no-lease", NULL, OPT_FLAG, &m.no_lease, "pair without holding the lease (tests)" },
		{ "instance", NULL, OPT_STR, &instance, "name in the lease (default host:pid)" },
		{ "max-points", NULL, OPT_INT, &m.max_points, "waiting positions per side sent to viewers" },
		{ "inline-max", NULL, OPT_INT, &m.inline_max, "pair on the loop up to this many requests, else on a worker" },
		{ "ride-ttl-s", NULL, OPT_INT, &m.ride_ttl_s, "how long a ride can be rated" },
		{ "claim-batch", NULL, OPT_INT, &m.claim_batch, "claims issued per loop iteration" },
		{ "stats-min-ms", NULL, OPT_INT, &m.stats_min_ms, "at most one stats message per this many ms" },
		{ NULL, NULL, 0, NULL, NULL },
	};

	m.tick_ms = 1000;
	m.ttl_ms = 5000;
	m.lease_ms = 2000;
	m.max_points = 2000;
	m.inline_max = 4000;
	m.ride_ttl_s = 3600;
	m.stats_min_ms = 100;
	m.claim_batch = 200;
	log_init(argv[0]);
	rc = opt_parse(argc, argv, opts,
		       "Pairs waiting riders and drivers closest pair first every tick (k-d tree),\n"
		       "claims each pair atomically in Redis and hands it to comm-svc.");
	if (rc)
		return rc > 0 ? 0 : 2;
	if (m.tick_ms < 1 || m.tick_ms > 60000 || m.ttl_ms < 1 || m.lease_ms < 300 || m.max_points < 0 ||
	    m.ride_ttl_s < 1 || m.claim_batch < 1) {
		log_error("a value is out of range (see --help)");
		return 2;
	}
	if (svc_redis_addr(redis_addr, redis_host, sizeof(redis_host), &redis_port) < 0)
		return 2;
	if (!instance) {
		gethostname(host, sizeof(host));
		host[sizeof(host) - 1] = 0;
		snprintf(m.instance, sizeof(m.instance), "%s:%d", host, (int)getpid());
	} else {
		snprintf(m.instance, sizeof(m.instance), "%s", instance);
	}

	m.mc = mc_ctx_new();
	if (!m.mc) {
		log_error("out of memory");
		return 1;
	}
	m.loop = uv_default_loop();
	m.start_ms = svc_now_ms();
	/* replay the last TTL's worth of requests */
	snprintf(m.last_id, sizeof(m.last_id), "%llu-0",
		 (unsigned long long)(m.start_ms - (uint64_t)m.ttl_ms - 1000));
	svc_init(m.loop, matcher_stop, &m);
	m.cmd = rconn_new(m.loop, &(struct rconn_opts){ .host = redis_host, .port = redis_port,
							 .name = "redis", .on_state = on_cmd_state, .priv = &m });
	m.feed = rconn_new(m.loop, &(struct rconn_opts){ .host = redis_host, .port = redis_port,
							  .name = "redis-feed", .dead_ms = 4000,
							  .on_state = on_feed_state, .priv = &m });
	m.http = http_server_new(m.loop, &(struct http_server_opts){
						 .name = "matcher", .host = listen, .port = port, .app = &m,
						 .healthy = matcher_healthy, .metrics = matcher_metrics });
	uv_timer_init(m.loop, &m.tick);
	uv_timer_init(m.loop, &m.lease);
	uv_timer_init(m.loop, &m.clock);
	uv_timer_init(m.loop, &m.claims);
	uv_timer_init(m.loop, &m.lag);
	m.tick.data = m.lease.data = m.clock.data = m.claims.data = m.lag.data = &m;
	if (!m.cmd || !m.feed || !m.http) {
		matcher_stop(&m);
		uv_run(m.loop, UV_RUN_DEFAULT);
		http_servers_finish();
		return 1;
	}
	uv_timer_start(&m.tick, on_tick, (uint64_t)m.tick_ms, (uint64_t)m.tick_ms);
	uv_timer_start(&m.lease, on_lease_timer, 0, (uint64_t)(m.lease_ms / 4));
	uv_timer_start(&m.clock, on_clock_timer, 10000, 10000);
	uv_timer_start(&m.lag, on_lag_timer, 10, 10);
	log_info("matcher %s: tick %d ms, ttl %d ms%s", m.instance, m.tick_ms, m.ttl_ms,
		 m.no_lease ? ", no lease" : "");
	uv_run(m.loop, UV_RUN_DEFAULT);
	http_servers_finish();
	pool_free(&m.riders);
	pool_free(&m.drivers);
	free(m.rpts);
	free(m.dpts);
	free(m.rmap);
	free(m.dmap);
	free(m.pairs);
	mc_ctx_free(m.mc);
	uv_loop_close(m.loop);
	log_info("stopped");
	return 0;
}
