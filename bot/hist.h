/* hist.h - a latency histogram with bounded relative error (log-linear
 * buckets, ~3% wide), constant memory whatever the number of samples, and
 * its percentiles. Pure code: no I/O, no allocation. Values are unsigned
 * microseconds. */
#ifndef BOT_HIST_H
#define BOT_HIST_H

#include <stdint.h>

#define HIST_SUB     32                       /* buckets per power of two */
#define HIST_BUCKETS (HIST_SUB * 60)          /* covers all of uint64 */

struct hist {
	uint64_t count;
	uint64_t min, max;                    /* exact; min is 0 when count is 0 */
	uint64_t sum;                         /* saturates */
	uint64_t b[HIST_BUCKETS];
};

/* Zeroes h (a zeroed struct is an empty histogram too). */
void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* The value at quantile q (0..1): the upper bound of the bucket that holds
 * the ceil(q*count)-th smallest sample, clamped to [min, max]; so q = 1 gives
 * the exact max and the error is within one bucket's width (< 1/HIST_SUB
 * relative). 0 when the histogram is empty. */
uint64_t hist_quantile(const struct hist *h, double q);
/* Mean, 0 when empty. */
double hist_mean(const struct hist *h);

/* Bucket index of v and the largest value in bucket i (exposed for tests). */
unsigned hist_bucket(uint64_t v);
uint64_t hist_bucket_max(unsigned i);

#endif
