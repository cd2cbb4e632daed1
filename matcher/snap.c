/* snap.c - see snap.h. */
#include "snap.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *n;

	if (need <= *cap)
		return 0;
	n = realloc(*p, need * size);
	if (!n)
		return -1;
	*p = n;
	*cap = need;
	return 0;
}

static size_t take(const struct pool *p, struct pairing_point *pts, uint32_t *map)
{
	size_t n = 0;

	for (size_t i = p->head; i < p->n; i++)
		if (p->v[i].state == POOL_WAITING) {
			pts[n] = p->v[i].loc;
			map[n++] = (uint32_t)i;
		}
	return n;
}

int snap_take(struct snap *s, const struct pool *riders, const struct pool *drivers)
{
	size_t need_r = riders->live, need_d = drivers->live;

	s->nr = s->nd = 0;
	s->npairs = 0;
	if (grow((void **)&s->rpts, &s->cap_rp, need_r, sizeof(*s->rpts)) < 0 ||
	    grow((void **)&s->rmap, &s->cap_rm, need_r, sizeof(*s->rmap)) < 0 ||
	    grow((void **)&s->dpts, &s->cap_dp, need_d, sizeof(*s->dpts)) < 0 ||
	    grow((void **)&s->dmap, &s->cap_dm, need_d, sizeof(*s->dmap)) < 0)
		return -1;
	s->nr = take(riders, s->rpts, s->rmap);
	s->nd = take(drivers, s->dpts, s->dmap);
	if (grow((void **)&s->pairs, &s->cap_pairs, s->nr < s->nd ? s->nr : s->nd,
	         sizeof(*s->pairs)) < 0) {
		s->nr = s->nd = 0;
		return -1;
	}
	return 0;
}

struct pool_entry *snap_rider(const struct snap *s, struct pool *riders, long i)
{
	return &riders->v[s->rmap[s->pairs[i].rider]];
}

struct pool_entry *snap_driver(const struct snap *s, struct pool *drivers, long i)
{
	return &drivers->v[s->dmap[s->pairs[i].driver]];
}

void snap_free(struct snap *s)
{
	free(s->rpts);
	free(s->dpts);
	free(s->rmap);
	free(s->dmap);
	free(s->pairs);
	memset(s, 0, sizeof(*s));
}
