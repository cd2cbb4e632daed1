/* fastbody.c - see fastbody.h.
 *
 * Why a body taken here gets the same struct from jansson's path: it is
 * one JSON object (ASCII, so valid UTF-8; no NUL, no escapes, no control
 * bytes) whose members are the expected keys, each once, so no duplicate;
 * its strings are the bytes between the quotes, as jansson's are, and pass
 * the same checks (validate_valid_text, validate_valid_client_id); its
 * numbers are m / 10^k with m < 1e15 (at most 15 digits) and k <= 15, both
 * exact doubles, so their correctly rounded quotient is what strtod, and so
 * jansson, reads (-0 and a sign included); -0 becomes 0 as get_coord does.
 * Members jansson's path would ignore (unknown keys) are not taken. */
#include "fastbody.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fb {
	const char *p, *end;
};

static void fb_ws(struct fb *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

static int fb_char(struct fb *f, char c)
{
	fb_ws(f);
	if (f->p >= f->end || *f->p != c)
		return 0;
	f->p++;
	return 1;
}

/* A string of bytes 0x20..0x7E, no '"' or '\\' (escapes are jansson's). */
static int fb_str(struct fb *f, const char **s, size_t *len)
{
	const char *q;

	if (!fb_char(f, '"'))
		return 0;
	for (q = f->p; q < f->end && *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7E || *q == '\\')
			return 0;
	if (q >= f->end)
		return 0;
	*s = f->p;
	*len = (size_t)(q - f->p);
	f->p = q + 1;
	return 1;
}

/* "key" then ':' */
static int fb_key(struct fb *f, const char *key)
{
	const char *s;
	size_t len;

	return fb_str(f, &s, &len) && len == strlen(key) && !memcmp(s, key, len) && fb_char(f, ':');
}

static const double fb_pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* -?(0|[1-9][0-9]*)(.[0-9]+)? with at most 15 digits, in range. */
static int fb_coord(struct fb *f, double *dst)
{
	uint64_t m = 0;
	int digits = 0, k = 0, neg, frac = 0;
	double v;

	fb_ws(f);
	neg = f->p < f->end && *f->p == '-';
	f->p += neg;
	if (f->p >= f->end || *f->p < '0' || *f->p > '9')
		return 0;
	if (*f->p == '0' && f->p + 1 < f->end && f->p[1] >= '0' && f->p[1] <= '9')
		return 0; /* a leading zero: not JSON */
	for (; f->p < f->end; f->p++) {
		char c = *f->p;

		if (c == '.' && !frac) {
			frac = 1;
			if (f->p + 1 >= f->end || f->p[1] < '0' || f->p[1] > '9')
				return 0;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		if (++digits > 15)
			return 0;
		m = m * 10 + (uint64_t)(c - '0');
		k += frac;
	}
	if (f->p < f->end && (*f->p == 'e' || *f->p == 'E' || *f->p == '.'))
		return 0;
	v = (double)m / fb_pow10[k];
	if (v > VALIDATE_COORD_MAX)
		return 0;
	*dst = neg && v != 0 ? -v : v; /* -0 -> 0 */
	return 1;
}

static int fb_point(struct fb *f, struct validate_point *p)
{
	return fb_char(f, '{') && fb_key(f, "x") && fb_coord(f, &p->x) && fb_char(f, ',') &&
	       fb_key(f, "y") && fb_coord(f, &p->y) && fb_char(f, '}');
}

static int fb_text(struct fb *f, char *dst, size_t max)
{
	const char *s;
	size_t len;

	if (!fb_str(f, &s, &len) || !validate_valid_text(s, len, max))
		return 0;
	memcpy(dst, s, len);
	dst[len] = 0;
	return 1;
}

/* [,"client_id":S] } then nothing but whitespace */
static int fb_tail(struct fb *f, char *client_id)
{
	fb_ws(f);
	if (f->p < f->end && *f->p == ',') {
		const char *s;
		size_t len;

		f->p++;
		if (!fb_key(f, "client_id") || !fb_str(f, &s, &len) ||
		    !validate_valid_client_id(s, len))
			return 0;
		memcpy(client_id, s, len);
		client_id[len] = 0;
	}
	if (!fb_char(f, '}'))
		return 0;
	fb_ws(f);
	return f->p == f->end;
}

/* One member of a body: text (max bytes) or, with max 0, a point. */
struct fb_member {
	const char *key;
	size_t max, off;
};

/* {members in this order[,"client_id":S]} into the struct at dst; 1 when
 * taken. */
static int fb_body(const char *body, size_t len, const struct fb_member *m, size_t n,
                   size_t client_id_off, char *dst)
{
	struct fb f = {body, body};

	if (!body)
		return 0;
	f.end = body + len;
	if (!fb_char(&f, '{'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((i && !fb_char(&f, ',')) || !fb_key(&f, m[i].key))
			return 0;
		if (m[i].max ? !fb_text(&f, dst + m[i].off, m[i].max)
		             : !fb_point(&f, (struct validate_point *)(void *)(dst + m[i].off)))
			return 0;
	}
	return fb_tail(&f, dst + client_id_off);
}

int fastbody_rider(const char *body, size_t len, struct validate_rider *out)
{
	static const struct fb_member m[] = {
	    {"name", VALIDATE_NAME_MAX, offsetof(struct validate_rider, name)},
	    {"location", 0, offsetof(struct validate_rider, location)},
	    {"destination", 0, offsetof(struct validate_rider, destination)},
	};
	struct validate_rider r;

	memset(&r, 0, sizeof r);
	if (!fb_body(body, len, m, 3, offsetof(struct validate_rider, client_id), (char *)&r))
		return -1;
	memcpy(out, &r, sizeof r); /* padding too: structs compare bytewise */
	return 0;
}

int fastbody_driver(const char *body, size_t len, struct validate_driver *out)
{
	static const struct fb_member m[] = {
	    {"name", VALIDATE_NAME_MAX, offsetof(struct validate_driver, name)},
	    {"car_number", VALIDATE_CAR_NUMBER_MAX, offsetof(struct validate_driver, car_number)},
	    {"location", 0, offsetof(struct validate_driver, location)},
	};
	struct validate_driver d;

	memset(&d, 0, sizeof d);
	if (!fb_body(body, len, m, 3, offsetof(struct validate_driver, client_id), (char *)&d))
		return -1;
	memcpy(out, &d, sizeof d);
	return 0;
}
