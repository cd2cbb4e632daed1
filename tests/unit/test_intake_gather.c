/* test_intake_gather.c - the intake's batch of one loop turn: appending up
 * to GATHER_MAX and refusing more, and the script's arguments of a full
 * batch (the 4 fixed ones, then every request's JSON in order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gather.h"

static const char *const fixed[GATHER_FIXED] = {"requests", "5000", "100000", "rider"};

static void test_add_until_full(void **state)
{
	struct gather g = {0};
	int reqs[GATHER_MAX + 1];
	char *json = "{}";

	(void)state;
	for (int i = 0; i < GATHER_MAX; i++)
		assert_int_equal(gather_add(&g, &reqs[i], json), i + 1);
	assert_int_equal(gather_add(&g, &reqs[GATHER_MAX], json), -1);
	assert_int_equal(g.n, GATHER_MAX);
	assert_ptr_equal(g.req[GATHER_MAX - 1], &reqs[GATHER_MAX - 1]);
}

/* A full batch: GATHER_ARGC_MAX arguments, the last one the last request's;
 * sentinels around the arrays catch a write past their end (and ASan in
 * make test-san). */
static void test_args_of_full_batch(void **state)
{
	struct gather g = {0};
	char bodies[GATHER_MAX][24];
	struct {
		const char *argv[GATHER_ARGC_MAX];
		const char *after;
	} a;
	struct {
		size_t lens[GATHER_ARGC_MAX];
		size_t after;
	} l;
	int argc;

	(void)state;
	for (int i = 0; i < GATHER_MAX; i++) {
		snprintf(bodies[i], sizeof(bodies[i]), "{\"n\":%d}", i);
		gather_add(&g, NULL, bodies[i]);
	}
	a.after = "sentinel";
	l.after = 12345;
	argc = gather_args(&g, fixed, a.argv, l.lens);
	assert_int_equal(argc, GATHER_ARGC_MAX);
	for (int i = 0; i < GATHER_FIXED; i++) {
		assert_string_equal(a.argv[i], fixed[i]);
		assert_int_equal(l.lens[i], strlen(fixed[i]));
	}
	for (int i = 0; i < GATHER_MAX; i++) {
		assert_ptr_equal(a.argv[GATHER_FIXED + i], bodies[i]);
		assert_int_equal(l.lens[GATHER_FIXED + i], strlen(bodies[i]));
	}
	assert_string_equal(a.after, "sentinel");
	assert_int_equal(l.after, 12345);
}

static void test_args_of_one(void **state)
{
	struct gather g = {0};
	const char *argv[GATHER_ARGC_MAX];
	size_t lens[GATHER_ARGC_MAX];

	(void)state;
	gather_add(&g, NULL, "{\"rider_id\":\"r1\"}");
	assert_int_equal(gather_args(&g, fixed, argv, lens), GATHER_FIXED + 1);
	assert_string_equal(argv[GATHER_FIXED], "{\"rider_id\":\"r1\"}");
	assert_int_equal(lens[GATHER_FIXED], strlen("{\"rider_id\":\"r1\"}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_until_full),
	    cmocka_unit_test(test_args_of_full_batch),
	    cmocka_unit_test(test_args_of_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
