/* test_lib_lhist.c - unit tests of lib/lhist (the latency histogram): bucket
 * bounds are contiguous and monotonic, quantiles stay within one bucket of
 * the exact order statistic on random data, and the edge cases (empty, one
 * sample, 0, UINT64_MAX, q = 0 and 1); a merge equals adding both sets; the
 * window keeps exactly the samples of the current and the previous half
 * and forgets both after a silence; the Prometheus lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lhist.h"

static void test_buckets_contiguous(void **state)
{
	uint64_t prev = 0;

	for (unsigned i = 1; i < LHIST_BUCKETS; i++) {
		uint64_t m = lhist_bucket_max(i);

		assert_true(m > prev);
		/* the first value of bucket i is prev + 1, and both ends map to i */
		assert_int_equal(lhist_bucket(prev + 1), i);
		assert_int_equal(lhist_bucket(m), i);
		prev = m;
		if (m == UINT64_MAX)
			break;
	}
	assert_true(prev == UINT64_MAX);
	assert_int_equal(lhist_bucket(0), 0);
	assert_true(lhist_bucket(UINT64_MAX) < LHIST_BUCKETS);
}

static void test_relative_width(void **state)
{
	for (uint64_t v = 64; v < (1ull << 40); v = v * 3 / 2 + 7) {
		unsigned b = lhist_bucket(v);
		uint64_t lo = lhist_bucket_max(b - 1) + 1, hi = lhist_bucket_max(b);

		assert_true(lo <= v && v <= hi);
		assert_true((double)(hi - lo + 1) / (double)lo <= 1.0 / 32 + 1e-12);
	}
}

static void test_empty_and_single(void **state)
{
	struct lhist h;

	lhist_init(&h);
	assert_true(lhist_quantile(&h, 0.5) == 0);
	assert_true(lhist_mean(&h) == 0);
	lhist_add(&h, 12345);
	assert_true(lhist_quantile(&h, 0) == 12345);
	assert_true(lhist_quantile(&h, 0.5) == 12345);
	assert_true(lhist_quantile(&h, 0.99) == 12345);
	assert_true(lhist_quantile(&h, 1) == 12345);
	assert_true(lhist_mean(&h) == 12345);
	lhist_add(&h, UINT64_MAX);
	lhist_add(&h, 0);
	assert_true(lhist_quantile(&h, 1) == UINT64_MAX);
	assert_true(lhist_quantile(&h, 0) == 0);
	assert_true(h.sum == UINT64_MAX); /* saturated, not wrapped */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_quantiles_random(void **state)
{
	static uint64_t v[20000];
	static struct lhist h;
	const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999};
	uint64_t s = 42;

	for (int round = 0; round < 5; round++) {
		size_t n = 1 + (size_t)(round * 4999);

		lhist_init(&h);
		for (size_t i = 0; i < n; i++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			/* log-uniform-ish from 1 us to ~10 s */
			v[i] = ((s >> 33) % 10000000) >> ((s >> 20) % 16);
			lhist_add(&h, v[i]);
		}
		qsort(v, n, sizeof(v[0]), cmp_u64);
		assert_true(lhist_quantile(&h, 1) == v[n - 1]);
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			size_t rank = (size_t)(qs[k] * (double)n);
			uint64_t exact, got;

			if ((double)rank < qs[k] * (double)n)
				rank++;
			if (rank < 1)
				rank = 1;
			exact = v[rank - 1];
			got = lhist_quantile(&h, qs[k]);
			/* same bucket: got is at least exact and at most its bucket's end */
			assert_true(got >= exact);
			assert_true(got <= lhist_bucket_max(lhist_bucket(exact)));
		}
	}
}

/* merging equals adding every sample to one histogram */
static void test_merge(void **state)
{
	struct lhist a, b, all;
	uint64_t x = 88172645463325252ull;

	lhist_init(&a);
	lhist_init(&b);
	lhist_init(&all);
	lhist_merge(&a, &b); /* empty into empty */
	assert_int_equal(a.count, 0);
	for (int i = 0; i < 5000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		lhist_add(i % 3 ? &a : &b, x % 100000 + 5);
		lhist_add(&all, x % 100000 + 5);
	}
	lhist_merge(&a, &b);
	assert_memory_equal(&a, &all, sizeof(a));
	lhist_init(&b);
	lhist_merge(&b, &all); /* into empty: min taken from src */
	assert_memory_equal(&b, &all, sizeof(b));
}

static void test_window(void **state)
{
	static struct lhist_win w;
	struct lhist h;

	lhist_win_init(&w, 1000, 50000);
	lhist_win_add(&w, 50000, 7);
	lhist_win_add(&w, 50999, 9);
	lhist_win_get(&w, 50999, &h);
	assert_int_equal(h.count, 2);
	/* second half: the first is still in */
	lhist_win_add(&w, 51000, 100);
	lhist_win_get(&w, 51999, &h);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.min, 7);
	assert_int_equal(h.max, 100);
	/* third half: the first half's samples are gone */
	lhist_win_get(&w, 52000, &h);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.min, 100);
	lhist_win_add(&w, 52500, 3);
	lhist_win_get(&w, 52999, &h);
	assert_int_equal(h.count, 2);
	/* a whole window of silence: nothing left */
	lhist_win_get(&w, 55000, &h);
	assert_int_equal(h.count, 0);
	lhist_win_add(&w, 55001, 40);
	lhist_win_get(&w, 55001, &h);
	assert_int_equal(h.count, 1);
	assert_int_equal(lhist_quantile(&h, 0.5), 40);
}

static void test_prom(void **state)
{
	struct lhist h;
	struct sbuf b = {0};

	lhist_init(&h);
	lhist_prom(&b, "x_ms", "stage", "feed", &h);
	assert_false(b.oom);
	assert_string_equal(b.p, "x_ms{stage=\"feed\",quantile=\"0.5\"} 0.000\n"
	                         "x_ms{stage=\"feed\",quantile=\"0.9\"} 0.000\n"
	                         "x_ms{stage=\"feed\",quantile=\"0.99\"} 0.000\n"
	                         "x_ms{stage=\"feed\",quantile=\"1\"} 0.000\n"
	                         "x_ms_count{stage=\"feed\"} 0\nx_ms_sum{stage=\"feed\"} 0.000\n");
	b.len = 0;
	lhist_add(&h, 1500);
	lhist_add(&h, 42);
	lhist_prom(&b, "x_ms", "stage", "claim", &h);
	assert_non_null(strstr(b.p, "x_ms{stage=\"claim\",quantile=\"1\"} 1.500\n"));
	assert_non_null(strstr(b.p, "x_ms{stage=\"claim\",quantile=\"0.5\"} 0.042\n"));
	assert_non_null(
	    strstr(b.p, "x_ms_count{stage=\"claim\"} 2\nx_ms_sum{stage=\"claim\"} 1.542\n"));
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_buckets_contiguous),
	                                   cmocka_unit_test(test_relative_width),
	                                   cmocka_unit_test(test_empty_and_single),
	                                   cmocka_unit_test(test_quantiles_random),
	                                   cmocka_unit_test(test_merge),
	                                   cmocka_unit_test(test_window),
	                                   cmocka_unit_test(test_prom)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
