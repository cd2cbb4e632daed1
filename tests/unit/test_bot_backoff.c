/* test_bot_backoff.c - unit tests of bot/backoff: every delay lies in
 * [base/2, base] with base doubling from min to max; the jitter really
 * varies; a connection that dies at once (or is never heard from) does not
 * reset the base, one alive for healthy_ms does; bad parameters are clamped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void test_schedule_bounds(void **state)
{
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct backoff b;
		uint32_t base = 200;

		backoff_init(&b, 200, 10000, 10000, seed);
		for (int i = 0; i < 20; i++) {
			uint32_t d = backoff_next(&b);

			assert_true(d >= base / 2);
			assert_true(d <= base);
			base = base * 2 > 10000 ? 10000 : base * 2;
		}
		/* capped: stays within [max/2, max] for ever */
		assert_int_equal(b.base_ms, 10000);
	}
}

static void test_jitter_spreads(void **state)
{
	struct backoff b;
	uint32_t lo = UINT32_MAX, hi = 0;
	int distinct = 0, seen[5001] = {0};

	/* at the cap, 1000 draws from [5000, 10000] */
	backoff_init(&b, 10000, 10000, 1000, 42);
	for (int i = 0; i < 1000; i++) {
		uint32_t d = backoff_next(&b);

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		if (!seen[d - 5000]++)
			distinct++;
	}
	assert_true(lo >= 5000 && hi <= 10000);
	assert_true(lo < 5500 && hi > 9500); /* covers the range */
	assert_true(distinct > 500);
	/* two clients with different seeds do not retry in lockstep */
	struct backoff a, c;
	int same = 0;

	backoff_init(&a, 200, 10000, 1000, 1);
	backoff_init(&c, 200, 10000, 1000, 2);
	for (int i = 0; i < 10; i++)
		same += backoff_next(&a) == backoff_next(&c);
	assert_true(same < 5);
}

static void test_no_reset_on_instant_death(void **state)
{
	struct backoff b;
	uint64_t t = 1000;

	backoff_init(&b, 200, 10000, 10000, 7);
	backoff_next(&b); /* base 400 */
	backoff_next(&b); /* base 800 */
	/* connects, is heard from for 2 s only, dies: no reset */
	backoff_up(&b, t);
	assert_int_equal(backoff_down(&b, t + 2000), 0);
	assert_int_equal(b.base_ms, 800);
	assert_true(backoff_next(&b) >= 400);
	/* connects, stays up 60 s but never heard from after the start: no reset */
	t += 5000;
	backoff_up(&b, t);
	assert_int_equal(backoff_down(&b, t), 0);
	assert_int_equal(b.base_ms, 1600);
	/* a sign of life before it came up does not count */
	backoff_up(&b, t + 100);
	assert_int_equal(backoff_down(&b, t), 0);
	/* down without having been up */
	assert_int_equal(backoff_down(&b, t + 100000), 0);
	assert_int_equal(b.base_ms, 1600);
}

static void test_reset_after_healthy(void **state)
{
	struct backoff b;

	backoff_init(&b, 200, 10000, 10000, 9);
	for (int i = 0; i < 10; i++)
		backoff_next(&b);
	assert_int_equal(b.base_ms, 10000);
	backoff_up(&b, 50000);
	assert_int_equal(backoff_down(&b, 50000 + 9999), 0);
	assert_int_equal(b.base_ms, 10000);
	backoff_up(&b, 70000);
	assert_int_equal(backoff_down(&b, 70000 + 10000), 1);
	assert_int_equal(b.base_ms, 200);
	uint32_t d = backoff_next(&b);

	assert_true(d >= 100 && d <= 200);
}

static void test_clamps(void **state)
{
	struct backoff b;

	backoff_init(&b, 0, 0, 0, 0);
	assert_int_equal(b.min_ms, 1);
	assert_int_equal(b.max_ms, 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(backoff_next(&b), 1); /* never 0 */
	backoff_init(&b, 500, 100, 0, 3);
	assert_int_equal(b.max_ms, 500);
	assert_true(backoff_next(&b) >= 250);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schedule_bounds),
	    cmocka_unit_test(test_jitter_spreads),
	    cmocka_unit_test(test_no_reset_on_instant_death),
	    cmocka_unit_test(test_reset_after_healthy),
	    cmocka_unit_test(test_clamps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
