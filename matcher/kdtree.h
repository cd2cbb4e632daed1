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
 * Memory is allocated by kd_new and (scratch, freed again) by kd_build; the
 * queries and removals never allocate or fail for lack of memory. The tree
 * is owned by the caller and holds no pointer to the caller's data (points
 * are copied by kd_set).
 *
 * Shape: a complete binary tree of median-ish cuts (on the wider side of
 * each node's cell) down to leaves of at most 8 points, with float bounding
 * boxes (rounded outward; pruning only) that shrink as points are removed;
 * about 50 bytes per point (kd_bytes_for).
 */
#ifndef RS_MATCHER_KDTREE_H
#define RS_MATCHER_KDTREE_H

#include <stddef.h>
#include <stdint.h>

/* Returned by kd_nearest when no live point is left. */
#define KD_NONE UINT32_MAX

struct kd_tree;

/* Allocates a tree for n points, numbered 0..n-1 (n may be 0). Returns NULL
 * if memory runs out or n >= KD_NONE. Free it with kd_free. */
struct kd_tree *kd_new(size_t n);

/* Reuses t (or allocates a new tree if t is NULL) for n points, numbered
 * 0..n-1, as if just returned by kd_new(n): every point is at (0, 0) and
 * the tree is not built. Keeps t's buffers when they are big enough (and not
 * more than about 4 times too big); otherwise reallocates them with room for
 * n + spare points. Returns the tree, or NULL if memory runs out or
 * n >= KD_NONE (t is then freed). Meant for rebuilding every tick without
 * paying for fresh memory each time. */
struct kd_tree *kd_renew(struct kd_tree *t, size_t n, size_t spare);

/* Frees the tree; NULL is allowed. */
void kd_free(struct kd_tree *t);

/* Sets point i (i < n) before kd_build. Ignored if i is out of range. */
void kd_set(struct kd_tree *t, uint32_t i, double x, double y);

/* Builds the tree from the points set so far; afterwards every point is live.
 * May be called again (after more kd_set calls) to rebuild. Returns 0; -1 is
 * reserved for a build that would need scratch memory and could not get it
 * (the tree is then empty until a kd_build succeeds). It currently works in
 * place and never fails. */
int kd_build(struct kd_tree *t);

/* kd_build in steps, so that a caller can build parts of the tree on
 * threads of its own: kd_build_start(t, parts) finds the bounds (the curve
 * keys below are valid from then on), cuts the top of the tree and returns
 * how many parts are left to build: the largest power of two <= parts, at
 * most KD_PARTS_MAX, at least 1. kd_build_part(t, i) builds part i; parts
 * may be built in any order, concurrently (they share no memory). Then
 * kd_build_finish(t). The tree equals kd_build's, node for node. */
#define KD_PARTS_MAX 8
unsigned kd_build_start(struct kd_tree *t, unsigned parts);
void kd_build_part(struct kd_tree *t, unsigned i);
void kd_build_finish(struct kd_tree *t);

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

/* Slots: after kd_build every point sits in a fixed slot 0..n-1 (its place in
 * the tree's order; removal does not move points). Working with slots saves
 * the index -> slot lookup in hot loops. kd_nearest_slot is kd_nearest
 * returning the slot (or KD_NONE); kd_slot_index maps a slot back to the
 * point's index; kd_remove_slot / kd_slot_live are kd_remove / kd_is_live by
 * slot (slot must be < n). */
uint32_t kd_nearest_slot(const struct kd_tree *t, double x, double y, double *d2);

/* The dead map: bit (slot & 7) of byte (slot >> 3) is set when the slot is
 * not live (removed, or not built). Valid while the tree is built and not
 * renewed; lets hot loops test liveness without a call. */
const uint8_t *kd_dead_map(const struct kd_tree *t);
uint32_t kd_slot_index(const struct kd_tree *t, uint32_t slot);
/* A hint: starts loading what kd_remove_slot(t, slot) reads (slot < n). */
void kd_prefetch_slot(const struct kd_tree *t, uint32_t slot);
int kd_remove_slot(struct kd_tree *t, uint32_t slot);
int kd_slot_live(const struct kd_tree *t, uint32_t slot);

/* A point's position on a Z-order (Morton) curve over the bounding box of the
 * tree's points (points outside are clamped onto it): issuing queries in
 * increasing key order makes them touch the tree coherently. Only a hint; no
 * correctness depends on it. Valid after kd_build. */
uint64_t kd_curve_key(const struct kd_tree *t, double x, double y);

/* Sorts a[0..n) by key, stably, using tmp[0..n) as scratch (LSD radix). */
struct kd_kv {
	uint64_t key;
	uint32_t val;
	uint32_t pad;
};
void kd_sort_kv(struct kd_kv *a, struct kd_kv *tmp, size_t n);

/* Number of leaves of a tree of n points (each holds at most 8 points). */
size_t kd_leaves_for(size_t n);

/* Bytes allocated by kd_new for this tree (all of them, including itself),
 * and what kd_new(n) would allocate, without allocating; kd_build needs
 * kd_build_scratch_for(n) more while it runs. */
size_t kd_bytes(const struct kd_tree *t);
size_t kd_bytes_for(size_t n);
size_t kd_build_scratch_for(size_t n);

#endif
