/* test_comm_wsframe.c - frame headers of comm-svc/wsframe: the three length
 * encodings at their boundaries, byte for byte (RFC 6455 5.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wsframe.h"

static void expect_head(uint64_t len, const unsigned char *want, size_t want_len)
{
	unsigned char p[WSFRAME_HEAD_MAX + 1];

	memset(p, 0xee, sizeof(p));
	assert_int_equal(wsframe_text_head(p, len), want_len);
	assert_memory_equal(p, want, want_len);
	assert_int_equal(p[want_len], 0xee); /* nothing written past it */
}

static void test_lengths(void **state)
{
	(void)state;
	expect_head(0, (const unsigned char[]){0x81, 0}, 2);
	expect_head(125, (const unsigned char[]){0x81, 125}, 2);
	expect_head(126, (const unsigned char[]){0x81, 126, 0, 126}, 4);
	expect_head(65535, (const unsigned char[]){0x81, 126, 0xff, 0xff}, 4);
	expect_head(65536, (const unsigned char[]){0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 10);
	expect_head(0x0102030405060708ULL,
	            (const unsigned char[]){0x81, 127, 1, 2, 3, 4, 5, 6, 7, 8}, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
