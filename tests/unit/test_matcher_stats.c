/* test_matcher_stats.c - the matcher's counters, rates, latency
 * percentiles and the `stats` message (stats.c), without any I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "stats.h"

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

/* The points' text: the live ones (waiting, or being claimed: the stats
 * come after the tick's claims go out, and show the pool the tick paired),
 * not the gone ones, in pool order, %.6g, at most max_points a side. */
static void test_points_text(void **state)
{
	static struct stats s;
	struct pool riders = {0}, drivers = {0};
	struct sbuf b = {0};
	const char *r, *d;

	pool_add(&riders, 1, 0, (struct pairing_point){1.5, -2}, strdup("{}"));
	pool_add(&riders, 2, 0, (struct pairing_point){90.1234567, 0.000012345678}, strdup("{}"));
	pool_add(&riders, 3, 0, (struct pairing_point){-1e300, 23.5}, strdup("{}"));
	pool_add(&riders, 4, 0, (struct pairing_point){7, 8}, strdup("{}"));
	riders.v[1].state = POOL_CLAIMING;
	pool_remove(&riders, &riders.v[2]);
	pool_add(&drivers, 1, 0, (struct pairing_point){0.25, 123456789}, strdup("{}"));
	stats_json(&s, &b, 10000, 250, &riders, &drivers, 2);
	assert_false(b.oom);
	r = strstr(b.p, ",\"riders\":[");
	d = strstr(b.p, ",\"drivers\":[");
	assert_non_null(r);
	assert_non_null(d);
	assert_int_equal(strncmp(r, ",\"riders\":[[1.5,-2],[90.1235,1.23457e-05]],", 43), 0);
	assert_string_equal(d, ",\"drivers\":[[0.25,1.23457e+08]]}");
	sbuf_free(&b);
	stats_json(&s, &b, 10000, 250, &riders, &drivers, 0);
	assert_non_null(strstr(b.p, ",\"riders\":[],\"drivers\":[]}"));
	sbuf_free(&b);
	pool_free(&riders);
	pool_free(&drivers);
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
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_points_text),
	    cmocka_unit_test(test_rates_with_a_one_second_tick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
