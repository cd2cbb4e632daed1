/* numfmt.c - see numfmt.h. */
#include "numfmt.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t numfmt_shortest_printf(char buf[NUMFMT_MAX], double v)
{
	int n = 0;

	buf[0] = 0;
	if (!isfinite(v))
		return 0;
	if (v == 0)
		v = 0; /* -0 -> 0 */
	if (v == floor(v) && fabs(v) < 1e15)
		return (size_t)snprintf(buf, NUMFMT_MAX, "%.0f", v);
	/* For a normal v, %.15g (trailing zeros dropped) is the shortest form
	 * whenever that has at most 15 digits: a k-digit decimal that reads
	 * back as v lies within half an ulp (2^-53 |v|) of v, inside half the
	 * 15-digit grid's spacing (> 5e-16 |v|), so rounding v to 15 digits
	 * gives it; else 16 or 17 digits. A subnormal's ulp is coarser: every
	 * precision is tried. */
	for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		n = snprintf(buf, NUMFMT_MAX, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	return (size_t)n;
}

/* Writes the digits of u (at least width of them, zero-padded) ending just
 * before end; returns where they start. */
static char *put_digits(char *end, uint64_t u, int width)
{
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
		width--;
	} while (u || width > 0);
	return end;
}

/* Copies the text from p to end into buf with a NUL; returns its length. */
static size_t emit(char buf[NUMFMT_MAX], const char *p, const char *end)
{
	size_t n = (size_t)(end - p);

	memcpy(buf, p, n);
	buf[n] = 0;
	return n;
}

static const double pow10_tab[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6, 1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};
static const uint64_t pow10_int[] = {
    1ULL,           10ULL,           100ULL,           1000ULL,           10000ULL,
    100000ULL,      1000000ULL,      10000000ULL,      100000000ULL,      1000000000ULL,
    10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL, 100000000000000ULL};

/* The fast path: finds m and k (1 <= k <= 14) with m / 10^k == v exactly in
 * double arithmetic, |m| < 1e15 and no trailing zero in m. Then the decimal
 * m·10^-k reads back as v (m and 10^k are exact doubles, and a correctly
 * rounded quotient of exact values is what strtod gives for that decimal),
 * it has at most 15 significant digits, so it is what %.15g writes (see
 * numfmt_shortest_printf), and with 1e-3 <= |v| < 1e14 printf's %g writes
 * it in fixed notation: "[-]int.frac". Returns its length, or 0 when no
 * such m was found (the caller falls back to printf). */
static size_t fixed_short(char buf[NUMFMT_MAX], double v)
{
	double a = fabs(v);
	char tmp[NUMFMT_MAX], *end = tmp + sizeof tmp, *p;
	uint64_t m, ip, fp;
	int k;

	if (!(a >= 1e-3 && a < 1e14))
		return 0;
	for (k = 1; k <= 14; k++) {
		double s = a * pow10_tab[k];

		if (s >= 1e15)
			return 0;
		if (s == floor(s) && s / pow10_tab[k] == a)
			break;
	}
	if (k > 14)
		return 0;
	m = (uint64_t)(a * pow10_tab[k]);
	while (m % 10 == 0) { /* a smaller k whose product rounded off an integer */
		m /= 10;
		k--;
	}
	if (k < 1)
		return 0;
	ip = m / pow10_int[k];
	fp = m % pow10_int[k];
	p = put_digits(end, fp, k);
	*--p = '.';
	p = put_digits(p, ip, 1);
	if (v < 0)
		*--p = '-';
	return emit(buf, p, end);
}

size_t numfmt_shortest(char buf[NUMFMT_MAX], double v)
{
	size_t n;

	if (!isfinite(v)) {
		buf[0] = 0;
		return 0;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		/* integral: the digits of |v| (-0 is 0) */
		char tmp[NUMFMT_MAX], *end = tmp + sizeof tmp, *p;

		p = put_digits(end, (uint64_t)fabs(v), 1);
		if (v < 0)
			*--p = '-';
		return emit(buf, p, end);
	}
	n = fixed_short(buf, v);
	return n ? n : numfmt_shortest_printf(buf, v);
}
