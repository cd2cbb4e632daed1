/* hub.c - see hub.h; how the hub is split into files: hub_impl.h. This
 * file: the hub itself (configuration, the cursor, readiness), messages, the
 * drop counters and their rate-limited log, stream entries in (hub_match,
 * hub_stats) and their delivery to sockets, and the timers' entry points. */
#include "hub_impl.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const drop_names[HUB_DROP_N] = {
    "slow", "memory", "dead", "closing", "closed", "oom", "overrun",
};

const char *hub_drop_name(enum hub_drop why)
{
	return (unsigned)why < HUB_DROP_N ? drop_names[why] : "?";
}

/* 1 when a line of kind k may be logged now; *skipped gets how many were not. */
int hub_log_ok(struct hub *h, int k, unsigned long long *skipped)
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
void hub_drop(struct hub_sock *s, enum hub_drop why, unsigned long long n)
{
	struct hub *h = s->h;
	unsigned long long skipped;

	if (!n)
		return;
	h->c.dropped[why] += n;
	if (hub_log_ok(h, RLOG_DROP + why, &skipped))
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

/* ---------------------------------------------------------------- hub */

/* What a cfg field left 0 takes (hub.h). */
#define HUB_CFG_DEFAULTS(X)                                                                        \
	X(max_rx, 4096)                                                                            \
	X(max_queue_msgs, 1024)                                                                    \
	X(max_queue_bytes, 1024 * 1024)                                                            \
	X(max_total_bytes, (size_t)256 * 1024 * 1024) X(max_errors, 10) X(resume_ms, 60000)        \
	    X(resume_max, 10000) X(ping_ms, 20000) X(ping_timeout_ms, 10000)                       \
		X(hello_timeout_ms, 30000) X(close_grace_ms, 2000) X(batch_bytes, 65536)

struct hub *hub_new(const struct hub_cfg *cfg, const struct hub_ops *ops)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->cfg = *cfg;
#define DEFAULT(field, value)                                                                      \
	if (!h->cfg.field)                                                                         \
		h->cfg.field = (value);
	HUB_CFG_DEFAULTS(DEFAULT)
#undef DEFAULT
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
			hub_sock_hello(s, t, s->held_len);
			free(t);
		}
}

/* ---------------------------------------------------------------- delivery */

/* m for s from the live stream: queued, or left to the socket's resume. */
static void deliver(struct hub_sock *s, struct hub_msg *m)
{
	if (!s->resuming)
		queue_push(s, m);
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

int hub_match(struct hub *h, const char *id, const char *json, size_t len, const char *rider_client,
              const char *driver_client, int deliver_now, uint64_t now)
{
	struct msg_match mc;
	struct hub_entry *e;
	struct streamid sid;
	char cursor[STREAMID_STR_MAX];
	const char *why = "bad stream id";

	h->now = now;

	if (streamid_parse(id, STREAMID_SEQ_OPTIONAL, &sid) < 0 ||
	    msg_match_rewrite(json, len, id, &mc, &why) < 0) {
		unsigned long long skipped;

		h->c.bad_entries++;
		if (hub_log_ok(h, RLOG_ENTRY, &skipped))
			log_warn("matches entry %s ignored: %s (%llu so far)%s", id, why,
			         h->c.bad_entries, skipped ? " (similar lines suppressed)" : "");
		return -1;
	}
	streamid_format(sid, cursor, STREAMID_STR_MAX);
	snprintf(h->cursor, sizeof(h->cursor), "%s", cursor);
	e = ring_put(h, sid, &mc, rider_client, driver_client);
	msg_match_free(&mc);
	if (!e)
		return -1;
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
			hub_drop(s, HUB_DROP_OOM, 1);
		return;
	}
	m->kind = HUB_MSG_STATS;
	for (struct hub_sock *s = h->viewers; s; s = s->vnext)
		queue_push(s, m);
	hub_msg_unref(m);
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
	h->now = now;
	ring_prune(h, now);
	live_tick(h, now);
}
