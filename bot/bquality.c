/* bquality.c - see bquality.h. */
#include "bquality.h"

#include <stdlib.h>
#include <string.h>

void bquality_init(struct bquality *q)
{
	memset(q, 0, sizeof(*q));
}

void bquality_free(struct bquality *q)
{
	free(q->dist);
	bquality_init(q);
}

int bquality_pair(struct bquality *q, double distance)
{
	if (!(distance >= 0))
		return 0;
	q->sum += distance;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
		double *d = realloc(q->dist, cap * sizeof(*d));

		if (!d) {
			q->dropped++;
			return -1;
		}
		q->dist = d;
		q->cap = cap;
	}
	q->dist[q->n++] = distance;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void side(struct bquality_side *s, uint64_t matched, uint64_t expired,
                 const struct lhist *wait)
{
	s->matched = matched;
	s->expired = expired;
	s->share = matched + expired ? (double)matched / (double)(matched + expired) : -1;
	s->waits = wait->count;
	s->wait_p50_ms = lhist_quantile(wait, 0.5) / 1e3;
	s->wait_p99_ms = lhist_quantile(wait, 0.99) / 1e3;
}

void bquality_figures(struct bquality *q, const struct ledger *l, struct bquality_figures *f)
{
	const struct ledger_counts *c = &l->c;

	memset(f, 0, sizeof(*f));
	f->pairs = q->n + q->dropped;
	if (f->pairs)
		f->pickup_mean = q->sum / (double)f->pairs;
	if (q->n) {
		size_t rank = (q->n * 95 + 99) / 100; /* nearest rank: ceil(0.95 n) */

		qsort(q->dist, q->n, sizeof(*q->dist), cmp_double);
		f->pickup_p95 = q->dist[(rank ? rank : 1) - 1];
	}
	side(&f->side[0], c->riders_fared, c->riders_lost + c->riders_expired, &l->wait[0]);
	side(&f->side[1], c->drivers_matched, c->drivers_no_fare, &l->wait[1]);
}
