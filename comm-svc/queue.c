/* queue.c - per-socket queues of shared messages and back-pressure: a
 * socket over its cap (messages or bytes) is closed as too slow, one that
 * would push all queues together over theirs is closed as "server busy";
 * either can resume. A batching socket's first queued match asks for its
 * write at the next hub_flush. */
#include "hub_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void queue_clear(struct hub_sock *s, int why)
{
	unsigned long long n = s->qlen;

	batch_forget(s);
	while (s->qlen) {
		hub_msg_unref(s->q[s->qhead]);
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
	}
	s->h->c.queued_bytes -= s->qbytes;
	s->qbytes = 0;
	if (why >= 0)
		hub_drop(s, (enum hub_drop)why, n);
}

/* Starts the close of s. With why >= 0 it closes now: what is queued is
 * dropped (counted under why) and the resume stops; otherwise the queue is
 * written first. */
void queue_close(struct hub_sock *s, int code, const char *reason, int why)
{
	if (s->closing)
		return;
	s->closing = 1;
	s->closing_ms = s->h->now;
	s->close_code = code;
	snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason ? reason : "");
	s->resuming = 0;
	if (why >= 0) {
		s->close_now = 1;
		queue_clear(s, why);
	}
	s->h->ops.want_write(s->user);
}

/* Queues m (takes a new reference). 0, or -1 when it was not queued (s
 * closing, or closed now for being too slow; counted). */
int queue_push(struct hub_sock *s, struct hub_msg *m)
{
	struct hub *h = s->h;
	char why[100];

	if (s->closing) {
		hub_drop(s, HUB_DROP_CLOSING, 1);
		return -1;
	}
	if (s->qlen >= h->cfg.max_queue_msgs || s->qbytes + m->len > h->cfg.max_queue_bytes) {
		h->c.slow_closes++;
		snprintf(why, sizeof(why), "too slow: %u messages (%zu bytes) unsent", s->qlen,
		         s->qbytes);
		hub_drop(s, HUB_DROP_SLOW, 1);
		queue_close(s, 1008, why, HUB_DROP_SLOW);
		return -1;
	}
	if (h->c.queued_bytes + m->len > h->cfg.max_total_bytes) {
		h->c.memory_closes++;
		hub_drop(s, HUB_DROP_MEMORY, 1);
		queue_close(s, 1013, "server busy: queues full, resume later", HUB_DROP_MEMORY);
		return -1;
	}
	if (s->qlen == s->qcap) {
		unsigned ncap = s->qcap ? s->qcap * 2 : 16;
		struct hub_msg **nq;

		if (ncap > h->cfg.max_queue_msgs)
			ncap = h->cfg.max_queue_msgs;
		nq = malloc(ncap * sizeof(*nq));
		if (!nq) {
			hub_drop(s, HUB_DROP_OOM, 1);
			queue_close(s, 1011, "out of memory", HUB_DROP_OOM);
			return -1;
		}
		for (unsigned i = 0; i < s->qlen; i++)
			nq[i] = s->q[(s->qhead + i) % s->qcap];
		free(s->q);
		s->q = nq;
		s->qhead = 0;
		s->qcap = ncap;
	}
	hub_msg_ref(m);
	s->q[(s->qhead + s->qlen) % s->qcap] = m;
	s->qlen++;
	s->qbytes += m->len;
	h->c.queued_bytes += m->len;
	if (s->qlen == 1) {
		if (s->batch && m->kind == HUB_MSG_MATCH && h->cfg.batch_defer) {
			/* more matches will follow before hub_flush: one frame for them all */
			if (!s->flush_due) {
				s->flush_due = 1;
				h->flush_due++;
			}
		} else {
			h->ops.want_write(s->user);
		}
	} else if (s->flush_due && m->kind != HUB_MSG_MATCH) {
		/* a reply or stats behind deferred matches: no waiting for it */
		h->ops.want_write(s->user);
	}
	return 0;
}

/* Queues a private text (a reply). */
void queue_text(struct hub_sock *s, const char *text, size_t len)
{
	struct hub_msg *m = hub_msg_new(text, len);

	if (!m) {
		hub_drop(s, HUB_DROP_OOM, 1);
		queue_close(s, 1011, "out of memory", HUB_DROP_OOM);
		return;
	}
	queue_push(s, m);
	hub_msg_unref(m);
}

void queue_sbuf(struct hub_sock *s, struct sbuf *b)
{
	if (b->oom) {
		hub_drop(s, HUB_DROP_OOM, 1);
		queue_close(s, 1011, "out of memory", HUB_DROP_OOM);
	} else {
		queue_text(s, b->p, b->len);
	}
	sbuf_free(b);
}

/* The head of s's queue was written. */
void queue_pop(struct hub_sock *s)
{
	struct hub *h = s->h;
	struct hub_msg *m = s->q[s->qhead];

	if (m->kind == HUB_MSG_REPLY)
		h->c.replies++;
	else
		h->c.pushed++;
	s->qbytes -= m->len;
	h->c.queued_bytes -= m->len;
	s->qhead = (s->qhead + 1) % s->qcap;
	s->qlen--;
	hub_msg_unref(m);
}
