/* test_lib_polltab.c - unit tests (cmocka) for lib/polltab, the bookkeeping
 * of lib/uvpoll: asking for the applied events does nothing; a watched
 * handle's change is queued when deferring and cancelled by asking again
 * for what is applied; a handle the loop does not watch (never started, or
 * stopped by the loop) is started at once, and a stop done at once; settling does one operation per
 * queued descriptor; slots are found by descriptor and handle, grow, and a
 * removed or replaced slot's queued entry settles to nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "polltab.h"

#define R 1u
#define W 2u

static int h1, h2; /* two handles: only their addresses matter */
static struct polltab t;

static int teardown(void **state)
{
	polltab_free(&t);
	assert_null(t.slot);
	assert_int_equal(t.count, 0);
	return 0;
}

/* A slot for fd holding h whose loop watches events (started at once). */
static struct polltab_slot *started(int fd, void *h, unsigned events)
{
	struct polltab_slot *s = polltab_add(&t, fd, h);

	assert_non_null(s);
	assert_int_equal(polltab_want(&t, s, fd, events, 0, 1), POLLTAB_START);
	assert_int_equal(s->applied, events);
	return s;
}

static void test_unchanged_is_nothing(void **state)
{
	/* not watched: the start is done now, deferring or not */
	struct polltab_slot *s = started(5, &h1, R);
	int fd;

	(void)state;
	for (int defer = 0; defer < 2; defer++)
		assert_int_equal(polltab_want(&t, s, 5, R, 1, defer), POLLTAB_NONE);
	assert_int_equal(polltab_next(&t, &fd), 0);
}

static void test_on_then_off_in_a_turn_costs_nothing(void **state)
{
	struct polltab_slot *s = started(7, &h1, R);
	int fd;

	(void)state;
	assert_int_equal(polltab_want(&t, s, 7, R | W, 1, 1), POLLTAB_NONE);
	assert_int_equal(s->applied, R);
	assert_int_equal(polltab_want(&t, s, 7, R, 1, 1), POLLTAB_NONE);
	assert_int_equal(polltab_want(&t, s, 7, R, 1, 1), POLLTAB_NONE);
	assert_int_equal(polltab_next(&t, &fd), 1);
	assert_int_equal(fd, 7);
	assert_ptr_equal(polltab_at(&t, fd), s);
	assert_int_equal(polltab_settle(s, 1), POLLTAB_NONE);
	assert_int_equal(polltab_next(&t, &fd), 0);
}

static void test_changes_settle_once(void **state)
{
	struct polltab_slot *s = started(3, &h1, R), *u;
	int fd, n = 0;

	(void)state;
	polltab_want(&t, s, 3, R | W, 1, 1);
	polltab_want(&t, s, 3, W, 1, 1);
	polltab_want(&t, s, 3, R | W, 1, 1);
	u = started(4, &h2, R);
	assert_int_equal(polltab_want(&t, u, 4, W, 1, 1), POLLTAB_NONE);
	while (polltab_next(&t, &fd)) {
		struct polltab_slot *x = polltab_at(&t, fd);

		n++;
		if (fd == 3) {
			assert_int_equal(polltab_settle(x, 1), POLLTAB_START);
			assert_int_equal(x->applied, R | W);
		} else {
			assert_int_equal(fd, 4);
			assert_int_equal(polltab_settle(x, 1), POLLTAB_START);
			assert_int_equal(x->applied, W);
		}
	}
	assert_int_equal(n, 2);
	/* the list is reusable */
	assert_int_equal(polltab_want(&t, s, 3, R, 1, 1), POLLTAB_NONE);
	assert_int_equal(polltab_next(&t, &fd), 1);
	assert_int_equal(fd, 3);
	assert_int_equal(polltab_settle(s, 1), POLLTAB_START);
}

static void test_without_defer_at_once(void **state)
{
	struct polltab_slot *s = polltab_add(&t, 1, &h1);
	int fd;

	(void)state;
	polltab_want(&t, s, 1, R, 0, 0);
	assert_int_equal(polltab_want(&t, s, 1, R | W, 1, 0), POLLTAB_START);
	assert_int_equal(s->applied, R | W);
	assert_int_equal(polltab_want(&t, s, 1, 0, 1, 0), POLLTAB_STOP);
	assert_int_equal(s->applied, 0);
	/* a stopped handle is started at once even when deferring */
	assert_int_equal(polltab_want(&t, s, 1, W, 0, 1), POLLTAB_START);
	assert_int_equal(polltab_next(&t, &fd), 0);
}

static void test_stopped_by_the_loop_counts_as_nothing(void **state)
{
	struct polltab_slot *s = started(2, &h1, R);
	int fd;

	(void)state;
	/* the loop stopped it (an error): asking for R again must start it */
	assert_int_equal(polltab_want(&t, s, 2, R, 0, 1), POLLTAB_START);
	/* queued while watched, then stopped by the loop before settling */
	assert_int_equal(polltab_want(&t, s, 2, R | W, 1, 1), POLLTAB_NONE);
	assert_int_equal(polltab_next(&t, &fd), 1);
	assert_int_equal(polltab_settle(s, 0), POLLTAB_START);
	assert_int_equal(s->applied, R | W);
	/* a stop is done at once, also when deferring; a change queued before
	 * it then settles to nothing */
	assert_int_equal(polltab_want(&t, s, 2, R, 1, 1), POLLTAB_NONE);
	assert_int_equal(polltab_want(&t, s, 2, 0, 1, 1), POLLTAB_STOP);
	assert_int_equal(s->applied, 0);
	assert_int_equal(polltab_next(&t, &fd), 1);
	assert_int_equal(polltab_settle(s, 0), POLLTAB_NONE);
}

static void test_find_remove_replace(void **state)
{
	struct polltab_slot *s;
	int fd;

	(void)state;
	assert_null(polltab_add(&t, -1, &h1));
	s = polltab_add(&t, 1000, &h1); /* grows */
	assert_non_null(s);
	assert_true(t.cap > 1000);
	assert_ptr_equal(polltab_find(&t, 1000, &h1), s);
	assert_null(polltab_find(&t, 1000, &h2));
	assert_null(polltab_find(&t, 999, &h1));
	assert_null(polltab_find(&t, 5000, &h1));
	assert_null(polltab_find(&t, -3, &h1));
	assert_int_equal(t.count, 1);
	/* a pending change of a removed handle is dropped */
	polltab_want(&t, s, 1000, R, 0, 1);
	polltab_want(&t, s, 1000, R | W, 1, 1);
	polltab_remove(&t, 1000, &h2); /* not the handle there: nothing */
	assert_int_equal(t.count, 1);
	polltab_remove(&t, 1000, &h1);
	assert_int_equal(t.count, 0);
	assert_null(polltab_at(&t, 1000));
	assert_int_equal(polltab_next(&t, &fd), 1);
	assert_null(polltab_at(&t, fd));
	assert_int_equal(polltab_next(&t, &fd), 0);
	/* a new handle on a descriptor with a queued entry starts clean */
	s = started(8, &h1, R);
	polltab_want(&t, s, 8, R | W, 1, 1);
	polltab_remove(&t, 8, &h1);
	s = polltab_add(&t, 8, &h2);
	assert_int_equal(s->wanted | s->applied, 0);
	assert_int_equal(polltab_want(&t, s, 8, R, 0, 1), POLLTAB_START);
	assert_int_equal(polltab_next(&t, &fd), 1);
	assert_int_equal(polltab_settle(polltab_at(&t, fd), 1), POLLTAB_NONE);
	assert_int_equal(polltab_next(&t, &fd), 0);
}

static void test_many_descriptors(void **state)
{
	int fd, n = 0;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		struct polltab_slot *s = polltab_add(&t, i, &h1);

		assert_non_null(s);
		polltab_want(&t, s, i, R, 0, 1);
		assert_int_equal(polltab_want(&t, s, i, i % 3 ? R | W : 0, 1, 1),
		                 i % 3 ? POLLTAB_NONE : POLLTAB_STOP);
	}
	while (polltab_next(&t, &fd)) {
		struct polltab_slot *s = polltab_at(&t, fd);

		assert_true(fd % 3);
		assert_int_equal(polltab_settle(s, 1), POLLTAB_START);
		n++;
	}
	assert_int_equal(n, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_unchanged_is_nothing, teardown),
	    cmocka_unit_test_teardown(test_on_then_off_in_a_turn_costs_nothing, teardown),
	    cmocka_unit_test_teardown(test_changes_settle_once, teardown),
	    cmocka_unit_test_teardown(test_without_defer_at_once, teardown),
	    cmocka_unit_test_teardown(test_stopped_by_the_loop_counts_as_nothing, teardown),
	    cmocka_unit_test_teardown(test_find_remove_replace, teardown),
	    cmocka_unit_test_teardown(test_many_descriptors, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
