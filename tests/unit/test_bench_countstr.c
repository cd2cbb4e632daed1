/* test_bench_countstr.c - bench/lib/countstr: a needle is counted once
 * however the stream is cut into pieces (every cut of a message, one byte
 * at a time, empty pieces), and a needle split across pieces is not counted
 * twice; the count over pieces equals the count over the whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "countstr.h"

#define MATCH "\"type\":\"match\","

static const char stream[] = "[{\"type\":\"match\",\"a\":1},{\"type\":\"welcome\"},"
			     "{\"type\":\"match\",\"b\":2}{\"type\":\"match\",}\"type\":\"matc";

static void test_init_limits(void **state)
{
	struct countstr c;
	char big[COUNTSTR_MAX + 2];

	(void)state;
	assert_int_equal(countstr_init(&c, ""), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(countstr_init(&c, big), -1);
	big[COUNTSTR_MAX] = 0;
	assert_int_equal(countstr_init(&c, big), 0);
}

static void test_whole(void **state)
{
	struct countstr c;

	(void)state;
	countstr_init(&c, MATCH);
	assert_int_equal(countstr_feed(&c, stream, strlen(stream)), 3);
}

/* every split into two pieces, and into three */
static void test_every_cut(void **state)
{
	size_t len = strlen(stream);
	struct countstr c;

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		countstr_init(&c, MATCH);
		assert_int_equal(
		    countstr_feed(&c, stream, i) + countstr_feed(&c, stream + i, len - i), 3);
		for (size_t j = i; j <= len; j++) {
			long n;

			countstr_init(&c, MATCH);
			n = countstr_feed(&c, stream, i);
			n += countstr_feed(&c, stream + i, j - i);
			n += countstr_feed(&c, stream + j, len - j);
			assert_int_equal(n, 3);
		}
	}
}

static void test_byte_at_a_time_and_empty_pieces(void **state)
{
	struct countstr c;
	long n = 0;

	(void)state;
	countstr_init(&c, "HTTP/1.1 2");
	for (int r = 0; r < 3; r++) {
		const char *s = "HTTP/1.1 202 Accepted\r\n\r\nHTTP/1.1 404 x\r\n\r\n";

		for (size_t i = 0; s[i]; i++) {
			n += countstr_feed(&c, s + i, 1);
			n += countstr_feed(&c, s + i, 0);
		}
	}
	assert_int_equal(n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_limits),
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_every_cut),
	    cmocka_unit_test(test_byte_at_a_time_and_empty_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
