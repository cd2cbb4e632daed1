/* pairing.h — the matcher's pure core: closest-pair-first pairing of waiting
 * riders and drivers, and the fare. No I/O, no globals, no event loop.
 *
 * The rule: repeatedly take the globally closest (rider, driver) pair still
 * free, pair them, remove both, until one side is empty. Closeness is the
 * squared distance computed as dx*dx + dy*dy in double (dx = r.x - d.x,
 * dy = r.y - d.y); equal squared distances go to the lower rider index, then
 * the lower driver index. The result equals that brute force bit for bit.
 * Coordinates must be finite.
 */
#ifndef RS_PAIRING_H
#define RS_PAIRING_H

#include <stddef.h>
#include <stdint.h>

struct mc_point {
    double x, y;
};

struct mc_pair {
    uint32_t rider, driver; /* indices into the riders / drivers arrays */
    double distance;        /* sqrt of the squared distance */
};

/* Pairs riders[0..nr) with drivers[0..nd) closest pair first (index = order of
 * acceptance, lower = earlier). Writes min(nr, nd) pairs to out (the caller
 * allocates that many; out may be NULL when that is 0), in the order they are
 * made, which is increasing (squared distance, rider, driver). Returns the
 * number of pairs, or -1 if memory runs out or nr or nd is >= 2^32 - 1 (out
 * is then unspecified). Reads the inputs only; allocates and frees its own
 * scratch (about 40 bytes per driver plus 24 per rider, see mc_match_bytes). */
long mc_match(const struct mc_point *riders, size_t nr, const struct mc_point *drivers, size_t nd,
              struct mc_pair *out);

/* Bytes mc_match allocates at its peak for nr riders and nd drivers
 * (0 if it would return at once). */
size_t mc_match_bytes(size_t nr, size_t nd);

/* Fare in taka for a ride of the given distance: 2 taka per unit. */
double mc_fare_taka(double distance);

#endif
