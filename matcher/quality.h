/* quality.h - how good the matching is, live: the pickup distance of each
 * pair (mean, p95), the share of each side's requests that were matched
 * rather than expired, and each side's time from acceptance to match
 * (p50, p99), over a recent window (and since the start). Pure: no I/O. */
#ifndef RS_MATCHER_QUALITY_H
#define RS_MATCHER_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#define QUALITY_CAP  16384 /* pairs kept for the window (the newest) */
#define QUALITY_SECS 64    /* per-second buckets of match / expiry counts */

struct quality_bucket {
	uint64_t sec; /* now_ms / 1000 of the bucket; 0 = unused */
	uint64_t matched, r_expired, d_expired;
};

struct quality {
	struct {
		uint64_t at_ms;
		double distance;
		uint32_t r_wait_ms, d_wait_ms;
	} pair[QUALITY_CAP];
	size_t n, next;
	struct quality_bucket b[QUALITY_SECS];
	/* since the start */
	uint64_t matched, r_expired, d_expired;
	double distance_sum;
};

/* The figures of one window. A share is matched / (matched + expired) of
 * that side, -1 when neither happened; means and percentiles are 0 when no
 * pair was made. */
struct quality_figures {
	size_t pairs; /* pairs in the window */
	double pickup_mean, pickup_p95;
	uint64_t matched, r_expired, d_expired;
	double r_share, d_share;
	double r_wait_p50, r_wait_p99, d_wait_p50, d_wait_p99;
};

void quality_init(struct quality *q);
/* A pair was claimed at now_ms: its rider-driver distance and how long each
 * had waited since acceptance. */
void quality_match(struct quality *q, uint64_t now_ms, double distance, uint32_t r_wait_ms,
                   uint32_t d_wait_ms);
/* count requests of one side expired at now_ms. */
void quality_expired(struct quality *q, uint64_t now_ms, int is_rider, uint64_t count);
/* The figures over (now_ms - window_ms, now_ms]; window_ms at most
 * (QUALITY_SECS - 1) s for the counts. Uses a static scratch buffer: one
 * thread. */
void quality_window(const struct quality *q, uint64_t now_ms, uint64_t window_ms,
                    struct quality_figures *f);
/* The element of rank k (0-based, k < n) of v[0..n), as v[k] would be after
 * sorting: percentiles in O(n) rather than a sort. Rearranges v. */
double quality_rank(double *v, size_t n, size_t k);
/* The same since the start (percentiles over the pairs still kept). */
void quality_total(const struct quality *q, struct quality_figures *f);

#endif
