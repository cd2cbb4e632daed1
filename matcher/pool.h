/* pool.h - the matcher's waiting requests, one side (riders or drivers).
 * Pure C: no I/O. Entries are kept in order of acceptance (request id =
 * `requests` stream id "ms-seq"), so expiry is a scan from the front and a
 * lookup by id is a binary search. Entries are marked, not moved, when they
 * leave; pool_compact() squeezes them out when it is worth it. */
#ifndef RS_MATCHER_POOL_H
#define RS_MATCHER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "pairing.h"

enum pool_state { POOL_WAITING, POOL_CLAIMING, POOL_GONE };

struct pool_entry {
	uint64_t ms, seq; /* the request id */
	struct pairing_point loc;
	char *json;   /* canonical request JSON, owned */
	uint64_t ord; /* 1, 2, 3... in order of acceptance; never reused */
	uint8_t state;
};

struct pool {
	struct pool_entry *v;
	size_t n, cap;
	size_t head; /* entries before head are all GONE */
	size_t live; /* entries not GONE */
	uint64_t last_ord;
};

/* Ids are Redis stream ids: parse and format them with lib/streamid.h. */
/* Appends an entry, taking ownership of json (freed on failure too). Ids
 * must arrive in increasing order; an id not above the last is ignored
 * (returns 1). Returns 0 when added, -1 when out of memory. */
int pool_add(struct pool *p, uint64_t ms, uint64_t seq, struct pairing_point loc, char *json);
/* The entry with this id, or NULL (GONE entries are found too). */
struct pool_entry *pool_find(struct pool *p, uint64_t ms, uint64_t seq);
/* The entry with this ord, or NULL (GONE entries are found too). */
struct pool_entry *pool_find_ord(struct pool *p, uint64_t ord);
/* Marks an entry GONE and frees its JSON. */
void pool_remove(struct pool *p, struct pool_entry *e);
/* Removes WAITING entries accepted at or before now_ms - ttl_ms; returns
 * how many. gone (may be NULL) is called with each just before it goes. */
size_t pool_expire(struct pool *p, uint64_t now_ms, uint64_t ttl_ms,
                   void (*gone)(void *arg, const struct pool_entry *e), void *arg);
/* Squeezes GONE entries out when they are at least half of the array. */
void pool_compact(struct pool *p);
void pool_free(struct pool *p);

#endif
