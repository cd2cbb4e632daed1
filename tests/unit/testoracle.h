/* testoracle.h - the brute force that the matcher's pairing is checked
 * against (unit tests and bench/bench_matcher.c): every (rider, driver) pair
 * sorted by (squared distance, rider index, driver index), taken greedily,
 * which is closest pair first by definition. O(nr nd) memory (16 bytes a
 * pair) and time: for small instances. Test support only, never linked into
 * a service. Needs matcher/pairing.h on the include path. */
#ifndef RS_TESTS_TESTORACLE_H
#define RS_TESTS_TESTORACLE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pairing.h"

struct oracle_cand {
	double d2;
	uint32_t r, d;
};

static inline int oracle_less(const struct oracle_cand *a, const struct oracle_cand *b)
{
	return a->d2 < b->d2 || (a->d2 == b->d2 && (a->r < b->r || (a->r == b->r && a->d < b->d)));
}

/* Sorts a[0..n) by oracle_less: quicksort (median of three), insertion sort
 * below 16 elements; the keys are unique, so stability does not matter. */
static void oracle_sort(struct oracle_cand *a, size_t n)
{
	while (n > 16) {
		struct oracle_cand p = a[n / 2], t;
		if (oracle_less(&a[n - 1], &a[0])) {
			t = a[0];
			a[0] = a[n - 1];
			a[n - 1] = t;
		}
		if (oracle_less(&p, &a[0]))
			p = a[0];
		else if (oracle_less(&a[n - 1], &p))
			p = a[n - 1];
		size_t i = 0, j = n - 1;
		for (;;) {
			while (oracle_less(&a[i], &p))
				i++;
			while (oracle_less(&p, &a[j]))
				j--;
			if (i >= j)
				break;
			t = a[i];
			a[i] = a[j];
			a[j] = t;
			i++;
			j--;
		}
		size_t left = j + 1; /* a[0..j] <= p <= a[j+1..n) */
		if (left < n - left) {
			oracle_sort(a, left);
			a += left;
			n -= left;
		} else {
			oracle_sort(a + left, n - left);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct oracle_cand t = a[i];
		size_t j = i;
		while (j > 0 && oracle_less(&t, &a[j - 1])) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = t;
	}
}

/* Closest pair first over riders R[0..nr) and drivers D[0..nd) by brute
 * force: writes min(nr, nd) pairs to out in the order they are made (as
 * pairing_match does) and returns their number, or -1 if memory runs out. */
static long oracle_pairs(const struct pairing_point *R, size_t nr, const struct pairing_point *D,
                         size_t nd, struct pairing_pair *out)
{
	size_t m = nr * nd, k = 0;
	struct oracle_cand *c = malloc((m ? m : 1) * sizeof(*c));
	char *rt = calloc(nr + 1, 1), *dt = calloc(nd + 1, 1);
	long n = 0;

	if (!c || !rt || !dt) {
		n = -1;
		goto out;
	}
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < nd; j++) {
			double dx = R[i].x - D[j].x, dy = R[i].y - D[j].y;
			c[k++] = (struct oracle_cand){dx * dx + dy * dy, (uint32_t)i, (uint32_t)j};
		}
	oracle_sort(c, m);
	for (size_t i = 0; i < m; i++) {
		if (rt[c[i].r] || dt[c[i].d])
			continue;
		rt[c[i].r] = dt[c[i].d] = 1;
		out[n++] = (struct pairing_pair){c[i].r, c[i].d, sqrt(c[i].d2)};
	}
out:
	free(c);
	free(rt);
	free(dt);
	return n;
}

#endif
