/* drive.c - the request driver: a 1 ms timer issues the requests due by
 * the schedule (riders and drivers each at their rate, spread evenly; closed
 * loop: one in flight per rider or driver, the next deferred; open loop: up
 * to --max-inflight) or, with --replay, the trace's requests at their
 * recorded times; the replies (202: into the ledger); the stop and the
 * drain that follows. */
#include "bot.h"
#include "log.h"
#include "wsmsg.h"

#define MAX_PER_TICK 20000 /* requests issued per 1 ms tick at most */

/* user pointer of a request: kind in the low 2 bits, entity index above */
static void *pack(int kind, int idx)
{
	return (void *)(((uintptr_t)idx << 2) | (uintptr_t)kind);
}

static void send_one(int kind, int idx);

void drive_count_reply(int kind, int status)
{
	struct kind_stats *k = &B.st.k[kind];
	int ok = kind == KIND_RATING ? 201 : 202;

	if (status == ok)
		k->accepted++;
	else if (status > 0) {
		k->rejected++;
		if (status < STATS_MAX_STATUS)
			k->status[status]++;
	} else if (status == 0) {
		k->transport_errors++;
	}
	/* status -1: abandoned at shutdown, not counted as anything */
}

static void on_reply(void *user, int status, const char *body, size_t len, uint64_t lat_us)
{
	uintptr_t u = (uintptr_t)user;
	int kind = (int)(u & 3), idx = (int)(u >> 2);
	struct entity *e = &B.ent[kind][idx];

	drive_count_reply(kind, status);
	if (status > 0)
		lhist_add(&B.st.http_latency, lat_us);
	if (status == 0 && B.st.k[kind].transport_errors <= 3)
		log_warn("POST %s: %.*s", kind == KIND_RIDER ? "/rider" : "/driver", (int)len,
		         body);
	if (status == 202) {
		char id[WSMSG_ID_MAX + 1];
		struct pend *p;

		if (wsmsg_parse_accepted(body, len, id, WSMSG_ID_MAX) == 0 &&
		    (p = ledger_accepted(&B.led, kind == KIND_RIDER ? LEDGER_RIDER : LEDGER_DRIVER,
		                         id, wsmsg_accepted_ttl(body, len), bot_now_us())) &&
		    kind == KIND_RIDER)
			fares_latency(p); /* when the fare came first */
	}
	e->in_flight = 0;
	if (e->deferred && B.sending && status >= 0) {
		e->deferred = 0;
		send_one(kind, idx);
	}
}

/* POSTs B.body for a rider or driver; records it with --record */
static int post_body(int kind, void *user)
{
	const char *path = kind == KIND_RIDER ? B.path_rider : B.path_driver;

	if (B.body.oom || hc_post(B.http, path, B.body.p, B.body.len, on_reply, user) < 0)
		return -1;
	if (B.rec_f)
		trace_format_req(&B.rec, (uv_hrtime() - B.start_ns) / 1000000, kind, B.body.p,
		                 B.body.len);
	return 0;
}

static void send_one(int kind, int idx)
{
	struct entity *e = &B.ent[kind][idx];

	B.body.len = 0;
	B.body.oom = 0;
	if (kind == KIND_RIDER) {
		struct gen_point loc = gen_point_hot(&B.rng, B.run.area, &B.hot);
		struct gen_point dst = gen_point_hot(&B.rng, B.run.area, &B.hot);

		gen_rider_json(&B.body, e->name, loc, dst, B.run.client_id);
	} else {
		gen_driver_json(&B.body, e->name, e->car, gen_point_hot(&B.rng, B.run.area, &B.hot),
		                B.run.client_id);
	}
	if (post_body(kind, pack(kind, idx)) < 0) {
		B.st.unsent++;
		return;
	}
	e->in_flight = 1;
	B.st.k[kind].sent++;
}

/* --replay: the recorded request i, its client_id made ours */
static void send_replayed(size_t i)
{
	const struct trace_req *r = &B.tr.req[i];

	B.body.len = 0;
	B.body.oom = 0;
	trace_rewrite_client(&B.body, r->body, r->len, B.tr.h.client_id, B.run.client_id);
	if (post_body(r->kind, pack(r->kind, 0)) < 0) {
		B.st.unsent++;
		return;
	}
	B.st.k[r->kind].sent++;
}

static void on_replay_tick(uint64_t el)
{
	double at_ms = (double)el / 1e6 * B.replay_speed;
	int budget = MAX_PER_TICK;

	while (budget-- > 0 && B.replay_next < B.tr.n &&
	       (double)B.tr.req[B.replay_next].t_ms <= at_ms)
		send_replayed(B.replay_next++);
	if (B.replay_next == B.tr.n)
		drive_stop(0);
}

void drive_start(void)
{
	if (B.start_ns || B.finished)
		return;
	uv_timer_stop(&B.wait_ws);
	B.start_ns = uv_hrtime();
	B.sending = 1;
	uv_timer_start(&B.tick, drive_tick, 0, 1);
}

void drive_stop(int interrupted)
{
	if (!B.sending)
		return;
	B.sending = 0;
	B.stop_ns = uv_hrtime();
	uv_timer_stop(&B.tick);
	B.draining = 1;
	/* after a Ctrl-C only the replies in flight are awaited */
	B.drain_deadline_ns = B.stop_ns + (interrupted ? 0 : (uint64_t)B.o.drain_ms * 1000000);
}

/* how long a --strict exit waits beyond the drain for riders to settle */
static uint64_t settle_ns(void)
{
	return ((uint64_t)B.led.keep_us / 2 + (uint64_t)B.o.timeout_ms * 1000) * 1000;
}

void drive_drain(uv_timer_t *t)
{
	uint64_t now = uv_hrtime();

	if (!B.draining)
		return;
	ledger_settle(&B.led, bot_now_us());
	/* --strict: wait (bounded) until every accepted rider is settled */
	if (B.o.strict && !B.hurry && now < B.drain_deadline_ns + settle_ns() &&
	    ledger_settled_by(&B.led) * 1000 > now)
		return;
	if (now >= B.drain_deadline_ns &&
	    (hc_inflight(B.http) + hc_inflight(B.http_rating) == 0 ||
	     now >= B.drain_deadline_ns + (uint64_t)B.o.timeout_ms * 1000000))
		bot_finish();
}

void drive_tick(uv_timer_t *t)
{
	uint64_t now = uv_hrtime(), el = now - B.start_ns;
	int budget = MAX_PER_TICK;

	if (B.run.duration_s > 0 && el >= (uint64_t)B.run.duration_s * 1000000000ull) {
		drive_stop(0);
		return;
	}
	if (B.o.replay_path) {
		on_replay_tick(el);
		return;
	}
	uint64_t due[2] = {0, 0};

	for (int kind = 0; kind < 2; kind++)
		if (B.rate[kind] > 0 && B.nent[kind])
			due[kind] = (uint64_t)((double)el / 1e9 * B.rate[kind]) +
			            1; /* the first goes at once */
	/* riders and drivers in turn, so that when the budget or the in-flight
	 * cap runs short both sides fall behind alike */
	while (budget > 0 && (B.issued[0] < due[0] || B.issued[1] < due[1])) {
		for (int kind = 0; kind < 2 && budget > 0; kind++) {
			int idx;
			struct entity *e;

			if (B.issued[kind] >= due[kind])
				continue;
			idx = (int)(B.issued[kind] % (uint64_t)B.nent[kind]);
			e = &B.ent[kind][idx];
			B.issued[kind]++;
			budget--;
			if (B.run.open_loop) {
				if (hc_inflight(B.http) >= (size_t)B.o.max_inflight)
					B.st.unsent++;
				else
					send_one(kind, idx);
			} else if (e->in_flight) {
				if (!e->deferred)
					B.st.deferred++;
				e->deferred = 1;
			} else {
				send_one(kind, idx);
			}
		}
	}
}
