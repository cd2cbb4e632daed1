/* wsmsg.c - see wsmsg.h. */
#include "wsmsg.h"

#include <jansson.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <string.h>

static int safe_id(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* Copies the string member key of obj into dst (size max + 1) when it is a
 * safe id of at most max bytes; returns 1 if copied, else 0 (dst = ""). */
static int get_id(json_t *obj, const char *key, char *dst, size_t max)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n;

	dst[0] = 0;
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > max || !safe_id(s, n))
		return 0;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 1;
}

/* The finite number member key of obj into *v; 1 if there, else 0. */
static int get_num(json_t *obj, const char *key, double *v)
{
	json_t *n = json_object_get(obj, key);

	if (!json_is_number(n) || !isfinite(json_number_value(n)))
		return 0;
	*v = json_number_value(n);
	return 1;
}

int wsmsg_parse(const char *buf, size_t len, struct wsmsg *out)
{
	json_t *root, *type, *rider, *driver, *fare;
	const char *t;
	int rc = -1;

	if (!buf)
		return -1;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;
	type = json_object_get(root, "type");
	if (!json_is_string(type))
		goto out;
	memset(out, 0, sizeof(*out));
	t = json_string_value(type);
	get_id(root, "cursor", out->cursor, WSMSG_ID_MAX);
	out->recovered = -1;
	if (!strcmp(t, "welcome")) {
		json_t *rec = json_object_get(root, "recovered");

		out->type = WSMSG_WELCOME;
		if (json_is_boolean(rec))
			out->recovered = json_is_true(rec);
	} else if (!strcmp(t, "error")) {
		out->type = WSMSG_ERROR;
	} else if (!strcmp(t, "match")) {
		out->type = WSMSG_MATCH;
		rider = json_object_get(root, "rider");
		driver = json_object_get(root, "driver");
		if (!get_id(root, "ride_id", out->ride_id, WSMSG_ID_MAX) ||
		    !json_is_object(rider) || !get_id(rider, "id", out->rider_id, WSMSG_ID_MAX))
			goto out;
		if (json_is_object(driver))
			get_id(driver, "id", out->driver_id, WSMSG_ID_MAX);
		get_id(root, "rating_token", out->token, WSMSG_TOKEN_MAX);
		fare = json_object_get(root, "fare");
		if (json_is_number(fare))
			out->fare = json_number_value(fare);
		if (!get_num(root, "distance", &out->distance) || out->distance < 0)
			out->distance = -1;
		if (json_is_integer(json_object_get(root, "matched_at_ms")))
			out->matched_at_ms =
			    json_integer_value(json_object_get(root, "matched_at_ms"));
	} else {
		out->type = WSMSG_OTHER;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int wsmsg_parse_accepted(const char *buf, size_t len, char *id, size_t max)
{
	json_t *root;
	int rc = -1;

	if (!buf)
		return -1;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(root) && get_id(root, "id", id, max))
		rc = 0;
	json_decref(root);
	return rc;
}

long wsmsg_accepted_ttl(const char *buf, size_t len)
{
	json_t *root, *v;
	long ttl = -1;

	if (!buf)
		return -1;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	v = json_is_object(root) ? json_object_get(root, "expires_in_ms") : NULL;
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 3600000)
		ttl = (long)json_integer_value(v);
	json_decref(root);
	return ttl;
}
