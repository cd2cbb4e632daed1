/* test_matcher_mintotal.c - the min-total policy's pairing (mintotal.c):
 * min(nr, nd) pairs, each rider and driver at most once, each pair's
 * distance right, and a total distance equal (within 1e-9 relative) to two
 * independent exact oracles: a dynamic programme over subsets of the
 * smaller side (small instances) and a successive-shortest-path min-cost
 * flow with Bellman-Ford and no potentials (medium ones), on random,
 * clustered, duplicated and gridded instances, square and rectangular. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mintotal.h"
#include "pairing.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double unif(void)
{
	return (double)(next() >> 11) / 9007199254740992.0;
}

enum kind { UNIFORM, CLUSTERED, DUPLICATED, GRIDDED, NKINDS };

static void gen(enum kind k, struct pairing_point *p, size_t n, const struct pairing_point *centres)
{
	for (size_t i = 0; i < n; i++) {
		switch (k) {
		case UNIFORM:
			p[i] = (struct pairing_point){unif() * 100 - 50, unif() * 100 - 50};
			break;
		case CLUSTERED: { /* 3 dense centres */
			const struct pairing_point *c = &centres[next() % 3];
			double a = unif() * 6.283185307179586, r = unif() * unif() * 2;

			p[i] = (struct pairing_point){c->x + r * cos(a), c->y + r * sin(a)};
			break;
		}
		case DUPLICATED: /* a few positions, many times each */
			p[i] = centres[next() % 4];
			break;
		case GRIDDED: /* integer grid: many equal distances */
			p[i] = (struct pairing_point){(double)(next() % 6), (double)(next() % 6)};
			break;
		default: break;
		}
	}
}

static double d(const struct pairing_point *a, const struct pairing_point *b)
{
	return sqrt((a->x - b->x) * (a->x - b->x) + (a->y - b->y) * (a->y - b->y));
}

/* Oracle 1: dp[mask] = least total pairing the first popcount(mask) rows
 * with the columns in mask; rows = the smaller side (<= cols <= 14). */
static double oracle_dp(const struct pairing_point *r, size_t nr, const struct pairing_point *dv,
                        size_t nd)
{
	const struct pairing_point *rows = nr <= nd ? r : dv, *cols = nr <= nd ? dv : r;
	size_t n = nr <= nd ? nr : nd, m = nr <= nd ? nd : nr;
	size_t full = (size_t)1 << m;
	double *dp = malloc(full * sizeof(*dp)), best = INFINITY;

	assert_non_null(dp);
	for (size_t s = 0; s < full; s++)
		dp[s] = INFINITY;
	dp[0] = 0;
	for (size_t s = 0; s < full; s++) {
		size_t i = (size_t)__builtin_popcountll(s);

		if (dp[s] == INFINITY)
			continue;
		if (i == n) {
			if (dp[s] < best)
				best = dp[s];
			continue;
		}
		for (size_t j = 0; j < m; j++)
			if (!(s & ((size_t)1 << j))) {
				double v = dp[s] + d(&rows[i], &cols[j]);

				if (v < dp[s | ((size_t)1 << j)])
					dp[s | ((size_t)1 << j)] = v;
			}
	}
	free(dp);
	return n ? best : 0;
}

/* Oracle 2: min-cost flow, source -> riders -> drivers -> sink, unit
 * capacities, augmenting min(nr, nd) times along a cheapest path found by
 * Bellman-Ford on the residual graph (negative arcs allowed, no
 * potentials). */
#define MAXV 128
static double oracle_flow(const struct pairing_point *r, size_t nr, const struct pairing_point *dv,
                          size_t nd)
{
	size_t V = nr + nd + 2, S = nr + nd, T = nr + nd + 1, k = nr < nd ? nr : nd;
	static double cost[MAXV][MAXV];
	static int cap[MAXV][MAXV];
	double total = 0;

	assert_true(V <= MAXV);
	memset(cap, 0, sizeof(cap));
	for (size_t i = 0; i < nr; i++) {
		cap[S][i] = 1;
		cost[S][i] = cost[i][S] = 0;
		for (size_t j = 0; j < nd; j++) {
			cap[i][nr + j] = 1;
			cost[i][nr + j] = d(&r[i], &dv[j]);
			cost[nr + j][i] = -cost[i][nr + j];
		}
	}
	for (size_t j = 0; j < nd; j++) {
		cap[nr + j][T] = 1;
		cost[nr + j][T] = cost[T][nr + j] = 0;
	}
	for (size_t f = 0; f < k; f++) {
		double dist[MAXV];
		size_t prev[MAXV];

		for (size_t x = 0; x < V; x++)
			dist[x] = INFINITY;
		dist[S] = 0;
		for (size_t it = 0; it + 1 < V; it++) {
			int changed = 0;

			for (size_t a = 0; a < V; a++) {
				if (dist[a] == INFINITY)
					continue;
				for (size_t b = 0; b < V; b++)
					if (cap[a][b] > 0 &&
					    dist[a] + cost[a][b] < dist[b] - 1e-12) {
						dist[b] = dist[a] + cost[a][b];
						prev[b] = a;
						changed = 1;
					}
			}
			if (!changed)
				break;
		}
		assert_true(dist[T] < INFINITY);
		for (size_t x = T; x != S; x = prev[x]) {
			cap[prev[x]][x]--;
			cap[x][prev[x]]++;
		}
		total += dist[T];
	}
	return total;
}

/* Checks the pairs are a valid assignment of the right size and returns
 * their total distance. */
static double check_pairs(const struct pairing_point *r, size_t nr, const struct pairing_point *dv,
                          size_t nd, const struct pairing_pair *p, long np)
{
	static unsigned char ru[4096], du[4096];
	double total = 0;

	assert_int_equal(np, (long)(nr < nd ? nr : nd));
	memset(ru, 0, nr);
	memset(du, 0, nd);
	for (long i = 0; i < np; i++) {
		assert_true(p[i].rider < nr && p[i].driver < nd);
		assert_false(ru[p[i].rider]);
		assert_false(du[p[i].driver]);
		ru[p[i].rider] = du[p[i].driver] = 1;
		if (i)
			assert_true(p[i].rider > p[i - 1].rider);
		assert_true(p[i].distance == d(&r[p[i].rider], &dv[p[i].driver]));
		total += p[i].distance;
	}
	return total;
}

static void close_enough(double got, double want)
{
	if (!(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want)))) {
		print_error("total %.17g, oracle %.17g\n", got, want);
		fail();
	}
}

static void run(size_t instances, size_t maxn,
                double (*oracle)(const struct pairing_point *, size_t, const struct pairing_point *,
                                 size_t))
{
	struct pairing_point r[64], dv[64], centres[4];
	struct pairing_pair p[64];

	for (size_t t = 0; t < instances; t++) {
		enum kind k = (enum kind)(t % NKINDS);
		size_t nr = (size_t)(next() % (maxn + 1)), nd = (size_t)(next() % (maxn + 1));
		long np;

		for (int c = 0; c < 4; c++)
			centres[c] = (struct pairing_point){unif() * 40 - 20, unif() * 40 - 20};
		gen(k, r, nr, centres);
		gen(k, dv, nd, centres);
		np = mt_match(r, nr, dv, nd, p);
		close_enough(check_pairs(r, nr, dv, nd, p, np), oracle(r, nr, dv, nd));
		/* never worse than closest pair first */
		{
			struct pairing_pair q[64];
			long nq = pairing_match(r, nr, dv, nd, q);
			double cpf = 0;

			assert_int_equal(nq, np);
			for (long i = 0; i < nq; i++)
				cpf += q[i].distance;
			assert_true(check_pairs(r, nr, dv, nd, p, np) <= cpf * (1 + 1e-12) + 1e-12);
		}
	}
}

static void test_small_against_dp(void **state)
{
	run(5000, 12, oracle_dp);
}

static void test_medium_against_flow(void **state)
{
	run(1500, 24, oracle_flow);
}

static void test_edges(void **state)
{
	struct pairing_point b[2] = {{0.9, 0}, {2.1, 0}};

	assert_int_equal(mt_match(b, 0, b, 2, NULL), 0);
	assert_int_equal(mt_match(b, 2, b, 0, NULL), 0);
	{
		/* closest pair first takes (1, 1.95) = 0.95 and is left with
		 * (3.2, 0) = 3.2: 4.15; the optimum (1, 0) + (3.2, 1.95) = 2.25 */
		struct pairing_point r[2] = {{1, 0}, {3.2, 0}}, dd[2] = {{1.95, 0}, {0, 0}};
		struct pairing_pair q[2], g[2];

		assert_int_equal(mt_match(r, 2, dd, 2, q), 2);
		close_enough(q[0].distance + q[1].distance, 2.25);
		assert_true(q[0].rider == 0 && q[0].driver == 1 && q[1].rider == 1 &&
		            q[1].driver == 0);
		assert_int_equal(pairing_match(r, 2, dd, 2, g), 2);
		close_enough(g[0].distance + g[1].distance, 4.15);
	}
	{
		/* rectangular both ways: 3 riders, 1 driver takes the nearest */
		struct pairing_point r[3] = {{5, 5}, {0, 1}, {9, 9}}, dd[1] = {{0, 0}};
		struct pairing_pair q[1];

		assert_int_equal(mt_match(r, 3, dd, 1, q), 1);
		assert_true(q[0].rider == 1 && q[0].driver == 0 && q[0].distance == 1);
		assert_int_equal(mt_match(dd, 1, r, 3, q), 1);
		assert_true(q[0].rider == 0 && q[0].driver == 1 && q[0].distance == 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_small_against_dp),
	    cmocka_unit_test(test_medium_against_flow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
