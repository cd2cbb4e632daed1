/* lhist.c - see lhist.h. Bucket i < 2*LHIST_SUB holds the value i exactly;
 * above that, a value v with highest set bit m lands in shift = m - 5
 * (LHIST_SUB = 32 = 2^5) at index shift*32 + (v >> shift), so each power of
 * two is split in 32 equal buckets. The window (lhist_win) and the
 * Prometheus lines follow the histogram. */
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

void lhist_merge(struct lhist *dst, const struct lhist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < LHIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX : dst->sum + src->sum;
	dst->count += src->count;
}

void lhist_win_init(struct lhist_win *w, uint32_t half_ms, uint64_t now_ms)
{
	memset(w, 0, sizeof(*w));
	w->half_ms = half_ms ? half_ms : 1;
	w->start_ms = now_ms;
}

static void win_turn(struct lhist_win *w, uint64_t now_ms)
{
	if (now_ms < w->start_ms + w->half_ms)
		return;
	if (now_ms >= w->start_ms + 2ull * w->half_ms) {
		/* a whole window without a call: both halves are too old */
		lhist_init(&w->h[0]);
		lhist_init(&w->h[1]);
		w->start_ms = now_ms;
		return;
	}
	w->cur ^= 1;
	lhist_init(&w->h[w->cur]);
	w->start_ms += w->half_ms;
}

void lhist_win_add(struct lhist_win *w, uint64_t now_ms, uint64_t v)
{
	win_turn(w, now_ms);
	lhist_add(&w->h[w->cur], v);
}

void lhist_win_get(struct lhist_win *w, uint64_t now_ms, struct lhist *out)
{
	win_turn(w, now_ms);
	*out = w->h[0];
	lhist_merge(out, &w->h[1]);
}

void lhist_prom(struct sbuf *out, const char *metric, const char *label, const char *value,
                const struct lhist *h)
{
	static const double qs[] = {0.5, 0.9, 0.99, 1};

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		sbuf_printf(out, "%s{%s=\"%s\",quantile=\"%g\"} %.3f\n", metric, label, value,
		            qs[i], lhist_quantile(h, qs[i]) / 1e3);
	sbuf_printf(out, "%s_count{%s=\"%s\"} %llu\n%s_sum{%s=\"%s\"} %.3f\n", metric, label, value,
	            (unsigned long long)h->count, metric, label, value, (double)h->sum / 1e3);
}
