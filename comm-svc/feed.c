/* feed.c - the Redis streams into the hub: connection 2 loads the last
 * resume_ms of `matches` into the resume ring at start-up (hellos are held
 * until then: hub_set_ready); connection 1 then loops on XREAD BLOCK over
 * `matches` and `stats`, never waiting on a socket (the hub bounds each
 * socket's queue). */
#include "comm.h"
#include "log.h"
#include "schema.h"
#include "svc.h"

#include <stdio.h>
#include <string.h>

#define READ_BATCH 256 /* XREAD COUNT */

static int entry_ok(const redisReply *e)
{
	return e && e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
	       e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < STREAMID_STR_MAX;
}

static void take_match(struct comm *c, const redisReply *e, int deliver)
{
	const redisReply *json = rreply_field(e->element[1], RS_F_JSON);
	const redisReply *rcl = rreply_field(e->element[1], RS_F_RIDER_CLIENT);
	const redisReply *dcl = rreply_field(e->element[1], RS_F_DRIVER_CLIENT);

	if (!json) {
		log_warn("matches entry %s has no json field", e->element[0]->str);
		return;
	}
	hub_match(c->hub, e->element[0]->str, json->str, json->len, rcl ? rcl->str : "",
	          dcl ? dcl->str : "", deliver, svc_now_ms());
}

static void take_stats(struct comm *c, const redisReply *e)
{
	const redisReply *json = rreply_field(e->element[1], RS_F_JSON);
	const redisReply *f = e->element[1];

	if (!json && f && f->type == REDIS_REPLY_ARRAY && f->elements >= 2 &&
	    f->element[1]->type == REDIS_REPLY_STRING)
		json = f->element[1]; /* a single unnamed field */
	if (json)
		hub_stats(c->hub, json->str, json->len);
}

static void on_read_entry(const char *stream, const redisReply *e, void *priv)
{
	struct comm *c = priv;

	if (!entry_ok(e))
		return;
	if (!strcmp(stream, RS_STREAM_MATCHES)) {
		struct streamid id;

		snprintf(c->last_matches, sizeof(c->last_matches), "%s", e->element[0]->str);
		if (streamid_parse(e->element[0]->str, 0, &id) == 0)
			comm_stage(c, COMM_STAGE_FEED, id.ms);
		take_match(c, e, 1);
	} else {
		snprintf(c->last_stats, sizeof(c->last_stats), "%s", e->element[0]->str);
		take_stats(c, e);
	}
}

static void on_read(struct rconn *rc, redisReply *r, void *priv)
{
	struct comm *c = priv;

	c->reading = 0;
	if (!r)
		return; /* connection lost: on_state restarts the loop */
	if (r->type == REDIS_REPLY_ERROR) {
		if (!c->read_errors++)
			log_error("XREAD failed: %s (retrying every second)", r->str);
		return; /* the tick retries */
	}
	rreply_xread_each(r, on_read_entry, c);
	/* never waits on a socket: the hub bounds each one's queue */
	feed_read(c);
}

void feed_read(struct comm *c)
{
	if (!c->loaded || c->reading || !c->reader || !rconn_up(c->reader))
		return;
	if (rconn_cmd(c->reader, on_read, c,
	              "XREAD COUNT %d BLOCK %d STREAMS " RS_STREAM_MATCHES " " RS_STREAM_STATS
	              " %s %s",
	              READ_BATCH, c->block_ms, c->last_matches, c->last_stats) == 0)
		c->reading = 1;
}

/* XREVRANGE matches + <now - resume_ms> COUNT resume_max: newest first. */
static void on_load(struct rconn *rc, redisReply *r, void *priv)
{
	struct comm *c = priv;

	c->loading = 0;
	if (!rreply_ok(r) || r->type != REDIS_REPLY_ARRAY) {
		log_warn("loading recent matches failed: %s (retrying)", rreply_err(r));
		return;
	}
	for (size_t i = r->elements; i-- > 0;) {
		const redisReply *e = r->element[i];

		if (!entry_ok(e))
			continue;
		snprintf(c->last_matches, sizeof(c->last_matches), "%s", e->element[0]->str);
		take_match(c, e, 0);
	}
	hub_set_cursor(c->hub, c->last_matches);
	c->loaded = 1;
	/* every match after the floor is now in the ring: from the start of
	 * the window, or from the oldest one loaded when the count capped it */
	if (r->elements >= (size_t)c->resume_max && entry_ok(r->element[r->elements - 1]))
		hub_set_ready(c->hub, r->element[r->elements - 1]->element[0]->str);
	else
		hub_set_ready(c->hub, c->load_floor);
	log_info("%zu recent matches loaded for resumes; reading matches after %s", r->elements,
	         c->last_matches);
	feed_read(c);
}

void feed_load(struct comm *c)
{
	unsigned long long since;

	if (c->loaded || c->loading || !c->cmd || !rconn_up(c->cmd))
		return;
	since = svc_now_ms() - (unsigned long long)c->resume_ms;
	/* no entry yet: XREAD from this point on misses nothing */
	snprintf(c->last_matches, sizeof(c->last_matches), "%llu-0", since);
	snprintf(c->load_floor, sizeof(c->load_floor), "%llu-0", since);
	/* stats from now on, by an id, never "$": XREAD resolves "$" anew on
	 * each call, and while matches keep every call short (each tick writes
	 * its matches before its stats) a new entry on `stats` falls between
	 * two calls, tick after tick: after a restart viewers got no map */
	if (!c->last_stats[0])
		snprintf(c->last_stats, sizeof(c->last_stats), "%llu-0",
		         (unsigned long long)svc_now_ms());
	if (rconn_cmd(c->cmd, on_load, c, "XREVRANGE " RS_STREAM_MATCHES " + %llu-0 COUNT %d",
	              since, c->resume_max) == 0)
		c->loading = 1;
}

void feed_on_redis_state(struct rconn *rc, int up, void *priv)
{
	struct comm *c = priv;

	if (!up)
		return;
	feed_load(c);
	feed_read(c);
}
