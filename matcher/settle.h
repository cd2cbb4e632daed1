/* settle.h - what a claim's outcome does to the pool: the rules by which a
 * pair's two entries, CLAIMING while the claim is in flight, leave the pool
 * or wait again. Pure C: no I/O.
 *
 *   CLAIMED  (the script took both keys): both leave.
 *   REFUSED  (a key was missing: expired, or claimed by another matcher):
 *            each whose key still exists waits again, the other leaves.
 *   UNKNOWN  (no answer: connection lost, error): both wait again; had the
 *            claim gone through, their keys are gone and the next claim of
 *            either is REFUSED and drops it.
 * An entry already GONE (or no longer in the pool) stays as it is. */
#ifndef RS_MATCHER_SETTLE_H
#define RS_MATCHER_SETTLE_H

#include <stdint.h>

#include "pool.h"

enum settle_outcome { SETTLE_CLAIMED, SETTLE_REFUSED, SETTLE_UNKNOWN };

#define SETTLE_RIDER_BACK  1 /* the rider waits again */
#define SETTLE_DRIVER_BACK 2 /* the driver waits again */

/* Applies outcome o to the rider (rms-rseq) and the driver (dms-dseq);
 * rider_exists / driver_exists are the script's EXISTS answers (REFUSED only).
 * Returns which entries went back to WAITING (SETTLE_*_BACK bits). */
int settle_claim(struct pool *riders, uint64_t rms, uint64_t rseq, struct pool *drivers,
                 uint64_t dms, uint64_t dseq, enum settle_outcome o, int rider_exists,
                 int driver_exists);

#endif
