/* mintotal.c - see mintotal.h.
 *
 * The classic O(n^2 m) Hungarian algorithm for a rectangular n x m cost
 * matrix, n <= m (rows = the smaller side): rows are added one at a time;
 * each addition runs Dijkstra on reduced costs c(i,j) - u[i] - v[j] >= 0
 * from the new row until it reaches a free column, then flips the path and
 * updates the potentials so that all reduced costs stay >= 0 and those on
 * matched edges are 0. When all rows are in, the matching is optimal (the
 * potentials are a feasible dual with equal objective). Arrays are 1-based,
 * index 0 being the virtual column the new row starts from. */
#include "mintotal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static double dist(const struct pairing_point *a, const struct pairing_point *b)
{
	double dx = a->x - b->x, dy = a->y - b->y;

	return sqrt(dx * dx + dy * dy);
}

long mt_match(const struct pairing_point *riders, size_t nr, const struct pairing_point *drivers,
              size_t nd, struct pairing_pair *out)
{
	int flip = nr > nd; /* rows are the smaller side */
	const struct pairing_point *rows = flip ? drivers : riders, *cols = flip ? riders : drivers;
	size_t n = flip ? nd : nr, m = flip ? nr : nd;
	double *u, *v, *minv;
	size_t *p, *way;
	unsigned char *used;
	long ret = (long)n;

	if (nr >= UINT32_MAX || nd >= UINT32_MAX)
		return -1;
	if (!n)
		return 0;
	u = calloc(n + 1, sizeof(*u));
	v = calloc(m + 1, sizeof(*v));
	minv = malloc((m + 1) * sizeof(*minv));
	p = calloc(m + 1, sizeof(*p));
	way = calloc(m + 1, sizeof(*way));
	used = malloc(m + 1);
	if (!u || !v || !minv || !p || !way || !used) {
		ret = -1;
		goto out;
	}
	for (size_t i = 1; i <= n; i++) {
		size_t j0 = 0;

		p[0] = i;
		for (size_t j = 0; j <= m; j++) {
			minv[j] = INFINITY;
			used[j] = 0;
		}
		do {
			size_t i0 = p[j0], j1 = 0;
			double delta = INFINITY;
			const struct pairing_point *r = &rows[i0 - 1];

			used[j0] = 1;
			for (size_t j = 1; j <= m; j++) {
				if (used[j])
					continue;
				double cur = dist(r, &cols[j - 1]) - u[i0] - v[j];

				if (cur < minv[j]) {
					minv[j] = cur;
					way[j] = j0;
				}
				if (minv[j] < delta) {
					delta = minv[j];
					j1 = j;
				}
			}
			for (size_t j = 0; j <= m; j++) {
				if (used[j]) {
					u[p[j]] += delta;
					v[j] -= delta;
				} else {
					minv[j] -= delta;
				}
			}
			j0 = j1;
		} while (p[j0] != 0);
		do {
			size_t j1 = way[j0];

			p[j0] = p[j1];
			j0 = j1;
		} while (j0);
	}
	/* p[j] = the row of column j (0: none) */
	{
		size_t *col_of = way; /* reuse: row -> column */

		for (size_t j = 1; j <= m; j++)
			if (p[j])
				col_of[p[j] - 1] = j - 1;
		if (!flip) {
			for (size_t i = 0; i < n; i++)
				out[i] =
				    (struct pairing_pair){(uint32_t)i, (uint32_t)col_of[i],
				                          dist(&riders[i], &drivers[col_of[i]])};
		} else {
			/* riders are the columns: in increasing rider index */
			size_t k = 0;

			for (size_t j = 1; j <= m; j++)
				if (p[j]) {
					out[k] = (struct pairing_pair){
					    (uint32_t)(j - 1), (uint32_t)(p[j] - 1),
					    dist(&riders[j - 1], &drivers[p[j] - 1])};
					k++;
				}
		}
	}
out:
	free(u);
	free(v);
	free(minv);
	free(p);
	free(way);
	free(used);
	return ret;
}
