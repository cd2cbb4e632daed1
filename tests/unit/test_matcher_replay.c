/* test_matcher_replay.c - reading `requests` entries and the replay
 * filtering on start (replay.c), without any I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "replay.h"

static void test_replay_kind(void **state)
{
	const char *json;
	const char *rider[] = {"kind", "rider", "json", "{\"a\":1}"};
	const char *driver[] = {"json", "{}", "kind", "driver", "extra", "x"};
	const char *other[] = {"kind", "taxi", "json", "{}"};
	const char *nojson[] = {"kind", "rider"};
	const char *nonstr[] = {"kind", NULL, "json", "{}"};
	const char *odd[] = {"kind", "rider", "json"};

	assert_int_equal(replay_kind(rider, 4, &json), 1);
	assert_string_equal(json, "{\"a\":1}");
	assert_int_equal(replay_kind(driver, 6, &json), 0);
	assert_string_equal(json, "{}");
	assert_int_equal(replay_kind(other, 4, &json), -1);
	assert_int_equal(replay_kind(nojson, 2, &json), -1);
	assert_int_equal(replay_kind(nonstr, 4, &json), -1);
	assert_int_equal(replay_kind(odd, 3, &json), -1);
	assert_int_equal(replay_kind(NULL, 0, &json), -1);
}

static void test_replay_filter(void **state)
{
	char key[64];

	/* from before the start: checked; after it: taken at once, unless a
	 * check is pending (then checked too, to keep the order) */
	assert_int_equal(replay_must_check(999, 1000, 0), 1);
	assert_int_equal(replay_must_check(1000, 1000, 0), 0);
	assert_int_equal(replay_must_check(5000, 1000, 0), 0);
	assert_int_equal(replay_must_check(5000, 1000, 3), 1);
	/* a checked entry is kept if its key exists or the answer is unknown */
	assert_int_equal(replay_keep(1, 1), 1);
	assert_int_equal(replay_keep(1, 0), 0);
	assert_int_equal(replay_keep(0, 0), 1);
	replay_key(1, "17-3", key, sizeof(key));
	assert_string_equal(key, "rider:17-3");
	replay_key(0, "17-3", key, sizeof(key));
	assert_string_equal(key, "driver:17-3");
}

static void test_replay_location(void **state)
{
	struct pairing_point p = {0, 0};

	assert_int_equal(replay_location("{\"location\":{\"x\":1.5,\"y\":-2}}", &p), 0);
	assert_true(p.x == 1.5 && p.y == -2.0);
	assert_int_equal(replay_location("{\"location\":{\"x\":1}}", &p), -1);
	assert_int_equal(replay_location("{\"location\":{\"x\":\"1\",\"y\":2}}", &p), -1);
	assert_int_equal(replay_location("{\"x\":1,\"y\":2}", &p), -1);
	assert_int_equal(replay_location("not json", &p), -1);
	assert_int_equal(replay_location("", &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_kind),
	    cmocka_unit_test(test_replay_filter),
	    cmocka_unit_test(test_replay_location),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
