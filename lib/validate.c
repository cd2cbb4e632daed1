/* validate.c — parsing and validation of the public requests and the
 * canonical JSON of riders and drivers. See validate.h for the contract.
 *
 * jansson does the JSON syntax (it rejects invalid UTF-8, raw control
 * characters and \u0000 in strings, NaN/Infinity, trailing garbage and
 * nesting beyond 2048 levels); this file checks shapes, types and limits,
 * and re-checks text itself because jansson accepts U+007F-U+009F.
 * Values are copied into the caller's fixed buffers only after they passed.
 */
#include "validate.h"

#include "fastbody.h"
#include "numfmt.h"
#include "sbuf.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct validate_error *err, const char *message, const char *field)
{
	if (err) {
		err->message = message;
		err->field = field;
	}
	return -1;
}

/* ---- text and identifiers ------------------------------------------------ */

enum text_fault { TEXT_OK, TEXT_LENGTH, TEXT_UTF8, TEXT_CONTROL };

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF.
 * A UTF-8 fault is reported in preference to a control character. */
static enum text_fault text_check(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	enum text_fault fault = TEXT_OK;
	size_t i = 0;

	if (len < 1 || len > max || !s)
		return TEXT_LENGTH;
	while (i < len) {
		unsigned c = p[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			cp = c;
			n = 1;
		} else if (c >= 0xC2 && c <= 0xDF) {
			cp = c & 0x1F;
			n = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			cp = c & 0x0F;
			n = 3;
		} else if (c >= 0xF0 && c <= 0xF4) {
			cp = c & 0x07;
			n = 4;
		} else {
			return TEXT_UTF8; /* continuation byte, C0/C1, F5..FF */
		}
		if (n > len - i)
			return TEXT_UTF8; /* truncated sequence */
		for (size_t k = 1; k < n; k++) {
			unsigned cc = p[i + k];
			if ((cc & 0xC0) != 0x80)
				return TEXT_UTF8;
			cp = (cp << 6) | (cc & 0x3F);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return TEXT_UTF8; /* overlong, too large, surrogate */
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			fault = TEXT_CONTROL;
		i += n;
	}
	return fault;
}

int validate_valid_text(const char *s, size_t len, size_t max)
{
	return text_check(s, len, max) == TEXT_OK;
}

static int id_char(unsigned char c, int alnum_only)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !alnum_only && (c == '_' || c == '.' || c == '-');
}

static int id_check(const char *s, size_t len, size_t max, int alnum_only)
{
	if (!s || len < 1 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!id_char((unsigned char)s[i], alnum_only))
			return 0;
	return 1;
}

int validate_valid_client_id(const char *s, size_t len)
{
	return id_check(s, len, VALIDATE_CLIENT_ID_MAX, 0);
}

/* ---- field specs: one static message per way a field can be wrong -------- */

struct text_spec {
	const char *key;
	size_t max;
	const char *missing, *type, *length, *utf8, *control;
};
#define TEXT_SPEC(k, n)                                                                            \
	{                                                                                          \
		k, n, k " is required", k " must be a string", k " must be 1-" #n " bytes",        \
		    k " must be valid UTF-8", k " must not contain control characters"             \
	}

static const struct text_spec NAME = TEXT_SPEC("name", 64);
static const struct text_spec CAR_NUMBER = TEXT_SPEC("car_number", 32);
_Static_assert(VALIDATE_NAME_MAX == 64 && VALIDATE_CAR_NUMBER_MAX == 32, "text limits");

struct id_spec {
	const char *key;
	size_t max;
	int alnum_only;
	const char *missing, *type, *bad;
};
#define ID_SPEC(k, n)                                                                              \
	{                                                                                          \
		k, n, 0, k " is required", k " must be a string",                                  \
		    k " must be 1-" #n " characters of [A-Za-z0-9_.-]"                             \
	}

static const struct id_spec CLIENT_ID = ID_SPEC("client_id", 64);
static const struct id_spec RIDE_ID = ID_SPEC("ride_id", 96);
static const struct id_spec RESUME_AFTER = ID_SPEC("resume_after", 96);
static const struct id_spec TOKEN = {"rating_token",
                                     64,
                                     1,
                                     "rating_token is required",
                                     "rating_token must be a string",
                                     "rating_token must be 1-64 letters and digits"};
_Static_assert(VALIDATE_CLIENT_ID_MAX == 64 && VALIDATE_RIDE_ID_MAX == 96 &&
                   VALIDATE_TOKEN_MAX == 64,
               "id limits");

struct coord_spec {
	const char *member, *key, *missing, *type, *range;
};
struct point_spec {
	const char *key, *missing, *type;
	struct coord_spec x, y;
};
#define COORD_SPEC(m, k)                                                                           \
	{                                                                                          \
		m, k, k " is required", k " must be a finite number",                              \
		    k " must be between -1e6 and 1e6"                                              \
	}
#define POINT_SPEC(k)                                                                              \
	{                                                                                          \
		k, k " is required", k " must be an object with numbers x and y",                  \
		    COORD_SPEC("x", k ".x"), COORD_SPEC("y", k ".y")                               \
	}

static const struct point_spec LOCATION = POINT_SPEC("location");
static const struct point_spec DESTINATION = POINT_SPEC("destination");

/* ---- getters: 0 valid (copied), 1 absent and optional, -1 invalid -------- */

static int get_text(json_t *obj, const struct text_spec *sp, char *dst, size_t dstsize,
                    struct validate_error *err)
{
	json_t *v = json_object_get(obj, sp->key);
	const char *s;
	size_t len;

	if (!v)
		return fail(err, sp->missing, sp->key);
	if (!json_is_string(v))
		return fail(err, sp->type, sp->key);
	s = json_string_value(v);
	len = json_string_length(v);
	switch (text_check(s, len, sp->max)) {
	case TEXT_OK: break;
	case TEXT_LENGTH: return fail(err, sp->length, sp->key);
	case TEXT_UTF8: return fail(err, sp->utf8, sp->key);
	case TEXT_CONTROL: return fail(err, sp->control, sp->key);
	}
	if (len >= dstsize) /* cannot happen: max < dstsize */
		return fail(err, sp->length, sp->key);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int get_id(json_t *obj, const struct id_spec *sp, int required, char *dst, size_t dstsize,
                  struct validate_error *err)
{
	json_t *v = json_object_get(obj, sp->key);
	const char *s;
	size_t len;

	if (!v) {
		if (required)
			return fail(err, sp->missing, sp->key);
		dst[0] = '\0';
		return 1;
	}
	if (!json_is_string(v))
		return fail(err, sp->type, sp->key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (!id_check(s, len, sp->max, sp->alnum_only) || len >= dstsize)
		return fail(err, sp->bad, sp->key);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int get_coord(json_t *pt, const struct coord_spec *sp, double *dst,
                     struct validate_error *err)
{
	json_t *v = json_object_get(pt, sp->member);
	double d;

	if (!v)
		return fail(err, sp->missing, sp->key);
	if (!json_is_number(v))
		return fail(err, sp->type, sp->key);
	/* Finite by construction: jansson's parser refuses NaN, Infinity and
	 * overflow (1e400: "number out of range" above), and json_real() will
	 * not hold a non-finite value, so no json_t carries one. The unit test
	 * jansson_guards_finiteness pins that down; the range check below is
	 * the only one needed. */
	d = json_number_value(v);
	if (fabs(d) > VALIDATE_COORD_MAX)
		return fail(err, sp->range, sp->key);
	*dst = d == 0 ? 0.0 : d; /* -0 -> 0, so structs compare bytewise */
	return 0;
}

static int get_point(json_t *obj, const struct point_spec *sp, struct validate_point *dst,
                     struct validate_error *err)
{
	json_t *v = json_object_get(obj, sp->key);
	struct validate_point p;

	if (!v)
		return fail(err, sp->missing, sp->key);
	if (!json_is_object(v))
		return fail(err, sp->type, sp->key);
	if (get_coord(v, &sp->x, &p.x, err) || get_coord(v, &sp->y, &p.y, err))
		return -1;
	*dst = p;
	return 0;
}

/* ---- the body ------------------------------------------------------------ */

/* Loads a JSON object; on failure fills *err and returns NULL. */
static json_t *load_object(const char *body, size_t len, size_t flags, struct validate_error *err)
{
	json_error_t je;
	json_t *root;

	if (!body) {
		fail(err, "body must be a JSON object", NULL);
		return NULL;
	}
	root = json_loadb(body, len, flags | JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		const char *m;
		switch (json_error_code(&je)) {
		case json_error_out_of_memory: m = "out of memory"; break;
		case json_error_stack_overflow: m = "JSON nested too deeply"; break;
		case json_error_invalid_utf8: m = "body must be valid UTF-8"; break;
		case json_error_null_character:
		case json_error_null_byte_in_key: m = "strings must not contain \\u0000"; break;
		case json_error_duplicate_key: m = "duplicate key in JSON object"; break;
		case json_error_numeric_overflow: m = "number out of range"; break;
		default: m = "body must be a JSON object"; break;
		}
		fail(err, m, NULL);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fail(err, "body must be a JSON object", NULL);
		return NULL;
	}
	return root;
}

/* Coordinates may be written as integers of any size: reading every number
 * as a double turns 99999999999999999999 into a range error on its field
 * rather than a body-level overflow. */
#define COORD_FLAGS JSON_DECODE_INT_AS_REAL

/* Fills one request's struct (zeroed) from its JSON object: 0, or -1 with
 * err set. */
typedef int (*fields_fn)(json_t *root, void *dst, struct validate_error *err);

/* The frame of every parser: the body must be one JSON object; its fields
 * go into a zeroed struct, copied to out (size bytes) only when all of them
 * are good, so out is untouched on an error. */
static int parse(const char *body, size_t len, size_t flags, fields_fn fields, void *out,
                 size_t size, struct validate_error *err)
{
	union {
		struct validate_rider rider;
		struct validate_driver driver;
		struct validate_rating rating;
		struct validate_hello hello;
	} tmp;
	json_t *root = load_object(body, len, flags, err);
	int rc;

	if (!root)
		return -1;
	memset(&tmp, 0, sizeof tmp);
	rc = fields(root, &tmp, err) == 0 ? 0 : -1;
	if (rc == 0)
		memcpy(out, &tmp, size < sizeof tmp ? size : sizeof tmp);
	json_decref(root);
	return rc;
}

static int rider_fields(json_t *root, void *dst, struct validate_error *err)
{
	struct validate_rider *r = dst;

	if (get_text(root, &NAME, r->name, sizeof r->name, err) != 0 ||
	    get_point(root, &LOCATION, &r->location, err) != 0 ||
	    get_point(root, &DESTINATION, &r->destination, err) != 0)
		return -1;
	return get_id(root, &CLIENT_ID, 0, r->client_id, sizeof r->client_id, err) < 0 ? -1 : 0;
}

static int driver_fields(json_t *root, void *dst, struct validate_error *err)
{
	struct validate_driver *d = dst;

	if (get_text(root, &NAME, d->name, sizeof d->name, err) != 0 ||
	    get_text(root, &CAR_NUMBER, d->car_number, sizeof d->car_number, err) != 0 ||
	    get_point(root, &LOCATION, &d->location, err) != 0)
		return -1;
	return get_id(root, &CLIENT_ID, 0, d->client_id, sizeof d->client_id, err) < 0 ? -1 : 0;
}

static int rating_fields(json_t *root, void *dst, struct validate_error *err)
{
	struct validate_rating *r = dst;
	json_t *v;

	if (get_id(root, &RIDE_ID, 1, r->ride_id, sizeof r->ride_id, err) != 0)
		return -1;
	v = json_object_get(root, "rating");
	if (!v)
		return fail(err, "rating is required", "rating");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
		return fail(err, "rating must be an integer from 1 to 5", "rating");
	r->rating = (int)json_integer_value(v);
	return get_id(root, &TOKEN, 1, r->token, sizeof r->token, err) != 0 ? -1 : 0;
}

static int hello_fields(json_t *root, void *dst, struct validate_error *err)
{
	struct validate_hello *h = dst;
	json_t *v = json_object_get(root, "type");
	int has_client;

	if (!v)
		return fail(err, "type is required", "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "hello") != 0)
		return fail(err, "type must be \"hello\"", "type");
	v = json_object_get(root, "role");
	if (v) {
		if (!json_is_string(v) || strcmp(json_string_value(v), "viewer") != 0)
			return fail(err, "role must be \"viewer\"", "role");
		h->viewer = 1;
	}
	has_client = get_id(root, &CLIENT_ID, 0, h->client_id, sizeof h->client_id, err);
	if (has_client < 0)
		return -1;
	if (has_client == 1 && !h->viewer)
		return fail(err, "client_id is required (or \"role\": \"viewer\")", "client_id");
	return get_id(root, &RESUME_AFTER, 0, h->resume_after, sizeof h->resume_after, err) < 0 ? -1
	                                                                                        : 0;
}

int validate_parse_rider_jansson(const char *body, size_t len, struct validate_rider *out,
                                 struct validate_error *err)
{
	return parse(body, len, COORD_FLAGS, rider_fields, out, sizeof *out, err);
}

int validate_parse_driver_jansson(const char *body, size_t len, struct validate_driver *out,
                                  struct validate_error *err)
{
	return parse(body, len, COORD_FLAGS, driver_fields, out, sizeof *out, err);
}

/* The bodies clients send, in their usual shape, take lib/fastbody.c's
 * path (no jansson, no allocation); every other body, valid or not, goes
 * through jansson as before, so what is refused and why is unchanged. */
int validate_parse_rider(const char *body, size_t len, struct validate_rider *out,
                         struct validate_error *err)
{
	if (fastbody_rider(body, len, out) == 0)
		return 0;
	return validate_parse_rider_jansson(body, len, out, err);
}

int validate_parse_driver(const char *body, size_t len, struct validate_driver *out,
                          struct validate_error *err)
{
	if (fastbody_driver(body, len, out) == 0)
		return 0;
	return validate_parse_driver_jansson(body, len, out, err);
}

int validate_parse_rating(const char *body, size_t len, struct validate_rating *out,
                          struct validate_error *err)
{
	/* no COORD_FLAGS: keep 4 and 4.0 apart */
	return parse(body, len, 0, rating_fields, out, sizeof *out, err);
}

int validate_parse_hello(const char *msg, size_t len, struct validate_hello *out,
                         struct validate_error *err)
{
	return parse(msg, len, 0, hello_fields, out, sizeof *out, err);
}

/* ---- canonical JSON ------------------------------------------------------ */

/* Built in an sbuf (lib/sbuf.h, whose sbuf_json_strn is the JSON string
 * escaper); a number that cannot be written sets bad. */
struct cj {
	struct sbuf s;
	int bad;
};

static void sb_raw(struct cj *b, const char *s)
{
	sbuf_append(&b->s, s, strlen(s));
}

/* A JSON string of at most max bytes of s. Validated text needs only '"' and
 * '\\' escaped; control bytes and DEL are escaped too so the output is
 * always JSON. */
static void sb_str(struct cj *b, const char *s, size_t max)
{
	sbuf_json_strn(&b->s, s, max);
}

/* The shortest decimal that strtod reads back as exactly v (lib/numfmt.h);
 * a number that is not finite sets bad. */
static void sb_num(struct cj *b, double v)
{
	char num[NUMFMT_MAX];
	size_t n = numfmt_shortest(num, v);

	if (!n) {
		b->bad = 1;
		return;
	}
	sbuf_append(&b->s, num, n);
}

static void sb_point(struct cj *b, const char *key, const struct validate_point *p)
{
	sb_raw(b, key);
	sb_raw(b, "{\"x\":");
	sb_num(b, p->x);
	sb_raw(b, ",\"y\":");
	sb_num(b, p->y);
	sb_raw(b, "}");
}

static void sb_client_id(struct cj *b, const char *client_id)
{
	if (client_id[0]) {
		sb_raw(b, ",\"client_id\":");
		sb_str(b, client_id, VALIDATE_CLIENT_ID_MAX);
	}
}

/* The text, now the caller's (free()), or NULL (out of memory, a number
 * that is not finite). */
static char *sb_take(struct cj *b)
{
	if (b->bad || b->s.oom) {
		sbuf_free(&b->s);
		return NULL;
	}
	return b->s.p;
}

char *validate_rider_json(const struct validate_rider *r)
{
	struct cj b = {{0}, 0};

	sb_raw(&b, "{\"name\":");
	sb_str(&b, r->name, VALIDATE_NAME_MAX);
	sb_point(&b, ",\"location\":", &r->location);
	sb_point(&b, ",\"destination\":", &r->destination);
	sb_client_id(&b, r->client_id);
	sb_raw(&b, "}");
	return sb_take(&b);
}

char *validate_driver_json(const struct validate_driver *d)
{
	struct cj b = {{0}, 0};

	sb_raw(&b, "{\"name\":");
	sb_str(&b, d->name, VALIDATE_NAME_MAX);
	sb_raw(&b, ",\"car_number\":");
	sb_str(&b, d->car_number, VALIDATE_CAR_NUMBER_MAX);
	sb_point(&b, ",\"location\":", &d->location);
	sb_client_id(&b, d->client_id);
	sb_raw(&b, "}");
	return sb_take(&b);
}
