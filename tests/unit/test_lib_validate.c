/* test_lib_validate.c — unit tests (cmocka) for lib/validate: every field's
 * limits at and beyond the boundary, wrong types, invalid UTF-8, control
 * characters, jansson's edge cases (huge numbers, NaN, nesting, trailing
 * bytes, duplicates), canonical JSON round-trips, rating and hello rules.
 * Every body is passed in a malloc'd buffer of exactly its length, without a
 * terminating NUL, so ASan catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

enum kind { RIDER, DRIVER, RATING, HELLO };

union any {
	struct validate_rider rider;
	struct validate_driver driver;
	struct validate_rating rating;
	struct validate_hello hello;
};

/* Parses body[0..len) copied into an exact-size heap buffer. */
static int parse_n(enum kind k, const char *body, size_t len, union any *out,
                   struct validate_error *err)
{
	char *p = malloc(len ? len : 1);
	int rc = -1;

	assert_non_null(p);
	if (len)
		memcpy(p, body, len);
	switch (k) {
	case RIDER: rc = validate_parse_rider(p, len, &out->rider, err); break;
	case DRIVER: rc = validate_parse_driver(p, len, &out->driver, err); break;
	case RATING: rc = validate_parse_rating(p, len, &out->rating, err); break;
	case HELLO: rc = validate_parse_hello(p, len, &out->hello, err); break;
	}
	free(p);
	return rc;
}

static void check_ok(enum kind k, const char *body, size_t len, union any *out, const char *file,
                     int line)
{
	struct validate_error e = {NULL, NULL};
	if (parse_n(k, body, len, out, &e) != 0) {
		print_error("expected OK for %.*s\n  got: %s (field %s)\n", (int)len, body,
		            e.message ? e.message : "?", e.field ? e.field : "NULL");
		_fail(file, line);
	}
}

static void check_err(enum kind k, const char *body, size_t len, const char *field,
                      const char *message, const char *file, int line)
{
	union any out, before;
	struct validate_error e = {NULL, NULL};

	memset(&out, 0x5a, sizeof out);
	before = out;
	if (parse_n(k, body, len, &out, &e) != -1) {
		print_error("expected an error for %.*s\n", (int)len, body);
		_fail(file, line);
	}
	if (memcmp(&out, &before, sizeof out) != 0) {
		print_error("*out was written on failure for %.*s\n", (int)len, body);
		_fail(file, line);
	}
	if (!e.message || strcmp(e.message, message) != 0 || (field == NULL) != (e.field == NULL) ||
	    (field && strcmp(field, e.field) != 0)) {
		print_error("for %.*s\n  expected: %s (field %s)\n  got:      %s (field %s)\n",
		            (int)len, body, message, field ? field : "NULL",
		            e.message ? e.message : "NULL", e.field ? e.field : "NULL");
		_fail(file, line);
	}
}

/* A body that must be refused, with the field and message it must get. */
struct bad {
	const char *body, *field, *message;
};

static void check_errs(enum kind k, const struct bad *t, const char *file, int line)
{
	for (; t->body; t++)
		check_err(k, t->body, strlen(t->body), t->field, t->message, file, line);
}

#define OK(k, body, out)                check_ok(k, body, strlen(body), out, __FILE__, __LINE__)
#define OK_N(k, body, len, out)         check_ok(k, body, len, out, __FILE__, __LINE__)
#define ERR(k, body, field, msg)        check_err(k, body, strlen(body), field, msg, __FILE__, __LINE__)
#define ERR_N(k, body, len, field, msg) check_err(k, body, len, field, msg, __FILE__, __LINE__)
/* ERR for each row of a table that ends with a NULL body. */
#define ERRS(k, table) check_errs(k, table, __FILE__, __LINE__)

#define LOC "\"location\":{\"x\":1,\"y\":2}"
#define DST "\"destination\":{\"x\":3,\"y\":4}"

/* the refusals of the identifiers (lib/validate.c's ID_SPECs) */
#define BAD_CLIENT_ID "client_id must be 1-64 characters of [A-Za-z0-9_.-]"
#define BAD_RIDE_ID   "ride_id must be 1-96 characters of [A-Za-z0-9_.-]"
#define BAD_TOKEN     "rating_token must be 1-64 letters and digits"
#define BAD_RESUME    "resume_after must be 1-96 characters of [A-Za-z0-9_.-]"

/* A rider body whose name is the raw bytes `name` (inserted unescaped). */
static char *rider_with_name(const char *name)
{
	static char buf[1024];
	snprintf(buf, sizeof buf, "{\"name\":\"%s\"," LOC "," DST "}", name);
	return buf;
}

static char *rider_with_loc(const char *x, const char *y)
{
	static char buf[512];
	snprintf(buf, sizeof buf, "{\"name\":\"n\",\"location\":{\"x\":%s,\"y\":%s}," DST "}", x,
	         y);
	return buf;
}

static char *driver_with_car(const char *car)
{
	static char buf[512];
	snprintf(buf, sizeof buf, "{\"name\":\"n\",\"car_number\":\"%s\"," LOC "}", car);
	return buf;
}

static char *rating_with(const char *rating)
{
	static char buf[512];
	snprintf(buf, sizeof buf,
	         "{\"ride_id\":\"ride-1-0\",\"rating\":%s,\"rating_token\":\"abc123\"}", rating);
	return buf;
}

static char *repeat(char c, size_t n)
{
	static char buf[256];
	assert_true(n < sizeof buf);
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* ---- rider --------------------------------------------------------------- */

static void rider_valid(void **state)
{
	union any o;
	(void)state;
	OK(RIDER,
	   "{\"name\": \"Rahim\", \"location\": {\"x\": 12.5, \"y\": 40.0},"
	   " \"destination\": {\"x\": 70.1, \"y\": 3.2}, \"client_id\": \"bot-7\"}",
	   &o);
	assert_string_equal(o.rider.name, "Rahim");
	assert_true(o.rider.location.x == 12.5 && o.rider.location.y == 40.0);
	assert_true(o.rider.destination.x == 70.1 && o.rider.destination.y == 3.2);
	assert_string_equal(o.rider.client_id, "bot-7");

	OK(RIDER,
	   " \n{\"destination\":{\"y\":-4,\"x\":-3},\"location\":{\"y\":2,\"x\":1},\"name\":\"x\"}"
	   "\n\t",
	   &o);
	assert_string_equal(o.rider.client_id, "");
	assert_true(o.rider.destination.x == -3 && o.rider.destination.y == -4);

	/* NULL err is allowed */
	assert_int_equal(validate_parse_rider("{}", 2, &o.rider, NULL), -1);
}

static void name_limits(void **state)
{
	union any o;
	char name[512];
	(void)state;

	OK(RIDER, rider_with_name(repeat('a', 64)), &o);
	assert_int_equal(strlen(o.rider.name), 64);
	ERR(RIDER, rider_with_name(repeat('a', 65)), "name", "name must be 1-64 bytes");
	ERR(RIDER, rider_with_name(""), "name", "name must be 1-64 bytes");
	OK(RIDER, rider_with_name("a"), &o);

	/* bytes, not characters: 32 x U+00E9 is 64 bytes, 33 is 66 */
	name[0] = '\0';
	for (int i = 0; i < 32; i++)
		strcat(name, "\xc3\xa9");
	OK(RIDER, rider_with_name(name), &o);
	assert_string_equal(o.rider.name, name);
	strcat(name, "\xc3\xa9");
	ERR(RIDER, rider_with_name(name), "name", "name must be 1-64 bytes");
	/* 63 ASCII + a 2-byte character = 65 bytes */
	snprintf(name, sizeof name, "%s\xc3\xa9", repeat('b', 63));
	ERR(RIDER, rider_with_name(name), "name", "name must be 1-64 bytes");
	/* 60 + a 4-byte emoji = 64 */
	snprintf(name, sizeof name, "%s\xf0\x9f\x98\x80", repeat('b', 60));
	OK(RIDER, rider_with_name(name), &o);
	/* escapes count after decoding: 64 x \u0041 is 64 bytes */
	name[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(name, "\\u0041");
	OK(RIDER, rider_with_name(name), &o);
	assert_string_equal(o.rider.name, repeat('A', 64));
}

static void name_types(void **state)
{
	(void)state;
	ERR(RIDER, "{" LOC "," DST "}", "name", "name is required");
	ERR(RIDER, "{\"name\":5," LOC "," DST "}", "name", "name must be a string");
	ERR(RIDER, "{\"name\":null," LOC "," DST "}", "name", "name must be a string");
	ERR(RIDER, "{\"name\":true," LOC "," DST "}", "name", "name must be a string");
	ERR(RIDER, "{\"name\":[\"a\"]," LOC "," DST "}", "name", "name must be a string");
	ERR(RIDER, "{\"name\":{}," LOC "," DST "}", "name", "name must be a string");
	ERR(RIDER, "{\"Name\":\"a\"," LOC "," DST "}", "name", "name is required");
}

static void name_control_chars(void **state)
{
	union any o;
	const char *ctl = "name must not contain control characters";
	(void)state;

	ERR(RIDER, rider_with_name("a\\u0000b"), NULL, "strings must not contain \\u0000");
	ERR(RIDER, rider_with_name("a\\u0001b"), "name", ctl);
	ERR(RIDER, rider_with_name("a\\u001fb"), "name", ctl);
	ERR(RIDER, rider_with_name("a\\nb"), "name", ctl);
	ERR(RIDER, rider_with_name("a\\tb"), "name", ctl);
	ERR(RIDER, rider_with_name("\\u007f"), "name", ctl);
	ERR(RIDER, rider_with_name("a\x7f"), "name", ctl); /* raw DEL */
	ERR(RIDER, rider_with_name("\\u0080"), "name", ctl);
	ERR(RIDER, rider_with_name("a\\u0085"), "name", ctl);
	ERR(RIDER, rider_with_name("a\xc2\x85"), "name", ctl); /* raw NEL */
	ERR(RIDER, rider_with_name("\\u009f"), "name", ctl);
	/* raw control bytes in a JSON string are a syntax error for jansson */
	ERR(RIDER, rider_with_name("a\nb"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_name("a\x01"), NULL, "body must be a JSON object");
	/* just outside the ranges */
	OK(RIDER, rider_with_name("\\u0020x\\u007e"), &o);
	OK(RIDER, rider_with_name("\\u00a0"), &o);
	assert_string_equal(o.rider.name, "\xc2\xa0");
	OK(RIDER, rider_with_name("\xe2\x80\xa8"), &o); /* U+2028 */
	OK(RIDER, rider_with_name("\\\"q\\\\\\/"), &o);
	assert_string_equal(o.rider.name, "\"q\\/");
}

static void invalid_utf8_in_body(void **state)
{
	const char *m = "body must be valid UTF-8";
	(void)state;
	ERR(RIDER, rider_with_name("\xc0\xaf"), NULL, m);         /* overlong '/' */
	ERR(RIDER, rider_with_name("\xe0\x80\xaf"), NULL, m);     /* overlong, 3 bytes */
	ERR(RIDER, rider_with_name("\xf0\x80\x80\xaf"), NULL, m); /* overlong, 4 bytes */
	ERR(RIDER, rider_with_name("a\x80"), NULL, m);            /* lone continuation */
	ERR(RIDER, rider_with_name("\xed\xa0\x80"), NULL, m);     /* U+D800 in UTF-8 */
	ERR(RIDER, rider_with_name("\xed\xbf\xbf"), NULL, m);     /* U+DFFF */
	ERR(RIDER, rider_with_name("\xe2\x82"), NULL, m);         /* truncated */
	ERR(RIDER, rider_with_name("\xf4\x90\x80\x80"), NULL, m); /* > U+10FFFF */
	ERR(RIDER, rider_with_name("\xff"), NULL, m);
	/* invalid UTF-8 outside strings, and in keys */
	ERR(RIDER, "{\"n\xc0\xaf\":1}", NULL, m);
	/* lone surrogate escapes */
	ERR(RIDER, rider_with_name("\\ud800"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_name("\\udc00x"), NULL, "body must be a JSON object");
}

static void valid_text_direct(void **state)
{
	(void)state;
	/* validate_valid_text is also used on its own: its UTF-8 check must stand alone */
	assert_true(validate_valid_text("a", 1, 64));
	assert_true(validate_valid_text("\xf0\x9f\x98\x80", 4, 4));
	assert_false(validate_valid_text("\xf0\x9f\x98\x80", 4, 3));
	assert_true(validate_valid_text("\xf4\x8f\xbf\xbf", 4, 64)); /* U+10FFFF */
	assert_true(validate_valid_text("\xef\xbf\xbf", 3, 64));     /* U+FFFF */
	assert_true(validate_valid_text("\xe0\xa0\x80", 3, 64));     /* U+0800 */
	assert_true(validate_valid_text("\xc2\xa0", 2, 64));
	assert_true(validate_valid_text("\xed\x9f\xbf", 3, 64)); /* U+D7FF */
	assert_true(validate_valid_text("\xee\x80\x80", 3, 64)); /* U+E000 */
	assert_false(validate_valid_text("", 0, 64));
	assert_false(validate_valid_text(NULL, 0, 64));
	assert_false(validate_valid_text("\xc0\xaf", 2, 64));
	assert_false(validate_valid_text("\xc1\xbf", 2, 64));
	assert_false(validate_valid_text("\xe0\x9f\xbf", 3, 64));     /* overlong U+07FF */
	assert_false(validate_valid_text("\xf0\x8f\xbf\xbf", 4, 64)); /* overlong U+FFFF */
	assert_false(validate_valid_text("\x80", 1, 64));
	assert_false(validate_valid_text("a\xbf", 2, 64));
	assert_false(validate_valid_text("\xed\xa0\x80", 3, 64));
	assert_false(validate_valid_text("\xed\xb0\x80", 3, 64));
	assert_false(validate_valid_text("\xe2\x82", 2, 64));
	assert_false(validate_valid_text("\xe2\x82\xac", 2, 64)); /* truncated by len */
	assert_false(validate_valid_text("\xf0\x9f\x98", 3, 64));
	assert_false(validate_valid_text("\xf4\x90\x80\x80", 4, 64));
	assert_false(validate_valid_text("\xf5\x80\x80\x80", 4, 64));
	assert_false(validate_valid_text("\xfe", 1, 64));
	assert_false(validate_valid_text("\xe2\x28\xa1", 3, 64)); /* bad continuation */
	assert_false(validate_valid_text("a\0b", 3, 64));
	assert_false(validate_valid_text("\x1f", 1, 64));
	assert_false(validate_valid_text("\x7f", 1, 64));
	assert_false(validate_valid_text("\xc2\x80", 2, 64));
	assert_false(validate_valid_text("\xc2\x9f", 2, 64));
	assert_true(validate_valid_text("\x20\x7e", 2, 64));
	assert_true(validate_valid_text(repeat('z', 64), 64, 64));
	assert_false(validate_valid_text(repeat('z', 65), 65, 64));
}

/* lib/validate.c has no finiteness check of its own: jansson is the guard.
 * If a jansson ever let a non-finite number through, this fails. */
static void jansson_guards_finiteness(void **state)
{
	json_error_t e;
	json_t *r = json_real(1.5);
	(void)state;

	assert_null(json_real(INFINITY));
	assert_null(json_real(-INFINITY));
	assert_null(json_real(NAN));
	assert_non_null(r);
	assert_int_equal(json_real_set(r, INFINITY), -1);
	assert_int_equal(json_real_set(r, NAN), -1);
	assert_true(json_real_value(r) == 1.5);
	json_decref(r);
	assert_null(json_loads("[1e400]", 0, &e));
	assert_null(json_loads("[-1e309]", 0, &e));
	assert_null(json_loads("[NaN]", 0, &e));
	assert_null(json_loads("[Infinity]", 0, &e));
	/* and the validator answers those inputs as errors, never a coordinate */
	ERR(RIDER, rider_with_loc("1e400", "0"), NULL, "number out of range");
	ERR(RIDER, rider_with_loc("0", "-1e309"), NULL, "number out of range");
}

static void coordinates(void **state)
{
	union any o;
	const char *num = "location.x must be a finite number";
	(void)state;

	OK(RIDER, rider_with_loc("1e6", "-1e6"), &o);
	assert_true(o.rider.location.x == 1e6 && o.rider.location.y == -1e6);
	OK(RIDER, rider_with_loc("1000000", "-1000000"), &o);
	OK(RIDER, rider_with_loc("1000000.0", "-0"), &o);
	assert_false(signbit(o.rider.location.y)); /* -0 becomes 0 */
	OK(RIDER, rider_with_loc("-0.0", "-0e5"), &o);
	assert_false(signbit(o.rider.location.x) || signbit(o.rider.location.y));
	OK(RIDER, rider_with_loc("0.000001", "1E-400"), &o); /* underflow to 0 */
	assert_true(o.rider.location.y == 0);
	/* out of range: x, y, the field refused; integers too big for int64
	 * are still a range error on their field */
	static const char *const out_of_range[][3] = {
	    {"1000001", "0", "location.x"},
	    {"0", "-1000001", "location.y"},
	    {"1000000.0000001", "0", "location.x"},
	    {"1e7", "0", "location.x"},
	    {"99999999999999999999", "0", "location.x"},
	    {"0", "-99999999999999999999", "location.y"},
	};
	for (size_t i = 0; i < sizeof out_of_range / sizeof *out_of_range; i++) {
		char msg[64];

		snprintf(msg, sizeof msg, "%s must be between -1e6 and 1e6", out_of_range[i][2]);
		ERR(RIDER, rider_with_loc(out_of_range[i][0], out_of_range[i][1]),
		    out_of_range[i][2], msg);
	}
	/* beyond a double */
	ERR(RIDER, rider_with_loc("1e400", "0"), NULL, "number out of range");
	ERR(RIDER, rider_with_loc("-1e400", "0"), NULL, "number out of range");
	/* not numbers */
	ERR(RIDER, rider_with_loc("NaN", "0"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_loc("Infinity", "0"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_loc("-Infinity", "0"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_loc("0x10", "0"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_loc("01", "0"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_loc("+1", "0"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_loc(".5", "0"), NULL, "body must be a JSON object");
	ERR(RIDER, rider_with_loc("\"1\"", "0"), "location.x", num);
	ERR(RIDER, rider_with_loc("null", "0"), "location.x", num);
	ERR(RIDER, rider_with_loc("true", "0"), "location.x", num);
	ERR(RIDER, rider_with_loc("[1]", "0"), "location.x", num);
	ERR(RIDER, rider_with_loc("{}", "0"), "location.x", num);
	ERR(RIDER, rider_with_loc("0", "false"), "location.y",
	    "location.y must be a finite number");

	ERR(RIDER, "{\"name\":\"n\",\"location\":{\"y\":1}," DST "}", "location.x",
	    "location.x is required");
	ERR(RIDER, "{\"name\":\"n\",\"location\":{\"x\":1}," DST "}", "location.y",
	    "location.y is required");
	ERR(RIDER, "{\"name\":\"n\"," DST "}", "location", "location is required");
	ERR(RIDER, "{\"name\":\"n\"," LOC "}", "destination", "destination is required");
	ERR(RIDER, "{\"name\":\"n\",\"location\":[1,2]," DST "}", "location",
	    "location must be an object with numbers x and y");
	ERR(RIDER, "{\"name\":\"n\",\"location\":null," DST "}", "location",
	    "location must be an object with numbers x and y");
	ERR(RIDER, "{\"name\":\"n\",\"location\":\"1,2\"," DST "}", "location",
	    "location must be an object with numbers x and y");
	ERR(RIDER, "{\"name\":\"n\"," LOC ",\"destination\":{\"x\":3,\"y\":1000000.5}}",
	    "destination.y", "destination.y must be between -1e6 and 1e6");
	ERR(RIDER, "{\"name\":\"n\"," LOC ",\"destination\":{\"x\":\"3\",\"y\":1}}",
	    "destination.x", "destination.x must be a finite number");
	ERR(RIDER, "{\"name\":\"n\"," LOC ",\"destination\":true}", "destination",
	    "destination must be an object with numbers x and y");
	/* X is not x */
	ERR(RIDER, "{\"name\":\"n\",\"location\":{\"X\":1,\"y\":2}," DST "}", "location.x",
	    "location.x is required");
}

static void client_id_field(void **state)
{
	union any o;
	char body[512];
	const char *ids_ok[] = {"a", "bot-7", "A_z.9-", "..", "-"};
	const char *ids_bad[] = {"", "a b", "a/b", "\\u00e9", "a:b", "a+b", "a\\\\b", "a@b"};
	(void)state;

	for (size_t i = 0; i < sizeof ids_ok / sizeof *ids_ok; i++) {
		snprintf(body, sizeof body, "{\"name\":\"n\"," LOC "," DST ",\"client_id\":\"%s\"}",
		         ids_ok[i]);
		OK(RIDER, body, &o);
		assert_string_equal(o.rider.client_id, ids_ok[i]);
	}
	snprintf(body, sizeof body, "{\"name\":\"n\"," LOC "," DST ",\"client_id\":\"%s\"}",
	         repeat('c', 64));
	OK(RIDER, body, &o);
	assert_string_equal(o.rider.client_id, repeat('c', 64));
	snprintf(body, sizeof body, "{\"name\":\"n\"," LOC "," DST ",\"client_id\":\"%s\"}",
	         repeat('c', 65));
	ERR(RIDER, body, "client_id", BAD_CLIENT_ID);
	for (size_t i = 0; i < sizeof ids_bad / sizeof *ids_bad; i++) {
		snprintf(body, sizeof body, "{\"name\":\"n\"," LOC "," DST ",\"client_id\":\"%s\"}",
		         ids_bad[i]);
		ERR(RIDER, body, "client_id", BAD_CLIENT_ID);
	}
	ERR(RIDER, "{\"name\":\"n\"," LOC "," DST ",\"client_id\":7}", "client_id",
	    "client_id must be a string");
	ERR(RIDER, "{\"name\":\"n\"," LOC "," DST ",\"client_id\":null}", "client_id",
	    "client_id must be a string");
	ERR(DRIVER, "{\"name\":\"n\",\"car_number\":\"c\"," LOC ",\"client_id\":[]}", "client_id",
	    "client_id must be a string");

	assert_true(validate_valid_client_id("bot-7", 5));
	assert_true(validate_valid_client_id(repeat('x', 64), 64));
	assert_false(validate_valid_client_id(repeat('x', 65), 65));
	assert_false(validate_valid_client_id("", 0));
	assert_false(validate_valid_client_id(NULL, 0));
	assert_false(validate_valid_client_id("a\0b", 3));
	assert_false(validate_valid_client_id("\xc3\xa9", 2));
	assert_true(validate_valid_client_id("ab!", 2)); /* only len bytes */
}

/* ---- driver -------------------------------------------------------------- */

static void driver_fields(void **state)
{
	union any o;
	char name[400];
	(void)state;

	OK(DRIVER,
	   "{\"name\": \"Karim\", \"car_number\": \"DHA-11-2345\", \"location\": {\"x\": 3.0, "
	   "\"y\": 9.5},"
	   " \"client_id\": \"bot-7\"}",
	   &o);
	assert_string_equal(o.driver.name, "Karim");
	assert_string_equal(o.driver.car_number, "DHA-11-2345");
	assert_true(o.driver.location.x == 3.0 && o.driver.location.y == 9.5);
	assert_string_equal(o.driver.client_id, "bot-7");

	OK(DRIVER, driver_with_car(repeat('C', 32)), &o);
	assert_string_equal(o.driver.car_number, repeat('C', 32));
	ERR(DRIVER, driver_with_car(repeat('C', 33)), "car_number",
	    "car_number must be 1-32 bytes");
	ERR(DRIVER, driver_with_car(""), "car_number", "car_number must be 1-32 bytes");
	OK(DRIVER, driver_with_car("\xe0\xa6\xa2\xe0\xa6\xbe\xe0\xa6\x95\xe0\xa6\xbe"),
	   &o); /* ঢাকা */
	ERR(DRIVER, driver_with_car("A\\u0085"), "car_number",
	    "car_number must not contain control characters");
	ERR(DRIVER, driver_with_car("A\\u007f"), "car_number",
	    "car_number must not contain control characters");
	ERR(DRIVER, driver_with_car("A\\r"), "car_number",
	    "car_number must not contain control characters");
	ERR(DRIVER, driver_with_car("\xed\xa0\x80"), NULL, "body must be valid UTF-8");
	ERR(DRIVER, "{\"name\":\"n\"," LOC "}", "car_number", "car_number is required");
	ERR(DRIVER, "{\"name\":\"n\",\"car_number\":12," LOC "}", "car_number",
	    "car_number must be a string");
	ERR(DRIVER, "{\"name\":\"n\",\"car_number\":null," LOC "}", "car_number",
	    "car_number must be a string");
	ERR(DRIVER, "{\"name\":\"n\",\"car_number\":\"c\"}", "location", "location is required");
	ERR(DRIVER, "{\"name\":\"n\",\"car_number\":\"c\",\"location\":{\"x\":1e6,\"y\":-1000001}}",
	    "location.y", "location.y must be between -1e6 and 1e6");
	ERR(DRIVER, "{\"car_number\":\"c\"," LOC "}", "name", "name is required");
	snprintf(name, sizeof name, "{\"name\":\"%s\",\"car_number\":\"c\"," LOC "}",
	         repeat('n', 65));
	ERR(DRIVER, name, "name", "name must be 1-64 bytes");
	/* a driver does not need a destination, and ignores one */
	OK(DRIVER, "{\"name\":\"n\",\"car_number\":\"c\"," LOC ",\"destination\":\"nowhere\"}", &o);
}

/* ---- whole bodies -------------------------------------------------------- */

static void body_shapes(void **state)
{
	const char *obj = "body must be a JSON object";
	const enum kind kinds[] = {RIDER, DRIVER, RATING, HELLO};
	char deep[6000];
	size_t n = 0;
	(void)state;

	for (size_t i = 0; i < 4; i++) {
		enum kind k = kinds[i];
		ERR_N(k, "", 0, NULL, obj);
		ERR(k, "   \n\t\r ", NULL, obj);
		ERR(k, "[]", NULL, obj);
		ERR(k, "[{\"name\":\"a\"}]", NULL, obj);
		ERR(k, "\"{}\"", NULL, obj);
		ERR(k, "42", NULL, obj);
		ERR(k, "null", NULL, obj);
		ERR(k, "true", NULL, obj);
		ERR(k, "{} x", NULL, obj);
		ERR(k, "{}{}", NULL, obj);
		ERR(k, "{},", NULL, obj);
		ERR(k, "{", NULL, obj);
		ERR(k, "{\"a\":", NULL, obj);
		ERR(k, "{\"a\":1,}", NULL, obj);
		ERR(k, "{'a':1}", NULL, obj);
		ERR(k, "{a:1}", NULL, obj);
		ERR(k, "{\"a\":1 /* c */}", NULL, obj);
		ERR(k, "\xef\xbb\xbf{}", NULL, obj);        /* BOM */
		ERR_N(k, "{}\0", 3, NULL, obj);             /* NUL after the object */
		ERR_N(k, "{\"a\":\"x\0\"}", 10, NULL, obj); /* raw NUL in a string */
		ERR(k, "{\"a\\u0000\":1}", NULL, "strings must not contain \\u0000");
		ERR(k, "{\"a\":1,\"a\":1}", NULL, "duplicate key in JSON object");
		ERR(k, "{\"a\":{\"b\":1,\"b\":2}}", NULL, "duplicate key in JSON object");
		ERR(k, "{\"a\":[{\"b\":1,\"b\":2}]}", NULL, "duplicate key in JSON object");
	}
	/* duplicates of real fields */
	ERR(RIDER, "{\"name\":\"a\",\"name\":\"b\"," LOC "," DST "}", NULL,
	    "duplicate key in JSON object");
	ERR(RIDER, "{\"name\":\"a\",\"location\":{\"x\":1,\"x\":2,\"y\":2}," DST "}", NULL,
	    "duplicate key in JSON object");
	/* valid object, then a NUL: len covers it, so it is trailing garbage */
	ERR_N(RIDER, "{\"name\":\"a\"," LOC "," DST "}\0",
	      strlen("{\"name\":\"a\"," LOC "," DST "}") + 1, NULL, obj);

	/* deep nesting: over jansson's limit in an unknown field ... */
	n = (size_t)snprintf(deep, sizeof deep, "{\"name\":\"a\"," LOC "," DST ",\"z\":");
	for (int i = 0; i < 2500; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2500; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	ERR_N(RIDER, deep, n, NULL, "JSON nested too deeply");
	/* ... and unclosed */
	ERR_N(HELLO, deep, n - 2501, NULL, "JSON nested too deeply");
}

static void body_with_unknown_fields(void **state)
{
	union any o;
	char *json;
	(void)state;

	OK(RIDER,
	   "{\"name\":\"a\",\"extra\":{\"deep\":[1,2,{\"x\":null}]},\"location\":{\"x\":1,\"y\":2,"
	   "\"z\":\"q\"},"
	   "\"destination\":{\"x\":3,\"y\":4},\"n\":1e300,\"id\":\"forged\"}",
	   &o);
	json = validate_rider_json(&o.rider);
	assert_string_equal(
	    json,
	    "{\"name\":\"a\",\"location\":{\"x\":1,\"y\":2},\"destination\":{\"x\":3,\"y\":4}}");
	free(json);
}

static void body_4k(void **state)
{
	union any o;
	char body[4097];
	const char *head = "{\"name\":\"Rahim\"," LOC "," DST ",\"pad\":\"";
	size_t n = strlen(head);
	(void)state;

	memcpy(body, head, n);
	while (n < 4096 - 2)
		body[n++] = 'p';
	body[n++] = '"';
	body[n++] = '}';
	assert_int_equal(n, 4096);
	OK_N(RIDER, body, n, &o);
	assert_string_equal(o.rider.name, "Rahim");

	/* a body of 4 KiB of whitespace around a valid object */
	n = (size_t)snprintf(body, sizeof body, "{\"type\":\"hello\",\"role\":\"viewer\"}");
	memmove(body + 2000, body, n);
	memset(body, ' ', 2000);
	n += 2000;
	while (n < 4096)
		body[n++] = '\n';
	OK_N(HELLO, body, n, &o);
	assert_true(o.hello.viewer);
}

/* ---- canonical JSON ------------------------------------------------------ */

static void canonical_json_examples(void **state)
{
	union any o;
	char *json;
	(void)state;

	OK(RIDER,
	   "{\"name\": \"Rahim\", \"location\": {\"x\": 12.5, \"y\": 40.0},"
	   " \"destination\": {\"x\": 70.1, \"y\": 3.2}, \"client_id\": \"bot-7\"}",
	   &o);
	json = validate_rider_json(&o.rider);
	assert_string_equal(json,
	                    "{\"name\":\"Rahim\",\"location\":{\"x\":12.5,\"y\":40},"
	                    "\"destination\":{\"x\":70.1,\"y\":3.2},\"client_id\":\"bot-7\"}");
	free(json);

	OK(DRIVER,
	   "{\"client_id\": \"bot-7\", \"name\": \"Karim\", \"car_number\": \"DHA-11-2345\","
	   " \"location\": {\"y\": 9.5, \"x\": 3.0}}",
	   &o);
	json = validate_driver_json(&o.driver);
	assert_string_equal(json, "{\"name\":\"Karim\",\"car_number\":\"DHA-11-2345\","
	                          "\"location\":{\"x\":3,\"y\":9.5},\"client_id\":\"bot-7\"}");
	free(json);

	OK(DRIVER,
	   "{\"name\":\"q\\\"b\\\\s/"
	   "\\u00e9\",\"car_number\":\"1\",\"location\":{\"x\":-0,\"y\":-1e6}}",
	   &o);
	json = validate_driver_json(&o.driver);
	assert_string_equal(json, "{\"name\":\"q\\\"b\\\\s/\xc3\xa9\",\"car_number\":\"1\","
	                          "\"location\":{\"x\":0,\"y\":-1000000}}");
	free(json);

	OK(RIDER, rider_with_loc("0.1", "1e-7"), &o);
	json = validate_rider_json(&o.rider);
	assert_string_equal(json, "{\"name\":\"n\",\"location\":{\"x\":0.1,\"y\":1e-07},"
	                          "\"destination\":{\"x\":3,\"y\":4}}");
	free(json);

	/* a non-finite coordinate can only come from a hand-made struct */
	o.rider.location.x = NAN;
	assert_null(validate_rider_json(&o.rider));
}

/* The canonical JSON of a rider or driver parses back to the same request:
 * every field, coordinates bit for bit. */
static void round_trip(enum kind k, const union any *in)
{
	union any back;
	char *json =
	    k == RIDER ? validate_rider_json(&in->rider) : validate_driver_json(&in->driver);

	assert_non_null(json);
	OK(k, json, &back);
	free(json);
	if (k == DRIVER) {
		assert_string_equal(back.driver.name, in->driver.name);
		assert_string_equal(back.driver.car_number, in->driver.car_number);
		assert_string_equal(back.driver.client_id, in->driver.client_id);
		assert_memory_equal(&back.driver.location, &in->driver.location,
		                    sizeof(struct validate_point));
		return;
	}
	assert_string_equal(back.rider.name, in->rider.name);
	assert_string_equal(back.rider.client_id, in->rider.client_id);
	assert_memory_equal(&back.rider.location, &in->rider.location,
	                    sizeof(struct validate_point));
	assert_memory_equal(&back.rider.destination, &in->rider.destination,
	                    sizeof(struct validate_point));
}

static void canonical_json_round_trips(void **state)
{
	union any o;
	const char *bodies[] = {
	    "{\"name\":\"Rahim\",\"location\":{\"x\":12.5,\"y\":40.0},\"destination\":{\"x\":70.1,"
	    "\"y\":3.2},\"client_id\":\"bot-7\"}",
	    "{\"name\":\"\\\"\\\\\\\"\\\\\",\"location\":{\"x\":1e6,\"y\":-1e6},\"destination\":{"
	    "\"x\":0.30000000000000004,\"y\":-0}}",
	    "{\"name\":\"\xf0\x9f\x9a\x95 "
	    "\xe0\xa6\xb0\xe0\xa6\xb9\xe0\xa6\xbf\xe0\xa6\xae\",\"location\":{\"x\":5e-324,\"y\":2."
	    "2250738585072014e-308},\"destination\":{\"x\":999999.99999999988,\"y\":-0.1}}",
	    "{\"name\":\"\\u2028\\u00a0\",\"location\":{\"x\":123456.789,\"y\":1e-10},"
	    "\"destination\":{\"x\":0.3333333333333333,\"y\":7},\"client_id\":\"A\"}",
	};
	uint64_t seed = 0x9e3779b97f4a7c15u;
	(void)state;

	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		OK(RIDER, bodies[i], &o);
		round_trip(RIDER, &o);
	}
	/* longest strings; every byte that needs escaping */
	memset(&o.rider, 0, sizeof o.rider);
	memset(o.rider.name, '"', 64);
	memset(o.rider.client_id, '-', 64);
	o.rider.location.x = -999999.9999999999;
	round_trip(RIDER, &o);
	memset(o.rider.name, '\\', 64);
	round_trip(RIDER, &o);

	memset(&o.driver, 0, sizeof o.driver);
	memset(o.driver.name, '\\', 64);
	memset(o.driver.car_number, '"', 32);
	memset(o.driver.client_id, '9', 64);
	round_trip(DRIVER, &o);
	o.driver.client_id[0] = '\0';
	strcpy(o.driver.name, "n");
	round_trip(DRIVER, &o);

	/* pseudo-random doubles over the whole allowed range and tiny ones */
	for (int i = 0; i < 20000; i++) {
		double v[4];
		for (int j = 0; j < 4; j++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			v[j] = ((double)(seed >> 11) / 9007199254740992.0 * 2 - 1) * 1e6;
			if (j == 3)
				v[j] /= 1e12 * (double)(1 + (seed & 0xff));
		}
		memset(&o.rider, 0, sizeof o.rider);
		strcpy(o.rider.name, "r");
		o.rider.location = (struct validate_point){v[0], v[1]};
		o.rider.destination = (struct validate_point){v[2], v[3]};
		round_trip(RIDER, &o);
	}
}

/* ---- rating -------------------------------------------------------------- */

static void rating_values(void **state)
{
	union any o;
	char body[256];
	const char *m = "rating must be an integer from 1 to 5";
	const char *bad[] = {"0",
	                     "6",
	                     "-1",
	                     "4.5",
	                     "4.0",
	                     "4e0",
	                     "40e-1",
	                     "\"4\"",
	                     "null",
	                     "true",
	                     "false",
	                     "[4]",
	                     "{}",
	                     "-0",
	                     "9223372036854775807",
	                     "-9223372036854775808",
	                     "4294967297"};
	(void)state;

	for (int r = 1; r <= 5; r++) {
		snprintf(body, sizeof body, "%d", r);
		OK(RATING, rating_with(body), &o);
		assert_int_equal(o.rating.rating, r);
		assert_string_equal(o.rating.ride_id, "ride-1-0");
		assert_string_equal(o.rating.token, "abc123");
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ERR(RATING, rating_with(bad[i]), "rating", m);
	ERR(RATING, rating_with("99999999999999999999"), NULL, "number out of range");
	ERR(RATING, rating_with("1e400"), NULL, "number out of range");
	ERR(RATING, rating_with("NaN"), NULL, "body must be a JSON object");
	ERR(RATING, "{\"ride_id\":\"r\",\"rating_token\":\"t\"}", "rating", "rating is required");
}

static void rating_ids(void **state)
{
	union any o;
	char body[512];
	(void)state;

	snprintf(body, sizeof body, "{\"ride_id\":\"%s\",\"rating\":3,\"rating_token\":\"t\"}",
	         repeat('r', 96));
	OK(RATING, body, &o);
	assert_int_equal(strlen(o.rating.ride_id), 96);
	snprintf(body, sizeof body, "{\"ride_id\":\"%s\",\"rating\":3,\"rating_token\":\"t\"}",
	         repeat('r', 97));
	ERR(RATING, body, "ride_id", BAD_RIDE_ID);
	ERRS(RATING,
	     ((const struct bad[]){
		 {"{\"ride_id\":\"\",\"rating\":3,\"rating_token\":\"t\"}", "ride_id", BAD_RIDE_ID},
		 {"{\"ride_id\":\"ride 1\",\"rating\":3,\"rating_token\":\"t\"}", "ride_id",
	          BAD_RIDE_ID},
		 {"{\"ride_id\":\"ride:1\",\"rating\":3,\"rating_token\":\"t\"}", "ride_id",
	          BAD_RIDE_ID},
		 {"{\"ride_id\":\"r\\u00e9\",\"rating\":3,\"rating_token\":\"t\"}", "ride_id",
	          BAD_RIDE_ID},
		 {"{\"ride_id\":17,\"rating\":3,\"rating_token\":\"t\"}", "ride_id",
	          "ride_id must be a string"},
		 {"{\"rating\":3,\"rating_token\":\"t\"}", "ride_id", "ride_id is required"},
		 {NULL, NULL, NULL},
	     }));
	OK(RATING, "{\"ride_id\":\"ride-1763800000000-0\",\"rating\":3,\"rating_token\":\"t\"}",
	   &o);

	snprintf(body, sizeof body, "{\"ride_id\":\"r\",\"rating\":3,\"rating_token\":\"%s\"}",
	         repeat('T', 64));
	OK(RATING, body, &o);
	assert_string_equal(o.rating.token, repeat('T', 64));
	snprintf(body, sizeof body, "{\"ride_id\":\"r\",\"rating\":3,\"rating_token\":\"%s\"}",
	         repeat('T', 65));
	ERR(RATING, body, "rating_token", BAD_TOKEN);
	ERRS(RATING,
	     ((const struct bad[]){
		 {"{\"ride_id\":\"r\",\"rating\":3}", "rating_token", "rating_token is required"},
		 {"{\"ride_id\":\"r\",\"rating\":3,\"rating_token\":\"\"}", "rating_token",
	          BAD_TOKEN},
		 {"{\"ride_id\":\"r\",\"rating\":3,\"rating_token\":\"ab-12\"}", "rating_token",
	          BAD_TOKEN},
		 {"{\"ride_id\":\"r\",\"rating\":3,\"rating_token\":\"ab 12\"}", "rating_token",
	          BAD_TOKEN},
		 {"{\"ride_id\":\"r\",\"rating\":3,\"rating_token\":null}", "rating_token",
	          "rating_token must be a string"},
		 {"{\"ride_id\":\"r\",\"rating\":3,\"rating_token\":1234}", "rating_token",
	          "rating_token must be a string"},
		 {NULL, NULL, NULL},
	     }));
	/* order: ride_id, then rating, then the token (403 only for a request that is otherwise valid) */
	ERR(RATING, "{\"rating\":9}", "ride_id", "ride_id is required");
	ERR(RATING, "{\"ride_id\":\"r\",\"rating\":9}", "rating",
	    "rating must be an integer from 1 to 5");
	/* every token message starts with "rating_token" */
	ERR(RATING, "{\"ride_id\":\"r\",\"rating\":1,\"rating_token\":[]}", "rating_token",
	    "rating_token must be a string");
}

/* ---- hello --------------------------------------------------------------- */

static void hello_variants(void **state)
{
	union any o;
	char body[512];
	(void)state;

	OK(HELLO, "{\"type\": \"hello\", \"client_id\": \"bot-7\"}", &o);
	assert_false(o.hello.viewer);
	assert_string_equal(o.hello.client_id, "bot-7");
	assert_string_equal(o.hello.resume_after, "");

	OK(HELLO, "{\"type\": \"hello\", \"role\": \"viewer\"}", &o);
	assert_true(o.hello.viewer);
	assert_string_equal(o.hello.client_id, "");

	OK(HELLO,
	   "{\"role\":\"viewer\",\"type\":\"hello\",\"client_id\":\"dash-1\",\"resume_after\":"
	   "\"1763800000000-0\",\"x\":[]}",
	   &o);
	assert_true(o.hello.viewer);
	assert_string_equal(o.hello.client_id, "dash-1");
	assert_string_equal(o.hello.resume_after, "1763800000000-0");

	OK(HELLO,
	   "{\"type\":\"hello\",\"client_id\":\"c\",\"resume_after\":\"ride-1763800000000-0\"}",
	   &o);
	assert_string_equal(o.hello.resume_after, "ride-1763800000000-0");

	snprintf(body, sizeof body,
	         "{\"type\":\"hello\",\"client_id\":\"c\",\"resume_after\":\"%s\"}",
	         repeat('9', 96));
	OK(HELLO, body, &o);
	snprintf(body, sizeof body,
	         "{\"type\":\"hello\",\"client_id\":\"c\",\"resume_after\":\"%s\"}",
	         repeat('9', 97));
	ERR(HELLO, body, "resume_after", BAD_RESUME);
	ERR(HELLO, "{\"type\":\"hello\",\"client_id\":\"c\",\"resume_after\":\"\"}", "resume_after",
	    BAD_RESUME);
	ERR(HELLO, "{\"type\":\"hello\",\"client_id\":\"c\",\"resume_after\":\"a b\"}",
	    "resume_after", BAD_RESUME);
	ERR(HELLO, "{\"type\":\"hello\",\"client_id\":\"c\",\"resume_after\":5}", "resume_after",
	    "resume_after must be a string");
	ERR(HELLO, "{\"type\":\"hello\",\"client_id\":\"c\",\"resume_after\":null}", "resume_after",
	    "resume_after must be a string");

	snprintf(body, sizeof body, "{\"type\":\"hello\",\"client_id\":\"%s\"}", repeat('i', 64));
	OK(HELLO, body, &o);
	snprintf(body, sizeof body, "{\"type\":\"hello\",\"client_id\":\"%s\"}", repeat('i', 65));
	ERR(HELLO, body, "client_id", BAD_CLIENT_ID);
	ERR(HELLO, "{\"type\":\"hello\",\"client_id\":\"\"}", "client_id", BAD_CLIENT_ID);
	ERR(HELLO, "{\"type\":\"hello\",\"client_id\":\"a/b\"}", "client_id", BAD_CLIENT_ID);
	ERR(HELLO, "{\"type\":\"hello\",\"role\":\"viewer\",\"client_id\":\"a b\"}", "client_id",
	    BAD_CLIENT_ID);
	ERR(HELLO, "{\"type\":\"hello\",\"client_id\":1}", "client_id",
	    "client_id must be a string");

	ERR(HELLO, "{\"type\":\"hello\"}", "client_id",
	    "client_id is required (or \"role\": \"viewer\")");
	ERR(HELLO, "{\"type\":\"hello\",\"resume_after\":\"x\"}", "client_id",
	    "client_id is required (or \"role\": \"viewer\")");
	ERR(HELLO, "{\"client_id\":\"c\"}", "type", "type is required");
	ERR(HELLO, "{\"type\":\"Hello\",\"client_id\":\"c\"}", "type", "type must be \"hello\"");
	ERR(HELLO, "{\"type\":\"hello \",\"client_id\":\"c\"}", "type", "type must be \"hello\"");
	ERR(HELLO, "{\"type\":\"match\",\"client_id\":\"c\"}", "type", "type must be \"hello\"");
	ERR(HELLO, "{\"type\":1,\"client_id\":\"c\"}", "type", "type must be \"hello\"");
	ERR(HELLO, "{\"type\":null,\"client_id\":\"c\"}", "type", "type must be \"hello\"");
	ERR(HELLO, "{\"type\":\"hello\",\"role\":\"rider\",\"client_id\":\"c\"}", "role",
	    "role must be \"viewer\"");
	ERR(HELLO, "{\"type\":\"hello\",\"role\":\"Viewer\"}", "role", "role must be \"viewer\"");
	ERR(HELLO, "{\"type\":\"hello\",\"role\":true}", "role", "role must be \"viewer\"");
	ERR(HELLO, "{\"type\":\"hello\",\"role\":null,\"client_id\":\"c\"}", "role",
	    "role must be \"viewer\"");
	ERR(HELLO, "{\"type\":\"hello\",\"role\":\"viewer\",\"role\":\"viewer\"}", NULL,
	    "duplicate key in JSON object");
	ERR(HELLO, "[{\"type\":\"hello\",\"role\":\"viewer\"}]", NULL,
	    "body must be a JSON object");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rider_valid),
	    cmocka_unit_test(name_limits),
	    cmocka_unit_test(name_types),
	    cmocka_unit_test(name_control_chars),
	    cmocka_unit_test(invalid_utf8_in_body),
	    cmocka_unit_test(valid_text_direct),
	    cmocka_unit_test(coordinates),
	    cmocka_unit_test(client_id_field),
	    cmocka_unit_test(driver_fields),
	    cmocka_unit_test(body_shapes),
	    cmocka_unit_test(body_with_unknown_fields),
	    cmocka_unit_test(body_4k),
	    cmocka_unit_test(canonical_json_examples),
	    cmocka_unit_test(canonical_json_round_trips),
	    cmocka_unit_test(jansson_guards_finiteness),
	    cmocka_unit_test(rating_values),
	    cmocka_unit_test(rating_ids),
	    cmocka_unit_test(hello_variants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
