/* kdselect.h - the selection (quickselect) of the matcher's core: both k-d
 * trees build with it (kdtree.c's static one, dkd.c's dynamic one) and
 * quality.c takes percentiles with it. Private to the matcher's core. An
 * element is a struct that starts with the double x (and the double y) it
 * is selected by, or a plain double (dim 0). The functions are static
 * inline so that each caller's constant element size compiles to plain
 * loads and moves. */
#ifndef RS_MATCHER_KDSELECT_H
#define RS_MATCHER_KDSELECT_H

#include <stddef.h>
#include <string.h>

#define KDSEL_MAX_SIZE 32 /* bytes in an element, at most */

/* Coordinate dim (0 = x, 1 = y) of element i of a (elements of size bytes). */
static inline double kdsel_coord(const void *a, size_t size, size_t i, int dim)
{
	double v;

	memcpy(&v, (const char *)a + i * size + (size_t)dim * sizeof(double), sizeof(v));
	return v;
}

static inline void kdsel_swap(void *a, size_t size, size_t i, size_t j)
{
	char t[KDSEL_MAX_SIZE], *p = (char *)a + i * size, *q = (char *)a + j * size;

	memcpy(t, p, size);
	memcpy(p, q, size);
	memcpy(q, t, size);
}

/* Rearranges a[lo..hi] (inclusive) so that a[k] holds the element of that
 * rank by coordinate dim, smaller-or-equal ones before it and
 * larger-or-equal ones after. Hoare partitioning around a median of three;
 * equal keys are split evenly, so duplicates do not degrade it. */
static inline void kdsel_select(void *a, size_t size, size_t lo, size_t hi, size_t k, int dim)
{
	while (hi > lo) {
		size_t m = lo + (hi - lo) / 2;
		double p0 = kdsel_coord(a, size, lo, dim), p1 = kdsel_coord(a, size, m, dim),
		       p2 = kdsel_coord(a, size, hi, dim);
		double p = p0 < p1 ? (p1 < p2 ? p1 : (p0 < p2 ? p2 : p0))
		                   : (p0 < p2 ? p0 : (p1 < p2 ? p2 : p1));
		size_t i = lo, j = hi;

		for (;;) {
			while (kdsel_coord(a, size, i, dim) < p)
				i++;
			while (kdsel_coord(a, size, j, dim) > p)
				j--;
			if (i >= j)
				break;
			kdsel_swap(a, size, i, j);
			i++;
			j--;
		}
		/* now a[lo..j] <= p <= a[j+1..hi] (i >= j) */
		if (i == j) {
			/* a[i] == p, and lo..i-1 <= p <= i+1..hi */
			if (k == i)
				return;
			if (k < i)
				hi = i - 1;
			else
				lo = i + 1;
		} else if (k <= j) {
			hi = j;
		} else {
			lo = j + 1;
		}
	}
}

#endif
