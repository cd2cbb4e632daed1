/* rating.h - the pure core of rating-svc: no I/O, no loop. Token comparison
 * in constant time, the limit of
 * GET /rating/top, the SQL it runs (fixed texts with $n parameters) and the
 * JSON of its replies. The glue in main.c only moves data between HTTP,
 * Redis, Postgres and these functions. */
#ifndef RS_RATING_RATING_H
#define RS_RATING_RATING_H

#include <stddef.h>

#include "sbuf.h"

#define RATING_TOP_DEFAULT 10
#define RATING_TOP_MAX     100

/* 1 when a[0..alen) equals b[0..blen), else 0. The time taken depends only
 * on blen (pass the secret as b): no early exit on the first difference. */
int rating_ct_equal(const char *a, size_t alen, const char *b, size_t blen);

/* The limit of GET /rating/top: s is the query value or NULL when absent
 * (then RATING_TOP_DEFAULT). Only plain decimal digits, 1..RATING_TOP_MAX.
 * Returns 0 and sets *out, or -1. */
int rating_parse_limit(const char *s, int *out);

/* The average as shown: rounded to 2 decimals. */
double rating_round2(double avg);

/* {"car_number":...,"name":...,"count":N,"average":A} appended to b. */
void rating_driver_json(struct sbuf *b, const char *car_number, const char *name, long long count,
                        double average);
/* {"ride_id":...,"driver":{"car_number":...,"name":...},"rating":N} */
void rating_created_json(struct sbuf *b, const char *ride_id, const char *car_number,
                         const char *name, int rating);

/* SQL, parameters only. */
/* $1 ride_id, $2 car_number, $3 driver_name, $4 rating: one row back when
 * inserted, none when the ride was already rated. */
extern const char rating_sql_insert[];
/* $1 ride_id: one row when the ride was rated. */
extern const char rating_sql_exists[];
/* $1 car_number: car_number, name, count, average (0 rows: no ratings). */
extern const char rating_sql_driver[];
/* $1 limit: rows as above, best average first, then more ratings, then
 * car_number (bytewise). */
extern const char rating_sql_top[];

#endif
