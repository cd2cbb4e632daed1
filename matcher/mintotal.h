/* mintotal.h - the min-total policy's pairing (--policy min-total): of all
 * ways to make min(nr, nd) rider-driver pairs, one whose total rider-driver
 * distance (the sum of sqrt(dx*dx + dy*dy)) is the least. Exact: the
 * Hungarian algorithm with potentials (shortest augmenting paths, one per
 * row of the smaller side), O(n^2 m) time for n = min(nr, nd), m = max(nr,
 * nd), O(m) memory (distances are computed when needed). Pure: no I/O, no
 * globals. Which optimal assignment comes out when several tie is
 * unspecified (deterministic for the same input). Coordinates finite. */
#ifndef RS_MATCHER_MINTOTAL_H
#define RS_MATCHER_MINTOTAL_H

#include <stddef.h>

#include "pairing.h"

/* Writes min(nr, nd) pairs to out (caller-allocated; NULL allowed when that
 * is 0), in increasing rider index. Returns the number of pairs, or -1 if
 * memory runs out or a side is >= 2^32 - 1. Reads the inputs only. */
long mt_match(const struct pairing_point *riders, size_t nr, const struct pairing_point *drivers,
              size_t nd, struct pairing_pair *out);

#endif
