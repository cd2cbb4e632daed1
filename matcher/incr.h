/* incr.h - incremental closest-pair-first pairing: the same result as
 * pairing_match over the whole waiting pool (pairing.h: smallest squared distance
 * first, ties to the earlier rider, then the earlier driver), at a cost that
 * grows with what arrived since the last pairing, not with the pool. Pure C:
 * no I/O.
 *
 * It keeps every waiting rider and driver in a dynamic k-d tree per side
 * (dkd.h), between ticks, and a list of the "new" ones: those that started
 * waiting since the last pairing (arrivals, and requests put back by a failed
 * claim). Why only they need queries: when a pairing ends, the waiting
 * requests left are all on one side (it pairs until one side is empty). So
 * every pair possible at the next pairing has a new request in it, and the
 * closest pair first over the whole pool is the closest pair first over the
 * pairs with a new request in them: each new request's nearest partner goes
 * into a queue keyed (d2, rider key, driver key); the smallest entry whose
 * partner is still free is the next pair, else its new request is queried
 * again (partners only disappear, so every entry is a lower bound of its
 * request's best pair; the same argument as pairing.c).
 *
 * Keys: each request's key orders it by acceptance (earlier = smaller) and
 * names it; keys are unique per side. The caller tells it every change:
 * incr_add when a request starts waiting, incr_remove when it stops waiting
 * other than by incr_pair (expiry, dropped by a claim). */
#ifndef RS_MATCHER_INCR_H
#define RS_MATCHER_INCR_H

#include <stddef.h>
#include <stdint.h>

struct incr;

struct incr_pair {
	uint64_t rider, driver; /* keys */
	double distance;        /* sqrt of the squared distance */
};

/* A context that lists at most max_new new requests: past that the list
 * is dropped, incr_new_count says SIZE_MAX and incr_pair refuses, until
 * incr_forget_new (the caller pairs cold then anyway; this bounds the list
 * while nothing pairs, e.g. in a standby). NULL if memory runs out. */
struct incr *incr_new(size_t max_new);
void incr_free(struct incr *c);

/* A request starts waiting (arrival, or back after a failed claim): into its
 * side's tree and the new list. 0, or -1 if memory runs out (then nothing
 * changed, and the caller should stop relying on c: see incr_reset). */
int incr_add(struct incr *c, int is_rider, double x, double y, uint64_t key);
/* A waiting request leaves without being paired here. 0, or -1 if it was
 * not in the tree. */
int incr_remove(struct incr *c, int is_rider, double x, double y, uint64_t key);

/* Pairs closest first every pair with a new request in it; the pairs leave
 * the trees; the new list is emptied. Returns the number of pairs, written
 * to *out (owned by c, valid until the next call), in the order made
 * (increasing (d2, rider, driver)), or -1 if memory runs out or the new list
 * overflowed (c is then unchanged but for the new list, which is kept). */
long incr_pair(struct incr *c, const struct incr_pair **out);

/* How many entries the new list holds (an upper bound of the new requests:
 * it may still hold some that left), or SIZE_MAX after an overflow. */
size_t incr_new_count(const struct incr *c);
/* Whether pairing cold is the cheaper way: incr_pair costs ~0.9 us per new
 * request, a cold pairing ~0.2-0.5 us per waiting one (bench_matcher
 * --steady-only: 1000 new a side over a backlog of 1000, 1.8 ms against
 * 0.7 ms), so cold when the new ones are over a third of all waiting
 * (new included). Both give the same pairs. */
int incr_cold_cheaper(size_t nnew, size_t waiting);
/* Empties the new list: the caller pairs the whole pool some other way
 * (pairing_match over a snapshot) and then incr_remove's every pair it made. */
void incr_forget_new(struct incr *c);
/* After incr_forget_new, the cold pairing did not happen (out of memory,
 * cancelled): everything counts as new again, so incr_new_count says
 * SIZE_MAX until the next incr_forget_new. */
void incr_all_new(struct incr *c);
/* Requests waiting on each side, as the trees hold them. */
size_t incr_waiting(const struct incr *c, int is_rider);
/* Empties everything. */
void incr_reset(struct incr *c);

#endif
