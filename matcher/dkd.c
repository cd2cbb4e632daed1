/* dkd.c - see dkd.h.
 *
 * Exactness of the pruning: a node's box is the exact min/max of its
 * points' coordinates, so for a point p in it |qx - px| >= |qx - edge| for
 * the nearer edge, and rounding is monotone, so the box's squared distance,
 * computed with the same operations, is never above the point's. A subtree is
 * skipped only when its box is STRICTLY farther than the best so far, so an
 * equally distant point with a smaller key is never missed. */
#include "dkd.h"
#include "kdselect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEAF_MAX 16

struct dnode {
	double x0, y0, x1, y1; /* box of the points; empty: x0 > x1 */
	size_t n;              /* points below */
	struct dnode *l, *r;   /* both NULL for a leaf */
	double cut;            /* internal: coordinate of the cut */
	int dim;               /* internal: 0 = x, 1 = y */
	uint32_t cnt, cap;     /* leaf: its points */
	struct dkd_point *pt;
};

struct dkd {
	struct dnode *root;
};

static void box_empty(struct dnode *d)
{
	d->x0 = d->y0 = INFINITY;
	d->x1 = d->y1 = -INFINITY;
}

static void box_add(struct dnode *d, double x, double y)
{
	if (x < d->x0)
		d->x0 = x;
	if (x > d->x1)
		d->x1 = x;
	if (y < d->y0)
		d->y0 = y;
	if (y > d->y1)
		d->y1 = y;
}

static void box_refresh(struct dnode *d)
{
	box_empty(d);
	if (!d->l) {
		for (uint32_t i = 0; i < d->cnt; i++)
			box_add(d, d->pt[i].x, d->pt[i].y);
		return;
	}
	if (d->l->n) {
		box_add(d, d->l->x0, d->l->y0);
		box_add(d, d->l->x1, d->l->y1);
	}
	if (d->r->n) {
		box_add(d, d->r->x0, d->r->y0);
		box_add(d, d->r->x1, d->r->y1);
	}
}

static int box_has(const struct dnode *d, double x, double y)
{
	return d->n && x >= d->x0 && x <= d->x1 && y >= d->y0 && y <= d->y1;
}

static void node_free(struct dnode *d)
{
	if (!d)
		return;
	node_free(d->l);
	node_free(d->r);
	free(d->pt);
	free(d);
}

struct dkd *dkd_new(void)
{
	return calloc(1, sizeof(struct dkd));
}

void dkd_free(struct dkd *t)
{
	if (!t)
		return;
	node_free(t->root);
	free(t);
}

size_t dkd_size(const struct dkd *t)
{
	return t->root ? t->root->n : 0;
}

static inline double coord(const struct dkd_point *p, int dim)
{
	return dim ? p->y : p->x;
}

/* Makes d (its fields other than the leaf's buffer unset) a balanced subtree
 * over a[0..n), which it may reorder. -1 if memory runs out (d is then a
 * partial tree that node_free frees). */
static int build(struct dnode *d, struct dkd_point *a, size_t n)
{
	d->n = n;
	d->l = d->r = NULL;
	d->pt = NULL;
	d->cnt = d->cap = 0;
	box_empty(d);
	for (size_t i = 0; i < n; i++)
		box_add(d, a[i].x, a[i].y);
	if (n <= LEAF_MAX) {
		d->cap = LEAF_MAX + 1;
		d->pt = malloc(d->cap * sizeof(*d->pt));
		if (!d->pt)
			return -1;
		if (n)
			memcpy(d->pt, a, n * sizeof(*a));
		d->cnt = (uint32_t)n;
		return 0;
	}
	d->dim = (d->y1 - d->y0) > (d->x1 - d->x0);
	kdsel_select(a, sizeof(*a), 0, n - 1, n / 2, d->dim);
	d->cut = coord(&a[n / 2], d->dim);
	d->l = calloc(1, sizeof(*d->l));
	d->r = calloc(1, sizeof(*d->r));
	if (!d->l || !d->r)
		return -1;
	if (build(d->l, a, n / 2) < 0 || build(d->r, a + n / 2, n - n / 2) < 0)
		return -1;
	return 0;
}

static void collect(const struct dnode *d, struct dkd_point *out, size_t *k)
{
	if (!d->l) {
		memcpy(out + *k, d->pt, d->cnt * sizeof(*out));
		*k += d->cnt;
		return;
	}
	collect(d->l, out, k);
	collect(d->r, out, k);
}

/* Rebuilds the subtree at d balanced; on lack of memory leaves it as it was
 * (still a valid tree, only less balanced). 0 or -1. */
static int rebuild(struct dnode *d)
{
	size_t n = d->n, k = 0;
	struct dkd_point *a = malloc((n ? n : 1) * sizeof(*a));
	struct dnode tmp;

	if (!a)
		return -1;
	collect(d, a, &k);
	if (build(&tmp, a, n) < 0) {
		node_free(tmp.l);
		node_free(tmp.r);
		free(tmp.pt);
		free(a);
		return -1;
	}
	node_free(d->l);
	node_free(d->r);
	free(d->pt);
	*d = tmp;
	free(a);
	return 0;
}

static int unbalanced(const struct dnode *d)
{
	if (!d->l || d->n <= 2 * LEAF_MAX)
		return 0;
	size_t big = d->l->n > d->r->n ? d->l->n : d->r->n;
	return big * 4 > d->n * 3;
}

static struct dnode *child_for(const struct dnode *d, double x, double y)
{
	double c = d->dim ? y : x;

	if (c < d->cut)
		return d->l;
	if (c > d->cut)
		return d->r;
	return d->l->n <= d->r->n ? d->l : d->r; /* on the cut: the smaller side */
}

#define PATH_MAX_DEPTH 256 /* deeper nodes are not checked for balance */

int dkd_insert(struct dkd *t, double x, double y, uint64_t key)
{
	struct dnode *path[PATH_MAX_DEPTH], *d;
	int depth = 0;

	if (!t->root) {
		t->root = calloc(1, sizeof(*t->root));
		if (!t->root || build(t->root, NULL, 0) < 0) {
			node_free(t->root);
			t->root = NULL;
			return -1;
		}
	}
	/* find the leaf first, so that a failed allocation changes nothing */
	for (d = t->root; d->l; d = child_for(d, x, y))
		;
	if (d->cnt == d->cap) {
		uint32_t cap = d->cap ? 2 * d->cap : LEAF_MAX + 1;
		struct dkd_point *p = realloc(d->pt, cap * sizeof(*p));

		if (!p)
			return -1;
		d->pt = p;
		d->cap = cap;
	}
	for (d = t->root;; d = child_for(d, x, y)) {
		if (depth < PATH_MAX_DEPTH)
			path[depth++] = d;
		d->n++;
		box_add(d, x, y);
		if (!d->l)
			break;
	}
	d->pt[d->cnt++] = (struct dkd_point){x, y, key};
	/* the highest subtree on the path that is now unbalanced, or else the
	 * leaf if it overflowed, is rebuilt */
	for (int i = 0; i < depth; i++)
		if (unbalanced(path[i]) || (!path[i]->l && path[i]->cnt > LEAF_MAX)) {
			(void)rebuild(path[i]);
			break;
		}
	return 0;
}

/* Removes the point below d; 1 if found. *scape: the highest node on the
 * way that is left unbalanced. */
static int remove_below(struct dnode *d, double x, double y, uint64_t key, struct dnode **scape)
{
	if (!box_has(d, x, y))
		return 0;
	if (!d->l) {
		for (uint32_t i = 0; i < d->cnt; i++)
			if (d->pt[i].key == key && d->pt[i].x == x && d->pt[i].y == y) {
				d->pt[i] = d->pt[--d->cnt];
				d->n--;
				box_refresh(d);
				return 1;
			}
		return 0;
	}
	if (!remove_below(d->l, x, y, key, scape) && !remove_below(d->r, x, y, key, scape))
		return 0;
	d->n--;
	box_refresh(d);
	if (unbalanced(d))
		*scape = d; /* callers above overwrite it: the highest wins */
	return 1;
}

int dkd_remove(struct dkd *t, double x, double y, uint64_t key)
{
	struct dnode *scape = NULL;

	if (!t->root || !remove_below(t->root, x, y, key, &scape))
		return -1;
	if (scape)
		(void)rebuild(scape);
	return 0;
}

static int contains_below(const struct dnode *d, double x, double y, uint64_t key)
{
	if (!box_has(d, x, y))
		return 0;
	if (!d->l) {
		for (uint32_t i = 0; i < d->cnt; i++)
			if (d->pt[i].key == key && d->pt[i].x == x && d->pt[i].y == y)
				return 1;
		return 0;
	}
	return contains_below(d->l, x, y, key) || contains_below(d->r, x, y, key);
}

int dkd_contains(const struct dkd *t, double x, double y, uint64_t key)
{
	return t->root && contains_below(t->root, x, y, key);
}

/* Squared distance from (x, y) to d's box; a lower bound (see the top). */
static inline double box_d2(const struct dnode *d, double x, double y)
{
	double dx = 0.0, dy = 0.0;

	if (x < d->x0)
		dx = d->x0 - x;
	else if (x > d->x1)
		dx = x - d->x1;
	if (y < d->y0)
		dy = d->y0 - y;
	else if (y > d->y1)
		dy = y - d->y1;
	return dx * dx + dy * dy;
}

struct best {
	const struct dkd_point *p;
	double d2;
};

/* Visits d (whose box is bd from the query, bd <= b->d2), nearer child first. */
static void nearest_below(const struct dnode *d, double x, double y, struct best *b)
{
	if (!d->l) {
		for (uint32_t i = 0; i < d->cnt; i++) {
			double dx = x - d->pt[i].x, dy = y - d->pt[i].y;
			double dd = dx * dx + dy * dy;

			if (!b->p || dd < b->d2 || (dd == b->d2 && d->pt[i].key < b->p->key)) {
				b->d2 = dd;
				b->p = &d->pt[i];
			}
		}
		return;
	}
	const struct dnode *nn = d->l, *fn = d->r;
	double dn = nn->n ? box_d2(nn, x, y) : INFINITY, df = fn->n ? box_d2(fn, x, y) : INFINITY;

	if (df < dn) {
		nn = d->r, fn = d->l;
		double t = dn;
		dn = df, df = t;
	}
	if (nn->n && dn <= b->d2)
		nearest_below(nn, x, y, b);
	if (fn->n && df <= b->d2)
		nearest_below(fn, x, y, b);
}

int dkd_nearest(const struct dkd *t, double x, double y, struct dkd_point *p, double *d2)
{
	struct best b = {NULL, INFINITY};

	if (!t->root || !t->root->n)
		return -1;
	nearest_below(t->root, x, y, &b);
	*p = *b.p;
	*d2 = b.d2;
	return 0;
}

static int depth_below(const struct dnode *d)
{
	if (!d->l)
		return 1;
	int a = depth_below(d->l), b = depth_below(d->r);
	return 1 + (a > b ? a : b);
}

int dkd_depth(const struct dkd *t)
{
	return t->root ? depth_below(t->root) : 0;
}
