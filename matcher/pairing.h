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
#ifndef RS_MATCHER_PAIRING_H
#define RS_MATCHER_PAIRING_H

#include <stddef.h>
#include <stdint.h>

struct pairing_point {
	double x, y;
};

struct pairing_pair {
	uint32_t rider, driver; /* indices into the riders / drivers arrays */
	double distance;        /* sqrt of the squared distance */
};

/* Pairs riders[0..nr) with drivers[0..nd) closest pair first (index = order of
 * acceptance, lower = earlier). Writes min(nr, nd) pairs to out (the caller
 * allocates that many; out may be NULL when that is 0), in the order they are
 * made, which is increasing (squared distance, rider, driver). Returns the
 * number of pairs, or -1 if memory runs out or nr or nd is >= 2^32 - 1 (out
 * is then unspecified). Reads the inputs only; allocates and frees its own
 * scratch (at most pairing_match_bytes: about 190 bytes per rider or driver
 * at 1e6 a side, of which the grid pre-pass of pairing.c takes about 140);
 * pairing_match_ctx below does the same with buffers kept between calls. From
 * 16384 drivers up, the tree's parts are built, and from 16384 riders up, the
 * riders' first queries run, on as many threads as there are processors
 * online (at most 8; pairing_ctx_set_threads), and from 16384 on the larger
 * side the grid pre-pass's sorts and scans on two, joined before it returns. */
long pairing_match(const struct pairing_point *riders, size_t nr,
                   const struct pairing_point *drivers, size_t nd, struct pairing_pair *out);

/* Bytes pairing_match allocates at its peak for nr riders and nd drivers,
 * at most (the pre-pass's share depends on the points; 0 if it would return
 * at once); also what a fresh context grows to at most (plus the spare room
 * below). */
size_t pairing_match_bytes(size_t nr, size_t nd);

/* A reusable context for calling the pairing once per tick: it keeps its
 * buffers (the tree, the riders' working set, the queue) between calls, so
 * steady-state calls neither allocate nor fault in fresh memory. Buffers grow
 * when a call needs more (with 1/8 to spare) and shrink when one needs less
 * than about a quarter. A context is used by one thread at a time.
 *   pairing_ctx_new: NULL if memory runs out.
 *   pairing_match_ctx: exactly pairing_match (same arguments, result and errors),
 *     using ctx's buffers. After an error ctx stays valid (and may hold less).
 *   pairing_ctx_bytes: bytes ctx holds now.
 *   pairing_ctx_free: frees ctx and its buffers; NULL is allowed. */
struct pairing_ctx;
struct pairing_ctx *pairing_ctx_new(void);
long pairing_match_ctx(struct pairing_ctx *ctx, const struct pairing_point *riders, size_t nr,
                       const struct pairing_point *drivers, size_t nd, struct pairing_pair *out);
size_t pairing_ctx_bytes(const struct pairing_ctx *ctx);
/* Threads a call may use for building the tree (from 16384 drivers up), the
 * riders' first queries (from 16384 riders up) and the grid pre-pass (two,
 * from 16384 on the larger side); 1..8, default the
 * processors online, at most 8: the result is the same whatever the number. */
void pairing_ctx_set_threads(struct pairing_ctx *ctx, unsigned threads);
/* The grid pre-pass (pairing.c) runs when both sides have at least n
 * (default GRID_MIN there); for tests and benchmarks: the result is the same. */
void pairing_ctx_set_grid_min(struct pairing_ctx *ctx, size_t n);
void pairing_ctx_free(struct pairing_ctx *ctx);

/* Fare in taka for a ride of the given distance: 2 taka per unit. */
double pairing_fare_taka(double distance);

#endif
