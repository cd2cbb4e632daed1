/* test_matcher_snap.c - the tick's snapshot of the waiting pool (snap.c):
 * the waiting entries only, in acceptance order, without any I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pool.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snap_waiting_only_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
