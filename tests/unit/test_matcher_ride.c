/* test_matcher_ride.c - the match message and the rating token (ride.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ride.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
