/* test_lib_fastbody.c - unit tests (cmocka) for lib/fastbody: the fast path
 * takes the bodies clients send (bench/post.lua's, the bot's shape, with
 * whitespace, with and without client_id), and validate_parse_rider and
 * _driver (fast path, else jansson) answer exactly as the jansson-only
 * parsers do (result, error message and field, struct byte for byte) on the
 * fuzz corpus (fuzz/corpus/validate) and on every one-byte deletion,
 * replacement and insertion of a set of bodies near the fast path's edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastbody.h"
#include "validate.h"

static int n_fast;

/* One kind's two parsers on one body: the same answers. */
#define SAME(kind, type, body, len)                                                                \
	do {                                                                                       \
		type o1, o2;                                                                       \
		struct validate_error e1 = {0}, e2 = {0};                                          \
		int a, b;                                                                          \
                                                                                                   \
		memset(&o1, 0xA5, sizeof o1);                                                      \
		memset(&o2, 0xA5, sizeof o2);                                                      \
		a = validate_parse_##kind(body, len, &o1, &e1);                                    \
		b = validate_parse_##kind##_jansson(body, len, &o2, &e2);                          \
		if (a != b || e1.message != e2.message || e1.field != e2.field ||                  \
		    memcmp(&o1, &o2, sizeof o1) != 0) {                                            \
			print_error(#kind " differs on [%.*s]: %d %s / %d %s\n", (int)(len), body, \
			            a, e1.message ? e1.message : "-", b,                           \
			            e2.message ? e2.message : "-");                                \
			fail();                                                                    \
		}                                                                                  \
		if (fastbody_##kind(body, len, &o1) == 0)                                          \
			n_fast++;                                                                  \
	} while (0)

/* Both kinds on one body. */
static void same(const char *body, size_t len)
{
	SAME(rider, struct validate_rider, body, len);
	SAME(driver, struct validate_driver, body, len);
}

static const char *const bodies[] = {
    "{\"name\":\"Rider1\",\"location\":{\"x\":151.25,\"y\":397.5},"
    "\"destination\":{\"x\":613.75,\"y\":827.125},\"client_id\":\"wrk-bench\"}",
    "{\"name\":\"Ann\",\"location\":{\"x\":-0,\"y\":0.0},\"destination\":{\"x\":100,\"y\":-1}}",
    "{ \"name\" : \"A b\" ,\n\"location\":{ \"x\" :1000000, \"y\":-1000000.0 },\r\n"
    "\t\"destination\" : {\"x\":-999999.999999999,\"y\":0.00000000000001} } \n",
    "{\"name\":\"x\",\"location\":{\"x\":123456789012345,\"y\":1234567890123456},"
    "\"destination\":{\"x\":0.1,\"y\":0.2},\"client_id\":\"a.b-c_d\"}",
    "{\"name\":\"Bob\",\"car_number\":\"AB-123\",\"location\":{\"x\":5,\"y\":6.5}}",
    "{\"name\":\"Bob\",\"car_number\":\"AB 123\",\"location\":{\"x\":-5.25,\"y\":6},"
    "\"client_id\":\"drv-1\"}",
    "{\"name\":\"Bob\",\"car_number\":\"\",\"location\":{\"x\":1000000.1,\"y\":6}}",
    "{\"name\":\"\\u0041\",\"location\":{\"x\":1,\"y\":2},\"destination\":{\"x\":3,\"y\":4}}",
    "{\"name\":\"A\",\"location\":{\"x\":01,\"y\":2},\"destination\":{\"x\":3,\"y\":4}}",
    "{\"name\":\"A\",\"location\":{\"y\":1,\"x\":2},\"destination\":{\"x\":3,\"y\":4},"
    "\"extra\":1}",
};

static void test_client_bodies_take_the_fast_path(void **state)
{
	char body[512];
	struct validate_rider r;
	struct validate_driver d;

	(void)state;
	for (int i = 1; i <= 64; i++) { /* bench/post.lua's 64 bodies */
		int n =
		    snprintf(body, sizeof body,
		             "{\"name\":\"Rider%d\",\"location\":{\"x\":%.2f,\"y\":%.2f},"
		             "\"destination\":{\"x\":%.2f,\"y\":%.2f},\"client_id\":\"wrk-bench\"}",
		             i, (i * 151) % 1000 + 0.25, (i * 397) % 1000 + 0.5,
		             (i * 613) % 1000 + 0.75, (i * 827) % 1000 + 0.125);

		assert_int_equal(fastbody_rider(body, (size_t)n, &r), 0);
		same(body, (size_t)n);
	}
	assert_int_equal(fastbody_rider(bodies[0], strlen(bodies[0]), &r), 0);
	assert_string_equal(r.name, "Rider1");
	assert_true(r.location.x == 151.25 && r.destination.y == 827.125);
	assert_string_equal(r.client_id, "wrk-bench");
	assert_int_equal(fastbody_rider(bodies[1], strlen(bodies[1]), &r), 0);
	assert_int_equal(fastbody_rider(bodies[2], strlen(bodies[2]), &r), 0);
	assert_int_equal(fastbody_driver(bodies[4], strlen(bodies[4]), &d), 0);
	assert_int_equal(fastbody_driver(bodies[5], strlen(bodies[5]), &d), 0);
	/* not taken: an escape, a leading zero, another order, 16 digits */
	assert_int_equal(fastbody_rider(bodies[7], strlen(bodies[7]), &r), -1);
	assert_int_equal(fastbody_rider(bodies[8], strlen(bodies[8]), &r), -1);
	assert_int_equal(fastbody_rider(bodies[9], strlen(bodies[9]), &r), -1);
	assert_int_equal(fastbody_rider(bodies[3], strlen(bodies[3]), &r), -1);
	assert_int_equal(fastbody_rider(NULL, 0, &r), -1);
}

static void test_mutations_answer_as_jansson(void **state)
{
	static const char extra[] = {'"', '\\', ' ',  '\t', '0',        '1',       '9', '-',
	                             '+', '.',  'e',  'E',  '{',        '}',       ',', ':',
	                             'x', 0,    0x1f, 0x7f, (char)0x80, (char)0xC3};
	char buf[600];

	(void)state;
	n_fast = 0;
	for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
		const char *s = bodies[b];
		size_t len = strlen(s);

		same(s, len);
		for (size_t i = 0; i <= len; i++) {
			if (i < len) { /* deletion */
				memcpy(buf, s, i);
				memcpy(buf + i, s + i + 1, len - i - 1);
				same(buf, len - 1);
			}
			for (size_t c = 0; c < sizeof extra; c++) {
				memcpy(buf, s, len); /* replacement */
				if (i < len) {
					buf[i] = extra[c];
					same(buf, len);
				}
				memcpy(buf, s, i); /* insertion */
				buf[i] = extra[c];
				memcpy(buf + i + 1, s + i, len - i);
				same(buf, len + 1);
			}
		}
	}
	assert_true(n_fast > 100); /* the fast path was exercised, not only skipped */
}

static void test_fuzz_corpus_answers_as_jansson(void **state)
{
	const char *dir = "fuzz/corpus/validate";
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;

	(void)state;
	if (!d) {
		print_error("%s: not found (run from the repository root)\n", dir);
		fail();
	}
	while ((e = readdir(d))) {
		char path[512], buf[65536];
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		same(buf, n);
		files++;
	}
	closedir(d);
	assert_true(files > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_bodies_take_the_fast_path),
	    cmocka_unit_test(test_mutations_answer_as_jansson),
	    cmocka_unit_test(test_fuzz_corpus_answers_as_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
