/* kdtree.c — the 2-d k-d tree of kdtree.h.
 *
 * Layout: an implicit, complete binary tree (node i has children 2i+1, 2i+2)
 * with L = 2^depth leaves, each holding at most KD_LEAF points in a contiguous
 * slice of one record array. Every node keeps the tight bounding box of its
 * live points and their count, so empty subtrees are skipped and boxes shrink
 * as points are removed. A leaf keeps its live points at the front of its
 * slice: removal swaps the point with the leaf's last live one.
 *
 * Exactness: the squared distance from a query to a box is computed with the
 * same operations as to a point, using the box edge instead of the point's
 * coordinate. Rounding is monotone, so it is never larger than the computed
 * squared distance to any point inside; a subtree is skipped only when its
 * box is STRICTLY farther than the best found, so an equally distant point
 * with a lower index is never missed.
 */
#include "kdtree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef KD_LEAF
#define KD_LEAF 8 /* max points per leaf */
#endif

struct kd_rec {
    double x, y;
    uint32_t id;
    uint32_t pad;
};

struct kd_box {
    double x0, y0, x1, y1;
};

struct kd_tree {
    size_t n, live;
    uint32_t nleaves;   /* L, a power of two */
    uint32_t ninternal; /* L - 1; leaf j is node ninternal + j */
    int built;
    struct kd_rec *rec;  /* n points, grouped by leaf */
    uint32_t *pos;       /* n: index in rec of point id */
    uint32_t *leaf;      /* n: leaf of point id */
    uint32_t *leaf_lo;   /* L: first rec of each leaf */
    uint32_t *cnt;       /* 2L-1: live points under each node */
    struct kd_box *box;  /* 2L-1: bounding box of the live points */
    double *split;       /* L-1: splitting coordinate (for kd_locate) */
    uint8_t *dim;        /* L-1: splitting dimension, 0 = x, 1 = y */
    size_t bytes;
};

static const struct kd_box empty_box = {INFINITY, INFINITY, -INFINITY, -INFINITY};

static void *alloc_n(struct kd_tree *t, size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    t->bytes += n * size;
    return malloc(n * size);
}

size_t kd_leaves_for(size_t n)
{
    size_t L = 1;
    while (L * KD_LEAF < n)
        L *= 2;
    return L;
}

size_t kd_bytes_for(size_t n)
{
    size_t L = kd_leaves_for(n), nodes = 2 * L - 1;
#define B(k, size) ((k) ? (k) : 1) * (size)
    return sizeof(struct kd_tree) + B(n, sizeof(struct kd_rec)) + 2 * B(n, sizeof(uint32_t)) +
           B(L, sizeof(uint32_t)) + B(nodes, sizeof(uint32_t)) + B(nodes, sizeof(struct kd_box)) +
           B(L - 1, sizeof(double)) + B(L - 1, sizeof(uint8_t));
#undef B
}

struct kd_tree *kd_new(size_t n)
{
    if (n >= KD_NONE)
        return NULL;
    struct kd_tree *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->bytes = sizeof *t;
    t->n = n;
    uint32_t L = (uint32_t)kd_leaves_for(n);
    t->nleaves = L;
    t->ninternal = L - 1;
    size_t nodes = 2 * (size_t)L - 1;
    t->rec = alloc_n(t, n, sizeof *t->rec);
    t->pos = alloc_n(t, n, sizeof *t->pos);
    t->leaf = alloc_n(t, n, sizeof *t->leaf);
    t->leaf_lo = alloc_n(t, L, sizeof *t->leaf_lo);
    t->cnt = alloc_n(t, nodes, sizeof *t->cnt);
    t->box = alloc_n(t, nodes, sizeof *t->box);
    t->split = alloc_n(t, L - 1, sizeof *t->split);
    t->dim = alloc_n(t, L - 1, sizeof *t->dim);
    if (!t->rec || !t->pos || !t->leaf || !t->leaf_lo || !t->cnt || !t->box || !t->split || !t->dim) {
        kd_free(t);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        t->rec[i] = (struct kd_rec){0.0, 0.0, (uint32_t)i, 0};
        t->pos[i] = (uint32_t)i;
        t->leaf[i] = 0;
    }
    return t;
}

void kd_free(struct kd_tree *t)
{
    if (!t)
        return;
    free(t->rec);
    free(t->pos);
    free(t->leaf);
    free(t->leaf_lo);
    free(t->cnt);
    free(t->box);
    free(t->split);
    free(t->dim);
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

size_t kd_size(const struct kd_tree *t) { return t->n; }
size_t kd_live(const struct kd_tree *t) { return t->built ? t->live : 0; }
size_t kd_leaves(const struct kd_tree *t) { return t->nleaves; }
size_t kd_bytes(const struct kd_tree *t) { return t->bytes; }

static struct kd_box bbox_of(const struct kd_rec *r, size_t n)
{
    struct kd_box b = empty_box;
    for (size_t i = 0; i < n; i++) {
        if (r[i].x < b.x0) b.x0 = r[i].x;
        if (r[i].x > b.x1) b.x1 = r[i].x;
        if (r[i].y < b.y0) b.y0 = r[i].y;
        if (r[i].y > b.y1) b.y1 = r[i].y;
    }
    return b;
}

static inline double key(const struct kd_rec *r, int d) { return d ? r->y : r->x; }

/* Rearranges a[lo..hi] (inclusive) so that a[k] holds the element of that
 * rank by coordinate d, smaller-or-equal ones before it and larger-or-equal
 * ones after. Hoare partitioning around a median of three; equal keys are
 * split evenly, so duplicates do not degrade it. */
static void select_k(struct kd_rec *a, size_t lo, size_t hi, size_t k, int d)
{
    while (hi > lo) {
        size_t m = lo + (hi - lo) / 2;
        double p0 = key(&a[lo], d), p1 = key(&a[m], d), p2 = key(&a[hi], d);
        double p = p0 < p1 ? (p1 < p2 ? p1 : (p0 < p2 ? p2 : p0))
                           : (p0 < p2 ? p0 : (p1 < p2 ? p2 : p1));
        size_t i = lo, j = hi;
        for (;;) {
            while (key(&a[i], d) < p) i++;
            while (key(&a[j], d) > p) j--;
            if (i >= j)
                break;
            struct kd_rec tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
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

static void build(struct kd_tree *t, uint32_t node, size_t lo, size_t hi)
{
    struct kd_box b = bbox_of(t->rec + lo, hi - lo);
    t->box[node] = b;
    t->cnt[node] = (uint32_t)(hi - lo);
    if (node >= t->ninternal) {
        uint32_t j = node - t->ninternal;
        t->leaf_lo[j] = (uint32_t)lo;
        for (size_t k = lo; k < hi; k++) {
            t->pos[t->rec[k].id] = (uint32_t)k;
            t->leaf[t->rec[k].id] = j;
        }
        return;
    }
    int d = hi > lo && (b.y1 - b.y0) > (b.x1 - b.x0);
    size_t mid = lo + (hi - lo) / 2;
    if (hi - lo > 1)
        select_k(t->rec, lo, hi - 1, mid, d);
    t->dim[node] = (uint8_t)d;
    t->split[node] = mid < hi ? key(&t->rec[mid], d) : 0.0;
    build(t, 2 * node + 1, lo, mid);
    build(t, 2 * node + 2, mid, hi);
}

void kd_build(struct kd_tree *t)
{
    build(t, 0, 0, t->n);
    t->live = t->n;
    t->built = 1;
}

int kd_is_live(const struct kd_tree *t, uint32_t i)
{
    if (!t->built || i >= t->n)
        return 0;
    uint32_t j = t->leaf[i];
    return t->pos[i] < t->leaf_lo[j] + t->cnt[t->ninternal + j];
}

static inline struct kd_box box_union(const struct kd_tree *t, uint32_t node)
{
    uint32_t l = 2 * node + 1, r = l + 1;
    if (!t->cnt[l])
        return t->box[r];
    if (!t->cnt[r])
        return t->box[l];
    const struct kd_box *a = &t->box[l], *b = &t->box[r];
    return (struct kd_box){a->x0 < b->x0 ? a->x0 : b->x0, a->y0 < b->y0 ? a->y0 : b->y0,
                           a->x1 > b->x1 ? a->x1 : b->x1, a->y1 > b->y1 ? a->y1 : b->y1};
}

int kd_remove(struct kd_tree *t, uint32_t i)
{
    if (!kd_is_live(t, i))
        return -1;
    uint32_t j = t->leaf[i];
    uint32_t node = t->ninternal + j;
    uint32_t lo = t->leaf_lo[j];
    uint32_t last = lo + t->cnt[node] - 1;
    uint32_t p = t->pos[i];
    struct kd_rec tmp = t->rec[p];
    t->rec[p] = t->rec[last];
    t->rec[last] = tmp;
    t->pos[t->rec[p].id] = p;
    t->pos[i] = last;
    t->live--;

    /* Counts all the way up; boxes only while they actually shrink. */
    t->cnt[node]--;
    struct kd_box nb = bbox_of(t->rec + lo, t->cnt[node]);
    int shrinking = memcmp(&nb, &t->box[node], sizeof nb) != 0;
    t->box[node] = nb;
    while (node > 0) {
        node = (node - 1) / 2;
        t->cnt[node]--;
        if (shrinking) {
            nb = t->cnt[node] ? box_union(t, node) : empty_box;
            shrinking = memcmp(&nb, &t->box[node], sizeof nb) != 0;
            t->box[node] = nb;
        }
    }
    return 0;
}

/* Squared distance from (x, y) to box b; a lower bound (see top of file). */
static inline double box_d2(const struct kd_box *b, double x, double y)
{
    double dx = 0.0, dy = 0.0;
    if (x < b->x0)
        dx = b->x0 - x;
    else if (x > b->x1)
        dx = x - b->x1;
    if (y < b->y0)
        dy = b->y0 - y;
    else if (y > b->y1)
        dy = y - b->y1;
    return dx * dx + dy * dy;
}

uint32_t kd_nearest(const struct kd_tree *t, double x, double y, double *d2)
{
    if (!t->built || t->live == 0)
        return KD_NONE;
    double best = INFINITY;
    uint32_t best_id = KD_NONE;
    struct {
        uint32_t node;
        double d;
    } stack[64];
    int sp = 0;
    uint32_t node = 0;
    const uint32_t nint = t->ninternal;

    for (;;) {
        /* Descend towards the nearer non-empty child, stacking the other. */
        while (node < nint) {
            uint32_t l = 2 * node + 1, r = l + 1;
            uint32_t cl = t->cnt[l], cr = t->cnt[r];
            if (!cl) {
                node = r;
                continue;
            }
            if (!cr) {
                node = l;
                continue;
            }
            double dl = box_d2(&t->box[l], x, y), dr = box_d2(&t->box[r], x, y);
            uint32_t nn = l, fn = r;
            double dn = dl, df = dr;
            if (dr < dl) {
                nn = r, fn = l, dn = dr, df = dl;
            }
            if (dn > best)
                goto next; /* df >= dn > best too */
            if (df <= best) {
                stack[sp].node = fn;
                stack[sp].d = df;
                sp++;
            }
            node = nn;
        }
        {
            /* Leaf: scan its live points. */
            uint32_t j = node - nint;
            const struct kd_rec *r = t->rec + t->leaf_lo[j];
            uint32_t c = t->cnt[node];
            for (uint32_t k = 0; k < c; k++) {
                double dx = x - r[k].x, dy = y - r[k].y;
                double d = dx * dx + dy * dy;
                if (d < best || (d == best && r[k].id < best_id)) {
                    best = d;
                    best_id = r[k].id;
                }
            }
        }
    next:
        for (;;) {
            if (sp == 0)
                goto done;
            sp--;
            if (stack[sp].d <= best) {
                node = stack[sp].node;
                break;
            }
        }
    }
done:
    if (d2)
        *d2 = best;
    return best_id;
}

uint32_t kd_locate(const struct kd_tree *t, double x, double y)
{
    uint32_t node = 0;
    while (node < t->ninternal)
        node = 2 * node + 1 + ((t->dim[node] ? y : x) >= t->split[node]);
    return node - t->ninternal;
}
