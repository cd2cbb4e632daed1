/* bigalloc.h - malloc for the pairing's big arrays: from 2 MB up, 2 MB
 * aligned and advised as huge pages (fewer page faults and TLB misses).
 * Private to the matcher's core (kdtree.c, pairing.c). Free with free(). */
#ifndef RS_MATCHER_BIGALLOC_H
#define RS_MATCHER_BIGALLOC_H

#include <stddef.h>

void *big_alloc(size_t bytes);

#endif
