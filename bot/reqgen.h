/* reqgen.h - what the bot sends: a small PRNG, random Bangla names and Dhaka-
 * style car numbers, random points in a square, and the JSON bodies of
 * POST /rider, /driver and /rating. Pure code: no I/O, no globals. */
#ifndef BOT_REQGEN_H
#define BOT_REQGEN_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct gen_rng { uint64_t s; };
struct gen_point { double x, y; };

/* Any seed works (0 included). */
void gen_seed(struct gen_rng *r, uint64_t seed);
uint64_t gen_u64(struct gen_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint32_t gen_below(struct gen_rng *r, uint32_t n);
/* Uniform in [0, 1). */
double gen_unit(struct gen_rng *r);
/* A point uniform in [0, area) x [0, area), rounded to 2 decimals. */
struct gen_point gen_point(struct gen_rng *r, double area);

/* A static name from the built-in list. */
const char *gen_name(struct gen_rng *r);
size_t gen_name_count(void);
/* Writes a car number like "DHA-11-2345" (always 11 bytes + NUL) into buf
 * of at least 12 bytes; returns buf. */
char *gen_car_number(struct gen_rng *r, char *buf, size_t size);

/* Appends a request body to b (check b->oom). client_id may be NULL or ""
 * (then omitted). Strings are JSON-escaped. */
void gen_rider_json(struct sbuf *b, const char *name, struct gen_point loc,
		    struct gen_point dest, const char *client_id);
void gen_driver_json(struct sbuf *b, const char *name, const char *car_number,
		     struct gen_point loc, const char *client_id);
void gen_rating_json(struct sbuf *b, const char *ride_id, int rating, const char *token);

#endif
