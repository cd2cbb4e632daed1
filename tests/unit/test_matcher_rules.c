/* test_matcher_rules.c - the matcher's rules that sit between Redis and the
 * pairing, without any I/O: the tick's snapshot of the pool (snap.c), what a
 * claim's outcome does to the pool (settle.c), and the reading and replay
 * filtering of `requests` entries (replay.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "replay.h"
#include "settle.h"
#include "snap.h"

static void fill(struct pool *p, size_t n, double x0)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pool_add(p, 1000 + i, 0,
		                          (struct pairing_point){x0 + (double)i, -(double)i},
		                          strdup("{}")),
		                 0);
}

static void test_snap_waiting_only_in_order(void **state)
{
	struct pool r = {0}, d = {0};
	struct snap s = {0};

	fill(&r, 10, 0);
	fill(&d, 5, 100);
	r.v[0].state = POOL_CLAIMING;
	pool_remove(&r, &r.v[3]);
	r.v[7].state = POOL_CLAIMING;
	pool_remove(&d, &d.v[4]);
	assert_int_equal(snap_take(&s, &r, &d), 0);
	assert_int_equal(s.nr, 7);
	assert_int_equal(s.nd, 4);
	assert_int_equal(s.npairs, 0);
	{
		static const uint32_t want[] = {1, 2, 4, 5, 6, 8, 9};
		for (size_t i = 0; i < 7; i++) {
			assert_int_equal(s.rmap[i], want[i]);
			assert_true(s.rpts[i].x == (double)want[i] &&
			            s.rpts[i].y == -(double)want[i]);
		}
	}
	for (size_t i = 0; i < 4; i++)
		assert_true(s.dmap[i] == i && s.dpts[i].x == 100 + (double)i);
	/* the pairs map back to the pool entries */
	s.pairs[0] = (struct pairing_pair){2, 3, 1.0};
	s.npairs = 1;
	assert_ptr_equal(snap_rider(&s, &r, 0), &r.v[4]);
	assert_ptr_equal(snap_driver(&s, &d, 0), &d.v[3]);

	/* again, after more leave: the buffers are reused, the counts right */
	for (size_t i = 0; i < 5; i++)
		if (d.v[i].state == POOL_WAITING)
			d.v[i].state = POOL_CLAIMING;
	assert_int_equal(snap_take(&s, &r, &d), 0);
	assert_int_equal(s.nr, 7);
	assert_int_equal(s.nd, 0);
	/* empty pools */
	pool_free(&r);
	pool_free(&d);
	assert_int_equal(snap_take(&s, &r, &d), 0);
	assert_int_equal(s.nr + s.nd, 0);
	snap_free(&s);
}

/* Two entries CLAIMING, as a claim leaves them. */
static void claiming_pair(struct pool *r, struct pool *d)
{
	memset(r, 0, sizeof(*r));
	memset(d, 0, sizeof(*d));
	fill(r, 3, 0);
	fill(d, 3, 0);
	r->v[1].state = POOL_CLAIMING;
	d->v[2].state = POOL_CLAIMING;
}

static void test_settle_rules(void **state)
{
	struct pool r, d;
	static const struct {
		enum settle_outcome o;
		int r_exists, d_exists;
		int r_state, d_state, back; /* -1: removed */
	} cases[] = {
	    {SETTLE_CLAIMED, 0, 0, -1, -1, 0},
	    {SETTLE_CLAIMED, 1, 1, -1, -1, 0}, /* the EXISTS answers only count when refused */
	    {SETTLE_REFUSED, 0, 0, -1, -1, 0},
	    {SETTLE_REFUSED, 1, 0, POOL_WAITING, -1, SETTLE_RIDER_BACK},
	    {SETTLE_REFUSED, 0, 1, -1, POOL_WAITING, SETTLE_DRIVER_BACK},
	    {SETTLE_REFUSED, 1, 1, POOL_WAITING, POOL_WAITING,
	     SETTLE_RIDER_BACK | SETTLE_DRIVER_BACK},
	    {SETTLE_UNKNOWN, 0, 0, POOL_WAITING, POOL_WAITING,
	     SETTLE_RIDER_BACK | SETTLE_DRIVER_BACK},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		claiming_pair(&r, &d);
		int back = settle_claim(&r, 1001, 0, &d, 1002, 0, cases[i].o, cases[i].r_exists,
		                        cases[i].d_exists);
		assert_int_equal(back, cases[i].back);
		if (cases[i].r_state < 0) {
			assert_int_equal(r.v[1].state, POOL_GONE);
			assert_null(r.v[1].json);
			assert_int_equal(r.live, 2);
		} else {
			assert_int_equal(r.v[1].state, cases[i].r_state);
			assert_int_equal(r.live, 3);
		}
		if (cases[i].d_state < 0) {
			assert_int_equal(d.v[2].state, POOL_GONE);
			assert_int_equal(d.live, 2);
		} else {
			assert_int_equal(d.v[2].state, cases[i].d_state);
		}
		/* the others are untouched */
		assert_int_equal(r.v[0].state, POOL_WAITING);
		assert_int_equal(d.v[1].state, POOL_WAITING);
		pool_free(&r);
		pool_free(&d);
	}
}

static void test_settle_gone_stays_gone(void **state)
{
	struct pool r, d;

	/* an entry removed meanwhile, or never in the pool, is not brought back */
	claiming_pair(&r, &d);
	pool_remove(&r, &r.v[1]);
	assert_int_equal(settle_claim(&r, 1001, 0, &d, 9999, 0, SETTLE_UNKNOWN, 0, 0), 0);
	assert_int_equal(r.v[1].state, POOL_GONE);
	assert_int_equal(r.live, 2);
	assert_int_equal(d.live, 3);
	assert_int_equal(d.v[2].state, POOL_CLAIMING);
	pool_free(&r);
	pool_free(&d);
}

static void test_replay_kind(void **state)
{
	const char *json;
	const char *rider[] = {"kind", "rider", "json", "{\"a\":1}"};
	const char *driver[] = {"json", "{}", "kind", "driver", "extra", "x"};
	const char *other[] = {"kind", "taxi", "json", "{}"};
	const char *nojson[] = {"kind", "rider"};
	const char *nonstr[] = {"kind", NULL, "json", "{}"};
	const char *odd[] = {"kind", "rider", "json"};

	assert_int_equal(replay_kind(rider, 4, &json), 1);
	assert_string_equal(json, "{\"a\":1}");
	assert_int_equal(replay_kind(driver, 6, &json), 0);
	assert_string_equal(json, "{}");
	assert_int_equal(replay_kind(other, 4, &json), -1);
	assert_int_equal(replay_kind(nojson, 2, &json), -1);
	assert_int_equal(replay_kind(nonstr, 4, &json), -1);
	assert_int_equal(replay_kind(odd, 3, &json), -1);
	assert_int_equal(replay_kind(NULL, 0, &json), -1);
}

static void test_replay_filter(void **state)
{
	char key[64];

	/* from before the start: checked; after it: taken at once, unless a
	 * check is pending (then checked too, to keep the order) */
	assert_int_equal(replay_must_check(999, 1000, 0), 1);
	assert_int_equal(replay_must_check(1000, 1000, 0), 0);
	assert_int_equal(replay_must_check(5000, 1000, 0), 0);
	assert_int_equal(replay_must_check(5000, 1000, 3), 1);
	/* a checked entry is kept if its key exists or the answer is unknown */
	assert_int_equal(replay_keep(1, 1), 1);
	assert_int_equal(replay_keep(1, 0), 0);
	assert_int_equal(replay_keep(0, 0), 1);
	replay_key(1, "17-3", key, sizeof(key));
	assert_string_equal(key, "rider:17-3");
	replay_key(0, "17-3", key, sizeof(key));
	assert_string_equal(key, "driver:17-3");
}

static void test_replay_location(void **state)
{
	struct pairing_point p = {0, 0};

	assert_int_equal(replay_location("{\"location\":{\"x\":1.5,\"y\":-2}}", &p), 0);
	assert_true(p.x == 1.5 && p.y == -2.0);
	assert_int_equal(replay_location("{\"location\":{\"x\":1}}", &p), -1);
	assert_int_equal(replay_location("{\"location\":{\"x\":\"1\",\"y\":2}}", &p), -1);
	assert_int_equal(replay_location("{\"x\":1,\"y\":2}", &p), -1);
	assert_int_equal(replay_location("not json", &p), -1);
	assert_int_equal(replay_location("", &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snap_waiting_only_in_order),
	    cmocka_unit_test(test_settle_rules),
	    cmocka_unit_test(test_settle_gone_stays_gone),
	    cmocka_unit_test(test_replay_kind),
	    cmocka_unit_test(test_replay_filter),
	    cmocka_unit_test(test_replay_location),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
