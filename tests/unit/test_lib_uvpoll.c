/* test_lib_uvpoll.c - unit tests (cmocka) for lib/uvpoll on a real libuv
 * loop with socket pairs (this test's calls of uv_poll_start/stop/uv_close
 * bind to lib/uvpoll's, as the services' and lws' do): asking for the
 * events a handle has reaches libuv once; an on-then-off before the poll
 * reaches libuv never, the other's callback never sees it; a change asked
 * for before the poll is armed when the loop blocks (also when made after
 * uvpoll_before_poll, by a later prepare callback); a removal not yet
 * applied is not reported to the owner; a stop is done at once; closing a
 * handle with a pending change is safe (the handle is freed in its close
 * callback); other loops' handles go to libuv as they are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uvpoll.h"

struct side {
	uv_poll_t *h;
	int fd, peer;
	int calls, writable, readable;
	struct side *other; /* its callback asks the other for UV_READABLE only */
};

static uv_loop_t loop;
static uv_prepare_t hook_prepare, late_prepare;
static uv_check_t hook_check;
static uv_timer_t guard; /* ends a run that would otherwise block */
static struct side *late_side;

static void on_hook_prepare(uv_prepare_t *p)
{
	uvpoll_before_poll();
}
static void on_hook_check(uv_check_t *c)
{
	uvpoll_after_poll();
}

static void on_poll(uv_poll_t *h, int status, int events);

/* started before the hook, so libuv runs it after the hook (LIFO) */
static void on_late_prepare(uv_prepare_t *p)
{
	if (late_side)
		uv_poll_start(late_side->h, UV_READABLE | UV_WRITABLE, on_poll);
	late_side = NULL;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct side *s = h->data;

	assert_int_equal(status, 0);
	s->calls++;
	s->writable += !!(events & UV_WRITABLE);
	s->readable += !!(events & UV_READABLE);
	if (s->other)
		uv_poll_start(s->other->h, UV_READABLE, on_poll);
}

static void on_guard(uv_timer_t *t)
{
}

static int setup(void **state)
{
	assert_int_equal(uv_loop_init(&loop), 0);
	uv_prepare_init(&loop, &late_prepare);
	uv_prepare_start(&late_prepare, on_late_prepare);
	uv_prepare_init(&loop, &hook_prepare);
	uv_prepare_start(&hook_prepare, on_hook_prepare);
	uv_check_init(&loop, &hook_check);
	uv_check_start(&hook_check, on_hook_check);
	uv_unref((uv_handle_t *)&late_prepare);
	uv_unref((uv_handle_t *)&hook_prepare);
	uv_unref((uv_handle_t *)&hook_check);
	uv_timer_init(&loop, &guard);
	uvpoll_enable(&loop);
	return 0;
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

static void side_open(struct side *s)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*s = (struct side){.fd = sv[0], .peer = sv[1]};
	s->h = malloc(sizeof(*s->h));
	assert_non_null(s->h);
	assert_int_equal(uv_poll_init_socket(&loop, s->h, s->fd), 0);
	s->h->data = s;
}

static void side_close(struct side *s)
{
	uv_close((uv_handle_t *)s->h, free_cb);
	uv_run(&loop, UV_RUN_NOWAIT);
	close(s->fd);
	close(s->peer);
}

static void sides_close_both(struct side *a, struct side *b)
{
	uv_close((uv_handle_t *)a->h, free_cb);
	uv_close((uv_handle_t *)b->h, free_cb);
	uv_run(&loop, UV_RUN_NOWAIT);
	close(a->fd);
	close(a->peer);
	close(b->fd);
	close(b->peer);
}

/* One loop iteration; the guard timer ends it if nothing is ready. */
static void run_once(void)
{
	uv_timer_start(&guard, on_guard, 2000, 0);
	uv_run(&loop, UV_RUN_ONCE);
	uv_timer_stop(&guard);
}

static void close_left(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* A side whose handle watches UV_READABLE; what reached libuv so far. */
static struct uvpoll_stats open_reading(struct side *a)
{
	side_open(a);
	assert_int_equal(uv_poll_start(a->h, UV_READABLE, on_poll), 0);
	return uvpoll_stats();
}

/* How many calls reached libuv since s0. */
static unsigned long long applied_since(struct uvpoll_stats s0)
{
	return uvpoll_stats().applied - s0.applied;
}

/* The peer writes a byte: one run must report it readable, not writable. */
static void expect_read_only(struct side *a)
{
	assert_int_equal(write(a->peer, "x", 1), 1);
	run_once();
	assert_int_equal(a->readable, 1);
	assert_int_equal(a->writable, 0);
}

static int teardown(void **state)
{
	uvpoll_disable();
	/* the hooks and the guard, and what a failed test left open */
	uv_walk(&loop, close_left, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return 0;
}

static void test_unchanged_reaches_libuv_once(void **state)
{
	struct side a;
	struct uvpoll_stats s0, s1;

	side_open(&a);
	s0 = uvpoll_stats();
	assert_int_equal(uv_poll_start(a.h, UV_READABLE, on_poll), 0);
	assert_true(uv_is_active((uv_handle_t *)a.h)); /* a first start is done at once */
	for (int i = 0; i < 5; i++)
		assert_int_equal(uv_poll_start(a.h, UV_READABLE, on_poll), 0);
	s1 = uvpoll_stats();
	assert_int_equal(s1.calls - s0.calls, 6);
	assert_int_equal(s1.applied - s0.applied, 1);
	expect_read_only(&a);
	side_close(&a);
}

static void test_on_then_off_costs_nothing(void **state)
{
	struct side a;
	struct uvpoll_stats s0 = open_reading(&a);

	/* the socket is writable: had POLLOUT reached the loop it would fire */
	uv_poll_start(a.h, UV_READABLE | UV_WRITABLE, on_poll);
	uv_poll_start(a.h, UV_READABLE, on_poll);
	uv_poll_start(a.h, UV_READABLE, on_poll);
	expect_read_only(&a);
	assert_int_equal(applied_since(s0), 0);
	assert_int_equal(a.calls, 1);
	side_close(&a);
}

static void test_change_is_armed_before_the_poll(void **state)
{
	struct side a;
	struct uvpoll_stats s0 = open_reading(&a);

	/* nothing to read: only the added UV_WRITABLE can end the run */
	uv_poll_start(a.h, UV_READABLE | UV_WRITABLE, on_poll);
	run_once();
	assert_int_equal(applied_since(s0), 1);
	assert_int_equal(a.writable, 1);
	/* a stop is applied at once (uv_is_active stays exact): nothing fires */
	uv_poll_stop(a.h);
	assert_false(uv_is_active((uv_handle_t *)a.h));
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(a.calls, 1);
	side_close(&a);
}

static void test_change_after_the_hook_is_armed(void **state)
{
	struct side a;

	side_open(&a);
	uv_poll_start(a.h, UV_READABLE, on_poll);
	late_side = &a; /* asks for UV_WRITABLE after uvpoll_before_poll ran */
	run_once();
	assert_null(late_side);
	assert_int_equal(a.writable, 1);
	side_close(&a);
}

static void test_removal_not_applied_is_not_reported(void **state)
{
	struct side a, b;

	side_open(&a);
	side_open(&b);
	uv_poll_start(a.h, UV_READABLE | UV_WRITABLE, on_poll);
	uv_poll_start(b.h, UV_READABLE | UV_WRITABLE, on_poll);
	a.other = &b;
	b.other = &a;
	/* both writable, reported by the same poll: whichever callback runs
	 * first takes UV_WRITABLE from the other, which must then not see it */
	run_once();
	assert_int_equal(a.writable + b.writable, 1);
	assert_int_equal(a.calls + b.calls, 1);
	a.other = b.other = NULL;
	side_close(&a);
	side_close(&b);
}

static void test_close_with_a_pending_change(void **state)
{
	struct side a, b;
	struct uvpoll_stats s0, s1;

	side_open(&a);
	side_open(&b);
	uv_poll_start(a.h, UV_READABLE, on_poll);
	uv_poll_start(b.h, UV_READABLE, on_poll);
	uv_poll_start(a.h, UV_READABLE | UV_WRITABLE, on_poll); /* pending */
	uv_poll_start(b.h, UV_WRITABLE, on_poll);               /* pending */
	s0 = uvpoll_stats();
	/* freed in their close callbacks, in the loop turn that would have
	 * applied the changes */
	sides_close_both(&a, &b);
	s1 = uvpoll_stats();
	assert_int_equal(s1.applied - s0.applied, 0);
	assert_int_equal(a.calls + b.calls, 0);
}

static void test_other_loops_untouched(void **state)
{
	uv_loop_t other;
	uv_poll_t h;
	int sv[2];
	struct uvpoll_stats s0, s1;

	assert_int_equal(uv_loop_init(&other), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(uv_poll_init_socket(&other, &h, sv[0]), 0);
	s0 = uvpoll_stats();
	uv_poll_start(&h, UV_READABLE, on_poll);
	uv_poll_start(&h, UV_READABLE, on_poll);
	uv_poll_stop(&h);
	s1 = uvpoll_stats();
	assert_int_equal(s1.applied - s0.applied, 3);
	uv_close((uv_handle_t *)&h, NULL);
	uv_run(&other, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&other), 0);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unchanged_reaches_libuv_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_on_then_off_costs_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_change_is_armed_before_the_poll, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_change_after_the_hook_is_armed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removal_not_applied_is_not_reported, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_close_with_a_pending_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_loops_untouched, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
