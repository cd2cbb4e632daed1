/* rating.c - see rating.h. */
#include "rating.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char rating_sql_insert[] = "INSERT INTO ratings (ride_id, car_number, driver_name, rating) "
				 "VALUES ($1, $2, $3, $4::smallint) "
				 "ON CONFLICT (ride_id) DO NOTHING RETURNING ride_id";

const char rating_sql_exists[] = "SELECT 1 FROM ratings WHERE ride_id = $1";

/* The name shown is the one of the driver's latest rating. */
#define RATING_SQL_STATS                                                                           \
	"SELECT car_number, (array_agg(driver_name ORDER BY rated_at DESC, ride_id DESC))[1], "    \
	"count(*), avg(rating)::float8 AS average FROM ratings "

const char rating_sql_driver[] = RATING_SQL_STATS "WHERE car_number = $1 GROUP BY car_number";

const char rating_sql_top[] = RATING_SQL_STATS
    "GROUP BY car_number "
    "ORDER BY average DESC, count(*) DESC, car_number COLLATE \"C\" ASC LIMIT $1::int";

int rating_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	const volatile unsigned char *x = (const unsigned char *)a;
	const volatile unsigned char *y = (const unsigned char *)b;
	unsigned diff = alen != blen;

	for (size_t i = 0; i < blen; i++) {
		/* read a in bounds whatever its length */
		unsigned char c = i < alen ? x[i] : 0;

		diff |= (unsigned)(c ^ y[i]);
	}
	return diff == 0;
}

int rating_parse_limit(const char *s, int *out)
{
	int v = 0;

	if (!s) {
		*out = RATING_TOP_DEFAULT;
		return 0;
	}
	if (!*s || strlen(s) > 3)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > RATING_TOP_MAX)
		return -1;
	*out = v;
	return 0;
}

double rating_round2(double avg)
{
	return round(avg * 100.0) / 100.0;
}

void rating_driver_json(struct sbuf *b, const char *car_number, const char *name, long long count,
                        double average)
{
	sbuf_append(b, "{\"car_number\":", 14);
	sbuf_json_str(b, car_number);
	sbuf_append(b, ",\"name\":", 8);
	sbuf_json_str(b, name);
	sbuf_printf(b, ",\"count\":%lld,\"average\":%.15g}", count,
	            isfinite(average) ? rating_round2(average) : 0.0);
}

void rating_created_json(struct sbuf *b, const char *ride_id, const char *car_number,
                         const char *name, int rating)
{
	sbuf_append(b, "{\"ride_id\":", 11);
	sbuf_json_str(b, ride_id);
	sbuf_append(b, ",\"driver\":{\"car_number\":", 24);
	sbuf_json_str(b, car_number);
	sbuf_append(b, ",\"name\":", 8);
	sbuf_json_str(b, name);
	sbuf_printf(b, "},\"rating\":%d}", rating);
}
