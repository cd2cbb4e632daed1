/* test_matcher_settle.c - what a claim's outcome does to the pool
 * (settle.c), without any I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "settle.h"

/* Two entries CLAIMING, as a claim leaves them. */
static void claiming_pair(struct pool *r, struct pool *d)
{
	memset(r, 0, sizeof(*r));
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < 3; i++) {
		struct pairing_point p = {(double)i, -(double)i};

		assert_int_equal(pool_add(r, 1000 + i, 0, p, strdup("{}")), 0);
		assert_int_equal(pool_add(d, 1000 + i, 0, p, strdup("{}")), 0);
	}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_settle_rules),
	    cmocka_unit_test(test_settle_gone_stays_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
