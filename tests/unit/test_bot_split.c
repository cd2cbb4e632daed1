/* test_bot_split.c - unit tests of bot/bsplit (a fare's match latency by
 * stage): one fare's stages from known times (the servers' whole-ms stamps
 * taken as the middle of their ms; to_pairing + claim + delivery = the
 * match latency; a driver accepted first waits 0), fares with a time missing
 * are counted as unsplit, p50/p99 against a sorted copy and the slowest 1 %
 * against a brute force on random fares, and both summaries carry it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bsplit.h"
#include "bstats.h"
#include "testrng.h"

/* the bot's clock reads 1000 s when the wall clock reads WALL0 ms */
#define T0_US    1000000000ll
#define WALL0    1763800000000ll
#define OFFSET   (WALL0 * 1000 - T0_US)
#define WALL(us) ((uint64_t)(((int64_t)(us) + OFFSET) / 1000)) /* whole ms */

static void test_one_fare(void **state)
{
	struct bsplit s;
	struct bsplit_figures f;
	/* rider's 202 at +0, driver's at +3 ms, matched at +7.x ms (stamp +7),
	 * the match's XADD stamp +8, the fare at +9.8 ms */
	struct bsplit_fare fare = {
	    .rider_202_us = T0_US,
	    .driver_202_us = T0_US + 3000,
	    .fare_us = T0_US + 9800,
	    .matched_at_ms = WALL(T0_US + 7200),
	    .cursor_ms = WALL(T0_US + 8900),
	};

	bsplit_init(&s, OFFSET);
	assert_int_equal(bsplit_add(&s, &fare), 0);
	bsplit_figures(&s, &f);
	assert_int_equal(f.fares, 1);
	assert_int_equal(f.unsplit, 0);
	assert_int_equal(f.slowest, 1);
	assert_true(f.driver_later_share == 1.0);
	assert_true(f.p99_ms[BSPLIT_TOTAL] == 9.8);
	assert_true(f.p99_ms[BSPLIT_DRIVER_LATER] == 3.0);
	assert_true(f.p99_ms[BSPLIT_FROM_BOTH] == 6.8);
	assert_true(f.p99_ms[BSPLIT_TO_PAIRING] == 7.5); /* stamp 7 -> 7.5 */
	assert_true(f.p99_ms[BSPLIT_CLAIM] == 1.0);      /* 7.5 -> 8.5 */
	assert_true(f.p99_ms[BSPLIT_DELIVERY] == 1.3);   /* 8.5 -> 9.8 */
	for (int k = 0; k < BSPLIT_N; k++)
		assert_true(f.p50_ms[k] == f.p99_ms[k] && f.slowest_ms[k] == f.p99_ms[k]);

	/* the driver first: the rider waited for nobody */
	fare.driver_202_us = T0_US - 5000;
	bsplit_free(&s);
	assert_int_equal(bsplit_add(&s, &fare), 0);
	bsplit_figures(&s, &f);
	assert_true(f.p50_ms[BSPLIT_DRIVER_LATER] == 0);
	assert_true(f.p50_ms[BSPLIT_FROM_BOTH] == f.p50_ms[BSPLIT_TOTAL]);
	assert_true(f.driver_later_share == 0);
	bsplit_free(&s);
}

static void test_missing(void **state)
{
	struct bsplit s;
	struct bsplit_figures f;
	const struct bsplit_fare full = {T0_US, T0_US, T0_US + 5000, WALL(T0_US + 4000),
	                                 WALL(T0_US + 4000)};

	bsplit_init(&s, OFFSET);
	for (int miss = 0; miss < 5; miss++) {
		struct bsplit_fare x = full;
		uint64_t *t[5] = {&x.rider_202_us, &x.driver_202_us, &x.fare_us, &x.matched_at_ms,
		                  &x.cursor_ms};

		*t[miss] = 0;
		assert_int_equal(bsplit_add(&s, &x), -1);
	}
	bsplit_figures(&s, &f);
	assert_int_equal(f.fares, 0);
	assert_int_equal(f.unsplit, 5);
	assert_true(f.p99_ms[BSPLIT_TOTAL] == 0);
	assert_int_equal(bsplit_add(&s, &full), 0);
	bsplit_figures(&s, &f);
	assert_int_equal(f.fares, 1);
	assert_int_equal(f.unsplit, 5);
	bsplit_free(&s);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* percentiles against a sorted copy; the slowest 1 % against picking the
 * largest totals one by one; the stages add up to the total in every fare */
static void test_random(void **state)
{
	rng_state = 23;
	for (int n = 1; n < 700; n += 1 + n / 3) {
		struct bsplit s;
		struct bsplit_figures f;
		double(*v)[BSPLIT_N] = calloc((size_t)n, sizeof(*v));
		double *col = calloc((size_t)n, sizeof(double));
		char *taken = calloc((size_t)n, 1);
		size_t rank50 = ((size_t)n * 50 + 99) / 100, rank99 = ((size_t)n * 99 + 99) / 100;
		size_t slow = ((size_t)n + 99) / 100;
		double sum[BSPLIT_N] = {0};

		assert_non_null(v);
		assert_non_null(col);
		assert_non_null(taken);
		bsplit_init(&s, OFFSET);
		for (int i = 0; i < n; i++) {
			int64_t r = T0_US + (int64_t)below(1000000);
			int64_t d = r + (int64_t)below(20000) - 10000;
			int64_t p = (r > d ? r : d) + (int64_t)below(12000);
			int64_t c = p + (int64_t)below(3000);
			int64_t fare = c + (int64_t)below(4000);
			struct bsplit_fare x = {(uint64_t)r, (uint64_t)d, (uint64_t)fare, WALL(p),
			                        WALL(c)};
			double pm = (double)WALL(p) * 1000 + 500 - OFFSET,
			       cm = (double)WALL(c) * 1000 + 500 - OFFSET;

			assert_int_equal(bsplit_add(&s, &x), 0);
			v[i][BSPLIT_TOTAL] = (double)(fare - r);
			v[i][BSPLIT_DRIVER_LATER] = d > r ? (double)(d - r) : 0;
			v[i][BSPLIT_FROM_BOTH] = (double)(fare - (d > r ? d : r));
			v[i][BSPLIT_TO_PAIRING] = pm - (double)r;
			v[i][BSPLIT_CLAIM] = cm - pm;
			v[i][BSPLIT_DELIVERY] = (double)fare - cm;
			assert_true(v[i][BSPLIT_TO_PAIRING] + v[i][BSPLIT_CLAIM] +
			                v[i][BSPLIT_DELIVERY] ==
			            v[i][BSPLIT_TOTAL]);
		}
		bsplit_figures(&s, &f);
		assert_int_equal(f.fares, (uint64_t)n);
		assert_int_equal(f.slowest, slow);
		for (int k = 0; k < BSPLIT_N; k++) {
			for (int i = 0; i < n; i++)
				col[i] = v[i][k];
			qsort(col, (size_t)n, sizeof(double), cmp_dbl);
			assert_true(f.p50_ms[k] == col[rank50 - 1] / 1e3);
			assert_true(f.p99_ms[k] == col[rank99 - 1] / 1e3);
		}
		for (size_t j = 0; j < slow; j++) {
			int best = -1;

			for (int i = 0; i < n; i++)
				if (!taken[i] &&
				    (best < 0 || v[i][BSPLIT_TOTAL] > v[best][BSPLIT_TOTAL]))
					best = i;
			taken[best] = 1;
			for (int k = 0; k < BSPLIT_N; k++)
				sum[k] += v[best][k];
		}
		for (int k = 0; k < BSPLIT_N; k++)
			assert_true(f.slowest_ms[k] > sum[k] / (double)slow / 1e3 - 1e-9 &&
			            f.slowest_ms[k] < sum[k] / (double)slow / 1e3 + 1e-9);
		bsplit_free(&s);
		free(v);
		free(col);
		free(taken);
	}
}

static void test_summaries(void **state)
{
	struct bot_stats st;
	struct bstats_meta m = {.url = "http://x"};
	struct sbuf js = {0}, tx = {0};

	memset(&st, 0, sizeof(st));
	st.split.fares = 3;
	st.split.slowest = 1;
	st.split.p99_ms[BSPLIT_FROM_BOTH] = 10.25;
	st.split.slowest_ms[BSPLIT_DRIVER_LATER] = 11.5;
	bstats_json(&js, &st, &m);
	bstats_text(&tx, &st, &m);
	assert_false(js.oom || tx.oom);
	assert_non_null(strstr(js.p, ",\"latency_split\":{\"fares\":3,\"unsplit\":0,"));
	assert_non_null(strstr(js.p, "\"p99_ms\":{\"match_latency\":0.000,\"driver_later\":0.000,"
	                             "\"from_both_202\":10.250,"));
	assert_non_null(strstr(js.p, "\"slowest_1pct\":{\"fares\":1,\"mean_ms\":{\"match_latency\":"
	                             "0.000,\"driver_later\":11.500,"));
	assert_non_null(strstr(tx.p, "  split     3 fares (0 not split)"));
	assert_non_null(strstr(tx.p, "from_both_202 10.2"));
	sbuf_free(&js);
	sbuf_free(&tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_fare),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_summaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
