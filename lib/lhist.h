/* lhist.h - a latency histogram with bounded relative error (log-linear
 * buckets, ~3% wide), constant memory whatever the number of samples, and
 * its percentiles; a window of the recent ones (lhist_win: the bot keeps
 * whole runs, the services their last seconds for /metrics); the Prometheus
 * lines of one. Pure code: no I/O, no clock (the caller passes the time),
 * no allocation. Values are unsigned microseconds. */
#ifndef RS_LIB_LHIST_H
#define RS_LIB_LHIST_H

#include <stdint.h>

#include "sbuf.h"

#define LHIST_SUB     32               /* buckets per power of two */
#define LHIST_BUCKETS (LHIST_SUB * 60) /* covers all of uint64 */

struct lhist {
	uint64_t count;
	uint64_t min, max; /* exact; min is 0 when count is 0 */
	uint64_t sum;      /* saturates */
	uint64_t b[LHIST_BUCKETS];
};

/* Zeroes h (a zeroed struct is an empty histogram too). */
void lhist_init(struct lhist *h);
void lhist_add(struct lhist *h, uint64_t v);
/* The value at quantile q (0..1): the upper bound of the bucket that holds
 * the ceil(q*count)-th smallest sample, clamped to [min, max]; so q = 1 gives
 * the exact max and the error is within one bucket's width (< 1/LHIST_SUB
 * relative). 0 when the histogram is empty. */
uint64_t lhist_quantile(const struct lhist *h, double q);
/* Mean, 0 when empty. */
double lhist_mean(const struct lhist *h);

/* Adds every sample of src to dst. */
void lhist_merge(struct lhist *dst, const struct lhist *src);

/* The samples of the last half_ms to 2 * half_ms: two halves, the older
 * one emptied and reused each time a half has run for half_ms. now_ms
 * must not decrease between calls. */
struct lhist_win {
	struct lhist h[2];
	uint64_t start_ms; /* when h[cur] began */
	uint32_t half_ms;
	int cur;
};

void lhist_win_init(struct lhist_win *w, uint32_t half_ms, uint64_t now_ms);
void lhist_win_add(struct lhist_win *w, uint64_t now_ms, uint64_t v);
/* The window's samples as of now_ms, into *out (overwritten). */
void lhist_win_get(struct lhist_win *w, uint64_t now_ms, struct lhist *out);

/* Appends the Prometheus summary lines of h in ms, labelled
 * {<label>="<value>"}: quantiles 0.5, 0.9, 0.99 and 1 (the max), _count
 * and _sum. The caller writes the "# TYPE <metric> summary" line once. */
void lhist_prom(struct sbuf *out, const char *metric, const char *label, const char *value,
                const struct lhist *h);

/* Bucket index of v and the largest value in bucket i (exposed for tests). */
unsigned lhist_bucket(uint64_t v);
uint64_t lhist_bucket_max(unsigned i);

#endif
