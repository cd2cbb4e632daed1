/* test_matcher_kdtree.c — unit tests of matcher/kdtree: nearest live point equals a
 * brute force (smallest squared distance, then lowest index) on random sets
 * with duplicates, ties and removals down to empty; the API's edge cases.
 * Deterministic seeds; a failure prints its seed and case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kdtree.h"

#include "testrng.h"

/* Point generators; kind picks the flavour. */
static void gen(double *x, double *y, size_t n, int kind)
{
	size_t pool = 1 + below(n / 2 + 1);
	for (size_t i = 0; i < n; i++) {
		switch (kind) {
		case 0:
			x[i] = unif() * 100;
			y[i] = unif() * 100;
			break; /* uniform */
		case 1:
			x[i] = (double)below(8);
			y[i] = (double)below(8);
			break; /* grid, many ties */
		case 2:        /* duplicates */
			if (i > 0 && below(3)) {
				size_t k = below(i < pool ? i : pool);
				x[i] = x[k];
				y[i] = y[k];
			} else {
				x[i] = unif();
				y[i] = unif();
			}
			break;
		case 3:
			x[i] = (unif() - 0.5) * 2e6;
			y[i] = (unif() - 0.5) * 2e6;
			break; /* huge */
		case 4:
			x[i] = unif() * 1e-9;
			y[i] = unif() * 1e-9;
			break; /* tiny */
		case 5:
			x[i] = (double)below(3);
			y[i] = unif() * 1e-3;
			break; /* lines */
		default:
			x[i] = 1.0;
			y[i] = 1.0;
			break; /* all equal */
		}
	}
}

static uint32_t brute(const double *x, const double *y, const char *live, size_t n, double qx,
                      double qy, double *d2)
{
	uint32_t best = KD_NONE;
	double bd = 0;
	for (size_t i = 0; i < n; i++) {
		if (!live[i])
			continue;
		double dx = qx - x[i], dy = qy - y[i];
		double d = dx * dx + dy * dy;
		if (best == KD_NONE || d < bd) { /* ascending i: first at the minimum wins */
			bd = d;
			best = (uint32_t)i;
		}
	}
	*d2 = bd;
	return best;
}

static void one_case(uint64_t seed, size_t n, int kind)
{
	rng_state = seed;
	double *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
	char *live = malloc(n + 1);
	assert_non_null(x);
	assert_non_null(y);
	assert_non_null(live);
	gen(x, y, n, kind);
	struct kd_tree *t = kd_new(n);
	assert_non_null(t);
	assert_int_equal(kd_bytes(t), kd_bytes_for(n));
	for (size_t i = 0; i < n; i++)
		kd_set(t, (uint32_t)i, x[i], y[i]);
	assert_int_equal(kd_build(t), 0);
	memset(live, 1, n + 1);
	size_t nlive = n;
	double sx[1], sy[1];
	while (1) {
		assert_int_equal(kd_live(t), nlive);
		int queries = 1 + (int)below(4);
		for (int q = 0; q < queries; q++) {
			double qx, qy;
			if (n && below(2)) { /* query on or near a stored point */
				size_t k = below(n);
				qx = x[k];
				qy = y[k];
			} else {
				gen(sx, sy, 1, kind);
				qx = sx[0];
				qy = sy[0];
			}
			double want_d2 = -1, got_d2 = -2;
			uint32_t want = brute(x, y, live, n, qx, qy, &want_d2);
			uint32_t got = kd_nearest(t, qx, qy, &got_d2);
			if (want != got ||
			    (want != KD_NONE && memcmp(&want_d2, &got_d2, sizeof got_d2))) {
				print_error("kd seed=%llu n=%zu kind=%d live=%zu: query (%.17g, "
				            "%.17g) want %u d2=%.17g got %u d2=%.17g\n",
				            (unsigned long long)seed, n, kind, nlive, qx, qy, want,
				            want_d2, got, got_d2);
				fail();
			}
			/* The slot API agrees with the index API. */
			double sd2 = -3;
			uint32_t slot = kd_nearest_slot(t, qx, qy, &sd2);
			assert_int_equal(slot == KD_NONE ? KD_NONE : kd_slot_index(t, slot), got);
			if (slot != KD_NONE) {
				assert_memory_equal(&sd2, &got_d2, sizeof sd2);
				assert_int_equal(kd_slot_live(t, slot), 1);
			}
		}
		if (nlive == 0)
			break;
		/* Remove one live point (often the one just found, as the matcher does). */
		size_t k = below(n);
		while (!live[k])
			k = (k + 1) % n;
		assert_int_equal(kd_is_live(t, (uint32_t)k), 1);
		if (below(2)) {
			assert_int_equal(kd_remove(t, (uint32_t)k), 0);
		} else {
			uint32_t slot = KD_NONE;
			for (uint32_t s = 0; s < n; s++)
				if (kd_slot_index(t, s) == k)
					slot = s;
			assert_int_equal(kd_remove_slot(t, slot), 0);
			assert_int_equal(kd_slot_live(t, slot), 0);
			assert_int_equal(kd_remove_slot(t, slot), -1);
		}
		assert_int_equal(kd_is_live(t, (uint32_t)k), 0);
		assert_int_equal(kd_remove(t, (uint32_t)k), -1);
		live[k] = 0;
		nlive--;
	}
	assert_int_equal(kd_nearest(t, 0, 0, NULL), KD_NONE);
	kd_free(t);
	free(x);
	free(y);
	free(live);
}

static void test_random_small(void **state)
{
	(void)state;
	for (uint64_t s = 1; s <= 600; s++)
		one_case(s * 1000003, (size_t)(s % 70), (int)(s % 7));
}

static void test_random_medium(void **state)
{
	(void)state;
	for (uint64_t s = 1; s <= 14; s++)
		one_case(s * 7777777, 200 + (size_t)(s * 37 % 500), (int)(s % 7));
}

static void test_edges(void **state)
{
	(void)state;
	struct kd_tree *t = kd_new(0);
	assert_non_null(t);
	assert_int_equal(kd_nearest(t, 0, 0, NULL), KD_NONE); /* not built */
	assert_int_equal(kd_build(t), 0);
	assert_int_equal(kd_live(t), 0);
	assert_int_equal(kd_nearest(t, 0, 0, NULL), KD_NONE);
	assert_int_equal(kd_remove(t, 0), -1);
	assert_int_equal(kd_is_live(t, 0), 0);
	kd_free(t);
	kd_free(NULL);
	assert_null(kd_new((size_t)KD_NONE));

	/* Rebuild after moving points. */
	t = kd_new(3);
	kd_set(t, 0, 0, 0);
	kd_set(t, 1, 10, 0);
	kd_set(t, 2, 10, 0); /* duplicate of 1: lower index wins */
	kd_set(t, 7, 5, 5);  /* out of range: ignored */
	assert_int_equal(kd_build(t), 0);
	double d2 = -1;
	assert_int_equal(kd_nearest(t, 9, 0, &d2), 1);
	assert_true(d2 == 1.0);
	assert_int_equal(kd_nearest(t, 5, 0, &d2), 0); /* tie 0 vs 1: index 0 */
	assert_true(d2 == 25.0);
	kd_remove(t, 1);
	assert_int_equal(kd_nearest(t, 9, 0, &d2), 2);
	kd_set(t, 0, 100, 100);
	assert_int_equal(kd_build(t), 0); /* every point live again */
	assert_int_equal(kd_live(t), 3);
	assert_int_equal(kd_nearest(t, 99, 99, &d2), 0);
	assert_int_equal(kd_nearest(t, 9, 0, &d2), 1);
	kd_free(t);
}

/* kd_nearest_slot equals the brute force's smallest (d2, index) among the
 * live points, through removals, on a tree reused by kd_renew for several
 * sizes. */
static void test_nearest_renew(void **state)
{
	(void)state;
	struct kd_tree *t = NULL;
	static const size_t sizes[] = {50, 700, 9, 300, 1, 2000, 64};
	for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
		size_t n = sizes[c];
		int kind = (int)(c % 7);
		rng_state = 4242 + c;
		double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y),
		       *bd = malloc(n * sizeof *bd);
		char *live = malloc(n);
		assert_true(x && y && bd && live);
		gen(x, y, n, kind);
		t = kd_renew(t, n, c % 2 ? n : 0);
		assert_non_null(t);
		assert_int_equal(kd_live(t), 0);
		for (size_t i = 0; i < n; i++) {
			kd_set(t, (uint32_t)i, x[i], y[i]);
			live[i] = 1;
		}
		assert_int_equal(kd_build(t), 0);
		for (size_t step = 0; step <= n; step++) {
			double qx = x[below(n)] + (below(2) ? 0.0 : unif() - 0.5), qy = y[below(n)];
			double d2 = -1, b = 0;
			uint32_t slot = kd_nearest_slot(t, qx, qy, &d2);
			size_t bi = n;
			for (size_t j = 0; j < n; j++) { /* brute: the smallest (d2, index) */
				if (!live[j])
					continue;
				double dx = qx - x[j], dy = qy - y[j], d = dx * dx + dy * dy;
				if (bi == n || d < b) {
					b = d;
					bi = j;
				}
			}
			if (bi == n) {
				assert_int_equal(slot, KD_NONE);
			} else {
				assert_int_equal(kd_slot_index(t, slot), bi);
				assert_memory_equal(&d2, &b, sizeof b);
			}
			if (step < n) { /* remove a random live point */
				size_t j = below(n);
				while (!live[j])
					j = (j + 1) % n;
				live[j] = 0;
				assert_int_equal(kd_remove(t, (uint32_t)j), 0);
			}
		}
		assert_int_equal(kd_nearest_slot(t, 0, 0, NULL), KD_NONE);
		free(x);
		free(y);
		free(bd);
		free(live);
	}
	kd_free(t);
}

static void test_sort_kv(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		rng_state = seed;
		size_t n = seed < 20 ? (size_t)seed * 3 : 1000 + below(5000);
		struct kd_kv *a = malloc(2 * n * sizeof *a);
		assert_non_null(a);
		for (size_t i = 0; i < n; i++) {
			uint64_t k = rng();
			if (seed % 3 == 0)
				k &= 0xff; /* many equal keys */
			if (seed % 3 == 1)
				k &= 0xffff0000ffULL;
			a[i] = (struct kd_kv){k, (uint32_t)i, 0};
		}
		kd_sort_kv(a, a + n, n);
		for (size_t i = 1; i < n; i++) {
			assert_true(a[i - 1].key <= a[i].key);
			if (a[i - 1].key == a[i].key)
				assert_true(a[i - 1].val < a[i].val); /* stable */
		}
		free(a);
	}
}

static void test_curve_key(void **state)
{
	(void)state;
	struct kd_tree *t = kd_new(2);
	kd_set(t, 0, -10, 0);
	kd_set(t, 1, 10, 100);
	assert_int_equal(kd_build(t), 0);
	assert_true(kd_curve_key(t, -10, 0) == 0);
	assert_true(kd_curve_key(t, 10, 100) == UINT64_MAX);
	assert_true(kd_curve_key(t, -1e300, -5) == 0); /* clamped */
	assert_true(kd_curve_key(t, 1e300, 1e9) == UINT64_MAX);
	assert_true(kd_curve_key(t, 0, 50) > kd_curve_key(t, -5, 20));
	kd_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),         cmocka_unit_test(test_sort_kv),
	    cmocka_unit_test(test_nearest_renew), cmocka_unit_test(test_curve_key),
	    cmocka_unit_test(test_random_small),  cmocka_unit_test(test_random_medium),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
