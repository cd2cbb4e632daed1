/* test_matcher_quality.c - the quality figures (quality.c) and their place
 * in the `stats` JSON (stats.c): pickup distance mean and p95, each side's
 * matched share, each side's wait from acceptance to match, over a window
 * and since the start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quality.h"
#include "sbuf.h"
#include "stats.h"

static struct quality q;

static void test_empty(void **state)
{
	struct quality_figures f;

	quality_init(&q);
	quality_window(&q, 123456, 10000, &f);
	assert_int_equal(f.pairs, 0);
	assert_true(f.pickup_mean == 0 && f.pickup_p95 == 0);
	assert_true(f.r_share == -1 && f.d_share == -1);
	quality_total(&q, &f);
	assert_true(f.r_share == -1 && f.d_share == -1);
}

static void test_pickup_mean_p95(void **state)
{
	struct quality_figures f;

	quality_init(&q);
	/* distances 1..100 at t=50000: mean 50.5, nearest-rank p95 = 95 */
	for (int i = 100; i >= 1; i--)
		quality_match(&q, 50000, (double)i, (uint32_t)i * 10, (uint32_t)i * 20);
	quality_window(&q, 50000, 10000, &f);
	assert_int_equal(f.pairs, 100);
	assert_true(fabs(f.pickup_mean - 50.5) < 1e-12);
	assert_true(f.pickup_p95 == 95);
	assert_true(f.r_wait_p50 == 500 && f.r_wait_p99 == 990);
	assert_true(f.d_wait_p50 == 1000 && f.d_wait_p99 == 1980);
	assert_int_equal(f.matched, 100);
	assert_true(f.r_share == 1 && f.d_share == 1);
}

static void test_window_drops_old(void **state)
{
	struct quality_figures f;

	quality_init(&q);
	quality_match(&q, 1000, 1000.0, 1, 1); /* old: out of the window */
	quality_expired(&q, 1000, 1, 50);
	quality_match(&q, 30000, 2.0, 100, 300);
	quality_match(&q, 31000, 4.0, 200, 400);
	quality_expired(&q, 31000, 1, 2); /* riders: 2 matched, 2 expired */
	quality_expired(&q, 31000, 0, 6); /* drivers: 2 matched, 6 expired */
	quality_window(&q, 32000, 10000, &f);
	assert_int_equal(f.pairs, 2);
	assert_true(f.pickup_mean == 3.0);
	assert_true(f.pickup_p95 == 4.0);
	assert_int_equal(f.matched, 2);
	assert_int_equal(f.r_expired, 2);
	assert_int_equal(f.d_expired, 6);
	assert_true(f.r_share == 0.5);
	assert_true(f.d_share == 0.25);
	/* since the start: everything */
	quality_total(&q, &f);
	assert_int_equal(f.pairs, 3);
	assert_true(fabs(f.pickup_mean - 1006.0 / 3) < 1e-9);
	assert_int_equal(f.r_expired, 52);
	assert_int_equal(f.d_expired, 6);
	assert_true(fabs(f.r_share - 3.0 / 55) < 1e-12);
	assert_true(fabs(f.d_share - 3.0 / 9) < 1e-12);
	/* much later: the window is empty again, the buckets reused */
	quality_expired(&q, 31000 + 64000, 0, 1);
	quality_window(&q, 31000 + 64000, 10000, &f);
	assert_int_equal(f.pairs, 0);
	assert_int_equal(f.matched, 0);
	assert_int_equal(f.d_expired, 1);
	assert_true(f.d_share == 0 && f.r_share == -1);
}

/* Against a plain recomputation over random events, the window counts by
 * whole seconds, the pairs by ms. */
static void test_random_against_recount(void **state)
{
	enum { N = 5000 };
	static struct {
		uint64_t at;
		int kind;
		double d;
		uint32_t w;
	} ev[N];
	static double v[N];
	uint64_t t = 100000;

	srand(7);
	quality_init(&q);
	for (int i = 0; i < N; i++) {
		t += (uint64_t)(rand() % 40);
		ev[i].at = t;
		ev[i].kind = rand() % 3;
		ev[i].d = (double)(rand() % 100000) / 7.0;
		ev[i].w = (uint32_t)(rand() % 5000);
		if (ev[i].kind == 0)
			quality_match(&q, t, ev[i].d, ev[i].w, ev[i].w / 2);
		else
			quality_expired(&q, t, ev[i].kind == 1, 1);
	}
	for (uint64_t win = 1000; win <= 20000; win += 3000) {
		struct quality_figures f;
		size_t n = 0;
		double sum = 0;
		uint64_t m = 0, re = 0, de = 0, from = t - win + 1;

		quality_window(&q, t, win, &f);
		for (int i = 0; i < N; i++) {
			if (ev[i].at >= from && ev[i].kind == 0) {
				v[n++] = ev[i].d;
				sum += ev[i].d;
			}
			if (ev[i].at / 1000 >= from / 1000) {
				m += ev[i].kind == 0;
				re += ev[i].kind == 1;
				de += ev[i].kind == 2;
			}
		}
		assert_int_equal(f.pairs, n);
		assert_true(fabs(f.pickup_mean - sum / (double)n) <= 1e-9 * f.pickup_mean);
		/* p95: at least 95% at or below, fewer than 95% strictly below */
		{
			size_t le = 0, lt = 0;

			for (size_t i = 0; i < n; i++) {
				le += v[i] <= f.pickup_p95;
				lt += v[i] < f.pickup_p95;
			}
			assert_true(le * 100 >= n * 95);
			assert_true(lt * 100 < n * 95);
		}
		assert_int_equal(f.matched, m);
		assert_int_equal(f.r_expired, re);
		assert_int_equal(f.d_expired, de);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* quality_rank gives what a sort would put at each rank: sizes 1..300,
 * with many equal values or none, at every rank. */
static void test_rank_equals_sort(void **state)
{
	static double v[300], sorted[300];

	srand(11);
	for (size_t n = 1; n <= 300; n += 1 + n / 7) {
		for (size_t i = 0; i < n; i++)
			sorted[i] = (double)(rand() % (n % 3 ? 1000 : 4));
		qsort(sorted, n, sizeof(sorted[0]), cmp_double);
		for (size_t k = 0; k < n; k++) {
			memcpy(v, sorted, n * sizeof(v[0]));
			for (size_t i = n; i > 1; i--) { /* shuffle */
				size_t j = (size_t)rand() % i;
				double t = v[i - 1];

				v[i - 1] = v[j];
				v[j] = t;
			}
			assert_true(quality_rank(v, n, k) == sorted[k]);
		}
	}
}

static struct stats st;

static void test_stats_json_has_quality(void **state)
{
	struct pool r = {0}, d = {0};
	struct sbuf b = {0};
	json_error_t err;
	json_t *j, *qj;

	quality_init(&st.q);
	quality_match(&st.q, 20000, 3.0, 100, 200);
	quality_match(&st.q, 20500, 5.0, 300, 400);
	quality_expired(&st.q, 20500, 1, 2);
	stats_json(&st, &b, 21000, 1000, &r, &d, 10);
	assert_false(b.oom);
	j = json_loadb(b.p, b.len, 0, &err);
	if (!j)
		fprintf(stderr, "%s: %.*s\n", err.text, (int)b.len, b.p);
	assert_non_null(j);
	/* the existing fields stay */
	assert_non_null(json_object_get(j, "latency_ms"));
	assert_non_null(json_object_get(j, "totals"));
	assert_non_null(json_object_get(j, "riders"));
	qj = json_object_get(j, "quality");
	assert_non_null(qj);
	assert_int_equal(json_integer_value(json_object_get(qj, "pairs")), 2);
	assert_true(json_number_value(json_object_get(json_object_get(qj, "pickup"), "mean")) ==
	            4.0);
	assert_true(json_number_value(json_object_get(json_object_get(qj, "pickup"), "p95")) ==
	            5.0);
	assert_true(json_number_value(
			json_object_get(json_object_get(qj, "riders"), "matched_share")) == 0.5);
	assert_true(json_number_value(
			json_object_get(json_object_get(qj, "drivers"), "matched_share")) == 1.0);
	assert_true(json_number_value(json_object_get(
			json_object_get(json_object_get(qj, "drivers"), "wait_ms"), "p99")) == 400);
	assert_non_null(json_object_get(j, "quality_total"));
	json_decref(j);
	sbuf_free(&b);
	/* no expiry, no match on a side: its share is null */
	quality_init(&st.q);
	stats_json(&st, &b, 99000, 1000, &r, &d, 10);
	j = json_loadb(b.p, b.len, 0, &err);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(
	    json_object_get(json_object_get(j, "quality"), "riders"), "matched_share")));
	json_decref(j);
	sbuf_free(&b);
	pool_free(&r);
	pool_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_pickup_mean_p95),
	    cmocka_unit_test(test_window_drops_old),
	    cmocka_unit_test(test_random_against_recount),
	    cmocka_unit_test(test_rank_equals_sort),
	    cmocka_unit_test(test_stats_json_has_quality),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
