/* backoff.c - see backoff.h. */
#include "backoff.h"

void backoff_init(struct backoff *b, uint32_t min_ms, uint32_t max_ms, uint32_t healthy_ms,
                  uint64_t seed)
{
	if (min_ms < 1)
		min_ms = 1;
	if (max_ms < min_ms)
		max_ms = min_ms;
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	b->healthy_ms = healthy_ms;
	b->base_ms = min_ms;
	b->up_ms = 0;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

uint32_t backoff_next(struct backoff *b)
{
	uint32_t half = b->base_ms / 2, span = b->base_ms - half;
	uint32_t d = half + (uint32_t)(xorshift(&b->rng) % ((uint64_t)span + 1));

	if (b->base_ms >= b->max_ms / 2)
		b->base_ms = b->max_ms;
	else
		b->base_ms *= 2;
	return d ? d : 1;
}

void backoff_up(struct backoff *b, uint64_t now_ms)
{
	b->up_ms = now_ms ? now_ms : 1;
}

int backoff_down(struct backoff *b, uint64_t last_alive_ms)
{
	int reset =
	    b->up_ms && last_alive_ms >= b->up_ms && last_alive_ms - b->up_ms >= b->healthy_ms;

	if (reset)
		b->base_ms = b->min_ms;
	b->up_ms = 0;
	return reset;
}
