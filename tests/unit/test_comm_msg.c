/* test_comm_msg.c - unit tests of comm-svc/msg: the two
 * copies of a match (token kept for the rider's client, removed for everyone
 * else, "cursor" added, every other byte unchanged), including the token in
 * first, middle and last position, nested look-alikes and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "msg.h"

static void check(const char *in, const char *with, const char *without)
{
	struct msg_match c;
	const char *why = NULL;

	assert_int_equal(msg_match_rewrite(in, strlen(in), "5-1", &c, &why), 0);
	assert_string_equal(c.with_token, with);
	assert_int_equal(c.with_len, strlen(with));
	assert_string_equal(c.without_token, without);
	assert_int_equal(c.without_len, strlen(without));
	msg_match_free(&c);
}

static void test_rewrite_positions(void **state)
{
	(void)state;
	check("{\"type\":\"match\",\"fare\":63.94,\"rating_token\":\"t1\"}",
	      "{\"type\":\"match\",\"fare\":63.94,\"rating_token\":\"t1\",\"cursor\":\"5-1\"}",
	      "{\"type\":\"match\",\"fare\":63.94,\"cursor\":\"5-1\"}");
	check("{\"rating_token\":\"t1\",\"type\":\"match\",\"fare\":63.94}",
	      "{\"rating_token\":\"t1\",\"type\":\"match\",\"fare\":63.94,\"cursor\":\"5-1\"}",
	      "{\"type\":\"match\",\"fare\":63.94,\"cursor\":\"5-1\"}");
	check("{\"type\":\"match\",\"rating_token\":\"t1\",\"fare\":31.969999}",
	      "{\"type\":\"match\",\"rating_token\":\"t1\",\"fare\":31.969999,\"cursor\":\"5-1\"}",
	      "{\"type\":\"match\",\"fare\":31.969999,\"cursor\":\"5-1\"}");
	/* whitespace, nested objects with a look-alike key, strings with braces */
	check("{ \"type\" : \"match\" , \"rider\": {\"rating_token\":\"no\", \"n\":\"}{,\\\"\"} ,"
	      " \"rating_token\" : \"t1\" }",
	      "{ \"type\" : \"match\" , \"rider\": {\"rating_token\":\"no\", \"n\":\"}{,\\\"\"} ,"
	      " \"rating_token\" : \"t1\" ,\"cursor\":\"5-1\"}",
	      "{ \"type\" : \"match\" , \"rider\": {\"rating_token\":\"no\", \"n\":\"}{,\\\"\"}  ,"
	      "\"cursor\":\"5-1\"}");
	/* no token at all: both copies equal */
	check("{\"type\":\"match\",\"a\":[1,{\"b\":null}],\"c\":true}",
	      "{\"type\":\"match\",\"a\":[1,{\"b\":null}],\"c\":true,\"cursor\":\"5-1\"}",
	      "{\"type\":\"match\",\"a\":[1,{\"b\":null}],\"c\":true,\"cursor\":\"5-1\"}");
}

static void test_rewrite_realistic(void **state)
{
	const char *m =
	    "{\"type\":\"match\",\"ride_id\":\"ride-1763800000000-0\","
	    "\"rider\":{\"id\":\"1763800000000-0\",\"name\":\"Rahim\",\"location\":{\"x\":12.5,"
	    "\"y\":40},"
	    "\"destination\":{\"x\":70.1,\"y\":3.2}},\"driver\":{\"id\":\"1763800000001-0\","
	    "\"name\":\"Karim\",\"car_number\":\"DHA-11-2345\",\"location\":{\"x\":3,\"y\":9.5}},"
	    "\"distance\":31.97,\"fare\":63.94,\"currency\":\"BDT\",\"matched_at_ms\":"
	    "1763800000100,"
	    "\"rating_token\":\"0123456789abcdef0123456789abcdef\"}";
	struct msg_match c;
	const char *why;
	json_t *w, *wo;

	(void)state;
	assert_int_equal(msg_match_rewrite(m, strlen(m), "1763800000100-0", &c, &why), 0);
	assert_string_equal(c.ride_id, "ride-1763800000000-0");
	w = json_loads(c.with_token, 0, NULL);
	wo = json_loads(c.without_token, 0, NULL);
	assert_non_null(w);
	assert_non_null(wo);
	assert_string_equal(json_string_value(json_object_get(w, "rating_token")),
	                    "0123456789abcdef0123456789abcdef");
	assert_null(json_object_get(wo, "rating_token"));
	assert_null(strstr(c.without_token, "0123456789abcdef"));
	assert_string_equal(json_string_value(json_object_get(wo, "cursor")), "1763800000100-0");
	assert_non_null(strstr(c.without_token, "\"distance\":31.97,"));
	assert_int_equal(json_object_size(w), json_object_size(wo) + 1);
	json_decref(w);
	json_decref(wo);
	msg_match_free(&c);
}

static void test_rewrite_rejects(void **state)
{
	struct msg_match c;
	const char *why;
	const char *bad[] = {"",
	                     "{",
	                     "[]",
	                     "null",
	                     "\"match\"",
	                     "{\"type\":\"stats\"}",
	                     "{\"type\":5}",
	                     "{}",
	                     "{\"type\":\"match\"} x",
	                     "{\"type\":\"match\",\"type\":\"match\"}",
	                     "{\"type\":\"match\",\"rating\\u005ftoken\":\"t\"}",
	                     "{\"cursor\":\"\",\"type\":\"match\"}",
	                     NULL};

	(void)state;
	for (int i = 0; bad[i]; i++) {
		why = NULL;
		assert_int_equal(msg_match_rewrite(bad[i], strlen(bad[i]), "1-0", &c, &why), -1);
		assert_non_null(why);
	}
	assert_int_equal(msg_match_rewrite("{\"type\":\"match\"}", 16, "1-0\"", &c, &why), -1);
	/* a raw NUL between tokens, which jansson lets through (fuzz finding) */
	{
		static const char nul[] = "{\"a\":1e6\0,\"type\":\"match\"}";

		why = NULL;
		assert_int_equal(msg_match_rewrite(nul, sizeof(nul) - 1, "1-0", &c, &why), -1);
		assert_non_null(why);
	}
}

static void test_replies(void **state)
{
	struct sbuf b = {0};

	(void)state;
	msg_welcome(&b, "bot-7", 0, "1-0", 2, 1, 0);
	assert_string_equal(b.p,
	                    "{\"type\":\"welcome\",\"client_id\":\"bot-7\",\"role\":\"client\","
	                    "\"cursor\":\"1-0\",\"resumed\":2,\"recovered\":true}");
	sbuf_free(&b);
	msg_welcome(&b, "bot-7", 0, "1-0", 0, 0, 0);
	assert_string_equal(b.p,
	                    "{\"type\":\"welcome\",\"client_id\":\"bot-7\",\"role\":\"client\","
	                    "\"cursor\":\"1-0\",\"resumed\":0,\"recovered\":false}");
	sbuf_free(&b);
	msg_welcome(&b, "", 1, "1-0", 0, -1, 1);
	assert_string_equal(b.p, "{\"type\":\"welcome\",\"role\":\"viewer\",\"cursor\":\"1-0\","
	                         "\"resumed\":0,\"batch\":true}");
	sbuf_free(&b);
	msg_error(&b, "bad \"x\"", "type");
	assert_string_equal(b.p,
	                    "{\"type\":\"error\",\"error\":\"bad \\\"x\\\"\",\"field\":\"type\"}");
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rewrite_positions),
	    cmocka_unit_test(test_rewrite_realistic),
	    cmocka_unit_test(test_rewrite_rejects),
	    cmocka_unit_test(test_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
