/* pairing.c — closest-pair-first pairing (see pairing.h) and the fare.
 *
 * Algorithm: a k-d tree over the drivers; every rider's nearest live driver
 * (smallest squared distance, then lowest driver index) goes into a 4-ary
 * min-heap keyed (d2, rider, driver). Pop the smallest entry: if its driver is
 * still free, that is the next pair; otherwise re-query that rider and put it
 * back.
 *
 * Why this equals the brute force exactly: drivers only ever disappear, so a
 * rider's true best key (d2, rider, driver) over the live drivers can only
 * grow; every heap entry is a lower bound of its rider's true best key. When
 * the smallest entry's driver is still live, the entry is still its rider's
 * true best (the minimum over a superset that is still present), and every
 * other rider's true best is >= its own entry >= this one. So it is the
 * minimum of (d2, rider, driver) over all free pairs, which is exactly the
 * pair the brute force takes (ties: lower rider, then lower driver). Since
 * the minimum only grows as pairs are removed, pairs come out in increasing
 * key order.
 *
 * Riders are queried first in the tree's leaf order (a counting sort by the
 * leaf each rider falls in) so consecutive queries walk the same paths.
 */
#include "pairing.h"

#include <math.h>
#include <stdlib.h>

#include "kdtree.h"

struct hent {
    double d2;
    uint32_t rider, driver;
};

static inline int hless(const struct hent *a, const struct hent *b)
{
    if (a->d2 != b->d2)
        return a->d2 < b->d2;
    if (a->rider != b->rider)
        return a->rider < b->rider;
    return a->driver < b->driver;
}

/* 4-ary heap: children of i are 4i+1 .. 4i+4. */
static void sift_down(struct hent *h, size_t n, size_t i, struct hent e)
{
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n)
            break;
        size_t m = c, end = c + 4 < n ? c + 4 : n;
        for (size_t k = c + 1; k < end; k++)
            if (hless(&h[k], &h[m]))
                m = k;
        if (!hless(&h[m], &e))
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = e;
}

size_t mc_match_bytes(size_t nr, size_t nd)
{
    if (nr == 0 || nd == 0)
        return 0;
    /* the tree, the heap, and the counting sort's order and L + 1 counters */
    size_t tree = kd_bytes_for(nd), L = kd_leaves_for(nd);
    size_t order = nr * sizeof(uint32_t) + (L + 1) * sizeof(uint32_t);
    return tree + nr * sizeof(struct hent) + order;
}

long mc_match(const struct mc_point *riders, size_t nr, const struct mc_point *drivers, size_t nd,
              struct mc_pair *out)
{
    if (nr == 0 || nd == 0)
        return 0;
    if (nr >= KD_NONE || nd >= KD_NONE)
        return -1;

    struct kd_tree *t = kd_new(nd);
    struct hent *heap = malloc(nr * sizeof *heap);
    size_t L = t ? kd_leaves(t) : 0;
    uint32_t *order = malloc(nr * sizeof *order);
    uint32_t *count = calloc(L + 1, sizeof *count);
    long ret = -1;
    if (!t || !heap || !order || !count)
        goto out;

    for (size_t i = 0; i < nd; i++)
        kd_set(t, (uint32_t)i, drivers[i].x, drivers[i].y);
    kd_build(t);

    /* Counting sort of riders by leaf; order[] first holds each rider's leaf. */
    for (size_t i = 0; i < nr; i++) {
        order[i] = kd_locate(t, riders[i].x, riders[i].y);
        count[order[i] + 1]++;
    }
    for (size_t j = 1; j <= L; j++)
        count[j] += count[j - 1];
    /* Place rider i at slot count[leaf]++; heap[].rider doubles as the sorted list. */
    for (size_t i = 0; i < nr; i++)
        heap[count[order[i]]++].rider = (uint32_t)i;
    for (size_t k = 0; k < nr; k++) {
        uint32_t r = heap[k].rider;
        double d2 = 0.0;
        uint32_t d = kd_nearest(t, riders[r].x, riders[r].y, &d2);
        heap[k].d2 = d2;
        heap[k].driver = d;
    }
    free(order);
    order = NULL;
    free(count);
    count = NULL;

    size_t hn = nr;
    if (hn > 1)
        for (size_t i = (hn - 2) / 4 + 1; i-- > 0;)
            sift_down(heap, hn, i, heap[i]);

    size_t want = nr < nd ? nr : nd, made = 0;
    while (made < want) {
        struct hent top = heap[0];
        if (kd_is_live(t, top.driver)) {
            out[made].rider = top.rider;
            out[made].driver = top.driver;
            out[made].distance = sqrt(top.d2);
            made++;
            kd_remove(t, top.driver);
            hn--;
            if (hn)
                sift_down(heap, hn, 0, heap[hn]);
        } else {
            /* Some driver is live: fewer than want <= nd have been taken. */
            top.driver = kd_nearest(t, riders[top.rider].x, riders[top.rider].y, &top.d2);
            sift_down(heap, hn, 0, top);
        }
    }
    ret = (long)made;
out:
    kd_free(t);
    free(heap);
    free(order);
    free(count);
    return ret;
}

double mc_fare_taka(double distance) { return 2.0 * distance; }
