/* bigalloc.c - see bigalloc.h. */
#include "bigalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define BIG_HUGE ((size_t)2 << 20)

void *big_alloc(size_t bytes)
{
	if (bytes == 0)
		bytes = 1;
	if (bytes < BIG_HUGE)
		return malloc(bytes);
	size_t r = (bytes + BIG_HUGE - 1) / BIG_HUGE * BIG_HUGE;
	void *p = NULL;
	if (r < bytes || posix_memalign(&p, BIG_HUGE, r))
		return NULL;
	(void)madvise(p, r, MADV_HUGEPAGE); /* a hint; failure is harmless */
	return p;
}
