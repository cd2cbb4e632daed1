/* polltab.h - the bookkeeping of lib/uvpoll: for each watched descriptor,
 * the events its owner last asked for and the events the loop watches, and
 * the descriptors whose two differ, to be settled once before the loop
 * polls. Pure: no I/O, no event loop (the handle and its callback are
 * opaque pointers here). */
#ifndef RS_LIB_POLLTAB_H
#define RS_LIB_POLLTAB_H

#include <stddef.h>

/* What to do to the loop's watch of a descriptor. */
enum polltab_op {
	POLLTAB_NONE,  /* nothing (unchanged, or queued for polltab_next) */
	POLLTAB_START, /* watch slot->wanted (it is not 0) */
	POLLTAB_STOP,  /* watch nothing */
};

struct polltab_slot {
	void *h;          /* the handle; NULL: the slot is free */
	void (*cb)(void); /* its owner's callback (the caller's type, cast) */
	unsigned wanted;  /* the events its owner asked for last */
	unsigned applied; /* the events the loop was last told to watch */
	int queued;       /* its descriptor is on the pending list */
};

/* Zero-initialised is an empty table. Owns its arrays (polltab_free). */
struct polltab {
	struct polltab_slot *slot; /* indexed by descriptor */
	size_t cap;                /* slots allocated */
	size_t count;              /* slots in use */
	int *pend;                 /* descriptors to settle, each at most once */
	size_t npend, pend_cap, pend_next;
};

/* The slot of fd if it holds handle h, else NULL. */
struct polltab_slot *polltab_find(struct polltab *t, int fd, const void *h);
/* A fresh slot for fd holding h (nothing wanted, nothing applied, no
 * callback), growing the table; whatever fd's slot held is forgotten.
 * NULL when out of memory or fd < 0. */
struct polltab_slot *polltab_add(struct polltab *t, int fd, void *h);
/* Forgets fd's slot if it holds h (a queued entry is then skipped). */
void polltab_remove(struct polltab *t, int fd, const void *h);

/* The owner of slot s (descriptor fd) asks for events (0: none). active
 * says whether the loop still watches the handle at all (it may have
 * stopped it on an error: then nothing counts as applied). With defer set,
 * a change of a watched handle's events to other events (not to none) is
 * queued for polltab_next and POLLTAB_NONE returned; asking again for the
 * applied events before that cancels it. Otherwise the operation to do now
 * is returned and s->applied already says its result: so a handle is
 * watched at all exactly when its owner's last call asked for events (a
 * start of a handle the loop does not watch is done, and can fail, at once;
 * a stop is done at once). Asking for the applied events is POLLTAB_NONE. */
enum polltab_op polltab_want(struct polltab *t, struct polltab_slot *s, int fd, unsigned events,
                             int active, int defer);
/* Takes the next queued descriptor: 1 and *fd set, or 0 when none is left
 * (the list is then empty and reusable). Settle its slot, if it is still
 * there (polltab_at), with polltab_settle. */
int polltab_next(struct polltab *t, int *fd);
/* The slot at fd, or NULL when free. */
struct polltab_slot *polltab_at(struct polltab *t, int fd);
/* The operation that makes the loop watch s->wanted (active as for
 * polltab_want); s->applied then says its result. */
enum polltab_op polltab_settle(struct polltab_slot *s, int active);
/* Frees the arrays; the table is empty again. */
void polltab_free(struct polltab *t);

#endif
