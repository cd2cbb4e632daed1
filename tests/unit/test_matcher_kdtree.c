/* test_matcher_kdtree.c — unit tests of matcher/kdtree: nearest live point equals a
 * brute force (smallest squared distance, then lowest index) on random sets
 * with duplicates, ties and removals down to empty; after every removal each
 * node's box is exactly the rounded box of its live points (recomputed from
 * scratch: removals skip the recomputation when it cannot change); the API's
 * edge cases.
 * Deterministic seeds; a failure prints its seed and case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>

#include "kdtree.h"
#include "kdtree_int.h"

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

/* Every node's box equals the rounded box of its live points, recomputed
 * from the leaves up (white box: kdtree_int.h). */
static void check_boxes(const struct kd_tree *t)
{
	uint32_t L = t->nleaves;
	struct kd_fbox *want = malloc(2 * L * sizeof *want);
	assert_non_null(want);
	for (uint32_t j = 0; j < L; j++) {
		struct kd_fbox b = {INFINITY, INFINITY, -INFINITY, -INFINITY};
		for (unsigned k = 0; j < t->nused && k < KD_LEAF; k++) {
			if (t->dead[j] >> k & 1)
				continue;
			const double *px = t->lxy + (size_t)j * 2 * KD_LEAF;
			b.x0 = fminf(b.x0, kd_f_down(px[k]));
			b.x1 = fmaxf(b.x1, kd_f_up(px[k]));
			b.y0 = fminf(b.y0, kd_f_down(px[KD_LEAF + k]));
			b.y1 = fmaxf(b.y1, kd_f_up(px[KD_LEAF + k]));
		}
		want[L + j] = b;
	}
	for (uint32_t node = L; node-- > 1;) {
		const struct kd_fbox *l = &want[2 * node], *r = &want[2 * node + 1];
		want[node] = (struct kd_fbox){fminf(l->x0, r->x0), fminf(l->y0, r->y0),
		                              fmaxf(l->x1, r->x1), fmaxf(l->y1, r->y1)};
	}
	for (uint32_t node = 1; node < 2 * L; node++) {
		const struct kd_fbox *w = &want[node], *g = &t->box[node];
		int empty = w->x0 > w->x1;
		if (empty
		        ? !(g->x0 > g->x1)
		        : (w->x0 != g->x0 || w->y0 != g->y0 || w->x1 != g->x1 || w->y1 != g->y1)) {
			print_error("box of node %u: want [%g %g %g %g] got [%g %g %g %g]\n", node,
			            (double)w->x0, (double)w->y0, (double)w->x1, (double)w->y1,
			            (double)g->x0, (double)g->y0, (double)g->x1, (double)g->y1);
			fail();
		}
	}
	free(want);
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
		if (n <= 400)
			check_boxes(t);
		kd_prefetch_slot(t, (uint32_t)below(n)); /* a hint: no effect to see */
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

/* A tree built in parts (kd_build_start / kd_build_part in any order /
 * kd_build_finish) equals kd_build's, byte for byte (white box), for every
 * number of parts asked; parts are a power of two within bounds and leave
 * the nodes above them alone. */
static void test_build_parts(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 2, 7, 8, 9, 17, 64, 100, 1000, 4099};
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		for (int kind = 0; kind < 7; kind++) {
			size_t n = sizes[si];
			rng_state = 1000 + si * 7 + (uint64_t)kind;
			double *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
			assert_non_null(x);
			assert_non_null(y);
			gen(x, y, n, kind);
			struct kd_tree *a = kd_new(n), *b = kd_new(n);
			assert_non_null(a);
			assert_non_null(b);
			for (size_t i = 0; i < n; i++)
				kd_set(a, (uint32_t)i, x[i], y[i]);
			assert_int_equal(kd_build(a), 0);
			for (unsigned want = 0; want <= 9; want++) {
				assert_ptr_equal(kd_renew(b, n, 0), b);
				for (size_t i = 0; i < n; i++)
					kd_set(b, (uint32_t)i, x[i], y[i]);
				unsigned parts = kd_build_start(b, want);
				assert_true(parts >= 1 && parts <= KD_PARTS_MAX);
				assert_true((parts & (parts - 1)) == 0);
				assert_true(parts <= (want > 1 ? want : 1));
				assert_true(parts <= b->nleaves);
				assert_int_equal(kd_live(b), 0); /* not built yet */
				/* the nodes above the parts are kd_build_finish's: a part
				 * that wrote them would race with the others on threads */
				const struct kd_fbox mark = {1.0f, 2.0f, 3.0f, 4.0f};
				for (unsigned node = 1; node < parts; node++)
					b->box[node] = mark;
				for (unsigned i = parts; i-- > 0;) /* right to left */
					kd_build_part(b, i);
				for (unsigned node = 1; node < parts; node++)
					assert_memory_equal(&b->box[node], &mark, sizeof mark);
				kd_build_finish(b);
				assert_int_equal(kd_live(b), n);
				assert_memory_equal(a->rec, b->rec, n * sizeof *a->rec);
				assert_memory_equal(a->pos, b->pos, n * sizeof *a->pos);
				assert_memory_equal(a->lxy, b->lxy,
				                    a->nused * 2 * KD_LEAF * sizeof *a->lxy);
				assert_memory_equal(a->dead, b->dead, a->nused);
				assert_memory_equal(a->box + 1, b->box + 1,
				                    (2 * a->nleaves - 1) * sizeof *a->box);
				assert_true(a->fx0 == b->fx0 && a->fsx == b->fsx);
				assert_true(a->fy0 == b->fy0 && a->fsy == b->fsy);
			}
			kd_free(a);
			kd_free(b);
			free(x);
			free(y);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),         cmocka_unit_test(test_sort_kv),
	    cmocka_unit_test(test_nearest_renew), cmocka_unit_test(test_curve_key),
	    cmocka_unit_test(test_random_small),  cmocka_unit_test(test_random_medium),
	    cmocka_unit_test(test_build_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
