/* batch.c - batch frames ({"type":"matches","count","cursor","items"}) for
 * sockets that asked for them: built in one scratch buffer; the frame built
 * from a queue is kept (with a reference on each item) and given as it is to
 * the next socket whose queue starts with the same run, so the caught-up
 * batching viewers of a flush share one frame, built once. */
#include "hub_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_HEAD_MAX (64 + STREAMID_STR_MAX)

void batch_forget(struct hub_sock *s)
{
	s->bmsg = NULL; /* h->scratch, not owned */
	s->bq = s->bitems = 0;
}

/* A batch frame for n items of items_len bytes together, the last with
 * stream id last; *p gets where the first item goes. NULL on OOM. Built in
 * h->scratch, reused for every batch (no malloc, no fresh pages per frame):
 * valid until the next batch is built, which is after the glue wrote it. */
static struct hub_msg *batch_alloc(struct hub *h, size_t items_len, unsigned n,
                                   struct streamid last, unsigned char **p)
{
	char head[BATCH_HEAD_MAX], cur[STREAMID_STR_MAX];
	struct hub_msg *m;
	size_t len;
	int hl;

	streamid_format(last, cur, STREAMID_STR_MAX);
	hl = snprintf(head, sizeof(head),
	              "{\"type\":\"matches\",\"count\":%u,\"cursor\":\"%s\",\"items\":[", n, cur);
	len = (size_t)hl + items_len + (n - 1) + 2;
	if (sizeof(*m) + HUB_PRE + len + 1 > h->scratch_cap) {
		size_t cap = sizeof(*m) + HUB_PRE + len + 1;

		if (cap < sizeof(*m) + HUB_PRE + h->cfg.batch_bytes + 4096)
			cap = sizeof(*m) + HUB_PRE + h->cfg.batch_bytes + 4096;
		m = realloc(h->scratch, cap);
		if (!m)
			return NULL;
		h->scratch = m;
		h->scratch_cap = cap;
	}
	m = h->scratch;
	m->refs = 1;
	m->kind = HUB_MSG_MATCH;
	m->id = last;
	m->len = len;
	memcpy(m->buf + HUB_PRE, head, (size_t)hl);
	m->buf[HUB_PRE + len - 2] = ']';
	m->buf[HUB_PRE + len - 1] = '}';
	m->buf[HUB_PRE + len] = 0;
	*p = m->buf + HUB_PRE + hl;
	return m;
}

/* The frame in scratch no longer stands for a run of queued messages. */
void batch_uncache(struct hub *h)
{
	while (h->bn)
		hub_msg_unref(h->bitems[--h->bn]);
}

/* 1 when scratch holds the frame of s's first n queued messages. */
static int batch_cached(const struct hub_sock *s, unsigned n)
{
	const struct hub *h = s->h;

	if (h->bn != n)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (h->bitems[i] != s->q[(s->qhead + i) % s->qcap])
			return 0;
	return 1;
}

/* Scratch now holds the frame of s's first n queued messages. */
static void batch_cache(struct hub_sock *s, unsigned n)
{
	struct hub *h = s->h;

	if (n > h->bitems_cap) {
		struct hub_msg **b = realloc(h->bitems, n * sizeof(*b));

		if (!b)
			return; /* not cached: the next socket builds its own */
		h->bitems = b;
		h->bitems_cap = n;
	}
	for (unsigned i = 0; i < n; i++) {
		h->bitems[i] = s->q[(s->qhead + i) % s->qcap];
		hub_msg_ref(h->bitems[i]);
	}
	h->bn = n;
}

static unsigned char *batch_put(unsigned char *p, const struct hub_msg *item, int first)
{
	if (!first)
		*p++ = ',';
	memcpy(p, item->buf + HUB_PRE, item->len);
	return p + item->len;
}

/* The run of matches at the head of s's queue as one frame (s->bmsg, s->bq). */
struct hub_msg *batch_from_queue(struct hub_sock *s)
{
	size_t cap = s->h->cfg.batch_bytes, tot = 0;
	unsigned n = 0;
	unsigned char *p;
	struct hub_msg *m;

	while (n < s->qlen) {
		m = s->q[(s->qhead + n) % s->qcap];
		if (m->kind != HUB_MSG_MATCH || (n && tot + m->len > cap))
			break;
		tot += m->len;
		n++;
	}
	if (batch_cached(s, n)) {
		s->bmsg = s->h->scratch;
		s->bq = n;
		return s->bmsg;
	}
	batch_uncache(s->h);
	m = batch_alloc(s->h, tot, n, s->q[(s->qhead + n - 1) % s->qcap]->id, &p);
	if (!m)
		return NULL;
	s->h->c.batch_builds++;
	for (unsigned i = 0; i < n; i++)
		p = batch_put(p, s->q[(s->qhead + i) % s->qcap], i == 0);
	batch_cache(s, n);
	s->bmsg = m;
	s->bq = n;
	return m;
}

/* The next missed matches of a resuming socket, from the ring, as one frame
 * (s->bmsg, s->bitems, s->brend); first is the first of them (resume_next). */
struct hub_msg *batch_from_ring(struct hub_sock *s, struct hub_msg *first)
{
	struct hub *h = s->h;
	size_t cap = h->cfg.batch_bytes, tot = first->len;
	uint64_t k, end = h->rbase + h->rlen, rend = s->rnext + 1;
	unsigned n = 1;
	struct streamid last = first->id;
	unsigned char *p;
	struct hub_msg *m;

	for (k = s->rnext + 1; k < end; k++) {
		m = ring_copy_for(s, ring_at(h, k));
		if (!m)
			continue;
		if (tot + m->len > cap)
			break;
		tot += m->len;
		n++;
		last = m->id;
		rend = k + 1;
	}
	batch_uncache(h);
	m = batch_alloc(h, tot, n, last, &p);
	if (!m)
		return NULL;
	h->c.batch_builds++;
	p = batch_put(p, first, 1);
	for (k = s->rnext + 1; k < rend; k++) {
		struct hub_msg *e = ring_copy_for(s, ring_at(h, k));

		if (e)
			p = batch_put(p, e, 0);
	}
	s->bmsg = m;
	s->bitems = n;
	s->brend = rend;
	return m;
}
