/* feed.c - the matcher's feed: XREAD BLOCK on the `requests` stream into the
 * two pools, with the replay on start of what is still waiting (the rules are
 * in replay.c). Glue only: hiredis replies in, pool_add out. */
#include "log.h"
#include "matcher.h"
#include "replay.h"
#include "schema.h"
#include "streamid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void feed_next(struct matcher *m);

static void ingest(struct matcher *m, int is_rider, uint64_t ms, uint64_t seq, const char *json)
{
	struct pairing_point loc;
	char *copy;

	if (replay_location(json, &loc) < 0) {
		log_warn("request %llu-%llu: unreadable JSON, skipped", (unsigned long long)ms,
		         (unsigned long long)seq);
		return;
	}
	struct pool *p = is_rider ? &m->riders : &m->drivers;
	int rc;

	copy = strdup(json);
	if (!copy || (rc = pool_add(p, ms, seq, loc, copy)) < 0) {
		log_error("out of memory adding a request");
		return;
	}
	if (rc == 0)
		tick_enter(m, is_rider, &p->v[p->n - 1]);
	m->stats.t.requests++;
}

struct replay_check {
	struct matcher *m;
	int is_rider;
	uint64_t ms, seq;
	char json[];
};

static void on_replay_exists(struct rconn *rc, redisReply *r, void *priv)
{
	struct replay_check *c = priv;
	struct matcher *m = c->m;
	int answered = r && r->type == REDIS_REPLY_INTEGER;

	m->replay_pending--;
	if (!m->stopping && replay_keep(answered, answered ? r->integer : 0))
		ingest(m, c->is_rider, c->ms, c->seq, c->json);
	free(c);
}

/* Checks the entry's key, then takes it (in order: see replay.h). 0 if the
 * check is under way. */
static int check_then_ingest(struct matcher *m, int is_rider, const char *id, uint64_t ms,
                             uint64_t seq, const char *json)
{
	size_t len = strlen(json);
	struct replay_check *c = malloc(sizeof(*c) + len + 1);
	char key[64];

	if (!c)
		return -1;
	*c = (struct replay_check){m, is_rider, ms, seq};
	memcpy(c->json, json, len + 1);
	replay_key(is_rider, id, key, sizeof(key));
	if (rconn_cmd(m->cmd, on_replay_exists, c, "EXISTS %s", key) == 0) {
		m->replay_pending++;
		return 0;
	}
	free(c);
	return -1;
}

static void feed_entry(const char *stream, const redisReply *entry, void *priv)
{
	struct matcher *m = priv;
	const char *fields[64], *json;
	struct streamid id;
	uint64_t ms, seq;
	const redisReply *f;
	size_t n = 0;
	int is_rider;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
	    entry->element[0]->type != REDIS_REPLY_STRING)
		return;
	snprintf(m->last_id, sizeof(m->last_id), "%s", entry->element[0]->str);
	if (streamid_parse(entry->element[0]->str, 0, &id) < 0)
		return;
	ms = id.ms;
	seq = id.seq;
	f = entry->element[1];
	if (f->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < f->elements && n < sizeof(fields) / sizeof(fields[0]); i++)
		fields[n++] = f->element[i]->type == REDIS_REPLY_STRING ? f->element[i]->str : NULL;
	if ((is_rider = replay_kind(fields, n, &json)) < 0)
		return;
	if (replay_must_check(ms, m->start_ms, m->replay_pending) &&
	    check_then_ingest(m, is_rider, entry->element[0]->str, ms, seq, json) == 0)
		return;
	if (ms >= m->start_ms) { /* not a replay */
		uint64_t now = lease_now_ms(m);

		matcher_stage(m, STAGE_FEED, now > ms ? (now - ms) * 1000 : 0);
	}
	ingest(m, is_rider, ms, seq, json);
}

static void on_feed(struct rconn *rc, redisReply *r, void *priv)
{
	struct matcher *m = priv;

	m->feed_pending = 0;
	if (m->stopping || !r)
		return; /* lost: feed_on_state restarts the feed on reconnect */
	if (r->type == REDIS_REPLY_ERROR) {
		log_error("XREAD failed: %s", r->str);
	} else {
		rreply_xread_each(r, feed_entry, m); /* the one stream read */
	}
	feed_next(m);
}

static void feed_next(struct matcher *m)
{
	if (m->stopping || m->feed_pending || !rconn_up(m->feed))
		return;
	if (rconn_cmd(m->feed, on_feed, m,
	              "XREAD COUNT 200 BLOCK 1000 STREAMS " RS_STREAM_REQUESTS " %s",
	              m->last_id) == 0)
		m->feed_pending = 1;
}

void feed_on_state(struct rconn *rc, int up, void *priv)
{
	if (up)
		feed_next(priv);
}
