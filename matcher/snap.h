/* snap.h - a tick's snapshot of the pool: the WAITING riders' and drivers'
 * positions, in acceptance order, with where each sits in its pool, and room
 * for the pairs. Pure C: no I/O. The buffers are kept between ticks. */
#ifndef RS_MATCHER_SNAP_H
#define RS_MATCHER_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "pairing.h"
#include "pool.h"

struct snap {
	struct pairing_point *rpts, *dpts; /* positions, nr and nd of them */
	uint32_t *rmap, *dmap;             /* rpts[i] is riders->v[rmap[i]] */
	struct pairing_pair *pairs;        /* room for min(nr, nd) pairs */
	size_t nr, nd;
	long npairs; /* set by the caller after pairing */
	size_t cap_rp, cap_rm, cap_dp, cap_dm, cap_pairs;
};

/* Takes the WAITING entries of both pools (entries CLAIMING or GONE are left
 * out), in pool order, and sets npairs to 0. The map indices stay valid while
 * the pools are not compacted. Returns 0, or -1 if memory runs out (s then
 * holds nothing: nr = nd = 0). */
int snap_take(struct snap *s, const struct pool *riders, const struct pool *drivers);
/* The pool entries of pair i (i < npairs). */
struct pool_entry *snap_rider(const struct snap *s, struct pool *riders, long i);
struct pool_entry *snap_driver(const struct snap *s, struct pool *drivers, long i);
void snap_free(struct snap *s);

#endif
