/* reqgen.h - what the bot sends: a small PRNG, random Bangla names and Dhaka-
 * style car numbers, random points in a square, and the JSON bodies of
 * POST /rider, /driver and /rating. Pure code: no I/O, no globals. */
#ifndef RS_BOT_REQGEN_H
#define RS_BOT_REQGEN_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct gen_rng {
	uint64_t s;
};
struct gen_point {
	double x, y;
};

/* Any seed works (0 included). */
void gen_seed(struct gen_rng *r, uint64_t seed);
uint64_t gen_u64(struct gen_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint32_t gen_below(struct gen_rng *r, uint32_t n);
/* Uniform in [0, 1). */
double gen_unit(struct gen_rng *r);
/* A point uniform in [0, area) x [0, area), rounded to 2 decimals. */
struct gen_point gen_point(struct gen_rng *r, double area);

/* Hot spots (--hotspots N): most points fall near one of N centres. */
#define GEN_HOT_MAX 16
struct gen_hot {
	int n;         /* 0: none, points are uniform */
	double frac;   /* share of points near a centre (0.8) */
	double spread; /* at most this far from its centre, per axis */
	struct gen_point c[GEN_HOT_MAX];
};
/* n (clamped to 0..GEN_HOT_MAX) centres uniform in the middle 80 % of the
 * area, spread area/20, frac 0.8. */
void gen_hot_init(struct gen_hot *h, struct gen_rng *r, double area, int n);
/* With probability frac a point around a random centre (triangular
 * distribution, within spread on each axis, clamped into the area), else
 * uniform like gen_point; always in [0, area)², rounded to 2 decimals. With
 * h NULL or h->n 0, exactly gen_point. */
struct gen_point gen_point_hot(struct gen_rng *r, double area, const struct gen_hot *h);

/* A static name from the built-in list. */
const char *gen_name(struct gen_rng *r);
size_t gen_name_count(void);
/* Writes a car number like "DHA-11-2345" (always 11 bytes + NUL) into buf
 * of at least 12 bytes; returns buf. */
char *gen_car_number(struct gen_rng *r, char *buf, size_t size);

/* Appends a request body to b (check b->oom). client_id may be NULL or ""
 * (then omitted). Strings are JSON-escaped. */
void gen_rider_json(struct sbuf *b, const char *name, struct gen_point loc, struct gen_point dest,
                    const char *client_id);
void gen_driver_json(struct sbuf *b, const char *name, const char *car_number, struct gen_point loc,
                     const char *client_id);
void gen_rating_json(struct sbuf *b, const char *ride_id, int rating, const char *token);

#endif
