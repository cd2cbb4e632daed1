/* test_bot_msg.c - unit tests of bot/wsmsg (websocket messages and 202
 * bodies as the bot reads them): the design's match message with and
 * without token and cursor, welcome/error/stats, and hostile input (not
 * JSON, wrong types, unsafe or oversized ids and tokens, NUL bytes, random
 * bytes, deep nesting) that must be rejected or sanitised, never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wsmsg.h"

#define PARSE(lit, m) wsmsg_parse((lit), sizeof(lit) - 1, (m))

static const char match_msg[] =
    "{\"type\":\"match\",\"ride_id\":\"ride-1763800000000-0\","
    "\"rider\":{\"id\":\"1763800000000-0\",\"name\":\"Rahim\",\"location\":{\"x\":12.5,\"y\":40.0},"
    "\"destination\":{\"x\":70.1,\"y\":3.2}},"
    "\"driver\":{\"id\":\"1763800000001-0\",\"name\":\"Karim\",\"car_number\":\"DHA-11-2345\","
    "\"location\":{\"x\":3.0,\"y\":9.5}},\"distance\":31.97,\"fare\":63.94,\"currency\":\"BDT\","
    "\"matched_at_ms\":1763800000000,\"rating_token\":\"0123456789abcdef0123456789abcdef\","
    "\"cursor\":\"1763800000500-3\"}";

static void test_match(void **state)
{
	struct wsmsg m;

	assert_int_equal(PARSE(match_msg, &m), 0);
	assert_int_equal(m.type, WSMSG_MATCH);
	assert_string_equal(m.ride_id, "ride-1763800000000-0");
	assert_string_equal(m.rider_id, "1763800000000-0");
	assert_string_equal(m.driver_id, "1763800000001-0");
	assert_string_equal(m.token, "0123456789abcdef0123456789abcdef");
	assert_string_equal(m.cursor, "1763800000500-3");
	assert_true(m.fare == 63.94);
}

static void test_match_without_token(void **state)
{
	struct wsmsg m;

	assert_int_equal(PARSE("{\"type\":\"match\",\"ride_id\":\"r1\",\"rider\":{\"id\":\"1-0\"},"
	                       "\"driver\":{\"id\":\"2-0\"}}",
	                       &m),
	                 0);
	assert_int_equal(m.type, WSMSG_MATCH);
	assert_string_equal(m.token, "");
	assert_string_equal(m.cursor, "");
	/* unsafe or oversized token and cursor are dropped, the message is kept */
	assert_int_equal(PARSE("{\"type\":\"match\",\"ride_id\":\"r1\",\"rider\":{\"id\":\"1-0\"},"
	                       "\"rating_token\":\"a b\",\"cursor\":\"x\\\"y\"}",
	                       &m),
	                 0);
	assert_string_equal(m.token, "");
	assert_string_equal(m.cursor, "");
	assert_int_equal(
	    PARSE("{\"type\":\"match\",\"ride_id\":\"r1\",\"rider\":{\"id\":\"1-0\"},"
	          "\"rating_token\":"
	          "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	          &m),
	    0);
	assert_string_equal(m.token, "");
	assert_int_equal(PARSE("{\"type\":\"match\",\"ride_id\":\"r1\",\"rider\":{\"id\":\"1-0\"},"
	                       "\"rating_token\":\"ab\\u0000cd\"}",
	                       &m),
	                 -1); /* \u0000: refused whole */
}

static void test_other_types(void **state)
{
	struct wsmsg m;

	assert_int_equal(PARSE("{\"type\":\"welcome\",\"client_id\":\"bot-1\"}", &m), 0);
	assert_int_equal(m.type, WSMSG_WELCOME);
	assert_int_equal(m.recovered, -1);
	assert_int_equal(
	    PARSE("{\"type\":\"welcome\",\"cursor\":\"1-0\",\"resumed\":3,\"recovered\":false}",
	          &m),
	    0);
	assert_int_equal(m.recovered, 0);
	assert_string_equal(m.cursor, "1-0");
	assert_int_equal(PARSE("{\"type\":\"welcome\",\"recovered\":true}", &m), 0);
	assert_int_equal(m.recovered, 1);
	assert_int_equal(PARSE("{\"type\":\"welcome\",\"recovered\":1}", &m), 0);
	assert_int_equal(m.recovered, -1); /* not a boolean: unknown */
	assert_int_equal(PARSE("{\"type\":\"error\",\"error\":\"bad hello\"}", &m), 0);
	assert_int_equal(m.type, WSMSG_ERROR);
	assert_int_equal(PARSE("{\"type\":\"stats\",\"waiting\":{}}", &m), 0);
	assert_int_equal(m.type, WSMSG_OTHER);
}

static void test_rejected(void **state)
{
	struct wsmsg m;
	static const char *const bad[] = {
	    "",
	    "{",
	    "[]",
	    "null",
	    "\"match\"",
	    "{}",
	    "{\"type\":1}",
	    "{\"type\":null}",
	    "{\"type\":\"match\"}",
	    "{\"type\":\"match\",\"ride_id\":\"r\"}",
	    "{\"type\":\"match\",\"ride_id\":\"r\",\"rider\":\"x\"}",
	    "{\"type\":\"match\",\"ride_id\":\"r\",\"rider\":{}}",
	    "{\"type\":\"match\",\"ride_id\":\"r\",\"rider\":{\"id\":5}}",
	    "{\"type\":\"match\",\"ride_id\":\"\",\"rider\":{\"id\":\"1\"}}",
	    "{\"type\":\"match\",\"ride_id\":\"a/b\",\"rider\":{\"id\":\"1\"}}",
	    "{\"type\":\"match\",\"ride_id\":\"r\",\"rider\":{\"id\":\"1 2\"}}",
	    "{\"type\":\"match\",\"type\":\"match\",\"ride_id\":\"r\",\"rider\":{\"id\":\"1\"}}",
	    "{\"type\":\"welcome\"} trailing",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wsmsg_parse(bad[i], strlen(bad[i]), &m), -1);
	assert_int_equal(wsmsg_parse(NULL, 0, &m), -1);
	/* an embedded NUL in the middle of the bytes */
	assert_int_equal(wsmsg_parse("{\"type\":\"welcome\"}\0x", 20, &m), -1);
}

static void test_long_ids(void **state)
{
	char buf[512];
	char id[200];
	struct wsmsg m;

	memset(id, 'a', sizeof(id));
	snprintf(buf, sizeof(buf),
	         "{\"type\":\"match\",\"ride_id\":\"%.*s\",\"rider\":{\"id\":\"1\"}}", WSMSG_ID_MAX,
	         id);
	assert_int_equal(wsmsg_parse(buf, strlen(buf), &m), 0);
	assert_int_equal(strlen(m.ride_id), WSMSG_ID_MAX);
	snprintf(buf, sizeof(buf),
	         "{\"type\":\"match\",\"ride_id\":\"%.*s\",\"rider\":{\"id\":\"1\"}}",
	         WSMSG_ID_MAX + 1, id);
	assert_int_equal(wsmsg_parse(buf, strlen(buf), &m), -1);
}

static void test_random_and_deep(void **state)
{
	static char buf[8192];
	uint64_t s = 99;
	struct wsmsg m;

	for (int round = 0; round < 20000; round++) {
		size_t n;

		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (s >> 40) % 300;
		memcpy(buf, match_msg, n < sizeof(match_msg) ? n : sizeof(match_msg));
		for (int k = 0; k < 4; k++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			if (n)
				buf[(s >> 33) % n] = (char)(s >> 13);
		}
		(void)wsmsg_parse(buf, n, &m);
	}
	memset(buf, '[', sizeof(buf));
	assert_int_equal(wsmsg_parse(buf, sizeof(buf), &m), -1);
}

static void test_accepted(void **state)
{
	char id[WSMSG_ID_MAX + 1];

	assert_int_equal(wsmsg_parse_accepted("{\"id\":\"1763800000000-0\",\"expires_in_ms\":5000}",
	                                      45, id, WSMSG_ID_MAX),
	                 0);
	assert_string_equal(id, "1763800000000-0");
	assert_int_equal(wsmsg_parse_accepted("{\"error\":\"x\"}", 13, id, WSMSG_ID_MAX), -1);
	assert_int_equal(wsmsg_parse_accepted("{\"id\":1}", 8, id, WSMSG_ID_MAX), -1);
	assert_int_equal(wsmsg_parse_accepted("{\"id\":\"a\\nb\"}", 13, id, WSMSG_ID_MAX), -1);
	assert_int_equal(wsmsg_parse_accepted("not json", 8, id, WSMSG_ID_MAX), -1);
	assert_int_equal(wsmsg_parse_accepted(NULL, 0, id, WSMSG_ID_MAX), -1);
	assert_int_equal(wsmsg_parse_accepted("{\"id\":\"abcdef\"}", 15, id, 5), -1);
	/* the TTL of a 202 */
	assert_int_equal(wsmsg_accepted_ttl("{\"id\":\"1-0\",\"expires_in_ms\":5000}", 33), 5000);
	assert_int_equal(wsmsg_accepted_ttl("{\"id\":\"1-0\"}", 12), -1);
	assert_int_equal(wsmsg_accepted_ttl("{\"expires_in_ms\":0}", 19), -1);
	assert_int_equal(wsmsg_accepted_ttl("{\"expires_in_ms\":-5}", 20), -1);
	assert_int_equal(wsmsg_accepted_ttl("{\"expires_in_ms\":5000.5}", 24), -1);
	assert_int_equal(wsmsg_accepted_ttl("{\"expires_in_ms\":99999999}", 26), -1);
	assert_int_equal(wsmsg_accepted_ttl("nope", 4), -1);
	assert_int_equal(wsmsg_accepted_ttl(NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),       cmocka_unit_test(test_match_without_token),
	    cmocka_unit_test(test_other_types), cmocka_unit_test(test_rejected),
	    cmocka_unit_test(test_long_ids),    cmocka_unit_test(test_random_and_deep),
	    cmocka_unit_test(test_accepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
