/* polltab.c - see polltab.h. */
#include "polltab.h"

#include <stdlib.h>
#include <string.h>

struct polltab_slot *polltab_at(struct polltab *t, int fd)
{
	if (fd < 0 || (size_t)fd >= t->cap || !t->slot[fd].h)
		return NULL;
	return &t->slot[fd];
}

struct polltab_slot *polltab_find(struct polltab *t, int fd, const void *h)
{
	struct polltab_slot *s = polltab_at(t, fd);

	return s && s->h == h ? s : NULL;
}

struct polltab_slot *polltab_add(struct polltab *t, int fd, void *h)
{
	struct polltab_slot *s;

	if (fd < 0 || !h)
		return NULL;
	if ((size_t)fd >= t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		struct polltab_slot *ns;

		while (cap <= (size_t)fd)
			cap *= 2;
		ns = realloc(t->slot, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		memset(ns + t->cap, 0, (cap - t->cap) * sizeof(*ns));
		t->slot = ns;
		t->cap = cap;
	}
	s = &t->slot[fd];
	if (!s->h)
		t->count++;
	/* a queued descriptor stays queued: settling the new slot then does
	 * what it needs, which is nothing until it asks for events */
	*s = (struct polltab_slot){.h = h, .queued = s->queued};
	return s;
}

void polltab_remove(struct polltab *t, int fd, const void *h)
{
	struct polltab_slot *s = polltab_find(t, fd, h);

	if (!s)
		return;
	*s = (struct polltab_slot){.queued = s->queued};
	t->count--;
}

static int queue(struct polltab *t, struct polltab_slot *s, int fd)
{
	if (s->queued)
		return 0;
	if (t->npend == t->pend_cap) {
		size_t cap = t->pend_cap ? t->pend_cap * 2 : 64;
		int *np = realloc(t->pend, cap * sizeof(*np));

		if (!np)
			return -1;
		t->pend = np;
		t->pend_cap = cap;
	}
	t->pend[t->npend++] = fd;
	s->queued = 1;
	return 0;
}

enum polltab_op polltab_settle(struct polltab_slot *s, int active)
{
	if (!active)
		s->applied = 0;
	if (s->wanted == s->applied)
		return POLLTAB_NONE;
	s->applied = s->wanted;
	return s->wanted ? POLLTAB_START : POLLTAB_STOP;
}

enum polltab_op polltab_want(struct polltab *t, struct polltab_slot *s, int fd, unsigned events,
                             int active, int defer)
{
	if (!active)
		s->applied = 0;
	s->wanted = events;
	if (events == s->applied)
		return POLLTAB_NONE;
	if (defer && s->applied && events && queue(t, s, fd) == 0)
		return POLLTAB_NONE;
	return polltab_settle(s, active);
}

int polltab_next(struct polltab *t, int *fd)
{
	while (t->pend_next < t->npend) {
		int f = t->pend[t->pend_next++];

		if ((size_t)f < t->cap && t->slot[f].queued) {
			t->slot[f].queued = 0;
			*fd = f;
			return 1;
		}
	}
	t->npend = t->pend_next = 0;
	return 0;
}

void polltab_free(struct polltab *t)
{
	free(t->slot);
	free(t->pend);
	memset(t, 0, sizeof(*t));
}
