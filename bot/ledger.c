/* ledger.c - see ledger.h. Entries live in the pend_map in creation order;
 * two cursors walk it: phase A (TTL + grace passed: fared or not; a driver
 * without a fare goes into the free-driver ring) and phase B (window later:
 * a rider without a fare is judged lost or expired against that ring). Old
 * entries are forgotten only after phase B. */
#include "ledger.h"

#include <stdlib.h>
#include <string.h>

#define TTL_DEFAULT_MS 5000u
#define TTL_MAX_MS     60000u
#define SLACK_US       1000000ull /* creation vs acceptance order */
#define RING_MAX       (1u << 16)

static uint64_t due_a(const struct ledger *l, const struct pend *e)
{
	return e->created_us + ((uint64_t)e->ttl_ms + l->grace_ms) * 1000;
}

static uint64_t due_b(const struct ledger *l, const struct pend *e)
{
	return due_a(l, e) + (uint64_t)l->window_ms * 1000;
}

static void update_keep(struct ledger *l, uint32_t ttl_ms)
{
	uint64_t k = 2 * (((uint64_t)ttl_ms + l->grace_ms + 2ull * l->window_ms) * 1000 + SLACK_US);

	if (k > l->keep_us)
		l->keep_us = k;
}

int ledger_init(struct ledger *l, uint32_t grace_ms, uint32_t window_ms)
{
	memset(l, 0, sizeof(*l));
	pend_init(&l->map);
	l->grace_ms = grace_ms ? grace_ms : 3000;
	l->window_ms = window_ms ? window_ms : 2000;
	l->default_ttl_ms = TTL_DEFAULT_MS;
	l->keep_us = 30000000ull;
	update_keep(l, TTL_DEFAULT_MS);
	l->fd_cap = 1024;
	l->free_drv = calloc(l->fd_cap, sizeof(*l->free_drv));
	return l->free_drv ? 0 : -1;
}

void ledger_free(struct ledger *l)
{
	pend_free(&l->map);
	free(l->free_drv);
	l->free_drv = NULL;
}

static void counted_fare(struct ledger *l, struct pend *e)
{
	if (e->kind == LEDGER_RIDER)
		l->c.riders_fared++;
	else if (e->kind == LEDGER_DRIVER)
		l->c.drivers_matched++;
}

/* e's 202 -> match time, once both are known */
static void note_wait(struct ledger *l, struct pend *e)
{
	int64_t acc_ms, w;

	if (e->waited || !e->accepted_us || !e->matched_ms ||
	    (e->kind != LEDGER_RIDER && e->kind != LEDGER_DRIVER))
		return;
	e->waited = 1;
	acc_ms = (int64_t)(e->accepted_us / 1000) + l->wall_minus_mono_ms;
	w = (int64_t)e->matched_ms - acc_ms;
	lhist_add(&l->wait[e->kind == LEDGER_RIDER ? 0 : 1], w > 0 ? (uint64_t)w * 1000 : 0);
}

void ledger_set_clock(struct ledger *l, uint64_t wall_ms, uint64_t mono_us)
{
	l->wall_minus_mono_ms = (int64_t)wall_ms - (int64_t)(mono_us / 1000);
}

void ledger_match_time(struct ledger *l, const char *rider_id, const char *driver_id,
                       uint64_t matched_at_ms)
{
	const char *ids[2] = {rider_id, driver_id};

	for (int i = 0; i < 2 && matched_at_ms; i++) {
		struct pend *e = ids[i] ? pend_get(&l->map, ids[i], strlen(ids[i])) : NULL;

		if (e && !e->matched_ms) {
			e->matched_ms = matched_at_ms;
			note_wait(l, e);
		}
	}
}

struct pend *ledger_accepted(struct ledger *l, int kind, const char *id, long ttl_ms,
                             uint64_t now_us)
{
	struct pend *e = pend_put(&l->map, id, strlen(id), now_us, NULL);

	if (!e || e->accepted_us)
		return e;
	if (ttl_ms <= 0)
		ttl_ms = (long)l->default_ttl_ms;
	if (ttl_ms > (long)TTL_MAX_MS)
		ttl_ms = TTL_MAX_MS;
	e->ttl_ms = (uint32_t)ttl_ms;
	update_keep(l, e->ttl_ms);
	e->accepted_us = now_us ? now_us : 1;
	if (!e->kind)
		e->kind = (unsigned)kind;
	if (e->kind == LEDGER_RIDER)
		l->c.riders_accepted++;
	else
		l->c.drivers_accepted++;
	if (e->fare_us) /* the fare came before the 202 */
		counted_fare(l, e);
	note_wait(l, e);
	return e;
}

/* a fare for e: first time only */
static void fare_for(struct ledger *l, struct pend *e, int kind, uint64_t now_us)
{
	if (e->fare_us)
		return;
	e->fare_us = now_us ? now_us : 1;
	if (!e->kind)
		e->kind = (unsigned)kind;
	if (!e->ttl_ms)
		e->ttl_ms = l->default_ttl_ms;
	if (!e->accepted_us)
		return; /* counted when (if) its 202 comes */
	counted_fare(l, e);
	if (!e->nofare)
		return;
	/* late: settled as missing, here after all */
	e->nofare = 0;
	if (e->kind == LEDGER_RIDER) {
		l->c.riders_fared_late++;
		if (e->settled_b) {
			if (e->lost)
				l->c.riders_lost--;
			else
				l->c.riders_expired--;
		}
	} else {
		l->c.drivers_no_fare--;
	}
}

int ledger_fare(struct ledger *l, const char *rider_id, const char *driver_id, int has_token,
                uint64_t now_us, struct pend **rider)
{
	int rc = 0;
	struct pend *r = pend_put(&l->map, rider_id, strlen(rider_id), now_us, NULL), *d;

	if (rider)
		*rider = r;
	if (!r)
		return -1;
	if (!r->fare_us) {
		l->c.fares++;
		fare_for(l, r, LEDGER_RIDER, now_us);
	}
	if (driver_id && *driver_id &&
	    (d = pend_put(&l->map, driver_id, strlen(driver_id), now_us, NULL)))
		fare_for(l, d, LEDGER_DRIVER, now_us);
	if (has_token && !r->rated) {
		r->rated = 1;
		l->c.fares_with_token++;
		rc = 1;
	}
	return rc;
}

void ledger_rating_sent(struct ledger *l)
{
	l->c.ratings_sent++;
}

void ledger_rating_done(struct ledger *l, int ok)
{
	if (ok)
		l->c.ratings_ok++;
	else
		l->c.ratings_failed++;
}

static struct pend *next_of(struct ledger *l, struct pend *last)
{
	return last ? last->qnext : l->map.head;
}

static void ring_push(struct ledger *l, struct pend *d)
{
	if (l->fd_len == l->fd_cap) {
		if (l->fd_cap < RING_MAX) {
			struct pend **n = calloc(l->fd_cap * 2, sizeof(*n));

			if (n) {
				for (size_t i = 0; i < l->fd_len; i++)
					n[i] = l->free_drv[(l->fd_head + i) % l->fd_cap];
				free(l->free_drv);
				l->free_drv = n;
				l->fd_head = 0;
				l->fd_cap *= 2;
			}
		}
		if (l->fd_len == l->fd_cap) { /* full: the oldest goes */
			l->fd_head = (l->fd_head + 1) % l->fd_cap;
			l->fd_len--;
		}
	}
	l->free_drv[(l->fd_head + l->fd_len) % l->fd_cap] = d;
	l->fd_len++;
}

static struct pend *ring_at(const struct ledger *l, size_t i)
{
	return l->free_drv[(l->fd_head + i) % l->fd_cap];
}

static void ring_pop_before(struct ledger *l, uint64_t created_us)
{
	while (l->fd_len && ring_at(l, 0)->created_us < created_us) {
		l->fd_head = (l->fd_head + 1) % l->fd_cap;
		l->fd_len--;
	}
}

static void phase_a(struct ledger *l, struct pend *e)
{
	e->settled_a = 1;
	if (!e->accepted_us || e->fare_us) {
		if (!e->accepted_us && e->fare_us && e->kind == LEDGER_RIDER)
			l->c.fares_unknown++;
		return;
	}
	e->nofare = 1;
	if (e->kind == LEDGER_DRIVER) {
		l->c.drivers_no_fare++;
		ring_push(l, e);
	}
}

static void phase_b(struct ledger *l, struct pend *r)
{
	uint64_t w = (uint64_t)l->window_ms * 1000;

	r->settled_b = 1;
	if (r->kind != LEDGER_RIDER || !r->nofare)
		return;
	/* drivers accepted well before this rider's window can never matter
	 * again: riders come in creation order */
	if (r->accepted_us > w + SLACK_US)
		ring_pop_before(l, r->accepted_us - w - SLACK_US);
	r->lost = 0;
	for (size_t i = 0; i < l->fd_len; i++) {
		struct pend *d = ring_at(l, i);
		uint64_t a = d->accepted_us, b = r->accepted_us;

		if (d->nofare && (a > b ? a - b : b - a) <= w) {
			r->lost = 1;
			break;
		}
	}
	if (r->lost)
		l->c.riders_lost++;
	else
		l->c.riders_expired++;
}

static void settle(struct ledger *l, uint64_t now_us, int final)
{
	struct pend *e;
	uint64_t before;

	while ((e = next_of(l, l->last_a)) && due_a(l, e) <= now_us) {
		phase_a(l, e);
		l->last_a = e;
	}
	/* at the end, riders past phase A are judged with what is known */
	while ((e = next_of(l, l->last_b)) && e->settled_a && (final || due_b(l, e) <= now_us)) {
		phase_b(l, e);
		l->last_b = e;
	}
	/* drivers too old to explain anyone still to be judged */
	if (now_us > l->keep_us / 2)
		ring_pop_before(l, now_us - l->keep_us / 2);
	/* forget entries past phase B and older than keep */
	before = now_us > l->keep_us ? now_us - l->keep_us : 0;
	e = next_of(l, l->last_b);
	if (e && e->created_us < before)
		before = e->created_us;
	if (before) {
		/* a cursor's entry that goes means everything before it went too */
		if (l->last_b && l->last_b->created_us < before)
			l->last_b = NULL;
		if (l->last_a && l->last_a->created_us < before)
			l->last_a = NULL;
		pend_expire(&l->map, before);
	}
}

void ledger_settle(struct ledger *l, uint64_t now_us)
{
	settle(l, now_us, 0);
}

void ledger_finish(struct ledger *l, uint64_t now_us)
{
	settle(l, now_us, 1);
}

uint64_t ledger_riders_waiting(const struct ledger *l)
{
	return l->c.riders_accepted - l->c.riders_fared - l->c.riders_lost - l->c.riders_expired;
}

uint64_t ledger_fares_unrated(const struct ledger *l, int final)
{
	/* not final: ratings in flight (sent - ok - failed) are not unrated yet */
	uint64_t done = final ? l->c.ratings_ok : l->c.ratings_sent - l->c.ratings_failed;

	return l->c.fares_with_token > done ? l->c.fares_with_token - done : 0;
}

uint64_t ledger_settled_by(const struct ledger *l)
{
	uint64_t by = 0;

	if (!ledger_riders_waiting(l))
		return 0;
	for (struct pend *e = next_of((struct ledger *)l, l->last_b); e; e = e->qnext)
		if (e->kind == LEDGER_RIDER && e->accepted_us && !e->fare_us && due_b(l, e) > by)
			by = due_b(l, e);
	return by;
}
