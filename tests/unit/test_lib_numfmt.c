/* test_lib_numfmt.c - unit tests (cmocka) for lib/numfmt: numfmt_shortest
 * writes byte for byte what the printf/strtod reference
 * (numfmt_shortest_printf, the code lib/validate.c used before) writes, on
 * edge cases (zeros, integral bounds, the fast path's bounds, subnormals,
 * extremes, non-finite values) and on a million random values: short
 * decimals at every scale (the coordinates of requests), and random bit
 * patterns; and what it writes reads back as the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

static void check(double v)
{
	char got[NUMFMT_MAX], want[NUMFMT_MAX];
	size_t gn = numfmt_shortest(got, v), wn = numfmt_shortest_printf(want, v);

	if (gn != wn || strcmp(got, want) != 0) {
		print_error("%a: got \"%s\" (%zu), want \"%s\" (%zu)\n", v, got, gn, want, wn);
		fail();
	}
	if (isfinite(v) && strtod(got, NULL) != v) {
		print_error("%a: \"%s\" does not read back\n", v, got);
		fail();
	}
}

static void check_both_signs(double v)
{
	check(v);
	check(-v);
	check(nextafter(v, 0));
	check(nextafter(v, INFINITY));
	check(-nextafter(v, 0));
	check(-nextafter(v, INFINITY));
}

static void test_edge_cases(void **state)
{
	static const double vals[] = {
	    0.0,
	    1.0,
	    0.5,
	    0.1,
	    0.2,
	    0.3,
	    1.0 / 3,
	    2.0 / 3,
	    0.001,
	    0.0011,
	    0.0001,
	    0.0009,
	    0.00099,
	    1e-3,
	    1e-4,
	    1e-5,
	    1e13,
	    1e14,
	    1e15,
	    1e16,
	    1e17,
	    99999999999999.9,
	    999999999999999.0,
	    1e6,
	    1e6 + 0.5,
	    123456.789,
	    999999.99,
	    0.123456789012345,
	    0.1234567890123456,
	    12345678901234.5,
	    1234567890123.45,
	    9007199254740991.0,
	    9007199254740993.0,
	    4503599627370495.5,
	    DBL_MIN,
	    DBL_MAX,
	    DBL_EPSILON,
	    5e-324,
	    2.2250738585072009e-308,
	    1.5,
	    2.5,
	    0.25,
	    0.75,
	    0.125,
	    151.25,
	    397.5,
	    613.75,
	    827.125,
	    1e-2,
	    1e-1,
	    1e2,
	    3.14159,
	    2.718281828459045,
	    1e22,
	    1e23,
	    0.3 + 0.6,
	    0.1 + 0.2,
	    100.0 / 3,
	    5e-16,
	    1e-300,
	};

	(void)state;
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		check_both_signs(vals[i]);
	for (int e = -330; e <= 310; e++)
		check_both_signs(pow(10, e));
	for (int e = -1075; e <= 1024; e++)
		check_both_signs(ldexp(1, e));
}

static void test_not_finite(void **state)
{
	char buf[NUMFMT_MAX] = "x";

	(void)state;
	assert_int_equal(numfmt_shortest(buf, NAN), 0);
	assert_string_equal(buf, "");
	assert_int_equal(numfmt_shortest(buf, INFINITY), 0);
	assert_int_equal(numfmt_shortest(buf, -INFINITY), 0);
	assert_int_equal(numfmt_shortest(buf, -0.0), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(numfmt_shortest(buf, 40.0), 2);
	assert_string_equal(buf, "40");
	assert_int_equal(numfmt_shortest(buf, -151.25), 7);
	assert_string_equal(buf, "-151.25");
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Decimals of 1 to 17 significant digits with 0 to 20 fractional ones: the
 * fast path's domain, its bounds and beyond. */
static void test_random_short_decimals(void **state)
{
	(void)state;
	for (int i = 0; i < 300000; i++) {
		int digits = 1 + (int)(rng() % 17), frac = (int)(rng() % 21);
		uint64_t m = rng() % (uint64_t)pow(10, digits);
		char s[64];

		snprintf(s, sizeof s, "%llu.%0*llue-%d", (unsigned long long)m / 10, 1,
		         (unsigned long long)m % 10, frac);
		check(strtod(s, NULL));
		check(-strtod(s, NULL));
	}
}

/* Coordinates as clients send them: up to 1e6 with a few decimals. */
static void test_random_coordinates(void **state)
{
	(void)state;
	for (int i = 0; i < 300000; i++) {
		int dec = (int)(rng() % 7);
		double v = (double)(int64_t)(rng() % 2000000001ULL - 1000000000ULL) / 1000.0;
		char s[64];

		check(v);
		snprintf(s, sizeof s, "%.*f", dec,
		         (double)(rng() % 2000001) - 1e6 + (double)(rng() % 1000000) / 1e6);
		check(strtod(s, NULL));
	}
}

static void test_random_bits(void **state)
{
	(void)state;
	for (int i = 0; i < 300000; i++) {
		uint64_t u = rng();
		double v;

		memcpy(&v, &u, sizeof v);
		check(v);
		/* and values in the fast path's range, any mantissa */
		check(ldexp((double)(u >> 11), (int)(rng() % 100) - 110));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edge_cases),
	    cmocka_unit_test(test_not_finite),
	    cmocka_unit_test(test_random_short_decimals),
	    cmocka_unit_test(test_random_coordinates),
	    cmocka_unit_test(test_random_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
