/* numfmt.h - the canonical JSON number: the shortest decimal that strtod
 * reads back as exactly v (what lib/validate.c writes for coordinates).
 * Pure. */
#ifndef RS_LIB_NUMFMT_H
#define RS_LIB_NUMFMT_H

#include <stddef.h>

/* Room for any output and its NUL. */
#define NUMFMT_MAX 40

/* Writes v into buf, NUL-terminated: integral values below 1e15 without a
 * fraction ("40"), -0 as "0", else the shortest of printf's %.15g, %.16g,
 * %.17g (every precision from 1 for a subnormal) that reads back as v, byte
 * for byte what printf writes in the "C" locale. Short decimals in fixed
 * notation (the coordinates of requests) are written without printf or
 * strtod. Returns the length, or 0 (buf "") when v is not finite. */
size_t numfmt_shortest(char buf[NUMFMT_MAX], double v);

/* The same, always by printf and strtod (the reference; unit tests). */
size_t numfmt_shortest_printf(char buf[NUMFMT_MAX], double v);

#endif
