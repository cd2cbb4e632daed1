/* pairing.c — closest-pair-first pairing (see pairing.h) and the fare.
 *
 * Algorithm: a k-d tree over the drivers; every rider's nearest live driver
 * (smallest squared distance, then lowest driver index) goes into a
 * min-queue keyed (d2, rider), carrying the driver. Pop the smallest entry:
 * if its driver is still free, that is the next pair; otherwise re-query
 * that rider and put it back. The queue is a radix heap (see below), since
 * the keys come out in increasing order.
 *
 * Why this equals the brute force exactly: drivers only ever disappear, so a
 * rider's true best (d2, driver) over the live drivers can only grow, and so
 * can its key (d2, rider): every queued entry is a lower bound of its
 * rider's true best. When the smallest entry's driver is still live, the
 * entry is still its rider's true best (the minimum over a superset that is
 * still present), and every other rider's true best is >= its own entry >=
 * this one. So it is the minimum of (d2, rider, driver) over all free pairs,
 * which is exactly the pair the brute force takes (ties: lower rider, then
 * lower driver). Since the minimum only grows as pairs are removed, pairs
 * come out in increasing key order.
 *
 * Riders are queried first in the order of the tree's Z-order curve (a radix
 * sort of their curve keys) so consecutive queries walk the same paths.
 */
#include "pairing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kdtree.h"

/* ---- monotone priority queue: a radix heap on 128-bit keys ----
 *
 * Key = (bits of d2, rider): the d2 bits (d2 >= +0, so they order like the
 * double) and the high half of lo; the low half carries the driver's slot in
 * the tree, which is no part of the key. Keys are unique (one entry per
 * rider), and a re-queried rider's new key is >= its old one. So keys popped
 * never decrease and keys pushed are never below the last popped one, which
 * is all a radix heap needs: an entry sits in the bucket numbered by the
 * highest bit in which it differs from the last popped key (0 = equal,
 * 1..32 = rider, 65..128 = d2). Popping empties the lowest non-empty bucket
 * into lower ones relative to its minimum. Buckets are lists of fixed chunks
 * from a pool sized up front (at most ceil(n/CH) chunks are full and each
 * bucket has at most one partial chunk, plus the one being emptied), so
 * nothing allocates after the start. Moving entries is sequential, unlike a
 * binary heap's random walk over the whole array. */

#define RQ_CH 63 /* entries per chunk: 16 + 63 * 16 = 1024 bytes */
#define RQ_NB 129
#define RQ_NIL UINT32_MAX

struct ent {
    uint64_t hi; /* bits of d2 */
    uint64_t lo; /* rider << 32 | driver slot */
};

struct chunk {
    uint32_t next, fill;
    uint64_t pad;
    struct ent e[RQ_CH];
};

struct bucket {
    uint32_t head; /* chunk list; only the head chunk may be partial */
    struct ent min;
};

struct rq {
    struct chunk *pool;
    uint32_t free_list;
    uint64_t mask[3]; /* non-empty buckets */
    struct ent last;
    struct bucket b[RQ_NB];
};

static size_t rq_chunks_for(size_t n) { return n / RQ_CH + RQ_NB + 4; }

static inline int ent_less(struct ent a, struct ent b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo >> 32 < b.lo >> 32);
}

static inline unsigned rq_index(const struct rq *q, struct ent e)
{
    if (e.hi != q->last.hi)
        return 65 + (63 - (unsigned)__builtin_clzll(e.hi ^ q->last.hi));
    uint64_t lo = (e.lo ^ q->last.lo) >> 32; /* the rider; the slot is no part of the key */
    if (lo)
        return 1 + (63 - (unsigned)__builtin_clzll(lo));
    return 0;
}

static int rq_init(struct rq *q, size_t n)
{
    size_t nc = rq_chunks_for(n);
    q->pool = malloc(nc * sizeof *q->pool);
    if (!q->pool)
        return -1;
    for (size_t i = 0; i < nc; i++)
        q->pool[i].next = i + 1 < nc ? (uint32_t)(i + 1) : RQ_NIL;
    q->free_list = 0;
    q->mask[0] = q->mask[1] = q->mask[2] = 0;
    q->last = (struct ent){0, 0};
    for (int i = 0; i < RQ_NB; i++)
        q->b[i].head = RQ_NIL;
    return 0;
}

static inline void rq_put(struct rq *q, struct ent e)
{
    unsigned i = rq_index(q, e);
    struct bucket *b = &q->b[i];
    struct chunk *c;
    if (b->head == RQ_NIL || (c = &q->pool[b->head])->fill == RQ_CH) {
        uint32_t k = q->free_list; /* never RQ_NIL: the pool is big enough */
        c = &q->pool[k];
        q->free_list = c->next;
        c->next = b->head;
        c->fill = 0;
        if (b->head == RQ_NIL) {
            b->min = e;
            q->mask[i >> 6] |= 1ULL << (i & 63);
        }
        b->head = k;
    }
    c->e[c->fill++] = e;
    if (ent_less(e, b->min))
        b->min = e;
}

/* Removes and returns the smallest entry; the queue must not be empty. */
static struct ent rq_pop(struct rq *q)
{
    if (!(q->mask[0] & 1)) {
        unsigned i = q->mask[0] & ~1ULL ? (unsigned)__builtin_ctzll(q->mask[0] & ~1ULL)
                   : q->mask[1]         ? 64 + (unsigned)__builtin_ctzll(q->mask[1])
                                        : 128;
        struct bucket *b = &q->b[i];
        uint32_t k = b->head;
        q->last = b->min;
        b->head = RQ_NIL;
        q->mask[i >> 6] &= ~(1ULL << (i & 63));
        while (k != RQ_NIL) {
            struct chunk *c = &q->pool[k];
            for (uint32_t j = 0; j < c->fill; j++)
                rq_put(q, c->e[j]); /* lands in a bucket below i */
            uint32_t next = c->next;
            c->next = q->free_list;
            q->free_list = k;
            k = next;
        }
    }
    /* Bucket 0 now holds exactly the last key (keys are unique: one per rider). */
    struct bucket *b0 = &q->b[0];
    struct chunk *c = &q->pool[b0->head];
    struct ent e = c->e[--c->fill];
    if (c->fill == 0) {
        b0->head = c->next;
        c->next = q->free_list;
        q->free_list = (uint32_t)(c - q->pool);
        if (b0->head == RQ_NIL)
            q->mask[0] &= ~1ULL;
    }
    return e;
}

static inline struct ent make_ent(double d2, uint32_t rider, uint32_t driver)
{
    struct ent e;
    memcpy(&e.hi, &d2, sizeof e.hi);
    e.lo = (uint64_t)rider << 32 | driver;
    return e;
}

size_t mc_match_bytes(size_t nr, size_t nd)
{
    if (nr == 0 || nd == 0)
        return 0;
    /* The tree throughout; while it is built, its scratch; then the riders'
     * curve order (keys + radix scratch, sorted coordinates) and the queue;
     * then the queue alone. */
    size_t riders = 2 * nr * sizeof(struct kd_kv) + nr * sizeof(struct mc_point);
    size_t queue = rq_chunks_for(nr) * sizeof(struct chunk);
    size_t build = kd_build_scratch_for(nd);
    size_t later = riders + queue;
    return kd_bytes_for(nd) + (build > later ? build : later);
}

long mc_match(const struct mc_point *riders, size_t nr, const struct mc_point *drivers, size_t nd,
              struct mc_pair *out)
{
    if (nr == 0 || nd == 0)
        return 0;
    if (nr >= KD_NONE || nd >= KD_NONE)
        return -1;

    long ret = -1;
    struct rq q = {.pool = NULL};
    struct kd_kv *kv = NULL;
    struct mc_point *rp = NULL;
    struct kd_tree *t = kd_new(nd);
    if (!t)
        goto out;
    for (size_t i = 0; i < nd; i++)
        kd_set(t, (uint32_t)i, drivers[i].x, drivers[i].y);
    if (kd_build(t) < 0)
        goto out;

    /* Riders along the tree's curve, so consecutive queries share paths. */
    kv = malloc(2 * nr * sizeof *kv);
    rp = malloc(nr * sizeof *rp);
    if (!kv || !rp || rq_init(&q, nr) < 0)
        goto out;
    for (size_t i = 0; i < nr; i++)
        kv[i] = (struct kd_kv){kd_curve_key(t, riders[i].x, riders[i].y), (uint32_t)i, 0};
    kd_sort_kv(kv, kv + nr, nr);
    for (size_t k = 0; k < nr; k++)
        rp[k] = riders[kv[k].val];

    /* Every rider's nearest driver into the queue. */
    for (size_t k = 0; k < nr; k++) {
        double d2 = 0.0;
        uint32_t slot = kd_nearest_slot(t, rp[k].x, rp[k].y, &d2);
        rq_put(&q, make_ent(d2, kv[k].val, slot));
    }
    free(kv);
    kv = NULL;
    free(rp);
    rp = NULL;

    /* Entries carry the driver's slot in the tree, not its index: the key
     * (d2, rider) is already unique, one entry per rider. */
    size_t want = nr < nd ? nr : nd, made = 0;
    while (made < want) {
        struct ent e = rq_pop(&q);
        uint32_t r = (uint32_t)(e.lo >> 32), slot = (uint32_t)e.lo;
        double d2;
        memcpy(&d2, &e.hi, sizeof d2);
        if (kd_slot_live(t, slot)) {
            out[made].rider = r;
            out[made].driver = kd_slot_index(t, slot);
            out[made].distance = sqrt(d2);
            made++;
            kd_remove_slot(t, slot);
        } else {
            /* Some driver is live: fewer than want <= nd have been taken. */
            slot = kd_nearest_slot(t, riders[r].x, riders[r].y, &d2);
            rq_put(&q, make_ent(d2, r, slot));
        }
    }
    ret = (long)made;
out:
    kd_free(t);
    free(q.pool);
    free(kv);
    free(rp);
    return ret;
}

double mc_fare_taka(double distance) { return 2.0 * distance; }
