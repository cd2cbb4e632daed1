/* kdtree.h — a 2-d k-d tree over a fixed set of points (the waiting drivers of
 * one tick), built once, with removal of taken points and nearest-live-point
 * queries. Pure C: no I/O, no globals, no exit().
 *
 * Distances are SQUARED Euclidean distances computed exactly as
 *     dx = qx - px;  dy = qy - py;  d2 = dx*dx + dy*dy;
 * in double precision, so callers comparing against a brute force that uses
 * the same expression get bit-identical results. (On targets with fused
 * multiply-add, build with -ffp-contract=off so the compiler does not fuse
 * that expression differently in different places; x86-64 baseline has no FMA.)
 * Coordinates must be finite (no NaN, no infinity).
 *
 * Life cycle:  t = kd_new(n);  kd_set(t, i, x, y) for every i < n;  kd_build(t);
 *              then any mix of kd_nearest / kd_remove / kd_is_live;  kd_free(t).
 * All memory is allocated by kd_new; nothing after it allocates or fails for
 * lack of memory. The tree is owned by the caller and holds no pointer to the
 * caller's data (points are copied by kd_set).
 */
#ifndef RS_KDTREE_H
#define RS_KDTREE_H

#include <stddef.h>
#include <stdint.h>

/* Returned by kd_nearest when no live point is left. */
#define KD_NONE UINT32_MAX

struct kd_tree;

/* Allocates a tree for n points, numbered 0..n-1 (n may be 0). Returns NULL
 * if memory runs out or n >= KD_NONE. Free it with kd_free. */
struct kd_tree *kd_new(size_t n);

/* Frees the tree; NULL is allowed. */
void kd_free(struct kd_tree *t);

/* Sets point i (i < n) before kd_build. Ignored if i is out of range. */
void kd_set(struct kd_tree *t, uint32_t i, double x, double y);

/* Builds the tree from the points set so far; afterwards every point is live.
 * May be called again (after more kd_set calls) to rebuild. Cannot fail. */
void kd_build(struct kd_tree *t);

/* Number of points the tree was allocated for, and number still live. */
size_t kd_size(const struct kd_tree *t);
size_t kd_live(const struct kd_tree *t);

/* 1 if point i is live (built and not removed), else 0. */
int kd_is_live(const struct kd_tree *t, uint32_t i);

/* Removes point i. Returns 0, or -1 if i is out of range or already removed. */
int kd_remove(struct kd_tree *t, uint32_t i);

/* The live point nearest to (x, y): the smallest squared distance, and among
 * points at exactly that squared distance the lowest index. Stores the squared
 * distance in *d2 (if d2 is not NULL) and returns the index, or returns
 * KD_NONE (and leaves *d2 alone) if no point is live. */
uint32_t kd_nearest(const struct kd_tree *t, double x, double y, double *d2);

/* Number of leaves, and the leaf (0 .. kd_leaves()-1) that (x, y) falls in.
 * Leaves are numbered in tree order, so queries issued in increasing leaf
 * order touch memory coherently. Only a hint for ordering; no correctness
 * depends on it. */
size_t kd_leaves(const struct kd_tree *t);
size_t kd_leaves_for(size_t n); /* kd_leaves() of a tree of n points */
uint32_t kd_locate(const struct kd_tree *t, double x, double y);

/* Bytes allocated by kd_new for this tree (all of them, including itself),
 * and what kd_new(n) would allocate, without allocating. */
size_t kd_bytes(const struct kd_tree *t);
size_t kd_bytes_for(size_t n);

#endif
