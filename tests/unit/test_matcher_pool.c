/* test_matcher_pool.c - the matcher's pool (order, lookup, expiry,
 * compaction), its match message and its stats, without any I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "ride.h"
#include "stats.h"

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

static void test_match_message(void **state)
{
	struct ride_info info;
	const char *r = "{\"name\":\"Rahim\",\"location\":{\"x\":0,\"y\":0},\"destination\":{\"x\":"
			"70.1,\"y\":3.2},\"client_id\":\"bot-7\"}";
	const char *d =
	    "{\"name\":\"Karim\",\"car_number\":\"DHA-11-2345\",\"location\":{\"x\":3,\"y\":4}}";
	char token[33];
	char *msg;
	json_t *doc;

	assert_int_equal(ride_token(token), 0);
	assert_int_equal(strlen(token), 32);
	msg = ride_match_json("1-0", r, "2-0", d, 5.0, 1763800000000ULL, token, &info);
	assert_non_null(msg);
	doc = json_loads(msg, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "type")), "match");
	assert_string_equal(json_string_value(json_object_get(doc, "ride_id")), "ride-1-0");
	assert_true(json_real_value(json_object_get(doc, "fare")) == 10.0);
	assert_string_equal(json_string_value(json_object_get(doc, "currency")), "BDT");
	assert_string_equal(json_string_value(json_object_get(doc, "rating_token")), token);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "driver"), "car_number")),
	    "DHA-11-2345");
	assert_true(json_integer_value(json_object_get(doc, "matched_at_ms")) == 1763800000000LL);
	assert_string_equal(info.rider_client, "bot-7");
	assert_string_equal(info.driver_client, "");
	assert_string_equal(info.driver_name, "Karim");
	json_decref(doc);
	free(msg);
	assert_null(ride_match_json("1-0", "nope", "2-0", d, 1, 1, token, &info));
	assert_null(ride_match_json("1-0", r, "2-0", "{\"name\":\"x\"}", 1, 1, token, &info));
}

static void test_stats(void **state)
{
	static struct stats s;
	struct pool riders = {0}, drivers = {0};
	struct sbuf b = {0};
	double pct[4];
	json_t *doc;

	for (uint32_t i = 1; i <= 100; i++)
		stats_latency(&s, 10000, i);
	stats_latency(&s, 1, 99999); /* outside the window */
	stats_percentiles(&s, 10000, 5000, pct);
	assert_true(pct[0] == 50 && pct[1] == 90 && pct[2] == 99 && pct[3] == 100);
	pool_add(&riders, 1, 0, (struct pairing_point){1.5, 2}, strdup("{}"));
	s.t.requests = 10;
	stats_json(&s, &b, 10000, 250, &riders, &drivers, 10);
	doc = json_loads(b.p, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "waiting"), "riders")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "riders")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "drivers")), 0);
	json_decref(doc);
	sbuf_free(&b);
	pool_free(&riders);
}

static void test_rates_with_a_one_second_tick(void **state)
{
	static struct stats s;
	double r[3];

	/* ticks 1001 ms apart, 100 requests each: always 100/s-ish, never 0 */
	for (uint64_t t = 0; t < 10; t++) {
		s.t.requests = 100 * t;
		stats_rates(&s, 10000 + 1001 * t, r);
		if (t > 0)
			assert_true(r[0] > 99.0 && r[0] < 100.1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_find_order),
	    cmocka_unit_test(test_expire_exactly_at_ttl),
	    cmocka_unit_test(test_ord_and_expiry_callback),
	    cmocka_unit_test(test_match_message),
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_rates_with_a_one_second_tick),
	};
	return cmocka_run_group_tests_name("matcher_pool", tests, NULL, NULL);
}
