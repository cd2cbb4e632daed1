/* test_lib_sbuf.c - unit tests (cmocka) for lib/sbuf: the buffer grows past
 * its first 256 bytes and by doubling without losing a byte, stays
 * NUL-terminated, a failed append is sticky; sbuf_json_str, the one JSON
 * string escaper (also behind lib/validate.c's canonical JSON), escapes '"',
 * '\\', every control byte and DEL, copies everything else, and what it
 * writes reads back (jansson) as the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "validate.h"

static void test_append_grows_and_keeps_every_byte(void **state)
{
	struct sbuf b = {0};
	char chunk[37];

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)('a' + i % 26);
	for (int i = 0; i < 1000; i++)
		sbuf_append(&b, chunk, sizeof(chunk));
	assert_int_equal(b.oom, 0);
	assert_int_equal(b.len, 37000);
	assert_true(b.cap >= b.len + 1);
	assert_int_equal(b.cap & (b.cap - 1), 0); /* 256 doubled: a power of two */
	assert_int_equal(b.p[b.len], 0);
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(b.p[i], chunk[i % sizeof(chunk)]);
	sbuf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_first_reserve_and_exact_fit(void **state)
{
	struct sbuf b = {0};
	char big[255];

	sbuf_append(&b, "", 0);
	assert_non_null(b.p);
	assert_int_equal(b.cap, 256);
	assert_string_equal(b.p, "");
	memset(big, 'x', sizeof(big));
	sbuf_append(&b, big, sizeof(big)); /* 255 + NUL: fits 256 exactly */
	assert_int_equal(b.cap, 256);
	sbuf_append(&b, "y", 1);
	assert_int_equal(b.cap, 512);
	assert_int_equal(b.len, 256);
	assert_int_equal(b.p[255], 'y');
	assert_int_equal(b.p[256], 0);
	sbuf_free(&b);
}

static void test_printf_appends_and_grows(void **state)
{
	struct sbuf b = {0};
	char want[2000];

	sbuf_printf(&b, "%s=%d", "n", 42);
	assert_string_equal(b.p, "n=42");
	memset(want, 'z', sizeof(want) - 1);
	want[sizeof(want) - 1] = 0;
	sbuf_printf(&b, ";%s", want);
	assert_int_equal(b.len, 4 + 1 + 1999);
	assert_int_equal(strlen(b.p), b.len);
	assert_memory_equal(b.p, "n=42;zzz", 8);
	sbuf_free(&b);
}

static void test_oom_is_sticky(void **state)
{
	struct sbuf b = {0};

	sbuf_append(&b, "ok", 2);
	b.oom = 1; /* as after a failed realloc */
	sbuf_append(&b, "more", 4);
	sbuf_printf(&b, "%d", 7);
	sbuf_json_str(&b, "x");
	assert_int_equal(b.len, 2);
	assert_string_equal(b.p, "ok");
	sbuf_free(&b);
	assert_int_equal(b.oom, 0);
}

static char *esc(const char *s)
{
	static char out[4096];
	struct sbuf b = {0};

	sbuf_json_str(&b, s);
	assert_non_null(b.p);
	snprintf(out, sizeof(out), "%s", b.p);
	sbuf_free(&b);
	return out;
}

static void test_escapes_quote_backslash_controls_and_del(void **state)
{
	char in[2], want[16];

	assert_string_equal(esc(""), "\"\"");
	assert_string_equal(esc("plain text"), "\"plain text\"");
	assert_string_equal(esc("a\"b\\c"), "\"a\\\"b\\\\c\"");
	assert_string_equal(esc("\n\t\r"), "\"\\u000a\\u0009\\u000d\"");
	for (int c = 1; c < 0x20; c++) {
		in[0] = (char)c;
		in[1] = 0;
		snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		assert_string_equal(esc(in), want);
	}
	assert_string_equal(esc("\x7f"), "\"\\u007f\"");
	assert_string_equal(esc("a\x7f"
	                        "b"),
	                    "\"a\\u007fb\"");
	/* printable ASCII other than '"' and '\\' is copied, '/' included */
	assert_string_equal(esc(" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"),
	                    "\" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~\"");
}

static void test_utf8_and_high_bytes_are_copied(void **state)
{
	/* é, €, U+1F600, and U+0085 (a C1 control: valid JSON unescaped) */
	assert_string_equal(esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\x85"),
	                    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\x85\"");
	/* invalid UTF-8 is not repaired: the contract is valid UTF-8 in */
	assert_string_equal(esc("\xff\xc3"), "\"\xff\xc3\"");
}

static void test_strn_stops_at_max_or_nul(void **state)
{
	struct sbuf b = {0};

	sbuf_json_strn(&b, "abc\"def", 4);
	assert_string_equal(b.p, "\"abc\\\"\"");
	sbuf_json_strn(&b, "xy", 100);
	assert_string_equal(b.p, "\"abc\\\"\"\"xy\"");
	sbuf_json_strn(&b, "q", 0);
	assert_string_equal(b.p, "\"abc\\\"\"\"xy\"\"\"");
	sbuf_free(&b);
}

/* every byte 1..127 at every position of a short string reads back */
static void test_escaped_text_reads_back(void **state)
{
	char in[4];

	for (int c = 1; c < 0x80; c++) {
		for (int pos = 0; pos < 3; pos++) {
			struct sbuf b = {0};
			json_error_t jerr;
			json_t *v;

			memcpy(in, "abc", 4);
			in[pos] = (char)c;
			sbuf_json_str(&b, in);
			v = json_loads(b.p, JSON_DECODE_ANY, &jerr);
			assert_non_null(v);
			assert_true(json_is_string(v));
			assert_string_equal(json_string_value(v), in);
			json_decref(v);
			sbuf_free(&b);
		}
	}
}

/* lib/validate.c's canonical JSON uses this escaper: a name with a control
 * byte and DEL (validation refuses both, but the writer must still emit
 * JSON) comes out escaped exactly as sbuf_json_str does it. */
static void test_canonical_json_uses_the_same_escaper(void **state)
{
	struct validate_rider r = {.location = {1, 2}, .destination = {3, 4}};
	struct validate_driver d = {.location = {-1, 0.5}};
	char *json, want[256];

	snprintf(r.name, sizeof(r.name), "a\x01\"\x7f\\");
	json = validate_rider_json(&r);
	assert_non_null(json);
	snprintf(want, sizeof(want),
	         "{\"name\":%s,\"location\":{\"x\":1,\"y\":2},"
	         "\"destination\":{\"x\":3,\"y\":4}}",
	         esc(r.name));
	assert_string_equal(json, want);
	assert_string_equal(json,
	                    "{\"name\":\"a\\u0001\\\"\\u007f\\\\\",\"location\":{\"x\":1,\"y\":2},"
	                    "\"destination\":{\"x\":3,\"y\":4}}");
	free(json);

	snprintf(d.name, sizeof(d.name), "K");
	snprintf(d.car_number, sizeof(d.car_number), "X\x7f");
	snprintf(d.client_id, sizeof(d.client_id), "c-1");
	json = validate_driver_json(&d);
	assert_non_null(json);
	assert_string_equal(
	    json, "{\"name\":\"K\",\"car_number\":\"X\\u007f\",\"location\":{\"x\":-1,\"y\":0.5},"
		  "\"client_id\":\"c-1\"}");
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_grows_and_keeps_every_byte),
	    cmocka_unit_test(test_first_reserve_and_exact_fit),
	    cmocka_unit_test(test_printf_appends_and_grows),
	    cmocka_unit_test(test_oom_is_sticky),
	    cmocka_unit_test(test_escapes_quote_backslash_controls_and_del),
	    cmocka_unit_test(test_utf8_and_high_bytes_are_copied),
	    cmocka_unit_test(test_strn_stops_at_max_or_nul),
	    cmocka_unit_test(test_escaped_text_reads_back),
	    cmocka_unit_test(test_canonical_json_uses_the_same_escaper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
