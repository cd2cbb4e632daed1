/* claim.c - claims: each pair of a tick goes to Redis as one Lua script that
 * checks both keys, deletes them, records the ride for rating-svc and appends
 * the match to `matches`; its answer settles the two pool entries (the rules
 * are in settle.c). Claims go out a slice per loop iteration (at most
 * --claim-batch, at most ~1.5 ms), and wait while Redis has many unanswered,
 * so that a huge tick never holds the loop. Glue only. */
#include "log.h"
#include "matcher.h"
#include "ride.h"
#include "schema.h"
#include "settle.h"
#include "streamid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: rider key, driver key, ride key, matches stream.
 * ARGV: token, car_number, driver_name, driver_id, rider_id, match json,
 *       rider_client, driver_client, ride ttl (s), matches cap. */
static struct rconn_script claim_lua = {
    .src = "local r = redis.call('EXISTS', KEYS[1]) "
	   "local d = redis.call('EXISTS', KEYS[2]) "
	   "if r == 0 or d == 0 then return {r, d} end "
	   "redis.call('DEL', KEYS[1], KEYS[2]) "
	   "redis.call('HSET', KEYS[3], '" RS_RIDE_TOKEN "', ARGV[1], '" RS_RIDE_CAR_NUMBER
	   "', ARGV[2], "
	   "'" RS_RIDE_DRIVER_NAME "', ARGV[3], '" RS_RIDE_DRIVER_ID "', ARGV[4], "
	   "'" RS_RIDE_RIDER_ID "', ARGV[5]) "
	   "redis.call('EXPIRE', KEYS[3], ARGV[9]) "
	   "local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[10], '*', "
	   "'" RS_F_JSON "', ARGV[6], '" RS_F_RIDER_CLIENT "', ARGV[7], "
	   "'" RS_F_DRIVER_CLIENT "', ARGV[8]) "
	   "return {1, 1, id}"};

struct claim {
	struct matcher *m;
	uint64_t rms, rseq, dms, dseq;
	uint64_t sent_ns; /* uv_hrtime when it went out */
	double distance;
	struct ride_info info;
};

static void on_claim(struct rconn *rc, redisReply *r, void *priv)
{
	struct claim *c = priv;
	struct matcher *m = c->m;
	enum settle_outcome o = SETTLE_UNKNOWN;
	int r_exists = 0, d_exists = 0, back;

	if (m->stopping) {
		free(c);
		return;
	}
	if (r)
		matcher_stage(m, STAGE_CLAIM, (uv_hrtime() - c->sent_ns) / 1000);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		uint64_t now = lease_now_ms(m);

		o = SETTLE_CLAIMED;
		m->stats.t.matched++;
		stats_latency(&m->stats, now, (uint32_t)(now > c->rms ? now - c->rms : 0));
		quality_match(&m->stats.q, now, c->distance,
		              (uint32_t)(now > c->rms ? now - c->rms : 0),
		              (uint32_t)(now > c->dms ? now - c->dms : 0));
		log_info(
		    "pair %s rider=%llu-%llu driver=%llu-%llu car=%s distance=%.3f fare=%.2f BDT",
		    c->info.ride_id, (unsigned long long)c->rms, (unsigned long long)c->rseq,
		    (unsigned long long)c->dms, (unsigned long long)c->dseq, c->info.car_number,
		    c->distance, pairing_fare_taka(c->distance));
	} else if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		/* one of them expired or was claimed elsewhere */
		o = SETTLE_REFUSED;
		m->stats.t.claim_failed++;
		r_exists =
		    r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1;
		d_exists =
		    r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == 1;
	} else {
		log_warn("claim %s: %s", c->info.ride_id, rreply_err(r));
		m->claims_lost++;
	}
	back = settle_claim(&m->riders, c->rms, c->rseq, &m->drivers, c->dms, c->dseq, o, r_exists,
	                    d_exists);
	if (back & SETTLE_RIDER_BACK)
		tick_enter(m, 1, pool_find(&m->riders, c->rms, c->rseq));
	if (back & SETTLE_DRIVER_BACK)
		tick_enter(m, 0, pool_find(&m->drivers, c->dms, c->dseq));
	free(c);
}

/* 0 if the claim went out (both entries CLAIMING), else -1 (both WAITING). */
static int claim_pair(struct matcher *m, struct pool_entry *re, struct pool_entry *de,
                      double distance)
{
	int rc = -1;
	char rid[48], did[48], rkey[64], dkey[64], ridekey[96], token[33], ttl[16],
	    cap[16] = RS_STR(RS_MATCHES_MAXLEN);
	struct claim *c = calloc(1, sizeof(*c));
	char *json;
	uint64_t now = lease_now_ms(m);

	if (!c || ride_token(token) < 0) {
		free(c);
		log_error("cannot claim: out of memory or no randomness");
		return -1;
	}
	streamid_format((struct streamid){re->ms, re->seq}, rid, sizeof(rid));
	streamid_format((struct streamid){de->ms, de->seq}, did, sizeof(did));
	json = ride_match_json(rid, re->json, did, de->json, distance, now, token, &c->info);
	if (!json) {
		log_error("cannot build the match message for %s/%s", rid, did);
		free(c);
		return -1;
	}
	*c = (struct claim){m, re->ms, re->seq, de->ms, de->seq, uv_hrtime(), distance, c->info};
	snprintf(rkey, sizeof(rkey), RS_KEY_RIDER, rid);
	snprintf(dkey, sizeof(dkey), RS_KEY_DRIVER, did);
	snprintf(ridekey, sizeof(ridekey), RS_KEY_RIDE, c->info.ride_id);
	snprintf(ttl, sizeof(ttl), "%d", m->ride_ttl_s);
	{
		const char *argv[] = {rkey,
		                      dkey,
		                      ridekey,
		                      RS_STREAM_MATCHES,
		                      token,
		                      c->info.car_number,
		                      c->info.driver_name,
		                      did,
		                      rid,
		                      json,
		                      c->info.rider_client,
		                      c->info.driver_client,
		                      ttl,
		                      cap};
		size_t lens[sizeof(argv) / sizeof(argv[0])];

		for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
			lens[i] = strlen(argv[i]);
		if (rconn_eval(m->cmd, &claim_lua, on_claim, c, 4,
		               (int)(sizeof(argv) / sizeof(argv[0])), argv, lens) == 0) {
			uint64_t later = re->ms > de->ms ? re->ms : de->ms;

			re->state = POOL_CLAIMING;
			de->state = POOL_CLAIMING;
			matcher_stage(m, STAGE_TO_CLAIM, now > later ? (now - later) * 1000 : 0);
			rc = 0;
		} else {
			free(c); /* Redis down: both keep waiting */
		}
	}
	free(json);
	return rc;
}

static void on_claims_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;

	if (!m->stopping)
		claim_some(m);
}

static void on_claims_next(uv_async_t *a)
{
	struct matcher *m = a->data;

	if (!m->stopping)
		claim_some(m);
}

/* Claims pair i of this tick. Incremental pairs have left the index already;
 * a cold pair leaves it now. A pair that does not go out waits again. */
static void claim_one(struct matcher *m, long i)
{
	struct pool_entry *re, *de;
	double distance;

	if (m->pairs_incr) {
		re = pool_find_ord(&m->riders, m->ipairs[i].rider);
		de = pool_find_ord(&m->drivers, m->ipairs[i].driver);
		distance = m->ipairs[i].distance;
	} else {
		re = snap_rider(&m->snap, &m->riders, i);
		de = snap_driver(&m->snap, &m->drivers, i);
		distance = m->snap.pairs[i].distance;
		if (re->state == POOL_WAITING)
			tick_leave(m, 1, re);
		if (de->state == POOL_WAITING)
			tick_leave(m, 0, de);
	}
	if (re && de && re->state == POOL_WAITING && de->state == POOL_WAITING &&
	    claim_pair(m, re, de, distance) == 0)
		return;
	if (re && re->state == POOL_WAITING)
		tick_enter(m, 1, re);
	if (de && de->state == POOL_WAITING)
		tick_enter(m, 0, de);
}

/* A slice of claims: at most --claim-batch, and no longer than this, so
 * that one loop iteration stays short even on a loaded machine (a claim
 * builds the match JSON and a script call: some 20-100 us). */
#define CLAIM_SLICE_NS (1500 * 1000)

/* The tick stays busy (no expiry, no compaction, so the snapshot's indices
 * stay valid) until all claims are out. */
void claim_some(struct matcher *m)
{
	long total = m->pairs_incr ? m->nipairs : m->snap.npairs, room = m->claim_batch, end;
	uint64_t t0 = uv_hrtime();

	/* flow control: at most 2 x --claim-batch unanswered. Redis' answers
	 * to all of them may come in one read, and hiredis settles every
	 * answer of a read in one callback (~5-20 us each: the log line, the
	 * pool); and piling commands into hiredis' output buffer (which it
	 * shifts on every partial write) stalled the loop for seconds. */
	if (rconn_up(m->cmd))
		room = 2L * m->claim_batch - (long)rconn_pending(m->cmd);
	if (room <= 0) {
		uv_timer_start(&m->claims, on_claims_timer, 1, 0);
		return;
	}
	end = m->next_claim + (room < m->claim_batch ? room : m->claim_batch);
	if (end > total)
		end = total;
	while (m->next_claim < end) {
		claim_one(m, m->next_claim++);
		if ((m->next_claim & 7) == 0 && uv_hrtime() - t0 > CLAIM_SLICE_NS)
			break;
	}
	if (m->next_claim < total && !m->stopping) {
		uv_async_send(&m->claims_next);
		return;
	}
	tick_done(m);
}

/* The tick's claims, from the first: in a callback of their own, not in
 * the pairing's (each costs a few ms with a big pool). */
void claim_start(struct matcher *m)
{
	m->next_claim = 0;
	m->busy = 1;
	uv_async_send(&m->claims_next);
}

void claim_init(struct matcher *m)
{
	uv_timer_init(m->loop, &m->claims);
	m->claims.data = m;
	uv_async_init(m->loop, &m->claims_next, on_claims_next);
	m->claims_next.data = m;
}

void claim_stop(struct matcher *m)
{
	uv_timer_stop(&m->claims);
	uv_close((uv_handle_t *)&m->claims, NULL);
	uv_close((uv_handle_t *)&m->claims_next, NULL);
}
