/* sock.c - one websocket connection: its life (registered, freed), what it
 * says (hello, ping, garbage, size and binary limits) and what it writes
 * next (a close, a ping, a queued message, a batch, a missed match). */
#include "hub_impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A socket is on three doubly linked lists (all, viewers, its client's),
 * each through its own pair of links. */
#define SOCK_LIST_PUSH(head, s, prev, next)                                                        \
	do {                                                                                       \
		(s)->next = (head);                                                                \
		if (head)                                                                          \
			(head)->prev = (s);                                                        \
		(head) = (s);                                                                      \
	} while (0)
#define SOCK_LIST_UNLINK(head, s, prev, next)                                                      \
	do {                                                                                       \
		if ((s)->prev)                                                                     \
			(s)->prev->next = (s)->next;                                               \
		else                                                                               \
			(head) = (s)->next;                                                        \
		if ((s)->next)                                                                     \
			(s)->next->prev = (s)->prev;                                               \
	} while (0)

struct hub_sock *hub_sock_new(struct hub *h, void *user, uint64_t now)
{
	struct hub_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->h = h;
	s->user = user;
	s->created_ms = s->last_rx_ms = now;
	h->now = now;
	SOCK_LIST_PUSH(h->all, s, prev, next);
	h->c.sockets++;
	return s;
}

void hub_sock_free(struct hub_sock *s)
{
	struct hub *h;

	if (!s)
		return;
	h = s->h;
	if (s->client) {
		SOCK_LIST_UNLINK(s->client->socks, s, cprev, cnext);
		if (!s->client->socks)
			client_remove(h, s->client);
	}
	if (s->hello && s->viewer) {
		SOCK_LIST_UNLINK(h->viewers, s, vprev, vnext);
		h->c.viewers--;
	} else if (s->hello) {
		h->c.clients--;
	}
	if (s->held)
		h->c.held--;
	SOCK_LIST_UNLINK(h->all, s, prev, next);
	h->c.sockets--;
	queue_clear(s, HUB_DROP_CLOSED);
	batch_forget(s);
	if (s->flush_due)
		h->flush_due--;
	free(s->q);
	free(s->rx);
	free(s->held);
	free(s);
}

void hub_sock_alive(struct hub_sock *s, uint64_t now)
{
	s->last_rx_ms = now;
	s->ping_sent_ms = 0;
}

void hub_sock_fail(struct hub_sock *s, int code, const char *reason)
{
	if (s->closing)
		return;
	s->h->c.closes_policy++;
	queue_close(s, code, reason, HUB_DROP_CLOSING);
}

const char *hub_sock_close_reason(const struct hub_sock *s)
{
	return s->h->rx_reason;
}

size_t hub_sock_queued(const struct hub_sock *s)
{
	return s->qlen;
}

int hub_sock_resuming(const struct hub_sock *s)
{
	return s->resuming;
}

int hub_sock_batching(const struct hub_sock *s)
{
	return s->batch;
}

int hub_sock_pending(const struct hub_sock *s)
{
	return s->close_now || s->closing || s->ping_due || s->qlen || s->resuming;
}

static void sock_error(struct hub_sock *s, const char *message, const char *field)
{
	struct hub *h = s->h;
	struct sbuf b = {0};

	h->c.bad_messages++;
	msg_error(&b, message, field);
	queue_sbuf(s, &b);
	if (++s->errors >= h->cfg.max_errors) {
		h->c.closes_policy++;
		queue_close(s, 1008, "too many invalid messages", -1);
	}
}

void hub_sock_hello(struct hub_sock *s, const char *data, size_t len)
{
	struct hub *h = s->h;
	struct validate_hello hello;
	struct validate_error err = {0};
	struct sbuf b = {0};
	struct streamid after;
	int resume = 0, recovered = -1, batch = 0;
	unsigned n = 0;
	uint64_t first = h->rbase + h->rlen;

	if (s->hello || s->held) {
		sock_error(s, "hello already received", NULL);
		return;
	}
	if (validate_parse_hello(data, len, &hello, &err) < 0) {
		sock_error(s, err.message ? err.message : "invalid hello", err.field);
		return;
	}
	{
		/* "batch": optional, a boolean (validate_parse_hello ignores it) */
		json_t *root = json_loadb(data, len, 0, NULL);
		json_t *bv = root ? json_object_get(root, "batch") : NULL;
		int bad = bv && !json_is_boolean(bv);

		batch = bv && json_is_true(bv);
		json_decref(root);
		if (bad) {
			sock_error(s, "batch must be true or false", "batch");
			return;
		}
	}
	if (hello.resume_after[0] && ring_point(h, hello.resume_after, &after) < 0) {
		sock_error(s, "resume_after must be a cursor or a ride_id", "resume_after");
		return;
	}
	if (!h->ready) {
		/* the ring is not loaded yet: answering now would say nothing was
		 * missed. Answered by hub_set_ready. */
		s->held = malloc(len ? len : 1);
		if (!s->held) {
			queue_close(s, 1011, "out of memory", HUB_DROP_OOM);
			return;
		}
		memcpy(s->held, data, len);
		s->held_len = len;
		h->c.held++;
		return;
	}
	resume = hello.resume_after[0] != 0;
	snprintf(s->cid, sizeof(s->cid), "%s", hello.client_id);
	if (s->cid[0]) {
		struct hub_client *c = client_get(h, s->cid);

		if (!c) {
			queue_close(s, 1011, "out of memory", HUB_DROP_OOM);
			return;
		}
		s->client = c;
		SOCK_LIST_PUSH(c->socks, s, cprev, cnext);
	}
	s->hello = 1;
	s->batch = batch;
	s->viewer = hello.viewer;
	if (s->viewer) {
		SOCK_LIST_PUSH(h->viewers, s, vprev, vnext);
		h->c.viewers++;
	} else {
		h->c.clients++;
	}
	s->errors = 0;
	if (resume) {
		recovered = streamid_cmp(after, h->floor) >= 0;
		if (!recovered)
			h->c.unrecovered++;
		n = ring_count_after(s, after, &first);
	}
	msg_welcome(&b, s->cid, s->viewer, h->cursor, n, recovered, s->batch);
	queue_sbuf(s, &b);
	if (n && !s->closing) {
		s->resuming = 1;
		s->rnext = first;
	}
}

static void sock_message(struct hub_sock *s, const char *data, size_t len)
{
	json_t *root = json_loadb(data, len, 0, NULL), *type;
	const char *t;

	if (!root || !json_is_object(root)) {
		json_decref(root);
		sock_error(s, "message must be a JSON object", NULL);
		return;
	}
	type = json_object_get(root, "type");
	t = json_is_string(type) ? json_string_value(type) : NULL;
	if (!t)
		sock_error(s, "type is required", "type");
	else if (!strcmp(t, "hello"))
		hub_sock_hello(s, data, len);
	else if (!strcmp(t, "ping"))
		queue_text(s, "{\"type\":\"pong\"}", 15);
	else if (!s->hello)
		sock_error(s, s->held ? "wait for the welcome" : "say hello first", "type");
	else
		sock_error(s, "unknown message type", "type");
	json_decref(root);
}

int hub_sock_rx(struct hub_sock *s, const void *data, size_t len, int binary, int complete,
                uint64_t now)
{
	struct hub *h = s->h;

	h->now = now;
	hub_sock_alive(s, now);
	if (s->closing)
		return 0;
	if (binary) {
		h->c.closes_policy++;
		snprintf(h->rx_reason, sizeof(h->rx_reason), "binary frames are not accepted");
		return 1003;
	}
	if (s->rx_len + len > h->cfg.max_rx) {
		h->c.closes_policy++;
		snprintf(h->rx_reason, sizeof(h->rx_reason), "message too large (max %zu bytes)",
		         h->cfg.max_rx);
		return 1009;
	}
	if (complete && !s->rx_len) {
		sock_message(s, data, len);
		return 0;
	}
	if (!s->rx) {
		s->rx = malloc(h->cfg.max_rx);
		if (!s->rx) {
			snprintf(h->rx_reason, sizeof(h->rx_reason), "out of memory");
			return 1011;
		}
	}
	memcpy(s->rx + s->rx_len, data, len);
	s->rx_len += len;
	if (complete) {
		size_t n = s->rx_len;

		s->rx_len = 0;
		sock_message(s, s->rx, n);
	}
	return 0;
}

void hub_sock_next(struct hub_sock *s, struct hub_out *out)
{
	memset(out, 0, sizeof(*out));
	s->out_ring = 0;
	batch_forget(s); /* a batch built but not sent is built again */
	if (!s->close_now && !s->closing && !s->qlen && s->resuming && !s->ping_due) {
		out->msg = ring_next(s);
		if (out->msg && s->batch && !(out->msg = batch_from_ring(s, out->msg))) {
			hub_drop(s, HUB_DROP_OOM, 1);
			queue_close(s, 1011, "out of memory", HUB_DROP_OOM);
		}
		if (out->msg) {
			out->kind = HUB_OUT_TEXT;
			s->out_ring = 1;
			return;
		}
	}
	if (s->batch && !s->close_now && !s->ping_due && s->qlen &&
	    s->q[s->qhead]->kind == HUB_MSG_MATCH) {
		out->msg = batch_from_queue(s);
		if (out->msg) {
			out->kind = HUB_OUT_TEXT;
			return;
		}
		hub_drop(s, HUB_DROP_OOM, 1);
		queue_close(s, 1011, "out of memory", HUB_DROP_OOM);
	}
	if (s->close_now || (s->closing && !s->qlen)) {
		out->kind = HUB_OUT_CLOSE;
		out->close_code = s->close_code;
		out->reason = s->close_reason;
	} else if (s->ping_due) {
		out->kind = HUB_OUT_PING;
	} else if (s->qlen) {
		out->kind = HUB_OUT_TEXT;
		out->msg = s->q[s->qhead];
	}
}

void hub_sock_sent(struct hub_sock *s, enum hub_out_kind kind)
{
	struct hub *h = s->h;

	if (kind == HUB_OUT_PING) {
		s->ping_due = 0;
	} else if (kind == HUB_OUT_TEXT && s->bmsg && s->out_ring) {
		s->out_ring = 0;
		s->rnext = s->brend;
		h->c.pushed += s->bitems;
		h->c.resumed += s->bitems;
		h->c.batches++;
		batch_forget(s);
	} else if (kind == HUB_OUT_TEXT && s->bmsg) {
		for (unsigned i = 0; i < s->bq && s->qlen; i++)
			queue_pop(s);
		h->c.batches++;
		batch_forget(s);
	} else if (kind == HUB_OUT_TEXT && s->out_ring) {
		s->out_ring = 0;
		s->rnext++;
		h->c.pushed++;
		h->c.resumed++;
	} else if (kind == HUB_OUT_TEXT && s->qlen) {
		queue_pop(s);
	}
}
