/* fuzz_validate.c — libFuzzer harness for lib/validate: feeds every input to
 * the four parsers (rider and driver also without their fast path, which must
 * answer the same) and to validate_valid_text / validate_valid_client_id, and checks that
 * whatever is accepted obeys the rules and survives a canonical-JSON round
 * trip unchanged. Any crash, sanitizer report or abort() is a finding.
 *
 * Build (from the repository root; -fno-sanitize-recover=all makes UBSan
 * reports fatal so the fuzzer stops on them):
 *   clang -fsanitize=fuzzer,address,undefined -Ilib fuzz/fuzz_validate.c lib/validate.c lib/fastbody.c lib/numfmt.c lib/sbuf.c -ljansson
 *   clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 -Ilib \
 *         fuzz/fuzz_validate.c lib/validate.c lib/fastbody.c lib/numfmt.c lib/sbuf.c -ljansson -o build/fuzz_validate
 * Run on a scratch copy of the seeds, so new inputs do not land in the repo:
 *   rm -rf /tmp/corpus && cp -r fuzz/corpus/validate /tmp/corpus
 *   build/fuzz_validate -max_total_time=60 -dict=fuzz/validate.dict /tmp/corpus
 * Only validate.c is instrumented; jansson is the system's shared library.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "validate.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

/* finite, in range, and never -0 */
static int ok_coord(double v)
{
	return isfinite(v) && fabs(v) <= VALIDATE_COORD_MAX && !(v == 0 && signbit(v));
}

static int ok_point(const struct validate_point *p)
{
	return ok_coord(p->x) && ok_coord(p->y);
}

static int ok_client_id(const char *s)
{
	size_t n = strnlen(s, VALIDATE_CLIENT_ID_MAX + 1);
	return n == 0 || validate_valid_client_id(s, n);
}

static int same_point(const struct validate_point *a, const struct validate_point *b)
{
	return memcmp(&a->x, &b->x, sizeof a->x) == 0 && memcmp(&a->y, &b->y, sizeof a->y) == 0;
}

static void check_rider(const struct validate_rider *r)
{
	struct validate_rider back;
	struct validate_error e;
	char *json;

	CHECK(validate_valid_text(r->name, strnlen(r->name, sizeof r->name), VALIDATE_NAME_MAX));
	CHECK(ok_point(&r->location) && ok_point(&r->destination));
	CHECK(ok_client_id(r->client_id));
	json = validate_rider_json(r);
	if (!json)
		return; /* out of memory */
	CHECK(validate_parse_rider(json, strlen(json), &back, &e) == 0);
	CHECK(strcmp(back.name, r->name) == 0 && strcmp(back.client_id, r->client_id) == 0);
	CHECK(same_point(&back.location, &r->location) &&
	      same_point(&back.destination, &r->destination));
	free(json);
}

static void check_driver(const struct validate_driver *d)
{
	struct validate_driver back;
	struct validate_error e;
	char *json;

	CHECK(validate_valid_text(d->name, strnlen(d->name, sizeof d->name), VALIDATE_NAME_MAX));
	CHECK(validate_valid_text(d->car_number, strnlen(d->car_number, sizeof d->car_number),
	                          VALIDATE_CAR_NUMBER_MAX));
	CHECK(ok_point(&d->location));
	CHECK(ok_client_id(d->client_id));
	json = validate_driver_json(d);
	if (!json)
		return;
	CHECK(validate_parse_driver(json, strlen(json), &back, &e) == 0);
	CHECK(strcmp(back.name, d->name) == 0 && strcmp(back.car_number, d->car_number) == 0);
	CHECK(strcmp(back.client_id, d->client_id) == 0 &&
	      same_point(&back.location, &d->location));
	free(json);
}

/* An independent reference for validate_valid_text: jansson's UTF-8 check, plus
 * control characters found bytewise (in valid UTF-8, U+0080-U+009F is
 * exactly C2 80..C2 9F). */
static void check_text(const uint8_t *data, size_t size)
{
	size_t max = size ? (size_t)data[0] % 80 : 0;
	int ref = size >= 1 && size <= max;
	json_t *s;

	if (ref) {
		s = json_stringn((const char *)data, size);
		ref = s != NULL;
		json_decref(s);
	}
	for (size_t i = 0; ref && i < size; i++)
		if (data[i] < 0x20 || data[i] == 0x7f ||
		    (data[i] == 0xc2 && i + 1 < size && data[i + 1] >= 0x80 && data[i + 1] <= 0x9f))
			ref = 0;
	CHECK(validate_valid_text((const char *)data, size, max) == ref);
}

/* lib/fastbody.c's fast path answers as jansson's path would: the same
 * result, error and struct, byte for byte */
static void check_fast_path(const char *body, size_t size)
{
	struct validate_rider r1, r2;
	struct validate_driver d1, d2;
	struct validate_error e1 = {0}, e2 = {0};

	memset(&r1, 0, sizeof r1);
	memset(&r2, 0, sizeof r2);
	CHECK(validate_parse_rider(body, size, &r1, &e1) ==
	      validate_parse_rider_jansson(body, size, &r2, &e2));
	CHECK(e1.message == e2.message && e1.field == e2.field && !memcmp(&r1, &r2, sizeof r1));
	memset(&d1, 0, sizeof d1);
	memset(&d2, 0, sizeof d2);
	CHECK(validate_parse_driver(body, size, &d1, &e1) ==
	      validate_parse_driver_jansson(body, size, &d2, &e2));
	CHECK(e1.message == e2.message && e1.field == e2.field && !memcmp(&d1, &d2, sizeof d1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct validate_rider r;
	struct validate_driver d;
	struct validate_rating rt;
	struct validate_hello h;
	struct validate_error e;

	e.message = NULL;
	e.field = NULL;
	if (validate_parse_rider(body, size, &r, &e) == 0)
		check_rider(&r);
	else
		CHECK(e.message != NULL);
	e.message = NULL;
	if (validate_parse_driver(body, size, &d, &e) == 0)
		check_driver(&d);
	else
		CHECK(e.message != NULL);
	e.message = NULL;
	if (validate_parse_rating(body, size, &rt, &e) == 0) {
		CHECK(rt.rating >= 1 && rt.rating <= 5);
		CHECK(strlen(rt.ride_id) >= 1 && strlen(rt.token) >= 1);
	} else {
		CHECK(e.message != NULL);
		if (e.field && strcmp(e.field, "rating_token") == 0)
			CHECK(strncmp(e.message, "rating_token", 12) == 0);
	}
	e.message = NULL;
	if (validate_parse_hello(body, size, &h, &e) == 0)
		CHECK((h.viewer || h.client_id[0]) && ok_client_id(h.client_id));
	else
		CHECK(e.message != NULL);

	check_fast_path(body, size);
	check_text(data, size);
	validate_valid_client_id(body, size);
	return 0;
}
