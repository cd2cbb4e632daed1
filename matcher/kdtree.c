/* kdtree.c — the 2-d k-d tree of kdtree.h.
 *
 * Layout: an implicit, complete binary tree, 1-based (node i has children
 * 2i, 2i+1; the root is 1; leaf j is node L+j), whose leaf j holds slots
 * [8j, 8j+8) (leaves fill from the left; trailing ones may be empty). Each
 * node cuts its slots at a leaf boundary near the middle, by quickselect on
 * the wider side of its cell. The leaves' coordinates are stored leaf by
 * leaf as x[8] then y[8] (128 bytes, two cache lines); a byte per leaf marks
 * its dead (removed or absent) slots. Every node keeps a bounding box of
 * its live points in float, rounded outward (16 bytes; two siblings share
 * 32 aligned bytes): empty subtrees (x0 > x1) are skipped and boxes shrink
 * as points are removed. Removal only sets the dead bit, so a point's slot
 * never changes and callers may hold slots. The build's work array (x, y,
 * index) stays in slot order afterwards; it gives a slot's index.
 *
 * Exactness: the squared distance from a query to a box is computed with the
 * same operations as to a point, using the box edge instead of the point's
 * coordinate. The float box contains the exact box of its points, and
 * rounding is monotone, so that is never larger than the computed squared
 * distance to any point inside; a subtree is skipped only when its box is
 * STRICTLY farther than the current bound, so an equally distant point with
 * a lower index is never missed. Distances to points are exact doubles.
 *
 * Queries and the Z-order curve are in kdsearch.c; the layout is in the
 * private kdtree_int.h.
 *
 * Memory: big arrays are 2 MB aligned and advised as huge pages (fewer page
 * faults and TLB misses); a tree may be reused for another n (kd_renew)
 * without giving its buffers back.
 */
#include "kdtree.h"
#include "kdtree_int.h"

#include "bigalloc.h"
#include "kdselect.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct kd_fbox empty_fbox = {INFINITY, INFINITY, -INFINITY, -INFINITY};

/* ---- memory ---- */

static void *alloc_n(size_t *bytes, size_t n, size_t size)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / size)
		return NULL;
	*bytes += n * size;
	return big_alloc(n * size);
}

size_t kd_leaves_for(size_t n)
{
	size_t L = 1;
	while (L * KD_LEAF < n)
		L *= 2;
	return L;
}

static size_t used_for(size_t n)
{
	return n ? (n + KD_LEAF - 1) / KD_LEAF : 1;
}

static size_t bytes_for_cap(size_t n)
{
	size_t L = kd_leaves_for(n), u = used_for(n), m = n ? n : 1;
	return sizeof(struct kd_tree) + m * (sizeof(struct kd_rec) + sizeof(uint32_t)) +
	       u * (2 * KD_LEAF * sizeof(double) + 1) + 2 * L * sizeof(struct kd_fbox);
}

size_t kd_bytes_for(size_t n)
{
	return bytes_for_cap(n);
}

size_t kd_build_scratch_for(size_t n)
{
	(void)n;
	return 0; /* the build works in place */
}

static void free_bufs(struct kd_tree *t)
{
	free(t->rec);
	free(t->pos);
	free(t->lxy);
	free(t->dead);
	free(t->box);
	t->rec = NULL;
	t->pos = NULL;
	t->lxy = NULL;
	t->dead = NULL;
	t->box = NULL;
	t->cap_n = t->cap_leaves = 0;
	t->bytes = sizeof *t;
}

struct kd_tree *kd_renew(struct kd_tree *t, size_t n, size_t spare)
{
	if (n >= KD_NONE)
		return NULL;
	if (!t) {
		t = calloc(1, sizeof *t);
		if (!t)
			return NULL;
		t->bytes = sizeof *t;
	}
	size_t L = kd_leaves_for(n);
	if (n > t->cap_n || L > t->cap_leaves || (t->cap_n > 4 * n + 4096)) {
		size_t cap = n + (spare < KD_NONE - 1 - n ? spare : 0);
		free_bufs(t);
		size_t CL = kd_leaves_for(cap), u = used_for(cap), bytes = sizeof *t;
		t->rec = alloc_n(&bytes, cap, sizeof *t->rec);
		t->pos = alloc_n(&bytes, cap, sizeof *t->pos);
		t->lxy = alloc_n(&bytes, u, 2 * KD_LEAF * sizeof(double));
		t->dead = alloc_n(&bytes, u, 1);
		t->box = alloc_n(&bytes, 2 * CL, sizeof *t->box);
		if (!t->rec || !t->pos || !t->lxy || !t->dead || !t->box) {
			kd_free(t);
			return NULL;
		}
		t->cap_n = cap;
		t->cap_leaves = CL;
		t->bytes = bytes;
	}
	t->n = n;
	t->live = 0;
	t->built = 0;
	t->nleaves = (uint32_t)L;
	t->nused = (uint32_t)used_for(n);
	for (size_t i = 0; i < n; i++) {
		t->rec[i] = (struct kd_rec){0.0, 0.0, (uint32_t)i, 0};
		t->pos[i] = (uint32_t)i;
	}
	return t;
}

struct kd_tree *kd_new(size_t n)
{
	return kd_renew(NULL, n, 0);
}

void kd_free(struct kd_tree *t)
{
	if (!t)
		return;
	free_bufs(t);
	free(t);
}

void kd_set(struct kd_tree *t, uint32_t i, double x, double y)
{
	if (i >= t->n)
		return;
	struct kd_rec *r = &t->rec[t->pos[i]];
	r->x = x;
	r->y = y;
}

size_t kd_size(const struct kd_tree *t)
{
	return t->n;
}
size_t kd_live(const struct kd_tree *t)
{
	return t->built ? t->live : 0;
}
size_t kd_bytes(const struct kd_tree *t)
{
	return t->bytes;
}
const uint8_t *kd_dead_map(const struct kd_tree *t)
{
	return t->dead;
}

/* ---- building ---- */

/* The float box of leaf j's live points. */
static struct kd_fbox leaf_box(const struct kd_tree *t, uint32_t j)
{
	unsigned live = ~(unsigned)t->dead[j] & 0xffu;
	if (!live)
		return empty_fbox;
	const double *px = t->lxy + (size_t)j * 2 * KD_LEAF, *py = px + KD_LEAF;
	double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
	for (unsigned k = 0; k < KD_LEAF; k++) {
		if (!(live >> k & 1))
			continue;
		if (px[k] < x0)
			x0 = px[k];
		if (px[k] > x1)
			x1 = px[k];
		if (py[k] < y0)
			y0 = py[k];
		if (py[k] > y1)
			y1 = py[k];
	}
	return (struct kd_fbox){kd_f_down(x0), kd_f_down(y0), kd_f_up(x1), kd_f_up(y1)};
}

static inline struct kd_fbox box_union(const struct kd_fbox *a, const struct kd_fbox *b)
{
	return (struct kd_fbox){a->x0 < b->x0 ? a->x0 : b->x0, a->y0 < b->y0 ? a->y0 : b->y0,
	                        a->x1 > b->x1 ? a->x1 : b->x1, a->y1 > b->y1 ? a->y1 : b->y1};
}

static inline double key(const struct kd_rec *r, int d)
{
	return d ? r->y : r->x;
}

/* Covers leaves [a, b), i.e. slots [8a, 8b) clipped to n, within the cell
 * [cx0, cx1] x [cy0, cy1] (bounds of its points; the cut side is the wider
 * side of the cell). Leaves fill from the left, so a split falls at a leaf
 * boundary: near the median, not always on it. With split > 0 only the top
 * split levels are cut, and the subtrees below are left to kd_build_part:
 * their cells are recorded, left to right (split < 0: all levels). */
static void build(struct kd_tree *t, size_t a, size_t b, double cx0, double cy0, double cx1,
                  double cy1, int split)
{
	if (split == 0) {
		t->part[t->nparts++] = (struct kd_part){cx0, cy0, cx1, cy1};
		return;
	}
	size_t lo = a << KD_LEAF_SHIFT, hi = b << KD_LEAF_SHIFT;
	if (lo > t->n)
		lo = t->n;
	if (hi > t->n)
		hi = t->n;
	if (split < 0 && (b - a <= 1 || hi - lo <= 1))
		return;
	int d = (cy1 - cy0) > (cx1 - cx0), sub = split > 0 ? split - 1 : -1;
	size_t m = (a + b) / 2, mid = m << KD_LEAF_SHIFT;
	if (mid > lo && mid < hi) {
		kdsel_select(t->rec, sizeof(*t->rec), lo, hi - 1, mid, d);
		double c = key(&t->rec[mid], d);
		if (d) {
			build(t, a, m, cx0, cy0, cx1, c, sub);
			build(t, m, b, cx0, c, cx1, cy1, sub);
		} else {
			build(t, a, m, cx0, cy0, c, cy1, sub);
			build(t, m, b, c, cy0, cx1, cy1, sub);
		}
	} else {
		build(t, a, m, cx0, cy0, cx1, cy1, sub);
		build(t, m, b, cx0, cy0, cx1, cy1, sub);
	}
}

unsigned kd_build_start(struct kd_tree *t, unsigned parts)
{
	size_t n = t->n;
	t->built = 0;
	t->live = 0;
	double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		const struct kd_rec *r = &t->rec[i];
		if (r->x < x0)
			x0 = r->x;
		if (r->x > x1)
			x1 = r->x;
		if (r->y < y0)
			y0 = r->y;
		if (r->y > y1)
			y1 = r->y;
	}
	t->fx0 = x0;
	t->fy0 = y0;
	t->fsx = x1 > x0 ? 4294967295.0 / (x1 - x0) : 0.0;
	t->fsy = y1 > y0 ? 4294967295.0 / (y1 - y0) : 0.0;
	if (!isfinite(t->fsx))
		t->fsx = 0.0;
	if (!isfinite(t->fsy))
		t->fsy = 0.0;

	int split = 0; /* parts: the largest power of two <= parts, <= the leaves */
	while (split < 3 && 2u << split <= parts && 2u << split <= t->nleaves)
		split++;
	t->nparts = 0;
	build(t, 0, t->nleaves, x0, y0, x1, y1, split);
	return t->nparts;
}

void kd_build_part(struct kd_tree *t, unsigned i)
{
	if (i >= t->nparts)
		return;
	uint32_t L = t->nleaves, a = L / t->nparts * i, b = a + L / t->nparts;
	const struct kd_part *p = &t->part[i];
	size_t n = t->n;

	build(t, a, b, p->cx0, p->cy0, p->cx1, p->cy1, -1);
	for (uint32_t j = a; j < b && j < t->nused; j++) {
		double *px = t->lxy + (size_t)j * 2 * KD_LEAF, *py = px + KD_LEAF;
		unsigned dead = 0;
		for (unsigned k = 0; k < KD_LEAF; k++) {
			size_t s = (size_t)j * KD_LEAF + k;
			if (s < n) {
				px[k] = t->rec[s].x;
				py[k] = t->rec[s].y;
				t->pos[t->rec[s].id] = (uint32_t)s;
			} else {
				px[k] = py[k] = 0.0;
				dead |= 1u << k;
			}
		}
		t->dead[j] = (uint8_t)(n ? dead : 0xff);
		t->box[L + j] = leaf_box(t, j);
	}
	for (uint32_t j = a > t->nused ? a : t->nused; j < b; j++)
		t->box[L + j] = empty_fbox;
	/* the part's inner nodes, a level at a time from the leaves up to its
	 * root (b - a is a power of two): nothing above, which other parts read */
	for (unsigned k = 1; (1u << k) <= b - a; k++)
		for (uint32_t node = (L + b) >> k; node-- > (L + a) >> k;)
			t->box[node] = box_union(&t->box[2 * node], &t->box[2 * node + 1]);
}

void kd_build_finish(struct kd_tree *t)
{
	for (uint32_t node = t->nparts; node-- > 1;)
		t->box[node] = box_union(&t->box[2 * node], &t->box[2 * node + 1]);
	t->live = t->n;
	t->built = 1;
}

int kd_build(struct kd_tree *t)
{
	kd_build_start(t, 1);
	kd_build_part(t, 0);
	kd_build_finish(t);
	return 0;
}

/* ---- removal ---- */

int kd_slot_live(const struct kd_tree *t, uint32_t slot)
{
	return t->built && slot < t->n &&
	       !(t->dead[slot >> KD_LEAF_SHIFT] >> (slot & (KD_LEAF - 1)) & 1);
}

int kd_is_live(const struct kd_tree *t, uint32_t i)
{
	return i < t->n && kd_slot_live(t, t->pos[i]);
}

uint32_t kd_slot_index(const struct kd_tree *t, uint32_t slot)
{
	return slot < t->n ? t->rec[slot].id : KD_NONE;
}

static inline int fbox_eq(const struct kd_fbox *a, const struct kd_fbox *b)
{
	return a->x0 == b->x0 && a->y0 == b->y0 && a->x1 == b->x1 && a->y1 == b->y1;
}

void kd_prefetch_slot(const struct kd_tree *t, uint32_t slot)
{
	uint32_t j = slot >> KD_LEAF_SHIFT;
	const double *px = t->lxy + (size_t)j * 2 * KD_LEAF + (slot & (KD_LEAF - 1));
	__builtin_prefetch(px);
	__builtin_prefetch(px + KD_LEAF);
	__builtin_prefetch(&t->box[t->nleaves + j]);
}

int kd_remove_slot(struct kd_tree *t, uint32_t slot)
{
	if (!kd_slot_live(t, slot))
		return -1;
	uint32_t j = slot >> KD_LEAF_SHIFT;
	t->dead[j] |= (uint8_t)(1u << (slot & (KD_LEAF - 1)));
	t->live--;
	/* Boxes only while they actually shrink: the leaf's box is the rounded
	 * box of its live points, so it changes only if the removed point lies
	 * on one of its edges once rounded (the last live point lies on all). */
	uint32_t node = t->nleaves + j;
	const double *px = t->lxy + (size_t)j * 2 * KD_LEAF + (slot & (KD_LEAF - 1));
	const struct kd_fbox *ob = &t->box[node];
	if (kd_f_down(px[0]) != ob->x0 && kd_f_up(px[0]) != ob->x1 &&
	    kd_f_down(px[KD_LEAF]) != ob->y0 && kd_f_up(px[KD_LEAF]) != ob->y1)
		return 0;
	struct kd_fbox nb = leaf_box(t, j);
	if (fbox_eq(&nb, &t->box[node]))
		return 0;
	t->box[node] = nb;
	while (node > 1) {
		node >>= 1;
		nb = box_union(&t->box[2 * node], &t->box[2 * node + 1]);
		if (fbox_eq(&nb, &t->box[node]))
			break;
		t->box[node] = nb;
	}
	return 0;
}

int kd_remove(struct kd_tree *t, uint32_t i)
{
	if (i >= t->n)
		return -1;
	return kd_remove_slot(t, t->pos[i]);
}
