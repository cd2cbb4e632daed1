/* kdtree.c — the 2-d k-d tree of kdtree.h.
 *
 * Layout: an implicit, complete binary tree (node i has children 2i+1, 2i+2;
 * leaf j is node L-1+j) over one record array in which leaf j holds slots
 * [8j, 8j+8) (leaves fill from the left; trailing ones may be empty). Each
 * node cuts its slots at a leaf boundary near the middle, by quickselect on
 * the wider side of its bounding box. Every node keeps the tight bounding box
 * of its live points and their count: empty subtrees are skipped and boxes
 * shrink as points are removed. Removal only marks the record dead, so a
 * point's slot never changes and callers may hold slots.
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

#define KD_LEAF_SHIFT 3
#define KD_LEAF (1u << KD_LEAF_SHIFT) /* points per leaf */

struct kd_rec {
    double x, y;
    uint32_t id;
    uint32_t dead;
};

struct kd_box {
    double x0, y0, x1, y1;
};

struct kd_tree {
    size_t n, live;
    uint32_t nleaves;   /* L, a power of two */
    uint32_t ninternal; /* L - 1; leaf j is node ninternal + j */
    int built;
    double fx0, fy0, fsx, fsy; /* curve frame: key coordinate = (x - fx0) * fsx */
    struct kd_rec *rec;        /* n points in slot order */
    uint32_t *pos;             /* n: slot of point index i */
    uint32_t *cnt;             /* 2L-1: live points under each node */
    struct kd_box *box;        /* 2L-1: bounding box of the live points */
    size_t bytes;
};

static const struct kd_box empty_box = {INFINITY, INFINITY, -INFINITY, -INFINITY};

size_t kd_leaves_for(size_t n)
{
    size_t L = 1;
    while (L * KD_LEAF < n)
        L *= 2;
    return L;
}

size_t kd_bytes_for(size_t n)
{
    size_t L = kd_leaves_for(n), nodes = 2 * L - 1, m = n ? n : 1;
    return sizeof(struct kd_tree) + m * sizeof(struct kd_rec) + m * sizeof(uint32_t) +
           nodes * (sizeof(uint32_t) + sizeof(struct kd_box));
}

size_t kd_build_scratch_for(size_t n)
{
    (void)n;
    return 0; /* the build works in place */
}

static void *alloc_n(struct kd_tree *t, size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    t->bytes += n * size;
    return malloc(n * size);
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
    t->cnt = alloc_n(t, nodes, sizeof *t->cnt);
    t->box = alloc_n(t, nodes, sizeof *t->box);
    if (!t->rec || !t->pos || !t->cnt || !t->box) {
        kd_free(t);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        t->rec[i] = (struct kd_rec){0.0, 0.0, (uint32_t)i, 0};
        t->pos[i] = (uint32_t)i;
    }
    return t;
}

void kd_free(struct kd_tree *t)
{
    if (!t)
        return;
    free(t->rec);
    free(t->pos);
    free(t->cnt);
    free(t->box);
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
size_t kd_bytes(const struct kd_tree *t) { return t->bytes; }

/* ---- Z-order keys and the radix sort ---- */

static inline uint64_t spread(uint32_t v) /* bit k of v -> bit 2k */
{
    uint64_t x = v;
    x = (x | x << 16) & 0x0000FFFF0000FFFFULL;
    x = (x | x << 8) & 0x00FF00FF00FF00FFULL;
    x = (x | x << 4) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | x << 2) & 0x3333333333333333ULL;
    x = (x | x << 1) & 0x5555555555555555ULL;
    return x;
}

static inline uint32_t quantize(double v, double v0, double scale)
{
    double u = (v - v0) * scale;
    if (!(u > 0.0))
        return 0;
    if (u >= 4294967295.0)
        return UINT32_MAX;
    return (uint32_t)u;
}

uint64_t kd_curve_key(const struct kd_tree *t, double x, double y)
{
    return spread(quantize(x, t->fx0, t->fsx)) | spread(quantize(y, t->fy0, t->fsy)) << 1;
}

#define RADIX_BITS 8
#define RADIX (1u << RADIX_BITS)
#define RADIX_PASSES 8 /* 64-bit keys */

void kd_sort_kv(struct kd_kv *a, struct kd_kv *tmp, size_t n)
{
    if (n <= 32) { /* insertion sort: stable, and cheaper than the passes */
        for (size_t i = 1; i < n; i++) {
            struct kd_kv v = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1].key > v.key) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    uint32_t h[RADIX_PASSES][RADIX]; /* 8 KB; n < 2^32 */
    memset(h, 0, sizeof h);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = a[i].key;
        for (int p = 0; p < RADIX_PASSES; p++)
            h[p][(k >> (p * RADIX_BITS)) & (RADIX - 1)]++;
    }
    struct kd_kv *src = a, *dst = tmp;
    for (int p = 0; p < RADIX_PASSES; p++) {
        int shift = p * RADIX_BITS;
        if (h[p][(src[0].key >> shift) & (RADIX - 1)] == n)
            continue; /* every key has the same digit here */
        uint32_t sum = 0;
        for (size_t b = 0; b < RADIX; b++) {
            uint32_t c = h[p][b];
            h[p][b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[h[p][(src[i].key >> shift) & (RADIX - 1)]++] = src[i];
        struct kd_kv *s = src;
        src = dst;
        dst = s;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* ---- building ---- */

static struct kd_box bbox_of(const struct kd_rec *r, size_t n)
{
    struct kd_box b = empty_box;
    for (size_t i = 0; i < n; i++) {
        if (r[i].dead)
            continue;
        if (r[i].x < b.x0) b.x0 = r[i].x;
        if (r[i].x > b.x1) b.x1 = r[i].x;
        if (r[i].y < b.y0) b.y0 = r[i].y;
        if (r[i].y > b.y1) b.y1 = r[i].y;
    }
    return b;
}

static inline struct kd_box box_union(const struct kd_tree *t, uint32_t node)
{
    uint32_t l = 2 * node + 1, r = l + 1;
    if (!t->cnt[l])
        return t->cnt[r] ? t->box[r] : empty_box;
    if (!t->cnt[r])
        return t->box[l];
    const struct kd_box *a = &t->box[l], *b = &t->box[r];
    return (struct kd_box){a->x0 < b->x0 ? a->x0 : b->x0, a->y0 < b->y0 ? a->y0 : b->y0,
                           a->x1 > b->x1 ? a->x1 : b->x1, a->y1 > b->y1 ? a->y1 : b->y1};
}

static inline void leaf_range(const struct kd_tree *t, uint32_t j, size_t *lo, size_t *hi)
{
    size_t a = (size_t)j << KD_LEAF_SHIFT, b = a + KD_LEAF;
    *lo = a < t->n ? a : t->n;
    *hi = b < t->n ? b : t->n;
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

/* Node covers leaves [a, b), i.e. slots [8a, 8b) clipped to n. Leaves fill
 * from the left, so a split falls at a leaf boundary: near the median, not
 * always on it, and leaf j is simply slots [8j, 8j+8). */
static void build(struct kd_tree *t, uint32_t node, size_t a, size_t b)
{
    size_t lo = a << KD_LEAF_SHIFT, hi = b << KD_LEAF_SHIFT;
    if (lo > t->n) lo = t->n;
    if (hi > t->n) hi = t->n;
    if (node >= t->ninternal || hi - lo <= 1)
        return;
    struct kd_box bb = bbox_of(t->rec + lo, hi - lo);
    int d = (bb.y1 - bb.y0) > (bb.x1 - bb.x0);
    size_t m = (a + b) / 2, mid = m << KD_LEAF_SHIFT;
    if (mid > lo && mid < hi)
        select_k(t->rec, lo, hi - 1, mid, d);
    build(t, 2 * (uint32_t)node + 1, a, m);
    build(t, 2 * (uint32_t)node + 2, m, b);
}

int kd_build(struct kd_tree *t)
{
    size_t n = t->n;
    t->built = 0;
    t->live = 0;
    for (size_t i = 0; i < n; i++)
        t->rec[i].dead = 0;
    struct kd_box all = bbox_of(t->rec, n);
    t->fx0 = all.x0;
    t->fy0 = all.y0;
    t->fsx = all.x1 > all.x0 ? 4294967295.0 / (all.x1 - all.x0) : 0.0;
    t->fsy = all.y1 > all.y0 ? 4294967295.0 / (all.y1 - all.y0) : 0.0;
    if (!isfinite(t->fsx))
        t->fsx = 0.0;
    if (!isfinite(t->fsy))
        t->fsy = 0.0;

    build(t, 0, 0, t->nleaves);
    for (size_t s = 0; s < n; s++)
        t->pos[t->rec[s].id] = (uint32_t)s;

    for (uint32_t j = 0; j < t->nleaves; j++) {
        size_t lo, hi;
        leaf_range(t, j, &lo, &hi);
        t->cnt[t->ninternal + j] = (uint32_t)(hi - lo);
        t->box[t->ninternal + j] = bbox_of(t->rec + lo, hi - lo);
    }
    for (uint32_t node = t->ninternal; node-- > 0;) {
        t->cnt[node] = t->cnt[2 * node + 1] + t->cnt[2 * node + 2];
        t->box[node] = box_union(t, node);
    }
    t->live = n;
    t->built = 1;
    return 0;
}

/* ---- removal ---- */

int kd_slot_live(const struct kd_tree *t, uint32_t slot)
{
    return t->built && slot < t->n && !t->rec[slot].dead;
}

int kd_is_live(const struct kd_tree *t, uint32_t i)
{
    return i < t->n && kd_slot_live(t, t->pos[i]);
}

uint32_t kd_slot_index(const struct kd_tree *t, uint32_t slot) { return slot < t->n ? t->rec[slot].id : KD_NONE; }

int kd_remove_slot(struct kd_tree *t, uint32_t slot)
{
    if (!kd_slot_live(t, slot))
        return -1;
    t->rec[slot].dead = 1;
    t->live--;
    uint32_t j = slot >> KD_LEAF_SHIFT;
    uint32_t node = t->ninternal + j;
    size_t lo, hi;
    leaf_range(t, j, &lo, &hi);

    /* Counts all the way up; boxes only while they actually shrink. */
    t->cnt[node]--;
    struct kd_box nb = bbox_of(t->rec + lo, hi - lo);
    int shrinking = memcmp(&nb, &t->box[node], sizeof nb) != 0;
    t->box[node] = nb;
    while (node > 0) {
        node = (node - 1) / 2;
        t->cnt[node]--;
        if (shrinking) {
            nb = box_union(t, node);
            shrinking = memcmp(&nb, &t->box[node], sizeof nb) != 0;
            t->box[node] = nb;
        }
    }
    return 0;
}

int kd_remove(struct kd_tree *t, uint32_t i)
{
    if (i >= t->n)
        return -1;
    return kd_remove_slot(t, t->pos[i]);
}

/* ---- search ---- */

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

uint32_t kd_nearest_slot(const struct kd_tree *t, double x, double y, double *d2)
{
    if (!t->built || t->live == 0)
        return KD_NONE;
    double best = INFINITY;
    uint32_t best_id = KD_NONE, best_slot = KD_NONE;
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
            if (!t->cnt[l]) {
                node = r;
                continue;
            }
            if (!t->cnt[r]) {
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
            size_t lo, hi;
            leaf_range(t, node - nint, &lo, &hi);
            for (size_t k = lo; k < hi; k++) {
                const struct kd_rec *p = &t->rec[k];
                double dx = x - p->x, dy = y - p->y;
                double d = dx * dx + dy * dy;
                if (!p->dead && (d < best || (d == best && p->id < best_id))) {
                    best = d;
                    best_id = p->id;
                    best_slot = (uint32_t)k;
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
    return best_slot;
}

uint32_t kd_nearest(const struct kd_tree *t, double x, double y, double *d2)
{
    uint32_t s = kd_nearest_slot(t, x, y, d2);
    return s == KD_NONE ? KD_NONE : t->rec[s].id;
}
