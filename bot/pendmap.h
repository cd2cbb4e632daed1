/* pendmap.h - what the bot remembers per rider request id for a while: when
 * its 202 came and when its fare came (in either order), whether it was
 * rated. Lets it measure match latency, count each ride once although the
 * bot's single client may get two copies of a match, and rate each ride
 * once. A hash table plus a list in insertion order, so old entries are
 * dropped cheaply (pend_expire). Pure code: no I/O, no clock. */
#ifndef RS_BOT_PENDMAP_H
#define RS_BOT_PENDMAP_H

#include <stddef.h>
#include <stdint.h>

#define PEND_ID_MAX 47 /* request ids are "1763800000000-0": far shorter */

struct pend {
	char id[PEND_ID_MAX + 1];
	uint64_t created_us;       /* when the entry was made (for expiry) */
	uint64_t accepted_us;      /* when the 202 came; 0 if not (yet) */
	uint64_t fare_us;          /* when the first copy of the fare came; 0 if not (yet) */
	uint64_t matched_ms;       /* the match's matched_at_ms (server's wall clock); 0 if not */
	unsigned rated : 1;        /* a rating was sent for this ride */
	unsigned latency_done : 1; /* latency was recorded */
	/* used by ledger.c */
	unsigned kind : 2;      /* 0 unknown, LEDGER_RIDER, LEDGER_DRIVER */
	unsigned settled_a : 1; /* past TTL + grace */
	unsigned settled_b : 1; /* past TTL + grace + window: a rider's fate decided */
	unsigned nofare : 1;    /* settled without a fare (until a late one) */
	unsigned lost : 1;      /* a rider counted lost (else expired) */
	unsigned waited : 1;    /* its acceptance-to-match time was counted */
	uint32_t ttl_ms;        /* from the 202 */
	struct pend *hnext;     /* hash chain */
	struct pend *qnext;     /* insertion order */
};

struct pend_map {
	struct pend **tab; /* owned */
	size_t nbuckets, count;
	struct pend *head, *tail; /* oldest first; entries owned by the map */
};

void pend_init(struct pend_map *m);
/* Frees every entry and the table. */
void pend_free(struct pend_map *m);
/* The entry for id[0..len), or NULL. */
struct pend *pend_get(struct pend_map *m, const char *id, size_t len);
/* The entry for id, created (zeroed, created_us = now_us) when missing.
 * NULL when id is empty or longer than PEND_ID_MAX, or out of memory. *fresh
 * (may be NULL) tells whether it was created. now_us must not decrease
 * between calls. */
struct pend *pend_put(struct pend_map *m, const char *id, size_t len, uint64_t now_us, int *fresh);
/* Frees the entries created before before_us; returns how many. */
size_t pend_expire(struct pend_map *m, uint64_t before_us);

#endif
