/* kdsearch.c - the k-d tree's queries (nearest and k nearest live points,
 * see kdtree.h) and the Z-order curve and radix sort that order them. The
 * layout and the exactness argument are at the top of kdtree.c. */
#include "kdtree.h"
#include "kdtree_int.h"

#include <math.h>
#include <string.h>

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

#define RADIX_BITS   8
#define RADIX        (1u << RADIX_BITS)
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

/* ---- search ---- */

/* Squared distance from (x, y) to box b; a lower bound (see top of file).
 * Only for non-empty boxes. */
static inline double box_d2(const struct kd_fbox *b, double x, double y)
{
	double dx = 0.0, dy = 0.0;
	if (x < b->x0)
		dx = (double)b->x0 - x;
	else if (x > b->x1)
		dx = x - (double)b->x1;
	if (y < b->y0)
		dy = (double)b->y0 - y;
	else if (y > b->y1)
		dy = y - (double)b->y1;
	return dx * dx + dy * dy;
}

static inline int fbox_empty(const struct kd_fbox *b)
{
	return b->x0 > b->x1;
}

/* The up-to-k nearest live points, by (d2, index), into slots[] / d2s[];
 * returns how many (the callers ask for k = 1: the constant lets the compiler
 * simplify the list). The bound is the k-th best so far
 * (INFINITY while fewer than k are found; then nothing is pruned). */
static inline __attribute__((always_inline)) unsigned
knn(const struct kd_tree *t, double x, double y, unsigned k, uint32_t *slots, double *d2s)
{
	if (!t->built || t->live == 0)
		return 0;
	unsigned m = 0;
	double bound = INFINITY;
	struct {
		uint32_t node;
		double d;
	} stack[64];
	int sp = 0;
	uint32_t node = 1;
	const uint32_t L = t->nleaves;

	for (;;) {
		/* Descend towards the nearer non-empty child, stacking the other. */
		while (node < L) {
			uint32_t l = 2 * node, r = l + 1;
			const struct kd_fbox *bl = &t->box[l], *br = &t->box[r];
			if (fbox_empty(bl)) {
				node = r;
				continue;
			}
			if (fbox_empty(br)) {
				node = l;
				continue;
			}
			double dl = box_d2(bl, x, y), dr = box_d2(br, x, y);
			uint32_t nn = l, fn = r;
			double dn = dl, df = dr;
			if (dr < dl) {
				nn = r, fn = l, dn = dr, df = dl;
			}
			if (dn > bound)
				goto next; /* df >= dn > bound too */
			if (df <= bound) {
				stack[sp].node = fn;
				stack[sp].d = df;
				sp++;
			}
			node = nn;
		}
		{
			/* Leaf: scan its live points. */
			uint32_t j = node - L;
			unsigned live = ~(unsigned)t->dead[j] & 0xffu;
			const double *px = t->lxy + (size_t)j * 2 * KD_LEAF, *py = px + KD_LEAF;
			while (live) {
				unsigned b = (unsigned)__builtin_ctz(live);
				live &= live - 1;
				double dx = x - px[b], dy = y - py[b];
				double d = dx * dx + dy * dy;
				if (d > bound)
					continue;
				uint32_t s = j * KD_LEAF + b;
				/* indices are looked up only to break exact ties */
				if (m == k && d == bound && t->rec[s].id > t->rec[slots[k - 1]].id)
					continue;
				/* insert (d, s) into the sorted list, dropping the k-th if full */
				unsigned p = m < k ? m++ : k - 1;
				while (p > 0 && (d2s[p - 1] > d ||
				                 (d2s[p - 1] == d &&
				                  t->rec[slots[p - 1]].id > t->rec[s].id))) {
					d2s[p] = d2s[p - 1];
					slots[p] = slots[p - 1];
					p--;
				}
				d2s[p] = d;
				slots[p] = s;
				if (m == k)
					bound = d2s[k - 1];
			}
		}
	next:
		for (;;) {
			if (sp == 0)
				return m;
			sp--;
			if (stack[sp].d <= bound) {
				node = stack[sp].node;
				break;
			}
		}
	}
}

uint32_t kd_nearest_slot(const struct kd_tree *t, double x, double y, double *d2)
{
	uint32_t s = KD_NONE;
	double d = 0.0;
	if (!knn(t, x, y, 1, &s, &d))
		return KD_NONE;
	if (d2)
		*d2 = d;
	return s;
}

uint32_t kd_nearest(const struct kd_tree *t, double x, double y, double *d2)
{
	uint32_t s = kd_nearest_slot(t, x, y, d2);
	return s == KD_NONE ? KD_NONE : t->rec[s].id;
}
