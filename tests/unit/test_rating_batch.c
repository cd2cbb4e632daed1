/* test_rating_batch.c - unit tests of rating-svc's group-commit core
 * (rating-svc/batch.c): rows planned per distinct ride id in a fixed order,
 * duplicates inside a batch, and each rating's answer from the outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

static void test_plan_distinct_sorted(void **state)
{
	const char *ids[] = {"c", "a", "d", "b"};
	int row_of[4], first[4];

	assert_int_equal(rb_plan(ids, 4, row_of, first), 4);
	/* rows in bytewise order of ride id */
	assert_int_equal(row_of[0], 2);
	assert_int_equal(row_of[1], 0);
	assert_int_equal(row_of[2], 3);
	assert_int_equal(row_of[3], 1);
	for (int r = 0; r < 4; r++)
		assert_int_equal(row_of[first[r]], r);
	assert_string_equal(ids[first[0]], "a");
	assert_string_equal(ids[first[3]], "d");
}

static void test_plan_duplicates(void **state)
{
	const char *ids[] = {"r2", "r1", "r2", "r2", "r1", "r0"};
	int row_of[6], first[6];

	assert_int_equal(rb_plan(ids, 6, row_of, first), 3);
	assert_string_equal(ids[first[0]], "r0");
	assert_string_equal(ids[first[1]], "r1");
	assert_string_equal(ids[first[2]], "r2");
	/* the first rating of each ride (arrival order) holds the row */
	assert_int_equal(first[0], 5);
	assert_int_equal(first[1], 1);
	assert_int_equal(first[2], 0);
	for (int i = 0; i < 6; i++)
		assert_string_equal(ids[first[row_of[i]]], ids[i]);
}

static void test_plan_one(void **state)
{
	const char *ids[] = {"only"};
	int row_of[1], first[1];

	assert_int_equal(rb_plan(ids, 1, row_of, first), 1);
	assert_int_equal(row_of[0], 0);
	assert_int_equal(first[0], 0);
}

/* Checks rb_plan against brute force on random batches of up to 256 with
 * many repeats: every rating maps to the row of its id, rows are distinct,
 * sorted, and held by the first rating of their id. */
static void test_plan_random(void **state)
{
	static char buf[256][16];
	const char *ids[256];
	int row_of[256], first[256];

	srand(7);
	for (int round = 0; round < 300; round++) {
		int n = 1 + rand() % 256, kinds = 1 + rand() % 300, nrows;

		for (int i = 0; i < n; i++) {
			snprintf(buf[i], sizeof(buf[i]), "ride-%d", rand() % kinds);
			ids[i] = buf[i];
		}
		nrows = rb_plan(ids, n, row_of, first);
		for (int r = 0; r + 1 < nrows; r++)
			assert_true(strcmp(ids[first[r]], ids[first[r + 1]]) < 0);
		for (int i = 0; i < n; i++) {
			int earliest = i;

			assert_true(row_of[i] >= 0 && row_of[i] < nrows);
			assert_string_equal(ids[first[row_of[i]]], ids[i]);
			for (int j = 0; j < i; j++)
				if (!strcmp(ids[j], ids[i])) {
					earliest = j;
					break;
				}
			assert_int_equal(first[row_of[i]], earliest);
		}
	}
}

static void test_answers_committed(void **state)
{
	/* ratings: A, B, A (dup), C, B (dup); A inserted, B already rated
	 * before this batch, C inserted */
	const char *ids[] = {"A", "B", "A", "C", "B"};
	int row_of[5], first[5], ans[5], inserted[3];
	int nrows = rb_plan(ids, 5, row_of, first);

	assert_int_equal(nrows, 3);
	inserted[row_of[0]] = 1;
	inserted[row_of[1]] = 0;
	inserted[row_of[3]] = 1;
	rb_answers(5, row_of, first, nrows, RB_COMMITTED, inserted, ans);
	assert_int_equal(ans[0], RB_CREATED);
	assert_int_equal(ans[1], RB_DUPLICATE);
	assert_int_equal(ans[2], RB_DUPLICATE); /* exactly one 201 for A */
	assert_int_equal(ans[3], RB_CREATED);
	assert_int_equal(ans[4], RB_DUPLICATE);
}

static void test_answers_unknown_gives_no_201(void **state)
{
	const char *ids[] = {"A", "B", "A"};
	int row_of[3], first[3], ans[3], inserted[2] = {1, 1};
	int nrows = rb_plan(ids, 3, row_of, first);

	/* even with row results at hand, an uncommitted batch is 503 for all */
	rb_answers(3, row_of, first, nrows, RB_UNKNOWN, inserted, ans);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ans[i], RB_UNAVAILABLE);
}

static void test_answers_refused(void **state)
{
	const char *ids[] = {"A", "B", "C"};
	const char *one[] = {"X", "X"};
	int row_of[3], first[3], ans[3], inserted[3] = {1, 1, 1};
	int nrows = rb_plan(ids, 3, row_of, first);

	/* a refused batch of several rows: everyone is replayed alone */
	rb_answers(3, row_of, first, nrows, RB_REFUSED, inserted, ans);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ans[i], RB_REPLAY);
	/* its only row refused: that is the rating's own failure (and its
	 * duplicate's), no replay loop */
	nrows = rb_plan(one, 2, row_of, first);
	assert_int_equal(nrows, 1);
	rb_answers(2, row_of, first, nrows, RB_REFUSED, inserted, ans);
	assert_int_equal(ans[0], RB_FAILED);
	assert_int_equal(ans[1], RB_FAILED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_distinct_sorted),
	    cmocka_unit_test(test_plan_duplicates),
	    cmocka_unit_test(test_plan_one),
	    cmocka_unit_test(test_plan_random),
	    cmocka_unit_test(test_answers_committed),
	    cmocka_unit_test(test_answers_unknown_gives_no_201),
	    cmocka_unit_test(test_answers_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
