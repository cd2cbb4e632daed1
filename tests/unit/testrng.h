/* testrng.h - the deterministic random numbers of the unit tests and the
 * benchmarks (splitmix64): the same seed gives the same instances on every
 * machine. Each file that includes it has its own state; set rng_state to
 * seed it. Test support only, never linked into a service. */
#ifndef RS_TESTS_TESTRNG_H
#define RS_TESTS_TESTRNG_H

#include <stddef.h>
#include <stdint.h>

static uint64_t rng_state;

/* The next 64 random bits. */
static inline uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double unif(void)
{
	return (double)(rng() >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [0, n) (0 when n is 0). */
static inline size_t below(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

#endif
