/* test_bot_gen.c - unit tests of bot/reqgen and bot/pendmap: every body the
 * bot generates passes the services' own validation (lib/validate) with the
 * values it was built from; names and car numbers look right; points stay
 * in the area; the PRNG is deterministic per seed. The pending map: get/put,
 * growth, expiry in insertion order, refusal of oversized ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pendmap.h"
#include "reqgen.h"
#include "validate.h"

static void test_bodies_validate(void **state)
{
	struct gen_rng r;

	gen_seed(&r, 1);
	for (int i = 0; i < 5000; i++) {
		struct sbuf b = {0};
		struct validate_rider vr;
		struct validate_driver vd;
		struct validate_rating vt;
		struct gen_point loc = gen_point(&r, 1000), dst = gen_point(&r, 1000);
		const char *name = gen_name(&r);
		char car[12];

		gen_car_number(&r, car, sizeof(car));
		gen_rider_json(&b, name, loc, dst, i & 1 ? "bot-7" : NULL);
		assert_false(b.oom);
		assert_int_equal(validate_parse_rider(b.p, b.len, &vr, NULL), 0);
		assert_string_equal(vr.name, name);
		assert_true(vr.location.x == loc.x && vr.location.y == loc.y);
		assert_true(vr.destination.x == dst.x && vr.destination.y == dst.y);
		assert_string_equal(vr.client_id, i & 1 ? "bot-7" : "");
		assert_true(loc.x >= 0 && loc.x < 1000 && loc.y >= 0 && loc.y < 1000);
		b.len = 0;

		gen_driver_json(&b, name, car, loc, "bot-7");
		assert_int_equal(validate_parse_driver(b.p, b.len, &vd, NULL), 0);
		assert_string_equal(vd.car_number, car);
		assert_string_equal(vd.client_id, "bot-7");
		b.len = 0;

		gen_rating_json(&b, "ride-1763800000000-0", 1 + (int)gen_below(&r, 5),
		                "0123456789abcdef");
		assert_int_equal(validate_parse_rating(b.p, b.len, &vt, NULL), 0);
		assert_true(vt.rating >= 1 && vt.rating <= 5);
		assert_string_equal(vt.ride_id, "ride-1763800000000-0");
		sbuf_free(&b);
	}
}

static void test_escaping(void **state)
{
	struct sbuf b = {0};
	struct validate_rider vr;
	struct gen_point p = {1, 2};

	gen_rider_json(&b, "Ra\"h\\im", p, p, "c");
	assert_int_equal(validate_parse_rider(b.p, b.len, &vr, NULL), 0);
	assert_string_equal(vr.name, "Ra\"h\\im");
	sbuf_free(&b);
}

static void test_car_numbers_and_names(void **state)
{
	struct gen_rng r;
	char car[12], small[5];

	gen_seed(&r, 2);
	assert_true(gen_name_count() >= 10);
	for (int i = 0; i < 1000; i++) {
		int a, b;
		char city[4];

		gen_car_number(&r, car, sizeof(car));
		assert_int_equal(strlen(car), 11);
		assert_int_equal(sscanf(car, "%3[A-Z]-%2d-%4d", city, &a, &b), 3);
		assert_true(a >= 11 && a <= 99);
		assert_true(strlen(gen_name(&r)) > 0);
	}
	gen_car_number(&r, small, sizeof(small));
	assert_string_equal(small, "");
}

static void test_rng(void **state)
{
	struct gen_rng a, b;
	int hist[10] = {0};

	gen_seed(&a, 5);
	gen_seed(&b, 5);
	for (int i = 0; i < 100; i++)
		assert_true(gen_u64(&a) == gen_u64(&b));
	for (int i = 0; i < 100000; i++) {
		double u = gen_unit(&a);

		assert_true(u >= 0 && u < 1);
		hist[gen_below(&a, 10)]++;
	}
	for (int i = 0; i < 10; i++)
		assert_true(hist[i] > 9000 && hist[i] < 11000);
	assert_int_equal(gen_below(&a, 0), 0);
	/* a silly area falls back to 1 */
	assert_true(gen_point(&a, -5).x < 1);
}

static void test_pendmap(void **state)
{
	struct pend_map m;
	char id[64];
	int fresh;
	struct pend *e;

	pend_init(&m);
	assert_null(pend_get(&m, "x", 1));
	for (int i = 0; i < 50000; i++) {
		snprintf(id, sizeof(id), "17638%08d-0", i);
		e = pend_put(&m, id, strlen(id), (uint64_t)i, &fresh);
		assert_non_null(e);
		assert_int_equal(fresh, 1);
		e->accepted_us = (uint64_t)i + 1;
	}
	assert_int_equal(m.count, 50000);
	e = pend_put(&m, "1763800000123-0", 15, 99999, &fresh);
	assert_non_null(e);
	assert_int_equal(fresh, 0);
	assert_true(e->accepted_us == 124);
	assert_non_null(pend_get(&m, "1763800000007-0", 15));
	assert_null(pend_get(&m, "1763800000007-", 14));
	/* expiry drops exactly the older ones */
	assert_int_equal(pend_expire(&m, 40000), 40000);
	assert_int_equal(m.count, 10000);
	assert_null(pend_get(&m, "1763800039999-0", 15));
	assert_non_null(pend_get(&m, "1763800040000-0", 15));
	/* bad ids */
	memset(id, 'a', sizeof(id));
	assert_null(pend_put(&m, id, PEND_ID_MAX + 1, 1, NULL));
	assert_non_null(pend_put(&m, id, PEND_ID_MAX, 60000, NULL));
	assert_null(pend_put(&m, "", 0, 1, NULL));
	assert_null(pend_put(&m, "a\0b", 3, 1, NULL));
	assert_int_equal(pend_expire(&m, UINT64_MAX), 10001);
	assert_int_equal(m.count, 0);
	assert_non_null(pend_put(&m, "again", 5, 1, NULL));
	pend_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bodies_validate),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_car_numbers_and_names),
	    cmocka_unit_test(test_rng),
	    cmocka_unit_test(test_pendmap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
