/* pendmap.c - see pendmap.h. Chained hash (FNV-1a) that doubles when the
 * load passes 1; expiry walks the insertion list from the oldest. */
#include "pendmap.h"

#include <stdlib.h>
#include <string.h>

void pend_init(struct pend_map *m)
{
	memset(m, 0, sizeof(*m));
}

void pend_free(struct pend_map *m)
{
	struct pend *e = m->head, *n;

	for (; e; e = n) {
		n = e->qnext;
		free(e);
	}
	free(m->tab);
	pend_init(m);
}

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

struct pend *pend_get(struct pend_map *m, const char *id, size_t len)
{
	struct pend *e;

	if (!m->nbuckets || !len || len > PEND_ID_MAX)
		return NULL;
	for (e = m->tab[hash(id, len) & (m->nbuckets - 1)]; e; e = e->hnext)
		if (!strncmp(e->id, id, len) && e->id[len] == 0)
			return e;
	return NULL;
}

static int grow(struct pend_map *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 1024;
	struct pend **tab = calloc(nb, sizeof(*tab));

	if (!tab)
		return -1;
	for (struct pend *e = m->head; e; e = e->qnext) {
		size_t b = hash(e->id, strlen(e->id)) & (nb - 1);

		e->hnext = tab[b];
		tab[b] = e;
	}
	free(m->tab);
	m->tab = tab;
	m->nbuckets = nb;
	return 0;
}

struct pend *pend_put(struct pend_map *m, const char *id, size_t len, uint64_t now_us, int *fresh)
{
	struct pend *e;
	size_t b;

	if (fresh)
		*fresh = 0;
	if (!len || len > PEND_ID_MAX || memchr(id, 0, len))
		return NULL;
	e = pend_get(m, id, len);
	if (e)
		return e;
	if (m->count >= m->nbuckets && grow(m) < 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->id, id, len);
	e->created_us = now_us;
	b = hash(id, len) & (m->nbuckets - 1);
	e->hnext = m->tab[b];
	m->tab[b] = e;
	*(m->tail ? &m->tail->qnext : &m->head) = e; /* appended: oldest first */
	m->tail = e;
	m->count++;
	if (fresh)
		*fresh = 1;
	return e;
}

size_t pend_expire(struct pend_map *m, uint64_t before_us)
{
	size_t n = 0;

	while (m->head && m->head->created_us < before_us) {
		struct pend *e = m->head, **pp;

		pp = &m->tab[hash(e->id, strlen(e->id)) & (m->nbuckets - 1)];
		while (*pp != e)
			pp = &(*pp)->hnext;
		*pp = e->hnext;
		m->head = e->qnext;
		if (!m->head)
			m->tail = NULL;
		free(e);
		m->count--;
		n++;
	}
	return n;
}
