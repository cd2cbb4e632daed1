/* bquality.h - the quality figures of the pairs the bot was told of, as the
 * matcher publishes them for the whole pool (matcher/quality.h): pickup
 * distance (the match message's rider-driver "distance") mean and p95, per
 * side the share of our accepted requests matched rather than expired, and
 * per side the time from the 202 to the match (the message's
 * matched_at_ms; ledger.h keeps those). Pure code: no I/O, no clock. */
#ifndef RS_BOT_BQUALITY_H
#define RS_BOT_BQUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

struct bquality {
	double *dist; /* each distinct ride's distance, in arrival order (owned) */
	size_t n, cap;
	uint64_t dropped; /* distances not kept (out of memory): in the mean only */
	double sum;       /* of every distance */
};

struct bquality_side {
	uint64_t matched,
	    expired;  /* riders: fared vs lost + expired unmatched; drivers: matched vs no fare */
	double share; /* matched / (matched + expired), -1 when both are 0 */
	double wait_p50_ms, wait_p99_ms; /* 202 -> matched_at_ms; 0 when none */
	uint64_t waits;                  /* samples of those */
};

struct bquality_figures {
	uint64_t pairs;                 /* distinct rides with a distance */
	double pickup_mean, pickup_p95; /* p95: nearest rank; 0 when no pair */
	struct bquality_side side[2];   /* riders, drivers */
};

/* A zeroed struct is empty too. */
void bquality_init(struct bquality *q);
void bquality_free(struct bquality *q);
/* One distinct ride's distance (negative: unknown, ignored). Returns 0, or
 * -1 when it could not be kept for the p95 (counted in the mean). */
int bquality_pair(struct bquality *q, double distance);
/* The figures: the distances (sorted in place: call it at the end, or
 * again after more pairs), the ledger's counts and wait histograms. */
void bquality_figures(struct bquality *q, const struct ledger *l, struct bquality_figures *f);

#endif
