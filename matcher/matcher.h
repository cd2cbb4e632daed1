/* matcher.h - the matcher process's shared state and the entry points of its
 * glue files (feed.c, claim.c, tick.c, lease.c, main.c). Private to the
 * matcher binary: the pure core (pool, snap, settle, replay, pairing, kdtree,
 * ride, stats) knows nothing of it. */
#ifndef RS_MATCHER_MATCHER_H
#define RS_MATCHER_MATCHER_H

#include "http.h"
#include "incr.h"
#include "lhist.h"
#include "pool.h"
#include "rconn.h"
#include "snap.h"
#include "stats.h"

#include <uv.h>

/* Where a request's time goes inside the matcher (/metrics
 * matcher_stage_ms, the last 10-20 s; matcher/README.md "Latency by stage"). */
enum matcher_stage {
	STAGE_FEED,     /* a request's XADD (its id's ms) -> the feed read it */
	STAGE_TICK,     /* one tick's start -> the next one's */
	STAGE_TICK_OUT, /* a tick's start -> its last claim handed to hiredis */
	STAGE_TO_CLAIM, /* the later XADD of a pair -> its claim sent */
	STAGE_CLAIM,    /* a claim sent -> its answer */
	STAGE_N
};
#define STAGE_HALF_MS 10000

struct matcher {
	uv_loop_t *loop;
	struct rconn *cmd, *feed;
	struct http_server *http;
	struct pool riders, drivers;
	struct stats stats;
	int stopping;

	/* configuration (flags) */
	int tick_ms, ttl_ms, lease_ms, no_lease, max_points, inline_max, ride_ttl_s, stats_min_ms;
	int claim_batch, incremental;
	int min_total;     /* --policy min-total */
	int min_total_max; /* ... up to this many waiting on the larger side */
	char instance[96];

	/* feed.c */
	char last_id[48];  /* last `requests` entry read */
	uint64_t start_ms; /* entries before this are replayed */
	int feed_pending;
	unsigned replay_pending; /* EXISTS checks unanswered */

	/* lease.c */
	uv_timer_t lease, clock;
	int active;
	uint64_t lease_ok_ms;
	int64_t clock_offset_ms; /* Redis' clock minus ours */

	/* tick.c */
	/* Work split over loop iterations is resumed through a uv_async_t, not a
	 * 0 ms timer: libuv before 1.48 runs a 0 ms timer started from a timer
	 * callback in the same pass over the timers, so a chain of "slices"
	 * ran back to back without serving any I/O. The stats come last, once
	 * the tick's claims are written: building them costs 1-4 ms on the
	 * loop (the 10 s windows' figures), which before the pairing delayed
	 * one tick in ten by that much (stats_min_ms 100 at a 10 ms tick). A
	 * prepare handle runs them: after the idle phase, where hiredis writes
	 * the claims (lib/hiredis_uv.h), so they never wait for the stats. */
	uv_timer_t tick;
	uint64_t tick_due_ms;    /* the next tick's time on the grid (uv_now) */
	uv_async_t pair_next;    /* a tick: expiry, then the pairing and claims, */
	uv_prepare_t stats_next; /* then the stats */
	uv_work_t work;
	int busy;                 /* a tick's pairing or claims are under way */
	struct pairing_ctx *pctx; /* pairing buffers kept between ticks */
	struct snap snap;         /* a cold tick's pairing input and output */
	struct incr *ix;          /* the waiting pool's index (incremental ticks) */
	int ix_on;                /* ix holds exactly the WAITING entries */
	int pairs_incr;           /* this tick's pairs are ipairs, not snap's */
	const struct incr_pair *ipairs;
	long nipairs;
	size_t nnew;     /* requests new to this tick (logs) */
	struct drained { /* expired, still to leave the index */
		double x, y;
		uint64_t ord;
		int is_rider;
	} * drain;
	size_t ndrain, drain_head, cap_drain;
	uv_async_t drain_next;
	double work_ms;
	int fell_back; /* min-total: this tick paired closest first */
	uint64_t min_total_ticks, min_total_fallbacks;
	uint64_t last_stats_ms;

	/* claim.c */
	uv_timer_t claims;      /* flow control: try again in 1 ms */
	uv_async_t claims_next; /* the next slice */
	long next_claim;
	uint64_t pairs_made, claims_lost;

	/* where the time goes (enum matcher_stage), us */
	struct lhist_win stage[STAGE_N];
	uint64_t last_tick_ns; /* the last tick's start (uv_hrtime) */
	uint64_t ticks_busy;   /* ticks skipped: the last one's work still under way */

	/* main.c: the loop's longest stall */
	uv_timer_t lag;
	uint64_t lag_last_ns;
	double lag_max_ms;
	double lag_last_cpu_ms, lag_max_cpu_ms; /* the loop thread's CPU time */
};

/* Adds a sample of us microseconds to a stage. main.c */
void matcher_stage(struct matcher *m, enum matcher_stage st, uint64_t us);

/* Redis' time in ms (our clock corrected by the last TIME). lease.c */
uint64_t lease_now_ms(struct matcher *m);
/* The lease and clock timers: init (before any stop), start, refresh both
 * on a (re)connect, stop. */
void lease_init(struct matcher *m);
void lease_start(struct matcher *m);
void lease_on_connect(struct matcher *m);
void lease_stop(struct matcher *m);

/* Reads `requests` from m->last_id on (re)connect of the feed connection. */
void feed_on_state(struct rconn *rc, int up, void *priv);

/* Issues the claims of m->snap's pairs from m->next_claim, a slice at a
 * time, and clears m->busy when all are out; claim_start begins a tick's
 * (the first slice in a callback of its own). claim.c */
void claim_init(struct matcher *m);
void claim_some(struct matcher *m);
void claim_start(struct matcher *m);
void claim_stop(struct matcher *m);

/* The tick's claims are all out (claim.c): its stats, then the tick ends.
 * tick.c */
void tick_done(struct matcher *m);

/* A request starts or stops WAITING (other than by the pairing): keeps the
 * incremental index in step with the pool. tick.c */
void tick_enter(struct matcher *m, int is_rider, const struct pool_entry *e);
void tick_leave(struct matcher *m, int is_rider, const struct pool_entry *e);

/* The tick timer: init (before any stop), start, stop. tick.c */
void tick_init(struct matcher *m);
void tick_start(struct matcher *m);
void tick_stop(struct matcher *m);
void tick_free(struct matcher *m);

#endif
