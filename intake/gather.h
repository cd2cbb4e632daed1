/* gather.h - the requests one loop turn of rider-svc/driver-svc accepted,
 * gathered for one script call to Redis, and that call's arguments. Pure:
 * no I/O, no allocation (tests/unit/test_intake_gather.c). */
#ifndef RS_INTAKE_GATHER_H
#define RS_INTAKE_GATHER_H

#include <stddef.h>

/* At most this many requests per script call. */
#define GATHER_MAX 64
/* The script's fixed arguments before the requests: stream key, TTL in ms,
 * stream cap, kind. */
#define GATHER_FIXED    4
#define GATHER_ARGC_MAX (GATHER_FIXED + GATHER_MAX)

struct gather {
	int n;
	void *req[GATHER_MAX];  /* the held requests, in arrival order */
	char *json[GATHER_MAX]; /* their canonical JSON (owned by the caller) */
};

/* Appends a request; returns the count after it (GATHER_MAX: full, send
 * now), or -1 when it was already full (nothing appended). */
int gather_add(struct gather *g, void *req, char *json);

/* Fills argv/lens (GATHER_ARGC_MAX entries each) with fixed[0..3] and then
 * the gathered JSON in order; returns the argument count. */
int gather_args(const struct gather *g, const char *const fixed[GATHER_FIXED],
                const char *argv[GATHER_ARGC_MAX], size_t lens[GATHER_ARGC_MAX]);

#endif
