/* bsplit.c - see bsplit.h. */
#include "bsplit.h"

#include <stdlib.h>
#include <string.h>

const char *const bsplit_names[BSPLIT_N] = {"match_latency", "driver_later", "from_both_202",
                                            "to_pairing",    "claim",        "delivery"};

void bsplit_init(struct bsplit *s, int64_t wall_minus_mono_us)
{
	memset(s, 0, sizeof(*s));
	s->wall_minus_mono_us = wall_minus_mono_us;
}

void bsplit_free(struct bsplit *s)
{
	free(s->v);
	bsplit_init(s, s->wall_minus_mono_us);
}

static int32_t us32(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

int bsplit_add(struct bsplit *s, const struct bsplit_fare *f)
{
	int32_t *r;
	int64_t later, wall_202, matched, cursor, wall_fare;

	if (!f->rider_202_us || !f->driver_202_us || !f->fare_us || !f->matched_at_ms ||
	    !f->cursor_ms) {
		s->unsplit++;
		return -1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		int32_t(*v)[BSPLIT_N] = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->unsplit++;
			return -1;
		}
		s->v = v;
		s->cap = cap;
	}
	r = s->v[s->n++];
	later = (int64_t)(f->driver_202_us > f->rider_202_us ? f->driver_202_us : f->rider_202_us);
	wall_202 = (int64_t)f->rider_202_us + s->wall_minus_mono_us;
	wall_fare = (int64_t)f->fare_us + s->wall_minus_mono_us;
	/* a whole-ms stamp stands for the middle of its ms */
	matched = (int64_t)f->matched_at_ms * 1000 + 500;
	cursor = (int64_t)f->cursor_ms * 1000 + 500;
	r[BSPLIT_TOTAL] = us32((int64_t)f->fare_us - (int64_t)f->rider_202_us);
	r[BSPLIT_DRIVER_LATER] = us32(later - (int64_t)f->rider_202_us);
	r[BSPLIT_FROM_BOTH] = us32((int64_t)f->fare_us - later);
	r[BSPLIT_TO_PAIRING] = us32(matched - wall_202);
	r[BSPLIT_CLAIM] = us32(cursor - matched);
	r[BSPLIT_DELIVERY] = us32(wall_fare - cursor);
	return 0;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank: the ceil(q n)-th smallest */
static double rank_ms(const int32_t *sorted, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return sorted[(rank ? rank : 1) - 1] / 1e3;
}

/* fare indices by match latency, slowest first, ties in arrival order */
static int cmp_slower(const void *a, const void *b, void *rows)
{
	const int32_t(*v)[BSPLIT_N] = rows;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int32_t x = v[i][BSPLIT_TOTAL], y = v[j][BSPLIT_TOTAL];

	return x != y ? (x > y ? -1 : 1) : (i > j) - (i < j);
}

void bsplit_figures(const struct bsplit *s, struct bsplit_figures *out)
{
	int32_t *col;
	size_t *idx;
	uint64_t later = 0;

	memset(out, 0, sizeof(*out));
	out->fares = s->n;
	out->unsplit = s->unsplit;
	if (!s->n)
		return;
	col = malloc(s->n * sizeof(*col));
	idx = malloc(s->n * sizeof(*idx));
	if (!col || !idx) {
		free(col);
		free(idx);
		out->unsplit += s->n;
		out->fares = 0;
		return;
	}
	for (int k = 0; k < BSPLIT_N; k++) {
		for (size_t i = 0; i < s->n; i++)
			col[i] = s->v[i][k];
		qsort(col, s->n, sizeof(*col), cmp_i32);
		out->p50_ms[k] = rank_ms(col, s->n, 50);
		out->p99_ms[k] = rank_ms(col, s->n, 99);
	}
	for (size_t i = 0; i < s->n; i++) {
		idx[i] = i;
		later += s->v[i][BSPLIT_DRIVER_LATER] > 0;
	}
	out->driver_later_share = (double)later / (double)s->n;
	qsort_r(idx, s->n, sizeof(*idx), cmp_slower, s->v);
	out->slowest = (s->n + 99) / 100;
	for (int k = 0; k < BSPLIT_N; k++) {
		double sum = 0;

		for (size_t i = 0; i < out->slowest; i++)
			sum += s->v[idx[i]][k];
		out->slowest_ms[k] = sum / (double)out->slowest / 1e3;
	}
	free(col);
	free(idx);
}
