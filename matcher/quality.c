/* quality.c - see quality.h. */
#include "quality.h"

#include "kdselect.h"

#include <stdlib.h>
#include <string.h>

void quality_init(struct quality *q)
{
	memset(q, 0, sizeof(*q));
}

static struct quality_bucket *bucket(struct quality *q, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000 + 1; /* + 1: 0 marks an unused bucket */
	struct quality_bucket *b = &q->b[sec % QUALITY_SECS];

	if (b->sec != sec)
		*b = (struct quality_bucket){.sec = sec};
	return b;
}

void quality_match(struct quality *q, uint64_t now_ms, double distance, uint32_t r_wait_ms,
                   uint32_t d_wait_ms)
{
	q->pair[q->next].at_ms = now_ms;
	q->pair[q->next].distance = distance;
	q->pair[q->next].r_wait_ms = r_wait_ms;
	q->pair[q->next].d_wait_ms = d_wait_ms;
	q->next = (q->next + 1) % QUALITY_CAP;
	if (q->n < QUALITY_CAP)
		q->n++;
	q->matched++;
	q->distance_sum += distance;
	bucket(q, now_ms)->matched++;
}

void quality_expired(struct quality *q, uint64_t now_ms, int is_rider, uint64_t count)
{
	struct quality_bucket *b;

	if (!count)
		return;
	b = bucket(q, now_ms);
	if (is_rider) {
		q->r_expired += count;
		b->r_expired += count;
	} else {
		q->d_expired += count;
		b->d_expired += count;
	}
}

double quality_rank(double *v, size_t n, size_t k)
{
	kdsel_select(v, sizeof(v[0]), 0, n - 1, k, 0);
	return v[k];
}

/* Nearest-rank percentile of v[0..n): the smallest value with at least p%
 * of the values at or below it (rearranges v). */
static double pct(double *v, size_t n, unsigned p)
{
	size_t k = (n * p + 99) / 100;

	return n ? quality_rank(v, n, k ? k - 1 : 0) : 0;
}

static double share(uint64_t matched, uint64_t expired)
{
	return matched + expired ? (double)matched / (double)(matched + expired) : -1;
}

/* Pickup and wait figures over the kept pairs at or after from_ms. */
static void pairs(const struct quality *q, uint64_t from_ms, struct quality_figures *f)
{
	static double v[QUALITY_CAP];
	size_t n = 0;
	double sum = 0;

	for (size_t i = 0; i < q->n; i++)
		if (q->pair[i].at_ms >= from_ms) {
			v[n++] = q->pair[i].distance;
			sum += q->pair[i].distance;
		}
	f->pairs = n;
	if (!n)
		return;
	f->pickup_mean = sum / (double)n;
	f->pickup_p95 = pct(v, n, 95);
	n = 0;
	for (size_t i = 0; i < q->n; i++)
		if (q->pair[i].at_ms >= from_ms)
			v[n++] = q->pair[i].r_wait_ms;
	f->r_wait_p99 = pct(v, n, 99);
	f->r_wait_p50 = pct(v, n, 50);
	n = 0;
	for (size_t i = 0; i < q->n; i++)
		if (q->pair[i].at_ms >= from_ms)
			v[n++] = q->pair[i].d_wait_ms;
	f->d_wait_p99 = pct(v, n, 99);
	f->d_wait_p50 = pct(v, n, 50);
}

void quality_window(const struct quality *q, uint64_t now_ms, uint64_t window_ms,
                    struct quality_figures *f)
{
	uint64_t from_ms = now_ms >= window_ms ? now_ms - window_ms + 1 : 0;
	uint64_t from_sec = from_ms / 1000 + 1, to_sec = now_ms / 1000 + 1;

	memset(f, 0, sizeof(*f));
	pairs(q, from_ms, f);
	/* counts by whole seconds: the buckets that start inside the window
	 * (and the current one) */
	for (size_t i = 0; i < QUALITY_SECS; i++) {
		const struct quality_bucket *b = &q->b[i];

		if (b->sec && b->sec >= from_sec && b->sec <= to_sec) {
			f->matched += b->matched;
			f->r_expired += b->r_expired;
			f->d_expired += b->d_expired;
		}
	}
	f->r_share = share(f->matched, f->r_expired);
	f->d_share = share(f->matched, f->d_expired);
}

void quality_total(const struct quality *q, struct quality_figures *f)
{
	memset(f, 0, sizeof(*f));
	pairs(q, 0, f);
	f->pairs = (size_t)q->matched;
	f->pickup_mean = q->matched ? q->distance_sum / (double)q->matched : 0;
	f->matched = q->matched;
	f->r_expired = q->r_expired;
	f->d_expired = q->d_expired;
	f->r_share = share(q->matched, q->r_expired);
	f->d_share = share(q->matched, q->d_expired);
}
