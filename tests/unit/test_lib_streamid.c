/* test_lib_streamid.c - unit tests (cmocka) for lib/streamid: the one
 * parser/comparer of Redis stream ids (the matcher's pool and comm-svc's
 * cursors). "ms-seq" parses to its numbers; a bare "ms" only with
 * STREAMID_SEQ_OPTIONAL (seq 0); signs, spaces, trailing bytes, empty parts
 * and numbers past 64 bits are refused and leave the output untouched; the
 * order is numeric (ms, then seq), not text order; format reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "streamid.h"

static void test_parses_ms_and_seq(void **state)
{
	struct streamid id;

	(void)state;
	assert_int_equal(streamid_parse("1763800000000-3", 0, &id), 0);
	assert_true(id.ms == 1763800000000ULL && id.seq == 3);
	assert_int_equal(streamid_parse("0-0", 0, &id), 0);
	assert_true(id.ms == 0 && id.seq == 0);
	assert_int_equal(streamid_parse("18446744073709551615-18446744073709551615", 0, &id), 0);
	assert_true(id.ms == UINT64_MAX && id.seq == UINT64_MAX);
}

static void test_bare_ms_only_when_asked(void **state)
{
	struct streamid id = {7, 7};

	(void)state;
	assert_int_equal(streamid_parse("17", 0, &id), -1);
	assert_true(id.ms == 7 && id.seq == 7);
	assert_int_equal(streamid_parse("17", STREAMID_SEQ_OPTIONAL, &id), 0);
	assert_true(id.ms == 17 && id.seq == 0);
}

static void test_refuses_malformed_and_overflow(void **state)
{
	const char *bad[] = {"",
	                     "-",
	                     "a-1",
	                     "1-",
	                     "1-x",
	                     "1-2-3",
	                     " 1-2",
	                     "1- 2",
	                     "+1-2",
	                     "1-+2",
	                     "-1-2",
	                     "1-2x",
	                     "ride-1-2",
	                     "99999999999999999999999-0",
	                     "18446744073709551616-0",
	                     "0-18446744073709551616",
	                     NULL};
	struct streamid id = {5, 6};

	(void)state;
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(streamid_parse(bad[i], 0, &id), -1);
		assert_int_equal(streamid_parse(bad[i], STREAMID_SEQ_OPTIONAL, &id), -1);
		assert_true(id.ms == 5 && id.seq == 6);
	}
	assert_int_equal(streamid_parse(NULL, STREAMID_SEQ_OPTIONAL, &id), -1);
}

static void test_order_is_numeric(void **state)
{
	struct streamid a, b;

	(void)state;
	assert_int_equal(streamid_parse("1-2", 0, &a), 0);
	assert_int_equal(streamid_parse("1-10", 0, &b), 0);
	assert_true(streamid_cmp(a, b) < 0 && streamid_cmp(b, a) > 0); /* not text order */
	assert_int_equal(streamid_parse("9-99", 0, &a), 0);
	assert_int_equal(streamid_parse("10-0", 0, &b), 0);
	assert_true(streamid_cmp(a, b) < 0 && streamid_cmp(b, a) > 0); /* ms first */
	assert_int_equal(streamid_cmp(a, a), 0);
	b = (struct streamid){UINT64_MAX, 0};
	a = (struct streamid){UINT64_MAX - 1, UINT64_MAX};
	assert_true(streamid_cmp(a, b) < 0 && streamid_cmp(b, a) > 0);
}

static void test_format_reads_back(void **state)
{
	char buf[STREAMID_STR_MAX], small[4];
	struct streamid id = {UINT64_MAX, UINT64_MAX}, back;

	(void)state;
	streamid_format(id, buf, sizeof(buf));
	assert_string_equal(buf, "18446744073709551615-18446744073709551615");
	assert_int_equal(streamid_parse(buf, 0, &back), 0);
	assert_int_equal(streamid_cmp(id, back), 0);
	streamid_format((struct streamid){1, 10}, buf, sizeof(buf));
	assert_string_equal(buf, "1-10");
	streamid_format((struct streamid){12345, 6}, small, sizeof(small));
	assert_string_equal(small, "123"); /* truncated, still terminated */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parses_ms_and_seq),
	    cmocka_unit_test(test_bare_ms_only_when_asked),
	    cmocka_unit_test(test_refuses_malformed_and_overflow),
	    cmocka_unit_test(test_order_is_numeric),
	    cmocka_unit_test(test_format_reads_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
