/* backoff.h - when to try the websocket again: exponential backoff with
 * jitter that is not fooled by a connection that dies at once. Each delay is
 * drawn uniformly from [base/2, base] ("equal jitter"), then the base doubles
 * up to max. Reaching the server is not success: the base goes back to min
 * only when a connection ends after having been alive (pongs or messages
 * heard) for at least healthy_ms. So a server that accepts and then drops
 * every connection sees the same widening gaps as one that refuses them.
 * Pure code: the caller passes the clock (ms) and a seed. */
#ifndef RS_BOT_BACKOFF_H
#define RS_BOT_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint32_t min_ms, max_ms; /* base starts at min, doubles up to max */
	uint32_t healthy_ms;     /* alive this long: the base resets */
	uint32_t base_ms;        /* the base of the next delay */
	uint64_t up_ms;          /* when the current connection came up; 0: none */
	uint64_t rng;            /* xorshift state */
};

/* min >= 1, max >= min (clamped). seed: any value (0 is replaced). */
void backoff_init(struct backoff *b, uint32_t min_ms, uint32_t max_ms, uint32_t healthy_ms,
                  uint64_t seed);
/* The delay before the next attempt, in [base/2, base] (at least 1 ms); the
 * base then doubles, capped at max. */
uint32_t backoff_next(struct backoff *b);
/* A connection came up at now_ms. Does not reset the base. */
void backoff_up(struct backoff *b, uint64_t now_ms);
/* The connection ended; last_alive_ms is the last time it was heard from
 * (pong, message, or when it came up). Resets the base to min when it was
 * alive for healthy_ms or more; returns 1 then, else 0. */
int backoff_down(struct backoff *b, uint64_t last_alive_ms);

#endif
