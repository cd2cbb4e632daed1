/* lease.c - the lease and the clock. Only the holder of `matcher:lease`
 * pairs; a standby keeps its pool warm and takes the lease when it lapses.
 * Times are Redis' (TIME every 10 s), so that all instances and the intake
 * agree on a request's age. Glue only. */
#include "log.h"
#include "matcher.h"
#include "schema.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: lease key. ARGV: me, lease ms. */
static const char renew_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
				"return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

uint64_t lease_now_ms(struct matcher *m)
{
	return (uint64_t)((int64_t)svc_now_ms() + m->clock_offset_ms);
}

static void set_active(struct matcher *m, int active, const char *why)
{
	if (m->active == active)
		return;
	m->active = active;
	log_info("%s (%s)", active ? "active: pairing" : "standby: not pairing", why);
}

static void on_lease(struct rconn *rc, redisReply *r, void *priv)
{
	struct matcher *m = priv;

	if (m->stopping)
		return;
	if (r && ((r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) ||
	          (r->type == REDIS_REPLY_INTEGER && r->integer == 1))) {
		m->lease_ok_ms = uv_now(m->loop);
		set_active(m, 1, "holding " RS_KEY_LEASE);
	} else if (r && r->type != REDIS_REPLY_ERROR) {
		set_active(m, 0, RS_KEY_LEASE " held by another");
	}
}

static void on_lease_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;
	char ms[16];

	if (m->no_lease) {
		set_active(m, rconn_up(m->cmd), "--no-lease");
		return;
	}
	/* a lease we could not renew in time is lost */
	if (m->active && uv_now(m->loop) - m->lease_ok_ms > (uint64_t)m->lease_ms)
		set_active(m, 0, "lease not renewed in time");
	snprintf(ms, sizeof(ms), "%d", m->lease_ms);
	if (m->active)
		rconn_cmd(m->cmd, on_lease, m, "EVAL %s 1 " RS_KEY_LEASE " %s %s", renew_lua,
		          m->instance, ms);
	else
		rconn_cmd(m->cmd, on_lease, m, "SET " RS_KEY_LEASE " %s NX PX %s", m->instance, ms);
}

static void on_time(struct rconn *rc, redisReply *r, void *priv)
{
	struct matcher *m = priv;

	if (m->stopping || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return;
	{
		int64_t redis_ms =
		    atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;

		m->clock_offset_ms = redis_ms - (int64_t)svc_now_ms();
	}
}

static void on_clock_timer(uv_timer_t *t)
{
	struct matcher *m = t->data;

	rconn_cmd(m->cmd, on_time, m, "TIME");
}

void lease_on_connect(struct matcher *m)
{
	on_clock_timer(&m->clock);
	on_lease_timer(&m->lease);
}

void lease_init(struct matcher *m)
{
	uv_timer_init(m->loop, &m->lease);
	uv_timer_init(m->loop, &m->clock);
	m->lease.data = m->clock.data = m;
}

void lease_start(struct matcher *m)
{
	uv_timer_start(&m->lease, on_lease_timer, 0, (uint64_t)(m->lease_ms / 4));
	uv_timer_start(&m->clock, on_clock_timer, 10000, 10000);
}

void lease_stop(struct matcher *m)
{
	uv_timer_stop(&m->lease);
	uv_timer_stop(&m->clock);
	uv_close((uv_handle_t *)&m->lease, NULL);
	uv_close((uv_handle_t *)&m->clock, NULL);
}
