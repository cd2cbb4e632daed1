/* ring.c - the ring of recent matches (kept resume_ms, at most resume_max)
 * and the resume cursors walked through it as a resuming socket drains. */
#include "hub_impl.h"

#include "log.h"
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_entry *ring_at(const struct hub *h, uint64_t k)
{
	return &h->ring[(h->rhead + (k - h->rbase)) % h->cfg.resume_max];
}

void ring_pop(struct hub *h)
{
	struct hub_entry *e = &h->ring[h->rhead];

	if (streamid_cmp(e->id, h->floor) > 0)
		h->floor = e->id;
	hub_msg_unref(e->with_token);
	hub_msg_unref(e->without_token);
	memset(e, 0, sizeof(*e));
	h->rhead = (h->rhead + 1) % h->cfg.resume_max;
	h->rlen--;
	h->rbase++;
	h->c.ring = h->rlen;
}

void ring_prune(struct hub *h, uint64_t now)
{
	while (h->rlen && h->ring[h->rhead].id.ms + h->cfg.resume_ms < now)
		ring_pop(h);
}

/* The stream id after which a resuming socket wants matches; -1 when
 * resume_after is neither a cursor nor a ride id. A ride id not in the ring
 * falls back to its rider's request id (a match always follows it). */
int ring_point(const struct hub *h, const char *after, struct streamid *out)
{
	if (streamid_parse(after, STREAMID_SEQ_OPTIONAL, out) == 0)
		return 0;
	for (unsigned i = 0; i < h->rlen; i++) {
		const struct hub_entry *e = &h->ring[(h->rhead + i) % h->cfg.resume_max];

		if (!strcmp(e->ride_id, after)) {
			*out = e->id;
			return 0;
		}
	}
	if (!strncmp(after, RS_RIDE_ID_PREFIX, strlen(RS_RIDE_ID_PREFIX)) &&
	    streamid_parse(after + strlen(RS_RIDE_ID_PREFIX), STREAMID_SEQ_OPTIONAL, out) == 0)
		return 0;
	return -1;
}

/* The copy of e for s, or NULL when e is not for s. Never a token for a
 * viewer or the driver's client. */
struct hub_msg *ring_copy_for(const struct hub_sock *s, const struct hub_entry *e)
{
	if (s->cid[0] && !strcmp(e->rider, s->cid))
		return e->with_token;
	if ((s->cid[0] && !strcmp(e->driver, s->cid)) || s->viewer)
		return e->without_token;
	return NULL;
}

/* The next missed match for a resuming socket, from the ring; NULL when it
 * has caught up (then live delivery takes over) or was overrun (closed). */
struct hub_msg *ring_next(struct hub_sock *s)
{
	struct hub *h = s->h;

	if (s->rnext < h->rbase) {
		/* the ring dropped entries this socket had not been given yet */
		h->c.overrun_closes++;
		hub_drop(s, HUB_DROP_OVERRUN, h->rbase - s->rnext);
		queue_close(s, 1013, "resume overrun by newer matches: resume again",
		            HUB_DROP_OVERRUN);
		return NULL;
	}
	for (; s->rnext < h->rbase + h->rlen; s->rnext++) {
		struct hub_msg *m = ring_copy_for(s, ring_at(h, s->rnext));

		if (m)
			return m;
	}
	s->resuming = 0;
	return NULL;
}

struct hub_entry *ring_put(struct hub *h, struct streamid id, const struct msg_match *mc,
                           const char *rider_client, const char *driver_client)
{
	struct hub_entry *e;

	if (h->rlen == h->cfg.resume_max)
		ring_pop(h);
	e = &h->ring[(h->rhead + h->rlen) % h->cfg.resume_max];
	memset(e, 0, sizeof(*e));
	e->id = id;
	snprintf(e->ride_id, sizeof(e->ride_id), "%s", mc->ride_id);
	snprintf(e->rider, sizeof(e->rider), "%s", rider_client ? rider_client : "");
	snprintf(e->driver, sizeof(e->driver), "%s", driver_client ? driver_client : "");
	e->with_token = hub_msg_new(mc->with_token, mc->with_len);
	e->without_token = hub_msg_new(mc->without_token, mc->without_len);
	if (!e->with_token || !e->without_token) {
		char cur[STREAMID_STR_MAX];

		hub_msg_unref(e->with_token);
		hub_msg_unref(e->without_token);
		memset(e, 0, sizeof(*e));
		streamid_format(id, cur, STREAMID_STR_MAX);
		log_error("out of memory: match %s dropped", cur);
		return NULL;
	}
	e->with_token->kind = e->without_token->kind = HUB_MSG_MATCH;
	e->with_token->id = e->without_token->id = id;
	h->rlen++;
	h->c.ring = h->rlen;
	return e;
}

unsigned ring_count_after(const struct hub_sock *s, struct streamid after, uint64_t *first)
{
	const struct hub *h = s->h;
	unsigned n = 0;

	*first = h->rbase + h->rlen;
	for (uint64_t k = h->rbase + h->rlen; k-- > h->rbase;) {
		const struct hub_entry *e = ring_at(h, k);

		if (streamid_cmp(e->id, after) <= 0)
			break;
		*first = k;
		if (ring_copy_for(s, e))
			n++;
	}
	return n;
}
