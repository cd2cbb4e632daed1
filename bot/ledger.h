/* ledger.h - the bot's account of its riders, drivers, fares and ratings:
 * what it was promised (a 202 means matched within the TTL or expired) and
 * what it got. Pure code: the caller passes the clock (us).
 *
 * Each accepted request is settled once its TTL (the 202's expires_in_ms)
 * plus a grace has passed: by then its fare came or it never will, short of
 * a late delivery (counted as late, and the counts corrected). A rider with
 * no fare is then one of:
 *  - lost: one of OUR drivers accepted within window_ms of it also got no
 *    fare. Both were waiting in the pool together for at least TTL - window
 *    (two ticks and more at the default 1000 ms tick), and the matcher pairs
 *    until one side is empty every tick, so at least one of the two was
 *    matched and its fare never reached us (the bot is the rider's and the
 *    driver's client: every fare of its own comes to its one websocket), or
 *    the matcher did not pair them in time. Either way a fault.
 *  - expired unmatched: no driver of ours was left free around it, so the
 *    drivers in the pool were all taken (by closer riders) and it may
 *    legitimately have expired. This may hide a lost fare whose driver was
 *    someone else's, or ours accepted more than window_ms apart; it never
 *    calls a legitimate expiry lost.
 * A rider not yet past TTL + grace (+ window) is waiting. */
#ifndef RS_BOT_LEDGER_H
#define RS_BOT_LEDGER_H

#include <stdint.h>

#include "lhist.h"
#include "pendmap.h"

enum { LEDGER_RIDER = 1, LEDGER_DRIVER = 2 };

struct ledger_counts {
	uint64_t riders_accepted;   /* 202s for /rider with an id */
	uint64_t riders_fared;      /* of those, fare received (also late) */
	uint64_t riders_fared_late; /* fare came after TTL + grace */
	uint64_t riders_lost;       /* settled: no fare though a driver of ours was free */
	uint64_t riders_expired; /* settled: no fare, no driver of ours free: expired unmatched */
	uint64_t drivers_accepted;
	uint64_t drivers_matched;  /* a fare naming it came */
	uint64_t drivers_no_fare;  /* settled without a fare */
	uint64_t fares;            /* distinct rides received */
	uint64_t fares_unknown;    /* rides of riders we hold no 202 for (or forgot) */
	uint64_t fares_with_token; /* distinct rides with a rating token */
	uint64_t ratings_sent, ratings_ok, ratings_failed; /* failed: any answer but 201, or none */
};

struct ledger {
	struct pend_map map;
	uint32_t grace_ms, window_ms, default_ttl_ms;
	uint64_t keep_us;             /* settled entries are forgotten after this */
	struct pend *last_a, *last_b; /* the last entries past phase A / B (see .c) */
	struct pend **free_drv;       /* drivers settled without a fare, oldest first (ring) */
	size_t fd_head, fd_len, fd_cap;
	struct ledger_counts c;
	int64_t wall_minus_mono_ms; /* wall clock ms - now_us / 1000 (ledger_set_clock) */
	struct lhist wait[2];       /* us, riders then drivers: their 202 -> matched_at_ms */
};

/* grace_ms: how long after its TTL a fare may still arrive on time;
 * window_ms: see above. 0 picks 3000 and 2000. */
int ledger_init(struct ledger *l, uint32_t grace_ms, uint32_t window_ms);
void ledger_free(struct ledger *l);
/* A 202 for a rider or driver (kind LEDGER_*) with its id and TTL (ttl_ms
 * <= 0: 5000). Returns the entry or NULL (bad id, out of memory). */
struct pend *ledger_accepted(struct ledger *l, int kind, const char *id, long ttl_ms,
                             uint64_t now_us);
/* A match message for rider_id / driver_id (driver_id may be ""), with or
 * without the token. Returns 1 when the ride is new to us and has a token
 * (the caller rates it: then ledger_rating_sent), 0 for a repeat or no token,
 * -1 for a bad id. *rider (may be NULL) gets the rider's entry. */
int ledger_fare(struct ledger *l, const char *rider_id, const char *driver_id, int has_token,
                uint64_t now_us, struct pend **rider);
/* When the match of rider_id / driver_id (as for ledger_fare) was made:
 * its matched_at_ms, on the server's wall clock. Each request of ours with
 * a 202 adds, once, its time from the 202 to that (0 when the match came
 * first) to wait[0] (riders) or wait[1] (drivers), now or when its 202
 * comes. Needs ledger_set_clock. Unknown ids and matched_at_ms 0 are left. */
void ledger_match_time(struct ledger *l, const char *rider_id, const char *driver_id,
                       uint64_t matched_at_ms);
/* Ties the caller's clock (now_us) to the wall clock: wall_ms at mono_us. */
void ledger_set_clock(struct ledger *l, uint64_t wall_ms, uint64_t mono_us);
void ledger_rating_sent(struct ledger *l);
/* The answer to a rating: ok = 201. */
void ledger_rating_done(struct ledger *l, int ok);
/* Settles what is due at now_us and forgets old entries. Call every second
 * or so, and at the end. */
void ledger_settle(struct ledger *l, uint64_t now_us);
/* At the end: settles what is due and judges every rider past TTL + grace
 * now (drivers still inside theirs count as not free). */
void ledger_finish(struct ledger *l, uint64_t now_us);
/* Riders accepted, not fared, not yet settled. */
uint64_t ledger_riders_waiting(const struct ledger *l);
/* Fares with a token whose rating was not (yet) accepted: in flight
 * excluded unless final (at the end, everything in flight counts). */
uint64_t ledger_fares_unrated(const struct ledger *l, int final);
/* When the last accepted rider settles (us), 0 when none waits: an exit
 * may wait until then. */
uint64_t ledger_settled_by(const struct ledger *l);

#endif
