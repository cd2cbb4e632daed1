/* incr.c - see incr.h. */
#include "incr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dkd.h"

struct fresh {
	double x, y;
	uint64_t key;
	uint8_t is_rider, taken;
};

struct ent {
	double d2;
	uint64_t rkey, dkey;
	double px, py; /* the partner's place */
	uint32_t idx;  /* into the new list */
};

struct incr {
	struct dkd *t[2]; /* [0] drivers, [1] riders */
	struct fresh *nl;
	size_t nn, cap_nl, max_new;
	int overflow;
	struct ent *heap;
	size_t nh, cap_heap;
	struct incr_pair *out;
	size_t cap_out;
	uint64_t left[1024]; /* bit hash(side, key): removed since the last pairing */
	int any_left;
	uint64_t *gone;         /* hash set of the requests paired in this call */
	size_t cap_gone, ngone; /* allocated; used in this call (a power of 2) */
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

struct incr *incr_new(size_t max_new)
{
	struct incr *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max_new = max_new;
	c->t[0] = dkd_new();
	c->t[1] = dkd_new();
	if (!c->t[0] || !c->t[1]) {
		incr_free(c);
		return NULL;
	}
	return c;
}

void incr_free(struct incr *c)
{
	if (!c)
		return;
	dkd_free(c->t[0]);
	dkd_free(c->t[1]);
	free(c->nl);
	free(c->heap);
	free(c->out);
	free(c->gone);
	free(c);
}

void incr_reset(struct incr *c)
{
	dkd_free(c->t[0]);
	dkd_free(c->t[1]);
	c->t[0] = dkd_new();
	c->t[1] = dkd_new();
	c->nn = 0;
	c->overflow = 0;
}

void incr_all_new(struct incr *c)
{
	c->overflow = 1;
}

size_t incr_new_count(const struct incr *c)
{
	return c->overflow ? SIZE_MAX : c->nn;
}

int incr_cold_cheaper(size_t nnew, size_t waiting)
{
	return nnew > waiting / 3; /* 3 nnew > waiting, without overflow */
}

void incr_forget_new(struct incr *c)
{
	c->nn = 0;
	c->overflow = 0;
}
size_t incr_waiting(const struct incr *c, int is_rider)
{
	return c->t[is_rider != 0] ? dkd_size(c->t[is_rider != 0]) : 0;
}

int incr_add(struct incr *c, int is_rider, double x, double y, uint64_t key)
{
	is_rider = is_rider != 0;
	if (c->nn >= c->max_new)
		c->overflow = 1;
	if (!c->overflow && grow((void **)&c->nl, &c->cap_nl, c->nn + 1, sizeof(*c->nl)) < 0)
		return -1;
	if (dkd_insert(c->t[is_rider], x, y, key) < 0)
		return -1;
	if (!c->overflow)
		c->nl[c->nn++] = (struct fresh){x, y, key, (uint8_t)is_rider, 0};
	return 0;
}

static inline unsigned left_bit(int is_rider, uint64_t key)
{
	return (unsigned)(((key << 1 | (uint64_t)is_rider) * 0x9e3779b97f4a7c15ULL) >> 48);
}

int incr_remove(struct incr *c, int is_rider, double x, double y, uint64_t key)
{
	unsigned b = left_bit(is_rider != 0, key);

	c->left[b >> 6] |= 1ULL << (b & 63);
	c->any_left = 1;
	return dkd_remove(c->t[is_rider != 0], x, y, key);
}

/* Whether new entry f may have left its tree since it was added: only then
 * is the tree asked (the bitmap has no false negatives). */
static int may_have_left(const struct incr *c, const struct fresh *f)
{
	unsigned b = left_bit(f->is_rider, f->key);

	return c->any_left && (c->left[b >> 6] >> (b & 63) & 1);
}

/* ---- the queue: a binary heap on (d2, rider key, driver key) ---- */

static inline int ent_less(const struct ent *a, const struct ent *b)
{
	if (a->d2 != b->d2)
		return a->d2 < b->d2;
	if (a->rkey != b->rkey)
		return a->rkey < b->rkey;
	return a->dkey < b->dkey;
}

static int heap_push(struct incr *c, struct ent e)
{
	size_t i;

	if (grow((void **)&c->heap, &c->cap_heap, c->nh + 1, sizeof(*c->heap)) < 0)
		return -1;
	for (i = c->nh++; i > 0 && ent_less(&e, &c->heap[(i - 1) / 2]); i = (i - 1) / 2)
		c->heap[i] = c->heap[(i - 1) / 2];
	c->heap[i] = e;
	return 0;
}

static struct ent heap_pop(struct incr *c)
{
	struct ent top = c->heap[0], last = c->heap[--c->nh];
	size_t i = 0;

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= c->nh)
			break;
		if (k + 1 < c->nh && ent_less(&c->heap[k + 1], &c->heap[k]))
			k++;
		if (!ent_less(&c->heap[k], &last))
			break;
		c->heap[i] = c->heap[k];
		i = k;
	}
	if (c->nh)
		c->heap[i] = last;
	return top;
}

/* ---- pairing ---- */

static int fresh_cmp(const void *a, const void *b)
{
	const struct fresh *x = a, *y = b;

	if (x->is_rider != y->is_rider)
		return x->is_rider < y->is_rider ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* The new-list entry of (is_rider, key), or NULL. */
static struct fresh *fresh_find(struct incr *c, int is_rider, uint64_t key)
{
	size_t lo = 0, hi = c->nn;
	struct fresh k = {0, 0, key, (uint8_t)is_rider, 0};

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = fresh_cmp(&c->nl[mid], &k);

		if (r == 0)
			return &c->nl[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The set of requests paired during one incr_pair: (key << 1 | is_rider) + 1
 * in open addressing; 0 is empty. At most 2 nn members, in 4 nn or more. */
static int gone_reset(struct incr *c, size_t nn)
{
	size_t cap = 64;

	while (cap < 4 * nn)
		cap *= 2;
	if (cap > c->cap_gone) {
		free(c->gone);
		c->gone = malloc(cap * sizeof(*c->gone));
		if (!c->gone) {
			c->cap_gone = 0;
			return -1;
		}
		c->cap_gone = cap;
	}
	c->ngone = cap; /* only what this call needs: it costs O(nn), not O(pool) */
	memset(c->gone, 0, cap * sizeof(*c->gone));
	return 0;
}

static inline size_t gone_slot(const struct incr *c, uint64_t v)
{
	return (size_t)((v * 0x9e3779b97f4a7c15ULL) >> 20) & (c->ngone - 1);
}

static void gone_add(struct incr *c, int is_rider, uint64_t key)
{
	uint64_t v = (key << 1 | (uint64_t)is_rider) + 1;
	size_t i = gone_slot(c, v);

	while (c->gone[i] && c->gone[i] != v)
		i = (i + 1) & (c->ngone - 1);
	c->gone[i] = v;
}

static int gone_has(const struct incr *c, int is_rider, uint64_t key)
{
	uint64_t v = (key << 1 | (uint64_t)is_rider) + 1;
	size_t i = gone_slot(c, v);

	while (c->gone[i]) {
		if (c->gone[i] == v)
			return 1;
		i = (i + 1) & (c->ngone - 1);
	}
	return 0;
}

/* New entry i's best pair now: 0 and *e, or -1 if the other side is empty. */
static int best_of(struct incr *c, uint32_t i, struct ent *e, struct dkd_point *partner)
{
	const struct fresh *f = &c->nl[i];
	double d2;

	if (dkd_nearest(c->t[!f->is_rider], f->x, f->y, partner, &d2) < 0)
		return -1;
	*e = (struct ent){d2,
	                  f->is_rider ? f->key : partner->key,
	                  f->is_rider ? partner->key : f->key,
	                  partner->x,
	                  partner->y,
	                  i};
	return 0;
}

long incr_pair(struct incr *c, const struct incr_pair **out)
{
	struct dkd_point partner;
	struct ent e;
	size_t made = 0, w = 0;

	*out = c->out;
	if (c->overflow)
		return -1;
	/* the new list: sorted, once each, only what still waits */
	if (c->nn)
		qsort(c->nl, c->nn, sizeof(*c->nl), fresh_cmp);
	for (size_t i = 0; i < c->nn; i++) {
		if (w && !fresh_cmp(&c->nl[w - 1], &c->nl[i]))
			continue;
		if (!may_have_left(c, &c->nl[i]) ||
		    dkd_contains(c->t[c->nl[i].is_rider], c->nl[i].x, c->nl[i].y, c->nl[i].key))
			c->nl[w++] = c->nl[i];
	}
	c->nn = w;
	if (c->any_left) {
		memset(c->left, 0, sizeof(c->left));
		c->any_left = 0;
	}
	/* every new request has at most one entry queued and is in at most one
	 * pair: with room for nn of each, nothing below can fail */
	if (grow((void **)&c->heap, &c->cap_heap, c->nn, sizeof(*c->heap)) < 0 ||
	    grow((void **)&c->out, &c->cap_out, c->nn, sizeof(*c->out)) < 0 ||
	    gone_reset(c, c->nn) < 0)
		return -1;
	c->nh = 0;
	for (uint32_t i = 0; i < c->nn; i++)
		if (best_of(c, i, &e, &partner) == 0)
			(void)heap_push(c, e); /* room reserved above */

	while (c->nh) {
		struct ent top = heap_pop(c);
		struct fresh *f = &c->nl[top.idx];

		if (f->taken)
			continue;
		/* its partner was paired meanwhile: its best now goes back in
		 * (later: partners only disappear), or it has none */
		uint64_t pkey = f->is_rider ? top.dkey : top.rkey;
		if (gone_has(c, !f->is_rider, pkey)) {
			if (best_of(c, top.idx, &e, &partner) == 0)
				(void)heap_push(c, e);
			continue;
		}
		c->out[made++] = (struct incr_pair){top.rkey, top.dkey, sqrt(top.d2)};
		f->taken = 1;
		(void)dkd_remove(c->t[f->is_rider], f->x, f->y, f->key);
		(void)dkd_remove(c->t[!f->is_rider], top.px, top.py, pkey);
		gone_add(c, f->is_rider, f->key);
		gone_add(c, !f->is_rider, pkey);
		struct fresh *pf = fresh_find(c, !f->is_rider, pkey);
		if (pf)
			pf->taken = 1;
	}
	c->nn = 0;
	*out = c->out;
	return (long)made;
}
