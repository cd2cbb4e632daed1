/* bench_quality.c - matching quality on one snapshot: N riders x N drivers,
 * uniform in a square or clustered (a few dense centres, as in a city),
 * paired three ways:
 *   - closest pair first (pairing_match, the matcher's rule),
 *   - naive per-rider nearest: each rider in arrival order takes its
 *     nearest free driver (what public implementations of this do),
 *   - the exact minimum total distance (mt_match, the matcher's
 *     --policy min-total), when N <= --exact-max (it is O(N^3)).
 * For each: the total and the p95 of the pairs' rider-driver distances, and
 * the time. Writes the points (doubles: riders x,y..., then drivers) to
 * --points FILE so that bench_quality.py can compute the optimum with
 * scipy's linear_sum_assignment on the same snapshot. One JSON line on
 * stdout. See --help. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../matcher/mintotal.h"
#include "../matcher/pairing.h"

#include "../tests/unit/testrng.h"

static double gauss(void)
{
	double u = unif(), v = unif();

	return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* The city: a 1000 x 1000 square, NC centres with a spread of 15-40; 85% of
 * the requests around a centre, 15% anywhere. Riders and drivers use the
 * same centres with different weights (riders crowd where drivers are
 * fewer), which is where a greedy rule has to pick. */
#define NC 5
static struct {
	double x, y, s, wr, wd;
} centre[NC];

static void city(void)
{
	double sr = 0, sd = 0;

	for (int c = 0; c < NC; c++) {
		centre[c].x = 150 + unif() * 700;
		centre[c].y = 150 + unif() * 700;
		centre[c].s = 15 + unif() * 25;
		centre[c].wr = 0.2 + unif();
		centre[c].wd = 0.2 + unif();
		sr += centre[c].wr;
		sd += centre[c].wd;
	}
	for (int c = 0; c < NC; c++) {
		centre[c].wr /= sr;
		centre[c].wd /= sd;
	}
}

static void gen(struct pairing_point *p, size_t n, int clustered, int rider)
{
	for (size_t i = 0; i < n; i++) {
		if (!clustered || unif() < 0.15) {
			p[i] = (struct pairing_point){unif() * 1000, unif() * 1000};
			continue;
		}
		double u = unif(), acc = 0;
		int c = 0;

		for (; c < NC - 1; c++) {
			acc += rider ? centre[c].wr : centre[c].wd;
			if (u < acc)
				break;
		}
		p[i] = (struct pairing_point){centre[c].x + gauss() * centre[c].s,
		                              centre[c].y + gauss() * centre[c].s};
	}
}

/* Each rider in order takes its nearest free driver (brute force: O(N^2),
 * a second or so at 1e4). Distances to out[0..n). */
static void naive(const struct pairing_point *r, const struct pairing_point *d, size_t n,
                  double *out)
{
	unsigned char *used = calloc(n, 1);

	if (!used)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		size_t best = n;
		double bd = INFINITY;

		for (size_t j = 0; j < n; j++) {
			double dx = r[i].x - d[j].x, dy = r[i].y - d[j].y, q = dx * dx + dy * dy;

			if (!used[j] && q < bd) {
				bd = q;
				best = j;
			}
		}
		used[best] = 1;
		out[i] = sqrt(bd);
	}
	free(used);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, size_t n, double ms, int last)
{
	double total = 0;

	for (size_t i = 0; i < n; i++)
		total += v[i];
	qsort(v, n, sizeof(*v), cmp_double);
	/* nearest-rank p95 */
	printf("\"%s\":{\"total\":%.17g,\"mean\":%.17g,\"p95\":%.17g,\"ms\":%.1f}%s", name, total,
	       total / (double)n, v[(n * 95 + 99) / 100 - 1], ms, last ? "" : ",");
}

int main(int argc, char **argv)
{
	size_t n = 1000, exact_max = 2000;
	int clustered = 0;
	uint64_t seed = 1;
	const char *points = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc)
			n = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--clustered"))
			clustered = 1;
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--exact-max") && i + 1 < argc)
			exact_max = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--points") && i + 1 < argc)
			points = argv[++i];
		else {
			fprintf(stderr,
			        "usage: %s [--n N (1000)] [--clustered] [--seed S (1)] "
			        "[--exact-max N (2000)] "
			        "[--points FILE]\n"
			        "N riders x N drivers; closest pair first, naive per-rider nearest "
			        "and (N <= "
			        "exact-max) the exact min total; one JSON line.\n",
			        argv[0]);
			return !strcmp(argv[i], "--help") ? 0 : 2;
		}
	}
	if (n < 1)
		return 2;
	rng_state = seed * 7919 + (uint64_t)clustered;
	city();

	struct pairing_point *r = malloc(n * sizeof(*r)), *d = malloc(n * sizeof(*d));
	struct pairing_pair *p = malloc(n * sizeof(*p));
	double *v = malloc(n * sizeof(*v)), t0;
	long np;

	if (!r || !d || !p || !v)
		return 1;
	gen(r, n, clustered, 1);
	gen(d, n, clustered, 0);
	if (points) {
		FILE *f = fopen(points, "wb");

		if (!f || fwrite(r, sizeof(*r), n, f) != n || fwrite(d, sizeof(*d), n, f) != n ||
		    fclose(f)) {
			perror(points);
			return 1;
		}
	}
	printf("{\"n\":%zu,\"input\":\"%s\",\"seed\":%llu,", n, clustered ? "clustered" : "uniform",
	       (unsigned long long)seed);
	/* closest pair first, then (small n) the exact minimum total; naive last */
	for (int k = 0; k < 2 && (k == 0 || n <= exact_max); k++) {
		t0 = now_ms();
		np = k ? mt_match(r, n, d, n, p) : pairing_match(r, n, d, n, p);
		if (np != (long)n)
			return 1;
		for (size_t i = 0; i < n; i++)
			v[i] = p[i].distance;
		report(k ? "min_total" : "closest_pair_first", v, n, now_ms() - t0, 0);
	}
	t0 = now_ms();
	naive(r, d, n, v);
	report("naive_nearest", v, n, now_ms() - t0, 1);
	printf("}\n");
	free(r);
	free(d);
	free(p);
	free(v);
	return 0;
}
