/* lhist.h - a latency histogram with bounded relative error (log-linear
 * buckets, ~3% wide), constant memory whatever the number of samples, and
 * its percentiles. Pure code: no I/O, no allocation. Values are unsigned
 * microseconds. */
#ifndef RS_BOT_LHIST_H
#define RS_BOT_LHIST_H

#include <stdint.h>

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

/* Bucket index of v and the largest value in bucket i (exposed for tests). */
unsigned lhist_bucket(uint64_t v);
uint64_t lhist_bucket_max(unsigned i);

#endif
