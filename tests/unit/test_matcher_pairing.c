/* test_matcher_pairing.c — unit tests of matcher/pairing: pairing_match equals brute-force
 * oracles pair for pair (same order, bit-identical distances) on random
 * instances of 0..2000 riders and drivers: uneven sides, one side empty,
 * duplicates, integer grids with many equal distances, huge (1e6) and tiny
 * (1e-9) coordinates (from 128 a side through the grid pre-pass, below it
 * the queue alone). The pre-pass from the smallest sizes up on every kind of
 * input, and above the threads' threshold against the queue alone. Also
 * the tie rule by hand, and the fare.
 * Deterministic seeds; a failure prints its seed and case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "pairing.h"

#include "testoracle.h"
#include "testrng.h"

enum { K_UNIFORM, K_GRID8, K_GRID40, K_DUP, K_HUGE, K_TINY, K_CLUSTER, K_SAME, K_KINDS };

/* Fills p[0..n); pool (the other side, may be NULL) lets duplicates cross sides. */
static void gen(struct pairing_point *p, size_t n, int kind, const struct pairing_point *pool,
                size_t npool)
{
	for (size_t i = 0; i < n; i++) {
		double x, y;
		switch (kind) {
		case K_UNIFORM:
			x = unif() * 1000;
			y = unif() * 1000;
			break;
		case K_GRID8:
			x = (double)below(8);
			y = (double)below(8);
			break;
		case K_GRID40:
			x = (double)below(40) - 20;
			y = (double)below(40);
			break;
		case K_DUP:
			if (below(3) == 0 && npool) {
				size_t k = below(npool);
				x = pool[k].x;
				y = pool[k].y;
			} else if (i > 0 && below(2)) {
				size_t k = below(i);
				x = p[k].x;
				y = p[k].y;
			} else {
				x = unif() * 10;
				y = unif() * 10;
			}
			break;
		case K_HUGE:
			x = (unif() - 0.5) * 2e6;
			y = (unif() - 0.5) * 2e6;
			break;
		case K_TINY:
			x = unif() * 1e-9;
			y = (unif() - 0.5) * 1e-9;
			break;
		case K_CLUSTER: {
			double cx = (double)below(4) * 1e4, cy = (double)below(2) * 1e4;
			x = cx + unif();
			y = cy + unif();
			break;
		}
		default:
			x = 3.5;
			y = -2.25;
			break;
		}
		p[i].x = x;
		p[i].y = y;
	}
}

/* Oracle 1: every pair sorted by (d2, rider, driver), taken greedily. */
static long oracle_sorted(const struct pairing_point *R, size_t nr, const struct pairing_point *D,
                          size_t nd, struct pairing_pair *out)
{
	long n = oracle_pairs(R, nr, D, nd, out);

	assert_true(n >= 0);
	return n;
}

/* Oracle 2, the rule read literally: scan all free pairs for the closest,
 * first found wins (rider-major order = lower rider, then lower driver). */
static long oracle_literal(const struct pairing_point *R, size_t nr, const struct pairing_point *D,
                           size_t nd, struct pairing_pair *out)
{
	char *rt = calloc(nr + 1, 1), *dt = calloc(nd + 1, 1);
	assert_non_null(rt);
	assert_non_null(dt);
	long n = 0;
	for (;;) {
		long bi = -1, bj = -1;
		double bd = 0;
		for (size_t i = 0; i < nr; i++) {
			if (rt[i])
				continue;
			for (size_t j = 0; j < nd; j++) {
				if (dt[j])
					continue;
				double dx = R[i].x - D[j].x, dy = R[i].y - D[j].y;
				double d = dx * dx + dy * dy;
				if (bi < 0 || d < bd) {
					bd = d;
					bi = (long)i;
					bj = (long)j;
				}
			}
		}
		if (bi < 0)
			break;
		rt[bi] = dt[bj] = 1;
		out[n++] = (struct pairing_pair){(uint32_t)bi, (uint32_t)bj, sqrt(bd)};
	}
	free(rt);
	free(dt);
	return n;
}

static void compare(const char *what, uint64_t seed, size_t nr, size_t nd, int kind,
                    const struct pairing_pair *want, long nw, const struct pairing_pair *got,
                    long ng)
{
	if (nw != ng) {
		print_error("%s seed=%llu nr=%zu nd=%zu kind=%d: %ld pairs, want %ld\n", what,
		            (unsigned long long)seed, nr, nd, kind, ng, nw);
		fail();
	}
	for (long i = 0; i < nw; i++) {
		if (want[i].rider != got[i].rider || want[i].driver != got[i].driver ||
		    memcmp(&want[i].distance, &got[i].distance, sizeof(double)) != 0) {
			print_error("%s seed=%llu nr=%zu nd=%zu kind=%d: pair %ld is "
			            "(%u,%u,%.17g), want (%u,%u,%.17g)\n",
			            what, (unsigned long long)seed, nr, nd, kind, i, got[i].rider,
			            got[i].driver, got[i].distance, want[i].rider, want[i].driver,
			            want[i].distance);
			fail();
		}
	}
}

static void one_case(uint64_t seed, size_t nr, size_t nd, int kind, int literal)
{
	rng_state = seed;
	struct pairing_point *R = malloc((nr + 1) * sizeof *R), *D = malloc((nd + 1) * sizeof *D);
	size_t m = nr < nd ? nr : nd;
	struct pairing_pair *got = malloc((m + 1) * sizeof *got),
			    *want = malloc((m + 1) * sizeof *want);
	assert_non_null(R);
	assert_non_null(D);
	assert_non_null(got);
	assert_non_null(want);
	gen(D, nd, kind, NULL, 0);
	gen(R, nr, kind, D, nd);
	long ng = pairing_match(R, nr, D, nd, got);
	long nw = oracle_sorted(R, nr, D, nd, want);
	assert_int_equal(nw, (long)m);
	compare("sorted-oracle", seed, nr, nd, kind, want, nw, got, ng);
	if (literal) {
		nw = oracle_literal(R, nr, D, nd, want);
		compare("literal-oracle", seed, nr, nd, kind, want, nw, got, ng);
	}
	free(R);
	free(D);
	free(got);
	free(want);
}

static void test_small_random(void **state)
{
	(void)state;
	for (uint64_t s = 1; s <= 1500; s++) {
		rng_state = s;
		size_t nr = below(41), nd = below(41);
		int kind = (int)(s % K_KINDS);
		one_case(s * 0x10001, nr, nd, kind, 1);
	}
}

static void test_medium_random(void **state)
{
	(void)state;
	for (uint64_t s = 1; s <= 80; s++) {
		rng_state = s ^ 0xabcdef;
		size_t nr = below(401), nd = below(401);
		if (s % 10 == 0)
			nr = 0;
		if (s % 10 == 5)
			nd = 0;
		one_case(s * 0x2545F491, nr, nd, (int)(s % K_KINDS), 0);
	}
}

static void test_large(void **state)
{
	(void)state;
	static const struct {
		size_t nr, nd;
		int kind;
	} cases[] = {
	    {2000, 2000, K_UNIFORM}, {2000, 1500, K_GRID40},  {1100, 2000, K_DUP},
	    {2000, 0, K_UNIFORM},    {0, 2000, K_UNIFORM},    {1500, 1500, K_HUGE},
	    {1500, 1400, K_TINY},    {1000, 1200, K_CLUSTER}, {1200, 900, K_GRID8},
	    {600, 700, K_SAME},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		one_case(0x5eed0000 + i, cases[i].nr, cases[i].nd, cases[i].kind, 0);
}

static void test_ties_by_hand(void **state)
{
	(void)state;
	/* Rider 1 and rider 0 are both at distance 1 from driver 0; rider 0 wins.
	 * Driver 2 and driver 1 are both at distance 2 from rider 1; driver 1 wins. */
	const struct pairing_point R[] = {{0, 0}, {2, 0}};
	const struct pairing_point D[] = {{1, 0}, {2, 2}, {2, -2}};
	struct pairing_pair out[2];
	assert_int_equal(pairing_match(R, 2, D, 3, out), 2);
	assert_int_equal(out[0].rider, 0);
	assert_int_equal(out[0].driver, 0);
	assert_true(out[0].distance == 1.0);
	assert_int_equal(out[1].rider, 1);
	assert_int_equal(out[1].driver, 1);
	assert_true(out[1].distance == 2.0);

	/* Everyone at the same spot: pairs (0,0), (1,1), ... in order. */
	struct pairing_point S[5] = {{7, 7}, {7, 7}, {7, 7}, {7, 7}, {7, 7}};
	struct pairing_pair o5[5];
	assert_int_equal(pairing_match(S, 5, S, 3, o5), 3);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(o5[i].rider, i);
		assert_int_equal(o5[i].driver, i);
		assert_true(o5[i].distance == 0.0);
	}

	/* Greedy, not optimal: the closest pair is taken even if it costs more overall. */
	const struct pairing_point R2[] = {{0, 0}, {3, 0}};
	const struct pairing_point D2[] = {{2, 0}, {-2.5, 0}};
	assert_int_equal(pairing_match(R2, 2, D2, 2, out), 2);
	assert_int_equal(out[0].rider, 1); /* (3,0)-(2,0): 1 */
	assert_int_equal(out[0].driver, 0);
	assert_int_equal(out[1].rider, 0);
	assert_int_equal(out[1].driver, 1);
	assert_true(out[1].distance == 2.5);

	/* Empty sides: nothing written, out may be NULL. */
	assert_int_equal(pairing_match(R, 2, D, 0, NULL), 0);
	assert_int_equal(pairing_match(NULL, 0, D, 3, NULL), 0);
	assert_int_equal(pairing_match_bytes(0, 10), 0);
	assert_true(pairing_match_bytes(1000, 1000) > 0);
}

/* One context through many calls of changing sizes and kinds (growing,
 * shrinking below a quarter, one side empty), as the matcher's ticks use
 * it: every call equals the oracle; also coordinates near the double range,
 * where squared distances overflow to infinity and tie there. */
static void test_ctx_reuse(void **state)
{
	(void)state;
	struct pairing_ctx *ctx = pairing_ctx_new();
	assert_non_null(ctx);
	static const size_t sizes[][2] = {{300, 280}, {5, 7},   {1200, 900}, {0, 10},
	                                  {10, 0},    {1, 1},   {700, 1300}, {20, 2000},
	                                  {2000, 20}, {64, 64}, {900, 901}};
	for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
		size_t nr = sizes[c][0], nd = sizes[c][1], m = nr < nd ? nr : nd;
		int kind = (int)(c % K_KINDS);
		uint64_t seed = 777 + c;
		rng_state = seed;
		struct pairing_point *R = malloc((nr + 1) * sizeof *R),
				     *D = malloc((nd + 1) * sizeof *D);
		struct pairing_pair *got = malloc((m + 1) * sizeof *got),
				    *want = malloc((m + 1) * sizeof *want);
		assert_true(R && D && got && want);
		gen(D, nd, kind, NULL, 0);
		gen(R, nr, kind, D, nd);
		long nw = oracle_sorted(R, nr, D, nd, want);
		for (int rep = 0; rep < 2; rep++) {
			long ng = pairing_match_ctx(ctx, R, nr, D, nd, got);
			compare("ctx", seed, nr, nd, kind, want, nw, got, ng);
		}
		assert_true(pairing_ctx_bytes(ctx) > 0);
		free(R);
		free(D);
		free(got);
		free(want);
	}
	/* near the double range: d2 overflows to +inf for far pairs */
	{
		size_t nr = 40, nd = 33;
		struct pairing_point R[40], D[33];
		struct pairing_pair got[33], want[33];
		rng_state = 99;
		for (size_t i = 0; i < nr; i++)
			R[i] = (struct pairing_point){(unif() - 0.5) * 3e300,
			                              below(2) ? 0.0 : (unif() - 0.5) * 1e300};
		for (size_t i = 0; i < nd; i++)
			D[i] = (struct pairing_point){(unif() - 0.5) * 3e300,
			                              below(3) ? 0.0 : -1e-300 * (double)i};
		long nw = oracle_sorted(R, nr, D, nd, want);
		compare("ctx-extreme", 99, nr, nd, -1, want, nw, got,
		        pairing_match_ctx(ctx, R, nr, D, nd, got));
		compare("extreme", 99, nr, nd, -1, want, nw, got, pairing_match(R, nr, D, nd, got));
		/* the grid pre-pass at these sizes: its cells overflow, so it stands aside */
		pairing_ctx_set_grid_min(ctx, 1);
		compare("grid-extreme", 99, nr, nd, -1, want, nw, got,
		        pairing_match_ctx(ctx, R, nr, D, nd, got));
		/* coordinates up to 1e150: squared distances up to ~1e300, still finite */
		for (size_t i = 0; i < nr; i++)
			R[i] = (struct pairing_point){(unif() - 0.5) * 1e150,
			                              (double)below(3) * 1e149};
		for (size_t i = 0; i < nd; i++)
			D[i] = (struct pairing_point){(unif() - 0.5) * 1e150,
			                              (double)below(3) * 1e149};
		nw = oracle_sorted(R, nr, D, nd, want);
		compare("grid-1e150", 99, nr, nd, -1, want, nw, got,
		        pairing_match_ctx(ctx, R, nr, D, nd, got));
	}
	pairing_ctx_free(ctx);
	pairing_ctx_free(NULL);
}

/* Through ctx on th[0..nth) threads in turn, the pairs equal want[0..nw). */
static void same_on_threads(struct pairing_ctx *ctx, const char *what, uint64_t seed,
                            const struct pairing_point *R, size_t nr, const struct pairing_point *D,
                            size_t nd, int kind, const struct pairing_pair *want, long nw,
                            struct pairing_pair *got, const unsigned *th, size_t nth)
{
	for (size_t i = 0; i < nth; i++) {
		pairing_ctx_set_threads(ctx, th[i]);
		compare(what, seed, nr, nd, kind, want, nw, got,
		        pairing_match_ctx(ctx, R, nr, D, nd, got));
	}
}

/* From 16384 riders the first queries, and from 16384 drivers the tree's
 * parts, run on several threads: the result is the same, bit for bit, with
 * 1, 2, 3 and 4 threads (and the 1-thread path is the one checked against
 * the oracles above). */
static void test_threads_same_result(void **state)
{
	(void)state;
	static const size_t sizes[][2] = {{40000, 30000}, {20000, 50000}, {17000, 17000}};
	struct pairing_ctx *ctx = pairing_ctx_new();
	assert_non_null(ctx);
	for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
		size_t nr = sizes[c][0], nd = sizes[c][1], m = nr < nd ? nr : nd;
		int kind = c == 0 ? K_UNIFORM : c == 1 ? K_DUP : K_GRID40;
		struct pairing_point *R = malloc(nr * sizeof *R), *D = malloc(nd * sizeof *D);
		struct pairing_pair *one = malloc(m * sizeof *one), *got = malloc(m * sizeof *got);
		assert_true(R && D && one && got);
		rng_state = 4000 + c;
		gen(D, nd, kind, NULL, 0);
		gen(R, nr, kind, D, nd);
		pairing_ctx_set_threads(ctx, 1);
		long n1 = pairing_match_ctx(ctx, R, nr, D, nd, one);
		assert_int_equal(n1, (long)m);
		static const unsigned th[] = {2, 3, 4};
		same_on_threads(ctx, "threads", 4000 + c, R, nr, D, nd, kind, one, n1, got, th, 3);
		free(R);
		free(D);
		free(one);
		free(got);
	}
	pairing_ctx_free(ctx);
}

/* The grid pre-pass (pairing.c: the greedy over the pairs within a radius,
 * then the queue on the riders and drivers left) from the smallest sizes
 * up (pairing_ctx_set_grid_min), on every kind of input: uneven sides, one
 * side much larger, clustered points (the grid shrinks or is skipped), all
 * points at one spot, integer grids (ties in the pre-pass and across its
 * radius). Each call equals the oracle, and so does the default threshold. */
static void test_grid_prepass(void **state)
{
	(void)state;
	static const size_t sizes[][2] = {{1, 1},       {2, 3},       {40, 40},     {300, 300},
	                                  {1500, 1500}, {1800, 1200}, {1200, 1800}, {2000, 60},
	                                  {50, 2000},   {520, 2000},  {900, 1000}};
	struct pairing_ctx *ctx = pairing_ctx_new();
	assert_non_null(ctx);
	pairing_ctx_set_grid_min(ctx, 1);
	for (int kind = 0; kind < K_KINDS; kind++)
		for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
			size_t nr = sizes[c][0], nd = sizes[c][1], m = nr < nd ? nr : nd;
			uint64_t seed = 9100 + 16 * (uint64_t)kind + c;
			rng_state = seed;
			struct pairing_point *R = malloc(nr * sizeof *R),
					     *D = malloc(nd * sizeof *D);
			struct pairing_pair *got = malloc(m * sizeof *got),
					    *want = malloc(m * sizeof *want);
			assert_true(R && D && got && want);
			gen(D, nd, kind, NULL, 0);
			gen(R, nr, kind, D, nd);
			long nw = oracle_sorted(R, nr, D, nd, want);
			compare("grid", seed, nr, nd, kind, want, nw, got,
			        pairing_match_ctx(ctx, R, nr, D, nd, got));
			free(R);
			free(D);
			free(got);
			free(want);
		}
	pairing_ctx_free(ctx);
}

/* Above the threads' threshold (16384) the pre-pass's cells and scan run on
 * two threads: the result equals the queue alone (pre-pass off), itself
 * checked against the oracles above, on 2 and 1 threads. */
static void test_grid_threads(void **state)
{
	(void)state;
	static const struct {
		size_t nr, nd;
		int kind;
	} cases[] = {{40000, 30000, K_UNIFORM}, {20000, 50000, K_DUP},  {60000, 20000, K_GRID40},
	             {30000, 30000, K_CLUSTER}, {25000, 25000, K_HUGE}, {20000, 20000, K_SAME}};
	struct pairing_ctx *ctx = pairing_ctx_new();
	assert_non_null(ctx);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t nr = cases[c].nr, nd = cases[c].nd, m = nr < nd ? nr : nd;
		int kind = cases[c].kind;
		struct pairing_point *R = malloc(nr * sizeof *R), *D = malloc(nd * sizeof *D);
		struct pairing_pair *want = malloc(m * sizeof *want),
				    *got = malloc(m * sizeof *got);
		assert_true(R && D && want && got);
		rng_state = 5000 + c;
		gen(D, nd, kind, NULL, 0);
		gen(R, nr, kind, D, nd);
		pairing_ctx_set_grid_min(ctx, SIZE_MAX);
		long nw = pairing_match_ctx(ctx, R, nr, D, nd, want);
		assert_int_equal(nw, (long)m);
		pairing_ctx_set_grid_min(ctx, 1);
		static const unsigned th[] = {2, 1};
		same_on_threads(ctx, "grid-threads", 5000 + c, R, nr, D, nd, kind, want, nw, got,
		                th, 2);
		free(R);
		free(D);
		free(want);
		free(got);
	}
	pairing_ctx_free(ctx);
}

static void test_fare(void **state)
{
	(void)state;
	assert_true(pairing_fare_taka(0.0) == 0.0);
	assert_true(pairing_fare_taka(1.0) == 2.0);
	assert_true(pairing_fare_taka(12.25) == 24.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ties_by_hand), cmocka_unit_test(test_fare),
	    cmocka_unit_test(test_ctx_reuse),    cmocka_unit_test(test_threads_same_result),
	    cmocka_unit_test(test_small_random), cmocka_unit_test(test_medium_random),
	    cmocka_unit_test(test_large),        cmocka_unit_test(test_grid_prepass),
	    cmocka_unit_test(test_grid_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
