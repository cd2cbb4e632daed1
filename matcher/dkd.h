/* dkd.h - a dynamic 2-d k-d tree: points inserted and removed one at a time,
 * nearest-point queries with exact ties. Kept between ticks for the waiting
 * side of the pool (incr.c), where kdtree.h's static tree would have to be
 * rebuilt over the whole pool every tick. Pure C: no I/O, no globals.
 *
 * A point is (x, y, key); keys are unique within a tree and order ties: the
 * nearest point is the one with the smallest squared distance, computed
 * exactly as dx = qx - px; dy = qy - py; d2 = dx*dx + dy*dy in double, and
 * among those the smallest key. Coordinates must be finite.
 *
 * Shape: leaves of up to 16 points, cut at the median of the wider side of
 * their box when they overflow; every node keeps the exact (double) bounding
 * box of its points and their count. A subtree whose larger child holds more
 * than 3/4 of its points is rebuilt balanced (scapegoat rule), so depth stays
 * logarithmic whatever the order of insertions and removals; inserting or
 * removing costs O(log n) amortized, a query O(log n) on spread points. */
#ifndef RS_MATCHER_DKD_H
#define RS_MATCHER_DKD_H

#include <stddef.h>
#include <stdint.h>

struct dkd;

struct dkd_point {
	double x, y;
	uint64_t key;
};

/* A new empty tree, or NULL if memory runs out. */
struct dkd *dkd_new(void);
/* Frees the tree; NULL is allowed. */
void dkd_free(struct dkd *t);
/* Inserts a point (its key must not be in the tree). 0, or -1 if memory runs
 * out (the tree is then unchanged). */
int dkd_insert(struct dkd *t, double x, double y, uint64_t key);
/* Removes the point (x, y, key). 0, or -1 if it is not in the tree. Never
 * fails for lack of memory (a rebuild that cannot get it is skipped). */
int dkd_remove(struct dkd *t, double x, double y, uint64_t key);
/* 1 if the point (x, y, key) is in the tree. */
int dkd_contains(const struct dkd *t, double x, double y, uint64_t key);
/* Points in the tree. */
size_t dkd_size(const struct dkd *t);
/* The nearest point to (x, y) (see above) into *p and its squared distance
 * into *d2. 0, or -1 if the tree is empty. */
int dkd_nearest(const struct dkd *t, double x, double y, struct dkd_point *p, double *d2);
/* Depth of the deepest leaf (tests). */
int dkd_depth(const struct dkd *t);

#endif
