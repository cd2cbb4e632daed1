/* validate.h — parsing and validation of the public requests (POST /rider,
 * /driver, /rating and the websocket hello), plus the canonical JSON that
 * rider-svc and driver-svc store in Redis (docs/INTERNALS.md).
 *
 * Pure code: no I/O, no globals, no exit(). Only jansson, libc and lib/sbuf
 * (its JSON string escaper writes the canonical JSON).
 *
 * Every validate_parse_* function takes a whole body of `len` bytes (it need not be
 * NUL-terminated and may contain any bytes), and:
 *   - returns 0 and fills *out when the request is valid;
 *   - returns -1 and fills *err otherwise; *out is then left untouched.
 * err->message is a static, human-readable string (suitable for
 * {"error": message}); err->field is the static name of the offending field
 * ("name", "location.x", "rating_token", ...) or NULL when the problem is the
 * body as a whole (not JSON, not an object, duplicate key, number overflow).
 * err may be NULL when the caller does not want the reason.
 *
 * Body-level errors (all map to HTTP 400):
 *   "body must be a JSON object"  not JSON, empty, trailing garbage, array, ...
 *   "body must be valid UTF-8"
 *   "strings must not contain \u0000"
 *   "duplicate key in JSON object"
 *   "number out of range"          a number that overflows a double / int64
 *   "JSON nested too deeply"       over jansson's 2048 levels
 *   "out of memory"
 * The 4 KiB body limit (413) is the service's business, not this module's.
 *
 * Optional fields that are present must be valid: "client_id": null is an
 * error, not an absent client_id. Unknown fields are ignored everywhere.
 */
#ifndef RS_LIB_VALIDATE_H
#define RS_LIB_VALIDATE_H

#include <stddef.h>

#define VALIDATE_NAME_MAX       64 /* bytes */
#define VALIDATE_CAR_NUMBER_MAX 32 /* bytes */
#define VALIDATE_CLIENT_ID_MAX  64
#define VALIDATE_RIDE_ID_MAX    96
#define VALIDATE_TOKEN_MAX      64
#define VALIDATE_COORD_MAX      1e6 /* |x|, |y| <= VALIDATE_COORD_MAX */

struct validate_point {
	double x, y;
};
struct validate_error {
	const char *message;
	const char *field;
}; /* static strings; field may be NULL */

struct validate_rider {
	char name[VALIDATE_NAME_MAX + 1];
	struct validate_point location, destination;
	char client_id[VALIDATE_CLIENT_ID_MAX + 1]; /* "" when absent */
};
struct validate_driver {
	char name[VALIDATE_NAME_MAX + 1];
	char car_number[VALIDATE_CAR_NUMBER_MAX + 1];
	struct validate_point location;
	char client_id[VALIDATE_CLIENT_ID_MAX + 1]; /* "" when absent */
};
struct validate_rating {
	char ride_id[VALIDATE_RIDE_ID_MAX + 1];
	int rating;                         /* 1..5 */
	char token[VALIDATE_TOKEN_MAX + 1]; /* from "rating_token" */
};
struct validate_hello {
	int viewer;                                  /* 1 when "role":"viewer" */
	char client_id[VALIDATE_CLIENT_ID_MAX + 1];  /* "" when absent (viewers only) */
	char resume_after[VALIDATE_RIDE_ID_MAX + 1]; /* "" when absent */
};

/* POST /rider: name (1-64 bytes, valid UTF-8, no control characters),
 * location and destination ({x, y}: finite JSON numbers, |v| <= 1e6; -0 is
 * stored as 0; a number too small for a double, like 1e-400, reads as 0),
 * optional client_id. */
int validate_parse_rider(const char *body, size_t len, struct validate_rider *out,
                         struct validate_error *err);

/* POST /driver: name, car_number (1-32 bytes, same text rules), location,
 * optional client_id. */
int validate_parse_driver(const char *body, size_t len, struct validate_driver *out,
                          struct validate_error *err);

/* The same two with jansson for every body, without lib/fastbody.c's fast
 * path: the reference its tests compare with. */
int validate_parse_rider_jansson(const char *body, size_t len, struct validate_rider *out,
                                 struct validate_error *err);
int validate_parse_driver_jansson(const char *body, size_t len, struct validate_driver *out,
                                  struct validate_error *err);

/* POST /rating: ride_id (1-96 of [A-Za-z0-9_.-]), rating (a JSON integer
 * 1-5; 4.0, "4", true, null are rejected), rating_token (1-64 of [A-Za-z0-9]).
 * Checked in that order. A missing or malformed token is reported with
 * field "rating_token" and a message starting with "rating_token": the
 * service answers 403 for that field, 400 for every other failure. */
int validate_parse_rating(const char *body, size_t len, struct validate_rating *out,
                          struct validate_error *err);

/* Websocket hello: {"type":"hello","client_id":"..."} or
 * {"type":"hello","role":"viewer"} (a viewer may also carry a client_id),
 * optional "resume_after" (1-96 of [A-Za-z0-9_.-]). A non-viewer must have a
 * client_id; "role", when present, must be "viewer". */
int validate_parse_hello(const char *msg, size_t len, struct validate_hello *out,
                         struct validate_error *err);

/* Canonical JSON of a validated request, in the field order of
 * docs/INTERNALS.md, unknown fields dropped, client_id omitted when empty;
 * numbers in the shortest form that parses back to the same double
 * ("40", "12.5"; needs the "C" LC_NUMERIC locale). malloc'd and
 * NUL-terminated, the caller frees it; NULL on out of memory (or a
 * non-finite coordinate). The input must come from validate_parse_* (or obey its
 * rules); strings are read up to their buffer's size at most. */
char *validate_rider_json(const struct validate_rider *r);
char *validate_driver_json(const struct validate_driver *d);

/* 1 when s[0..len) is 1..max bytes of valid UTF-8 (no overlong forms, no
 * surrogates, <= U+10FFFF) without control characters (U+0000-U+001F,
 * U+007F-U+009F); else 0. */
int validate_valid_text(const char *s, size_t len, size_t max);

/* 1 when s[0..len) is 1..64 of [A-Za-z0-9_.-]; else 0. */
int validate_valid_client_id(const char *s, size_t len);

#endif
