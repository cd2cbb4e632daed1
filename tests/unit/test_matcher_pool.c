/* test_matcher_pool.c - one side's waiting requests (pool.c): order,
 * lookup, expiry and compaction, without any I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pool.h"

static void test_add_find_order(void **state)
{
	struct pool p = {0};

	for (uint64_t i = 0; i < 3000; i++)
		assert_int_equal(pool_add(&p, 1000 + i / 3, i % 3,
		                          (struct pairing_point){(double)i, 0}, strdup("{}")),
		                 0);
	/* not above the last: ignored */
	assert_int_equal(pool_add(&p, 1000, 0, (struct pairing_point){0, 0}, strdup("{}")), 1);
	assert_int_equal(p.live, 3000);
	for (uint64_t i = 0; i < 3000; i += 7) {
		struct pool_entry *e = pool_find(&p, 1000 + i / 3, i % 3);

		assert_non_null(e);
		assert_true(e->loc.x == (double)i);
	}
	assert_null(pool_find(&p, 999, 0));
	assert_null(pool_find(&p, 1000, 3));
	pool_free(&p);
}

static void test_expire_exactly_at_ttl(void **state)
{
	struct pool p = {0};

	for (uint64_t i = 0; i < 10; i++)
		pool_add(&p, 1000 + i * 100, 0, (struct pairing_point){0, 0}, strdup("{}"));
	p.v[1].state = POOL_CLAIMING; /* a claim in flight is left to its reply */
	/* at now = 1000 + 5000 the first request (accepted at 1000) is due */
	assert_int_equal(pool_expire(&p, 5999, 5000, NULL, NULL), 0);
	assert_int_equal(pool_expire(&p, 6000, 5000, NULL, NULL), 1);
	assert_int_equal(p.live, 9);
	assert_int_equal(pool_expire(&p, 6300, 5000, NULL, NULL),
	                 2); /* 1200, 1300; 1100 is claiming */
	assert_int_equal(p.live, 7);
	assert_int_equal(p.v[1].state, POOL_CLAIMING);
	pool_remove(&p, &p.v[1]);
	assert_int_equal(p.head, 4);
	pool_compact(&p);
	assert_int_equal(p.live, 6); /* compaction waits until garbage is worth moving */
	assert_non_null(pool_find(&p, 1400, 0));
	assert_int_equal(pool_expire(&p, 100000, 5000, NULL, NULL), 6);
	pool_compact(&p);
	assert_int_equal(p.n, 0);
	pool_free(&p);
}

static void note_gone(void *arg, const struct pool_entry *e)
{
	uint64_t *seen = arg;

	assert_int_equal(e->state, POOL_WAITING);
	seen[seen[0]++ + 1] = e->ord;
}

static void test_ord_and_expiry_callback(void **state)
{
	struct pool p = {0};
	uint64_t seen[16] = {0};

	for (uint64_t i = 0; i < 3000; i++)
		assert_int_equal(
		    pool_add(&p, 1000 + i, 0, (struct pairing_point){0, 0}, strdup("{}")), 0);
	/* ords count from 1 in acceptance order; an ignored add takes none */
	assert_int_equal(pool_add(&p, 10, 0, (struct pairing_point){0, 0}, strdup("{}")), 1);
	assert_int_equal(p.v[0].ord, 1);
	assert_int_equal(p.v[2999].ord, 3000);
	p.v[2].state = POOL_CLAIMING;
	/* the callback sees each expired entry before it goes, not the claiming one */
	assert_int_equal(pool_expire(&p, 1004 + 5000, 5000, note_gone, seen), 4);
	assert_int_equal(seen[0], 4);
	assert_true(seen[1] == 1 && seen[2] == 2 && seen[3] == 4 && seen[4] == 5);
	/* found by ord, also after a compaction moved them */
	for (uint64_t i = 6; i < 3000; i++)
		pool_remove(&p, pool_find_ord(&p, i));
	pool_compact(&p);
	assert_int_equal(p.n, 2);
	assert_int_equal(pool_find_ord(&p, 3)->ord, 3);
	assert_int_equal(pool_find_ord(&p, 3000)->ms, 3999);
	assert_null(pool_find_ord(&p, 1));
	assert_null(pool_find_ord(&p, 3001));
	pool_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_find_order),
	    cmocka_unit_test(test_expire_exactly_at_ttl),
	    cmocka_unit_test(test_ord_and_expiry_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
