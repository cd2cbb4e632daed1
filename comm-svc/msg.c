/* msg.c - see msg.h. The token is removed by editing the text: a small
 * scanner walks the top-level members of the (already validated) object and
 * cuts the "rating_token" member out, so every other byte stays as the
 * matcher wrote it (jansson would print 31.97 as 31.969999999999999). */
#include "msg.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- scanner
 * Works on text jansson has accepted, so it only needs to find boundaries. */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* s[i] is '"'; returns the index after the closing quote. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

static size_t skip_value(const char *s, size_t i, size_t n)
{
	int depth = 0;

	if (i < n && s[i] == '"')
		return skip_string(s, i, n);
	for (; i < n; i++) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, i, n) - 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 &&
		           (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
			return i;
		}
	}
	return n;
}

/* Finds the top-level member whose raw key is `key`. On success sets
 * [*cut_from, *cut_to) to the bytes to remove (member plus one comma) and
 * returns 0; -1 when absent. *close is set to the index of the final '}'. */
static int find_member(const char *s, size_t n, const char *key, size_t *cut_from, size_t *cut_to,
                       size_t *close, int *members)
{
	size_t klen = strlen(key), i = skip_ws(s, 0, n), prev_end = 0;
	int found = -1, count = 0;

	if (i >= n || s[i] != '{')
		return -1;
	i = skip_ws(s, i + 1, n);
	while (i < n && s[i] != '}') {
		size_t kstart = i, kend, vend;

		if (s[i] != '"')
			return -1;
		kend = skip_string(s, i, n);
		i = skip_ws(s, kend, n);
		if (i >= n || s[i] != ':')
			return -1;
		i = skip_ws(s, i + 1, n);
		vend = skip_value(s, i, n);
		count++;
		if (found < 0 && kend - kstart == klen + 2 && !memcmp(s + kstart + 1, key, klen)) {
			found = 0;
			if (count > 1) {
				*cut_from = prev_end; /* from the comma before it */
				*cut_to = vend;
			} else {
				size_t j = skip_ws(s, vend, n);

				*cut_from = kstart;
				*cut_to = (j < n && s[j] == ',') ? skip_ws(s, j + 1, n) : vend;
			}
		}
		i = skip_ws(s, vend, n);
		prev_end = i;
		if (i < n && s[i] == ',')
			i = skip_ws(s, i + 1, n);
	}
	if (i >= n)
		return -1;
	*close = i;
	*members = count;
	return found;
}

/* text[0..close) + [,]"cursor":"<cursor>" + text[close..n) */
static char *with_cursor(const char *s, size_t n, size_t close, int nonempty, const char *cursor,
                         size_t *out_len)
{
	size_t clen = strlen(cursor), add = (nonempty ? 1 : 0) + 10 + clen + 1;
	char *p = malloc(n + add + 1), *q = p;

	if (!p)
		return NULL;
	memcpy(q, s, close);
	q += close;
	if (nonempty)
		*q++ = ',';
	memcpy(q, "\"cursor\":\"", 10);
	q += 10;
	memcpy(q, cursor, clen);
	q += clen;
	*q++ = '"';
	memcpy(q, s + close, n - close);
	q += n - close;
	*q = 0;
	*out_len = (size_t)(q - p);
	return p;
}

int msg_match_rewrite(const char *json, size_t len, const char *cursor, struct msg_match *out,
                      const char **why)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *v;
	char *stripped = NULL;
	size_t cut_from = 0, cut_to = 0, close = 0, slen = len;
	int members = 0, rc = -1;
	struct msg_match c;

	memset(&c, 0, sizeof(c));
	for (const char *p = cursor; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '-')) {
			*why = "bad cursor";
			goto out;
		}
	if (!root || !json_is_object(root)) {
		*why = "match is not a JSON object";
		goto out;
	}
	/* jansson lets a raw NUL byte pass between tokens; the copies are C
	 * strings sent as text frames, so such a text is refused (found by
	 * fuzz/fuzz_hub.c) */
	if (memchr(json, 0, len)) {
		*why = "NUL byte in match text";
		goto out;
	}
	v = json_object_get(root, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "match")) {
		*why = "type is not \"match\"";
		goto out;
	}
	/* the copies get our "cursor": one already there would be a duplicate key
	 * (found by fuzz/fuzz_hub.c) */
	if (json_object_get(root, "cursor")) {
		*why = "match text already has a cursor";
		goto out;
	}
	v = json_object_get(root, "ride_id");
	if (json_is_string(v) && json_string_length(v) < sizeof(c.ride_id))
		snprintf(c.ride_id, sizeof(c.ride_id), "%s", json_string_value(v));

	if (find_member(json, len, "rating_token", &cut_from, &cut_to, &close, &members) == 0) {
		stripped = malloc(len + 1);
		if (!stripped) {
			*why = "out of memory";
			goto out;
		}
		memcpy(stripped, json, cut_from);
		memcpy(stripped + cut_from, json + cut_to, len - cut_to);
		slen = cut_from + len - cut_to;
		stripped[slen] = 0;
	} else if (json_object_get(root, "rating_token") || !close) {
		/* an escaped key or text the scanner cannot follow */
		*why = "match text not understood";
		goto out;
	}
	c.with_token = with_cursor(json, len, close, members > 0, cursor, &c.with_len);
	if (stripped) {
		size_t sclose = 0, f, t;
		int smembers = 0;

		find_member(stripped, slen, "", &f, &t, &sclose, &smembers);
		c.without_token =
		    with_cursor(stripped, slen, sclose, smembers > 0, cursor, &c.without_len);
	} else {
		c.without_token =
		    with_cursor(json, len, close, members > 0, cursor, &c.without_len);
	}
	if (!c.with_token || !c.without_token) {
		msg_match_free(&c);
		*why = "out of memory";
		goto out;
	}
	*out = c;
	rc = 0;
out:
	free(stripped);
	json_decref(root);
	return rc;
}

void msg_match_free(struct msg_match *c)
{
	free(c->with_token);
	free(c->without_token);
	c->with_token = c->without_token = NULL;
}

void msg_error(struct sbuf *b, const char *message, const char *field)
{
	sbuf_append(b, "{\"type\":\"error\",\"error\":", 24);
	sbuf_json_str(b, message);
	if (field) {
		sbuf_append(b, ",\"field\":", 9);
		sbuf_json_str(b, field);
	}
	sbuf_append(b, "}", 1);
}

void msg_welcome(struct sbuf *b, const char *client_id, int viewer, const char *cursor,
                 unsigned resumed, int recovered, int batch)
{
	sbuf_append(b, "{\"type\":\"welcome\"", 17);
	if (client_id && *client_id) {
		sbuf_append(b, ",\"client_id\":", 13);
		sbuf_json_str(b, client_id);
	}
	sbuf_printf(b, ",\"role\":\"%s\",\"cursor\":", viewer ? "viewer" : "client");
	sbuf_json_str(b, cursor);
	sbuf_printf(b, ",\"resumed\":%u", resumed);
	if (recovered >= 0)
		sbuf_printf(b, ",\"recovered\":%s", recovered ? "true" : "false");
	if (batch)
		sbuf_append(b, ",\"batch\":true", 13);
	sbuf_append(b, "}", 1);
}
