/* lookup.c - the read side: GET /rating/driver/{car_number} (one driver's
 * count and average; the car number read from the URI as the client sent
 * it, README.md) and GET /rating/top?limit=N. One Postgres query each
 * (rating.c's SQL, parameters only), answered by rating.c's JSON. */
#include "app.h"
#include "rating.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the driver object of row i (columns as in rating_sql_driver). */
static void row_json(struct sbuf *b, const PGresult *res, int i)
{
	rating_driver_json(b, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
	                   strtoll(PQgetvalue(res, i, 2), NULL, 10),
	                   strtod(PQgetvalue(res, i, 3), NULL));
}

/* The answer to GET /rating/driver/{car_number}: one driver, or 404. */
static void driver_json(struct http_req *req, const PGresult *res)
{
	struct sbuf b = {0};

	if (PQntuples(res) == 0) {
		http_reply_error(req, 404, "no ratings for this driver", "car_number");
		return;
	}
	row_json(&b, res, 0);
	rsvc_reply_sbuf(req, 200, &b);
}

/* The answer to GET /rating/top: a list, best first. */
static void top_json(struct http_req *req, const PGresult *res)
{
	struct sbuf b = {0};

	sbuf_append(&b, "[", 1);
	for (int i = 0; i < PQntuples(res); i++) {
		if (i)
			sbuf_append(&b, ",", 1);
		row_json(&b, res, i);
	}
	sbuf_append(&b, "]", 1);
	rsvc_reply_sbuf(req, 200, &b);
}

static void lookup_done(struct http_req *req, const PGresult *res,
                        void (*answer)(struct http_req *, const PGresult *))
{
	if (pg_result_ok(res))
		answer(req, res);
	else
		rsvc_reply_pg_failure(http_req_app(req), req, res);
	http_req_release(req);
}

static void on_driver(struct pgconn *pc, const PGresult *res, void *priv)
{
	lookup_done(priv, res, driver_json);
}

static void on_top(struct pgconn *pc, const PGresult *res, void *priv)
{
	lookup_done(priv, res, top_json);
}

/* Runs the read-only query sql ($1 = param) for req; its callback answers. */
static void lookup(struct rating_svc *s, struct http_req *req, const char *sql, const char *param,
                   pg_result_fn fn)
{
	s->lookups++;
	http_req_hold(req);
	if (pg_query(s->pg, sql, 1, &param, fn, req) < 0) {
		http_req_release(req);
		rsvc_reply_unavailable(s, req, "Postgres");
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes the raw path segment src (to the end of the string) into
 * dst (cap bytes with the NUL); '+' stays '+' (a path, not a form). Returns
 * the length, or -1 on a broken escape, %00 or a result over cap - 1. */
static int car_decode(const char *src, char *dst, size_t cap)
{
	size_t n = 0;

	for (const char *p = src; *p; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			if (!c)
				return -1;
			p += 2;
		}
		if (n + 1 >= cap)
			return -1;
		dst[n++] = (char)c;
	}
	dst[n] = 0;
	return (int)n;
}

void rsvc_handle_driver(struct http_req *req, void *app)
{
	static const char prefix[] = "/rating/driver/";
	struct rating_svc *s = app;
	const char *raw = http_req_raw_path(req);
	char car[VALIDATE_CAR_NUMBER_MAX + 1];
	int n;

	/* A car number may hold '/', '.', '%' and spaces. lws hands over the
	 * path decoded and normalised ("A%2F%2FB" -> "A/B", "/./" dropped), so
	 * the car number is read from the URI as the client sent it, which
	 * nginx passes in X-Original-URI, and decoded once here. A client on
	 * the service port itself (no such header) gets lws' path. */
	if (raw) {
		if (strncmp(raw, prefix, sizeof(prefix) - 1)) {
			s->invalid++;
			http_reply_error(req, 400, "the path must be /rating/driver/{car_number}",
			                 "car_number");
			return;
		}
		n = car_decode(raw + sizeof(prefix) - 1, car, sizeof(car));
	} else {
		const char *path = http_req_path(req) + sizeof(prefix) - 1;

		n = (int)strlen(path);
		if (n <= VALIDATE_CAR_NUMBER_MAX)
			memcpy(car, path, (size_t)n + 1);
		else
			n = -1;
	}
	if (n < 1 || !validate_valid_text(car, (size_t)n, VALIDATE_CAR_NUMBER_MAX)) {
		s->invalid++;
		http_reply_error(req, 400, "car_number must be 1-32 bytes of text", "car_number");
		return;
	}
	lookup(s, req, rating_sql_driver, car, on_driver);
}

void rsvc_handle_top(struct http_req *req, void *app)
{
	struct rating_svc *s = app;
	char val[512], limit_s[8];
	int limit;

	/* val is as large as the whole query string: -1 means absent */
	if (rating_parse_limit(http_req_query(req, "limit", val, sizeof(val)) < 0 ? NULL : val,
	                       &limit) < 0) {
		s->invalid++;
		http_reply_error(req, 400, "limit must be a whole number 1-100", "limit");
		return;
	}
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	lookup(s, req, rating_sql_top, limit_s, on_top);
}
