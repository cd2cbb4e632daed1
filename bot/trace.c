/* trace.c - see trace.h. The header is read with jansson; a request line is
 * read by hand so that its body stays the exact bytes that were sent (and is
 * then checked to be one JSON object). */
#include "trace.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = {"rider", "driver"};

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void trace_format_header(struct sbuf *out, const struct trace_hdr *h)
{
	sbuf_printf(out, "{\"trace\":\"rs-bot\",\"version\":1,\"seed\":%llu,\"client_id\":",
	            (unsigned long long)h->seed);
	sbuf_json_str(out, h->client_id);
	sbuf_printf(
	    out,
	    ",\"riders\":%d,\"drivers\":%d,\"interval_ms\":%d,\"rate_riders\":%d,"
	    "\"rate_drivers\":%d,\"area\":%d,\"duration_s\":%d,\"open_loop\":%d,\"hotspots\":%d,"
	    "\"connections\":%d}\n",
	    h->riders, h->drivers, h->interval_ms, h->rate_riders, h->rate_drivers, h->area,
	    h->duration_s, h->open_loop, h->hotspots, h->connections);
}

void trace_format_req(struct sbuf *out, uint64_t t_ms, int kind, const char *body, size_t len)
{
	sbuf_printf(out, "{\"t_ms\":%llu,\"kind\":\"%s\",\"body\":", (unsigned long long)t_ms,
	            kinds[kind == TRACE_DRIVER]);
	sbuf_append(out, body, len);
	sbuf_append(out, "}\n", 2);
}

static int valid_id(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static int get_int(json_t *o, const char *key, int *dst, char *err, size_t errsz)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0; /* optional */
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
		return fail(err, errsz, "header: \"%s\" must be a non-negative integer", key);
	*dst = (int)json_integer_value(v);
	return 0;
}

int trace_parse_header(const char *line, size_t len, struct trace_hdr *h, char *err, size_t errsz)
{
	json_error_t je;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je), *v;
	int rc = -1;

	memset(h, 0, sizeof(*h));
	if (!o || !json_is_object(o)) {
		fail(err, errsz, "header: not a JSON object%s%s", o ? "" : ": ", o ? "" : je.text);
		goto out;
	}
	v = json_object_get(o, "trace");
	if (!json_is_string(v) || strcmp(json_string_value(v), "rs-bot") != 0) {
		fail(err, errsz, "header: not a bot trace (\"trace\":\"rs-bot\" missing)");
		goto out;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		fail(err, errsz, "header: unsupported \"version\" (this bot reads version 1)");
		goto out;
	}
	v = json_object_get(o, "seed");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		fail(err, errsz, "header: \"seed\" must be a non-negative integer");
		goto out;
	}
	h->seed = (uint64_t)json_integer_value(v);
	v = json_object_get(o, "client_id");
	if (!json_is_string(v) || json_string_length(v) > TRACE_ID_MAX ||
	    !valid_id(json_string_value(v))) {
		fail(err, errsz, "header: \"client_id\" must be 1-64 of [A-Za-z0-9_.-]");
		goto out;
	}
	strcpy(h->client_id, json_string_value(v));
	if (get_int(o, "riders", &h->riders, err, errsz) ||
	    get_int(o, "drivers", &h->drivers, err, errsz) ||
	    get_int(o, "interval_ms", &h->interval_ms, err, errsz) ||
	    get_int(o, "rate_riders", &h->rate_riders, err, errsz) ||
	    get_int(o, "rate_drivers", &h->rate_drivers, err, errsz) ||
	    get_int(o, "area", &h->area, err, errsz) ||
	    get_int(o, "duration_s", &h->duration_s, err, errsz) ||
	    get_int(o, "open_loop", &h->open_loop, err, errsz) ||
	    get_int(o, "hotspots", &h->hotspots, err, errsz) ||
	    get_int(o, "connections", &h->connections, err, errsz))
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int trace_parse_req(const char *line, size_t len, struct trace_req *r, char *err, size_t errsz)
{
	static const char p1[] = "{\"t_ms\":", p2[] = ",\"kind\":\"", p3[] = "\",\"body\":";
	const char *p = line, *end = line + len;
	uint64_t t = 0;
	int kind = -1, digits = 0;
	json_error_t je;
	json_t *o;

	if (len < sizeof(p1) - 1 || memcmp(p, p1, sizeof(p1) - 1) != 0)
		return fail(err, errsz, "not a request line: must start with {\"t_ms\":");
	p += sizeof(p1) - 1;
	while (p < end && *p >= '0' && *p <= '9' && digits < 15) {
		t = t * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (!digits || (p < end && *p >= '0' && *p <= '9'))
		return fail(err, errsz, "\"t_ms\" must be an integer of 1-15 digits");
	if ((size_t)(end - p) < sizeof(p2) - 1 || memcmp(p, p2, sizeof(p2) - 1) != 0)
		return fail(err, errsz, "expected ,\"kind\":\"rider\"|\"driver\" after t_ms");
	p += sizeof(p2) - 1;
	for (int k = 0; k < 2; k++) {
		size_t n = strlen(kinds[k]);

		if ((size_t)(end - p) >= n && memcmp(p, kinds[k], n) == 0 && p + n < end &&
		    p[n] == '"') {
			kind = k;
			p += n;
			break;
		}
	}
	if (kind < 0)
		return fail(err, errsz, "\"kind\" must be \"rider\" or \"driver\"");
	if ((size_t)(end - p) < sizeof(p3) - 1 || memcmp(p, p3, sizeof(p3) - 1) != 0)
		return fail(err, errsz, "expected ,\"body\":{...} after kind");
	p += sizeof(p3) - 1;
	if (end - p < 3 || end[-1] != '}')
		return fail(err, errsz, "the line must end with the body and a closing }");
	o = json_loadb(p, (size_t)(end - 1 - p), JSON_REJECT_DUPLICATES, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return fail(err, errsz, "\"body\" is not one JSON object%s%s", o ? "" : ": ",
		            o ? "" : je.text);
	}
	json_decref(o);
	r->t_ms = t;
	r->kind = kind;
	r->body = p;
	r->len = (size_t)(end - 1 - p);
	return 0;
}

int trace_load(struct trace *t, char *buf, size_t len, char *err, size_t errsz)
{
	char why[200];
	size_t lineno = 0;
	const char *p = buf, *end = buf + len;

	memset(t, 0, sizeof(*t));
	t->buf = buf;
	if (!len)
		return fail(err, errsz, "line 1: empty file (no header)");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n))
			return fail(err, errsz, "line %zu: contains a NUL byte", lineno);
		if (lineno == 1) {
			if (trace_parse_header(p, n, &t->h, why, sizeof(why)) < 0)
				return fail(err, errsz, "line 1: %s", why);
		} else {
			struct trace_req r;

			if (!n)
				return fail(err, errsz, "line %zu: empty line", lineno);
			if (trace_parse_req(p, n, &r, why, sizeof(why)) < 0)
				return fail(err, errsz, "line %zu: %s", lineno, why);
			if (t->n && r.t_ms < t->req[t->n - 1].t_ms)
				return fail(
				    err, errsz,
				    "line %zu: t_ms %llu is before the previous line's %llu",
				    lineno, (unsigned long long)r.t_ms,
				    (unsigned long long)t->req[t->n - 1].t_ms);
			if (t->n == t->cap) {
				size_t cap = t->cap ? t->cap * 2 : 1024;
				struct trace_req *q = realloc(t->req, cap * sizeof(*q));

				if (!q)
					return fail(err, errsz, "line %zu: out of memory", lineno);
				t->req = q;
				t->cap = cap;
			}
			t->req[t->n++] = r;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

void trace_free(struct trace *t)
{
	free(t->req);
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

void trace_rewrite_client(struct sbuf *out, const char *body, size_t len, const char *from,
                          const char *to)
{
	char suffix[TRACE_ID_MAX + 20];
	int n = snprintf(suffix, sizeof(suffix), ",\"client_id\":\"%s\"}", from);

	if (n > 0 && (size_t)n < sizeof(suffix) && len >= (size_t)n &&
	    memcmp(body + len - (size_t)n, suffix, (size_t)n) == 0) {
		sbuf_append(out, body, len - (size_t)n);
		sbuf_append(out, ",\"client_id\":", 13);
		sbuf_json_str(out, to);
		sbuf_append(out, "}", 1);
		return;
	}
	sbuf_append(out, body, len);
}
