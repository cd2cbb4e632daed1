/* test_matcher_incr.c - the dynamic k-d tree (matcher/dkd.c) against a brute
 * force, and the incremental pairing (matcher/incr.c) against recomputing
 * from scratch at every tick of long random sequences: arrivals on both
 * sides, expiries, claims that succeed, fail and put one or both back, or
 * drop them, ticks paired the cold way (pairing_match over a snapshot, as the
 * matcher does for a big backlog of new requests); uniform, gridded and
 * duplicated points. From scratch = a brute force (every pair sorted, taken
 * greedily) on small pools, and pairing_match (itself tested against the brute
 * force in test_matcher_pairing.c) on larger ones; equal pair for pair, bit for bit.
 * Deterministic seeds; a failure prints its seed and tick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkd.h"
#include "incr.h"
#include "pairing.h"

#include "testoracle.h"
#include "testrng.h"

enum { G_UNIFORM, G_GRID, G_DUP, G_LINE, G_KINDS };

static struct pairing_point gen_point(int kind, const struct pairing_point *prev, size_t nprev,
                                      size_t i)
{
	switch (kind) {
	case G_GRID: return (struct pairing_point){(double)below(12), (double)below(12)};
	case G_DUP:
		if (nprev && below(2))
			return prev[below(nprev)];
		return (struct pairing_point){unif() * 10, unif() * 10};
	case G_LINE: /* sorted arrivals along x: the worst order for a tree */
		return (struct pairing_point){(double)i * 0.5, (double)below(3)};
	default: return (struct pairing_point){unif() * 1000, unif() * 1000};
	}
}

/* ---- dkd ---- */

struct pt {
	double x, y;
	uint64_t key;
	int in;
};

static void test_incr_overflow(void **state)
{
	struct incr *c = incr_new(3);
	const struct incr_pair *out;

	assert_int_equal(incr_add(c, 1, 0, 0, 1), 0);
	assert_int_equal(incr_add(c, 0, 1, 0, 1), 0);
	assert_int_equal(incr_add(c, 0, 2, 0, 2), 0);
	assert_int_equal(incr_new_count(c), 3);
	assert_int_equal(incr_add(c, 0, 3, 0, 3), 0);
	/* over: no incremental pairing until the pool was paired cold */
	assert_true(incr_new_count(c) == SIZE_MAX);
	assert_int_equal(incr_pair(c, &out), -1);
	assert_int_equal(incr_waiting(c, 0), 3);
	incr_forget_new(c);
	assert_int_equal(incr_new_count(c), 0);
	/* (the cold pairing: rider 1 with driver 1) */
	assert_int_equal(incr_remove(c, 1, 0, 0, 1), 0);
	assert_int_equal(incr_remove(c, 0, 1, 0, 1), 0);
	/* a cold pairing that did not happen: everything is new again */
	incr_all_new(c);
	assert_true(incr_new_count(c) == SIZE_MAX);
	assert_int_equal(incr_pair(c, &out), -1);
	incr_forget_new(c);
	assert_int_equal(incr_add(c, 1, 2.5, 0, 2), 0);
	assert_int_equal(incr_pair(c, &out), 1);
	assert_true(out[0].rider == 2 && out[0].driver == 2 && out[0].distance == 0.5);
	assert_int_equal(incr_waiting(c, 0), 1);
	incr_free(c);
}

static void test_dkd_vs_brute(void **state)
{
	for (int kind = 0; kind < G_KINDS; kind++)
		for (uint64_t seed = 1; seed <= 4; seed++) {
			size_t n = 3000, added = 0;
			struct pt *p = calloc(n, sizeof(*p));
			struct pairing_point *hist = calloc(n, sizeof(*hist));
			struct dkd *t = dkd_new();

			rng_state = seed * 977 + (uint64_t)kind;
			assert_non_null(p);
			assert_non_null(t);
			for (size_t step = 0; step < 12000; step++) {
				unsigned op = (unsigned)below(10);
				if (op < 4 && added < n) {
					struct pairing_point q =
					    gen_point(kind, hist, added, added);
					hist[added] = q;
					p[added] = (struct pt){q.x, q.y, added * 7 + 3, 1};
					assert_int_equal(dkd_insert(t, q.x, q.y, p[added].key), 0);
					added++;
				} else if (op < 7 && added) {
					size_t i = below(added);
					assert_int_equal(dkd_remove(t, p[i].x, p[i].y, p[i].key),
					                 p[i].in ? 0 : -1);
					p[i].in = 0;
				} else {
					struct pairing_point q =
					    gen_point(kind, hist, added, added);
					struct dkd_point got;
					double d2, bd = INFINITY;
					size_t bi = SIZE_MAX;
					for (size_t i = 0; i < added; i++) {
						if (!p[i].in)
							continue;
						double dx = q.x - p[i].x, dy = q.y - p[i].y,
						       d = dx * dx + dy * dy;
						if (bi == SIZE_MAX || d < bd ||
						    (d == bd && p[i].key < p[bi].key))
							bd = d, bi = i;
					}
					int rc = dkd_nearest(t, q.x, q.y, &got, &d2);
					if (bi == SIZE_MAX) {
						assert_int_equal(rc, -1);
					} else {
						if (rc != 0 || got.key != p[bi].key ||
						    memcmp(&d2, &bd, sizeof(d2)))
							fail_msg("kind %d seed %llu step %zu: "
							         "nearest differs",
							         kind, (unsigned long long)seed,
							         step);
						assert_int_equal(
						    dkd_contains(t, got.x, got.y, got.key), 1);
					}
				}
			}
			size_t live = 0;
			for (size_t i = 0; i < added; i++)
				live += p[i].in;
			assert_int_equal(dkd_size(t), live);
			/* balanced whatever the order: depth logarithmic */
			assert_true(dkd_depth(t) <= 40);
			dkd_free(t);
			free(p);
			free(hist);
		}
}

static void test_dkd_sorted_inserts_stay_shallow(void **state)
{
	struct dkd *t = dkd_new();

	for (uint64_t i = 0; i < 100000; i++)
		assert_int_equal(dkd_insert(t, (double)i, 0.0, i), 0);
	assert_true(dkd_depth(t) <= 45);
	for (uint64_t i = 0; i < 100000; i += 2)
		assert_int_equal(dkd_remove(t, (double)i, 0.0, i), 0);
	assert_int_equal(dkd_size(t), 50000);
	assert_true(dkd_depth(t) <= 45);
	/* all at one place: ties go to the smallest key */
	for (uint64_t i = 200000; i > 100000; i--)
		assert_int_equal(dkd_insert(t, -5.0, -5.0, i), 0);
	struct dkd_point got;
	double d2;
	assert_int_equal(dkd_nearest(t, -6.0, -5.0, &got, &d2), 0);
	assert_true(got.key == 100001 && d2 == 1.0);
	assert_int_equal(dkd_remove(t, -5.0, -5.0, 12345678), -1);
	assert_int_equal(dkd_remove(t, -5.0, -4.0, 100001), -1);
	dkd_free(t);
}

/* ---- incr: long sequences of ticks ---- */

enum { W_WAITING, W_CLAIMING, W_GONE };

struct req {
	struct pairing_point p;
	uint64_t key;
	int born, state;
};

struct side {
	struct req *v;
	size_t n, cap;
};

static struct req *side_add(struct side *s, struct pairing_point p, int tick)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	s->v[s->n] = (struct req){p, s->n + 1, tick, W_WAITING}; /* key = acceptance order */
	return &s->v[s->n++];
}

static struct req *by_key(struct side *s, uint64_t key)
{
	return &s->v[key - 1];
}

/* From scratch over every waiting request: brute force when small, else
 * pairing_match over the snapshot in acceptance order; pairs as keys. */
static long scratch(struct side *R, struct side *D, struct incr_pair *out, int use_brute)
{
	size_t nr = 0, nd = 0;
	struct pairing_point *rp = malloc((R->n + 1) * sizeof(*rp)),
			     *dp = malloc((D->n + 1) * sizeof(*dp));
	uint64_t *rk = malloc((R->n + 1) * sizeof(*rk)), *dk = malloc((D->n + 1) * sizeof(*dk));
	long m = 0;

	for (size_t i = 0; i < R->n; i++)
		if (R->v[i].state == W_WAITING)
			rp[nr] = R->v[i].p, rk[nr++] = R->v[i].key;
	for (size_t i = 0; i < D->n; i++)
		if (D->v[i].state == W_WAITING)
			dp[nd] = D->v[i].p, dk[nd++] = D->v[i].key;
	struct pairing_pair *pp = malloc(((nr < nd ? nr : nd) + 1) * sizeof(*pp));
	assert_non_null(pp);
	m = use_brute ? oracle_pairs(rp, nr, dp, nd, pp) : pairing_match(rp, nr, dp, nd, pp);
	assert_true(m >= 0);
	for (long i = 0; i < m; i++)
		out[i] = (struct incr_pair){rk[pp[i].rider], dk[pp[i].driver], pp[i].distance};
	free(pp);
	free(rp);
	free(dp);
	free(rk);
	free(dk);
	return m;
}

static size_t waiting(const struct side *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].state == W_WAITING;
	return n;
}

struct scenario {
	int kind, ticks, ttl;
	size_t max_r, max_d; /* arrivals per tick: 0..max */
	int use_brute;
	size_t max_new; /* 0: no limit */
};

static void run(const struct scenario *sc, uint64_t seed)
{
	struct side R = {0}, D = {0};
	struct incr *c = incr_new(sc->max_new ? sc->max_new : SIZE_MAX);
	struct incr_pair *want = NULL, *pending = NULL;
	size_t npending = 0, cap = 0;
	struct pairing_point *hist = NULL;
	size_t nhist = 0, caph = 0;

	assert_non_null(c);
	rng_state = seed;
	for (int tick = 0; tick < sc->ticks; tick++) {
		/* 1. the last tick's claims settle */
		for (size_t i = 0; i < npending; i++) {
			struct req *r = by_key(&R, pending[i].rider),
				   *d = by_key(&D, pending[i].driver);
			unsigned o = (unsigned)below(10);
			int rback = 0, dback = 0;
			if (o < 5) {
				/* claimed */
			} else if (o < 8) { /* refused: each back if its key exists */
				rback = (int)below(2);
				dback = (int)below(2);
			} else { /* unknown: both back */
				rback = dback = 1;
			}
			r->state = rback ? W_WAITING : W_GONE;
			d->state = dback ? W_WAITING : W_GONE;
			if (rback)
				assert_int_equal(incr_add(c, 1, r->p.x, r->p.y, r->key), 0);
			if (dback)
				assert_int_equal(incr_add(c, 0, d->p.x, d->p.y, d->key), 0);
		}
		npending = 0;
		/* 2. expiry */
		struct side *sides[2] = {&D, &R};
		for (int s = 0; s < 2; s++)
			for (size_t i = 0; i < sides[s]->n; i++) {
				struct req *q = &sides[s]->v[i];
				if (q->state == W_WAITING && q->born + sc->ttl <= tick) {
					q->state = W_GONE;
					assert_int_equal(incr_remove(c, s, q->p.x, q->p.y, q->key),
					                 0);
				}
			}
		/* 3. arrivals, interleaved between the sides */
		size_t ar = below(sc->max_r + 1), ad = below(sc->max_d + 1);
		while (ar + ad) {
			int s = ar && (!ad || below(2));
			if (nhist == caph) {
				caph = caph ? 2 * caph : 256;
				hist = realloc(hist, caph * sizeof(*hist));
			}
			struct pairing_point p = gen_point(sc->kind, hist, nhist, nhist);
			hist[nhist++] = p;
			struct req *q = side_add(s ? &R : &D, p, tick);
			assert_int_equal(incr_add(c, s, p.x, p.y, q->key), 0);
			if (s)
				ar--;
			else
				ad--;
		}
		assert_int_equal(incr_waiting(c, 1), waiting(&R));
		assert_int_equal(incr_waiting(c, 0), waiting(&D));
		/* 4. pair: incrementally (mostly) or the cold way, against scratch */
		size_t need = (R.n < D.n ? R.n : D.n) + 1;
		if (need > cap) {
			cap = 2 * need;
			want = realloc(want, cap * sizeof(*want));
			pending = realloc(pending, cap * sizeof(*pending));
		}
		long m = scratch(&R, &D, want, sc->use_brute);
		const struct incr_pair *got;
		long g;
		if (below(8) == 0 || incr_new_count(c) == SIZE_MAX) {
			/* cold: forget the new list, pair the snapshot, remove the pairs */
			incr_forget_new(c);
			g = m;
			got = want;
			for (long i = 0; i < m; i++) {
				struct req *r = by_key(&R, want[i].rider),
					   *d = by_key(&D, want[i].driver);
				assert_int_equal(incr_remove(c, 1, r->p.x, r->p.y, r->key), 0);
				assert_int_equal(incr_remove(c, 0, d->p.x, d->p.y, d->key), 0);
			}
		} else {
			size_t nn = incr_new_count(c);
			g = incr_pair(c, &got);
			assert_true(nn <= sc->max_new || !sc->max_new);
		}
		if (g != m)
			fail_msg("seed %llu tick %d: %ld pairs, want %ld", (unsigned long long)seed,
			         tick, g, m);
		for (long i = 0; i < m; i++)
			if (got[i].rider != want[i].rider || got[i].driver != want[i].driver ||
			    memcmp(&got[i].distance, &want[i].distance, sizeof(double)))
				fail_msg("seed %llu tick %d pair %ld: (%llu,%llu,%.17g) want "
				         "(%llu,%llu,%.17g)",
				         (unsigned long long)seed, tick, i,
				         (unsigned long long)got[i].rider,
				         (unsigned long long)got[i].driver, got[i].distance,
				         (unsigned long long)want[i].rider,
				         (unsigned long long)want[i].driver, want[i].distance);
		for (long i = 0; i < m; i++) {
			by_key(&R, want[i].rider)->state = W_CLAIMING;
			by_key(&D, want[i].driver)->state = W_CLAIMING;
			pending[npending++] = want[i];
		}
		/* one side is empty after a pairing */
		assert_true(waiting(&R) == 0 || waiting(&D) == 0);
		assert_int_equal(incr_waiting(c, 1), waiting(&R));
		assert_int_equal(incr_waiting(c, 0), waiting(&D));
	}
	incr_free(c);
	free(R.v);
	free(D.v);
	free(want);
	free(pending);
	free(hist);
}

static void test_incr_small_vs_brute(void **state)
{
	for (int kind = 0; kind < G_KINDS; kind++)
		for (uint64_t seed = 1; seed <= 12; seed++) {
			/* balanced, rider-heavy, driver-heavy */
			struct scenario sc[] = {
			    {kind, 120, 6, 6, 6, 1, 0},
			    {kind, 120, 9, 9, 3, 1, 0},
			    {kind, 120, 9, 2, 8, 1, 0},
			};
			for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
				run(&sc[i], seed * 31 + (uint64_t)kind * 7 + i);
		}
}

static void test_incr_backlog_vs_cold(void **state)
{
	for (int kind = 0; kind < G_KINDS; kind++)
		for (uint64_t seed = 1; seed <= 3; seed++) {
			/* a big backlog on one side, then on the other */
			struct scenario sc[] = {
			    {kind, 60, 40, 30, 150, 0, 0},
			    {kind, 60, 40, 150, 30, 0, 0},
			    {kind, 60, 25, 100, 100, 0, 0},
			    /* a small limit on the new list: cold ticks when over */
			    {kind, 60, 25, 100, 100, 0, 150},
			};
			for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
				run(&sc[i], seed * 1009 + (uint64_t)kind * 13 + i);
		}
}

/* The path's choice: cold once the new requests are over a third of all
 * waiting, exactly, and for any count (an overflowed list says SIZE_MAX). */
static void test_incr_cold_cheaper(void **state)
{
	(void)state;
	assert_false(incr_cold_cheaper(0, 0));
	assert_false(incr_cold_cheaper(0, 10));
	assert_true(incr_cold_cheaper(1, 1));
	for (size_t w = 0; w < 1000; w++)
		for (size_t n = 0; n <= w; n++)
			assert_int_equal(incr_cold_cheaper(n, w), 3 * n > w);
	assert_false(incr_cold_cheaper(300, 50300)); /* a backlog, few arrivals */
	assert_true(incr_cold_cheaper(4000, 10000)); /* a burst over a small pool */
	assert_true(incr_cold_cheaper(SIZE_MAX, SIZE_MAX));
	assert_false(incr_cold_cheaper(SIZE_MAX / 3, SIZE_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dkd_vs_brute),
	    cmocka_unit_test(test_dkd_sorted_inserts_stay_shallow),
	    cmocka_unit_test(test_incr_overflow),
	    cmocka_unit_test(test_incr_cold_cheaper),
	    cmocka_unit_test(test_incr_small_vs_brute),
	    cmocka_unit_test(test_incr_backlog_vs_cold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
