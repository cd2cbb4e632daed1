/* test_kdtree.c — unit tests of matcher/kdtree: nearest live point equals a
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

static uint64_t rng_state;
static uint64_t rng(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double unif(void) { return (double)(rng() >> 11) * (1.0 / 9007199254740992.0); }
static size_t below(size_t n) { return n ? (size_t)(rng() % n) : 0; }

/* Point generators; kind picks the flavour. */
static void gen(double *x, double *y, size_t n, int kind)
{
    size_t pool = 1 + below(n / 2 + 1);
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = unif() * 100; y[i] = unif() * 100; break;          /* uniform */
        case 1: x[i] = (double)below(8); y[i] = (double)below(8); break;  /* grid, many ties */
        case 2:                                                            /* duplicates */
            if (i > 0 && below(3)) {
                size_t k = below(i < pool ? i : pool);
                x[i] = x[k]; y[i] = y[k];
            } else {
                x[i] = unif(); y[i] = unif();
            }
            break;
        case 3: x[i] = (unif() - 0.5) * 2e6; y[i] = (unif() - 0.5) * 2e6; break; /* huge */
        case 4: x[i] = unif() * 1e-9; y[i] = unif() * 1e-9; break;               /* tiny */
        case 5: x[i] = (double)below(3); y[i] = unif() * 1e-3; break;            /* lines */
        default: x[i] = 1.0; y[i] = 1.0; break;                                  /* all equal */
        }
    }
}

static uint32_t brute(const double *x, const double *y, const char *live, size_t n, double qx, double qy,
                      double *d2)
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
    assert_int_equal(kd_leaves(t), kd_leaves_for(n));
    for (size_t i = 0; i < n; i++)
        kd_set(t, (uint32_t)i, x[i], y[i]);
    kd_build(t);
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
                qx = x[k]; qy = y[k];
            } else {
                gen(sx, sy, 1, kind);
                qx = sx[0]; qy = sy[0];
            }
            double want_d2 = -1, got_d2 = -2;
            uint32_t want = brute(x, y, live, n, qx, qy, &want_d2);
            uint32_t got = kd_nearest(t, qx, qy, &got_d2);
            if (want != got || (want != KD_NONE && memcmp(&want_d2, &got_d2, sizeof got_d2))) {
                print_error("kd seed=%llu n=%zu kind=%d live=%zu: query (%.17g, %.17g) want %u d2=%.17g got %u d2=%.17g\n",
                            (unsigned long long)seed, n, kind, nlive, qx, qy, want, want_d2, got, got_d2);
                fail();
            }
            if (n)
                assert_true(kd_locate(t, qx, qy) < kd_leaves(t));
        }
        if (nlive == 0)
            break;
        /* Remove one live point (often the one just found, as the matcher does). */
        size_t k = below(n);
        while (!live[k])
            k = (k + 1) % n;
        assert_int_equal(kd_is_live(t, (uint32_t)k), 1);
        assert_int_equal(kd_remove(t, (uint32_t)k), 0);
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
    kd_build(t);
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
    kd_build(t);
    double d2 = -1;
    assert_int_equal(kd_nearest(t, 9, 0, &d2), 1);
    assert_true(d2 == 1.0);
    assert_int_equal(kd_nearest(t, 5, 0, &d2), 0); /* tie 0 vs 1: index 0 */
    assert_true(d2 == 25.0);
    kd_remove(t, 1);
    assert_int_equal(kd_nearest(t, 9, 0, &d2), 2);
    kd_set(t, 0, 100, 100);
    kd_build(t); /* every point live again */
    assert_int_equal(kd_live(t), 3);
    assert_int_equal(kd_nearest(t, 99, 99, &d2), 0);
    assert_int_equal(kd_nearest(t, 9, 0, &d2), 1);
    kd_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random_small),
        cmocka_unit_test(test_random_medium),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
