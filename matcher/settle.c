/* settle.c - see settle.h. */
#include "settle.h"

/* 1 when the entry went back to WAITING. */
static int settle_one(struct pool *p, uint64_t ms, uint64_t seq, int keep)
{
	struct pool_entry *e = pool_find(p, ms, seq);

	if (!e || e->state == POOL_GONE)
		return 0;
	if (!keep) {
		pool_remove(p, e);
		return 0;
	}
	e->state = POOL_WAITING;
	return 1;
}

int settle_claim(struct pool *riders, uint64_t rms, uint64_t rseq, struct pool *drivers,
                 uint64_t dms, uint64_t dseq, enum settle_outcome o, int rider_exists,
                 int driver_exists)
{
	int keep_r = o == SETTLE_UNKNOWN || (o == SETTLE_REFUSED && rider_exists);
	int keep_d = o == SETTLE_UNKNOWN || (o == SETTLE_REFUSED && driver_exists);

	return settle_one(riders, rms, rseq, keep_r) * SETTLE_RIDER_BACK |
	       settle_one(drivers, dms, dseq, keep_d) * SETTLE_DRIVER_BACK;
}
