/* test_rating_rating.c - unit tests of rating-svc's pure core (rating-svc/rating.c):
 * constant-time token comparison, the top limit, reply JSON, the SQL texts
 * being parameterised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "rating.h"

static void test_ct_equal(void **state)
{
	const char *tok = "0123456789abcdef0123456789abcdef";

	assert_true(rating_ct_equal(tok, 32, tok, 32));
	assert_true(rating_ct_equal("", 0, "", 0));
	assert_false(rating_ct_equal("0123456789abcdef0123456789abcdeF", 32, tok, 32));
	assert_false(rating_ct_equal("X123456789abcdef0123456789abcdef", 32, tok, 32));
	/* prefixes and extensions of the secret do not match */
	assert_false(rating_ct_equal(tok, 31, tok, 32));
	assert_false(rating_ct_equal("0123456789abcdef0123456789abcdef0", 33, tok, 32));
	assert_false(rating_ct_equal("", 0, tok, 32));
	assert_false(rating_ct_equal(tok, 32, "", 0));
	/* a shorter guess padded with NULs is still different */
	assert_false(rating_ct_equal("ab", 2, "ab\0", 3));
}

static void test_parse_limit(void **state)
{
	int v = -1;

	assert_int_equal(rating_parse_limit(NULL, &v), 0);
	assert_int_equal(v, RATING_TOP_DEFAULT);
	assert_int_equal(rating_parse_limit("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(rating_parse_limit("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(rating_parse_limit("007", &v), 0);
	assert_int_equal(v, 7);
	v = 42;
	const char *bad[] = {"",
	                     "0",
	                     "101",
	                     "-1",
	                     "+5",
	                     " 5",
	                     "5 ",
	                     "1e1",
	                     "5.0",
	                     "abc",
	                     "0x10",
	                     "1000",
	                     "99999999999999999999",
	                     "%35"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rating_parse_limit(bad[i], &v), -1);
		assert_int_equal(v, 42); /* untouched on failure */
	}
}

static void test_round2(void **state)
{
	assert_true(rating_round2(4.25) == 4.25);
	assert_true(rating_round2(13.0 / 3.0) == 4.33);
	assert_true(rating_round2(14.0 / 3.0) == 4.67);
	assert_true(rating_round2(5.0) == 5.0);
}

static json_t *parse(const struct sbuf *b)
{
	json_error_t e;
	json_t *j;

	assert_false(b->oom);
	j = json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(j);
	return j;
}

static void test_driver_json(void **state)
{
	struct sbuf b = {0};
	json_t *j;

	rating_driver_json(&b, "DHA \"11\"\\2345", "Ka\nrim \xc3\xa9", 12, 4.25);
	j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(j, "car_number")),
	                    "DHA \"11\"\\2345");
	assert_string_equal(json_string_value(json_object_get(j, "name")), "Ka\nrim \xc3\xa9");
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 12);
	assert_true(json_number_value(json_object_get(j, "average")) == 4.25);
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	sbuf_free(&b);

	/* whole averages print as numbers too, and thirds are rounded */
	rating_driver_json(&b, "C", "N", 3, 13.0 / 3.0);
	assert_string_equal(b.p,
	                    "{\"car_number\":\"C\",\"name\":\"N\",\"count\":3,\"average\":4.33}");
	sbuf_free(&b);
	rating_driver_json(&b, "C", "N", 1, 5.0);
	assert_string_equal(b.p, "{\"car_number\":\"C\",\"name\":\"N\",\"count\":1,\"average\":5}");
	sbuf_free(&b);
}

static void test_created_json(void **state)
{
	struct sbuf b = {0};
	json_t *j, *d;

	rating_created_json(&b, "ride-1763800000000-0", "DHA-11", "Karim \"K\"", 4);
	j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(j, "ride_id")),
	                    "ride-1763800000000-0");
	assert_int_equal(json_integer_value(json_object_get(j, "rating")), 4);
	d = json_object_get(j, "driver");
	assert_true(json_is_object(d));
	assert_string_equal(json_string_value(json_object_get(d, "car_number")), "DHA-11");
	assert_string_equal(json_string_value(json_object_get(d, "name")), "Karim \"K\"");
	json_decref(j);
	sbuf_free(&b);
}

/* Every SQL text takes its values as $n parameters, never inline. */
static void test_sql_parameterised(void **state)
{
	assert_non_null(strstr(rating_sql_insert, "$1"));
	assert_non_null(strstr(rating_sql_insert, "$4"));
	assert_non_null(strstr(rating_sql_insert, "ON CONFLICT (ride_id) DO NOTHING RETURNING"));
	assert_non_null(strstr(rating_sql_exists, "$1"));
	assert_non_null(strstr(rating_sql_driver, "$1"));
	assert_non_null(strstr(rating_sql_top, "LIMIT $1"));
	assert_null(strchr(rating_sql_insert, '\''));
	assert_null(strchr(rating_sql_top, '\''));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ct_equal),     cmocka_unit_test(test_parse_limit),
	    cmocka_unit_test(test_round2),       cmocka_unit_test(test_driver_json),
	    cmocka_unit_test(test_created_json), cmocka_unit_test(test_sql_parameterised),
	};

	return cmocka_run_group_tests_name("rating", tests, NULL, NULL);
}
