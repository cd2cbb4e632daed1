/* hub.c - see hub.h. Data structures:
 *   - every socket is on h->all (for ticks); hello'd viewers also on h->viewers;
 *   - sockets with a client_id hang off a struct hub_client in a chained hash
 *     table keyed by client_id (several sockets may share an id);
 *   - a socket's queue is a ring of message pointers that grows up to the cap:
 *     live traffic and replies only;
 *   - recent matches are a ring of struct hub_entry, oldest first; entry k
 *     (counted from the start) sits at ring[(rhead + k - rbase) % resume_max].
 *     A resuming socket keeps the number of the next entry to look at (rnext)
 *     and is given entries from the ring as it drains; live matches skip it
 *     until it has caught up, so nothing comes twice or out of order, and a
 *     resume burst never counts against the slow-reader cap.
 * A live match is delivered once per socket: each socket carries the
 * sequence number of the last match it was given (stamp).
 * Batching: for a socket that asked for it, hub_sock_next coalesces the run
 * of matches at the head of its queue (or, while resuming, the next missed
 * matches in the ring) into one frame built on the spot; hub_sock_sent then
 * takes all of them off. Items are the same shared per-match messages, so the
 * token rules are the per-message ones. */
#include "hub.h"

#include "log.h"
#include "sbuf.h"
#include "schema.h"
#include "validate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_client {
	struct hub_client *next; /* hash chain */
	struct hub_sock *socks;  /* via hub_sock.cnext */
	char id[V_CLIENT_ID_MAX + 1];
};

struct hub_sock {
	struct hub *h;
	void *user;
	struct hub_sock *prev, *next;   /* h->all */
	struct hub_sock *vprev, *vnext; /* h->viewers */
	struct hub_sock *cprev, *cnext; /* client->socks */
	struct hub_client *client;
	char cid[V_CLIENT_ID_MAX + 1];
	int hello, viewer;
	/* a hello received before the ring was loaded */
	char *held;
	size_t held_len;
	/* outgoing */
	struct hub_msg **q;
	unsigned qhead, qlen, qcap;
	size_t qbytes;
	uint64_t stamp;
	/* resume: the next ring entry to look at; out_ring: the frame
	 * hub_sock_next gave came from the ring */
	int resuming, out_ring;
	uint64_t rnext;
	/* batching ("batch":true in the hello): bmsg is the batch frame
	 * hub_sock_next built, of bq queued messages or, out_ring, of bitems
	 * ring entries ending before entry brend */
	int batch, flush_due; /* flush_due: matches queued, write asked at hub_flush */
	struct hub_msg *bmsg;
	unsigned bq, bitems;
	uint64_t brend;
	/* incoming */
	char *rx;
	size_t rx_len;
	unsigned errors;
	/* liveness */
	uint64_t created_ms, last_rx_ms, ping_sent_ms, closing_ms;
	int ping_due;
	/* closing: close_now skips what is queued */
	int closing, close_now, close_code;
	char close_reason[100];
};

struct hub_entry {
	struct streamid id;
	char ride_id[97];
	char rider[V_CLIENT_ID_MAX + 1], driver[V_CLIENT_ID_MAX + 1];
	struct hub_msg *with_token, *without_token;
};

/* A log line at most once a second per kind; the rest are counted into it. */
struct rlog {
	uint64_t last_ms;
	unsigned long long skipped;
};

enum { RLOG_DROP = 0, RLOG_PING = HUB_DROP_N, RLOG_ENTRY, RLOG_N };

struct hub {
	struct hub_cfg cfg;
	struct hub_ops ops;
	struct hub_sock *all, *viewers;
	struct hub_client **buckets;
	size_t nbuckets, nclients;
	struct hub_entry *ring;
	unsigned rhead, rlen;
	uint64_t rbase;        /* number of ring[rhead] */
	struct streamid floor; /* every match after it is in the ring */
	int ready;
	unsigned flush_due;      /* sockets waiting for hub_flush */
	struct hub_msg *scratch; /* where batch frames are built (one at a time) */
	size_t scratch_cap;
	/* the items of the batch frame in scratch when it was built from a
	 * queue (one reference each, so no pointer is reused meanwhile): the
	 * next socket whose queue starts with the same run (every caught-up
	 * batching viewer) is given that frame as it is, not a copy */
	struct hub_msg **bitems;
	unsigned bn, bitems_cap;
	uint64_t seq;
	uint64_t now; /* the latest time given by the caller */
	char cursor[STREAMID_STR_MAX];
	char rx_reason[64];
	struct rlog rlog[RLOG_N];
	struct hub_counters c;
};

static const char *const drop_names[HUB_DROP_N] = {
    "slow", "memory", "dead", "closing", "closed", "oom", "overrun",
};

const char *hub_drop_name(enum hub_drop why)
{
	return (unsigned)why < HUB_DROP_N ? drop_names[why] : "?";
}

/* 1 when a line of kind k may be logged now; *skipped gets how many were not. */
static int rlog_ok(struct hub *h, int k, unsigned long long *skipped)
{
	struct rlog *r = &h->rlog[k];

	if (r->last_ms && h->now < r->last_ms + 1000) {
		r->skipped++;
		return 0;
	}
	r->last_ms = h->now ? h->now : 1;
	*skipped = r->skipped;
	r->skipped = 0;
	return 1;
}

/* n messages for s thrown away: counted, and logged (rate-limited). */
static void drop(struct hub_sock *s, enum hub_drop why, unsigned long long n)
{
	struct hub *h = s->h;
	unsigned long long skipped;

	if (!n)
		return;
	h->c.dropped[why] += n;
	if (rlog_ok(h, RLOG_DROP + why, &skipped))
		log_warn("socket of %s%s: %llu message(s) dropped (%s; %llu total)%s",
		         s->viewer ? "viewer " : "client ", s->cid[0] ? s->cid : "-", n,
		         drop_names[why], h->c.dropped[why],
		         skipped ? " (similar lines suppressed)" : "");
}

/* ---------------------------------------------------------------- messages */

struct hub_msg *hub_msg_new(const char *text, size_t len)
{
	struct hub_msg *m = malloc(sizeof(*m) + HUB_PRE + len + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->kind = HUB_MSG_REPLY;
	m->len = len;
	memcpy(m->buf + HUB_PRE, text, len);
	m->buf[HUB_PRE + len] = 0;
	return m;
}

void hub_msg_ref(struct hub_msg *m)
{
	m->refs++;
}

void hub_msg_unref(struct hub_msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

/* ---------------------------------------------------------------- registry */

static size_t hash_id(const char *s, size_t nb)
{
	uint64_t x = 1469598103934665603ULL;

	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(x & (nb - 1));
}

static struct hub_client *client_find(const struct hub *h, const char *id)
{
	if (!id || !*id)
		return NULL;
	for (struct hub_client *c = h->buckets[hash_id(id, h->nbuckets)]; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

static void table_grow(struct hub *h)
{
	size_t nb = h->nbuckets * 2;
	struct hub_client **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct hub_client *c = h->buckets[i], *next;

		for (; c; c = next) {
			size_t k = hash_id(c->id, nb);

			next = c->next;
			c->next = b[k];
			b[k] = c;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

static struct hub_client *client_get(struct hub *h, const char *id)
{
	struct hub_client *c = client_find(h, id);
	size_t k;

	if (c)
		return c;
	if (h->nclients >= h->nbuckets)
		table_grow(h);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->id, sizeof(c->id), "%s", id);
	k = hash_id(id, h->nbuckets);
	c->next = h->buckets[k];
	h->buckets[k] = c;
	h->nclients++;
	h->c.client_ids = h->nclients;
	return c;
}

static void client_remove(struct hub *h, struct hub_client *c)
{
	struct hub_client **pp = &h->buckets[hash_id(c->id, h->nbuckets)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
	h->nclients--;
	h->c.client_ids = h->nclients;
}

/* ---------------------------------------------------------------- queues */

static void batch_forget(struct hub_sock *s)
{
	s->bmsg = NULL; /* h->scratch, not owned */
	s->bq = s->bitems = 0;
}

static void queue_clear(struct hub_sock *s, int why)
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
		drop(s, (enum hub_drop)why, n);
}

/* Starts the close of s. With why >= 0 it closes now: what is queued is
 * dropped (counted under why) and the resume stops; otherwise the queue is
 * written first. */
static void sock_close(struct hub_sock *s, int code, const char *reason, int why)
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
static int sock_push(struct hub_sock *s, struct hub_msg *m)
{
	struct hub *h = s->h;
	char why[100];

	if (s->closing) {
		drop(s, HUB_DROP_CLOSING, 1);
		return -1;
	}
	if (s->qlen >= h->cfg.max_queue_msgs || s->qbytes + m->len > h->cfg.max_queue_bytes) {
		h->c.slow_closes++;
		snprintf(why, sizeof(why), "too slow: %u messages (%zu bytes) unsent", s->qlen,
		         s->qbytes);
		drop(s, HUB_DROP_SLOW, 1);
		sock_close(s, 1008, why, HUB_DROP_SLOW);
		return -1;
	}
	if (h->c.queued_bytes + m->len > h->cfg.max_total_bytes) {
		h->c.memory_closes++;
		drop(s, HUB_DROP_MEMORY, 1);
		sock_close(s, 1013, "server busy: queues full, resume later", HUB_DROP_MEMORY);
		return -1;
	}
	if (s->qlen == s->qcap) {
		unsigned ncap = s->qcap ? s->qcap * 2 : 16;
		struct hub_msg **nq;

		if (ncap > h->cfg.max_queue_msgs)
			ncap = h->cfg.max_queue_msgs;
		nq = malloc(ncap * sizeof(*nq));
		if (!nq) {
			drop(s, HUB_DROP_OOM, 1);
			sock_close(s, 1011, "out of memory", HUB_DROP_OOM);
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
static void sock_send_text(struct hub_sock *s, const char *text, size_t len)
{
	struct hub_msg *m = hub_msg_new(text, len);

	if (!m) {
		drop(s, HUB_DROP_OOM, 1);
		sock_close(s, 1011, "out of memory", HUB_DROP_OOM);
		return;
	}
	sock_push(s, m);
	hub_msg_unref(m);
}

static void sock_send_sbuf(struct hub_sock *s, struct sbuf *b)
{
	if (b->oom) {
		drop(s, HUB_DROP_OOM, 1);
		sock_close(s, 1011, "out of memory", HUB_DROP_OOM);
	} else {
		sock_send_text(s, b->p, b->len);
	}
	sbuf_free(b);
}

/* ---------------------------------------------------------------- hub */

struct hub *hub_new(const struct hub_cfg *cfg, const struct hub_ops *ops)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->cfg = *cfg;
	if (!h->cfg.max_rx)
		h->cfg.max_rx = 4096;
	if (!h->cfg.max_queue_msgs)
		h->cfg.max_queue_msgs = 1024;
	if (!h->cfg.max_queue_bytes)
		h->cfg.max_queue_bytes = 1024 * 1024;
	if (!h->cfg.max_total_bytes)
		h->cfg.max_total_bytes = (size_t)256 * 1024 * 1024;
	if (!h->cfg.max_errors)
		h->cfg.max_errors = 10;
	if (!h->cfg.resume_ms)
		h->cfg.resume_ms = 60000;
	if (!h->cfg.resume_max)
		h->cfg.resume_max = 10000;
	if (!h->cfg.ping_ms)
		h->cfg.ping_ms = 20000;
	if (!h->cfg.ping_timeout_ms)
		h->cfg.ping_timeout_ms = 10000;
	if (!h->cfg.hello_timeout_ms)
		h->cfg.hello_timeout_ms = 30000;
	if (!h->cfg.close_grace_ms)
		h->cfg.close_grace_ms = 2000;
	if (!h->cfg.batch_bytes)
		h->cfg.batch_bytes = 65536;
	h->ops = *ops;
	h->nbuckets = 256;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	h->ring = calloc(h->cfg.resume_max, sizeof(*h->ring));
	if (!h->buckets || !h->ring) {
		free(h->buckets);
		free(h->ring);
		free(h);
		return NULL;
	}
	snprintf(h->cursor, sizeof(h->cursor), "0-0");
	return h;
}

static void batch_uncache(struct hub *h);

static struct hub_entry *ring_at(const struct hub *h, uint64_t k)
{
	return &h->ring[(h->rhead + (k - h->rbase)) % h->cfg.resume_max];
}

static void ring_pop(struct hub *h)
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

void hub_free(struct hub *h)
{
	if (!h)
		return;
	while (h->all)
		hub_sock_free(h->all);
	while (h->rlen)
		ring_pop(h);
	batch_uncache(h);
	free(h->bitems);
	free(h->scratch);
	free(h->ring);
	free(h->buckets);
	free(h);
}

const struct hub_counters *hub_counters(const struct hub *h)
{
	return &h->c;
}

const char *hub_cursor(const struct hub *h)
{
	return h->cursor;
}

void hub_set_cursor(struct hub *h, const char *id)
{
	struct streamid s;

	if (streamid_parse(id, STREAMID_SEQ_OPTIONAL, &s) == 0)
		streamid_format(s, h->cursor, STREAMID_STR_MAX);
}

int hub_ready(const struct hub *h)
{
	return h->ready;
}

static void sock_hello(struct hub_sock *s, const char *data, size_t len);

void hub_set_ready(struct hub *h, const char *floor)
{
	struct streamid f;

	if (floor && streamid_parse(floor, STREAMID_SEQ_OPTIONAL, &f) == 0 &&
	    streamid_cmp(f, h->floor) > 0)
		h->floor = f;
	if (h->ready)
		return;
	h->ready = 1;
	for (struct hub_sock *s = h->all; s; s = s->next)
		if (s->held) {
			char *t = s->held;

			s->held = NULL;
			h->c.held--;
			sock_hello(s, t, s->held_len);
			free(t);
		}
}

/* ---------------------------------------------------------------- delivery */

/* m for s from the live stream: queued, or left to the socket's resume. */
static void deliver(struct hub_sock *s, struct hub_msg *m)
{
	if (!s->resuming)
		sock_push(s, m);
}

static void deliver_match(struct hub *h, const struct hub_entry *e)
{
	struct hub_client *c;
	uint64_t seq = ++h->seq;

	if ((c = client_find(h, e->rider)))
		for (struct hub_sock *s = c->socks; s; s = s->cnext) {
			s->stamp = seq;
			deliver(s, e->with_token);
		}
	if ((c = client_find(h, e->driver)))
		for (struct hub_sock *s = c->socks; s; s = s->cnext)
			if (s->stamp != seq) {
				s->stamp = seq;
				deliver(s, e->without_token);
			}
	for (struct hub_sock *s = h->viewers; s; s = s->vnext)
		if (s->stamp != seq) {
			s->stamp = seq;
			deliver(s, e->without_token);
		}
}

static void ring_prune(struct hub *h, uint64_t now)
{
	while (h->rlen && h->ring[h->rhead].id.ms + h->cfg.resume_ms < now)
		ring_pop(h);
}

int hub_match(struct hub *h, const char *id, const char *json, size_t len, const char *rider_client,
              const char *driver_client, int deliver_now, uint64_t now)
{
	struct match_copies mc;
	struct hub_entry *e;
	struct streamid sid;
	char cursor[STREAMID_STR_MAX];
	const char *why = "bad stream id";

	h->now = now;

	if (streamid_parse(id, STREAMID_SEQ_OPTIONAL, &sid) < 0 ||
	    match_rewrite(json, len, id, &mc, &why) < 0) {
		unsigned long long skipped;

		h->c.bad_entries++;
		if (rlog_ok(h, RLOG_ENTRY, &skipped))
			log_warn("matches entry %s ignored: %s (%llu so far)%s", id, why,
			         h->c.bad_entries, skipped ? " (similar lines suppressed)" : "");
		return -1;
	}
	streamid_format(sid, cursor, STREAMID_STR_MAX);
	snprintf(h->cursor, sizeof(h->cursor), "%s", cursor);
	if (h->rlen == h->cfg.resume_max)
		ring_pop(h);
	e = &h->ring[(h->rhead + h->rlen) % h->cfg.resume_max];
	memset(e, 0, sizeof(*e));
	e->id = sid;
	snprintf(e->ride_id, sizeof(e->ride_id), "%s", mc.ride_id);
	snprintf(e->rider, sizeof(e->rider), "%s", rider_client ? rider_client : "");
	snprintf(e->driver, sizeof(e->driver), "%s", driver_client ? driver_client : "");
	e->with_token = hub_msg_new(mc.with_token, mc.with_len);
	e->without_token = hub_msg_new(mc.without_token, mc.without_len);
	match_copies_free(&mc);
	if (!e->with_token || !e->without_token) {
		hub_msg_unref(e->with_token);
		hub_msg_unref(e->without_token);
		memset(e, 0, sizeof(*e));
		log_error("out of memory: match %s dropped", id);
		return -1;
	}
	e->with_token->kind = e->without_token->kind = HUB_MSG_MATCH;
	e->with_token->id = e->without_token->id = sid;
	h->rlen++;
	h->c.ring = h->rlen;
	h->c.matches++;
	if (deliver_now)
		deliver_match(h, e);
	ring_prune(h, now);
	return 0;
}

void hub_stats(struct hub *h, const char *json, size_t len)
{
	struct hub_msg *m;

	h->c.stats++;
	if (!h->viewers)
		return;
	m = hub_msg_new(json, len);
	if (!m) {
		for (struct hub_sock *s = h->viewers; s; s = s->vnext)
			drop(s, HUB_DROP_OOM, 1);
		return;
	}
	m->kind = HUB_MSG_STATS;
	for (struct hub_sock *s = h->viewers; s; s = s->vnext)
		sock_push(s, m);
	hub_msg_unref(m);
}

/* ---------------------------------------------------------------- sockets */

struct hub_sock *hub_sock_new(struct hub *h, void *user, uint64_t now)
{
	struct hub_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->h = h;
	s->user = user;
	s->created_ms = s->last_rx_ms = now;
	h->now = now;
	s->next = h->all;
	if (h->all)
		h->all->prev = s;
	h->all = s;
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
		if (s->cprev)
			s->cprev->cnext = s->cnext;
		else
			s->client->socks = s->cnext;
		if (s->cnext)
			s->cnext->cprev = s->cprev;
		if (!s->client->socks)
			client_remove(h, s->client);
	}
	if (s->hello && s->viewer) {
		if (s->vprev)
			s->vprev->vnext = s->vnext;
		else
			h->viewers = s->vnext;
		if (s->vnext)
			s->vnext->vprev = s->vprev;
		h->c.viewers--;
	} else if (s->hello) {
		h->c.clients--;
	}
	if (s->held)
		h->c.held--;
	if (s->prev)
		s->prev->next = s->next;
	else
		h->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
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
	sock_close(s, code, reason, HUB_DROP_CLOSING);
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
	sock_send_sbuf(s, &b);
	if (++s->errors >= h->cfg.max_errors) {
		h->c.closes_policy++;
		sock_close(s, 1008, "too many invalid messages", -1);
	}
}

/* The stream id after which a resuming socket wants matches; -1 when
 * resume_after is neither a cursor nor a ride id. A ride id not in the ring
 * falls back to its rider's request id (a match always follows it). */
static int resume_point(const struct hub *h, const char *after, struct streamid *out)
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
static struct hub_msg *entry_for(const struct hub_sock *s, const struct hub_entry *e)
{
	if (s->cid[0] && !strcmp(e->rider, s->cid))
		return e->with_token;
	if ((s->cid[0] && !strcmp(e->driver, s->cid)) || s->viewer)
		return e->without_token;
	return NULL;
}

static void sock_hello(struct hub_sock *s, const char *data, size_t len)
{
	struct hub *h = s->h;
	struct v_hello hello;
	struct v_error err = {0};
	struct sbuf b = {0};
	struct streamid after;
	int resume = 0, recovered = -1, batch = 0;
	unsigned n = 0;
	uint64_t first = h->rbase + h->rlen;

	if (s->hello || s->held) {
		sock_error(s, "hello already received", NULL);
		return;
	}
	if (v_parse_hello(data, len, &hello, &err) < 0) {
		sock_error(s, err.message ? err.message : "invalid hello", err.field);
		return;
	}
	{
		/* "batch": optional, a boolean (v_parse_hello ignores it) */
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
	if (hello.resume_after[0] && resume_point(h, hello.resume_after, &after) < 0) {
		sock_error(s, "resume_after must be a cursor or a ride_id", "resume_after");
		return;
	}
	if (!h->ready) {
		/* the ring is not loaded yet: answering now would say nothing was
		 * missed. Answered by hub_set_ready. */
		s->held = malloc(len ? len : 1);
		if (!s->held) {
			sock_close(s, 1011, "out of memory", HUB_DROP_OOM);
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
			sock_close(s, 1011, "out of memory", HUB_DROP_OOM);
			return;
		}
		s->client = c;
		s->cnext = c->socks;
		if (c->socks)
			c->socks->cprev = s;
		c->socks = s;
	}
	s->hello = 1;
	s->batch = batch;
	s->viewer = hello.viewer;
	if (s->viewer) {
		s->vnext = h->viewers;
		if (h->viewers)
			h->viewers->vprev = s;
		h->viewers = s;
		h->c.viewers++;
	} else {
		h->c.clients++;
	}
	s->errors = 0;
	if (resume) {
		recovered = streamid_cmp(after, h->floor) >= 0;
		if (!recovered)
			h->c.unrecovered++;
		for (uint64_t k = h->rbase + h->rlen; k-- > h->rbase;) {
			const struct hub_entry *e = ring_at(h, k);

			if (streamid_cmp(e->id, after) <= 0)
				break;
			first = k;
			if (entry_for(s, e))
				n++;
		}
	}
	msg_welcome(&b, s->cid, s->viewer, h->cursor, n, recovered, s->batch);
	sock_send_sbuf(s, &b);
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
		sock_hello(s, data, len);
	else if (!strcmp(t, "ping"))
		sock_send_text(s, "{\"type\":\"pong\"}", 15);
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

/* The next missed match for a resuming socket, from the ring; NULL when it
 * has caught up (then live delivery takes over) or was overrun (closed). */
static struct hub_msg *resume_next(struct hub_sock *s)
{
	struct hub *h = s->h;

	if (s->rnext < h->rbase) {
		/* the ring dropped entries this socket had not been given yet */
		h->c.overrun_closes++;
		drop(s, HUB_DROP_OVERRUN, h->rbase - s->rnext);
		sock_close(s, 1013, "resume overrun by newer matches: resume again",
		           HUB_DROP_OVERRUN);
		return NULL;
	}
	for (; s->rnext < h->rbase + h->rlen; s->rnext++) {
		struct hub_msg *m = entry_for(s, ring_at(h, s->rnext));

		if (m)
			return m;
	}
	s->resuming = 0;
	return NULL;
}

/* ---------------------------------------------------------------- batches */

#define BATCH_HEAD_MAX (64 + STREAMID_STR_MAX)

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
static void batch_uncache(struct hub *h)
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
static struct hub_msg *batch_from_queue(struct hub_sock *s)
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
static struct hub_msg *batch_from_ring(struct hub_sock *s, struct hub_msg *first)
{
	struct hub *h = s->h;
	size_t cap = h->cfg.batch_bytes, tot = first->len;
	uint64_t k, end = h->rbase + h->rlen, rend = s->rnext + 1;
	unsigned n = 1;
	struct streamid last = first->id;
	unsigned char *p;
	struct hub_msg *m;

	for (k = s->rnext + 1; k < end; k++) {
		m = entry_for(s, ring_at(h, k));
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
		struct hub_msg *e = entry_for(s, ring_at(h, k));

		if (e)
			p = batch_put(p, e, 0);
	}
	s->bmsg = m;
	s->bitems = n;
	s->brend = rend;
	return m;
}

void hub_sock_next(struct hub_sock *s, struct hub_out *out)
{
	memset(out, 0, sizeof(*out));
	s->out_ring = 0;
	batch_forget(s); /* a batch built but not sent is built again */
	if (!s->close_now && !s->closing && !s->qlen && s->resuming && !s->ping_due) {
		out->msg = resume_next(s);
		if (out->msg && s->batch && !(out->msg = batch_from_ring(s, out->msg))) {
			drop(s, HUB_DROP_OOM, 1);
			sock_close(s, 1011, "out of memory", HUB_DROP_OOM);
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
		drop(s, HUB_DROP_OOM, 1);
		sock_close(s, 1011, "out of memory", HUB_DROP_OOM);
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

/* The head of s's queue was written. */
static void queue_pop(struct hub_sock *s)
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

/* ---------------------------------------------------------------- time */

void hub_flush(struct hub *h)
{
	for (struct hub_sock *s = h->all; s && h->flush_due; s = s->next)
		if (s->flush_due) {
			s->flush_due = 0;
			h->flush_due--;
			h->ops.want_write(s->user);
		}
}

void hub_tick(struct hub *h, uint64_t now)
{
	struct hub_sock *s, *next;
	unsigned long long skipped;
	char why[100];

	h->now = now;
	ring_prune(h, now);
	for (s = h->all; s; s = next) {
		next = s->next; /* kill may free s */
		if (s->closing) {
			/* a close frame that could not be written (peer not reading) */
			if (now >= s->closing_ms + h->cfg.close_grace_ms) {
				h->c.kills++;
				h->ops.kill(s->user);
			}
			continue;
		}
		if (!s->hello && !s->held && now > s->created_ms + h->cfg.hello_timeout_ms) {
			h->c.closes_policy++;
			sock_close(s, 1008, "no hello", -1);
			continue;
		}
		if (s->ping_sent_ms) {
			if (now > s->ping_sent_ms + h->cfg.ping_timeout_ms) {
				h->c.ping_timeouts++;
				snprintf(why, sizeof(why), "no pong in %llu ms",
				         (unsigned long long)h->cfg.ping_timeout_ms);
				if (rlog_ok(h, RLOG_PING, &skipped))
					log_info("socket of %s: %s, closing it%s",
					         s->cid[0] ? s->cid : "-", why,
					         skipped ? " (similar lines suppressed)" : "");
				sock_close(s, 1008, why, HUB_DROP_DEAD);
			}
		} else if (now >= s->last_rx_ms + h->cfg.ping_ms) {
			s->ping_sent_ms = now;
			s->ping_due = 1;
			h->ops.want_write(s->user);
		}
	}
}
