/* pool.c - see pool.h. */
#include "pool.h"

#include "streamid.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int id_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
	return streamid_cmp((struct streamid){ams, aseq}, (struct streamid){bms, bseq});
}

int pool_add(struct pool *p, uint64_t ms, uint64_t seq, struct pairing_point loc, char *json)
{
	if (p->n && id_cmp(ms, seq, p->v[p->n - 1].ms, p->v[p->n - 1].seq) <= 0) {
		free(json);
		return 1;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct pool_entry *v = realloc(p->v, cap * sizeof(*v));

		if (!v) {
			free(json);
			return -1;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct pool_entry){ms, seq, loc, json, ++p->last_ord, POOL_WAITING};
	p->live++;
	return 0;
}

struct pool_entry *pool_find(struct pool *p, uint64_t ms, uint64_t seq)
{
	size_t lo = p->head, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = id_cmp(p->v[mid].ms, p->v[mid].seq, ms, seq);

		if (c == 0)
			return &p->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct pool_entry *pool_find_ord(struct pool *p, uint64_t ord)
{
	size_t lo = p->head, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->v[mid].ord == ord)
			return &p->v[mid];
		if (p->v[mid].ord < ord)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void pool_remove(struct pool *p, struct pool_entry *e)
{
	if (e->state == POOL_GONE)
		return;
	e->state = POOL_GONE;
	free(e->json);
	e->json = NULL;
	p->live--;
	while (p->head < p->n && p->v[p->head].state == POOL_GONE)
		p->head++;
}

size_t pool_expire(struct pool *p, uint64_t now_ms, uint64_t ttl_ms,
                   void (*gone)(void *arg, const struct pool_entry *e), void *arg)
{
	size_t expired = 0;

	for (size_t i = p->head; i < p->n; i++) {
		struct pool_entry *e = &p->v[i];

		if (e->ms + ttl_ms > now_ms)
			break; /* in acceptance order: the rest are younger */
		if (e->state == POOL_WAITING) {
			if (gone)
				gone(arg, e);
			pool_remove(p, e);
			expired++;
		}
	}
	return expired;
}

void pool_compact(struct pool *p)
{
	size_t w = 0;

	if (p->n - p->live < p->n / 2 + 1024 && p->head < p->n)
		return;
	for (size_t i = p->head; i < p->n; i++)
		if (p->v[i].state != POOL_GONE)
			p->v[w++] = p->v[i];
	p->n = w;
	p->head = 0;
}

void pool_free(struct pool *p)
{
	for (size_t i = p->head; i < p->n; i++)
		free(p->v[i].json);
	free(p->v);
	memset(p, 0, sizeof(*p));
}
