/* bsplit.h - where a fare's match latency goes: for each fare whose rider
 * and driver were both accepted by this bot, its rider's 202 -> fare split
 * into stages by the times the bot knows (its own clock) and the times the
 * match message carries (the servers' wall clocks):
 *
 *   driver_later   the driver's 202 after the rider's (0 when before): time
 *                  the rider waited for its driver to exist at all
 *   from_both_202  the later of the two 202s -> the fare: the system's own
 *                  latency once a pair was possible
 *   to_pairing     rider's 202 -> matched_at_ms (the matcher built the claim)
 *   claim          matched_at_ms -> the match's stream id (the claim's XADD)
 *   delivery       the stream id -> the fare on the websocket (comm-svc's
 *                  read, its write, nginx, the bot's read)
 *
 * to_pairing + claim + delivery = match_latency. The servers' stamps are
 * whole ms (truncated): each is taken as the middle of its ms. p50 / p99
 * (nearest rank) of each, and the mean of each over the slowest 1 % of
 * fares by match latency (what the p99 is made of). Pure code: no I/O, no
 * clock. */
#ifndef RS_BOT_BSPLIT_H
#define RS_BOT_BSPLIT_H

#include <stddef.h>
#include <stdint.h>

enum {
	BSPLIT_TOTAL, /* the match latency: rider's 202 -> fare */
	BSPLIT_DRIVER_LATER,
	BSPLIT_FROM_BOTH,
	BSPLIT_TO_PAIRING,
	BSPLIT_CLAIM,
	BSPLIT_DELIVERY,
	BSPLIT_N
};

/* The JSON / text names of the stages, in enum order. */
extern const char *const bsplit_names[BSPLIT_N];

/* One fare. *_us: the bot's monotonic clock; *_ms: servers' wall clock. */
struct bsplit_fare {
	uint64_t rider_202_us, driver_202_us, fare_us;
	uint64_t matched_at_ms, cursor_ms;
};

struct bsplit {
	int64_t wall_minus_mono_us; /* wall clock us - the bot's clock us */
	int32_t (*v)[BSPLIT_N];     /* us per fare and stage (owned) */
	size_t n, cap;
	uint64_t unsplit; /* fares not split: a time missing, or out of memory */
};

struct bsplit_figures {
	uint64_t fares, unsplit;
	double p50_ms[BSPLIT_N], p99_ms[BSPLIT_N];
	uint64_t slowest;            /* fares in the slowest 1 % (at least 1) */
	double slowest_ms[BSPLIT_N]; /* their means */
	double driver_later_share;   /* fares whose driver came after the rider */
};

/* wall_minus_mono_us ties the two clocks (bsplit_fare). A zeroed struct is
 * empty too (with a zero offset). */
void bsplit_init(struct bsplit *s, int64_t wall_minus_mono_us);
void bsplit_free(struct bsplit *s);
/* One fare: 0, or -1 when a time is missing (0) or out of memory (counted
 * in unsplit). */
int bsplit_add(struct bsplit *s, const struct bsplit_fare *f);
/* The figures (sorts a copy; the fares stay). */
void bsplit_figures(const struct bsplit *s, struct bsplit_figures *out);

#endif
