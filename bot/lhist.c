/* lhist.c - see lhist.h. Bucket i < 2*LHIST_SUB holds the value i exactly;
 * above that, a value v with highest set bit m lands in shift = m - 5
 * (LHIST_SUB = 32 = 2^5) at index shift*32 + (v >> shift), so each power of
 * two is split in 32 equal buckets. */
#include "lhist.h"

#include <string.h>

void lhist_init(struct lhist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned lhist_bucket(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * LHIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - 5;
	return shift * LHIST_SUB + (unsigned)(v >> shift);
}

uint64_t lhist_bucket_max(unsigned i)
{
	unsigned shift;
	uint64_t sub;

	if (i < 2 * LHIST_SUB)
		return i;
	shift = i / LHIST_SUB - 1;
	sub = i - shift * LHIST_SUB; /* in [32, 64) */
	if (shift >= 58 && sub == 63)
		return UINT64_MAX;
	return ((sub + 1) << shift) - 1;
}

void lhist_add(struct lhist *h, uint64_t v)
{
	unsigned i = lhist_bucket(v);

	if (i >= LHIST_BUCKETS)
		i = LHIST_BUCKETS - 1;
	h->b[i]++;
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->sum = h->sum + v < h->sum ? UINT64_MAX : h->sum + v;
	h->count++;
}

uint64_t lhist_quantile(const struct lhist *h, double q)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (!(q > 0))
		return h->min;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < LHIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			v = lhist_bucket_max(i);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double lhist_mean(const struct lhist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}
